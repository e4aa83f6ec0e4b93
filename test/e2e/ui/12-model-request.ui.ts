// A model's apply request, as the person sees it: an MCP client (here the SDK, through the same loopback server Claude
// Code's relay uses) proposes and asks to apply. No modal opens by itself — a notice names the client, the plan and
// the context; the modal opens only after "Review…", where an early click on Apply is asked again and Enter presses Decline. The model's next request for that
// context is then refused without showing anything.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { TestCluster } from '../../support/kube-api-server';
import { containerResources, readAuditEntries, startKrrEnvironment, testContext } from '../lib/krrEnvironment';
import { focusedDialogButton, until, withoutIsolates } from '../lib/krrWorkbench';
import type { UiTest } from '../lib/uiTest';

let cluster: TestCluster | undefined;
const frontend = ['apps/v1', 'Deployment', 'shop', 'frontend'] as const;

function structured(result: CallToolResult): Record<string, unknown> {
  assert.ok(result.structuredContent, JSON.stringify(result.content));
  return result.structuredContent;
}

export const uiTest: UiTest = {
  title: "a model's apply request: a notice first, the modal only after Review…, Enter declines, the next request is rate-limited",
  timeoutMs: 150_000,
  async prepare() {
    // This test is about the modal alone: typed confirmation (ui/11) is turned off here, and only here.
    const environment = await startKrrEnvironment({ settings: { 'krr.confirmByTyping': [] } });
    cluster = environment.cluster;
    return environment;
  },
  async run({ workbench, server }) {
    if (!cluster) throw new Error('prepare did not start the test cluster');
    const test = cluster;
    const before = containerResources(test, ...frontend);

    // The consented Claude Code setup writes the discovery file (URL and token of this window's MCP server).
    await workbench.runCommand('KRR: Set Up Claude Code');
    await workbench.answerDialog('Set Up');
    const discoveryDir = path.join(server.root, 'user-data', 'User', 'globalStorage', 'krr-mcp.krr-mcp', 'discovery');
    const discovery = await until('the discovery file', () => {
      const file = fs.existsSync(discoveryDir) ? fs.readdirSync(discoveryDir).find((name) => name.endsWith('.json')) : undefined;
      return file ? (JSON.parse(fs.readFileSync(path.join(discoveryDir, file), 'utf8')) as { url: string; token: string }) : undefined;
    });
    const client = new Client({ name: 'Copilot', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(discovery.url), { requestInit: { headers: { Authorization: `Bearer ${discovery.token}` } } }));
    try {
      const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 })) as CallToolResult;
      const scan = structured(await call('krr_scan', {}));
      const plan = structured(await call('krr_propose_changes', { reportId: scan.reportId, workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'frontend' }] }));
      const planId = String(plan.planId);

      // The model asks: a notice, not a modal.
      const applying = call('krr_apply_plan', { planId });
      const notice = workbench.page.locator('.notification-toast', { hasText: `asks to apply ${planId}` }).first();
      await notice.waitFor({ state: 'visible' });
      assert.match(withoutIsolates(await notice.innerText()), new RegExp(`KRR: the AI chat \\(Copilot\\) asks to apply ${planId} \\(1 change in ${testContext}\\)\\.`));
      assert.equal(await workbench.page.locator('.monaco-dialog-box').count(), 0, 'no modal opened by itself');
      await workbench.screenshot('model-request-notice');

      // Review… opens the diff and the modal; the focused button is Decline, so Enter declines.
      await notice.getByRole('button', { name: 'Review…' }).click();
      const dialog = workbench.page.locator('.monaco-dialog-box');
      await dialog.waitFor({ state: 'visible' });
      const text = await dialog.innerText();
      assert.match(text, /Proposed by the AI chat \(Copilot\)\.\s+Apply requested by the AI chat \(Copilot\)\./);
      assert.equal(await focusedDialogButton(workbench), 'Decline');
      await workbench.screenshot('model-request-modal');
      // A stray click on Apply as the dialog appears is not an approval: the dialog asks again.
      await dialog.getByRole('button', { name: 'Apply 1 change', exact: true }).click();
      await dialog.locator('.dialog-message-detail', { hasText: 'as the dialog opened' }).waitFor({ state: 'visible' });
      assert.equal(test.writes().length, 0, 'the early click wrote nothing');
      assert.equal(await focusedDialogButton(workbench), 'Decline');
      await workbench.page.keyboard.press('Enter');
      await dialog.waitFor({ state: 'hidden' });
      const declined = structured(await applying);
      assert.equal(declined.status, 'declined', JSON.stringify(declined));

      // The model tries again at once: refused, nothing shown, audited.
      const again = structured(await call('krr_propose_changes', { reportId: scan.reportId, workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'frontend' }] }));
      const refused = structured(await call('krr_apply_plan', { planId: again.planId }));
      assert.equal(refused.status, 'refused');
      assert.match(String(refused.message), /refused for another \d+ s/);
      assert.equal(await workbench.page.locator('.notification-toast', { hasText: `asks to apply ${String(again.planId)}` }).count(), 0);
      assert.equal(await dialog.count(), 0);
      const audit = readAuditEntries(server.root);
      assert.ok(audit.some((entry) => entry.action === 'refuse' && entry.planId === again.planId), 'the refusal is audited');
      assert.equal(test.writes().length, 0);
      assert.deepEqual(containerResources(test, ...frontend), before);
    } finally {
      await client.close();
    }
  },
};
