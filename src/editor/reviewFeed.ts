// The rows of the review panel: which review it shows, the rows and workloads posted so far, and the stream that
// posts them.
//
// Data flow choice: the whole row set is posted to the webview once per report (paged out of
// session.listRecommendations, 500 at a time) and the webview filters, sorts and renders it in chunks of
// 200 rows with "Show more". 5,000 rows are ~1.5 MB of JSON, posted once; filtering in the page is instant,
// whereas a round trip to the extension host per keystroke would make typing in the filter lag. The first page
// goes alone, with only its own workloads checked, and the rest follows in slices of 5,000 ('more-rows'): a fleet's
// 50,000 rows and workloads in one message took seconds to check, build, carry and parse before anything showed.
import type { Memento } from 'vscode';
import type { RecommendationPage } from '../core/model';
import type { Session } from '../core/session/session';
import type { SessionSettings } from '../core/settings';
import { displayName, displayText, formatCount, plural } from '../core/text';
import { loadEngine } from './engine';
import { allRows, clustersText, fleetReview, ownerView, panelListLimit, reportReview, savingsView, toPanelRow, workloadKeyOf, type FleetPart, type PanelReview, type PanelRow, type PanelWorkload } from './reviewRows';
import type { WriteGate } from './trust';
import { WrittenMarks } from './writtenMarks';

/** Rows per listing page (the session's maximum); the first page goes to the panel alone. */
const rowsPageSize = 500;
/** Rows per later message: 50,000 rows in one message took seconds to build, carry and parse before anything showed. */
const rowsSliceSize = 5000;

/** What the feed needs of the panel's actions (ReviewActions). */
export interface FeedHost {
  isReadOnly(): WriteGate;
  settings(): Pick<SessionSettings, 'policy' | 'prices'>;
  /** The output channel: the full lists the panel only summarises. */
  log(line: string): void;
  /** The workspace's state (VS Code's workspaceState): the marks of written rows survive a window reload there. */
  memento?: Memento;
}

export class ReviewFeed {
  private shown: string | null = null;
  /** Set while the panel shows a fleet: context -> that context's report. */
  private fleetContexts: Map<string, string> | null = null;
  private sentRows: PanelRow[] = [];
  private sentWorkloads: PanelWorkload[] = [];
  /** Bumped by every prepare and by stop: an older stream of rows stops posting. */
  private stream = 0;
  readonly written: WrittenMarks;

  /**
   * `send` posts to the webview (false or a rejection: not delivered); `onFreshReport` runs when the review shown is
   * another report or fleet than before; `onFirstRows` once the first rows of a review were handed to the page (what
   * may wait for them, the usage evidence, starts there), with the review's reports and their rows' key prefixes.
   */
  constructor(
    private readonly session: Session,
    private readonly host: FeedHost,
    private readonly send: (message: unknown) => Thenable<boolean>,
    private readonly onFreshReport: () => void,
    private readonly onFirstRows?: (reviewId: string, reports: Array<{ reportId: string; prefix: string }>) => void,
  ) {
    this.written = new WrittenMarks(host.memento);
  }

  /** The report or fleet shown (null before the first rows). */
  get reportId(): string | null {
    return this.shown;
  }

  /** Set while the panel shows a fleet: context -> that context's report. */
  get fleetReports(): ReadonlyMap<string, string> | null {
    return this.fleetContexts;
  }

  /** The rows posted so far. */
  get rows(): readonly PanelRow[] {
    return this.sentRows;
  }

  /** The workloads posted so far. */
  get workloads(): readonly PanelWorkload[] {
    return this.sentWorkloads;
  }

  /** Stops any stream of rows (the panel closed). */
  stop(): void {
    this.stream++;
  }

  private post(message: unknown): void {
    void this.send(message);
  }

  /**
   * Computes the first message of the current review (the first page of rows with only their workloads checked, the
   * report-wide lines) and returns what posts it and then streams the rest. Anything posted since supersedes it.
   */
  prepare(): () => void {
    const view = this.session.currentReview();
    const readOnly = this.host.isReadOnly();
    if (!view) return () => this.post({ type: 'empty', readOnly });
    const id = 'fleetId' in view ? view.fleetId : view.reportId;
    const fresh = id !== this.reportId;
    if (fresh) {
      // A new report: the panel drops its plan and ticks, and the marks are this report's own.
      this.onFreshReport();
      this.written.restore(id);
    }
    this.shown = id;
    const stream = ++this.stream;
    const isFleet = 'fleetId' in view;
    let review: PanelReview;
    let source: string;
    let fleet: { clusters: string; failed: string[] } | null = null;
    if (isFleet) {
      // One review of several clusters: rows carry their cluster, totals per cluster, the failed contexts named.
      const entries = this.session.getFleet(view.fleetId).reports;
      const reports = new Map(entries.flatMap((entry) => (entry.reportId ? [[entry.context, entry.reportId] as [string, string]] : [])));
      this.fleetContexts = reports;
      const totals = this.session.listRecommendations({ reportId: id, pageSize: 1 }).totals;
      const failed = entries.filter((entry) => entry.error).map((entry) => `${displayName(entry.context, 100)}: ${displayText(entry.error ?? '', 200)}`);
      const parts: FleetPart[] = [...reports].map(([cluster, reportId]) => ({ cluster, report: this.session.getReport(reportId), summary: this.session.reportSummary(reportId) }));
      review = fleetReview(parts, this.host.settings(), failed, loadEngine());
      fleet = { clusters: clustersText(totals?.clusters ?? [], failed), failed };
      source = `the fleet ${id}`;
    } else {
      this.fleetContexts = null;
      const summary = this.session.reportSummary(id);
      review = reportReview(this.session.getReport(id), summary, this.host.settings(), loadEngine());
      source = displayName(summary.source, 200);
    }
    if (fresh && review.problems.length > 0) {
      // All of them, once per report: the panel shows the first few.
      this.host.log(`${plural(review.problems.length, 'name')} in ${source} cannot be used with kubectl; proposals skip them:`);
      for (const problem of review.problems) this.host.log(`  ${problem.text}`);
    }
    // The first page goes out alone, with only its own workloads checked: the rest follows in slices.
    const list = (page: number) => this.session.listRecommendations({ reportId: id, page, pageSize: rowsPageSize, sort: 'savings' });
    const first = list(1);
    const firstRows = review.flag(first.rows.map((row) => toPanelRow(row, isFleet)));
    const complete = firstRows.length >= first.total;
    const sent = new Set(firstRows.map((row) => row.workload));
    this.sentRows = firstRows;
    this.sentWorkloads = complete ? review.workloads() : review.workloads(sent);
    const message = {
      type: 'rows',
      reportId: id,
      stream,
      complete,
      summaryText: review.summaryText,
      loadingText: loadingText(firstRows.length, first.total),
      rows: this.rows.map((row) => this.written.apply(row)),
      workloads: this.workloads,
      marks: this.written.marks(),
      problems: { total: review.problems.length, heading: `${plural(review.problems.length, 'invalid name')} in this report: Preview skips them.`, lines: review.problems.slice(0, panelListLimit).map((problem) => problem.text) },
      savings: savingsView(review.savings),
      readOnly,
      ...(fleet ? { clusters: [...this.fleetReports?.keys() ?? []], clustersText: fleet.clusters } : {}),
    };
    return () => {
      if (stream !== this.stream) return;
      // The slices wait until the first message was handed over: computing one takes a tenth of a second or more, and
      // the extension host sends a posted message only when it gets to it.
      const delivered = Promise.resolve(this.send(message)).catch(() => false);
      const reports = fleet ? [...(this.fleetReports ?? [])].map(([cluster, reportId]) => ({ reportId, prefix: `${cluster}|` })) : [{ reportId: id, prefix: '' }];
      void delivered.then((posted) => {
        if (posted && stream === this.stream) this.onFirstRows?.(id, reports);
      });
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
      this.sentRows = this.rows.concat(slice);
      this.sentWorkloads = this.workloads.concat(workloads);
      const message = { type: 'more-rows', reportId, stream, complete: last, loadingText: last ? '' : loadingText(this.rows.length, total), rows: slice.map((row) => this.written.apply(row)), workloads };
      const posted = await Promise.resolve(this.send(message)).catch(() => false);
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
    this.sentRows = this.rows.map((row) => (owners[row.workload] !== undefined ? { ...row, owner: owners[row.workload] } : row));
    this.post({ type: 'owners', owners, unknown });
  }

  /** The panel's key of a workload: in a fleet review prefixed by its cluster, as the rows are. */
  keyOf(workload: { namespace: string; kind: string; name: string; cluster?: string }, context?: string): string {
    const cluster = workload.cluster ?? context;
    return this.fleetReports && cluster !== undefined ? `${cluster}|${workloadKeyOf(workload)}` : workloadKeyOf(workload);
  }
}

/** The panel's line while rows are on their way ('' once all are in). */
function loadingText(received: number, total: number): string {
  return received >= total ? '' : `loading rows: ${formatCount(received)} of ${formatCount(total)}…`;
}
