// The numbers behind the review panel's savings chart: per namespace (per cluster when a report spans several),
// requested CPU and memory now and as recommended (× pods, like the cost estimate), and the monthly delta. Pure.
import type { Report } from './krr/model';
import { monthlyCostOfRecommendation } from './plan/cost';
import type { Prices } from './settings';

export interface SavingsGroup {
  /** Namespace, or cluster name when the report covers more than one cluster. */
  label: string;
  cpu: { current: number; recommended: number };
  memory: { current: number; recommended: number };
  monthlyCostDelta: number;
  workloads: number;
}

export interface Savings {
  by: 'namespace' | 'cluster';
  groups: SavingsGroup[];
  /** How many smaller groups were summed into the last "other" group (0: none). */
  folded: number;
}

/**
 * Groups with the largest monthly change first; past `maxGroups` the rest are summed into one "other (N)" group so
 * the chart stays readable for a cluster with hundreds of namespaces. A recommendation that is unknown ("?") or
 * unset counts as the current value: nothing would change there.
 */
export function savingsOf(report: Pick<Report, 'workloads' | 'clusters'>, prices: Prices, maxGroups = 8): Savings {
  const by = report.clusters.length > 1 ? 'cluster' : 'namespace';
  const groups = new Map<string, SavingsGroup>();
  for (const workload of report.workloads) {
    const label = by === 'cluster' ? (workload.cluster ?? 'in-cluster') : workload.namespace;
    let group = groups.get(label);
    if (!group) {
      group = { label, cpu: { current: 0, recommended: 0 }, memory: { current: 0, recommended: 0 }, monthlyCostDelta: 0, workloads: 0 };
      groups.set(label, group);
    }
    group.workloads += 1;
    for (const container of workload.containers) {
      const pods = Math.max(1, workload.hpa?.currentReplicas ?? container.pods.running);
      for (const resource of ['cpu', 'memory'] as const) {
        const current = container.current.requests[resource] ?? 0;
        const recommended = container.recommended.requests[resource];
        const target = recommended.kind === 'value' && Number.isFinite(recommended.amount) ? recommended.amount : current;
        group[resource].current += current * pods;
        group[resource].recommended += target * pods;
      }
      group.monthlyCostDelta += monthlyCostOfRecommendation(container, workload.hpa, workload.kind, prices) ?? 0;
    }
  }
  const sorted = [...groups.values()].sort((a, b) => Math.abs(b.monthlyCostDelta) - Math.abs(a.monthlyCostDelta) || a.label.localeCompare(b.label));
  for (const group of sorted) group.monthlyCostDelta = Math.round(group.monthlyCostDelta * 100) / 100;
  if (sorted.length <= maxGroups) return { by, groups: sorted, folded: 0 };
  const kept = sorted.slice(0, maxGroups - 1);
  const rest = sorted.slice(maxGroups - 1);
  const other: SavingsGroup = { label: `other (${rest.length})`, cpu: { current: 0, recommended: 0 }, memory: { current: 0, recommended: 0 }, monthlyCostDelta: 0, workloads: 0 };
  for (const group of rest) {
    other.cpu.current += group.cpu.current;
    other.cpu.recommended += group.cpu.recommended;
    other.memory.current += group.memory.current;
    other.memory.recommended += group.memory.recommended;
    other.monthlyCostDelta += group.monthlyCostDelta;
    other.workloads += group.workloads;
  }
  other.monthlyCostDelta = Math.round(other.monthlyCostDelta * 100) / 100;
  return { by, groups: [...kept, other], folded: rest.length };
}
