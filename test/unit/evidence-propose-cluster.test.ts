// Issue 25 part 3 for a cluster plan (real kubectl, test API server): the proposal reads the usage through
// evidenceFor, blocks a memory decrease below the recorded peak by default, and with krr.policy.memoryBelowPeak
// "warn" stores the evidence in the plan and shows it in the approval dialog.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { withoutIsolates } from '../../src/core/text';
import { human, startSessionFixture, type SessionFixture } from '../support/session-fixture';
import { startPrometheusUsage, type PrometheusUsage } from '../support/prometheus-usage';

const Mi = 2 ** 20;
// sample-report.json: frontend's container web, memory request and limit 256Mi → 198Mi; the double's peak is above both.
const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };

describe('evidence in a cluster proposal (real kubectl, test API server, Prometheus double)', function () {
  this.timeout(60_000);
  let f: SessionFixture;
  let prometheus: PrometheusUsage;
  beforeEach(async () => {
    prometheus = await startPrometheusUsage({ pod: 'frontend-5d9c7b6f4-abcde', container: 'web', peak: 230 * Mi });
    f = await startSessionFixture({ settings: { prometheusUrl: prometheus.url } });
  });
  afterEach(async () => {
    await f.close();
    await prometheus.close();
  });

  async function loadSample(): Promise<string> {
    const file = path.join(f.stateDir, 'sample.json');
    writeFileSync(file, readFileSync(path.join(__dirname, '..', 'fixtures', 'sample-report.json'), 'utf8'));
    return (await f.session.loadReport(file, human)).reportId;
  }

  it('blocks a memory decrease below the peak by default: the workload is left out with the numbers', async () => {
    const reportId = await loadSample();
    const plan = await f.session.propose({ reportId, workloads: [frontend], includeLimits: true }, human);
    assert.deepEqual(plan.objects, []);
    assert.match(plan.blocked[0]?.reasons.join(' ') ?? '', /container web: memory request 198Mi is below the peak 230Mi seen on .* UTC/);
    assert.ok(prometheus.queries.length > 0 && prometheus.queries.length <= 8, `queries: ${prometheus.queries.length}`);
  });

  it('with "warn": proposed, the evidence in the plan and in the dialog', async () => {
    f.settings = { ...f.settings, policy: { ...f.settings.policy, memoryBelowPeak: 'warn' } };
    const reportId = await loadSample();
    const plan = await f.session.propose({ reportId, workloads: [frontend], includeLimits: true }, human);
    assert.deepEqual(plan.objects.map((object) => object.name), ['frontend']);
    assert.deepEqual(plan.objects[0]?.evidence?.map((entry) => [entry.container, entry.status]), [['web', 'recorded']]);
    assert.ok(plan.objects[0]?.findings.some((finding) => finding.severity === 'warn' && finding.rule === 'memory-below-peak'));
    f.human.answer = 'decline';
    await f.session.apply(plan.id, human);
    const detail = withoutIsolates(f.human.asked[0]?.text.detail ?? '');
    assert.match(detail, /\n {3}web: memory peak 230Mi on .* UTC · new request 198Mi = 14% below it · new limit 198Mi = 14% below it · 0 OOM kills in 14 days · CPU p95 212m/, detail);
  });
});
