// Issue 25 part 3: the evidence a person approves. The dialog (VS Code and the MCP form) and the manifest dialog show
// one evidence line per changed container, worded from the plan's stored summary, which the digest covers and the
// state directory keeps exactly (a stored plan is only trusted when it still matches its digest).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { approvalText } from '../../src/core/approval';
import { canonicalJson } from '../../src/core/canonicalJson';
import type { EvidenceSummary } from '../../src/core/evidence/planEvidence';
import { manifestApprovalText } from '../../src/core/gitops/approval';
import type { ManifestPlan, ManifestWorkload } from '../../src/core/gitops/model';
import { manifestPlanDigest } from '../../src/core/gitops/propose';
import { planDigest } from '../../src/core/plan/digest';
import type { ObjectChange, Plan } from '../../src/core/plan/model';
import { StateStore } from '../../src/core/session/store';
import { withoutIsolates } from '../../src/core/text';
import { approvalForm } from '../../src/mcp/elicitationApprover';

const Mi = 2 ** 20;
const now = new Date('2026-12-06T12:00:00.000Z');
const recorded: EvidenceSummary = {
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
  throttledPercent: 12.5,
  points: 16_128,
  firstSample: '2026-11-22T12:00:00.000Z',
};
const none: EvidenceSummary = { container: 'worker', status: 'none', reason: 'Prometheus at https://prom.example did not answer within 10 s' };

function object(evidence?: EvidenceSummary[]): ObjectChange {
  return {
    namespace: 'shop', kind: 'Deployment', name: 'checkout-api', apiVersion: 'apps/v1', uid: 'u-1', resourceVersion: '42', generation: 3,
    changes: [
      { container: 'api', allocation: 'limits', resource: 'memory', from: '512Mi', to: '347Mi', fromAmount: 512 * Mi, toAmount: 347 * Mi },
      { container: 'worker', allocation: 'requests', resource: 'cpu', from: '500m', to: '100m', fromAmount: 0.5, toAmount: 0.1 },
    ],
    ops: [{ op: 'replace', path: '/x', value: '347Mi' }], liveManifest: '', proposedManifest: '', pods: 2, podsSource: 'spec.replicas',
    monthlyCostDelta: -3, findings: [], stage: 1, ...(evidence ? { evidence } : {}),
  };
}

function plan(objects: ObjectChange[]): Plan {
  const base = { context: 'staging', server: 'https://k8s.example', staged: false };
  return {
    id: `plan-${randomBytes(6).toString('hex')}`, digest: planDigest({ ...base, objects }), kind: 'apply', ...base,
    createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + 600_000).toISOString(), requestedBy: { type: 'model', via: 'test-client' },
    objects, blocked: [], warnings: [], totals: { objects: 1, containers: 2, changes: 2, cpuRequestDelta: -0.8, memoryRequestDelta: 0, cpuLimitDelta: 0, memoryLimitDelta: -330 * Mi, monthlyCostDelta: -3, blocked: 0 },
    risk: 'medium', riskReasons: [], staged: false,
  };
}

describe('evidence in the approval of a cluster plan', () => {
  it('shows one evidence line per changed container under its changes, and the reason where there is none', () => {
    const detail = withoutIsolates(approvalText(plan([object([recorded, none])]), { type: 'model', via: 'test-client' }, [], now).detail);
    const lines = detail.split('\n');
    const header = lines.findIndex((line) => line.startsWith('Deployment shop/checkout-api'));
    assert.deepEqual(lines.slice(header + 1, header + 5), [
      '   api: memory limit 512Mi → 347Mi (−165Mi per pod × 2 pods = −330Mi)',
      '   worker: cpu request 500m → 100m (−400m per pod × 2 pods = −800m)',
      '   api: memory peak 310Mi on 2 Dec 09:14 UTC · new limit 347Mi = 12% above it · 0 OOM kills in 14 days · CPU p95 212m · throttled 13% of CFS periods',
      '   worker: no usage evidence (Prometheus at https://prom.example did not answer within 10 s)',
    ], detail);
  });

  it('the MCP form carries the same lines (it is worded from the same text)', () => {
    const text = approvalText(plan([object([recorded])]), { type: 'model', via: 'test-client' }, [], now);
    assert.match(withoutIsolates(approvalForm(text).message), /api: memory peak 310Mi on 2 Dec 09:14 UTC · new limit 347Mi = 12% above it/);
  });

  it('no container with evidence, all for one reason: said once, not once per container', () => {
    const unconfigured: EvidenceSummary[] = ['api', 'worker'].map((container) => ({ container, status: 'none', reason: 'no Prometheus URL is configured (krr.prometheusUrl)' }));
    const detail = withoutIsolates(approvalText(plan([object(unconfigured)]), { type: 'human', via: 'test' }, [], now).detail);
    assert.equal(detail.split('\n').filter((line) => line.includes('usage evidence')).length, 1, detail);
    assert.match(detail, /\nNo usage evidence for these changes \(no Prometheus URL is configured \(krr\.prometheusUrl\)\)\.\n/);
  });

  it('a plan without evidence (a rollback, a plan stored before) shows no evidence line', () => {
    assert.doesNotMatch(approvalText(plan([object()]), { type: 'human', via: 'test' }, [], now).detail, /usage evidence|memory peak/);
  });

  it('the digest covers the evidence: other numbers, or none instead of some, are another plan', () => {
    const digest = (evidence?: EvidenceSummary[]) => planDigest({ context: 'staging', server: 'https://k8s.example', staged: false, objects: [object(evidence)] });
    const shown = digest([recorded, none]);
    assert.notEqual(digest([{ ...recorded, memoryPeak: 200 * Mi }, none]), shown, 'another peak');
    assert.notEqual(digest([{ ...recorded, oomKills: 1 }, none]), shown, 'another OOM count');
    assert.notEqual(digest([recorded]), shown, 'a container dropped');
    assert.notEqual(digest(), shown, 'no evidence');
    assert.equal(digest([recorded, none]), shown);
    // A plan stored before evidence existed keeps its digest: the formula it was hashed with, written out.
    const { apiVersion, kind, namespace, name, uid, resourceVersion, stage, ops } = object();
    const before = createHash('sha256').update(canonicalJson({ context: 'staging', server: 'https://k8s.example', staged: false, objects: [{ apiVersion, kind, namespace, name, uid, resourceVersion, stage, ops }] })).digest('hex');
    assert.equal(digest(), before);
  });

  it('the state directory keeps a plan with evidence exactly: read back, it still matches its digest', async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'krr-evidence-'));
    const key = randomBytes(32);
    const logs: string[] = [];
    const store = new StateStore({ stateDir, key: async () => key, limits: { reports: 5, reportBytes: 1e7, plans: 5, planBytes: 1e7, reportTtlMs: 3_600_000 }, now: () => now, log: (line) => logs.push(line) });
    try {
      const stored = plan([object([recorded, none])]);
      assert.equal(await store.savePlan(stored), true);
      const read = await store.readPlan(stored.id);
      assert.ok(read, `read back (log: ${logs.join(' | ')})`);
      assert.deepEqual(read.objects[0]?.evidence, [recorded, none]);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

describe('evidence in the approval of a manifest plan', () => {
  const workload = (evidence?: EvidenceSummary[]): ManifestWorkload => ({
    namespace: 'shop', kind: 'Deployment', name: 'checkout-api',
    source: { finder: 'manifest', label: 'ws/apps/api.yaml', folder: 'ws', guess: false },
    files: [{ folder: 'ws', path: 'apps/api.yaml', edits: [{ line: 20, field: 'spec.template.spec.containers[api].resources.limits.memory', from: '512Mi', to: '347Mi' }] }],
    changes: [{ container: 'api', allocation: 'limits', resource: 'memory', from: '512Mi', to: '347Mi', fromAmount: 512 * Mi, toAmount: 347 * Mi }],
    notes: [],
    ...(evidence ? { evidence } : {}),
  });
  const manifestPlan = (workloads: ManifestWorkload[]): ManifestPlan => ({
    id: 'plan-0123456789ab', digest: 'd'.repeat(64), target: 'manifests', context: null, createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + 600_000).toISOString(),
    requestedBy: { type: 'model', via: 'test' }, folders: [{ name: 'ws', root: '/w' }], unresolved: [], warnings: [], workloads,
    files: [{ folder: 'ws', folderRoot: '/w', path: 'apps/api.yaml', beforeHash: 'b'.repeat(64), before: null, after: '', afterHash: 'a'.repeat(64), edits: workloads[0]?.files[0]?.edits ?? [] }],
  });

  it('shows the line under the rendered values', () => {
    const lines = withoutIsolates(manifestApprovalText(manifestPlan([workload([recorded])]), { type: 'human', via: 'test' }, now).detail).split('\n');
    const at = lines.indexOf('   api limits.memory 512Mi → 347Mi (rendered)');
    assert.ok(at > 0, lines.join('\n'));
    assert.equal(lines[at + 1], '   api: memory peak 310Mi on 2 Dec 09:14 UTC · new limit 347Mi = 12% above it · 0 OOM kills in 14 days · CPU p95 212m · throttled 13% of CFS periods');
  });

  it('its digest covers the evidence, and is unchanged for a workload without it', () => {
    const digest = (evidence?: EvidenceSummary[]) => manifestPlanDigest(manifestPlan([workload(evidence)]));
    assert.notEqual(digest([recorded]), digest([{ ...recorded, memoryPeak: 400 * Mi }]));
    assert.notEqual(digest([recorded]), digest());
    // A plan stored before evidence existed keeps its digest: the formula it was hashed with, written out.
    const old = manifestPlan([workload()]);
    const files = old.files.map((file) => ({ folder: file.folderRoot, path: file.path, beforeHash: file.beforeHash, afterHash: file.afterHash, edits: file.edits }));
    const workloads = old.workloads.map((entry) => ({ namespace: entry.namespace, kind: entry.kind, name: entry.name, source: entry.source, changes: entry.changes.map(({ container, allocation, resource, from, to }) => ({ container, allocation, resource, from, to })) }));
    assert.equal(digest(), createHash('sha256').update(canonicalJson({ target: 'manifests', context: old.context, files, workloads })).digest('hex'));
  });
});
