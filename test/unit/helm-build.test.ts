// npm run helm:build without a usable Go: a clear message naming what to install, never a silent skip.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const buildScript = path.resolve(__dirname, '..', 'helm', 'build.sh');

async function build(pathEnv: string, args: string[] = []): Promise<{ code: number; stderr: string }> {
  try {
    await run('/bin/bash', [buildScript, ...args], { env: { PATH: pathEnv, HOME: tmpdir(), KRR_HELM_CACHE: path.join(tmpdir(), 'krr-helm-cache-none') } });
    return { code: 0, stderr: '' };
  } catch (error) {
    const failure = error as { code?: number; stderr?: string };
    return { code: failure.code ?? -1, stderr: failure.stderr ?? '' };
  }
}

describe('helm build: Go missing or too old, nothing cached', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-no-go-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('fails with what to install when there is no Go on PATH', async () => {
    const result = await build(`${dir}:/usr/bin:/bin`);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Go is not installed.*install Go 1\.24 or newer/s);
  });

  it('fails with what to install when Go is older than the release needs', async () => {
    writeFileSync(path.join(dir, 'go'), '#!/bin/sh\n[ "$1 $2" = "env GOVERSION" ] && echo go1.21.13 && exit 0\nexit 2\n');
    chmodSync(path.join(dir, 'go'), 0o755);
    const result = await build(`${dir}:/usr/bin:/bin`);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /go1\.21\.13 is too old to build helm: install Go 1\.24 or newer/);
  });

  it('--cached-only (what tests ask) fails with the command to run, never builds', async () => {
    writeFileSync(path.join(dir, 'go'), '#!/bin/sh\n[ "$1 $2" = "env GOVERSION" ] && echo go1.26.8 && exit 0\necho "go must not run" >&2; exit 2\n');
    chmodSync(path.join(dir, 'go'), 0o755);
    const result = await build(`${dir}:/usr/bin:/bin`, ['--cached-only']);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /run 'npm run helm:build' first/);
    assert.doesNotMatch(result.stderr, /go must not run/);
  });
});
