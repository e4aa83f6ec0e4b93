// The 2026-07-28 approval round trip under attack: the requestState travels through the client (the spec calls it
// attacker-controlled input), so a model or a compromised client may forge, replay, swap, keep or carry it to another
// process. Each attempt over the real stdio server must write nothing beyond what an answered form approved, must be
// in the audit log, and is counted (request_state_attacks; request_states_accepted must stay 0).
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AuditEntry } from '../../src/core/audit';
import { approveAll, ModernClient, type RpcReply } from '../support/modern-client';
import { krrReportJson, requestsOnly } from '../support/krr-report';
import { krrStandIn } from '../support/session-fixture';
import { serveArgs, serverProcess } from '../support/stdio-client';
import { startTestCluster, type TestCluster } from '../support/test-cluster';
import { count } from './figures';
import { auditLines, frontend, postgres, repoRoot } from './harness';
import { attempt, type Observed } from './scenario';

interface Server {
  client: ModernClient;
  auditFile: string;
}

function status(reply: RpcReply): string | undefined {
  return (reply.result?.structuredContent as { status?: string } | undefined)?.status;
}

function textOf(reply: RpcReply): string {
  return ((reply.result?.content ?? []) as Array<{ text?: string }>).map((part) => part.text ?? '').join('\n');
}

describe('abuse: 2026-07-28 request state (forged, replayed, swapped, expired, foreign)', function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  let dir: string;
  const servers: ModernClient[] = [];

  beforeEach(async () => {
    cluster = await startTestCluster();
    dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-state-'));
  });
  afterEach(async () => {
    for (const client of servers.splice(0)) await client.close();
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function start(name: string, settings: Record<string, unknown> = {}, workspace: string[] = []): Server {
    const settingsFile = path.join(dir, `${name}.json`);
    writeFileSync(settingsFile, JSON.stringify({ confirmByTyping: [], declineCooldownSeconds: 0, ...settings }));
    const stateDir = path.join(dir, name);
    const args = serveArgs(['--state-dir', stateDir, '--kubeconfig', cluster.kubeconfigPath, '--krr', krrStandIn, '--kubectl', 'kubectl', '--settings', settingsFile, ...workspace.flatMap((folder) => ['--workspace', folder])]);
    const { client } = ModernClient.stdio(process.execPath, args, serverProcess(path.join(dir, 'home')), { name: 'abuse-modern-client', capabilities: { elicitation: { form: {} } } });
    servers.push(client);
    return { client, auditFile: path.join(stateDir, 'audit.jsonl') };
  }

  const observe = (server: Server): Observed => ({ writes: () => cluster.writes().length, auditEntries: () => auditLines(server.auditFile) });

  async function propose(client: ModernClient, workloads = [frontend, postgres]): Promise<string> {
    const scan = await client.callTool('krr_scan');
    const reportId = (scan.result?.structuredContent as { reportId: string }).reportId;
    const proposed = await client.callTool('krr_propose_changes', { reportId, workloads, includeLimits: true });
    return (proposed.result?.structuredContent as { planId: string }).planId;
  }

  /** The first round: the approval form and its state, nothing written. */
  async function firstRound(client: ModernClient, tool: string, args: Record<string, unknown>): Promise<string> {
    const reply = await client.callTool(tool, args);
    assert.equal(reply.result?.resultType, 'input_required', JSON.stringify(reply).slice(0, 300));
    return reply.result?.requestState as string;
  }

  const approve = { approval: { action: 'accept', content: { approve: true } } };

  /** A refused state: status refused, the reason named, counted. */
  async function refusedWith(server: Server, name: string, tool: string, args: Record<string, unknown>, requestState: string, pattern: RegExp): Promise<void> {
    await attempt(name, observe(server), async () => {
      count('request_state_attacks');
      const reply = await server.client.request('tools/call', { name: tool, arguments: args, inputResponses: approve, requestState });
      if (status(reply) !== 'refused') count('request_states_accepted');
      assert.equal(status(reply), 'refused', `${name}: ${JSON.stringify(reply).slice(0, 400)}`);
      assert.match(textOf(reply), pattern, name);
    });
  }

  function refusals(server: Server): AuditEntry[] {
    return readFileSync(server.auditFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditEntry).filter((entry) => entry.action === 'refuse' && entry.outcome === 'invalid-request-state');
  }

  it('forged: an altered payload, a made-up MAC, garbage, or a state from a server process over another state directory', async () => {
    const server = start('one');
    const planId = await propose(server.client);
    const state = await firstRound(server.client, 'krr_apply_plan', { planId });
    const [payload, mac] = state.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    // A longer lifetime, written into the payload under the old MAC.
    const altered = `${Buffer.from(JSON.stringify({ ...claims, expiresAt: Date.now() + 86_400_000 })).toString('base64url')}.${mac}`;
    await refusedWith(server, 'altered payload', 'krr_apply_plan', { planId }, altered, /failed verification/);
    await refusedWith(server, 'made-up MAC', 'krr_apply_plan', { planId }, `${payload}.${'A'.repeat(mac.length)}`, /failed verification/);
    await refusedWith(server, 'garbage', 'krr_apply_plan', { planId }, 'approved', /malformed/);
    // A plan proposed on another server process over another state directory: its state is signed with that directory's key.
    const other = start('two');
    const otherPlan = await propose(other.client);
    const foreign = await firstRound(other.client, 'krr_apply_plan', { planId: otherPlan });
    await refusedWith(server, 'state from another state directory', 'krr_apply_plan', { planId }, foreign, /failed verification/);
    assert.equal(refusals(server).length, 4, 'each refusal is audited');
    // The genuine state still works once: the attempts consumed nothing.
    const applied = await server.client.request('tools/call', { name: 'krr_apply_plan', arguments: { planId }, inputResponses: approve, requestState: state });
    assert.equal(status(applied), 'applied', textOf(applied));
    assert.equal(cluster.writes().length, 2);
  });

  it('replayed: a state answered once (approved or declined) is refused the second time', async () => {
    const server = start('one');
    const planId = await propose(server.client);
    const state = await firstRound(server.client, 'krr_apply_plan', { planId });
    let snapshotId = '';
    await attempt('approved once', observe(server), async () => {
      const applied = await server.client.request('tools/call', { name: 'krr_apply_plan', arguments: { planId }, inputResponses: approve, requestState: state });
      assert.equal(status(applied), 'applied');
      snapshotId = (applied.result?.structuredContent as { snapshotId: string }).snapshotId;
    }, { approvedWrites: 2 });
    await refusedWith(server, 'replay after an approval', 'krr_apply_plan', { planId }, state, /already used/);
    // Back to the seed (an approved rollback), so the next proposal has changes again.
    assert.equal(status(await server.client.callTool('krr_rollback', { snapshotId }, approveAll())), 'applied');
    const second = await propose(server.client);
    const declinedState = await firstRound(server.client, 'krr_apply_plan', { planId: second });
    const declined = await server.client.request('tools/call', { name: 'krr_apply_plan', arguments: { planId: second }, inputResponses: { approval: { action: 'decline' } }, requestState: declinedState });
    assert.equal(status(declined), 'declined');
    await refusedWith(server, 'replay of a declined form with approve', 'krr_apply_plan', { planId: second }, declinedState, /already used/);
  });

  it('swapped: a state for plan A on plan B, an apply state on krr_rollback, changed arguments', async () => {
    const server = start('one');
    const planA = await propose(server.client, [frontend]);
    const planB = await propose(server.client, [postgres]);
    const stateA = await firstRound(server.client, 'krr_apply_plan', { planId: planA });
    await refusedWith(server, 'state of plan A on plan B', 'krr_apply_plan', { planId: planB }, stateA, /another call/);
    const stateA2 = await firstRound(server.client, 'krr_apply_plan', { planId: planA });
    await refusedWith(server, 'apply state on krr_rollback', 'krr_rollback', { snapshotId: 'snap-000000000000' }, stateA2, /another call/);
    // Both plans are still pending and untouched: nobody approved anything.
    assert.equal(cluster.writes().length, 0);
    const applyB = await server.client.callTool('krr_apply_plan', { planId: planB }, approveAll());
    assert.equal(status(applyB), 'applied');
    const snapshotId = (applyB.result?.structuredContent as { snapshotId: string }).snapshotId;
    const rollbackState = await firstRound(server.client, 'krr_rollback', { snapshotId });
    await refusedWith(server, 'rollback state with includeConflicts added', 'krr_rollback', { snapshotId, includeConflicts: true }, rollbackState, /another call/);
    const rolledBack = await server.client.callTool('krr_rollback', { snapshotId }, approveAll());
    assert.equal(status(rolledBack), 'applied');
  });

  it('swapped across targets: a cluster plan’s state on a manifest plan and a manifest plan’s state on a cluster plan', async () => {
    const workspace = path.join(dir, 'ws', 'plain');
    cpSync(path.join(repoRoot, 'test', 'fixtures', 'gitops', 'plain'), workspace, { recursive: true });
    const files = ['apps/shop.yaml', 'apps/postgres.json'];
    const original = files.map((file) => readFileSync(path.join(workspace, file), 'utf8'));
    const changedFiles = () => files.filter((file, index) => readFileSync(path.join(workspace, file), 'utf8') !== original[index]).length;
    // A krr report for the fixture's containers (the stand-in's sample names other containers than the fixture).
    const reportFile = path.join(dir, 'manifests-report.json');
    writeFileSync(
      reportFile,
      krrReportJson([
        { namespace: 'shop', kind: 'Deployment', name: 'frontend', containers: { app: { current: requestsOnly(1, 2 ** 30), recommended: requestsOnly(0.25, 384 * 2 ** 20) } } },
        { namespace: 'data', kind: 'StatefulSet', name: 'postgres', containers: { postgres: { current: requestsOnly(1, 2 ** 30), recommended: requestsOnly(0.5, 2 ** 31) } } },
      ]),
    );

    const server = start('one', {}, [workspace]);
    // Writes of either kind count: objects in the cluster and files in the workspace.
    const observed: Observed = { writes: () => cluster.writes().length + changedFiles(), auditEntries: () => auditLines(server.auditFile) };
    const clusterPlan = await propose(server.client, [frontend]);
    const loaded = await server.client.callTool('krr_load_report', { path: reportFile });
    const proposed = await server.client.callTool('krr_propose_changes', { reportId: (loaded.result?.structuredContent as { reportId: string }).reportId, target: 'manifests', workloads: [frontend, postgres] });
    const manifestPlan = (proposed.result?.structuredContent as { planId: string; files: unknown[] }).planId;
    assert.equal((proposed.result?.structuredContent as { files: unknown[] }).files.length, 2, textOf(proposed));

    const clusterState = await firstRound(server.client, 'krr_apply_plan', { planId: clusterPlan });
    const manifestState = await firstRound(server.client, 'krr_apply_plan', { planId: manifestPlan });
    for (const [name, planId, state] of [['cluster plan state on a manifest plan', manifestPlan, clusterState], ['manifest plan state on a cluster plan', clusterPlan, manifestState]] as const) {
      await attempt(name, observed, async () => {
        count('request_state_attacks');
        const reply = await server.client.request('tools/call', { name: 'krr_apply_plan', arguments: { planId }, inputResponses: approve, requestState: state });
        if (status(reply) !== 'refused') count('request_states_accepted');
        assert.equal(status(reply), 'refused', `${name}: ${JSON.stringify(reply).slice(0, 400)}`);
        assert.match(textOf(reply), /another call/, name);
      });
    }
    assert.equal(refusals(server).length, 2);
    assert.deepEqual([cluster.writes().length, changedFiles()], [0, 0], 'nothing written by either swap');
    // Neither plan was spent by the refused swaps: each applies once its own form is answered.
    const manifestApplied = await server.client.callTool('krr_apply_plan', { planId: manifestPlan }, approveAll());
    assert.equal(status(manifestApplied), 'applied', textOf(manifestApplied));
    assert.deepEqual([cluster.writes().length, changedFiles()], [0, 2]);
    const clusterApplied = await server.client.callTool('krr_apply_plan', { planId: clusterPlan }, approveAll());
    assert.equal(status(clusterApplied), 'applied', textOf(clusterApplied));
    assert.equal(cluster.writes().length, 1);
  });

  it('expired: a form answered after the approval timeout; an answer with no state asks again and writes nothing', async () => {
    const server = start('one', { approvalTimeoutSeconds: 5 });
    const planId = await propose(server.client);
    const state = await firstRound(server.client, 'krr_apply_plan', { planId });
    await new Promise((resolve) => setTimeout(resolve, 5_300));
    await refusedWith(server, 'expired state', 'krr_apply_plan', { planId }, state, /expired/);
    // A model that makes up the answer without the server's form gets the form again: no state, no approval.
    count('bypass_scenarios');
    count('request_state_attacks');
    const writes = cluster.writes().length;
    const invented = await server.client.request('tools/call', { name: 'krr_apply_plan', arguments: { planId }, inputResponses: approve });
    if (invented.result?.resultType !== 'input_required') count('request_states_accepted');
    assert.equal(invented.result?.resultType, 'input_required');
    assert.equal(cluster.writes().length, writes);
  });

  it('modal spam: after a declined form, the next apply in that context gets no form (cool-down), refused and audited', async () => {
    const server = start('one', { declineCooldownSeconds: 120 });
    const planId = await propose(server.client);
    const declined = await server.client.callTool('krr_apply_plan', { planId }, () => ({ approval: { action: 'decline' } }));
    assert.equal(status(declined), 'declined');
    const again = await propose(server.client);
    await attempt('apply during the cool-down', observe(server), async () => {
      count('request_state_attacks');
      const reply = await server.client.callTool('krr_apply_plan', { planId: again });
      if (reply.result?.resultType === 'input_required') count('request_states_accepted');
      assert.equal(status(reply), 'refused', JSON.stringify(reply).slice(0, 300));
      assert.match(textOf(reply), /refused for another \d+ s/);
    });
  });
});
