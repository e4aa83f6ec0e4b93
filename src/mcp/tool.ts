// The shape of one MCP tool (one file each in tools/) and the results every tool returns.
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { Session } from '../core/session/session';
import type { Requester } from '../core/model';
import { PathError } from './arguments';
import type { RequestStateSigner } from './requestState';

export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What a handler may use besides its arguments; the requester is derived from the MCP client, never from an argument. */
export interface ToolDeps {
  session: Session;
  requester(): Requester;
  /** Base for relative report paths; undefined = only absolute paths. */
  workspaceRoot?: string;
  /** Writes are disabled for this server (--read-only, krr.readOnly): krr_trial_status then only reads. */
  readOnly: boolean;
  /** Where the person sees and approves a plan: the editor (VS Code host) or the MCP client (elicitation, stdio). */
  approvalVia: 'editor' | 'elicitation';
  /** Whether a write can be approved for this request, and how (krr_status and the proposal text say it). */
  approvalChannel(): ApprovalChannel;
  /**
   * Set for a 2026-07-28 request whose approval travels as an input request (multi round-trip): the retry's answer
   * and request state, and what the request declared. Absent on the 2025 era and in VS Code (the modal asks).
   */
  round?: InputRoundRequest;
}

export interface ApprovalChannel {
  /** False: every write is refused in this session (read-only, or the client cannot ask anyone). */
  canApprove: boolean;
  /** One sentence: who is asked and how, or why nobody can be. */
  how: string;
  /** 'editor' | 'elicitation' | 'input-request' | 'none': the approval path, for krr_status. */
  path: 'editor' | 'elicitation' | 'input-request' | 'none';
}

export interface InputRoundRequest {
  requestState?: string;
  inputResponses?: Record<string, unknown>;
  /** io.modelcontextprotocol/clientCapabilities declared form elicitation on this request. */
  formElicitation: boolean;
  /** "name version" from the request's clientInfo. */
  client: string;
  signer: RequestStateSigner;
  /** How long a minted request state is honoured: the approval timeout. */
  stateTtlMs: number;
}

/** The 2026-07-28 result that asks the client for input and to call again with the answers and the state. */
export interface InputRequiredResult {
  resultType: 'input_required';
  inputRequests: Record<string, { method: string; params: Record<string, unknown> }>;
  requestState: string;
}

export type ToolResult = CallToolResult | InputRequiredResult;

export function isInputRequired(result: ToolResult): result is InputRequiredResult {
  return (result as { resultType?: unknown }).resultType === 'input_required';
}

/** A refusal the protocol itself defines (e.g. -32021 missing client capability): a JSON-RPC error, not a tool result. */
export class ProtocolRefusal extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export interface ToolDefinition<Shape extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  /** Written for a model: when to use the tool, what it returns, what to do next. */
  description: string;
  /** Registered as `z.object(inputSchema).strict()`: unknown keys are rejected, not silently dropped. */
  inputSchema: Shape;
  outputSchema: z.ZodRawShape;
  annotations: ToolAnnotations & { readOnlyHint: boolean };
  handler(args: z.output<z.ZodObject<Shape>>, extra: ToolExtra, deps: ToolDeps): Promise<ToolResult>;
}

/** Keeps each tool file's handler typed against its own shape. */
export function defineTool<Shape extends z.ZodRawShape>(definition: ToolDefinition<Shape>): ToolDefinition<Shape> {
  return definition;
}

export function okResult(text: string, structured: object): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured as Record<string, unknown> };
}

/** A result that is not a success but carries structured data (declined, stale, ...). */
export function notOkResult(text: string, structured: object): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured as Record<string, unknown>, isError: true };
}

const nextStepByCode: Record<string, string> = {
  'unknown-report': 'Run krr_scan (or krr_load_report) and use the reportId it returns.',
  'unknown-plan': 'Call krr_propose_changes again and use the new planId.',
  'unknown-snapshot': 'Call krr_list_snapshots and use one of the ids it returns.',
  'invalid-argument': 'Fix the argument named above and call the tool again.',
  'read-only': 'Changes are disabled here; tell the user why (see the message) instead of retrying.',
  busy: 'Another operation is running; wait for it to finish, then retry once.',
  krr: 'Check the krr installation and settings (krr_status shows them), then retry.',
  kubectl: 'Check the kube context and cluster access (krr_status shows them), then retry.',
  storage: 'The extension could not read or write its state; tell the user, do not retry in a loop.',
};

interface SessionErrorLike {
  code: string;
  hint?: string;
  message: string;
}

function isSessionError(error: unknown): error is SessionErrorLike {
  return error instanceof Error && error.name === 'SessionError' && typeof (error as { code?: unknown }).code === 'string';
}

/** Every failure becomes `isError: true` with a sentence on what to do next; no stack traces reach the model. */
export function errorResult(error: unknown): CallToolResult {
  let text: string;
  if (isSessionError(error)) {
    const next = nextStepByCode[error.code];
    text = [error.message, error.hint, next].filter((part) => part && part.length > 0).join('\n');
  } else if (error instanceof PathError) {
    text = error.message;
  } else if (error instanceof Error && error.name === 'AbortError') {
    text = 'Cancelled before it finished. Nothing was changed by the cancelled call.';
  } else {
    const message = error instanceof Error ? error.message : String(error);
    text = `Internal error: ${message}\nTell the user; retrying the same call is unlikely to help.`;
  }
  return { content: [{ type: 'text', text }], isError: true };
}
