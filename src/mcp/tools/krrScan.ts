// krr_scan: runs krr against the cluster (with MCP progress and cancellation) and keeps the report in the session.
import { z } from 'zod';
import { contextName, labelSelector, namespaceName } from '../arguments';
import { describeSummary, reportSummaryOutput } from '../summary';
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
    'Next: krr_list_recommendations with the reportId. This tool changes nothing in the cluster.',
  inputSchema: {
    context: contextName.optional().describe('kube context to scan; default: the configured/current context'),
    namespaces: z.array(namespaceName).min(1).max(100).optional().describe('only these namespaces; default: all (or the configured list)'),
    selector: labelSelector.optional().describe('label selector for workloads, e.g. "app=web"'),
    strategy: z.enum(['simple', 'simple_limit']).optional().describe('krr strategy; simple_limit also recommends limits'),
    prometheusUrl: z.url({ protocol: /^https?$/ }).max(2048).optional().describe('Prometheus URL; default: the configured URL, else krr auto-discovery. The auth header goes only to the configured URL'),
    historyHours: z.number().positive().max(24 * 90).optional().describe('hours of history to analyse (krr default 336 = 14 days)'),
    cpuPercentile: z.number().min(1).max(100).optional().describe('CPU percentile for the request recommendation (krr default 95)'),
    memoryBufferPercent: z.number().min(0).max(500).optional().describe('extra memory buffer in percent (krr default 15)'),
    refresh: z.boolean().optional().describe('true = ignore a cached scan and run krr again'),
  },
  outputSchema: reportSummaryOutput,
  annotations: { readOnlyHint: true, openWorldHint: true },
  async handler(args, extra, { session, requester }) {
    try {
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
