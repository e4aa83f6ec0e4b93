// `npm run test:node` (what `npm test` runs): the unit and abuse suites in one mocha pool of two workers
// (`--parallel --jobs 2`, each worker with its own control plane), the longest files first. Mocha hands files to
// the workers in the order given; a long file handed out last keeps one worker busy while the other has nothing
// left, so the files that take minutes start first. The abuse figures are summed over the workers
// (test/abuse/hooks.ts).
import { readdirSync } from 'node:fs';
import * as path from 'node:path';

const repoRoot = path.resolve(__dirname, '..');

/** The longest files (minutes each on two busy cores, 2026-12-06), longest first; the rest follow by name. */
export const slowestFirst = [
  'test/abuse/faults-cluster.test.ts',
  'test/unit/gitops-real-repos.test.ts',
  'test/unit/session.test.ts',
  'test/abuse/faults-storage.test.ts',
  'test/abuse/bypass.test.ts',
  'test/abuse/renders.test.ts',
  'test/abuse/per-call.test.ts',
  'test/unit/mcp-eras.test.ts',
  'test/unit/mcp-http.test.ts',
  'test/unit/real-cluster.test.ts',
  'test/abuse/requestState.test.ts',
  'test/unit/mcp-stdio.test.ts',
  'test/abuse/workspace.test.ts',
  'test/unit/mcp-state.test.ts',
];

/** Every unit and abuse test file, the slowest first; a listed file that no longer exists is an error (keep the list true). */
export function orderedTestFiles(root = repoRoot): string[] {
  const all = ['test/unit', 'test/abuse'].flatMap((dir) =>
    readdirSync(path.join(root, dir))
      .filter((name) => name.endsWith('.test.ts'))
      .map((name) => `${dir}/${name}`),
  );
  const missing = slowestFirst.filter((file) => !all.includes(file));
  if (missing.length > 0) throw new Error(`scripts/test-node.ts lists test files that do not exist: ${missing.join(', ')}`);
  return [...slowestFirst, ...all.filter((file) => !slowestFirst.includes(file)).sort()];
}

if (require.main === module) {
  (async () => {
    const { execa } = await import('execa');
    const result = await execa('mocha', ['--require', 'test/abuse/hooks.ts', '--parallel', '--jobs', '2', ...orderedTestFiles()], { cwd: repoRoot, preferLocal: true, stdio: 'inherit', reject: false });
    process.exit(result.exitCode ?? 1);
  })().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
