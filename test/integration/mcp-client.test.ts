// VS Code's own MCP client against our server, inside the real extension host, with the test cluster from
// environment.ts: the nine tools appear in vscode.lm.tools, a read-only tool answers through vscode.lm.invokeTool,
// and the server logs the client's initialize.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import type { KrrTestApi } from '../../src/extension';

const toolNames = [
  'krr_apply_plan',
  'krr_audit_log',
  'krr_list_recommendations',
  'krr_list_snapshots',
  'krr_load_report',
  'krr_propose_changes',
  'krr_rollback',
  'krr_scan',
  'krr_status',
];

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function ourTools(): vscode.LanguageModelToolInformation[] {
  return vscode.lm.tools.filter((tool) => toolNames.some((name) => tool.name.endsWith(`_${name}`)));
}

/** Every file under `dir` named `name` (the extension's log channel lives in <user-data>/logs/<session>/…/krr-mcp.krr-mcp/KRR.log). */
function findFiles(dir: string, name: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith(`/${name}`) || file === name)
    .map((file) => join(dir, file));
}

describe('VS Code MCP client (against the test cluster)', function () {
  this.timeout(60_000);
  let api: KrrTestApi;

  before(async () => {
    const extension = vscode.extensions.getExtension<KrrTestApi>('krr-mcp.krr-mcp');
    assert.ok(extension);
    const activated = await extension.activate();
    assert.ok(activated, 'the test API');
    api = activated;
    assert.equal(vscode.workspace.getConfiguration('krr').get('context'), 'prod-eu-1', 'environment.ts settings reached the extension host');
    // Right after activation the provider may not be collected yet: start until the tools are live (bounded).
    await until(
      'our tools in vscode.lm.tools',
      async () => {
        await vscode.commands.executeCommand('workbench.mcp.startServer', '*', { waitForLiveTools: true });
        return ourTools().length === toolNames.length ? true : undefined;
      },
      40_000,
    );
  });

  it('lists all nine tools, marked as MCP tools', () => {
    const names = ourTools().map((tool) => tool.name.replace(/^.*_(krr_[a-z_]+)$/, '$1')).sort();
    assert.deepEqual(names, toolNames);
    for (const tool of ourTools()) assert.ok(tool.tags.includes('mcp'), `${tool.name} tags: ${tool.tags.join(', ')}`);
  });

  it('calls krr_status through vscode.lm.invokeTool and gets the test cluster back', async () => {
    const status = ourTools().find((tool) => tool.name.endsWith('_krr_status'));
    assert.ok(status);
    const result = await vscode.lm.invokeTool(status.name, { input: {}, toolInvocationToken: undefined });
    const text = result.content.map((part) => (part instanceof vscode.LanguageModelTextPart ? part.value : '')).join('\n');
    // VS Code hands the model the tool's structured content (JSON) when there is one.
    const structured = text.split('\n').flatMap((part) => {
      try {
        return [JSON.parse(part) as { context?: string; server?: string; reachable?: boolean; readOnly?: boolean; krr?: { version?: string } }];
      } catch {
        return [];
      }
    })[0];
    assert.ok(structured, `a JSON status in: ${text}`);
    assert.equal(structured.context, 'prod-eu-1');
    assert.match(structured.server ?? '', /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(structured.reachable, true, 'kubectl reached the test cluster from the extension host');
    assert.equal(structured.readOnly, false);
    assert.equal(structured.krr?.version, '1.29.0', 'the krr stand-in ran (node is on the PATH the extension host sees)');
  });

  it("logs VS Code's initialize in the KRR output channel", async () => {
    // stateDir is <user-data>/User/workspaceStorage/<hash>/krr-mcp.krr-mcp
    const userData = dirname(dirname(dirname(dirname(api.stateDir))));
    const line = await until(
      'an "MCP client connected" line in KRR.log',
      () => {
        for (const file of findFiles(join(userData, 'logs'), 'KRR.log')) {
          const found = readFileSync(file, 'utf8').split('\n').find((entry) => entry.includes('MCP client connected:'));
          if (found) return found;
        }
        return undefined;
      },
      20_000,
    );
    assert.doesNotMatch(line, /connected: unknown/, line);
  });
});
