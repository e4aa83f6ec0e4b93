// Every `KRR: …` command, registered in one place; each is a few lines that delegate to the session.
import * as vscode from 'vscode';
import type { Plan } from '../core/plan/model';
import type { ApplyOutcome, Requester } from '../core/session/model';
import type { Session } from '../core/session/session';
import type { SessionSettings } from '../core/session/settings';
import { loadEngine } from './engine';
import { explainProblem, type ProblemAction } from './problem';
import { groupSkips, planSkips } from '../core/plan/skips';
import { reportNameProblems } from '../core/reportCheck';
import { formatCount, formatMonthly, plural } from '../core/text';
import { ReviewPanel, reviewViewType, type ReviewActions, type WorkloadRef } from './reviewPanel';
import type { RecommendationNode, SnapshotNode } from './tree';

export const auditScheme = 'krr-audit';
const palette: Requester = { type: 'human', via: 'command palette' };
const reviewPanel: Requester = { type: 'human', via: 'review panel' };

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
  /** Closes the diff tabs of a plan that was applied, declined or rolled back. */
  closeDiff?(planId: string): Promise<void>;
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

/** Runs `task` under a cancellable notification; cancelling aborts the krr/kubectl process through the signal. */
function withCancellableProgress<T>(title: string, task: (signal: AbortSignal, report: (message: string, increment?: number) => void) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
    const controller = new AbortController();
    token.onCancellationRequested(() => controller.abort());
    return task(controller.signal, (message, increment) => progress.report(increment === undefined ? { message } : { message, increment }));
  });
}

/** Counted progress ("312 / 2,500") for the notification, advancing its bar by the share done since the last call. */
function countedProgress(report: (message: string, increment?: number) => void, extra?: (progress: { done: number; total: number }) => void) {
  let reported = 0;
  return (progress: { done: number; total: number }) => {
    const share = progress.total > 0 ? (progress.done / progress.total) * 100 : 0;
    report(`${formatCount(progress.done)} / ${formatCount(progress.total)}`, share - reported);
    reported = share;
    extra?.(progress);
  };
}

export function describeOutcome(outcome: ApplyOutcome): string {
  const written = outcome.objects.filter((object) => object.result === 'written').length;
  return `${outcome.status}: ${outcome.message}${outcome.status === 'applied' ? ` (${plural(written, 'object')} written${outcome.verified ? ', verified' : ''})` : ''}`;
}

/** Does not wait for the notification: the apply (and the review panel's "Waiting for your approval…") ends now. */
function reportOutcome(outcome: ApplyOutcome): void {
  const text = `KRR: ${describeOutcome(outcome)}`;
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
        .then((choice) => (choice ? vscode.commands.executeCommand('krr.applyPlan', plan.id) : undefined));
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
    reportOutcome(outcome);
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
  };

  const showPanel = () => ReviewPanel.show(host.extensionUri, host.session(), reviewActions);

  const afterReport = async (summary: { reportId: string; workloads: number; containers: number; monthlyCostDelta: number; errors: string[]; cached: boolean }) => {
    host.refreshViews();
    showPanel();
    const errors = summary.errors.length ? ` krr reported: ${summary.errors.join('; ')}` : '';
    // Invalid names are flagged as the report loads (all of them in Output, listed by the review panel), not at Preview.
    const invalid = reportNameProblems(host.session().getReport(summary.reportId)).length;
    const flagged = invalid > 0 ? ` ${plural(invalid, 'invalid name')} (skipped by Preview; listed in the panel and Output).` : '';
    const message = `KRR: ${plural(summary.workloads, 'workload')}, ${plural(summary.containers, 'container')}${summary.cached ? ' (cached scan)' : ''}.${errors}${flagged}`;
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
        if (!session.latestReportId()) await host.restoreReport?.(session);
      } catch (error) {
        panel.dispose();
        showProblem(error, host.output);
        return;
      }
      ReviewPanel.revive(panel, host.extensionUri, session, reviewActions);
    },
  });

  const commands: Record<string, (...args: never[]) => Promise<void>> = {
    'krr.scan': guard(async () => {
      const settings = host.settings();
      const session = host.session();
      const contexts = await loadEngine().listContexts({ kubectlPath: settings.kubectlPath, ...(settings.kubeconfig ? { kubeconfig: settings.kubeconfig } : {}) });
      if (contexts.names.length === 0) {
        showProblem(new Error('No context is set: the kubeconfig has no contexts. Point krr.kubeconfig at a kubeconfig with a context.'), host.output);
        return;
      }
      const preferred = settings.context ?? contexts.current;
      const items = [...contexts.names]
        .sort((a, b) => Number(b === preferred) - Number(a === preferred))
        .map((name) => ({ label: name, description: [name === contexts.current ? 'current' : '', name === settings.context ? 'krr.context' : ''].filter(Boolean).join(', ') }));
      const context = await vscode.window.showQuickPick(items, { title: 'KRR: Scan — 1/3 context', placeHolder: 'Kubernetes context to scan' });
      if (!context) return;
      const namespaceText = await vscode.window.showInputBox({
        title: 'KRR: Scan — 2/3 namespaces',
        prompt: 'Namespaces to scan, separated by commas. Empty: all namespaces.',
        value: settings.namespaces.join(', '),
      });
      if (namespaceText === undefined) return;
      const strategies = [settings.strategy, ...(['simple', 'simple_limit'] as const).filter((strategy) => strategy !== settings.strategy)];
      const strategy = await vscode.window.showQuickPick(
        strategies.map((label) => ({ label, description: label === 'simple' ? 'requests; no CPU limit' : 'requests and CPU limits' })),
        { title: 'KRR: Scan — 3/3 strategy' },
      );
      if (!strategy) return;
      const namespaces = namespaceText.split(',').map((name) => name.trim()).filter(Boolean);
      const summary = await withCancellableProgress(`KRR: scanning ${context.label}`, (signal, report) =>
        session.scan({ context: context.label, namespaces, strategy: strategy.label as 'simple' | 'simple_limit', refresh: true }, palette, { signal, onProgress: (p) => report(p.message) }),
      );
      await afterReport(summary);
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
    'krr.previewSelection': guard(async (node?: RecommendationNode, nodes?: RecommendationNode[]) => {
      const session = host.session();
      const reportId = session.latestReportId();
      if (!reportId) {
        const choice = await vscode.window.showWarningMessage('KRR: no report yet. Scan a cluster or open a krr report first.', 'Scan Cluster…', 'Open krr Report File…');
        if (choice) await vscode.commands.executeCommand(choice === 'Scan Cluster…' ? 'krr.scan' : 'krr.openReport');
        return;
      }
      let workloads = workloadsOfNodes(nodes ?? (node ? [node] : []));
      if (workloads.length === 0) workloads = ReviewPanel.current?.selectedWorkloads().workloads ?? [];
      if (workloads.length === 0) {
        const picks = await vscode.window.showQuickPick(
          session.getReport(reportId).workloads.map((workload) => ({ label: workload.name, description: `${workload.kind} · ${workload.namespace} · ${workload.severity}`, workload })),
          { title: 'KRR: workloads to preview', canPickMany: true, matchOnDescription: true },
        );
        workloads = (picks ?? []).map(({ workload }) => ({ namespace: workload.namespace, kind: workload.kind, name: workload.name }));
      }
      if (workloads.length > 0) await preview(reportId, workloads, palette);
    }),
    'krr.applyPlan': guard(async (planId?: string) => {
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
            description: `${plan.kind === 'apply' ? '' : `${plan.kind} · `}${plan.context} · ${plan.objects} ${plan.objects === 1 ? 'object' : 'objects'} · risk ${plan.risk}`,
            detail: `Proposed by ${plan.proposedBy} at ${new Date(plan.createdAt).toLocaleTimeString()}`,
            id: plan.id,
          })),
          { title: 'KRR: apply which plan?', placeHolder: 'Pending plans, newest first', matchOnDescription: true, matchOnDetail: true },
        );
        id = pick?.id;
      }
      if (id) await apply(id, palette);
    }),
    'krr.rollBack': guard(async (node?: SnapshotNode) => {
      const session = host.session();
      let snapshotId = node && typeof node.id === 'string' ? node.id : undefined;
      if (!snapshotId) {
        const snapshots = await session.listSnapshots();
        if (snapshots.length === 0) {
          void vscode.window.showInformationMessage('KRR: there are no snapshots yet; one is taken before every apply.');
          return;
        }
        const pick = await vscode.window.showQuickPick(
          snapshots.map((snapshot) => ({ label: new Date(snapshot.createdAt).toLocaleString(), description: `${snapshot.context} · ${snapshot.objects} objects · ${snapshot.planId}`, id: snapshot.id })),
          { title: 'KRR: roll back to the state before…' },
        );
        snapshotId = pick?.id;
      }
      if (!snapshotId) return;
      const id = snapshotId;
      // The inline action passes the tree node: the dialog and the audit log say where the request came from.
      const requester: Requester = node ? { type: 'human', via: 'snapshots view' } : palette;
      const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'KRR: rolling back (waiting for approval)' }, () => session.rollback(id, requester));
      reportOutcome(outcome);
      host.refreshViews();
      afterOutcome(outcome);
      // Values someone changed since the apply were left out; overwriting them is a separate, explicit choice.
      const leftOut = (outcome.conflicts ?? []).filter((conflict) => !conflict.included).length;
      if (leftOut > 0 && (outcome.status === 'applied' || outcome.status === 'refused')) {
        const include = 'Roll Back Those Too…';
        if ((await vscode.window.showWarningMessage(`KRR: ${plural(leftOut, 'value')} ${leftOut === 1 ? 'was' : 'were'} changed since that apply and ${leftOut === 1 ? 'was' : 'were'} not rolled back.`, include)) === include) {
          const again = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'KRR: rolling back (waiting for approval)' }, () => session.rollback(id, requester, { includeConflicts: true }));
          reportOutcome(again);
          host.refreshViews();
          afterOutcome(again);
        }
      }
    }),
    'krr.showAuditLog': guard(async () => {
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
