// The standalone MCP server on stdin/stdout: one process, one MCP session, approval by elicitation.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { fileManifestWriter } from '../core/gitops/apply';
import { Session } from '../core/session/session';
import type { SessionSettings } from '../core/session/settings';
import { ElicitationApprover } from './elicitationApprover';
import { createMcpServer } from './server';
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
  // Exactly one MCP session per process, so the approver can belong to this server.
  approver.bind(server.server);
  server.server.oninitialized = () => {
    const client = server.server.getClientVersion();
    const elicitation = server.server.getClientCapabilities()?.elicitation ? 'with' : 'WITHOUT';
    options.log(`client ${displayText(client?.name ?? 'unknown', 60)} ${displayText(client?.version ?? '', 30)} connected ${elicitation} elicitation${elicitation === 'WITHOUT' ? ' (every write will be refused)' : ''}`);
  };
  const closed = new Promise<void>((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
  });
  await server.connect(new StdioServerTransport());
  options.log(`serving MCP on stdio (state in ${options.stateDir}${options.settings.readOnly ? ', read-only' : ''})`);
  await closed;
  session.dispose();
  await server.close();
}
