// The report summary both krr_scan and krr_load_report return (structured and as text).
import { z } from 'zod';
import type { ReportSummary } from '../core/session/model';
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
  if (summary.errors.length > 0) lines.push(`krr reported errors: ${summary.errors.slice(0, 5).join('; ')}`);
  lines.push(`Next: krr_list_recommendations with reportId "${summary.reportId}" (filter by namespace or minSeverity, sort by savings).`);
  return lines.join('\n');
}

export function formatMoney(amount: number | null): string {
  if (amount === null) return 'n/a';
  const sign = amount < 0 ? '-' : amount > 0 ? '+' : '';
  return `${sign}$${Math.abs(amount).toFixed(2)}/mo`;
}
