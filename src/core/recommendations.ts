// A report as rows (one per container), and the filter/sort/page the review panel and the model both use.
import type { ContainerRecommendation, RecommendedValue, Report, Severity, WorkloadKind } from './krr/model';
import { severityOrder } from './krr/model';
import { monthlyCostOfRecommendation } from './plan/cost';
import { formatCpu, formatMemory, QuantityError } from './quantity';
import type { ClusterTotals, QuantityView, RecommendationPage, RecommendationQuery, RecommendationRow } from './session/model';
import { largestAllowedStep } from './policy';
import { matchesGlob, type PolicySettings, type Prices } from './session/settings';

export interface IndexedRow extends RecommendationRow {
  /** Largest relative change of a request, in percent (for the minChangePercent filter). */
  largestChangePercent: number;
}

/**
 * Why a kind krr reports is listed but never patched here; null for the kinds a plan can patch (a Rollout only when
 * its CRD is served, which the proposal checks against the cluster).
 */
export function notPatchableReason(kind: WorkloadKind): string | null {
  switch (kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'CronJob':
    case 'Rollout':
      return null;
    case 'Job':
      return "not patchable here: a Job's pod template is immutable; change its CronJob or manifest";
    case 'GroupedJob':
      return 'not patchable here: a GroupedJob is krr\'s group of Jobs sharing a label, not a Kubernetes object';
    default:
      return `not patchable here: ${kind} is listed for information; change its owner or manifest`;
  }
}

/** Built once per report; queries then filter this array (no re-parsing, no per-call allocation of rows). */
export function rowsOfReport(report: Report, prices: Prices, cluster?: string | null, policy?: PolicySettings): IndexedRow[] {
  const rows: IndexedRow[] = [];
  for (const workload of report.workloads) {
    const notPatchable = notPatchableReason(workload.kind);
    for (const container of workload.containers) {
      const notes = new Set<string>();
      if (notPatchable) notes.add(notPatchable);
      if (workload.hpa) notes.add('HPA detected');
      for (const info of [container.info.cpu, container.info.memory]) if (info) notes.add(info);
      for (const warning of container.warnings) notes.add(warning);
      let largestChangePercent = 0;
      for (const resource of ['cpu', 'memory'] as const) {
        const current = container.current.requests[resource];
        const recommended = container.recommended.requests[resource];
        if (current && recommended.kind === 'value') largestChangePercent = Math.max(largestChangePercent, (Math.abs(recommended.amount - current) / current) * 100);
      }
      const steps = policy?.onLimit === 'step' && notPatchable === null ? partialSteps(container, policy) : [];
      for (const step of steps) notes.add(`partial step: ${step.field} ${step.from} → ${step.to} (limit ${step.limit}); krr's full recommendation is ${step.recommended}`);
      rows.push({
        cluster: cluster === undefined ? workload.cluster : cluster,
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
        patchable: notPatchable === null,
        ...(steps.length > 0 ? { steps } : {}),
        largestChangePercent,
      });
    }
  }
  return rows;
}

export function queryRows(rows: readonly IndexedRow[], query: Omit<RecommendationQuery, 'reportId'>): RecommendationPage {
  return new RowIndex(rows).query(query);
}

type SortKey = NonNullable<RecommendationQuery['sort']>;

/**
 * Rows with their sort orders computed once (lazily, per sort key): a query then walks one order, filtering as it
 * goes, so a 50,000-row fleet costs one pass per query instead of a sort.
 */
export class RowIndex {
  private readonly orders = new Map<SortKey, Uint32Array>();
  constructor(readonly rows: readonly IndexedRow[]) {}

  query(query: Omit<RecommendationQuery, 'reportId'>): RecommendationPage {
    const minSeverity = query.minSeverity ? severityOrder.indexOf(query.minSeverity) : 0;
    const namePattern = query.name ? (/[*?]/.test(query.name) ? query.name : `*${query.name}*`) : null;
    const kind = query.kind?.toLowerCase();
    const pageSize = Math.min(Math.max(query.pageSize ?? 20, 1), 500);
    const page = Math.max(query.page ?? 1, 1);
    const start = (page - 1) * pageSize;
    const order = this.order(query.sort ?? 'savings');
    const picked: IndexedRow[] = [];
    const clusters = new Map<string | null, ClusterTotals>();
    const fleet = emptyTotals();
    let total = 0;
    for (let position = 0; position < order.length; position += 1) {
      const row = this.rows[order[position] as number] as IndexedRow;
      if (query.cluster !== undefined && row.cluster !== query.cluster) continue;
      if (query.namespace && row.namespace !== query.namespace) continue;
      if (kind && row.kind.toLowerCase() !== kind) continue;
      if (severityOrder.indexOf(row.severity) < minSeverity) continue;
      if (query.minChangePercent !== undefined && row.largestChangePercent < query.minChangePercent) continue;
      if (namePattern && !matchesGlob(row.name, namePattern)) continue;
      if (total >= start && picked.length < pageSize) picked.push(row);
      total += 1;
      let perCluster = clusters.get(row.cluster);
      if (!perCluster) clusters.set(row.cluster, (perCluster = emptyTotals()));
      addToTotals(perCluster, row);
      addToTotals(fleet, row);
    }
    const rounded = (totals: ClusterTotals): ClusterTotals => ({ ...totals, monthlyCostDelta: Math.round(totals.monthlyCostDelta * 100) / 100 });
    return {
      rows: picked.map(stripIndex),
      total,
      page,
      pageSize,
      totals: { fleet: rounded(fleet), clusters: [...clusters].map(([cluster, totals]) => ({ cluster, ...rounded(totals) })).sort((a, b) => String(a.cluster).localeCompare(String(b.cluster))) },
    };
  }

  private order(sort: SortKey): Uint32Array {
    let order = this.orders.get(sort);
    if (!order) {
      order = Uint32Array.from(sortRows([...this.rows], sort).map((row) => this.position(row)));
      this.orders.set(sort, order);
    }
    return order;
  }

  private positions: Map<IndexedRow, number> | undefined;
  private position(row: IndexedRow): number {
    this.positions ??= new Map(this.rows.map((candidate, index) => [candidate, index]));
    return this.positions.get(row) as number;
  }
}

/** The partial steps a proposal would take for this container (krr.policy.onLimit "step"), per field beyond the limits. */
function partialSteps(container: ContainerRecommendation, policy: PolicySettings): NonNullable<RecommendationRow['steps']> {
  const steps: NonNullable<RecommendationRow['steps']> = [];
  for (const allocation of ['requests', 'limits'] as const) {
    for (const resource of ['cpu', 'memory'] as const) {
      const current = container.current[allocation][resource];
      const recommended = container.recommended[allocation][resource];
      if (current === null || recommended.kind !== 'value') continue;
      const format = resource === 'cpu' ? formatCpu : formatMemory;
      let to: string;
      let from: string;
      try {
        to = format(recommended.amount);
        from = format(current);
      } catch {
        continue;
      }
      const step = largestAllowedStep({ resource, from, fromAmount: current, to, toAmount: recommended.amount }, policy);
      if (step) steps.push({ field: `${allocation}.${resource}`, from, to: step.to, recommended: step.recommended, limit: `${step.rule === 'max-decrease' ? '-' : '+'}${step.limitPercent}%` });
    }
  }
  return steps;
}

function emptyTotals(): ClusterTotals {
  return { rows: 0, bySeverity: Object.fromEntries(severityOrder.map((severity) => [severity, 0])) as ClusterTotals['bySeverity'], monthlyCostDelta: 0 };
}

function addToTotals(totals: ClusterTotals, row: IndexedRow): void {
  totals.rows += 1;
  totals.bySeverity[row.severity] += 1;
  totals.monthlyCostDelta += row.monthlyCostDelta ?? 0;
}

const collator = new Intl.Collator();

function sortRows(rows: IndexedRow[], sort: SortKey): IndexedRow[] {
  const byName = (a: IndexedRow, b: IndexedRow) =>
    collator.compare(a.namespace, b.namespace) || collator.compare(a.name, b.name) || collator.compare(a.container, b.container) || collator.compare(a.cluster ?? '', b.cluster ?? '');
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
