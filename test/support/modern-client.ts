// A small MCP 2026-07-28 client for tests: no initialize, every request carries its protocol version, client info and
// capabilities in _meta; over stdio (newline-delimited JSON-RPC on a spawned server, or a fresh server process for every
// request: `perCall`) or Streamable HTTP (one POST per request with MCP-Protocol-Version, Mcp-Method and Mcp-Name).
// `callTool` follows multi round-trip requests: on `input_required` it asks `answer` for each input request and calls
// again with inputResponses and the requestState.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

export const modernVersion = '2026-07-28';

export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

export interface RpcReply {
  result?: Record<string, unknown>;
  error?: RpcError;
  /** HTTP only: the response status. */
  status?: number;
  /** Notifications that came before the reply (progress). */
  notifications: unknown[];
}

export interface InputRequest {
  method: string;
  params: { mode?: string; message?: string; requestedSchema?: { properties?: Record<string, unknown>; required?: string[] } } & Record<string, unknown>;
}

/** Answers one round of input requests (key → request); returns the inputResponses to send back. */
export type InputAnswerer = (requests: Record<string, InputRequest>) => Record<string, unknown> | Promise<Record<string, unknown>>;

export interface ModernClientOptions {
  name?: string;
  version?: string;
  capabilities?: Record<string, unknown>;
}

interface Wire {
  send(body: Record<string, unknown>, headers: Record<string, string>, signal?: AbortSignal): Promise<RpcReply>;
  close(): Promise<void>;
}

export class ModernClient {
  private nextId = 1;
  /** Every input_required round seen, for assertions. */
  readonly rounds: Array<{ inputRequests: Record<string, InputRequest>; requestState: string }> = [];

  private constructor(
    private readonly wire: Wire,
    private readonly options: ModernClientOptions,
  ) {}

  static stdio(command: string, args: string[], spawnOptions: { cwd?: string; env?: NodeJS.ProcessEnv }, options: ModernClientOptions = {}): { client: ModernClient; stderr: string[]; child: ChildProcessWithoutNullStreams } {
    const { wire, stderr, child } = stdioWire(command, args, spawnOptions);
    return { client: new ModernClient(wire, options), stderr, child };
  }

  /**
   * A client that starts the server anew for every single message (as some MCP clients do: one process per call):
   * each request — also each retry of an input_required round — goes to a fresh `command args` process, which is
   * closed once it answered. Only what the server keeps in its state directory connects one call to the next.
   */
  static perCall(command: string, args: string[], spawnOptions: { cwd?: string; env?: NodeJS.ProcessEnv }, options: ModernClientOptions = {}): { client: ModernClient; stderr: string[]; processes: () => number } {
    const stderr: string[] = [];
    let processes = 0;
    const wire: Wire = {
      send: async (body, headers, signal) => {
        const started = stdioWire(command, args, spawnOptions);
        processes++;
        try {
          return await started.wire.send(body, headers, signal);
        } finally {
          await started.wire.close();
          stderr.push(...started.stderr);
        }
      },
      close: async () => undefined,
    };
    return { client: new ModernClient(wire, options), stderr, processes: () => processes };
  }

  static http(url: string, token: string, options: ModernClientOptions = {}): ModernClient {
    const wire: Wire = {
      send: async (body, headers, signal) => {
        const response = await fetch(url, {
          ...(signal ? { signal } : {}),
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', Authorization: `Bearer ${token}`, ...headers },
          body: JSON.stringify(body),
        });
        const notifications: unknown[] = [];
        const text = await response.text();
        let message: { result?: Record<string, unknown>; error?: RpcError } = {};
        if ((response.headers.get('content-type') ?? '').includes('text/event-stream')) {
          for (const event of text.split('\n\n')) {
            const data = event.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('\n');
            if (!data) continue;
            const parsed = JSON.parse(data) as { id?: unknown; method?: string };
            if (parsed.method) notifications.push(parsed);
            else message = parsed as typeof message;
          }
        } else if (text) {
          message = JSON.parse(text) as typeof message;
        }
        return { ...(message.result ? { result: message.result } : {}), ...(message.error ? { error: message.error } : {}), status: response.status, notifications };
      },
      close: async () => undefined,
    };
    return new ModernClient(wire, options);
  }

  /** Capabilities are per request in this revision: later requests declare these. */
  setCapabilities(capabilities: Record<string, unknown>): void {
    this.options.capabilities = capabilities;
  }

  /** The _meta every request carries. */
  meta(): Record<string, unknown> {
    return {
      'io.modelcontextprotocol/protocolVersion': modernVersion,
      'io.modelcontextprotocol/clientInfo': { name: this.options.name ?? 'modern-test-client', version: this.options.version ?? '1.0.0' },
      'io.modelcontextprotocol/clientCapabilities': this.options.capabilities ?? {},
    };
  }

  /** One request; `raw` sends params (and headers) exactly as given, for tests of malformed requests. */
  async request(method: string, params: Record<string, unknown> = {}, raw?: { headers?: Record<string, string>; noMeta?: boolean }): Promise<RpcReply> {
    const body = { jsonrpc: '2.0', id: this.nextId++, method, params: raw?.noMeta ? params : { ...params, _meta: { ...this.meta(), ...(params._meta as object | undefined) } } };
    const headers: Record<string, string> = { 'MCP-Protocol-Version': modernVersion, 'Mcp-Method': method };
    if (method === 'tools/call' && typeof params.name === 'string') headers['Mcp-Name'] = params.name;
    return this.wire.send(body, { ...headers, ...raw?.headers });
  }

  /**
   * A request that can be cancelled the way the revision says: on stdio a notifications/cancelled naming its id, on
   * HTTP by closing its response stream.
   */
  cancellable(method: string, params: Record<string, unknown> = {}): { reply: Promise<RpcReply>; cancel(): Promise<void> } {
    const id = this.nextId++;
    const controller = new AbortController();
    const headers: Record<string, string> = { 'MCP-Protocol-Version': modernVersion, 'Mcp-Method': method };
    if (method === 'tools/call' && typeof params.name === 'string') headers['Mcp-Name'] = params.name;
    const reply = this.wire.send({ jsonrpc: '2.0', id, method, params: { ...params, _meta: this.meta() } }, headers, controller.signal);
    return {
      reply,
      cancel: async () => {
        controller.abort();
        await this.wire.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'test' } }, {}).catch(() => undefined);
      },
    };
  }

  /**
   * tools/call, following input_required rounds (at most `maxRounds`) with `answer`; without `answer` the first
   * input_required result is returned as it is.
   */
  async callTool(name: string, args: Record<string, unknown> = {}, answer?: InputAnswerer, maxRounds = 3): Promise<RpcReply> {
    let extra: Record<string, unknown> = {};
    for (let round = 0; ; round++) {
      const reply = await this.request('tools/call', { name, arguments: args, ...extra });
      const result = reply.result;
      if (!result || result.resultType !== 'input_required' || !answer || round >= maxRounds) return reply;
      const inputRequests = (result.inputRequests ?? {}) as Record<string, InputRequest>;
      const requestState = result.requestState as string;
      this.rounds.push({ inputRequests, requestState });
      extra = { inputResponses: await answer(inputRequests), requestState };
    }
  }

  async close(): Promise<void> {
    await this.wire.close();
  }
}

/** Newline-delimited JSON-RPC with one spawned server process: the wire of ModernClient.stdio and .perCall. */
function stdioWire(command: string, args: string[], spawnOptions: { cwd?: string; env?: NodeJS.ProcessEnv }): { wire: Wire; stderr: string[]; child: ChildProcessWithoutNullStreams } {
  const child = spawn(command, args, { ...spawnOptions, stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  const waiting = new Map<string | number, { resolve: (reply: RpcReply) => void; notifications: unknown[] }>();
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    let message: { id?: string | number; method?: string; result?: Record<string, unknown>; error?: RpcError; params?: { progressToken?: unknown } };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      return;
    }
    if (message.id !== undefined && message.method === undefined) {
      const entry = waiting.get(message.id);
      waiting.delete(message.id);
      entry?.resolve({ ...(message.result ? { result: message.result } : {}), ...(message.error ? { error: message.error } : {}), notifications: entry.notifications });
    } else if (message.method === 'notifications/progress') {
      for (const entry of waiting.values()) entry.notifications.push(message);
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A server that dies without answering must fail the request, not hang the test.
  child.once('close', (code, signal) => {
    for (const entry of waiting.values()) entry.resolve({ error: { code: -1, message: `the server process ended (${signal ?? `exit ${code}`}) without answering` }, notifications: entry.notifications });
    waiting.clear();
  });
  const wire: Wire = {
    send: (body) =>
      new Promise<RpcReply>((resolve, reject) => {
        if (body.id !== undefined) waiting.set(body.id as string | number, { resolve, notifications: [] });
        child.stdin.write(`${JSON.stringify(body)}\n`, (error) => (error ? reject(error) : undefined));
        if (body.id === undefined) resolve({ notifications: [] });
      }),
    close: async () => {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
  return { wire, stderr, child };
}

/** The approval answer a person would give in the client's form: accept, approve, and type the context when asked. */
export function approveAll(context?: string): InputAnswerer {
  return (requests) =>
    Object.fromEntries(
      Object.entries(requests).map(([key, request]) => {
        const typed = request.params.requestedSchema?.required?.includes('context') ? { context } : {};
        return [key, { action: 'accept', content: { approve: true, ...typed } }];
      }),
    );
}
