// Evidence: the usage behind a report's recommendations, read from the configured Prometheus once per report (whole
// namespaces at a time) and kept with the report — in memory and in the state directory beside it — so the review
// panel, the list rows, the policy check and the approval text all reuse one read. Credentials go as for scans: the
// auth header and krr.prometheusHeaders only to krr.prometheusUrl; there is no other URL here to send them to.
import { evidenceKey, type ContainerEvidence, type EvidenceResult, type EvidenceTarget } from '../evidence/model';
import { windowOfReport, type ClusterSelector } from '../evidence/queries';
import { parseHeaderLines, readEvidence, targetsOfReport } from '../evidence/reader';
import { decidePrometheusAuth } from '../krr/prometheusAuth';
import type { EvidenceCache, SessionContext, StoredReport } from './context';
import { reportById } from './review';

/** A failed read is not repeated for this long (a listing or panel asks often; a down Prometheus stays down a while). */
const failureHoldMs = 60_000;

export const noPrometheusReason = 'no Prometheus URL is configured (krr.prometheusUrl)';

/**
 * The evidence of a report's containers (all of them, or `targets`), read at most once per namespace and report.
 * Unavailable (with a reason a person can act on) when no Prometheus is configured, it cannot be reached or refuses,
 * or the read is cancelled; never a guess. Targets that are not in the report are left out.
 */
export async function evidenceFor(ctx: SessionContext, reportId: string, targets?: readonly EvidenceTarget[], signal?: AbortSignal): Promise<EvidenceResult> {
  const stored = await reportById(ctx, reportId);
  const settings = ctx.options.settings();
  if (!settings.prometheusUrl) return { status: 'unavailable', reason: `${noPrometheusReason}: set it to read the usage behind the recommendations` };
  const cache: EvidenceCache = (stored.evidence ??= { containers: new Map(), namespaces: new Set(), readAt: null, queries: 0 });
  const all = targetsOfReport(stored.report, stored.summary.context);
  const wantedKeys = targets ? new Set(targets.map(evidenceKey)) : undefined;
  const wanted = wantedKeys ? all.filter((target) => wantedKeys.has(evidenceKey(target))) : all;
  // One read at a time per report: concurrent callers (panel, list, policy) wait for it and then use its result.
  while (cache.reading) await cache.reading.catch(() => undefined);
  await (cache.loading ??= loadStored(ctx, reportId, cache));
  const missing = [...new Set(wanted.map((target) => target.namespace))].filter((namespace) => !cache.namespaces.has(namespace));
  if (missing.length > 0) {
    if (cache.failure && ctx.now().getTime() - cache.failure.at < failureHoldMs) return { status: 'unavailable', reason: cache.failure.reason };
    const reading = readMissing(ctx, stored, cache, all.filter((target) => missing.includes(target.namespace)), missing, signal);
    cache.reading = reading;
    try {
      const result = await reading;
      if (result.status === 'unavailable') return result;
    } finally {
      if (cache.reading === reading) delete cache.reading;
    }
  }
  return {
    status: 'available',
    containers: wanted.flatMap((target) => cache.containers.get(evidenceKey(target)) ?? []),
    readAt: cache.readAt ?? ctx.now().toISOString(),
    queries: cache.queries,
  };
}

/**
 * What is already known — in memory, or stored beside the report by another process — without asking Prometheus:
 * a listing shows evidence it has and never pays queries for it. Targets without known evidence are left out.
 */
export async function cachedEvidence(ctx: SessionContext, reportId: string, targets: readonly EvidenceTarget[]): Promise<ContainerEvidence[]> {
  const stored = await reportById(ctx, reportId);
  const cache: EvidenceCache = (stored.evidence ??= { containers: new Map(), namespaces: new Set(), readAt: null, queries: 0 });
  await (cache.loading ??= loadStored(ctx, reportId, cache));
  return targets.flatMap((target) => cache.containers.get(evidenceKey(target)) ?? []);
}

async function readMissing(ctx: SessionContext, stored: StoredReport, cache: EvidenceCache, targets: EvidenceTarget[], namespaces: string[], signal?: AbortSignal): Promise<EvidenceResult> {
  const { url, headers, clusterLabel } = await prometheusAccess(ctx, stored.summary.context ?? stored.summary.cluster ?? undefined, stored.summary.clusterLabel);
  const started = Date.now();
  const result = await readEvidence({
    url,
    headers,
    ...(clusterLabel ? { clusterLabel } : {}),
    targets,
    window: windowOfReport(stored.report, new Date(stored.savedAt)),
    ...(signal ? { signal } : {}),
    ...(ctx.options.evidenceLimits ? { limits: ctx.options.evidenceLimits } : {}),
  });
  if (result.status === 'unavailable') {
    ctx.log(`evidence for ${stored.summary.reportId} not read: ${result.reason}`);
    if (!signal?.aborted) cache.failure = { reason: result.reason, at: ctx.now().getTime() };
    return result;
  }
  delete cache.failure;
  for (const evidence of result.containers) cache.containers.set(evidenceKey(evidence), evidence);
  for (const namespace of namespaces) cache.namespaces.add(namespace);
  cache.readAt = result.readAt;
  cache.queries += result.queries;
  ctx.log(`evidence for ${stored.summary.reportId}: ${result.containers.length} containers in ${namespaces.length} namespace(s), ${result.queries} Prometheus queries, ${Date.now() - started} ms`);
  await ctx.store.saveEvidence({ reportId: stored.summary.reportId, savedAt: stored.savedAt, readAt: result.readAt, queries: cache.queries, namespaces: [...cache.namespaces], containers: [...cache.containers.values()] });
  return result;
}

/**
 * Where and how to read Prometheus for one cluster: krr.prometheusUrl, the headers its credential routing allows (the
 * auth header and krr.prometheusHeaders only to that URL), and the centralized store's cluster selector (a scan's
 * recorded `label="value"` first, else the settings' value for that cluster). Shared by the evidence and the trials.
 */
export async function prometheusAccess(ctx: SessionContext, cluster: string | undefined, recordedLabel?: string): Promise<{ url: string; headers: Record<string, string>; clusterLabel?: ClusterSelector }> {
  const settings = ctx.options.settings();
  const url = settings.prometheusUrl as string;
  const authHeader = await ctx.options.secrets?.prometheusAuthHeader();
  // The same routing as a scan's; the effective URL is always the configured one, so this only documents the rule.
  const auth = decidePrometheusAuth({ header: authHeader, configuredUrl: url, effectiveUrl: url });
  const extra = decidePrometheusAuth({ header: settings.prometheusHeaders.length > 0 ? 'set' : undefined, configuredUrl: url, effectiveUrl: url });
  const headers = { ...(extra.send ? parseHeaderLines(settings.prometheusHeaders) : {}), ...(auth.send && authHeader ? { authorization: authHeader } : {}) };
  const settingsValue = cluster === undefined ? settings.prometheusClusterLabel : (settings.prometheusClusterLabels[cluster] ?? settings.prometheusClusterLabel);
  const clusterLabel = clusterSelectorOf(recordedLabel) ?? (settings.prometheusLabel && settingsValue ? { label: settings.prometheusLabel, value: settingsValue } : undefined);
  return { url, headers, ...(clusterLabel ? { clusterLabel } : {}) };
}

async function loadStored(ctx: SessionContext, reportId: string, cache: EvidenceCache): Promise<void> {
  const record = await ctx.store.readEvidence(reportId).catch(() => undefined);
  if (!record) return;
  for (const evidence of record.containers) cache.containers.set(evidenceKey(evidence), evidence);
  for (const namespace of record.namespaces) cache.namespaces.add(namespace);
  cache.readAt = record.readAt;
  cache.queries = record.queries;
}

/** The report's `label="value"` (scan.ts writes it from krr.prometheusLabel and the cluster's value). */
export function clusterSelectorOf(clusterLabel: string | undefined): ClusterSelector | undefined {
  const match = clusterLabel === undefined ? null : /^([a-zA-Z_][a-zA-Z0-9_]*)="(.*)"$/s.exec(clusterLabel);
  return match ? { label: match[1] as string, value: match[2] as string } : undefined;
}
