// Every `KRR: …` command, registered in one place; each is a few lines that delegate to the session.
import * as vscode from 'vscode';
import type { Plan } from '../core/plan/model';
import type { ApplyOutcome, FleetSummary, Requester } from '../core/model';
import type { Session } from '../core/session/session';
import type { SessionSettings } from '../core/settings';
import { loadEngine } from './engine';
import { reportManifestOutcome, writeToManifests } from './manifests';
import { explainProblem, type ProblemAction } from './problem';
import { askScanChoice } from './scanFlow';
import { ToastPacing } from './toastPacing';
import { AuditView } from './auditView';
import { groupSkips, planSkips } from '../core/plan/skips';
import { formatCount, formatMonthly, nameText, plural } from '../core/text';
import { ReviewPanel, reviewViewType, type ReviewActions, type WorkloadRef } from './reviewPanel';
import type { RecommendationNode, SnapshotNode } from './tree';

export const auditScheme = 'krr-audit';
const palette: Requester = { type: 'human', via: 'command palette' };
const reviewPanel: Requester = { type: 'human', via: 'review panel' };
/** The "Apply…" button of the notification a preview shows: not the command palette (issue 15). */
const notification: Requester = { type: 'human', via: 'notification' };
const recommendationsView: Requester = { type: 'human', via: 'recommendations view' };
const walkthrough: Requester = { type: 'human', via: 'walkthrough' };

/**
 * The walkthrough's buttons pass `{"via":"walkthrough"}` (package.json), so the dialog and the audit log do not say
 * "command palette" for them. Only this exact marker is recognised; anything else is not a source.
 */
export function fromWalkthrough(arg: unknown): boolean {
  return typeof arg === 'object' && arg !== null && !Array.isArray(arg) && Object.keys(arg).length === 1 && (arg as Record<string, unknown>).via === 'walkthrough';
}

export interface CommandHost {
  extensionUri: vscode.Uri;
  /** Builds the session on first use; throws SettingsError when a setting is invalid. */
  session(): Session;
  settings(): SessionSettings;
  readOnly(): { readOnly: boolean; reason: string | null };
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

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || /aborted|cancel/i.test(error.message));
}

/** Every notification this extension opens is counted, so a result shown right after a burst still gets its toast. */
const toastPacing = new ToastPacing();

/** Runs `task` under a cancellable notification; cancelling aborts the krr/kubectl process through the signal. */
function withCancellableProgress<T>(title: string, task: (signal: AbortSignal, report: (message: string, increment?: number) => void) => Promise<T>): Thenable<T> {
  toastPacing.opened();
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
    const controller = new AbortController();
    token.onCancellationRequested(() => controller.abort());
    return task(controller.signal, (message, increment) => progress.report(increment === undefined ? { message } : { message, increment }));
  });
}

/**
 * A fleet scan with one notification for the whole fleet (cancels all) and one per running context, whose Cancel
 * stops that context only; a context that fails or is cancelled leaves the others running.
 */
function scanFleet(session: Session, contexts: string[], args: { namespaces: string[]; strategy: 'simple' | 'simple_limit'; refresh: boolean }): Thenable<FleetSummary> {
  const controllers = new Map(contexts.map((context) => [context, new AbortController()]));
  const running = new Map<string, { report(message: string): void; finish(): void }>();
  let finished = 0;
  return withCancellableProgress(`KRR: scanning ${plural(contexts.length, 'context')}`, (signal, report) =>
    session
      .scanFleet({ ...args, contexts }, palette, {
        signal,
        signalFor: (context) => controllers.get(context)?.signal,
        onProgress: (p) => {
          if (p.message === 'starting') {
            toastPacing.opened();
            void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `KRR: ${nameText(p.context)}`, cancellable: true }, (progress, token) => {
              token.onCancellationRequested(() => controllers.get(p.context)?.abort());
              return new Promise<void>((resolve) => running.set(p.context, { report: (message) => progress.report({ message }), finish: resolve }));
            });
          } else if (p.done) {
            running.get(p.context)?.finish();
            running.delete(p.context);
            report(`${formatCount(++finished)}/${formatCount(contexts.length)} done (${nameText(p.context)}: ${p.message})`);
          } else {
            running.get(p.context)?.report(p.message);
          }
        },
      })
      .finally(() => {
        for (const entry of running.values()) entry.finish();
      }),
  );
}

/** Counted progress ("312 / 2,500") for the notification, advancing its bar by the share done since the last call. */
function countedProgress(report: (message: string, increment?: number) => void, extra?: (progress: { done: number; total: number; phase?: string }) => void) {
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
function reportOutcome(outcome: ApplyOutcome, kind: 'apply' | 'rollback' = 'apply'): void {
  const text = `KRR: ${describeOutcome(outcome, kind)}`;
  if (outcome.status === 'applied') {
    void vscode.window.showInformationMessage(text, 'Show Snapshots').then((choice) => (choice ? vscode.commands.executeCommand('krr.snapshots.focus') : undefined));
  } else if (outcome.status === 'declined') {
    void vscode.window.showInformationMessage(text);
  } else {
    void vscode.window.showWarningMessage(text);
  }
}

export function registerCommands(host: CommandHost): vscode.Disposable[] {
  const guard =
    <A extends unknown[]>(run: (...args: A) => Promise<unknown>) =>
    async (...args: A): Promise<void> => {
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

  const preview = async (reportId: string, workloads: WorkloadRef[], requester: Requester, includeLimits = false, onProgress?: (progress: { done: number; total: number }) => void): Promise<Plan> => {
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
        .then((choice) => (choice ? guard(async () => void (await apply(plan.id, notification)))() : undefined));
    }
    return plan;
  };

  /** After any apply or rollback attempt: the plan's diff closes and the review panel shows what is now live. */
  const afterOutcome = (outcome: ApplyOutcome) => {
    const plan = host.session().getPlan(outcome.planId);
    if (plan && ReviewPanel.current) ReviewPanel.current.noteOutcome(plan, outcome);
    else void host.closeDiff?.(outcome.planId);
  };

  const apply = async (planId: string, requester: Requester): Promise<ApplyOutcome> => {
    const session = host.session();
    const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'KRR: waiting for approval' }, () => session.apply(planId, requester));
    if (outcome.files) reportManifestOutcome(session, outcome);
    else reportOutcome(outcome);
    host.refreshViews();
    // The review panel notes its own applies itself (it also clears its ticks); everything else here.
    if (requester !== reviewPanel) afterOutcome(outcome);
    return outcome;
  };

  const reviewActions: ReviewActions = {
    preview: async (reportId, workloads, options) => {
      try {
        return await preview(reportId, workloads, reviewPanel, options.includeLimits, options.onProgress);
      } catch (error) {
        if (isAbort(error)) return 'cancelled';
        showProblem(error, host.output);
        return explainProblem(error).message;
      }
    },
    previewManifests: async (reportId, workloads, options) => {
      try {
        return await withCancellableProgress(`KRR: finding the manifests of ${plural(workloads.length, 'workload')}`, (signal) =>
          host.session().proposeManifests({ reportId, workloads, includeLimits: options.includeLimits, target: 'manifests' }, reviewPanel, signal),
        );
      } catch (error) {
        if (isAbort(error)) return 'cancelled';
        showProblem(error, host.output);
        return explainProblem(error).message;
      }
    },
    apply: async (planId) => {
      try {
        return await apply(planId, reviewPanel);
      } catch (error) {
        showProblem(error, host.output);
        return explainProblem(error).message;
      }
    },
    isReadOnly: () => host.readOnly(),
    settings: () => host.settings(),
    log: (line) => host.output.info(line),
    showOutput: () => host.output.show(true),
    closeDiff: async (planId) => {
      await host.closeDiff?.(planId);
    },
    memento: host.memento,
  };

  const showPanel = () => {
    const panel = ReviewPanel.show(host.extensionUri, host.session(), reviewActions);
    host.reviewed();
    return panel;
  };

  const afterReport = async (summary: { reportId: string; workloads: number; containers: number; monthlyCostDelta: number; errors: string[]; cached: boolean }) => {
    host.refreshViews();
    showPanel();
    const errors = summary.errors.length ? ` krr reported: ${summary.errors.join('; ')}` : '';
    // Invalid names are flagged as the report loads (all of them in Output, listed by the review panel), not at Preview.
    const invalid = loadEngine().reportNameProblems(host.session().getReport(summary.reportId)).length;
    const flagged = invalid > 0 ? ` ${plural(invalid, 'invalid name')} (skipped by Preview; listed in the panel and Output).` : '';
    const message = `KRR: ${plural(summary.workloads, 'workload')}, ${plural(summary.containers, 'container')}${summary.cached ? ' (cached scan)' : ''}.${errors}${flagged}`;
    host.output.info(message);
    if (invalid > 0) void vscode.window.showWarningMessage(message, 'Show Output').then((choice) => (choice ? host.output.show() : undefined));
    else void vscode.window.showInformationMessage(message);
  };

  // After a window reload VS Code restores the panel: it comes back with the last report and the webview state
  // (selection, filters, sort). No report to restore: the panel shows "Scan Cluster…" instead of an empty table.
  const serializer = vscode.window.registerWebviewPanelSerializer(reviewViewType, {
    deserializeWebviewPanel: async (panel) => {
      let session: Session;
      try {
        session = host.session();
        if (!session.currentReview()) await host.restoreReport?.(session);
      } catch (error) {
        panel.dispose();
        showProblem(error, host.output);
        return;
      }
      ReviewPanel.revive(panel, host.extensionUri, session, reviewActions);
    },
  });

  const commands: Record<string, (...args: never[]) => Promise<void>> = {
    'krr.scan': guard(async (source?: unknown) => {
      const settings = host.settings();
      const session = host.session();
      const kubectl = { kubectlPath: settings.kubectlPath, ...(settings.kubeconfig ? { kubeconfig: settings.kubeconfig } : {}) };
      const contexts = await loadEngine().listContexts(kubectl);
      if (contexts.names.length === 0) {
        showProblem(new Error('No context is set: the kubeconfig has no contexts. Point krr.kubeconfig at a kubeconfig with a context.'), host.output);
        return;
      }
      const choice = await askScanChoice({
        contexts,
        configuredContext: settings.context ?? null,
        configuredContexts: settings.contexts,
        configuredNamespaces: settings.namespaces,
        strategy: settings.strategy,
        namespacesOf: (context) => new (loadEngine().Kubectl)({ ...kubectl, context, timeoutMs: 15_000 }).listNamespaces(),
      });
      if (!choice) return;
      const requester = fromWalkthrough(source) ? walkthrough : palette;
      if (choice.contexts.length === 1) {
        const summary = await withCancellableProgress(`KRR: scanning ${choice.context}`, (signal, report) =>
          session.scan({ context: choice.context, namespaces: choice.namespaces, strategy: choice.strategy, refresh: true }, requester, { signal, onProgress: (p) => report(p.message) }),
        );
        await afterReport(summary);
        return;
      }
      const fleet = await scanFleet(session, choice.contexts, { namespaces: choice.namespaces, strategy: choice.strategy, refresh: true });
      host.refreshViews();
      showPanel();
      const failed = fleet.reports.filter((entry) => entry.error);
      const text = `KRR: ${fleet.reports.length - failed.length} of ${plural(fleet.reports.length, 'context')} scanned, ${plural(fleet.totals.rows, 'container')}.${failed.length ? ` Failed: ${failed.map((entry) => `${entry.context} (${entry.error ?? ''})`).join(' · ')}` : ''}`;
      // A fleet opened a notification per context: a result shown within VS Code's spam window would get no toast.
      await toastPacing.quiet();
      void (failed.length ? vscode.window.showWarningMessage(text) : vscode.window.showInformationMessage(text));
    }),
    'krr.openReport': guard(async () => {
      const picked = await vscode.window.showOpenDialog({ title: 'Open a krr report (krr … -f json)', canSelectMany: false, filters: { 'krr report': ['json', 'yaml', 'yml'] } });
      const file = picked?.[0];
      if (!file) return;
      await afterReport(await host.session().loadReport(file.fsPath, palette));
    }),
    'krr.showRecommendations': guard(async () => {
      showPanel();
    }),
    'krr.previewSelection': guard(async (arg?: RecommendationNode | { via: string }, nodes?: RecommendationNode[]) => {
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
      if (workloads.length > 0) await preview(reportId, workloads, node ? recommendationsView : viaWalkthrough ? walkthrough : palette);
    }),
    'krr.applyPlan': guard(async (planId?: string | { via: string }) => {
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
      if (id) await apply(id, fromWalkthrough(planId) ? walkthrough : palette);
    }),
    'krr.rollBack': guard(async (arg?: SnapshotNode | { via: string }) => {
      const viaWalkthrough = fromWalkthrough(arg);
      const node = viaWalkthrough ? undefined : (arg as SnapshotNode | undefined);
      const session = host.session();
      let snapshotId = node && typeof node.id === 'string' ? node.id : undefined;
      if (!snapshotId) {
        const snapshots = await session.listSnapshots();
        if (snapshots.length === 0) {
          void vscode.window.showInformationMessage('KRR: there are no snapshots yet; one is taken before every apply.');
          return;
        }
        const pick = await vscode.window.showQuickPick(
          snapshots.map((snapshot) => ({ label: new Date(snapshot.createdAt).toLocaleString(), description: `${snapshot.context} · ${plural(snapshot.objects, 'object')} · ${snapshot.planId}`, id: snapshot.id })),
          { title: 'KRR: roll back to the state before…' },
        );
        snapshotId = pick?.id;
      }
      if (!snapshotId) return;
      const id = snapshotId;
      // The inline action passes the tree node: the dialog and the audit log say where the request came from.
      const requester: Requester = node ? { type: 'human', via: 'snapshots view' } : viaWalkthrough ? walkthrough : palette;
      const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'KRR: rolling back (waiting for approval)' }, () => session.rollback(id, requester));
      reportOutcome(outcome, 'rollback');
      host.refreshViews();
      afterOutcome(outcome);
      // Values someone changed since the apply were left out; overwriting them is a separate, explicit choice.
      const leftOut = (outcome.conflicts ?? []).filter((conflict) => !conflict.included).length;
      if (leftOut > 0 && (outcome.status === 'applied' || outcome.status === 'refused')) {
        const include = 'Roll Back Those Too…';
        if ((await vscode.window.showWarningMessage(`KRR: ${plural(leftOut, 'value')} ${leftOut === 1 ? 'was' : 'were'} changed since that apply and ${leftOut === 1 ? 'was' : 'were'} not rolled back.`, include)) === include) {
          const again = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'KRR: rolling back (waiting for approval)' }, () => session.rollback(id, requester, { includeConflicts: true }));
          reportOutcome(again, 'rollback');
          host.refreshViews();
          afterOutcome(again);
        }
      }
    }),
    'krr.showAuditLog': guard(async () => {
      const view = AuditView.show(host.extensionUri, host.session());
      await view.post();
    }),
    'krr.showAuditLogRaw': guard(async () => {
      const uri = vscode.Uri.from({ scheme: auditScheme, path: '/audit-log.jsonl', query: String(Date.now()) });
      const document = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(document, { preview: false });
    }),
    'krr.verifyAuditLog': guard(async () => {
      const result = await host.session().verifyAudit();
      const legacy = result.legacyEntries > 0 ? `; entries 1–${result.legacyEntries} were written before the log was keyed (hash chain only)` : '';
      if (result.valid) void vscode.window.showInformationMessage(`KRR: the audit log is intact (${result.entries} entries, keyed chain and head verified${legacy}${result.tornTail ? '; an unfinished last line (a crash mid-write) is cut on the next entry' : ''}).`);
      else void vscode.window.showErrorMessage(`KRR: the audit log was modified: ${result.firstBrokenLine ? `the chain breaks at line ${result.firstBrokenLine}` : 'its end, head or key does not match'}${result.reason ? ` (${result.reason})` : ''}.`);
    }),
    'krr.exportAuditLog': guard(async () => {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      const target = await vscode.window.showSaveDialog({
        title: 'Export the KRR audit log',
        filters: { 'JSON Lines': ['jsonl'], CSV: ['csv'] },
        ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, 'krr-audit.jsonl') } : {}),
      });
      if (!target) return;
      const format = target.path.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl';
      await vscode.workspace.fs.writeFile(target, Buffer.from(await host.session().exportAudit(format), 'utf8'));
      void vscode.window.showInformationMessage(`KRR: audit log exported to ${target.fsPath} (${format.toUpperCase()}).`);
    }),
    'krr.setPrometheusAuthHeader': guard(async () => {
      const value = await vscode.window.showInputBox({
        title: 'KRR: Prometheus auth header',
        prompt: 'Value of the Authorization header krr sends to Prometheus, e.g. "Bearer eyJ…". Stored in VS Code\'s secret storage, never in settings or logs. Empty: remove it.',
        password: true,
        ignoreFocusOut: true,
      });
      if (value === undefined) return;
      if (value.trim() === '') {
        await host.secrets.delete(prometheusSecretKey);
        void vscode.window.showInformationMessage('KRR: Prometheus auth header removed.');
      } else {
        await host.secrets.store(prometheusSecretKey, value.trim());
        void vscode.window.showInformationMessage('KRR: Prometheus auth header stored in secret storage.');
      }
    }),
    'krr.writeToManifests': guard(async () => {
      await writeToManifests(host.session(), palette, { readOnly: host.readOnly().readOnly });
      host.refreshViews();
    }),
    'krr.setUpClaudeCode': guard(() => host.setUpClaudeCode()),
    'krr.showOutput': guard(async () => host.output.show()),
    'krr.refresh': guard(async () => host.refreshViews()),
  };
  return [serializer, ...Object.entries(commands).map(([id, run]) => vscode.commands.registerCommand(id, run))];
}

export const prometheusSecretKey = 'krr.prometheusAuthHeader';

function workloadsOfNodes(nodes: readonly RecommendationNode[]): WorkloadRef[] {
  const seen = new Map<string, WorkloadRef>();
  for (const node of nodes) {
    if (node.type === 'cluster') continue;
    const workloads = node.type === 'namespace' ? node.workloads : [node.workload];
    for (const workload of workloads) seen.set(workload.key, { namespace: workload.namespace, kind: workload.kind, name: workload.name });
  }
  return [...seen.values()];
}

/** The audit log as a read-only document: newest first, one JSON entry per line, chain status on top. */
export function registerAuditDocument(session: () => Session): vscode.Disposable {
  return vscode.workspace.registerTextDocumentContentProvider(auditScheme, {
    provideTextDocumentContent: async () => {
      const log = await session().auditLog({ pageSize: 200 });
      const status = log.chainValid ? 'hash chain intact' : `HASH CHAIN BROKEN at line ${log.firstBrokenLine ?? '?'}`;
      const header = `// KRR audit log: ${log.total} entries, ${status}; showing the newest ${log.entries.length}, newest first.`;
      return [header, ...log.entries.map((entry) => JSON.stringify(entry))].join('\n') + '\n';
    },
  });
}
