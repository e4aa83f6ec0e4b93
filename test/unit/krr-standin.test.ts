// The krr stand-in must behave like krr v1.29.0 as docs/krr-facts.md describes it, since every
// krr-facing test trusts it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseReport } from '../../src/core/krr/report';

const krr = join(__dirname, '..', 'support', 'bin', 'krr');
const sample = join(__dirname, '..', 'fixtures', 'sample-report.json');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

// Asynchronous, so a test HTTP server in this process can answer the stand-in.
function runKrr(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(krr, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

interface Scan {
  object: { name: string; namespace: string; kind: string; container: string; cluster: string | null; allocations: { requests: { cpu: number | null; memory: number | null }; limits: { cpu: number | null; memory: number | null } } };
  recommended: { requests: { cpu: { value: unknown; severity: string } }; limits: { cpu: { value: unknown; severity: string } } };
  severity: string;
}
interface KrrJson {
  scans: Scan[];
  score: number;
  strategy: { name: string; settings: Record<string, unknown> };
  config: Record<string, unknown>;
}

async function scanJson(args: string[], env: Record<string, string> = {}): Promise<KrrJson> {
  const run = await runKrr(['simple', ...args, '--logtostderr', '-f', 'json'], env);
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as KrrJson;
}

// With -p the stand-in computes from that Prometheus; these cases name one that does not exist and check the rest.
const fixedNumbers = { KRR_STANDIN_PROMETHEUS: 'fixed' };

const names = (report: KrrJson) => report.scans.map((scan) => `${scan.object.name}/${scan.object.container}`);

describe('krr stand-in', function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'krr-standin-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints its version', async () => {
    assert.deepEqual(await runKrr(['version']), { status: 0, stdout: '1.29.0\n', stderr: '' });
    assert.equal((await runKrr(['version'], { KRR_STANDIN_VERSION: '1.6.2' })).stdout, '1.6.2\n');
  });

  it('with --logtostderr -f json: stdout is exactly the JSON report, banner and logs on stderr', async () => {
    const run = await runKrr(['simple', '--logtostderr', '-f', 'json']);
    assert.equal(run.status, 0);
    const report = JSON.parse(run.stdout) as KrrJson;
    const original = JSON.parse(await readFile(sample, 'utf8')) as KrrJson;
    assert.deepEqual(report.scans, original.scans);
    assert.equal(report.score, 51);
    assert.match(run.stderr, /Running Robusta's KRR \(Kubernetes Resource Recommender\) 1\.29\.0/);
    assert.match(run.stderr, /\] INFO {5}Found 7 objects/);
  });

  it('without --logtostderr: banner, version line and logs go to stdout before the JSON', async () => {
    const run = await runKrr(['simple', '-f', 'json']);
    assert.equal(run.status, 0);
    assert.match(run.stdout, /^ _____/);
    assert.match(run.stdout, /Running Robusta's KRR .*\n[\s\S]*INFO[\s\S]*\n\{\n {2}"scans"/);
    assert.throws(() => JSON.parse(run.stdout));
    assert.equal(parseReport(run.stdout).containerCount, 7);
    assert.equal(run.stderr, '');
  });

  it('-q drops the banner and info logs', async () => {
    const run = await runKrr(['simple', '-q', '--logtostderr', '-f', 'json']);
    assert.equal(run.status, 0);
    assert.equal(run.stderr, '');
  });

  it('writes the report to --fileoutput, not stdout', async () => {
    const file = join(dir, 'out.json');
    const run = await runKrr(['simple', '--logtostderr', '-f', 'json', '--fileoutput', file]);
    assert.equal(run.status, 0);
    assert.equal(run.stdout, '');
    assert.equal(parseReport(await readFile(file, 'utf8')).workloads.length, 6);
  });

  it('writes YAML with -f yaml', async () => {
    const run = await runKrr(['simple', '--logtostderr', '-f', 'yaml']);
    assert.equal(run.status, 0);
    assert.match(run.stdout, /^scans:\n- object:\n {4}cluster: prod-eu-1\n/);
  });

  describe('arguments', () => {
    it('an unknown flag is a click usage error: exit 2, usage on stderr, nothing on stdout', async () => {
      const run = await runKrr(['simple', '--no-such-flag', '--logtostderr', '-f', 'json']);
      assert.equal(run.status, 2);
      assert.equal(run.stdout, '');
      assert.equal(run.stderr, "Usage: krr simple [OPTIONS]\nTry 'krr simple --help' for help.\n\nError: No such option: --no-such-flag\n");
    });

    it('a missing value or a non-integer is a usage error too', async () => {
      assert.match((await runKrr(['simple', '-n'])).stderr, /Error: Option '-n' requires an argument\./);
      const run = await runKrr(['simple', '-w', 'abc']);
      assert.equal(run.status, 2);
      assert.match(run.stderr, /Error: Invalid value for '-w' \/ '--max-workers': 'abc' is not a valid integer\./);
      assert.equal((await runKrr(['nonsense'])).status, 2);
    });

    it('simple_limit flags are unknown to simple', async () => {
      const run = await runKrr(['simple', '--cpu_request=50']);
      assert.equal(run.status, 2);
      assert.match(run.stderr, /No such option: --cpu_request/);
    });

    for (const [label, args, field] of [
      ['-f foo', ['-f', 'foo'], /^format$/m],
      ['-w 0', ['-w', '0'], /^max_workers$/m],
      ['-p without http', ['-p', 'prometheus:9090'], /^prometheus_url$/m],
    ] as const) {
      it(`an invalid value (${label}) exits 0 with a traceback and no JSON`, async () => {
        const run = await runKrr(['simple', '--logtostderr', ...args]);
        assert.equal(run.status, 0);
        assert.equal(run.stdout.trim(), '');
        assert.match(run.stderr, /^Traceback \(most recent call last\):/);
        assert.match(run.stderr, /ValidationError: 1 validation error for Config/);
        assert.match(run.stderr, field);
      });
    }

    it('accepts short, long and --flag=value forms alike', async () => {
      const expected = ['checkout-api/api', 'frontend/web'];
      assert.deepEqual(names(await scanJson(['-n', 'shop'])), expected);
      assert.deepEqual(names(await scanJson(['--namespace', 'shop'])), expected);
      assert.deepEqual(names(await scanJson(['--namespace=shop'])), expected);
      assert.deepEqual(names(await scanJson(['-nshop'])), expected);
    });

    it('accepts strategy flags in snake_case and kebab-case and reports them as settings', async () => {
      const snake = await scanJson(['--cpu_percentile=90', '--history_duration', '24', '--allow_hpa', '--use_oomkill_data']);
      const kebab = await scanJson(['--cpu-percentile', '90', '--history-duration=24', '--allow-hpa', '--use-oomkill-data']);
      assert.deepEqual(snake.strategy, kebab.strategy);
      assert.equal(snake.strategy.settings.cpu_percentile, 90);
      assert.equal(snake.strategy.settings.history_duration, 24);
      assert.equal(snake.strategy.settings.allow_hpa, true);
      assert.equal((await scanJson([])).strategy.settings.cpu_percentile, 95);
    });

    it('accepts the other flags krr documents', async () => {
      const report = await scanJson([
        '-c', 'prod-eu-1', '-k', '/tmp/kubeconfig', '--cpu-min', '20', '--mem-min', '200', '-w', '4',
        '--timeframe_duration', '2', '--memory_buffer_percentage', '20', '--points_required', '50',
        '-p', 'http://localhost:9090', '--prometheus-auth-header', 'Bearer abc', '-H', 'X-Scope: a', '-v',
      ], fixedNumbers);
      assert.equal(report.scans.length, 7);
      assert.equal(report.strategy.settings.memory_buffer_percentage, 20);
    });
  });

  describe('filters', () => {
    it('-n is a regex, repeatable', async () => {
      assert.deepEqual(names(await scanJson(['-n', 'sh.*'])), ['checkout-api/api', 'frontend/web']);
      assert.deepEqual(names(await scanJson(['-n', 'data', '-n', 'monitoring'])), ['postgres/postgresql', 'postgres/metrics', 'node-exporter/node-exporter']);
    });

    it('skips kube-system unless it is named', async () => {
      const original = JSON.parse(await readFile(sample, 'utf8')) as KrrJson;
      const system = structuredClone(original.scans[4]!);
      system.object.namespace = 'kube-system';
      system.object.name = 'coredns';
      original.scans.push(system);
      const file = join(dir, 'with-kube-system.json');
      await writeFile(file, JSON.stringify(original));
      const env = { KRR_STANDIN_REPORT: file };
      assert.equal((await scanJson([], env)).scans.length, 7);
      assert.equal((await runKrr(['simple', '-n', 'kube-.*', '--logtostderr', '-f', 'json'], env)).status, 1, 'a regex does not name kube-system');
      assert.deepEqual(names(await scanJson(['-n', 'kube-system'], env)), ['coredns/node-exporter']);
    });

    it('-s matches labels (=, ==, !=)', async () => {
      assert.deepEqual(names(await scanJson(['-s', 'app=frontend'])), ['frontend/web']);
      assert.deepEqual(names(await scanJson(['-s', 'app==frontend,tier=web'])), ['frontend/web']);
      assert.equal((await scanJson(['-s', 'app!=frontend'])).scans.length, 6);
    });

    it('-r keeps the named kinds', async () => {
      assert.deepEqual(names(await scanJson(['-r', 'DaemonSet'])), ['node-exporter/node-exporter']);
      assert.deepEqual(names(await scanJson(['-r', 'Job', '-r', 'CronJob'])), ['db-migrate-20240611/migrate', 'nightly-report/report']);
    });

    it('nothing left to scan is krr\'s exit-1 error', async () => {
      const run = await runKrr(['simple', '-n', 'nope', '--logtostderr', '-f', 'json']);
      assert.equal(run.status, 1);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /ERROR {4}No objects available to scan\./);
    });

    it('-c names the cluster in the scans', async () => {
      assert.deepEqual([...new Set((await scanJson(['-c', 'staging'])).scans.map((s) => s.object.cluster))], ['staging']);
    });
  });

  it('simple_limit recommends a CPU limit and reports its settings', async () => {
    const run = await runKrr(['simple_limit', '--cpu_request', '66', '--cpu-limit=96', '--logtostderr', '-f', 'json']);
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout) as KrrJson;
    assert.equal(report.strategy.name, 'simple_limit');
    assert.equal(report.strategy.settings.cpu_limit, 96);
    const api = report.scans[0]!;
    assert.equal(typeof api.recommended.limits.cpu.value, 'number');
    assert.ok((api.recommended.limits.cpu.value as number) > (api.recommended.requests.cpu as { value: number }).value);
    assert.equal(report.scans[1]!.recommended.limits.cpu.value, '?');
  });

  it('krr before 1.18 has no simple_limit', async () => {
    const run = await runKrr(['simple_limit', '--logtostderr', '-f', 'json'], { KRR_STANDIN_VERSION: '1.17.0' });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /No such command 'simple_limit'/);
  });

  it('echoes its configuration in `config`, the auth header in clear, like krr', async () => {
    const report = await scanJson(['-p', 'https://prom.example:9090', '--prometheus-auth-header', 'Bearer standin-secret'], fixedNumbers);
    assert.equal(report.config.prometheus_auth_header, 'Bearer standin-secret');
    assert.equal(report.config.prometheus_url, 'https://prom.example:9090');
  });

  it('refuses several clusters on one Prometheus', async () => {
    const run = await runKrr(['simple', '-c', 'a', '-c', 'b', '-p', 'http://localhost:9090', '--logtostderr', '-f', 'json']);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /Cannot scan multiple clusters for this prometheus, Rerun with the flag `-c <cluster>`/);
  });

  it('records the argv it received', async () => {
    const log = join(dir, 'argv.jsonl');
    await runKrr(['version'], { KRR_STANDIN_ARGV_LOG: log });
    await runKrr(['simple', '--namespace=shop', '--logtostderr', '-f', 'json'], { KRR_STANDIN_ARGV_LOG: log });
    const lines = (await readFile(log, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { argv: string[] });
    assert.deepEqual(lines, [{ argv: ['version'] }, { argv: ['simple', '--namespace=shop', '--logtostderr', '-f', 'json'] }]);
  });

  describe('failures (KRR_STANDIN_FAIL)', () => {
    const cases: Array<[string, number, RegExp]> = [
      ['kubeconfig', 1, /ERROR {4}Could not load kubernetes configuration: Service host\/port is not set\.\n.*ERROR {4}Try to explicitly set --context and\/or --kubeconfig flags\./],
      ['no-prometheus', 1, /Wasn't able to connect to any Prometheus service in prod-eu-1 cluster[\s\S]*\(using the -p flag\.\)/],
      ['prometheus-unreachable', 1, /Couldn't connect to Prometheus found under http:\/\/[\s\S]*Caused by ConnectionError: /],
      ['no-objects', 1, /No objects available to scan\./],
      ['all-scans-failed', 1, /No successful scans were made\. Check the logs for more information\./],
      ['exit0-no-json', 0, /^Traceback \(most recent call last\):[\s\S]*ValidationError/m],
      ['crash', 1, /^Traceback \(most recent call last\):[\s\S]*KeyError: 'container'\n$/m],
    ];
    for (const [mode, status, message] of cases) {
      it(`${mode}: exit ${status}, krr's message, no JSON`, async () => {
        const run = await runKrr(['simple', '--logtostderr', '-f', 'json'], { KRR_STANDIN_FAIL: mode });
        assert.equal(run.status, status);
        assert.equal(run.stdout, '');
        assert.match(run.stderr, message);
      });
    }

    it('prometheus-unreachable names the -p URL', async () => {
      const run = await runKrr(['simple', '-p', 'http://127.0.0.1:1', '--logtostderr', '-f', 'json'], { KRR_STANDIN_FAIL: 'prometheus-unreachable' });
      assert.match(run.stderr, /Couldn't connect to Prometheus found under http:\/\/127\.0\.0\.1:1\n/);
    });

    it('slow: logs to stderr while it waits, then reports', async () => {
      const started = Date.now();
      const run = await runKrr(['simple', '--logtostderr', '-f', 'json'], { KRR_STANDIN_FAIL: 'slow', KRR_STANDIN_SLOW_MS: '700' });
      assert.ok(Date.now() - started >= 700);
      assert.equal(run.status, 0);
      assert.ok((run.stderr.match(/Gathering metrics: batch \d+/g) ?? []).length >= 3, run.stderr);
      assert.equal(JSON.parse(run.stdout).scans.length, 7);
    });
  });

  describe('KRR_STANDIN_FROM_CLUSTER', () => {
    let server: Server;
    let seen: Array<{ url: string; headers: IncomingHttpHeaders }>;
    let kubeconfig: string;
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'checkout-api', namespace: 'shop', resourceVersion: '7' },
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'api', resources: { requests: { cpu: '87m', memory: '347Mi' }, limits: { memory: '347Mi' } } },
            ],
          },
        },
      },
    };

    before(async () => {
      seen = [];
      server = createServer((request, response) => {
        seen.push({ url: request.url ?? '', headers: request.headers });
        if (request.url === '/apis/apps/v1/namespaces/shop/deployments/checkout-api') {
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(deployment));
        } else {
          response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 404 }));
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      kubeconfig = join(dir, 'kubeconfig');
      await writeFile(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          'current-context: other',
          'clusters:',
          `- name: test\n  cluster:\n    server: http://127.0.0.1:${port}`,
          'users:',
          '- name: tester\n  user:\n    token: test-token-123',
          'contexts:',
          '- name: kind-test\n  context:\n    cluster: test\n    user: tester',
          '- name: other\n  context:\n    cluster: missing\n    user: tester',
          '',
        ].join('\n'),
      );
    });
    after(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('reads allocations from the live objects with the bearer token, drops objects that are gone', async () => {
      const report = await scanJson(['-k', kubeconfig, '-c', 'kind-test', '-n', 'shop'], { KRR_STANDIN_FROM_CLUSTER: '1' });
      // frontend is not in the test server: krr would not list it.
      assert.deepEqual(names(report), ['checkout-api/api']);
      const api = report.scans[0]!;
      assert.equal(api.object.cluster, 'kind-test');
      assert.deepEqual(api.object.allocations.requests, { cpu: 0.087, memory: 347 * 1024 * 1024 });
      assert.deepEqual(api.object.allocations.limits, { cpu: null, memory: 347 * 1024 * 1024 });
      // The recommendation was already applied: cpu request is GOOD, the null CPU limit matches too.
      assert.equal(api.recommended.requests.cpu.severity, 'GOOD');
      assert.equal(api.recommended.limits.cpu.severity, 'GOOD');
      assert.ok(seen.every((request) => request.headers.authorization === 'Bearer test-token-123'));
      assert.ok(seen.some((request) => request.url === '/apis/apps/v1/namespaces/shop/deployments/frontend'));
    });

    it('a context missing from the kubeconfig is krr\'s kubeconfig error', async () => {
      const run = await runKrr(['simple', '-k', kubeconfig, '-c', 'nope', '--logtostderr', '-f', 'json'], { KRR_STANDIN_FROM_CLUSTER: '1' });
      assert.equal(run.status, 1);
      assert.match(run.stderr, /Could not load kubernetes configuration: Invalid kube-config file\.[\s\S]*Try to explicitly set --context and\/or --kubeconfig flags\./);
    });

    it('a missing kubeconfig file is krr\'s kubeconfig error', async () => {
      const run = await runKrr(['simple', '-k', join(dir, 'absent'), '--logtostderr', '-f', 'json'], { KRR_STANDIN_FROM_CLUSTER: '1' });
      assert.equal(run.status, 1);
      assert.match(run.stderr, /Could not load kubernetes configuration: Invalid kube-config file\. No configuration found\./);
    });
  });
});
