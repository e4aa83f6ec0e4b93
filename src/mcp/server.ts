// Builds one McpServer per MCP session over the shared Session: the tools, and who is asking (for audit and dialog).
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { Requester } from '../core/session/model';
import { displayText } from '../core/text';
import type { Session } from '../core/session/session';
import { handleToolCalls } from './call';
import type { ToolDefinition, ToolDeps } from './tool';
import { tools } from './tools/index';

export interface McpServerOptions {
  version: string;
  /** Leaves out the tools that write (krr_apply_plan, krr_rollback). */
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

export function createMcpServer(session: Session, options: McpServerOptions): McpServer {
  const server = new McpServer({ name: 'krr', title: 'KRR right-sizing', version: options.version }, { instructions });
  // The requester comes from this connection's initialize request, never from a tool argument.
  const requester = (): Requester => {
    const clientInfo = server.server.getClientVersion();
    const via = options.clientLabel ? options.clientLabel(clientInfo) : (clientInfo?.name ?? 'unknown MCP client');
    // The client's name reaches the approval dialog, the audit log and tool results: one line, bounded, no control,
    // format (bidi overrides, zero-width) or separator characters (core/text).
    return { type: 'model', via: displayText(via, 60) || 'unknown MCP client' };
  };
  const deps: ToolDeps = {
    session,
    requester,
    approvalVia: options.approvalVia ?? 'editor',
    ...(options.workspaceRoot ? { workspaceRoot: options.workspaceRoot } : {}),
  };
  const registered = new Map<string, { tool: ToolDefinition; input: z.ZodType; output: z.ZodType }>();
  for (const tool of tools) {
    if (options.readOnly && isWriteTool(tool)) continue;
    const input = strictInput(tool);
    const output = z.object(tool.outputSchema);
    registered.set(tool.name, { tool, input, output });
    // Registered for tools/list (the schemas clients see); tools/call is answered by handleToolCalls.
    server.registerTool(
      tool.name,
      { title: tool.title, description: tool.description, inputSchema: input, outputSchema: output, annotations: { title: tool.title, ...tool.annotations } },
      (args: unknown, extra) => tool.handler(args as never, extra, deps),
    );
  }
  // Schema-refused calls are audited too (McpServer's own handler refuses them before any of our code runs).
  handleToolCalls(server, registered, deps, options.log);
  return server;
}
