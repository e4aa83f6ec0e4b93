// The krr runner against the krr stand-in (test/support/bin/krr), which behaves like krr v1.29.0.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KrrError, type KrrErrorKind, type KrrScanOptions, buildKrrArgs, maskKrrArgs, readKrrVersion, runKrrScan } from '../../src/core/krr/runner';

const krrPath = join(__dirname, '..', 'support', 'bin', 'krr');
const secret = 'Bearer runner-secret-0123456789';

async function rejectsWith(promise: Promise<unknown>, kind: KrrErrorKind): Promise<KrrError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof KrrError, `KrrError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    assert.ok(error.hint.length > 10, 'an actionable hint');
    return error;
  }
  assert.fail(`expected a KrrError ${kind}`);
}

function throwsUsage(options: KrrScanOptions, message: RegExp): void {
  assert.throws(
    () => buildKrrArgs(options),
    (error: unknown) => error instanceof KrrError && error.kind === 'usage' && message.test(error.message),
  );
}

/** Alive and not a zombie. */
async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

describe('krr runner', function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'krr-runner-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('buildKrrArgs', () => {
    it('always ends with --logtostderr -f json, values attached with =', () => {
      assert.deepEqual(buildKrrArgs({ krrPath, strategy: 'simple' }), ['simple', '--logtostderr', '-f', 'json']);
    });

    it('passes every option as krr spells it', () => {
      const args = buildKrrArgs({
        krrPath,
        strategy: 'simple_limit',
        context: 'kind-test',
        kubeconfig: '/home/me/.kube/config',
        namespaces: ['shop', 'team-.*'],
        selector: 'app=web,tier!=db',
        resources: ['Deployment', 'StatefulSet'],
        prometheusUrl: 'http://localhost:9090',
        prometheusAuthHeader: secret,
        historyHours: 48,
        cpuPercentile: 90,
        memoryBufferPercent: 20,
        cpuMinMillicores: 5,
        memMinMib: 64,
        allowHpa: true,
        useOomKillData: true,
        cpuRequestPercentile: 66,
        cpuLimitPercentile: 96,
        maxWorkers: 4,
      });
      assert.deepEqual(args, [
        'simple_limit',
        '--context=kind-test',
        '--kubeconfig=/home/me/.kube/config',
        '--namespace=shop',
        '--namespace=team-.*',
        '--resource=Deployment',
        '--resource=StatefulSet',
        '--selector=app=web,tier!=db',
        '--prometheus-url=http://localhost:9090',
        `--prometheus-auth-header=${secret}`,
        '--cpu-min=5',
        '--mem-min=64',
        '--max-workers=4',
        '--history_duration=48',
        '--cpu_percentile=90',
        '--memory_buffer_percentage=20',
        '--allow-hpa',
        '--use_oomkill_data',
        '--cpu_request=66',
        '--cpu_limit=96',
        '--logtostderr',
        '-f',
        'json',
      ]);
      assert.deepEqual(maskKrrArgs(args).filter((arg) => arg.startsWith('--prometheus-auth')), ['--prometheus-auth-header=***']);
      assert.doesNotMatch(maskKrrArgs(args).join(' '), /runner-secret/);
    });

    it('rejects namespaces that could be flags or are not names/regexes', () => {
      throwsUsage({ krrPath, strategy: 'simple', namespaces: ['-A'] }, /must not start with '-'/);
      throwsUsage({ krrPath, strategy: 'simple', namespaces: ['--all-clusters'] }, /must not start with '-'/);
      throwsUsage({ krrPath, strategy: 'simple', namespaces: ['shop\nx'] }, /control characters/);
      throwsUsage({ krrPath, strategy: 'simple', namespaces: ['my shop'] }, /neither a namespace name nor a simple regex/);
      throwsUsage({ krrPath, strategy: 'simple', namespaces: ['Shop'] }, /neither a namespace name/);
      throwsUsage({ krrPath, strategy: 'simple', namespaces: ['team-(a'] }, /not a valid regex/);
      throwsUsage({ krrPath, strategy: 'simple', namespaces: [''] }, /is empty/);
      assert.deepEqual(buildKrrArgs({ krrPath, strategy: 'simple', namespaces: ['a.b', '(x|y)-[0-9]+'] }).slice(1, 3), ['--namespace=a.b', '--namespace=(x|y)-[0-9]+']);
    });

    it('rejects a Prometheus URL that is not http(s)', () => {
      for (const url of ['localhost:9090', 'ftp://prom:21', 'http://', 'http://exa mple', '-p', 'javascript:alert(1)']) {
        throwsUsage({ krrPath, strategy: 'simple', prometheusUrl: url }, /Prometheus URL|must not start/);
      }
      // krr checks the scheme case-sensitively: the same URL goes with a lower-case scheme.
      assert.ok(buildKrrArgs({ krrPath, strategy: 'simple', prometheusUrl: 'HTTPS://prom.example/prometheus' }).includes('--prometheus-url=https://prom.example/prometheus'));
    });

    it('rejects selectors, contexts and kubeconfig paths starting with - or holding control characters', () => {
      throwsUsage({ krrPath, strategy: 'simple', selector: '-l' }, /the label selector must not start with '-'/);
      throwsUsage({ krrPath, strategy: 'simple', selector: 'app=a\u0000' }, /control characters/);
      throwsUsage({ krrPath, strategy: 'simple', context: '--all-clusters' }, /kube context must not start/);
      throwsUsage({ krrPath, strategy: 'simple', kubeconfig: '-x' }, /kubeconfig path must not start/);
      throwsUsage({ krrPath, strategy: 'simple', context: 'a\rb' }, /control characters/);
    });

    it('rejects an auth header with line breaks without echoing it', () => {
      assert.throws(
        () => buildKrrArgs({ krrPath, strategy: 'simple', prometheusAuthHeader: `${secret}\nX-Injected: 1` }),
        (error: unknown) => error instanceof KrrError && error.kind === 'usage' && !error.message.includes('runner-secret') && !error.hint.includes('runner-secret'),
      );
    });

    it('rejects numbers out of range, unknown kinds and strategy mix-ups', () => {
      throwsUsage({ krrPath, strategy: 'simple', cpuPercentile: 0 }, /cpuPercentile must be a number from 1 to 100/);
      throwsUsage({ krrPath, strategy: 'simple', cpuPercentile: 101 }, /cpuPercentile/);
      throwsUsage({ krrPath, strategy: 'simple', maxWorkers: 0 }, /maxWorkers must be an integer/);
      throwsUsage({ krrPath, strategy: 'simple', maxWorkers: 2.5 }, /maxWorkers/);
      throwsUsage({ krrPath, strategy: 'simple', historyHours: Number.NaN }, /historyHours/);
      throwsUsage({ krrPath, strategy: 'simple', memMinMib: -1 }, /memMinMib/);
      throwsUsage({ krrPath, strategy: 'simple', resources: ['Pod'] }, /cannot scan the kind "Pod"/);
      throwsUsage({ krrPath, strategy: 'simple', cpuLimitPercentile: 96 }, /only to the simple_limit strategy/);
      throwsUsage({ krrPath, strategy: 'advanced' as 'simple' }, /Unknown krr strategy/);
    });
  });

  describe('runKrrScan through the stand-in', () => {
    it('runs krr with the built argv, reports the masked command, parses the report', async () => {
      const argvLog = join(dir, 'argv.jsonl');
      const options: KrrScanOptions = { krrPath, strategy: 'simple', namespaces: ['shop', 'data'], prometheusUrl: 'http://localhost:9090', prometheusAuthHeader: secret };
      const commands: string[][] = [];
      // No Prometheus listens at the URL: the stand-in keeps its fixed numbers (KRR_STANDIN_PROMETHEUS=fixed).
      const result = await runKrrScan(options, { onCommand: (argv) => commands.push(argv), env: { KRR_STANDIN_ARGV_LOG: argvLog, KRR_STANDIN_PROMETHEUS: 'fixed' } });
      const received = JSON.parse((await readFile(argvLog, 'utf8')).trim()) as { argv: string[] };
      assert.deepEqual(received.argv, buildKrrArgs(options));
      assert.deepEqual(commands, [[krrPath, ...maskKrrArgs(buildKrrArgs(options))]]);
      assert.deepEqual(result.report.workloads.map((w) => w.name), ['checkout-api', 'frontend', 'postgres']);
      assert.ok(result.durationMs > 0);
      assert.match(result.stderrTail, /Found 4 objects/);
      // The stand-in echoes the header in its JSON `config`, as krr does: none of it survives.
      assert.doesNotMatch(JSON.stringify(result), /runner-secret/);
      assert.doesNotMatch(JSON.stringify(commands), /runner-secret/);
    });

    it('masks the auth header wherever krr\'s stderr repeats it (progress, tail, errors)', async () => {
      const progress: string[] = [];
      const options: KrrScanOptions = { krrPath, strategy: 'simple', prometheusUrl: 'http://localhost:9090', prometheusAuthHeader: secret };
      const result = await runKrrScan(options, { onProgress: (line) => progress.push(line), env: { KRR_STANDIN_ECHO_ARGS: '1', KRR_STANDIN_PROMETHEUS: 'fixed' } });
      assert.ok(progress.some((line) => line.includes('--prometheus-auth-header=***')), progress.join('\n'));
      assert.doesNotMatch(progress.join('\n') + result.stderrTail, /runner-secret/);
      const error = await rejectsWith(runKrrScan(options, { env: { KRR_STANDIN_ECHO_ARGS: '1', KRR_STANDIN_FAIL: 'crash' } }), 'failed');
      assert.doesNotMatch(`${error.message} ${error.hint}`, /runner-secret/);
    });

    it('delivers krr\'s log lines as progress, without time and level', async () => {
      const progress: string[] = [];
      const result = await runKrrScan({ krrPath, strategy: 'simple' }, { onProgress: (line) => progress.push(line), env: { KRR_STANDIN_FAIL: 'slow', KRR_STANDIN_SLOW_MS: '600' } });
      assert.equal(result.report.containerCount, 7);
      assert.ok(progress.includes('Using strategy: Simple'), progress.join('\n'));
      assert.ok(progress.filter((line) => /^Gathering metrics: batch \d+$/.test(line)).length >= 2);
      assert.ok(progress.includes('Calculating recommendations for 7 objects'));
    });

    it('runs simple_limit', async () => {
      const result = await runKrrScan({ krrPath, strategy: 'simple_limit', cpuRequestPercentile: 70, cpuLimitPercentile: 95 });
      assert.equal(result.report.strategy.name, 'simple_limit');
      assert.equal(result.report.strategy.settings.cpu_limit, 95);
      assert.equal(result.report.workloads[0]?.containers[0]?.recommended.limits.cpu.kind, 'value');
    });

    const failures: Array<[string, KrrErrorKind, RegExp, RegExp]> = [
      ['kubeconfig', 'kube-config', /Kubernetes configuration: Service host\/port is not set\.$/, /kind-test.*\/tmp\/kc|kubectl config get-contexts/],
      ['no-prometheus', 'no-prometheus', /no Prometheus in kind-test/, /krr\.prometheusUrl.*kubectl port-forward/],
      ['prometheus-unreachable', 'prometheus-unreachable', /could not reach Prometheus at http:\/\/prometheus-server.*\(ConnectionError: /, /krr\.prometheusUrl/],
      ['no-objects', 'nothing-to-scan', /no workloads to scan/, /namespaces, label selector/],
      ['all-scans-failed', 'all-scans-failed', /could not compute any recommendation/, /metrics/],
      ['exit0-no-json', 'no-json', /exited without a report: pydantic_core\._pydantic_core\.ValidationError: 1 validation error for Config namespaces/, /exits 0 when its settings are invalid/],
      ['crash', 'failed', /krr failed \(exit code 1\): KeyError: 'container'\.$/, /terminal/],
    ];
    for (const [mode, kind, message, hint] of failures) {
      it(`classifies ${mode} as ${kind}`, async () => {
        const error = await rejectsWith(runKrrScan({ krrPath, strategy: 'simple', context: 'kind-test', kubeconfig: '/tmp/kc' }, { env: { KRR_STANDIN_FAIL: mode } }), kind);
        assert.match(error.message, message);
        assert.match(error.hint, hint);
      });
    }

    it('classifies several clusters on one Prometheus (a real krr check, not a knob)', async () => {
      // The runner never passes --all-clusters; a wrapper adds it so krr's own refusal reaches the runner.
      const wrapper = join(dir, 'krr-all-clusters');
      await writeFile(wrapper, `#!/bin/sh\nexec "${krrPath}" "$@" --all-clusters\n`);
      await chmod(wrapper, 0o755);
      const error = await rejectsWith(runKrrScan({ krrPath: wrapper, strategy: 'simple', prometheusUrl: 'http://localhost:9090' }), 'multiple-clusters');
      assert.match(error.hint, /one kube context/);
    });

    it('classifies exit 2 as usage (krr before 1.18 has no simple_limit)', async () => {
      const error = await rejectsWith(runKrrScan({ krrPath, strategy: 'simple_limit' }, { env: { KRR_STANDIN_VERSION: '1.17.0' } }), 'usage');
      assert.match(error.message, /No such command 'simple_limit'/);
      assert.match(error.hint, /krr version/);
    });

    it('a report that is not krr\'s shape fails with the parser\'s path', async () => {
      const broken = join(dir, 'broken.json');
      const sample = JSON.parse(await readFile(join(__dirname, '..', 'fixtures', 'sample-report.json'), 'utf8'));
      sample.scans[1].recommended.requests.memory.value = 'big';
      await writeFile(broken, JSON.stringify(sample));
      const error = await rejectsWith(runKrrScan({ krrPath, strategy: 'simple' }, { env: { KRR_STANDIN_REPORT: broken } }), 'failed');
      assert.match(error.message, /scans\[1\]\.recommended\.requests\.memory\.value/);
    });

    it('a missing executable is not-installed, with install commands and the setting', async () => {
      const error = await rejectsWith(runKrrScan({ krrPath: join(dir, 'no-such-krr'), strategy: 'simple' }), 'not-installed');
      assert.match(error.hint, /pip install krr/);
      assert.match(error.hint, /brew install robusta-dev\/homebrew-krr\/krr/);
      assert.match(error.hint, /krr\.krrPath/);
      const notExecutable = join(dir, 'krr-not-executable');
      await writeFile(notExecutable, '#!/bin/sh\n');
      await chmod(notExecutable, 0o644);
      await rejectsWith(runKrrScan({ krrPath: notExecutable, strategy: 'simple' }), 'not-installed');
    });

    it('invalid options never start krr', async () => {
      const argvLog = join(dir, 'never.jsonl');
      await rejectsWith(runKrrScan({ krrPath, strategy: 'simple', namespaces: ['-A'] }, { env: { KRR_STANDIN_ARGV_LOG: argvLog } }), 'usage');
      await assert.rejects(readFile(argvLog), /ENOENT/);
    });

    it('cancel kills krr and its child process promptly', async () => {
      const pidFile = join(dir, 'pids-cancel.json');
      const controller = new AbortController();
      const started = Date.now();
      let abortedAt = 0;
      const scan = runKrrScan(
        { krrPath, strategy: 'simple' },
        {
          signal: controller.signal,
          env: { KRR_STANDIN_FAIL: 'slow', KRR_STANDIN_SLOW_MS: '30000', KRR_STANDIN_PID_FILE: pidFile },
          onProgress: (line) => {
            if (line.startsWith('Gathering metrics') && !abortedAt) {
              abortedAt = Date.now();
              controller.abort();
            }
          },
        },
      );
      await rejectsWith(scan, 'aborted');
      assert.ok(Date.now() - abortedAt < 3000, `stopped ${Date.now() - abortedAt} ms after cancel`);
      assert.ok(Date.now() - started < 10_000);
      const { pid, childPid } = JSON.parse(await readFile(pidFile, 'utf8')) as { pid: number; childPid: number };
      assert.equal(await waitFor(async () => !(await isAlive(pid)) && !(await isAlive(childPid)), 3000), true, 'krr and its child are gone');
    });

    it('times out, killing the tree', async () => {
      const pidFile = join(dir, 'pids-timeout.json');
      const started = Date.now();
      const error = await rejectsWith(
        runKrrScan({ krrPath, strategy: 'simple' }, { timeoutMs: 1500, env: { KRR_STANDIN_FAIL: 'slow', KRR_STANDIN_SLOW_MS: '30000', KRR_STANDIN_PID_FILE: pidFile } }),
        'timeout',
      );
      assert.ok(Date.now() - started < 6000);
      assert.match(error.message, /within 2 s/);
      const { pid, childPid } = JSON.parse(await readFile(pidFile, 'utf8')) as { pid: number; childPid: number };
      assert.equal(await waitFor(async () => !(await isAlive(pid)) && !(await isAlive(childPid)), 3000), true);
    });

    it('an already-aborted signal does not start krr', async () => {
      const argvLog = join(dir, 'aborted.jsonl');
      await rejectsWith(runKrrScan({ krrPath, strategy: 'simple' }, { signal: AbortSignal.abort(), env: { KRR_STANDIN_ARGV_LOG: argvLog } }), 'aborted');
      await assert.rejects(readFile(argvLog), /ENOENT/);
    });
  });

  describe('readKrrVersion', () => {
    const withVersion = async (version: string) => {
      const saved = process.env.KRR_STANDIN_VERSION;
      process.env.KRR_STANDIN_VERSION = version;
      try {
        return await readKrrVersion(krrPath);
      } finally {
        if (saved === undefined) delete process.env.KRR_STANDIN_VERSION;
        else process.env.KRR_STANDIN_VERSION = saved;
      }
    };

    it('reads a current version without warning', async () => {
      assert.deepEqual(await readKrrVersion(krrPath), { version: '1.29.0', warning: null });
    });

    it('warns below 1.7 and below 1.18, naming what is missing', async () => {
      const old = await withVersion('1.6.2');
      assert.equal(old.version, '1.6.2');
      assert.match(old.warning ?? '', /older than 1\.7.*object warnings/);
      const mid = await withVersion('1.12.0');
      assert.match(mid.warning ?? '', /older than 1\.18.*simple_limit/);
      assert.deepEqual(await withVersion('v2.0.1'), { version: '2.0.1', warning: null });
    });

    it('an unparsable version gives null and a warning', async () => {
      const result = await withVersion('dev');
      assert.equal(result.version, null);
      assert.match(result.warning ?? '', /Could not read the krr version/);
    });

    it('a missing executable is not-installed', async () => {
      await rejectsWith(readKrrVersion(join(dir, 'absent-krr')), 'not-installed');
    });
  });
});
