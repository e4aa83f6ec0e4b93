// `krr-mcp serve --stdio` started from source the way the tests start it, and an SDK Client over a stdio transport,
// optionally answering elicitation (the human at the stdio server's seam).
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema, type ElicitRequest, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { cliArgs } from './cli-bundle';

const repoRoot = path.resolve(__dirname, '..', '..');

/** node's arguments for `krr-mcp serve --stdio <flags>` from source (src/cli.ts, bundled once: cli-bundle.ts). */
export function serveArgs(flags: readonly string[]): string[] {
  return cliArgs(['serve', '--stdio', ...flags]);
}

/** Where a server process runs: the repository, with HOME in the test's folder (not the machine's ~/.kube or settings). */
export function serverProcess(home: string, env: Record<string, string> = {}): { cwd: string; env: Record<string, string> } {
  return { cwd: repoRoot, env: { ...getDefaultEnvironment(), HOME: home, ...env } };
}

/** A stdio transport to `krr-mcp serve --stdio <flags>` from source, its stderr piped for the test to read. */
export function serveTransport(flags: readonly string[], home: string, env: Record<string, string> = {}): StdioClientTransport {
  return new StdioClientTransport({ command: process.execPath, args: serveArgs(flags), ...serverProcess(home, env), stderr: 'pipe' });
}

export type ElicitationAnswer = (params: ElicitRequest['params']) => ElicitResult | Promise<ElicitResult>;

/** Connects; `elicitation` absent = a client without that capability. Every elicitation it sees is kept. */
export async function connectStdioClient(transport: StdioClientTransport, name: string, elicitation?: ElicitationAnswer): Promise<{ client: Client; elicitations: Array<ElicitRequest['params']> }> {
  const elicitations: Array<ElicitRequest['params']> = [];
  const client = new Client({ name, version: '1.0.0' }, { capabilities: elicitation ? { elicitation: { form: {} } } : {} });
  if (elicitation) {
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      elicitations.push(request.params);
      return elicitation(request.params);
    });
  }
  await client.connect(transport);
  return { client, elicitations };
}
