// Runs a cached-Go-build script (test/control-plane/build.sh, test/helm/build.sh, test/prometheus/build.sh,
// test/victoriametrics/build.sh; shared functions in
// cached-go-build.sh) the way its tests need: only the PATH given, HOME in the temp folder, and a fake `go` to put first.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface BuildOutcome {
  code: number;
  stderr: string;
}

/** A function that runs `script` with PATH set to its argument (and nothing else of this process's environment but `env`). */
export function buildScriptRunner(script: string, env: Record<string, string> = {}): (pathEnv: string, args?: string[]) => Promise<BuildOutcome> {
  return async (pathEnv, args = []) => {
    try {
      await run('/bin/bash', [script, ...args], { env: { PATH: pathEnv, HOME: tmpdir(), ...env } });
      return { code: 0, stderr: '' };
    } catch (error) {
      const failure = error as { code?: number; stderr?: string };
      return { code: failure.code ?? -1, stderr: failure.stderr ?? '' };
    }
  };
}

/** A fresh folder for each test of the calling `describe` (for a fake `go`), removed after it; read `.dir` inside a test. */
export function folderPerTest(): { readonly dir: string } {
  const folder = { dir: '' };
  beforeEach(() => {
    folder.dir = mkdtempSync(path.join(tmpdir(), 'krr-no-go-'));
  });
  afterEach(() => rmSync(folder.dir, { recursive: true, force: true }));
  return folder;
}

/** Writes an executable `go` into `dir` that prints `version` for `go env GOVERSION` and runs `otherwise` (sh) for anything else. */
export function writeFakeGo(dir: string, version: string, otherwise = 'exit 2'): void {
  writeFileSync(path.join(dir, 'go'), `#!/bin/sh\n[ "$1 $2" = "env GOVERSION" ] && echo ${version} && exit 0\n${otherwise}\n`);
  chmodSync(path.join(dir, 'go'), 0o755);
}

/**
 * What every build script must do without a usable Go: fail with exit code 1 and what to install, never skip in silence.
 * `tooOld` is the script's own message for an old Go (it names what needs the newer one); `minimum` the Go it asks for.
 */
export function itFailsWithoutUsableGo(build: ReturnType<typeof buildScriptRunner>, folder: { readonly dir: string }, tooOld: RegExp, minimum = '1.24'): void {
  it('fails with what to install when there is no Go on PATH', async () => {
    const result = await build(`${folder.dir}:/usr/bin:/bin`);
    assert.equal(result.code, 1);
    assert.ok(result.stderr.includes(`install Go ${minimum} or newer`), result.stderr);
    assert.match(result.stderr, /Go is not installed/);
  });

  it('fails with what to install when Go is older than the release needs', async () => {
    writeFakeGo(folder.dir, 'go1.21.13');
    const result = await build(`${folder.dir}:/usr/bin:/bin`);
    assert.equal(result.code, 1);
    assert.match(result.stderr, tooOld);
  });
}
