// The standalone server (`krr-mcp serve --stdio`, run from source through tsx) with the SDK's Client over a real
// stdio pipe. Approval comes only from MCP elicitation answered by the client (the human's seam here).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type CallToolResult, type ElicitRequest, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { cliArgs } from '../support/cli-bundle';
import { resourcesOf, krrStandIn } from '../support/session-fixture';
import { startTestCluster, type TestCluster } from '../support/test-cluster';
import { connectStdioClient, serveTransport } from '../support/stdio-client';

const repoRoot = path.resolve(__dirname, '..', '..');
const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };
const postgres = { namespace: 'data', kind: 'StatefulSet', name: 'postgres' };

type Answer = (request: ElicitRequest['params']) => Promise<ElicitResult> | ElicitResult;

interface Started {
  client: Client;
  stderr: string[];
  elicitations: Array<ElicitRequest['params']>;
}

function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

function structured<T = Record<string, unknown>>(result: CallToolResult): T {
  assert.ok(result.structuredContent, textOf(result));
  return result.structuredContent as T;
}

describe('mcp over stdio: krr-mcp serve --stdio (approval by elicitation)', function () {
  this.timeout(90_000);
  let cluster: TestCluster;
  let dir: string;
  let started: Started | undefined;

  beforeEach(async () => {
    cluster = await startTestCluster();
    dir = mkdtempSync(path.join(tmpdir(), 'krr-stdio-'));
  });
  afterEach(async () => {
    await started?.client.close();
    started = undefined;
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(options: { elicitation?: Answer; settings?: Record<string, unknown>; extraArgs?: string[] } = {}): Promise<Started> {
    const settingsFile = path.join(dir, 'settings.json');
    writeFileSync(settingsFile, JSON.stringify({ confirmByTyping: [], declineCooldownSeconds: 0, ...options.settings }));
    const transport = serveTransport(['--state-dir', path.join(dir, 'state'), '--kubeconfig', cluster.kubeconfigPath, '--krr', krrStandIn, '--kubectl', 'kubectl', '--settings', settingsFile, ...(options.extraArgs ?? [])], path.join(dir, 'home'));
    const stderr: string[] = [];
    transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
    const { client, elicitations } = await connectStdioClient(transport, 'stdio-test-client', options.elicitation);
    started = { client, stderr, elicitations };
    return started;
  }

  async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
    return (await client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;
  }

  async function propose(client: Client): Promise<string> {
    const scan = structured<{ reportId: string }>(await call(client, 'krr_scan'));
    const plan = await call(client, 'krr_propose_changes', { reportId: scan.reportId, workloads: [frontend, postgres], includeLimits: true });
    assert.equal(plan.isError, undefined, textOf(plan));
    assert.doesNotMatch(textOf(plan), /open in the editor/, 'no editor outside VS Code');
    return structured<{ planId: string }>(plan).planId;
  }

  const before = () => ({
    frontend: resourcesOf(cluster, 'apps/v1', 'Deployment', 'shop', 'frontend'),
    postgres: resourcesOf(cluster, 'apps/v1', 'StatefulSet', 'data', 'postgres'),
  });

  it('applies and rolls back when the person accepts the elicitation; the dialog text comes from the plan', async () => {
    const original = before();
    const { client, elicitations, stderr } = await start({ elicitation: () => ({ action: 'accept', content: { approve: true } }) });
    const planId = await propose(client);
    assert.equal(cluster.writes().length, 0);
    const applied = await call(client, 'krr_apply_plan', { planId });
    const outcome = structured<{ status: string; snapshotId: string }>(applied);
    assert.equal(outcome.status, 'applied', textOf(applied));
    assert.equal(cluster.writes().length, 2);
    assert.equal(elicitations.length, 1);
    assert.match(elicitations[0]?.message ?? '', /^Apply resource changes to 2 objects in \u2068prod-eu-1\u2069\?/);
    assert.match(elicitations[0]?.message ?? '', /Apply requested by the AI chat \(stdio-test-client\)/);
    assert.notDeepEqual(before(), original);
    const rolledBack = await call(client, 'krr_rollback', { snapshotId: outcome.snapshotId });
    assert.equal(structured<{ status: string }>(rolledBack).status, 'applied', textOf(rolledBack));
    assert.equal(elicitations.length, 2);
    assert.deepEqual(before(), original);
    assert.ok(stderr.join('').includes('with form elicitation'), 'logs go to stderr');
  });

  it('refuses every write for a client without elicitation: zero writes', async () => {
    const { client } = await start();
    const planId = await propose(client);
    const result = await call(client, 'krr_apply_plan', { planId });
    assert.equal(result.isError, true);
    assert.equal(structured<{ status: string }>(result).status, 'refused');
    assert.match(textOf(result), /no form elicitation support/);
    assert.equal(cluster.writes().length, 0);
  });

  it('declined, dismissed, approve:false or a wrong typed context: zero writes', async () => {
    const answers: ElicitResult[] = [
      { action: 'decline' },
      { action: 'cancel' },
      { action: 'accept', content: { approve: false, context: 'prod-eu-1' } },
      { action: 'accept', content: { approve: true, context: 'prod-eu-2' } },
    ];
    let next = 0;
    const { client, elicitations } = await start({ settings: { confirmByTyping: ['*prod*'] }, elicitation: () => answers[next++] as ElicitResult });
    for (let i = 0; i < answers.length; i++) {
      const planId = await propose(client);
      const result = await call(client, 'krr_apply_plan', { planId });
      assert.equal(structured<{ status: string }>(result).status, 'declined', `answer ${i}: ${textOf(result)}`);
      assert.equal(cluster.writes().length, 0, `answer ${i}`);
    }
    const first = elicitations[0];
    const schema = (first && 'requestedSchema' in first ? first.requestedSchema : undefined) as { properties: Record<string, unknown>; required: string[] } | undefined;
    assert.deepEqual(schema?.required, ['approve', 'context'], 'a prod context must be typed');
  });

  it('typing the context name approves a prod context', async () => {
    const { client } = await start({ settings: { confirmByTyping: ['*prod*'] }, elicitation: () => ({ action: 'accept', content: { approve: true, context: 'prod-eu-1' } }) });
    const planId = await propose(client);
    assert.equal(structured<{ status: string }>(await call(client, 'krr_apply_plan', { planId })).status, 'applied');
    assert.equal(cluster.writes().length, 2);
  });

  it('an elicitation nobody answers times out: zero writes', async () => {
    const { client } = await start({ settings: { approvalTimeoutSeconds: 5 }, elicitation: () => new Promise<ElicitResult>(() => undefined) });
    const planId = await propose(client);
    const result = await call(client, 'krr_apply_plan', { planId });
    assert.equal(structured<{ status: string }>(result).status, 'declined', textOf(result));
    assert.match(textOf(result), /within 5 s/);
    assert.equal(cluster.writes().length, 0);
  });

  it('--read-only: no writing tools; --help prints usage', async () => {
    const { client } = await start({ extraArgs: ['--read-only'], elicitation: () => ({ action: 'accept', content: { approve: true } }) });
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    assert.ok(!names.includes('krr_apply_plan') && !names.includes('krr_rollback'));
    const status = structured<{ readOnly: boolean; readOnlyReason: string }>(await call(client, 'krr_status'));
    assert.equal(status.readOnly, true);
    assert.match(status.readOnlyReason, /--read-only/);
    const help = execFileSync(process.execPath, cliArgs(['--help']), { cwd: repoRoot, encoding: 'utf8' });
    assert.match(help, /krr-mcp serve --stdio --state-dir <dir>/);
    assert.match(help, /krr-mcp relay/);
  });
});
