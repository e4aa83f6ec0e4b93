// The memory evidence computed from the working set's raw samples (remote read) with Prometheus 3's instant-selector
// rule, so that it is what PromQL gives for the reader's queries (queries.ts): at each step t of krr's subquery a series
// has the value of its latest sample at or before t if that sample is newer than t − lookback (Prometheus 3: a sample
// exactly lookback old is out) and is not a staleness marker (promql/engine.go vectorSelectorSingle); the max by
// (container, pod, job); krr's points (count_over_time) per (container, pod, job); the chart's bucket maxima; the first
// and last step with a value; and the first step at which each pod's container reached its own highest value. A NaN
// or infinite sample (not a staleness marker) makes the namespace unusable here (null): the reader then asks PromQL.
import type { SampleSeries } from './cpuFromSamples';
import { bucketOf, windowSteps, type EvidenceWindowSpec } from './queries';

type Row = { metric: Record<string, string>; value?: readonly [number, number]; values?: ReadonlyArray<readonly [number, number]> };

/** A pod's container: its highest value over the window and the first step (unix seconds) at which it had it. */
export interface PodPeak {
  pod: string;
  container: string;
  max: number;
  firstAt: number;
}

/** The `memory` answer (krr's points per series), the memory branch of `series`, the `coverage` answer for every pod, and each pod's peak. */
export interface MemoryAnswers {
  memory: Row[];
  series: Row[];
  coverage: Row[];
  peaks: PodPeak[];
}

/**
 * The memory evidence from the samples of `container_memory_working_set_bytes` over the window and the lookback before
 * it (staleness markers kept as NaN), or null when a sample is NaN or infinite. `lookbackMs`: the store's
 * `--query.lookback-delta`. `series` is read once, one series at a time.
 */
export async function memoryAnswersFromSamples(series: AsyncIterable<SampleSeries> | Iterable<SampleSeries>, window: EvidenceWindowSpec, lookbackMs: number): Promise<MemoryAnswers | null> {
  const steps = windowSteps(window);
  const stepMs = Math.round(window.stepSeconds * 1000);
  // The value of each (container, pod, job) at each step: the max over that key's series.
  const byKey = new Map<string, { pod: string; container: string; job: string; values: Float64Array }>();
  for await (const one of series) {
    if (one.nonFinite) return null;
    const pod = one.labels.pod ?? '';
    const container = one.labels.container ?? '';
    const job = one.labels.job ?? '';
    const key = `${container}\0${pod}\0${job}`;
    let entry = byKey.get(key);
    if (!entry) byKey.set(key, (entry = { pod, container, job, values: new Float64Array(steps.count).fill(Number.NaN) }));
    valuesAtSteps(one, steps.firstMs, stepMs, steps.count, lookbackMs, entry.values);
  }

  const time = window.end.getTime() / 1000;
  const memory: Row[] = [];
  // Per pod's container: the max over its keys at each step (`max by (pod, container)` of the per-key values).
  const perPod = new Map<string, { pod: string; container: string; values: Float64Array }>();
  for (const entry of byKey.values()) {
    let points = 0;
    for (const value of entry.values) if (value === value) points += 1;
    if (points === 0) continue;
    const labels: Record<string, string> = { pod: entry.pod, container: entry.container, signal: 'points' };
    if (entry.job !== '') labels.job = entry.job;
    memory.push({ metric: labels, value: [time, points] });
    const podKey = `${entry.pod}\0${entry.container}`;
    const known = perPod.get(podKey);
    if (!known) perPod.set(podKey, { pod: entry.pod, container: entry.container, values: entry.values.slice() });
    else
      for (let index = 0; index < steps.count; index++) {
        const value = entry.values[index] as number;
        const highest = known.values[index] as number;
        if (value === value && (highest !== highest || value > highest)) known.values[index] = value;
      }
  }

  const bucket = bucketOf(window);
  const bucketMs = Math.round(bucket.seconds * 1000);
  const endMs = window.end.getTime();
  const windowStartMs = endMs - Math.round(window.historyHours * 3600 * 1000);
  const firstBucketEndMs = endMs - (bucket.count - 1) * bucketMs;
  const chart: Row[] = [];
  const coverage: Row[] = [];
  const peaks: PodPeak[] = [];
  for (const { pod, container, values } of perPod.values()) {
    const buckets = new Float64Array(bucket.count).fill(Number.NaN);
    let first = -1;
    let last = -1;
    let max = Number.NaN;
    let maxIndex = -1;
    for (let index = 0; index < steps.count; index++) {
      const value = values[index] as number;
      if (value !== value) continue;
      if (first < 0) first = index;
      last = index;
      if (max !== max || value > max) {
        max = value;
        maxIndex = index;
      }
      const stepTime = steps.firstMs + index * stepMs;
      if (stepTime <= windowStartMs) continue;
      const k = Math.ceil((stepTime - firstBucketEndMs) / bucketMs);
      if (k < 0 || k >= bucket.count) continue;
      const highest = buckets[k] as number;
      if (highest !== highest || value > highest) buckets[k] = value;
    }
    if (first < 0) continue;
    const at = (index: number) => (steps.firstMs + index * stepMs) / 1000;
    coverage.push({ metric: { pod, container, signal: 'first' }, value: [time, at(first)] }, { metric: { pod, container, signal: 'last' }, value: [time, at(last)] });
    peaks.push({ pod, container, max, firstAt: at(maxIndex) });
    const points: Array<readonly [number, number]> = [];
    buckets.forEach((value, k) => {
      if (value === value) points.push([(firstBucketEndMs + k * bucketMs) / 1000, value]);
    });
    if (points.length > 0) chart.push({ metric: { pod, container, signal: 'memory' }, values: points });
  }
  return { memory, series: chart, coverage, peaks };
}

/**
 * The instant selector's value at each step t = firstMs + i·stepMs: the latest sample at or before t, if newer than
 * t − lookback and not a staleness marker (NaN here), written into `out[i]` where it is higher than what is there.
 */
function valuesAtSteps(series: SampleSeries, firstMs: number, stepMs: number, count: number, lookbackMs: number, out: Float64Array): void {
  const { times, values } = series;
  let next = 0;
  for (let index = 0; index < count; index++) {
    const t = firstMs + index * stepMs;
    while (next < times.length && (times[next] as number) <= t) next++;
    if (next === 0) continue;
    const latest = next - 1;
    if ((times[latest] as number) <= t - lookbackMs) continue;
    const value = values[latest] as number;
    if (value !== value) continue;
    const known = out[index] as number;
    if (known !== known || value > known) out[index] = value;
  }
}
