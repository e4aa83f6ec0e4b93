// "KRR: Preview Changes for Selection" and "KRR: Apply Previewed Plan": a plan proposed from the selected workloads
// (its skips in Output and the notification), a pending plan applied after the person picks it, and what follows an
// apply. The review panel's Preview and Apply… go through the same previewPlan and applyPlan (reviewCommands.ts).
import * as vscode from 'vscode';
import type { ApplyOutcome, Requester } from '../core/model';
import type { Plan } from '../core/plan/model';
import { groupSkips, planSkips } from '../core/plan/skips';
import { formatMonthly, plural } from '../core/text';
import { fromWalkthrough, guard, requesters, type CommandHost } from './commandHost';
import { reportManifestOutcome } from './manifests';
import { countedProgress, reportOutcome, withCancellableProgress } from './notifications';
import { ReviewPanel } from './reviewPanel';
import type { WorkloadRef } from './reviewMessages';
import type { RecommendationNode } from './tree';

/** Proposes a plan under a cancellable notification; the diff opens (the session does that) and the notification offers Apply…. */
export async function previewPlan(host: CommandHost, reportId: string, workloads: WorkloadRef[], requester: Requester, includeLimits = false, onProgress?: (progress: { done: number; total: number }) => void): Promise<Plan> {
  const session = host.session();
  const plan = await withCancellableProgress(`KRR: previewing ${plural(workloads.length, 'workload')}`, (signal, report) =>
    session.propose({ reportId, workloads, includeLimits }, requester, signal, countedProgress(report, onProgress)),
  );
  // Nothing is left out silently: every skip in Output, grouped by cause in the notification (bounded).
  const skips = planSkips(plan);
  if (skips.length > 0) {
    host.output.warn(`${plan.id}: ${plural(skips.length, 'item')} not included:`);
    for (const skip of skips) host.output.warn(`  ${skip.text}`);
  }
  const groups = groupSkips(skips);
  const notIncluded = skips.length === 0 ? '' : ` Not included: ${groups.slice(0, 3).map((group) => group.text).join(' · ')}${groups.length > 3 ? ` · …${plural(groups.length - 3, 'more group')} (Output)` : ''}.`;
  const risk = `risk ${plan.risk}${plan.riskReasons.length > 0 ? ` (${plan.riskReasons.slice(0, 2).join('; ')})` : ''}`;
  if (plan.objects.length === 0) {
    void vscode.window.showWarningMessage(`KRR: nothing to change, no diff opened.${notIncluded}`, ...(skips.length > 0 ? ['Show Output'] : [])).then((choice) => (choice ? host.output.show() : undefined));
  } else {
    const buttons = host.readOnly().readOnly ? [] : ['Apply…'];
    void vscode.window
      .showInformationMessage(`KRR: ${plan.id} — ${plural(plan.objects.length, 'object')}, ${risk}, monthly Δ ${formatMonthly(plan.totals.monthlyCostDelta)}.${notIncluded}`, ...buttons)
      // The button applies this plan and says so: the dialog and the audit log read "you (notification)".
      .then((choice) => (choice ? guard(host, async () => void (await applyPlan(host, plan.id, requesters.notification)))() : undefined));
  }
  return plan;
}

/** After any apply or rollback attempt: the plan's diff closes and the review panel shows what is now live. */
export function afterOutcome(host: CommandHost, outcome: ApplyOutcome): void {
  const plan = host.session().getPlan(outcome.planId);
  if (plan && ReviewPanel.current) ReviewPanel.current.noteOutcome(plan, outcome);
  else void host.closeDiff?.(outcome.planId);
}

/** Applies a stored plan (the session asks the person); a cluster plan's or a manifest plan's outcome is notified. */
export async function applyPlan(host: CommandHost, planId: string, requester: Requester): Promise<ApplyOutcome> {
  const session = host.session();
  const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'KRR: waiting for approval' }, () => session.apply(planId, requester));
  if (outcome.files) reportManifestOutcome(session, outcome);
  else reportOutcome(outcome);
  host.refreshViews();
  // The review panel notes its own applies itself (it also clears its ticks); everything else here.
  if (requester !== requesters.reviewPanel) afterOutcome(host, outcome);
  return outcome;
}

/** "KRR: Preview Changes for Selection": the tree's nodes, else the panel's ticks, else a quick pick of the report's workloads. */
export async function previewSelection(host: CommandHost, arg?: RecommendationNode | { via: string }, nodes?: RecommendationNode[]): Promise<void> {
  const viaWalkthrough = fromWalkthrough(arg);
  const node = viaWalkthrough ? undefined : (arg as RecommendationNode | undefined);
  const session = host.session();
  const picked = nodes ?? (node ? [node] : []);
  // Under a fleet's cluster node the nodes name their report; a plan changes one context, so one report.
  const nodeReports = [...new Set(picked.flatMap((item) => ('reportId' in item && item.reportId ? [item.reportId] : [])))];
  if (nodeReports.length > 1) {
    void vscode.window.showWarningMessage('KRR: select workloads of one cluster: a plan changes exactly one context.');
    return;
  }
  let reportId = nodeReports[0] ?? session.latestReportId();
  if (!reportId) {
    const choice = await vscode.window.showWarningMessage('KRR: no report yet. Scan a cluster or open a krr report first.', 'Scan Cluster…', 'Open krr Report File…');
    if (choice) await vscode.commands.executeCommand(choice === 'Scan Cluster…' ? 'krr.scan' : 'krr.openReport');
    return;
  }
  let workloads = workloadsOfNodes(picked);
  if (workloads.length === 0) {
    const fromPanel = ReviewPanel.current?.selectedWorkloads() ?? { reportId: null, workloads: [] };
    const clusters = [...new Set(fromPanel.workloads.flatMap((workload) => (workload.cluster !== undefined ? [workload.cluster] : [])))];
    if (fromPanel.reportId?.startsWith('fleet-') && clusters.length > 0) {
      const entry = clusters.length === 1 ? session.getFleet(fromPanel.reportId).reports.find((report) => report.context === clusters[0]) : undefined;
      if (!entry?.reportId) {
        void vscode.window.showWarningMessage('KRR: select workloads of one cluster: a plan changes exactly one context.');
        return;
      }
      reportId = entry.reportId;
    }
    workloads = fromPanel.workloads.map(({ namespace, kind, name }) => ({ namespace, kind, name }));
  }
  if (workloads.length === 0) {
    const picks = await vscode.window.showQuickPick(
      session.getReport(reportId).workloads.map((workload) => ({ label: workload.name, description: `${workload.kind} · ${workload.namespace} · ${workload.severity}`, workload })),
      { title: 'KRR: workloads to preview', canPickMany: true, matchOnDescription: true },
    );
    workloads = (picks ?? []).map(({ workload }) => ({ namespace: workload.namespace, kind: workload.kind, name: workload.name }));
  }
  // From the Recommendations view's inline action (a node is passed) the request came from that view.
  if (workloads.length > 0) await previewPlan(host, reportId, workloads, node ? requesters.recommendationsView : viaWalkthrough ? requesters.walkthrough : requesters.palette);
}

/** "KRR: Apply Previewed Plan": the plan a button names, else the one the person picks from the pending plans. */
export async function applyChosenPlan(host: CommandHost, planId?: string | { via: string }): Promise<void> {
  const session = host.session();
  // A plan id comes only from a button tied to that plan (the preview's "Apply…"); otherwise the person picks one:
  // never silently the latest, which the model can replace by proposing again.
  let id = typeof planId === 'string' ? planId : undefined;
  if (!id) {
    const pending = session.pendingPlans();
    if (pending.length === 0) {
      void vscode.window.showWarningMessage('KRR: there is no previewed plan. Run "KRR: Preview Changes for Selection" first.');
      return;
    }
    const pick = await vscode.window.showQuickPick(
      pending.map((plan) => ({
        label: plan.id,
        description:
          plan.kind === 'manifests'
            ? `manifests · ${plural(plan.objects, 'file')} in the workspace`
            : `${plan.kind === 'apply' ? '' : `${plan.kind} · `}${plan.context} · ${plural(plan.objects, 'object')} · risk ${plan.risk}`,
        detail: `Proposed by ${plan.proposedBy} at ${new Date(plan.createdAt).toLocaleTimeString()}`,
        id: plan.id,
      })),
      { title: 'KRR: apply which plan?', placeHolder: 'Pending plans, newest first', matchOnDescription: true, matchOnDetail: true },
    );
    id = pick?.id;
  }
  if (id) await applyPlan(host, id, fromWalkthrough(planId) ? requesters.walkthrough : requesters.palette);
}

function workloadsOfNodes(nodes: readonly RecommendationNode[]): WorkloadRef[] {
  const seen = new Map<string, WorkloadRef>();
  for (const node of nodes) {
    if (node.type === 'cluster') continue;
    const workloads = node.type === 'namespace' ? node.workloads : [node.workload];
    for (const workload of workloads) seen.set(workload.key, { namespace: workload.namespace, kind: workload.kind, name: workload.name });
  }
  return [...seen.values()];
}
