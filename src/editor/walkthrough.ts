// The "Get started with KRR" walkthrough's steps complete from real state, never from a click on the step: each
// `onContext:` key below is set from what the extension sees (krr found on disk, a context configured, a report
// loaded, a plan previewed, a snapshot of an apply or a rollback on disk).
import { constants } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';

export const walkthroughKeys = {
  krrFound: 'krr.walkthrough.krrFound',
  contextChosen: 'krr.walkthrough.contextChosen',
  scanned: 'krr.walkthrough.scanned',
  reviewed: 'krr.walkthrough.reviewed',
  previewed: 'krr.walkthrough.previewed',
  applied: 'krr.walkthrough.applied',
  rolledBack: 'krr.walkthrough.rolledBack',
} as const;

export type WalkthroughStep = keyof typeof walkthroughKeys;

/** The context keys, set only when a value changes; `values()` is what the extension-host tests read. */
export class WalkthroughState {
  private readonly state = new Map<WalkthroughStep, boolean>();

  set(step: WalkthroughStep, value: boolean): void {
    if (this.state.get(step) === value) return;
    this.state.set(step, value);
    void vscode.commands.executeCommand('setContext', walkthroughKeys[step], value);
  }

  values(): Record<WalkthroughStep, boolean> {
    return Object.fromEntries(Object.keys(walkthroughKeys).map((step) => [step, this.state.get(step as WalkthroughStep) ?? false])) as Record<WalkthroughStep, boolean>;
  }
}

/**
 * Whether `command` (a path, or a name looked up on PATH) is an executable file, without running it: activation
 * starts no process, and a file check is enough for "krr is installed or pointed at".
 */
export async function isExecutable(command: string, searchPath: string = process.env.PATH ?? ''): Promise<boolean> {
  if (command.trim() === '') return false;
  const candidates = command.includes('/') || command.includes(path.sep) ? [command] : searchPath.split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, command));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return true;
    } catch {
      // not here; the next PATH entry may have it
    }
  }
  return false;
}

/** Snapshot kinds on disk (`<stateDir>/snapshots/*.json` names carry no kind): read through the session when any exist. */
export async function hasSnapshots(stateDir: string): Promise<boolean> {
  try {
    return (await readdir(path.join(stateDir, 'snapshots'))).some((name) => name.endsWith('.json'));
  } catch {
    return false;
  }
}
