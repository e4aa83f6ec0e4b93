// A usage-history generator: 14 days (krr's default window) of the series krr v1.29 reads, as OpenMetrics text
// (timestamps in seconds, ending with `# EOF`) for `promtool tsdb create-blocks-from openmetrics`. Pure and
// deterministic: the same workloads, end and seed give the same text. README.md beside this file lists the series,
// their labels, the patterns' closed forms and the output's size.
import { closeSync, openSync, writeSync } from 'node:fs';
import { cpuRate, DAY, memoryAt, oomKillAt, PATTERNS, type Levels, type PatternName, type PodWindow } from './patterns';

export { PATTERNS, type PatternName } from './patterns';

export type WorkloadKind = 'Deployment' | 'Rollout' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob';

export interface Resources {
  /** cores */
  cpu?: number;
  /** bytes */
  memory?: number;
}

export interface ContainerUsage {
  name: string;
  requests?: Resources;
  limits?: Resources;
  pattern: PatternName;
  /** CPU cores at rest (default 0.25) */
  cpu?: number;
  /** working-set bytes at rest (default 128 MiB) */
  memory?: number;
  /** spike: CPU during the spike (default 8 × cpu) */
  spikeCpu?: number;
  /** spike: memory during the spike; leak: memory it ends at (default 2 × memory) */
  peakMemory?: number;
  /** throttled: share of CFS periods throttled (default 0.5) */
  throttledShare?: number;
}

export interface WorkloadUsage {
  /** the `cluster` label value of this workload's series (the centralized case); none when absent */
  cluster?: string;
  namespace: string;
  kind: WorkloadKind;
  name: string;
  containers: ContainerUsage[];
  /** pods alive at a time (default 1) */
  pods?: number;
  /** pod generations over the window, each a new ReplicaSet / Job (default 1; StatefulSets keep their names) */
  generations?: number;
}

export interface UsageHistoryOptions {
  workloads: WorkloadUsage[];
  /** the history ends here (its last sample is at or just before it) */
  end: Date;
  /** days of history (default 14) */
  days?: number;
  /** cAdvisor scrape interval in seconds (default 30); krr's rate windows are 75 s, so at most 37 */
  interval?: number;
  /** memory working set and CFS counters' interval in seconds (default 60: krr reads memory through 75 s steps) */
  gaugeInterval?: number;
  /** kube-state-metrics series' interval in seconds (default 240; below Prometheus' 5-minute lookback) */
  stateInterval?: number;
  /** names' seed (default 1) */
  seed?: number;
}

export interface PodHistory {
  cluster: string | undefined;
  namespace: string;
  workload: WorkloadUsage;
  name: string;
  /** the ReplicaSet or Job that owns the pod, or the workload itself */
  owner: { kind: string; name: string };
  window: PodWindow;
  /** no longer running at the end of the history */
  deleted: boolean;
}

export interface UsageHistoryStats {
  series: number;
  samples: number;
  bytes: number;
}

const MIB = 1024 * 1024;
/** Kubernetes' safe alphabet for generated names (no vowels, no 0/1/3). */
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';
const NEW_AGE = 30 * 60;
const NODE = 'node-1';

/** mulberry32: a small seeded PRNG, enough for names. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hashString(text: string): number {
  let hash = 2166136261;
  for (let index = 0; index < text.length; index += 1) hash = Math.imul(hash ^ text.charCodeAt(index), 16777619);
  return hash >>> 0;
}

function token(next: () => number, length: number): string {
  let result = '';
  for (let index = 0; index < length; index += 1) result += SAFE[Math.floor(next() * SAFE.length)];
  return result;
}

function settings(options: UsageHistoryOptions): { interval: number; gaugeInterval: number; stateInterval: number; first: number; last: number } {
  const interval = options.interval ?? 30;
  const gaugeInterval = options.gaugeInterval ?? 2 * interval;
  const stateInterval = options.stateInterval ?? 8 * interval;
  if (!Number.isInteger(interval) || interval < 1 || interval > 37) throw new Error(`interval ${interval}: krr's 75 s rate windows need a whole number of seconds ≤ 37`);
  for (const [name, value] of [['gaugeInterval', gaugeInterval], ['stateInterval', stateInterval]] as const) {
    // Multiples of the interval keep every series' samples on the pods' common grid; Prometheus looks back 5 minutes.
    if (!Number.isInteger(value) || value % interval !== 0 || value >= 300) throw new Error(`${name} ${value}: a multiple of interval below 300 s`);
  }
  for (const workload of options.workloads) {
    for (const container of workload.containers) {
      if (!PATTERNS.includes(container.pattern)) throw new Error(`unknown pattern ${String(container.pattern)}`);
      if (container.pattern === 'oomkill' && container.limits?.memory === undefined) throw new Error(`${workload.name}/${container.name}: oomkill needs a memory limit`);
      if (container.pattern === 'throttled' && container.limits?.cpu === undefined) throw new Error(`${workload.name}/${container.name}: throttled needs a CPU limit`);
    }
  }
  const last = Math.floor(options.end.getTime() / 1000 / interval) * interval;
  const first = last - (options.days ?? 14) * DAY;
  return { interval, gaugeInterval, stateInterval, first, last };
}

/** The pods each workload had over the window, named as their controllers name them. */
export function podsOf(options: UsageHistoryOptions): PodHistory[] {
  const { interval, first, last } = settings(options);
  const seed = options.seed ?? 1;
  const pods: PodHistory[] = [];
  for (const workload of options.workloads) {
    const next = random(seed ^ hashString(`${workload.cluster ?? ''}/${workload.namespace}/${workload.kind}/${workload.name}`));
    const isNew = workload.containers.some((container) => container.pattern === 'new');
    const start = isNew ? last - NEW_AGE : first;
    const generations = isNew || workload.kind === 'StatefulSet' ? 1 : Math.max(1, workload.generations ?? 1);
    const span = Math.floor((last - start) / generations / interval) * interval;
    const count = Math.max(1, workload.pods ?? 1);
    for (let generation = 0; generation < generations; generation += 1) {
      const from = start + generation * span;
      const to = generation === generations - 1 ? last : from + span - interval;
      let owner: { kind: string; name: string } = { kind: workload.kind, name: workload.name };
      if (workload.kind === 'Deployment' || workload.kind === 'Rollout') owner = { kind: 'ReplicaSet', name: `${workload.name}-${token(next, 10)}` };
      if (workload.kind === 'CronJob') owner = { kind: 'Job', name: `${workload.name}-${Math.floor(from / 60)}` };
      for (let index = 0; index < count; index += 1) {
        const name = workload.kind === 'StatefulSet' ? `${workload.name}-${index}` : `${owner.name}-${token(next, 5)}`;
        pods.push({ cluster: workload.cluster, namespace: workload.namespace, workload, name, owner, window: { start: from, end: to, interval }, deleted: to !== last });
      }
    }
  }
  return pods;
}

function levelsOf(container: ContainerUsage): Levels {
  const cpu = container.cpu ?? 0.25;
  const memory = container.memory ?? 128 * MIB;
  return {
    cpu,
    memory,
    spikeCpu: container.spikeCpu ?? 8 * cpu,
    peakMemory: container.peakMemory ?? 2 * memory,
    memoryLimit: container.limits?.memory ?? null,
    cpuLimit: container.limits?.cpu ?? null,
    throttledShare: container.throttledShare ?? 0.5,
  };
}

function escape(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

function labelText(labels: Record<string, string | undefined>): string {
  const parts = Object.entries(labels)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `${name}="${escape(value)}"`);
  return `{${parts.join(',')}}`;
}

interface Series {
  name: string;
  labels: Record<string, string | undefined>;
  /** [time, value] pairs in time order */
  samples: Iterable<[number, number]>;
}

interface Family {
  /** the family's name (a counter's without `_total`) */
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  series: () => Iterable<Series>;
}

function* times(from: number, to: number, step: number): Generator<number> {
  for (let t = from; t <= to; t += step) yield t;
  // The state series end on the pod's last sample, so "Running now" is visible at the end of the history.
  if (to > from && (to - from) % step !== 0) yield to;
}

function* containersOf(pods: PodHistory[]): Generator<{ pod: PodHistory; container: ContainerUsage; levels: Levels }> {
  for (const pod of pods) for (const container of pod.workload.containers) yield { pod, container, levels: levelsOf(container) };
}

/** The CPU counter: the rate integrated over each interval (exact for piecewise-constant patterns), reset by an OOM kill. */
function* cpuCounter(pattern: PatternName, levels: Levels, pod: PodWindow): Generator<[number, number]> {
  const kill = pattern === 'oomkill' ? oomKillAt(pod) : null;
  let total = 0;
  for (let t = pod.start; t <= pod.end; t += pod.interval) {
    if (t > pod.start) total += cpuRate(pattern, levels, pod, t - pod.interval) * pod.interval;
    if (kill !== null && t === kill + pod.interval) total = 0; // the restarted container's counter starts over
    yield [t, total];
  }
}

function families(options: UsageHistoryOptions): Family[] {
  const { gaugeInterval, stateInterval, last } = settings(options);
  const pods = podsOf(options);
  const kubelet = (pod: PodHistory, container: string) => ({ cluster: pod.cluster, namespace: pod.namespace, pod: pod.name, container, job: 'kubelet' });
  const ksm = (pod: PodHistory) => ({ cluster: pod.cluster, namespace: pod.namespace, pod: pod.name, job: 'kube-state-metrics' });
  const constant = (window: PodWindow, value: (t: number) => number, from = window.start) =>
    (function* (): Generator<[number, number]> {
      for (const t of times(from, window.end, stateInterval)) yield [t, value(t)];
    })();
  const limited = (pod: PodHistory) => pod.workload.containers.filter((container) => container.limits?.cpu !== undefined);
  return [
    {
      name: 'container_cpu_usage_seconds',
      type: 'counter',
      help: 'Cumulative cpu time consumed in seconds.',
      series: function* () {
        for (const { pod, container, levels } of containersOf(pods)) {
          yield { name: 'container_cpu_usage_seconds_total', labels: kubelet(pod, container.name), samples: cpuCounter(container.pattern, levels, pod.window) };
        }
      },
    },
    {
      name: 'container_memory_working_set_bytes',
      type: 'gauge',
      help: 'Current working set in bytes.',
      series: function* () {
        for (const { pod, container, levels } of containersOf(pods)) {
          const samples = (function* (): Generator<[number, number]> {
            for (const t of times(pod.window.start, pod.window.end, gaugeInterval)) yield [t, Math.round(memoryAt(container.pattern, levels, pod.window, t))];
          })();
          yield { name: 'container_memory_working_set_bytes', labels: kubelet(pod, container.name), samples };
        }
      },
    },
    {
      name: 'container_cpu_cfs_periods',
      type: 'counter',
      help: 'Number of elapsed enforcement period intervals.',
      series: function* () {
        // cAdvisor reports CFS counters only for containers with a CPU quota: 10 periods of 100 ms a second.
        for (const pod of pods) {
          for (const container of limited(pod)) {
            const samples = (function* (): Generator<[number, number]> {
              for (const t of times(pod.window.start, pod.window.end, gaugeInterval)) yield [t, 10 * (t - pod.window.start)];
            })();
            yield { name: 'container_cpu_cfs_periods_total', labels: kubelet(pod, container.name), samples };
          }
        }
      },
    },
    {
      name: 'container_cpu_cfs_throttled_periods',
      type: 'counter',
      help: 'Number of throttled period intervals.',
      series: function* () {
        for (const pod of pods) {
          for (const container of limited(pod)) {
            const share = container.pattern === 'throttled' ? levelsOf(container).throttledShare : 0;
            const samples = (function* (): Generator<[number, number]> {
              for (const t of times(pod.window.start, pod.window.end, gaugeInterval)) yield [t, 10 * share * (t - pod.window.start)];
            })();
            yield { name: 'container_cpu_cfs_throttled_periods_total', labels: kubelet(pod, container.name), samples };
          }
        }
      },
    },
    ...(['requests', 'limits'] as const).map(
      (side): Family => ({
        name: `kube_pod_container_resource_${side}`,
        type: 'gauge',
        help: `The number of ${side} resource requested by a container.`,
        series: function* () {
          for (const { pod, container } of containersOf(pods)) {
            const values = container[side];
            for (const resource of ['cpu', 'memory'] as const) {
              const value = values?.[resource];
              if (value === undefined) continue;
              const labels = { ...ksm(pod), container: container.name, node: NODE, resource, unit: resource === 'cpu' ? 'core' : 'byte' };
              yield { name: `kube_pod_container_resource_${side}`, labels, samples: constant(pod.window, () => value) };
            }
          }
        },
      }),
    ),
    {
      name: 'kube_pod_container_status_restarts',
      type: 'counter',
      help: 'The number of container restarts per container.',
      series: function* () {
        for (const { pod, container } of containersOf(pods)) {
          const kill = container.pattern === 'oomkill' ? oomKillAt(pod.window) : Number.POSITIVE_INFINITY;
          yield { name: 'kube_pod_container_status_restarts_total', labels: { ...ksm(pod), container: container.name }, samples: constant(pod.window, (t) => (t > kill ? 1 : 0)) };
        }
      },
    },
    {
      name: 'kube_pod_container_status_last_terminated_reason',
      type: 'gauge',
      help: 'Describes the last reason the container was in terminated state.',
      series: function* () {
        for (const { pod, container } of containersOf(pods)) {
          if (container.pattern !== 'oomkill') continue;
          const kill = oomKillAt(pod.window);
          const from = pod.window.start + Math.ceil((kill + pod.window.interval - pod.window.start) / stateInterval) * stateInterval;
          if (from > pod.window.end) continue;
          yield { name: 'kube_pod_container_status_last_terminated_reason', labels: { ...ksm(pod), container: container.name, reason: 'OOMKilled' }, samples: constant(pod.window, () => 1, from) };
        }
      },
    },
    {
      name: 'kube_pod_owner',
      type: 'gauge',
      help: "Information about the Pod's owner.",
      series: function* () {
        for (const pod of pods) {
          const labels = { ...ksm(pod), owner_kind: pod.owner.kind, owner_name: pod.owner.name, owner_is_controller: 'true' };
          yield { name: 'kube_pod_owner', labels, samples: constant(pod.window, () => 1) };
        }
      },
    },
    {
      name: 'kube_pod_status_phase',
      type: 'gauge',
      help: 'The pods current phase.',
      series: function* () {
        for (const pod of pods) yield { name: 'kube_pod_status_phase', labels: { ...ksm(pod), phase: 'Running' }, samples: constant(pod.window, () => 1) };
      },
    },
    {
      name: 'kube_replicaset_owner',
      type: 'gauge',
      help: 'Information about the ReplicaSet owner.',
      // An old ReplicaSet stays (scaled to 0) until the end: Deployments keep their revision history.
      series: function* () {
        for (const pod of uniqueOwners(pods, 'ReplicaSet')) {
          const labels = { cluster: pod.cluster, namespace: pod.namespace, replicaset: pod.owner.name, owner_kind: pod.workload.kind, owner_name: pod.workload.name, owner_is_controller: 'true', job: 'kube-state-metrics' };
          yield { name: 'kube_replicaset_owner', labels, samples: constant({ ...pod.window, end: last }, () => 1) };
        }
      },
    },
    {
      name: 'kube_job_owner',
      type: 'gauge',
      help: 'Information about the Job owner.',
      series: function* () {
        for (const pod of uniqueOwners(pods, 'Job')) {
          const owner = pod.workload.kind === 'CronJob' ? { owner_kind: 'CronJob', owner_name: pod.workload.name } : { owner_kind: '<none>', owner_name: '<none>' };
          const labels = { cluster: pod.cluster, namespace: pod.namespace, job_name: pod.owner.name, ...owner, owner_is_controller: pod.workload.kind === 'CronJob' ? 'true' : 'false', job: 'kube-state-metrics' };
          yield { name: 'kube_job_owner', labels, samples: constant(pod.window, () => 1) };
        }
      },
    },
  ];
}

function uniqueOwners(pods: PodHistory[], kind: string): PodHistory[] {
  const seen = new Set<string>();
  return pods.filter((pod) => {
    const key = `${pod.cluster ?? ''}/${pod.namespace}/${pod.owner.name}`;
    if (pod.owner.kind !== kind || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The OpenMetrics text in chunks (one per family header and per series), so 100 MB never sits in one string. */
export function* usageHistoryChunks(options: UsageHistoryOptions, stats?: UsageHistoryStats): Generator<string> {
  const counts = stats ?? { series: 0, samples: 0, bytes: 0 };
  const emit = (text: string) => {
    counts.bytes += Buffer.byteLength(text);
    return text;
  };
  for (const family of families(options)) {
    let header = `# HELP ${family.name} ${family.help}\n# TYPE ${family.name} ${family.type}\n`;
    for (const series of family.series()) {
      const prefix = `${series.name}${labelText(series.labels)} `;
      const lines: string[] = [];
      for (const [t, value] of series.samples) lines.push(`${prefix}${value} ${t}\n`);
      if (lines.length === 0) continue;
      counts.series += 1;
      counts.samples += lines.length;
      yield emit(header + lines.join(''));
      header = '';
    }
  }
  yield emit('# EOF\n');
}

/** The whole OpenMetrics text (small worlds and tests). */
export function generateUsageHistory(options: UsageHistoryOptions): string {
  return [...usageHistoryChunks(options)].join('');
}

/** Writes the OpenMetrics text to `file` chunk by chunk; returns how many series, samples and bytes it holds. */
export function writeUsageHistory(file: string, options: UsageHistoryOptions): UsageHistoryStats {
  const stats: UsageHistoryStats = { series: 0, samples: 0, bytes: 0 };
  const fd = openSync(file, 'w', 0o600);
  try {
    for (const chunk of usageHistoryChunks(options, stats)) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  return stats;
}
