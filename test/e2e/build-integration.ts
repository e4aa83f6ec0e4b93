// Bundles the extension-host test runner and each integration test into <extension>/out/test/integration/ (vscode and mocha stay external).
// CLI: tsx test/e2e/build-integration.ts [--extension <dir>] [--tests <dir>]   (defaults: the repo root, test/integration)
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..');

export interface IntegrationBuild {
  /** Extension folder; tests must lie inside it, so the output goes to `<extension>/out/test/integration`. */
  extension?: string;
  /** Folder of `*.test.ts` files. */
  tests?: string;
}

/** Builds and returns the absolute path of the compiled runner (the extensionTestsPath). */
export async function buildIntegrationTests(build: IntegrationBuild = {}): Promise<string> {
  const extension = path.resolve(build.extension ?? repoRoot);
  const tests = path.resolve(build.tests ?? path.join(repoRoot, 'test', 'integration'));
  const outDir = path.join(extension, 'out', 'test', 'integration');
  // A stale compiled test from a deleted source would still run: start from an empty folder.
  fs.rmSync(outDir, { recursive: true, force: true });
  const testFiles = fs.readdirSync(tests).filter((file) => file.endsWith('.test.ts')).sort();
  if (testFiles.length === 0) throw new Error(`no *.test.ts in ${tests}`);
  await esbuild.build({
    // Flat output: the runner looks for *.test.js beside itself.
    entryPoints: [
      { in: path.join(repoRoot, 'test', 'integration', 'index.ts'), out: 'index' },
      ...testFiles.map((file) => ({ in: path.join(tests, file), out: path.basename(file, '.ts') })),
    ],
    outdir: outDir,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node22',
    external: ['vscode', 'mocha'],
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  return path.join(outDir, 'index.js');
}

if (require.main === module) {
  const option = (name: string): string | undefined => {
    const index = process.argv.indexOf(name);
    return index > 0 ? process.argv[index + 1] : undefined;
  };
  const extension = option('--extension');
  const tests = option('--tests');
  buildIntegrationTests({ ...(extension ? { extension } : {}), ...(tests ? { tests } : {}) }).then(
    (runner) => console.log(`integration tests built: ${runner}`),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
