// Both MCP eras against the same tools, over real transports: a 2026-07-28 client (test/support/modern-client: no
// initialize, _meta on every request, approval as an input request) and the SDK's 2025-era Client, each doing
// scan → propose → apply with approval → rollback; and what each era says about whether writes can be approved.
import { withoutIsolates } from '../../src/core/text';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { AuditEntry } from '../../src/core/audit';
import { startHttpHost, type HttpHost } from '../../src/mcp/http';
import { approveAll, ModernClient, type RpcReply } from '../support/modern-client';
import { krrStandIn, resourcesOf, startSessionFixture, type SessionFixture } from '../support/session-fixture';
import { connectStdioClient, serveArgs, serverProcess } from '../support/stdio-client';
import { waitFor } from '../support/wait';
import { startTestCluster, type TestCluster } from '../support/test-cluster';
import { isAlive, standInPid } from '../support/standin-process';
import { krrReportJson, requestsOnly } from '../support/krr-report';

const repoRoot = path.resolve(__dirname, '..', '..');
const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };
const postgres = { namespace: 'data', kind: 'StatefulSet', name: 'postgres' };

function structured<T = Record<string, unknown>>(reply: RpcReply): T {
  assert.equal(reply.error, undefined, JSON.stringify(reply.error));
  assert.equal(reply.result?.resultType, 'complete', JSON.stringify(reply.result).slice(0, 400));
  assert.ok(reply.result?.structuredContent, JSON.stringify(reply.result).slice(0, 400));
  return reply.result.structuredContent as T;
}

function textOf(reply: RpcReply | CallToolResult): string {
  const result = ('content' in reply ? reply : reply.result) as { content?: Array<{ type: string; text?: string }> } | undefined;
  return (result?.content ?? []).map((part) => part.text ?? '').join('\n');
}

function auditEntries(stateDir: string): AuditEntry[] {
  return readFileSync(path.join(stateDir, 'audit.jsonl'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditEntry);
}

async function scanAndPropose(client: ModernClient): Promise<{ planId: string; digest: string; text: string }> {
  const scan = structured<{ reportId: string }>(await client.callTool('krr_scan'));
  const proposed = await client.callTool('krr_propose_changes', { reportId: scan.reportId, workloads: [frontend, postgres], includeLimits: true });
  return { ...structured<{ planId: string; digest: string }>(proposed), text: textOf(proposed) };
}

describe('mcp eras: 2026-07-28 and 2025 clients on the stdio server', function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let dir: string;
  let closers: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    cluster = await startTestCluster();
    dir = mkdtempSync(path.join(tmpdir(), 'krr-eras-'));
  });
  afterEach(async () => {
    for (const close of closers) await close();
    closers = [];
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function serverArgs(settings: Record<string, unknown> = {}, workspace: string[] = []): string[] {
    const settingsFile = path.join(dir, 'settings.json');
    writeFileSync(settingsFile, JSON.stringify({ confirmByTyping: [], declineCooldownSeconds: 0, ...settings }));
    return serveArgs(['--state-dir', path.join(dir, 'state'), '--kubeconfig', cluster.kubeconfigPath, '--krr', krrStandIn, '--kubectl', 'kubectl', '--settings', settingsFile, ...workspace.flatMap((folder) => ['--workspace', folder])]);
  }

  function startModern(options: { capabilities?: Record<string, unknown>; settings?: Record<string, unknown>; env?: Record<string, string>; workspace?: string[] } = {}) {
    const started = ModernClient.stdio(process.execPath, serverArgs(options.settings, options.workspace), serverProcess(path.join(dir, 'home'), options.env), { name: 'modern-test-client', version: '2.0.0', capabilities: options.capabilities ?? { elicitation: { form: {} } } });
    closers.push(() => started.client.close());
    return started;
  }

  const live = () => ({
    frontend: resourcesOf(cluster, 'apps/v1', 'Deployment', 'shop', 'frontend'),
    postgres: resourcesOf(cluster, 'apps/v1', 'StatefulSet', 'data', 'postgres'),
  });

  it('2026-07-28: server/discover, tools/list, then scan → propose → apply (input request) → rollback', async () => {
    const original = live();
    const { client, stderr } = startModern({ settings: { confirmByTyping: ['*prod*'] } });
    const discover = await client.request('server/discover');
    assert.equal(discover.result?.resultType, 'complete');
    assert.deepEqual(discover.result?.supportedVersions, ['2026-07-28']);
    assert.ok((discover.result?.capabilities as { tools?: unknown }).tools);
    const listed = await client.request('tools/list');
    assert.equal((listed.result?.tools as unknown[]).length, 14);
    assert.equal(listed.result?.ttlMs, 0);

    const { planId, digest, text } = await scanAndPropose(client);
    assert.match(text, /approval form \(an input request\)/, 'the proposal says how approval will be asked');
    assert.equal(cluster.writes().length, 0);
    const applied = await client.callTool('krr_apply_plan', { planId }, approveAll('prod-eu-1'));
    const outcome = structured<{ status: string; snapshotId: string }>(applied);
    assert.equal(outcome.status, 'applied', textOf(applied));
    assert.equal(cluster.writes().length, 2);
    // One round: the approval form, worded from the plan, with the typed context required for a prod context.
    assert.equal(client.rounds.length, 1);
    const form = client.rounds[0]?.inputRequests.approval;
    assert.equal(form?.method, 'elicitation/create');
    assert.match(withoutIsolates(form?.params.message ?? ''), /^Apply resource changes to 2 objects in prod-eu-1\?/);
    assert.match(form?.params.message ?? '', /Apply requested by the AI chat \(modern-test-client\)/);
    assert.match(form?.params.message ?? '', /the rollout restarts its \d+ pods? \(/);
    assert.deepEqual(form?.params.requestedSchema?.required, ['approve', 'context']);
    assert.notDeepEqual(live(), original);

    const rolledBack = await client.callTool('krr_rollback', { snapshotId: outcome.snapshotId }, approveAll('prod-eu-1'));
    assert.equal(structured<{ status: string }>(rolledBack).status, 'applied', textOf(rolledBack));
    assert.equal(client.rounds.length, 2);
    assert.deepEqual(live(), original);

    // Honest records: the approval is the client's answer to an elicitation form, not "a human in a dialog".
    const approvals = auditEntries(path.join(dir, 'state')).filter((entry) => entry.action === 'approve');
    assert.equal(approvals.length, 2);
    assert.equal(approvals[0]?.planId, planId);
    assert.equal(approvals[0]?.digest, digest);
    for (const entry of approvals) assert.deepEqual(entry.actor, { type: 'client', via: 'MCP elicitation by client modern-test-client 2.0.0' });
    assert.match(stderr.join(''), /client modern-test-client 2\.0\.0 speaks 2026-07-28 \(per request\) with form elicitation/);
  });

  it('2026-07-28, target manifests: propose → apply through the input request (files written, nothing sent to the cluster) → used', async () => {
    const workspace = path.join(dir, 'ws', 'plain');
    cpSync(path.join(repoRoot, 'test', 'fixtures', 'gitops', 'plain'), workspace, { recursive: true });
    // A krr report for the fixture's containers (the stand-in's sample names other containers).
    const mi = 2 ** 20;
    const reportFile = path.join(dir, 'report.json');
    writeFileSync(
      reportFile,
      krrReportJson([
        { namespace: 'shop', kind: 'Deployment', name: 'frontend', containers: { app: { current: requestsOnly(1, 1024 * mi), recommended: requestsOnly(0.25, 384 * mi) } } },
        { namespace: 'data', kind: 'StatefulSet', name: 'postgres', containers: { postgres: { current: requestsOnly(1, 1024 * mi), recommended: requestsOnly(0.5, 2048 * mi) } } },
      ]),
    );
    const shop = () => readFileSync(path.join(workspace, 'apps', 'shop.yaml'), 'utf8');
    const postgresJson = () => readFileSync(path.join(workspace, 'apps', 'postgres.json'), 'utf8');
    const before = { shop: shop(), postgres: postgresJson() };
    const { client } = startModern({ settings: { confirmByTyping: ['*prod*'] }, workspace: [workspace] });
    const loaded = structured<{ reportId: string }>(await client.callTool('krr_load_report', { path: reportFile }));
    const proposed = structured<{ planId: string; digest: string; target: string; files: Array<{ path: string }> }>(await client.callTool('krr_propose_changes', { reportId: loaded.reportId, target: 'manifests', workloads: [frontend, postgres] }));
    assert.equal(proposed.target, 'manifests');
    assert.deepEqual(proposed.files.map((file) => file.path).sort(), ['apps/postgres.json', 'apps/shop.yaml'], JSON.stringify(proposed).slice(0, 3000));
    assert.deepEqual({ shop: shop(), postgres: postgresJson() }, before, 'the proposal writes nothing');

    const applied = await client.callTool('krr_apply_plan', { planId: proposed.planId }, approveAll('prod-eu-1'));
    const outcome = structured<{ status: string; files: Array<{ path: string; result: string }> }>(applied);
    assert.equal(outcome.status, 'applied', textOf(applied));
    assert.deepEqual(outcome.files.map((file) => [file.path, file.result]).sort(), [['apps/postgres.json', 'written'], ['apps/shop.yaml', 'written']]);
    // One round: the approval form names files, not a cluster, and asks for no typed context.
    assert.equal(client.rounds.length, 1);
    const form = client.rounds[0]?.inputRequests.approval;
    assert.equal(form?.method, 'elicitation/create');
    assert.match(form?.params.message ?? '', /^Write resource changes to 2 files in the workspace\?/);
    assert.match(form?.params.message ?? '', /plain\/apps\/shop\.yaml/);
    assert.deepEqual(form?.params.requestedSchema?.required, ['approve']);
    assert.notEqual(shop(), before.shop);
    assert.notEqual(postgresJson(), before.postgres);
    assert.equal(cluster.writes().length, 0, 'a manifest plan sends nothing to the cluster');

    // Single use on this era too: a second apply is refused without a form.
    const again = await client.callTool('krr_apply_plan', { planId: proposed.planId }, approveAll('prod-eu-1'));
    assert.equal(structured<{ status: string }>(again).status, 'used', textOf(again));
    assert.equal(client.rounds.length, 1);
    // Honest record: the client's answer to the form, as for a cluster plan.
    const approvals = auditEntries(path.join(dir, 'state')).filter((entry) => entry.action === 'approve');
    assert.equal(approvals.length, 1);
    assert.equal(approvals[0]?.planId, proposed.planId);
    assert.equal(approvals[0]?.digest, proposed.digest);
    assert.deepEqual(approvals[0]?.actor, { type: 'client', via: 'MCP elicitation by client modern-test-client 2.0.0' });
  });

  it('2026-07-28 without form elicitation: apply is a MissingRequiredClientCapability error, audited, nothing written; krr_status says so', async () => {
    const { client } = startModern({ capabilities: { elicitation: { url: {} } } });
    const status = structured<{ approval: { canApprove: boolean; how: string } }>(await client.callTool('krr_status'));
    assert.equal(status.approval.canApprove, false);
    assert.match(status.approval.how, /URL elicitation only/);
    const { planId, text } = await scanAndPropose(client);
    assert.doesNotMatch(text, /your client will ask/);
    assert.match(text, /none can be asked in this session/);
    const reply = await client.callTool('krr_apply_plan', { planId }, approveAll());
    assert.equal(reply.error?.code, -32021, JSON.stringify(reply));
    assert.deepEqual(reply.error?.data, { requiredCapabilities: { elicitation: { form: {} } } });
    assert.equal(cluster.writes().length, 0);
    const refused = auditEntries(path.join(dir, 'state')).filter((entry) => entry.action === 'refuse' && entry.outcome === 'missing-capability');
    assert.equal(refused.length, 1);
    // The same request declaring a form works: capabilities are per request.
    client.setCapabilities({ elicitation: {} });
    assert.equal(structured<{ status: string }>(await client.callTool('krr_apply_plan', { planId }, approveAll())).status, 'applied');
  });

  it('2026-07-28 on stdio: notifications/cancelled naming a request stops its work (krr is stopped)', async () => {
    const pidFile = path.join(dir, 'krr.pid');
    const { client } = startModern({ env: { KRR_STANDIN_FAIL: 'slow', KRR_STANDIN_SLOW_MS: '30000', KRR_STANDIN_PID_FILE: pidFile } });
    const scan = client.cancellable('tools/call', { name: 'krr_scan', arguments: {} });
    const pid = await standInPid(pidFile);
    await scan.cancel();
    await waitFor(() => (isAlive(pid) ? undefined : true));
    // The server still answers other requests afterwards.
    assert.equal((await client.request('server/discover')).result?.resultType, 'complete');
  });

  it('2026-07-28 request errors: missing _meta, unsupported version, unknown method', async () => {
    const { client } = startModern();
    // Without _meta a request is a 2025-era one: the SDK answers it (dual-era), without resultType.
    const noMeta = await client.request('tools/list', {}, { noMeta: true });
    assert.equal(noMeta.result?.resultType, undefined);
    const noCapabilities = await client.request('tools/list', { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': 'none' } });
    assert.equal(noCapabilities.error?.code, -32602);
    const old = await client.request('tools/list', { _meta: { 'io.modelcontextprotocol/protocolVersion': '2030-01-01' } });
    assert.equal(old.error?.code, -32022);
    // Both versions this server speaks: the revision per request, and the 2025 era's newest through initialize.
    assert.deepEqual(old.error?.data, { supported: ['2026-07-28', '2025-11-25'], requested: '2030-01-01' });
    const unknown = await client.request('resources/list');
    assert.equal(unknown.error?.code, -32601);
  });

  it('2025 era (SDK client) on the same server: apply and rollback by elicitation, recorded as the client’s answer', async () => {
    const original = live();
    const transport = new StdioClientTransport({ command: process.execPath, args: serverArgs(), ...serverProcess(path.join(dir, 'home')), stderr: 'pipe' });
    const stderr: string[] = [];
    transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
    const { client } = await connectStdioClient(transport, 'legacy-test-client', () => ({ action: 'accept', content: { approve: true } }));
    closers.push(() => client.close());
    const call = async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;
    const status = (await call('krr_status')).structuredContent as { approval: { canApprove: boolean; path: string } };
    assert.deepEqual([status.approval.canApprove, status.approval.path], [true, 'elicitation']);
    const scan = (await call('krr_scan')).structuredContent as { reportId: string };
    const proposed = await call('krr_propose_changes', { reportId: scan.reportId, workloads: [frontend, postgres], includeLimits: true });
    assert.match(textOf(proposed), /approval form \(MCP elicitation\)/);
    const planId = (proposed.structuredContent as { planId: string }).planId;
    const applied = (await call('krr_apply_plan', { planId })).structuredContent as { status: string; snapshotId: string };
    assert.equal(applied.status, 'applied');
    assert.equal(cluster.writes().length, 2);
    assert.equal(((await call('krr_rollback', { snapshotId: applied.snapshotId })).structuredContent as { status: string }).status, 'applied');
    assert.deepEqual(live(), original);
    const approvals = auditEntries(path.join(dir, 'state')).filter((entry) => entry.action === 'approve');
    assert.equal(approvals.length, 2);
    for (const entry of approvals) assert.deepEqual(entry.actor, { type: 'client', via: 'MCP elicitation by client legacy-test-client 1.0.0' });
    assert.match(stderr.join(''), /client legacy-test-client 1\.0\.0 connected \(2025 era, initialize\) with form elicitation/);
  });

  it('2025 era with URL elicitation only: logged as such, krr_status says writes cannot be approved, apply refused', async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: serverArgs(), ...serverProcess(path.join(dir, 'home')), stderr: 'pipe' });
    const stderr: string[] = [];
    transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const client = new Client({ name: 'url-only-client', version: '1.0.0' }, { capabilities: { elicitation: { url: {} } } });
    await client.connect(transport);
    closers.push(() => client.close());
    const call = async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;
    const status = (await call('krr_status')).structuredContent as { approval: { canApprove: boolean; how: string } };
    assert.equal(status.approval.canApprove, false);
    assert.match(status.approval.how, /URL elicitation only/);
    assert.match(stderr.join(''), /url-only-client 1\.0\.0 connected \(2025 era, initialize\) with URL elicitation only/);
    assert.doesNotMatch(stderr.join(''), /with elicitation/);
    const scan = (await call('krr_scan')).structuredContent as { reportId: string };
    const proposed = await call('krr_propose_changes', { reportId: scan.reportId, workloads: [frontend], includeLimits: true });
    assert.doesNotMatch(textOf(proposed), /your client will ask/);
    const applied = await call('krr_apply_plan', { planId: (proposed.structuredContent as { planId: string }).planId });
    assert.equal((applied.structuredContent as { status: string }).status, 'refused');
    assert.equal(cluster.writes().length, 0);
  });
});

describe('mcp eras: 2026-07-28 client on the loopback HTTP host (approval in the VS Code dialog)', function () {
  this.timeout(90_000);
  let f: SessionFixture;
  let host: HttpHost;

  beforeEach(async () => {
    f = await startSessionFixture();
    host = await startHttpHost(f.session, { version: 'test' });
  });
  afterEach(async () => {
    await host.close();
    await f.close();
  });

  it('scan → propose → apply (the person approves in the editor) → rollback, statelessly', async () => {
    const client = ModernClient.http(host.url, host.token, { name: 'modern-http-client', version: '3.1.0' });
    const original = resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'shop', 'frontend');
    const discover = await client.request('server/discover');
    assert.equal(discover.status, 200);
    assert.deepEqual(discover.result?.supportedVersions, ['2026-07-28']);
    const status = structured<{ approval: { canApprove: boolean; path: string } }>(await client.callTool('krr_status'));
    assert.deepEqual([status.approval.canApprove, status.approval.path], [true, 'editor']);
    const { planId } = await scanAndPropose(client);
    f.human.answer = 'approve';
    const applied = await client.callTool('krr_apply_plan', { planId });
    const outcome = structured<{ status: string; snapshotId: string }>(applied);
    assert.equal(outcome.status, 'applied', textOf(applied));
    assert.equal(f.cluster.writes().length, 2);
    assert.match(f.human.asked[0]?.text.detail ?? '', /Apply requested by the AI chat \(modern-http-client\)/);
    const rolledBack = await client.callTool('krr_rollback', { snapshotId: outcome.snapshotId });
    assert.equal(structured<{ status: string }>(rolledBack).status, 'applied');
    assert.deepEqual(resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'shop', 'frontend'), original);
  });

  it('while the person decides, a call that asked for progress gets it on an SSE stream of its own, then the result', async () => {
    const client = ModernClient.http(host.url, host.token, { name: 'modern-http-client' });
    const { planId } = await scanAndPropose(client);
    // The person takes longer than one keep-alive interval (10 s) before approving.
    f.human.answer = (plan) => new Promise((resolve) => setTimeout(() => resolve({ outcome: 'approved', digest: plan.digest }), 11_000));
    const reply = await client.request('tools/call', { name: 'krr_apply_plan', arguments: { planId }, _meta: { progressToken: 'apply-1' } });
    assert.equal(structured<{ status: string }>(reply).status, 'applied');
    assert.ok(reply.notifications.length >= 1, 'a progress notification before the result');
    assert.deepEqual((reply.notifications[0] as { method: string; params: { progressToken: string } }).params.progressToken, 'apply-1');
  });

  it('closing the response stream cancels the request (krr is stopped)', async () => {
    const pidFile = path.join(mkdtempSync(path.join(tmpdir(), 'krr-eras-cancel-')), 'krr.pid');
    const slow = await startSessionFixture({ session: { env: { KRR_STANDIN_FAIL: 'slow', KRR_STANDIN_SLOW_MS: '30000', KRR_STANDIN_PID_FILE: pidFile } } });
    const slowHost = await startHttpHost(slow.session, { version: 'test' });
    try {
      const client = ModernClient.http(slowHost.url, slowHost.token);
      const scan = client.cancellable('tools/call', { name: 'krr_scan', arguments: {} });
      const rejected = assert.rejects(scan.reply);
      const pid = await standInPid(pidFile);
      await scan.cancel();
      await rejected;
      await waitFor(() => (isAlive(pid) ? undefined : true));
    } finally {
      await slowHost.close();
      await slow.close();
      rmSync(path.dirname(pidFile), { recursive: true, force: true });
    }
  });

  it('refuses what the revision says to refuse: header mismatch (400 -32020), unsupported version (400 -32022), missing _meta (400 -32602), unknown method (404 -32601)', async () => {
    const client = ModernClient.http(host.url, host.token);
    const mismatch = await client.request('tools/call', { name: 'krr_status', arguments: {} }, { headers: { 'Mcp-Name': 'krr_apply_plan' } });
    assert.deepEqual([mismatch.status, mismatch.error?.code], [400, -32020]);
    const noMethodHeader = await client.request('tools/list', {}, { headers: { 'Mcp-Method': 'tools/call' } });
    assert.deepEqual([noMethodHeader.status, noMethodHeader.error?.code], [400, -32020]);
    const version = await client.request('tools/list', { _meta: { 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } }, { headers: { 'MCP-Protocol-Version': '2099-01-01' } });
    assert.deepEqual([version.status, version.error?.code], [400, -32022]);
    const noCapabilities = await client.request('tools/list', { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': null } });
    assert.deepEqual([noCapabilities.status, noCapabilities.error?.code], [400, -32602]);
    const unknown = await client.request('prompts/list');
    assert.deepEqual([unknown.status, unknown.error?.code], [404, -32601]);
    assert.equal(f.cluster.writes().length, 0);
  });
});
