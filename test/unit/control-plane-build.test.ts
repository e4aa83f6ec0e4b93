// npm run control-plane:build without a usable Go: a clear message naming what to install, never a silent skip.
import * as path from 'node:path';
import { buildScriptRunner, folderPerTest, itFailsWithoutUsableGo } from '../support/go-build-script';

const build = buildScriptRunner(path.resolve(__dirname, '..', 'control-plane', 'build.sh'));

describe('control-plane build: Go missing or too old', () => {
  const folder = folderPerTest();
  itFailsWithoutUsableGo(build, folder, /go1\.21\.13 is too old to build Kubernetes 1\.33: install Go 1\.24 or newer/);
});
