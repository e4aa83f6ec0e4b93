// The Approver of the standalone stdio server: asks the person through MCP elicitation, in the MCP client's own UI.
// One stdio process serves exactly one MCP session, so the approver is bound to that session's server.
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { ManifestPlan } from '../core/gitops/model';
import type { Plan } from '../core/plan/model';
import type { ApprovalDecision, ApprovalText, Approver } from '../core/session/model';

export const noElicitationReason =
  'this MCP client cannot ask you for approval (no elicitation support); use the VS Code extension or a client that supports elicitation';

const answerSchema = z.object({ approve: z.boolean().optional(), context: z.string().optional() });

export class ElicitationApprover implements Approver {
  private server: Server | undefined;

  /** approvalTimeoutSeconds bounds the wait for an answer (the SDK's default of 60 s would cut a person off). */
  constructor(private readonly approvalTimeoutSeconds: () => number) {}

  /** Binds the approver to the one MCP session of this process. */
  bind(server: Server): void {
    this.server = server;
  }

  /** No editor here: the plan summary is in the krr_propose_changes result the client shows. */
  async show(): Promise<void> {}

  async requestApproval(plan: Plan, text: ApprovalText, signal: AbortSignal): Promise<ApprovalDecision> {
    return this.ask(plan.digest, text, signal);
  }

  /** Writing manifests: the same question, naming files instead of a cluster. */
  async requestManifestApproval(plan: ManifestPlan, text: ApprovalText, signal: AbortSignal): Promise<ApprovalDecision> {
    return this.ask(plan.digest, text, signal);
  }

  private async ask(digest: string, text: ApprovalText, signal: AbortSignal): Promise<ApprovalDecision> {
    const server = this.server;
    if (!server?.getClientCapabilities()?.elicitation?.form) return { outcome: 'unavailable', reason: noElicitationReason };
    const properties: Record<string, { type: 'boolean'; title: string } | { type: 'string'; title: string; description: string }> = {
      approve: { type: 'boolean', title: text.confirmLabel },
    };
    const required = ['approve'];
    if (text.typeToConfirm !== null) {
      properties.context = { type: 'string', title: 'Type the context name to confirm', description: `Type ${text.typeToConfirm} to confirm` };
      required.push('context');
    }
    let result;
    try {
      result = await server.elicitInput(
        { mode: 'form', message: `${text.title}\n\n${text.detail}`, requestedSchema: { type: 'object', properties, required } },
        { signal, timeout: this.approvalTimeoutSeconds() * 1000 },
      );
    } catch (error) {
      if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) return { outcome: 'timeout' };
      if (signal.aborted) return { outcome: 'timeout' };
      return { outcome: 'declined', reason: `the approval request failed: ${error instanceof Error ? error.message : String(error)}` };
    }
    if (result.action !== 'accept') return { outcome: 'declined', reason: result.action === 'cancel' ? 'dismissed' : 'declined' };
    const answer = answerSchema.safeParse(result.content ?? {});
    if (!answer.success || answer.data.approve !== true) return { outcome: 'declined', reason: 'not approved' };
    if (text.typeToConfirm !== null && answer.data.context !== text.typeToConfirm) return { outcome: 'declined', reason: 'the typed context name did not match' };
    return { outcome: 'approved', digest };
  }
}
