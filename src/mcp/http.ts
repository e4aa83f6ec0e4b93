// The loopback Streamable HTTP host the VS Code extension runs: 127.0.0.1, ephemeral port, bearer token,
// Host and Origin checks, bounded bodies, one McpServer per MCP session.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Session } from '../core/session/session';
import { createMcpServer, type McpServerOptions } from './server';
import { errorCodes, isModernMessage, metaKeys, ModernDispatcher, modernVersion } from './modern';
import { displayText } from '../core/text';

export interface HttpHostOptions extends Omit<McpServerOptions, 'approvalVia'> {
  /** Largest accepted request body; larger → 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Open MCP sessions kept at most; the least recently used is closed to make room. Default 32. */
  maxSessions?: number;
  /** Called when a client finished initializing (for the output channel: which client connected). */
  onInitialize?: (clientInfo: { name: string; version: string } | undefined) => void;
  log?: (line: string) => void;
}

export interface HttpHost {
  /** http://127.0.0.1:<port>/mcp */
  url: string;
  /** The bearer token; hand it only to VS Code's resolveMcpServerDefinition and the 0600 discovery file. */
  token: string;
  port: number;
  close(): Promise<void>;
}

interface OpenSession {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  lastSeen: number;
}

class HttpRejection extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly id?: string | number,
  ) {
    super(message);
  }
}

interface ModernBody {
  id?: string | number;
  method: string;
  params?: { name?: unknown; _meta?: Record<string, unknown> };
}

/** An `=?base64?…?=` header value decoded (the revision's encoding of non-ASCII names), else the value itself. */
function headerValue(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  const encoded = text === undefined ? null : /^=\?base64\?([A-Za-z0-9+/=]*)\?=$/.exec(text);
  return encoded ? Buffer.from(encoded[1] ?? '', 'base64').toString('utf8') : text;
}

/**
 * Streamable HTTP, 2026-07-28: MCP-Protocol-Version, Mcp-Method and (tools/call) Mcp-Name are required and must match
 * the body, so nothing routing on headers sees a different request than the one executed. Returns what is wrong.
 */
function headerMismatch(req: IncomingMessage, body: ModernBody): string | null {
  const version = body.params?._meta?.[metaKeys.protocolVersion];
  const versionHeader = headerValue(req.headers['mcp-protocol-version']);
  if (versionHeader === undefined) return 'the MCP-Protocol-Version header is missing';
  if (typeof version === 'string' && versionHeader !== version) return `MCP-Protocol-Version header ${JSON.stringify(versionHeader.slice(0, 40))} does not match _meta ${JSON.stringify(version.slice(0, 40))}`;
  const methodHeader = headerValue(req.headers['mcp-method']);
  if (methodHeader !== body.method) return methodHeader === undefined ? 'the Mcp-Method header is missing' : 'the Mcp-Method header does not match the body';
  if (body.method === 'tools/call') {
    const nameHeader = headerValue(req.headers['mcp-name']);
    if (nameHeader === undefined) return 'the Mcp-Name header is missing';
    if (nameHeader !== body.params?.name) return 'the Mcp-Name header does not match params.name';
  }
  return null;
}

const defaultMaxBodyBytes = 1024 * 1024;

export async function startHttpHost(session: Session, options: HttpHostOptions): Promise<HttpHost> {
  const token = randomBytes(32).toString('base64url');
  const expected = Buffer.from(`Bearer ${token}`);
  const sessions = new Map<string, OpenSession>();
  const maxBodyBytes = options.maxBodyBytes ?? defaultMaxBodyBytes;
  const maxSessions = options.maxSessions ?? 32;
  const log = options.log ?? (() => undefined);
  let port = 0;
  // 2026-07-28 requests: no session, answered per request from the same tools (approval: the VS Code modal).
  const modern = new ModernDispatcher(session, { ...options, approvalVia: 'editor', stateTtlMs: () => 0 });
  const modernClients = new Set<string>();

  const authorized = (header: string | undefined): boolean => {
    if (header === undefined) return false;
    const given = Buffer.from(header);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  const openSession = async (): Promise<OpenSession> => {
    if (sessions.size >= maxSessions) {
      const oldest = [...sessions.entries()].sort((a, b) => a[1].lastSeen - b[1].lastSeen)[0];
      if (oldest) await closeSession(oldest[0], oldest[1]);
    }
    const server = createMcpServer(session, { ...options, approvalVia: 'editor' });
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomBytes(16).toString('hex'),
      onsessioninitialized: (id) => {
        sessions.set(id, open);
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    const open: OpenSession = { transport, server, lastSeen: Date.now() };
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    server.server.oninitialized = () => {
      const clientInfo = server.server.getClientVersion();
      log(`MCP client connected: ${displayText(clientInfo?.name ?? 'unknown', 60)} ${displayText(clientInfo?.version ?? '', 30)}`.trim());
      options.onInitialize?.(clientInfo);
    };
    await server.connect(transport);
    return open;
  };

  const closeSession = async (id: string, open: OpenSession): Promise<void> => {
    sessions.delete(id);
    await open.server.close().catch(() => undefined);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Any browser request carries Origin; VS Code's client (in the extension host) never does.
    if (req.headers.origin !== undefined) throw new HttpRejection(403, -32000, 'Forbidden: requests with an Origin header are not accepted');
    // DNS rebinding: a foreign name resolving to 127.0.0.1 arrives with that name in Host.
    const host = req.headers.host;
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) throw new HttpRejection(403, -32000, 'Forbidden: Host header not allowed');
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (path !== '/mcp') throw new HttpRejection(404, -32000, 'Not found: the MCP endpoint is /mcp');
    // No WWW-Authenticate: advertising auth makes VS Code start OAuth discovery instead of showing the error.
    if (!authorized(req.headers.authorization)) throw new HttpRejection(401, -32000, 'Unauthorized: missing or wrong bearer token');
    const method = req.method ?? '';
    if (method !== 'POST' && method !== 'GET' && method !== 'DELETE') {
      res.setHeader('Allow', 'POST, GET, DELETE');
      throw new HttpRejection(405, -32000, 'Method not allowed');
    }
    const sessionHeader = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader;
    let body: unknown;
    if (method === 'POST') body = parseJson(await readBody(req, maxBodyBytes));
    // The era is decided per request by what the request carries (the spec's dual-era server); a session id, if a
    // client sends one with a 2026-07-28 request, is ignored.
    if (method === 'POST' && isModernMessage(body)) {
      await answerModern(req, res, body as ModernBody);
      return;
    }
    if (sessionId === undefined) {
      if (method !== 'POST' || !isInitializeRequest(body)) throw new HttpRejection(400, -32000, 'Bad Request: no mcp-session-id; start with an initialize request');
      const open = await openSession();
      await open.transport.handleRequest(req, res, body);
      return;
    }
    const open = sessions.get(sessionId);
    if (!open) throw new HttpRejection(404, -32001, 'Session not found: initialize a new session');
    open.lastSeen = Date.now();
    await open.transport.handleRequest(req, res, body);
  };

  const answerModern = async (req: IncomingMessage, res: ServerResponse, body: ModernBody): Promise<void> => {
    const id = body.id;
    if (id === undefined) {
      // No client notification is defined on this transport for the revision; accepted and ignored.
      res.writeHead(202).end();
      return;
    }
    const mismatch = headerMismatch(req, body);
    if (mismatch) throw new HttpRejection(400, errorCodes.headerMismatch, `Header mismatch: ${mismatch}`, id);
    const info = body.params?._meta?.[metaKeys.clientInfo] as { name?: unknown; version?: unknown } | undefined;
    const who = `${typeof info?.name === 'string' ? info.name : 'unknown'} ${typeof info?.version === 'string' ? info.version : ''}`.trim();
    if (!modernClients.has(who) && modernClients.size < 100) {
      modernClients.add(who);
      log(`MCP client (${modernVersion}, per request): ${displayText(who, 90)}`);
    }
    const controller = new AbortController();
    // Closing the response stream is the cancellation of this request on Streamable HTTP.
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    let streaming = false;
    const sse = (message: unknown) => res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
    const reply = await modern.handle(body as never, {
      signal: controller.signal,
      notify: async (notification) => {
        // Progress while a person decides: switch this response to an SSE stream the first time there is something to say.
        if (controller.signal.aborted) return;
        if (!streaming && !res.headersSent) {
          streaming = (req.headers.accept ?? '').includes('text/event-stream');
          if (!streaming) return;
          res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' });
        }
        if (streaming) sse(notification);
      },
    });
    if (controller.signal.aborted) return;
    if (streaming) {
      sse(reply.response);
      res.end();
      return;
    }
    res.writeHead(reply.httpStatus, { 'Content-Type': 'application/json' }).end(JSON.stringify(reply.response));
  };

  const httpServer = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const rejection = error instanceof HttpRejection ? error : new HttpRejection(500, -32603, 'Internal error');
      if (!(error instanceof HttpRejection)) log(`MCP HTTP error: ${error instanceof Error ? error.message : String(error)}`);
      if (res.headersSent) {
        res.end();
        return;
      }
      res.writeHead(rejection.status, { 'Content-Type': 'application/json', Connection: 'close' });
      // After a refused oversized body, close instead of draining it: a client must not keep us reading.
      res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: rejection.code, message: rejection.message }, id: rejection.id ?? null }), () => {
        if (rejection.status === 413) req.destroy();
      });
    });
  });

  // A client must send its whole request promptly (a slow, never-finished body would otherwise hold a socket for
  // Node's default 300 s). Only receiving the request is bounded: a response may wait minutes for a human.
  httpServer.headersTimeout = 10_000;
  httpServer.requestTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(0, '127.0.0.1', () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  port = (httpServer.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/mcp`,
    token,
    port,
    async close() {
      await Promise.all([...sessions.entries()].map(([id, open]) => closeSession(id, open)));
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw new HttpRejection(413, -32000, `Payload too large: at most ${maxBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxBytes) throw new HttpRejection(413, -32000, `Payload too large: at most ${maxBytes} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpRejection(400, -32700, 'Parse error: the body is not valid JSON');
  }
}
