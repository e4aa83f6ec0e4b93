// Claude Code does not read VS Code's MCP registry: a stdio relay (entry in .mcp.json) finds this window's
// server through a discovery file (mode 0600) and forwards to it, so Claude's writes hit the same approval modal.
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { mcpJsonProblem } from '../core/mcpJsonFile';
import type { RunningHost } from './mcpProvider';

export const mcpServerName = 'krr';

export interface RelayEntry {
  command: string;
  args: string[];
}

export class McpJsonError extends Error {
  override readonly name = 'McpJsonError';
}

export function relayEntry(relayPath: string, discoveryPath: string): RelayEntry {
  return { command: 'node', args: [relayPath, 'relay', '--discovery', discoveryPath] };
}

/**
 * Adds (or updates) `mcpServers.krr` and keeps everything else byte-for-byte meaningful. Refuses to touch a
 * file that is not a JSON object, so a hand-edited file with a typo is never clobbered.
 */
export function mergeMcpJson(existing: string | undefined, entry: RelayEntry): string {
  let document: Record<string, unknown> = {};
  if (existing !== undefined && existing.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(existing);
    } catch (error) {
      throw new McpJsonError(`.mcp.json is not valid JSON (${error instanceof Error ? error.message : String(error)}); fix it first, nothing was changed.`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new McpJsonError('.mcp.json is not a JSON object; nothing was changed.');
    document = parsed as Record<string, unknown>;
  }
  const servers = document.mcpServers ?? {};
  if (typeof servers !== 'object' || servers === null || Array.isArray(servers)) throw new McpJsonError('"mcpServers" in .mcp.json is not an object; nothing was changed.');
  return `${JSON.stringify({ ...document, mcpServers: { ...(servers as Record<string, unknown>), [mcpServerName]: entry } }, null, 2)}\n`;
}

/** One discovery file per workspace, so two windows do not overwrite each other's server address. */
export function discoveryPath(globalStorage: string, workspaceKey: string): string {
  const id = createHash('sha256').update(workspaceKey).digest('hex').slice(0, 16);
  return join(globalStorage, 'discovery', `${id}.json`);
}

export async function writeDiscoveryFile(path: string, host: Pick<RunningHost, 'url' | 'token'>): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  // Created 0600 before the token is written, then renamed into place: the token is never world-readable.
  await writeFile(temporary, `${JSON.stringify({ url: host.url, token: host.token, pid: process.pid })}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

/** Removes the discovery file only if it is ours (another window may have written it since). */
export async function removeDiscoveryFile(path: string): Promise<void> {
  try {
    const content = JSON.parse(await readFile(path, 'utf8')) as { pid?: unknown };
    if (content.pid === process.pid) await rm(path, { force: true });
  } catch {
    // Missing or unreadable: nothing of ours to remove.
  }
}

export interface ClaudeCodeSetup {
  extensionPath: string;
  globalStorage: string;
  workspaceFolder: vscode.Uri | undefined;
  startHost: () => Promise<RunningHost>;
  log: (line: string) => void;
}

/** `KRR: Set Up Claude Code`: consent, copy the relay, write discovery, merge .mcp.json. */
export async function setUpClaudeCode(setup: ClaudeCodeSetup): Promise<boolean> {
  const folder = setup.workspaceFolder;
  if (!folder) {
    void vscode.window.showErrorMessage('KRR: open a folder first; Claude Code reads .mcp.json from the workspace folder.');
    return false;
  }
  const mcpJson = vscode.Uri.joinPath(folder, '.mcp.json');
  // Before asking: the dialog names this path, so a link there (which would carry the write elsewhere) is refused.
  const problem = await mcpJsonProblem(mcpJson.fsPath);
  if (problem !== null) {
    void vscode.window.showErrorMessage(`KRR: ${problem}`);
    return false;
  }
  const consent = await vscode.window.showWarningMessage(
    'Let Claude Code use KRR through this VS Code window?',
    {
      modal: true,
      detail:
        `This adds a "${mcpServerName}" server to ${mcpJson.fsPath} that relays to the KRR server of this window. ` +
        'Every change Claude proposes is still shown as a diff and applied only after you approve it here.',
    },
    'Set Up',
  );
  if (consent !== 'Set Up') return false;

  let existing: string | undefined;
  try {
    existing = Buffer.from(await vscode.workspace.fs.readFile(mcpJson)).toString('utf8');
  } catch {
    existing = undefined;
  }
  const relayPath = join(setup.globalStorage, 'relay', 'krr-mcp.js');
  const discovery = discoveryPath(setup.globalStorage, folder.toString());
  let merged: string;
  try {
    merged = mergeMcpJson(existing, relayEntry(relayPath, discovery));
  } catch (error) {
    void vscode.window.showErrorMessage(`KRR: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
  await mkdir(dirname(relayPath), { recursive: true });
  await copyFile(join(setup.extensionPath, 'dist', 'krr-mcp.js'), relayPath);
  const host = await setup.startHost();
  await writeDiscoveryFile(discovery, host);
  // Again just before the write: a link may have been put there while the dialog was open.
  const problemNow = await mcpJsonProblem(mcpJson.fsPath);
  if (problemNow !== null) {
    void vscode.window.showErrorMessage(`KRR: ${problemNow}`);
    return false;
  }
  await vscode.workspace.fs.writeFile(mcpJson, Buffer.from(merged, 'utf8'));
  setup.log(`Claude Code set up: ${mcpJson.fsPath} -> relay ${relayPath}, discovery ${discovery}`);
  void vscode.window.showInformationMessage(`KRR: Claude Code can now use KRR in this folder (restart Claude Code to pick up ${mcpJson.fsPath}).`);
  return true;
}
