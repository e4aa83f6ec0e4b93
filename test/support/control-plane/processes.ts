// Child processes of the test control plane: started with argv arrays (no shell), output to a log file,
// stopped with SIGTERM then SIGKILL, and killed when the test process exits by any path.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

export interface Supervised {
  name: string;
  child: ChildProcess;
  logPath: string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function startProcess(name: string, command: string, args: readonly string[], logPath: string): Supervised {
  const log = openSync(logPath, 'a');
  const child = spawn(command, args, { stdio: ['ignore', log, log] });
  closeSync(log);
  running.add(child);
  child.once('exit', () => running.delete(child));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return { name, child, logPath, stop };
}

/** Fails with the tail of the process's log if it exits while we wait for it. */
export function exitedEarly(process: Supervised): string | undefined {
  if (process.child.exitCode === null && process.child.signalCode === null) return undefined;
  const tail = readFileSync(process.logPath, 'utf8').split('\n').slice(-15).join('\n');
  return `${process.name} exited (${process.child.exitCode ?? process.child.signalCode}) while starting:\n${tail}`;
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
