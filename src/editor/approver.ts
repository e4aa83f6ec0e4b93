// The VS Code side of the safety invariant: a modal dialog only a person can answer, bound to the plan digest.
import * as vscode from 'vscode';
import type { ManifestPlan } from '../core/gitops/model';
import type { Plan } from '../core/plan/model';
import type { TrialPlan } from '../core/trial/model';
import type { ApprovalDecision, ApprovalText, Approver } from '../core/model';

/**
 * Asks a person about one plan. The real one is a notice (for a model's request) and then a modal; integration tests
 * inject their own (modals are refused there). `review` opens the plan's diff.
 */
export type ApprovalDialog = (plan: Pick<Plan, 'id' | 'digest'>, text: ApprovalText, signal: AbortSignal, review: () => Promise<void>) => Promise<ApprovalDecision>;

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

const reviewLabel = 'Review…';
const declineLabel = 'Decline';
/** An Apply answered sooner than this after the modal opened is a stray click or keystroke, not a decision. */
export const approvalArmMs = 1500;
const maxEarlyAnswers = 3;

/**
 * The notice, then the modal. Its words come from `session.approvalText` (computed from the plan, never from a tool
 * argument). A model's request first shows a non-modal notice, so it never takes the keyboard from a person who is
 * typing; the modal opens only after they choose Review…. In the modal the first button (VS Code focuses it, and Enter
 * or Space presses it) is Decline, and an Apply within the first moment is asked again, never taken.
 */
export const modalApprovalDialog: ApprovalDialog = async (plan, text, signal, review) => {
  if (signal.aborted) return { outcome: 'timeout' };
  if (text.notice !== null) {
    const choice = await unlessAborted(vscode.window.showWarningMessage(text.notice, reviewLabel, declineLabel), signal);
    if (choice === 'aborted') return { outcome: 'timeout' };
    if (choice !== reviewLabel) return { outcome: 'declined', reason: choice === declineLabel ? 'declined in the notification' : 'dismissed the notification' };
    await review();
  }
  let early = 0;
  for (;;) {
    const detail = early > 0 ? `You chose "${text.confirmLabel}" as the dialog opened. Read the change, then choose again.\n\n${text.detail}` : text.detail;
    const openedAt = Date.now();
    // Decline first: VS Code focuses the first item, so Enter or Space declines; Cancel (Escape) is added by VS Code.
    const answer = await unlessAborted(vscode.window.showWarningMessage(text.title, { modal: true, detail }, { title: declineLabel }, { title: text.confirmLabel }), signal);
    if (answer === 'aborted') return { outcome: 'timeout' };
    if (answer?.title !== text.confirmLabel) return { outcome: 'declined', reason: answer?.title === declineLabel ? 'declined in the approval dialog' : 'dismissed the approval dialog' };
    if (Date.now() - openedAt >= approvalArmMs) break;
    if (++early >= maxEarlyAnswers) return { outcome: 'declined', reason: 'the approval dialog was answered too quickly, repeatedly' };
  }
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
  /** A trial plan's pods, live ↔ during the trial. */
  showTrial?(plan: TrialPlan): Promise<void>;
}

export class EditorApprover implements Approver {
  constructor(
    private readonly diff: DiffShower,
    private readonly dialog: () => ApprovalDialog,
    private readonly log: (line: string) => void = () => undefined,
    private readonly manifestDiff?: { show(plan: ManifestPlan): Promise<void> },
  ) {}

  async showManifests(plan: ManifestPlan): Promise<void> {
    try {
      await this.manifestDiff?.show(plan);
    } catch (error) {
      this.log(`could not open the diff for plan ${plan.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Writing manifests: the same notice and modal (its words name the files), with the files' diff to review. */
  async requestManifestApproval(plan: ManifestPlan, text: ApprovalText, signal: AbortSignal): Promise<ApprovalDecision> {
    if (text.notice === null) await this.showManifests(plan);
    try {
      return await this.dialog()(plan, text, signal, () => this.showManifests(plan));
    } catch (error) {
      return { outcome: 'declined', reason: `the approval dialog failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  async showTrial(plan: TrialPlan): Promise<void> {
    try {
      await this.diff.showTrial?.(plan);
    } catch (error) {
      this.log(`could not open the diff for trial plan ${plan.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Starting a trial: the same notice and modal (its words name the pods and the window), with the pods' diff to review. */
  async requestTrialApproval(plan: TrialPlan, text: ApprovalText, signal: AbortSignal): Promise<ApprovalDecision> {
    if (text.notice === null) await this.showTrial(plan);
    try {
      return await this.dialog()(plan, text, signal, () => this.showTrial(plan));
    } catch (error) {
      return { outcome: 'declined', reason: `the approval dialog failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  async show(plan: Plan): Promise<void> {
    try {
      await this.diff.show(plan);
    } catch (error) {
      // A diff that fails to open must not fail the proposal; the approval dialog still names every object.
      this.log(`could not open the diff for plan ${plan.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async requestApproval(plan: Plan, text: ApprovalText, signal: AbortSignal): Promise<ApprovalDecision> {
    // The person approves what they can see: show the diff again before asking — for a model's request only after
    // they choose to review it, so nothing opens over their work by itself.
    if (text.notice === null) await this.show(plan);
    try {
      return await this.dialog()(plan, text, signal, () => this.show(plan));
    } catch (error) {
      return { outcome: 'declined', reason: `the approval dialog failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
}
