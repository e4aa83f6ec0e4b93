// The review panel: a table of the report's containers, filters, selection totals, Preview and Apply.
//
// Data flow choice: the whole row set is posted to the webview once per report (paged out of
// session.listRecommendations, 500 at a time) and the webview filters, sorts and renders it in chunks of
// 200 rows with "Show more". 5,000 rows are ~1.5 MB of JSON, posted once; filtering in the page is instant,
// whereas a round trip to the extension host per keystroke would make typing in the filter lag. The first page
// goes alone, with only its own workloads checked, and the rest follows in slices of 5,000 ('more-rows'): a fleet's
// 50,000 rows and workloads in one message took seconds to check, build, carry and parse before anything showed.
import * as vscode from 'vscode';
import type { ManifestPlan } from '../core/gitops/model';
import type { Plan } from '../core/plan/model';
import type { ApplyOutcome, RecommendationPage } from '../core/model';
import type { Session } from '../core/session/session';
import type { SessionSettings } from '../core/settings';
import { displayName, displayText, formatCount, nameText, plural } from '../core/text';
import { allRows, clustersText, fleetReview, ownerView, panelCell, panelListLimit, planView, reportReview, savingsView, selectionText, toPanelRow, workloadKeyOf, type FleetPart, type PanelCell, type PanelReview, type PanelRow, type PanelWorkload } from './reviewRows';
import { loadEngine } from './engine';
import { showPage, webviewHtml, webviewOptions } from './webviewPage';

export interface WorkloadRef {
  namespace: string;
  kind: string;
  name: string;
  /** Fleet review: the cluster (kube context) of the row. */
  cluster?: string;
}

export interface ReviewActions {
  /**
   * Proposes the selected workloads (the session opens the diff). A string says why it failed (also notified);
   * 'cancelled' when the person cancelled it. `onProgress` counts the workloads done.
   */
  preview(reportId: string, workloads: WorkloadRef[], options: { includeLimits: boolean; onProgress?: (progress: { done: number; total: number; phase?: string }) => void }): Promise<Plan | string>;
  /** Target "Manifests": proposes edits of the workspace manifests (the session opens the files' diff). */
  previewManifests?(reportId: string, workloads: WorkloadRef[], options: { includeLimits: boolean }): Promise<ManifestPlan | string>;
  apply(planId: string): Promise<ApplyOutcome | string>;
  isReadOnly(): { readOnly: boolean; reason: string | null };
  settings(): Pick<SessionSettings, 'policy' | 'prices'>;
  /** The output channel: the full lists the panel only summarises. */
  log(line: string): void;
  showOutput(): void;
  /** Closes the diff tabs of a plan that can no longer be applied. */
  closeDiff(planId: string): Promise<void>;
  /** The workspace's state (VS Code's workspaceState): the marks of written rows survive a window reload there. */
  memento?: vscode.Memento;
}

export const reviewViewType = 'krr.review';

/** Rows per listing page (the session's maximum); the first page goes to the panel alone. */
const rowsPageSize = 500;
/** Rows per later message: 50,000 rows in one message took seconds to build, carry and parse before anything showed. */
const rowsSliceSize = 5000;

type Incoming =
  | { type: 'ready' }
  | { type: 'selection'; workloads: WorkloadRef[] }
  | { type: 'preview'; workloads: WorkloadRef[]; includeLimits: boolean; target: 'cluster' | 'manifests' }
  | { type: 'apply' }
  | { type: 'show-output' }
  | { type: 'open-setting'; setting: string }
  | { type: 'command'; command: 'krr.scan' | 'krr.openReport' };

function isWorkloadList(value: unknown): value is WorkloadRef[] {
  return (
    Array.isArray(value) &&
    value.length <= 10_000 &&
    value.every(
      (item: unknown) =>
        typeof item === 'object' &&
        item !== null &&
        ['namespace', 'kind', 'name'].every((key) => typeof (item as Record<string, unknown>)[key] === 'string') &&
        ['undefined', 'string'].includes(typeof (item as Record<string, unknown>).cluster),
    )
  );
}

/** Messages from the webview are untrusted input: only known shapes pass. */
function parseIncoming(message: unknown): Incoming | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const record = message as Record<string, unknown>;
  switch (record.type) {
    case 'ready':
    case 'apply':
    case 'show-output':
      return { type: record.type };
    case 'selection':
      return isWorkloadList(record.workloads) ? { type: record.type, workloads: record.workloads } : undefined;
    case 'preview':
      return isWorkloadList(record.workloads) ? { type: record.type, workloads: record.workloads, includeLimits: record.includeLimits === true, target: record.target === 'manifests' ? 'manifests' : 'cluster' } : undefined;
    case 'open-setting':
      // Only our own settings: a webview message must not open arbitrary UI.
      return typeof record.setting === 'string' && /^krr\.[A-Za-z.]+$/.test(record.setting) ? { type: 'open-setting', setting: record.setting } : undefined;
    case 'command':
      return record.command === 'krr.scan' || record.command === 'krr.openReport' ? { type: 'command', command: record.command } : undefined;
    default:
      return undefined;
  }
}

/** What the panel remembers of an apply or rollback: the values now live, per workload (reset with a new report). */
interface Written {
  label: string;
  /** Local time of the write, for the badge's tooltip. */
  at: string;
  cells: Map<string, PanelCell>;
}

/** Where the written rows of the current report are kept (one report at a time: a new report starts afresh). */
const writtenStateKey = 'krr.review.written';

function isCell(value: unknown): value is PanelCell {
  if (typeof value !== 'object' || value === null) return false;
  const cell = value as Record<string, unknown>;
  const amount = (field: unknown) => field === null || typeof field === 'string';
  return amount(cell.from) && amount(cell.to) && (cell.percent === null || typeof cell.percent === 'number') && typeof cell.same === 'boolean';
}

/** The kept marks of one report, checked entry by entry: anything else in the workspace state is ignored. */
function savedWritten(value: unknown, reportId: string): Map<string, Written> {
  const written = new Map<string, Written>();
  if (typeof value !== 'object' || value === null) return written;
  const saved = value as { reportId?: unknown; entries?: unknown };
  if (saved.reportId !== reportId || !Array.isArray(saved.entries)) return written;
  for (const entry of saved.entries.slice(0, 10_000) as unknown[]) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'object' || entry[1] === null) continue;
    const { label, at, cells } = entry[1] as Record<string, unknown>;
    if ((label !== 'applied' && label !== 'rolled back') || typeof at !== 'string' || !Array.isArray(cells)) continue;
    const kept = (cells as unknown[]).filter((cell): cell is [string, PanelCell] => Array.isArray(cell) && typeof cell[0] === 'string' && isCell(cell[1]));
    written.set(entry[0], { label, at, cells: new Map(kept) });
  }
  return written;
}

const fieldOf: Record<string, 'cpuRequest' | 'cpuLimit' | 'memoryRequest' | 'memoryLimit'> = {
  'requests/cpu': 'cpuRequest',
  'limits/cpu': 'cpuLimit',
  'requests/memory': 'memoryRequest',
  'limits/memory': 'memoryLimit',
};

export class ReviewPanel implements vscode.Disposable {
  static current: ReviewPanel | undefined;
  private selection: WorkloadRef[] = [];
  private reportId: string | null = null;
  /** Set while the panel shows a fleet: context -> that context's report. */
  private fleetReports: Map<string, string> | null = null;
  private planId: string | null = null;
  private rows: PanelRow[] = [];
  private workloads: PanelWorkload[] = [];
  private readonly written = new Map<string, Written>();
  /** The first message prepared at creation, posted on the page's 'ready' unless anything was posted since. */
  private prepared: (() => void) | undefined;
  /** Bumped by every postRows and by dispose: an older stream of rows stops posting. */
  private stream = 0;
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
    this.disposables.push(...showPage(panel, extensionUri, reviewHtml(panel.webview, extensionUri), { receive: (message) => void this.handle(message), dispose: () => this.dispose() }));
    const unsubscribe = session.onDidChange((event) => {
      if (event.type === 'report') this.postRows();
    });
    this.disposables.push({ dispose: unsubscribe });
    // The first rows are computed while the webview loads (another process), and posted when the page says 'ready'.
    // Should that fail, 'ready' computes them again and meets the same error where it is reported.
    try {
      this.prepared = this.prepareRows();
    } catch {
      this.prepared = undefined;
    }
  }

  /** The workloads ticked in the panel, for "KRR: Preview Changes for Selection". */
  selectedWorkloads(): { reportId: string | null; workloads: WorkloadRef[] } {
    return { reportId: this.reportId, workloads: this.selection };
  }

  /** The panel's state as the extension holds it (extension-host tests check the state rules through this). */
  viewState(): { reportId: string | null; planId: string | null; selection: WorkloadRef[]; written: Record<string, { label: string; cells: Record<string, PanelCell> }> } {
    return {
      reportId: this.reportId,
      planId: this.planId,
      selection: [...this.selection],
      written: Object.fromEntries([...this.written].map(([key, entry]) => [key, { label: entry.label, cells: Object.fromEntries(entry.cells) }])),
    };
  }

  private post(message: unknown): void {
    void this.panel.webview.postMessage(message);
  }

  postRows(): void {
    this.prepareRows()();
  }

  /**
   * Computes the first message of the current review (the first page of rows with only their workloads checked, the
   * report-wide lines) and returns what posts it and then streams the rest. Anything posted since supersedes it.
   */
  private prepareRows(): () => void {
    this.prepared = undefined;
    const view = this.session.currentReview();
    const readOnly = this.actions.isReadOnly();
    if (!view) return () => this.post({ type: 'empty', readOnly });
    const id = 'fleetId' in view ? view.fleetId : view.reportId;
    const fresh = id !== this.reportId;
    if (fresh) {
      this.planId = null;
      this.selection = [];
      this.written.clear();
      // A window reload: the rows this report's applies and rollbacks wrote are marked again.
      for (const [key, entry] of savedWritten(this.actions.memento?.get(writtenStateKey), id)) this.written.set(key, entry);
    }
    this.reportId = id;
    const stream = ++this.stream;
    const isFleet = 'fleetId' in view;
    let review: PanelReview;
    let source: string;
    let fleet: { clusters: string; failed: string[] } | null = null;
    if (isFleet) {
      // One review of several clusters: rows carry their cluster, totals per cluster, the failed contexts named.
      const entries = this.session.getFleet(view.fleetId).reports;
      this.fleetReports = new Map(entries.flatMap((entry) => (entry.reportId ? [[entry.context, entry.reportId] as [string, string]] : [])));
      const totals = this.session.listRecommendations({ reportId: id, pageSize: 1 }).totals;
      const failed = entries.filter((entry) => entry.error).map((entry) => `${displayName(entry.context, 100)}: ${displayText(entry.error ?? '', 200)}`);
      const parts: FleetPart[] = [...this.fleetReports].map(([cluster, reportId]) => ({ cluster, report: this.session.getReport(reportId), summary: this.session.reportSummary(reportId) }));
      review = fleetReview(parts, this.actions.settings(), failed, loadEngine());
      fleet = { clusters: clustersText(totals?.clusters ?? [], failed), failed };
      source = `the fleet ${id}`;
    } else {
      this.fleetReports = null;
      const summary = this.session.reportSummary(id);
      review = reportReview(this.session.getReport(id), summary, this.actions.settings(), loadEngine());
      source = displayName(summary.source, 200);
    }
    if (fresh && review.problems.length > 0) {
      // All of them, once per report: the panel shows the first few.
      this.actions.log(`${plural(review.problems.length, 'name')} in ${source} cannot be used with kubectl; proposals skip them:`);
      for (const problem of review.problems) this.actions.log(`  ${problem.text}`);
    }
    // The first page goes out alone, with only its own workloads checked: the rest follows in slices.
    const list = (page: number) => this.session.listRecommendations({ reportId: id, page, pageSize: rowsPageSize, sort: 'savings' });
    const first = list(1);
    const firstRows = review.flag(first.rows.map((row) => toPanelRow(row, isFleet)));
    const complete = firstRows.length >= first.total;
    const sent = new Set(firstRows.map((row) => row.workload));
    this.rows = firstRows;
    this.workloads = complete ? review.workloads() : review.workloads(sent);
    const message = {
      type: 'rows',
      reportId: id,
      stream,
      complete,
      summaryText: review.summaryText,
      loadingText: loadingText(firstRows.length, first.total),
      rows: this.rows.map((row) => this.withWritten(row)),
      workloads: this.workloads,
      marks: Object.fromEntries([...this.written].map(([key, entry]) => [key, { label: entry.label, title: `${entry.label} at ${entry.at}: the values shown are the ones written` }])),
      problems: { total: review.problems.length, heading: `${plural(review.problems.length, 'invalid name')} in this report: Preview skips them.`, lines: review.problems.slice(0, panelListLimit).map((problem) => problem.text) },
      savings: savingsView(review.savings),
      readOnly,
      ...(fleet ? { clusters: [...this.fleetReports?.keys() ?? []], clustersText: fleet.clusters } : {}),
    };
    return () => {
      if (stream !== this.stream) return;
      // The slices wait until the first message was handed over: computing one takes a tenth of a second or more, and
      // the extension host sends a posted message only when it gets to it.
      const delivered = Promise.resolve(this.panel.webview.postMessage(message)).catch(() => false);
      const rest = complete ? Promise.resolve(true) : delivered.then((posted) => posted && this.streamRows({ stream, reportId: id, list, review, isFleet, total: first.total, sent }));
      void rest.then((done) => {
        // Owners go after every row, so the webview has each workload's group to put its badge on.
        if (done && !fleet && this.rows.some((row) => row.owner === undefined)) void this.postOwners(id);
      });
    };
  }

  /**
   * The rows after the first page, in slices of `rowsSliceSize`, each with the workloads first seen in it (the last
   * also those without rows); one slice per turn of the event loop once the previous one was handed over, so the
   * extension host stays responsive. True when all were posted; false when a newer postRows took over or the panel
   * closed.
   */
  private async streamRows(run: { stream: number; reportId: string; list: (page: number) => RecommendationPage; review: PanelReview; isFleet: boolean; total: number; sent: Set<string> }): Promise<boolean> {
    const { stream, reportId, list, review, isFleet, total, sent } = run;
    let page = 2;
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (stream !== this.stream) return false;
      const slice: PanelRow[] = [];
      while (slice.length < rowsSliceSize && this.rows.length + slice.length < total) {
        const result = list(page++);
        if (result.rows.length === 0) break;
        for (const row of review.flag(result.rows.map((row) => toPanelRow(row, isFleet)))) slice.push(row);
      }
      const last = slice.length === 0 || this.rows.length + slice.length >= total;
      const fresh = [...new Set(slice.map((row) => row.workload))].filter((key) => !sent.has(key));
      for (const key of fresh) sent.add(key);
      const workloads = review.workloads(fresh);
      if (last) workloads.push(...review.workloads(review.workloadKeys().filter((key) => !sent.has(key))));
      // New arrays: a message already handed over keeps what it held.
      this.rows = this.rows.concat(slice);
      this.workloads = this.workloads.concat(workloads);
      const message = { type: 'more-rows', reportId, stream, complete: last, loadingText: last ? '' : loadingText(this.rows.length, total), rows: slice.map((row) => this.withWritten(row)), workloads };
      const posted = await Promise.resolve(this.panel.webview.postMessage(message)).catch(() => false);
      if (!posted) return false;
      if (last) return stream === this.stream;
    }
  }

  /** GitOps owners arrive after the rows (one kubectl list per kind and namespace), without resetting the selection. */
  private async postOwners(reportId: string): Promise<void> {
    const unknown = await this.session.readGitOpsOwners(reportId).catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
    if (this.reportId !== reportId) return;
    const owners: Record<string, ReturnType<typeof ownerView>> = {};
    for (const row of allRows((page) => this.session.listRecommendations({ reportId, page, pageSize: 500, sort: 'savings' }))) if (row.owner !== undefined) owners[row.workload] = row.owner;
    this.rows = this.rows.map((row) => (owners[row.workload] !== undefined ? { ...row, owner: owners[row.workload] } : row));
    this.post({ type: 'owners', owners, unknown });
  }

  /** The panel's key of a workload: in a fleet review prefixed by its cluster, as the rows are. */
  private keyOf(workload: { namespace: string; kind: string; name: string; cluster?: string }, context?: string): string {
    const cluster = workload.cluster ?? context;
    return this.fleetReports && cluster !== undefined ? `${cluster}|${workloadKeyOf(workload)}` : workloadKeyOf(workload);
  }

  private withWritten(row: PanelRow): PanelRow {
    const written = this.written.get(row.workload);
    if (!written) return row;
    const copy = { ...row };
    for (const field of Object.values(fieldOf)) {
      const cell = written.cells.get(`${row.container}\u0000${field}`);
      if (cell) copy[field] = cell;
    }
    return copy;
  }

  /**
   * After an apply or a rollback: the workloads it wrote show the values now live (the plan's `to`, which the apply
   * verified) and a mark ("applied 21:04"), their ticks clear, and the plan's diff tabs close.
   */
  noteOutcome(plan: Plan, outcome: ApplyOutcome): void {
    void this.actions.closeDiff(plan.id);
    if (plan.id === this.planId) this.planId = null;
    if (outcome.status !== 'applied') return;
    const writtenKeys = new Set(outcome.objects.filter((object) => object.result === 'written').map((object) => this.keyOf(object, plan.context)));
    // The badge stays short ("applied"); its tooltip says when.
    const label = plan.kind === 'apply' ? 'applied' : 'rolled back';
    const at = new Date().toLocaleTimeString();
    for (const object of plan.objects) {
      const key = this.keyOf(object, plan.context);
      if (!writtenKeys.has(key)) continue;
      const entry: Written = this.written.get(key) ?? { label, at, cells: new Map() };
      entry.label = label;
      entry.at = at;
      for (const change of object.changes) {
        const field = fieldOf[`${change.allocation}/${change.resource}`] as keyof Pick<PanelRow, 'cpuRequest'>;
        const row = this.rows.find((candidate) => candidate.workload === key && candidate.container === change.container);
        entry.cells.set(`${change.container}\u0000${field}`, panelCell(change.to, row ? row[field].to : change.to));
      }
      this.written.set(key, entry);
    }
    this.selection = this.selection.filter((workload) => !writtenKeys.has(this.keyOf(workload)));
    if (this.reportId) {
      const entries = [...this.written].map(([key, entry]) => [key, { label: entry.label, at: entry.at, cells: [...entry.cells] }]);
      void this.actions.memento?.update(writtenStateKey, { reportId: this.reportId, entries });
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
        const keys = new Set(message.workloads.map((workload) => this.keyOf(workload)));
        this.post({ type: 'totals', text: selectionText(this.workloads, this.rows, keys) });
        return;
      }
      case 'command':
        await vscode.commands.executeCommand(message.command);
        return;
      case 'show-output':
        this.actions.showOutput();
        return;
      case 'open-setting':
        await vscode.commands.executeCommand('workbench.action.openSettings', message.setting);
        return;
      case 'preview':
        await this.preview(message.workloads, message.includeLimits, message.target);
        return;
      case 'apply': {
        if (!this.planId) return;
        const planId = this.planId;
        this.post({ type: 'busy', message: 'Waiting for your approval…' });
        const outcome = await this.actions.apply(planId);
        this.planId = null;
        const plan = this.session.getPlan(planId);
        this.post({ type: 'outcome', outcome: typeof outcome === 'string' ? { status: 'failed', message: outcome } : { status: outcome.status, message: displayText(outcome.message, 600) } });
        if (plan && typeof outcome !== 'string') this.noteOutcome(plan, outcome);
        return;
      }
    }
  }

  private async preview(selected: WorkloadRef[], includeLimits: boolean, target: 'cluster' | 'manifests'): Promise<void> {
    if (!this.reportId) return;
    this.selection = selected;
    let reportId = this.reportId;
    if (this.fleetReports) {
      // A plan changes exactly one context: a fleet selection must stay within one cluster.
      const clusters = [...new Set(selected.map((workload) => workload.cluster ?? ''))];
      const only = clusters.length === 1 ? this.fleetReports.get(clusters[0] as string) : undefined;
      if (!only) {
        this.planId = null;
        this.post({ type: 'plan', plan: null, error: `Select workloads of one cluster (the selection spans ${plural(clusters.length, 'cluster')}): a plan changes exactly one context.` });
        return;
      }
      reportId = only;
    }
    const workloads = selected.map(({ namespace, kind, name }) => ({ namespace, kind, name }));
    this.post({ type: 'busy', message: `Previewing ${plural(workloads.length, 'workload')}…` });
    if (target === 'manifests' && this.actions.previewManifests) {
      const manifests = await this.actions.previewManifests(reportId, workloads, { includeLimits });
      this.planId = typeof manifests === 'string' || manifests.files.length === 0 ? null : manifests.id;
      this.post(typeof manifests === 'string' ? { type: 'plan', plan: null, error: displayText(manifests, 600) } : { type: 'plan', plan: manifestPlanView(manifests) });
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

  dispose(): void {
    this.stream++;
    if (ReviewPanel.current === this) ReviewPanel.current = undefined;
    for (const disposable of this.disposables.splice(0)) disposable.dispose();
    this.panel.dispose();
  }
}

/** The panel's line while rows are on their way ('' once all are in). */
function loadingText(received: number, total: number): string {
  return received >= total ? '' : `loading rows: ${formatCount(received)} of ${formatCount(total)}…`;
}

/** A manifest plan in the panel's plan line: the files, and every workload whose source was not found, bounded. */
function manifestPlanView(plan: ManifestPlan) {
  const files = plan.files.length;
  const skips = plan.unresolved.map((item) => `${item.kind} ${nameText(`${item.namespace}/${item.name}`, 200)}: ${displayText([item.reason, ...item.candidates.slice(0, 3)].join('; '), 300)}`);
  return {
    id: plan.id,
    target: 'manifests',
    objects: files,
    text: `${plan.id}: ${plural(files, 'file')} in the workspace (nothing is sent to the cluster).${files > 0 ? ' The diff is open.' : ' Nothing to change, so no diff is open.'}`,
    skipsTotal: skips.length,
    skipsHeading: skips.length > 0 ? `Not written: ${plural(skips.length, 'workload')}:` : '',
    skips: skips.slice(0, panelListLimit),
    moreInOutput: Math.max(0, skips.length - panelListLimit),
  };
}

function reviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return webviewHtml(webview, extensionUri, {
    title: 'KRR Recommendations',
    script: 'review.js',
    style: 'review.css',
    images: true,
    body: `<header>
  <h1>KRR recommendations</h1>
  <p id="summary" role="status" aria-live="polite">Loading…</p>
  <p id="readonly" class="banner" hidden></p>
  <p id="clusters" hidden></p>
</header>
<section id="empty" hidden>
  <p>No krr report yet.</p>
  <button type="button" data-command="krr.scan">Scan Cluster…</button>
  <button type="button" data-command="krr.openReport" class="secondary">Open krr Report File…</button>
</section>
<section id="main" hidden>
  <figure id="savings" class="savings" hidden>
    <figcaption><span id="savings-title"></span> <span class="legend"><span class="swatch current"></span>current requests <span class="swatch recommended"></span>recommended</span></figcaption>
    <div id="savings-chart"></div>
  </figure>
  <div id="problems" class="banner problems" role="note" hidden>
    <strong id="problems-heading"></strong>
    <ul id="problems-list"></ul>
    <button type="button" class="link" data-output>All of them in Output</button>
  </div>
  <form id="filters" class="filters" role="search" aria-label="Filter recommendations">
    <label id="f-cluster-label" hidden>Cluster <select id="f-cluster"><option value="">All</option></select></label>
    <label>Namespace <select id="f-namespace"><option value="">All</option></select></label>
    <label>Kind <select id="f-kind"><option value="">All</option></select></label>
    <label>Severity <select id="f-severity">
      <option value="">All</option><option value="CRITICAL">Critical</option><option value="WARNING">Warning or worse</option><option value="OK">OK or worse</option><option value="GOOD">Good or worse</option>
    </select></label>
    <label>Search <input id="f-text" type="search" placeholder="workload or container"></label>
    <label>Sort <select id="f-sort"><option value="savings">Savings</option><option value="severity">Severity</option><option value="name">Name</option></select></label>
  </form>
  <div class="toolbar">
    <button type="button" id="select-visible" class="secondary">Select all matching</button>
    <button type="button" id="select-none" class="secondary">Clear selection</button>
    <span id="totals" role="status" aria-live="polite"></span>
    <span class="spacer"></span>
    <label title="Also change limits (krr's limit recommendations); without it only requests change, and a request above its limit is blocked."><input type="checkbox" id="include-limits"> Include limits</label>
    <label title="Cluster: patch the live objects. Manifests: edit the manifests in the workspace folders (GitOps: Argo CD or Flux apply them from Git)."><span>Target</span> <select id="target"><option value="cluster">Cluster</option><option value="manifests">Manifests</option></select></label>
    <button type="button" id="preview" disabled>Preview</button>
    <button type="button" id="apply" disabled>Apply…</button>
  </div>
  <div id="plan" class="plan" role="status" aria-live="polite" hidden><p id="plan-text"></p><div id="plan-skips" hidden><strong id="plan-skips-heading"></strong><ul id="plan-skips-list"></ul><button type="button" class="link" data-output>Full list in Output</button></div></div>
  <div class="table-wrap">
  <table id="table" aria-label="Recommendations per container">
    <colgroup><col class="c-select"><col class="c-name"><col class="c-value"><col class="c-value"><col class="c-value"><col class="c-value"><col class="c-severity"><col class="c-cost"><col class="c-notes"></colgroup>
    <thead><tr>
      <th scope="col" class="select"><span class="visually-hidden">Selected</span></th>
      <th scope="col">Workload / container</th>
      <th scope="col">CPU request</th><th scope="col">CPU limit</th>
      <th scope="col">Memory request</th><th scope="col">Memory limit</th>
      <th scope="col">Severity</th><th scope="col" class="num">Monthly Δ</th><th scope="col">Notes</th>
    </tr></thead>
    <tbody id="rows"></tbody>
  </table>
  <div class="more"><span id="shown"></span> <button type="button" id="show-more" class="secondary" hidden>Show more</button></div>
  </div>
</section>`,
  });
}
