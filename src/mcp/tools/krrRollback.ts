// krr_rollback: restores objects from a snapshot, through the same approval and apply path as any plan.
import { z } from 'zod';
import { generatedId, workloadRef } from '../arguments';
import { applyOutcomeOutput, keepAlive, outcomeResult } from '../outcome';
import { defineTool, errorResult } from '../tool';

export const krrRollback = defineTool({
  name: 'krr_rollback',
  title: 'Roll back to a snapshot (needs a person’s approval)',
  description:
    'Restores the resource values a previous apply replaced, from its snapshot (ids from krr_list_snapshots or from krr_apply_plan). ' +
    'Builds a rollback plan, shows its diff, and asks a person to approve it in a dialog you cannot answer; then writes it. ' +
    'Optionally only some objects of the snapshot. If an object changed since the snapshot, the rollback is refused as stale. ' +
    'Returns the same status shape as krr_apply_plan. Only call it when the user asked to undo.',
  inputSchema: {
    snapshotId: generatedId.describe('the snapshot id from krr_list_snapshots or krr_apply_plan'),
    objects: z.array(workloadRef).min(1).max(200).optional().describe('only these objects of the snapshot; default: all'),
  },
  outputSchema: applyOutcomeOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  async handler(args, extra, { session, requester }) {
    const stop = keepAlive(extra, 'waiting for a person to approve the rollback');
    try {
      const options = { signal: extra.signal, ...(args.objects ? { objects: args.objects } : {}) };
      return outcomeResult(await session.rollback(args.snapshotId, requester(), options));
    } catch (error) {
      return errorResult(error);
    } finally {
      stop();
    }
  },
});
