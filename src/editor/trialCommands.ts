// "KRR: Try on N Pods…" and "KRR: Show Trials": krr's recommendation tried on a few running pods of one workload (the
// session proposes the trial, opens its pods' diff and asks through the same modal as every apply), then each trial's
// next step — revert it now, persist the change of the template once it passed (an ordinary plan, approved on its
// own), or read its details. The watch that ends trials and notifies is trialWatch.ts.
import * as vscode from 'vscode';
import { describeOwner } from '../core/gitops/ownerName';
import type { ApplyOutcome, Requester } from '../core/model';
import type { Session } from '../core/session/session';
import type { TrialRecord } from '../core/trial/model';
import { displayText, nameText, plural } from '../core/text';
import { fromWalkthrough, guard, requesters, type CommandHost } from './commandHost';
import { loadEngine } from './engine';
import { reportOutcome, withCancellableProgress } from './notifications';
import { applyPlan, previewPlan } from './planCommands';
import type { WorkloadRef } from './reviewMessages';
import type { RecommendationNode } from './tree';
import { detailsLabel, persistLabel, revertLabel, trialActions, trialDetails, workloadText } from './trialView';

/** One workload of one report: what a trial is proposed for. */
const ordinaryLabel = 'Preview the Ordinary Change';

export interface TrialTarget {
  reportId: string;
  workload: WorkloadRef;
}

/** "KRR: Try on N Pods…" from the palette or the Recommendations view: a workload node, else a quick pick of the report's. */
export async function tryOnPodsCommand(host: CommandHost, arg?: RecommendationNode | { via: string }): Promise<void> {
  const node = arg && !fromWalkthrough(arg) && 'type' in arg ? arg : undefined;
  const session = host.session();
  if (node?.type === 'workload') {
    const reportId = node.reportId ?? session.latestReportId();
    if (reportId) await tryOnPods(host, { reportId, workload: { namespace: node.workload.namespace, kind: node.workload.kind, name: node.workload.name } }, requesters.recommendationsView);
    return;
  }
  const reportId = session.latestReportId();
  if (!reportId) {
    const choice = await vscode.window.showWarningMessage('KRR: no report yet. Scan a cluster or open a krr report first.', 'Scan Cluster…', 'Open krr Report File…');
    if (choice) await vscode.commands.executeCommand(choice === 'Scan Cluster…' ? 'krr.scan' : 'krr.openReport');
    return;
  }
  const { trialKindProblem } = loadEngine();
  const candidates = session.getReport(reportId).workloads.filter((workload) => trialKindProblem(workload.kind) === null);
  if (candidates.length === 0) {
    void vscode.window.showWarningMessage('KRR: the report has no Deployment, StatefulSet, DaemonSet or Rollout to try a recommendation on.');
    return;
  }
  const pick = await vscode.window.showQuickPick(
    candidates.map((workload) => ({ label: displayText(workload.name, 120), description: `${workload.kind} · ${displayText(workload.namespace, 80)} · ${workload.severity}`, workload })),
    { title: 'KRR: try the recommendation on running pods of which workload?', placeHolder: 'Deployments, StatefulSets, DaemonSets and Rollouts of the current report', matchOnDescription: true },
  );
  if (!pick) return;
  await tryOnPods(host, { reportId, workload: { namespace: pick.workload.namespace, kind: pick.workload.kind, name: pick.workload.name } }, requesters.palette);
}

/**
 * Asks how many pods, proposes the trial (its pods' diff opens), asks for approval in the modal (session.apply: the
 * same gate as every plan) and says how it went. Returns the outcome, or undefined when the person stopped before.
 */
export async function tryOnPods(host: CommandHost, target: TrialTarget, requester: Requester): Promise<ApplyOutcome | undefined> {
  const gate = host.readOnly();
  if (gate.readOnly) {
    void vscode.window.showWarningMessage(`KRR: a trial resizes running pods, and writes are disabled (${gate.reason ?? 'krr.readOnly'}).`);
    return undefined;
  }
  const { trialKindProblem, describeWindow } = loadEngine();
  const problem = trialKindProblem(target.workload.kind);
  if (problem) {
    void vscode.window.showWarningMessage(`KRR: no trial for ${displayText(target.workload.kind, 40)} ${workloadText(target.workload)}: ${problem}.`);
    return undefined;
  }
  const { maxPods, windowSeconds } = host.settings().trial;
  const answer = await vscode.window.showInputBox({
    title: `KRR: try the recommendation on how many running pods of ${workloadText(target.workload)}?`,
    prompt: `1 to ${maxPods} (krr.trial.maxPods). They are resized in place for ${describeWindow(windowSeconds)}, then put back; the template is not changed.`,
    value: '1',
    validateInput: (value) => (/^\d+$/.test(value.trim()) && Number(value) >= 1 && Number(value) <= maxPods ? null : `A whole number from 1 to ${maxPods} (krr.trial.maxPods).`),
  });
  if (answer === undefined) return undefined;
  const session = host.session();
  let plan;
  try {
    plan = await withCancellableProgress(`KRR: preparing a trial on ${workloadText(target.workload)}`, (signal) =>
      session.proposeTrial({ reportId: target.reportId, workload: { namespace: target.workload.namespace, kind: target.workload.kind, name: target.workload.name }, pods: Number(answer.trim()) }, requester, signal),
    );
  } catch (error) {
    // No trial here (a node or cluster without in-place resize, nothing to try, the cluster's refusal): say why, and
    // offer what still works — the ordinary change of the template, previewed as usual.
    if (!(error instanceof Error) || error.name !== 'SessionError') throw error;
    const choice = await vscode.window.showWarningMessage(`KRR: ${displayText(error.message, 600)}`, ordinaryLabel);
    if (choice === ordinaryLabel) await previewPlan(host, target.reportId, [target.workload], requester);
    return undefined;
  }
  const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'KRR: waiting for approval' }, () => session.apply(plan.id, requester));
  // The trial plan is spent whatever the answer: its "live ↔ trial" diff closes.
  void host.closeDiff?.(plan.id);
  host.refreshViews();
  if (outcome.status !== 'applied' || !outcome.trialId) {
    reportOutcome(outcome);
    return outcome;
  }
  const trialId = outcome.trialId;
  // The person's words: until when, in local time (the core's message names the end in UTC for the model and the log).
  const record = await session.getTrial(trialId).catch(() => undefined);
  const message = record
    ? `Trial ${record.id} started: ${plural(record.pods.length, 'pod')} of ${workloadText(record.workload)} resized in place until ${new Date(record.endsAt).toLocaleTimeString()}, then put back. The template is unchanged.`
    : displayText(outcome.message, 400);
  void vscode.window.showInformationMessage(`KRR: ${message}`, 'Show Trials', revertLabel).then((choice) => {
    if (choice === 'Show Trials') return vscode.commands.executeCommand('krr.showTrials');
    if (choice === revertLabel) return runGuarded(host, () => revertTrial(host, trialId, requesters.notification));
    return undefined;
  });
  return { ...outcome, message };
}

/** "KRR: Show Trials": every trial, newest first; then what the chosen one can do. */
export async function showTrials(host: CommandHost): Promise<void> {
  const session = host.session();
  const trials = [...(await session.listTrials())].sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  if (trials.length === 0) {
    const choice = await vscode.window.showInformationMessage('KRR: no trials yet. "KRR: Try on N Pods…" tries a recommendation on a few running pods first.', 'Try on N Pods…');
    if (choice) await vscode.commands.executeCommand('krr.tryOnPods');
    return;
  }
  const { describeTrial } = loadEngine();
  const pick = await vscode.window.showQuickPick(
    trials.map((record) => ({ label: `${stateIcon(record)} ${workloadText(record.workload)}`, description: `${record.state} · ${plural(record.pods.length, 'pod')} · ${nameText(record.context, 80)}`, detail: describeTrial(record), record })),
    { title: 'KRR: trials', placeHolder: 'Pick a trial to revert, persist or read', matchOnDescription: true, matchOnDetail: true },
  );
  if (!pick) return;
  const actions = trialActions(pick.record);
  const action = await vscode.window.showQuickPick(
    actions.map((label) => ({ label, description: actionDescription(label, pick.record) })),
    { title: `KRR: trial ${pick.record.id} (${pick.record.state}) of ${workloadText(pick.record.workload)}` },
  );
  if (action) await runTrialAction(host, pick.record.id, action.label, requesters.palette);
}

function actionDescription(label: string, record: TrialRecord): string {
  if (label === revertLabel) return `put ${plural(record.pods.length, 'pod')} back at the template's size`;
  if (label === persistLabel) return `${record.persistPlanId ? `proposed before as ${record.persistPlanId}; ` : ''}propose the change of the template, with its own approval`;
  return 'the trial\'s pods, signals and revert in a document';
}

export async function runTrialAction(host: CommandHost, trialId: string, label: string, requester: Requester): Promise<void> {
  if (label === revertLabel) await revertTrial(host, trialId, requester);
  else if (label === persistLabel) await persistTrial(host, trialId, requester);
  else if (label === detailsLabel) await showTrialDetails(trialId);
}

/** A button in a notification: its failure is shown like a command's (guard), never left unhandled. */
function runGuarded(host: CommandHost, run: () => Promise<unknown>): Promise<void> {
  return guard(host, run)();
}

export async function revertTrial(host: CommandHost, trialId: string, requester: Requester): Promise<TrialRecord> {
  const record = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `KRR: reverting trial ${displayText(trialId, 40)}` }, () => host.session().revertTrial(trialId, requester));
  const failed = record.revert?.pods.filter((pod) => pod.result === 'failed') ?? [];
  host.refreshViews();
  if (failed.length === 0) {
    void vscode.window.showInformationMessage(`KRR: trial ${record.id} reverted: ${plural(record.pods.length, 'pod')} of ${workloadText(record.workload)} back at the template's size (or replaced by the controller).`);
  } else {
    void vscode.window
      .showWarningMessage(`KRR: trial ${record.id}: ${plural(failed.length, 'pod')} could not be reverted: ${failed.map((pod) => `${nameText(pod.name, 80)} (${displayText(pod.message ?? 'failed', 200)})`).join('; ')}.`, revertLabel, detailsLabel)
      .then((choice) => (choice ? runGuarded(host, () => runTrialAction(host, record.id, choice, requesters.notification)) : undefined));
  }
  return record;
}

/**
 * The change of the template for a trial that passed: an ordinary plan (cluster, or the manifests for a workload
 * Argo CD or Flux reconciles), its diff opened by the session, then the usual approval with the trial's evidence.
 */
export async function persistTrial(host: CommandHost, trialId: string, requester: Requester): Promise<ApplyOutcome | undefined> {
  const session = host.session();
  const record = await session.getTrial(trialId);
  const owner = await gitOpsOwnerOf(session, record);
  let target: 'cluster' | 'manifests' = 'cluster';
  if (owner) {
    const choice = await vscode.window.showQuickPick(
      [
        { label: 'Manifests', description: `recommended: ${owner} reconciles it from Git`, target: 'manifests' as const },
        { label: 'Cluster', description: 'patch the live object (its GitOps owner may put the old values back)', target: 'cluster' as const },
      ],
      { title: `KRR: persist trial ${record.id} of ${workloadText(record.workload)} where?` },
    );
    if (!choice) return undefined;
    target = choice.target;
  }
  const plan = await withCancellableProgress(`KRR: proposing the change of ${workloadText(record.workload)} that trial ${record.id} tried`, (signal) => session.persistTrial(trialId, requester, target, signal));
  host.refreshViews();
  const changes = 'files' in plan ? plan.files.length : plan.objects.length;
  if (changes === 0) {
    void vscode.window.showWarningMessage(`KRR: ${plan.id} changes nothing (the template may already have these values, or a policy blocks it). See Output.`);
    return undefined;
  }
  return applyPlan(host, plan.id, requester);
}

/** The workload's GitOps owner in words, when one is known or can be read now (best effort: none on any failure). */
async function gitOpsOwnerOf(session: Session, record: TrialRecord): Promise<string | null> {
  const { namespace, kind, name } = record.workload;
  try {
    await session.readGitOpsOwners(record.sourceReportId, [{ namespace, kind, name }]);
    const rows = session.listRecommendations({ reportId: record.sourceReportId, namespace, kind, name, pageSize: 50 }).rows;
    const owner = rows.find((row) => row.namespace === namespace && row.kind === kind && row.name === name)?.gitopsOwner;
    return owner ? describeOwner(owner) : null;
  } catch {
    return null;
  }
}

export const trialScheme = 'krr-trial';

/** A read-only Markdown document (nothing to save on close): the trial's pods, what the watch saw, the revert, the record. */
export async function showTrialDetails(trialId: string): Promise<void> {
  // The query makes every open a fresh read, as the raw audit log does.
  const uri = vscode.Uri.from({ scheme: trialScheme, path: `/${trialId}.md`, query: String(Date.now()) });
  const document = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(document, { preview: false });
}

export function registerTrialDocument(session: () => Session): vscode.Disposable {
  return vscode.workspace.registerTextDocumentContentProvider(trialScheme, {
    provideTextDocumentContent: async (uri) => trialDetails(await session().getTrial(uri.path.replace(/^\//, '').replace(/\.md$/, ''))),
  });
}

function stateIcon(record: TrialRecord): string {
  switch (record.state) {
    case 'running':
      return '$(beaker)';
    case 'passed':
      return '$(pass)';
    case 'failed':
      return '$(error)';
    case 'overdue':
      return '$(warning)';
    default:
      return '$(discard)';
  }
}
