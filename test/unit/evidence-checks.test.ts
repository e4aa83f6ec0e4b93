// Issue 25 part 3: the memory check against recorded usage (krr.policy.memoryBelowPeak), the CPU-limit removal note,
// and the evidence summary the plan stores (what the approval shows, inside the digest).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { evidenceFindings } from '../../src/core/evidence/checks';
import type { ContainerEvidence, EvidenceResult } from '../../src/core/evidence/model';
import { changedContainerLine, evidenceOfChanged, summariesByWorkload, summarizeEvidence, type EvidenceSummary, type RecordedEvidence } from '../../src/core/evidence/planEvidence';
import type { FieldChange } from '../../src/core/plan/model';
import { evaluatePolicies, isBlocked, type PolicySubject } from '../../src/core/policy';
import { gateRules, gateValue } from '../../src/core/session/settingsScope';
import { parseSessionSettings } from '../../src/core/settings';

const Mi = 2 ** 20;
const policy = parseSessionSettings({}).policy;

function recorded(partial: Partial<RecordedEvidence> = {}): RecordedEvidence {
  return {
    container: 'api',
    status: 'recorded',
    windowStart: '2026-11-22T12:00:00.000Z',
    windowEnd: '2026-12-06T12:00:00.000Z',
    memoryPeak: 310 * Mi,
    memoryPeakAt: '2026-12-02T09:14:00.000Z',
    oomKills: 0,
    oomKilledLimit: null,
    restarts: 0,
    cpuP95: 0.212,
    cpuMax: 0.4,
    throttledPercent: null,
    points: 16_128,
    firstSample: '2026-11-22T12:00:00.000Z',
    ...partial,
  };
}

function memory(allocation: FieldChange['allocation'], from: number | null, to: number | null): FieldChange {
  const spell = (value: number | null) => (value === null ? null : `${value / Mi}Mi`);
  return { container: 'api', allocation, resource: 'memory', from: spell(from), to: spell(to), fromAmount: from, toAmount: to };
}

const check = (changes: FieldChange[], evidence: EvidenceSummary[] = [recorded()], mode: 'block' | 'warn' = 'block') => evidenceFindings(changes, evidence, mode);

describe('evidence: memory below the observed peak', () => {
  it('blocks a limit decrease below the peak, with the numbers and the moment', () => {
    const findings = check([memory('limits', 512 * Mi, 256 * Mi)]);
    assert.deepEqual(findings.map((f) => [f.severity, f.rule, f.container]), [['block', 'memory-below-peak', 'api']]);
    assert.match(findings[0]?.message ?? '', /^container api: memory limit 256Mi is below the peak 310Mi seen on 2 Dec 09:14 UTC \(14 days of usage; blocked by krr\.policy\.memoryBelowPeak/);
    // A peak whose step Prometheus did not name is blocked all the same, and no moment is made up for it.
    const unnamed = check([memory('limits', 512 * Mi, 256 * Mi)], [recorded({ memoryPeakAt: null })]);
    assert.match(unnamed[0]?.message ?? '', /^container api: memory limit 256Mi is below the peak 310Mi seen \(14 days of usage; blocked/);
  });

  it('blocks a request decrease below the peak too', () => {
    assert.deepEqual(check([memory('requests', 512 * Mi, 300 * Mi)]).map((f) => [f.severity, f.rule]), [['block', 'memory-below-peak']]);
  });

  it('only warns when the setting is "warn"', () => {
    const findings = check([memory('limits', 512 * Mi, 256 * Mi)], undefined, 'warn');
    assert.deepEqual(findings.map((f) => f.severity), ['warn']);
    assert.match(findings[0]?.message ?? '', /proposed anyway: krr\.policy\.memoryBelowPeak is "warn"/);
  });

  it('never blocks an increase, even one still below the peak (it warns)', () => {
    const findings = check([memory('limits', 200 * Mi, 256 * Mi)]);
    assert.deepEqual(findings.map((f) => [f.severity, f.rule]), [['warn', 'memory-below-peak']]);
    assert.match(findings[0]?.message ?? '', /an increase, so not blocked/);
  });

  it('counts a limit set where there was none as a decrease (no ceiling → one below the peak)', () => {
    assert.deepEqual(check([memory('limits', null, 256 * Mi)]).map((f) => f.severity), ['block']);
    assert.deepEqual(check([memory('requests', null, 256 * Mi)]).map((f) => f.severity), ['warn'], 'a new request does not kill: warned only');
  });

  it('says nothing about a decrease that stays at or above the peak, or about CPU', () => {
    assert.deepEqual(check([memory('limits', 512 * Mi, 347 * Mi)]), []);
    assert.deepEqual(check([memory('requests', 512 * Mi, 310 * Mi)]), [], 'exactly the peak is not below it');
    assert.deepEqual(check([{ container: 'api', allocation: 'requests', resource: 'cpu', from: '500m', to: '100m', fromAmount: 0.5, toAmount: 0.1 }]), []);
  });

  it('finds nothing for a container without evidence, or for another container', () => {
    assert.deepEqual(check([memory('limits', 512 * Mi, 64 * Mi)], [{ container: 'api', status: 'none', reason: 'krr.prometheusUrl is not set' }]), []);
    assert.deepEqual(check([memory('limits', 512 * Mi, 64 * Mi)], [recorded({ container: 'sidecar' })]), []);
    assert.deepEqual(check([memory('limits', 512 * Mi, 64 * Mi)], [recorded({ memoryPeak: null, memoryPeakAt: null })]), [], 'no samples, no peak');
  });
});

describe('evidence: a limit the container was OOM-killed at', () => {
  const killed = recorded({ memoryPeak: 200 * Mi, oomKills: 2, oomKilledLimit: 300 * Mi });

  it('blocks a limit lowered to or below the OOM-killed limit, though above the peak', () => {
    for (const to of [300 * Mi, 280 * Mi]) {
      const findings = check([memory('limits', 512 * Mi, to)], [killed]);
      assert.deepEqual(findings.map((f) => [f.severity, f.rule]), [['block', 'memory-at-oom-limit']], `${to / Mi}Mi`);
      assert.match(findings[0]?.message ?? '', /is at or below 300Mi, a limit the container was OOM-killed at \(2 OOM kills in 14 days;/);
    }
  });

  it('passes a limit above it, and does not apply to requests', () => {
    assert.deepEqual(check([memory('limits', 512 * Mi, 320 * Mi)], [killed]), []);
    assert.deepEqual(check([memory('requests', 512 * Mi, 250 * Mi)], [killed]), []);
  });

  it('warns for an increase that stays at or below it', () => {
    assert.deepEqual(check([memory('limits', 256 * Mi, 300 * Mi)], [killed]).map((f) => [f.severity, f.rule]), [['warn', 'memory-at-oom-limit']]);
  });
});

describe('evidence: removing a CPU limit', () => {
  const removal: FieldChange = { container: 'api', allocation: 'limits', resource: 'cpu', from: '500m', to: null, fromAmount: 0.5, toAmount: null };

  it('notes how much the current limit throttled', () => {
    const findings = check([removal], [recorded({ throttledPercent: 23.4 })]);
    assert.deepEqual(findings.map((f) => [f.severity, f.rule, f.message]), [['info', 'cpu-limit-throttling', 'container api: the current CPU limit 500m throttled 23% of CFS periods in 14 days.']]);
  });

  it('says so when no throttling series was recorded', () => {
    assert.match(check([removal])[0]?.message ?? '', /no throttling was recorded for the current CPU limit 500m/);
  });
});

describe('evidence: through the policy', () => {
  const subject = (partial: Partial<PolicySubject>): PolicySubject => ({
    identity: { namespace: 'shop', kind: 'Deployment', name: 'api' },
    changes: [memory('limits', 512 * Mi, 256 * Mi)],
    resulting: [{ container: 'api', requests: { cpu: 0.1, memory: 128 * Mi }, limits: { cpu: null, memory: 256 * Mi } }],
    hpaUtilizationTargets: [],
    allowLimitRemoval: false,
    ...partial,
  });

  it('blocks the workload by default (the safety invariant "Policies block")', () => {
    assert.equal(policy.memoryBelowPeak, 'block');
    assert.ok(isBlocked(evaluatePolicies(subject({ evidence: [recorded()] }), policy)));
    assert.ok(!isBlocked(evaluatePolicies(subject({}), policy)), 'no evidence: nothing checked');
    assert.ok(!isBlocked(evaluatePolicies(subject({ evidence: [recorded()] }), { ...policy, memoryBelowPeak: 'warn' })));
  });

  it('is a setting a workspace can only make stricter, declared in package.json like the schema', () => {
    assert.equal(parseSessionSettings({ policy: { memoryBelowPeak: 'warn' } }).policy.memoryBelowPeak, 'warn');
    assert.throws(() => parseSessionSettings({ policy: { memoryBelowPeak: 'allow' } }), /krr\.policy\.memoryBelowPeak/);
    const rule = gateRules['policy.memoryBelowPeak'];
    assert.equal(rule, 'strictest-mode');
    assert.equal(gateValue(rule ?? 'user-only', { defaultValue: 'block', workspaceValue: 'warn' }), 'block');
    assert.equal(gateValue(rule ?? 'user-only', { defaultValue: 'block', globalValue: 'warn', workspaceValue: 'block' }), 'block');
    const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, { enum?: string[]; default?: unknown; markdownDescription?: string }> } } };
    const declared = manifest.contributes.configuration.properties['krr.policy.memoryBelowPeak'];
    assert.deepEqual(declared?.enum, ['block', 'warn']);
    assert.equal(declared?.default, 'block');
    assert.ok((declared?.markdownDescription ?? '').length > 40);
  });
});

describe('evidence: the summary a plan stores', () => {
  const evidence: ContainerEvidence = {
    cluster: null,
    namespace: 'shop',
    kind: 'Deployment',
    name: 'checkout-api',
    container: 'api',
    window: { start: '2026-11-22T12:00:00.000Z', end: '2026-12-06T12:00:00.000Z', stepSeconds: 75 },
    pods: ['checkout-api-1'],
    cpu: { p50: 0.1, p95: 0.212, p99: 0.3, max: Number.POSITIVE_INFINITY, throttledPercent: Number.NaN, series: [[1, 0.1]] },
    memory: { max: 310 * Mi, maxAt: '2026-12-02T09:14:00.000Z', series: [[1, 100]] },
    oomKills: 0,
    oomKilledLimit: null,
    restarts: 1,
    coverage: { points: 16_128, first: '2026-11-22T12:00:00.000Z', last: '2026-12-06T12:00:00.000Z' },
  };

  it('keeps the numbers the approval shows, and turns NaN/Inf into null (a JSON round trip must keep the digest)', () => {
    const summary = summarizeEvidence(evidence);
    assert.equal(summary.cpuMax, null);
    assert.equal(summary.throttledPercent, null);
    assert.equal(summary.memoryPeak, 310 * Mi);
    assert.deepEqual(JSON.parse(JSON.stringify(summary)), summary);
    assert.ok(!('series' in summary), 'no series in the plan');
  });

  it('gives each target its summary, or the reason there is none', () => {
    const available: EvidenceResult = { status: 'available', containers: [evidence], readAt: '2026-12-06T12:00:00.000Z', queries: 8 };
    const sidecar = { ...evidence, container: 'sidecar' };
    const found = summariesByWorkload(available, [evidence, sidecar]);
    assert.equal(found.get('shop/Deployment/checkout-api')?.get('api')?.status, 'recorded');
    assert.deepEqual(found.get('shop/Deployment/checkout-api')?.get('sidecar'), { container: 'sidecar', status: 'none', reason: 'Prometheus has no samples of this container in the window' });
    // The report's context as the cluster on one side, null on the other: still the same container of the same plan.
    assert.equal(summariesByWorkload(available, [{ ...evidence, cluster: 'kind-dev' }]).get('shop/Deployment/checkout-api')?.get('api')?.status, 'recorded');
    const unavailable = summariesByWorkload({ status: 'unavailable', reason: 'krr.prometheusUrl is not set' }, [evidence]);
    assert.deepEqual([...(unavailable.get('shop/Deployment/checkout-api')?.values() ?? [])], [{ container: 'api', status: 'none', reason: 'krr.prometheusUrl is not set' }]);
  });

  it('keeps one entry per changed container, in the order of the changes', () => {
    const changes = [memory('limits', 512 * Mi, 347 * Mi), { ...memory('requests', 512 * Mi, 300 * Mi), container: 'sidecar' }, memory('requests', 512 * Mi, 330 * Mi)];
    const out = evidenceOfChanged(changes, new Map([['api', recorded()]]));
    assert.deepEqual(out.map((entry) => [entry.container, entry.status]), [['api', 'recorded'], ['sidecar', 'none']]);
  });

  it('words the evidence line as the issue does', () => {
    assert.equal(changedContainerLine(recorded(), [memory('limits', 512 * Mi, 347 * Mi)]), 'memory peak 310Mi on 2 Dec 09:14 UTC · new limit 347Mi = 12% above it · 0 OOM kills in 14 days · CPU p95 212m');
    const killed = recorded({ oomKills: 1, oomKilledLimit: 256 * Mi, throttledPercent: 0.42, restarts: 3, firstSample: '2026-12-04T00:00:00.000Z', points: 2_300 });
    assert.equal(
      changedContainerLine(killed, [memory('requests', 512 * Mi, 300 * Mi)]),
      'memory peak 310Mi on 2 Dec 09:14 UTC · new request 300Mi = 3% below it · 1 OOM kill (at a limit of 256Mi) in 14 days · CPU p95 212m · throttled 0.4% of CFS periods · 3 restarts · data only since 4 Dec 00:00 UTC (2300 samples)',
    );
    assert.equal(changedContainerLine(recorded({ memoryPeakAt: null }), [memory('limits', 512 * Mi, 347 * Mi)]), 'memory peak 310Mi · new limit 347Mi = 12% above it · 0 OOM kills in 14 days · CPU p95 212m', 'no moment where Prometheus named none');
    assert.equal(changedContainerLine({ container: 'api', status: 'none', reason: 'Prometheus at https://prom.example refused the credentials (401)' }, []), 'no usage evidence (Prometheus at https://prom.example refused the credentials (401))');
  });
});
