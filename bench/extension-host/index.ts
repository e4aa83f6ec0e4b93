// Runs inside code-server's real extension host (the extensionTestsPath route of test/e2e): times the
// extension's activation, then loads the 5,000-scan report, opens the review panel and reads the host's memory.
// Writes its figures as JSON to KRR_BENCH_OUT.
import { writeFileSync } from 'node:fs';
import { Session as InspectorSession } from 'node:inspector/promises';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as vscode from 'vscode';
import type { KrrTestApi } from '../../src/extension';

const extensionId = 'krr-mcp.krr-mcp';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as (() => void) | undefined;

function memory(): { rssMb: number; heapUsedMb: number } {
  gc?.();
  const usage = process.memoryUsage();
  return { rssMb: usage.rss / 1024 / 1024, heapUsedMb: usage.heapUsed / 1024 / 1024 };
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function run(): Promise<void> {
  const out = process.env.KRR_BENCH_OUT;
  const reportFile = process.env.KRR_BENCH_REPORT;
  if (!out || !reportFile) throw new Error('KRR_BENCH_OUT and KRR_BENCH_REPORT must be set');
  const extension = vscode.extensions.getExtension<KrrTestApi>(extensionId);
  if (!extension) throw new Error(`${extensionId} is not installed in this extension host`);
  await settle(1000);
  // Checked right before timing: an extension activated meanwhile would make activate() time nothing.
  const wasActive = extension.isActive;
  const before = memory();
  // Module load + activate(), as the extension host does it on the first activation event.
  // KRR_BENCH_PROFILE=<file>: a CPU profile of the activation (slows it down; the time is then not comparable).
  const profileFile = process.env.KRR_BENCH_PROFILE;
  const inspector = profileFile ? new InspectorSession() : undefined;
  if (inspector) {
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.start');
  }
  const started = performance.now();
  const api = await extension.activate();
  const activationMs = performance.now() - started;
  if (inspector && profileFile) {
    const { profile } = await inspector.post('Profiler.stop');
    writeFileSync(profileFile, JSON.stringify(profile));
    inspector.disconnect();
  }
  if (!api) throw new Error('activate() returned no test API (not in extension-test mode?)');
  await settle(500);
  const activated = memory();
  // How much of that is loading the bundle: require a byte-identical copy (a fresh module, not the cached one).
  const requireStarted = performance.now();
  createRequire(__filename)(path.join(extension.extensionPath, 'dist', 'extension-load-probe.js'));
  const requireMs = performance.now() - requireStarted;

  const loadStarted = performance.now();
  const summary = await api.session().loadReport(reportFile, { type: 'human', via: 'bench' });
  const loadMs = performance.now() - loadStarted;
  await vscode.commands.executeCommand('krr.showRecommendations');
  // Let the panel's webview receive its first page and the tree refresh.
  await settle(3000);
  const loaded = memory();
  writeFileSync(
    out,
    JSON.stringify({
      wasActiveBeforeMeasuring: wasActive,
      activationMs,
      requireMs,
      loadReportMs: loadMs,
      containers: summary.containers,
      workloads: summary.workloads,
      before,
      activated,
      loaded,
      node: process.version,
      vscode: vscode.version,
    }),
  );
}
