// Issue 26 part 3 through a cluster proposal (real kubectl, the test API server with its live HPA, a real Prometheus
// with generated usage): krr.policy.hpa "model" projects what shop/frontend's HPA (autoscaling/v2, CPU 70%, 2–10
// replicas, 4 now; test/support/kube-api-server/seed.yaml) does with a new CPU request, lets a change through with the
// projection in the plan, the diff and the dialog, blocks one that raises the total cost, and blocks without evidence.
// The numbers are worked by hand from the "steady" pattern (usage-history/README.md): 125m per pod, binary-exact.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { withoutIsolates } from '../../src/core/text';
import { startPrometheus, type MetricsStore } from '../support/prometheus';
import { human, startSessionFixture, type SessionFixture } from '../support/session-fixture';
import { writeUsageHistory } from '../support/usage-history';

const Mi = 2 ** 20;
const end = new Date('2026-12-01T12:00:00Z');
const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };
// Requests × replicas a month at krr.prices' defaults ($0.0316 a core-hour, $0.00424 a GiB-hour, 730 hours), with the
// memory request 256Mi (0.25 GiB) unchanged.
const month = (cpu: number, replicas: number) => Math.round((cpu * 0.0316 + 0.25 * 0.00424) * 730 * replicas * 100) / 100;

describe('HPA-aware cluster proposals (real kubectl, test API server, a real Prometheus with generated usage)', function () {
  this.timeout(300_000);
  let historyDir: string;
  let prometheus: MetricsStore;
  let f: SessionFixture;
  before(async () => {
    historyDir = mkdtempSync(path.join(tmpdir(), 'krr-hpa-cluster-history-'));
    const file = path.join(historyDir, 'usage.om');
    writeUsageHistory(file, {
      end,
      workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'frontend', pods: 2, containers: [{ name: 'web', pattern: 'steady', cpu: 0.125, memory: 128 * Mi, requests: { cpu: 0.2, memory: 256 * Mi }, limits: { cpu: 0.5, memory: 256 * Mi } }] }],
    });
    prometheus = await startPrometheus({ openMetrics: file });
  });
  after(async () => {
    await prometheus?.close();
    if (historyDir) rmSync(historyDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await f?.close();
  });

  /** The sample report with krr recommending `cpu` cores for frontend's CPU request and leaving memory alone. */
  async function loadReport(cpu: number): Promise<string> {
    const sample = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'sample-report.json'), 'utf8')) as { scans: Array<{ object: { name: string }; recommended: { requests: Record<string, unknown> } }> };
    const scan = sample.scans.find((entry) => entry.object.name === 'frontend');
    assert.ok(scan);
    scan.recommended.requests = { cpu: { value: cpu, severity: 'WARNING' }, memory: { value: '?', severity: 'UNKNOWN' } };
    const file = path.join(f.stateDir, 'sample.json');
    writeFileSync(file, JSON.stringify(sample));
    return (await f.session.loadReport(file, human)).reportId;
  }

  it('200m → 150m: 62% → 83% of the request, 4 → 5 replicas, cheaper in total: proposed with the projection', async () => {
    f = await startSessionFixture({ settings: { prometheusUrl: prometheus.url }, session: { now: () => end, secrets: { prometheusAuthHeader: async () => prometheus.authHeader } } });
    const plan = await f.session.propose({ reportId: await loadReport(0.15), workloads: [frontend] }, human);
    assert.deepEqual(plan.blocked, []);
    const [object] = plan.objects;
    assert.ok(object?.hpa, JSON.stringify(plan.objects));
    const { hpa } = object;
    assert.equal(hpa.source, 'live HPA');
    // 125/200 = 62% (ratio 0.886, outside the tolerance: ceil(3.54) = 4); 125/150 = 83% (ratio 1.186: ceil(4.74) = 5).
    assert.deepEqual(hpa.typical.metrics.map((m) => [m.resource, m.usage, m.utilizationBefore, m.utilizationAfter, m.targetPercent]), [['cpu', 0.125, 62, 83, 70]]);
    assert.deepEqual([hpa.typical.replicasBefore, hpa.typical.replicasAfter.replicas, hpa.peak.replicasAfter.replicas], [4, 5, 5]);
    assert.deepEqual([hpa.monthlyCostBefore, hpa.monthlyCostAfter], [month(0.2, 4), month(0.15, 5)]);
    assert.ok(object.findings.some((finding) => finding.rule === 'hpa-projection' && finding.severity === 'info'));
    assert.match(object.proposedManifest, /^# HPA \(live HPA, 2–10 replicas, now 4\): typical \(CPU p50\) cpu 125m of 200m → 150m = 62% → 83% \(target 70%\): 4 → 5 replicas/);
    f.human.answer = 'approve';
    const outcome = await f.session.apply(plan.id, human);
    const detail = withoutIsolates(f.human.asked[0]?.text.detail ?? '');
    assert.ok(detail.includes(`4 → 5 replicas; requests × replicas $${month(0.2, 4).toFixed(2)}/month → $${month(0.15, 5).toFixed(2)}/month`), detail);
    assert.equal(outcome.status, 'applied', outcome.message);
    // Undoing it puts back the request the HPA scaled with: not blocked for the HPA (nothing to project it from).
    const rollback = await f.session.rollback(outcome.snapshotId as string, human);
    assert.equal(rollback.status, 'applied', rollback.message);
  });

  it('200m → 125m: 100% of the request, 6 replicas, dearer in total: blocked with both costs', async () => {
    f = await startSessionFixture({ settings: { prometheusUrl: prometheus.url }, session: { now: () => end, secrets: { prometheusAuthHeader: async () => prometheus.authHeader } } });
    const plan = await f.session.propose({ reportId: await loadReport(0.125), workloads: [frontend] }, human);
    assert.deepEqual(plan.objects, []);
    const reasons = plan.blocked[0]?.reasons.join(' ') ?? '';
    assert.ok(reasons.includes(`raises the total cost from $${month(0.2, 4).toFixed(2)}/month to $${month(0.125, 6).toFixed(2)}/month`), reasons);
  });

  it('without Prometheus: blocked, no usage evidence to model the HPA', async () => {
    f = await startSessionFixture({ session: { now: () => end } });
    const plan = await f.session.propose({ reportId: await loadReport(0.15), workloads: [frontend] }, human);
    assert.deepEqual(plan.objects, []);
    assert.match(plan.blocked[0]?.reasons.join(' ') ?? '', /no usage evidence to model the HPA \(/);
  });

  it('with krr.policy.hpa "block": blocked as before, without reading a projection', async () => {
    f = await startSessionFixture({ settings: { prometheusUrl: prometheus.url, policy: { hpa: 'block' } }, session: { now: () => end, secrets: { prometheusAuthHeader: async () => prometheus.authHeader } } });
    const plan = await f.session.propose({ reportId: await loadReport(0.15), workloads: [frontend] }, human);
    assert.deepEqual(plan.objects, []);
    assert.match(plan.blocked[0]?.reasons.join(' ') ?? '', /krr\.policy\.hpa is "block"/);
  });
});
