// krr_scan: runs krr against the cluster (with MCP progress and cancellation) and keeps the report in the session.
import { z } from 'zod';
import { contextName, labelSelector, namespaceName } from '../arguments';
import { SessionError } from '../../core/session/session';
import { fleetContextsMax } from '../../core/settings';
import { describeFleet, describeSummary, reportSummaryOutput } from '../summary';
import { defineTool, errorResult, okResult, type ToolExtra } from '../tool';

export const krrScan = defineTool({
  name: 'krr_scan',
  title: 'Scan the cluster with krr',
  description:
    'Runs krr (Prometheus-based resource recommendations) against the current or given kube context and keeps the report. ' +
    'Returns a reportId and a summary (workload and container counts, severities, estimated monthly cost change). ' +
    'A recent scan with the same arguments is reused unless refresh is true. Scans can take minutes; progress is reported. ' +
    'The Prometheus auth header the person stored is sent only to the configured Prometheus URL (krr.prometheusUrl): ' +
    'a scan with a different prometheusUrl runs without it (not refused, so an open Prometheus still works, but a credential never follows a URL ' +
    'from a tool call), and the result\'s prometheusAuth says whether it was sent. ' +
    'Several clusters at once: pass contexts (kube context names) instead of context; they are scanned a few at a time (krr.scanParallelism), ' +
    'and the result is a fleetId plus reports: [{context, reportId, server, error?}] — one failing context does not stop the others. ' +
    'Each report stays bound to its context and API server: a proposal from it changes only that cluster. ' +
    'A centralized Prometheus (Thanos, Mimir) holding many clusters needs prometheusLabel (the label NAME, e.g. cluster) and, per context, ' +
    'that cluster\'s VALUE (prometheusClusterLabel for one context; krr.prometheusClusterLabels for several). ' +
    'allowHpa makes krr recommend for HPA-scaled workloads (requests an HPA scales on stay blocked in proposals: cutting them changes what the HPA sees). ' +
    'jobGroupingLabels reports Jobs sharing a label as GroupedJob rows, which are listed but never patchable. ' +
    'Next: krr_list_recommendations with the reportId (or the fleetId). This tool changes nothing in the cluster.',
  inputSchema: {
    context: contextName.optional().describe('kube context to scan; default: the configured/current context'),
    namespaces: z.array(namespaceName).min(1).max(100).optional().describe('only these namespaces; default: all (or the configured list)'),
    selector: labelSelector.optional().describe('label selector for workloads, e.g. "app=web"'),
    strategy: z.enum(['simple', 'simple_limit']).optional().describe('krr strategy; simple_limit also recommends limits'),
    prometheusUrl: z.url({ protocol: /^https?$/ }).max(2048).optional().describe('Prometheus URL; default: the configured URL, else krr auto-discovery. The auth header goes only to the configured URL'),
    historyHours: z.number().positive().max(24 * 90).optional().describe('hours of history to analyse (krr default 336 = 14 days)'),
    cpuPercentile: z.number().min(1).max(100).optional().describe('CPU percentile for the request recommendation (krr default 95)'),
    memoryBufferPercent: z.number().min(0).max(500).optional().describe('extra memory buffer in percent (krr default 15)'),
    contexts: z.array(contextName).min(1).max(fleetContextsMax).optional().describe('scan these kube contexts (a fleet), each into its own report; not together with context'),
    prometheusLabel: z.string().min(1).max(200).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a Prometheus label NAME, e.g. cluster').optional().describe('centralized Prometheus: the label NAME that tells clusters apart, e.g. "cluster" (default krr.prometheusLabel)'),
    prometheusClusterLabel: z.string().min(1).max(253).regex(/^[^"\\\p{Cc}]+$/u, 'must be a plain cluster name').optional().describe('centralized Prometheus: this cluster\'s VALUE of that label, e.g. "prod-eu-1" (one context only; default krr.prometheusClusterLabels / krr.prometheusClusterLabel)'),
    allowHpa: z.boolean().optional().describe('krr --allow-hpa: recommend for HPA-scaled workloads too (default krr.allowHpa)'),
    useOomKillData: z.boolean().optional().describe('krr --use_oomkill_data: memory at least the OOM-killed size plus a buffer (default krr.useOomKillData)'),
    oomMemoryBufferPercent: z.number().min(0).max(500).optional().describe('with useOomKillData: headroom over the OOM-killed size in percent (krr default 25)'),
    jobGroupingLabels: z.array(z.string().min(1).max(317).regex(/^[A-Za-z0-9][-A-Za-z0-9_./]*$/, 'must be a label key')).min(1).max(20).optional().describe('krr --job-grouping-labels: Jobs sharing one of these labels become one GroupedJob row (listed, never patchable)'),
    jobGroupingLimit: z.number().int().min(1).max(100000).optional().describe('krr --job-grouping-limit: Jobs read per group (krr default 500)'),
    maxWorkers: z.number().int().min(1).max(64).optional().describe('krr --max-workers (krr default 10)'),
    refresh: z.boolean().optional().describe('true = ignore a cached scan and run krr again'),
  },
  outputSchema: {
    ...Object.fromEntries(Object.entries(reportSummaryOutput).map(([key, schema]) => [key, schema.optional()])),
    context: z.string().optional(),
    server: z.string().optional(),
    clusterLabel: z.string().optional(),
    warnings: z.array(z.string()).optional(),
    fleetId: z.string().optional(),
    reports: z
      .array(z.object({ context: z.string(), reportId: z.string().optional(), server: z.string().optional(), clusterLabel: z.string().optional(), error: z.string().optional(), cached: z.boolean().optional() }))
      .optional(),
    totals: z.object({ rows: z.number(), monthlyCostDelta: z.number(), bySeverity: z.record(z.string(), z.number()) }).optional(),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  async handler(args, extra, { session, requester }) {
    try {
      if (args.contexts) {
        if (args.context !== undefined) return errorResult(new SessionError('invalid-argument', 'Give either context or contexts, not both.', 'Put every context to scan into contexts.'));
        const progress = progressSender(extra);
        let step = 0;
        const fleet = await session.scanFleet({ ...args, contexts: args.contexts }, requester(), {
          signal: extra.signal,
          onProgress: (p) => progress?.({ message: `${p.context}: ${p.message}`, progress: ++step }),
        });
        return okResult(describeFleet(fleet), fleet);
      }
      const summary = await session.scan(args, requester(), { signal: extra.signal, onProgress: progressSender(extra) });
      return okResult(describeSummary(summary), summary);
    } catch (error) {
      return errorResult(error);
    }
  },
});

/** Sends MCP progress notifications when the caller asked for them (a progressToken); progress must only grow. */
export function progressSender(extra: ToolExtra): ((p: { message: string; progress: number; total?: number }) => void) | undefined {
  const progressToken = extra._meta?.progressToken;
  if (progressToken === undefined) return undefined;
  let last = -Infinity;
  return (p) => {
    if (!(p.progress > last) || extra.signal.aborted) return;
    last = p.progress;
    const params = { progressToken, progress: p.progress, message: p.message, ...(p.total === undefined ? {} : { total: p.total }) };
    extra.sendNotification({ method: 'notifications/progress', params }).catch(() => {
      // A client that went away cannot be told; the scan itself is cancelled through extra.signal.
    });
  };
}
