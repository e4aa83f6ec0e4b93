// Issue 25 part 3 at the session: a proposal reads the usage through evidenceFor, checks memory against it
// (krr.policy.memoryBelowPeak), stores the summary in the plan (its digest survives the state directory) and the
// approval shows it; without Prometheus it proceeds and says why. The manifests target needs no cluster, so this runs
// without the control plane; the Prometheus is an HTTP double that answers the reader's five queries per namespace
// with fixed series (test/support/prometheus-usage.ts; the reader's own tests cover its queries).
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
import { startPrometheusUsage } from '../support/prometheus-usage';

const Mi = 2 ** 20;
const peak = 400 * Mi;

describe('evidence in a proposal (manifests target, Prometheus double)', function () {
  this.timeout(120_000);
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

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-evidence-propose-'));
    stateDir = path.join(dir, 'state');
    workspace = path.join(dir, 'ws');
    cpSync(path.resolve(__dirname, '..', 'fixtures', 'gitops', 'plain'), workspace, { recursive: true });
    report = path.join(dir, 'report.json');
    // krr: memory request 512Mi → 384Mi, below the 400Mi peak the double reports.
    const amounts = (cpu: number, memory: number) => ({ requests: { cpu, memory }, limits: { cpu: null, memory: 1024 * Mi } });
    writeFileSync(report, krrReportJson([{ namespace: 'shop', kind: 'Deployment', name: 'frontend', containers: { app: { current: amounts(0.5, 512 * Mi), recommended: amounts(0.25, 384 * Mi) } } }], { cluster: null, pods: 'none' }));
    asked.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const session = (settings: Record<string, unknown>) =>
    new Session({ settings: () => parseSessionSettings({ kubectlPath: 'kubectl', kubeconfig: path.join(dir, 'no-kubeconfig'), ...settings }), approver, stateDir, workspace: { folders: () => [workspace], writer: fileManifestWriter() } });
  const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };

  it('blocks a memory decrease below the recorded peak by default, with the numbers', async () => {
    const prometheus = await startPrometheusUsage({ pod: 'frontend-5d9c7b6f4-abcde', container: 'app', peak });
    try {
      const proposer = session({ prometheusUrl: prometheus.url });
      const { reportId } = await proposer.loadReport(report, person);
      const plan = await proposer.proposeManifests({ reportId, workloads: [frontend], target: 'manifests' }, person);
      assert.ok(prometheus.queries.length > 0 && prometheus.queries.length <= 8, `queries: ${prometheus.queries.length}`);
      assert.equal(plan.files.length, 0, 'nothing offered');
      assert.match(plan.unresolved[0]?.reason ?? '', /blocked by policy: container app: memory request 384Mi is below the peak 400Mi seen on \d+ \w+ \d\d:\d\d UTC \(14 days of usage; blocked by krr\.policy\.memoryBelowPeak/);
    } finally {
      await prometheus.close();
    }
  });

  it('with "warn": proposed with the warning, the evidence stored in the plan, shown in the dialog, and kept by the state directory', async () => {
    const prometheus = await startPrometheusUsage({ pod: 'frontend-5d9c7b6f4-abcde', container: 'app', peak });
    try {
      const settings = { prometheusUrl: prometheus.url, policy: { memoryBelowPeak: 'warn' } };
      const proposer = session(settings);
      const { reportId } = await proposer.loadReport(report, person);
      const plan = await proposer.proposeManifests({ reportId, workloads: [frontend], target: 'manifests' }, person);
      assert.equal(plan.files.length, 1, JSON.stringify(plan.unresolved));
      assert.deepEqual(plan.warnings.map((warning) => warning.rule), ['memory-below-peak']);
      const evidence = plan.workloads[0]?.evidence?.[0];
      assert.equal(evidence?.status, 'recorded');
      assert.equal(evidence?.status === 'recorded' && evidence.memoryPeak, peak);
      assert.equal(evidence?.status === 'recorded' && evidence.throttledPercent, 23);
      // Another process applies it from the state directory: a summary the stored form dropped would fail the digest.
      const outcome = await session(settings).apply(plan.id, person);
      assert.equal(outcome.status, 'applied', outcome.message);
      const detail = withoutIsolates(asked[0]?.detail ?? '');
      assert.match(detail, /\n {3}app: memory peak 400Mi on \d+ \w+ \d\d:\d\d UTC · new request 384Mi = 4% below it · 0 OOM kills in 14 days · CPU p95 212m · throttled 23% of CFS periods\n/, detail);
      assert.match(readFileSync(path.join(workspace, 'apps/shop.yaml'), 'utf8'), /memory: "384Mi"/);
    } finally {
      await prometheus.close();
    }
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
