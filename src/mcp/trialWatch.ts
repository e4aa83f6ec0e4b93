// The trial watch of a process with no editor (krr-mcp serve --stdio): one session.checkTrials() pass at start, then
// one every krr.trial.pollSeconds while a trial runs. A pass reads the trial pods and reverts a trial whose signal
// failed or whose window ended — part of the trial a person approved. The timer is unref'd: it never keeps the
// process alive, and a trial whose window ends while no process runs is marked overdue by the next pass.
import type { Session } from '../core/session/session';

export interface TrialWatch {
  stop(): void;
}

export function watchTrials(session: Session, pollSeconds: () => number, log: (line: string) => void): TrialWatch {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const controller = new AbortController();
  const schedule = (delayMs: number) => {
    if (stopped || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      void pass();
    }, delayMs);
    timer.unref();
  };
  const pass = async () => {
    if (stopped) return;
    try {
      await session.checkTrials(controller.signal);
      // Idle until a trial starts (apply emits 'trial'): no timer while nothing runs.
      if ((await session.listTrials()).some((record) => record.state === 'running')) schedule(pollSeconds() * 1000);
    } catch (error) {
      if (stopped) return;
      log(`trial watch: ${error instanceof Error ? error.message : String(error)}; trying again in ${pollSeconds()} s`);
      schedule(pollSeconds() * 1000);
    }
  };
  // A trial started (or changed) in this process: make sure the next pass is due.
  const unsubscribe = session.onDidChange((event) => {
    if (event.type === 'trial') schedule(pollSeconds() * 1000);
  });
  schedule(0);
  return {
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      controller.abort();
      unsubscribe();
    },
  };
}
