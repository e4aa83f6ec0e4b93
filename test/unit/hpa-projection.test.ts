// Issue 26 part 3: HPA-aware plans. The projection follows the HorizontalPodAutoscaler's published algorithm (Kubernetes
// docs, "Horizontal Pod Autoscaling", algorithm details): desired = ceil(current × currentMetric / desiredMetric), no
// change within the 10% tolerance, several metrics → the largest proposal, then min/max. The policy (krr.policy.hpa
// "model") blocks a projection that raises the total cost or reaches maxReplicas, or that cannot be made; otherwise the
// change goes through with the projection in the plan, its digest, the state directory and the approval dialog.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { approvalText } from '../../src/core/approval';
import type { EvidenceSummary, RecordedEvidence } from '../../src/core/evidence/planEvidence';
import { manifestApprovalText } from '../../src/core/gitops/approval';
import type { ManifestPlan, ManifestWorkload } from '../../src/core/gitops/model';
import { manifestPlanDigest } from '../../src/core/gitops/propose';
import { liveHpasByTarget, reportHpaState } from '../../src/core/hpa/object';
import { describeProjection, hpaTolerance, projectHpa, projectReplicas, proposeReplicas, utilizationPercent, type HpaProjection, type HpaState, type PodContainer } from '../../src/core/hpa/projection';
import type { KubeObject } from '../../src/core/kube/object';
import { planDigest } from '../../src/core/plan/digest';
import type { FieldChange, ObjectChange, Plan } from '../../src/core/plan/model';
import { evaluatePolicies, isBlocked, type PolicySubject } from '../../src/core/policy';
import { predictPolicyBlocks } from '../../src/core/reportCheck';
import { gateRules, gateValue } from '../../src/core/session/settingsScope';
import { StateStore } from '../../src/core/session/store';
import { parseSessionSettings } from '../../src/core/settings';
import { withoutIsolates } from '../../src/core/text';
import { approvalForm } from '../../src/mcp/elicitationApprover';

const Mi = 2 ** 20;
const Gi = 2 ** 30;
const settings = parseSessionSettings({});
const prices = settings.prices;
const now = new Date('2026-12-06T12:00:00.000Z');

/** The monthly cost of one pod's requests, written out from krr.prices' defaults (730 hours a month). */
const podMonth = (cpu: number, memory: number) => (cpu * 0.0316 + (memory / Gi) * 0.00424) * 730;
const cents = (value: number) => Math.round(value * 100) / 100;

function recorded(container: string, cpuP50: number, cpuP95: number, memoryPeak: number): RecordedEvidence {
  return {
    container, status: 'recorded', windowStart: '2026-11-22T12:00:00.000Z', windowEnd: '2026-12-06T12:00:00.000Z', memoryPeak, memoryPeakAt: '2026-12-02T09:14:00.000Z',
    oomKills: 0, oomKilledLimit: null, restarts: 0, cpuP50, cpuP95, cpuMax: cpuP95, throttledPercent: null, points: 16_128, firstSample: '2026-11-22T12:00:00.000Z',
  };
}

const hpa = (partial: Partial<HpaState> = {}): HpaState => ({ minReplicas: 2, maxReplicas: 10, currentReplicas: 4, targets: { cpu: 60 }, source: 'live HPA', ...partial });
const container = (name: string, before: [number, number], after: [number, number] = before): PodContainer => ({ container: name, before: { cpu: before[0], memory: before[1] }, after: { cpu: after[0], memory: after[1] } });

describe('the HPA algorithm (Kubernetes docs, algorithm details)', () => {
  it('scales by the ratio of current to desired metric, rounded up: the docs\' 200m/100m doubles, 50m/100m halves', () => {
    assert.equal(proposeReplicas(4, 200, 100), 8);
    assert.equal(proposeReplicas(4, 50, 100), 2);
    // ceil(4 × 80 / 60) = ceil(5.33) = 6: the worked example in docs/ARCHITECTURE.md.
    assert.equal(proposeReplicas(4, 80, 60), 6);
  });

  it('keeps the count within the 10% tolerance above the target, and scales just past it', () => {
    assert.equal(hpaTolerance, 0.1);
    // Without the tolerance 61/60 would be ceil(10.17) = 11.
    assert.equal(proposeReplicas(10, 61, 60), 10);
    assert.equal(proposeReplicas(10, 65, 60), 10, 'ratio 1.083');
    assert.equal(proposeReplicas(10, 67, 60), 12, 'ratio 1.117: ceil(11.17)');
  });

  it('keeps the count within the 10% tolerance below the target, and scales just past it', () => {
    // Without the tolerance 46/50 would be ceil(18.4) = 19.
    assert.equal(proposeReplicas(20, 46, 50), 20, 'ratio 0.92');
    assert.equal(proposeReplicas(20, 45, 50), 20, 'ratio 0.9 exactly is within');
    assert.equal(proposeReplicas(20, 44, 50), 18, 'ratio 0.88: ceil(17.6)');
  });

  it('clamps to maxReplicas and minReplicas, and says which bound held it', () => {
    const state = { minReplicas: 2, maxReplicas: 10, currentReplicas: 4 };
    assert.deepEqual(projectReplicas(state, [{ utilizationPercent: 200, targetPercent: 50 }]), { replicas: 10, proposed: 16, clampedTo: 'max' });
    assert.deepEqual(projectReplicas(state, [{ utilizationPercent: 5, targetPercent: 50 }]), { replicas: 2, proposed: 1, clampedTo: 'min' });
    assert.deepEqual(projectReplicas(state, [{ utilizationPercent: 80, targetPercent: 60 }]), { replicas: 6, proposed: 6, clampedTo: null });
  });

  it('scales an idle workload to minReplicas', () => {
    assert.deepEqual(projectReplicas({ minReplicas: 3, maxReplicas: 10, currentReplicas: 8 }, [{ utilizationPercent: 0, targetPercent: 70 }]), { replicas: 3, proposed: 0, clampedTo: 'min' });
  });

  it('with several metrics, the largest proposal wins', () => {
    const state = { minReplicas: 1, maxReplicas: 20, currentReplicas: 4 };
    // CPU: ceil(4 × 90/60) = 6; memory: ceil(4 × 40/80) = 2.
    assert.equal(projectReplicas(state, [{ utilizationPercent: 90, targetPercent: 60 }, { utilizationPercent: 40, targetPercent: 80 }]).replicas, 6);
    assert.equal(projectReplicas(state, [{ utilizationPercent: 40, targetPercent: 80 }, { utilizationPercent: 90, targetPercent: 60 }]).replicas, 6, 'in either order');
  });

  it('measures utilization in whole percent of the request, as the controller does', () => {
    assert.equal(utilizationPercent('cpu', 0.24, 0.3), 80, '240m of 300m, not 79.99…');
    assert.equal(utilizationPercent('cpu', 0.1, 0.3), 33, 'truncated');
    assert.equal(utilizationPercent('memory', 300 * Mi, 400 * Mi), 75);
  });
});

describe('projecting the HPA from the evidence', () => {
  // The worked example of docs/ARCHITECTURE.md: 4 replicas, CPU target 60%, 240m per pod (p50), 270m at peak (p95),
  // request 500m → 300m, memory request 256Mi unchanged.
  const pod = [container('web', [0.5, 256 * Mi], [0.3, 256 * Mi])];
  const evidence = new Map([['web', recorded('web', 0.24, 0.27, 200 * Mi)]]);

  it('works the example: 48% → 80% of the request, 4 → 6 replicas, and the total cost before and after', () => {
    const projection = projectHpa(hpa(), pod, evidence, prices);
    assert.equal(projection.status, 'projected');
    if (projection.status !== 'projected') return;
    assert.deepEqual(projection.typical.metrics.map((m) => [m.resource, m.utilizationBefore, m.utilizationAfter]), [['cpu', 48, 80]]);
    assert.equal(projection.typical.replicasBefore, 4, '48/60 = 0.8: ceil(3.2) = 4');
    assert.equal(projection.typical.replicasAfter.replicas, 6);
    // Peak: 270m is 54% of 500m (ratio 0.9, within the tolerance) and 90% of 300m: ceil(4 × 1.5) = 6.
    assert.deepEqual(projection.peak.metrics.map((m) => [m.utilizationBefore, m.utilizationAfter]), [[54, 90]]);
    assert.equal(projection.peak.replicasBefore, 4);
    assert.equal(projection.peak.replicasAfter.replicas, 6);
    assert.equal(projection.monthlyCostBefore, cents(podMonth(0.5, 256 * Mi) * 4));
    assert.equal(projection.monthlyCostAfter, cents(podMonth(0.3, 256 * Mi) * 6));
    assert.ok(projection.monthlyCostAfter < projection.monthlyCostBefore, `${projection.monthlyCostBefore} → ${projection.monthlyCostAfter}`);
    assert.equal(
      describeProjection(projection),
      `HPA (live HPA, 2–10 replicas, now 4): typical (CPU p50) cpu 240m of 500m → 300m = 48% → 80% (target 60%): 4 → 6 replicas; peak (CPU p95) cpu 270m of 500m → 300m = 54% → 90% (target 60%): 4 → 6 replicas; requests × replicas $49.23/month → $46.17/month (net −$3.06/month)`,
    );
  });

  it('sums usage and requests over all the pod\'s containers, changed or not', () => {
    // web 240m of 500m → 300m, sidecar 60m of 100m unchanged: 300m of 600m = 50% → 300m of 400m = 75%.
    const withSidecar = [...pod, container('sidecar', [0.1, 64 * Mi])];
    const both = new Map([...evidence, ['sidecar', recorded('sidecar', 0.06, 0.06, 50 * Mi)]]);
    const projection = projectHpa(hpa(), withSidecar, both, prices);
    assert.equal(projection.status, 'projected');
    if (projection.status !== 'projected') return;
    assert.deepEqual(projection.typical.metrics.map((m) => [m.usage, m.requestBefore, m.requestAfter, m.utilizationBefore, m.utilizationAfter]), [[0.3, 0.6, 0.4, 50, 75]]);
    // 50/60 = 0.83 → ceil(3.33) = 4; 75/60 = 1.25 → 5.
    assert.deepEqual([projection.typical.replicasBefore, projection.typical.replicasAfter.replicas], [4, 5]);
    assert.equal(projection.monthlyCostAfter, cents((podMonth(0.3, 256 * Mi) + podMonth(0.1, 64 * Mi)) * 5));
  });

  it('projects a memory target from the recorded memory peak', () => {
    // 300Mi of 512Mi → 400Mi = 58% → 75% against a 60% target: ceil(4 × 75/60) = 5.
    const memoryPod = [container('web', [0.5, 512 * Mi], [0.5, 400 * Mi])];
    const projection = projectHpa(hpa({ targets: { memory: 60 } }), memoryPod, new Map([['web', recorded('web', 0.1, 0.1, 300 * Mi)]]), prices);
    assert.equal(projection.status, 'projected');
    if (projection.status !== 'projected') return;
    assert.deepEqual(projection.typical.metrics.map((m) => [m.resource, m.utilizationBefore, m.utilizationAfter]), [['memory', 58, 75]]);
    assert.equal(projection.typical.statistic, 'memory peak');
    assert.deepEqual([projection.typical.replicasBefore, projection.typical.replicasAfter.replicas], [4, 5]);
  });

  it('with CPU and memory targets, the busier metric sets the replicas', () => {
    // CPU 240m of 300m = 80% (target 60%) → 6; memory 100Mi of 256Mi = 39% (target 80%) → ceil(1.95) = 2.
    const projection = projectHpa(hpa({ targets: { cpu: 60, memory: 80 } }), pod, new Map([['web', recorded('web', 0.24, 0.24, 100 * Mi)]]), prices);
    assert.ok(projection.status === 'projected');
    assert.equal(projection.typical.replicasAfter.replicas, 6);
    assert.equal(projection.typical.statistic, 'CPU p50, memory peak');
  });

  it('cannot project without usage evidence, and says why', () => {
    const unconfigured = new Map<string, EvidenceSummary>([['web', { container: 'web', status: 'none', reason: 'krr.prometheusUrl is not set' }]]);
    assert.deepEqual(projectHpa(hpa(), pod, unconfigured, prices), { status: 'unmodelled', reason: 'no usage evidence to model the HPA (krr.prometheusUrl is not set)' });
    assert.equal(projectHpa(hpa(), pod, undefined, prices).status, 'unmodelled');
    assert.match((projectHpa(hpa(), pod, new Map(), prices) as { reason: string }).reason, /^no usage evidence to model the HPA \(container web/);
    const olderSummary = { ...recorded('web', 0.24, 0.27, 200 * Mi) };
    delete olderSummary.cpuP50;
    assert.match((projectHpa(hpa(), pod, new Map([['web', olderSummary]]), prices) as { reason: string }).reason, /no CPU p50 in the evidence/);
  });

  it('cannot project when a container has no request for the resource (the HPA cannot compute its utilization either)', () => {
    const unset: PodContainer = { container: 'web', before: { cpu: null, memory: 256 * Mi }, after: { cpu: 0.3, memory: 256 * Mi } };
    assert.match((projectHpa(hpa(), [unset], evidence, prices) as { reason: string }).reason, /container web has no cpu request now/);
    assert.match((projectHpa(hpa({ currentReplicas: 0 }), pod, evidence, prices) as { reason: string }).reason, /no current replicas/);
  });
});

describe('the live HPA and the report\'s', () => {
  const object = (spec: Record<string, unknown>, status: Record<string, unknown> = { currentReplicas: 4 }): KubeObject => ({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace: 'shop', resourceVersion: '1' }, spec, status });

  it('reads autoscaling/v2 utilization targets, bounds and the current count', () => {
    const read = liveHpasByTarget([
      object({ scaleTargetRef: { kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 10, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }, { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '500Mi' } } }] }),
    ]).get('Deployment/web');
    assert.deepEqual(read, { target: 'Deployment/web', resources: ['cpu'], state: { minReplicas: 2, maxReplicas: 10, currentReplicas: 4, targets: { cpu: 60 }, source: 'live HPA' } });
  });

  it('reads v1\'s targetCPUUtilizationPercentage and defaults minReplicas to 1; without a current count it gives no state', () => {
    const v1 = liveHpasByTarget([object({ scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 5, targetCPUUtilizationPercentage: 70 })]).get('Deployment/web');
    assert.deepEqual(v1?.state, { minReplicas: 1, maxReplicas: 5, currentReplicas: 4, targets: { cpu: 70 }, source: 'live HPA' });
    const fresh = liveHpasByTarget([object({ scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 5, targetCPUUtilizationPercentage: 70 }, {})]).get('Deployment/web');
    assert.deepEqual(fresh?.resources, ['cpu'], 'still known to scale on CPU');
    assert.equal(fresh?.state, null);
  });

  it('takes the report\'s HPA as krr wrote it', () => {
    assert.deepEqual(reportHpaState({ minReplicas: null, maxReplicas: 10, currentReplicas: 4, desiredReplicas: 4, targetCpuUtilizationPercentage: 70, targetMemoryUtilizationPercentage: null }), { minReplicas: 1, maxReplicas: 10, currentReplicas: 4, targets: { cpu: 70 }, source: 'report' });
    assert.equal(reportHpaState({ minReplicas: 2, maxReplicas: 10, currentReplicas: null, desiredReplicas: null, targetCpuUtilizationPercentage: 70, targetMemoryUtilizationPercentage: null }), null);
  });
});

describe('krr.policy.hpa', () => {
  const cpuCut: FieldChange = { container: 'web', allocation: 'requests', resource: 'cpu', from: '500m', to: '300m', fromAmount: 0.5, toAmount: 0.3 };
  const subject = (partial: Partial<PolicySubject> = {}): PolicySubject => ({
    identity: { namespace: 'shop', kind: 'Deployment', name: 'web' },
    changes: [cpuCut],
    resulting: [{ container: 'web', requests: { cpu: 0.3, memory: 256 * Mi }, limits: { cpu: null, memory: null } }],
    hpaUtilizationTargets: ['cpu'],
    allowLimitRemoval: false,
    ...partial,
  });
  const pod = [container('web', [0.5, 256 * Mi], [0.3, 256 * Mi])];
  const evidence = new Map([['web', recorded('web', 0.24, 0.27, 200 * Mi)]]);
  const blocks = (s: PolicySubject, mode: 'block' | 'model' = 'model') => evaluatePolicies(s, { ...settings.policy, hpa: mode }).filter((finding) => finding.severity === 'block');

  it('defaults to "model"; "block" blocks every request change the HPA scales on, as before', () => {
    assert.equal(settings.policy.hpa, 'model');
    assert.deepEqual(blocks(subject(), 'block').map((finding) => finding.rule), ['hpa-target']);
    assert.deepEqual(blocks(subject({ hpaUtilizationTargets: ['memory'] }), 'block'), [], 'a CPU change is fine when the HPA scales on memory');
  });

  it('"model": a projection that lowers the cost and stays below maxReplicas goes through, with the projection', () => {
    const findings = evaluatePolicies(subject({ hpa: projectHpa(hpa(), pod, evidence, prices) }), settings.policy);
    assert.ok(!isBlocked(findings), JSON.stringify(findings));
    const note = findings.find((finding) => finding.rule === 'hpa-projection');
    assert.equal(note?.severity, 'info');
    assert.match(note?.message ?? '', /typical \(CPU p50\) cpu 240m of 500m → 300m = 48% → 80% \(target 60%\): 4 → 6 replicas; .*\$49\.23\/month → \$46\.17\/month/);
  });

  it('"model": a projection that raises the total cost is blocked with both costs', () => {
    // A memory-heavy pod (4Gi): 500m → 400m saves less per pod than the fifth replica costs. 300m: 60% → 75%, 4 → 5.
    const heavy = [container('web', [0.5, 4 * Gi], [0.4, 4 * Gi])];
    const projection = projectHpa(hpa(), heavy, new Map([['web', recorded('web', 0.3, 0.3, 3 * Gi)]]), prices);
    assert.ok(projection.status === 'projected');
    assert.equal(projection.monthlyCostBefore, cents(podMonth(0.5, 4 * Gi) * 4));
    assert.equal(projection.monthlyCostAfter, cents(podMonth(0.4, 4 * Gi) * 5));
    const found = blocks(subject({ changes: [{ ...cpuCut, to: '400m', toAmount: 0.4 }], hpa: projection }));
    assert.deepEqual(found.map((finding) => finding.rule), ['hpa-cost']);
    assert.match(found[0]?.message ?? '', /raises the total cost from \$95\.66\/month to \$108\.04\/month/);
  });

  it('"model": a projection that reaches maxReplicas at peak is blocked', () => {
    // The worked example with maxReplicas 6: at peak the HPA wants 6.
    const found = blocks(subject({ hpa: projectHpa(hpa({ maxReplicas: 6 }), pod, evidence, prices) }));
    assert.deepEqual(found.map((finding) => finding.rule), ['hpa-max']);
    assert.match(found[0]?.message ?? '', /at peak load the HPA would need 6 replicas, reaching maxReplicas 6/);
  });

  it('"model" without usage evidence: blocked with the reason', () => {
    const unconfigured = new Map<string, EvidenceSummary>([['web', { container: 'web', status: 'none', reason: 'krr.prometheusUrl is not set' }]]);
    const found = blocks(subject({ hpa: projectHpa(hpa(), pod, unconfigured, prices) }));
    assert.deepEqual(found.map((finding) => finding.rule), ['hpa-unmodelled']);
    assert.match(found[0]?.message ?? '', /no usage evidence to model the HPA \(krr\.prometheusUrl is not set\)/);
    assert.deepEqual(blocks(subject()).map((finding) => finding.rule), ['hpa-unmodelled'], 'no projection at all is no licence');
  });

  it('leaves limits and resources the HPA does not scale on alone', () => {
    assert.deepEqual(blocks(subject({ changes: [{ ...cpuCut, allocation: 'limits' }] })), []);
    assert.deepEqual(blocks(subject({ hpaUtilizationTargets: ['memory'] })), []);
  });

  it('the Preview prediction does not claim a block the evidence decides', () => {
    const workload = {
      key: '/shop/Deployment/web', cluster: null, namespace: 'shop', kind: 'Deployment' as const, name: 'web', labels: {}, severity: 'WARNING' as const,
      hpa: { minReplicas: 2, maxReplicas: 10, currentReplicas: 4, desiredReplicas: 4, targetCpuUtilizationPercentage: 60, targetMemoryUtilizationPercentage: null },
      containers: [{
        container: 'web', current: { requests: { cpu: 0.5, memory: 256 * Mi }, limits: { cpu: null, memory: null } },
        recommended: { requests: { cpu: { kind: 'value' as const, amount: 0.3 }, memory: { kind: 'unknown' as const } }, limits: { cpu: { kind: 'unknown' as const }, memory: { kind: 'unknown' as const } } },
        severities: { requests: { cpu: 'WARNING' as const, memory: 'GOOD' as const }, limits: { cpu: 'GOOD' as const, memory: 'GOOD' as const } }, severity: 'WARNING' as const,
        info: { cpu: null, memory: null }, warnings: [], pods: { running: 4, deleted: 0 },
      }],
    };
    assert.deepEqual(predictPolicyBlocks(workload, settings.policy, { includeLimits: false }), []);
    assert.deepEqual(predictPolicyBlocks(workload, { ...settings.policy, hpa: 'block' }, { includeLimits: false }).map((block) => [block.rule, block.setting]), [['hpa-target', 'krr.policy.hpa']]);
  });

  it('is a setting a workspace can only make stricter, declared in package.json', () => {
    assert.equal(parseSessionSettings({ policy: { hpa: 'block' } }).policy.hpa, 'block');
    assert.throws(() => parseSessionSettings({ policy: { hpa: 'warn' } }), /krr\.policy\.hpa/);
    const rule = gateRules['policy.hpa'];
    assert.equal(rule, 'strictest-mode');
    assert.equal(gateValue('strictest-mode', { defaultValue: 'model', globalValue: 'model', workspaceValue: 'block' }), 'block');
    assert.equal(gateValue('strictest-mode', { defaultValue: 'model', globalValue: 'block', workspaceValue: 'model' }), 'block');
    const manifest = JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, { default?: unknown; enum?: unknown[]; markdownDescription?: string }> } } };
    const declared = manifest.contributes.configuration.properties['krr.policy.hpa'];
    assert.equal(declared?.default, 'model');
    assert.deepEqual(declared?.enum, ['block', 'model']);
    assert.match(declared?.markdownDescription ?? '', /maxReplicas/);
  });
});

describe('the projection in the plan', () => {
  const projection = projectHpa(hpa(), [container('web', [0.5, 256 * Mi], [0.3, 256 * Mi])], new Map([['web', recorded('web', 0.24, 0.27, 200 * Mi)]]), prices) as HpaProjection;
  const object = (withHpa?: HpaProjection): ObjectChange => ({
    namespace: 'shop', kind: 'Deployment', name: 'web', apiVersion: 'apps/v1', uid: 'u-1', resourceVersion: '42', generation: 3,
    changes: [{ container: 'web', allocation: 'requests', resource: 'cpu', from: '500m', to: '300m', fromAmount: 0.5, toAmount: 0.3 }],
    ops: [{ op: 'replace', path: '/x', value: '300m' }], liveManifest: '', proposedManifest: '', pods: 4, podsSource: 'HPA current replicas',
    monthlyCostDelta: -18.45, findings: [], stage: 1, ...(withHpa ? { hpa: withHpa } : {}),
  });
  const plan = (objects: ObjectChange[]): Plan => {
    const base = { context: 'staging', server: 'https://k8s.example', staged: false };
    return {
      id: `plan-${randomBytes(6).toString('hex')}`, digest: planDigest({ ...base, objects }), kind: 'apply', ...base, createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + 600_000).toISOString(),
      requestedBy: { type: 'model', via: 'test-client' }, objects, blocked: [], warnings: [],
      totals: { objects: 1, containers: 1, changes: 1, cpuRequestDelta: -0.8, memoryRequestDelta: 0, cpuLimitDelta: 0, memoryLimitDelta: 0, monthlyCostDelta: -18.45, blocked: 0 }, risk: 'low', riskReasons: [], staged: false,
    };
  };

  it('the approval dialog and the MCP form show it under the changes', () => {
    const text = approvalText(plan([object(projection)]), { type: 'model', via: 'test-client' }, [], now);
    const lines = withoutIsolates(text.detail).split('\n');
    const header = lines.findIndex((line) => line.startsWith('Deployment shop/web'));
    assert.equal(lines[header + 2], `   ${describeProjection(projection)}`, text.detail);
    assert.match(withoutIsolates(approvalForm(text).message), /typical \(CPU p50\) cpu 240m of 500m → 300m = 48% → 80% \(target 60%\): 4 → 6 replicas/);
    assert.doesNotMatch(approvalText(plan([object()]), { type: 'human', via: 'test' }, [], now).detail, /HPA \(/);
  });

  it('the digest covers it, and a plan without one keeps its digest', () => {
    const digest = (withHpa?: HpaProjection) => planDigest({ context: 'staging', server: 'https://k8s.example', staged: false, objects: [object(withHpa)] });
    assert.notEqual(digest(projection), digest());
    assert.notEqual(digest({ ...projection, monthlyCostAfter: 1 }), digest(projection), 'another cost');
    assert.notEqual(digest({ ...projection, typical: { ...projection.typical, replicasAfter: { replicas: 5, proposed: 5, clampedTo: null } } }), digest(projection), 'other replicas');
  });

  it('the state directory keeps it exactly: read back, the plan still matches its digest', async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'krr-hpa-'));
    const key = randomBytes(32);
    const logs: string[] = [];
    const store = new StateStore({ stateDir, key: async () => key, limits: { reports: 5, reportBytes: 1e7, plans: 5, planBytes: 1e7, reportTtlMs: 3_600_000 }, now: () => now, log: (line) => logs.push(line) });
    try {
      const stored = plan([object(projection)]);
      assert.equal(await store.savePlan(stored), true);
      const read = await store.readPlan(stored.id);
      assert.ok(read, `read back (log: ${logs.join(' | ')})`);
      assert.deepEqual(read.objects[0]?.hpa, projection);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('a manifest plan shows it under the rendered values, and its digest covers it', () => {
    const workload = (withHpa?: HpaProjection): ManifestWorkload => ({
      namespace: 'shop', kind: 'Deployment', name: 'web', source: { finder: 'manifest', label: 'ws/apps/web.yaml', folder: 'ws', guess: false },
      files: [{ folder: 'ws', path: 'apps/web.yaml', edits: [{ line: 20, field: 'spec.template.spec.containers[web].resources.requests.cpu', from: '500m', to: '300m' }] }],
      changes: [{ container: 'web', allocation: 'requests', resource: 'cpu', from: '500m', to: '300m', fromAmount: 0.5, toAmount: 0.3 }], notes: [], ...(withHpa ? { hpa: withHpa } : {}),
    });
    const manifestPlan = (withHpa?: HpaProjection): ManifestPlan => ({
      id: 'plan-0123456789ab', digest: 'd'.repeat(64), target: 'manifests', context: null, createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + 600_000).toISOString(),
      requestedBy: { type: 'model', via: 'test' }, folders: [{ name: 'ws', root: '/w' }], unresolved: [], warnings: [], workloads: [workload(withHpa)],
      files: [{ folder: 'ws', folderRoot: '/w', path: 'apps/web.yaml', beforeHash: 'b'.repeat(64), before: null, after: '', afterHash: 'a'.repeat(64), edits: workload().files[0]?.edits ?? [] }],
    });
    const lines = withoutIsolates(manifestApprovalText(manifestPlan(projection), { type: 'human', via: 'test' }, now).detail).split('\n');
    const at = lines.indexOf('   web requests.cpu 500m → 300m (rendered)');
    assert.ok(at > 0, lines.join('\n'));
    assert.equal(lines[at + 1], `   ${describeProjection(projection)}`);
    assert.notEqual(manifestPlanDigest(manifestPlan(projection)), manifestPlanDigest(manifestPlan()));
    assert.notEqual(manifestPlanDigest(manifestPlan({ ...projection, monthlyCostBefore: 1 })), manifestPlanDigest(manifestPlan(projection)));
  });
});
