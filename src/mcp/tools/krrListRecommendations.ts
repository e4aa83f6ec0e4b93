// krr_list_recommendations: one page of a report's rows, filtered and sorted, small enough for a model's context.
import { z } from 'zod';
import type { QuantityView, RecommendationPage, RecommendationRow } from '../../core/session/model';
import { generatedId, namespaceName, severity, workloadKind } from '../arguments';
import { formatMoney } from '../summary';
import { SessionError } from '../../core/session/session';
import { displayText } from '../../core/text';
import { defineTool, errorResult, okResult } from '../tool';

const quantityView = z.object({
  requests: z.object({ cpu: z.string().nullable(), memory: z.string().nullable() }),
  limits: z.object({ cpu: z.string().nullable(), memory: z.string().nullable() }),
});

export const krrListRecommendations = defineTool({
  name: 'krr_list_recommendations',
  title: 'List recommendations',
  description:
    'Lists one page of recommendations from a report (per container: current and recommended CPU/memory requests and limits, severity, estimated monthly cost change, krr notes). ' +
    'Filter by namespace, kind, name (substring or glob), minSeverity or minChangePercent; sort by savings (default), severity or name. ' +
    'Page through with page/pageSize instead of asking for everything. In "recommended", null means krr recommends unset and "?" means unknown (never changed). ' +
    'Several clusters: pass a fleetId as reportId, or reportIds; every row carries its cluster, filter with cluster; totals per cluster and for the fleet (rows, counts by severity, monthly cost change) cover every matching row. ' +
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
      z.looseObject({
        cluster: z.string().nullable(),
        namespace: z.string(),
        kind: z.string(),
        name: z.string(),
        container: z.string(),
        current: quantityView,
        recommended: quantityView,
        severity: z.string(),
        monthlyCostDelta: z.number().nullable(),
        notes: z.array(z.string()),
        patchable: z.boolean(),
        steps: z.array(z.object({ field: z.string(), from: z.string(), to: z.string(), recommended: z.string(), limit: z.string() })).optional(),
      }),
    ),
    total: z.number(),
    page: z.number(),
    pageSize: z.number(),
    totals: z
      .object({
        fleet: z.looseObject({ rows: z.number(), monthlyCostDelta: z.number(), bySeverity: z.record(z.string(), z.number()) }),
        clusters: z.array(z.looseObject({ cluster: z.string().nullable(), rows: z.number(), monthlyCostDelta: z.number(), bySeverity: z.record(z.string(), z.number()) })),
      })
      .optional(),
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
  async handler(args, _extra, { session }) {
    try {
      const reportId = args.reportId ?? args.reportIds?.[0];
      if (reportId === undefined) return errorResult(new SessionError('invalid-argument', 'Give reportId (a report or fleet id) or reportIds.', 'Use the reportId or fleetId krr_scan returned.'));
      const page = session.listRecommendations({ ...args, reportId, pageSize: args.pageSize ?? 20, page: args.page ?? 1 });
      const rows = page.rows.map(compactRow);
      const structured = { rows, total: page.total, page: page.page, pageSize: page.pageSize, ...(page.totals ? { totals: page.totals } : {}) };
      return okResult(describePage(structured), structured);
    } catch (error) {
      return errorResult(error);
    }
  },
});

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

function describePage(page: { rows: RecommendationRow[]; total: number; page: number; pageSize: number; totals?: RecommendationPage['totals'] }): string {
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
      (row.notes.length > 0 ? ` | ${row.notes.join('; ')}` : ''),
  );
  const next = page.page < pages ? `More: page ${page.page + 1}.` : 'Last page.';
  return [...totals, header, ...lines, `${next} To change workloads: krr_propose_changes with their namespace, kind and name${page.totals ? ' and the reportId of their cluster\'s report' : ''}.`].join('\n');
}

function severities(bySeverity: Record<string, number>): string {
  return Object.entries(bySeverity).filter(([, count]) => count > 0).map(([name, count]) => `${name} ${count}`).join(', ') || 'no rows';
}
