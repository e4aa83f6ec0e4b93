import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Requester } from '../../src/core/session/model';
import { human, model, resourcesOf, startSessionFixture, type SessionFixture } from '../support/session-fixture';

const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };
const postgres = { namespace: 'data', kind: 'StatefulSet', name: 'postgres' };
const checkout = { namespace: 'shop', kind: 'Deployment', name: 'checkout-api' };

describe('session: scan → propose → approve → apply → rollback (real kubectl, test API server, krr stand-in)', function () {
  this.timeout(60_000);
  let f: SessionFixture;
  beforeEach(async () => {
    f = await startSessionFixture();
  });
  afterEach(async () => f.close());

  async function proposeTwo(requester: Requester = model) {
    const scan = await f.session.scan({}, requester);
    return f.session.propose({ reportId: scan.reportId, workloads: [frontend, postgres, checkout], includeLimits: true }, requester);
  }

  it('scans with krr, lists rows, and caches the scan per arguments', async () => {
    const scan = await f.session.scan({}, human);
    assert.equal(scan.workloads, 6);
    assert.equal(scan.containers, 7);
    assert.equal(scan.cluster, 'prod-eu-1');
    const page = f.session.listRecommendations({ reportId: scan.reportId, namespace: 'data', sort: 'name' });
    assert.deepEqual(page.rows.map((row) => row.container), ['metrics', 'postgresql']);
    assert.deepEqual(page.rows[1]?.recommended.requests, { cpu: '618m', memory: '808Mi' });
    assert.equal(page.rows[1]?.current.limits.cpu, null);
    const again = await f.session.scan({}, human);
    assert.equal(again.cached, true);
    assert.equal(again.reportId, scan.reportId);
    assert.equal((await f.session.scan({ refresh: true }, human)).cached, false);
    assert.ok(f.logs.some((line) => line.startsWith('krr ') && line.includes(' simple ') && line.includes('--context=prod-eu-1')), f.logs.join('\n'));
  });

  it('proposes: dry-runs on the server, blocks by policy, opens the diff, writes nothing', async () => {
    const plan = await proposeTwo();
    assert.deepEqual(plan.objects.map((o) => o.name).sort(), ['frontend', 'postgres']);
    assert.deepEqual(plan.blocked.map((b) => b.name), ['checkout-api']);
    assert.match(plan.blocked[0]?.reasons.join(' ') ?? '', /-80%/);
    assert.equal(f.human.shown.length, 1, 'the diff is shown once');
    const mutations = f.cluster.mutations();
    assert.ok(mutations.length >= 2 && mutations.every((m) => m.dryRun), 'only dry-runs reach the server');
    assert.equal(f.cluster.writes().length, 0);
    assert.match(plan.digest, /^[0-9a-f]{64}$/);
    assert.equal(plan.context, 'prod-eu-1');
    assert.equal(plan.server, f.cluster.url);
    const pg = plan.objects.find((o) => o.name === 'postgres');
    assert.ok(pg?.findings.some((finding) => finding.rule === 'critical-workload'));
    assert.match(pg?.proposedManifest ?? '', /memory: 808Mi/);
    assert.match(pg?.liveManifest ?? '', /memory: 256Mi/);
  });

  it('applies only after the human approves the digest, then verifies; rollback restores the objects', async () => {
    const before = {
      frontend: resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'shop', 'frontend'),
      postgres: resourcesOf(f.cluster, 'apps/v1', 'StatefulSet', 'data', 'postgres'),
    };
    const plan = await proposeTwo();
    f.human.answer = 'approve';
    const outcome = await f.session.apply(plan.id, model);
    assert.equal(outcome.status, 'applied', outcome.message);
    assert.equal(outcome.verified, true);
    assert.ok(outcome.snapshotId);
    assert.equal(f.cluster.writes().length, 2);
    assert.deepEqual(resourcesOf(f.cluster, 'apps/v1', 'StatefulSet', 'data', 'postgres'), {
      postgresql: { requests: { cpu: '618m', memory: '808Mi' }, limits: { memory: '808Mi' } },
      metrics: { requests: { cpu: '10m', memory: '100Mi' }, limits: { memory: '100Mi' } },
    });
    assert.match(f.human.asked[0]?.text.detail ?? '', /Apply requested by the AI chat \(test-client\)/);

    const again = await f.session.apply(plan.id, model);
    assert.equal(again.status, 'used', 'a plan is single-use');

    const snapshots = await f.session.listSnapshots();
    assert.equal(snapshots.length, 1);
    const rollback = await f.session.rollback(outcome.snapshotId as string, human);
    assert.equal(rollback.status, 'applied', rollback.message);
    assert.equal(f.human.asked.length, 2, 'rollback goes through the same approval');
    assert.deepEqual(resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'shop', 'frontend'), before.frontend);
    assert.deepEqual(resourcesOf(f.cluster, 'apps/v1', 'StatefulSet', 'data', 'postgres'), before.postgres);

    const audit = await f.session.auditLog({ pageSize: 100 });
    assert.equal(audit.chainValid, true);
    const actions = audit.entries.map((entry) => entry.action);
    for (const action of ['scan', 'propose', 'approve', 'apply', 'write', 'verify', 'refuse']) assert.ok(actions.includes(action as never), `audit has ${action}`);
    const raw = readFileSync(path.join(f.stateDir, 'audit.jsonl'), 'utf8');
    assert.ok(!raw.includes(f.cluster.tokens.admin), 'no bearer token in the audit log');
  });

  it('writes nothing when the human declines, the approval times out, or the approval is for another digest', async () => {
    for (const answer of ['decline', 'never', 'wrong-digest'] as const) {
      if (answer === 'never') f.settings.approvalTimeoutSeconds = 5;
      const plan = await proposeTwo();
      f.human.answer = answer;
      const outcome = await f.session.apply(plan.id, model);
      assert.equal(outcome.status, answer === 'wrong-digest' ? 'refused' : 'declined', `${answer}: ${outcome.message}`);
      assert.equal(f.cluster.writes().length, 0, answer);
      assert.equal((await f.session.apply(plan.id, model)).status, 'used', `${answer}: a declined plan cannot be retried`);
    }
  });

  it('after a decline, the model may not ask again in that context for declineCooldownSeconds; a person may', async () => {
    let clock = Date.now();
    await f.close();
    f = await startSessionFixture({ settings: { declineCooldownSeconds: 120 }, session: { now: () => new Date(clock) } });
    const first = await proposeTwo();
    f.human.answer = 'decline';
    assert.equal((await f.session.apply(first.id, model)).status, 'declined');
    const second = await proposeTwo();
    const asked = f.human.asked.length;
    const auditBefore = (await f.session.auditLog({ pageSize: 1 })).total;
    const refused = await f.session.apply(second.id, model);
    assert.equal(refused.status, 'refused');
    assert.match(refused.message, /refused for another 120 s.*Do not retry on your own/);
    assert.equal(f.human.asked.length, asked, 'nobody was asked');
    const entry = (await f.session.auditLog({ pageSize: 1 })).entries[0];
    assert.equal((await f.session.auditLog({ pageSize: 1 })).total, auditBefore + 1);
    assert.deepEqual([entry?.action, entry?.outcome, entry?.actor.type, entry?.planId], ['refuse', 'refused', 'model', second.id]);
    // The refused plan is still the person's to apply, and they are asked at once.
    assert.deepEqual(f.session.pendingPlans().map((pending) => pending.id), [second.id]);
    clock += 60_000;
    assert.match((await f.session.apply(second.id, model)).message, /another 60 s/);
    assert.equal((await f.session.apply(second.id, human)).status, 'declined', 'a person is never rate-limited');
    assert.equal(f.human.asked.length, asked + 1);
    // That decline (the person's own) starts the cool-down again.
    clock += 119_000;
    assert.match((await f.session.apply((await proposeTwo()).id, model)).message, /another 1 s/);
    clock += 1_000;
    const third = await proposeTwo();
    assert.equal((await f.session.apply(third.id, model)).status, 'declined', 'after the cool-down the model may ask again');
    assert.equal(f.human.asked.length, asked + 2);
    assert.equal(f.cluster.writes().length, 0);
  });

  it('lists pending plans newest first with who proposed them; used, expired and empty plans drop out', async () => {
    const byModel = await proposeTwo(model);
    const byHuman = await proposeTwo(human);
    assert.deepEqual(
      f.session.pendingPlans().map((pending) => [pending.id, pending.context, pending.proposedBy, pending.objects]),
      [
        [byHuman.id, 'prod-eu-1', 'you (test)', byHuman.objects.length],
        [byModel.id, 'prod-eu-1', 'the AI chat (test-client)', byModel.objects.length],
      ],
    );
    f.human.answer = 'decline';
    await f.session.apply(byHuman.id, human);
    assert.deepEqual(f.session.pendingPlans().map((pending) => pending.id), [byModel.id]);
  });

  it('refuses unknown, expired and read-only applies without asking anyone', async () => {
    assert.equal((await f.session.apply('plan-forged', model)).status, 'unknown');
    const plan = await proposeTwo();
    f.settings.readOnly = true;
    f.settings.readOnlyReason = 'workspace is not trusted';
    const readOnly = await f.session.apply(plan.id, model);
    assert.equal(readOnly.status, 'refused');
    assert.match(readOnly.message, /not trusted/);
    f.settings.readOnly = false;
    let clock = Date.now() + 11 * 60_000;
    const late = await startSessionFixture({ session: { now: () => new Date(clock) } });
    try {
      clock = Date.now();
      const latePlan = await (async () => {
        const scan = await late.session.scan({}, model);
        return late.session.propose({ reportId: scan.reportId, workloads: [frontend] }, model);
      })();
      clock = Date.now() + 11 * 60_000;
      late.human.answer = 'approve';
      assert.equal((await late.session.apply(latePlan.id, model)).status, 'expired');
      assert.equal(late.human.asked.length, 0);
      assert.equal(late.cluster.writes().length, 0);
    } finally {
      await late.close();
    }
    assert.equal(f.human.asked.length, 0);
    assert.equal(f.cluster.writes().length, 0);
  });

  it('refuses a stale plan: the target changed after the proposal', async () => {
    const plan = await proposeTwo();
    const live = f.cluster.getObject('apps/v1', 'Deployment', 'shop', 'frontend') as { spec: { replicas: number } };
    live.spec.replicas = 6;
    f.cluster.putObject(live);
    f.human.answer = 'approve';
    const outcome = await f.session.apply(plan.id, model);
    assert.equal(outcome.status, 'stale');
    assert.equal(f.cluster.writes().length, 0);
  });

  it('lets only one of two concurrent applies of a plan through', async () => {
    const plan = await proposeTwo();
    f.human.answer = 'approve';
    const [first, second] = await Promise.all([f.session.apply(plan.id, model), f.session.apply(plan.id, model)]);
    assert.deepEqual([first.status, second.status].sort(), ['applied', 'used']);
    assert.equal(f.cluster.writes().length, 2);
  });

  it('restores what was written when a later write fails (all-or-nothing)', async () => {
    const before = {
      frontend: resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'shop', 'frontend'),
      postgres: resourcesOf(f.cluster, 'apps/v1', 'StatefulSet', 'data', 'postgres'),
    };
    f.settings.applyConcurrency = 1;
    const plan = await proposeTwo();
    f.cluster.faults.failNthWrite(2, 500);
    f.human.answer = 'approve';
    const outcome = await f.session.apply(plan.id, model);
    assert.equal(outcome.status, 'restored', outcome.message);
    assert.deepEqual(outcome.objects.map((o) => o.result).sort(), ['failed', 'restored']);
    assert.deepEqual(resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'shop', 'frontend'), before.frontend);
    assert.deepEqual(resourcesOf(f.cluster, 'apps/v1', 'StatefulSet', 'data', 'postgres'), before.postgres);
    const audit = await f.session.auditLog({ pageSize: 100 });
    assert.ok(audit.entries.some((entry) => entry.action === 'restore'));
  });
});

describe('session: staged applies and the rollout watch', function () {
  this.timeout(60_000);
  let f: SessionFixture;
  afterEach(async () => f?.close());

  /** The sample report plus a scan of dev/sandbox-api (seeded in the test cluster), written to a file. */
  async function loadStagedReport(fixture: SessionFixture): Promise<string> {
    const sample = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'sample-report.json'), 'utf8')) as { scans: Array<Record<string, unknown>> };
    const frontendScan = structuredClone(sample.scans.find((scan) => (scan.object as { name: string }).name === 'frontend')) as { object: Record<string, unknown> };
    Object.assign(frontendScan.object, { name: 'sandbox-api', namespace: 'dev', container: 'api', hpa: null, allocations: { requests: { cpu: 0.1, memory: 134217728 }, limits: { cpu: 0.5, memory: 268435456 }, info: {} } });
    sample.scans.push(frontendScan);
    const file = path.join(fixture.stateDir, 'staged-report.json');
    writeFileSync(file, JSON.stringify(sample));
    return (await fixture.session.loadReport(file, human)).reportId;
  }

  it('orders stages dev first, and stops when a stage does not roll out healthy', async () => {
    f = await startSessionFixture({ settings: { rolloutWatch: { enabled: true, timeoutSeconds: 5 } } });
    const reportId = await loadStagedReport(f);
    const plan = await f.session.propose({ reportId, workloads: [frontend, { namespace: 'dev', kind: 'Deployment', name: 'sandbox-api' }], staged: true }, human);
    assert.deepEqual(plan.objects.map((o) => [o.name, o.stage]), [['sandbox-api', 1], ['frontend', 3]]);
    assert.match(f.session.approvalText(plan, human).detail, /Staged/);
    const sandboxBefore = resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'dev', 'sandbox-api');
    // Stage 1's rollout never completes (a stuck controller).
    f.cluster.faults.stallRollouts('dev', 'sandbox-api');
    f.human.answer = 'approve';
    const outcome = await f.session.apply(plan.id, human);
    assert.equal(outcome.status, 'restored', outcome.message);
    assert.match(outcome.message, /Stage 1 did not become healthy/);
    assert.deepEqual(resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'dev', 'sandbox-api'), sandboxBefore);
    assert.equal(f.cluster.writes().filter((w) => w.path.includes('/frontend')).length, 0, 'later stages are not written');
  });

  it('keeps a healthy earlier stage when a later one fails, and offers its rollback as a plan', async () => {
    f = await startSessionFixture({ settings: { rolloutWatch: { enabled: true, timeoutSeconds: 5 } } });
    const reportId = await loadStagedReport(f);
    const plan = await f.session.propose({ reportId, workloads: [frontend, { namespace: 'dev', kind: 'Deployment', name: 'sandbox-api' }], staged: true }, human);
    const frontendBefore = resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'shop', 'frontend');
    f.cluster.faults.stallRollouts('shop', 'frontend');
    f.human.answer = 'approve';
    const outcome = await f.session.apply(plan.id, human);
    assert.equal(outcome.status, 'failed', outcome.message);
    assert.match(outcome.message, /Stage 3 did not become healthy.*Earlier stages remain applied/);
    assert.deepEqual(resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'shop', 'frontend'), frontendBefore, 'the failing stage is restored');
    assert.deepEqual(outcome.objects.map((o) => [o.name, o.result]).sort(), [['frontend', 'restored'], ['sandbox-api', 'written']]);
    const rollback = f.session.getPlan(outcome.rollbackPlanId ?? '');
    assert.equal(rollback?.kind, 'rollback', outcome.message);
    assert.deepEqual(rollback?.objects.map((o) => o.name), ['sandbox-api'], 'only what stayed written needs rolling back');
  });

  it('reports an unhealthy rollout with a ready rollback plan, and never undoes it silently', async () => {
    f = await startSessionFixture({ settings: { rolloutWatch: { enabled: true, timeoutSeconds: 5 } } });
    const scan = await f.session.scan({}, human);
    const plan = await f.session.propose({ reportId: scan.reportId, workloads: [frontend] }, human);
    f.cluster.faults.stallRollouts('shop', 'frontend');
    f.human.answer = 'approve';
    const outcome = await f.session.apply(plan.id, human);
    assert.equal(outcome.status, 'applied');
    assert.equal(outcome.rollouts[0]?.healthy, false);
    assert.ok(outcome.rollbackPlanId, outcome.message);
    const rollbackPlan = f.session.getPlan(outcome.rollbackPlanId as string);
    assert.equal(rollbackPlan?.kind, 'rollback');
    assert.equal(f.cluster.writes().length, 1, 'the rollback waits for its own approval');
    // Proposed by the rollout watch, not by the person: when the model asks to apply it, the dialog says both truthfully.
    assert.deepEqual(rollbackPlan?.requestedBy, { type: 'system', via: `rollout watch, after ${plan.id}` });
    f.human.answer = 'decline';
    await f.session.apply(outcome.rollbackPlanId as string, model);
    const asked = f.human.asked.at(-1);
    assert.equal(asked?.plan.id, outcome.rollbackPlanId);
    assert.match(asked?.text.detail ?? '', new RegExp(`Proposed by KRR itself \\(rollout watch, after ${plan.id}\\)\\.`));
    assert.match(asked?.text.detail ?? '', /Apply requested by the AI chat \(test-client\)\./);
    assert.doesNotMatch(asked?.text.detail ?? '', /by you/);
    assert.match(asked?.text.notice ?? '', new RegExp(`^KRR: the AI chat \\(test-client\\) asks to roll back with ${outcome.rollbackPlanId} \\(1 change in prod-eu-1\\)\\.$`));
  });
});
