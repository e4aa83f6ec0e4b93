// Shared drivers of the abuse suite: SDK clients over the real HTTP host and the real stdio server, result
// readers, and the audit/write bookkeeping every scenario checks.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CallToolResult, type ElicitRequest, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import type { HttpHost } from '../../src/mcp/http';
import type { TestCluster } from '../support/kube-api-server';
import { krrStandIn } from '../support/session-fixture';
import { connectStdioClient, serveTransport } from '../support/stdio-client';
import { waitFor } from '../support/wait';

export { waitFor };

export const repoRoot = path.resolve(__dirname, '..', '..');
export const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };
export const postgres = { namespace: 'data', kind: 'StatefulSet', name: 'postgres' };

export async function connectHttp(host: HttpHost, name = 'abuse-client'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(host.url), { requestInit: { headers: { Authorization: `Bearer ${host.token}` } } }));
  return client;
}

export async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;
}

export function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

export function data<T = Record<string, unknown>>(result: CallToolResult): T {
  assert.ok(result.structuredContent, `structured content expected; text: ${textOf(result)}`);
  return result.structuredContent as T;
}

export function statusOf(result: CallToolResult): string | undefined {
  return (result.structuredContent as { status?: string } | undefined)?.status;
}

/** Complete lines of an audit log file (a stdio server's, read from outside the process). */
export function auditLines(file: string): number {
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8').split('\n').filter((line) => line.length > 0).length;
}

export type Answer = (request: ElicitRequest['params']) => Promise<ElicitResult> | ElicitResult;

export interface StdioServer {
  client: Client;
  stateDir: string;
  auditFile: string;
  elicitations: Array<ElicitRequest['params']>;
  close(): Promise<void>;
}

/** `krr-mcp serve --stdio` from source, with the SDK client; `elicitation` absent = a client without that capability. */
export async function startStdio(cluster: TestCluster, options: { elicitation?: Answer; settings?: Record<string, unknown>; name?: string; kubectl?: string; krr?: string; env?: Record<string, string>; onStderr?: (text: string) => void } = {}): Promise<StdioServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-stdio-'));
  const settingsFile = path.join(dir, 'settings.json');
  writeFileSync(settingsFile, JSON.stringify({ confirmByTyping: [], declineCooldownSeconds: 0, ...options.settings }));
  const stateDir = path.join(dir, 'state');
  const transport = serveTransport(['--state-dir', stateDir, '--kubeconfig', cluster.kubeconfigPath, '--krr', options.krr ?? krrStandIn, '--kubectl', options.kubectl ?? 'kubectl', '--settings', settingsFile], path.join(dir, 'home'), options.env);
  transport.stderr?.on('data', (chunk: Buffer) => options.onStderr?.(chunk.toString()));
  const { client, elicitations } = await connectStdioClient(transport, options.name ?? 'abuse-stdio-client', options.elicitation);
  return { client, stateDir, auditFile: path.join(stateDir, 'audit.jsonl'), elicitations, close: () => client.close() };
}

/** Scan and propose frontend + postgres (a 2-object plan) through a client; returns the plan id and digest. */
export async function proposeTwo(client: Client): Promise<{ planId: string; digest: string }> {
  const scan = data<{ reportId: string }>(await call(client, 'krr_scan'));
  const proposed = await call(client, 'krr_propose_changes', { reportId: scan.reportId, workloads: [frontend, postgres], includeLimits: true });
  assert.equal(proposed.isError, undefined, textOf(proposed));
  return data<{ planId: string; digest: string }>(proposed);
}
