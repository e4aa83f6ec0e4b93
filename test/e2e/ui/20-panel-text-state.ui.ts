// Issue 15 in the real UI: a report with a bidi-override name (a\u202egnp.exe), a 300-character name, an invalid
// container name and twelve workloads in a namespace the cluster does not have. The panel shows the hidden character
// visibly and isolated (also in the side bar), flags every invalid name as the report loads, keeps its value columns
// in view, shows the policy block with its setting and a savings chart before any Preview; the preview groups its
// errors and never claims a diff that is not there; Apply marks the rows and closes the diff; a window reload brings
// the panel back with its report, selection, sort and applied marks, and no leftover diff tab.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { TestCluster } from '../../support/kube-api-server';
import { repoRoot } from '../lib/codeServer';
import { containerResources, startKrrEnvironment, testContext } from '../lib/krrEnvironment';
import { answerApproval, focusPanel, openKrrSideBar, panel, scanFromPalette, until, waitForPlanLine, withoutIsolates, workloadCheckbox } from '../lib/krrWorkbench';
import type { UiTest } from '../lib/uiTest';

let cluster: TestCluster | undefined;

const hostileName = 'a\u202egnp.exe';
const shownHostile = 'a⟨U+202E⟩gnp.exe';
const longNamespace = 'team-with-a-rather-long-namespace-name-for-the-layout-check';
// 253 characters, a valid DNS subdomain: with its namespace the shown name is over 300 characters.
const longName = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.');
const missingNamespace = 'team-13';

/** The sample report plus the hostile, long, invalid and missing workloads. */
function craftedReport(file: string): void {
  const sample = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'sample-report.json'), 'utf8')) as { scans: Array<{ object: Record<string, unknown> }> };
  const frontend = sample.scans.find((scan) => scan.object.name === 'frontend') as { object: Record<string, unknown> };
  const scan = (object: Record<string, unknown>) => ({ ...frontend, object: { ...frontend.object, hpa: null, ...object } });
  sample.scans.push(
    scan({ name: hostileName }),
    scan({ namespace: longNamespace, name: longName }),
    scan({ name: 'frontend', container: 'Bad_Container' }),
    ...Array.from({ length: 12 }, (_, index) => scan({ namespace: missingNamespace, name: `svc-${index}` })),
  );
  fs.writeFileSync(file, JSON.stringify(sample));
}

export const uiTest: UiTest = {
  title: 'review panel: hostile and long names, flagged skips, policy blocks, savings chart, grouped preview errors, applied rows, restored after reload',
  timeoutMs: 420_000,
  async prepare(outDir) {
    // This test is about the panel's text and state: typed confirmation (ui/11) is turned off here, as in ui/10.
    const environment = await startKrrEnvironment({ settings: { 'krr.confirmByTyping': [] } });
    cluster = environment.cluster;
    const report = path.join(outDir, 'crafted-report.json');
    fs.mkdirSync(outDir, { recursive: true });
    craftedReport(report);
    return { ...environment, env: { ...environment.env, KRR_STANDIN_REPORT: report } };
  },
  async run({ workbench }) {
    if (!cluster) throw new Error('prepare did not start the test cluster');
    const test = cluster;
    const view = panel(workbench);
    await workbench.runCommand('View: Close Primary Side Bar');

    // 1. Scan: the panel lists the hostile name visibly, in a <bdi>, and nothing on it carries the raw override.
    await scanFromPalette(workbench, testContext);
    const text = await workbench.readWebview({ extensionId: 'krr-mcp.krr-mcp', expected: shownHostile });
    assert.doesNotMatch(text, /\u202E/u, 'no raw bidi override in the panel');
    assert.equal(await view.locator('bdi', { hasText: shownHostile }).count(), 1);
    // Every invalid name is flagged as the report loads: the hostile workload name and the container name.
    const problems = withoutIsolates(await view.locator('#problems').innerText());
    assert.match(problems, /2 invalid names in this report: Preview skips them\./);
    assert.match(problems, new RegExp(`Deployment shop/${shownHostile.replace(/[.+]/g, '\\$&')}: Invalid workload name "${shownHostile.replace(/[.+]/g, '\\$&')}"`));
    assert.match(problems, /container Bad_Container: Invalid container name/);
    assert.equal(await workloadCheckbox(workbench, 'Deployment', 'shop', shownHostile).isDisabled(), true, 'an invalid workload cannot be ticked');
    // The top CRITICAL row is blocked by the 80% maximum decrease, shown before any Preview with its setting.
    const checkout = view.locator('tr.reason.blocked', { hasText: 'checkout-api' }).or(view.locator('tr.workload', { hasText: 'checkout-api' }).locator('xpath=following-sibling::tr[1][contains(@class,"reason")]'));
    assert.match(await checkout.first().innerText(), /Blocked by policy: container api: requests\.cpu: 500m → 87m is -83%, beyond the allowed -80% \(krr\.policy\.maxDecreasePercent\)/);
    assert.equal(await view.locator('button.link[data-setting="krr.policy.maxDecreasePercent"]').count() >= 1, true);
    // The savings chart: per namespace, current and recommended bars, theme colours (the CSS variables resolve).
    const chart = view.locator('#savings svg');
    await chart.waitFor({ state: 'visible' });
    const groups = await view.locator('#savings svg text.label').allTextContents();
    assert.ok(groups.includes('shop') && groups.includes('data'), groups.join(', '));
    assert.equal(await view.locator('#savings svg rect.bar').count(), groups.length * 4);
    const fill = await view.locator('#savings svg rect.bar.current').first().evaluate((rect) => (globalThis as unknown as { getComputedStyle(node: unknown): { fill: string } }).getComputedStyle(rect).fill);
    assert.match(fill, /^rgb/, `a theme colour, got ${fill}`);
    await workbench.runCommand('Notifications: Clear All Notifications');
    await workbench.screenshot('panel-names-blocks-chart');

    // 2. The 300-character name: ellipsis, the whole name in the tooltip, and the table no wider than its pane.
    const layout = await view.locator('.table-wrap').evaluate((wrap) => {
      const element = wrap as unknown as { clientWidth: number; querySelector(selector: string): { getBoundingClientRect(): { width: number }; scrollWidth: number; clientWidth: number; title: string } | null };
      const table = element.querySelector('table');
      const cell = element.querySelector('tr.workload[data-key*="team-with-a-rather-long"] th.name .ellipsis');
      const name = element.querySelector('tr.workload[data-key*="team-with-a-rather-long"] th.name');
      return { wrap: element.clientWidth, table: table?.getBoundingClientRect().width ?? -1, overflowing: cell ? cell.scrollWidth > cell.clientWidth : null, title: name?.title ?? '' };
    });
    assert.ok(layout.table > 0 && layout.table <= layout.wrap + 1, `table ${layout.table}px in a ${layout.wrap}px pane`);
    assert.equal(layout.overflowing, true, 'the long name is cut with an ellipsis');
    assert.equal(layout.title, `Deployment ${longNamespace}/${longName}`);
    const valueColumn = await view.locator('thead th', { hasText: 'Memory limit' }).boundingBox();
    assert.ok(valueColumn && valueColumn.x + valueColumn.width <= 1400, 'the value columns stay on screen');
    const nameColumn = await view.locator('thead th', { hasText: 'Workload / container' }).boundingBox();
    assert.ok(nameColumn && nameColumn.width >= 200, `the name column keeps its room: ${nameColumn?.width}px`);
    await view.locator('#f-text').fill('team-with');
    await view.locator('tr.workload', { hasText: 'team-with' }).waitFor();
    await workbench.screenshot('long-name-ellipsis');
    await view.locator('#f-text').fill('');

    // 3. Preview frontend and the twelve workloads of a namespace the cluster does not have: counted, grouped, bounded.
    await view.locator('#f-namespace').selectOption(missingNamespace);
    await view.locator('#select-visible').click();
    await view.locator('#f-namespace').selectOption('');
    await workloadCheckbox(workbench, 'Deployment', 'shop', 'frontend').check();
    await view.locator('#totals', { hasText: /Selected: 13 workloads, 14 containers, monthly Δ [−+±]\$[\d,]+\.\d\d\/month\./ }).waitFor();
    await view.locator('#preview').click();
    await workbench.page.locator('.monaco-diff-editor').first().waitFor({ state: 'visible' });
    await focusPanel(workbench);
    const planLine = withoutIsolates(await waitForPlanLine(workbench, /^plan-[0-9a-f]{12}: 1 object/));
    assert.match(planLine, /The diff is open\./);
    assert.match(planLine, /Not included: 13 items in 2 groups:/);
    assert.match(planLine, new RegExp(`namespace ${missingNamespace}: could not read the live object: .* — 12 workloads`));
    assert.match(planLine, /namespace shop: .*Invalid container name .* — 1 container/);
    assert.ok(planLine.length < 2000, `bounded: ${planLine.length} characters`);
    await workbench.runCommand('Notifications: Clear All Notifications');
    await workbench.screenshot('preview-grouped-skips');

    // 4. Apply: the dialog names what is left out; afterwards the row shows the live value, its tick clears, the diff closes.
    await view.locator('#apply').click();
    const dialog = withoutIsolates(await answerApproval(workbench, 'Apply 1 change'));
    assert.match(dialog, /Not included \(13 items\):/);
    assert.match(dialog, /…and 8 more \(KRR output channel\)\./);
    await focusPanel(workbench);
    await waitForPlanLine(workbench, /^applied/);
    const web = containerResources(test, 'apps/v1', 'Deployment', 'shop', 'frontend') as Record<string, { requests?: { memory?: string } }>;
    assert.equal(web.web?.requests?.memory, '198Mi');
    const frontendRow = view.locator('tr.workload[data-key="shop/Deployment/frontend"]');
    await frontendRow.locator('.badge.applied').waitFor();
    assert.equal(await workloadCheckbox(workbench, 'Deployment', 'shop', 'frontend').isChecked(), false, 'the tick clears');
    const webRow = frontendRow.locator('xpath=following-sibling::tr[contains(@class,"container")][1]');
    assert.match(await webRow.innerText(), /198Mi/);
    await workbench.runCommand('Notifications: Clear All Notifications');
    await until('the diff tab closes', async () => ((await workbench.page.locator('.tabs-container .tab', { hasText: /live ↔ proposed/ }).count()) === 0 ? true : undefined));
    await workbench.screenshot('applied-rows-marked');

    // 5. Sort by name, tick postgres, preview it (a diff opens), then reload the window.
    await view.locator('#f-sort').selectOption('name');
    await workloadCheckbox(workbench, 'StatefulSet', 'data', 'postgres').check();
    await view.locator('#include-limits').check();
    await view.locator('#preview').click();
    await workbench.page.locator('.monaco-diff-editor').first().waitFor({ state: 'visible' });
    // Reload the way a user does, through VS Code: its shutdown saves the workbench state (the webview's state, kept
    // by the editor input, among it) before the page unloads. A raw browser reload skips that save, so the panel
    // would come back with whatever state the last periodic flush happened to write.
    const navigated = workbench.page.waitForEvent('framenavigated', { predicate: (frame) => frame === workbench.page.mainFrame() });
    await workbench.page.keyboard.press('F1');
    await workbench.page.locator('.quick-input-widget .quick-input-box input').fill('>Developer: Reload Window');
    await workbench.page.locator('.quick-input-widget .monaco-list-row', { has: workbench.page.locator('.label-name', { hasText: /^Developer: Reload Window$/ }) }).first().click();
    await navigated;
    await workbench.waitForWorkbench();
    const restored = await workbench.readWebview({ extensionId: 'krr-mcp.krr-mcp', expected: 'checkout-api' });
    assert.match(restored, /strategy simple/);
    assert.equal(await view.locator('#f-sort').inputValue(), 'name');
    assert.equal(await workloadCheckbox(workbench, 'StatefulSet', 'data', 'postgres').isChecked(), true, 'the selection is back');
    assert.equal(await view.locator('#include-limits').isChecked(), true);
    // The row the apply wrote is still marked and shows the value now live, not the report's old one.
    await frontendRow.locator('.badge.applied').waitFor();
    assert.match(await webRow.innerText(), /198Mi/);
    await until('no leftover diff tab after the reload', async () => ((await workbench.page.locator('.tabs-container .tab', { hasText: /live ↔ proposed|KRR plan-/ }).count()) === 0 ? true : undefined));
    await workbench.screenshot('restored-after-reload');

    // 6. The side bar shows the hostile name visibly too.
    await openKrrSideBar(workbench);
    const tree = workbench.page.locator('.pane', { has: workbench.page.locator('.pane-header', { hasText: 'Recommendations' }) });
    await tree.locator('.monaco-list-row', { hasText: 'shop' }).first().click();
    const treeRow = tree.locator('.monaco-list-row', { hasText: shownHostile });
    await treeRow.waitFor({ state: 'visible' });
    assert.doesNotMatch(await tree.innerText(), /\u202E/u);
    await workbench.screenshot('tree-hostile-name');
  },
};
