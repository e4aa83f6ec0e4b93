// krr_audit_log: the tamper-evident record of proposals, approvals, writes and rollbacks, one page at a time.
import { z } from 'zod';
import { auditActions, type AuditEntry } from '../../core/audit';
import { isoTime } from '../arguments';
import { defineTool, errorResult, okResult } from '../tool';

const pageSize = 20;

export const krrAuditLog = defineTool({
  name: 'krr_audit_log',
  title: 'Audit log',
  description:
    'Reads the audit log: every scan, proposal, approval, decline, write, failure and rollback, with who asked (a person or which AI client), newest first, 20 per page. ' +
    'Filter by time (ISO 8601 since/until), action or outcome. chainValid says whether the keyed hash chain is intact and ends where its head says (false = the file was edited, cut short or damaged, chainProblem says how: tell the user). ' +
    'Use it to answer "what changed and who approved it".',
  inputSchema: {
    page: z.number().int().min(1).max(100000).optional().describe('1-based page; default 1'),
    since: isoTime.optional().describe('inclusive ISO 8601 time'),
    until: isoTime.optional().describe('exclusive ISO 8601 time'),
    action: z.enum(auditActions).optional(),
    outcome: z.string().min(1).max(40).regex(/^[a-z-]+$/, 'must be an outcome word such as ok, declined, stale, failed').optional(),
  },
  outputSchema: {
    entries: z.array(
      z.object({
        seq: z.number(),
        time: z.string(),
        action: z.string(),
        outcome: z.string(),
        actor: z.object({ type: z.string(), via: z.string() }),
        context: z.string().optional(),
        planId: z.string().optional(),
        digest: z.string().optional(),
        snapshotId: z.string().optional(),
        objects: z.array(z.object({ namespace: z.string(), kind: z.string(), name: z.string() })).optional(),
      }),
    ),
    total: z.number(),
    page: z.number(),
    pageSize: z.number(),
    chainValid: z.boolean(),
    firstBrokenLine: z.number().optional(),
    chainProblem: z.string().optional(),
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
  async handler(args, _extra, { session }) {
    try {
      const page = args.page ?? 1;
      const result = await session.auditLog({
        page,
        pageSize,
        ...(args.since ? { since: args.since } : {}),
        ...(args.until ? { until: args.until } : {}),
        ...(args.action ? { actions: [args.action] } : {}),
        ...(args.outcome ? { outcome: args.outcome } : {}),
      });
      const entries = result.entries.map(entryView);
      const structured = {
        entries,
        total: result.total,
        page,
        pageSize,
        chainValid: result.chainValid,
        ...(result.firstBrokenLine === undefined ? {} : { firstBrokenLine: result.firstBrokenLine }),
        ...(result.chainProblem === undefined ? {} : { chainProblem: result.chainProblem }),
      };
      const lines = entries.map(
        (entry) =>
          `#${entry.seq} ${entry.time} ${entry.action} ${entry.outcome} by ${entry.actor.type} (${entry.actor.via})${entry.context ? ` ctx ${entry.context}` : ''}${entry.planId ? ` plan ${entry.planId}` : ''}${entry.snapshotId ? ` snapshot ${entry.snapshotId}` : ''}${entry.objects ? ` ${entry.objects.length} objects` : ''}`,
      );
      const chain = result.chainValid
        ? 'hash chain intact'
        : `HASH CHAIN BROKEN${result.firstBrokenLine ? ` at line ${result.firstBrokenLine}` : ''}${result.chainProblem ? ` (${result.chainProblem})` : ''}: the log was edited, cut short or damaged — tell the user`;
      return okResult([`${result.total} entries, page ${page}; ${chain}.`, ...lines].join('\n'), structured);
    } catch (error) {
      return errorResult(error);
    }
  },
});

/** Hashes and free-form detail stay in the file; the model gets what answers "who did what, when". */
function entryView(entry: AuditEntry) {
  return {
    seq: entry.seq,
    time: entry.time,
    action: entry.action,
    outcome: entry.outcome,
    actor: entry.actor,
    ...(entry.context ? { context: entry.context } : {}),
    ...(entry.planId ? { planId: entry.planId } : {}),
    ...(entry.digest ? { digest: entry.digest } : {}),
    ...(entry.snapshotId ? { snapshotId: entry.snapshotId } : {}),
    ...(entry.objects ? { objects: entry.objects.map(({ namespace, kind, name }) => ({ namespace, kind, name })) } : {}),
  };
}
