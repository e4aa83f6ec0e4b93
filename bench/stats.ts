// Small statistics for benchmark samples, and the knobs that make timings comparable within one run.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** Nearest-rank percentile (p in 0–100) of the samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

setFlagsFromString('--expose_gc');
const gcFunction = runInNewContext('gc') as (() => void) | undefined;

/** A full collection between measured runs, so one run's garbage is not billed to the next. */
export function collectGarbage(): void {
  gcFunction?.();
}

export async function timed<T>(work: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}
