// activation and memory_usage_optimization: the production bundle's size, and — inside code-server's real
// extension host, through the e2e harness — activate() time and the host's memory after loading the
// 5,000-scan report and opening the review panel. The extension runs from a temporary folder holding the
// production build, so the shared checkout's dist/ is never touched.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { round } from './stats';

const repoRoot = path.resolve(__dirname, '..');

export interface BundleFigures {
  bundle_bytes: number;
  cli_bundle_bytes: number;
}

export interface HostFigures {
  ms: number;
  /** Of `ms`, loading (parsing and running) the bundle, measured with a fresh copy of it. */
  require_ms: number;
  load_report_ms: number;
  host_rss_before_mb: number;
  host_rss_after_mb: number;
  rss_delta_mb: number;
  heap_used_delta_mb: number;
  activation_heap_delta_mb: number;
  vscode: string;
}

/** Builds with the repo's own esbuild.mjs --production, from a temporary folder whose src/ links to ours. */
export async function buildProduction(): Promise<{ dir: string; figures: BundleFigures }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'krr-bench-build-'));
  for (const entry of ['src', 'node_modules', 'tsconfig.json']) symlinkSync(path.join(repoRoot, entry), path.join(dir, entry));
  cpSync(path.join(repoRoot, 'package.json'), path.join(dir, 'package.json'));
  if (existsSync(path.join(repoRoot, 'media'))) cpSync(path.join(repoRoot, 'media'), path.join(dir, 'media'), { recursive: true });
  const { execa } = await import('execa');
  await execa(process.execPath, [path.join(repoRoot, 'esbuild.mjs'), '--production'], { cwd: dir, stdin: 'ignore', timeout: 180_000 });
  return {
    dir,
    figures: { bundle_bytes: statSync(path.join(dir, 'dist', 'extension.js')).size, cli_bundle_bytes: statSync(path.join(dir, 'dist', 'krr-mcp.js')).size },
  };
}

/** null with a reason when the code-server harness is not installed or does not run here. */
export async function measureInExtensionHost(buildDir: string, reportFile: string): Promise<{ figures: HostFigures } | { notMeasured: string }> {
  const harness = path.join(repoRoot, 'test', 'e2e', 'lib', 'extensionTests.ts');
  if (!existsSync(harness) || !existsSync(path.join(repoRoot, 'test', 'e2e', 'node_modules', 'code-server'))) {
    return { notMeasured: 'the code-server harness (test/e2e, install.sh) is not installed' };
  }
  // The extension folder must not link node_modules: the extension host would see a dev tree; dist/ is self-contained.
  const extensionDir = mkdtempSync(path.join(tmpdir(), 'krr-bench-ext-'));
  // Without onStartupFinished: the host would activate the extension on its own while the runner settles, and the
  // runner's activate() would then time nothing. The runner's call runs the same activate() the event would.
  const manifest = JSON.parse(readFileSync(path.join(buildDir, 'package.json'), 'utf8')) as { activationEvents?: string[] };
  manifest.activationEvents = (manifest.activationEvents ?? []).filter((event) => event !== 'onStartupFinished');
  writeFileSync(path.join(extensionDir, 'package.json'), JSON.stringify(manifest, null, 2));
  cpSync(path.join(buildDir, 'dist'), path.join(extensionDir, 'dist'), { recursive: true });
  cpSync(path.join(extensionDir, 'dist', 'extension.js'), path.join(extensionDir, 'dist', 'extension-load-probe.js'));
  if (existsSync(path.join(buildDir, 'media'))) cpSync(path.join(buildDir, 'media'), path.join(extensionDir, 'media'), { recursive: true });
  const runnerDir = path.join(extensionDir, 'out', 'bench');
  mkdirSync(runnerDir, { recursive: true });
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [path.join(__dirname, 'extension-host', 'index.ts')],
    outfile: path.join(runnerDir, 'index.js'),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node22',
    external: ['vscode'],
    logLevel: 'warning',
  });
  const outFile = path.join(extensionDir, 'bench-result.json');
  const outDir = mkdtempSync(path.join(tmpdir(), 'krr-bench-e2e-'));
  try {
    const { runExtensionTests } = (await import(harness)) as typeof import('../test/e2e/lib/extensionTests');
    const code = await runExtensionTests({
      extensionPath: extensionDir,
      testsPath: path.join(runnerDir, 'index.js'),
      outDir,
      env: { KRR_BENCH_OUT: outFile, KRR_BENCH_REPORT: reportFile, ...(process.env.KRR_BENCH_PROFILE ? { KRR_BENCH_PROFILE: process.env.KRR_BENCH_PROFILE } : {}) },
      timeoutMs: 180_000,
    });
    if (code !== 0 || !existsSync(outFile)) return { notMeasured: `the extension-host run failed (exit ${code}); logs in ${outDir}` };
    const result = JSON.parse(readFileSync(outFile, 'utf8')) as {
      wasActiveBeforeMeasuring: boolean;
      activationMs: number;
      requireMs: number;
      loadReportMs: number;
      before: { rssMb: number; heapUsedMb: number };
      activated: { rssMb: number; heapUsedMb: number };
      loaded: { rssMb: number; heapUsedMb: number };
      vscode: string;
    };
    if (result.wasActiveBeforeMeasuring) return { notMeasured: 'the extension was already active before the runner could time activate()' };
    rmSync(outDir, { recursive: true, force: true });
    return {
      figures: {
        ms: round(result.activationMs, 1),
        require_ms: round(result.requireMs, 1),
        load_report_ms: round(result.loadReportMs, 0),
        host_rss_before_mb: round(result.before.rssMb, 1),
        host_rss_after_mb: round(result.loaded.rssMb, 1),
        rss_delta_mb: round(result.loaded.rssMb - result.before.rssMb, 1),
        heap_used_delta_mb: round(result.loaded.heapUsedMb - result.before.heapUsedMb, 1),
        activation_heap_delta_mb: round(result.activated.heapUsedMb - result.before.heapUsedMb, 1),
        vscode: result.vscode,
      },
    };
  } catch (error) {
    return { notMeasured: `the extension-host run failed: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    rmSync(extensionDir, { recursive: true, force: true });
  }
}
