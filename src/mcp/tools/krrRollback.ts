// krr_rollback: restores objects from a snapshot, through the same approval and apply path as any plan.
import { z } from 'zod';
import { generatedId, workloadRef } from '../arguments';
import { approvalRound } from '../approvalRound';
import { applyOutcomeOutput, keepAlive, outcomeResult } from '../outcome';
import { defineTool, errorResult, ProtocolRefusal } from '../tool';

export const krrRollback = defineTool({
  name: 'krr_rollback',
  title: 'Roll back to a snapshot (needs a person’s approval)',
  description:
    'Undoes a previous apply from its snapshot (ids from krr_list_snapshots or from krr_apply_plan): restores only the objects that apply wrote, ' +
    'and in them only the resource values it wrote. A value someone changed since the apply is a conflict: it is left as it is and listed in the result ' +
    '(`conflicts`); pass includeConflicts: true only when the user asks to overwrite those changes too. ' +
    'Builds a rollback plan, shows its diff, and asks a person to approve it in a dialog you cannot answer; then writes it. ' +
    'Optionally only some objects of the snapshot. If an object changes between this plan and the write, nothing is written (stale). ' +
    'Returns the same status shape as krr_apply_plan (and, on the 2026-07-28 protocol outside VS Code, the same input_required approval round). Only call it when the user asked to undo.',
  inputSchema: {
    snapshotId: generatedId.describe('the snapshot id from krr_list_snapshots or krr_apply_plan'),
    objects: z.array(workloadRef).min(1).max(200).optional().describe('only these objects of the snapshot; default: every object the apply wrote'),
    includeConflicts: z.boolean().optional().describe('also restore values someone changed since the apply, overwriting their change (default false; only when the user asked)'),
  },
  outputSchema: applyOutcomeOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  async handler(args, extra, deps) {
    const { session, requester } = deps;
    const stop = keepAlive(extra, 'waiting for a person to approve the rollback');
    try {
      const options = { signal: extra.signal, ...(args.objects ? { objects: args.objects } : {}), ...(args.includeConflicts ? { includeConflicts: true } : {}) };
      const round = deps.round;
      if (round) {
        return await approvalRound({
          tool: 'krr_rollback',
          args,
          deps: { ...deps, round },
          // The rollback plan is built (and shown, and audited as proposed) in the first round; the retry applies that plan.
          prepare: async () => {
            const plan = await session.proposeRollbackAudited(args.snapshotId, requester(), options);
            return plan.objects.length > 0 && (await session.wouldAskApproval(plan.id, requester())) ? { plan } : { outcome: await session.applyRollback(plan, requester(), extra.signal) };
          },
          // The state names the plan it was minted for, and this tool only mints for rollback plans (cluster plans).
          run: async (plan) => {
            if ('target' in plan) throw new Error('A rollback applies a cluster plan; this request state names a manifest plan.');
            return session.applyRollback(plan, requester(), extra.signal);
          },
        });
      }
      return outcomeResult(await session.rollback(args.snapshotId, requester(), options));
    } catch (error) {
      // A refusal the protocol defines (-32021: no form elicitation declared) is a JSON-RPC error, not a tool result.
      if (error instanceof ProtocolRefusal) throw error;
      return errorResult(error);
    } finally {
      stop();
    }
  },
});
