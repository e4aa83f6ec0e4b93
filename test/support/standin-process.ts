// The krr stand-in's process, for tests that cancel a slow scan and check that krr is gone: its pid (the stand-in
// writes it to KRR_STANDIN_PID_FILE when it starts) and whether a pid is still alive.
import { readFileSync } from 'node:fs';
import { waitFor } from './wait';

/** The pid the krr stand-in writes when it starts (KRR_STANDIN_PID_FILE); waits (bounded) for the file. */
export async function standInPid(pidFile: string): Promise<number> {
  return waitFor(() => {
    try {
      return (JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number }).pid;
    } catch {
      return undefined;
    }
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
