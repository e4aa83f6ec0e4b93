// "KRR: Scan Cluster…" and "KRR: Open krr Report File…": one context or a fleet scanned under cancellable
// notifications, or a report file loaded; either way the review panel opens and a notification sums the report up.
import * as vscode from 'vscode';
import type { FleetSummary } from '../core/model';
import type { Session } from '../core/session/session';
import { formatCount, nameText, plural } from '../core/text';
import { fromWalkthrough, requesters, type CommandHost } from './commandHost';
import { loadEngine } from './engine';
import { showProblem, toastPacing, withCancellableProgress } from './notifications';
import { showReviewPanel } from './reviewCommands';
import { askScanChoice } from './scanFlow';

/** "KRR: Scan Cluster…": the context(s), namespaces and strategy asked in one flow, then one scan or a fleet's. */
export async function scanCluster(host: CommandHost, source?: unknown): Promise<void> {
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
  const requester = fromWalkthrough(source) ? requesters.walkthrough : requesters.palette;
  if (choice.contexts.length === 1) {
    const summary = await withCancellableProgress(`KRR: scanning ${choice.context}`, (signal, report) =>
      session.scan({ context: choice.context, namespaces: choice.namespaces, strategy: choice.strategy, refresh: true }, requester, { signal, onProgress: (p) => report(p.message) }),
    );
    await afterReport(host, summary);
    return;
  }
  const fleet = await scanFleet(session, choice.contexts, { namespaces: choice.namespaces, strategy: choice.strategy, refresh: true });
  host.refreshViews();
  showReviewPanel(host);
  const failed = fleet.reports.filter((entry) => entry.error);
  const text = `KRR: ${fleet.reports.length - failed.length} of ${plural(fleet.reports.length, 'context')} scanned, ${plural(fleet.totals.rows, 'container')}.${failed.length ? ` Failed: ${failed.map((entry) => `${entry.context} (${entry.error ?? ''})`).join(' · ')}` : ''}`;
  // A fleet opened a notification per context: a result shown within VS Code's spam window would get no toast.
  await toastPacing.quiet();
  void (failed.length ? vscode.window.showWarningMessage(text) : vscode.window.showInformationMessage(text));
}

/** "KRR: Open krr Report File…": a report someone else ran (krr … -f json), reviewed like a scan's. */
export async function openReportFile(host: CommandHost): Promise<void> {
  const picked = await vscode.window.showOpenDialog({ title: 'Open a krr report (krr … -f json)', canSelectMany: false, filters: { 'krr report': ['json', 'yaml', 'yml'] } });
  const file = picked?.[0];
  if (!file) return;
  await afterReport(host, await host.session().loadReport(file.fsPath, requesters.palette));
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
      .scanFleet({ ...args, contexts }, requesters.palette, {
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

/** After a scan or a loaded report: the views refresh, the panel opens, and a notification sums the report up. */
async function afterReport(host: CommandHost, summary: { reportId: string; workloads: number; containers: number; monthlyCostDelta: number; errors: string[]; cached: boolean }): Promise<void> {
  host.refreshViews();
  showReviewPanel(host);
  const errors = summary.errors.length ? ` krr reported: ${summary.errors.join('; ')}` : '';
  // Invalid names are flagged as the report loads (all of them in Output, listed by the review panel), not at Preview.
  const invalid = loadEngine().reportNameProblems(host.session().getReport(summary.reportId)).length;
  const flagged = invalid > 0 ? ` ${plural(invalid, 'invalid name')} (skipped by Preview; listed in the panel and Output).` : '';
  const message = `KRR: ${plural(summary.workloads, 'workload')}, ${plural(summary.containers, 'container')}${summary.cached ? ' (cached scan)' : ''}.${errors}${flagged}`;
  host.output.info(message);
  if (invalid > 0) void vscode.window.showWarningMessage(message, 'Show Output').then((choice) => (choice ? host.output.show() : undefined));
  else void vscode.window.showInformationMessage(message);
}
