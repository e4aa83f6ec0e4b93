// Abuse of trials: what a misbehaving model or a tampered state directory could try (bypass_scenarios: another
// workload's pods, more pods than approved, an approval after the plan expired, a wrong digest), and reverts under
// injected faults on the real control plane (fault_runs): after each, every trial pod that still runs at the trial size
// must be named in the revert's result as failed — one that is not counts in mixed_state_runs (must be 0).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Pod } from '../../src/core/kube/pod';
import type { TrialPlan, TrialRecord } from '../../src/core/trial/model';
import { human, model, startSessionFixture, type SessionFixture } from '../support/session-fixture';
import { asControlPlane } from '../support/test-cluster';
import { count } from './figures';
import { attempt, type Observed } from './scenario';
import { notYetTriable } from '../support/trial-ready';

const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };
const sampleReport = path.join(__dirname, '..', 'fixtures', 'sample-report.json');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('abuse: trials (real control plane)', function () {
  this.timeout(240_000);
  let f: SessionFixture;
  let offset = 0;
  let observed: Observed;
  let reportId: string;

  beforeEach(async () => {
    offset = 0;
    f = await startSessionFixture({ settings: { trial: { windowSeconds: 60, pollSeconds: 1, maxPods: 3 } }, session: { now: () => new Date(Date.now() + offset), apiChannelTimeoutMs: 3_000 } });
    observed = { writes: () => f.cluster.writes().length, auditEntries: async () => (await f.session.auditLog({ pageSize: 1 })).total };
    reportId = (await f.session.loadReport(sampleReport, human)).reportId;
  });
  afterEach(async () => {
    f.cluster.faults.clear();
    for (const trial of (await f?.session.listTrials()) ?? []) if (trial.state === 'running' || trial.state === 'overdue') await f.session.revertTrial(trial.id, human).catch(() => undefined);
    await f?.close();
  });

  const specMemory = (name: string) => (f.cluster.getObject('v1', 'Pod', 'shop', name) as unknown as Pod | undefined)?.spec.containers[0]?.resources?.requests?.memory;

  async function proposeWhenReady(pods = 1): Promise<TrialPlan> {
    for (let attemptNo = 0; ; attemptNo += 1) {
      try {
        return await f.session.proposeTrial({ reportId, workload: frontend, pods }, model);
      } catch (error) {
        if (attemptNo > 60 || !notYetTriable.test(String(error))) throw error;
        await sleep(500);
      }
    }
  }

  it('bypass: a trial record edited to name another pod, more pods than approved, an expired approval, a wrong digest', async () => {
    // More pods than krr.trial.maxPods: refused before anything is read.
    await attempt('more pods than allowed', observed, async () => {
      await assert.rejects(f.session.proposeTrial({ reportId, workload: frontend, pods: 4 }, model), /1 to 3 pods/);
      await f.session.auditRefusedCall('krr_propose_trial', { pods: 4 }, model, 'more pods than krr.trial.maxPods');
    });
    // Approved for one pod: exactly one resize is written, to that pod.
    const plan = await proposeWhenReady(1);
    f.human.answer = 'approve';
    f.cluster.clearMutations();
    await attempt('one pod approved', observed, async () => assert.equal((await f.session.apply(plan.id, model)).status, 'applied'), { approvedWrites: 1 });
    const writes = f.cluster.writes();
    assert.deepEqual(writes.map((write) => `${write.method} ${write.path.split("?")[0]}`), [`PATCH /api/v1/namespaces/shop/pods/${plan.pods[0]?.name}/resize`]);
    // The record edited to name another workload's pod (or any other pod): not trusted, so no revert writes it.
    const file = path.join(f.stateDir, 'trials', `${plan.id}.json`);
    const text = readFileSync(file, 'utf8');
    const [header, json] = [text.slice(0, text.indexOf('\n')), text.slice(text.indexOf('\n') + 1)];
    const record = JSON.parse(json) as TrialRecord;
    const victim = 'checkout-api-0';
    record.pods = record.pods.map((pod) => ({ ...pod, name: victim }));
    writeFileSync(file, `${header}\n${JSON.stringify(record)}\n`);
    await attempt('tampered record', observed, async () => {
      await assert.rejects(f.session.revertTrial(plan.id, model), /no trial .* recorded \(or its record was changed since\)/);
    });
    assert.equal(specMemory(plan.pods[0]?.name as string), '198Mi', 'the real trial pod is untouched too (a person reverts it once the record is restored)');
    writeFileSync(file, text);
    assert.equal((await f.session.revertTrial(plan.id, human)).state, 'reverted');
    // An approval that comes after the plan expired: nothing is resized.
    const late = await proposeWhenReady(1);
    f.human.answer = (shown) => {
      offset = 11 * 60_000; // the person answered eleven minutes later (plans live ten)
      return { outcome: 'approved', digest: shown.digest };
    };
    await attempt('approved after expiry', observed, async () => assert.equal((await f.session.apply(late.id, model)).status, 'expired'));
    offset = 0;
    const wrong = await proposeWhenReady(1);
    f.human.answer = 'wrong-digest';
    await attempt('wrong digest', observed, async () => assert.equal((await f.session.apply(wrong.id, model)).status, 'refused'));
    const expired = await proposeWhenReady(1);
    offset = 11 * 60_000;
    f.human.answer = 'approve';
    await attempt('expired plan', observed, async () => assert.equal((await f.session.apply(expired.id, model)).status, 'expired'));
  });

  /** Starts a two-pod trial, injects `fault` into the revert's writes, reverts, and judges every pod. */
  async function revertUnder(label: string, fault: () => void): Promise<void> {
    const plan = await proposeWhenReady(2);
    f.human.answer = 'approve';
    assert.equal((await f.session.apply(plan.id, human)).status, 'applied');
    fault();
    const reverted = await f.session.revertTrial(plan.id, model).catch((error: unknown) => ({ error }));
    f.cluster.faults.clear();
    count('fault_runs');
    const reported = 'error' in reverted ? [] : (reverted.revert?.pods ?? []);
    const unreported = plan.pods.filter((pod) => specMemory(pod.name) === '198Mi' && reported.find((entry) => entry.name === pod.name)?.result !== 'failed');
    if (unreported.length > 0) count('mixed_state_runs');
    assert.deepEqual(unreported.map((pod) => pod.name), [], `${label}: pods at the trial size that the revert did not report: ${JSON.stringify(reported)}`);
    // Whatever the fault did, a second revert (a person's) puts back what is left.
    if ('error' in reverted || reported.some((entry) => entry.result === 'failed')) await f.session.revertTrial(plan.id, human);
    for (const pod of plan.pods) assert.equal(specMemory(pod.name), '256Mi', `${label}: ${pod.name} back after the second revert`);
  }

  it('reverts under injected faults: every pod left at the trial size is reported', async () => {
    const plane = asControlPlane(f.cluster);
    assert.ok(plane, 'the faults that commit then drop need the real control plane');
    await revertUnder('first revert write fails (500)', () => f.cluster.faults.failNthWrite(1));
    await revertUnder('both tries of one pod fail (500, 500)', () => {
      f.cluster.faults.failNthWrite(1);
      f.cluster.faults.failNthWrite(2);
    });
    await revertUnder('first revert write dropped before the server', () => f.cluster.faults.dropNthWrite(1));
    await revertUnder('first revert write committed, reply lost', () => plane.faults.commitThenDropNthWrite(1));
    await revertUnder('first revert write hangs past the timeout', () => f.cluster.faults.hangNthWrite(1, 5_000));
    await revertUnder('every write fails', () => {
      for (let n = 1; n <= 6; n += 1) f.cluster.faults.failNthWrite(n, 503);
    });
  });

  it('a start that fails half-way puts back what it resized', async () => {
    const plan = await proposeWhenReady(2);
    f.human.answer = 'approve';
    f.cluster.faults.failNthWrite(2);
    const outcome = await f.session.apply(plan.id, human);
    count('fault_runs');
    assert.equal(outcome.status, 'failed');
    const atTrialSize = plan.pods.filter((pod) => specMemory(pod.name) === '198Mi');
    if (atTrialSize.length > 0 && !atTrialSize.every((pod) => outcome.message.includes(pod.name))) count('mixed_state_runs');
    assert.deepEqual(atTrialSize, [], outcome.message);
    assert.match(outcome.message, /No pod runs at the trial size/);
  });
});
