// krr_list_recommendations: one page of a report's rows, filtered and sorted, small enough for a model's context.
import { z } from 'zod';
import { evidenceKey } from '../../core/evidence/model';
import { describeEvidence } from '../../core/evidence/summary';
import { describeOwner } from '../../core/gitops/ownerName';
import type { QuantityView, RecommendationPage, RecommendationRow } from '../../core/model';
import { generatedId, namespaceName, severity, workloadKind } from '../arguments';
import { gitopsOwnerSchema } from '../gitopsOwnerSchema';
import { orNull } from '../portable';
import { formatMoney } from '../summary';
import { SessionError } from '../../core/session/session';
import { displayText } from '../../core/text';
import { defineTool, errorResult, okResult } from '../tool';

const quantity = orNull(z.string(), 'unset (current) or krr recommends unset (recommended)');
const quantityView = z.object({
  requests: z.object({ cpu: quantity, memory: quantity }),
  limits: z.object({ cpu: quantity, memory: quantity }),
});

export const krrListRecommendations = defineTool({
  name: 'krr_list_recommendations',
  title: 'List recommendations',
  description:
    'Lists one page of recommendations from a report (per container: current and recommended CPU/memory requests and limits, severity, estimated monthly cost change, krr notes). ' +
    'Filter by namespace, kind, name (substring or glob), minSeverity or minChangePercent; sort by savings (default), severity or name. ' +
    'Page through with page/pageSize instead of asking for everything. In "recommended", null means krr recommends unset and "?" means unknown (never changed). ' +
    'Each row says whether Argo CD or Flux reconciles the workload from Git (gitopsOwner, read from the live objects of the current context; null: neither; absent: unknown); such a workload is not patched in the cluster by default (change its manifests instead). ' +
    'Several clusters: pass a fleetId as reportId, or reportIds; every row carries its cluster, filter with cluster; totals per cluster and for the fleet (rows, counts by severity, monthly cost change) cover every matching row. ' +
    'A row carries evidence (one line of usage from Prometheus: CPU p95/max, throttling, memory peak and when, OOM kills, restarts, points) when it was already read for the report (krr_explain, the review panel); listing never queries Prometheus. ' +
    'Rows with patchable false (GroupedJob, Job, kinds without a template this extension patches) are listed for information only. ' +
    'Next: krr_propose_changes with the workloads the user wants to change.',
  inputSchema: {
    reportId: generatedId.optional().describe('the reportId from krr_scan or krr_load_report, or the fleetId of a krr_scan with contexts (every cluster of it)'),
    reportIds: z.array(generatedId).min(1).max(50).optional().describe('several reportIds listed as one (rows carry their cluster); instead of reportId'),
    cluster: z.string().min(1).max(253).optional().describe('only rows of this cluster (kube context name as in each row\'s cluster)'),
    namespace: namespaceName.optional(),
    kind: workloadKind.optional(),
    name: z.string().min(1).max(253).regex(/^[a-z0-9.*?-]+$/, 'must be a workload name, substring or glob (*, ?)').optional().describe('substring or glob of the workload name'),
    minSeverity: severity.optional(),
    minChangePercent: z.number().min(0).max(10000).optional().describe('only rows whose largest request change is at least this percent'),
    sort: z.enum(['savings', 'severity', 'name']).optional(),
    page: z.number().int().min(1).max(100000).optional().describe('1-based page number; default 1'),
    pageSize: z.number().int().min(1).max(50).optional().describe('rows per page, at most 50; default 20'),
  },
  outputSchema: {
    rows: z.array(
      z.object({
        cluster: orNull(z.string(), 'krr ran in-cluster (no kube context)'),
        namespace: z.string(),
        kind: z.string(),
        name: z.string(),
        container: z.string(),
        current: quantityView,
        recommended: quantityView,
        severity: z.string(),
        monthlyCostDelta: orNull(z.number(), 'not estimated (CronJob, Job, or no pod count)'),
        notes: z.array(z.string()),
        gitopsOwner: orNull(gitopsOwnerSchema, 'neither Argo CD nor Flux reconciles it').optional().describe('absent: not known yet'),
        patchable: z.boolean(),
        steps: z.array(z.object({ field: z.string(), from: z.string(), to: z.string(), recommended: z.string(), limit: z.string() })).optional(),
        evidence: z.string().optional().describe('usage read from Prometheus for this container (absent: not read yet; krr_explain reads it)'),
      }),
    ),
    gitopsOwnersUnknown: z.string().optional().describe('why the GitOps owner of some rows is unknown'),
    total: z.number(),
    page: z.number(),
    pageSize: z.number(),
    totals: z
      .object({
        fleet: z.object({ rows: z.number(), monthlyCostDelta: z.number(), bySeverity: z.record(z.string(), z.number()) }),
        clusters: z.array(z.object({ cluster: orNull(z.string(), 'krr ran in-cluster (no kube context)'), rows: z.number(), monthlyCostDelta: z.number(), bySeverity: z.record(z.string(), z.number()) })),
      })
      .optional(),
  },
  // Reads the live objects of the page's workloads (kubectl get) for their GitOps owner.
  annotations: { readOnlyHint: true, openWorldHint: true },
  async handler(args, extra, { session }) {
    try {
      const reportId = args.reportId ?? args.reportIds?.[0];
      if (reportId === undefined) return errorResult(new SessionError('invalid-argument', 'Give reportId (a report or fleet id) or reportIds.', 'Use the reportId or fleetId krr_scan returned.'));
      // Reports may have been stored by another process (a client that starts the server per call).
      for (const id of args.reportIds ?? (reportId.startsWith('fleet-') ? [] : [reportId])) await session.openReport(id);
      const query = { ...args, reportId, pageSize: args.pageSize ?? 20, page: args.page ?? 1 };
      let page = session.listRecommendations(query);
      // Owners of this page only (one list per kind and namespace, cached per report), within a few seconds; for one report of the current context.
      const unknown = page.rows.some((row) => row.gitopsOwner === undefined) && args.reportIds === undefined && !reportId.startsWith('fleet-')
        ? await session.readGitOpsOwners(reportId, page.rows, AbortSignal.any([extra.signal, AbortSignal.timeout(ownerReadBudgetMs)])).catch((error: unknown) => (error instanceof Error ? error.message : String(error)))
        : null;
      page = session.listRecommendations(query);
      // Evidence already kept with the report (memory or state directory): a listing never pays Prometheus queries.
      const ids = args.reportIds ?? (reportId.startsWith('fleet-') ? session.getFleet(reportId).reports.flatMap((entry) => (entry.reportId ? [entry.reportId] : [])) : [reportId]);
      const known = new Map<string, string>();
      for (const id of ids) for (const evidence of await session.cachedEvidence(id, page.rows).catch(() => [])) known.set(evidenceKey(evidence), describeEvidence(evidence));
      const rows = page.rows.map((row) => {
        const evidence = known.get(evidenceKey(row));
        return evidence === undefined ? compactRow(row) : { ...compactRow(row), evidence };
      });
      const structured = { rows, total: page.total, page: page.page, pageSize: page.pageSize, ...(page.totals ? { totals: page.totals } : {}), ...(unknown !== null ? { gitopsOwnersUnknown: unknown } : {}) };
      return okResult(describePage(structured), structured);
    } catch (error) {
      return errorResult(error);
    }
  },
});

const ownerReadBudgetMs = 10_000;
const maxNotes = 3;
const maxNoteLength = 120;

/** Notes are krr's free text: bounded so one page stays a few KB. */
function compactRow(row: RecommendationRow): RecommendationRow {
  // The steps are described from their structured form; their note would only repeat them.
  const notes = row.notes.filter((note) => !(row.steps && note.startsWith('partial step:'))).slice(0, maxNotes).map((note) => (note.length > maxNoteLength ? `${note.slice(0, maxNoteLength - 1)}…` : note));
  return { ...row, notes };
}

function pair(from: string | null, to: string | null): string {
  const before = from ?? 'unset';
  const after = to ?? 'unset';
  return before === after ? before : `${before}→${after}`;
}

function quantities(current: QuantityView, recommended: QuantityView): string {
  return [
    `cpu ${pair(current.requests.cpu, recommended.requests.cpu)}`,
    `mem ${pair(current.requests.memory, recommended.requests.memory)}`,
    `lim cpu ${pair(current.limits.cpu, recommended.limits.cpu)}`,
    `lim mem ${pair(current.limits.memory, recommended.limits.memory)}`,
  ].join(' | ');
}

function ownerText(row: RecommendationRow): string {
  if (row.gitopsOwner === undefined) return ' | GitOps owner unknown';
  if (row.gitopsOwner === null) return '';
  return ` | ${row.gitopsOwner.confidence === 'hint' ? 'maybe ' : ''}reconciled from Git by ${describeOwner(row.gitopsOwner)}`;
}

function describePage(page: { rows: Array<RecommendationRow & { evidence?: string }>; total: number; page: number; pageSize: number; totals?: RecommendationPage['totals']; gitopsOwnersUnknown?: string }): string {
  const pages = Math.max(1, Math.ceil(page.total / page.pageSize));
  const header = `${page.total} rows, page ${page.page}/${pages} (requests current→recommended, then limits):`;
  const totals = page.totals
    ? [
        `Fleet: ${page.totals.fleet.rows} rows, ${formatMoney(page.totals.fleet.monthlyCostDelta)}, ${severities(page.totals.fleet.bySeverity)}.`,
        ...page.totals.clusters.map((cluster) => `Cluster ${displayText(cluster.cluster ?? '(in-cluster)', 120)}: ${cluster.rows} rows, ${formatMoney(cluster.monthlyCostDelta)}, ${severities(cluster.bySeverity)}.`),
      ]
    : [];
  if (page.rows.length === 0) return [...totals, header, '(no rows match these filters)'].join('\n');
  const lines = page.rows.map(
    (row) =>
      `${page.totals ? `[${displayText(row.cluster ?? '(in-cluster)', 120)}] ` : ''}${row.patchable ? '' : '(not patchable) '}${row.namespace}/${row.kind}/${row.name} [${row.container}] ${row.severity} ${formatMoney(row.monthlyCostDelta)} | ${quantities(row.current, row.recommended)}` +
      (row.steps ? ` | PARTIAL STEP (krr.policy.onLimit step): ${row.steps.map((step) => `${step.field} ${step.from}→${step.to}, limit ${step.limit}, full recommendation ${step.recommended}`).join('; ')}` : '') +
      (row.notes.length > 0 ? ` | ${row.notes.join('; ')}` : '') +
      ownerText(row) +
      (row.evidence ? ` | usage ${row.evidence}` : ''),
  );
  if (page.gitopsOwnersUnknown) lines.push(`GitOps owners unknown for some rows: ${page.gitopsOwnersUnknown}.`);
  const next = page.page < pages ? `More: page ${page.page + 1}.` : 'Last page.';
  return [...totals, header, ...lines, `${next} To change workloads: krr_propose_changes with their namespace, kind and name${page.totals ? ' and the reportId of their cluster\'s report' : ''}.`].join('\n');
}

function severities(bySeverity: Record<string, number>): string {
  return Object.entries(bySeverity).filter(([, count]) => count > 0).map(([name, count]) => `${name} ${count}`).join(', ') || 'no rows';
}
