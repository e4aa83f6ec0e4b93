// krr's CPU statistics computed from the raw counter samples (remote read) with Prometheus 3's own arithmetic, so
// that they are the very numbers PromQL gives for the reader's queries (queries.ts): the per-series rate over a
// left-open window of one step at every step of krr's subquery (promql/functions.go extrapolatedRate), the max by
// (container, pod, job), quantile_over_time's interpolation (promql/quantile.go), then the max by (pod, container); and
// the chart's bucket maxima at the range query's own timestamps. Prometheus evaluates every rate step of a 14-day
// window once per quantile asked; this evaluates them once for all. Anything PromQL would treat specially (a NaN
// or infinite sample) makes the namespace unusable here (null): the reader then asks PromQL.
import { bucketOf, windowSteps, type EvidenceWindowSpec } from './queries';

export interface SampleSeries {
  labels: Readonly<Record<string, string>>;
  /** Milliseconds, rising. */
  times: Float64Array;
  values: Float64Array;
}

type Row = { metric: Record<string, string>; value?: readonly [number, number]; values?: ReadonlyArray<readonly [number, number]> };

/** The `cpu` answer (p50/p95/p99) and the CPU branch of the `series` answer, as Prometheus would have answered them. */
export interface CpuAnswers {
  cpu: Row[];
  series: Row[];
}

const quantiles: ReadonlyArray<readonly [string, number]> = [
  ['p50', 0.5],
  ['p95', 0.95],
  ['p99', 0.99],
];

/** Go's time.Duration.Seconds() of a whole number of milliseconds (seconds and the rest added, as Go does). */
function durationSeconds(ms: number): number {
  return Math.trunc(ms / 1000) + ((ms % 1000) * 1e6) / 1e9;
}

/**
 * krr's CPU numbers from the samples of `container_cpu_usage_seconds_total` over the window (and one step before it),
 * or null when a sample is NaN or infinite (PromQL's comparisons and sorting treat NaN apart; the reader asks PromQL instead).
 * `series` is read once, one series at a time (the reader decodes each as it comes).
 */
export function cpuAnswersFromSamples(series: Iterable<SampleSeries>, window: EvidenceWindowSpec): CpuAnswers | null {
  const steps = windowSteps(window);
  const stepMs = Math.round(window.stepSeconds * 1000);
  const rangeSeconds = durationSeconds(stepMs);
  // One rate per step per (container, pod, job): the max over that key's series (`max(rate(…)) by (container, pod, job)`).
  const byKey = new Map<string, { pod: string; container: string; job: string; rates: Float64Array }>();
  for (const one of series) {
    for (const value of one.values) if (!Number.isFinite(value)) return null;
    const pod = one.labels.pod ?? '';
    const container = one.labels.container ?? '';
    const job = one.labels.job ?? '';
    const key = `${container}\0${pod}\0${job}`;
    let entry = byKey.get(key);
    if (!entry) byKey.set(key, (entry = { pod, container, job, rates: new Float64Array(steps.count).fill(Number.NaN) }));
    ratesAtSteps(one, steps.firstMs, stepMs, steps.count, rangeSeconds, entry.rates);
  }

  const cpu: Row[] = [];
  const perPod = new Map<string, { pod: string; container: string; quantiles: number[]; buckets: Map<number, number> }>();
  const time = window.end.getTime() / 1000;
  const bucket = bucketOf(window);
  const bucketMs = Math.round(bucket.seconds * 1000);
  const endMs = window.end.getTime();
  const windowStartMs = endMs - Math.round(window.historyHours * 3600 * 1000);
  const firstBucketEndMs = endMs - (bucket.count - 1) * bucketMs;
  for (const entry of byKey.values()) {
    const present = entry.rates.filter((rate) => !Number.isNaN(rate));
    if (present.length === 0) continue;
    present.sort();
    const values = quantiles.map(([, q]) => quantile(q, present));
    const podKey = `${entry.pod}\0${entry.container}`;
    let known = perPod.get(podKey);
    if (!known) perPod.set(podKey, (known = { pod: entry.pod, container: entry.container, quantiles: values.map(() => Number.NEGATIVE_INFINITY), buckets: new Map() }));
    known.quantiles = known.quantiles.map((value, index) => Math.max(value, values[index] as number));
    // Bucket maxima: the point at T holds the highest step value in (T − bucket, T], steps after the window's start.
    for (let index = 0; index < steps.count; index++) {
      const rate = entry.rates[index] as number;
      if (Number.isNaN(rate)) continue;
      const stepTime = steps.firstMs + index * stepMs;
      if (stepTime <= windowStartMs) continue;
      const k = Math.ceil((stepTime - firstBucketEndMs) / bucketMs);
      if (k < 0 || k >= bucket.count) continue;
      const bucketEnd = firstBucketEndMs + k * bucketMs;
      const highest = known.buckets.get(bucketEnd);
      if (highest === undefined || rate > highest) known.buckets.set(bucketEnd, rate);
    }
  }
  const chart: Row[] = [];
  for (const { pod, container, quantiles: values, buckets } of perPod.values()) {
    quantiles.forEach(([signal], index) => cpu.push({ metric: { pod, container, signal }, value: [time, values[index] as number] }));
    if (buckets.size > 0) chart.push({ metric: { pod, container, signal: 'cpu' }, values: [...buckets].sort((a, b) => a[0] - b[0]).map(([at, value]) => [at / 1000, value] as const) });
  }
  return { cpu, series: chart };
}

/**
 * The rate at each step t = firstMs + i·stepMs over (t − range, t] (Prometheus 3's left-open range), written into
 * `out[i]` where it is higher than what is there (NaN: none yet); a step with fewer than two samples has none.
 */
function ratesAtSteps(series: SampleSeries, firstMs: number, stepMs: number, count: number, rangeSeconds: number, out: Float64Array): void {
  const { times, values } = series;
  let from = 0;
  let to = 0;
  for (let index = 0; index < count; index++) {
    const t = firstMs + index * stepMs;
    const rangeStart = t - stepMs;
    while (from < times.length && (times[from] as number) <= rangeStart) from++;
    if (to < from) to = from;
    while (to < times.length && (times[to] as number) <= t) to++;
    const samples = to - from;
    if (samples < 2) continue;
    const rate = extrapolatedRate(times, values, from, to, rangeStart, t, rangeSeconds);
    const known = out[index] as number;
    if (Number.isNaN(known) || rate > known) out[index] = rate;
  }
}

/** promql/functions.go extrapolatedRate for a float counter without start timestamps, isRate: the same operations in the same order. */
function extrapolatedRate(times: Float64Array, values: Float64Array, from: number, to: number, rangeStart: number, rangeEnd: number, rangeSeconds: number): number {
  const last = to - 1;
  const firstT = times[from] as number;
  const lastT = times[last] as number;
  const first = values[from] as number;
  let result = (values[last] as number) - first;
  for (let index = from + 1; index <= last; index++) {
    const previous = values[index - 1] as number;
    if ((values[index] as number) < previous) result += previous;
  }
  let durationToStart = (firstT - rangeStart) / 1000;
  let durationToEnd = (rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (to - from - 1);
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;
  if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2;
  let durationToZero = durationToStart;
  if (result > 0 && first >= 0) durationToZero = sampledInterval * (first / result);
  if (durationToZero < durationToStart) durationToStart = durationToZero;
  if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2;
  let factor = 1.0;
  if (sampledInterval !== 0) factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  factor /= rangeSeconds;
  return result * factor;
}

/** promql/quantile.go quantile over ascending values (no NaN). */
function quantile(q: number, sorted: Float64Array): number {
  const n = sorted.length;
  const rank = q * (n - 1);
  const lowerIndex = Math.max(0, Math.floor(rank));
  const upperIndex = Math.min(n - 1, lowerIndex + 1);
  const weight = rank - Math.floor(rank);
  if (weight === 0) return sorted[lowerIndex] as number;
  return (sorted[lowerIndex] as number) * (1 - weight) + (sorted[upperIndex] as number) * weight;
}
