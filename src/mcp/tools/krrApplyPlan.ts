// krr_apply_plan: asks a person to approve a stored plan and writes it. The only input is the plan id.
import { generatedId } from '../arguments';
import { approvalRound } from '../approvalRound';
import { applyOutcomeOutput, keepAlive, outcomeResult } from '../outcome';
import { defineTool, errorResult, ProtocolRefusal } from '../tool';

export const krrApplyPlan = defineTool({
  name: 'krr_apply_plan',
  title: 'Apply a proposed plan (needs a person’s approval)',
  description:
    'Applies a plan from krr_propose_changes to the cluster, after a person approves that exact plan in a dialog you cannot see or answer. ' +
    'Takes only the planId: the plan is executed as stored; nothing you send can change it or approve it. The call waits for the decision. ' +
    'Returns status: applied (with snapshotId for krr_rollback), declined, expired, stale (propose again), used, unknown, failed, restored or refused, with a message. ' +
    'In VS Code the person first sees a notice and opens the dialog when they choose. ' +
    'On the 2026-07-28 protocol outside VS Code the first call answers input_required with the approval form; your client shows it and calls again with the answer and the requestState. ' +
    'Only call it when the user asked to apply. Never retry a declined plan on your own: after a decline, apply requests for that context are refused for a while (krr.declineCooldownSeconds).',
  inputSchema: {
    planId: generatedId.describe('the planId returned by krr_propose_changes'),
  },
  outputSchema: applyOutcomeOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  async handler(args, extra, deps) {
    const { session, requester } = deps;
    const stop = keepAlive(extra, 'waiting for a person to approve the plan');
    try {
      const round = deps.round;
      if (round) {
        return await approvalRound({
          tool: 'krr_apply_plan',
          args,
          deps: { ...deps, round },
          // What apply would refuse without asking (unknown or used plan, cool-down, ...) is refused and audited now: no form is shown.
          prepare: async () => {
            // In memory, or stored by another process (a per-call client proposed in an earlier process).
            const plan = await session.openAnyPlan(args.planId);
            return plan && (await session.wouldAskApproval(args.planId, requester())) ? { plan } : { outcome: await session.apply(args.planId, requester(), extra.signal) };
          },
          run: (plan) => session.apply(plan.id, requester(), extra.signal),
        });
      }
      return outcomeResult(await session.apply(args.planId, requester(), extra.signal));
    } catch (error) {
      // A refusal the protocol defines (-32021: no form elicitation declared) is a JSON-RPC error, not a tool result.
      if (error instanceof ProtocolRefusal) throw error;
      return errorResult(error);
    } finally {
      stop();
    }
  },
});
