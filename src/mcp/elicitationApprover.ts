// The Approver of the standalone stdio server: asks through MCP elicitation, in the MCP client's own UI.
// 2025-era clients get an `elicitation/create` request on their connection; on the 2026-07-28 revision the question
// travels as an input request in the tool's result and the answer comes back with the client's retry (inputRound).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ErrorCode, McpError, type ElicitRequestFormParams } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { ManifestPlan } from '../core/gitops/model';
import type { Plan } from '../core/plan/model';
import type { TrialPlan } from '../core/trial/model';
import type { ApprovalDecision, ApprovalText, Approver } from '../core/model';
import { displayText } from '../core/text';

export const noElicitationReason =
  'this MCP client cannot ask you for approval (no form elicitation support); use the VS Code extension or a client that supports form elicitation';

const answerSchema = z.object({ approve: z.boolean().optional(), context: z.string().optional() });
const resultSchema = z.object({ action: z.enum(['accept', 'decline', 'cancel']), content: z.record(z.string(), z.unknown()).optional() });

/** The answer a 2026-07-28 client sent back for the plan its verified request state names. */
export interface InputRound {
  planId: string;
  digest: string;
  /** The client's result for our input request (an ElicitResult, unchecked). */
  answer: unknown;
  /** Who answered, for the audit log: "name version" from the request's clientInfo (self-reported). */
  client: string;
}

/** Set around session.apply for one 2026-07-28 retry; absent for every 2025-era call. */
export const inputRound = new AsyncLocalStorage<InputRound>();

/** The form a person answers: computed from the stored plan (ApprovalText), never from a tool argument. */
export function approvalForm(text: ApprovalText): ElicitRequestFormParams {
  const properties: Record<string, { type: 'boolean'; title: string } | { type: 'string'; title: string; description: string }> = {
    approve: { type: 'boolean', title: text.confirmLabel },
  };
  const required = ['approve'];
  if (text.typeToConfirm !== null) {
    properties.context = { type: 'string', title: 'Type the context name to confirm', description: `Type ${text.typeToConfirm} to confirm` };
    required.push('context');
  }
  return { mode: 'form', message: `${text.title}\n\n${text.detail}`, requestedSchema: { type: 'object', properties, required } };
}

/** Whether client capabilities allow a form: `elicitation: {}` means form (the spec's backwards-compatible reading). */
export function supportsFormElicitation(capabilities: unknown): boolean {
  const elicitation = (capabilities as { elicitation?: unknown } | undefined)?.elicitation;
  if (typeof elicitation !== 'object' || elicitation === null) return false;
  const modes = elicitation as Record<string, unknown>;
  return modes.form !== undefined || Object.keys(modes).length === 0;
}

/** "with form elicitation", "with URL elicitation only", "WITHOUT elicitation": what a client declared, as logged. */
export function describeElicitation(capabilities: unknown): string {
  if (supportsFormElicitation(capabilities)) return 'with form elicitation';
  const elicitation = (capabilities as { elicitation?: Record<string, unknown> } | undefined)?.elicitation;
  if (elicitation?.url !== undefined) return 'with URL elicitation only (approval needs a form: every write will be refused)';
  return 'WITHOUT elicitation (every write will be refused)';
}

/** An elicitation answer checked against the dialog's words: approve must be true, a typed context must match. */
function decide(answer: unknown, plan: { digest: string }, text: ApprovalText, client: string): ApprovalDecision {
  const result = resultSchema.safeParse(answer);
  if (!result.success) return { outcome: 'declined', reason: 'the answer was not an elicitation result' };
  if (result.data.action !== 'accept') return { outcome: 'declined', reason: result.data.action === 'cancel' ? 'dismissed' : 'declined' };
  const content = answerSchema.safeParse(result.data.content ?? {});
  if (!content.success || content.data.approve !== true) return { outcome: 'declined', reason: 'not approved' };
  if (text.typeToConfirm !== null && content.data.context !== text.typeToConfirm) return { outcome: 'declined', reason: 'the typed context name did not match' };
  // Honest record: whoever (or whatever) answered the client's form, this is what we know.
  return { outcome: 'approved', digest: plan.digest, by: { type: 'client', via: `MCP elicitation by client ${displayText(client, 90) || 'unknown'}` } };
}

export class ElicitationApprover implements Approver {
  private server: Server | undefined;

  /** approvalTimeoutSeconds bounds the wait for an answer (the SDK's default of 60 s would cut a person off). */
  constructor(private readonly approvalTimeoutSeconds: () => number) {}

  /** Binds the approver to the one 2025-era MCP session of this process. */
  bind(server: Server): void {
    this.server = server;
  }

  /** No editor here: the plan summary is in the krr_propose_changes result the client shows. */
  async show(): Promise<void> {}

  async requestApproval(plan: Plan, text: ApprovalText, signal: AbortSignal): Promise<ApprovalDecision> {
    return this.ask(plan, text, signal);
  }

  /** Writing manifests: the same question, naming files instead of a cluster. */
  async requestManifestApproval(plan: ManifestPlan, text: ApprovalText, signal: AbortSignal): Promise<ApprovalDecision> {
    return this.ask(plan, text, signal);
  }

  /** Starting a trial: the same question (its words from the stored trial plan: pods, N of M, window, restarts). */
  async requestTrialApproval(plan: TrialPlan, text: ApprovalText, signal: AbortSignal): Promise<ApprovalDecision> {
    return this.ask(plan, text, signal);
  }

  private async ask(plan: { id: string; digest: string }, text: ApprovalText, signal: AbortSignal): Promise<ApprovalDecision> {
    const round = inputRound.getStore();
    if (round) {
      // 2026-07-28: the answer already came with the retry; it counts only for the plan its verified state names.
      if (round.planId !== plan.id || round.digest !== plan.digest) return { outcome: 'declined', reason: 'the answer was given for another plan' };
      return decide(round.answer, plan, text, round.client);
    }
    const server = this.server;
    if (!server || !supportsFormElicitation(server.getClientCapabilities())) return { outcome: 'unavailable', reason: noElicitationReason };
    const client = server.getClientVersion();
    let result;
    try {
      result = await server.elicitInput(approvalForm(text), { signal, timeout: this.approvalTimeoutSeconds() * 1000 });
    } catch (error) {
      if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) return { outcome: 'timeout' };
      if (signal.aborted) return { outcome: 'timeout' };
      return { outcome: 'declined', reason: `the approval request failed: ${error instanceof Error ? error.message : String(error)}` };
    }
    return decide(result, plan, text, `${client?.name ?? 'unknown'} ${client?.version ?? ''}`.trim());
  }
}
