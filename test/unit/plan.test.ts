import assert from 'node:assert/strict';

import { approvalText } from '../../src/core/approval';
import type { ContainerRecommendation } from '../../src/core/krr/model';
import type { KubeObject } from '../../src/core/kube/object';
import { applyOps, buildObjectPatch, desiredFromRecommendation, restoreOps, sameResources, specMoved, type DesiredResources } from '../../src/core/plan/build';
import { monthlyCostOfChanges, podCount } from '../../src/core/plan/cost';
import { planDigest } from '../../src/core/plan/digest';
import { rollbackTarget } from '../../src/core/plan/rollback';
import type { ObjectChange, Plan } from '../../src/core/plan/model';
import { parseSessionSettings } from '../../src/core/settings';
import { withoutIsolates } from '../../src/core/text';

function deployment(resources: Record<string, unknown> | undefined, resourceVersion = '42'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'checkout-api', namespace: 'shop', resourceVersion, uid: 'u-1' },
    spec: {
      replicas: 3,
      template: { spec: { containers: [{ name: 'sidecar', image: 'envoy' }, { name: 'api', image: 'api:1', ...(resources ? { resources } : {}) }] } },
    },
  };
}

const identity = { namespace: 'shop', kind: 'Deployment' as const, name: 'checkout-api' };
const want = (requests: DesiredResources['requests'], limits: DesiredResources['limits'] = {}) => new Map([['api', { requests, limits }]]);

describe('plan: building the patch', () => {
  it('pins metadata.generation instead of the resourceVersion when the object has one (status updates change only the latter)', () => {
    const live = { ...deployment({ requests: { cpu: '500m' } }), metadata: { ...deployment({}).metadata, generation: 7 } };
    const patch = buildObjectPatch(live, identity, want({ cpu: '87m' }));
    assert.deepEqual(patch.ops[0], { op: 'test', path: '/metadata/generation', value: 7 });
    assert.equal(specMoved({ ...live, metadata: { ...live.metadata, resourceVersion: '99' } }, { generation: 7, resourceVersion: '42' }), false, 'a status update is not a move');
    assert.equal(specMoved({ ...live, metadata: { ...live.metadata, generation: 8 } }, { generation: 7, resourceVersion: '42' }), true, 'a spec change is');
    assert.equal(specMoved(deployment({}), { generation: null, resourceVersion: '41' }), true, 'without a generation the resourceVersion decides');
  });

  it('pins resourceVersion, the container name at its index and the current resources, then replaces', () => {
    const live = deployment({ requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } });
    const patch = buildObjectPatch(live, identity, want({ cpu: '87m', memory: '347Mi' }));
    assert.deepEqual(patch.ops, [
      { op: 'test', path: '/metadata/resourceVersion', value: '42' },
      { op: 'test', path: '/spec/template/spec/containers/1/name', value: 'api' },
      { op: 'test', path: '/spec/template/spec/containers/1/resources', value: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } } },
      { op: 'replace', path: '/spec/template/spec/containers/1/resources', value: { requests: { cpu: '87m', memory: '347Mi' }, limits: { cpu: '1', memory: '1Gi' } } },
    ]);
    assert.deepEqual(patch.changes.map((c) => `${c.allocation}.${c.resource}:${c.from}->${c.to}`), ['requests.cpu:500m->87m', 'requests.memory:512Mi->347Mi']);
    assert.deepEqual(patch.resulting[0]?.requests, { cpu: 0.087, memory: 347 * 2 ** 20 });
    const spec = patch.proposed.spec as { template: { spec: { containers: Array<{ resources?: unknown }> } } };
    assert.deepEqual(spec.template.spec.containers[1]?.resources, { requests: { cpu: '87m', memory: '347Mi' }, limits: { cpu: '1', memory: '1Gi' } });
    assert.equal((live.spec as typeof spec).template.spec.containers[1]?.resources && 'live untouched', 'live untouched');
  });

  it('adds resources when the container has none, and leaves equal values alone', () => {
    const patch = buildObjectPatch(deployment(undefined), identity, want({ cpu: '100m' }));
    assert.deepEqual(patch.ops.at(-1), { op: 'add', path: '/spec/template/spec/containers/1/resources', value: { requests: { cpu: '100m' } } });
    const same = buildObjectPatch(deployment({ requests: { cpu: '0.1' } }), identity, want({ cpu: '100m' }));
    assert.deepEqual(same.ops, [], '0.1 equals 100m: nothing to write');
  });

  it('removes a field only when asked (null) and drops empty maps', () => {
    const patch = buildObjectPatch(deployment({ requests: { cpu: '500m' }, limits: { cpu: '1' } }), identity, want({}, { cpu: null }));
    assert.deepEqual(patch.ops.at(-1), { op: 'replace', path: '/spec/template/spec/containers/1/resources', value: { requests: { cpu: '500m' } } });
  });

  it('reports containers that are not in the live object', () => {
    const patch = buildObjectPatch(deployment({}), identity, new Map([['gone', { requests: { cpu: '1' }, limits: {} }]]));
    assert.deepEqual(patch.missingContainers, ['gone']);
    assert.deepEqual(patch.ops, []);
  });

  it('the test ops make the patch fail when the object moved', () => {
    const live = deployment({ requests: { cpu: '500m' } });
    const patch = buildObjectPatch(live, identity, want({ cpu: '250m' }));
    assert.throws(() => applyOps(deployment({ requests: { cpu: '500m' } }, '43'), patch.ops), /does not apply/);
    assert.throws(() => applyOps(deployment({ requests: { cpu: '600m' } }), patch.ops), /does not apply/);
  });

  it('restoreOps undo the patch, pinned to what was written', () => {
    const live = deployment({ requests: { cpu: '500m' }, limits: { memory: '1Gi' } });
    const patch = buildObjectPatch(live, identity, want({ cpu: '250m' }));
    const after = applyOps(live, patch.ops);
    after.metadata.resourceVersion = '43';
    const restored = applyOps(after, restoreOps(patch.ops));
    assert.deepEqual(restored.spec, live.spec);
    const movedAgain = applyOps(after, [{ op: 'replace', path: '/spec/template/spec/containers/1/resources/requests/cpu', value: '300m' }]);
    assert.throws(() => applyOps(movedAgain, restoreOps(patch.ops)), /does not apply/, 'a restore must not overwrite someone else’s later change');
    const added = buildObjectPatch(deployment(undefined), identity, want({ cpu: '100m' }));
    const restoredAdd = applyOps(applyOps(deployment(undefined), added.ops), restoreOps(added.ops));
    assert.deepEqual(restoredAdd.spec, deployment(undefined).spec);
  });
});

describe('plan: quantities compared by value', () => {
  it('sameResources compares quantities by value and everything else exactly', () => {
    assert.ok(sameResources({ requests: { cpu: '1000', memory: '100000000' } }, { requests: { cpu: '1k', memory: '100M' } }));
    assert.ok(sameResources({ limits: { memory: '1024Mi' } }, { limits: { memory: '1Gi' } }));
    assert.ok(!sameResources({ requests: { cpu: '1k' } }, { requests: { cpu: '1001' } }));
    assert.ok(!sameResources({ requests: { cpu: '1' } }, { requests: { cpu: '1' }, limits: { cpu: '1' } }), 'an extra field is a difference');
    assert.ok(!sameResources({ requests: { cpu: 'abc' } }, { requests: { cpu: 'abd' } }));
  });

  it('a restore pins the values the server stored, not our spelling of them (its test compares JSON literally)', () => {
    const live = deployment({ requests: { cpu: '500m' } });
    const patch = buildObjectPatch(live, identity, want({ cpu: '250m' }));
    // As if the server had stored what we wrote in another spelling: our own op.value would not match it.
    const stored = applyOps(live, [{ op: 'replace', path: '/spec/template/spec/containers/1/resources', value: { requests: { cpu: '0.25' } } }]);
    assert.throws(() => applyOps(stored, restoreOps(patch.ops)), /does not apply/);
    assert.deepEqual(applyOps(stored, restoreOps(patch.ops, stored)).spec, live.spec);
    const someoneElse = applyOps(live, [{ op: 'replace', path: '/spec/template/spec/containers/1/resources', value: { requests: { cpu: '300m' } } }]);
    assert.throws(() => applyOps(someoneElse, restoreOps(patch.ops, someoneElse)), /does not apply/, 'a value that differs by amount is still pinned');
  });
});

describe('plan: rollback targets', () => {
  const before = deployment({ requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '1Gi' } });
  const fields = [
    { container: 'api', allocation: 'requests' as const, resource: 'cpu' as const, before: '500m', after: '250m' },
    { container: 'api', allocation: 'requests' as const, resource: 'memory' as const, before: '512Mi', after: '100M' },
    { container: 'api', allocation: 'limits' as const, resource: 'memory' as const, before: '1Gi', after: '2Gi' },
  ];
  const record = { replaced: [{ path: '/spec/template/spec/containers/1/resources', value: { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '1Gi' } } }], before: before as unknown as Record<string, unknown>, fields };

  it('restores a value still as written (by value), skips one already back, and flags one changed since', () => {
    // cpu still as written; memory written as 100M, stored as 100000000 here (same value); the limit is already back; a
    // limits.cpu nobody wrote was added by someone else.
    const live = deployment({ requests: { cpu: '250m', memory: '100000000' }, limits: { memory: '1Gi', cpu: '3' } });
    const plain = rollbackTarget(record, live, identity, false);
    assert.deepEqual(plain.desired.get('api'), { requests: { cpu: '500m', memory: '512Mi' }, limits: {} });
    assert.deepEqual(plain.conflicts, []);
    const changed = deployment({ requests: { cpu: '300m', memory: '100M' }, limits: { memory: '2Gi' } });
    const withConflict = rollbackTarget(record, changed, identity, false);
    assert.deepEqual(withConflict.desired.get('api'), { requests: { memory: '512Mi' }, limits: { memory: '1Gi' } });
    assert.deepEqual(withConflict.conflicts.map((c) => [c.resource, c.wrote, c.live, c.restore, c.included]), [['cpu', '250m', '300m', '500m', false]]);
    const included = rollbackTarget(record, changed, identity, true);
    assert.equal(included.desired.get('api')?.requests.cpu, '500m');
    assert.ok(included.notes.some((note) => note.severity === 'warn' && /overwrites that change/.test(note.message)));
  });

  it('an older snapshot without field records treats every difference as a conflict', () => {
    const live = deployment({ requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } });
    const legacy = rollbackTarget({ replaced: record.replaced, before: record.before }, live, identity, false);
    assert.equal(legacy.desired.size, 0);
    assert.deepEqual(legacy.conflicts.map((c) => [c.resource, c.wrote, c.live]), [['cpu', undefined, '250m']]);
  });
});

describe('plan: recommendations to desired values', () => {
  const recommendation: ContainerRecommendation = {
    container: 'api',
    current: { requests: { cpu: 0.5, memory: 536870912 }, limits: { cpu: 1, memory: 1073741824 } },
    recommended: { requests: { cpu: { kind: 'value', amount: 0.087 }, memory: { kind: 'unknown' } }, limits: { cpu: { kind: 'unset' }, memory: { kind: 'value', amount: 363855872 } } },
    severities: { requests: { cpu: 'WARNING', memory: 'UNKNOWN' }, limits: { cpu: 'WARNING', memory: 'CRITICAL' } },
    severity: 'CRITICAL',
    info: { cpu: null, memory: 'Not enough data' },
    warnings: [],
    pods: { running: 2, deleted: 1 },
  };

  it('never touches "?", and leaves limits alone unless asked', () => {
    const { desired, notes } = desiredFromRecommendation(recommendation, { includeLimits: false, allowLimitRemoval: false });
    assert.deepEqual(desired, { requests: { cpu: '87m' }, limits: {} });
    assert.ok(notes.some((note) => note.rule === 'unknown-recommendation' && /Not enough data/.test(note.message)));
  });

  it('removes a limit (null) only with the explicit opt-in', () => {
    assert.deepEqual(desiredFromRecommendation(recommendation, { includeLimits: true, allowLimitRemoval: false }).desired.limits, { memory: '347Mi' });
    assert.deepEqual(desiredFromRecommendation(recommendation, { includeLimits: true, allowLimitRemoval: true }).desired.limits, { cpu: null, memory: '347Mi' });
  });
});

describe('plan: cost', () => {
  const prices = parseSessionSettings({}).prices;
  it('multiplies request deltas by pods and hours', () => {
    const changes = [{ container: 'a', allocation: 'requests' as const, resource: 'cpu' as const, from: '1', to: '500m', fromAmount: 1, toAmount: 0.5 }];
    assert.equal(monthlyCostOfChanges(changes, 2, prices), Math.round(-0.5 * 0.0316 * 730 * 2 * 100) / 100);
    assert.equal(monthlyCostOfChanges(changes, null, prices), null);
  });
  it('counts pods from the HPA, spec.replicas or the DaemonSet status; not for CronJobs', () => {
    assert.equal(podCount(identity, deployment({}), null).pods, 3);
    assert.equal(podCount(identity, deployment({}), { currentReplicas: 7 }).pods, 7);
    assert.equal(podCount({ ...identity, kind: 'DaemonSet' }, { ...deployment({}), status: { desiredNumberScheduled: 5 } }, null).pods, 5);
    assert.equal(podCount({ ...identity, kind: 'CronJob' }, deployment({}), null).pods, null);
  });
});

describe('plan: digest and approval text', () => {
  const object = (overrides: Partial<ObjectChange> = {}): ObjectChange => ({
    ...identity, apiVersion: 'apps/v1', uid: 'u-1', resourceVersion: '42', generation: 3,
    changes: [{ container: 'api', allocation: 'requests', resource: 'cpu', from: '500m', to: '87m', fromAmount: 0.5, toAmount: 0.087 }],
    ops: [{ op: 'replace', path: '/x', value: '87m' }], liveManifest: '', proposedManifest: '', pods: 3, podsSource: 'spec.replicas',
    monthlyCostDelta: -30.15, findings: [], stage: 1, ...overrides,
  });
  const base = { context: 'prod-eu-1', server: 'https://k8s.example', staged: false };

  it('changes when the context, server, resourceVersion or any op changes, not when order does', () => {
    const digest = planDigest({ ...base, objects: [object()] });
    assert.match(digest, /^[0-9a-f]{64}$/);
    assert.notEqual(planDigest({ ...base, context: 'staging', objects: [object()] }), digest);
    assert.notEqual(planDigest({ ...base, server: 'https://other', objects: [object()] }), digest);
    assert.notEqual(planDigest({ ...base, objects: [object({ resourceVersion: '43' })] }), digest);
    assert.notEqual(planDigest({ ...base, objects: [object({ ops: [{ op: 'replace', path: '/x', value: '88m' }] })] }), digest);
    const other = object({ name: 'frontend' });
    assert.equal(planDigest({ ...base, objects: [object(), other] }), planDigest({ ...base, objects: [other, object()] }));
  });

  it('words the dialog from the plan: context, server, objects, totals, who asked', () => {
    const plan: Plan = {
      id: 'plan-1', digest: 'a'.repeat(64), kind: 'apply', ...base, createdAt: new Date(0).toISOString(), expiresAt: new Date(600_000).toISOString(),
      requestedBy: { type: 'model', via: 'Visual Studio Code' }, objects: [object()], blocked: [], warnings: [],
      totals: { objects: 1, containers: 1, changes: 1, cpuRequestDelta: -1.239, memoryRequestDelta: 0, cpuLimitDelta: 0, memoryLimitDelta: 0, monthlyCostDelta: -30.15, blocked: 0 },
      risk: 'medium', riskReasons: ['checkout-api: CPU cut by up to 83%'], staged: false,
    };
    const text = approvalText(plan, plan.requestedBy, ['*prod*'], new Date(0));
    // Names are isolated (FSI…PDI): a right-to-left name cannot reorder the sentence around it.
    assert.equal(text.title, 'Apply resource changes to 1 object in \u2068prod-eu-1\u2069?');
    assert.equal(text.confirmLabel, 'Apply 1 change');
    assert.equal(text.typeToConfirm, 'prod-eu-1');
    assert.match(text.detail, /Proposed by the AI chat \(Visual Studio Code\)\./);
    assert.match(text.detail, /Apply requested by the AI chat \(Visual Studio Code\)\./);
    assert.match(text.detail, /https:\/\/k8s\.example/);
    assert.match(text.detail, /Deployment \u2068shop\/checkout-api\u2069/);
    assert.match(text.detail, /\u2068api\u2069: cpu request 500m → 87m/);
    assert.match(text.detail, /−\$30\.15\/month/);
    assert.match(text.detail, /expires in 10 min/);
    assert.equal(approvalText(plan, plan.requestedBy, ['*staging*']).typeToConfirm, null);
  });

  it('says which pods the rollout restarts and per pod versus total amounts', () => {
    const mi = 1024 * 1024;
    const memory = { container: 'web', allocation: 'requests' as const, resource: 'memory' as const, from: '512Mi', to: '454Mi', fromAmount: 512 * mi, toAmount: 454 * mi };
    const plan: Plan = {
      id: 'plan-2', digest: 'b'.repeat(64), kind: 'apply', ...base, createdAt: new Date(0).toISOString(), expiresAt: new Date(600_000).toISOString(),
      requestedBy: { type: 'model', via: 'claude-code' },
      objects: [
        object({ name: 'frontend', changes: [memory], pods: 4, podsSource: 'spec.replicas' }),
        object({ kind: 'CronJob', name: 'nightly', changes: [memory], pods: null, podsSource: 'not estimated: runs on a schedule' }),
      ],
      blocked: [], warnings: [],
      totals: { objects: 2, containers: 2, changes: 2, cpuRequestDelta: 0, memoryRequestDelta: -232 * mi, cpuLimitDelta: 0, memoryLimitDelta: 0, monthlyCostDelta: -1, blocked: 0 },
      risk: 'low', riskReasons: [], staged: false,
    };
    // Names are isolated (FSI…PDI, core/text.nameText); the words around them are what this test checks.
    const detail = withoutIsolates(approvalText(plan, plan.requestedBy, [], new Date(0)).detail);
    assert.match(detail, /Deployment shop\/frontend — the rollout restarts its 4 pods \(spec\.replicas\):/);
    assert.match(detail, /web: memory request 512Mi → 454Mi \(−58Mi per pod × 4 pods = −232Mi\)/);
    assert.match(detail, /CronJob shop\/nightly — applies from its next run \(no running pod is restarted\):/);
    assert.match(detail, /Rolling out restarts 4 pods in total/);
    assert.match(detail, /Total requests over all pods: CPU ±0, memory −232Mi/);
  });
});

describe('plan: the proposed manifest keeps the live key order', () => {
  it('changes only the changed lines (limits listed before requests stay so)', () => {
    const live = deployment({ limits: { memory: '1Gi', cpu: '1' }, requests: { memory: '512Mi', cpu: '500m' } });
    const patch = buildObjectPatch(live, identity, want({ memory: '347Mi' }));
    const resources = (patch.proposed.spec as { template: { spec: { containers: Array<{ resources: Record<string, Record<string, string>> }> } } }).template.spec.containers[1]?.resources;
    assert.deepEqual(Object.keys(resources ?? {}), ['limits', 'requests']);
    assert.deepEqual(Object.keys(resources?.requests ?? {}), ['memory', 'cpu']);
  });
});
