// Issue 25 part 3 at the session: a proposal reads the usage through evidenceFor, checks memory against it
// (krr.policy.memoryBelowPeak), stores the summary in the plan (its digest survives the state directory) and the
// approval shows it; without Prometheus it proceeds and says why. The manifests target needs no cluster, so this runs
// without the control plane. The Prometheus is a real one (test/support/prometheus, behind basic auth) loaded with 14
// days of generated usage (test/support/usage-history); the numbers below are worked out by hand from the patterns'
// closed forms (usage-history/README.md).
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileManifestWriter } from '../../src/core/gitops/apply';
import type { ApprovalDecision, ApprovalText, Approver } from '../../src/core/model';
import { Session } from '../../src/core/session/session';
import { parseSessionSettings } from '../../src/core/settings';
import { withoutIsolates } from '../../src/core/text';
import { krrReportJson } from '../support/krr-report';
import { startPrometheus, type MetricsStore } from '../support/prometheus';
import { writeUsageHistory } from '../support/usage-history';

const Mi = 2 ** 20;
// The history ends here and the sessions' clock stands here: the report is "saved" at its end, so krr's window
// (336 h at 75 s steps, the report's default strategy settings) is exactly the 14 generated days.
const end = new Date('2026-12-01T12:00:00Z');
// shop/frontend's container app, "throttled": its usage pinned at its 250m CPU limit, a quarter of its CFS periods
// throttled, a working set steady at 400Mi. By hand: CPU p95 = 250m; throttled = 2.5·Δt / 10·Δt = 25%; memory peak =
// 400Mi, first seen at the window's first 75 s step, end − 336 h + 75 s = 17 Nov 12:01:15 UTC; no restart, no OOM kill.
// krr's 384Mi request is 16Mi = 4% below that peak.
const peak = 400 * Mi;
const peakSeen = '17 Nov 12:01 UTC';

/** Queries Prometheus itself counted (its own /metrics), so the per-namespace budget is measured where it is spent. */
async function queriesAt(prometheus: MetricsStore): Promise<number> {
  const text = await (await fetch(`${prometheus.url}/metrics`, { headers: { authorization: prometheus.authHeader } })).text();
  let total = 0;
  for (const match of text.matchAll(/^prometheus_http_requests_total\{[^}]*handler="\/api\/v1\/(query|query_range|read)"[^}]*\} (\d+)/gm)) total += Number(match[2]);
  return total;
}

describe('evidence in a proposal (manifests target, a real Prometheus with generated usage)', function () {
  this.timeout(300_000);
  let prometheus: MetricsStore;
  let historyDir: string;
  let dir: string;
  let stateDir: string;
  let workspace: string;
  let report: string;
  const person = { type: 'human' as const, via: 'command palette' };
  const asked: ApprovalText[] = [];
  const approver: Approver = {
    show: async () => undefined,
    requestApproval: async () => ({ outcome: 'declined', reason: 'not a cluster plan' }),
    requestManifestApproval: async (plan, text): Promise<ApprovalDecision> => {
      asked.push(text);
      return { outcome: 'approved', digest: plan.digest };
    },
  };

  before(async () => {
    historyDir = mkdtempSync(path.join(tmpdir(), 'krr-evidence-propose-history-'));
    const file = path.join(historyDir, 'usage.om');
    writeUsageHistory(file, {
      end,
      workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'frontend', containers: [{ name: 'app', pattern: 'throttled', limits: { cpu: 0.25 }, throttledShare: 0.25, memory: peak }] }],
    });
    prometheus = await startPrometheus({ openMetrics: file });
  });
  after(async () => {
    await prometheus?.close();
    if (historyDir) rmSync(historyDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-evidence-propose-'));
    stateDir = path.join(dir, 'state');
    workspace = path.join(dir, 'ws');
    cpSync(path.resolve(__dirname, '..', 'fixtures', 'gitops', 'plain'), workspace, { recursive: true });
    report = path.join(dir, 'report.json');
    // krr: memory request 512Mi → 384Mi, below the 400Mi peak Prometheus recorded; the live 250m CPU limit (the one that
    // throttled) removed, as krr's simple strategy does — a limit change this proposal leaves out (includeLimits off).
    const amounts = (cpu: number, memory: number, cpuLimit: number | null) => ({ requests: { cpu, memory }, limits: { cpu: cpuLimit, memory: 1024 * Mi } });
    writeFileSync(report, krrReportJson([{ namespace: 'shop', kind: 'Deployment', name: 'frontend', containers: { app: { current: amounts(0.5, 512 * Mi, 0.25), recommended: amounts(0.25, 384 * Mi, null) } } }], { cluster: null, pods: 'none' }));
    asked.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // The auth header as the editor gives it (its secret storage), only to krr.prometheusUrl.
  const session = (settings: Record<string, unknown>) =>
    new Session({
      settings: () => parseSessionSettings({ kubectlPath: 'kubectl', kubeconfig: path.join(dir, 'no-kubeconfig'), ...settings }),
      approver,
      stateDir,
      now: () => end,
      secrets: { prometheusAuthHeader: async () => prometheus.authHeader },
      workspace: { folders: () => [workspace], writer: fileManifestWriter() },
    });
  const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };

  it('blocks a memory decrease below the recorded peak by default, with the numbers', async () => {
    const proposer = session({ prometheusUrl: prometheus.url });
    const { reportId } = await proposer.loadReport(report, person);
    const before = await queriesAt(prometheus);
    const plan = await proposer.proposeManifests({ reportId, workloads: [frontend], target: 'manifests' }, person);
    assert.equal((await queriesAt(prometheus)) - before, 4, 'the events, the owners and a remote read each of the CPU counter and the working set, counted at Prometheus');
    assert.equal(plan.files.length, 0, 'nothing offered');
    assert.ok(plan.unresolved[0]?.reason.includes(`blocked by policy: container app: memory request 384Mi is below the peak 400Mi seen on ${peakSeen} (14 days of usage; blocked by krr.policy.memoryBelowPeak`), plan.unresolved[0]?.reason);
  });

  it('with "warn": proposed with the warning, the evidence stored in the plan, shown in the dialog, and kept by the state directory', async () => {
    const settings = { prometheusUrl: prometheus.url, policy: { memoryBelowPeak: 'warn' } };
    const proposer = session(settings);
    const { reportId } = await proposer.loadReport(report, person);
    const plan = await proposer.proposeManifests({ reportId, workloads: [frontend], target: 'manifests' }, person);
    assert.equal(plan.files.length, 1, JSON.stringify(plan.unresolved));
    assert.deepEqual(plan.warnings.map((warning) => warning.rule), ['memory-below-peak']);
    const evidence = plan.workloads[0]?.evidence?.[0];
    assert.equal(evidence?.status, 'recorded');
    assert.ok(evidence?.status === 'recorded');
    assert.deepEqual(
      { peak: evidence.memoryPeak, at: evidence.memoryPeakAt, p95: evidence.cpuP95, throttled: evidence.throttledPercent, oomKills: evidence.oomKills, restarts: evidence.restarts, points: evidence.points },
      // 14 days of 75 s steps, all with a sample: 16,128 points.
      { peak, at: '2026-11-17T12:01:15.000Z', p95: 0.25, throttled: 25, oomKills: 0, restarts: 0, points: 16_128 },
    );
    // Another process applies it from the state directory: a summary the stored form dropped would fail the digest.
    const outcome = await session(settings).apply(plan.id, person);
    assert.equal(outcome.status, 'applied', outcome.message);
    const detail = withoutIsolates(asked[0]?.detail ?? '');
    assert.ok(detail.includes(`\n   app: memory peak 400Mi on ${peakSeen} · new request 384Mi = 4% below it · 0 OOM kills in 14 days · CPU p95 250m · throttled 25% of CFS periods\n`), detail);
    assert.match(readFileSync(path.join(workspace, 'apps/shop.yaml'), 'utf8'), /memory: "384Mi"/);
  });

  it('without Prometheus: proposed without evidence, and the plan and the dialog say why', async () => {
    const proposer = session({});
    const { reportId } = await proposer.loadReport(report, person);
    const plan = await proposer.proposeManifests({ reportId, workloads: [frontend], target: 'manifests' }, person);
    assert.equal(plan.files.length, 1);
    assert.deepEqual(plan.workloads[0]?.evidence?.map((entry) => entry.status), ['none']);
    const note = plan.warnings.find((warning) => warning.rule === 'evidence-unavailable');
    assert.match(note?.message ?? '', /^No usage evidence: no Prometheus URL is configured \(krr\.prometheusUrl\)/);
    const outcome = await proposer.apply(plan.id, person);
    assert.equal(outcome.status, 'applied', outcome.message);
    assert.match(withoutIsolates(asked[0]?.detail ?? ''), /\nNo usage evidence for these changes \(no Prometheus URL is configured \(krr\.prometheusUrl\)/);
  });
});
