// Process groups this test run started, so none survive it: stopped in order by their owners, killed here as a last resort.
const live = new Set<number>();
let installed = false;

/** Remembers a process group leader (a child started with `detached: true`) until `forgetGroup`. */
export function trackGroup(pgid: number): void {
  installSafetyNet();
  live.add(pgid);
}

export function forgetGroup(pgid: number): void {
  live.delete(pgid);
}

/** True while any process of the group is alive. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the whole group, then SIGKILL after `graceMs`; resolves when the group is gone. */
export async function killGroup(pgid: number, graceMs = 5_000): Promise<void> {
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(50);
  if (groupAlive(pgid)) {
    signalGroup(pgid, 'SIGKILL');
    const hardDeadline = Date.now() + 2_000;
    while (groupAlive(pgid) && Date.now() < hardDeadline) await sleep(50);
  }
  forgetGroup(pgid);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

// Children such as code-server's file watcher outlive a kill of the top pid only: kill the group on any exit.
function installSafetyNet(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    for (const pgid of live) signalGroup(pgid, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));
  }
}
