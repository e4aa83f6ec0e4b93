// Rows as the review panel shows them: current -> recommended per field with the relative change. Pure.
import type { ManifestPlan } from '../core/gitops/model';
import type { GitOpsOwner } from '../core/gitops/owner';
import { describeOwner } from '../core/gitops/ownerName';
import type { Report, Workload } from '../core/krr/model';
import { monthlyCostOfRecommendation } from '../core/plan/cost';
import type { Plan } from '../core/plan/model';
import { groupSkips, planSkips, type PlanSkip } from '../core/plan/skips';
import { describeCpu, describeMemory, parseQuantity } from '../core/quantity';
import type * as ReportCheck from '../core/reportCheck';
import type { PredictedBlock } from '../core/reportCheck';
import { savingsOf, type Savings } from '../core/savings';
import type { RecommendationRow, ReportSummary } from '../core/model';
import type { Prices, SessionSettings } from '../core/settings';
import { displayName, displayText, formatCount, formatMoney, formatMonthly, nameText, plural } from '../core/text';

export interface PanelCell {
  from: string | null;
  /** null: krr recommends unset; "?": unknown (never touched). */
  to: string | null;
  /** Relative change in percent; null when either side is unset or unknown. */
  percent: number | null;
  /** Both sides hold the same amount (compared by value: 1Gi and 1024Mi are the same). */
  same: boolean;
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
  /** The container name as shown (visible control characters, bounded); `container` stays the identity. */
  shownContainer: string;
  costText: string;
  /** Set when the container's name is invalid: Preview skips it (the reason). */
  invalid?: string;
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

/** A cell's quantity in base units; null when unset, unknown ("?") or not a quantity. */
export function quantityAmount(value: string | null): number | null {
  if (value === null || value === '?') return null;
  try {
    return parseQuantity(value);
  } catch {
    return null;
  }
}

export function panelCell(from: string | null, to: string | null): PanelCell {
  const before = quantityAmount(from);
  const after = quantityAmount(to);
  const percent = before !== null && after !== null && before > 0 ? Math.round(((after - before) / before) * 1000) / 10 : null;
  return { from, to, percent, same: from === to || (before !== null && after !== null && before === after) };
}

export function workloadKeyOf(row: { namespace: string; kind: string; name: string }): string {
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
    shownContainer: displayName(row.container, 100),
    costText: formatMoney(row.monthlyCostDelta),
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

// ── what the panel shows beyond the rows: names as shown, per-workload money, problems, policy, savings ────────

export interface PanelWorkload {
  key: string;
  namespace: string;
  kind: string;
  name: string;
  /** Names as a person must see them (core/text.displayName); the webview puts them in <bdi>. */
  shownNamespace: string;
  shownName: string;
  /** Its containers in the report (the rows of a streamed review may not all have arrived yet). */
  containers: number;
  cost: number | null;
  costText: string;
  /** Why the workload cannot be changed at all (an invalid name), or null. */
  invalid: string | null;
  /** Policy blocks a Preview would hit judging by the report: requests only, and with limits. */
  blocks: { requests: PredictedBlock[]; limits: PredictedBlock[] };
}

const shownBlockLength = 400;

function shownBlocks(blocks: PredictedBlock[]): PredictedBlock[] {
  return blocks.map((block) => ({ ...block, message: displayText(block.message, shownBlockLength) }));
}

/**
 * What the panel shows of one review beyond its rows, computed in pieces so the first page of rows can go out before
 * every workload is checked: the report-wide lines (summary, invalid names, savings) at once, which are cheap; the
 * per-workload checks (names as shown, money, policy blocks) for the workloads asked for, which for a fleet of 50,000
 * containers take about a second.
 */
export interface PanelReview {
  summaryText: string;
  /** Invalid names (all of them), as lines; the panel shows the first few, the output channel all. */
  problems: PlanSkip[];
  savings: Savings;
  /** The rows with their container's invalid-name reason, if any. */
  flag(rows: readonly PanelRow[]): PanelRow[];
  /** The workloads with these keys, in the order given (unknown keys are left out); every workload without keys. */
  workloads(keys?: Iterable<string>): PanelWorkload[];
  /** Every workload's key, in report order. */
  workloadKeys(): string[];
}

/** One report of a review: the whole review, or one cluster of a fleet (keys prefixed `<cluster>|`, as the rows are). */
interface ReviewPart {
  report: Report;
  prefix: string;
  /** In a fleet review the cluster, which each problem line names: the same workload name can exist in several. */
  cluster?: string;
}

/**
 * A workload's monthly Δ: its containers' estimates added up (null when none has one), from the report at the current
 * prices, as the savings chart is. From the report rather than the rows, so it is whole before every row has arrived.
 */
function workloadCost(workload: Workload, prices: Prices): number | null {
  let cost: number | null = null;
  for (const container of workload.containers) {
    const delta = monthlyCostOfRecommendation(container, workload.hpa, workload.kind, prices);
    if (delta !== null) cost = (cost ?? 0) + delta;
  }
  return cost === null ? null : Math.round(cost * 100) / 100;
}

/**
 * The report checks a review runs (core/reportCheck), passed in: the panel takes them from the engine bundle, loaded
 * by the time there is a report, so the extension's own bundle stays free of the plan builder's zod and yaml.
 */
export type ReportChecks = Pick<typeof ReportCheck, 'reportNameProblems' | 'predictPolicyBlocks'>;

function reviewOf(parts: readonly ReviewPart[], settings: Pick<SessionSettings, 'policy' | 'prices'>, summaryText: string, savings: Savings, checks: ReportChecks): PanelReview {
  const { reportNameProblems, predictPolicyBlocks } = checks;
  const problems: PlanSkip[] = [];
  const invalidContainers = new Map<string, string>();
  const invalidWorkloads = new Map<string, string>();
  for (const part of parts) {
    for (const problem of reportNameProblems(part.report)) {
      const key = `${part.prefix}${workloadKeyOf(problem)}`;
      if (problem.container === undefined) invalidWorkloads.set(key, problem.reason);
      else invalidContainers.set(`${key}\u0000${problem.container}`, problem.reason);
      problems.push(part.cluster === undefined ? problem : { ...problem, text: `${displayName(part.cluster, 100)}: ${problem.text}` });
    }
  }
  // Built on the first call that asks for some workloads: key -> workload.
  let byKey: Map<string, Workload> | null = null;
  const view = (key: string, workload: Workload): PanelWorkload => {
    const invalid = invalidWorkloads.get(key) ?? null;
    const cost = workloadCost(workload, settings.prices);
    return {
      key,
      namespace: workload.namespace,
      kind: workload.kind,
      name: workload.name,
      shownNamespace: displayName(workload.namespace, 300),
      shownName: displayName(workload.name, 300),
      containers: workload.containers.length,
      cost,
      costText: formatMoney(cost),
      invalid: invalid === null ? null : displayText(invalid, 300),
      blocks: invalid
        ? { requests: [], limits: [] }
        : { requests: shownBlocks(predictPolicyBlocks(workload, settings.policy, { includeLimits: false })), limits: shownBlocks(predictPolicyBlocks(workload, settings.policy, { includeLimits: true })) },
    };
  };
  return {
    summaryText,
    problems,
    savings,
    flag: (rows) =>
      rows.map((row) => {
        const reason = invalidContainers.get(`${row.workload}\u0000${row.container}`);
        return reason === undefined ? row : { ...row, invalid: displayText(reason, 300) };
      }),
    workloadKeys: () => parts.flatMap((part) => part.report.workloads.map((workload) => `${part.prefix}${workloadKeyOf(workload)}`)),
    workloads: (keys) => {
      if (keys === undefined) return parts.flatMap((part) => part.report.workloads.map((workload) => view(`${part.prefix}${workloadKeyOf(workload)}`, workload)));
      byKey ??= new Map(parts.flatMap((part) => part.report.workloads.map((workload) => [`${part.prefix}${workloadKeyOf(workload)}`, workload] as [string, Workload])));
      const found: PanelWorkload[] = [];
      for (const key of keys) {
        const workload = byKey.get(key);
        if (workload) found.push(view(key, workload));
      }
      return found;
    },
  };
}

/** The review of one report. */
export function reportReview(report: Report, summary: ReportSummary, settings: Pick<SessionSettings, 'policy' | 'prices'>, checks: ReportChecks): PanelReview {
  const source = displayName(summary.source, 200);
  const cluster = summary.cluster === null ? null : displayName(summary.cluster, 200);
  const summaryText = [
    source + (cluster && !source.includes(cluster) ? ` · ${cluster}` : ''),
    `strategy ${displayText(summary.strategy, 40)}`,
    `${plural(summary.workloads, 'workload')}, ${plural(summary.containers, 'container')}`,
    `monthly Δ if all applied ${formatMonthly(summary.monthlyCostDelta)}`,
    ...(summary.errors.length > 0 ? [plural(summary.errors.length, 'krr error')] : []),
  ].join(' · ');
  return reviewOf([{ report, prefix: '' }], settings, summaryText, savingsOf(report, settings.prices), checks);
}

/** One cluster of a fleet review: its context, report and summary. */
export interface FleetPart {
  cluster: string;
  report: Report;
  summary: ReportSummary;
}

/**
 * A fleet review: each cluster's report checked on its own (rows and workloads keyed `<cluster>|<namespace/kind/name>`,
 * as toPanelRow keys fleet rows), the savings grouped per cluster, and one summary line for the fleet.
 */
export function fleetReview(parts: readonly FleetPart[], settings: Pick<SessionSettings, 'policy' | 'prices'>, failed: readonly string[], checks: ReportChecks): PanelReview {
  // Per cluster, whatever each report's own clusters are: a fleet's clusters are its contexts.
  const savings = savingsOf({ workloads: parts.flatMap((part) => part.report.workloads.map((workload) => ({ ...workload, cluster: part.cluster }))), clusters: parts.map((part) => part.cluster) }, settings.prices);
  const sum = (of: (summary: ReportSummary) => number) => parts.reduce((total, part) => total + of(part.summary), 0);
  const strategies = [...new Set(parts.map((part) => displayText(part.summary.strategy, 40)))];
  const summaryText = [
    `fleet of ${plural(parts.length + failed.length, 'context')}`,
    ...(strategies.length > 0 ? [`strategy ${strategies.join(', ')}`] : []),
    `${plural(sum((summary) => summary.workloads), 'workload')}, ${plural(sum((summary) => summary.containers), 'container')}`,
    `monthly Δ if all applied ${formatMonthly(sum((summary) => summary.monthlyCostDelta))}`,
    ...(failed.length > 0 ? [`${plural(failed.length, 'context')} failed`] : []),
  ].join(' · ');
  return reviewOf(parts.map((part) => ({ report: part.report, prefix: `${part.cluster}|`, cluster: part.cluster })), settings, summaryText, savings, checks);
}

/**
 * The per-cluster lines of a fleet review, one per cluster (a fleet of twenty is read down a column, not along one
 * paragraph): rows, money and severities, then one line naming the contexts that failed.
 */
export function clustersText(clusters: ReadonlyArray<{ cluster: string | null; rows: number; monthlyCostDelta: number; bySeverity: Record<string, number> }>, failed: readonly string[]): string {
  const parts = clusters.map((cluster) => `${displayName(cluster.cluster ?? 'in-cluster', 100)}: ${plural(cluster.rows, 'container')}, monthly Δ ${formatMonthly(cluster.monthlyCostDelta)}, ${formatCount(cluster.bySeverity.CRITICAL ?? 0)} critical, ${formatCount(cluster.bySeverity.WARNING ?? 0)} warning`);
  if (failed.length > 0) parts.push(`failed: ${failed.map((line) => displayText(line, 200)).join(' · ')}`);
  return parts.join('\n');
}

/** "Selected: 2 workloads, 3 containers, monthly Δ −$12.30/month." — the one wording for the selection. */
export function selectionText(workloads: readonly PanelWorkload[], rows: readonly PanelRow[], selected: ReadonlySet<string>): string {
  if (selected.size === 0) return 'Nothing selected.';
  let containers = 0;
  let cost = 0;
  for (const row of rows) if (selected.has(row.workload)) containers += 1;
  for (const workload of workloads) if (selected.has(workload.key)) cost += workload.cost ?? 0;
  return `Selected: ${plural(selected.size, 'workload')}, ${plural(containers, 'container')}, monthly Δ ${formatMonthly(cost)}.`;
}

/** Problem and skip lines the panel shows before "…and N more (Output)": the rest go to the output channel. */
export const panelListLimit = 6;

/** The plan line: counts, risk and why, money, and what was left out, grouped and bounded (the full list is in Output). */
export function planView(plan: Plan) {
  const skips = planSkips(plan);
  const groups = groupSkips(skips);
  const objects = plan.objects.length;
  const riskReasons = plan.riskReasons.slice(0, 3).map((reason) => displayText(reason, 200));
  const parts = [
    `${plan.id}: ${plural(objects, 'object')}`,
    `risk ${plan.risk}${riskReasons.length > 0 ? ` (${riskReasons.join('; ')})` : ''}`,
    `monthly Δ ${formatMonthly(plan.totals.monthlyCostDelta)}`,
  ];
  return {
    id: plan.id,
    objects,
    // Only a plan with objects opens a diff: the line never claims one that is not there.
    text: `${parts.join(', ')}.${objects > 0 ? ' The diff is open.' : ' Nothing to change, so no diff is open.'}`,
    skipsTotal: skips.length,
    skipsHeading: skips.length > 0 ? `Not included: ${plural(skips.length, 'item')}${groups.length < skips.length ? ` in ${plural(groups.length, 'group')}` : ''}:` : '',
    skips: (groups.length < skips.length ? groups.map((group) => group.text) : skips.map((skip) => skip.text)).slice(0, panelListLimit),
    moreInOutput: Math.max(0, (groups.length < skips.length ? groups.length : skips.length) - panelListLimit),
  };
}

/** The chart's numbers, with their labels formatted here (one formatter, core/text). */
export function savingsView(savings: Savings) {
  return {
    by: savings.by,
    groups: savings.groups.map((group) => ({
      label: displayName(group.label, 60),
      cpu: group.cpu,
      memory: group.memory,
      cpuText: `CPU ${describeCpu(group.cpu.current)} → ${describeCpu(group.cpu.recommended)}`,
      memoryText: `memory ${describeMemory(group.memory.current)} → ${describeMemory(group.memory.recommended)}`,
      delta: group.monthlyCostDelta,
      deltaText: formatMonthly(group.monthlyCostDelta),
      workloadsText: plural(group.workloads, 'workload'),
    })),
  };
}

/** One workload of a manifest plan that is not written, whole: a refusal cut mid-sentence cannot be acted on. */
export function unresolvedLine(item: ManifestPlan['unresolved'][number]): string {
  return `${item.kind} ${nameText(`${item.namespace}/${item.name}`, 200)}: ${displayText([item.reason, ...item.candidates.slice(0, 10)].join('; '), 4000)}`;
}

/**
 * A manifest plan in the panel's plan line: the files, the workloads whose files already hold the values (not an
 * error), and every refusal (no source, several, a failed check), bounded in count and whole in text. The full list is
 * in Output (written by the preview).
 */
export function manifestPlanView(plan: ManifestPlan) {
  const files = plan.files.length;
  const unchanged = plan.unresolved.filter((item) => item.alreadyRecommended);
  const refused = plan.unresolved.filter((item) => !item.alreadyRecommended).map(unresolvedLine);
  const outcome =
    files > 0
      ? ' The diff is open.'
      : refused.length > 0
        ? ` No file to write, so no diff is open: KRR could not write ${plural(refused.length, 'workload')} (below).`
        : ' The files already hold the recommended values: nothing to write, so no diff is open.';
  return {
    id: plan.id,
    target: 'manifests',
    objects: files,
    // Only refusals make the line red; "already as recommended" is not a failure.
    failed: files === 0 && refused.length > 0,
    text: `${plan.id}: ${plural(files, 'file')} in the workspace (nothing is sent to the cluster).${outcome}${unchanged.length > 0 ? ` Already as recommended: ${unchanged.map((item) => nameText(`${item.namespace}/${item.name}`, 200)).slice(0, 5).join(', ')}${unchanged.length > 5 ? ` and ${unchanged.length - 5} more` : ''}.` : ''}`,
    skipsTotal: refused.length,
    skipsHeading: refused.length > 0 ? `Not written: ${plural(refused.length, 'workload')}:` : '',
    skips: refused.slice(0, panelListLimit),
    moreInOutput: Math.max(0, refused.length - panelListLimit),
    // Several sources could define these: each is offered ("Use this source"), and the pick proposes the plan again.
    // `id` goes back to the extension as it came (it checks it was listed); `label` is what the person reads.
    choices: plan.unresolved
      .filter((item) => (item.sources?.length ?? 0) > 0)
      .slice(0, panelListLimit)
      .map((item) => ({
        workload: { namespace: item.namespace, kind: item.kind, name: item.name },
        text: `${item.kind} ${nameText(`${item.namespace}/${item.name}`, 200)}`,
        sources: (item.sources ?? []).slice(0, 10).map((source) => ({ id: source.id, label: displayText(source.label, 600) })),
      })),
  };
}
