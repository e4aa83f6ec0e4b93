// npm run control-plane:build without a usable Go: a clear message naming what to install, never a silent skip.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { buildScriptRunner, folderPerTest, writeFakeGo } from '../support/go-build-script';

const build = buildScriptRunner(path.resolve(__dirname, '..', 'control-plane', 'build.sh'));

describe('control-plane build: Go missing or too old', () => {
  const folder = folderPerTest();

  it('fails with what to install when there is no Go on PATH', async () => {
    const result = await build(`${folder.dir}:/usr/bin:/bin`);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Go is not installed.*install Go 1\.24 or newer/s);
  });

  it('fails with what to install when Go is older than the release needs', async () => {
    writeFakeGo(folder.dir, 'go1.21.13');
    const result = await build(`${folder.dir}:/usr/bin:/bin`);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /go1\.21\.13 is too old to build Kubernetes 1\.33: install Go 1\.24 or newer/);
  });
});
