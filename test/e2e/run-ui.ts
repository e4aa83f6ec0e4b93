// `npm run test:e2e`: packages the extension, then runs each test/e2e/ui/*.ui.ts (in name order) against its own fresh
// code-server and chromium, with screenshots and logs under test/e2e/output/ui-<time>/<test>/.
import fs from 'node:fs';
import path from 'node:path';
import { Workbench } from './lib/browser';
import { CodeServer, e2eRoot, loadExeca, node24, repoRoot } from './lib/codeServer';
import type { RunEnvironment } from './lib/hooks';
import { createRunDir } from './lib/output';
import type { UiTest } from './lib/uiTest';

const vsceEntry = path.join(e2eRoot, 'node_modules', '@vscode', 'vsce', 'vsce');

async function main(): Promise<number> {
  const started = Date.now();
  const runDir = createRunDir('ui');
  const filter = process.argv[2];
  const files = fs
    .readdirSync(path.join(e2eRoot, 'ui'))
    .filter((file) => file.endsWith('.ui.ts') && (!filter || file.includes(filter)))
    .sort();
  if (files.length === 0) throw new Error(`no UI tests in test/e2e/ui${filter ? ` matching ${filter}` : ''}`);

  const vsixByFolder = new Map<string, string>();
  let passed = 0;
  let failed = 0;
  for (const file of files) {
    const test = await loadUiTest(path.join(e2eRoot, 'ui', file));
    const extensionPath = path.resolve(test.extensionPath ?? repoRoot);
    const testStarted = Date.now();
    const outDir = path.join(runDir, path.basename(file, '.ui.ts'));
    try {
      let vsix = vsixByFolder.get(extensionPath);
      if (!vsix) {
        vsix = await packageExtension(extensionPath, runDir);
        vsixByFolder.set(extensionPath, vsix);
      }
      await runUiTest(test, vsix, outDir);
      passed += 1;
      console.log(`  ✔ ${file}: ${test.title} (${seconds(testStarted)}s)`);
    } catch (error) {
      failed += 1;
      console.log(`  ✖ ${file}: ${test.title} (${seconds(testStarted)}s)`);
      console.log(indent(error instanceof Error ? (error.stack ?? error.message) : String(error)));
      console.log(`    screenshots and logs: ${path.relative(repoRoot, outDir)}`);
    }
  }
  console.log(`UI tests finished in ${seconds(started)}s; output: ${path.relative(repoRoot, runDir)}`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

async function runUiTest(test: UiTest, vsix: string, outDir: string): Promise<void> {
  fs.mkdirSync(outDir, { recursive: true });
  const environment: RunEnvironment = test.prepare ? await test.prepare(outDir) : {};
  const server = CodeServer.create({
    ...(environment.workspace ? { workspace: environment.workspace } : {}),
    logFile: path.join(outDir, 'code-server.log'),
    ...(environment.env ? { env: environment.env } : {}),
    ...(environment.settings ? { settings: environment.settings } : {}),
  });
  let workbench: Workbench | undefined;
  let ok = false;
  try {
    await server.installExtension(vsix);
    await server.start();
    workbench = await Workbench.launch({ outDir });
    await workbench.open(server.workbenchUrl());
    await workbench.waitForWorkbench();
    await withTimeout(test.run({ workbench, server, outDir, env: environment.env ?? {} }), test.timeoutMs ?? 120_000, test.title);
    ok = true;
  } catch (error) {
    await workbench?.screenshot('failure').catch(() => undefined);
    throw error;
  } finally {
    await workbench?.close();
    await server.stop();
    await environment.dispose?.();
    // A failed test keeps code-server's user data (extension host logs) next to its screenshots.
    if (ok) server.removeRoot();
    else fs.writeFileSync(path.join(outDir, 'code-server-root.txt'), server.root + '\n');
  }
}

/** What the root extension ships, unless its package.json lists `files`: esbuild bundles everything into dist/. */
const shippedByDefault = ['package.json', 'dist', 'media', 'README.md', 'LICENSE', 'LICENSE.md', 'CHANGELOG.md'];

/**
 * `vsce package` of a staged copy holding only what the extension ships: vsce walks the whole folder otherwise
 * (test/e2e/node_modules alone is 27,000 files), and no node_modules go in since esbuild bundles.
 */
async function packageExtension(extensionPath: string, runDir: string): Promise<string> {
  const { execa } = await loadExeca();
  const manifestFile = path.join(extensionPath, 'package.json');
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as {
    name: string;
    version: string;
    files?: string[];
    scripts?: Record<string, string>;
  };
  // vsce would run the prepublish script inside the stage, where the sources are not: run it here instead.
  if (manifest.scripts?.['vscode:prepublish']) {
    await execa('npm', ['run', '--silent', 'vscode:prepublish'], { cwd: extensionPath, stdio: 'inherit', timeout: 180_000 });
  } else if (extensionPath === repoRoot) {
    await execa('node', ['esbuild.mjs', '--production'], { cwd: repoRoot, stdio: 'inherit', timeout: 180_000 });
  }
  const stage = path.join(runDir, `stage-${manifest.name}`);
  const shipped = extensionPath === repoRoot ? (manifest.files ?? shippedByDefault) : fs.readdirSync(extensionPath);
  for (const entry of new Set(shipped)) {
    if (entry === 'package.json' || (extensionPath !== repoRoot && ['out', 'integration', 'node_modules'].includes(entry))) continue;
    const source = path.join(extensionPath, entry);
    if (fs.existsSync(source)) fs.cpSync(source, path.join(stage, entry), { recursive: true, filter: (file) => !file.endsWith('.map') });
  }
  const { scripts: _scripts, ...stagedManifest } = manifest;
  fs.mkdirSync(stage, { recursive: true });
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(stagedManifest, null, 2) + '\n');
  const vsix = path.join(runDir, `${manifest.name}-${manifest.version}.vsix`);
  const result = await execa(
    node24,
    [vsceEntry, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links', '--out', vsix],
    { cwd: stage, all: true, reject: false, timeout: 120_000 },
  );
  fs.rmSync(stage, { recursive: true, force: true });
  if (result.exitCode !== 0) throw new Error(`vsce package failed for ${extensionPath}:\n${result.all ?? ''}`);
  return vsix;
}

async function loadUiTest(file: string): Promise<UiTest> {
  const loaded = (await import(file)) as { uiTest?: UiTest; default?: { uiTest?: UiTest } };
  const test = loaded.uiTest ?? loaded.default?.uiTest;
  if (!test || typeof test.run !== 'function') throw new Error(`${file} must export \`uiTest: UiTest\``);
  return test;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function seconds(since: number): string {
  return ((Date.now() - since) / 1000).toFixed(1);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  },
);
