// What the commands tell the person in notifications: a problem with the buttons that fix it, progress that can be
// cancelled, and the outcome of an apply or rollback. Every progress notification is counted (toast pacing), so a
// result shown right after a burst still gets its toast. None of them waits for the person to click.
import * as vscode from 'vscode';
import type { ApplyOutcome } from '../core/model';
import { formatCount, plural } from '../core/text';
import { explainProblem, type ProblemAction } from './problem';
import { ToastPacing } from './toastPacing';

/**
 * Shows an error as a sentence plus the buttons that fix it (install, open the setting, show output).
 * Does not wait for the notification: a command (or the review panel) must finish while it is still shown.
 */
export function showProblem(error: unknown, output: vscode.LogOutputChannel): void {
  const problem = explainProblem(error);
  output.error(problem.message);
  void vscode.window.showErrorMessage(`KRR: ${problem.message}`, ...problem.actions.map((action) => action.label)).then((chosen) => {
    const action = problem.actions.find((candidate) => candidate.label === chosen);
    return action ? runAction(action) : undefined;
  });
}

async function runAction(action: ProblemAction): Promise<void> {
  if (action.type === 'open-url') await vscode.env.openExternal(vscode.Uri.parse(action.url));
  else if (action.type === 'open-setting') await vscode.commands.executeCommand('workbench.action.openSettings', action.setting);
  else await vscode.commands.executeCommand(action.command);
}

export function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || /aborted|cancel/i.test(error.message));
}

/** Every notification this extension opens is counted, so a result shown right after a burst still gets its toast. */
export const toastPacing = new ToastPacing();

/** Runs `task` under a cancellable notification; cancelling aborts the krr/kubectl process through the signal. */
export function withCancellableProgress<T>(title: string, task: (signal: AbortSignal, report: (message: string, increment?: number) => void) => Promise<T>): Thenable<T> {
  toastPacing.opened();
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
    const controller = new AbortController();
    token.onCancellationRequested(() => controller.abort());
    return task(controller.signal, (message, increment) => progress.report(increment === undefined ? { message } : { message, increment }));
  });
}

/** Counted progress ("312 / 2,500") for the notification, advancing its bar by the share done since the last call. */
export function countedProgress(report: (message: string, increment?: number) => void, extra?: (progress: { done: number; total: number; phase?: string }) => void) {
  let reported = 0;
  return (progress: { done: number; total: number; phase?: string }) => {
    const share = progress.total > 0 ? (progress.done / progress.total) * 100 : 0;
    // While no workload finishes, the phase says what runs (starting the API channel, finishing the plan).
    report(`${formatCount(progress.done)} / ${formatCount(progress.total)}${progress.phase ? ` — ${progress.phase}` : ''}`, share - reported);
    reported = share;
    extra?.(progress);
  };
}

/** A rollback that went through reads "rolled back … restored", not "applied" (issue 15). */
export function describeOutcome(outcome: ApplyOutcome, kind: 'apply' | 'rollback' = 'apply'): string {
  if (outcome.files) return `${outcome.status}: ${outcome.message}`;
  const written = outcome.objects.filter((object) => object.result === 'written').length;
  if (kind === 'rollback' && outcome.status === 'applied') {
    return `rolled back: ${outcome.message.replace(/^Applied /, 'Restored ')} (${plural(written, 'object')} restored${outcome.verified ? ', verified' : ''})`;
  }
  return `${outcome.status}: ${outcome.message}${outcome.status === 'applied' ? ` (${plural(written, 'object')} written${outcome.verified ? ', verified' : ''})` : ''}`;
}

/** Does not wait for the notification: the apply (and the review panel's "Waiting for your approval…") ends now. */
export function reportOutcome(outcome: ApplyOutcome, kind: 'apply' | 'rollback' = 'apply'): void {
  const text = `KRR: ${describeOutcome(outcome, kind)}`;
  if (outcome.status === 'applied') {
    void vscode.window.showInformationMessage(text, 'Show Snapshots').then((choice) => (choice ? vscode.commands.executeCommand('krr.snapshots.focus') : undefined));
  } else if (outcome.status === 'declined') {
    void vscode.window.showInformationMessage(text);
  } else {
    void vscode.window.showWarningMessage(text);
  }
}
