// `krr-mcp relay`: an MCP stdio server that forwards every message to the KRR extension's loopback HTTP server,
// so clients that only speak stdio (Claude Code) get the same tools and the same approval dialog in VS Code.
import { readFileSync, statSync } from 'node:fs';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { InitializeResultSchema, isJSONRPCRequest, isJSONRPCResultResponse, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

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

  stdio.onmessage = (message) => {
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
