import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Requester } from '../../src/core/model';
import { human, model, resourcesOf, startSessionFixture, type SessionFixture } from '../support/session-fixture';
import { asControlPlane } from '../support/test-cluster';

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

  /** Sets one resource value of a workload's container (default: the first) behind the session's back (another user). */
  function editBehindTheBack(apiVersion: string, kind: string, namespace: string, name: string, allocation: 'requests' | 'limits', resource: 'cpu' | 'memory', value: string, containerName?: string): void {
    const live = f.cluster.getObject(apiVersion, kind, namespace, name) as { spec: { template: { spec: { containers: Array<{ name: string; resources: Record<string, Record<string, string>> }> } } } };
    const containers = live.spec.template.spec.containers;
    const container = containerName ? containers.find((entry) => entry.name === containerName) : containers[0];
    if (!container) throw new Error(`${name} has no container`);
    container.resources[allocation] = { ...container.resources[allocation], [resource]: value };
    f.cluster.putObject(live);
  }

  it('rollback restores only what the apply wrote; a value changed since is a conflict, left out unless included', async () => {
    const before = resourcesOf(f.cluster, 'apps/v1', 'StatefulSet', 'data', 'postgres');
    const plan = await proposeTwo();
    const changes = plan.objects.find((o) => o.name === 'frontend')?.changes ?? [];
    const wrote = changes.find((c) => c.allocation === 'limits' && c.resource === 'memory');
    const untouched = (['cpu', 'memory'] as const).flatMap((resource) => (['requests', 'limits'] as const).map((allocation) => ({ allocation, resource }))).find((field) => !changes.some((c) => c.allocation === field.allocation && c.resource === field.resource));
    assert.ok(wrote && untouched, JSON.stringify(changes));
    f.human.answer = 'approve';
    const outcome = await f.session.apply(plan.id, model);
    assert.equal(outcome.status, 'applied', outcome.message);
    // Someone else changes a value the apply wrote (frontend's memory limit) and one it did not write.
    editBehindTheBack('apps/v1', 'Deployment', 'shop', 'frontend', 'limits', 'memory', '300Mi');
    editBehindTheBack('apps/v1', 'Deployment', 'shop', 'frontend', untouched.allocation, untouched.resource, untouched.resource === 'cpu' ? '333m' : '333Mi');
    type Resources = Record<string, Record<string, Record<string, string>>>;
    const edited = resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'shop', 'frontend') as Resources;
    const container = wrote.container;

    const rollback = await f.session.rollback(outcome.snapshotId as string, human);
    assert.equal(rollback.status, 'applied', rollback.message);
    assert.deepEqual(resourcesOf(f.cluster, 'apps/v1', 'StatefulSet', 'data', 'postgres'), before, 'untouched since: fully restored');
    const frontendNow = resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'shop', 'frontend') as Resources;
    assert.equal(frontendNow[container]?.limits?.memory, '300Mi', 'the later edit of a value the apply wrote survives');
    assert.equal(frontendNow[container]?.[untouched.allocation]?.[untouched.resource], edited[container]?.[untouched.allocation]?.[untouched.resource], 'a value the apply never wrote is never touched');
    for (const change of changes.filter((c) => c !== wrote)) assert.equal(frontendNow[container]?.[change.allocation]?.[change.resource] ?? null, change.from, 'the other values it wrote are restored');
    assert.deepEqual(rollback.conflicts?.map((c) => [c.name, c.allocation, c.resource, c.wrote, c.live, c.included]), [['frontend', 'limits', 'memory', wrote.to, '300Mi', false]]);
    assert.match(rollback.message, /1 field changed since the apply was left as it is.*includeConflicts/);
    const dialog = f.human.asked[1]?.text.detail ?? '';
    assert.match(dialog, /Not rolled back: 1 value changed since the apply is left as it is/);
    assert.ok(dialog.includes(`frontend: ${container} limits.memory was changed since the apply (it wrote ${wrote.to}, it is now 300Mi; rollback would set ${wrote.from})`), dialog);

    // The person asks for it explicitly: now the conflicting value is restored, and the dialog says it overwrites.
    const forced = await f.session.rollback(outcome.snapshotId as string, human, { includeConflicts: true });
    assert.equal(forced.status, 'applied', forced.message);
    assert.match(f.human.asked[2]?.text.detail ?? '', /OVERWRITES 1 value changed since the apply/);
    assert.match(f.human.asked[2]?.plan.objects[0]?.proposedManifest ?? '', /^# Deployment shop\/frontend: .*RESTORED \(included on request\)/);
    const restored = resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'shop', 'frontend') as Resources;
    assert.equal(restored[container]?.limits?.memory, wrote.from);
    assert.equal(restored[container]?.[untouched.allocation]?.[untouched.resource], edited[container]?.[untouched.allocation]?.[untouched.resource], 'still not a value the apply wrote');
  });

  it('rollback refuses, writing nothing, when every value the apply wrote was changed since; never touches objects it did not write', async () => {
    f.settings.applyConcurrency = 1;
    const plan = await proposeTwo();
    f.cluster.faults.failNthWrite(2, 500);
    f.human.answer = 'approve';
    const outcome = await f.session.apply(plan.id, model);
    assert.equal(outcome.status, 'restored', outcome.message);
    const failed = outcome.objects.find((o) => o.result === 'failed');
    assert.ok(failed, JSON.stringify(outcome.objects));
    // The object whose write failed gets someone else's edit; the rollback must leave it alone.
    const apiVersion = 'apps/v1';
    editBehindTheBack(apiVersion, failed.kind, failed.namespace, failed.name, 'requests', 'memory', '99Mi');
    const writes = f.cluster.writes().length;
    await assert.rejects(f.session.rollback(outcome.snapshotId as string, human, { objects: [failed] }), /wrote none of these objects/);
    const whole = await f.session.rollback(outcome.snapshotId as string, human);
    assert.equal(whole.status, 'refused', 'the restored object already holds its old values: nothing to roll back');
    assert.equal(f.cluster.writes().length, writes);
    assert.equal((resourcesOf(f.cluster, apiVersion, failed.kind, failed.namespace, failed.name) as Record<string, { requests: { memory: string } }>)[Object.keys(resourcesOf(f.cluster, apiVersion, failed.kind, failed.namespace, failed.name))[0] as string]?.requests.memory, '99Mi');

    // A fresh apply whose every written value is then changed: the rollback is refused with the conflicts.
    const second = await f.session.propose({ reportId: plan.sourceReportId as string, workloads: [postgres], includeLimits: true }, model);
    const applied = await f.session.apply(second.id, model);
    assert.equal(applied.status, 'applied', applied.message);
    const written = second.objects[0]?.changes ?? [];
    assert.ok(written.length > 0);
    for (const change of written) editBehindTheBack('apps/v1', 'StatefulSet', 'data', 'postgres', change.allocation, change.resource, change.resource === 'cpu' ? '777m' : '777Mi', change.container);
    const asked = f.human.asked.length;
    const refused = await f.session.rollback(applied.snapshotId as string, human);
    assert.equal(refused.status, 'refused', refused.message);
    assert.match(refused.message, /every field this apply wrote was changed since/);
    assert.equal(refused.conflicts?.length, written.length);
    assert.equal(f.human.asked.length, asked, 'nobody is asked to approve an empty rollback');
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

describe('session: quantities as the API server stores them', function () {
  this.timeout(60_000);
  let f: SessionFixture;
  beforeEach(async () => {
    f = await startSessionFixture();
  });
  afterEach(async () => f.close());

  it('writes canonical quantities and verifies by value; a crafted 1e300 blocks only its workload', async () => {
    const sample = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'sample-report.json'), 'utf8')) as { scans: Array<{ object: { name: string; container: string }; recommended: Record<string, Record<string, { value: unknown }>> }> };
    for (const scan of sample.scans) {
      // 2e8 and 3e8 bytes are not whole Ki: the API server stores them as "200M" and "300M".
      if (scan.object.name === 'frontend') Object.assign(scan.recommended, { requests: { ...scan.recommended.requests, memory: { value: 2e8, severity: 'OK' } }, limits: { ...scan.recommended.limits, memory: { value: 3e8, severity: 'OK' } } });
      if (scan.object.container === 'postgresql') scan.recommended.requests = { ...scan.recommended.requests, memory: { value: 1e300, severity: 'OK' } } as never;
    }
    const file = path.join(f.stateDir, 'crafted-report.json');
    writeFileSync(file, JSON.stringify(sample));
    const { reportId } = await f.session.loadReport(file, human);
    const plan = await f.session.propose({ reportId, workloads: [frontend, postgres], includeLimits: true }, model);
    assert.deepEqual(plan.objects.map((o) => o.name), ['frontend']);
    assert.deepEqual(plan.blocked.map((b) => b.name), ['postgres']);
    assert.match(plan.blocked[0]?.reasons.join(' ') ?? '', /cannot be written: memory amount 1e\+300 bytes is too large/);
    const memory = plan.objects[0]?.changes.filter((c) => c.resource === 'memory').map((c) => c.to);
    assert.deepEqual(memory?.sort(), ['200M', '300M'], 'the canonical form the API server stores, not "200000000"');

    f.human.answer = 'approve';
    const outcome = await f.session.apply(plan.id, model);
    assert.equal(outcome.status, 'applied', outcome.message);
    assert.equal(outcome.verified, true, outcome.message);
    const web = (resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'shop', 'frontend') as Record<string, { requests: { memory: string }; limits: { memory: string } }>).web;
    assert.deepEqual([web?.requests.memory, web?.limits.memory], ['200M', '300M']);
    const rollback = await f.session.rollback(outcome.snapshotId as string, human);
    assert.equal(rollback.status, 'applied', rollback.message);
    assert.equal(rollback.conflicts, undefined, 'values stored in the canonical form are not conflicts');
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

  // Under load the answer to a restore can be lost (a timeout, a dropped connection) whether or not it landed; the
  // apply reads the object back instead of reporting "NOT fully restored" unseen, and sends it once more if it did not land.
  for (const [fault, landed] of [['commitThenDropNthWrite', true], ['dropNthWrite', false]] as const) {
    it(`a restore whose answer is lost is read back (${landed ? 'it landed' : 'it did not land: sent once more'}), never reported unseen`, async () => {
      // The real control plane: its fault proxy can commit a write and drop the answer.
      f = await startSessionFixture({ cluster: { light: false }, settings: { rolloutWatch: { enabled: true, timeoutSeconds: 5 } } });
      const plane = asControlPlane(f.cluster);
      assert.ok(plane, 'the real control plane');
      const reportId = await loadStagedReport(f);
      const plan = await f.session.propose({ reportId, workloads: [frontend, { namespace: 'dev', kind: 'Deployment', name: 'sandbox-api' }], staged: true }, human);
      const sandboxBefore = resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'dev', 'sandbox-api');
      f.cluster.faults.stallRollouts('dev', 'sandbox-api');
      // Write 1 is stage 1's change; write 2 is its restore, whose answer never arrives.
      plane.faults[fault](2);
      f.human.answer = 'approve';
      const outcome = await f.session.apply(plan.id, human);
      assert.equal(outcome.status, 'restored', outcome.message);
      assert.match(outcome.message, /Stage 1 did not become healthy; it was restored/);
      assert.match(outcome.objects[0]?.message ?? '', landed ? /answer to the restore was lost.*shows the previous values/ : /on the second try/);
      assert.deepEqual(resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'dev', 'sandbox-api'), sandboxBefore);
      assert.equal(f.cluster.writes().filter((w) => w.path.includes('/sandbox-api')).length, 2, 'the write and one restore reached the API server (a dropped one never did)');
      assert.equal(f.cluster.writes().filter((w) => w.path.includes('/frontend')).length, 0, 'later stages are not written');
    });
  }

  it('writes no later stage once the approval is older than the plan lifetime; earlier stages stay, with a rollback plan', async () => {
    // The session's clock jumps past the plan lifetime (600 s) once the apply's first write reached the cluster,
    // as if stage 1's rollout had taken that long: deterministic, no waiting.
    const start = Date.now();
    let fixture: SessionFixture | undefined;
    let writesBeforeApply = Number.POSITIVE_INFINITY; // set just before the apply
    const clock = () => new Date(start + (fixture && Number.isFinite(writesBeforeApply) && fixture.cluster.writes().length > writesBeforeApply ? 601_000 : 0));
    f = fixture = await startSessionFixture({ settings: { rolloutWatch: { enabled: true, timeoutSeconds: 5 } }, session: { now: clock } });
    const reportId = await loadStagedReport(f);
    const plan = await f.session.propose({ reportId, workloads: [frontend, { namespace: 'dev', kind: 'Deployment', name: 'sandbox-api' }], staged: true }, human);
    assert.deepEqual(plan.objects.map((o) => [o.name, o.stage]), [['sandbox-api', 1], ['frontend', 3]]);
    const frontendBefore = resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'shop', 'frontend');
    const sandboxBefore = resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'dev', 'sandbox-api');
    f.human.answer = 'approve';
    writesBeforeApply = f.cluster.writes().length;
    const outcome = await f.session.apply(plan.id, model);
    assert.equal(outcome.status, 'failed', outcome.message);
    assert.match(outcome.message, /Stage 3 and later were not written: the approval is older than the plan's lifetime \(600 s\)\. Earlier stages remain applied\./);
    assert.deepEqual(outcome.objects.map((o) => [o.name, o.result]), [['sandbox-api', 'written'], ['frontend', 'not-written']]);
    assert.match(outcome.objects[1]?.message ?? '', /older than the plan's lifetime/);
    assert.equal(f.cluster.writes().slice(writesBeforeApply).filter((w) => w.path.includes('/frontend')).length, 0, 'the later stage is not written');
    assert.deepEqual(resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'shop', 'frontend'), frontendBefore);
    const rollback = f.session.getPlan(outcome.rollbackPlanId ?? '');
    assert.equal(rollback?.kind, 'rollback', outcome.message);
    assert.deepEqual(rollback?.objects.map((o) => o.name), ['sandbox-api'], 'the stage that stayed written can be rolled back');
    const closing = (await f.session.auditLog({ actions: ['apply'], pageSize: 100 })).entries.find((entry) => entry.outcome === 'failed');
    assert.match(String(closing?.detail?.message), /approval is older than the plan's lifetime/, 'the audit log records why the apply stopped');
    // The proposed rollback takes the kept stage back, with its own (fresh) approval.
    assert.equal((await f.session.apply(rollback?.id ?? '', human)).status, 'applied');
    assert.deepEqual(resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'dev', 'sandbox-api'), sandboxBefore);
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
    assert.match(asked?.text.notice ?? '', new RegExp(`^KRR: the AI chat \\(test-client\\) asks to roll back with ${outcome.rollbackPlanId} \\(1 change in \u2068prod-eu-1\u2069\\)\\.$`));
  });
});
