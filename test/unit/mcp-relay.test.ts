// `krr-mcp relay`: a stdio client reaches the extension's HTTP server through the discovery file, and the
// approval happens on the host's side (the ScriptedHuman stands in for the VS Code dialog).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startHttpHost, type HttpHost } from '../../src/mcp/http';
import { cliArgs } from '../support/cli-bundle';
import { ModernClient } from '../support/modern-client';
import { startSessionFixture, type SessionFixture } from '../support/session-fixture';

const repoRoot = path.resolve(__dirname, '..', '..');

function relayTransport(discovery: string | undefined): StdioClientTransport {
  return new StdioClientTransport({
    command: process.execPath,
    args: cliArgs(['relay', ...(discovery ? ['--discovery', discovery] : [])]),
    cwd: repoRoot,
    env: { ...getDefaultEnvironment() },
    stderr: 'pipe',
  });
}


describe('mcp relay: stdio → the extension’s loopback HTTP server', function () {
  this.timeout(60_000);
  let f: SessionFixture;
  let host: HttpHost;
  let dir: string;

  beforeEach(async () => {
    f = await startSessionFixture();
    host = await startHttpHost(f.session, { version: 'test' });
    dir = mkdtempSync(path.join(tmpdir(), 'krr-relay-'));
  });
  afterEach(async () => {
    await host.close();
    await f.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('forwards tools; apply is approved on the host side, named after the real client', async () => {
    const discovery = path.join(dir, 'discovery.json');
    writeFileSync(discovery, JSON.stringify({ url: host.url, token: host.token, pid: process.pid }), { mode: 0o600 });
    const client = new Client({ name: 'claude-code', version: '2.0.0' });
    await client.connect(relayTransport(discovery));
    try {
      assert.equal((await client.listTools()).tools.length, 14);
      const scan = (await client.callTool({ name: 'krr_scan', arguments: {} })) as CallToolResult;
      const reportId = (scan.structuredContent as { reportId: string }).reportId;
      const plan = (await client.callTool({ name: 'krr_propose_changes', arguments: { reportId, workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'frontend' }] } })) as CallToolResult;
      const planId = (plan.structuredContent as { planId: string }).planId;
      f.human.answer = 'approve';
      const applied = (await client.callTool({ name: 'krr_apply_plan', arguments: { planId } })) as CallToolResult;
      assert.equal((applied.structuredContent as { status: string }).status, 'applied');
      assert.equal(f.cluster.writes().length, 1);
      assert.match(f.human.asked[0]?.text.detail ?? '', /\(claude-code\)/);
    } finally {
      await client.close();
    }
  });

  it('a 2026-07-28 client (Claude Code sends server/discover first) goes through statelessly; approval on the host side', async () => {
    const discovery = path.join(dir, 'discovery.json');
    writeFileSync(discovery, JSON.stringify({ url: host.url, token: host.token, pid: process.pid }), { mode: 0o600 });
    const { client } = ModernClient.stdio(process.execPath, cliArgs(['relay', '--discovery', discovery]), { cwd: repoRoot, env: { ...getDefaultEnvironment() } }, { name: 'claude-code', version: '3.0.0' });
    try {
      const discover = await client.request('server/discover');
      assert.deepEqual(discover.result?.supportedVersions, ['2026-07-28'], JSON.stringify(discover));
      const scan = await client.callTool('krr_scan');
      const reportId = (scan.result?.structuredContent as { reportId: string }).reportId;
      const plan = await client.callTool('krr_propose_changes', { reportId, workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'frontend' }] });
      const planId = (plan.result?.structuredContent as { planId: string }).planId;
      f.human.answer = 'approve';
      const applied = await client.callTool('krr_apply_plan', { planId });
      assert.equal((applied.result?.structuredContent as { status: string }).status, 'applied', JSON.stringify(applied).slice(0, 300));
      assert.equal(applied.result?.resultType, 'complete');
      assert.equal(f.cluster.writes().length, 1);
      assert.match(f.human.asked[0]?.text.detail ?? '', /\(claude-code\)/);
      // A person who takes longer than a keep-alive interval: the progress comes through the relay as it happens.
      const second = await client.callTool('krr_propose_changes', { reportId, workloads: [{ namespace: 'data', kind: 'StatefulSet', name: 'postgres' }], includeLimits: true });
      const secondId = (second.result?.structuredContent as { planId: string }).planId;
      f.human.answer = (pending) => new Promise((resolve) => setTimeout(() => resolve({ outcome: 'approved', digest: pending.digest }), 11_000));
      const slow = await client.request('tools/call', { name: 'krr_apply_plan', arguments: { planId: secondId }, _meta: { progressToken: 'relay-1' } });
      assert.equal((slow.result?.structuredContent as { status: string }).status, 'applied', JSON.stringify(slow.result).slice(0, 400));
      assert.ok(slow.notifications.length >= 1, 'progress relayed from the SSE stream');
    } finally {
      await client.close();
    }
  });

  it('without a running extension: a clear JSON-RPC error, not a hang', async () => {
    for (const discovery of [path.join(dir, 'missing.json'), undefined]) {
      const client = new Client({ name: 'claude-code', version: '2.0.0' });
      await assert.rejects(client.connect(relayTransport(discovery)), /KRR extension is not running in VS Code — open the workspace in VS Code/);
      await client.close();
    }
    const deadPid = path.join(dir, 'dead.json');
    writeFileSync(deadPid, JSON.stringify({ url: host.url, token: host.token, pid: 2 ** 22 + 12345 }));
    const client = new Client({ name: 'claude-code', version: '2.0.0' });
    await assert.rejects(client.connect(relayTransport(deadPid)), /not running in VS Code/);
    await client.close();
    const foreign = path.join(dir, 'foreign.json');
    writeFileSync(foreign, JSON.stringify({ url: 'http://evil.example:80/mcp', token: host.token, pid: process.pid }));
    const other = new Client({ name: 'claude-code', version: '2.0.0' });
    await assert.rejects(other.connect(relayTransport(foreign)), /not valid/, 'the token is never sent off loopback');
    await other.close();
  });
});
