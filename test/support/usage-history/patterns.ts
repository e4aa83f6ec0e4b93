// Closed forms of each named usage pattern, so a test can compute krr's numbers by hand: CPU in cores (the rate the
// counter integrates), memory in bytes. Every change of level falls on a sample time, so piecewise-constant patterns
// integrate exactly; see README.md beside this file for the arithmetic a test may rely on.

export const PATTERNS = ['steady', 'diurnal', 'weekly', 'spike', 'leak', 'oomkill', 'new', 'throttled'] as const;
export type PatternName = (typeof PATTERNS)[number];

export const HOUR = 3600;
export const DAY = 24 * HOUR;

/** Where a pod's life and the pattern's events sit, in epoch seconds (all multiples of the scrape interval). */
export interface PodWindow {
  /** first sample */
  start: number;
  /** last sample */
  end: number;
  interval: number;
}

/** The levels a container's pattern uses: `cpu` cores and `memory` bytes at rest, and the pattern's own extremes. */
export interface Levels {
  cpu: number;
  memory: number;
  /** spike: CPU during the spike (default 8 × cpu) */
  spikeCpu: number;
  /** spike: memory during the spike; leak: memory at its end (default 2 × memory) */
  peakMemory: number;
  /** oomkill: the memory limit the working set reaches; throttled: the CPU limit the usage is pinned at */
  memoryLimit: number | null;
  cpuLimit: number | null;
  /** throttled: share of CFS periods throttled (default 0.5) */
  throttledShare: number;
}

/** A spike lasts 20 minutes, 7 days before the pod's last sample (aligned): ~0.1 % of 14 days, below any p95. */
export function spikeWindow(pod: PodWindow): [number, number] {
  const from = align(pod.end - 7 * DAY, pod);
  return [from, from + 20 * 60];
}

/**
 * The OOM kill at `at` (3 days before the end): the working set ramps linearly to the limit over the hour before
 * `at − 5 min` and sits at the limit for those 5 minutes (so krr's 75 s steps see it), then the container restarts.
 */
export function oomKillAt(pod: PodWindow): number {
  return align(pod.end - 3 * DAY, pod);
}

/** A leak grows linearly from `memory` to `peakMemory` and stays there for its pod's last hour. */
export function leakPlateauFrom(pod: PodWindow): number {
  return align(Math.max(pod.start, pod.end - HOUR), pod);
}

function align(t: number, pod: PodWindow): number {
  return pod.start + Math.max(0, Math.floor((t - pod.start) / pod.interval)) * pod.interval;
}

/** Monday–Friday (UTC) are weekdays; the weekly pattern runs at a quarter of its CPU and half its memory at weekends. */
function weekend(t: number): boolean {
  const day = new Date(t * 1000).getUTCDay();
  return day === 0 || day === 6;
}

/** CPU usage rate in cores at time t (the counter's derivative). */
export function cpuRate(pattern: PatternName, levels: Levels, pod: PodWindow, t: number): number {
  switch (pattern) {
    case 'diurnal':
      return levels.cpu * (1 + 0.5 * Math.sin((2 * Math.PI * t) / DAY));
    case 'weekly':
      return weekend(t) ? levels.cpu / 4 : levels.cpu;
    case 'spike': {
      const [from, to] = spikeWindow(pod);
      return t >= from && t < to ? levels.spikeCpu : levels.cpu;
    }
    case 'throttled':
      return levels.cpuLimit ?? levels.cpu;
    default:
      return levels.cpu;
  }
}

/** Working-set bytes at sample time t (rounded to whole bytes by the writer). */
export function memoryAt(pattern: PatternName, levels: Levels, pod: PodWindow, t: number): number {
  switch (pattern) {
    case 'diurnal':
      return levels.memory * (1 + 0.25 * Math.sin((2 * Math.PI * t) / DAY));
    case 'weekly':
      return weekend(t) ? levels.memory / 2 : levels.memory;
    case 'spike': {
      const [from, to] = spikeWindow(pod);
      return t >= from && t < to ? levels.peakMemory : levels.memory;
    }
    case 'leak': {
      const plateau = leakPlateauFrom(pod);
      if (t >= plateau) return levels.peakMemory;
      const span = plateau - pod.start;
      return span <= 0 ? levels.peakMemory : levels.memory + ((levels.peakMemory - levels.memory) * (t - pod.start)) / span;
    }
    case 'oomkill': {
      const kill = oomKillAt(pod);
      const limit = levels.memoryLimit ?? levels.peakMemory;
      const top = kill - 5 * 60;
      if (t > top && t <= kill) return limit;
      if (t > top - HOUR && t <= top) return levels.memory + ((limit - levels.memory) * (t - (top - HOUR))) / HOUR;
      return levels.memory;
    }
    default:
      return levels.memory;
  }
}
