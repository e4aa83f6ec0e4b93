// A 2026-07-28 client that starts `krr-mcp serve --stdio` anew for every single call (test/support/modern-client's
// perCall): the approval form comes from one process and the answer goes to the next, so everything that connects
// them — reports, plans, the request state's key and single use, the decline cool-down — must live in the state
// directory. Counted: per_call_approvals (approved writes completed this way), cooldown_bypasses (forms shown by a
// fresh process during the cool-down; must stay 0), and the cross-process replays in request_state_attacks.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AuditEntry } from '../../src/core/audit';
import { approveAll, ModernClient, type RpcReply } from '../support/modern-client';
import { krrReportJson, requestsOnly } from '../support/krr-report';
import { krrStandIn, resourcesOf } from '../support/session-fixture';
import { serveArgs, serverProcess } from '../support/stdio-client';
import { startTestCluster, type TestCluster } from '../support/test-cluster';
import { count } from './figures';
import { auditLines, frontend, postgres } from './harness';
import { attempt, type Observed } from './scenario';

function status(reply: RpcReply): string | undefined {
  return (reply.result?.structuredContent as { status?: string } | undefined)?.status;
}

function textOf(reply: RpcReply): string {
  return ((reply.result?.content ?? []) as Array<{ text?: string }>).map((part) => part.text ?? '').join('\n');
}

function structured<T>(reply: RpcReply): T {
  assert.equal(reply.result?.resultType, 'complete', JSON.stringify(reply).slice(0, 400));
  return reply.result?.structuredContent as T;
}

/** A plain Deployment manifest, as a person keeps it in Git. */
const frontendManifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: frontend}
  template:
    metadata:
      labels: {app: frontend}
    spec:
      containers:
        - name: app
          image: registry.example.com/shop/frontend:1.4.2
          resources:
            requests:
              cpu: "1"
              memory: 1Gi
`;

describe('abuse: a 2026-07-28 client that starts the server per call (approval across processes, cool-down)', function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let dir: string;
  let stateDir: string;

  beforeEach(async () => {
    cluster = await startTestCluster();
    dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-per-call-'));
    stateDir = path.join(dir, 'state');
  });
  afterEach(async () => {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** node's arguments for a server over the one state directory of this test. */
  function serverArgsFor(settings: Record<string, unknown>, workspace: string[] = []): string[] {
    const settingsFile = path.join(dir, 'settings.json');
    writeFileSync(settingsFile, JSON.stringify({ confirmByTyping: [], declineCooldownSeconds: 0, ...settings }));
    return serveArgs(['--state-dir', stateDir, '--kubeconfig', cluster.kubeconfigPath, '--krr', krrStandIn, '--kubectl', 'kubectl', '--settings', settingsFile, ...workspace.flatMap((folder) => ['--workspace', folder])]);
  }

  /** Every call of the returned client starts its own server process. */
  function perCall(settings: Record<string, unknown>, options: { name?: string; workspace?: string[] } = {}) {
    return ModernClient.perCall(process.execPath, serverArgsFor(settings, options.workspace), serverProcess(path.join(dir, 'home')), { name: options.name ?? 'per-call-client', capabilities: { elicitation: { form: {} } } });
  }

  const auditFile = () => path.join(stateDir, 'audit.jsonl');
  const observe: () => Observed = () => ({ writes: () => cluster.writes().length, auditEntries: () => auditLines(auditFile()) });
  const approve = { approval: { action: 'accept', content: { approve: true } } };

  /** Scans (or takes a report stored by an earlier process) and proposes: one process per call. */
  async function propose(client: ModernClient, reportId?: string): Promise<{ planId: string; reportId: string }> {
    const report = reportId ?? structured<{ reportId: string }>(await client.callTool('krr_scan')).reportId;
    const proposed = structured<{ planId: string }>(await client.callTool('krr_propose_changes', { reportId: report, workloads: [frontend, postgres], includeLimits: true }));
    return { planId: proposed.planId, reportId: report };
  }

  /** An answered state presented again, to a fresh process: refused, nothing written, audited, counted. */
  async function replayRefused(client: ModernClient, name: string, tool: string, args: Record<string, unknown>, requestState: string): Promise<void> {
    await attempt(name, observe(), async () => {
      count('request_state_attacks');
      const reply = await client.request('tools/call', { name: tool, arguments: args, inputResponses: approve, requestState });
      if (status(reply) !== 'refused') count('request_states_accepted');
      assert.equal(status(reply), 'refused', `${name}: ${JSON.stringify(reply).slice(0, 400)}`);
      assert.match(textOf(reply), /already used/, name);
    });
  }

  it('completes apply, rollback and a manifests write, each approved with the form in one process and the answer in the next; replays in a later process are refused', async () => {
    const workspace = path.join(dir, 'ws');
    mkdirSync(path.join(workspace, 'apps'), { recursive: true });
    const manifestFile = path.join(workspace, 'apps', 'frontend.yaml');
    writeFileSync(manifestFile, frontendManifest);
    const { client, processes } = perCall({}, { workspace: [workspace] });
    const seed = { frontend: resourcesOf(cluster, 'apps/v1', 'Deployment', 'shop', 'frontend'), postgres: resourcesOf(cluster, 'apps/v1', 'StatefulSet', 'data', 'postgres') };

    // scan and propose: two processes; the plan is in the state directory.
    const { planId } = await propose(client);
    assert.equal(processes(), 2);

    // apply: the form from a third process, the answer to a fourth.
    const applied = await client.callTool('krr_apply_plan', { planId }, approveAll());
    assert.equal(status(applied), 'applied', textOf(applied));
    assert.equal(processes(), 4, 'the form and the answer went to two processes');
    assert.equal(cluster.writes().length, 2);
    assert.notDeepEqual(resourcesOf(cluster, 'apps/v1', 'Deployment', 'shop', 'frontend'), seed.frontend);
    count('per_call_approvals');
    const applyState = client.rounds.at(-1)?.requestState as string;
    await replayRefused(client, 'apply state replayed in a fresh process', 'krr_apply_plan', { planId }, applyState);

    // rollback: the rollback plan is built in one process, approved and written in the next.
    const snapshotId = (applied.result?.structuredContent as { snapshotId: string }).snapshotId;
    const rolledBack = await client.callTool('krr_rollback', { snapshotId }, approveAll());
    assert.equal(status(rolledBack), 'applied', textOf(rolledBack));
    assert.equal(cluster.writes().length, 4);
    assert.deepEqual(resourcesOf(cluster, 'apps/v1', 'Deployment', 'shop', 'frontend'), seed.frontend);
    assert.deepEqual(resourcesOf(cluster, 'apps/v1', 'StatefulSet', 'data', 'postgres'), seed.postgres);
    count('per_call_approvals');
    await replayRefused(client, 'rollback state replayed in a fresh process', 'krr_rollback', { snapshotId }, client.rounds.at(-1)?.requestState as string);

    // manifests: load a report, propose target "manifests", approve in the next process; the file is written.
    const reportFile = path.join(dir, 'report.json');
    writeFileSync(reportFile, krrReportJson([{ ...frontend, containers: { app: { current: requestsOnly(1, 2 ** 30), recommended: requestsOnly(0.25, 384 * 2 ** 20) } } }]));
    const loaded = structured<{ reportId: string }>(await client.callTool('krr_load_report', { path: reportFile }));
    const proposed = structured<{ planId: string; files: unknown[] }>(await client.callTool('krr_propose_changes', { reportId: loaded.reportId, target: 'manifests', workloads: [frontend] }));
    assert.equal(proposed.files.length, 1);
    const written = await client.callTool('krr_apply_plan', { planId: proposed.planId }, approveAll());
    assert.equal(status(written), 'applied', textOf(written));
    const manifest = readFileSync(manifestFile, 'utf8');
    assert.match(manifest, /cpu: "250m"/);
    assert.match(manifest, /memory: 384Mi/);
    assert.equal(cluster.writes().length, 4, 'a manifests write reaches no cluster');
    count('per_call_approvals');
    await replayRefused(client, 'manifests state replayed in a fresh process', 'krr_apply_plan', { planId: proposed.planId }, client.rounds.at(-1)?.requestState as string);
    assert.equal(readFileSync(manifestFile, 'utf8'), manifest);

    // Each approval is the client's answer in the audit log, one per write.
    const approvals = readFileSync(auditFile(), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditEntry).filter((entry) => entry.action === 'approve');
    assert.deepEqual(approvals.map((entry) => entry.actor.type), ['client', 'client', 'client']);
    assert.deepEqual([approvals[0]?.planId, approvals[2]?.planId], [planId, proposed.planId]);
  });

  it('one answered state sent to two fresh processes at once: exactly one writes', async () => {
    const { client } = perCall({});
    const { planId } = await propose(client);
    const first = await client.callTool('krr_apply_plan', { planId });
    assert.equal(first.result?.resultType, 'input_required');
    const requestState = first.result?.requestState as string;
    await attempt('the same answer raced to two processes', observe(), async () => {
      count('request_state_attacks');
      const replies = await Promise.all([0, 1].map(() => client.request('tools/call', { name: 'krr_apply_plan', arguments: { planId }, inputResponses: approve, requestState })));
      const statuses = replies.map(status);
      if (statuses.filter((value) => value === 'applied').length !== 1) count('request_states_accepted');
      assert.deepEqual([...statuses].sort(), ['applied', 'refused'], JSON.stringify(replies).slice(0, 600));
      assert.match(textOf(replies[statuses.indexOf('refused')] as RpcReply), /already used/);
    }, { approvedWrites: 2 });
    count('per_call_approvals');
    assert.equal(cluster.writes().length, 2);
  });

  it('after a declined form, 10 fresh processes (another client name each) get no form during the cool-down', async () => {
    const settings = { declineCooldownSeconds: 600 };
    // The decline in one process that answers both rounds itself: what follows measures the cool-down alone.
    const { client: first } = perCall(settings);
    const declinedPlan = await propose(first);
    const { client: declining } = ModernClient.stdio(process.execPath, serverArgsFor(settings), serverProcess(path.join(dir, 'home')), { name: 'declining-client', capabilities: { elicitation: { form: {} } } });
    try {
      const declined = await declining.callTool('krr_apply_plan', { planId: declinedPlan.planId }, () => ({ approval: { action: 'decline' } }));
      assert.equal(status(declined), 'declined', textOf(declined));
    } finally {
      await declining.close();
    }
    const pending = (await propose(first, declinedPlan.reportId)).planId;
    for (let restart = 0; restart < 10; restart++) {
      const { client: fresh } = perCall(settings, { name: `restarted-client-${restart}` });
      // Every other restart proposes a new plan first (in a process of its own): a new plan gets no form either.
      const planId = restart % 2 === 0 ? pending : (await propose(fresh, declinedPlan.reportId)).planId;
      await attempt(`form requested by restart ${restart}`, observe(), async () => {
        const reply = await fresh.callTool('krr_apply_plan', { planId });
        if (reply.result?.resultType === 'input_required') count('cooldown_bypasses');
        assert.equal(status(reply), 'refused', `restart ${restart}: ${JSON.stringify(reply).slice(0, 300)}`);
        assert.match(textOf(reply), /refused for another \d+ s/);
      });
    }
    assert.equal(cluster.writes().length, 0);
  });
});
