// The krr stand-in computing from a real Prometheus and a real VictoriaMetrics (test/support/prometheus) loaded with
// the usage-history generator's series. Every expected number is worked out here by hand from the patterns' closed
// forms (test/support/usage-history/README.md) and krr v1.29's rules: CPU = max over pods of p95 of the 75 s rate,
// rounded up to 1m (≥ --cpu-min 10m); memory = max working set × 1.15 (or the OOM-killed limit × 1.25), rounded up to
// 1 MiB (≥ --mem-min 100 MiB). Not built: the suite fails with the command to run (a test never builds, nor skips).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrometheus, startVictoriaMetrics, type MetricsStore, type MetricsStoreOptions } from '../support/prometheus';
import { podsOf, writeUsageHistory, type UsageHistoryOptions, type WorkloadUsage } from '../support/usage-history';

const MIB = 1024 * 1024;
const krr = join(__dirname, '..', 'support', 'bin', 'krr');

// Two clusters in one Prometheus (the centralized case), told apart by `cluster`: eu1 holds the world, us1 one workload.
const eu: WorkloadUsage[] = [
  { cluster: 'eu1', namespace: 'shop', kind: 'Deployment', name: 'checkout-api', pods: 1, generations: 2, containers: [{ name: 'api', pattern: 'steady', cpu: 0.25, memory: 256 * MIB, requests: { cpu: 0.5, memory: 512 * MIB }, limits: { memory: 512 * MIB } }] },
  { cluster: 'eu1', namespace: 'shop', kind: 'Deployment', name: 'frontend', containers: [{ name: 'web', pattern: 'spike', cpu: 0.125, spikeCpu: 1, memory: 100 * MIB, peakMemory: 310 * MIB, requests: { cpu: 0.25, memory: 256 * MIB } }] },
  { cluster: 'eu1', namespace: 'data', kind: 'StatefulSet', name: 'postgres', containers: [{ name: 'postgres', pattern: 'leak', cpu: 0.5, memory: 200 * MIB, peakMemory: 410 * MIB, requests: { cpu: 1, memory: 1024 * MIB } }] },
  { cluster: 'eu1', namespace: 'shop', kind: 'Deployment', name: 'worker', containers: [{ name: 'worker', pattern: 'oomkill', cpu: 0.0625, memory: 150 * MIB, requests: { cpu: 0.1, memory: 256 * MIB }, limits: { memory: 256 * MIB } }] },
  { cluster: 'eu1', namespace: 'shop', kind: 'Deployment', name: 'search', containers: [{ name: 'search', pattern: 'new', cpu: 0.25, memory: 300 * MIB }] },
  { cluster: 'eu1', namespace: 'shop', kind: 'Deployment', name: 'cart', containers: [{ name: 'cart', pattern: 'steady', cpu: 0.25, memory: 64 * MIB, requests: { cpu: 0.25, memory: 128 * MIB } }] },
  { cluster: 'eu1', namespace: 'media', kind: 'Deployment', name: 'encoder', containers: [{ name: 'encoder', pattern: 'throttled', memory: 330 * MIB, requests: { cpu: 0.5 }, limits: { cpu: 0.5 } }] },
];
const us: WorkloadUsage[] = [
  { cluster: 'us1', namespace: 'shop', kind: 'Deployment', name: 'checkout-api', containers: [{ name: 'api', pattern: 'steady', cpu: 0.5, memory: 512 * MIB }] },
];

interface Recommended {
  value: number | string | null;
  severity: string;
}
interface Scan {
  object: { name: string; namespace: string; container: string; pods: Array<{ name: string; deleted: boolean }>; warnings: string[] };
  recommended: { requests: { cpu: Recommended; memory: Recommended }; limits: { cpu: Recommended; memory: Recommended }; info: { cpu: string | null; memory: string | null } };
  severity: string;
}
interface Report {
  scans: Scan[];
  errors: Array<{ name: string }>;
}

/** A krr report listing the eu1 world's containers (their running pods as the Kubernetes API would list them). */
function reportOf(history: UsageHistoryOptions): unknown {
  const pods = podsOf(history);
  const scans = eu.flatMap((workload) =>
    workload.containers.map((container) => ({
      object: {
        cluster: 'prod-eu-1',
        name: workload.name,
        container: container.name,
        pods: pods.filter((pod) => pod.workload === workload && !pod.deleted).map((pod) => ({ name: pod.name, deleted: false })),
        hpa: workload.name === 'cart' ? { min_replicas: 1, max_replicas: 5, current_replicas: 1, desired_replicas: 1, target_cpu_utilization_percentage: 70, target_memory_utilization_percentage: null } : null,
        namespace: workload.namespace,
        kind: workload.kind,
        allocations: {
          requests: { cpu: container.requests?.cpu ?? null, memory: container.requests?.memory ?? null },
          limits: { cpu: container.limits?.cpu ?? null, memory: container.limits?.memory ?? null },
          info: {},
        },
        warnings: [],
        labels: {},
        annotations: {},
      },
      recommended: {
        requests: { cpu: { value: '?', severity: 'UNKNOWN' }, memory: { value: '?', severity: 'UNKNOWN' } },
        limits: { cpu: { value: '?', severity: 'UNKNOWN' }, memory: { value: '?', severity: 'UNKNOWN' } },
        info: { cpu: null, memory: null },
      },
      severity: 'UNKNOWN',
    })),
  );
  return { scans, score: 0, resources: ['cpu', 'memory'], description: '', strategy: { name: 'simple', settings: {} }, errors: [], clusterSummary: {}, config: {} };
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

// Both stores krr supports; only Prometheus refuses a range query of more than 11,000 points per series.
const stores: Array<[string, (options: MetricsStoreOptions) => Promise<MetricsStore>, { refusesLongRanges: boolean }]> = [
  ['Prometheus', startPrometheus, { refusesLongRanges: true }],
  ['VictoriaMetrics', startVictoriaMetrics, { refusesLongRanges: false }],
];

for (const [storeName, startStore, quirks] of stores) describe(`krr stand-in computing from a real ${storeName} (numbers worked out by hand)`, function () {
  this.timeout(300_000);
  let dir = '';
  let store: MetricsStore | undefined;
  let history: UsageHistoryOptions;
  let reportFile = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'krr-standin-prometheus-'));
    history = { end: new Date(), workloads: [...eu, ...us], seed: 25 };
    writeUsageHistory(join(dir, 'history.om'), history);
    reportFile = join(dir, 'report.json');
    writeFileSync(reportFile, JSON.stringify(reportOf(history)));
    store = await startStore({ openMetrics: join(dir, 'history.om') });
  });
  after(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function run(args: string[], { auth = true } = {}): Promise<Run> {
    assert.ok(store, `${storeName} did not start`);
    const [command = 'simple', ...flags] = args;
    const argv = [command, '-p', store.url, ...(auth ? ['--prometheus-auth-header', store.authHeader] : []), ...flags, '--logtostderr', '-f', 'json'];
    return new Promise((resolve, reject) => {
      const child = spawn(krr, argv, { env: { ...process.env, KRR_STANDIN_REPORT: reportFile }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  }

  async function scan(args: string[]): Promise<Map<string, Scan>> {
    const result = await run(args);
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as Report;
    return new Map(report.scans.map((s) => [`${s.object.namespace}/${s.object.name}`, s]));
  }

  const get = (scans: Map<string, Scan>, key: string): Scan => {
    const found = scans.get(key);
    assert.ok(found, `${key} missing from ${[...scans.keys()].join(', ')}`);
    return found;
  };
  const values = (s: Scan) => ({ cpu: s.recommended.requests.cpu.value, cpuLimit: s.recommended.limits.cpu.value, memory: s.recommended.requests.memory.value, memoryLimit: s.recommended.limits.memory.value, info: s.recommended.info });

  describe('one cluster (eu1) of a centralized Prometheus: --prometheus-label cluster -l eu1', () => {
    let scans: Map<string, Scan>;
    before(async () => {
      scans = await scan(['simple', '--prometheus-label', 'cluster', '-l', 'eu1']);
    });

    it('steady: CPU p95 of 0.25 cores = 250m, memory 256 MiB × 1.15 = 294.4 → 295 MiB, CPU limit unset; pods of both ReplicaSets', () => {
      const s = get(scans, 'shop/checkout-api');
      assert.deepEqual(values(s), { cpu: 0.25, cpuLimit: null, memory: 295 * MIB, memoryLimit: 295 * MIB, info: { cpu: null, memory: null } });
      const pods = podsOf(history).filter((pod) => pod.cluster === 'eu1' && pod.workload.name === 'checkout-api');
      assert.deepEqual(
        s.object.pods.slice().sort((a, b) => a.name.localeCompare(b.name)),
        pods.map((pod) => ({ name: pod.name, deleted: pod.deleted })).sort((a, b) => a.name.localeCompare(b.name)),
      );
      assert.deepEqual(s.object.pods.filter((pod) => pod.deleted).length, 1, 'the first generation is gone');
      // |0.5 − 0.25| = 0.25 cores → WARNING; 512 − 295 = 217 MiB → OK; limits: CPU unset both sides, memory 217 MiB.
      assert.equal(s.recommended.requests.cpu.severity, 'WARNING');
      assert.equal(s.recommended.requests.memory.severity, 'OK');
    });

    it('spike: a 20-minute CPU spike stays out of p95 (125m); its 310 MiB peak sets memory: 356.5 → 357 MiB', () => {
      assert.deepEqual(values(get(scans, 'shop/frontend')), { cpu: 0.125, cpuLimit: null, memory: 357 * MIB, memoryLimit: 357 * MIB, info: { cpu: null, memory: null } });
    });

    it('leak: memory from its end value, 410 MiB × 1.15 = 471.5 → 472 MiB; CPU 500m', () => {
      assert.deepEqual(values(get(scans, 'data/postgres')), { cpu: 0.5, cpuLimit: null, memory: 472 * MIB, memoryLimit: 472 * MIB, info: { cpu: null, memory: null } });
    });

    it('oomkill without --use_oomkill_data: the peak is the 256 MiB limit → 294.4 → 295 MiB; CPU 0.0625 → 63m', () => {
      assert.deepEqual(values(get(scans, 'shop/worker')), { cpu: 0.063, cpuLimit: null, memory: 295 * MIB, memoryLimit: 295 * MIB, info: { cpu: null, memory: null } });
    });

    it('new: 30 minutes of samples are fewer than 100 points → "?" with "Not enough data"', () => {
      assert.deepEqual(values(get(scans, 'shop/search')), { cpu: '?', cpuLimit: '?', memory: '?', memoryLimit: '?', info: { cpu: 'Not enough data', memory: 'Not enough data' } });
    });

    it('HPA on CPU: CPU "?" with "HPA detected"; memory 64 MiB × 1.15 = 73.6 → 74 MiB, raised to --mem-min 100 MiB', () => {
      assert.deepEqual(values(get(scans, 'shop/cart')), { cpu: '?', cpuLimit: '?', memory: 100 * MIB, memoryLimit: 100 * MIB, info: { cpu: 'HPA detected', memory: null } });
    });

    it('throttled: usage pinned at its 0.5-core limit → 500m, limit unset; memory 330 × 1.15 = 379.5 → 380 MiB', () => {
      assert.deepEqual(values(get(scans, 'media/encoder')), { cpu: 0.5, cpuLimit: null, memory: 380 * MIB, memoryLimit: 380 * MIB, info: { cpu: null, memory: null } });
    });
  });

  it('--use_oomkill_data: memory = max(256 × 1.15, 256 × 1.25) = 320 MiB with "OOMKill detected"; --allow-hpa gives cart its 250m', async () => {
    const scans = await scan(['simple', '--prometheus-label', 'cluster', '-l', 'eu1', '--use_oomkill_data', '--allow-hpa']);
    assert.deepEqual(values(get(scans, 'shop/worker')), { cpu: 0.063, cpuLimit: null, memory: 320 * MIB, memoryLimit: 320 * MIB, info: { cpu: null, memory: 'OOMKill detected' } });
    assert.equal(get(scans, 'shop/cart').recommended.requests.cpu.value, 0.25);
    // --oom_memory_buffer_percentage 10: max(294.4, 281.6) MiB → the usage side wins, still "OOMKill detected".
    const lower = await scan(['simple', '-l', 'eu1', '--prometheus-label', 'cluster', '--use_oomkill_data', '--oom_memory_buffer_percentage', '10']);
    assert.deepEqual(values(get(lower, 'shop/worker')).memory, 295 * MIB);
    assert.equal(get(lower, 'shop/worker').recommended.info.memory, 'OOMKill detected');
  });

  it('the settings change the arithmetic: --memory_buffer_percentage, --cpu-min, --mem-min, --cpu_percentile, --points_required', async () => {
    const scans = await scan(['simple', '--prometheus-label', 'cluster', '-l', 'eu1', '--memory_buffer_percentage', '50', '--cpu-min', '300', '--mem-min', '500']);
    // 256 × 1.5 = 384 MiB, raised to 500 MiB; 250m raised to 300m.
    assert.deepEqual(values(get(scans, 'shop/checkout-api')), { cpu: 0.3, cpuLimit: null, memory: 500 * MIB, memoryLimit: 500 * MIB, info: { cpu: null, memory: null } });
    // 410 × 1.5 = 615 MiB.
    assert.equal(get(scans, 'data/postgres').recommended.requests.memory.value, 615 * MIB);
    // --cpu_percentile 100 is the max: frontend's 20-minute spike of exactly 1 core now sets its CPU.
    const peak = await scan(['simple', '--prometheus-label', 'cluster', '-l', 'eu1', '--cpu_percentile', '100']);
    assert.equal(get(peak, 'shop/frontend').recommended.requests.cpu.value, 1);
    // 14 days at a 75 s step are 16,128 points per pod: postgres (one pod) has fewer than 20,000.
    const strict = await scan(['simple', '--prometheus-label', 'cluster', '-l', 'eu1', '--points_required', '20000']);
    assert.equal(get(strict, 'data/postgres').recommended.info.cpu, 'Not enough data');
  });

  it('simple_limit over 48 h: request p66 and limit p96 of the 75 s rates, both 250m for a steady 0.25 cores', async () => {
    const scans = await scan(['simple_limit', '--prometheus-label', 'cluster', '-l', 'eu1', '--history_duration', '48']);
    assert.deepEqual(values(get(scans, 'shop/checkout-api')), { cpu: 0.25, cpuLimit: 0.25, memory: 295 * MIB, memoryLimit: 295 * MIB, info: { cpu: null, memory: null } });
    // krr's range query over 14 days at a 75 s step is 16,128 points: Prometheus refuses more than 11,000 (HTTP 400),
    // prometrix does not split it, so CPU has no data, as with the real krr against a plain Prometheus.
    // VictoriaMetrics has no such limit and answers.
    const full = await scan(['simple_limit', '--prometheus-label', 'cluster', '-l', 'eu1']);
    const api = get(full, 'shop/checkout-api');
    if (quirks.refusesLongRanges) {
      assert.deepEqual(values(api).info, { cpu: 'No data', memory: null });
      assert.ok(api.object.warnings.includes('NoPrometheusCPUMetrics'));
    } else {
      assert.deepEqual([values(api).cpu, values(api).cpuLimit], [0.25, 0.25]);
    }
  });

  it('-l us1 picks the other cluster: checkout-api 500m and 512 × 1.15 = 588.8 → 589 MiB; the rest have no data', async () => {
    const scans = await scan(['simple', '--prometheus-label', 'cluster', '-l', 'us1']);
    assert.deepEqual(values(get(scans, 'shop/checkout-api')), { cpu: 0.5, cpuLimit: null, memory: 589 * MIB, memoryLimit: 589 * MIB, info: { cpu: null, memory: null } });
    const postgres = get(scans, 'data/postgres');
    assert.deepEqual(values(postgres).info, { cpu: 'No data', memory: 'No data' });
    assert.deepEqual(postgres.object.warnings.slice().sort(), ['NoPrometheusCPUMetrics', 'NoPrometheusMemoryMetrics', 'NoPrometheusPods']);
  });

  it('a swapped label (--prometheus-label eu1 -l cluster) selects none → "No data" everywhere', async () => {
    const scans = await scan(['simple', '--prometheus-label', 'eu1', '-l', 'cluster']);
    assert.equal(scans.size, eu.length);
    for (const s of scans.values()) assert.deepEqual(values(s), { cpu: '?', cpuLimit: '?', memory: '?', memoryLimit: '?', info: { cpu: 'No data', memory: 'No data' } }, s.object.name);
  });

  it('without -l krr matches every cluster\'s series: checkout-api takes the larger cluster\'s numbers', async () => {
    const scans = await scan(['simple']);
    assert.deepEqual(values(get(scans, 'shop/checkout-api')), { cpu: 0.5, cpuLimit: null, memory: 589 * MIB, memoryLimit: 589 * MIB, info: { cpu: null, memory: null } });
  });

  it('without the auth header, or with no Prometheus there, it fails with krr\'s message and exit code 1', async () => {
    const refused = await run(['simple'], { auth: false });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /Couldn't connect to Prometheus found under http:\/\/127\.0\.0\.1:\d+\n\s+Caused by HTTPError: 401 Client Error: Unauthorized for url: http:\/\/127\.0\.0\.1:\d+\/api\/v1\/query\)/);
    assert.equal(refused.stdout, '');
    const closed = await new Promise<Run>((resolve, reject) => {
      const child = spawn(krr, ['simple', '-p', 'http://127.0.0.1:9', '--logtostderr', '-f', 'json'], { env: { ...process.env, KRR_STANDIN_REPORT: reportFile }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout: '', stderr }));
    });
    assert.equal(closed.status, 1);
    assert.match(closed.stderr, /Couldn't connect to Prometheus found under http:\/\/127\.0\.0\.1:9\n\s+Caused by ConnectionError: /);
  });
});
