// One append at a time: within a process per file (a queue), across processes by a lock file holding the owner's pid.
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { AuditLogError } from './auditEntry';

// One queue per resolved path, so two AuditLog objects on the same file never fork the chain.
const appendQueues = new Map<string, Promise<unknown>>();

/**
 * One append at a time across processes (several stdio servers may share a state directory): an O_EXCL lock file
 * holding the owner's pid. A lock whose pid is gone (a writer killed mid-append) is taken over; a live one is waited
 * for, at most `waitMs`, then the append fails as a write failure (the caller refuses the cluster write).
 */
export async function withAppendLock<T>(lockPath: string, task: () => Promise<T>, waitMs = 10_000): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      try {
        await handle.writeFile(String(process.pid));
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new AuditLogError(`Cannot lock the audit log (${lockPath}): ${(error as Error).message}`, 'write-failed', { cause: error });
      const owner = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      // No pid in it: its writer died between creating it and writing the pid (or is doing so right now).
      const unowned = !(Number.isInteger(owner) && owner > 0) && Date.now() - ((await stat(lockPath).catch(() => undefined))?.mtimeMs ?? Date.now()) > 2_000;
      if (unowned || (Number.isInteger(owner) && owner > 0 && !processAlive(owner))) {
        await unlink(lockPath).catch(() => undefined);
        continue;
      }
      if (Date.now() >= deadline) throw new AuditLogError(`The audit log is locked by process ${Number.isInteger(owner) ? owner : '?'} (${lockPath}) for more than ${waitMs / 1000} s.`, 'write-failed');
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.floor(Math.random() * 20)));
    }
  }
  try {
    return await task();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function enqueue<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = appendQueues.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  appendQueues.set(key, settled);
  void settled.then(() => {
    if (appendQueues.get(key) === settled) appendQueues.delete(key);
  });
  return run;
}
