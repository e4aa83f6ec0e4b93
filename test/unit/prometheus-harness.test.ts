// The real Prometheus and VictoriaMetrics of test/support/prometheus, loaded with a hand-made 14-day history: a query
// over the whole window answers what the file says (every sample kept, none out of reach), and only with the right
// basic auth. Not built: the suite fails with the command to run (a test never builds, nor skips).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { get, queryVector, startPrometheus, startVictoriaMetrics, storeUser, type MetricsStore, type MetricsStoreOptions } from '../support/prometheus';

const step = 30; // seconds between samples, a common scrape interval
const days = 14;
const samplesPerSeries = (days * 86_400) / step; // 40320: the first lies 30 s inside the 14-day window ending at the last
const mi = 1024 * 1024;
const cpuBaseline = 0.25; // cores
const cpuBurst = 1.5; // cores, for one hour three days before the end
const memoryPeak = 700 * mi; // one sample ten days before the end

/**
 * Two series of one container, ending at `end` (Unix seconds): a CPU counter rising 0.25 cores a second but 1.5 during
 * one hour, and a working set sawing from 200 to 390 MiB with one 700 MiB sample. Values are exact in binary floating point.
 */
function writeHistory(file: string, end: number): { lastCounter: number } {
  const labels = 'namespace="shop",pod="web-0",container="web"';
  const burstFrom = end - 3 * 86_400;
  const burstTo = burstFrom + 3600;
  const peakAt = end - 10 * 86_400;
  const cpu: string[] = ['# TYPE container_cpu_usage_seconds counter'];
  const memory: string[] = ['# TYPE container_memory_working_set_bytes gauge'];
  let counter = 1000;
  for (let i = samplesPerSeries - 1; i >= 0; i--) {
    const t = end - i * step;
    if (i < samplesPerSeries - 1) counter += (t > burstFrom && t <= burstTo ? cpuBurst : cpuBaseline) * step;
    cpu.push(`container_cpu_usage_seconds_total{${labels}} ${counter} ${t}`);
    memory.push(`container_memory_working_set_bytes{${labels}} ${t === peakAt ? memoryPeak : 200 * mi + (i % 20) * 10 * mi} ${t}`);
  }
  writeFileSync(file, [...cpu, ...memory, '# EOF', ''].join('\n'));
  return { lastCounter: counter };
}

/**
 * The last sample's time: two scrapes before now. VictoriaMetrics moves a query whose time lies within 30 s of now
 * back to now - 30 s (its -search.latencyOffset, on by default): a history ending a minute ago is whole at `time=end`.
 */
function historyEnd(): number {
  return Math.floor(Date.now() / 1000 / step) * step - 2 * step;
}

const stores: Array<[string, (options: MetricsStoreOptions) => Promise<MetricsStore>, RegExp, string]> = [
  // Prometheus' buildinfo carries the release the Go module v0.316.0 is (test/prometheus/build.sh).
  ['Prometheus', startPrometheus, /^3\.16\.0$/, '3.16.0'],
  // VictoriaMetrics' buildinfo names a Prometheus version for Grafana's sake, whatever its own release.
  ['VictoriaMetrics', startVictoriaMetrics, /^v1\.151\.0$/, '2.24.0'],
];

for (const [name, start, version, buildInfoVersion] of stores) {
  describe(`${name} loaded with a 14-day usage history (test/support/prometheus)`, function () {
    this.timeout(120_000);
    let dir = '';
    let end = 0;
    let lastCounter = 0;
    let store: MetricsStore | undefined;
    const running = (): MetricsStore => {
      assert.ok(store, `${name} did not start`);
      return store;
    };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'krr-history-'));
      end = historyEnd();
      ({ lastCounter } = writeHistory(join(dir, 'history.om'), end));
      store = await start({ openMetrics: join(dir, 'history.om') });
    });
    after(async () => {
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('keeps every sample of the 14 days (none dropped by retention, all within a 14d range ending at the last)', async () => {
      const counts = await queryVector(running(), 'count_over_time(container_memory_working_set_bytes{namespace="shop"}[14d])', end);
      assert.deepEqual(counts.map((sample) => sample.value), [samplesPerSeries]);
      assert.deepEqual(counts[0]?.metric, { namespace: 'shop', pod: 'web-0', container: 'web' });
    });

    it('answers max_over_time over 14 days with the one peak, ten days back', async () => {
      const peak = await queryVector(running(), 'max_over_time(container_memory_working_set_bytes{container="web"}[14d])', end);
      assert.deepEqual(peak.map((sample) => sample.value), [memoryPeak]);
    });

    it('answers a query at "now" from the newest samples (within the lookback), a rate, and the burst as the 14-day peak rate', async () => {
      // No `time`: the store's own "now", a minute after the last sample (within both stores' 5-minute lookback).
      const latest = await queryVector(running(), 'container_cpu_usage_seconds_total{pod="web-0"}');
      assert.deepEqual(latest.map((sample) => sample.value), [lastCounter]);
      const rate = await queryVector(running(), 'rate(container_cpu_usage_seconds_total{pod="web-0"}[5m])', end);
      assert.equal(rate.length, 1);
      assert.ok(Math.abs((rate[0]?.value ?? 0) - cpuBaseline) < 1e-9, `rate: ${rate[0]?.value}`);
      const peak = await queryVector(running(), 'max_over_time(rate(container_cpu_usage_seconds_total{pod="web-0"}[5m])[14d:5m])', end);
      assert.equal(peak.length, 1);
      assert.ok(Math.abs((peak[0]?.value ?? 0) - cpuBurst) < 1e-9, `peak rate: ${peak[0]?.value}`);
    });

    it('refuses a request without the Authorization header, and with a wrong password', async () => {
      const query = `${running().url}/api/v1/query?query=up`;
      assert.equal((await get(query)).status, 401);
      const wrong = `Basic ${Buffer.from(`${storeUser}:not-the-password`).toString('base64')}`;
      assert.equal((await get(query, wrong)).status, 401);
      assert.equal((await get(query, running().authHeader)).status, 200);
    });

    it('hands the header over in a 0600 file, and reports its real version', async () => {
      assert.equal(readFileSync(running().authFile, 'utf8'), running().authHeader);
      assert.equal(statSync(running().authFile).mode & 0o777, 0o600);
      assert.match(running().version, version);
      const buildInfo = await get(`${running().url}/api/v1/status/buildinfo`, running().authHeader);
      assert.equal((JSON.parse(buildInfo.body) as { data: { version: string } }).data.version, buildInfoVersion);
    });
  });
}

describe('the stores behind a stopped harness', function () {
  this.timeout(120_000);

  it('close() stops the server and removes its files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'krr-history-'));
    try {
      writeHistory(join(dir, 'history.om'), historyEnd());
      const store = await startPrometheus({ openMetrics: join(dir, 'history.om') });
      await store.close();
      await assert.rejects(get(`${store.url}/-/ready`, store.authHeader), /ECONNREFUSED/);
      assert.equal(statSync(store.authFile, { throwIfNoEntry: false }), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing history file is named, before anything starts', async () => {
    await assert.rejects(startVictoriaMetrics({ openMetrics: '/nonexistent/history.om' }), /no OpenMetrics file at \/nonexistent\/history\.om/);
  });
});

describe('npm run test-cluster with a Prometheus', function () {
  this.timeout(180_000);

  /** Starts the CLI with `extra`, resolves with its first lines once it printed `prometheus-auth`. */
  async function startCli(dir: string, extra: string[]): Promise<{ child: ResultPromise; lines: string[]; output: string }> {
    const args = ['--import', 'tsx', 'test/support/kube-api-server/cli.ts', '--light', '--port', '0', '--kubeconfig', join(dir, 'kubeconfig'), ...extra];
    const { execa } = await import('execa'); // tests load as CommonJS; execa's dependencies export only `import`
    const child = execa(process.execPath, args, { reject: false });
    let output = '';
    const lines = await Promise.race([
      new Promise<string[]>((resolve) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8');
          if (/^prometheus-auth .*\n/m.test(output)) resolve(output.trimEnd().split('\n'));
        });
      }),
      child.then((result) => Promise.reject(new Error(`cli exited early: ${String(result.stderr)}`))),
    ]);
    return { child, lines, output };
  }

  function storeOf(lines: string[], output: string): { url: string; authHeader: string; authFile: string } {
    assert.equal(lines.length, 3, output);
    assert.match(lines[0] ?? '', /^ready https:\/\/127\.0\.0\.1:\d+$/);
    const url = /^prometheus (http:\/\/127\.0\.0\.1:\d+)$/.exec(lines[1] ?? '')?.[1];
    const authFile = /^prometheus-auth (\/.+)$/.exec(lines[2] ?? '')?.[1];
    assert.ok(url && authFile, output);
    return { url, authFile, authHeader: readFileSync(authFile, 'utf8') };
  }

  it('--prometheus <file>: prints the Prometheus URL and its auth file after `ready`, serves the history, and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'krr-history-'));
    try {
      const end = historyEnd();
      writeHistory(join(dir, 'history.om'), end);
      const { child, lines, output } = await startCli(dir, ['--prometheus', join(dir, 'history.om')]);
      const store = storeOf(lines, output);
      const peak = await queryVector(store, 'max_over_time(container_memory_working_set_bytes[14d])', end);
      assert.deepEqual(peak.map((sample) => sample.value), [memoryPeak]);
      child.kill('SIGTERM');
      const result = await child;
      assert.equal(result.exitCode, 0, String(result.stderr));
      assert.equal(statSync(store.authFile, { throwIfNoEntry: false }), undefined, 'the auth file outlived the cluster');
      const printed = `${String(result.stdout)}${String(result.stderr)}`;
      const password = Buffer.from(store.authHeader.replace(/^Basic /, ''), 'base64').toString('utf8').split(':')[1] ?? '';
      assert.ok(password.length >= 24 && !printed.includes(password) && !printed.includes(store.authHeader), 'the password or the header was printed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('by default: loads the seeded workloads\' usage history (the generator), so the cluster and its Prometheus describe the same pods', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'krr-history-'));
    try {
      const { child, lines, output } = await startCli(dir, ['--usage-days', '1']);
      const store = storeOf(lines, output);
      // data/postgres's metrics container is steady at exactly 32 MiB in seed-world.ts; its pods are owned by the StatefulSet.
      const peak = await queryVector(store, 'max(max_over_time(container_memory_working_set_bytes{namespace="data",container="metrics"}[1d]))');
      assert.deepEqual(peak.map((sample) => sample.value), [32 * 2 ** 20]);
      const owners = await queryVector(store, 'count(max_over_time(kube_pod_owner{namespace="data",owner_kind="StatefulSet",owner_name="postgres"}[1d]))');
      assert.ok((owners[0]?.value ?? 0) >= 1, 'no pod of data/postgres in the history');
      child.kill('SIGTERM');
      assert.equal((await child).exitCode, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
