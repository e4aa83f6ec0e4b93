// Scanning: krr on one context (scan), on several (scanFleet), a report file loaded instead (loadReport), and the
// status of the tools a scan needs (status). A scan's report is kept by review.ts.
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { mapBounded } from '../apply';
import type { Report } from '../krr/model';
import { severityOrder } from '../krr/model';
import { readReportFile } from '../krr/report';
import { clusterLabelWarnings } from '../krr/centralPrometheus';
import { decidePrometheusAuth } from '../krr/prometheusAuth';
import { KrrError, readKrrVersion, runKrrScan, type KrrScanOptions } from '../krr/runner';
import { resolveContexts } from '../kube/kubectl';
import type { ClusterTotals, FleetScanEntry, FleetSummary, ReportSummary, Requester, ScanArguments } from '../model';
import { fleetContextsMax } from '../settings';
import { displayText } from '../text';
import { actorOf, messageOf, type SessionContext, SessionError, type StoredReport } from './context';
import { evictReports, persistReport, rowIndex, storeReport } from './review';

export interface StatusResult {
  krr: { path: string; version: string | null; warning: string | null; error: string | null };
  kubectl: { path: string; client: string | null; server: string | null; error: string | null };
  context: string | null;
  server: string | null;
  reachable: boolean;
  readOnly: boolean;
  readOnlyReason: string | null;
}

export interface ScanControl {
  signal?: AbortSignal;
  onProgress?: (p: { message: string; progress: number; total?: number }) => void;
}

export interface FleetScanControl {
  /** Cancels the whole fleet scan. */
  signal?: AbortSignal;
  /** Cancels one context's scan (the others go on). */
  signalFor?: (context: string) => AbortSignal | undefined;
  onProgress?: (p: { context: string; message: string; done: boolean }) => void;
}

export async function status(ctx: SessionContext, signal?: AbortSignal): Promise<StatusResult> {
  const settings = ctx.options.settings();
  const result: StatusResult = {
    krr: { path: settings.krrPath, version: null, warning: null, error: null },
    kubectl: { path: settings.kubectlPath, client: null, server: null, error: null },
    context: null,
    server: null,
    reachable: false,
    readOnly: settings.readOnly,
    readOnlyReason: settings.readOnly ? (settings.readOnlyReason ?? 'krr.readOnly is set') : null,
  };
  await Promise.all([
    readKrrVersion(settings.krrPath, signal).then(
      (version) => Object.assign(result.krr, { version: version.version, warning: version.warning }),
      (error: unknown) => (result.krr.error = messageOf(error)),
    ),
    ctx.resolveTarget(settings, undefined)
      .then(async (target) => {
        result.context = target.context;
        result.server = target.server;
        const version = await ctx.kubectlFor(settings, target.context).version(signal);
        result.kubectl.client = version.client;
        result.kubectl.server = version.server;
        if (version.server !== null) ctx.serverVersions.set(`${target.context}\0${target.server}`, version.server);
        result.reachable = version.server !== null;
      })
      .catch((error: unknown) => (result.kubectl.error = messageOf(error))),
  ]);
  return result;
}

export async function scan(ctx: SessionContext, args: ScanArguments, requester: Requester, control: ScanControl = {}): Promise<ReportSummary> {
  const settings = ctx.options.settings();
  const target = await ctx.resolveTarget(settings, args.context);
  // One context: krr.prometheusClusterLabel is this cluster's value unless the per-context map names another.
  const clusterLabel = args.prometheusClusterLabel ?? settings.prometheusClusterLabels[target.context] ?? settings.prometheusClusterLabel;
  return scanTarget(ctx, args, target, clusterLabel, requester, control);
}

/**
 * Scans several contexts, at most krr.scanParallelism at a time. Each context gets its own report (its identity:
 * context, API server, cluster label); one that fails or is cancelled does not stop the others.
 */
export async function scanFleet(ctx: SessionContext, args: ScanArguments & { contexts: string[] }, requester: Requester, control: FleetScanControl = {}): Promise<FleetSummary> {
  const settings = ctx.options.settings();
  const contexts = [...new Set(args.contexts)];
  if (contexts.length === 0) throw new SessionError('invalid-argument', 'No contexts to scan.', 'Name at least one kube context (or set krr.contexts).');
  if (contexts.length > fleetContextsMax) throw new SessionError('invalid-argument', `A fleet scan takes at most ${fleetContextsMax} contexts; ${contexts.length} were given.`, `Scan the contexts in groups of at most ${fleetContextsMax}.`);
  if (args.prometheusClusterLabel !== undefined && contexts.length > 1) {
    throw new SessionError('invalid-argument', 'One Prometheus cluster label value cannot hold for several contexts.', 'Set krr.prometheusClusterLabels (context → that cluster\'s value) and scan without prometheusClusterLabel.');
  }
  // One kubeconfig read for the whole fleet; if it fails, each context is resolved (and fails) on its own.
  const kubeconfig = settings.kubeconfig ? { kubeconfig: settings.kubeconfig } : {};
  const resolved = await resolveContexts({ kubectlPath: settings.kubectlPath, ...kubeconfig }, contexts).catch(() => null);
  ctx.fleetScansRunning += 1;
  const entries = await mapBounded(contexts, settings.scanParallelism, async (context): Promise<FleetScanEntry> => {
    const signal = control.signalFor?.(context);
    const combined = signal && control.signal ? AbortSignal.any([signal, control.signal]) : (signal ?? control.signal);
    try {
      const known = resolved?.get(context);
      if (known === null) throw new SessionError('kubectl', `The kube context ${displayText(context, 120)} is not in ${settings.kubeconfig ?? 'the default kubeconfig'}.`, 'Check the context name (kubectl config get-contexts) or krr.contexts.');
      const target = known ?? (await ctx.resolveTarget(settings, context));
      const label = args.prometheusClusterLabel ?? settings.prometheusClusterLabels[context] ?? (contexts.length === 1 ? settings.prometheusClusterLabel : undefined);
      if ((args.prometheusLabel ?? settings.prometheusLabel) !== undefined && label === undefined) {
        throw new SessionError('invalid-argument', `No Prometheus cluster label value for context ${displayText(context, 120)}.`, 'Add the context to krr.prometheusClusterLabels (context → that cluster\'s value of krr.prometheusLabel).');
      }
      control.onProgress?.({ context, message: 'starting', done: false });
      const summary = await scanTarget(ctx, args, target, label, requester, {
        ...(combined ? { signal: combined } : {}),
        onProgress: (progress) => control.onProgress?.({ context, message: progress.message, done: false }),
      });
      control.onProgress?.({ context, message: 'done', done: true });
      return { context, reportId: summary.reportId, server: target.server, ...(summary.clusterLabel ? { clusterLabel: summary.clusterLabel } : {}), cached: summary.cached };
    } catch (error) {
      const message = error instanceof SessionError ? `${error.message} ${error.hint}` : messageOf(error);
      control.onProgress?.({ context, message: `failed: ${message}`, done: true });
      return { context, error: displayText(message, 1000) };
    }
  }).finally(() => {
    ctx.fleetScansRunning -= 1;
  });
  const fleetId = `fleet-${randomBytes(6).toString('hex')}`;
  const reportIds = entries.flatMap((entry) => (entry.reportId ? [entry.reportId] : []));
  // This fleet is the newest: its reports stay; what the eviction deferred during the scan happens now, to others.
  ctx.pinnedReports = new Set(reportIds);
  evictReports(ctx);
  const totals = reportIds.length > 0 ? (rowIndex(ctx, reportIds).query({ pageSize: 1 }).totals?.fleet ?? emptyTotals()) : emptyTotals();
  const summary: FleetSummary = { fleetId, reports: entries, totals };
  ctx.fleets.set(fleetId, summary);
  if (ctx.fleets.size > ctx.limits.reports) ctx.fleets.delete(ctx.fleets.keys().next().value as string);
  ctx.latestFleet = fleetId;
  ctx.latestFleetReport = ctx.latestReport;
  ctx.emit({ type: 'report' });
  return summary;
}

async function scanTarget(ctx: SessionContext, args: ScanArguments, target: { context: string; server: string }, clusterLabel: string | undefined, requester: Requester, control: ScanControl): Promise<ReportSummary> {
  const settings = ctx.options.settings();
  const pick = <T,>(fromArgs: T | undefined, fromSettings: T | undefined): T | undefined => (fromArgs !== undefined ? fromArgs : fromSettings);
  const prometheusLabel = pick(args.prometheusLabel, settings.prometheusLabel);
  const useOomKillData = pick(args.useOomKillData, settings.useOomKillData) ?? false;
  const jobGroupingLabels = pick(args.jobGroupingLabels, settings.jobGroupingLabels) ?? [];
  const optional = <K extends keyof KrrScanOptions>(key: K, value: KrrScanOptions[K] | undefined): Partial<KrrScanOptions> => (value === undefined ? {} : ({ [key]: value } as Partial<KrrScanOptions>));
  const scanOptions: KrrScanOptions = {
    krrPath: settings.krrPath,
    strategy: args.strategy ?? settings.strategy,
    context: target.context,
    ...(settings.kubeconfig ? { kubeconfig: settings.kubeconfig } : {}),
    ...((args.namespaces ?? settings.namespaces).length > 0 ? { namespaces: args.namespaces ?? settings.namespaces } : {}),
    ...((args.selector ?? settings.selector) ? { selector: args.selector ?? settings.selector } : {}),
    ...((args.prometheusUrl ?? settings.prometheusUrl) ? { prometheusUrl: args.prometheusUrl ?? settings.prometheusUrl } : {}),
    ...optional('historyHours', pick(args.historyHours, settings.historyHours)),
    ...optional('cpuPercentile', pick(args.cpuPercentile, settings.cpuPercentile)),
    ...optional('memoryBufferPercent', pick(args.memoryBufferPercent, settings.memoryBufferPercent)),
    ...optional('prometheusLabel', prometheusLabel),
    ...optional('prometheusClusterLabel', clusterLabel),
    ...((pick(args.allowHpa, settings.allowHpa) ?? false) ? { allowHpa: true } : {}),
    ...(useOomKillData ? { useOomKillData: true } : {}),
    ...optional('oomMemoryBufferPercent', useOomKillData ? pick(args.oomMemoryBufferPercent, settings.oomMemoryBufferPercent) : undefined),
    ...(jobGroupingLabels.length > 0 ? { jobGroupingLabels } : {}),
    ...optional('jobGroupingLimit', jobGroupingLabels.length > 0 ? pick(args.jobGroupingLimit, settings.jobGroupingLimit) : undefined),
    ...optional('maxWorkers', pick(args.maxWorkers, settings.maxWorkers)),
  };
  const warnings = clusterLabelWarnings(scanOptions.prometheusLabel, scanOptions.prometheusClusterLabel);
  // The header and the extra headers go only to the Prometheus URL the person configured, never to one a tool call names.
  const authHeader = await ctx.options.secrets?.prometheusAuthHeader();
  const auth = decidePrometheusAuth({ header: authHeader, configuredUrl: settings.prometheusUrl, effectiveUrl: scanOptions.prometheusUrl });
  if (authHeader && !auth.send) ctx.log(`Prometheus auth header ${auth.note}`);
  const headers = settings.prometheusHeaders.length > 0 ? decidePrometheusAuth({ header: 'set', configuredUrl: settings.prometheusUrl, effectiveUrl: scanOptions.prometheusUrl }) : null;
  if (headers && !headers.send) {
    ctx.log(`Prometheus headers (krr.prometheusHeaders) ${headers.note}`);
    warnings.push(`The Prometheus headers of krr.prometheusHeaders were ${headers.note.replace('not sent: ', 'not sent (')}${headers.note.startsWith('not sent: ') ? ')' : ''}.`);
  }
  // The cache key holds no secret: the headers are added after it is computed (only a digest of them is in it).
  const cacheKey = JSON.stringify({ ...scanOptions, server: target.server, auth: auth.note, headers: headers?.send ? digestOf(settings.prometheusHeaders) : null });
  const cached = ctx.scanCache.get(cacheKey);
  const now = ctx.now().getTime();
  if (!args.refresh && cached && now - cached.at < settings.scanCacheTtlSeconds * 1000 && ctx.reports.has(cached.reportId)) {
    const stored = ctx.reports.get(cached.reportId) as StoredReport;
    return { ...stored.summary, cached: true };
  }
  let progress = 0;
  control.onProgress?.({ message: `Running krr ${scanOptions.strategy} on ${target.context}`, progress });
  const withSecrets: KrrScanOptions = {
    ...scanOptions,
    ...(auth.send && authHeader ? { prometheusAuthHeader: authHeader } : {}),
    ...(headers?.send ? { prometheusHeaders: settings.prometheusHeaders } : {}),
  };
  let result;
  try {
    result = await runKrrScan(withSecrets, {
      ...(control.signal ? { signal: control.signal } : {}),
      onProgress: (message) => control.onProgress?.({ message, progress: ++progress }),
      onCommand: (argv) => ctx.log(`krr ${argv.join(' ')}`),
      ...(ctx.options.env ? { env: ctx.options.env } : {}),
    });
  } catch (error) {
    if (error instanceof KrrError) throw new SessionError('krr', error.message, auth.send || !authHeader ? error.hint : `${error.hint} The Prometheus auth header was ${auth.note}.`);
    throw error;
  }
  ctx.log(`krr finished in ${result.durationMs} ms: ${result.report.containerCount} containers`);
  if (scanOptions.allowHpa) {
    const scaled = result.report.workloads.filter((workload) => workload.hpa && (workload.hpa.targetCpuUtilizationPercentage !== null || workload.hpa.targetMemoryUtilizationPercentage !== null)).length;
    if (scaled > 0) warnings.push(`${scaled} workload(s) are scaled by an HPA on CPU or memory utilisation (krr.allowHpa is on): the HPA measures utilisation against the request, so cutting that request makes the HPA see higher utilisation and add replicas (and raising it, remove them). Such requests stay blocked in proposals; change the HPA and the request together.`);
  }
  for (const warning of warnings) ctx.log(`warning: ${warning}`);
  const summary = storeReport(ctx, result.report, `krr scan of ${target.context}`, result.bytes, auth.note, {
    context: target.context,
    server: target.server,
    ...(scanOptions.prometheusLabel !== undefined && scanOptions.prometheusClusterLabel !== undefined ? { clusterLabel: `${scanOptions.prometheusLabel}="${scanOptions.prometheusClusterLabel}"` } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  });
  ctx.scanCache.set(cacheKey, { reportId: summary.reportId, at: now });
  await ctx.audit({ action: 'scan', actor: actorOf(requester), context: target.context, server: target.server, outcome: 'ok', detail: { reportId: summary.reportId, workloads: summary.workloads, containers: summary.containers } });
  // After the audit entry: the files are signed with a key derived from the audit key, which the first entry creates.
  await persistReport(ctx, summary.reportId);
  return summary;
}

export async function loadReport(ctx: SessionContext, filePath: string, requester: Requester): Promise<ReportSummary> {
  let loaded: { report: Report; bytes: number };
  try {
    loaded = await readReportFile(filePath);
  } catch (error) {
    throw new SessionError('invalid-argument', messageOf(error), 'Pick a file written by `krr … -f json` (or -f yaml).');
  }
  const summary = storeReport(ctx, loaded.report, path.basename(filePath), loaded.bytes);
  await ctx.audit({ action: 'scan', actor: actorOf(requester), outcome: 'loaded', detail: { reportId: summary.reportId, file: path.basename(filePath), containers: summary.containers } });
  await persistReport(ctx, summary.reportId);
  return summary;
}

function digestOf(values: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(values)).digest('hex');
}

function emptyTotals(): ClusterTotals {
  return { rows: 0, bySeverity: Object.fromEntries(severityOrder.map((severity) => [severity, 0])) as ClusterTotals['bySeverity'], monthlyCostDelta: 0 };
}
