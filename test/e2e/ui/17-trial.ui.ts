// Issue 26 in the real UI: try krr's recommendation on one running pod before changing the template. In the review
// panel, frontend is ticked and "Try on Pods…" asks how many (1), proposes the trial (the pods' live ↔ trial diff
// opens) and asks in the same modal as every apply; approved, one pod is resized in place (the control plane's node
// simulator acts as a 1.33 kubelet), the status bar shows the running trial, and the watch (krr.trial.pollSeconds 1)
// ends it after krr.trial.windowSeconds 10: reverted, and a "passed" notification offers Persist…. Persist… proposes
// the ordinary change of the template, whose approval modal carries the trial's evidence ("Tried first (trial …"), and
// its approval writes the Deployment. "KRR: Show Trials" then lists it with Details. Screenshots: trial-approval,
// trial-running, trial-passed, trial-persist-approval.
import assert from 'node:assert/strict';
import type { TestCluster } from '../../support/kube-api-server';
import { containerResources, readAuditEntries, startKrrEnvironment, testContext } from '../lib/krrEnvironment';
import { answerApproval, panel, readDiffEditors, scanFromPalette, until, withoutIsolates, workloadCheckbox } from '../lib/krrWorkbench';
import type { UiTest } from '../lib/uiTest';

let cluster: TestCluster | undefined;

const frontend = ['apps/v1', 'Deployment', 'shop', 'frontend'] as const;
/** The workload's name as the extension shows it: isolated (U+2068 … U+2069, core/text nameText). */
const shopFrontend = '\u2068?shop/frontend\u2069?';

/** The web container's memory request in a pod's spec, as the cluster has it now. */
function podMemory(test: TestCluster, pod: string): string | undefined {
  const object = test.getObject('v1', 'Pod', 'shop', pod) as { spec?: { containers?: Array<{ name: string; resources?: { requests?: { memory?: string } } }> } } | undefined;
  return object?.spec?.containers?.find((container) => container.name === 'web')?.resources?.requests?.memory;
}

export const uiTest: UiTest = {
  title: 'trial: Try on Pods… from the panel → the pods diff and the modal → resized, watched, reverted → "passed" → Persist… → the persist modal says "Tried first" → applied',
  timeoutMs: 240_000,
  async prepare() {
    const environment = await startKrrEnvironment({ settings: { 'krr.confirmByTyping': [], 'krr.trial.windowSeconds': 10, 'krr.trial.pollSeconds': 1 } });
    cluster = environment.cluster;
    return environment;
  },
  async run({ workbench, server }) {
    if (!cluster) throw new Error('prepare did not start the test cluster');
    const test = cluster;
    const page = workbench.page;
    const templateBefore = containerResources(test, ...frontend);
    await workbench.runCommand('View: Close Primary Side Bar');

    // 1. The panel: one Deployment ticked enables "Try on Pods…"; it asks how many (1 is offered).
    await scanFromPalette(workbench, testContext);
    const view = panel(workbench);
    await view.locator('tr.container').first().waitFor({ state: 'visible' });
    assert.equal(await view.locator('#try').isDisabled(), true, 'nothing ticked: no trial');
    await workloadCheckbox(workbench, 'Deployment', 'shop', 'frontend').check();
    await view.locator('#try:not([disabled])').waitFor();
    await view.locator('#try').click();
    const input = page.locator('.quick-input-widget');
    await input.locator('.quick-input-title', { hasText: 'how many running pods of' }).waitFor({ state: 'visible' });
    assert.equal(await input.locator('input.input').inputValue(), '1');
    await page.keyboard.press('Enter');

    // 2. The trial's diff (the pod's containers now ↔ during the trial) and the modal with its words.
    const diff = await until('the trial diff', async () => {
      const shown = await readDiffEditors(workbench).catch(() => []);
      return shown.find((entry) => /trial: Deployment shop\/frontend/.test(entry.original) && /memory: 198Mi/.test(entry.modified));
    });
    assert.match(diff.original, /memory: 256Mi/);
    const writesBefore = test.writes().length;
    const trialText = withoutIsolates(await answerApproval(workbench, 'Start trial on 1 pod', () => workbench.screenshot('trial-approval').then(() => undefined)));
    assert.match(trialText, new RegExp(`Try the recommendation on 1 running pod in ${testContext}\\?`));
    assert.match(trialText, /Trial: 1 of \d+ pods? of shop\/frontend, resized in place/);
    assert.match(trialText, /web: memory request 256Mi → 198Mi/);
    assert.match(trialText, /Trial requested by you \(review panel\)\./);

    // 3. Running: one pod resized in place (the template untouched), the status bar counts down.
    const started = page.locator('.notification-toast', { hasText: new RegExp(`KRR: Trial plan-[0-9a-f]{12} started: 1 pod of ${shopFrontend} resized in place until \\d`) }).first();
    await started.waitFor({ state: 'visible' });
    const trialId = /Trial (plan-[0-9a-f]{12}) started/.exec(await started.innerText())?.[1];
    assert.ok(trialId, 'the notification names the trial');
    const status = page.locator('.statusbar-item', { hasText: new RegExp(`Trial: 1 pod of ${shopFrontend} · \\d+ s left`) }).first();
    await status.waitFor({ state: 'visible' });
    await workbench.screenshot('trial-running');
    const startedEntry = readAuditEntries(server.root).find((entry) => entry.action === 'trial' && entry.outcome === 'started');
    const pods = (startedEntry?.detail as { pods?: string[] } | undefined)?.pods ?? [];
    assert.equal(pods.length, 1, 'the audit log names the one trial pod');
    const pod = pods[0] as string;
    assert.equal(podMemory(test, pod), '198Mi', 'the trial pod runs at the recommended request');
    assert.deepEqual(containerResources(test, ...frontend), templateBefore, 'a trial does not change the template');
    assert.ok(test.writes().length > writesBefore, 'the resize went to the cluster');

    // 4. The watch ends it after 10 s: reverted, "passed", with Persist… and Details.
    const passed = page.locator('.notification-toast', { hasText: new RegExp(`Trial of 1 pod of ${shopFrontend} \\(${trialId}\\) passed: ran \\d+ s on 1 pod`) }).first();
    await passed.waitFor({ state: 'visible', timeout: 60_000 });
    await status.waitFor({ state: 'hidden' });
    const passedText = withoutIsolates(await passed.innerText());
    assert.match(passedText, /0 OOM kills, 0 restarts/);
    assert.match(passedText, /Its pods are back at the template's size\./);
    assert.equal(podMemory(test, pod), '256Mi', 'the trial pod is back at the template size');
    // The panel's line follows: the trial it started has passed.
    await view.locator('#plan', { hasText: new RegExp(`^Trial ${trialId} passed: ran \\d+ s on 1 pod`) }).waitFor({ state: 'visible' });
    await workbench.screenshot('trial-passed');
    await passed.hover();
    await passed.getByRole('button', { name: 'Persist…' }).click();

    // 5. Persist…: the ordinary plan of the template, its modal carrying the trial's evidence; approved, it is written.
    const persistText = withoutIsolates(
      await answerApproval(workbench, 'Apply 1 change', async () => {
        await workbench.screenshot('trial-persist-approval');
      }),
    );
    assert.match(persistText, new RegExp(`Apply resource changes to 1 object in ${testContext}\\?`));
    assert.match(persistText, new RegExp(`Tried first \\(trial ${trialId}\\): ran \\d+ s on 1 pod at web request 198Mi: 0 OOM kills, 0 restarts\\.`));
    assert.match(persistText, /Apply requested by you \(notification\)\./);
    await page.locator('.notification-toast', { hasText: /KRR: applied: / }).first().waitFor({ state: 'visible', timeout: 60_000 });
    await until('the template carries the tried values', () => {
      const web = (containerResources(test, ...frontend) as { web?: { requests?: { memory?: string } } }).web;
      return web?.requests?.memory === '198Mi' ? true : undefined;
    });
    const audit = readAuditEntries(server.root).map((entry) => `${String(entry.action)}:${String(entry.outcome)}`);
    for (const step of ['trial:started', 'trial-revert:reverted', 'trial:passed', 'approve:approved', 'write:written']) assert.ok(audit.includes(step), `${step} in the audit log: ${audit.join(', ')}`);

    // 6. "KRR: Show Trials" lists it (passed, persisted) with Details.
    await workbench.runCommand('Notifications: Clear All Notifications');
    await workbench.runCommand('KRR: Show Trials');
    const row = input.locator('.monaco-list-row', { hasText: 'shop/frontend' }).first();
    await row.waitFor({ state: 'visible' });
    assert.match(withoutIsolates(await row.innerText()), /passed · 1 pod/);
    await page.keyboard.press('Enter');
    await input.locator('.quick-input-title', { hasText: `trial ${trialId} (passed)` }).waitFor({ state: 'visible' });
    // The action list replaces the trial list in the same widget: filtered by typing, not clicked while it re-renders.
    // Both actions of a passed trial are offered (each row waited for on its own: the list may re-render meanwhile).
    for (const action of ['Persist…', 'Details']) await input.locator('.monaco-list-row', { has: page.locator('.label-name', { hasText: action }) }).first().waitFor({ state: 'visible', timeout: 30_000 });
    await page.keyboard.type('Details');
    await input.locator('.monaco-list-row', { hasText: 'Details' }).first().waitFor({ state: 'visible' });
    await page.keyboard.press('Enter');
    await page.locator('.monaco-editor .view-lines', { hasText: `# Trial ${trialId} — passed` }).first().waitFor({ state: 'visible' });
  },
};
