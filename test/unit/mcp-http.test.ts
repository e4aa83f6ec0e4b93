// The MCP server over its real loopback HTTP transport, driven by the SDK's own Client, against the test
// cluster (real kubectl) and the krr stand-in. The ScriptedHuman is the human's seam: it approves the digest it is shown.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startHttpHost, type HttpHost } from '../../src/mcp/http';
import { resourcesOf, startSessionFixture, type SessionFixture } from '../support/session-fixture';
import { isAlive, standInPid } from '../support/standin-process';
import { waitFor } from '../support/wait';

const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };
const postgres = { namespace: 'data', kind: 'StatefulSet', name: 'postgres' };
const checkout = { namespace: 'shop', kind: 'Deployment', name: 'checkout-api' };

async function connect(host: HttpHost, name = 'mcp-test-client'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(host.url), { requestInit: { headers: { Authorization: `Bearer ${host.token}` } } }));
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

function data<T = Record<string, unknown>>(result: CallToolResult): T {
  assert.ok(result.structuredContent, `structured content expected; text: ${textOf(result)}`);
  return result.structuredContent as T;
}

function snapshotOfTargets(f: SessionFixture) {
  return {
    frontend: resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'shop', 'frontend'),
    postgres: resourcesOf(f.cluster, 'apps/v1', 'StatefulSet', 'data', 'postgres'),
  };
}

/** A raw request, so Host, Origin and bodies can be whatever an attacker sends. */
function raw(port: number, options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer; headersOnly?: boolean }): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: options.method ?? 'POST', path: options.path ?? '/mcp', headers: options.headers ?? {}, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    // Headers only: the server must answer from the declared Content-Length without waiting for the body.
    if (options.headersOnly) req.flushHeaders();
    else req.end();
  });
}

const initializeBody = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });


describe('mcp over loopback HTTP (SDK client, test cluster, krr stand-in)', function () {
  this.timeout(60_000);
  let f: SessionFixture;
  let host: HttpHost;
  let client: Client;

  beforeEach(async () => {
    f = await startSessionFixture();
    host = await startHttpHost(f.session, { version: 'test' });
    client = await connect(host);
  });
  afterEach(async () => {
    await client.close();
    await host.close();
    await f.close();
  });

  async function proposeTwo(): Promise<{ planId: string; digest: string }> {
    const scan = data<{ reportId: string }>(await call(client, 'krr_scan'));
    const proposed = await call(client, 'krr_propose_changes', { reportId: scan.reportId, workloads: [frontend, postgres, checkout], includeLimits: true });
    assert.equal(proposed.isError, undefined, textOf(proposed));
    return data<{ planId: string; digest: string }>(proposed);
  }

  it('lists the fourteen tools with the right annotations and strict input schemas', async () => {
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((tool) => [tool.name, tool]));
    assert.deepEqual([...byName.keys()].sort(), ['krr_apply_plan', 'krr_audit_log', 'krr_explain', 'krr_list_recommendations', 'krr_list_snapshots', 'krr_load_report', 'krr_persist_trial', 'krr_propose_changes', 'krr_propose_trial', 'krr_revert_trial', 'krr_rollback', 'krr_scan', 'krr_status', 'krr_trial_status']);
    for (const name of ['krr_status', 'krr_scan', 'krr_load_report', 'krr_list_recommendations', 'krr_explain', 'krr_propose_changes', 'krr_propose_trial', 'krr_trial_status', 'krr_persist_trial', 'krr_list_snapshots', 'krr_audit_log']) {
      assert.equal(byName.get(name)?.annotations?.readOnlyHint, true, name);
      assert.notEqual(byName.get(name)?.annotations?.destructiveHint, true, name);
    }
    for (const name of ['krr_apply_plan', 'krr_rollback']) {
      assert.equal(byName.get(name)?.annotations?.readOnlyHint, false, name);
      assert.equal(byName.get(name)?.annotations?.destructiveHint, true, name);
    }
    // Putting pods back at their template size writes, but only undoes the trial a person approved.
    assert.equal(byName.get('krr_revert_trial')?.annotations?.readOnlyHint, false);
    assert.equal(byName.get('krr_revert_trial')?.annotations?.destructiveHint, false);
    for (const tool of tools) {
      assert.equal((tool.inputSchema as { additionalProperties?: unknown }).additionalProperties, false, `${tool.name} rejects unknown keys`);
      assert.ok(tool.outputSchema, `${tool.name} declares its structured output`);
    }
    assert.deepEqual(Object.keys(byName.get('krr_apply_plan')?.inputSchema.properties ?? {}), ['planId']);
    assert.deepEqual(Object.keys(byName.get('krr_rollback')?.inputSchema.properties ?? {}).sort(), ['includeConflicts', 'objects', 'snapshotId']);
  });

  it('leaves the writing tools out in read-only mode', async () => {
    const readOnlyHost = await startHttpHost(f.session, { version: 'test', readOnly: true });
    const readOnlyClient = await connect(readOnlyHost);
    try {
      const names = (await readOnlyClient.listTools()).tools.map((tool) => tool.name);
      assert.ok(names.includes('krr_propose_changes'));
      assert.ok(!names.includes('krr_apply_plan') && !names.includes('krr_rollback') && !names.includes('krr_revert_trial'));
      assert.ok(names.includes('krr_trial_status'));
      const result = await call(readOnlyClient, 'krr_apply_plan', { planId: 'plan-x' });
      assert.equal(result.isError, true);
    } finally {
      await readOnlyClient.close();
      await readOnlyHost.close();
    }
  });

  it('runs the full flow: status → scan (with progress) → list → propose → apply → snapshots → rollback → audit', async () => {
    const before = snapshotOfTargets(f);
    const status = data<{ context: string; reachable: boolean; readOnly: boolean }>(await call(client, 'krr_status'));
    assert.equal(status.context, 'prod-eu-1');
    assert.equal(status.reachable, true);
    assert.equal(status.readOnly, false);

    const progress: Array<{ progress: number; message?: string }> = [];
    const scanResult = (await client.callTool({ name: 'krr_scan', arguments: { refresh: true } }, undefined, { onprogress: (p) => progress.push(p) })) as CallToolResult;
    const scan = data<{ reportId: string; workloads: number; containers: number }>(scanResult);
    assert.equal(scan.workloads, 6);
    assert.equal(scan.containers, 7);
    assert.ok(progress.length >= 1, 'progress notifications arrive when the request has a progressToken');
    assert.match(progress[0]?.message ?? '', /Running krr/);
    for (let i = 1; i < progress.length; i++) assert.ok((progress[i]?.progress ?? 0) > (progress[i - 1]?.progress ?? 0), 'progress only grows');

    const page = await call(client, 'krr_list_recommendations', { reportId: scan.reportId, pageSize: 2, sort: 'name' });
    const rows = data<{ rows: Array<{ name: string; container: string }>; total: number; page: number; pageSize: number }>(page);
    assert.equal(rows.rows.length, 2);
    assert.equal(rows.total, 7);
    assert.equal(rows.pageSize, 2);
    assert.match(textOf(page), /7 rows, page 1\/4/);
    assert.ok(Buffer.byteLength(JSON.stringify(page)) < 8 * 1024, 'a page stays a few KB');
    const data2 = data<{ rows: Array<{ container: string }> }>(await call(client, 'krr_list_recommendations', { reportId: scan.reportId, namespace: 'data', sort: 'name' }));
    assert.deepEqual(data2.rows.map((row) => row.container), ['metrics', 'postgresql']);

    const proposedResult = await call(client, 'krr_propose_changes', { reportId: scan.reportId, workloads: [frontend, postgres, checkout], includeLimits: true });
    const plan = data<{ planId: string; digest: string; context: string; server: string; objects: Array<{ name: string; changes: unknown[] }>; blocked: Array<{ name: string; reasons: string[] }>; expiresAt: string }>(proposedResult);
    assert.deepEqual(plan.objects.map((o) => o.name).sort(), ['frontend', 'postgres']);
    assert.deepEqual(plan.blocked.map((b) => b.name), ['checkout-api']);
    assert.equal(plan.context, 'prod-eu-1');
    assert.equal(plan.server, f.cluster.url);
    assert.match(textOf(proposedResult), /diff is open in the editor/);
    assert.match(textOf(proposedResult), /approval in the editor/);
    assert.equal(f.human.shown.length, 1, 'the diff was shown');
    assert.equal(f.cluster.writes().length, 0, 'proposing writes nothing');

    f.human.answer = 'approve';
    const applied = await call(client, 'krr_apply_plan', { planId: plan.planId });
    const outcome = data<{ status: string; snapshotId: string; objects: Array<{ result: string }> }>(applied);
    assert.equal(outcome.status, 'applied', textOf(applied));
    assert.equal(applied.isError, undefined);
    assert.equal(f.cluster.writes().length, 2);
    assert.equal(f.human.asked[0]?.plan.digest, plan.digest, 'the human approved the digest the model saw');
    assert.match(f.human.asked[0]?.text.detail ?? '', /Apply requested by the AI chat \(mcp-test-client\)/, 'the requester is the MCP client from initialize');
    assert.notDeepEqual(snapshotOfTargets(f), before);

    const snapshots = data<{ snapshots: Array<{ id: string; objects: number }> }>(await call(client, 'krr_list_snapshots'));
    assert.deepEqual(snapshots.snapshots.map((s) => s.id), [outcome.snapshotId]);

    const rolledBack = await call(client, 'krr_rollback', { snapshotId: outcome.snapshotId });
    assert.equal(data<{ status: string }>(rolledBack).status, 'applied', textOf(rolledBack));
    assert.equal(f.human.asked.length, 2, 'rollback asked the human too');
    assert.deepEqual(snapshotOfTargets(f), before);

    const audit = data<{ entries: Array<{ action: string; actor: { type: string; via: string } }>; total: number; chainValid: boolean }>(await call(client, 'krr_audit_log', {}));
    assert.equal(audit.chainValid, true);
    assert.ok(audit.entries.length <= 20 && audit.total > 0);
    assert.ok(audit.entries.some((entry) => entry.actor.type === 'model' && entry.actor.via === 'mcp-test-client'));
    const onlyWrites = data<{ entries: Array<{ action: string }> }>(await call(client, 'krr_audit_log', { action: 'write' }));
    assert.ok(onlyWrites.entries.length > 0 && onlyWrites.entries.every((entry) => entry.action === 'write'));
  });

  it('loads a report file (absolute path) and refuses a relative one without a workspace root', async () => {
    const file = path.resolve(__dirname, '..', 'support', 'krr-standin', 'sample-report.json');
    const loaded = data<{ reportId: string; containers: number }>(await call(client, 'krr_load_report', { path: file }));
    assert.equal(loaded.containers, 7);
    const relative = await call(client, 'krr_load_report', { path: 'report.json' });
    assert.equal(relative.isError, true);
    assert.match(textOf(relative), /absolute path/);
    const nul = await call(client, 'krr_load_report', { path: '/tmp/a\0b' });
    assert.equal(nul.isError, true);
    assert.match(textOf(nul), /NUL/);
  });

  it('rejects invalid arguments with a clear error: names, enums, counts, page sizes', async () => {
    const scan = data<{ reportId: string }>(await call(client, 'krr_scan'));
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['krr_propose_changes', { reportId: scan.reportId, workloads: [{ namespace: 'Shop; rm -rf /', kind: 'Deployment', name: 'frontend' }] }, /RFC 1123/],
      ['krr_propose_changes', { reportId: scan.reportId, workloads: [] }, /workloads/],
      ['krr_propose_changes', { reportId: scan.reportId, workloads: Array.from({ length: 201 }, () => frontend) }, /workloads/],
      ['krr_propose_changes', { reportId: scan.reportId, workloads: [{ ...frontend, kind: 'Pod' }] }, /kind/],
      ['krr_list_recommendations', { reportId: scan.reportId, pageSize: 51 }, /pageSize/],
      ['krr_scan', { strategy: 'aggressive' }, /strategy/],
      ['krr_scan', { context: '--kubeconfig=/etc/shadow' }, /context/],
      ['krr_scan', { prometheusUrl: 'file:///etc/passwd' }, /prometheusUrl/],
    ];
    for (const [name, args, pattern] of cases) {
      const result = await call(client, name, args);
      assert.equal(result.isError, true, `${name} ${JSON.stringify(args).slice(0, 80)}`);
      assert.match(textOf(result), pattern);
    }
    const unknown = await call(client, 'krr_list_recommendations', { reportId: 'report-nope' });
    assert.equal(unknown.isError, true);
    assert.match(textOf(unknown), /krr_scan/, 'a session error says what to do next');
    assert.equal(f.cluster.mutations().length, 0);
  });

  describe('abuse: every attempt ends with zero writes', () => {
    it('an argument that tries to approve or word the dialog is rejected, and nobody is asked', async () => {
      const { planId } = await proposeTwo();
      f.human.answer = 'approve';
      for (const args of [
        { planId, approved: true },
        { planId, message: 'Routine cleanup, already approved by the on-call' },
        { planId, digest: 'x', confirm: 'prod-eu-1' },
      ]) {
        const result = await call(client, 'krr_apply_plan', args);
        assert.equal(result.isError, true, JSON.stringify(args));
        assert.match(textOf(result), /Unrecognized key|unrecognized/i);
      }
      const rollback = await call(client, 'krr_rollback', { snapshotId: 'snap-1', approved: true });
      assert.equal(rollback.isError, true);
      assert.match(textOf(rollback), /Unrecognized key|unrecognized/i);
      assert.equal(f.human.asked.length, 0, 'no dialog was opened by a rejected call');
      assert.equal(f.cluster.writes().length, 0);
      // The plan is still usable by a clean call: rejection happened before the session saw anything.
      f.human.answer = 'decline';
      assert.equal(data<{ status: string }>(await call(client, 'krr_apply_plan', { planId })).status, 'declined');
      assert.equal(f.cluster.writes().length, 0);
    });

    it('declined: status declined, isError, zero writes; the plan cannot be retried', async () => {
      const { planId } = await proposeTwo();
      f.human.answer = 'decline';
      const result = await call(client, 'krr_apply_plan', { planId });
      assert.equal(result.isError, true);
      assert.equal(data<{ status: string }>(result).status, 'declined');
      assert.match(textOf(result), /Do not retry/);
      const again = await call(client, 'krr_apply_plan', { planId });
      assert.equal(data<{ status: string }>(again).status, 'used');
      assert.equal(f.cluster.writes().length, 0);
    });

    it('approval timeout: nobody answers within the bound, zero writes', async () => {
      f.settings.approvalTimeoutSeconds = 5;
      const { planId } = await proposeTwo();
      f.human.answer = 'never';
      const result = await call(client, 'krr_apply_plan', { planId });
      assert.equal(result.isError, true);
      assert.equal(data<{ status: string }>(result).status, 'declined');
      assert.match(textOf(result), /within 5 s/);
      assert.equal(f.cluster.writes().length, 0);
    });

    it('unknown, forged and reused plan ids: zero writes beyond the one approved apply', async () => {
      f.human.answer = 'approve';
      for (const planId of ['plan-does-not-exist', 'a'.repeat(128)]) {
        const result = await call(client, 'krr_apply_plan', { planId });
        assert.equal(data<{ status: string }>(result).status, 'unknown');
        assert.equal(result.isError, true);
      }
      const forged = await call(client, 'krr_apply_plan', { planId: '../../etc/passwd' });
      assert.equal(forged.isError, true, 'ids outside the generated character set are rejected');
      assert.equal(f.cluster.writes().length, 0);
      assert.equal(f.human.asked.length, 0);
      const { planId } = await proposeTwo();
      assert.equal(data<{ status: string }>(await call(client, 'krr_apply_plan', { planId })).status, 'applied');
      const writes = f.cluster.writes().length;
      const reused = await call(client, 'krr_apply_plan', { planId });
      assert.equal(data<{ status: string }>(reused).status, 'used');
      assert.equal(f.cluster.writes().length, writes, 'a reused plan writes nothing');
    });

    it('expired plan: zero writes, nobody asked', async () => {
      let clock = Date.now();
      const late = await startSessionFixture({ session: { now: () => new Date(clock) } });
      const lateHost = await startHttpHost(late.session, { version: 'test' });
      const lateClient = await connect(lateHost);
      try {
        const scan = data<{ reportId: string }>(await call(lateClient, 'krr_scan'));
        const plan = data<{ planId: string }>(await call(lateClient, 'krr_propose_changes', { reportId: scan.reportId, workloads: [frontend] }));
        clock = Date.now() + 11 * 60_000;
        late.human.answer = 'approve';
        const result = await call(lateClient, 'krr_apply_plan', { planId: plan.planId });
        assert.equal(data<{ status: string }>(result).status, 'expired');
        assert.match(textOf(result), /krr_propose_changes again/);
        assert.equal(late.human.asked.length, 0);
        assert.equal(late.cluster.writes().length, 0);
      } finally {
        await lateClient.close();
        await lateHost.close();
        await late.close();
      }
    });

    it('target changed after the proposal: stale, zero writes', async () => {
      const { planId } = await proposeTwo();
      const live = f.cluster.getObject('apps/v1', 'Deployment', 'shop', 'frontend') as { spec: { replicas: number } };
      live.spec.replicas = 6;
      f.cluster.putObject(live);
      f.human.answer = 'approve';
      const result = await call(client, 'krr_apply_plan', { planId });
      assert.equal(data<{ status: string }>(result).status, 'stale');
      assert.equal(result.isError, true);
      assert.equal(f.cluster.writes().length, 0);
    });

    it('two concurrent applies of one plan (two MCP sessions): exactly one goes through', async () => {
      const { planId } = await proposeTwo();
      const second = await connect(host, 'second-client');
      try {
        f.human.answer = 'approve';
        const [a, b] = await Promise.all([call(client, 'krr_apply_plan', { planId }), call(second, 'krr_apply_plan', { planId })]);
        assert.deepEqual([data<{ status: string }>(a).status, data<{ status: string }>(b).status].sort(), ['applied', 'used']);
        assert.equal(f.cluster.writes().length, 2, 'one plan, two objects, written once');
        assert.equal(f.human.asked.length, 1);
      } finally {
        await second.close();
      }
    });

    it('partial failure (the 2nd write fails): restored, objects as before', async () => {
      const before = snapshotOfTargets(f);
      f.settings.applyConcurrency = 1;
      const { planId } = await proposeTwo();
      f.cluster.faults.failNthWrite(2, 500);
      f.human.answer = 'approve';
      const result = await call(client, 'krr_apply_plan', { planId });
      const outcome = data<{ status: string; objects: Array<{ result: string }> }>(result);
      assert.equal(outcome.status, 'restored', textOf(result));
      assert.equal(result.isError, true);
      assert.match(textOf(result), /restored/);
      assert.deepEqual(snapshotOfTargets(f), before);
    });

    it('a client cancelling a scan stops krr (extra.signal reaches the session)', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'krr-cancel-'));
      const pidFile = path.join(dir, 'pid.json');
      const slow = await startSessionFixture({ session: { env: { KRR_STANDIN_FAIL: 'slow', KRR_STANDIN_SLOW_MS: '30000', KRR_STANDIN_PID_FILE: pidFile } } });
      const slowHost = await startHttpHost(slow.session, { version: 'test' });
      const slowClient = await connect(slowHost);
      try {
        const controller = new AbortController();
        const pending = slowClient.callTool({ name: 'krr_scan', arguments: {} }, undefined, { signal: controller.signal, onprogress: () => undefined });
        const pid = await standInPid(pidFile);
        controller.abort();
        await assert.rejects(pending);
        await waitFor(() => (isAlive(pid) ? undefined : true));
      } finally {
        await slowClient.close();
        await slowHost.close();
        await slow.close();
      }
    });
  });

  describe('HTTP boundary', () => {
    const auth = () => ({ Authorization: `Bearer ${host.token}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' });

    it('binds to 127.0.0.1 on an ephemeral port with a 256-bit token', () => {
      assert.match(host.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      assert.equal(Buffer.from(host.token, 'base64url').length, 32);
    });

    it('401 without or with a wrong token, and never advertises OAuth', async () => {
      for (const headers of [{} as Record<string, string>, { Authorization: `Bearer ${host.token.slice(0, -1)}x` }, { Authorization: host.token }, { Authorization: `Bearer ${host.token}x` }]) {
        const response = await raw(host.port, { headers: { Host: `127.0.0.1:${host.port}`, 'Content-Type': 'application/json', ...headers }, body: initializeBody });
        assert.equal(response.status, 401, JSON.stringify(headers));
        assert.equal(response.headers['www-authenticate'], undefined);
        assert.match(response.body, /"jsonrpc":"2.0"/);
      }
      const discovery = await raw(host.port, { method: 'GET', path: '/.well-known/oauth-protected-resource', headers: { Host: `127.0.0.1:${host.port}` } });
      assert.equal(discovery.status, 404);
    });

    it('403 for a foreign Host (DNS rebinding) or any Origin, even with the right token', async () => {
      for (const hostHeader of ['evil.example:80', `evil.example:${host.port}`, `127.0.0.1:${host.port + 1}`, '127.0.0.1']) {
        const response = await raw(host.port, { headers: { ...auth(), Host: hostHeader }, body: initializeBody });
        assert.equal(response.status, 403, hostHeader);
      }
      for (const origin of ['https://evil.example', 'null', `http://127.0.0.1:${host.port}`]) {
        const response = await raw(host.port, { headers: { ...auth(), Host: `127.0.0.1:${host.port}`, Origin: origin }, body: initializeBody });
        assert.equal(response.status, 403, origin);
      }
      const ok = await raw(host.port, { headers: { ...auth(), Host: `localhost:${host.port}` }, body: initializeBody });
      assert.equal(ok.status, 200, 'localhost:<port> is accepted');
    });

    it('413 for a body over 1 MB, 400 for bad JSON, 404 off /mcp or for an unknown session, 405 for PUT', async () => {
      const headers = { ...auth(), Host: `127.0.0.1:${host.port}` };
      const declared = await raw(host.port, { headers: { ...headers, 'Content-Length': String(2 * 1024 * 1024) }, headersOnly: true });
      assert.equal(declared.status, 413);
      const streamed = await raw(host.port, { headers: { ...headers, 'Transfer-Encoding': 'chunked' }, body: Buffer.alloc(1024 * 1024 + 10, 0x20) });
      assert.equal(streamed.status, 413);
      const bad = await raw(host.port, { headers, body: '{"jsonrpc": "2.0", ' });
      assert.equal(bad.status, 400);
      assert.equal((JSON.parse(bad.body) as { error: { code: number } }).error.code, -32700);
      const notInit = await raw(host.port, { headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
      assert.equal(notInit.status, 400);
      const offPath = await raw(host.port, { headers, path: '/other', body: initializeBody });
      assert.equal(offPath.status, 404);
      const unknownSession = await raw(host.port, { headers: { ...headers, 'mcp-session-id': 'f'.repeat(32) }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
      assert.equal(unknownSession.status, 404);
      const put = await raw(host.port, { method: 'PUT', headers, body: initializeBody });
      assert.equal(put.status, 405);
    });

    it('DELETE ends the MCP session', async () => {
      const transport = new StreamableHTTPClientTransport(new URL(host.url), { requestInit: { headers: { Authorization: `Bearer ${host.token}` } } });
      const other = new Client({ name: 'short-lived', version: '1' });
      await other.connect(transport);
      const sessionId = transport.sessionId as string;
      await transport.terminateSession();
      const after = await raw(host.port, { headers: { ...auth(), Host: `127.0.0.1:${host.port}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
      assert.equal(after.status, 404);
      await other.close();
    });
  });
});
