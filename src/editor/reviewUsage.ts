// The review panel's usage evidence: read once per review after its first rows are drawn (never before them), kept
// while the panel shows that review, and turned into charts only for the rows the page asks about (the rows it
// renders, 200 at a time), so a fleet of 50,000 containers never posts 50,000 charts. No evidence, no charts: the page
// shows the reason in one quiet line, never an invented series. Host-free: the panel passes the reader in.
import type { ContainerEvidence, EvidenceResult } from '../core/evidence/model';
import { displayName, displayText, formatCount, plural } from '../core/text';
import { quantityAmount, type PanelCell, type PanelRow } from './reviewRows';
import { detailChart, formatBytes, formatCores, formatTime, sparkline, type ChartInput, type ChartLines, type ChartOptions, type DetailView, type SparklineView, type UsageSignal } from './usageChart';

/** Reads a report's evidence (the session's evidenceFor); a rejection is shown as the reason there is none. */
export type EvidenceReader = (reportId: string, signal: AbortSignal) => Promise<EvidenceResult>;

/** The page's key of a container row: its workload's key (cluster-prefixed in a fleet) and the container name. */
export function usageKeyOf(row: { workload: string; container: string }): string {
  return `${row.workload}\n${row.container}`;
}

export interface UsageRowCharts {
  cpu: SparklineView;
  memory: SparklineView;
}

export interface UsageDetail {
  /** "Deployment shop/frontend · container web". */
  title: string;
  cpu: DetailView;
  memory: DetailView;
  /** The statistics behind the lines: percentiles, peak and when, OOM kills, restarts, coverage. */
  facts: string[];
  /** The time zone of the dates shown ("Europe/Berlin"). */
  timeZone: string;
}

/**
 * What the page is told about the evidence: loading, available (rows ask for their charts) or why there is none, with
 * the setting that reason names (a link on the page).
 */
export type EvidenceStatus = { state: 'loading' | 'available' | 'unavailable'; text: string; setting?: string };

/** The setting a reason names, "(krr.prometheusUrl)", for the page's link to it. */
function settingIn(text: string): { setting: string } | Record<string, never> {
  const match = /\((krr\.[A-Za-z.]+)\)/.exec(text);
  return match?.[1] ? { setting: match[1] } : {};
}

function linesOf(request: PanelCell, limit: PanelCell): ChartLines {
  return { currentRequest: quantityAmount(request.from), currentLimit: quantityAmount(limit.from), recommendedRequest: quantityAmount(request.to), recommendedLimit: quantityAmount(limit.to) };
}

function inputOf(evidence: ContainerEvidence, row: PanelRow, signal: UsageSignal): ChartInput {
  const start = Date.parse(evidence.window.start) / 1000;
  const end = Date.parse(evidence.window.end) / 1000;
  return signal === 'cpu'
    ? { signal, series: evidence.cpu.series, start, end, lines: linesOf(row.cpuRequest, row.cpuLimit) }
    : { signal, series: evidence.memory.series, start, end, lines: linesOf(row.memoryRequest, row.memoryLimit) };
}

function when(iso: string | null, options: ChartOptions): string {
  const time = iso === null ? Number.NaN : Date.parse(iso) / 1000;
  return Number.isFinite(time) ? formatTime(time, options) : 'an unknown time';
}

/** The evidence's statistics in words, one line per signal and one for coverage. */
export function usageFacts(evidence: ContainerEvidence, options: ChartOptions = {}): string[] {
  const cores = (value: number | null) => (value === null ? 'n/a' : formatCores(value));
  const cpu = evidence.cpu;
  const cpuLine = cpu.max === null ? 'CPU: no samples' : `CPU p50 ${cores(cpu.p50)} · p95 ${cores(cpu.p95)} · p99 ${cores(cpu.p99)} · max ${cores(cpu.max)}${cpu.throttledPercent === null ? '' : ` · throttled in ${Math.round(cpu.throttledPercent * 10) / 10}% of periods`}`;
  const memory = evidence.memory;
  const oom = evidence.oomKills === 0 ? '0 OOM kills' : `${plural(evidence.oomKills, 'OOM kill')}${evidence.oomKilledLimit === null ? '' : ` (limit ${formatBytes(evidence.oomKilledLimit)})`}`;
  const memoryLine = `${memory.max === null ? 'memory: no samples' : `memory peak ${formatBytes(memory.max)}${memory.maxAt === null ? '' : ` on ${when(memory.maxAt, options)}`}`} · ${oom} · ${plural(evidence.restarts, 'restart')}`;
  const coverage = evidence.coverage;
  const coverageLine =
    coverage.points === 0
      ? `no samples in the window · ${plural(evidence.pods.length, 'pod')}`
      : `${formatCount(coverage.points)} samples from ${when(coverage.first, options)} to ${when(coverage.last, options)} · ${plural(evidence.pods.length, 'pod')}`;
  return [cpuLine, memoryLine, coverageLine];
}

export function rowCharts(evidence: ContainerEvidence, row: PanelRow): UsageRowCharts {
  return { cpu: sparkline(inputOf(evidence, row, 'cpu')), memory: sparkline(inputOf(evidence, row, 'memory')) };
}

export function rowDetail(evidence: ContainerEvidence, row: PanelRow, options: ChartOptions = {}): UsageDetail {
  return {
    title: `${row.kind} ${displayName(row.namespace, 100)}/${displayName(row.name, 100)} · container ${row.shownContainer}`,
    cpu: detailChart(inputOf(evidence, row, 'cpu'), undefined, options),
    memory: detailChart(inputOf(evidence, row, 'memory'), undefined, options),
    facts: usageFacts(evidence, options),
    timeZone: options.timeZone ?? new Intl.DateTimeFormat().resolvedOptions().timeZone,
  };
}

/** The quiet line when there is no evidence: the reader's reason, bounded and made one line. */
export function unavailableText(reason: string): string {
  return `No usage evidence: ${displayText(reason, 300)}`;
}

/**
 * One review's evidence as the panel holds it. `load` reads it (once per review id; a newer review cancels an older
 * read); `charts` and `detail` answer the page's requests from what was read.
 */
export class ReviewUsage {
  private reviewId: string | null = null;
  private controller: AbortController | null = null;
  private byKey: Map<string, ContainerEvidence> | null = null;
  private status: EvidenceStatus | null = null;
  private rowIndex: { rows: readonly PanelRow[]; byKey: Map<string, PanelRow> } | null = null;

  constructor(
    private readonly read: EvidenceReader | undefined,
    private readonly post: (message: unknown) => void,
    private readonly options: ChartOptions = {},
  ) {}

  /**
   * Reads the evidence of the review shown (its report, or each report of a fleet keyed by cluster), once per review:
   * the same review shown again repeats the status, unless there was none. Called once the first rows were handed over.
   */
  async load(reviewId: string, reports: ReadonlyArray<{ reportId: string; prefix: string }>): Promise<void> {
    // Shown again (rows re-posted after an apply, a reveal): read or being read stays; "none" is asked again, as the
    // setting may have been set since (the session holds a failed read back for a minute itself).
    if (reviewId === this.reviewId && this.status && this.status.state !== 'unavailable') {
      this.post({ type: 'evidence', reportId: reviewId, ...this.status });
      return;
    }
    this.controller?.abort();
    this.reviewId = reviewId;
    this.byKey = null;
    this.rowIndex = null;
    const read = this.read;
    if (!read) {
      this.setStatus(reviewId, { state: 'unavailable', text: unavailableText('this editor cannot read it') });
      return;
    }
    const controller = new AbortController();
    this.controller = controller;
    this.setStatus(reviewId, { state: 'loading', text: 'Reading usage from Prometheus…' });
    const results = await Promise.all(
      reports.map(async ({ reportId, prefix }) => {
        try {
          return { prefix, result: await read(reportId, controller.signal) };
        } catch (error) {
          return { prefix, result: { status: 'unavailable', reason: error instanceof Error ? error.message : String(error) } as EvidenceResult };
        }
      }),
    );
    if (controller.signal.aborted || this.reviewId !== reviewId) return;
    const byKey = new Map<string, ContainerEvidence>();
    const reasons: string[] = [];
    let readAt = '';
    for (const { prefix, result } of results) {
      if (result.status === 'unavailable') {
        reasons.push(result.reason);
        continue;
      }
      readAt = result.readAt > readAt ? result.readAt : readAt;
      for (const container of result.containers) byKey.set(usageKeyOf({ workload: `${prefix}${container.namespace}/${container.kind}/${container.name}`, container: container.container }), container);
    }
    if (byKey.size === 0) {
      const reason = reasons[0] ?? 'Prometheus returned no series for these containers';
      const text = unavailableText(reasons.length > 1 && reasons.every((other) => other === reason) ? `${reason} (all ${formatCount(reasons.length)} clusters)` : reason);
      this.setStatus(reviewId, { state: 'unavailable', text, ...settingIn(text) });
      return;
    }
    this.byKey = byKey;
    const readTime = Date.parse(readAt);
    const at = Number.isFinite(readTime) ? ` (read ${formatTime(readTime / 1000, this.options)})` : '';
    const missing = reasons.length > 0 ? ` · no evidence for ${plural(reasons.length, 'cluster')}: ${displayText(reasons[0] ?? '', 200)}` : '';
    this.setStatus(reviewId, { state: 'available', text: `Usage from Prometheus for ${plural(byKey.size, 'container')}${at}; lines: requests and limits now and as recommended. Click a row for its chart.${missing}` });
  }

  private setStatus(reviewId: string, status: EvidenceStatus): void {
    this.status = status;
    this.post({ type: 'evidence', reportId: reviewId, ...status });
  }

  private row(key: string, rows: readonly PanelRow[]): PanelRow | undefined {
    if (this.rowIndex?.rows !== rows) this.rowIndex = { rows, byKey: new Map(rows.map((row) => [usageKeyOf(row), row])) };
    return this.rowIndex.byKey.get(key);
  }

  /** The small charts of the rows the page renders; null for a row without evidence. */
  charts(keys: readonly string[], rows: readonly PanelRow[]): void {
    if (!this.byKey || !this.reviewId) return;
    const charts: Record<string, UsageRowCharts | null> = {};
    for (const key of keys) {
      const evidence = this.byKey.get(key);
      const row = this.row(key, rows);
      charts[key] = evidence && row ? rowCharts(evidence, row) : null;
    }
    this.post({ type: 'usage-charts', reportId: this.reviewId, charts });
  }

  /** The selected row's large charts and statistics (null: no evidence for it). */
  detail(key: string, rows: readonly PanelRow[]): void {
    if (!this.byKey || !this.reviewId) return;
    const evidence = this.byKey.get(key);
    const row = this.row(key, rows);
    this.post({ type: 'usage-detail', reportId: this.reviewId, key, detail: evidence && row ? rowDetail(evidence, row, this.options) : null });
  }

  /** The panel closed: an unfinished read is cancelled. */
  stop(): void {
    this.controller?.abort();
    this.controller = null;
    this.reviewId = null;
  }
}
