// VS Code's own MCP client against our server, inside the real extension host, with the test cluster from
// environment.ts: the fourteen tools appear in vscode.lm.tools, a read-only tool answers through vscode.lm.invokeTool,
// and the server logs the client's initialize.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import type { ApprovalDecision } from '../../src/core/model';
import type { KrrTestApi } from '../../src/extension';
import { krrApi, until } from './extensionHost';

const toolNames = [
  'krr_apply_plan',
  'krr_audit_log',
  'krr_explain',
  'krr_list_recommendations',
  'krr_list_snapshots',
  'krr_load_report',
  'krr_persist_trial',
  'krr_propose_changes',
  'krr_propose_trial',
  'krr_revert_trial',
  'krr_rollback',
  'krr_scan',
  'krr_status',
  'krr_trial_status',
];

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
    api = await krrApi();
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

  it('lists all fourteen tools, marked as MCP tools', () => {
    const names = ourTools().map((tool) => tool.name.replace(/^.*_(krr_[a-z_]+)$/, '$1')).sort();
    assert.deepEqual(names, toolNames);
    for (const tool of ourTools()) assert.ok(tool.tags.includes('mcp'), `${tool.name} tags: ${tool.tags.join(', ')}`);
  });

  it('calls krr_status through vscode.lm.invokeTool and gets the test cluster back', async () => {
    const status = ourTools().find((tool) => tool.name.endsWith('_krr_status'));
    assert.ok(status);
    // An earlier suite toggles krr.readOnly, which restarts the server (write tools come and go); VS Code cancels
    // calls in flight on a restart. Ask again after a cancellation, a few times at most.
    let result: vscode.LanguageModelToolResult | undefined;
    for (let attempt = 1; !result; attempt += 1) {
      try {
        result = await vscode.lm.invokeTool(status.name, { input: {}, toolInvocationToken: undefined });
      } catch (error) {
        if (attempt >= 4 || !/Canceled/.test(String(error))) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
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

  it('with chat tool auto-approval on (chat.tools.global.autoApprove, eligibleForAutoApproval), krr_apply_plan still waits for our dialog and writes nothing until it is answered', async () => {
    // VS Code's "Bypass Approvals"/"Autopilot" levels and these settings skip VS Code's own tool confirmation; they must
    // not reach ours. The setting names are those of VS Code 1.104+ (chat.tools.autoApprove was renamed then).
    const chat = vscode.workspace.getConfiguration('chat.tools');
    const tool = (name: string) => {
      const found = ourTools().find((candidate) => candidate.name.endsWith(`_${name}`));
      assert.ok(found, name);
      return found.name;
    };
    const invoke = async (name: string, input: object) => {
      const result = await vscode.lm.invokeTool(tool(name), { input, toolInvocationToken: undefined });
      const text = result.content.map((part) => (part instanceof vscode.LanguageModelTextPart ? part.value : '')).join('\n');
      const structured = text.split('\n').flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      })[0];
      assert.ok(structured, `${name} returned JSON: ${text}`);
      return structured;
    };
    await chat.update('global.autoApprove', true, vscode.ConfigurationTarget.Global);
    // VS Code asks once "Enable global auto approve?" (a dialog tests may not show); this context key is VS Code's own
    // test switch for "the person already opted in", the state of someone who turned auto-approval on.
    await vscode.commands.executeCommand('setContext', 'vscode.chat.tools.global.autoApprove.testMode', true);
    await chat.update('eligibleForAutoApproval', Object.fromEntries(toolNames.map((name) => [tool(name), true])), vscode.ConfigurationTarget.Global);
    let answer: (decision: ApprovalDecision) => void = () => undefined;
    const asked: Array<{ planId: string; notice: string | null }> = [];
    api.setApprovalDialogForTests(async (plan, text) => {
      asked.push({ planId: plan.id, notice: text.notice });
      return new Promise<ApprovalDecision>((resolve) => (answer = resolve));
    });
    try {
      assert.equal(vscode.workspace.getConfiguration('chat.tools').get('global.autoApprove'), true, 'auto-approval is on');
      const scan = await invoke('krr_scan', {});
      const proposed = await invoke('krr_propose_changes', { reportId: scan.reportId, workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'frontend' }] });
      const planId = String(proposed.planId);
      const auditBefore = (await api.session().auditLog({ pageSize: 200 })).entries;
      const snapshotsBefore = (await api.session().listSnapshots()).length;
      let settled = false;
      const applying = invoke('krr_apply_plan', { planId }).finally(() => (settled = true));
      await until('our dialog was asked', () => (asked.length > 0 ? true : undefined), 20_000);
      assert.equal(asked[0]?.planId, planId);
      assert.match(asked[0]?.notice ?? '', /asks to apply/, "a model's request starts with a notice, not a modal");
      // Auto-approval did not answer for the person: the call is still waiting, and nothing was written.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      assert.equal(settled, false, 'krr_apply_plan returned before the person answered');
      const during = (await api.session().auditLog({ pageSize: 200 })).entries.filter((entry) => !auditBefore.some((before) => before.seq === entry.seq));
      assert.deepEqual(during.filter((entry) => ['approve', 'write', 'apply'].includes(entry.action)), [], 'no approval or write while waiting');
      assert.equal((await api.session().listSnapshots()).length, snapshotsBefore, 'no snapshot: no write began');
      answer({ outcome: 'declined', reason: 'integration test' });
      const outcome = await applying;
      assert.equal(outcome.status, 'declined', JSON.stringify(outcome));
      const after = (await api.session().auditLog({ pageSize: 200 })).entries.filter((entry) => !auditBefore.some((before) => before.seq === entry.seq));
      assert.deepEqual(after.filter((entry) => entry.action === 'write'), []);
      assert.ok(after.some((entry) => entry.action === 'decline' && entry.planId === planId && entry.actor.type === 'model'), JSON.stringify(after));
    } finally {
      answer({ outcome: 'declined', reason: 'test cleanup' });
      api.setApprovalDialogForTests(undefined);
      await chat.update('global.autoApprove', undefined, vscode.ConfigurationTarget.Global);
      await chat.update('eligibleForAutoApproval', undefined, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('setContext', 'vscode.chat.tools.global.autoApprove.testMode', undefined);
    }
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
