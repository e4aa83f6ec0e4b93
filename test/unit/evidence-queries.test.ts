// The evidence's PromQL: krr's step and window from the report, krr's cluster fragment in every selector, krr's
// PercentileCPULoader form inside the p95, at most 8 HTTP queries per namespace, and buckets that tile the window.
import assert from 'node:assert/strict';
import { bucketOf, clusterFragment, coverageQuery, namespaceQueries, oomKillsQuery, peakTimeQuery, promString, windowOfReport, windowSteps } from '../../src/core/evidence/queries';

const end = new Date('2026-12-01T12:00:00Z');

/** Every series selector `metric{…}` of a query. */
function selectors(query: string): string[] {
  return [...query.matchAll(/\b(container_[a-z_]+|kube_[a-z_]+)\{([^}]*)\}/g)].map((match) => match[2] as string);
}

describe('evidence queries', () => {
  it("takes krr's step and window from the report's strategy settings, with krr's defaults when absent", () => {
    assert.deepEqual(windowOfReport({ strategy: { name: 'simple', settings: {} } }, end), { end, historyHours: 336, stepSeconds: 75 });
    assert.deepEqual(windowOfReport({ strategy: { name: 'simple', settings: { history_duration: 48, timeframe_duration: 2 } } }, end), { end, historyHours: 48, stepSeconds: 120 });
    // Nonsense settings are not trusted (a hand-edited report): the defaults hold.
    assert.deepEqual(windowOfReport({ strategy: { name: 'simple', settings: { history_duration: -1, timeframe_duration: 'x' } } }, end), { end, historyHours: 336, stepSeconds: 75 });
    const queries = namespaceQueries('shop', windowOfReport({ strategy: { name: 'simple', settings: { history_duration: 48, timeframe_duration: 2 } } }, end));
    const cpu = queries.find((query) => query.name === 'cpu')?.query ?? '';
    assert.match(cpu, /\[120s\]\)\) by \(container, pod, job\)\[172800s:120s\]/);
  });

  it('costs five HTTP queries per namespace (≤ 8), evaluated at the scan time', () => {
    const queries = namespaceQueries('shop', { end, historyHours: 336, stepSeconds: 75 });
    assert.ok(queries.length <= 8, `${queries.length} queries`);
    assert.deepEqual(queries.map((query) => query.name), ['cpu', 'memory', 'events', 'owners', 'series']);
    for (const query of queries) {
      if (query.type === 'instant') assert.equal(query.time, end.getTime() / 1000);
      else assert.equal(query.end, end.getTime() / 1000);
    }
  });

  it("holds krr's PercentileCPULoader and MaxMemoryLoader forms, per namespace by (pod, container)", () => {
    const queries = namespaceQueries('shop', { end, historyHours: 336, stepSeconds: 75 });
    const text = (name: string) => queries.find((query) => query.name === name)?.query ?? '';
    const krrRate = 'max(rate(container_cpu_usage_seconds_total{namespace="shop", container!="", container!="POD"}[75s])) by (container, pod, job)';
    assert.ok(text('cpu').includes(`label_replace(max by (pod, container) (quantile_over_time(0.95, ${krrRate}[1209600s:75s])), "signal", "p95", "", "")`), text('cpu'));
    for (const signal of ['p50', 'p95', 'p99']) assert.ok(text('cpu').includes(`"signal", "${signal}"`), signal);
    // The max of CPU and memory come from the bucket maxima, which hold exactly the window's steps (see below).
    assert.ok(text('series').includes('max_over_time(max(container_memory_working_set_bytes{namespace="shop", container!="", container!="POD"}) by (container, pod, job)[6300s:75s])'));
    assert.ok(text('memory').includes('count_over_time(max(container_memory_working_set_bytes'));
    assert.ok(text('events').includes('max(kube_pod_container_resource_limits{resource="memory", namespace="shop"}) by (pod, container, job) * on (pod, container, job)'));
    assert.ok(text('events').includes('group_left(reason) max(kube_pod_container_status_last_terminated_reason{reason="OOMKilled", namespace="shop"}) by (pod, container, job, reason)'));
    for (const signal of ['throttled', 'periods', 'restarts', 'oomSeen', 'oomLimit']) assert.ok(text('events').includes(`"signal", "${signal}"`), signal);
    assert.ok(!text('events').includes('"oomKills"'), 'the OOM kills are counted only for the pods the events name (oomKillsQuery)');
    for (const metric of ['kube_pod_owner', 'kube_replicaset_owner', 'kube_job_owner']) assert.ok(text('owners').includes(`${metric}{namespace="shop"}`), metric);
  });

  it('counts OOM kills step by step only for the pods named, their names escaped as a pattern and a string', () => {
    const window = { end, historyHours: 336, stepSeconds: 75 };
    const some = oomKillsQuery('shop', window, undefined, ['api-7d9c6b8f5d-4xkqz', 'db-0.x', 'a"b\\c']);
    assert.equal(some.name, 'oomKills');
    assert.ok(some.type === 'instant' && some.time === end.getTime() / 1000);
    // RE2 escapes (`.` → `\.`), then the PromQL string's own (`\` → `\\`, `"` → `\"`).
    const pattern = 'pod=~"api-7d9c6b8f5d-4xkqz|db-0\\\\.x|a\\"b\\\\\\\\c"';
    assert.equal(some.query.split(pattern).length - 1, 3, some.query);
    assert.ok(some.query.includes('[1209600s:75s]') && some.query.includes('offset 75s'));
    const all = oomKillsQuery('shop', window, { label: 'cluster', value: 'prod' }, null);
    assert.ok(!all.query.includes('pod=~'));
    for (const selector of selectors(all.query)) assert.ok(selector.endsWith(', cluster="prod"'), selector);
  });

  it("knows the steps of krr's subquery (left-open window, multiples of the step) and asks the first and last sample only of the pods named", () => {
    // 14 days at 75 s from a whole hour: 16,128 steps, the first one step after the window's start.
    assert.deepEqual(windowSteps({ end, historyHours: 336, stepSeconds: 75 }), { firstMs: end.getTime() - 1_209_600_000 + 75_000, lastMs: end.getTime(), count: 16_128 });
    // An end between steps: the last step before it; a window that is not a whole number of steps.
    const odd = new Date(end.getTime() + 30_000);
    const multiples: number[] = [];
    for (let t = odd.getTime() - 3_600_000 + 1; t <= odd.getTime(); t++) if (t % 7000 === 0) multiples.push(t);
    assert.deepEqual(windowSteps({ end: odd, historyHours: 1, stepSeconds: 7 }), { firstMs: multiples[0], lastMs: multiples.at(-1), count: multiples.length });
    const some = coverageQuery('shop', { end, historyHours: 336, stepSeconds: 75 }, undefined, ['fresh-1', 'a.b']);
    assert.equal(some.name, 'coverage');
    assert.ok(some.query.includes('"signal", "first"') && some.query.includes('"signal", "last"'));
    assert.equal(some.query.split('pod=~"fresh-1|a\\\\.b"').length - 1, 2, some.query);
    assert.ok(some.query.includes('min_over_time(timestamp(max(container_memory_working_set_bytes{namespace="shop", pod=~'));
    assert.ok(!coverageQuery('shop', { end, historyHours: 336, stepSeconds: 75 }, undefined, null).query.includes('pod=~'));
    // The namespace's memory query counts krr's points per (container, pod, job), as krr's MemoryAmountLoader does.
    const memory = namespaceQueries('shop', { end, historyHours: 336, stepSeconds: 75 }).find((query) => query.name === 'memory')?.query ?? '';
    assert.ok(memory.startsWith('label_replace(count_over_time(max(container_memory_working_set_bytes{namespace="shop", container!="", container!="POD"}) by (container, pod, job)[1209600s:75s])'), memory);
    assert.ok(!memory.includes('timestamp('));
  });

  it("asks each memory peak's first step within its own bucket only: shifted to the bucket's end, its pods named, the peak as Prometheus gave it", () => {
    const window = { end, historyHours: 336, stepSeconds: 75 };
    const t = end.getTime() / 1000;
    const query = peakTimeQuery('shop', window, undefined, [
      { tag: '0', container: 'app', pods: ['api-7d9c6b8f5d-4xkqz', 'api-7d9c6b8f5d-b7m2p'], value: 268435456, bucketEnd: t },
      { tag: '1', container: 'sidecar', pods: ['api-7d9c6b8f5d-4xkqz'], value: 1.5e21, bucketEnd: t - 3 * 6300 },
      { tag: '2', container: 'odd"name', pods: ['a.b'], value: 0.5, bucketEnd: t - 6300.25 },
    ]);
    assert.deepEqual([query.name, query.type, query.type === 'instant' ? query.time : null], ['peaks', 'instant', t]);
    const branches = query.query.split(' or ');
    assert.equal(branches.length, 3);
    assert.equal(
      branches[0],
      'label_replace(min(min_over_time(timestamp(max(container_memory_working_set_bytes{namespace="shop", pod=~"api-7d9c6b8f5d-4xkqz|api-7d9c6b8f5d-b7m2p", container="app"}) by (container, pod, job) >= 268435456)[6300s:75s])), "target", "0", "", "")',
    );
    // Shifted by whole milliseconds to the bucket's end; a double PromQL parses back to the same value.
    assert.ok(branches[1]?.includes('container="sidecar"}) by (container, pod, job) >= 1.5e+21)[6300s:75s] offset 18900s))'), branches[1]);
    assert.ok(branches[2]?.includes('pod=~"a\\\\.b", container="odd\\"name"}') && branches[2].includes('>= 0.5)[6300s:75s] offset 6300250ms))'), branches[2]);
    assert.throws(() => peakTimeQuery('shop', window, undefined, [{ tag: '0', container: 'app', pods: ['a'], value: Number.NaN, bucketEnd: t }]), /not a number PromQL can compare with/);
  });

  it("adds krr's cluster fragment `, <label>=\"<value>\"` to every selector of every query", () => {
    const cluster = { label: 'cluster', value: 'prod-eu-1' };
    let count = 0;
    const window = { end, historyHours: 336, stepSeconds: 75 };
    const peak = { tag: '0', container: 'app', pods: ['api-1'], value: 1, bucketEnd: end.getTime() / 1000 };
    for (const query of [...namespaceQueries('shop', window, cluster), oomKillsQuery('shop', window, cluster, ['api-1']), coverageQuery('shop', window, cluster, ['api-1']), peakTimeQuery('shop', window, cluster, [peak])]) {
      for (const selector of selectors(query.query)) {
        count += 1;
        assert.ok(selector.endsWith(', cluster="prod-eu-1"'), `${query.name}: {${selector}}`);
      }
    }
    assert.ok(count >= 23, `${count} selectors checked`);
    for (const query of namespaceQueries('shop', { end, historyHours: 336, stepSeconds: 75 })) assert.ok(!query.query.includes('cluster='), query.name);
  });

  it('quotes names so that a crafted value cannot leave its string; refuses a label name that is not one', () => {
    assert.equal(promString('a"} or vector(1) or {x="'), '"a\\"} or vector(1) or {x=\\""');
    assert.equal(promString('back\\slash'), '"back\\\\slash"');
    assert.equal(clusterFragment({ label: 'cluster', value: 'x"y' }), ', cluster="x\\"y"');
    assert.throws(() => clusterFragment({ label: 'prod-eu-1', value: 'cluster' }), /not a Prometheus label name/);
    const injected = namespaceQueries('a"}) or vector(1', { end, historyHours: 1, stepSeconds: 75 })[0]?.query ?? '';
    assert.ok(injected.includes('namespace="a\\"}) or vector(1"'));
  });

  it('downsamples to at most 200 buckets of whole steps that tile the window exactly when they can', () => {
    assert.deepEqual(bucketOf({ end, historyHours: 336, stepSeconds: 75 }), { seconds: 84 * 75, count: 192 });
    for (const [hours, step] of [[336, 75], [1, 75], [3, 60], [24 * 30, 75], [7, 420], [5, 7], [336, 7.5]] as const) {
      const bucket = bucketOf({ end, historyHours: hours, stepSeconds: step });
      assert.ok(bucket.count <= 200 && bucket.count >= 1, `${hours} h / ${step} s: ${bucket.count}`);
      assert.ok(bucket.count * bucket.seconds >= hours * 3600 - step, `${hours} h / ${step} s covers the window`);
      assert.equal(Math.round((bucket.seconds / step) * 1e6) % 1e6, 0, 'a whole number of steps');
    }
    const series = namespaceQueries('shop', { end, historyHours: 336, stepSeconds: 75 }).find((query) => query.name === 'series');
    assert.ok(series?.type === 'range');
    assert.equal(series.step, 6300);
    assert.equal((series.end - series.start) / series.step + 1, 192);
    assert.ok(series.query.includes('[6300s:75s]'));
    assert.ok(!series.query.includes('time()'), 'tiling buckets need no mask');
    // Buckets that cannot tile the window reach before it: the steps there are masked out, so the max stays the window's.
    const odd = namespaceQueries('shop', { end, historyHours: 5, stepSeconds: 7 }).find((query) => query.name === 'series');
    assert.ok(odd?.type === 'range');
    assert.ok(odd.query.includes(`and on () (vector(time()) > ${end.getTime() / 1000 - 5 * 3600}))[91s:7s]`), odd.query);
  });
});
