// A report as rows (one per container), and the filter/sort/page the review panel and the model both use.
import type { RecommendedValue, Report, Severity } from './krr/model';
import { severityOrder } from './krr/model';
import { monthlyCostOfRecommendation } from './plan/cost';
import { formatCpu, formatMemory, QuantityError } from './quantity';
import type { QuantityView, RecommendationPage, RecommendationQuery, RecommendationRow } from './session/model';
import { matchesGlob, type Prices } from './session/settings';

export interface IndexedRow extends RecommendationRow {
  /** Largest relative change of a request, in percent (for the minChangePercent filter). */
  largestChangePercent: number;
}

/** Built once per report; queries then filter this array (no re-parsing, no per-call allocation of rows). */
export function rowsOfReport(report: Report, prices: Prices): IndexedRow[] {
  const rows: IndexedRow[] = [];
  for (const workload of report.workloads) {
    for (const container of workload.containers) {
      const notes = new Set<string>();
      if (workload.hpa) notes.add('HPA detected');
      for (const info of [container.info.cpu, container.info.memory]) if (info) notes.add(info);
      for (const warning of container.warnings) notes.add(warning);
      let largestChangePercent = 0;
      for (const resource of ['cpu', 'memory'] as const) {
        const current = container.current.requests[resource];
        const recommended = container.recommended.requests[resource];
        if (current && recommended.kind === 'value') largestChangePercent = Math.max(largestChangePercent, (Math.abs(recommended.amount - current) / current) * 100);
      }
      rows.push({
        namespace: workload.namespace,
        kind: workload.kind,
        name: workload.name,
        container: container.container,
        current: {
          requests: { cpu: cpuOrNull(container.current.requests.cpu), memory: memoryOrNull(container.current.requests.memory) },
          limits: { cpu: cpuOrNull(container.current.limits.cpu), memory: memoryOrNull(container.current.limits.memory) },
        },
        recommended: recommendedView(container.recommended),
        severity: container.severity,
        monthlyCostDelta: monthlyCostOfRecommendation(container, workload.hpa, workload.kind, prices),
        notes: [...notes],
        largestChangePercent,
      });
    }
  }
  return rows;
}

export function queryRows(rows: readonly IndexedRow[], query: Omit<RecommendationQuery, 'reportId'>): RecommendationPage {
  const minSeverity = query.minSeverity ? severityOrder.indexOf(query.minSeverity) : 0;
  const namePattern = query.name ? (/[*?]/.test(query.name) ? query.name : `*${query.name}*`) : null;
  const filtered = rows.filter(
    (row) =>
      (!query.namespace || row.namespace === query.namespace) &&
      (!query.kind || row.kind.toLowerCase() === query.kind.toLowerCase()) &&
      (!namePattern || matchesGlob(row.name, namePattern)) &&
      severityOrder.indexOf(row.severity) >= minSeverity &&
      (query.minChangePercent === undefined || row.largestChangePercent >= query.minChangePercent),
  );
  const sorted = sortRows(filtered, query.sort ?? 'savings');
  const pageSize = Math.min(Math.max(query.pageSize ?? 20, 1), 500);
  const page = Math.max(query.page ?? 1, 1);
  const start = (page - 1) * pageSize;
  return { rows: sorted.slice(start, start + pageSize).map(stripIndex), total: filtered.length, page, pageSize };
}

function sortRows(rows: IndexedRow[], sort: NonNullable<RecommendationQuery['sort']>): IndexedRow[] {
  const byName = (a: IndexedRow, b: IndexedRow) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name) || a.container.localeCompare(b.container);
  if (sort === 'name') return rows.sort(byName);
  if (sort === 'severity') return rows.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || byName(a, b));
  // savings: the biggest saving (most negative delta) first; rows without an estimate last.
  return rows.sort((a, b) => (a.monthlyCostDelta ?? Infinity) - (b.monthlyCostDelta ?? Infinity) || byName(a, b));
}

function severityRank(severity: Severity): number {
  return severityOrder.indexOf(severity);
}

function stripIndex(row: IndexedRow): RecommendationRow {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { largestChangePercent, ...rest } = row;
  return rest;
}

function recommendedView(recommended: { requests: Record<'cpu' | 'memory', RecommendedValue>; limits: Record<'cpu' | 'memory', RecommendedValue> }): QuantityView {
  const view = (value: RecommendedValue, resource: 'cpu' | 'memory'): string | null =>
    value.kind === 'unknown' ? '?' : value.kind === 'unset' ? null : shown(resource === 'cpu' ? formatCpu : formatMemory, value.amount);
  return {
    requests: { cpu: view(recommended.requests.cpu, 'cpu'), memory: view(recommended.requests.memory, 'memory') },
    limits: { cpu: view(recommended.limits.cpu, 'cpu'), memory: view(recommended.limits.memory, 'memory') },
  };
}

function cpuOrNull(value: number | null): string | null {
  return value === null ? null : shown(formatCpu, value);
}

function memoryOrNull(value: number | null): string | null {
  return value === null ? null : shown(formatMemory, value);
}

/** A listing shows an amount that cannot be written (a crafted 1e300) as such; proposing it blocks that workload. */
function shown(format: (amount: number) => string, amount: number): string {
  try {
    return format(amount);
  } catch (error) {
    if (error instanceof QuantityError) return `not writable (${amount})`;
    throw error;
  }
}
