// `krr-mcp` from source as the tests start it: src/cli.ts bundled with esbuild once per test process (into a temp
// file) and run by plain node. Starting node with the tsx loader instead costs about 0.5 s of CPU per server, against
// about 0.2 s for the bundle; the suites start a hundred or so servers on two cores. The bundle is made from the
// source as it is now, so a test never runs a stale dist/.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..');

let bundled: string | undefined;

/** The path of src/cli.ts bundled for node (made on first call, removed when the process exits). */
export function cliBundle(): string {
  if (bundled === undefined) {
    // Required here, not imported at the top: only processes that start a server pay for loading esbuild.
    const esbuild = require('esbuild') as typeof import('esbuild');
    const dir = mkdtempSync(path.join(tmpdir(), 'krr-cli-bundle-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const outfile = path.join(dir, 'krr-mcp.cjs');
    esbuild.buildSync({ entryPoints: [path.join(repoRoot, 'src', 'cli.ts')], outfile, bundle: true, format: 'cjs', platform: 'node', target: 'node22', external: ['vscode'], logLevel: 'error' });
    bundled = outfile;
  }
  return bundled;
}

/** node's arguments for `krr-mcp <args>` from source. */
export function cliArgs(args: readonly string[]): string[] {
  return [cliBundle(), ...args];
}
