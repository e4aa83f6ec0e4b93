// Clients that start the stdio server per call (MCP Inspector's CLI, mcpdo): each call below runs in a fresh
// `krr-mcp serve --stdio` process with the SDK's Client, on one --state-dir. The chain scan → list → propose → apply
// works across processes, and two processes racing to apply one plan write it once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult, ElicitRequest } from '@modelcontextprotocol/sdk/types.js';
import { krrStandIn } from '../support/session-fixture';
import { connectStdioClient, type ElicitationAnswer } from '../support/stdio-client';
import { startTestCluster, type TestCluster } from '../support/test-cluster';

const repoRoot = path.resolve(__dirname, '..', '..');
const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };
const approve: ElicitationAnswer = () => ({ action: 'accept', content: { approve: true } });

function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

describe('mcp over stdio, one process per call: state survives the process', function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let dir: string;
  let settingsFile: string;

  beforeEach(async () => {
    cluster = await startTestCluster();
    dir = mkdtempSync(path.join(tmpdir(), 'krr-state-'));
    settingsFile = path.join(dir, 'settings.json');
    writeFileSync(settingsFile, JSON.stringify({ confirmByTyping: [], declineCooldownSeconds: 0 }));
  });
  afterEach(async () => {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh server process, connected; closed (the process exits) by the caller. */
  async function serverProcess(elicitation?: ElicitationAnswer): Promise<{ client: Client; elicitations: Array<ElicitRequest['params']>; stderr: string[] }> {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', 'tsx', path.join(repoRoot, 'src', 'cli.ts'), 'serve', '--stdio', '--state-dir', path.join(dir, 'state'), '--kubeconfig', cluster.kubeconfigPath, '--krr', krrStandIn, '--kubectl', 'kubectl', '--settings', settingsFile],
      cwd: repoRoot,
      env: { ...getDefaultEnvironment(), HOME: path.join(dir, 'home') },
      stderr: 'pipe',
    });
    const stderr: string[] = [];
    transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
    return { ...(await connectStdioClient(transport, 'per-call-client', elicitation)), stderr };
  }

  /** One call in its own process, like `inspector --cli --method tools/call`. */
  async function callOnce(name: string, args: Record<string, unknown>, elicitation?: ElicitationAnswer): Promise<{ result: CallToolResult; elicitations: number }> {
    const server = await serverProcess(elicitation);
    try {
      const result = (await server.client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;
      return { result, elicitations: server.elicitations.length };
    } finally {
      await server.client.close();
    }
  }

  it('scan → list → propose → apply → apply again, each call in a fresh server process', async () => {
    const scan = await callOnce('krr_scan', {});
    assert.equal(scan.result.isError, undefined, textOf(scan.result));
    const reportId = (scan.result.structuredContent as { reportId: string }).reportId;

    const list = await callOnce('krr_list_recommendations', { reportId, namespace: 'shop', sort: 'name' });
    assert.equal(list.result.isError, undefined, textOf(list.result));
    const rows = (list.result.structuredContent as { rows: Array<{ name: string }> }).rows;
    assert.ok(rows.some((row) => row.name === 'frontend'), textOf(list.result));

    const propose = await callOnce('krr_propose_changes', { reportId, workloads: [frontend] });
    assert.equal(propose.result.isError, undefined, textOf(propose.result));
    const planId = (propose.result.structuredContent as { planId: string }).planId;

    const apply = await callOnce('krr_apply_plan', { planId }, approve);
    assert.equal((apply.result.structuredContent as { status: string }).status, 'applied', textOf(apply.result));
    assert.equal(apply.elicitations, 1);
    assert.equal(cluster.writes().length, 1);

    const again = await callOnce('krr_apply_plan', { planId }, approve);
    assert.equal((again.result.structuredContent as { status: string }).status, 'used', textOf(again.result));
    assert.equal(again.elicitations, 0, 'refused before anyone was asked');
    assert.equal(cluster.writes().length, 1);
  });

  it('two server processes applying one plan at once, both clients approving: exactly one writes', async () => {
    const scan = await callOnce('krr_scan', {});
    const reportId = (scan.result.structuredContent as { reportId: string }).reportId;
    const propose = await callOnce('krr_propose_changes', { reportId, workloads: [frontend] });
    const planId = (propose.result.structuredContent as { planId: string }).planId;

    const [first, second] = await Promise.all([serverProcess(approve), serverProcess(approve)]);
    try {
      const results = (await Promise.all([first, second].map((server) => server.client.callTool({ name: 'krr_apply_plan', arguments: { planId } }, undefined, { timeout: 60_000 })))) as CallToolResult[];
      const statuses = results.map((result) => (result.structuredContent as { status: string }).status).sort();
      assert.deepEqual(statuses, ['applied', 'used'], results.map(textOf).join('\n---\n'));
      assert.equal(first.elicitations.length + second.elicitations.length, 1, 'only the process holding the claim asked');
      assert.equal(cluster.writes().length, 1, 'the plan was written once');
    } finally {
      await Promise.all([first.client.close(), second.client.close()]);
    }
  });
});
