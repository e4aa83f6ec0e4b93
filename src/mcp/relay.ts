// `krr-mcp relay`: an MCP stdio server that forwards every message to the KRR extension's loopback HTTP server,
// so clients that only speak stdio (Claude Code) get the same tools and the same approval dialog in VS Code.
import { readFileSync, statSync } from 'node:fs';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { InitializeResultSchema, isJSONRPCRequest, isJSONRPCResultResponse, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { isModernMessage, metaKeys, modernVersion } from './modern';

export const notRunningMessage = 'the KRR extension is not running in VS Code — open the workspace in VS Code';

/** Written by the extension (mode 0600) when its server starts. */
export const discoverySchema = z.object({
  url: z.url({ protocol: /^http$/, hostname: /^(127\.0\.0\.1|localhost)$/ }),
  token: z.string().min(32).max(200),
  pid: z.number().int().positive(),
});
export type Discovery = z.infer<typeof discoverySchema>;

export interface RelayOptions {
  discoveryFile: string | undefined;
  log: (line: string) => void;
  stdin?: NodeJS.ReadableStream & { pause(): unknown };
  stdout?: NodeJS.WritableStream;
}

class RelayError extends Error {}

/** Reads and checks the discovery file; the token goes only to a loopback URL of a live process. */
export function readDiscovery(file: string | undefined): Discovery {
  if (!file) throw new RelayError(`${notRunningMessage} (no discovery file: set KRR_MCP_DISCOVERY or pass --discovery)`);
  let text: string;
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
    text = readFileSync(file, 'utf8');
  } catch {
    throw new RelayError(`${notRunningMessage} (no discovery file at ${file})`);
  }
  let discovery: Discovery;
  try {
    discovery = discoverySchema.parse(JSON.parse(text));
  } catch {
    throw new RelayError(`${notRunningMessage} (the discovery file ${file} is not valid; reload the VS Code window)`);
  }
  try {
    process.kill(discovery.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else; only ESRCH means it is gone.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') throw new RelayError(`${notRunningMessage} (the process ${discovery.pid} from the discovery file has exited)`);
  }
  return discovery;
}

/** Runs until stdin closes. */
export async function runRelay(options: RelayOptions): Promise<void> {
  const stdio = new StdioServerTransport(options.stdin as never, options.stdout as never);
  let upstream: StreamableHTTPClientTransport | undefined;
  // Messages are forwarded in order; a POST resolves at its response headers, so this does not serialize calls.
  let queue = Promise.resolve();
  const pendingInitialize = new Set<string | number>();

  const connect = async (): Promise<StreamableHTTPClientTransport> => {
    const discovery = readDiscovery(options.discoveryFile);
    const transport = new StreamableHTTPClientTransport(new URL(discovery.url), {
      requestInit: { headers: { Authorization: `Bearer ${discovery.token}` } },
    });
    transport.onmessage = (message) => {
      if (isJSONRPCResultResponse(message) && pendingInitialize.delete(message.id)) {
        const result = InitializeResultSchema.safeParse(message.result);
        if (result.success) transport.setProtocolVersion(result.data.protocolVersion);
      }
      stdio.send(message).catch(() => undefined);
    };
    transport.onerror = (error) => options.log(`relay: ${error.message}`);
    await transport.start();
    return transport;
  };

  const forward = async (message: JSONRPCMessage): Promise<void> => {
    try {
      upstream ??= await connect();
      if (isJSONRPCRequest(message) && message.method === 'initialize') pendingInitialize.add(message.id);
      await upstream.send(message);
    } catch (error) {
      // The next message reads the discovery file again (the extension may have restarted on a new port).
      const stale = upstream;
      upstream = undefined;
      await stale?.close().catch(() => undefined);
      const reason = error instanceof RelayError ? error.message : `${notRunningMessage} (${error instanceof Error ? error.message : String(error)})`;
      options.log(reason);
      if (isJSONRPCRequest(message)) await stdio.send({ jsonrpc: '2.0', id: message.id, error: { code: -32000, message: reason } });
    }
  };

  // 2026-07-28 requests are independent (no session): each is its own POST with the revision's headers, forwarded at
  // once so a request waiting for a person's approval holds up nothing else.
  const modernInFlight = new Map<string | number, AbortController>();
  const forwardModern = async (message: JSONRPCMessage & { id: string | number; method: string; params?: Record<string, unknown> }): Promise<void> => {
    const controller = new AbortController();
    modernInFlight.set(message.id, controller);
    try {
      const discovery = readDiscovery(options.discoveryFile);
      const meta = message.params?._meta as Record<string, unknown> | undefined;
      const version = meta?.[metaKeys.protocolVersion];
      const headers: Record<string, string> = {
        Authorization: `Bearer ${discovery.token}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'MCP-Protocol-Version': typeof version === 'string' ? version : modernVersion,
        'Mcp-Method': message.method,
      };
      const name = message.params?.name;
      if (message.method === 'tools/call' && typeof name === 'string') headers['Mcp-Name'] = /^[\x21-\x7e]*$/.test(name) && !name.startsWith('=?base64?') ? name : `=?base64?${Buffer.from(name, 'utf8').toString('base64')}?=`;
      const response = await fetch(discovery.url, { method: 'POST', headers, body: JSON.stringify(message), signal: controller.signal });
      if ((response.headers.get('content-type') ?? '').includes('text/event-stream') && response.body) {
        await relayEvents(response.body, (data) => stdio.send(data as JSONRPCMessage));
      } else {
        const text = await response.text();
        await stdio.send((text ? JSON.parse(text) : { jsonrpc: '2.0', id: message.id, error: { code: -32603, message: `HTTP ${response.status} without a body` } }) as JSONRPCMessage);
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      const reason = error instanceof RelayError ? error.message : `${notRunningMessage} (${error instanceof Error ? error.message : String(error)})`;
      options.log(reason);
      await stdio.send({ jsonrpc: '2.0', id: message.id, error: { code: -32000, message: reason } }).catch(() => undefined);
    } finally {
      modernInFlight.delete(message.id);
    }
  };

  stdio.onmessage = (message) => {
    const raw = message as { id?: string | number; method?: string; params?: { requestId?: string | number } };
    // Cancelling a forwarded 2026-07-28 request = closing its HTTP response stream.
    if (raw.method === 'notifications/cancelled' && raw.id === undefined && raw.params?.requestId !== undefined && modernInFlight.has(raw.params.requestId)) {
      modernInFlight.get(raw.params.requestId)?.abort();
      return;
    }
    if (isModernMessage(message) && raw.id !== undefined && raw.method !== undefined) {
      void forwardModern(message as JSONRPCMessage & { id: string | number; method: string });
      return;
    }
    queue = queue.then(() => forward(message));
  };
  stdio.onerror = (error) => options.log(`relay: ${error.message}`);
  const input = options.stdin ?? process.stdin;
  const closed = new Promise<void>((resolve) => {
    input.once('end', resolve);
    input.once('close', resolve);
  });
  await stdio.start();
  await closed;
  await queue;
  if (upstream) {
    await upstream.terminateSession().catch(() => undefined);
    await upstream.close().catch(() => undefined);
  }
}

/** Reads an SSE response body and hands each event's JSON data on, in order. */
async function relayEvents(body: ReadableStream<Uint8Array>, send: (message: unknown) => Promise<void>): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  const flush = async (event: string) => {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data) await send(JSON.parse(data) as unknown);
  };
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = /\r?\n\r?\n/.exec(buffer); end; end = /\r?\n\r?\n/.exec(buffer)) {
      const event = buffer.slice(0, end.index);
      buffer = buffer.slice(end.index + end[0].length);
      await flush(event);
    }
  }
  if (buffer.trim()) await flush(buffer);
}
