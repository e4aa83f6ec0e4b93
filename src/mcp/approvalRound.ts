// The 2026-07-28 approval of krr_apply_plan (any plan: cluster, manifests, trial) / krr_rollback as a multi round-trip request: the first call answers
// `input_required` with the approval form and a request state bound to the plan id, its digest and the call's
// arguments; the client asks the person and calls again with the answer and the state. Safety invariant: the state
// is only a pointer to a stored plan the server already shows — it approves nothing by itself; the answer is checked
// against the dialog's words, and every state that fails verification is refused and audited.
import type { ManifestPlan } from '../core/gitops/model';
import type { Plan } from '../core/plan/model';
import type { TrialPlan } from '../core/trial/model';
import type { ApplyOutcome } from '../core/model';
import { approvalForm, inputRound } from './elicitationApprover';
import { outcomeResult } from './outcome';
import { argumentsHash, type StateProblem } from './requestState';
import { ProtocolRefusal, type InputRoundRequest, type ToolDeps, type ToolResult } from './tool';

/** The spec's MissingRequiredClientCapabilityError. */
export const missingRequiredClientCapability = -32021;

/** The key of our one input request (the client answers under the same key). */
const approvalKey = 'approval';

type AnyPlan = Plan | ManifestPlan | TrialPlan;

export interface ApprovalCall {
  tool: 'krr_apply_plan' | 'krr_rollback';
  args: Record<string, unknown>;
  deps: ToolDeps & { round: InputRoundRequest };
  /** First round: the plan to ask about, or the outcome when nothing can be approved (the session refuses and audits). */
  prepare(): Promise<{ plan: AnyPlan } | { outcome: ApplyOutcome }>;
  /** The retry: applies the stored plan (its approver reads the answer from inputRound). */
  run(plan: AnyPlan): Promise<ApplyOutcome>;
}

const problemText: Record<StateProblem | 'mismatch' | 'plan', string> = {
  malformed: 'the requestState is not one this server issued (malformed)',
  forged: 'the requestState failed verification (not signed with the key of this server’s state directory, or altered)',
  expired: 'the requestState expired (the approval form was answered too late)',
  replayed: 'the requestState was already used (each approval form is answered once, also across krr-mcp processes sharing the state directory)',
  unrecorded: 'the use of the requestState could not be recorded in the state directory, so its single use cannot be guaranteed',
  mismatch: 'the requestState belongs to another call (another tool, plan or arguments)',
  plan: 'the plan the requestState names is gone or changed',
};

export async function approvalRound(call: ApprovalCall): Promise<ToolResult> {
  const { deps, tool } = call;
  const round = deps.round;
  const requester = deps.requester();
  if (round.requestState === undefined) {
    if (!round.formElicitation) {
      const message = `${tool} needs a person's approval, which this server asks for with a form (elicitation): declare elicitation (form) in io.modelcontextprotocol/clientCapabilities. Nothing was written.`;
      await deps.session.auditRefusedCall(tool, call.args, requester, message, 'missing-capability');
      throw new ProtocolRefusal(missingRequiredClientCapability, message, { requiredCapabilities: { elicitation: { form: {} } } });
    }
    const prepared = await call.prepare();
    if ('outcome' in prepared) return outcomeResult(prepared.outcome);
    return ask(call, prepared.plan);
  }
  const refuse = async (problem: keyof typeof problemText, planId: string): Promise<ToolResult> => {
    const message = `Refused: ${problemText[problem]}. Nothing was written and nobody was asked. To ask the person again, call ${tool} again without requestState.`;
    await deps.session.auditRefusedCall(tool, { ...call.args, requestState: round.requestState }, requester, message, 'invalid-request-state');
    return outcomeResult({ status: 'refused', planId, objects: [], verified: false, rollouts: [], message });
  };
  const claimedPlan = typeof call.args.planId === 'string' ? call.args.planId : '';
  const opened = await round.signer.open(round.requestState);
  if (!opened.ok) return refuse(opened.problem, claimedPlan);
  const state = opened.state;
  if (state.tool !== tool || state.args !== argumentsHash(call.args) || state.input !== approvalKey) return refuse('mismatch', claimedPlan);
  // In memory, or stored by another process (a client that starts the server per call asked in an earlier one).
  const plan = await deps.session.openAnyPlan(state.planId);
  if (!plan || plan.digest !== state.digest) return refuse('plan', state.planId);
  const answer = round.inputResponses?.[approvalKey];
  // The client did not answer our form (the spec: ask again rather than fail). The old state is spent.
  if (answer === undefined) return ask(call, plan);
  return outcomeResult(await inputRound.run({ planId: plan.id, digest: plan.digest, answer, client: round.client }, () => call.run(plan)));
}

async function ask(call: ApprovalCall, plan: AnyPlan): Promise<ToolResult> {
  const { deps, tool } = call;
  const text = deps.session.approvalText(plan, deps.requester());
  const requestState = await deps.round.signer.mint({ tool, planId: plan.id, digest: plan.digest, args: argumentsHash(call.args), input: approvalKey }, deps.round.stateTtlMs);
  return {
    resultType: 'input_required',
    inputRequests: { [approvalKey]: { method: 'elicitation/create', params: { ...approvalForm(text) } } },
    requestState,
  };
}
