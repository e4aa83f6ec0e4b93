// A report as rows (one per container), and the filter/sort/page the review panel and the model both use.
import type { ContainerRecommendation, RecommendedValue, Report, Severity, WorkloadKind } from './krr/model';
import { severityOrder } from './krr/model';
import { monthlyCostOfRecommendation } from './plan/cost';
import { formatCpu, formatMemory, QuantityError } from './quantity';
import type { ClusterTotals, QuantityView, RecommendationPage, RecommendationQuery, RecommendationRow } from './model';
import { largestAllowedStep } from './policy';
import { matchesGlob, type PolicySettings, type Prices } from './settings';

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

/** Filter combinations whose totals are remembered per index (a person or a model pages through a few at a time). */
const totalsCacheSize = 256;

/**
 * Rows with their sort orders computed once (lazily, per sort key): a query then walks one order, filtering as it
 * goes, so a 50,000-row fleet costs one pass per query instead of a sort.
 */
export class RowIndex {
  private readonly orders = new Map<SortKey, Uint32Array>();
  private readonly clusterOrders = new Map<string, Uint32Array>();
  private readonly totalsByFilter = new Map<string, { total: number; totals: NonNullable<RecommendationPage['totals']> }>();
  // Per-row columns, so a query compares numbers instead of strings: one pass over 50,000 rows stays a few ms.
  private readonly severity: Uint8Array;
  private readonly clusterOf: Uint32Array;
  private readonly namespaceOf: Uint32Array;
  private readonly kindOf: Uint32Array;
  private readonly clusters: Array<string | null> = [];
  private readonly clusterIds = new Map<string | null, number>();
  private readonly namespaceIds = new Map<string, number>();
  private readonly kindIds = new Map<string, number>();
  private readonly nameIdOf: Uint32Array;
  private readonly nameMatches = new Map<string, Uint8Array>();

  constructor(readonly rows: readonly IndexedRow[]) {
    const count = rows.length;
    this.severity = new Uint8Array(count);
    this.clusterOf = new Uint32Array(count);
    this.namespaceOf = new Uint32Array(count);
    this.kindOf = new Uint32Array(count);
    this.nameIdOf = new Uint32Array(count);
    const nameIds = new Map<string, number>();
    const intern = <K,>(ids: Map<K, number>, key: K, onNew?: (key: K) => void): number => {
      let id = ids.get(key);
      if (id === undefined) {
        id = ids.size;
        ids.set(key, id);
        onNew?.(key);
      }
      return id;
    };
    for (let index = 0; index < count; index += 1) {
      const row = rows[index] as IndexedRow;
      this.severity[index] = severityOrder.indexOf(row.severity);
      this.clusterOf[index] = intern(this.clusterIds, row.cluster, (cluster) => this.clusters.push(cluster));
      this.namespaceOf[index] = intern(this.namespaceIds, row.namespace);
      this.kindOf[index] = intern(this.kindIds, row.kind.toLowerCase());
      this.nameIdOf[index] = intern(nameIds, row.name);
    }
  }

  query(query: Omit<RecommendationQuery, 'reportId'>): RecommendationPage {
    const minSeverity = query.minSeverity ? severityOrder.indexOf(query.minSeverity) : 0;
    const namePattern = query.name ? (/[*?]/.test(query.name) ? query.name : `*${query.name}*`) : null;
    // A value no row has matches nothing: -1 never equals an id.
    const wanted = <K,>(ids: Map<K, number>, key: K | undefined): number | null => (key === undefined ? null : (ids.get(key) ?? -1));
    const cluster = wanted(this.clusterIds, query.cluster);
    const namespace = query.namespace ? wanted(this.namespaceIds, query.namespace) : null;
    const kind = query.kind ? wanted(this.kindIds, query.kind.toLowerCase()) : null;
    const minChange = query.minChangePercent;
    const pageSize = Math.min(Math.max(query.pageSize ?? 20, 1), 500);
    const page = Math.max(query.page ?? 1, 1);
    const start = (page - 1) * pageSize;
    // One cluster's rows come from that cluster's own order (a fraction of the fleet to walk).
    const order = cluster !== null && cluster >= 0 ? this.clusterOrder(query.sort ?? 'savings', cluster) : this.order(query.sort ?? 'savings');
    // Totals do not depend on sort or page: once known for these filters, the walk stops when the page is full.
    const filterKey = JSON.stringify([cluster, namespace, kind, minSeverity, minChange ?? null, namePattern]);
    const known = this.totalsByFilter.get(filterKey);
    const picked: IndexedRow[] = [];
    const severities = severityOrder.length;
    const counts = new Uint32Array(this.clusters.length * severities);
    const costs = new Float64Array(this.clusters.length);
    const nameMatches = namePattern ? this.nameMatchesOf(namePattern) : null;
    let total = 0;
    for (let position = 0; position < order.length; position += 1) {
      const index = order[position] as number;
      if (cluster !== null && this.clusterOf[index] !== cluster) continue;
      if (namespace !== null && this.namespaceOf[index] !== namespace) continue;
      if (kind !== null && this.kindOf[index] !== kind) continue;
      const severity = this.severity[index] as number;
      if (severity < minSeverity) continue;
      const row = this.rows[index] as IndexedRow;
      if (minChange !== undefined && row.largestChangePercent < minChange) continue;
      if (nameMatches && !this.nameMatch(nameMatches, index, row.name, namePattern as string)) continue;
      if (total >= start && picked.length < pageSize) picked.push(row);
      total += 1;
      if (known && picked.length === pageSize) break;
      const clusterId = this.clusterOf[index] as number;
      (counts[clusterId * severities + severity] as number) += 1;
      (costs[clusterId] as number) += row.monthlyCostDelta ?? 0;
    }
    const summary = known ?? this.summarise(counts, costs, total);
    if (!known) {
      this.totalsByFilter.set(filterKey, summary);
      if (this.totalsByFilter.size > totalsCacheSize) this.totalsByFilter.delete(this.totalsByFilter.keys().next().value as string);
    }
    return { rows: picked.map(stripIndex), total: summary.total, page, pageSize, totals: structuredClone(summary.totals) };
  }

  private summarise(counts: Uint32Array, costs: Float64Array, total: number): { total: number; totals: NonNullable<RecommendationPage['totals']> } {
    const severities = severityOrder.length;
    const fleet = emptyTotals();
    const perCluster: Array<{ cluster: string | null } & ClusterTotals> = [];
    for (let id = 0; id < this.clusters.length; id += 1) {
      const totals = emptyTotals();
      for (let severity = 0; severity < severities; severity += 1) {
        const found = counts[id * severities + severity] as number;
        totals.bySeverity[severityOrder[severity] as Severity] = found;
        fleet.bySeverity[severityOrder[severity] as Severity] += found;
        totals.rows += found;
      }
      if (totals.rows === 0) continue;
      totals.monthlyCostDelta = Math.round((costs[id] as number) * 100) / 100;
      fleet.rows += totals.rows;
      fleet.monthlyCostDelta += costs[id] as number;
      perCluster.push({ cluster: this.clusters[id] ?? null, ...totals });
    }
    fleet.monthlyCostDelta = Math.round(fleet.monthlyCostDelta * 100) / 100;
    return { total, totals: { fleet, clusters: perCluster.sort((a, b) => String(a.cluster).localeCompare(String(b.cluster))) } };
  }

  /** Per name pattern, per row: 0 unknown, 1 no, 2 yes (each distinct name is globbed once per pattern). */
  private nameMatchesOf(pattern: string): Uint8Array {
    let matches = this.nameMatches.get(pattern);
    if (!matches) {
      matches = new Uint8Array(this.nameIdOf.length);
      this.nameMatches.set(pattern, matches);
      if (this.nameMatches.size > totalsCacheSize) this.nameMatches.delete(this.nameMatches.keys().next().value as string);
    }
    return matches;
  }

  private nameMatch(matches: Uint8Array, index: number, name: string, pattern: string): boolean {
    const id = this.nameIdOf[index] as number;
    let known = matches[id] as number;
    if (known === 0) {
      known = matchesGlob(name, pattern) ? 2 : 1;
      matches[id] = known;
    }
    return known === 2;
  }

  private clusterOrder(sort: SortKey, cluster: number): Uint32Array {
    const key = `${sort}\u0000${cluster}`;
    let order = this.clusterOrders.get(key);
    if (!order) {
      order = this.order(sort).filter((index) => this.clusterOf[index] === cluster);
      this.clusterOrders.set(key, order);
    }
    return order;
  }

  private order(sort: SortKey): Uint32Array {
    let order = this.orders.get(sort);
    if (!order) {
      const indexes = Array.from({ length: this.rows.length }, (_, index) => index);
      const rows = this.rows;
      const compare = comparatorOf(sort);
      order = Uint32Array.from(indexes.sort((a, b) => compare(rows[a] as IndexedRow, rows[b] as IndexedRow)));
      this.orders.set(sort, order);
    }
    return order;
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

const collator = new Intl.Collator();

function comparatorOf(sort: SortKey): (a: IndexedRow, b: IndexedRow) => number {
  const byName = (a: IndexedRow, b: IndexedRow) =>
    collator.compare(a.namespace, b.namespace) || collator.compare(a.name, b.name) || collator.compare(a.container, b.container) || collator.compare(a.cluster ?? '', b.cluster ?? '');
  if (sort === 'name') return byName;
  if (sort === 'severity') return (a, b) => severityRank(b.severity) - severityRank(a.severity) || byName(a, b);
  // savings: the biggest saving (most negative delta) first; rows without an estimate last.
  return (a, b) => (a.monthlyCostDelta ?? Infinity) - (b.monthlyCostDelta ?? Infinity) || byName(a, b);
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
