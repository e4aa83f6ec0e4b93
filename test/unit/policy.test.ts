import assert from 'node:assert/strict';
import { assessRisk, evaluatePolicies, isBlocked, type PolicySubject } from '../../src/core/policy';
import type { FieldChange } from '../../src/core/plan/model';
import { parseSessionSettings } from '../../src/core/settings';

const policy = parseSessionSettings({}).policy;
const Mi = 2 ** 20;

function change(partial: Partial<FieldChange>): FieldChange {
  return { container: 'app', allocation: 'requests', resource: 'cpu', from: '500m', to: '250m', fromAmount: 0.5, toAmount: 0.25, ...partial };
}

function subject(partial: Partial<PolicySubject> = {}): PolicySubject {
  return {
    identity: { namespace: 'shop', kind: 'Deployment', name: 'web' },
    changes: [change({})],
    resulting: [{ container: 'app', requests: { cpu: 0.25, memory: 256 * Mi }, limits: { cpu: 1, memory: 512 * Mi } }],
    hpaUtilizationTargets: [],
    allowLimitRemoval: false,
    ...partial,
  };
}

const rules = (s: PolicySubject) => evaluatePolicies(s, policy).filter((f) => f.severity === 'block').map((f) => f.rule);

describe('policy', () => {
  it('passes an ordinary change', () => {
    assert.deepEqual(rules(subject()), []);
    assert.ok(!isBlocked(evaluatePolicies(subject(), policy)));
  });

  it('blocks protected namespaces', () => {
    assert.deepEqual(rules(subject({ identity: { namespace: 'kube-system', kind: 'Deployment', name: 'coredns' } })), ['protected-namespace']);
  });

  it('blocks Jobs (immutable pod template)', () => {
    assert.ok(rules(subject({ identity: { namespace: 'batch', kind: 'Job', name: 'migrate' } })).includes('job-immutable'));
  });

  it('blocks increases above the maximum percentage', () => {
    assert.deepEqual(rules(subject({ changes: [change({ from: '100m', to: '700m', fromAmount: 0.1, toAmount: 0.7 })] })), ['max-increase']);
    assert.deepEqual(rules(subject({ changes: [change({ from: '100m', to: '600m', fromAmount: 0.1, toAmount: 0.6 })] })), [], 'exactly +500% is allowed');
  });

  it('blocks decreases beyond the maximum percentage', () => {
    assert.deepEqual(rules(subject({ changes: [change({ from: '1', to: '100m', fromAmount: 1, toAmount: 0.1 })] })), ['max-decrease']);
  });

  it('blocks values below the minimums', () => {
    assert.deepEqual(rules(subject({ changes: [change({ from: '20m', to: '5m', fromAmount: 0.02, toAmount: 0.005 })] })), ['minimum']);
    assert.deepEqual(rules(subject({ changes: [change({ resource: 'memory', from: '64Mi', to: '16Mi', fromAmount: 64 * Mi, toAmount: 16 * Mi })] })), ['minimum']);
  });

  it('blocks a request above its limit after the change', () => {
    const resulting = [{ container: 'app', requests: { cpu: 2, memory: 256 * Mi }, limits: { cpu: 1, memory: 512 * Mi } }];
    assert.deepEqual(rules(subject({ resulting })), ['request-above-limit']);
  });

  it('blocks request changes of a resource an HPA scales on: by rule with krr.policy.hpa "block", without a projection with "model"', () => {
    const blocked = (s: PolicySubject, hpa: 'block' | 'model') => evaluatePolicies(s, { ...policy, hpa }).filter((f) => f.severity === 'block').map((f) => f.rule);
    assert.deepEqual(blocked(subject({ hpaUtilizationTargets: ['cpu'] }), 'block'), ['hpa-target']);
    assert.deepEqual(blocked(subject({ hpaUtilizationTargets: ['memory'] }), 'block'), [], 'a CPU change is fine when the HPA scales on memory');
    // The default models the HPA (test/unit/hpa-projection.test.ts); with no projection at all it blocks.
    assert.deepEqual(rules(subject({ hpaUtilizationTargets: ['cpu'] })), ['hpa-unmodelled']);
    assert.deepEqual(rules(subject({ hpaUtilizationTargets: ['memory'] })), []);
  });

  it('blocks limit removal without the opt-in', () => {
    const removal = change({ allocation: 'limits', from: '1', to: null, fromAmount: 1, toAmount: null });
    assert.deepEqual(rules(subject({ changes: [removal] })), ['limit-removal']);
    assert.deepEqual(rules(subject({ changes: [removal], allowLimitRemoval: true })), []);
  });

  it('warns about production-looking namespaces and critical-looking workloads', () => {
    const findings = evaluatePolicies(subject({ identity: { namespace: 'prod-payments', kind: 'StatefulSet', name: 'postgres' } }), policy);
    assert.deepEqual(findings.filter((f) => f.severity === 'warn').map((f) => f.rule).sort(), ['critical-workload', 'production-namespace']);
  });

  it('rates risk by the size of decreases and the target', () => {
    assert.equal(assessRisk([change({})], []).level, 'medium');
    assert.equal(assessRisk([change({ from: '500m', to: '450m', fromAmount: 0.5, toAmount: 0.45 })], []).level, 'low');
    const memoryCut = change({ resource: 'memory', fromAmount: 1024 * Mi, toAmount: 512 * Mi });
    const findings = [{ severity: 'warn' as const, rule: 'production-namespace', message: '' }, { severity: 'warn' as const, rule: 'critical-workload', message: '' }];
    assert.equal(assessRisk([memoryCut], findings).level, 'critical');
  });
});
