// tools/call, handled here rather than by McpServer (for both protocol eras): the SDK validates arguments against the input schema and
// answers an error before any of our code runs, so a call refused by its schema (an extra `approved: true`,
// a forged id) left no trace in the audit log. This handler validates the same way with the same schema,
// audits the refusal, and answers exactly what the SDK would have answered; McpServer still lists the tools.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolRequestSchema, ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { isInputRequired, ProtocolRefusal, type ToolDefinition, type ToolDeps, type ToolExtra, type ToolResult } from './tool';

/** The SDK's wording for zod issues (mcp.js getParseErrorMessage), so clients see the same text as before. */
function issuesText(error: z.ZodError): string {
  return error.issues.map((issue) => (issue.path.length > 0 ? `${issue.message} at ${dotPath(issue.path)}` : issue.message)).join('\n');
}

function dotPath(path: PropertyKey[]): string {
  return path.reduce<string>((text, segment, index) => (index === 0 ? String(segment) : typeof segment === 'number' ? `${text}[${segment}]` : `${text}.${String(segment)}`), '');
}

function toolError(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

export interface RegisteredTool {
  tool: ToolDefinition;
  input: z.ZodType;
  output: z.ZodType;
}

/**
 * One tools/call, for either era: validates the arguments with the tool's strict schema (auditing a refusal),
 * runs the handler, checks the structured output. Answers a tool error for everything the SDK would; only a
 * ProtocolRefusal (a JSON-RPC error the 2026-07-28 revision defines) is thrown.
 */
export async function executeToolCall(
  tools: ReadonlyMap<string, RegisteredTool>,
  name: string,
  args: unknown,
  extra: ToolExtra,
  deps: ToolDeps,
  log?: (line: string) => void,
): Promise<ToolResult> {
  // Audited before the answer, like every other refusal. The call is refused either way, so a failing
  // audit is logged rather than turned into a different answer.
  const audit = (problem: string, outcome: 'invalid-arguments' | 'unknown-tool') =>
    deps.session.auditRefusedCall(name, args ?? {}, deps.requester(), problem, outcome).catch((error: unknown) => {
      log?.(`could not audit a refused ${name.slice(0, 80)} call: ${error instanceof Error ? error.message : String(error)}`);
    });
  const entry = tools.get(name);
  try {
    if (!entry) {
      // Also an attempt worth a line: a write tool called on a read-only server, a made-up name.
      await audit(`Tool ${name} not found`, 'unknown-tool');
      throw new McpError(ErrorCode.InvalidParams, `Tool ${name} not found`);
    }
    const parsed = await entry.input.safeParseAsync(args ?? {});
    if (!parsed.success) {
      const problem = issuesText(parsed.error);
      await audit(problem, 'invalid-arguments');
      throw new McpError(ErrorCode.InvalidParams, `Input validation error: Invalid arguments for tool ${name}: ${problem}`);
    }
    const result = await entry.tool.handler(parsed.data as never, extra, deps);
    if (isInputRequired(result)) return result;
    if (!result.isError && !result.structuredContent) throw new McpError(ErrorCode.InvalidParams, `Output validation error: Tool ${name} has an output schema but no structured content was provided`);
    if (!result.structuredContent) return result;
    // Clients validate structured content whenever it is present, errors included (the SDK's Client does).
    const output = await entry.output.safeParseAsync(result.structuredContent);
    if (!output.success) throw new McpError(ErrorCode.InvalidParams, `Output validation error: Invalid structured content for tool ${name}: ${issuesText(output.error)}`);
    // The listed output schemas close every object (additionalProperties: false, which strict clients enforce):
    // send exactly what they declare, so a field added to a core type never breaks a client's validation.
    return { ...result, structuredContent: output.data as Record<string, unknown> };
  } catch (error) {
    if (error instanceof ProtocolRefusal) throw error;
    return toolError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * Replaces McpServer's tools/call handler (through the underlying Server's public setRequestHandler, the
 * SDK's documented way to customise a handler). Call after every tool is registered. 2025-era only: it never
 * sees a round, so no input_required result or ProtocolRefusal comes out of it.
 */
export function handleToolCalls(server: McpServer, tools: ReadonlyMap<string, RegisteredTool>, deps: ToolDeps, log?: (line: string) => void): void {
  server.server.removeRequestHandler('tools/call');
  server.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => (await executeToolCall(tools, request.params.name, request.params.arguments, extra, deps, log)) as CallToolResult);
}
