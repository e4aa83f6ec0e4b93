// fleet_simulation.panel_first_rows_ms: in code-server's real workbench, 20 contexts × 2,500 containers (50,000 rows)
// are scanned as one fleet through the krr stand-in (KRR_STANDIN_REPORT: a generated 2,500-container report), then
// "KRR: Show Recommendations" opens the review panel. Measured: from the moment the fleet scan returned (the reports
// are loaded) to the first table rows visible in the panel's webview, found by polling the webview frame's DOM from
// the browser. Median of 3 runs in one workbench; each run scans again and opens a fresh panel.
// Charts on: krr.prometheusUrl points at a real Prometheus (the seeded world's usage, one day), so each panel also
// reads usage evidence after its first rows; a run counts only once the panel's usage column has turned on.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { format } from 'node:util';
import { fleetKubeconfig } from './fleet';
import { generateLargeReport } from './generate';
import type { Workbench } from '../test/e2e/lib/browser';
import { median, round } from './stats';
import { startPrometheus } from '../test/support/prometheus';
import { writeUsageHistory } from '../test/support/usage-history';
import { seedWorld } from '../test/support/usage-history/seed-world';

const repoRoot = path.resolve(__dirname, '..');

export interface PanelFirstRowsFigures {
  panel_first_rows_ms: number;
  panel_first_rows_runs_ms: number[];
  /** From the same start to every row in the panel (its "Showing … of N containers" line without "Loading"). */
  panel_all_rows_ms: number;
  /** From the same start to the usage column turned on (the evidence read from Prometheus arrived), median. */
  panel_usage_ms: number;
  panel_rows: number;
  panel_clusters: number;
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `buildDir`: a build from buildProduction() (dist/ and media/). */
export async function benchmarkPanelFirstRows(buildDir: string, options: { clusters?: number; containersPerCluster?: number; runs?: number } = {}): Promise<PanelFirstRowsFigures | { notMeasured: string }> {
  const clusters = options.clusters ?? 20;
  const perCluster = options.containersPerCluster ?? 2500;
  const runs = options.runs ?? 3;
  const harness = path.join(repoRoot, 'test', 'e2e', 'lib');
  if (!existsSync(path.join(repoRoot, 'test', 'e2e', 'node_modules', 'code-server'))) return { notMeasured: 'the code-server harness (test/e2e, install.sh) is not installed' };
  const work = mkdtempSync(path.join(tmpdir(), 'krr-bench-panel-'));
  const extensionDir = path.join(work, 'ext');
  const signals = path.join(work, 'signals');
  const outDir = path.join(work, 'e2e');
  mkdirSync(signals, { recursive: true });
  mkdirSync(path.join(extensionDir, 'out', 'bench'), { recursive: true });
  cpSync(path.join(buildDir, 'package.json'), path.join(extensionDir, 'package.json'));
  cpSync(path.join(buildDir, 'dist'), path.join(extensionDir, 'dist'), { recursive: true });
  cpSync(path.join(buildDir, 'media'), path.join(extensionDir, 'media'), { recursive: true });
  const esbuild = await import('esbuild');
  const runner = path.join(extensionDir, 'out', 'bench', 'panelFirstRows.js');
  await esbuild.build({ entryPoints: [path.join(__dirname, 'extension-host', 'panelFirstRows.ts')], outfile: runner, bundle: true, format: 'cjs', platform: 'node', target: 'node22', external: ['vscode'], logLevel: 'warning' });
  const report = path.join(work, 'krr-2500.json');
  writeFileSync(report, generateLargeReport({ scans: perCluster, seed: 100 }).text);
  const kubeconfig = path.join(work, 'kubeconfig');
  const contexts = fleetKubeconfig(kubeconfig, clusters);

  // The scans keep the generated report's numbers (KRR_STANDIN_PROMETHEUS=fixed: the stand-in would otherwise compute
  // from this Prometheus, which holds none of the generated fleet). The seeded world's usage: the fleet's workloads have none, so their sparklines say "No usage data",
  // while every panel still reads (five to seven queries per namespace) and turns its usage column on.
  writeUsageHistory(path.join(work, 'usage.om'), { end: new Date(), workloads: seedWorld(), days: 1 });
  const prometheus = await startPrometheus({ openMetrics: path.join(work, 'usage.om') });
  const [user, password] = Buffer.from(prometheus.authHeader.replace(/^Basic /, ''), 'base64').toString('utf8').split(':');
  const prometheusUrl = new URL(prometheus.url);
  prometheusUrl.username = user ?? '';
  prometheusUrl.password = password ?? '';

  const { CodeServer } = (await import(path.join(harness, 'codeServer.ts'))) as typeof import('../test/e2e/lib/codeServer');
  const browser = (await import(path.join(harness, 'browser.ts'))) as typeof import('../test/e2e/lib/browser');
  const server = CodeServer.create({
    logFile: path.join(outDir, 'code-server.log'),
    smokeTestDriver: true,
    settings: { 'krr.krrPath': path.join(repoRoot, 'test', 'support', 'bin', 'krr'), 'krr.kubectlPath': 'kubectl', 'krr.kubeconfig': kubeconfig, 'krr.prometheusUrl': prometheusUrl.toString() },
  });
  let workbench: Workbench | undefined;
  let ok = false;
  try {
    mkdirSync(outDir, { recursive: true });
    await server.start();
    workbench = await browser.Workbench.launch({ outDir });
    const page = workbench.page;
    let exitCode: number | undefined;
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown) => {
      writeFileSync(path.join(outDir, 'automation.log'), `[${type}] ${format(...(Array.isArray(args) ? args : [args]))}\n`, { flag: 'a' });
    });
    await page.exposeFunction('codeAutomationExit', (code: number) => {
      exitCode = code;
    });
    const env = { KRR_BENCH_DIR: signals, KRR_BENCH_RUNS: String(runs), KRR_BENCH_CONTEXTS: contexts.join(','), KRR_STANDIN_REPORT: report, KRR_STANDIN_PROMETHEUS: 'fixed' };
    const payload = [
      ['extensionDevelopmentPath', server.remoteUri(extensionDir)],
      ['extensionTestsPath', server.remoteUri(runner)],
      ['extensionEnvironment', JSON.stringify(env)],
    ];
    await workbench.open(server.workbenchUrl({ payload: JSON.stringify(payload) }));
    const samples: number[] = [];
    const allSamples: number[] = [];
    const usageSamples: number[] = [];
    let rows = 0;
    for (let index = 1; index <= runs; index += 1) {
      const loadedFile = path.join(signals, `run-${index}-loaded.json`);
      // Bounded: 20 stand-in scans of 2,500 containers each take well under this on 2 cores.
      for (let waited = 0; !existsSync(loadedFile); waited += 50) {
        if (exitCode !== undefined) return { notMeasured: `the extension-host runner stopped early (exit ${exitCode}); logs in ${outDir}` };
        if (waited > 300_000) return { notMeasured: `no fleet scan after 300 s; logs in ${outDir}` };
        await settle(50);
      }
      const loaded = JSON.parse(readFileSync(loadedFile, 'utf8')) as { loadedAt: number; rows: number };
      rows = loaded.rows;
      const seenAt = await firstRowsVisible(page, loaded.loadedAt + 120_000);
      if (seenAt === null) return { notMeasured: `run ${index}: no rows in the review panel within 120 s; logs in ${outDir}` };
      samples.push(seenAt - loaded.loadedAt);
      const complete = await allRowsArrived(page, loaded.loadedAt + 180_000);
      if (complete === null) return { notMeasured: `run ${index}: the review panel did not receive every row within 180 s; logs in ${outDir}` };
      if (complete.containers !== loaded.rows) return { notMeasured: `run ${index}: the panel counts ${complete.containers} containers, the fleet ${loaded.rows}` };
      allSamples.push(complete.at - loaded.loadedAt);
      const usage = await usageColumnOn(page, loaded.loadedAt + 180_000);
      if (usage === null) return { notMeasured: `run ${index}: the panel's usage column did not turn on within 180 s (no evidence from Prometheus); logs in ${outDir}` };
      usageSamples.push(usage - loaded.loadedAt);
      await workbench.screenshot(`panel-first-rows-${index}`).catch(() => undefined);
      writeFileSync(path.join(signals, `run-${index}-seen.json`), JSON.stringify({ seenAt }));
    }
    for (let waited = 0; exitCode === undefined && waited < 30_000; waited += 50) await settle(50);
    if (exitCode !== 0) return { notMeasured: `the extension-host runner failed (exit ${exitCode ?? 'none'}); logs in ${outDir}` };
    ok = true;
    return { panel_first_rows_ms: round(median(samples)), panel_first_rows_runs_ms: samples.map((ms) => round(ms)), panel_all_rows_ms: round(median(allSamples)), panel_usage_ms: round(median(usageSamples)), panel_rows: rows, panel_clusters: clusters };
  } finally {
    await workbench?.close();
    await server.stop();
    await prometheus.close();
    server.removeRoot();
    if (ok) rmSync(work, { recursive: true, force: true });
  }
}

// Evaluated in each frame (a string: bench/ compiles without the DOM library). The review table's rows count once
// its section is shown and laid out.
const visibleRows = `(() => {
  const main = document.getElementById('main');
  const body = document.getElementById('rows');
  return main && body && document.getElementById('f-sort') && !main.hidden && body.offsetParent !== null ? body.querySelectorAll('tr').length : 0;
})()`;

/** Polls every frame of the page for the review table's rendered rows; Date.now() of the first poll that sees one. */
async function firstRowsVisible(page: Workbench['page'], deadline: number): Promise<number | null> {
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      const count = await frame
        .evaluate<number>(visibleRows)
        .catch(() => 0);
      if (count > 0) return Date.now();
    }
    await settle(5);
  }
  return null;
}

const usageOn = `(() => {
  const head = document.getElementById('usage-head');
  return head && document.getElementById('f-sort') ? !head.hidden : false;
})()`;

/** Polls for the review table's usage column (shown once the panel has evidence from Prometheus). */
async function usageColumnOn(page: Workbench['page'], deadline: number): Promise<number | null> {
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      if (await frame.evaluate<boolean>(usageOn).catch(() => false)) return Date.now();
    }
    await settle(20);
  }
  return null;
}

const shownLine = `(() => {
  const shown = document.getElementById('shown');
  return shown && document.getElementById('f-sort') ? shown.textContent : '';
})()`;

/** Polls for the panel's "Showing … of N containers)." line once nothing is loading any more. */
async function allRowsArrived(page: Workbench['page'], deadline: number): Promise<{ at: number; containers: number } | null> {
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      const text = await frame.evaluate<string>(shownLine).catch(() => '');
      const match = /of (\d+) containers\)\.$/.exec(text);
      if (match && !text.includes('Loading')) return { at: Date.now(), containers: Number(match[1]) };
    }
    await settle(20);
  }
  return null;
}
