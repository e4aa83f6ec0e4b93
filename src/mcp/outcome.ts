// How krr_apply_plan and krr_rollback report an ApplyOutcome: one sentence per status on what happened and what next.
import { z } from 'zod';
import { describeConflict } from '../core/plan/rollback';
import type { ApplyOutcome, ApplyStatus } from '../core/model';
import { orNull } from './portable';
import { notOkResult, okResult, type ToolExtra } from './tool';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export const applyOutcomeOutput = {
  status: z.enum(['applied', 'declined', 'expired', 'stale', 'used', 'unknown', 'failed', 'restored', 'refused']),
  planId: z.string(),
  snapshotId: z.string().optional(),
  objects: z.array(
    z.object({
      namespace: z.string(),
      kind: z.string(),
      name: z.string(),
      result: z.enum(['written', 'not-written', 'failed', 'restored', 'restore-failed', 'unchanged']),
      message: z.string().optional(),
      resourceVersion: z.string().optional(),
    }),
  ),
  verified: z.boolean(),
  rollouts: z.array(z.object({ namespace: z.string(), kind: z.string(), name: z.string(), healthy: z.boolean(), message: z.string() })),
  rollbackPlanId: z.string().optional(),
  conflicts: z
    .array(
      z.object({
        namespace: z.string(),
        kind: z.string(),
        name: z.string(),
        container: z.string(),
        allocation: z.string(),
        resource: z.string(),
        wrote: orNull(z.string(), 'the apply removed the field').optional(),
        live: orNull(z.string(), 'unset now'),
        restore: orNull(z.string(), 'rolling back removes the field'),
        included: z.boolean(),
      }),
    )
    .optional(),
  files: z.array(z.object({ folder: z.string(), path: z.string(), result: z.string(), message: z.string().optional() })).optional(),
  trialId: z.string().optional().describe('a trial plan was applied: the trial that started (krr_trial_status, krr_revert_trial)'),
  message: z.string(),
};

const nextByStatus: Record<ApplyStatus, string> = {
  applied: 'Done. To undo a cluster apply later: krr_rollback with the snapshotId (a manifest write is undone in Git or the editor).',
  declined: 'The person declined. Nothing was written. Do not retry on your own; ask the user what to change.',
  expired: 'The plan expired before approval, or its approval aged past the plan lifetime before the first stage. Nothing was written. Call krr_propose_changes again if the user still wants it.',
  stale: 'A target object (or manifest file) changed since the proposal. Nothing was written. Call krr_propose_changes again to get a fresh diff.',
  used: 'This plan was already used (plans are single-use). Nothing was written by this call. Propose again for a new change.',
  unknown: 'There is no such plan (ids come from krr_propose_changes). Nothing was written.',
  failed: 'The write failed; see the per-object results. Tell the user; check krr_status and the audit log (krr_audit_log).',
  restored: 'A write (or the extension\'s storage) failed, so the objects already written were restored to their previous values (part of the approved operation). Tell the user the error.',
  refused: 'Refused before anything was written; the message says why. Tell the user instead of retrying.',
};

/** isError is true for every status but `applied`: the model must not report success for any of them. */
export function outcomeResult(outcome: ApplyOutcome): CallToolResult {
  const lines = [`${outcome.status.toUpperCase()}: ${outcome.message}`];
  if (outcome.snapshotId) lines.push(`snapshotId: ${outcome.snapshotId}`);
  for (const object of outcome.objects.slice(0, 30)) {
    lines.push(`- ${object.namespace}/${object.kind}/${object.name}: ${object.result}${object.message ? ` (${object.message})` : ''}`);
  }
  if (outcome.objects.length > 30) lines.push(`- … and ${outcome.objects.length - 30} more (see structured content)`);
  for (const file of (outcome.files ?? []).slice(0, 30)) lines.push(`- ${file.folder}/${file.path}: ${file.result}${file.message ? ` (${file.message})` : ''}`);
  for (const rollout of outcome.rollouts.filter((entry) => !entry.healthy)) {
    lines.push(`rollout unhealthy: ${rollout.namespace}/${rollout.kind}/${rollout.name}: ${rollout.message}`);
  }
  for (const conflict of (outcome.conflicts ?? []).slice(0, 30)) lines.push(`conflict (${conflict.included ? 'restored on request' : 'left as it is'}): ${describeConflict(conflict)}`);
  if (outcome.rollbackPlanId) lines.push(`A rollback plan is ready: ${outcome.rollbackPlanId} (krr_apply_plan with it needs its own approval).`);
  // A started trial is watched and reverted, not rolled back from a snapshot.
  lines.push(outcome.status === 'applied' && outcome.trialId ? `trialId: ${outcome.trialId}\nThe trial runs: krr_trial_status with this trialId shows how its pods do; it is reverted at the end of its window (or at once on a failed signal); krr_revert_trial ends it early; a trial that passed offers krr_persist_trial.` : nextByStatus[outcome.status]);
  const text = lines.join('\n');
  return outcome.status === 'applied' ? okResult(text, outcome) : notOkResult(text, outcome);
}

/**
 * While a person decides, tells a client that asked for progress that the call is alive, so clients that
 * reset their timeout on progress keep waiting (the session bounds the wait itself).
 */
export function keepAlive(extra: ToolExtra, message: string, intervalMs = 10_000): () => void {
  const progressToken = extra._meta?.progressToken;
  if (progressToken === undefined) return () => undefined;
  let progress = 0;
  const timer = setInterval(() => {
    progress += 1;
    extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress, message } }).catch(() => {
      // The client went away; the session sees extra.signal.
    });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
