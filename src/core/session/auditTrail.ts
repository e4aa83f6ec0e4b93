// The audit log as the session shows it: pages of entries with the chain's verification, refused tool calls,
// verification and export.
import { AuditLog, boundedArguments, type AuditEntry, type AuditAction } from '../audit';
import type { Requester } from '../model';
import { actorOf, type SessionContext, truncate } from './context';

/**
 * Why a call was refused before it reached a use case: its input schema, an unknown tool, a 2026-07-28 request
 * state that failed verification (forged, replayed, expired, for another call), a client capability it lacks.
 */
export type RefusedCallOutcome = 'invalid-arguments' | 'unknown-tool' | 'invalid-request-state' | 'missing-capability';

export async function auditLog(ctx: SessionContext, query: { page?: number; pageSize?: number; since?: string; until?: string; actions?: string[]; outcome?: string } = {}): Promise<{ entries: AuditEntry[]; total: number; chainValid: boolean; firstBrokenLine?: number; chainProblem?: string; legacyEntries: number }> {
  const log = await ctx.openAudit();
  const pageSize = Math.min(Math.max(query.pageSize ?? 20, 1), 200);
  const page = Math.max(query.page ?? 1, 1);
  const [read, verification] = await Promise.all([
    log.read({
      newestFirst: true,
      offset: (page - 1) * pageSize,
      limit: pageSize,
      ...(query.since ? { since: query.since } : {}),
      ...(query.until ? { until: query.until } : {}),
      ...(query.actions ? { actions: query.actions as AuditAction[] } : {}),
      ...(query.outcome ? { outcome: query.outcome } : {}),
    }),
    log.verify(),
  ]);
  return {
    entries: read.entries,
    total: read.total,
    chainValid: verification.valid,
    legacyEntries: verification.legacyEntries,
    ...(verification.firstBrokenLine !== undefined ? { firstBrokenLine: verification.firstBrokenLine } : {}),
    ...(verification.reason !== undefined ? { chainProblem: verification.reason } : {}),
  };
}

/**
 * A tool call its input schema refused (an extra `approved: true`, a malformed id): it never reached a use
 * case, but it is an attempt and goes in the log, with its arguments redacted and bounded.
 */
export async function auditRefusedCall(ctx: SessionContext, tool: string, args: unknown, requester: Requester, problem: string, outcome: RefusedCallOutcome = 'invalid-arguments'): Promise<void> {
  await ctx.audit({
    action: 'refuse',
    actor: actorOf(requester),
    outcome,
    detail: { tool: truncate(tool), arguments: boundedArguments(args), problem: truncate(problem, 500) },
  });
}

export async function verifyAudit(ctx: SessionContext): ReturnType<AuditLog['verify']> {
  return (await ctx.openAudit()).verify();
}

export async function exportAudit(ctx: SessionContext, format: 'jsonl' | 'csv'): Promise<string> {
  return (await ctx.openAudit()).export(format);
}
