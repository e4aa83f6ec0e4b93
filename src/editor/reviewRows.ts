// Rows as the review panel shows them: current -> recommended per field with the relative change. Pure.
import { describeOwner, type GitOpsOwner } from '../core/gitops/owner';
import type { RecommendationRow } from '../core/session/model';
import { parseQuantity } from '../core/quantity';

export interface PanelCell {
  from: string | null;
  /** null: krr recommends unset; "?": unknown (never touched). */
  to: string | null;
  /** Relative change in percent; null when either side is unset or unknown. */
  percent: number | null;
}

export interface PanelRow {
  /** Unique per workload; in a fleet review prefixed by its cluster (the same workload exists in several). */
  workload: string;
  /** Set in a fleet review: the kube context the row's report was scanned from. */
  cluster?: string | null;
  namespace: string;
  kind: string;
  name: string;
  container: string;
  cpuRequest: PanelCell;
  cpuLimit: PanelCell;
  memoryRequest: PanelCell;
  memoryLimit: PanelCell;
  severity: string;
  monthlyCostDelta: number | null;
  notes: string[];
  /** Who reconciles the workload from Git; null: nobody; absent: not read yet. */
  owner?: OwnerView | null;
}

/** A GitOps owner as the panel shows it: a short badge, the evidence as its tooltip. */
export interface OwnerView {
  label: string;
  title: string;
  certain: boolean;
}

export function ownerView(owner: GitOpsOwner | null | undefined): OwnerView | null | undefined {
  if (!owner) return owner;
  const certain = owner.confidence === 'certain';
  return { label: `${certain ? '' : 'maybe '}${describeOwner(owner)}`, title: `${certain ? 'Reconciled from Git' : 'Possibly reconciled from Git (a hint only)'}: ${owner.evidence.join('; ')}`, certain };
}

function amount(value: string | null): number | null {
  if (value === null || value === '?') return null;
  try {
    return parseQuantity(value);
  } catch {
    return null;
  }
}

export function panelCell(from: string | null, to: string | null): PanelCell {
  const before = amount(from);
  const after = amount(to);
  const percent = before !== null && after !== null && before > 0 ? Math.round(((after - before) / before) * 1000) / 10 : null;
  return { from, to, percent };
}

export function workloadKeyOf(row: Pick<RecommendationRow, 'namespace' | 'kind' | 'name'>): string {
  return `${row.namespace}/${row.kind}/${row.name}`;
}

export function toPanelRow(row: RecommendationRow, fleet = false): PanelRow {
  return {
    workload: fleet ? `${row.cluster ?? ''}|${workloadKeyOf(row)}` : workloadKeyOf(row),
    ...(fleet ? { cluster: row.cluster } : {}),
    namespace: row.namespace,
    kind: row.kind,
    name: row.name,
    container: row.container,
    cpuRequest: panelCell(row.current.requests.cpu, row.recommended.requests.cpu),
    cpuLimit: panelCell(row.current.limits.cpu, row.recommended.limits.cpu),
    memoryRequest: panelCell(row.current.requests.memory, row.recommended.requests.memory),
    memoryLimit: panelCell(row.current.limits.memory, row.recommended.limits.memory),
    severity: row.severity,
    monthlyCostDelta: row.monthlyCostDelta,
    notes: row.notes,
    ...(row.gitopsOwner !== undefined ? { owner: ownerView(row.gitopsOwner) } : {}),
  };
}

/** Every row of a report, fetched page by page (the session caps a page at 500). */
export function allRows(list: (page: number) => { rows: RecommendationRow[]; total: number; pageSize: number }, fleet = false): PanelRow[] {
  const rows: PanelRow[] = [];
  for (let page = 1; ; page++) {
    const result = list(page);
    rows.push(...result.rows.map((row) => toPanelRow(row, fleet)));
    if (result.rows.length === 0 || rows.length >= result.total) return rows;
  }
}
