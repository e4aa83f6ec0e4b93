// The review panel: a table of the report's containers, filters, selection totals, Preview and Apply. This file is
// the panel's life (show, revive after a reload, dispose) and what it does with the page's messages (reviewMessages
// parses them); the rows it shows come from reviewFeed, the written marks from writtenMarks, the markup from reviewPage.
import * as vscode from 'vscode';
import type { ManifestPlan } from '../core/gitops/model';
import type { Plan } from '../core/plan/model';
import type { ApplyOutcome } from '../core/model';
import type { Session } from '../core/session/session';
import { displayText, formatCount, plural } from '../core/text';
import { ReviewFeed, type FeedHost } from './reviewFeed';
import { parseIncoming, type WorkloadRef } from './reviewMessages';
import { reviewHtml } from './reviewPage';
import { manifestPlanView, planView, selectionText, type PanelCell } from './reviewRows';
import { ReviewUsage, type EvidenceReader } from './reviewUsage';
import { showPage, webviewOptions } from './webviewPage';

/** What the panel asks of the commands (reviewCommands.ts), beside what its rows need (FeedHost). */
export interface ReviewActions extends FeedHost {
  /**
   * Proposes the selected workloads (the session opens the diff). A string says why it failed (also notified);
   * 'cancelled' when the person cancelled it. `onProgress` counts the workloads done.
   */
  preview(reportId: string, workloads: WorkloadRef[], options: { includeLimits: boolean; onProgress?: (progress: { done: number; total: number; phase?: string }) => void }): Promise<Plan | string>;
  /** Target "Manifests": proposes edits of the workspace manifests (the session opens the files' diff). */
  previewManifests?(reportId: string, workloads: WorkloadRef[], options: { includeLimits: boolean }): Promise<ManifestPlan | string>;
  apply(planId: string): Promise<ApplyOutcome | string>;
  showOutput(): void;
  /** Closes the diff tabs of a plan that can no longer be applied. */
  closeDiff(planId: string): Promise<void>;
  /** "Try on N pods…": the same flow as the command (asks N, opens the pods' diff, asks for approval); the outcome or why not. */
  tryOnPods?(reportId: string, workload: WorkloadRef): Promise<ApplyOutcome | string | undefined>;
  /** The usage behind a report's rows (Prometheus, through the session); absent: the panel says there is none. */
  evidence?: EvidenceReader;
}

export const reviewViewType = 'krr.review';

export class ReviewPanel implements vscode.Disposable {
  static current: ReviewPanel | undefined;
  private selection: WorkloadRef[] = [];
  private planId: string | null = null;
  /** The trial the plan line shows as started: once it ends, the line says how. */
  private trialShown: string | null = null;
  /**
   * The last manifests preview: what it proposed, the sources picked in the panel so far, and the sources it offered
   * per workload. "Use this source" proposes the same selection again with the pick; only an offered id is taken.
   */
  private manifests: { reportId: string; workloads: WorkloadRef[]; includeLimits: boolean; picks: Map<string, string>; offered: Map<string, Set<string>> } | null = null;
  private readonly feed: ReviewFeed;
  private readonly usage: ReviewUsage;
  /** The first message prepared at creation, posted on the page's 'ready' unless anything was posted since. */
  private prepared: (() => void) | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  static show(extensionUri: vscode.Uri, session: Session, actions: ReviewActions): ReviewPanel {
    if (ReviewPanel.current) {
      ReviewPanel.current.panel.reveal();
      ReviewPanel.current.postRows();
      return ReviewPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(reviewViewType, 'KRR Recommendations', vscode.ViewColumn.Active, webviewOptions(extensionUri));
    ReviewPanel.current = new ReviewPanel(panel, extensionUri, session, actions);
    return ReviewPanel.current;
  }

  /** A window reload restored the panel (WebviewPanelSerializer): it takes over that webview, whose state keeps selection, filters and sort. */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, session: Session, actions: ReviewActions): ReviewPanel {
    ReviewPanel.current?.dispose();
    panel.webview.options = webviewOptions(extensionUri);
    ReviewPanel.current = new ReviewPanel(panel, extensionUri, session, actions);
    return ReviewPanel.current;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly session: Session,
    private readonly actions: ReviewActions,
  ) {
    this.usage = new ReviewUsage(actions.evidence, (message) => this.post(message));
    this.feed = new ReviewFeed(
      session,
      actions,
      (message) => this.panel.webview.postMessage(message),
      () => {
        this.planId = null;
        this.selection = [];
        this.manifests = null;
      },
      // The evidence is read once the first rows are on the page: they never wait for Prometheus.
      (reviewId, reports) => void this.usage.load(reviewId, reports),
    );
    this.disposables.push(...showPage(panel, extensionUri, reviewHtml(panel.webview, extensionUri), { receive: (message) => void this.handle(message), dispose: () => this.dispose() }));
    const unsubscribe = session.onDidChange((event) => {
      if (event.type === 'report') this.postRows();
      if (event.type === 'trial') void this.postTrialEnd();
    });
    this.disposables.push({ dispose: unsubscribe });
    // The first rows are computed while the webview loads (another process), and posted when the page says 'ready'.
    // Should that fail, 'ready' computes them again and meets the same error where it is reported.
    try {
      this.prepared = this.feed.prepare();
    } catch {
      this.prepared = undefined;
    }
  }

  /** The workloads ticked in the panel, for "KRR: Preview Changes for Selection". */
  selectedWorkloads(): { reportId: string | null; workloads: WorkloadRef[] } {
    return { reportId: this.feed.reportId, workloads: this.selection };
  }

  /** The panel's state as the extension holds it (extension-host tests check the state rules through this). */
  viewState(): { reportId: string | null; planId: string | null; selection: WorkloadRef[]; written: Record<string, { label: string; cells: Record<string, PanelCell> }> } {
    return {
      reportId: this.feed.reportId,
      planId: this.planId,
      selection: [...this.selection],
      written: this.feed.written.view(),
    };
  }

  private post(message: unknown): void {
    void this.panel.webview.postMessage(message);
  }

  /** Trust was granted or krr.readOnly changed: the banner and the Apply button follow at once, without reopening the panel. */
  postReadOnly(): void {
    this.post({ type: 'readOnly', readOnly: this.actions.isReadOnly() });
  }

  /** Posts the current review afresh (a new report, a reveal, a write); anything prepared before is superseded. */
  postRows(): void {
    this.prepared = undefined;
    this.feed.prepare()();
  }

  /**
   * After an apply or a rollback: the workloads it wrote show the values now live (the plan's `to`, which the apply
   * verified) and a mark ("applied 21:04"), their ticks clear, and the plan's diff tabs close.
   */
  noteOutcome(plan: Plan, outcome: ApplyOutcome): void {
    void this.actions.closeDiff(plan.id);
    if (plan.id === this.planId) this.planId = null;
    if (outcome.status !== 'applied') return;
    const writtenKeys = new Set(outcome.objects.filter((object) => object.result === 'written').map((object) => this.feed.keyOf(object, plan.context)));
    this.feed.written.record(plan, writtenKeys, (object) => this.feed.keyOf(object, plan.context), this.feed.rows);
    this.selection = this.selection.filter((workload) => !writtenKeys.has(this.feed.keyOf(workload)));
    const reportId = this.feed.reportId;
    if (reportId) {
      this.feed.written.save(reportId);
      this.postRows();
    }
    this.post({ type: 'written', keys: [...writtenKeys] });
  }

  /** One message from the webview (untrusted: parsed first). Public so extension-host tests drive the same path. */
  async handle(raw: unknown): Promise<void> {
    const message = parseIncoming(raw);
    if (!message) return;
    switch (message.type) {
      case 'ready': {
        const prepared = this.prepared;
        this.prepared = undefined;
        if (prepared) prepared();
        else this.postRows();
        return;
      }
      case 'selection': {
        this.selection = message.workloads;
        const keys = new Set(message.workloads.map((workload) => this.feed.keyOf(workload)));
        this.post({ type: 'totals', text: selectionText(this.feed.workloads, this.feed.rows, keys) });
        return;
      }
      case 'command':
        await vscode.commands.executeCommand(message.command);
        return;
      case 'show-output':
        this.actions.showOutput();
        return;
      case 'usage-charts':
        this.usage.charts(message.keys, this.feed.rows);
        return;
      case 'usage-detail':
        this.usage.detail(message.key, this.feed.rows);
        return;
      case 'open-setting':
        await vscode.commands.executeCommand('workbench.action.openSettings', message.setting);
        return;
      case 'preview':
        await this.preview(message.workloads, message.includeLimits, message.target);
        return;
      case 'try':
        await this.tryOnPods(message.workload);
        return;
      case 'use-source': {
        const last = this.manifests;
        const key = sourceKey(message.workload);
        // The page is untrusted: only a source this panel listed for that workload is passed on (the session checks
        // it again against what the finders find now).
        if (!last || !last.offered.get(key)?.has(message.source)) {
          this.post({ type: 'plan', plan: null, error: 'That source is not offered by the last preview: press Preview again.' });
          return;
        }
        last.picks.set(key, message.source);
        // The plan proposed before the pick is replaced: its diff would otherwise stay open beside the new one.
        if (this.planId) void this.actions.closeDiff(this.planId);
        this.planId = null;
        await this.proposeManifests(last);
        return;
      }
      case 'apply': {
        if (!this.planId) return;
        const planId = this.planId;
        // A manifest plan writes files: its outcome says "written", not "applied" (nothing reached the cluster).
        const target = this.session.getManifestPlan(planId) ? 'manifests' : 'cluster';
        this.post({ type: 'busy', message: 'Waiting for your approval…' });
        const outcome = await this.actions.apply(planId);
        this.planId = null;
        const plan = this.session.getPlan(planId);
        this.post({
          type: 'outcome',
          target,
          // Written files can be committed on a new branch from the panel until that is done (the palette offers it too).
          commit: target === 'manifests' && typeof outcome !== 'string' && outcome.status === 'applied',
          outcome: typeof outcome === 'string' ? { status: 'failed', message: outcome } : { status: outcome.status, message: displayText(outcome.message, 600) },
        });
        if (plan && typeof outcome !== 'string') this.noteOutcome(plan, outcome);
        // A manifest plan is spent whatever the outcome: its "current ↔ recommended" diff closes.
        else if (target === 'manifests') void this.actions.closeDiff(planId);
        return;
      }
    }
  }

  private async preview(selected: WorkloadRef[], includeLimits: boolean, target: 'cluster' | 'manifests'): Promise<void> {
    if (!this.feed.reportId) return;
    this.selection = selected;
    let reportId = this.feed.reportId;
    const fleetReports = this.feed.fleetReports;
    if (fleetReports) {
      // A plan changes exactly one context: a fleet selection must stay within one cluster.
      const clusters = [...new Set(selected.map((workload) => workload.cluster ?? ''))];
      const only = clusters.length === 1 ? fleetReports.get(clusters[0] as string) : undefined;
      if (!only) {
        this.planId = null;
        this.post({ type: 'plan', plan: null, error: `Select workloads of one cluster (the selection spans ${plural(clusters.length, 'cluster')}): a plan changes exactly one context.` });
        return;
      }
      reportId = only;
    }
    const workloads = selected.map(({ namespace, kind, name }) => ({ namespace, kind, name }));
    this.trialShown = null;
    this.post({ type: 'busy', message: `Previewing ${plural(workloads.length, 'workload')}…` });
    // A Preview starts afresh: sources picked for an earlier preview are not carried into it.
    this.manifests = target === 'manifests' ? { reportId, workloads, includeLimits, picks: new Map(), offered: new Map() } : null;
    if (this.manifests && this.actions.previewManifests) {
      await this.proposeManifests(this.manifests, false);
      return;
    }
    // Posted at most every 200 ms: 2,500 workloads must not flood the webview with messages.
    let last = 0;
    const onProgress = ({ done, total: count, phase }: { done: number; total: number; phase?: string }) => {
      const now = Date.now();
      if (done < count && now - last < 200) return;
      last = now;
      this.post({ type: 'busy', message: `Previewing ${formatCount(done)} / ${formatCount(count)} workloads${phase ? ` — ${phase}` : ''}…`, done, total: count });
    };
    const plan = await this.actions.preview(reportId, workloads, { includeLimits, onProgress });
    if (plan === 'cancelled') {
      this.planId = null;
      this.post({ type: 'cancelled', message: 'Preview cancelled. Nothing was proposed and no diff is open.' });
      return;
    }
    if (typeof plan === 'string') {
      this.planId = null;
      this.post({ type: 'plan', plan: null, error: displayText(plan, 600) });
      return;
    }
    this.planId = plan.objects.length > 0 ? plan.id : null;
    // The full list of what was left out is in Output (written by the preview command); the panel shows it bounded.
    this.post({ type: 'plan', plan: planView(plan) });
  }

  /** "Try on N pods…" for one ticked workload of this review (a fleet's row: that cluster's report). */
  private async tryOnPods(workload: WorkloadRef): Promise<void> {
    const reportId = this.feed.reportId;
    if (!reportId || !this.actions.tryOnPods) return;
    // The page is untrusted: only a workload of the rows this panel shows is tried.
    const key = this.feed.keyOf(workload);
    if (!this.feed.workloads.some((entry) => entry.key === key)) return;
    const fleetReports = this.feed.fleetReports;
    const target = fleetReports ? fleetReports.get(workload.cluster ?? '') : reportId;
    if (!target) {
      this.post({ type: 'plan', plan: null, error: 'That cluster has no report to try a recommendation from: scan it again.' });
      return;
    }
    // The plan area now shows the trial: a preview shown before is no longer what Apply… would apply.
    if (this.planId) void this.actions.closeDiff(this.planId);
    this.planId = null;
    this.post({ type: 'busy', message: `Trial on ${displayText(`${workload.namespace}/${workload.name}`, 200)}: waiting for you…` });
    const outcome = await this.actions.tryOnPods(target, { namespace: workload.namespace, kind: workload.kind, name: workload.name });
    if (outcome === undefined) {
      this.post({ type: 'cancelled', message: 'No trial started.' });
      return;
    }
    this.trialShown = typeof outcome !== 'string' && outcome.status === 'applied' ? (outcome.trialId ?? null) : null;
    this.post({ type: 'outcome', target: 'trial', commit: false, outcome: typeof outcome === 'string' ? { status: 'failed', message: outcome } : { status: outcome.status, message: displayText(outcome.message, 600) } });
  }

  /** The trial the plan line shows ended (the watch's pass): the line says passed or failed, and why. */
  private async postTrialEnd(): Promise<void> {
    const trialId = this.trialShown;
    if (!trialId) return;
    const record = await this.session.getTrial(trialId).catch(() => undefined);
    if (!record || record.state === 'running' || this.trialShown !== trialId) return;
    this.trialShown = null;
    const next = record.state === 'passed' ? ' Persist… is in its notification and in "KRR: Show Trials".' : '';
    this.post({ type: 'outcome', target: 'trial', commit: false, outcome: { status: record.state === 'passed' ? 'applied' : 'failed', message: displayText(`Trial ${record.id} ${record.state}${record.outcome ? `: ${record.outcome.reason}` : ''}.${next}`, 600) } });
  }

  /** Proposes the manifests of `state.workloads`, each with the source picked for it in the panel (if any). */
  private async proposeManifests(state: NonNullable<ReviewPanel['manifests']>, announce = true): Promise<void> {
    if (!this.actions.previewManifests) return;
    if (announce) this.post({ type: 'busy', message: `Previewing ${plural(state.workloads.length, 'workload')} with the source you picked…` });
    const workloads = state.workloads.map((workload) => {
      const source = state.picks.get(sourceKey(workload));
      return source === undefined ? workload : { ...workload, source };
    });
    const manifests = await this.actions.previewManifests(state.reportId, workloads, { includeLimits: state.includeLimits });
    this.planId = typeof manifests === 'string' || manifests.files.length === 0 ? null : manifests.id;
    state.offered = typeof manifests === 'string' ? new Map() : new Map(manifests.unresolved.flatMap((item) => (item.sources ? [[sourceKey(item), new Set(item.sources.map((source) => source.id))] as const] : [])));
    this.post(typeof manifests === 'string' ? { type: 'plan', plan: null, error: displayText(manifests, 600) } : { type: 'plan', plan: manifestPlanView(manifests) });
  }

  dispose(): void {
    this.feed.stop();
    this.usage.stop();
    if (ReviewPanel.current === this) ReviewPanel.current = undefined;
    for (const disposable of this.disposables.splice(0)) disposable.dispose();
    this.panel.dispose();
  }
}

function sourceKey(workload: { namespace: string; kind: string; name: string }): string {
  return `${workload.namespace}/${workload.kind}/${workload.name}`;
}
