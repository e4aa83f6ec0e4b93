// The report summary both krr_scan and krr_load_report return (structured and as text).
import { z } from 'zod';
import type { FleetSummary, ReportSummary } from '../core/model';
import { displayText } from '../core/text';
import { orNull } from './portable';

export const reportSummaryOutput = {
  reportId: z.string(),
  workloads: z.number(),
  containers: z.number(),
  source: z.string(),
  cluster: orNull(z.string(), 'krr ran in-cluster (no kube context)'),
  strategy: z.string(),
  score: z.number(),
  bySeverity: z.record(z.string(), z.number()),
  monthlyCostDelta: z.number(),
  errors: z.array(z.string()),
  cached: z.boolean(),
  prometheusAuth: z.string().optional(),
};

export function describeSummary(summary: ReportSummary): string {
  const severities = Object.entries(summary.bySeverity)
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
  const lines = [
    `Report ${summary.reportId}${summary.cached ? ' (cached scan)' : ''}: ${summary.workloads} workloads, ${summary.containers} containers, cluster ${summary.cluster ?? '(in-cluster)'}, strategy ${summary.strategy}, score ${summary.score}.`,
    `Severity: ${severities || 'none'}. Estimated monthly cost change if all were applied: ${formatMoney(summary.monthlyCostDelta)}.`,
  ];
  if (summary.prometheusAuth && summary.prometheusAuth !== 'none stored') lines.push(`Prometheus auth header: ${summary.prometheusAuth}.`);
  if (summary.context && summary.server) lines.push(`Scanned context ${displayText(summary.context, 120)} (API server ${displayText(summary.server, 200)})${summary.clusterLabel ? `, Prometheus series ${displayText(summary.clusterLabel, 200)}` : ''}; proposals from this report go only there.`);
  for (const warning of summary.warnings ?? []) lines.push(`Warning: ${warning}`);
  if (summary.errors.length > 0) lines.push(`krr reported errors: ${summary.errors.slice(0, 5).join('; ')}`);
  lines.push(`Next: krr_list_recommendations with reportId "${summary.reportId}" (filter by namespace or minSeverity, sort by savings).`);
  return lines.join('\n');
}

export function formatMoney(amount: number | null): string {
  if (amount === null) return 'n/a';
  const sign = amount < 0 ? '-' : amount > 0 ? '+' : '';
  return `${sign}$${Math.abs(amount).toFixed(2)}/mo`;
}

export function describeFleet(fleet: FleetSummary): string {
  const ok = fleet.reports.filter((entry) => entry.reportId);
  const severities = Object.entries(fleet.totals.bySeverity)
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
  const lines = [
    `Fleet ${fleet.fleetId}: ${ok.length} of ${fleet.reports.length} contexts scanned; ${fleet.totals.rows} containers; severity: ${severities || 'none'}; estimated monthly cost change: ${formatMoney(fleet.totals.monthlyCostDelta)}.`,
    ...fleet.reports.map((entry) =>
      entry.reportId
        ? `- ${displayText(entry.context, 120)}: report ${entry.reportId}${entry.cached ? ' (cached)' : ''} (API server ${displayText(entry.server ?? '?', 200)})`
        : `- ${displayText(entry.context, 120)}: FAILED — ${displayText(entry.error ?? 'unknown error', 400)}`,
    ),
    `Next: krr_list_recommendations with reportId "${fleet.fleetId}" (every cluster; filter with cluster) or one report's id. A proposal takes one reportId and changes only that context.`,
  ];
  return lines.join('\n');
}
