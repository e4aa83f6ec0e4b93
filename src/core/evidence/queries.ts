// The PromQL behind the evidence: krr's own loaders (PercentileCPULoader, MaxMemoryLoader, MemoryAmountLoader,
// MaxOOMKilledMemoryLoader; ../shared/krr/promql-examples.txt), widened from one container to a whole namespace
// (`by (pod, container)`) and batched so that a namespace costs five HTTP queries whatever its size, and at most three
// more, each for the few pods that need it: the OOM kills of the pods OOM-killed in the window, the first and last
// sample of the pods that were not there for the whole window, and the step of each memory peak within its bucket. The subqueries use krr's step and window, so the p95 here is the
// very number krr's CPU request came from.
import type { Report } from '../krr/model';

/** krr's defaults (simple strategy): --history_duration 336 (hours), --timeframe_duration 1.25 (minutes). */
export const defaultHistoryHours = 336;
export const defaultTimeframeMinutes = 1.25;
/** At most this many buckets per downsampled series (model.ts: maxEvidencePoints). */
export const maxBuckets = 200;

export interface EvidenceWindowSpec {
  /** The evaluation time: the scan's time, so the window is the one krr read. */
  end: Date;
  historyHours: number;
  stepSeconds: number;
}

/** The centralized Prometheus' cluster selector: krr's `--prometheus-label NAME -l VALUE`. */
export interface ClusterSelector {
  label: string;
  value: string;
}

export type EvidenceQueryName = 'cpu' | 'memory' | 'events' | 'owners' | 'series' | 'oomKills' | 'coverage' | 'peaks';

export type EvidenceQuery =
  | { name: EvidenceQueryName; type: 'instant'; query: string; time: number }
  | { name: EvidenceQueryName; type: 'range'; query: string; start: number; end: number; step: number };

const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The window of a report: krr's own history and step from its strategy settings (defaults when absent). */
export function windowOfReport(report: Pick<Report, 'strategy'>, end: Date): EvidenceWindowSpec {
  const settings = report.strategy.settings;
  const hours = positive(settings['history_duration']) ?? defaultHistoryHours;
  const minutes = positive(settings['timeframe_duration']) ?? defaultTimeframeMinutes;
  return { end, historyHours: hours, stepSeconds: Math.round(minutes * 60 * 1000) / 1000 };
}

function positive(value: unknown): number | undefined {
  const number = typeof value === 'string' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) && number > 0 ? number : undefined;
}

/** A PromQL string literal: krr interpolates the value raw; escaping changes nothing for a real name and stops an injected `"`. */
export function promString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** krr's cluster fragment: `, <label>="<value>"` appended to every selector; empty without a centralized Prometheus. */
export function clusterFragment(cluster: ClusterSelector | undefined): string {
  if (!cluster) return '';
  if (!labelNamePattern.test(cluster.label)) throw new Error(`"${cluster.label.slice(0, 100)}" is not a Prometheus label name (krr.prometheusLabel)`);
  return `, ${cluster.label}=${promString(cluster.value)}`;
}

/** Seconds as a PromQL duration (whole milliseconds; `75s`, `1209600s`). */
export function duration(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * Bucket width of the downsampled series: a whole number of krr steps, dividing the window exactly when it can
 * (336 h at 75 s: 16,128 steps in 192 buckets of 84), so the buckets together hold exactly krr's subquery points.
 */
export function bucketOf(window: EvidenceWindowSpec): { seconds: number; count: number } {
  const windowSeconds = window.historyHours * 3600;
  const steps = Math.max(1, Math.floor(windowSeconds / window.stepSeconds + 1e-9));
  const least = Math.max(1, Math.ceil(steps / maxBuckets));
  let perBucket = least;
  for (let k = least; k <= least * 2 && k <= steps; k++) {
    if (steps % k === 0) {
      perBucket = k;
      break;
    }
  }
  const seconds = perBucket * window.stepSeconds;
  return { seconds, count: Math.min(maxBuckets, Math.ceil(steps / perBucket)) };
}

/** Beyond the window, for the OOMKilled reason series Prometheus' look-back (5 min by default) lets the first steps see. */
const oomLookbackMarginSeconds = 3600;
/** Above this many pods named for a follow-up query (OOM kills, coverage), it runs without a pod selector (a shorter query). */
export const maxPodsSelected = 100;

/** Tags one branch of a batched query with the signal it carries (`or` keeps both: their label sets differ). */
function tagged(signal: string, expression: string): string {
  return `label_replace(${expression}, "signal", "${signal}", "", "")`;
}

/** Where the reader takes a signal's statistics and series from: PromQL, or the raw samples (cpuFromSamples.ts, memoryFromSamples.ts). */
export type SignalSource = 'promql' | 'samples';

/**
 * The queries of one namespace (five, whatever its size): CPU statistics, memory statistics and coverage, the
 * events (throttling, restarts, OOM kills), the owners of its pods, and both downsampled series in one range query.
 * A signal from `samples` leaves out its statistics and its series (cpuQueries and memoryQueries ask them of PromQL
 * where the samples cannot be used).
 */
export function namespaceQueries(namespace: string, window: EvidenceWindowSpec, cluster?: ClusterSelector, sources: { cpu: SignalSource; memory: SignalSource } = { cpu: 'promql', memory: 'promql' }): EvidenceQuery[] {
  const all = allQueries(namespace, window, cluster);
  const cpu = sources.cpu === 'promql';
  const memory = sources.memory === 'promql';
  const series = cpu && memory ? [all.series] : cpu ? [all.cpuSeries] : memory ? [all.memorySeries] : [];
  return [...(cpu ? [all.cpu] : []), ...(memory ? [all.memory] : []), all.events, all.owners, ...series];
}

/** The CPU statistics and the CPU series of a namespace in PromQL: what namespaceQueries leaves out for CPU from samples. */
export function cpuQueries(namespace: string, window: EvidenceWindowSpec, cluster?: ClusterSelector): EvidenceQuery[] {
  const all = allQueries(namespace, window, cluster);
  return [all.cpu, all.cpuSeries];
}

/** krr's points and the memory series of a namespace in PromQL: what namespaceQueries leaves out for memory from samples. */
export function memoryQueries(namespace: string, window: EvidenceWindowSpec, cluster?: ClusterSelector): EvidenceQuery[] {
  const all = allQueries(namespace, window, cluster);
  return [all.memory, all.memorySeries];
}

/**
 * The remote read of the samples a signal comes from: the selector of the reader's queries, from as far before the
 * window's first step as that step looks back (`lookbackMs`: the rate's step for CPU, the store's lookback delta for
 * memory) to its last step (milliseconds, both inclusive).
 */
export function samplesRead(
  metric: 'container_cpu_usage_seconds_total' | 'container_memory_working_set_bytes',
  namespace: string,
  window: EvidenceWindowSpec,
  cluster: ClusterSelector | undefined,
  lookbackMs: number,
): { matchers: Array<{ type: 'equal' | 'notEqual'; name: string; value: string }>; startMs: number; endMs: number } {
  clusterFragment(cluster);
  const steps = windowSteps(window);
  return {
    matchers: [
      { type: 'equal', name: '__name__', value: metric },
      { type: 'equal', name: 'namespace', value: namespace },
      { type: 'notEqual', name: 'container', value: '' },
      { type: 'notEqual', name: 'container', value: 'POD' },
      ...(cluster ? [{ type: 'equal' as const, name: cluster.label, value: cluster.value }] : []),
    ],
    startMs: steps.firstMs - lookbackMs + 1,
    endMs: steps.lastMs,
  };
}

function allQueries(namespace: string, window: EvidenceWindowSpec, cluster?: ClusterSelector): Record<'cpu' | 'memory' | 'events' | 'owners' | 'series' | 'cpuSeries' | 'memorySeries', EvidenceQuery> {
  const c = clusterFragment(cluster);
  const ns = promString(namespace);
  const step = duration(window.stepSeconds);
  const range = `${duration(window.historyHours * 3600)}`;
  const time = window.end.getTime() / 1000;
  // Containers only: cAdvisor's pod-level cgroup (container="") and the pause container (POD) are not workloads' containers.
  const containers = `namespace=${ns}, container!="", container!="POD"${c}`;
  // krr's CPULoader form: the per-pod rate at krr's step, one series per (container, pod, job).
  const cpuRate = `max(rate(container_cpu_usage_seconds_total{${containers}}[${step}])) by (container, pod, job)`;
  const memory = `max(container_memory_working_set_bytes{${containers}}) by (container, pod, job)`;
  const perPod = (expression: string) => `max by (pod, container) (${expression})`;

  const cpu = [
    tagged('p50', perPod(`quantile_over_time(0.5, ${cpuRate}[${range}:${step}])`)),
    tagged('p95', perPod(`quantile_over_time(0.95, ${cpuRate}[${range}:${step}])`)),
    tagged('p99', perPod(`quantile_over_time(0.99, ${cpuRate}[${range}:${step}])`)),
  ].join(' or ');

  // MemoryAmountLoader: the points krr counts against points_required, one series per (container, pod, job) as krr's
  // own, summed by the reader. A container with one series and a point at every step of the window was there from its
  // first step to its last, so its first and last sample need no evaluation of their own (coverageQuery is asked only
  // for the other pods).
  const memoryStats = tagged('points', `count_over_time(${memory}[${range}:${step}])`);

  const events = [
    tagged('throttled', `sum by (pod, container) (increase(container_cpu_cfs_throttled_periods_total{${containers}}[${range}]))`),
    tagged('periods', `sum by (pod, container) (increase(container_cpu_cfs_periods_total{${containers}}[${range}]))`),
    // A pod's restart count only grows while it lives (kubelet's restartCount): max − min is exact; increase() would extrapolate to fractions.
    tagged('restarts', `max by (pod, container) (max_over_time(kube_pod_container_status_restarts_total{namespace=${ns}${c}}[${range}]) - min_over_time(kube_pod_container_status_restarts_total{namespace=${ns}${c}}[${range}]))`),
    // The containers whose last termination was an OOM kill at some time of the window (with a margin for Prometheus'
    // look-back before its first step): only their pods are counted step by step (oomKillsQuery), which is the costliest
    // evaluation of all when it runs over every pod of a namespace, and a kill is counted only where this series is.
    tagged('oomSeen', `max by (pod, container) (max_over_time(kube_pod_container_status_last_terminated_reason{reason="OOMKilled", namespace=${ns}${c}}[${duration(window.historyHours * 3600 + oomLookbackMarginSeconds)}]))`),
    // krr's MaxOOMKilledMemoryLoader: the memory limit the container had while its last termination was an OOM kill.
    tagged(
      'oomLimit',
      perPod(
        `max_over_time(max(max(kube_pod_container_resource_limits{resource="memory", namespace=${ns}${c}}) by (pod, container, job) * on (pod, container, job) group_left(reason) max(kube_pod_container_status_last_terminated_reason{reason="OOMKilled", namespace=${ns}${c}}) by (pod, container, job, reason)) by (container, pod, job)[${range}:${step}])`,
      ),
    ),
  ].join(' or ');

  // kube-state-metrics' owner series over the window: pod → ReplicaSet/Job/ReplicationController → Deployment/Rollout/CronJob/DeploymentConfig.
  const owner = (metric: string, by: string) => `max by (${by}, owner_kind, owner_name) (max_over_time(${metric}{namespace=${ns}${c}}[${range}]))`;
  const owners = [
    tagged('pod', owner('kube_pod_owner', 'pod')),
    tagged('replicaset', owner('kube_replicaset_owner', 'replicaset')),
    tagged('job', owner('kube_job_owner', 'job_name')),
    tagged('replicationcontroller', owner('kube_replicationcontroller_owner', 'replicationcontroller')),
  ].join(' or ');

  // Bucket maxima: the point at t holds the highest subquery value in (t − bucket, t]. The buckets hold exactly krr's
  // subquery points (steps in (end − window, end]), so the highest bucket IS the CPU and memory max_over_time — one
  // evaluation instead of two; where they cannot tile the window, steps before its start are masked out.
  const bucket = bucketOf(window);
  const width = duration(bucket.seconds);
  const windowStart = time - window.historyHours * 3600;
  const inWindow = (expression: string) => (bucket.count * bucket.seconds > window.historyHours * 3600 + 1e-6 ? `(${expression} and on () (vector(time()) > ${windowStart}))` : expression);
  const cpuBranch = tagged('cpu', perPod(`max_over_time(${inWindow(cpuRate)}[${width}:${step}])`));
  const memoryBranch = tagged('memory', perPod(`max_over_time(${inWindow(memory)}[${width}:${step}])`));
  const downsampled = (query: string): EvidenceQuery => ({ name: 'series', type: 'range', query, start: time - (bucket.count - 1) * bucket.seconds, end: time, step: bucket.seconds });

  return {
    cpu: { name: 'cpu', type: 'instant', query: cpu, time },
    memory: { name: 'memory', type: 'instant', query: memoryStats, time },
    events: { name: 'events', type: 'instant', query: events, time },
    owners: { name: 'owners', type: 'instant', query: owners, time },
    series: downsampled(`${cpuBranch} or ${memoryBranch}`),
    cpuSeries: downsampled(cpuBranch),
    memorySeries: downsampled(memoryBranch),
  };
}

/**
 * `, pod=~"…"` matching exactly these pods (Prometheus anchors `=~`; every RE2 metacharacter escaped, then the string's
 * own), or nothing for every pod (`null`).
 */
function podMatcher(pods: readonly string[] | null): string {
  if (pods === null) return '';
  return `, pod=~${promString(pods.map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'))}`;
}

/**
 * The OOM kills of a namespace's pods that had an OOMKilled last termination in the window (`oomSeen`), or of all its
 * pods (`pods` null). An OOM kill is a restart while the last termination reason is OOMKilled: the restarts of each
 * step, where the reason says so. The step differences telescope, so every restart is counted once whatever the scrape
 * interval. A pod outside `pods` has no OOMKilled reason in the window, so this formula counts 0 for it anyway.
 */
export function oomKillsQuery(namespace: string, window: EvidenceWindowSpec, cluster: ClusterSelector | undefined, pods: readonly string[] | null): EvidenceQuery {
  const c = clusterFragment(cluster);
  const ns = promString(namespace);
  const step = duration(window.stepSeconds);
  const range = duration(window.historyHours * 3600);
  const selected = podMatcher(pods);
  const restartsOf = (offset: string) => `max by (pod, container) (kube_pod_container_status_restarts_total{namespace=${ns}${selected}${c}}${offset})`;
  const oomReason = `max by (pod, container) (kube_pod_container_status_last_terminated_reason{reason="OOMKilled", namespace=${ns}${selected}${c}})`;
  const query = tagged('oomKills', `sum by (pod, container) (sum_over_time((clamp_min(${restartsOf('')} - ${restartsOf(` offset ${step}`)}, 0) * on (pod, container) ${oomReason})[${range}:${step}]))`);
  return { name: 'oomKills', type: 'instant', query, time: window.end.getTime() / 1000 };
}

/**
 * The steps of krr's subquery over the window (Prometheus 3: left-open, `(end − window, end]`, at multiples of the step
 * since the epoch), in whole milliseconds: the first, the last, and how many.
 */
export function windowSteps(window: EvidenceWindowSpec): { firstMs: number; lastMs: number; count: number } {
  const stepMs = Math.round(window.stepSeconds * 1000);
  const endMs = window.end.getTime();
  const lastMs = Math.floor(endMs / stepMs) * stepMs;
  const firstMs = (Math.floor((endMs - Math.round(window.historyHours * 3600 * 1000)) / stepMs) + 1) * stepMs;
  return { firstMs, lastMs, count: Math.max(0, Math.round((lastMs - firstMs) / stepMs) + 1) };
}

/**
 * The first and last step with a working-set sample of the named pods (`pods` null: every pod of the namespace): the
 * subquery's own step times, to krr's step.
 */
export function coverageQuery(namespace: string, window: EvidenceWindowSpec, cluster: ClusterSelector | undefined, pods: readonly string[] | null): EvidenceQuery {
  const c = clusterFragment(cluster);
  const selected = podMatcher(pods);
  const memory = `max(container_memory_working_set_bytes{namespace=${promString(namespace)}${selected}, container!="", container!="POD"${c}}) by (container, pod, job)`;
  const step = duration(window.stepSeconds);
  const range = duration(window.historyHours * 3600);
  const query = [
    tagged('first', `min by (pod, container) (min_over_time(timestamp(${memory})[${range}:${step}]))`),
    tagged('last', `max by (pod, container) (max_over_time(timestamp(${memory})[${range}:${step}]))`),
  ].join(' or ');
  return { name: 'coverage', type: 'instant', query, time: window.end.getTime() / 1000 };
}

/** A container's memory peak as the downsampled series showed it: its value, the end of the bucket it is in, and the pods that reached it there. */
export interface PeakInBucket {
  /** Names the answer's series (`target` label): the container's index in the reader's list. */
  tag: string;
  container: string;
  pods: readonly string[];
  /** Bytes, exactly as Prometheus answered it (its decimal form parses back to the same double). */
  value: number;
  /** Unix seconds: the end of the bucket (a `series` timestamp). */
  bucketEnd: number;
}

/** Containers asked in one peak query at most (about 250 bytes each; proxies in front of Prometheus often cap a body at 1 MB). */
export const maxPeaksAsked = 500;

/**
 * When each container's working set first reached its peak, to krr's step: one branch per container that reads only
 * the bucket the series found the peak in (the subquery shifted to that bucket's end) and only the pods that reached
 * it there, so it costs next to nothing however long the window. The steps are the same as the series' (multiples of
 * the step, left-open), and the values the same samples, so `>=` the peak is true first at the peak's own step.
 */
export function peakTimeQuery(namespace: string, window: EvidenceWindowSpec, cluster: ClusterSelector | undefined, peaks: readonly PeakInBucket[]): EvidenceQuery {
  const c = clusterFragment(cluster);
  const ns = promString(namespace);
  const step = duration(window.stepSeconds);
  const width = duration(bucketOf(window).seconds);
  const endMs = window.end.getTime();
  const branches = peaks.map((peak) => {
    if (!Number.isFinite(peak.value)) throw new Error(`a memory peak of ${peak.value} is not a number PromQL can compare with`);
    const shiftMs = Math.max(0, Math.round(endMs - peak.bucketEnd * 1000));
    const memory = `max(container_memory_working_set_bytes{namespace=${ns}${podMatcher(peak.pods)}, container=${promString(peak.container)}${c}}) by (container, pod, job)`;
    const firstAtPeak = `min(min_over_time(timestamp(${memory} >= ${String(peak.value)})[${width}:${step}]${shiftMs > 0 ? ` offset ${duration(shiftMs / 1000)}` : ''}))`;
    return `label_replace(${firstAtPeak}, "target", ${promString(peak.tag)}, "", "")`;
  });
  return { name: 'peaks', type: 'instant', query: branches.join(' or '), time: endMs / 1000 };
}
