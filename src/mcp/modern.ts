// The 2026-07-28 revision ("modern" in the spec's words) in front of the SDK v1 server, which speaks only the
// initialize-based 2025 era. A request is modern when it is server/discover or carries the protocol version in its
// _meta; it is answered here statelessly from the same tool definitions, deps built from that request alone
// (clientInfo, clientCapabilities). Everything else goes to the SDK. Spec: basic/versioning (dual-era server),
// basic/index (_meta, resultType, error codes), server/discover, basic/patterns/mrtr.
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ErrorCode, LATEST_PROTOCOL_VERSION, type JSONRPCNotification, type JSONRPCRequest, type ServerNotification, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Session } from '../core/session/session';
import { executeToolCall, type RegisteredTool } from './call';
import { supportsFormElicitation } from './elicitationApprover';
import { RequestStateSigner } from './requestState';
import { approvalChannel, clientName, createMcpServer, requesterOf, serverInstructions, toolRegistry, type McpServerOptions } from './server';
import { isInputRequired, ProtocolRefusal, type ToolDeps, type ToolExtra } from './tool';

export const modernVersion = '2026-07-28';
export const metaKeys = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
} as const;

export const errorCodes = { headerMismatch: -32020, missingRequiredClientCapability: -32021, unsupportedProtocolVersion: -32022 } as const;

type JsonObject = Record<string, unknown>;

export interface ModernReply {
  /** The JSON-RPC response (result or error). */
  response: { jsonrpc: '2.0'; id: string | number; result?: JsonObject; error?: { code: number; message: string; data?: unknown } };
  /** The status a Streamable HTTP server answers with (400 for the revision's request errors, 404 for an unknown method). */
  httpStatus: number;
}

export interface ModernIo {
  signal: AbortSignal;
  /** Request-scoped notifications (progress) on the request's own stream. */
  notify(notification: JSONRPCNotification): Promise<void>;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Era detection per message: server/discover, or a request (or notification) whose _meta names its protocol version. */
export function isModernMessage(message: unknown): boolean {
  if (!isObject(message) || typeof message.method !== 'string') return false;
  if (message.method === 'server/discover') return true;
  const meta = isObject(message.params) ? message.params._meta : undefined;
  return isObject(meta) && metaKeys.protocolVersion in meta;
}

export interface ModernOptions extends McpServerOptions {
  /** How long an approval form's request state is honoured (the approval timeout). */
  stateTtlMs: () => number;
  /**
   * Where request states are keyed and spent (see requestState.ts); required with approvalVia "elicitation", so that a
   * client starting the server per call can answer a form shown by an earlier process, once.
   */
  stateDir?: string;
}

export class ModernDispatcher {
  private readonly tools: Map<string, RegisteredTool>;
  private readonly signer: RequestStateSigner | undefined;
  private listing: Promise<Tool[]> | undefined;

  constructor(
    private readonly session: Session,
    private readonly options: ModernOptions,
  ) {
    this.tools = toolRegistry(options);
    this.signer = options.stateDir === undefined ? undefined : new RequestStateSigner(options.stateDir);
  }

  async handle(request: JSONRPCRequest, io: ModernIo): Promise<ModernReply> {
    const fail = (httpStatus: number, code: number, message: string, data?: unknown): ModernReply => ({
      httpStatus,
      response: { jsonrpc: '2.0', id: request.id, error: { code, message, ...(data !== undefined ? { data } : {}) } },
    });
    const params = isObject(request.params) ? request.params : {};
    const meta = isObject(params._meta) ? params._meta : {};
    const version = meta[metaKeys.protocolVersion];
    // server/discover is how a client finds the era; it is answered whatever the envelope says.
    if (request.method !== 'server/discover') {
      if (typeof version !== 'string' || !isObject(meta[metaKeys.clientCapabilities])) {
        return fail(400, ErrorCode.InvalidParams, `Invalid params: a ${modernVersion} request needs _meta["${metaKeys.protocolVersion}"] and _meta["${metaKeys.clientCapabilities}"]`);
      }
    }
    if (version !== undefined && version !== modernVersion) {
      // Both eras this server speaks: this revision per request, and the 2025 era's newest through initialize.
      return fail(400, errorCodes.unsupportedProtocolVersion, 'Unsupported protocol version', { supported: [modernVersion, LATEST_PROTOCOL_VERSION], requested: typeof version === 'string' ? version.slice(0, 40) : String(version) });
    }
    const complete = (result: JsonObject): ModernReply => ({
      httpStatus: 200,
      response: { jsonrpc: '2.0', id: request.id, result: { resultType: 'complete', ...result, _meta: { [metaKeys.serverInfo]: this.serverInfo() } } },
    });
    try {
      switch (request.method) {
        case 'server/discover':
          return complete({
            supportedVersions: [modernVersion],
            capabilities: { tools: { listChanged: false } },
            serverInfo: this.serverInfo(),
            instructions: serverInstructions,
            // The tool set depends on settings (read-only) that can change with a restart: do not cache.
            ttlMs: 0,
            cacheScope: 'public',
          });
        case 'tools/list':
          return complete({ tools: await this.toolList(), ttlMs: 0, cacheScope: 'public' });
        case 'tools/call': {
          if (typeof params.name !== 'string') return fail(400, ErrorCode.InvalidParams, 'Invalid params: tools/call needs a tool name');
          const result = await executeToolCall(this.tools, params.name, params.arguments, this.extraFor(request, meta, io), this.depsFor(meta, params), this.options.log);
          if (isInputRequired(result)) {
            return { httpStatus: 200, response: { jsonrpc: '2.0', id: request.id, result: { ...result, _meta: { [metaKeys.serverInfo]: this.serverInfo() } } } };
          }
          return complete(result as JsonObject);
        }
        default:
          return fail(404, ErrorCode.MethodNotFound, `Method not found: ${request.method.slice(0, 60)} (this server's ${modernVersion} methods: server/discover, tools/list, tools/call)`);
      }
    } catch (error) {
      if (error instanceof ProtocolRefusal) return fail(400, error.code, error.message, error.data);
      this.options.log?.(`MCP ${modernVersion} ${request.method.slice(0, 40)} failed: ${error instanceof Error ? error.message : String(error)}`);
      return fail(500, ErrorCode.InternalError, 'Internal error');
    }
  }

  private serverInfo() {
    return { name: 'krr', title: 'KRR right-sizing', version: this.options.version };
  }

  /** Per request: who asks, what it declared, and (elicitation path) the retry's answer and state. */
  private depsFor(meta: JsonObject, params: JsonObject): ToolDeps {
    const info = meta[metaKeys.clientInfo];
    const clientInfo = isObject(info) && typeof info.name === 'string' ? { name: info.name, version: typeof info.version === 'string' ? info.version : '' } : undefined;
    const capabilities = meta[metaKeys.clientCapabilities];
    const approvalVia = this.options.approvalVia ?? 'editor';
    const deps: ToolDeps = {
      session: this.session,
      requester: () => requesterOf(clientInfo, this.options),
      readOnly: this.options.readOnly ?? false,
      approvalVia,
      approvalChannel: () => approvalChannel(this.options, capabilities, '2026-07-28'),
      ...(this.options.workspaceRoot ? { workspaceRoot: this.options.workspaceRoot } : {}),
    };
    // VS Code asks in its own modal (the call waits for it); only the elicitation path becomes a round trip.
    if (approvalVia === 'elicitation') {
      if (!this.signer) throw new Error('the 2026-07-28 approval round needs a state directory (ModernOptions.stateDir)');
      deps.round = {
        ...(typeof params.requestState === 'string' ? { requestState: params.requestState } : {}),
        ...(isObject(params.inputResponses) ? { inputResponses: params.inputResponses } : {}),
        formElicitation: supportsFormElicitation(capabilities),
        client: clientName(clientInfo),
        signer: this.signer,
        stateTtlMs: this.options.stateTtlMs(),
      };
    }
    return deps;
  }

  private extraFor(request: JSONRPCRequest, meta: JsonObject, io: ModernIo): ToolExtra {
    const extra = {
      signal: io.signal,
      requestId: request.id,
      _meta: meta,
      sendNotification: (notification: ServerNotification) => io.notify({ jsonrpc: '2.0', ...notification } as JSONRPCNotification),
      // The 2026-07-28 revision has no server-to-client requests: input travels in results (MRTR).
      sendRequest: () => Promise.reject(new Error(`no server-to-client requests on ${modernVersion}`)),
    };
    return extra as unknown as ToolExtra;
  }

  /** The exact tools/list the 2025 era gets, read once from an in-process McpServer through the SDK's own client. */
  private toolList(): Promise<Tool[]> {
    this.listing ??= (async () => {
      const server = createMcpServer(this.session, this.options);
      const client = new Client({ name: 'krr-tools-list', version: this.options.version });
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await server.connect(serverSide);
      await client.connect(clientSide);
      try {
        return (await client.listTools()).tools;
      } finally {
        await client.close();
        await server.close();
      }
    })();
    this.listing.catch(() => (this.listing = undefined));
    return this.listing;
  }
}
