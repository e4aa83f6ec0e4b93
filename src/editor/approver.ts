// The VS Code side of the safety invariant: a modal dialog only a person can answer, bound to the plan digest.
import * as vscode from 'vscode';
import type { Plan } from '../core/plan/model';
import type { ApprovalDecision, ApprovalText, Approver } from '../core/session/model';

/** Asks a person about one plan. The real one is a modal; integration tests inject their own (modals are refused there). */
export type ApprovalDialog = (plan: Plan, text: ApprovalText, signal: AbortSignal) => Promise<ApprovalDecision>;

/** Waits for `promise` unless `signal` aborts first: an abandoned approval counts as a timeout, never an approval. */
function unlessAborted<T>(promise: Thenable<T>, signal: AbortSignal): Promise<T | 'aborted'> {
  if (signal.aborted) {
    promise.then(undefined, () => undefined);
    return Promise.resolve('aborted');
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** The modal: its text comes from `session.approvalText(plan)` (computed from the plan, never from a tool argument). */
export const modalApprovalDialog: ApprovalDialog = async (plan, text, signal) => {
  if (signal.aborted) return { outcome: 'timeout' };
  const answer = await unlessAborted(vscode.window.showWarningMessage(text.title, { modal: true, detail: text.detail }, text.confirmLabel), signal);
  if (answer === 'aborted') return { outcome: 'timeout' };
  if (answer !== text.confirmLabel) return { outcome: 'declined', reason: 'dismissed the approval dialog' };
  if (text.typeToConfirm !== null) {
    const expected = text.typeToConfirm;
    const typed = await unlessAborted(
      vscode.window.showInputBox({
        title: `Confirm the change to ${expected}`,
        prompt: `Type the context name "${expected}" to approve this change.`,
        placeHolder: expected,
        ignoreFocusOut: true,
        validateInput: (value) => (value === expected ? null : `Type exactly: ${expected}`),
      }),
      signal,
    );
    if (typed === 'aborted') return { outcome: 'timeout' };
    if (typed !== expected) return { outcome: 'declined', reason: 'the context name was not typed' };
  }
  // The digest comes from the stored plan that was shown, so an approval covers exactly this change.
  return { outcome: 'approved', digest: plan.digest };
};

export interface DiffShower {
  show(plan: Plan): Promise<void>;
}

export class EditorApprover implements Approver {
  constructor(
    private readonly diff: DiffShower,
    private readonly dialog: () => ApprovalDialog,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  async show(plan: Plan): Promise<void> {
    try {
      await this.diff.show(plan);
    } catch (error) {
      // A diff that fails to open must not fail the proposal; the approval dialog still names every object.
      this.log(`could not open the diff for plan ${plan.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async requestApproval(plan: Plan, text: ApprovalText, signal: AbortSignal): Promise<ApprovalDecision> {
    // The person approves what they can see: show the diff again before asking.
    await this.show(plan);
    try {
      return await this.dialog()(plan, text, signal);
    } catch (error) {
      return { outcome: 'declined', reason: `the approval dialog failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
}
