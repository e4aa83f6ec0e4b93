// Rolling back: the plan from rollbackPlan.ts, approved and applied like any other plan (apply.ts); snapshots listed.
import type { Plan } from '../plan/model';
import { describeConflict } from '../plan/rollback';
import type { ApplyOutcome, Requester } from '../model';
import { plural } from '../text';
import { apply } from './apply';
import { actorOf, messageOf, type SessionContext, SessionError, truncate } from './context';
import { proposeRollback, type RollbackOptions } from './rollbackPlan';

export async function rollback(ctx: SessionContext, snapshotId: string, requester: Requester, options: RollbackOptions & { signal?: AbortSignal } = {}): Promise<ApplyOutcome> {
  const plan = await proposeRollbackAudited(ctx, snapshotId, requester, options);
  return applyRollback(ctx, plan, requester, options.signal);
}

/** proposeRollback for a write request: a refused rollback is a denied write request, audited like a refused apply. */
export async function proposeRollbackAudited(ctx: SessionContext, snapshotId: string, requester: Requester, options: RollbackOptions = {}): Promise<Plan> {
  try {
    return await proposeRollback(ctx, snapshotId, requester, options);
  } catch (error) {
    await ctx.audit({ action: 'refuse', actor: actorOf(requester), outcome: error instanceof SessionError ? error.code : 'failed', detail: { snapshotId: truncate(snapshotId), message: messageOf(error) } });
    throw error;
  }
}

/** Asks approval for and applies a rollback plan from proposeRollback, saying which changed values it leaves alone. */
export async function applyRollback(ctx: SessionContext, plan: Plan, requester: Requester, signal?: AbortSignal): Promise<ApplyOutcome> {
  const snapshotId = plan.sourceSnapshotId ?? '';
  const conflicts = plan.conflicts ?? [];
  const excluded = conflicts.filter((conflict) => !conflict.included);
  const conflictNote =
    excluded.length === 0 ? ''
    : ` ${plural(excluded.length, 'field')} changed since the apply ${excluded.length === 1 ? 'was' : 'were'} left as ${excluded.length === 1 ? 'it is' : 'they are'}: ${excluded.slice(0, 5).map(describeConflict).join('; ')}${excluded.length > 5 ? '; …' : ''}. To restore them too (overwriting those changes), roll back again with includeConflicts — only if the person asks for it.`;
  if (plan.objects.length === 0 && excluded.length > 0) {
    const message = `Nothing was rolled back: every field this apply wrote was changed since.${conflictNote}`;
    await ctx.audit({ action: 'refuse', actor: actorOf(requester), context: plan.context, planId: plan.id, digest: plan.digest, outcome: 'conflict', detail: { snapshotId, message } });
    return { status: 'refused', planId: plan.id, objects: [], verified: false, rollouts: [], conflicts, message };
  }
  const outcome = await apply(ctx, plan.id, requester, signal);
  return { ...outcome, ...(conflicts.length > 0 ? { conflicts } : {}), message: `${outcome.message}${conflictNote}` };
}

export async function listSnapshots(ctx: SessionContext): Promise<Array<{ id: string; createdAt: string; context: string; planId: string; kind: string; objects: number }>> {
  return ctx.snapshots.list();
}
