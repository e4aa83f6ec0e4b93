// The evidence reader against a REAL Prometheus and a REAL VictoriaMetrics (built from their Go modules, behind basic
// auth), each loaded with 14 days of generated usage of two clusters told apart by a `cluster` label (the centralized
// case: the reader's clusterLabel): every number is checked against the value computed by hand from the generator's
// closed forms, and the p95 and the OOM-killed limit against krr's own queries run on the same store. The history ends
// days before the test runs, well past VictoriaMetrics' 30 s latency offset.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { ContainerEvidence, EvidenceTarget } from '../../src/core/evidence/model';
import { prometheusResponseSchema } from '../../src/core/evidence/prometheusResponse';
import { readEvidence } from '../../src/core/evidence/reader';
import { Session } from '../../src/core/session/session';
import { parseSessionSettings } from '../../src/core/settings';
import { startHttpHost } from '../../src/mcp/http';
import { call, connectHttp, data, textOf } from '../abuse/harness';
import { krrReportJson, requestsOnly } from '../support/krr-report';
import { startPrometheus, startVictoriaMetrics, type MetricsStore, type MetricsStoreOptions } from '../support/prometheus';
import { podsOf, writeUsageHistory, type UsageHistoryOptions } from '../support/usage-history';
import { oomKillAt, spikeWindow } from '../support/usage-history/patterns';
import { ScriptedHuman } from '../support/session-fixture';

const MiB = 1024 * 1024;
const end = new Date('2026-12-01T12:00:00Z');
const endSeconds = end.getTime() / 1000;
const window = { end, historyHours: 336, stepSeconds: 75 };
const W = 336 * 3600;
const prod = { label: 'cluster', value: 'prod-eu-1' };

const world: UsageHistoryOptions = {
  end,
  workloads: [
    { cluster: 'prod-eu-1', namespace: 'shop', kind: 'Deployment', name: 'steady', pods: 2, containers: [{ name: 'app', pattern: 'steady', cpu: 0.25, memory: 128 * MiB }] },
    { cluster: 'prod-eu-1', namespace: 'shop', kind: 'Deployment', name: 'diurnal', containers: [{ name: 'app', pattern: 'diurnal', cpu: 0.25, memory: 128 * MiB }] },
    { cluster: 'prod-eu-1', namespace: 'shop', kind: 'Deployment', name: 'spiky', containers: [{ name: 'app', pattern: 'spike', cpu: 0.25, spikeCpu: 2, memory: 128 * MiB, peakMemory: 256 * MiB }] },
    {
      cluster: 'prod-eu-1',
      namespace: 'shop',
      kind: 'StatefulSet',
      name: 'db',
      containers: [
        { name: 'postgres', pattern: 'throttled', limits: { cpu: 0.5 }, memory: 256 * MiB },
        { name: 'exporter', pattern: 'steady', cpu: 0.0625, memory: 32 * MiB },
      ],
    },
    { cluster: 'prod-eu-1', namespace: 'shop', kind: 'Deployment', name: 'oom', containers: [{ name: 'app', pattern: 'oomkill', limits: { memory: 256 * MiB }, memory: 128 * MiB }] },
    { cluster: 'prod-eu-1', namespace: 'shop', kind: 'CronJob', name: 'report', generations: 2, containers: [{ name: 'job', pattern: 'steady', cpu: 0.25, memory: 64 * MiB }] },
    { cluster: 'prod-eu-1', namespace: 'shop', kind: 'Deployment', name: 'fresh', containers: [{ name: 'app', pattern: 'new', cpu: 0.25, memory: 64 * MiB }] },
    // The same namespace and name in another cluster, with higher levels: a read of prod-eu-1 that leaked it would show them.
    { cluster: 'staging', namespace: 'shop', kind: 'Deployment', name: 'steady', containers: [{ name: 'app', pattern: 'steady', cpu: 0.5, memory: 512 * MiB }] },
  ],
};

const target = (name: string, container = 'app', kind: EvidenceTarget['kind'] = 'Deployment', cluster = 'prod-eu-1'): EvidenceTarget => ({ cluster, namespace: 'shop', kind, name, container });
const podNames = (cluster: string, name: string) =>
  podsOf(world)
    .filter((pod) => pod.cluster === cluster && pod.workload.name === name)
    .map((pod) => pod.name)
    .sort();
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
/** The generator's first working-set sample at or after t (one every 60 s from the pod's start). */
const firstSampleFrom = (podStart: number, t: number) => podStart + Math.ceil((t - podStart) / 60) * 60;

// Both stores krr supports: fleets outgrow one Prometheus into a centralized store, and the reader must agree with each.
const stores: Array<[string, (options: MetricsStoreOptions) => Promise<MetricsStore>]> = [
  ['Prometheus', startPrometheus],
  ['VictoriaMetrics', startVictoriaMetrics],
];

for (const [storeName, startStore] of stores) describe(`evidence from a real ${storeName} with 14 days of generated usage`, function () {
  this.timeout(300_000);
  let directory: string;
  let prometheus: MetricsStore;
  let byName: Map<string, ContainerEvidence>;
  let queriesAtPrometheus: number;

  async function api(endpoint: string, params: Record<string, string>, authorization = prometheus.authHeader): Promise<unknown> {
    const response = await fetch(`${prometheus.url}${endpoint}`, { method: 'POST', headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
    return response.json();
  }

  /** The query API requests the store itself counted (its own /metrics). */
  async function httpQueries(): Promise<number> {
    // VictoriaMetrics renders /metrics at most once a second and serves that text meanwhile (lib/appmetrics): wait it out.
    if (prometheus.kind === 'victoriametrics') await new Promise((resolve) => setTimeout(resolve, 1100));
    const text = await (await fetch(`${prometheus.url}/metrics`, { headers: { authorization: prometheus.authHeader } })).text();
    const counter =
      prometheus.kind === 'prometheus'
        ? /^prometheus_http_requests_total\{[^}]*handler="\/api\/v1\/(query|query_range|read)"[^}]*\} (\d+)/gm
        : /^vm_http_requests_total\{path="\/api\/v1\/(query|query_range)"\} (\d+)/gm;
    let total = 0;
    for (const match of text.matchAll(counter)) total += Number(match[2]);
    return total;
  }

  /** krr's own query (promql-examples.txt, with krr's cluster fragment), per pod. */
  async function krrValues(query: string): Promise<number[]> {
    const answer = prometheusResponseSchema.parse(await api('/api/v1/query', { query, time: String(endSeconds) }));
    assert.ok(answer.status === 'success' && answer.data.resultType === 'vector');
    return answer.data.result.map((row) => row.value[1]).filter((value): value is number => typeof value === 'number');
  }

  before(async () => {
    directory = mkdtempSync(path.join(tmpdir(), 'krr-evidence-prom-'));
    const file = path.join(directory, 'usage.om');
    writeUsageHistory(file, world);
    prometheus = await startStore({ openMetrics: file });
    rmSync(file);
    const targets = [
      target('steady'),
      target('diurnal'),
      target('spiky'),
      target('db', 'postgres', 'StatefulSet'),
      target('db', 'exporter', 'StatefulSet'),
      target('oom'),
      target('report', 'job', 'CronJob'),
      target('fresh'),
      target('gone'),
    ];
    const before = await httpQueries();
    const result = await readEvidence({ url: prometheus.url, headers: { authorization: prometheus.authHeader }, clusterLabel: prod, targets, window });
    queriesAtPrometheus = (await httpQueries()) - before;
    assert.equal(result.status, 'available', JSON.stringify(result));
    assert.ok(result.status === 'available');
    assert.equal(result.queries, expectedQueries);
    byName = new Map(result.containers.map((evidence) => [`${evidence.name}/${evidence.container}`, evidence]));
  });

  after(async () => {
    await prometheus?.close();
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  const get = (key: string): ContainerEvidence => {
    const evidence = byName.get(key);
    assert.ok(evidence, key);
    return evidence;
  };
  const close = (actual: number | null, expected: number, tolerance: number, what: string) => assert.ok(actual !== null && Math.abs(actual - expected) <= tolerance, `${what}: ${actual} ≠ ${expected} ± ${tolerance}`);

  // PromQL (VictoriaMetrics): five queries, a sixth for the OOM-killed pod, a seventh for the first and last sample of the
  // pods not there the whole window, an eighth for the steps of the memory peaks. A Prometheus 3: the events, the
  // owners, one remote read each of the CPU counter and the working set (which give the first and last samples and the
  // peaks' steps too), and the OOM kills.
  const expectedQueries = storeName === 'Prometheus' ? 5 : 8;
  it(`costs ${expectedQueries} requests for the namespace with an OOM-killed pod and pods not there the whole window, counted at ${storeName}`, () => {
    assert.equal(queriesAtPrometheus, expectedQueries);
  });

  it('steady: every percentile is the level, memory the level, coverage every 75 s step of 14 days for both pods', () => {
    const e = get('steady/app');
    assert.deepEqual(e.pods, podNames('prod-eu-1', 'steady'));
    for (const value of [e.cpu.p50, e.cpu.p95, e.cpu.p99, e.cpu.max]) close(value, 0.25, 1e-9, 'cpu');
    assert.equal(e.memory.max, 128 * MiB, 'the staging pod (512Mi) is not mixed in');
    // Subquery ranges are left-open: the steps t = k·75 in (end − 14 d, end].
    assert.equal(e.coverage.points, 2 * (W / 75));
    assert.equal(e.coverage.first, iso(endSeconds - W + 75));
    assert.equal(e.coverage.last, end.toISOString());
    assert.equal(e.memory.maxAt, iso(endSeconds - W + 75), 'a constant peak: the first step of the window');
    assert.deepEqual([e.restarts, e.oomKills, e.oomKilledLimit, e.cpu.throttledPercent], [0, 0, null, null]);
    assert.equal(e.memory.series.length, 192);
    assert.equal(e.cpu.series.length, 192);
    assert.deepEqual(e.window, { start: iso(endSeconds - W), end: end.toISOString(), stepSeconds: 75 });
  });

  it('diurnal: p50, p95 and p99 are the percentiles of c·(1 + ½ sin) (quantile q at sin(π(q − ½)))', () => {
    const e = get('diurnal/app');
    const at = (q: number) => 0.25 * (1 + 0.5 * Math.sin(Math.PI * (q - 0.5)));
    close(e.cpu.p50, at(0.5), 0.002, 'p50');
    close(e.cpu.p95, at(0.95), 0.002, 'p95');
    close(e.cpu.p99, at(0.99), 0.002, 'p99');
    close(e.cpu.max, 0.375, 0.002, 'max');
    assert.ok((e.cpu.p50 as number) < (e.cpu.p95 as number) && (e.cpu.p95 as number) < (e.cpu.p99 as number));
    close(e.memory.max, 160 * MiB, 160 * MiB * 0.001, 'memory peak m·1.25');
  });

  it("spike: p95 and p99 stay at the level, max is the spike; the memory peak and its bucket are exact; p95 equals krr's PercentileCPULoader and the maxima krr's max_over_time", async () => {
    const e = get('spiky/app');
    close(e.cpu.p95, 0.25, 1e-9, 'p95');
    close(e.cpu.p99, 0.25, 1e-9, 'p99');
    close(e.cpu.max, 2, 1e-9, 'max');
    assert.equal(e.memory.max, 256 * MiB);
    const [pod] = podsOf(world).filter((candidate) => candidate.workload.name === 'spiky');
    assert.ok(pod);
    const [from] = spikeWindow(pod.window);
    // The first working-set sample of the spike (every 60 s from the pod's start), seen first by the step after it.
    assert.equal(e.memory.maxAt, iso(Math.ceil(firstSampleFrom(pod.window.start, from) / 75) * 75));
    close(Math.max(...e.cpu.series.map(([, value]) => value)), 2, 1e-9, 'the CPU series keeps the spike');
    assert.equal(Math.max(...e.memory.series.map(([, value]) => value)), 256 * MiB);
    for (const [name, key] of [['spiky', 'spiky/app'], ['diurnal', 'diurnal/app']] as const) {
      const pods = podNames('prod-eu-1', name).join('|');
      const krr = await krrValues(`quantile_over_time( 0.95, max( rate( container_cpu_usage_seconds_total{ namespace="shop", pod=~"${pods}", container="app", cluster="prod-eu-1" }[75s] ) ) by (container, pod, job) [14d:75s] )`);
      assert.equal(get(key).cpu.p95, Math.max(...krr), `${name}: the same number krr's recommendation came from`);
      // The max of the bucket maxima is exactly max_over_time over krr's window (MaxMemoryLoader for memory).
      const cpuMax = await krrValues(`max_over_time( max( rate( container_cpu_usage_seconds_total{ namespace="shop", pod=~"${pods}", container="app", cluster="prod-eu-1" }[75s] ) ) by (container, pod, job) [14d:75s] )`);
      assert.equal(get(key).cpu.max, Math.max(...cpuMax), `${name}: CPU max`);
      const memoryMax = await krrValues(`max_over_time( max( container_memory_working_set_bytes{ namespace="shop", pod=~"${pods}", container="app", cluster="prod-eu-1" } ) by (container, pod, job) [14d:75s] )`);
      assert.equal(get(key).memory.max, Math.max(...memoryMax), `${name}: memory max (krr's MaxMemoryLoader)`);
    }
  });

  it('throttled: 50 % of CFS periods throttled where the CPU limit pins usage; none for the container without a limit', () => {
    const postgres = get('db/postgres');
    assert.deepEqual(postgres.pods, ['db-0']);
    close(postgres.cpu.throttledPercent, 50, 1e-9, 'throttled %');
    close(postgres.cpu.p95, 0.5, 1e-9, 'p95 at the limit');
    const exporter = get('db/exporter');
    assert.equal(exporter.cpu.throttledPercent, null);
    close(exporter.cpu.p95, 0.0625, 1e-9, 'exporter p95');
    assert.equal(exporter.memory.max, 32 * MiB);
  });

  it("OOM kill: one kill, the limit it was killed at (krr's MaxOOMKilledMemoryLoader), one restart, the peak at the limit", async () => {
    const e = get('oom/app');
    assert.equal(e.oomKills, 1);
    assert.equal(e.restarts, 1);
    assert.equal(e.oomKilledLimit, 256 * MiB);
    assert.equal(e.memory.max, 256 * MiB);
    const [pod] = podsOf(world).filter((candidate) => candidate.workload.name === 'oom');
    assert.ok(pod);
    // The working set sits at the limit from 5 minutes before the kill: its first sample there, at the next step.
    assert.equal(e.memory.maxAt, iso(Math.ceil(firstSampleFrom(pod.window.start, oomKillAt(pod.window) - 300) / 75) * 75));
    const pods = podNames('prod-eu-1', 'oom').join('|');
    const krr = await krrValues(
      `max_over_time( max( max( kube_pod_container_resource_limits{ resource="memory", namespace="shop", pod=~"${pods}", container="app", cluster="prod-eu-1" } ) by (pod, container, job) * on(pod, container, job) group_left(reason) max( kube_pod_container_status_last_terminated_reason{ reason="OOMKilled", namespace="shop", pod=~"${pods}", container="app", cluster="prod-eu-1" } ) by (pod, container, job, reason) ) by (container, pod, job) [14d:75s] )`,
    );
    assert.equal(e.oomKilledLimit, Math.max(...krr));
    assert.equal(get('steady/app').oomKills, 0);
  });

  it('CronJob: the pods of its Jobs (kube_job_owner), every generation; a new workload has 25 points; a workload with no series has nulls', () => {
    const report = get('report/job');
    assert.deepEqual(report.pods, podNames('prod-eu-1', 'report'));
    assert.equal(report.pods.length, 2);
    close(report.cpu.p95, 0.25, 1e-9, 'cronjob p95');
    const fresh = get('fresh/app');
    // 30 minutes of samples: the steps end − 1800, …, end.
    assert.equal(fresh.coverage.points, 1800 / 75 + 1);
    assert.equal(fresh.coverage.first, iso(endSeconds - 1800));
    const gone = get('gone/app');
    assert.deepEqual(
      { pods: gone.pods, cpu: gone.cpu, memory: gone.memory, oomKills: gone.oomKills, oomKilledLimit: gone.oomKilledLimit, restarts: gone.restarts, coverage: gone.coverage },
      { pods: [], cpu: { p50: null, p95: null, p99: null, max: null, throttledPercent: null, series: [] }, memory: { max: null, maxAt: null, series: [] }, oomKills: 0, oomKilledLimit: null, restarts: 0, coverage: { points: 0, first: null, last: null } },
    );
  });

  it(`the evidence from the raw samples is PromQL's to the last bit: statistics, series, coverage, peaks (${storeName === 'Prometheus' ? 'two remote reads per namespace' : 'VictoriaMetrics: PromQL'})`, async () => {
    const targets = [...byName.values()].map(({ cluster, namespace, kind, name, container }) => ({ cluster, namespace, kind, name, container }));
    const reads = async () => {
      const text = await (await fetch(`${prometheus.url}/metrics`, { headers: { authorization: prometheus.authHeader } })).text();
      return Number(/^prometheus_http_requests_total\{[^}]*handler="\/api\/v1\/read"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const before = await reads();
    const fromSamples = await readEvidence({ url: prometheus.url, headers: { authorization: prometheus.authHeader }, clusterLabel: prod, targets, window });
    const afterSamples = await reads();
    const fromPromql = await readEvidence({ url: prometheus.url, headers: { authorization: prometheus.authHeader }, clusterLabel: prod, targets, window, rawSamples: false });
    assert.equal(await reads(), afterSamples, 'cpuFromSamples false: no remote read');
    assert.equal(afterSamples - before, prometheus.kind === 'prometheus' ? 2 : 0);
    assert.ok(fromSamples.status === 'available' && fromPromql.status === 'available');
    assert.deepEqual(fromSamples.containers, fromPromql.containers);
    assert.deepEqual([fromSamples.queries, fromPromql.queries], prometheus.kind === 'prometheus' ? [5, 8] : [8, 8]);
    assert.ok(fromSamples.containers.filter((evidence) => evidence.cpu.p95 !== null).length >= 7);
  });

  it("the cluster label selects the other cluster's series of the same namespace and name", async () => {
    const result = await readEvidence({ url: prometheus.url, headers: { authorization: prometheus.authHeader }, clusterLabel: { label: 'cluster', value: 'staging' }, targets: [target('steady', 'app', 'Deployment', 'staging')], window });
    assert.ok(result.status === 'available', JSON.stringify(result));
    const [e] = result.containers;
    assert.ok(e);
    assert.deepEqual(e.pods, podNames('staging', 'steady'));
    close(e.cpu.p95, 0.5, 1e-9, 'staging p95');
    assert.equal(e.memory.max, 512 * MiB);
  });

  it(`a real ${storeName} refuses a read without its credentials, and the reason says what to do`, async () => {
    const result = await readEvidence({ url: prometheus.url, targets: [target('steady')], window });
    assert.ok(result.status === 'unavailable');
    assert.match(result.reason, /^Prometheus refused the credentials \(HTTP 401\)/);
  });

  it(`the schema reads what a real ${storeName} answers: NaN, +Inf and -Inf, matrices, errors`, async () => {
    const special = prometheusResponseSchema.parse(
      await api('/api/v1/query', { query: 'label_replace(vector(0) / 0, "v", "nan", "", "") or label_replace(vector(1) / 0, "v", "inf", "", "") or label_replace(vector(-1) / 0, "v", "-inf", "", "")', time: String(endSeconds) }),
    );
    assert.ok(special.status === 'success' && special.data.resultType === 'vector');
    // VictoriaMetrics leaves NaN samples out of an answer (NaN is its "no value"): the reader then finds no series and
    // reads null, as it reads Prometheus' "NaN".
    const infinities = { inf: '+Inf', '-inf': '-Inf' };
    assert.deepEqual(Object.fromEntries(special.data.result.map((row) => [row.metric.v, row.value[1]])), prometheus.kind === 'prometheus' ? { nan: 'NaN', ...infinities } : infinities);
    const matrix = prometheusResponseSchema.parse(await api('/api/v1/query_range', { query: 'vector(1)', start: String(endSeconds - 60), end: String(endSeconds), step: '30' }));
    assert.ok(matrix.status === 'success' && matrix.data.resultType === 'matrix');
    assert.deepEqual(matrix.data.result[0]?.values.map(([, value]) => value), [1, 1, 1]);
    const error = prometheusResponseSchema.parse(await api('/api/v1/query', { query: 'rate(' }));
    assert.ok(error.status === 'error');
    // Prometheus names the kind of error; VictoriaMetrics puts its HTTP status there.
    assert.equal(error.errorType, prometheus.kind === 'prometheus' ? 'bad_data' : '400');
  });

  it('MCP: krr_explain returns the evidence a session read (cluster label from the settings for a loaded report); list rows then carry it; no Prometheus, no evidence', async () => {
    const stateDir = path.join(directory, 'state');
    const reportFile = path.join(directory, 'report.json');
    const oomRecommendation = { current: { requests: { cpu: 0.5, memory: 256 * MiB }, limits: { cpu: null, memory: 256 * MiB } }, recommended: { requests: { cpu: 0.25, memory: 200 * MiB }, limits: { cpu: null, memory: 200 * MiB } } };
    writeFileSync(reportFile, krrReportJson([
      { namespace: 'shop', kind: 'Deployment', name: 'oom', containers: { app: oomRecommendation } },
      { namespace: 'shop', kind: 'Deployment', name: 'steady', containers: { app: { current: requestsOnly(0.5, 256 * MiB), recommended: requestsOnly(0.25, 148 * MiB) } } },
    ], { cluster: 'prod-eu-1' }));
    for (const configured of [true, false]) {
      const settings = parseSessionSettings({ krrPath: '/nonexistent/krr', kubectlPath: '/nonexistent/kubectl', ...(configured ? { prometheusUrl: prometheus.url, prometheusLabel: 'cluster', prometheusClusterLabel: 'prod-eu-1' } : {}) });
      // The report is "saved" at the history's end: the evidence window ends at a report's time, as krr's did.
      const session = new Session({ settings: () => settings, approver: new ScriptedHuman(), stateDir: `${stateDir}-${configured}`, now: () => end, secrets: { prometheusAuthHeader: async () => prometheus.authHeader } });
      const host = await startHttpHost(session, { version: 'test' });
      const client = await connectHttp(host);
      try {
        const { reportId } = data<{ reportId: string }>(await call(client, 'krr_load_report', { path: reportFile }));
        const explained = await call(client, 'krr_explain', { reportId, namespace: 'shop', kind: 'Deployment', name: 'oom' });
        assert.equal(explained.isError, undefined, textOf(explained));
        const result = data<{ status: string; reason?: string; containers: Array<{ container: string; oomKills: number; oomKilledLimit: number | null; memory: { max: number; series: number[][] }; cpu: { p95: number } }> }>(explained);
        if (!configured) {
          assert.equal(result.status, 'unavailable');
          assert.match(textOf(explained), /^No evidence for Deployment shop\/oom: no Prometheus URL is configured \(krr\.prometheusUrl\).*do not estimate/);
          assert.deepEqual(result.containers, []);
          continue;
        }
        assert.equal(result.status, 'available', textOf(explained));
        const [app] = result.containers;
        assert.ok(app);
        assert.deepEqual([app.container, app.oomKills, app.oomKilledLimit, app.memory.max], ['app', 1, 256 * MiB, 256 * MiB]);
        assert.ok(app.memory.series.length <= 200 && app.memory.series.length > 0);
        close(app.cpu.p95, 0.25, 1e-9, 'p95 through MCP (the staging series, higher, are not mixed in)');
        assert.match(textOf(explained), /\[app\] 14 d: cpu p95 250m, max 250m · memory peak 256Mi on 28 Nov 11:55 UTC · 1 OOM kill \(at limit 256Mi\) · 1 restart · 16128 points \| recommended: cpu request 250m, memory request 200Mi, memory limit 200Mi/);
        // The namespace was read whole: the list shows evidence for every row of it, without another query.
        const before = await httpQueries();
        const listed = data<{ rows: Array<{ name: string; evidence?: string }> }>(await call(client, 'krr_list_recommendations', { reportId, sort: 'name' }));
        assert.equal(await httpQueries(), before, 'listing asks Prometheus nothing');
        assert.deepEqual(listed.rows.map((row) => row.name), ['oom', 'steady']);
        assert.match(listed.rows[0]?.evidence ?? '', /memory peak 256Mi on 28 Nov 11:55 UTC · 1 OOM kill/);
        assert.match(listed.rows[1]?.evidence ?? '', /cpu p95 250m, max 250m · memory peak 128Mi .* · 0 OOM kills · 0 restarts · 32256 points$/);
      } finally {
        await client.close();
        await host.close();
        session.dispose();
      }
    }
  });
});
