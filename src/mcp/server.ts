// Builds one McpServer per MCP session over the shared Session: the tools, and who is asking (for audit and dialog).
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { Requester } from '../core/model';
import { displayText } from '../core/text';
import type { Session } from '../core/session/session';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { handleToolCalls, type RegisteredTool } from './call';
import { describeElicitation, supportsFormElicitation } from './elicitationApprover';
import type { ApprovalChannel, ToolDefinition, ToolDeps } from './tool';
import { tools } from './tools/index';

export interface McpServerOptions {
  version: string;
  /** Leaves out the tools that write (krr_apply_plan, krr_rollback, krr_revert_trial). */
  readOnly?: boolean;
  /** Overrides the requester label; default: the client's name from its initialize request. */
  clientLabel?: (clientInfo: { name: string; version: string } | undefined) => string;
  /** Base for relative report paths in krr_load_report. */
  workspaceRoot?: string;
  /** Default 'editor' (VS Code shows the diff and the modal); the stdio server uses 'elicitation'. */
  approvalVia?: 'editor' | 'elicitation';
  /** Where a failure to audit a refused call is reported (the output channel, stderr). */
  log?: (line: string) => void;
}

const instructions =
  'Right-size Kubernetes workloads with krr. Typical flow: krr_status → krr_scan → krr_list_recommendations → krr_propose_changes → (only when the user asks) krr_apply_plan, which a person must approve; krr_rollback undoes an apply. ' +
  'To try a recommendation on a few running pods first: krr_propose_trial → krr_apply_plan (a person approves) → krr_trial_status; it is reverted at its end, and krr_persist_trial proposes a passed trial for the template. ' +
  'You cannot approve changes; never claim a change was applied unless krr_apply_plan returned status "applied".';

export function isWriteTool(tool: ToolDefinition): boolean {
  return tool.annotations.readOnlyHint === false;
}

/**
 * Unknown keys are an error, not silently dropped: a model sending `{planId, approved: true}` must learn that
 * nothing it sends approves a change or words the approval dialog.
 */
export function strictInput(tool: ToolDefinition) {
  const allowed = Object.keys(tool.inputSchema);
  return z.strictObject(tool.inputSchema, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `Unrecognized key(s) ${issue.keys.map((key) => `"${key}"`).join(', ')}: ${tool.name} takes ${allowed.length > 0 ? `only ${allowed.join(', ')}` : 'no arguments'}.` +
          (isWriteTool(tool) ? ' No argument can approve a change or word the approval dialog; a person approves it in their own UI.' : '')
        : undefined,
  });
}

/** The requester of a call: the MCP client's self-reported name (initialize or _meta clientInfo), never a tool argument. */
export function requesterOf(clientInfo: { name: string; version: string } | undefined, options: Pick<McpServerOptions, 'clientLabel'>): Requester {
  const via = options.clientLabel ? options.clientLabel(clientInfo) : (clientInfo?.name ?? 'unknown MCP client');
  // The client's name reaches the approval dialog, the audit log and tool results: one line, bounded, no control,
  // format (bidi overrides, zero-width) or separator characters (core/text).
  return { type: 'model', via: displayText(via, 60) || 'unknown MCP client' };
}

/** "name version" of a client, as the audit log names who answered an elicitation. */
export function clientName(clientInfo: { name: string; version: string } | undefined): string {
  return displayText(`${clientInfo?.name ?? 'unknown'} ${clientInfo?.version ?? ''}`.trim(), 90);
}

/**
 * Whether writes can be approved for a client, per approval path. VS Code: its modal, unless read-only. Elicitation
 * (stdio): only a client that declared form elicitation (2025: at initialize; 2026-07-28: in this request's _meta).
 */
export function approvalChannel(options: Pick<McpServerOptions, 'readOnly' | 'approvalVia'>, capabilities: unknown, era: '2025' | '2026-07-28'): ApprovalChannel {
  if (options.readOnly) return { canApprove: false, path: 'none', how: 'Writes are disabled (read-only): nothing can be approved here.' };
  if ((options.approvalVia ?? 'editor') === 'editor') {
    return { canApprove: true, path: 'editor', how: 'A person approves each write in VS Code: the diff and a modal dialog the model cannot answer.' };
  }
  if (!supportsFormElicitation(capabilities)) {
    const declared = describeElicitation(capabilities).replace(/ \(.*\)$/, '');
    return { canApprove: false, path: 'none', how: `This client connected ${declared}: approval needs a form, so every write is refused here. Use the VS Code extension, or a client that supports form elicitation.` };
  }
  return era === '2025'
    ? { canApprove: true, path: 'elicitation', how: 'Your MCP client shows an approval form (MCP elicitation) for each write; whoever answers it approves.' }
    : { canApprove: true, path: 'input-request', how: 'krr_apply_plan and krr_rollback answer with an approval form (an input request); your client shows it and calls again with the answer.' };
}

/** The tools, with the strict input and the output schema each call is checked against. */
export function toolRegistry(options: Pick<McpServerOptions, 'readOnly'>): Map<string, RegisteredTool> {
  const registered = new Map<string, RegisteredTool>();
  for (const tool of tools) {
    if (options.readOnly && isWriteTool(tool)) continue;
    registered.set(tool.name, { tool, input: strictInput(tool), output: z.object(tool.outputSchema) });
  }
  return registered;
}

export function createMcpServer(session: Session, options: McpServerOptions): McpServer {
  const server = new McpServer({ name: 'krr', title: 'KRR right-sizing', version: options.version }, { instructions });
  // The requester comes from this connection's initialize request, never from a tool argument.
  const deps: ToolDeps = {
    session,
    requester: () => requesterOf(server.server.getClientVersion(), options),
    readOnly: options.readOnly ?? false,
    approvalVia: options.approvalVia ?? 'editor',
    approvalChannel: () => approvalChannel(options, server.server.getClientCapabilities(), '2025'),
    ...(options.workspaceRoot ? { workspaceRoot: options.workspaceRoot } : {}),
  };
  const registered = toolRegistry(options);
  for (const { tool, input, output } of registered.values()) {
    // Registered for tools/list (the schemas clients see); tools/call is answered by handleToolCalls.
    server.registerTool(
      tool.name,
      { title: tool.title, description: tool.description, inputSchema: input, outputSchema: output, annotations: { title: tool.title, ...tool.annotations } },
      async (args: unknown, extra) => (await tool.handler(args as never, extra, deps)) as CallToolResult,
    );
  }
  // Schema-refused calls are audited too (McpServer's own handler refuses them before any of our code runs).
  handleToolCalls(server, registered, deps, options.log);
  return server;
}

export { instructions as serverInstructions };
