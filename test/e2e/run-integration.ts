// `npm run test:integration`: builds the extension and its integration tests, runs them inside code-server's extension host.
// `--probe` runs the harness's own probe extension instead (a smoke test of the route itself).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildIntegrationTests } from './build-integration';
import { e2eRoot, loadExeca, repoRoot } from './lib/codeServer';
import { runExtensionTests } from './lib/extensionTests';
import { loadPrepareEnvironment, type RunEnvironment } from './lib/hooks';
import { createRunDir } from './lib/output';

async function main(): Promise<number> {
  const started = Date.now();
  const probe = process.argv.includes('--probe');
  const outDir = createRunDir(probe ? 'integration-probe' : 'integration');
  const extensionPath = probe ? path.join(e2eRoot, 'probe') : repoRoot;

  const { execa } = await loadExeca();
  if (!probe) await execa('node', ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit', timeout: 120_000 });
  const testsPath = await buildIntegrationTests({
    extension: extensionPath,
    tests: probe ? path.join(e2eRoot, 'probe', 'integration') : path.join(repoRoot, 'test', 'integration'),
  });

  let environment: RunEnvironment = {};
  if (probe) {
    environment = { env: { KRR_PROBE_MARK: 'from-extensionEnvironment', KRR_PROBE_OUT: fs.mkdtempSync(path.join(os.tmpdir(), 'krr-probe-')) } };
  } else {
    // Hook for the editor team: test/integration/environment.ts may start a test cluster and return its env.
    const prepare = await loadPrepareEnvironment(path.join(repoRoot, 'test', 'integration', 'environment.ts'));
    if (prepare) environment = await prepare(outDir);
  }

  let code: number;
  try {
    code = await runExtensionTests({
      extensionPath,
      testsPath,
      outDir,
      ...(environment.workspace ? { workspace: environment.workspace } : {}),
      ...(environment.env ? { env: environment.env } : {}),
      ...(environment.settings ? { settings: environment.settings } : {}),
    });
  } finally {
    await environment.dispose?.();
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`integration ${code === 0 ? 'passed' : 'FAILED'} (exit ${code}) in ${seconds}s; output: ${path.relative(repoRoot, outDir)}`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  },
);
