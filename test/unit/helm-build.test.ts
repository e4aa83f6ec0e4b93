// npm run helm:build without a usable Go: a clear message naming what to install, never a silent skip.
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildScriptRunner, folderPerTest, itFailsWithoutUsableGo, writeFakeGo } from '../support/go-build-script';

const build = buildScriptRunner(path.resolve(__dirname, '..', 'helm', 'build.sh'), { KRR_HELM_CACHE: path.join(tmpdir(), 'krr-helm-cache-none') });

describe('helm build: Go missing or too old, nothing cached', () => {
  const folder = folderPerTest();

  itFailsWithoutUsableGo(build, folder, /go1\.21\.13 is too old to build helm: install Go 1\.24 or newer/);

  it('--cached-only (what tests ask) fails with the command to run, never builds', async () => {
    writeFakeGo(folder.dir, 'go1.26.8', 'echo "go must not run" >&2; exit 2');
    const result = await build(`${folder.dir}:/usr/bin:/bin`, ['--cached-only']);
    assert.equal(result.code, 3);
    assert.match(result.stderr, /run 'npm run helm:build' first/);
    assert.doesNotMatch(result.stderr, /go must not run/);
  });
});
