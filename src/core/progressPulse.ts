// Counted progress that never goes quiet for long. A long proposal has stretches in which no workload finishes
// (resolving the context, starting the API channel, finishing the plan); the person should still see that it is
// working and on what, so the last count is repeated, with the phase, whenever nothing was reported for a while.

export interface CountedProgress {
  done: number;
  total: number;
  /**
   * What runs while the count stands still ("starting the API channel"); absent on a report of workloads done.
   * Every repeat of the count carries one.
   */
  phase?: string;
}

export interface ProgressPulse {
  report(progress: CountedProgress): void;
  /** Names what runs now; repeated with the last count until the next report. */
  phase(name: string): void;
  stop(): void;
}

/** Wraps `onProgress`: every report passes through, and after `intervalMs` without one the last count is sent again. */
export function progressPulse(onProgress: (progress: CountedProgress) => void, intervalMs = 500): ProgressPulse {
  let last: CountedProgress = { done: 0, total: 0 };
  let lastAt = Date.now();
  let stopped = false;
  const send = (progress: CountedProgress) => {
    if (stopped) return;
    last = progress;
    lastAt = Date.now();
    onProgress(progress);
  };
  // A repeat always names a phase, so a listener can tell it from a workload finishing.
  const timer = setInterval(() => {
    if (Date.now() - lastAt >= intervalMs) send({ done: last.done, total: last.total, phase: last.phase ?? 'waiting for the API server' });
  }, Math.max(10, Math.floor(intervalMs / 2)));
  // Never keeps a process alive on its own.
  timer.unref?.();
  return {
    report: (progress) => send(progress),
    phase: (name) => send({ done: last.done, total: last.total, phase: name }),
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
