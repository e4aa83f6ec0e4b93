// Clients that start the stdio server per call (MCP Inspector's CLI, mcpdo): each call below runs in a fresh
// `krr-mcp serve --stdio` process with the SDK's Client, on one --state-dir. The chain scan → list → propose → apply
// works across processes, and two processes racing to apply one plan write it once.
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, ElicitRequest } from '@modelcontextprotocol/sdk/types.js';
import { krrStandIn } from '../support/session-fixture';
import { connectStdioClient, serveTransport, type ElicitationAnswer } from '../support/stdio-client';
import { startTestCluster, type TestCluster } from '../support/test-cluster';
import { krrReportJson, requestsOnly } from '../support/krr-report';

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
    const transport = serveTransport(['--state-dir', path.join(dir, 'state'), '--kubeconfig', cluster.kubeconfigPath, '--krr', krrStandIn, '--kubectl', 'kubectl', '--settings', settingsFile], path.join(dir, 'home'));
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

// The manifest target across processes: `--workspace` folders (copies of test/fixtures/gitops), no cluster. The plan
// is kept in the state directory without the files' content, claimed once across processes, and rebuilt from the
// workspace (a file changed since the proposal makes it stale before anyone is asked).
describe('mcp over stdio, one process per call: manifest plans survive the process', function () {
  this.timeout(120_000);
  const fixtures = path.join(repoRoot, 'test', 'fixtures', 'gitops');
  const secret = 'hunter2-never-in-the-state-dir';
  const mi = 2 ** 20;
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-state-manifests-'));
    cpSync(path.join(fixtures, 'kustomize'), path.join(dir, 'ws', 'kustomize'), { recursive: true });
    cpSync(path.join(fixtures, 'plain'), path.join(dir, 'ws', 'plain'), { recursive: true });
    // A Secret beside the edited Deployment: the stored plan must not carry it out of the workspace.
    appendFileSync(path.join(dir, 'ws', 'plain', 'apps', 'shop.yaml'), `---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: shop-db\n  namespace: shop\nstringData:\n  password: ${secret}\n`);
    writeFileSync(path.join(dir, 'settings.json'), JSON.stringify({ confirmByTyping: [], declineCooldownSeconds: 0 }));
    writeFileSync(
      path.join(dir, 'report.json'),
      krrReportJson([
        { namespace: 'shop', kind: 'Deployment', name: 'frontend', containers: { app: { current: requestsOnly(0.5, 512 * mi), recommended: requestsOnly(0.25, 384 * mi) } } },
        { namespace: 'data', kind: 'StatefulSet', name: 'postgres', containers: { postgres: { current: requestsOnly(1, 2048 * mi), recommended: requestsOnly(0.5, 2048 * mi) } } },
      ]),
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function serverProcess(elicitation?: ElicitationAnswer): Promise<{ client: Client; elicitations: Array<ElicitRequest['params']> }> {
    const transport = serveTransport(['--state-dir', path.join(dir, 'state'), '--kubectl', 'kubectl', '--settings', path.join(dir, 'settings.json'), '--workspace', path.join(dir, 'ws', 'kustomize'), '--workspace', path.join(dir, 'ws', 'plain')], path.join(dir, 'home'));
    return connectStdioClient(transport, 'per-call-client', elicitation);
  }

  async function callOnce(name: string, args: Record<string, unknown>, elicitation?: ElicitationAnswer): Promise<{ result: CallToolResult; elicitations: number }> {
    const server = await serverProcess(elicitation);
    try {
      const result = (await server.client.callTool({ name, arguments: args }, undefined, { timeout: 90_000 })) as CallToolResult;
      return { result, elicitations: server.elicitations.length };
    } finally {
      await server.client.close();
    }
  }

  async function proposeInProcesses(): Promise<string> {
    const loaded = await callOnce('krr_load_report', { path: path.join(dir, 'report.json') });
    assert.equal(loaded.result.isError, undefined, textOf(loaded.result));
    const reportId = (loaded.result.structuredContent as { reportId: string }).reportId;
    const propose = await callOnce('krr_propose_changes', { reportId, target: 'manifests', workloads: [frontend, { namespace: 'data', kind: 'StatefulSet', name: 'postgres' }] });
    assert.equal(propose.result.isError, undefined, textOf(propose.result));
    const proposed = propose.result.structuredContent as { planId: string; files: Array<{ path: string }> };
    assert.deepEqual(proposed.files.map((file) => file.path).sort(), ['apps/postgres.json', 'apps/shop.yaml'], textOf(propose.result));
    return proposed.planId;
  }

  const shop = () => readFileSync(path.join(dir, 'ws', 'plain', 'apps', 'shop.yaml'), 'utf8');
  const postgres = () => readFileSync(path.join(dir, 'ws', 'plain', 'apps', 'postgres.json'), 'utf8');

  it('load → propose (target manifests) → apply → apply again, each call in a fresh server process; no file content in the state dir', async () => {
    const before = { shop: shop(), postgres: postgres() };
    const planId = await proposeInProcesses();
    const stored = readFileSync(path.join(dir, 'state', 'plans', `${planId}.json`), 'utf8');
    assert.ok(!stored.includes(secret), 'the Secret beside the edited Deployment is not in the state directory');
    assert.ok(!stored.includes('registry.example.com/shop/frontend'), 'unchanged lines of an edited file are not kept');
    assert.ok(stored.includes('250m'), 'the changed lines are');

    const apply = await callOnce('krr_apply_plan', { planId }, approve);
    assert.equal((apply.result.structuredContent as { status: string }).status, 'applied', textOf(apply.result));
    assert.equal(apply.elicitations, 1);
    assert.match(shop(), /requests:\n {12}cpu: '250m'\n {12}memory: "384Mi"/);
    assert.ok(shop().endsWith(`password: ${secret}\n`), 'the rest of the file is as it was');
    assert.equal(JSON.parse(postgres()).spec.template.spec.containers[0].resources.requests.cpu, '500m');
    assert.notEqual(shop(), before.shop);

    const again = await callOnce('krr_apply_plan', { planId }, approve);
    assert.equal((again.result.structuredContent as { status: string }).status, 'used', textOf(again.result));
    assert.equal(again.elicitations, 0, 'refused before anyone was asked');
  });

  it('two server processes applying one manifest plan at once: exactly one asks and writes', async () => {
    const planId = await proposeInProcesses();
    const [first, second] = await Promise.all([serverProcess(approve), serverProcess(approve)]);
    try {
      const results = (await Promise.all([first, second].map((server) => server.client.callTool({ name: 'krr_apply_plan', arguments: { planId } }, undefined, { timeout: 90_000 })))) as CallToolResult[];
      const statuses = results.map((result) => (result.structuredContent as { status: string }).status).sort();
      assert.deepEqual(statuses, ['applied', 'used'], results.map(textOf).join('\n---\n'));
      assert.equal(first.elicitations.length + second.elicitations.length, 1, 'only the process holding the claim asked');
    } finally {
      await Promise.all([first.client.close(), second.client.close()]);
    }
    const writes = readFileSync(path.join(dir, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { action: string; planId?: string }).filter((entry) => entry.planId === planId && entry.action === 'write');
    assert.equal(writes.length, 2, 'two files, written once');
  });

  it('a file changed between the processes: stale, nobody asked, nothing written', async () => {
    const planId = await proposeInProcesses();
    const edited = postgres().replace('"image": "postgres:16"', '"image": "postgres:17"');
    writeFileSync(path.join(dir, 'ws', 'plain', 'apps', 'postgres.json'), edited);
    const before = shop();
    const apply = await callOnce('krr_apply_plan', { planId }, approve);
    assert.equal((apply.result.structuredContent as { status: string }).status, 'stale', textOf(apply.result));
    assert.match(textOf(apply.result), /apps\/postgres\.json changed since the proposal/);
    assert.equal(apply.elicitations, 0);
    assert.equal(shop(), before);
    assert.equal(postgres(), edited);
  });

  it('the claim is checked again before the first file write: a claim replaced while the approval is open writes nothing', async () => {
    const planId = await proposeInProcesses();
    const before = { shop: shop(), postgres: postgres() };
    const claim = path.join(dir, 'state', 'plans', `${planId}.claim`);
    const apply = await callOnce('krr_apply_plan', { planId }, () => {
      // Another party's claim (a process that does not honour O_EXCL, or a damaged directory) while the form is open.
      writeFileSync(claim, `${JSON.stringify({ planId, token: 'someone-else' })}\n`);
      return { action: 'accept', content: { approve: true } };
    });
    assert.equal((apply.result.structuredContent as { status: string }).status, 'used', textOf(apply.result));
    assert.match(textOf(apply.result), /no longer claimed by this apply/);
    assert.deepEqual({ shop: shop(), postgres: postgres() }, before);
  });
});
