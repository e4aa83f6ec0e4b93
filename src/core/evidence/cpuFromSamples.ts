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
  /** NaN only for a staleness marker (where they are kept: memoryFromSamples). */
  values: Float64Array;
  /** A sample other than a staleness marker was NaN or infinite. */
  nonFinite: boolean;
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
 * `series` is read once, one series at a time (the reader decodes each as it comes, and yields to the event loop between them).
 */
export async function cpuAnswersFromSamples(series: AsyncIterable<SampleSeries> | Iterable<SampleSeries>, window: EvidenceWindowSpec): Promise<CpuAnswers | null> {
  const steps = windowSteps(window);
  const stepMs = Math.round(window.stepSeconds * 1000);
  const rangeSeconds = durationSeconds(stepMs);
  // One rate per step per (container, pod, job): the max over that key's series (`max(rate(…)) by (container, pod, job)`).
  const byKey = new Map<string, { pod: string; container: string; job: string; rates: Float64Array }>();
  for await (const one of series) {
    if (one.nonFinite) return null;
    const pod = one.labels.pod ?? '';
    const container = one.labels.container ?? '';
    const job = one.labels.job ?? '';
    const key = `${container}\0${pod}\0${job}`;
    let entry = byKey.get(key);
    if (!entry) byKey.set(key, (entry = { pod, container, job, rates: new Float64Array(steps.count).fill(Number.NaN) }));
    ratesAtSteps(one, steps.firstMs, stepMs, steps.count, rangeSeconds, entry.rates);
  }

  const perPod = new Map<string, { pod: string; container: string; quantiles: number[]; buckets: Float64Array }>();
  const scratch = new Float64Array(steps.count);
  const time = window.end.getTime() / 1000;
  const bucket = bucketOf(window);
  const bucketMs = Math.round(bucket.seconds * 1000);
  const endMs = window.end.getTime();
  const windowStartMs = endMs - Math.round(window.historyHours * 3600 * 1000);
  const firstBucketEndMs = endMs - (bucket.count - 1) * bucketMs;
  for (const entry of byKey.values()) {
    let length = 0;
    for (const rate of entry.rates) if (rate === rate) scratch[length++] = rate;
    if (length === 0) continue;
    const values = quantilesOf(scratch.subarray(0, length));
    const podKey = `${entry.pod}\0${entry.container}`;
    let known = perPod.get(podKey);
    if (!known) perPod.set(podKey, (known = { pod: entry.pod, container: entry.container, quantiles: values.map(() => Number.NEGATIVE_INFINITY), buckets: new Float64Array(bucket.count).fill(Number.NaN) }));
    known.quantiles = known.quantiles.map((value, index) => Math.max(value, values[index] as number));
    // Bucket maxima: the point at T holds the highest step value in (T − bucket, T], steps after the window's start.
    const buckets = known.buckets;
    for (let index = 0; index < steps.count; index++) {
      const rate = entry.rates[index] as number;
      if (rate !== rate) continue; // NaN: no rate at this step
      const stepTime = steps.firstMs + index * stepMs;
      if (stepTime <= windowStartMs) continue;
      const k = Math.ceil((stepTime - firstBucketEndMs) / bucketMs);
      if (k < 0 || k >= bucket.count) continue;
      const highest = buckets[k] as number;
      if (highest !== highest || rate > highest) buckets[k] = rate;
    }
  }
  const cpu: Row[] = [];
  const chart: Row[] = [];
  for (const { pod, container, quantiles: values, buckets } of perPod.values()) {
    quantiles.forEach(([signal], index) => cpu.push({ metric: { pod, container, signal }, value: [time, values[index] as number] }));
    const points: Array<readonly [number, number]> = [];
    buckets.forEach((value, k) => {
      if (value === value) points.push([(firstBucketEndMs + k * bucketMs) / 1000, value]);
    });
    if (points.length > 0) chart.push({ metric: { pod, container, signal: 'cpu' }, values: points });
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

/**
 * promql/quantile.go's quantile for each of krr's three quantiles (ascending) of values without NaN: the values at the
 * sorted positions it interpolates between, found by selection (reorders `values`) instead of a whole sort — the same
 * two values, so the same result. Each selection starts where the previous one left its value: everything before is
 * no greater.
 */
function quantilesOf(values: Float64Array): number[] {
  const n = values.length;
  let from = 0;
  return quantiles.map(([, q]) => {
    const rank = q * (n - 1);
    const lowerIndex = Math.max(0, Math.floor(rank));
    const upperIndex = Math.min(n - 1, lowerIndex + 1);
    const weight = rank - Math.floor(rank);
    const lower = select(values, lowerIndex, from);
    from = lowerIndex;
    if (weight === 0) return lower;
    // Everything after lowerIndex is no less than it: the next sorted value is the least of them.
    let upper = lower;
    if (upperIndex !== lowerIndex) {
      upper = Number.POSITIVE_INFINITY;
      for (let index = lowerIndex + 1; index < n; index++) if ((values[index] as number) < upper) upper = values[index] as number;
    }
    return lower * (1 - weight) + upper * weight;
  });
}

/**
 * The k-th smallest value (Hoare's selection) of values whose first `from` are already no greater than the rest:
 * afterwards values[k] holds it, smaller or equal ones before, larger or equal after.
 */
function select(values: Float64Array, k: number, from: number): number {
  let left = from;
  let right = values.length - 1;
  while (right > left) {
    const pivot = values[(left + right) >> 1] as number;
    let i = left;
    let j = right;
    while (i <= j) {
      while ((values[i] as number) < pivot) i++;
      while ((values[j] as number) > pivot) j--;
      if (i <= j) {
        const swap = values[i] as number;
        values[i] = values[j] as number;
        values[j] = swap;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else break;
  }
  return values[k] as number;
}
