// Runs inside code-server's real extension host for panel_first_rows (bench/panelFirstRows.ts drives the browser):
// per run, scans the fleet (every context of the kubeconfig, through the krr stand-in), notes the time the reports
// are loaded, opens the review panel with "KRR: Show Recommendations" and waits for the driver to report the first
// rows visible in the webview. The two sides share the machine's wall clock (Date.now) and talk through files.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { KrrTestApi } from '../../src/extension';

const extensionId = 'krr-mcp.krr-mcp';
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForFile(file: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`no ${path.basename(file)} after ${timeoutMs} ms`);
    await settle(20);
  }
}

export async function run(): Promise<void> {
  const dir = process.env.KRR_BENCH_DIR;
  const runs = Number(process.env.KRR_BENCH_RUNS ?? 3);
  const contexts = (process.env.KRR_BENCH_CONTEXTS ?? '').split(',').filter(Boolean);
  if (!dir || contexts.length === 0) throw new Error('KRR_BENCH_DIR and KRR_BENCH_CONTEXTS must be set');
  const extension = vscode.extensions.getExtension<KrrTestApi>(extensionId);
  if (!extension) throw new Error(`${extensionId} is not installed in this extension host`);
  const api = await extension.activate();
  if (!api) throw new Error('activate() returned no test API (not in extension-test mode?)');
  await settle(1000);
  for (let index = 1; index <= runs; index += 1) {
    const fleet = await api.session().scanFleet({ contexts, refresh: true }, { type: 'human', via: 'bench' });
    const failed = fleet.reports.filter((entry) => entry.error);
    if (failed.length > 0) throw new Error(`fleet scan failed for ${failed.map((entry) => `${entry.context}: ${entry.error ?? ''}`).join('; ')}`);
    const loadedAt = Date.now();
    writeFileSync(path.join(dir, `run-${index}-loaded.json`), JSON.stringify({ loadedAt, rows: fleet.totals.rows, contexts: fleet.reports.length }));
    await vscode.commands.executeCommand('krr.showRecommendations');
    await waitForFile(path.join(dir, `run-${index}-seen.json`), 120_000);
    JSON.parse(readFileSync(path.join(dir, `run-${index}-seen.json`), 'utf8'));
    // A fresh panel next time: the measurement includes creating the webview, as the first "Show Recommendations" does.
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await settle(1500);
  }
}
