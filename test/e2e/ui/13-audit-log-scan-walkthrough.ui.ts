// With the settings as they ship (typed confirmation for prod-eu-1 on): the status bar is there before any command;
// Scan asks for namespaces read from the cluster, with Back; the preview notification's "Apply…" is audited as
// "notification" and its Cancel as a decline; an apply and a rollback; then the audit log opens as a table (filters,
// "rolled back", the raw JSONL one click away) and the walkthrough shows every step done from that real state.
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { TestCluster } from '../../support/kube-api-server';
import { containerResources, startKrrEnvironment, testContext } from '../lib/krrEnvironment';
import { answerApproval, focusPanel, openKrrSideBar, panel, readDiffEditors, snapshotRows, until, waitForPlanLine, withoutIsolates, workloadCheckbox } from '../lib/krrWorkbench';
import type { Workbench } from '../lib/browser';
import type { UiTest } from '../lib/uiTest';

let cluster: TestCluster | undefined;
const frontend = ['apps/v1', 'Deployment', 'shop', 'frontend'] as const;

function quickInput(page: Page) {
  return page.locator('.quick-input-widget');
}

async function waitForStep(workbench: Workbench, title: RegExp): Promise<void> {
  await quickInput(workbench.page).locator('.quick-input-title', { hasText: title }).waitFor({ state: 'visible' });
}

/** The typed confirmation the shipped settings ask for in prod-eu-1. */
async function typeContext(workbench: Workbench): Promise<void> {
  const widget = quickInput(workbench.page);
  await widget.locator('.quick-input-title', { hasText: `Confirm the change to ${testContext}` }).waitFor({ state: 'visible' });
  await widget.locator('.quick-input-box input').fill(testContext);
  await workbench.page.keyboard.press('Enter');
}

async function openWalkthrough(workbench: Workbench): Promise<void> {
  await workbench.runCommand('Welcome: Open Walkthrough...');
  await quickInput(workbench.page).locator('.monaco-list-row', { hasText: 'Get started with KRR right-sizing' }).first().click();
  await workbench.page.locator('.getting-started-step').first().waitFor({ state: 'visible' });
}

/** Titles of the walkthrough steps shown as done. */
async function checkedSteps(page: Page): Promise<string[]> {
  const steps = page.locator('.getting-started-step', { has: page.locator('.codicon-getting-started-step-checked') });
  return (await steps.locator('.step-title').allInnerTexts()).map((title) => title.trim());
}

export const uiTest: UiTest = {
  title: 'status bar at start; scan with a namespace picker and Back; notification via; audit log table with filters; walkthrough done from real state',
  timeoutMs: 240_000,
  async prepare() {
    const environment = await startKrrEnvironment();
    cluster = environment.cluster;
    return environment;
  },
  async run({ workbench }) {
    if (!cluster) throw new Error('prepare did not start the test cluster');
    const test = cluster;
    const page = workbench.page;

    // 0. Before any KRR command: the status-bar item is there (the extension activates at startup).
    await page.locator('.statusbar-item', { hasText: `KRR: ${testContext}` }).first().waitFor({ state: 'visible' });
    await workbench.runCommand('View: Close Primary Side Bar');
    // The walkthrough, opened first: VS Code ticks an onContext step when its key turns true after the walkthrough
    // service registered the step (a key already true then is not counted), so the flow below must tick five steps.
    await openWalkthrough(workbench);
    const doneAtStart = await checkedSteps(page);
    await workbench.runCommand('View: Close All Editors');

    // 1. Scan: context → namespaces (from the cluster) → Back → context again → tick "shop" → strategy.
    await workbench.runCommand('KRR: Scan Cluster…');
    await waitForStep(workbench, /1\/3 context/);
    await page.keyboard.press('Enter');
    await waitForStep(workbench, /2\/3 namespaces/);
    // Match the label itself: list rows are reused between picks and may keep a hidden line of an earlier one.
    const namespaceLabel = quickInput(page).locator('.monaco-list-row .label-name', { hasText: /^shop$/ }).first();
    await namespaceLabel.waitFor({ state: 'visible' });
    const offered = (await quickInput(page).locator('.monaco-list-row .label-name').allInnerTexts()).map((name) => name.trim());
    for (const name of ['data', 'shop', 'default']) assert.ok(offered.includes(name), `namespaces offered: ${offered.join(', ')}`);
    assert.match(await quickInput(page).locator('.quick-input-box input').getAttribute('placeholder') ?? '', /^None ticked = all \d+ namespaces · Enter continues$/);
    await page.mouse.move(700, 700);
    await workbench.screenshot('scan-namespaces');
    await quickInput(page).locator('.quick-input-left-action-bar .action-label').first().click();
    await waitForStep(workbench, /1\/3 context/);
    await page.keyboard.press('Enter');
    await waitForStep(workbench, /2\/3 namespaces/);
    await namespaceLabel.waitFor({ state: 'visible' });
    await quickInput(page).locator('.quick-input-box input').fill('shop');
    await quickInput(page).locator('.monaco-list-row .label-name', { hasText: /^shop$/ }).first().click();
    await quickInput(page).locator('.quick-input-count', { hasText: '1 Selected' }).waitFor({ state: 'visible' });
    await page.keyboard.press('Enter');
    await waitForStep(workbench, /3\/3 strategy/);
    await page.keyboard.press('Enter');
    const panelText = await workbench.readWebview({ extensionId: 'krr-mcp.krr-mcp', expected: 'frontend' });
    assert.doesNotMatch(panelText, /postgres/, 'only the ticked namespace was scanned');
    await page.locator('.notification-toast', { hasText: /KRR: \d+ workloads?, \d+ containers?\./ }).first().waitFor({ state: 'visible' });

    // 2. Preview frontend; the notification's "Apply…" opens the modal as "you (notification)"; Cancel declines.
    await workloadCheckbox(workbench, 'Deployment', 'shop', 'frontend').check();
    await panel(workbench).locator('#preview').click();
    const notice = page.locator('.notification-toast', { hasText: /KRR: plan-[0-9a-f]{12} — 1 object, risk/ }).first();
    await notice.waitFor({ state: 'visible' });
    await notice.getByRole('button', { name: 'Apply…' }).click();
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible' });
    assert.match(await dialog.innerText(), /Apply requested by you \(notification\)\./);
    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(test.writes().length, 0, 'Cancel wrote nothing');

    // 3. A fresh preview, applied from the panel with the typed context; then rolled back from the Snapshots view.
    await focusPanel(workbench);
    await panel(workbench).locator('#preview').click();
    await readDiffEditors(workbench);
    await focusPanel(workbench);
    await waitForPlanLine(workbench, /^plan-[0-9a-f]{12}: 1 object/);
    await panel(workbench).locator('#apply').click();
    await answerApproval(workbench, 'Apply 1 change');
    await typeContext(workbench);
    await until('frontend written', () => ((containerResources(test, ...frontend) as { web?: { requests?: { memory?: string } } }).web?.requests?.memory === '198Mi' ? true : undefined));
    await openKrrSideBar(workbench);
    const snapshot = snapshotRows(workbench).first();
    await snapshot.waitFor({ state: 'visible' });
    // The context name comes isolated (core/text nameText), like every name from a kubeconfig or the cluster.
    assert.match(withoutIsolates(await snapshot.innerText()), new RegExp(`${testContext} · 1 object\\b`), 'singular in the Snapshots view');
    await snapshot.hover();
    await snapshot.locator('.action-label[aria-label^="Roll Back"]').click();
    await answerApproval(workbench, 'Roll back 1 change');
    await typeContext(workbench);
    await until('frontend restored', () => ((containerResources(test, ...frontend) as { web?: { requests?: { memory?: string } } }).web?.requests?.memory === '256Mi' ? true : undefined));

    // 4. The audit log as a table.
    await workbench.runCommand('View: Close All Editors');
    await workbench.runCommand('View: Close Primary Side Bar');
    await workbench.runCommand('KRR: Show Audit Log');
    const audit = workbench.webview('krr-mcp.krr-mcp');
    await audit.locator('#rows tr', { hasText: 'rolled back' }).first().waitFor({ state: 'visible' });
    const table = async () =>
      audit.locator('#rows tr').evaluateAll((trs) => trs.map((tr) => Array.from((tr as unknown as { children: ArrayLike<{ textContent: string | null }> }).children, (td) => (td.textContent ?? '').trim())));
    const all = await table();
    const find = (predicate: (cells: string[]) => boolean, what: string) => {
      const row = all.find(predicate);
      assert.ok(row, `${what}:\n${all.map((cells) => cells.join(' | ')).join('\n')}`);
      return row;
    };
    // Columns: time, who, via, action, objects, outcome (+ detail), context · plan.
    const cancelled = find((cells) => cells[3] === 'declined an apply', 'the Cancel');
    assert.equal(cancelled[1], 'you');
    assert.equal(cancelled[2], 'approval dialog');
    assert.match(cancelled[5] ?? '', /declined \(Cancel or Escape\)requested by you \(notification\)/);
    assert.equal(cancelled[4], 'Deployment shop/frontend');
    const rolledBack = find((cells) => cells[3] === 'rolled back', 'the rollback');
    assert.match(rolledBack[5] ?? '', /^verified/);
    assert.deepEqual([rolledBack[1], rolledBack[2]], ['you', 'snapshots view']);
    find((cells) => cells[3] === 'applied' && /^verified/.test(cells[5] ?? ''), 'the apply');
    find((cells) => cells[3] === 'approved a rollback' && cells[2] === 'approval dialog' && /requested by you \(snapshots view\)/.test(cells[5] ?? ''), 'the rollback approval');
    find((cells) => cells[3] === 'scanned' && cells[2] === 'command palette', 'the scan');
    await workbench.runCommand('Notifications: Clear All Notifications');
    await workbench.screenshot('audit-log');

    await audit.locator('#f-tone').selectOption('declined');
    const declinedOnly = await table();
    assert.equal(declinedOnly.length, 1, declinedOnly.map((cells) => cells.join(' | ')).join('\n'));
    assert.match(await audit.locator('#count').innerText(), /^1 of \d+ entries match the filters/);
    await workbench.screenshot('audit-log-declined');
    await audit.locator('#f-tone').selectOption('');

    // The raw JSONL, one click away.
    await audit.locator('#raw').click();
    await page.locator('.tabs-container .tab', { hasText: 'audit-log.jsonl' }).first().waitFor({ state: 'visible' });
    await page.locator('.monaco-editor .view-lines', { hasText: '"action":"decline"' }).first().waitFor({ state: 'visible' });

    // 5. The walkthrough: every step done, from the state above.
    await workbench.runCommand('View: Close All Editors');
    // Cleared before the walkthrough opens: a palette command run over the walkthrough can leave it inert a moment.
    await workbench.runCommand('Notifications: Clear All Notifications');
    await openWalkthrough(workbench);
    const done = await until('the flow ticked its steps', async () => {
      const checked = await checkedSteps(page);
      return ['Run a first scan', 'Review the recommendations', 'Preview the changes', 'Apply, with your approval', 'Roll back'].every((title) => checked.includes(title)) ? checked : undefined;
    });
    assert.ok(done.length > doneAtStart.length, `${doneAtStart.join(', ')} → ${done.join(', ')}`);
    await page.locator('.getting-started-step .step-title', { hasText: /^Roll back$/ }).first().click();
    await page.mouse.move(700, 700);
    await workbench.screenshot('walkthrough');
  },
};
