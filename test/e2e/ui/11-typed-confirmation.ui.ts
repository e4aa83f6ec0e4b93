// With the default krr.confirmByTyping ("*prod*"), approving a change to prod-eu-1 also needs the context name typed:
// the modal's button alone writes nothing, a dismissed input box declines, the typed name applies.
import assert from 'node:assert/strict';
import type { TestCluster } from '../../support/kube-api-server';
import { containerResources, startKrrEnvironment, testContext } from '../lib/krrEnvironment';
import { answerApproval, applyPreviewedPlan, scanFromPalette, until } from '../lib/krrWorkbench';
import type { UiTest } from '../lib/uiTest';
import type { Workbench } from '../lib/browser';

let cluster: TestCluster | undefined;
const frontend = ['apps/v1', 'Deployment', 'shop', 'frontend'] as const;

/** `KRR: Preview Changes for Selection` with no panel selection asks for workloads: tick frontend only. */
async function previewFrontend(workbench: Workbench): Promise<void> {
  await workbench.runCommand('KRR: Preview Changes for Selection');
  const widget = workbench.page.locator('.quick-input-widget');
  await widget.locator('.quick-input-title', { hasText: 'workloads to preview' }).waitFor({ state: 'visible' });
  await widget.locator('.quick-input-box input').fill('frontend');
  // Clicking a row of a multi-select pick toggles it.
  // Rows are reused between picks: a row may still hold a hidden detail line of the plan pick, so match the label itself.
  await widget.locator('.monaco-list-row .label-name', { hasText: /^frontend$/ }).first().click();
  await widget.locator('.quick-input-count', { hasText: '1 Selected' }).waitFor({ state: 'visible' });
  await workbench.page.keyboard.press('Enter');
  await workbench.page.locator('.monaco-diff-editor').first().waitFor({ state: 'visible' });
}

/** The input box the approval opens after the modal; returns its locator once visible. */
async function confirmationBox(workbench: Workbench) {
  const widget = workbench.page.locator('.quick-input-widget');
  await widget.locator('.quick-input-title', { hasText: `Confirm the change to ${testContext}` }).waitFor({ state: 'visible' });
  return widget;
}

export const uiTest: UiTest = {
  title: 'typed confirmation: the modal alone writes nothing, Escape declines, typing the context applies',
  timeoutMs: 150_000,
  async prepare() {
    // The default confirmByTyping (["*prod*"]) applies: the environment sets no krr.* policy.
    const environment = await startKrrEnvironment();
    cluster = environment.cluster;
    return environment;
  },
  async run({ workbench }) {
    if (!cluster) throw new Error('prepare did not start the test cluster');
    const test = cluster;
    const before = containerResources(test, ...frontend);
    await workbench.runCommand('View: Close Primary Side Bar');
    await scanFromPalette(workbench, testContext);
    await workbench.readWebview({ extensionId: 'krr-mcp.krr-mcp', expected: 'frontend' });

    // Approve in the modal, then dismiss the input box: declined, nothing written.
    await previewFrontend(workbench);
    // The command names the plan: a pick of pending plans with context, size and proposer, never silently the latest.
    const row = await applyPreviewedPlan(workbench);
    assert.match(row, new RegExp(`plan-[0-9a-f]{12}[\\s\\S]*${testContext} · 1 object[\\s\\S]*Proposed by you \\(command palette\\)`), row);
    assert.deepEqual((await workbench.dialogButtons()).sort(), ['Apply 1 change', 'Cancel', 'Decline']);
    await answerApproval(workbench, 'Apply 1 change');
    const box = await confirmationBox(workbench);
    await box.locator('.quick-input-box input').fill('prod');
    await box.locator('.quick-input-message', { hasText: `Type exactly: ${testContext}` }).waitFor({ state: 'visible' });
    await workbench.screenshot('typed-confirmation-wrong');
    await workbench.page.keyboard.press('Escape');
    await workbench.page.locator('.notification-list-item', { hasText: 'KRR: declined' }).first().waitFor({ state: 'visible' });
    assert.equal(test.writes().length, 0, 'a dismissed confirmation writes nothing');
    assert.deepEqual(containerResources(test, ...frontend), before);

    // A fresh plan; this time the context name is typed: applied. The old diff goes first, so the wait sees the new one.
    await workbench.runCommand('View: Close All Editors');
    await previewFrontend(workbench);
    await applyPreviewedPlan(workbench);
    await answerApproval(workbench, 'Apply 1 change');
    const again = await confirmationBox(workbench);
    await again.locator('.quick-input-box input').fill(testContext);
    await workbench.screenshot('typed-confirmation');
    await workbench.page.keyboard.press('Enter');
    const after = await until('frontend written', () => {
      const now = containerResources(test, ...frontend) as { web?: { requests?: { memory?: string } } };
      return now.web?.requests?.memory === '198Mi' ? now : undefined;
    });
    assert.deepEqual(after, { web: { requests: { cpu: '200m', memory: '198Mi' }, limits: { cpu: '500m', memory: '256Mi' } } });
    assert.equal(test.writes().length, 1);
    await workbench.screenshot('typed-confirmation-applied');
  },
};
