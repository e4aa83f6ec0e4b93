// Trials on the real control plane (kube-apiserver 1.33 with pods/resize; the node simulator acts as a 1.33 kubelet):
// the real kubectl and API channel resize shop/frontend's running pods in place, the real API server judges each resize
// (it refuses to lower a memory limit in place for a NotRequired container: the trial keeps the limit and says so in the
// cluster's words), the watch reads what the kubelet reports, and every revert is checked through the API.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Pod } from '../../src/core/kube/pod';
import type { TrialPlan } from '../../src/core/trial/model';
import { fileManifestWriter } from '../../src/core/gitops/apply';
import { Session } from '../../src/core/session/session';
import { withoutIsolates } from '../../src/core/text';
import { human, model, startSessionFixture, type SessionFixture } from '../support/session-fixture';
import { asControlPlane } from '../support/test-cluster';
import { notYetTriable } from '../support/trial-ready';

const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };
const sampleReport = path.join(__dirname, '..', 'fixtures', 'sample-report.json');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('trials on the real control plane (pods/resize, simulated 1.33 kubelet)', function () {
  this.timeout(180_000);
  let f: SessionFixture;
  let offset = 0;
  afterEach(async () => {
    // The plane's reset restores workloads, not the pods resized in place: a test's trial pods go back before the next.
    for (const trial of (await f?.session.listTrials()) ?? []) if (trial.state === 'running' || trial.state === 'overdue') await f.session.revertTrial(trial.id, human);
    offset = 0;
    await f?.close();
  });

  async function start(settings: Record<string, unknown> = {}): Promise<string> {
    f = await startSessionFixture({ settings: { trial: { windowSeconds: 30, pollSeconds: 1 }, ...settings }, session: { now: () => new Date(Date.now() + offset) } });
    return (await f.session.loadReport(sampleReport, human)).reportId;
  }

  function pod(name: string): Pod | undefined {
    return f.cluster.getObject('v1', 'Pod', 'shop', name) as unknown as Pod | undefined;
  }

  /** The plane's reset restarts the seed's pods: a trial needs them running and ready first. */
  async function proposeWhenReady(reportId: string, extra: { pods?: number } = {}): Promise<TrialPlan> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await f.session.proposeTrial({ reportId, workload: frontend, ...extra }, human);
      } catch (error) {
        if (attempt > 60 || !notYetTriable.test(String(error))) throw error;
        await sleep(500);
      }
    }
  }

  /**
   * Sets the sessions' clock to `ms` from the trial's end (its own endsAt, not a fixed offset from the test's start:
   * the steps before may take seconds on a loaded machine, and a fixed "29 s" could already be past the window).
   */
  async function atWindowEnd(session: Pick<Session, 'getTrial'>, planId: string, ms: number): Promise<void> {
    const record = await session.getTrial(planId);
    offset = Date.parse(record.endsAt) + ms - Date.now();
  }

  async function until<T>(what: string, read: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(200);
    }
  }

  const memoryRequest = (entry: Pod | undefined, where: 'spec' | 'status') =>
    where === 'spec' ? entry?.spec.containers[0]?.resources?.requests?.memory : entry?.status?.containerStatuses?.[0]?.resources?.requests?.memory;

  it('1 of 4 pods at 198Mi → watched → the window ends: passed, reverted (spec and kubelet), and the persist plan carries the trial', async () => {
    const reportId = await start();
    const plan = await proposeWhenReady(reportId);
    assert.equal(plan.pods.length, 1);
    assert.equal(plan.runningPods, 4);
    // The real API server refuses the memory limit decrease in place; the trial says so and keeps the limit.
    const kept = plan.findings.find((finding) => finding.rule === 'trial-memory-limit-kept');
    assert.match(kept?.message ?? '', /memory limits cannot be decreased unless resizePolicy is RestartContainer/);
    const [trialPod] = plan.pods;
    assert.ok(trialPod);
    assert.deepEqual(trialPod.containers[0]?.changes.map((change) => `${change.allocation}.${change.resource} ${change.from} → ${change.to}`), ['requests.memory 256Mi → 198Mi']);
    f.human.answer = 'approve';
    const outcome = await f.session.apply(plan.id, human);
    assert.equal(outcome.status, 'applied', outcome.message);
    const text = withoutIsolates(f.human.asked[0]?.text.detail ?? '');
    assert.match(text, /^Trial: 1 of 4 pods of shop\/frontend, resized in place, no restart \(resizePolicy NotRequired\); reverted automatically after 30 s/);
    // The spec holds the trial size at once; the kubelet reports it once it has resized the container.
    assert.equal(memoryRequest(pod(trialPod.name), 'spec'), '198Mi');
    await until('the kubelet to run the trial size', () => (memoryRequest(pod(trialPod.name), 'status') === '198Mi' ? true : undefined));
    const others = (f.cluster as unknown as { harnessKubectl?: unknown }).harnessKubectl ? asControlPlane(f.cluster) : undefined;
    const list = JSON.parse(others?.harnessKubectl(['get', 'pods', '-n', 'shop', '-l', 'app=frontend', '-o', 'json']) ?? '{"items":[]}') as { items: Pod[] };
    assert.deepEqual(list.items.filter((entry) => memoryRequest(entry, 'spec') === '198Mi').map((entry) => entry.metadata.name), [trialPod.name], 'no other pod was resized');
    await f.session.checkTrials();
    const running = await f.session.getTrial(plan.id);
    assert.equal(running.state, 'running');
    assert.equal(running.statuses[0]?.phase, 'applied');
    // The watch keeps checking until the window ends (a jump of the whole window would look like no watch ran).
    await atWindowEnd(f.session, plan.id, -4_000);
    await f.session.checkTrials();
    await atWindowEnd(f.session, plan.id, 1_000);
    const [ended] = await f.session.checkTrials();
    assert.equal(ended?.state, 'passed', JSON.stringify(ended));
    assert.equal(ended?.outcome?.reason, 'ran 30 s on 1 pod at web request 198Mi: 0 OOM kills, 0 restarts');
    assert.deepEqual(ended?.revert?.pods, [{ name: trialPod.name, result: 'reverted' }]);
    assert.equal(memoryRequest(pod(trialPod.name), 'spec'), '256Mi');
    await until('the kubelet to run the template size again', () => (memoryRequest(pod(trialPod.name), 'status') === '256Mi' ? true : undefined));
    const persist = await f.session.persistTrial(plan.id, human);
    const approval = withoutIsolates(f.session.approvalText(persist, human).detail);
    assert.ok(approval.includes(`Tried first (trial ${plan.id}): ran 30 s on 1 pod at web request 198Mi: 0 OOM kills, 0 restarts.`), approval);
    assert.equal((await f.session.getTrial(plan.id)).persistPlanId, persist.id);
    const audit = await f.session.auditLog({ actions: ['trial', 'trial-revert'] });
    assert.deepEqual(audit.entries.map((entry) => `${entry.action}:${entry.outcome}`).sort(), ['trial-revert:reverted', 'trial:passed', 'trial:started']);
  });

  it('declined: nothing is resized; a model cannot start one without a person', async () => {
    const reportId = await start();
    const plan = await proposeWhenReady(reportId);
    const name = plan.pods[0]?.name as string;
    f.human.answer = 'decline';
    assert.equal((await f.session.apply(plan.id, human)).status, 'declined');
    assert.equal(memoryRequest(pod(name), 'spec'), '256Mi');
    const again = await proposeWhenReady(reportId);
    // The plan is single-use: a second apply of the declined one is refused.
    assert.equal((await f.session.apply(plan.id, model)).status, 'used');
    assert.equal(memoryRequest(pod(again.pods[0]?.name as string), 'spec'), '256Mi');
  });

  it('reverted on request while it runs; a deleted trial pod is named as replaced, and with none left the trial fails', async () => {
    const reportId = await start();
    const plan = await proposeWhenReady(reportId, { pods: 2 });
    assert.equal(plan.pods.length, 2);
    f.human.answer = 'approve';
    assert.equal((await f.session.apply(plan.id, human)).status, 'applied');
    const [first, second] = plan.pods.map((entry) => entry.name) as [string, string];
    const reverted = await f.session.revertTrial(plan.id, model);
    assert.equal(reverted.state, 'reverted');
    assert.deepEqual(reverted.revert?.pods.map((entry) => entry.result), ['reverted', 'reverted']);
    assert.equal(memoryRequest(pod(first), 'spec'), '256Mi');
    assert.equal(memoryRequest(pod(second), 'spec'), '256Mi');
    await assert.rejects(f.session.revertTrial(plan.id, human), /has ended/);

    const next = await proposeWhenReady(reportId);
    assert.equal((await f.session.apply(next.id, human)).status, 'applied');
    asControlPlane(f.cluster)?.harnessKubectl(['delete', 'pod', '-n', 'shop', next.pods[0]?.name as string, '--wait=false']);
    const ended = await until('the watch to see the pod gone', async () => (await f.session.checkTrials()).find((trial) => trial.id === next.id));
    assert.equal(ended.state, 'failed');
    assert.match(ended.outcome?.reason ?? '', /every trial pod was replaced by its controller/);
    assert.equal(ended.statuses[0]?.phase, 'gone');
  });

  it('a window that ended while no watch ran is overdue, with its pods still at the trial size until reverted', async () => {
    const reportId = await start();
    const plan = await proposeWhenReady(reportId);
    f.human.answer = 'approve';
    assert.equal((await f.session.apply(plan.id, human)).status, 'applied');
    offset = 10 * 60_000; // VS Code was closed for ten minutes
    const [overdue] = await f.session.checkTrials();
    assert.equal(overdue?.state, 'overdue', JSON.stringify(overdue));
    assert.match(overdue?.outcome?.reason ?? '', /while no watch ran/);
    assert.equal(memoryRequest(pod(plan.pods[0]?.name as string), 'spec'), '198Mi');
    const reverted = await f.session.revertTrial(plan.id, human);
    assert.equal(reverted.state, 'reverted');
    assert.equal(memoryRequest(pod(plan.pods[0]?.name as string), 'spec'), '256Mi');
  });

  it('survives a restart: another process on the same state directory finds the running trial, watches and ends it', async () => {
    const reportId = await start();
    const plan = await proposeWhenReady(reportId);
    f.human.answer = 'approve';
    assert.equal((await f.session.apply(plan.id, human)).status, 'applied');
    // The window reloads (or the stdio server restarts): a new session over the same state directory and audit key.
    const restarted = new Session({ settings: () => f.settings, approver: f.human, stateDir: f.stateDir, kubectlCacheDir: path.join(f.stateDir, 'kube-cache'), now: () => new Date(Date.now() + offset) });
    try {
      const [found] = await restarted.listTrials();
      assert.equal(found?.id, plan.id);
      assert.equal(found?.state, 'running');
      await until('the restarted watch to see the trial size', async () => ((await restarted.checkTrials(), (await restarted.getTrial(plan.id)).statuses[0]?.phase === 'applied') ? true : undefined));
      await atWindowEnd(restarted, plan.id, -4_000);
      await restarted.checkTrials();
      assert.equal((await restarted.getTrial(plan.id)).state, 'running');
      await atWindowEnd(restarted, plan.id, 1_000);
      const [ended] = await restarted.checkTrials();
      assert.equal(ended?.state, 'passed', JSON.stringify(ended?.outcome));
      assert.equal(memoryRequest(pod(plan.pods[0]?.name as string), 'spec'), '256Mi');
    } finally {
      restarted.dispose();
    }
  });

  it('a passed trial of a workload whose manifests are in the workspace persists to the manifests, with the trial in the dialog and the digest', async () => {
    const workspace = mkdtempSync(path.join(tmpdir(), 'krr-trial-ws-'));
    try {
      writeFileSync(path.join(workspace, 'frontend.yaml'), ['apiVersion: apps/v1', 'kind: Deployment', 'metadata:', '  name: frontend', '  namespace: shop', 'spec:', '  selector:', '    matchLabels: {app: frontend}', '  template:', '    metadata:', '      labels: {app: frontend}', '    spec:', '      containers:', '        - name: web', '          image: ghcr.io/example/frontend:1.9.3', '          resources:', '            requests: {cpu: 200m, memory: 256Mi}', '            limits: {cpu: 500m, memory: 256Mi}', ''].join('\n'));
      f = await startSessionFixture({ settings: { trial: { windowSeconds: 30, pollSeconds: 1 } }, session: { now: () => new Date(Date.now() + offset), workspace: { folders: () => [workspace], writer: fileManifestWriter() } } });
      const reportId = (await f.session.loadReport(sampleReport, human)).reportId;
      const plan = await proposeWhenReady(reportId);
      f.human.answer = 'approve';
      assert.equal((await f.session.apply(plan.id, human)).status, 'applied');
      await until('the kubelet to run the trial size', () => (memoryRequest(pod(plan.pods[0]?.name as string), 'status') === '198Mi' ? true : undefined));
      await f.session.checkTrials();
      await atWindowEnd(f.session, plan.id, -4_000);
      await f.session.checkTrials();
      await atWindowEnd(f.session, plan.id, 1_000);
      assert.equal((await f.session.checkTrials())[0]?.state, 'passed');
      const persist = await f.session.persistTrial(plan.id, human, 'manifests');
      assert.ok('files' in persist);
      const text = withoutIsolates(f.session.approvalText(persist, human).detail);
      assert.ok(text.includes(`Tried first (trial ${plan.id}): ran 30 s on 1 pod at web request 198Mi: 0 OOM kills, 0 restarts.`), text);
      assert.deepEqual(persist.trial, { id: plan.id, line: `Tried first (trial ${plan.id}): ran 30 s on 1 pod at web request 198Mi: 0 OOM kills, 0 restarts.` });
      assert.equal((await f.session.apply(persist.id, human)).status, 'applied');
      assert.match(readFileSync(path.join(workspace, 'frontend.yaml'), 'utf8'), /memory: 198Mi/);
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });

  it('refuses what cannot be tried: more pods than krr.trial.maxPods, a Job, a workload not in the report', async () => {
    const reportId = await start({ trial: { maxPods: 2 } });
    await assert.rejects(f.session.proposeTrial({ reportId, workload: frontend, pods: 3 }, human), /1 to 2 pods/);
    await assert.rejects(f.session.proposeTrial({ reportId, workload: { namespace: 'shop', kind: 'Job', name: 'x' } }, human), /run to completion/);
    await assert.rejects(f.session.proposeTrial({ reportId, workload: { namespace: 'shop', kind: 'Deployment', name: 'nope' } }, human), /not in report/);
    await assert.rejects(f.session.proposeTrial({ reportId, workload: { namespace: 'shop', kind: 'Deployment', name: 'a;b' } }, human), /Invalid workload name/);
  });
});
