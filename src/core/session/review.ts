// Reviewing: the reports in memory and in the state directory (kept within their bounds, restored after a reload),
// fleets, the listing of recommendations and who reconciles each workload from Git.
import { randomBytes } from 'node:crypto';
import { ownerKey, readGitOpsOwners as readOwnersOfWorkloads, type GitOpsOwner } from '../gitops/owner';
import type { Report } from '../krr/model';
import { severityOrder } from '../krr/model';
import { RowIndex, rowsOfReport } from '../recommendations';
import type { FleetSummary, RecommendationPage, RecommendationQuery, ReportSummary } from '../model';
import { reportIdPattern, type PersistedReport, type ReportIdentity } from './store';
import { megabytes, messageOf, type SessionContext, SessionError, type StoredReport, truncate } from './context';
import { adoptPlan } from './plans';

/** Indexes over several reports (a fleet listed as one), newest last; a few are kept, each costs an array of row references. */
const fleetIndexCache = 4;

/**
 * Loads what an earlier process left in the state directory: the newest report (the review after a window reload;
 * older ones load when asked for) and the plans. Files that fail their signature or schema are logged and skipped.
 */
export async function restore(ctx: SessionContext): Promise<void> {
  let restored = false;
  for (const id of await ctx.store.reportIds()) {
    if (ctx.reports.has(id)) break;
    const record = await ctx.store.readReport(id);
    if (!record) continue;
    adoptReport(ctx, record);
    ctx.latestReport = id;
    restored = true;
    break;
  }
  for (const id of (await ctx.store.planIds()).reverse()) {
    if (ctx.plans.has(id)) continue;
    const plan = await ctx.store.readPlan(id);
    if (!plan || ctx.isExpired(plan)) continue;
    adoptPlan(ctx, plan);
    restored = true;
  }
  if (restored) ctx.emit({ type: 'report' });
}

/**
 * Makes sure a report is at hand — in memory, or stored by another process (a stdio server started per call) or
 * before a reload — and returns its summary. Throws unknown-report like the synchronous accessors.
 */
export async function openReport(ctx: SessionContext, reportId: string): Promise<ReportSummary> {
  return (await reportById(ctx, reportId)).summary;
}

export function getFleet(ctx: SessionContext, fleetId: string): FleetSummary {
  const fleet = ctx.fleets.get(fleetId);
  if (!fleet) throw new SessionError('unknown-report', `There is no fleet ${truncate(fleetId)}.`, 'Run krr_scan with contexts first and use the fleetId it returns.');
  return fleet;
}

export function latestFleetId(ctx: SessionContext): string | null {
  return ctx.latestFleet;
}

/** What a review shows now: the newest fleet, unless a single report was scanned or loaded after it. */
export function currentReview(ctx: SessionContext): { fleetId: string } | { reportId: string } | null {
  if (ctx.latestFleet && ctx.fleets.has(ctx.latestFleet) && ctx.latestReport === ctx.latestFleetReport) {
    const fleet = ctx.fleets.get(ctx.latestFleet) as FleetSummary;
    if (fleet.reports.some((entry) => entry.reportId && ctx.reports.has(entry.reportId))) return { fleetId: ctx.latestFleet };
  }
  return ctx.latestReport ? { reportId: ctx.latestReport } : null;
}

export function getReport(ctx: SessionContext, reportId: string): Report {
  return storedReport(ctx, reportId).report;
}

export function reportSummary(ctx: SessionContext, reportId: string): ReportSummary {
  return storedReport(ctx, reportId).summary;
}

export function latestReportId(ctx: SessionContext): string | null {
  return ctx.latestReport;
}

/** One report's rows, or several reports' (`reportIds`, or a fleet id as `reportId`) as one list whose rows carry their cluster. */
export function listRecommendations(ctx: SessionContext, query: RecommendationQuery): RecommendationPage {
  const ids = query.reportIds && query.reportIds.length > 0 ? query.reportIds : query.reportId.startsWith('fleet-') ? fleetReportIds(ctx, query.reportId) : [query.reportId];
  const page = rowIndex(ctx, ids).query(query);
  if (ids.length === 1 && query.cluster === undefined) delete page.totals;
  const owners = new Map<string, GitOpsOwner | null>();
  for (const id of ids) for (const [key, owner] of storedReport(ctx, id).gitops.owners) owners.set(key, owner);
  if (owners.size === 0) return page;
  return { ...page, rows: page.rows.map((row) => (owners.has(ownerKey(row)) ? { ...row, gitopsOwner: owners.get(ownerKey(row)) ?? null } : row)) };
}

/**
 * Reads who reconciles the report's workloads (or the given ones) from Git — one `kubectl get` list per kind and
 * namespace — so listings show it. Best effort and read-only: only for a report of the current context, never
 * twice for a known workload, not again within a minute of a failed read. Returns why nothing was read, or null.
 */
export async function readGitOpsOwners(ctx: SessionContext, reportId: string, workloads?: ReadonlyArray<{ namespace: string; kind: string; name: string }>, signal?: AbortSignal): Promise<string | null> {
  const cache = storedReport(ctx, reportId).gitops;
  // One read at a time per report: concurrent listings (several MCP sessions) wait for it instead of repeating it.
  while (cache.reading) await cache.reading.catch(() => undefined);
  const reading = readOwnersNow(ctx, reportId, workloads, signal);
  cache.reading = reading;
  try {
    return await reading;
  } finally {
    if (cache.reading === reading) delete cache.reading;
  }
}

async function readOwnersNow(ctx: SessionContext, reportId: string, workloads: ReadonlyArray<{ namespace: string; kind: string; name: string }> | undefined, signal?: AbortSignal): Promise<string | null> {
  const stored = storedReport(ctx, reportId);
  const cache = stored.gitops;
  const known = new Map(stored.report.workloads.map((workload) => [ownerKey(workload), workload]));
  const wanted = (workloads ?? stored.report.workloads).flatMap((asked) => {
    const workload = known.get(ownerKey(asked));
    return workload && !cache.owners.has(ownerKey(workload)) ? [workload] : [];
  });
  if (wanted.length === 0) return null;
  if (cache.failedAt !== undefined && ctx.now().getTime() - cache.failedAt < 60_000) return 'the live objects could not be read a moment ago';
  const settings = ctx.options.settings();
  let target;
  try {
    target = await ctx.resolveTarget(settings, undefined);
  } catch (error) {
    cache.failedAt = ctx.now().getTime();
    return messageOf(error);
  }
  if (wanted.some((workload) => workload.cluster !== null && workload.cluster !== target.context)) return `the report is from another cluster than the current context ${target.context}`;
  const read = await readOwnersOfWorkloads(ctx.kubectlFor(settings, target.context), wanted.map(({ namespace, kind, name }) => ({ namespace, kind, name })), { concurrency: settings.applyConcurrency, ...(signal ? { signal } : {}) });
  for (const [key, owner] of read) cache.owners.set(key, owner);
  if (read.size < wanted.length) {
    cache.failedAt = ctx.now().getTime();
    return `${wanted.length - read.size} of ${wanted.length} live objects could not be read`;
  }
  return null;
}

function fleetReportIds(ctx: SessionContext, fleetId: string): string[] {
  const ids = getFleet(ctx, fleetId).reports.flatMap((entry) => (entry.reportId && ctx.reports.has(entry.reportId) ? [entry.reportId] : []));
  if (ids.length === 0) throw new SessionError('unknown-report', `Fleet ${truncate(fleetId)} has no report (every context failed, or its reports were evicted).`, 'Scan the contexts again (krr_scan with contexts).');
  return ids;
}

export function rowIndex(ctx: SessionContext, reportIds: readonly string[]): RowIndex {
  const ids = [...new Set(reportIds)];
  if (ids.length === 1) return storedReport(ctx, ids[0] as string).index;
  const stored = ids.map((id) => storedReport(ctx, id));
  const key = [...ids].sort().join(',');
  let index = ctx.combinedIndexes.get(key);
  if (!index) {
    index = new RowIndex(stored.flatMap((entry) => entry.index.rows));
    ctx.combinedIndexes.set(key, index);
    if (ctx.combinedIndexes.size > fleetIndexCache) ctx.combinedIndexes.delete(ctx.combinedIndexes.keys().next().value as string);
  }
  return index;
}

export function storeReport(ctx: SessionContext, report: Report, source: string, bytes: number, prometheusAuth?: string, identity: ReportIdentity = {}): ReportSummary {
  const hasIdentity = Object.keys(identity).length > 0;
  const summary = adoptReport(ctx, { id: `report-${randomBytes(6).toString('hex')}`, savedAt: ctx.now().toISOString(), source, bytes, report, ...(prometheusAuth ? { prometheusAuth } : {}), ...(hasIdentity ? { identity } : {}) });
  ctx.latestReport = summary.reportId;
  ctx.emit({ type: 'report' });
  return summary;
}

/** Into memory (rows and summary computed with the current prices), within the bounds; not the latest by itself. */
function adoptReport(ctx: SessionContext, record: PersistedReport): ReportSummary {
  const { id: reportId, report, source, bytes, prometheusAuth } = record;
  const identity: ReportIdentity = record.identity ?? {};
  const settings = ctx.options.settings();
  // A scanned report's rows carry the context scanned (krr names it too, but null when it ran in-cluster).
  const rows = rowsOfReport(report, settings.prices, identity.context, settings.policy);
  const bySeverity = Object.fromEntries(severityOrder.map((severity) => [severity, 0])) as ReportSummary['bySeverity'];
  let monthlyCostDelta = 0;
  for (const row of rows) {
    bySeverity[row.severity] += 1;
    monthlyCostDelta += row.monthlyCostDelta ?? 0;
  }
  const summary: ReportSummary = {
    reportId,
    source,
    cluster: report.clusters[0] ?? null,
    strategy: report.strategy.name,
    score: report.score,
    workloads: report.workloads.length,
    containers: report.containerCount,
    bySeverity,
    monthlyCostDelta: Math.round(monthlyCostDelta * 100) / 100,
    errors: report.errors.map((error) => error.name),
    cached: false,
    ...(prometheusAuth ? { prometheusAuth } : {}),
    ...identity,
  };
  ctx.reports.set(reportId, { report, index: new RowIndex(rows), summary, bytes, source, savedAt: record.savedAt, gitops: { owners: new Map() } });
  ctx.evicted.delete(reportId);
  if (ctx.fleetScansRunning === 0) evictReports(ctx);
  return summary;
}

/** Keeps the reports within their bounds, oldest first, never one of the newest fleet's. */
export function evictReports(ctx: SessionContext): void {
  ctx.evictOldest(
    ctx.reports,
    ctx.limits.reports,
    ctx.limits.reportBytes,
    (id) => `Report ${id} was evicted (limit ${ctx.limits.reports} reports / ${megabytes(ctx.limits.reportBytes)} MB); scan again (krr_scan) or load the file again.`,
    (id) => ctx.pinnedReports.has(id),
  );
  for (const [key, entry] of ctx.scanCache) if (!ctx.reports.has(entry.reportId)) ctx.scanCache.delete(key);
  for (const key of ctx.combinedIndexes.keys()) if (!key.split(',').every((id) => ctx.reports.has(id))) ctx.combinedIndexes.delete(key);
}

export async function persistReport(ctx: SessionContext, reportId: string): Promise<void> {
  const stored = ctx.reports.get(reportId);
  if (!stored) return;
  const { context, server, clusterLabel, warnings } = stored.summary;
  const identity: ReportIdentity = { ...(context ? { context } : {}), ...(server ? { server } : {}), ...(clusterLabel ? { clusterLabel } : {}), ...(warnings ? { warnings } : {}) };
  await ctx.store.saveReport({ id: reportId, savedAt: stored.savedAt, source: stored.source, bytes: stored.bytes, report: stored.report, ...(stored.summary.prometheusAuth ? { prometheusAuth: stored.summary.prometheusAuth } : {}), ...(Object.keys(identity).length > 0 ? { identity } : {}) });
}

/** In memory, else from the state directory (stored by another process or before a reload), else unknown-report. */
export async function reportById(ctx: SessionContext, reportId: string): Promise<StoredReport> {
  if (!ctx.reports.has(reportId) && reportIdPattern.test(reportId)) {
    const record = await ctx.store.readReport(reportId);
    if (record && !ctx.reports.has(reportId)) {
      adoptReport(ctx, record);
      ctx.latestReport ??= reportId;
    }
  }
  return storedReport(ctx, reportId);
}

function storedReport(ctx: SessionContext, reportId: string): StoredReport {
  const stored = ctx.reports.get(reportId);
  const evicted = stored ? undefined : ctx.evicted.get(reportId);
  if (evicted) throw new SessionError('unknown-report', evicted, 'Run krr_scan (refresh: true) or krr_load_report again and use the new reportId.');
  if (!stored) throw new SessionError('unknown-report', `There is no report ${truncate(reportId)}.`, 'Run krr_scan or krr_load_report first and use the reportId it returns.');
  return stored;
}
