// Set-up in two commands: `npm test` builds (or finds cached) the control plane and helm first, one line each, and
// the README's set-up block is exactly what CI runs on a fresh machine.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { prepareTestWorld, type WorldPart } from '../../scripts/test-world';

const repoRoot = path.resolve(__dirname, '..', '..');

/** A stand-in for a cached-Go-build script: `--cached-only` answers from `cached`, a build writes `built` and prints like the real one. */
function fakeBuildScript(dir: string, name: string, options: { cached: boolean; buildExit?: number }): { part: WorldPart; builtMarker: string } {
  const builtMarker = path.join(dir, `${name}.built`);
  const script = path.join(dir, `${name}.sh`);
  writeFileSync(
    script,
    [
      '#!/usr/bin/env bash',
      `if [ "\${1:-}" = --cached-only ]; then ${options.cached ? `echo "${name}: cached"; echo /cache/bin; exit 0` : `echo "${name}: not built: run the build" >&2; exit 3`}; fi`,
      `echo "${name}: building"`,
      `touch '${builtMarker}'`,
      `exit ${options.buildExit ?? 0}`,
    ].join('\n') + '\n',
  );
  chmodSync(script, 0o755);
  return { part: { label: name, script, builds: `${name} from Go` }, builtMarker };
}

describe('test world: what npm test builds before its suites', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-test-world-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a cached part: one line with the time it took to find it, and no build', async () => {
    const { part, builtMarker } = fakeBuildScript(dir, 'plane', { cached: true });
    const lines: string[] = [];
    await prepareTestWorld([part], (line) => lines.push(line));
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /^test world: plane cached \(\d+\.\d s\)$/);
    assert.equal(existsSync(builtMarker), false, 'a cached part was built again');
  });

  it('a part not built yet: says what it builds, builds it, then one line with how long it took', async () => {
    const { part, builtMarker } = fakeBuildScript(dir, 'helm', { cached: false });
    const lines: string[] = [];
    await prepareTestWorld([part], (line) => lines.push(line));
    assert.deepEqual(lines.length, 2);
    assert.equal(lines[0], 'test world: building the helm: helm from Go…');
    assert.match(lines[1] ?? '', /^test world: helm built in \d+\.\d s$/);
    assert.ok(existsSync(builtMarker));
  });

  it('parts are prepared in order, and a failed build stops npm test with the script and its output', async () => {
    const first = fakeBuildScript(dir, 'plane', { cached: false, buildExit: 2 });
    const second = fakeBuildScript(dir, 'helm', { cached: false });
    await assert.rejects(prepareTestWorld([first.part, second.part], () => undefined), (error: Error) => {
      assert.match(error.message, /building the plane failed \(exit 2; .*plane\.sh\):\nplane: building/);
      return true;
    });
    assert.equal(existsSync(second.builtMarker), false, 'the next part was built after a failure');
  });

  it('a refusal other than "not built" (no Go, too old a Go) is reported, not built around', async () => {
    const script = path.join(dir, 'no-go.sh');
    writeFileSync(script, '#!/usr/bin/env bash\necho "plane: Go is not installed. install Go 1.24 or newer" >&2\nexit 1\n');
    chmodSync(script, 0o755);
    await assert.rejects(prepareTestWorld([{ label: 'plane', script, builds: 'x' }], () => undefined), /plane cannot be built: plane: Go is not installed/);
  });
});

describe('set-up in two commands: README, package.json and .ci/run agree', () => {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const packageJson = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

  /** The commands of the README's development set-up block, without their comments. */
  function readmeSetUpCommands(): string[] {
    const section = readme.split(/^## Set-up for development.*$/m)[1] ?? '';
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    return block.split('\n').map((line) => line.replace(/#.*$/, '').trim()).filter(Boolean);
  }

  it('the README asks for `npm ci` and `npm test`, nothing else', () => {
    assert.deepEqual(readmeSetUpCommands(), ['npm ci', 'npm test']);
  });

  it('npm test prepares the test world before anything else, and the build scripts stay on their own', () => {
    assert.match(packageJson.scripts.test ?? '', /^npm run test:world && /);
    assert.equal(packageJson.scripts['test:world'], 'tsx scripts/test-world.ts');
    assert.equal(packageJson.scripts['control-plane:build'], 'bash test/control-plane/build.sh');
    assert.equal(packageJson.scripts['helm:build'], 'bash test/helm/build.sh');
    assert.equal(packageJson.scripts['prometheus:build'], 'bash test/prometheus/build.sh');
    assert.equal(packageJson.scripts['victoriametrics:build'], 'bash test/victoriametrics/build.sh');
  });

  it('.ci/run runs exactly the README\'s commands (the Node install aside)', () => {
    const ci = readFileSync(path.join(repoRoot, '.ci', 'run'), 'utf8');
    // Top-level npm commands only: the indented one installs Node 24 on a machine whose Node is too old.
    const commands = ci.split('\n').filter((line) => /^npm /.test(line)).map((line) => line.trim());
    assert.deepEqual(commands, readmeSetUpCommands());
  });
});
