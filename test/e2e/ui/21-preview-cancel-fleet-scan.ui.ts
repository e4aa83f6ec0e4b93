// Two flows no other UI test drives, in one code-server session. (1) Issue 15 item 5: a Preview of many workloads
// counts its progress in the panel; Cancel on the progress notification leaves the panel saying the preview was
// cancelled, with no diff tab, no Apply, no proposal in the audit log and nothing written. The cluster answers slowly
// (its latency control) so the cancel lands midway. (2) Issue 17: "KRR: Scan Cluster…" → "Several contexts (a
// fleet)…" with a kubeconfig of two contexts, Back keeping both ticked, and the review panel showing the fleet: the
// cluster filter, the per-cluster totals and rows that carry their cluster; the status bar names the fleet.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Page } from 'playwright-core';
import { parse, stringify } from 'yaml';
import type { TestCluster } from '../../support/kube-api-server';
import { asControlPlane } from '../../support/test-cluster';
import type { Workbench } from '../lib/browser';
import { repoRoot } from '../lib/codeServer';
import { containerResources, readAuditEntries, startKrrEnvironment, testContext } from '../lib/krrEnvironment';
import { panel, scanFromPalette, until, withoutIsolates } from '../lib/krrWorkbench';
import type { UiTest } from '../lib/uiTest';

let cluster: TestCluster | undefined;

/** Copies of frontend the cluster gets (replicas 0: no pods to run) and the report recommends for. */
const copies = Array.from({ length: 40 }, (_, index) => `svc-${String(index).padStart(2, '0')}`);
const copyLabel = 'krr-e2e-copy';
/** The kubeconfig's second context: the same API server, scanned as a cluster of its own. */
const secondContext = 'prod-eu-2';

function quickInput(page: Page) {
  return page.locator('.quick-input-widget');
}

/** The preview's progress notification (gone once the preview returned). */
function progress(page: Page) {
  return page.locator('.notification-toast', { hasText: 'KRR: previewing 42 workloads' }).first();
}

async function waitForStep(workbench: Workbench, title: RegExp): Promise<void> {
  await quickInput(workbench.page).locator('.quick-input-title', { hasText: title }).waitFor({ state: 'visible' });
}

/** The sample report plus a recommendation for each copy: frontend's, without its HPA and pods. */
function manyWorkloadsReport(file: string): void {
  const sample = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'sample-report.json'), 'utf8')) as { scans: Array<{ object: Record<string, unknown>; recommended: Record<string, unknown> }> };
  const frontend = sample.scans.find((scan) => scan.object.name === 'frontend') as (typeof sample.scans)[number];
  const recommended = { ...frontend.recommended, info: { cpu: null, memory: null } };
  sample.scans.push(...copies.map((name) => ({ ...frontend, object: { ...frontend.object, hpa: null, pods: [], annotations: {}, name }, recommended })));
  fs.writeFileSync(file, JSON.stringify(sample));
}

/** The copies as Deployments in the test cluster, so the preview reads and dry-runs real objects. */
function createCopies(test: TestCluster): void {
  const frontend = test.getObject('apps/v1', 'Deployment', 'shop', 'frontend') as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  const objects = copies.map((name) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop', labels: { [copyLabel]: 'true' } },
    spec: { ...frontend.spec, replicas: 0 },
  }));
  const plane = asControlPlane(test);
  if (plane) plane.harnessKubectl(['apply', '-f', '-'], objects.map((object) => stringify(object)).join('---\n'));
  else for (const object of objects) test.putObject(object);
}

/** A copy of the cluster's kubeconfig with exactly two contexts: the main one and `secondContext` (same server, user). */
function twoContextKubeconfig(source: string, target: string): void {
  const config = parse(fs.readFileSync(source, 'utf8')) as { contexts: Array<{ name: string; context: Record<string, unknown> }> } & Record<string, unknown>;
  const main = config.contexts.find((entry) => entry.name === testContext);
  if (!main) throw new Error(`no context ${testContext} in ${source}`);
  config.contexts = [main, { name: secondContext, context: { ...main.context } }];
  // It holds the bearer token: owner-only, beside the original (removed with the environment), not in the test output.
  fs.writeFileSync(target, stringify(config), { mode: 0o600 });
}

export const uiTest: UiTest = {
  title: 'preview of 42 workloads counted, then cancelled (nothing proposed, no diff, no Apply, nothing written); fleet scan of two contexts with Back, reviewed by cluster',
  timeoutMs: 240_000,
  async prepare(outDir) {
    const environment = await startKrrEnvironment();
    cluster = environment.cluster;
    createCopies(environment.cluster);
    const kubeconfig = path.join(path.dirname(environment.cluster.kubeconfigPath), 'two-contexts.kubeconfig');
    twoContextKubeconfig(environment.cluster.kubeconfigPath, kubeconfig);
    fs.mkdirSync(outDir, { recursive: true });
    const report = path.join(outDir, 'many-workloads-report.json');
    manyWorkloadsReport(report);
    const dispose = environment.dispose;
    return {
      ...environment,
      // The preview reads and dry-runs two objects at a time (a proposal doubles krr.applyConcurrency), so with the
      // cluster's latency the count moves step by step instead of jumping in a window of 32.
      settings: { ...environment.settings, 'krr.kubeconfig': kubeconfig, 'krr.applyConcurrency': 1 },
      env: { ...environment.env, KUBECONFIG: kubeconfig, KRR_STANDIN_REPORT: report },
      dispose: async () => {
        // The real control plane is shared by the process: the copies go, as the seed's reset would not remove them.
        const plane = asControlPlane(environment.cluster);
        plane?.harnessKubectl(['delete', 'deployment', '-n', 'shop', '-l', `${copyLabel}=true`, '--wait=false']);
        await dispose();
      },
    };
  },
  async run({ workbench, server }) {
    if (!cluster) throw new Error('prepare did not start the test cluster');
    const test = cluster;
    const page = workbench.page;
    const view = panel(workbench);
    await workbench.runCommand('View: Close Primary Side Bar');

    // 1. Scan prod-eu-1 (the first of the two contexts offered), tick the 42 workloads of shop.
    await scanFromPalette(workbench, testContext);
    await workbench.readWebview({ extensionId: 'krr-mcp.krr-mcp', expected: copies.at(-1) as string });
    await view.locator('#f-namespace').selectOption('shop');
    await view.locator('#select-visible').click();
    await view.locator('#totals', { hasText: /Selected: 42 workloads, 42 containers/ }).waitFor();
    const watched = ['frontend', 'checkout-api', copies[0] as string, copies.at(-1) as string];
    const before = Object.fromEntries(watched.map((name) => [name, containerResources(test, 'apps/v1', 'Deployment', 'shop', name)]));
    const writesBefore = test.writes().length;
    await workbench.runCommand('Notifications: Clear All Notifications');

    // 2. Preview with every API request held back: the panel counts, the notification offers Cancel; cancel midway.
    test.faults.delayMs(400);
    let cancelledAt: number;
    try {
      await view.locator('#preview').click();
      const planText = view.locator('#plan-text');
      const counted = await until(
        'the panel counts the preview',
        async () => {
          const match = /Previewing (\d+) \/ 42 workloads/.exec(await planText.innerText().catch(() => ''));
          return match && Number(match[1]) >= 4 ? Number(match[1]) : undefined;
        },
        60_000,
      );
      assert.ok(counted < 42, `cancelled midway, at ${counted} / 42`);
      const notification = progress(page);
      await notification.waitFor({ state: 'visible' });
      assert.equal(await view.locator('#apply').isDisabled(), true, 'no Apply while previewing');
      await workbench.screenshot('preview-counting');
      await notification.getByRole('button', { name: 'Cancel' }).click();
      cancelledAt = Date.now();
      await view.locator('#plan-text', { hasText: 'Preview cancelled. Nothing was proposed and no diff is open.' }).waitFor({ state: 'visible', timeout: 30_000 });
    } finally {
      test.faults.delayMs(0);
    }
    console.log(`    the panel said "cancelled" ${Date.now() - cancelledAt} ms after Cancel`);
    // The panel says so only once the preview call returned: nothing of it can still open a diff now.
    assert.doesNotMatch(await view.locator('#plan-text').innerText(), /Previewing|plan-[0-9a-f]{12}|\d+ objects?/);
    await progress(page).waitFor({ state: 'hidden' });
    assert.equal(await view.locator('#apply').isDisabled(), true, 'no Apply after a cancel');
    assert.equal(await view.locator('#preview').isDisabled(), false, 'the selection can be previewed again');
    assert.equal(await page.locator('.tabs-container .tab', { hasText: /live ↔ proposed|KRR plan-/ }).count(), 0, 'no diff tab');
    assert.equal(await page.locator('.monaco-diff-editor').count(), 0, 'no diff editor');
    assert.equal(await page.locator('.notification-toast', { hasText: /KRR: plan-|nothing to change/ }).count(), 0, 'no plan notification');
    assert.equal(test.writes().length, writesBefore, 'nothing written');
    for (const name of watched) assert.ok(isDeepStrictEqual(containerResources(test, 'apps/v1', 'Deployment', 'shop', name), before[name]), `${name} unchanged`);
    // Nothing was proposed, so the audit log holds no proposal (the scan is there).
    const audit = readAuditEntries(server.root);
    assert.ok(audit.some((entry) => entry.action === 'scan' && entry.context === testContext), 'the scan is audited');
    assert.deepEqual(audit.filter((entry) => entry.action === 'propose'), [], 'no proposal audited');
    await workbench.screenshot('preview-cancelled');

    // 3. Scan a fleet: "Several contexts (a fleet)…" → tick both → namespaces → Back → the fleet again, both still
    //    ticked → all namespaces → strategy.
    await workbench.runCommand('Notifications: Clear All Notifications');
    await workbench.runCommand('KRR: Scan Cluster…');
    await waitForStep(workbench, /1\/3 context$/);
    const contextsOffered = (await quickInput(page).locator('.monaco-list-row .label-name').allInnerTexts()).map((name) => name.trim());
    assert.deepEqual(contextsOffered.slice(0, 2), [testContext, secondContext]);
    const fleetEntry = quickInput(page).locator('.monaco-list-row .label-name', { hasText: 'Several contexts (a fleet)…' }).first();
    await fleetEntry.click();
    await waitForStep(workbench, /1\/3 contexts \(a fleet\)/);
    for (const name of [testContext, secondContext]) {
      await quickInput(page).locator('.monaco-list-row .label-name', { hasText: new RegExp(`^${name}$`) }).first().click();
    }
    await quickInput(page).locator('.quick-input-count', { hasText: '2 Selected' }).waitFor({ state: 'visible' });
    await page.mouse.move(700, 700);
    await workbench.screenshot('fleet-contexts-ticked');
    await page.keyboard.press('Enter');
    await waitForStep(workbench, /2\/3 namespaces \(listed from prod-eu-1; scanned in all 2 contexts\)/);
    await quickInput(page).locator('.monaco-list-row .label-name', { hasText: /^shop$/ }).first().waitFor({ state: 'visible' });
    await quickInput(page).locator('.quick-input-left-action-bar .action-label').first().click();
    await waitForStep(workbench, /1\/3 context$/);
    await quickInput(page).locator('.monaco-list-row .label-name', { hasText: 'Several contexts (a fleet)…' }).first().click();
    await waitForStep(workbench, /1\/3 contexts \(a fleet\)/);
    // Back keeps the answer: both contexts come ticked.
    await quickInput(page).locator('.quick-input-count', { hasText: '2 Selected' }).waitFor({ state: 'visible' });
    await page.keyboard.press('Enter');
    await waitForStep(workbench, /2\/3 namespaces \(listed from prod-eu-1; scanned in all 2 contexts\)/);
    await quickInput(page).locator('.monaco-list-row .label-name', { hasText: /^shop$/ }).first().waitFor({ state: 'visible' });
    await page.keyboard.press('Enter');
    await waitForStep(workbench, /3\/3 strategy/);
    await page.keyboard.press('Enter');

    // 4. The fleet review: one report per context, the cluster filter, totals per cluster, rows carrying their cluster.
    // The result is a toast, not only an entry in the notification center: a fleet opens a notification per context,
    // and VS Code shows no fourth toast within 800 ms (src/editor/toastPacing.ts). Any count first, then the exact
    // one: a context that failed is named in the toast, and the assertion shows it.
    const done = page.locator('.notification-toast', { hasText: /KRR: \d+ of 2 contexts scanned/ }).first();
    await done.waitFor({ state: 'visible', timeout: 60_000 });
    assert.match(withoutIsolates(await done.innerText()), /KRR: 2 of 2 contexts scanned, [\d,]+ containers\./);
    await view.locator('#f-cluster-label').waitFor({ state: 'visible' });
    // The namespace chosen for the preview above stays chosen: the fleet is looked at whole.
    await view.locator('#f-namespace').selectOption('');
    assert.deepEqual((await view.locator('#f-cluster option').allInnerTexts()).map((text) => text.trim()), ['All', testContext, secondContext]);
    const totals = withoutIsolates(await view.locator('#clusters').innerText());
    for (const name of [testContext, secondContext]) {
      assert.match(totals, new RegExp(`${name}: 47 containers, monthly Δ [−+±]?\\$[\\d,]+\\.\\d\\d/month, \\d+ critical, \\d+ warning`), totals);
    }
    // The status bar names the fleet, not the context whose scan happened to finish last.
    await page.locator('.statusbar-item', { hasText: 'KRR: fleet of 2 contexts' }).first().waitFor({ state: 'visible' });
    const rowsOf = async (name: string) => (await view.locator('tr.workload', { hasText: `[${name}]` }).count());
    await until('rows of both clusters', async () => ((await rowsOf(testContext)) > 0 && (await rowsOf(secondContext)) > 0 ? true : undefined));
    await workbench.runCommand('Notifications: Clear All Notifications');
    await workbench.screenshot('fleet-review');
    // The cluster filter: only prod-eu-2's rows, each naming it.
    await view.locator('#f-cluster').selectOption(secondContext);
    const shown = await until('only prod-eu-2 rows', async () => {
      const texts = (await view.locator('tr.workload').allInnerTexts()).map(withoutIsolates);
      return texts.length > 0 && texts.every((text) => text.includes(`[${secondContext}]`)) ? texts : undefined;
    });
    assert.ok(shown.some((text) => text.includes('checkout-api')), shown.slice(0, 5).join('\n'));
    await workbench.screenshot('fleet-filtered-prod-eu-2');
    // Each context was scanned as its own report, audited with its context.
    const scans = readAuditEntries(server.root).filter((entry) => entry.action === 'scan');
    for (const name of [testContext, secondContext]) assert.ok(scans.some((entry) => entry.context === name), `a scan of ${name} audited`);
    assert.equal(test.writes().length, writesBefore, 'nothing written');
  },
};
