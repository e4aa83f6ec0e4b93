// npm run prometheus:build and npm run victoriametrics:build without a usable Go: a clear message naming what to
// install, never a silent skip; and `--cached-only` (what the harness asks) never builds.
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildScriptRunner, folderPerTest, itFailsWithoutUsableGo, writeFakeGo } from '../support/go-build-script';

const scripts = [
  { tool: 'prometheus', cacheVariable: 'KRR_PROMETHEUS_CACHE', target: 'Prometheus 3\\.16' },
  { tool: 'victoriametrics', cacheVariable: 'KRR_VICTORIAMETRICS_CACHE', target: 'VictoriaMetrics v1\\.151' },
];

for (const { tool, cacheVariable, target } of scripts) {
  const build = buildScriptRunner(path.resolve(__dirname, '..', tool, 'build.sh'), { [cacheVariable]: path.join(tmpdir(), `krr-${tool}-cache-none`) });

  describe(`${tool} build: Go missing or too old, nothing cached`, () => {
    const folder = folderPerTest();

    // Both releases' go.mod ask for Go 1.26: an older one fails in the script, not deep in `go build`.
    itFailsWithoutUsableGo(build, folder, new RegExp(`go1\\.21\\.13 is too old to build ${target}: install Go 1\\.26 or newer`), '1.26');

    it('rejects Go 1.25 too', async () => {
      writeFakeGo(folder.dir, 'go1.25.9');
      const result = await build(`${folder.dir}:/usr/bin:/bin`);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /go1\.25\.9 is too old/);
    });

    it('--cached-only (what the harness asks) fails with the command to run, never builds', async () => {
      writeFakeGo(folder.dir, 'go1.26.8', 'echo "go must not run" >&2; exit 2');
      const result = await build(`${folder.dir}:/usr/bin:/bin`, ['--cached-only']);
      assert.equal(result.code, 3);
      assert.match(result.stderr, new RegExp(`run 'npm run ${tool}:build' first`));
      assert.doesNotMatch(result.stderr, /go must not run/);
    });
  });
}
