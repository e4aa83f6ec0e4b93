// krr_list_recommendations: one page of a report's rows, filtered and sorted, small enough for a model's context.
import { z } from 'zod';
import { describeOwner } from '../../core/gitops/owner';
import type { QuantityView, RecommendationRow } from '../../core/session/model';
import { generatedId, namespaceName, severity, workloadKind } from '../arguments';
import { formatMoney } from '../summary';
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
    'Each row says whether Argo CD or Flux reconciles the workload from Git (gitopsOwner, read from the live objects of the current context; null: neither; absent: unknown); such a workload is not patched in the cluster by default (change its manifests instead). ' +
    'Next: krr_propose_changes with the workloads the user wants to change.',
  inputSchema: {
    reportId: generatedId.describe('the reportId from krr_scan or krr_load_report'),
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
        namespace: z.string(),
        kind: z.string(),
        name: z.string(),
        container: z.string(),
        current: quantityView,
        recommended: quantityView,
        severity: z.string(),
        monthlyCostDelta: z.number().nullable(),
        notes: z.array(z.string()),
        gitopsOwner: z
          .looseObject({ tool: z.enum(['argocd', 'flux-kustomize', 'flux-helm']), name: z.string().nullable(), namespace: z.string().optional(), evidence: z.array(z.string()), confidence: z.enum(['certain', 'hint']) })
          .nullable()
          .optional(),
      }),
    ),
    gitopsOwnersUnknown: z.string().optional().describe('why the GitOps owner of some rows is unknown'),
    total: z.number(),
    page: z.number(),
    pageSize: z.number(),
  },
  // Reads the live objects of the page's workloads (kubectl get) for their GitOps owner.
  annotations: { readOnlyHint: true, openWorldHint: true },
  async handler(args, extra, { session }) {
    try {
      const query = { ...args, pageSize: args.pageSize ?? 20, page: args.page ?? 1 };
      let page = session.listRecommendations(query);
      // Owners of this page only (one list per kind and namespace, cached per report), within a few seconds.
      const unknown = page.rows.some((row) => row.gitopsOwner === undefined)
        ? await session.readGitOpsOwners(args.reportId, page.rows, AbortSignal.any([extra.signal, AbortSignal.timeout(ownerReadBudgetMs)])).catch((error: unknown) => (error instanceof Error ? error.message : String(error)))
        : null;
      page = session.listRecommendations(query);
      const rows = page.rows.map(compactRow);
      const structured = { rows, total: page.total, page: page.page, pageSize: page.pageSize, ...(unknown !== null ? { gitopsOwnersUnknown: unknown } : {}) };
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
  const notes = row.notes.slice(0, maxNotes).map((note) => (note.length > maxNoteLength ? `${note.slice(0, maxNoteLength - 1)}…` : note));
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

function describePage(page: { rows: RecommendationRow[]; total: number; page: number; pageSize: number; gitopsOwnersUnknown?: string }): string {
  const pages = Math.max(1, Math.ceil(page.total / page.pageSize));
  const header = `${page.total} rows, page ${page.page}/${pages} (requests current→recommended, then limits):`;
  if (page.rows.length === 0) return `${header}\n(no rows match these filters)`;
  const lines = page.rows.map(
    (row) =>
      `${row.namespace}/${row.kind}/${row.name} [${row.container}] ${row.severity} ${formatMoney(row.monthlyCostDelta)} | ${quantities(row.current, row.recommended)}` +
      (row.notes.length > 0 ? ` | ${row.notes.join('; ')}` : '') +
      ownerText(row),
  );
  if (page.gitopsOwnersUnknown) lines.push(`GitOps owners unknown for some rows: ${page.gitopsOwnersUnknown}.`);
  const next = page.page < pages ? `More: page ${page.page + 1}.` : 'Last page.';
  return [header, ...lines, `${next} To change workloads: krr_propose_changes with their namespace, kind and name.`].join('\n');
}
