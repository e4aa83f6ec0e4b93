// evidence_scale: the evidence of N containers over 14 days from a real Prometheus (built from its Go module, behind
// basic auth, loaded with the usage-history generator's series), read our way — from a Prometheus 3 the CPU counter's
// and the working set's raw samples (two remote reads per namespace) and two batched queries, and follow-ups for the
// few pods that need them —
// against krr's way on the same data in the same run: its six queries per container (promql-examples.txt:
// PercentileCPULoader, CPUAmountLoader, MaxMemoryLoader, MemoryAmountLoader, MaxOOMKilledMemoryLoader, CPULoader) with
// krr's default of 6 workers. Queries are counted at Prometheus (prometheus_http_requests_total on its /metrics).
// The PromQL floor is what any read of krr's p95 and the chart through PromQL alone costs at least (krr's p95 query,
// krr's points and the bucket maxima per namespace). The scale is 2,500 containers; the history of one container is ~14 MB of OpenMetrics text (promtool's input),
// so BENCH_EVIDENCE_CONTAINERS sets N (default 100) and the figures say which N they were measured at.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { mapBounded } from '../src/core/apply';
import type { EvidenceTarget } from '../src/core/evidence/model';
import { namespaceQueries, type EvidenceQuery, type EvidenceWindowSpec } from '../src/core/evidence/queries';
import { evidenceLimits, readEvidence } from '../src/core/evidence/reader';
import { startPrometheus, type MetricsStore } from '../test/support/prometheus';
import { podsOf, writeUsageHistory, type UsageHistoryOptions, type WorkloadUsage } from '../test/support/usage-history';
import { round } from './stats';

export interface EvidenceScaleFigures {
  containers: number;
  namespaces: number;
  days: number;
  openmetrics_mb: number;
  load_ms: number;
  /** Our read of every container's evidence (wall). */
  ms: number;
  /** HTTP API queries per namespace, counted at Prometheus. */
  queries_per_namespace: number;
  /** krr's six queries per container, 6 at a time (wall). */
  per_container_ms: number;
  per_container_queries: number;
  ratio_vs_per_container: number;
  /**
   * The least any read of this evidence evaluates, on the same store, at the reader's concurrency: per namespace only
   * krr's own p95 query, krr's points count and the chart's bucket maxima (which give both maxima) — no p50, p99,
   * first or last sample, events or owners. What our read costs above it is what it shows beyond those numbers.
   */
  floor_ms: number;
  floor_ratio_vs_per_container: number;
}

const MiB = 1024 * 1024;
const containersPerNamespace = 50;
const patterns = ['steady', 'diurnal', 'weekly', 'spike', 'leak'] as const;

/** The bench's world: N one-container Deployments, 50 to a namespace, the usage patterns in turn, ending an hour before `end`'s hour. */
export function evidenceWorld(containers: number, now = Date.now()): UsageHistoryOptions {
  const end = new Date(Math.floor(now / 3_600_000) * 3_600_000 - 3_600_000);
  const workloads: WorkloadUsage[] = Array.from({ length: containers }, (_, index) => ({
    namespace: `team-${String(Math.floor(index / containersPerNamespace)).padStart(3, '0')}`,
    kind: 'Deployment',
    name: `svc-${index}`,
    containers: [{ name: 'app', pattern: patterns[index % patterns.length] as (typeof patterns)[number], cpu: 0.125 * (1 + (index % 4)), memory: 64 * MiB * (1 + (index % 3)) }],
  }));
  return { end, workloads };
}

export async function benchmarkEvidenceScale(options: { containers?: number; log?: (line: string) => void } = {}): Promise<EvidenceScaleFigures> {
  const log = options.log ?? (() => undefined);
  const containers = options.containers ?? Number(process.env.BENCH_EVIDENCE_CONTAINERS ?? 100);
  const world = evidenceWorld(containers);
  const directory = mkdtempSync(path.join(tmpdir(), 'krr-bench-evidence-'));
  let prometheus: MetricsStore | undefined;
  try {
    const file = path.join(directory, 'usage.om');
    let started = performance.now();
    const stats = writeUsageHistory(file, world);
    log(`evidence_scale: ${containers} containers, ${(stats.bytes / MiB).toFixed(0)} MB of OpenMetrics in ${Math.round(performance.now() - started)} ms`);
    started = performance.now();
    prometheus = await startPrometheus({ openMetrics: file, log });
    const loadMs = performance.now() - started;
    rmSync(file, { force: true });
    const measured = await measureEvidenceReads(prometheus, world);
    return { containers, namespaces: measured.namespaces, days: 14, openmetrics_mb: round(stats.bytes / MiB, 0), load_ms: Math.round(loadMs), ...measured.figures };
  } finally {
    await prometheus?.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

export type EvidenceReadFigures = Pick<EvidenceScaleFigures, 'ms' | 'queries_per_namespace' | 'per_container_ms' | 'per_container_queries' | 'ratio_vs_per_container' | 'floor_ms' | 'floor_ratio_vs_per_container'>;

/**
 * Both ways on a loaded store, in one run: krr's six queries per container (6 workers), then our read. Exported so
 * that a store loaded once (2,500 containers is ~28 GB of OpenMetrics to backfill) can be measured again.
 */
export async function measureEvidenceReads(store: MetricsStore, world: UsageHistoryOptions): Promise<{ namespaces: number; figures: EvidenceReadFigures }> {
  const { end, workloads } = world;
  const containers = workloads.length;
  const headers = { authorization: store.authHeader };
  const targets: EvidenceTarget[] = workloads.map((workload) => ({ cluster: null, namespace: workload.namespace, kind: 'Deployment', name: workload.name, container: 'app' }));
  const namespaces = new Set(workloads.map((workload) => workload.namespace)).size;
  const window = { end, historyHours: 336, stepSeconds: 75 };

  // Warm the page cache for both ways alike: one namespace read once.
  await readEvidence({ url: store.url, headers, targets: targets.slice(0, 1), window });

  // krr's way: six queries per container, its default 6 workers.
  const pods = new Map<string, string[]>();
  for (const pod of podsOf(world)) pods.set(pod.workload.name, [...(pods.get(pod.workload.name) ?? []), pod.name]);
  let before = await apiRequests(store);
  let started = performance.now();
  await mapBounded(workloads, 6, async (workload) => {
    for (const query of krrQueries(workload, pods.get(workload.name) ?? [], end)) await post(store, query.endpoint, query.params);
  });
  const perContainerMs = performance.now() - started;
  const perContainerQueries = (await apiRequests(store)) - before;

  before = await apiRequests(store);
  started = performance.now();
  const result = await readEvidence({ url: store.url, headers, targets, window });
  const ms = performance.now() - started;
  const ours = (await apiRequests(store)) - before;
  if (result.status !== 'available') throw new Error(`evidence_scale: ${result.reason}`);
  const withData = result.containers.filter((evidence) => evidence.cpu.p95 !== null).length;
  if (withData !== containers) throw new Error(`evidence_scale: ${withData} of ${containers} containers have a CPU p95`);

  started = performance.now();
  await mapBounded([...new Set(workloads.map((workload) => workload.namespace))], evidenceLimits.namespaceConcurrency, async (namespace) => {
    await Promise.all(floorQueries(namespace, window).map((query) => post(store, query.type === 'instant' ? 'query' : 'query_range', query.type === 'instant' ? { query: query.query, time: String(query.time) } : { query: query.query, start: String(query.start), end: String(query.end), step: String(query.step) })));
  });
  const floorMs = performance.now() - started;
  return {
    namespaces,
    figures: {
      ms: Math.round(ms),
      queries_per_namespace: round(ours / namespaces, 2),
      per_container_ms: Math.round(perContainerMs),
      per_container_queries: perContainerQueries,
      ratio_vs_per_container: round(ms / perContainerMs, 3),
      floor_ms: Math.round(floorMs),
      floor_ratio_vs_per_container: round(floorMs / perContainerMs, 3),
    },
  };
}

/** The reader's own p95 and points branches (each one query here) and its bucket-maxima range query, for the floor. */
function floorQueries(namespace: string, window: EvidenceWindowSpec): EvidenceQuery[] {
  const planned = namespaceQueries(namespace, window);
  const branch = (name: string, signal: string): EvidenceQuery => {
    const query = planned.find((candidate) => candidate.name === name);
    const found = query && topLevelBranches(query.query).find((text) => text.includes(`"signal", "${signal}"`));
    if (!query || !found) throw new Error(`evidence_scale: no ${signal} branch in the ${name} query`);
    return { ...query, query: found };
  };
  const series = planned.find((candidate) => candidate.name === 'series');
  if (!series) throw new Error('evidence_scale: no series query');
  return [branch('cpu', 'p95'), branch('memory', 'points'), series];
}

/** The operands of a query's top-level `or`s (queries.ts joins tagged branches with ` or `). */
function topLevelBranches(query: string): string[] {
  const branches: string[] = [];
  let depth = 0;
  let start = 0;
  for (let index = 0; index < query.length; index++) {
    const char = query[index];
    if (char === '(') depth += 1;
    else if (char === ')') depth -= 1;
    else if (depth === 0 && query.startsWith(' or ', index)) {
      branches.push(query.slice(start, index));
      start = index + 4;
    }
  }
  branches.push(query.slice(start));
  return branches;
}

/** krr v1.29's queries for one container (../shared/krr/promql-examples.txt). */
function krrQueries(workload: WorkloadUsage, pods: string[], end: Date): Array<{ endpoint: 'query' | 'query_range'; params: Record<string, string> }> {
  const selector = `namespace="${workload.namespace}", pod=~"${pods.join('|')}", container="app"`;
  const time = String(end.getTime() / 1000);
  const instant = (query: string) => ({ endpoint: 'query' as const, params: { query, time } });
  return [
    instant(`quantile_over_time( 0.95, max( rate( container_cpu_usage_seconds_total{ ${selector} }[75s] ) ) by (container, pod, job) [14d:75s] )`),
    instant(`count_over_time( max( container_cpu_usage_seconds_total{ ${selector} } ) by (container, pod, job) [14d:75s] )`),
    instant(`max_over_time( max( container_memory_working_set_bytes{ ${selector} } ) by (container, pod, job) [14d:75s] )`),
    instant(`count_over_time( max( container_memory_working_set_bytes{ ${selector} } ) by (container, pod, job) [14d:75s] )`),
    instant(
      `max_over_time( max( max( kube_pod_container_resource_limits{ resource="memory", ${selector} } ) by (pod, container, job) * on(pod, container, job) group_left(reason) max( kube_pod_container_status_last_terminated_reason{ reason="OOMKilled", ${selector} } ) by (pod, container, job, reason) ) by (container, pod, job) [14d:75s] )`,
    ),
    // CPULoader over the window at krr's step would exceed Prometheus' 11,000 points per series; krr reads it in its
    // own chunks, here one range at a 2-minute step stands for it.
    { endpoint: 'query_range', params: { query: `max( rate( container_cpu_usage_seconds_total{ ${selector} }[75s] ) ) by (container, pod, job)`, start: String(end.getTime() / 1000 - 14 * 86400), end: time, step: '120' } },
  ];
}

async function post(store: MetricsStore, endpoint: string, params: Record<string, string>): Promise<void> {
  const response = await fetch(`${store.url}/api/v1/${endpoint}`, { method: 'POST', headers: { authorization: store.authHeader, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
  const body = (await response.json()) as { status?: string; error?: string };
  if (body.status !== 'success') throw new Error(`krr's query failed: ${body.error ?? response.status}`);
}

/** API queries Prometheus has answered (its own counter). */
async function apiRequests(store: MetricsStore): Promise<number> {
  const text = await (await fetch(`${store.url}/metrics`, { headers: { authorization: store.authHeader } })).text();
  let total = 0;
  for (const match of text.matchAll(/^prometheus_http_requests_total\{[^}]*handler="\/api\/v1\/(?:query|query_range|read)"[^}]*\} (\d+)/gm)) total += Number(match[1]);
  return total;
}
