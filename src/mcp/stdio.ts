// The standalone MCP server on stdin/stdout, approval by elicitation: 2025-era clients (initialize) get the SDK's
// server, one session per process; 2026-07-28 requests (server/discover, _meta protocol version) are answered per request.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { fileManifestWriter } from '../core/gitops/apply';
import { Session } from '../core/session/session';
import type { SessionSettings } from '../core/settings';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describeElicitation, ElicitationApprover } from './elicitationApprover';
import { isModernMessage, metaKeys, ModernDispatcher, modernVersion } from './modern';
import { createMcpServer } from './server';
import { watchTrials } from './trialWatch';
import { displayText } from '../core/text';

export interface StdioServeOptions {
  settings: SessionSettings;
  stateDir: string;
  version: string;
  /** stderr only: stdout is the MCP channel. */
  log: (line: string) => void;
  /** Base for relative report paths; default: the working directory. */
  workspaceRoot?: string;
  /** From KRR_PROMETHEUS_AUTH_HEADER; sent only to settings.prometheusUrl. */
  prometheusAuthHeader?: string;
  /** --workspace: folders whose manifests the "manifests" target edits (files written atomically). */
  workspaceFolders?: string[];
}

/** Serves until stdin closes. */
export async function serveStdio(options: StdioServeOptions): Promise<void> {
  const approver = new ElicitationApprover(() => options.settings.approvalTimeoutSeconds);
  const header = options.prometheusAuthHeader;
  // No SecretStorage outside VS Code: the session's default keeps the audit key in a 0600 file in the state directory.
  const session = new Session({
    settings: () => options.settings,
    approver,
    stateDir: options.stateDir,
    log: options.log,
    ...(header ? { secrets: { prometheusAuthHeader: async () => header } } : {}),
    ...(options.workspaceFolders && options.workspaceFolders.length > 0 ? { workspace: { folders: () => options.workspaceFolders ?? [], writer: fileManifestWriter() } } : {}),
  });
  const server = createMcpServer(session, {
    version: options.version,
    readOnly: options.settings.readOnly,
    approvalVia: 'elicitation',
    log: options.log,
    workspaceRoot: options.workspaceRoot ?? process.cwd(),
  });
  // Exactly one 2025-era MCP session per process, so the approver can belong to this server.
  approver.bind(server.server);
  server.server.oninitialized = () => {
    const client = server.server.getClientVersion();
    options.log(`client ${displayText(client?.name ?? 'unknown', 60)} ${displayText(client?.version ?? '', 30)} connected (2025 era, initialize) ${describeElicitation(server.server.getClientCapabilities())}`);
  };
  const modern = new ModernDispatcher(session, {
    version: options.version,
    readOnly: options.settings.readOnly,
    approvalVia: 'elicitation',
    log: options.log,
    workspaceRoot: options.workspaceRoot ?? process.cwd(),
    stateTtlMs: () => options.settings.approvalTimeoutSeconds * 1000,
    stateDir: options.stateDir,
  });
  // No editor runs the trial watch here; a read-only server writes nothing, so it does not revert either.
  const watch = options.settings.readOnly ? undefined : watchTrials(session, () => options.settings.trial.pollSeconds, options.log);
  const closed = new Promise<void>((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
  });
  const transport = new StdioServerTransport();
  await server.connect(transport);
  serveModernOnStdio(transport, modern, options.log);
  options.log(`serving MCP on stdio (state in ${options.stateDir}${options.settings.readOnly ? ', read-only' : ''})`);
  await closed;
  watch?.stop();
  session.dispose();
  await server.close();
}

/**
 * Puts the 2026-07-28 dispatch in front of the SDK on one stdio transport: a modern request is answered by `modern`,
 * anything else reaches the SDK's handler as before. Both eras may share the process (the spec's dual-era server).
 */
export function serveModernOnStdio(transport: StdioServerTransport, modern: ModernDispatcher, log: (line: string) => void): void {
  const sdk = transport.onmessage;
  const inFlight = new Map<string | number, AbortController>();
  const seen = new Set<string>();
  transport.onmessage = (message: JSONRPCMessage) => {
    const raw = message as { id?: string | number; method?: string; params?: Record<string, unknown> };
    // stdio cancellation of a modern request (the only client notification the revision keeps).
    if (raw.method === 'notifications/cancelled' && raw.id === undefined) {
      const controller = inFlight.get(raw.params?.requestId as string | number);
      if (controller) {
        controller.abort();
        return;
      }
    }
    if (!isModernMessage(message) || raw.id === undefined) {
      sdk?.(message);
      return;
    }
    const request = message as Parameters<ModernDispatcher['handle']>[0];
    const info = (raw.params?._meta as Record<string, unknown> | undefined)?.[metaKeys.clientInfo] as { name?: unknown; version?: unknown } | undefined;
    const who = `${typeof info?.name === 'string' ? info.name : 'unknown'} ${typeof info?.version === 'string' ? info.version : ''}`.trim();
    if (!seen.has(who) && seen.size < 100) {
      seen.add(who);
      const capabilities = (raw.params?._meta as Record<string, unknown> | undefined)?.[metaKeys.clientCapabilities];
      log(`client ${displayText(who, 90)} speaks ${modernVersion} (per request) ${describeElicitation(capabilities)}`);
    }
    const controller = new AbortController();
    inFlight.set(request.id, controller);
    modern
      .handle(request, { signal: controller.signal, notify: (notification) => transport.send(notification) })
      .then((reply) => {
        // After a cancellation the spec wants no response for that request.
        if (!controller.signal.aborted) return transport.send(reply.response as JSONRPCMessage);
        return undefined;
      })
      .catch((error: unknown) => log(`could not answer a ${modernVersion} request: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => inFlight.delete(request.id));
  };
}
