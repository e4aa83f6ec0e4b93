// What every command module shares: the host that gives them the session, settings and views, the requesters that
// say where a request came from (the dialog and the audit log name them), and the guard every command runs under.
import * as vscode from 'vscode';
import type { Requester } from '../core/model';
import type { Session } from '../core/session/session';
import type { SessionSettings } from '../core/settings';
import { isAbort, showProblem } from './notifications';
import type { WriteGate } from './trust';

export interface CommandHost {
  extensionUri: vscode.Uri;
  /** Builds the session on first use; throws SettingsError when a setting is invalid. */
  session(): Session;
  settings(): SessionSettings;
  readOnly(): WriteGate;
  secrets: vscode.SecretStorage;
  output: vscode.LogOutputChannel;
  setUpClaudeCode(): Promise<void>;
  refreshViews(): void;
  /** The review panel was shown (the walkthrough's "review" step). */
  reviewed(): void;
  /** Closes the diff tabs of a plan that was applied, declined or rolled back. */
  closeDiff?(planId: string): Promise<void>;
  /** The workspace's state (context.workspaceState): what the review panel keeps across window reloads. */
  memento?: vscode.Memento;
  /** Restores the last report after a window reload (the review panel's serializer); false when there is none. */
  restoreReport?(session: Session): Promise<boolean>;
}

/** Where a person's request came from. Compared by identity: the review panel notes its own applies itself. */
export const requesters: Readonly<Record<'palette' | 'reviewPanel' | 'notification' | 'recommendationsView' | 'walkthrough', Requester>> = {
  palette: { type: 'human', via: 'command palette' },
  reviewPanel: { type: 'human', via: 'review panel' },
  /** The "Apply…" button of the notification a preview shows: not the command palette (issue 15). */
  notification: { type: 'human', via: 'notification' },
  recommendationsView: { type: 'human', via: 'recommendations view' },
  walkthrough: { type: 'human', via: 'walkthrough' },
};

/**
 * The walkthrough's buttons pass `{"via":"walkthrough"}` (package.json), so the dialog and the audit log do not say
 * "command palette" for them. Only this exact marker is recognised; anything else is not a source.
 */
export function fromWalkthrough(arg: unknown): boolean {
  return typeof arg === 'object' && arg !== null && !Array.isArray(arg) && Object.keys(arg).length === 1 && (arg as Record<string, unknown>).via === 'walkthrough';
}

/** Runs a command so that no failure escapes: a cancelled one says so, anything else shows what to do about it. */
export function guard<A extends unknown[]>(host: Pick<CommandHost, 'output'>, run: (...args: A) => Promise<unknown>): (...args: A) => Promise<void> {
  return async (...args: A): Promise<void> => {
    try {
      await run(...args);
    } catch (error) {
      if (isAbort(error)) {
        void vscode.window.showInformationMessage('KRR: cancelled.');
        return;
      }
      showProblem(error, host.output);
    }
  };
}
