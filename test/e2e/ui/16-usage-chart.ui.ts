// Issue 25 in the real UI: the review panel's usage charts. A real Prometheus (built from its Go module, basic auth)
// holds 14 days of the sample workloads' usage from the usage-history generator: a diurnal frontend, a CPU spike in
// checkout-api, an OOM kill in postgres. First without krr.prometheusUrl: rows show at once and one quiet line says
// why there is no evidence, with no chart column. Then the URL and its auth header are set: showing the panel again
// reads the evidence, every container row gets its CPU and memory sparklines, the selected row its large charts
// (axes in m cores and Mi/Gi, dates, the request/limit lines now and as recommended, a legend), and hovering a chart
// shows the nearest sample's time and value. Screenshots: no-evidence-line, usage-sparklines, usage-chart-hover.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startPrometheus, type MetricsStore } from '../../support/test-cluster';
import { writeUsageHistory, type WorkloadUsage } from '../../support/usage-history';
import { startKrrEnvironment, testContext } from '../lib/krrEnvironment';
import { panel, scanFromPalette, until } from '../lib/krrWorkbench';
import type { UiTest } from '../lib/uiTest';

let store: MetricsStore | undefined;

const Mi = 1024 * 1024;
const Gi = 1024 * Mi;

/**
 * The sample report's workloads (test/fixtures/sample-report.json), with its requests and limits, each in a named
 * pattern; the Job and the CronJob have no history, so their rows say there is no evidence for them.
 */
const workloads: WorkloadUsage[] = [
  { namespace: 'shop', kind: 'Deployment', name: 'checkout-api', pods: 2, containers: [{ name: 'api', pattern: 'spike', cpu: 0.0625, memory: 256 * Mi, spikeCpu: 0.75, peakMemory: 400 * Mi, requests: { cpu: 0.5, memory: 512 * Mi }, limits: { cpu: 1, memory: Gi } }] },
  { namespace: 'shop', kind: 'Deployment', name: 'frontend', containers: [{ name: 'web', pattern: 'diurnal', cpu: 0.125, memory: 160 * Mi, requests: { cpu: 0.2, memory: 256 * Mi }, limits: { cpu: 0.5, memory: 256 * Mi } }] },
  {
    namespace: 'data',
    kind: 'StatefulSet',
    name: 'postgres',
    containers: [
      { name: 'postgresql', pattern: 'oomkill', cpu: 0.25, memory: 320 * Mi, requests: { cpu: 0.25, memory: 256 * Mi }, limits: { memory: 512 * Mi } },
      { name: 'metrics', pattern: 'steady', cpu: 0.0078125, memory: 48 * Mi },
    ],
  },
  { namespace: 'monitoring', kind: 'DaemonSet', name: 'node-exporter', containers: [{ name: 'node-exporter', pattern: 'weekly', cpu: 0.015625, memory: 64 * Mi, requests: { cpu: 0.1, memory: 64 * Mi }, limits: { cpu: 0.2, memory: 128 * Mi } }] },
];

/** Sets settings the way a person's settings.json does (code-server's window reads machine-scoped ones from Machine/). */
function writeSettings(userData: string, extra: Record<string, unknown>): void {
  for (const scope of ['User', 'Machine']) {
    const file = path.join(userData, scope, 'settings.json');
    const current = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(file, JSON.stringify({ ...current, ...extra }, null, 2) + '\n');
  }
}

export const uiTest: UiTest = {
  title: 'review panel: usage evidence — one quiet line without Prometheus; with it, sparklines per row and the selected row’s charts with values on hover',
  timeoutMs: 300_000,
  async prepare(outDir) {
    fs.mkdirSync(outDir, { recursive: true });
    const history = path.join(outDir, 'usage-history.om');
    writeUsageHistory(history, { workloads, end: new Date() });
    store = await startPrometheus({ openMetrics: history, log: (line) => console.log(line) });
    fs.rmSync(history, { force: true });
    const environment = await startKrrEnvironment();
    const started = store;
    return {
      ...environment,
      dispose: async () => {
        await started.close();
        await environment.dispose();
      },
    };
  },
  async run({ workbench, server }) {
    if (!store) throw new Error('prepare did not start Prometheus');
    const view = panel(workbench);
    await workbench.runCommand('View: Close Primary Side Bar');

    // 1. No krr.prometheusUrl: the rows come, then one quiet line with the reason; no chart column, no chart.
    await scanFromPalette(workbench, testContext);
    await view.locator('tr.container').first().waitFor({ state: 'visible' });
    const line = view.locator('#evidence.unavailable');
    await line.waitFor({ state: 'visible' });
    assert.match(await line.innerText(), /^No usage evidence: no Prometheus URL is configured \(krr\.prometheusUrl\)/);
    assert.equal(await view.locator('.name-usage, svg.spark').count(), 0, 'no sparklines without evidence');
    assert.equal(await view.locator('#usage-head').isHidden(), true);
    assert.equal(await view.locator('#usage').isHidden(), true);
    await workbench.runCommand('Notifications: Clear All Notifications');
    await workbench.screenshot('no-evidence-line');

    // 2. The URL and its Authorization header (user settings: krr.prometheusHeaders goes only to krr.prometheusUrl).
    writeSettings(path.join(server.root, 'user-data'), { 'krr.prometheusUrl': store.url, 'krr.prometheusHeaders': [`Authorization: ${store.authHeader}`] });
    // The configuration reloads from the file; showing the panel again asks for the evidence again.
    await until(
      'the panel reads the usage evidence',
      async () => {
        await workbench.runCommand('KRR: Show Recommendations');
        return (await view.locator('#evidence.available, #evidence.loading').count()) > 0 ? true : undefined;
      },
      60_000,
    );
    await view.locator('#evidence.available').waitFor({ state: 'visible', timeout: 60_000 });
    assert.match(await view.locator('#evidence').innerText(), /^Usage from Prometheus for \d+ containers/);
    await view.locator('#usage-head').waitFor({ state: 'visible' });
    // Every container row has two sparklines (CPU, memory); the Job and the CronJob have no samples in Prometheus, and
    // theirs say so instead of drawing a line.
    await until('sparklines in the rows', async () => ((await view.locator('tr.container .usage svg.spark').count()) === 14 ? true : undefined));
    for (const container of ['migrate', 'report']) {
      const spot = view.locator('tr.container', { hasText: container }).locator('.usage');
      assert.deepEqual(await spot.locator('svg.spark text.empty').allTextContents(), ['No usage data', 'No usage data'], container);
      assert.equal(await spot.locator('path.usage-line').count(), 0, `${container}: no invented line`);
    }
    // Until a row is picked, the large chart shows the first row with evidence (checkout-api, the top saving).
    await view.locator('#usage-title', { hasText: 'container api' }).waitFor({ state: 'visible' });
    await view.locator('.table-wrap').evaluate((wrap) => ((wrap as unknown as { scrollTop: number }).scrollTop = 0));
    await workbench.screenshot('usage-sparklines');
    const spark = view.locator('tr.container', { hasText: 'postgresql' }).locator('svg.spark.memory');
    assert.ok((await spark.locator('path.usage-line').getAttribute('d'))?.startsWith('M'));
    assert.equal(await spark.locator('line.limit-line.current-limit').count(), 1, 'the 512Mi limit as a line');
    assert.match((await spark.getAttribute('aria-label')) ?? '', /^memory over 14 days: max \d+(\.\d+)?Mi · current request 256Mi · current limit 512Mi · recommended request 808Mi/);

    // 3. The selected row: postgres' database container, with the OOM kill near its 512Mi limit.
    await view.locator('tr.container', { hasText: 'postgresql' }).locator('button.spark-button').click();
    const figure = view.locator('#usage');
    await figure.locator('#usage-title', { hasText: 'container postgresql' }).waitFor({ state: 'visible' });
    const memory = figure.locator('#usage-memory svg.detail');
    await memory.waitFor({ state: 'visible' });
    const yLabels = await memory.locator('text.axis').allTextContents();
    assert.ok(yLabels.includes('0') && yLabels.some((label) => /^\d+(\.\d+)?(Mi|Gi)$/.test(label)), yLabels.join(', '));
    assert.ok(yLabels.filter((label) => /^\d{1,2} [A-Z][a-z]{2,3}$/.test(label)).length >= 5, `dates on the x axis: ${yLabels.join(', ')}`);
    const cpuLabels = await figure.locator('#usage-cpu svg.detail text.axis').allTextContents();
    assert.ok(cpuLabels.some((label) => /^\d+m$/.test(label)), `m cores: ${cpuLabels.join(', ')}`);
    assert.deepEqual(
      (await memory.locator('line.limit-line').evaluateAll((lines) => lines.map((node) => (node as unknown as { getAttribute(name: string): string | null }).getAttribute('class')))).sort(),
      ['limit-line current-limit', 'limit-line current-request', 'limit-line recommended-limit', 'limit-line recommended-request'],
    );
    const facts = await figure.locator('#usage-facts').innerText();
    assert.match(facts, /memory peak \d+(\.\d+)?Mi on \d{1,2} [A-Z][a-z]{2,3} \d\d:\d\d · 1 OOM kill \(limit 512Mi\)/);
    // Hover: the nearest sample's time and value, drawn inside the chart.
    const box = await memory.locator('rect.hover-target').boundingBox();
    if (!box) throw new Error('the memory chart has no hover area');
    await workbench.page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
    await memory.locator('text.hover-label[visibility="visible"]').waitFor();
    const hover = await memory.locator('text.hover-label').textContent();
    assert.match(hover ?? '', /^\d{1,2} [A-Z][a-z]{2,3} \d\d:\d\d · \d+(\.\d+)?Mi$/);
    await workbench.runCommand('Notifications: Clear All Notifications').catch(() => undefined);
    await workbench.page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
    await workbench.screenshot('usage-chart-hover');
  },
};
