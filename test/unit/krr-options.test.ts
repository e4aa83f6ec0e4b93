// The krr options fleets use (krr v1.29's CLI): argv from the runner, and the stand-in's behaviour for each, so a
// test fails if an option is spelled wrong or does not change what krr reports.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterLabelWarnings } from '../../src/core/krr/centralPrometheus';
import type { Report, Workload } from '../../src/core/krr/model';
import { KrrError, buildKrrArgs, maskKrrArgs, runKrrScan, type KrrScanOptions } from '../../src/core/krr/runner';

const krrPath = join(__dirname, '..', 'support', 'bin', 'krr');
const sample = join(__dirname, '..', 'support', 'krr-standin', 'sample-report.json');
const headerSecret = 'X-Scope-OrgID: tenant-secret-4711';

function throwsUsage(options: Omit<KrrScanOptions, 'krrPath' | 'strategy'>, message: RegExp): KrrError {
  let caught: unknown;
  try {
    buildKrrArgs({ krrPath, strategy: 'simple', ...options });
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof KrrError && caught.kind === 'usage', `usage error, got ${String(caught)}`);
  assert.match(caught.message, message);
  return caught;
}

async function scan(options: Omit<KrrScanOptions, 'krrPath' | 'strategy'>, env: Record<string, string> = {}): Promise<Report> {
  return (await runKrrScan({ krrPath, strategy: 'simple', ...options }, { env })).report;
}

function workload(report: Report, name: string): Workload {
  const found = report.workloads.find((candidate) => candidate.name === name);
  assert.ok(found, `${name} in ${report.workloads.map((w) => w.name).join(', ')}`);
  return found;
}

function requestOf(report: Report, name: string, resource: 'cpu' | 'memory', container?: string) {
  const entry = workload(report, name).containers.find((candidate) => container === undefined || candidate.container === container);
  assert.ok(entry);
  return { value: entry.recommended.requests[resource], info: entry.info[resource] };
}

describe('krr options for fleets', function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'krr-options-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('argv', () => {
    it('spells each option as krr v1.29 does', () => {
      const args = buildKrrArgs({
        krrPath,
        strategy: 'simple',
        prometheusUrl: 'http://thanos:9090',
        prometheusLabel: 'cluster',
        prometheusClusterLabel: 'prod-eu-1',
        prometheusHeaders: [headerSecret],
        allowHpa: true,
        useOomKillData: true,
        oomMemoryBufferPercent: 30,
        jobGroupingLabels: ['app', 'batch.example.com/pipeline'],
        jobGroupingLimit: 50,
        maxWorkers: 3,
      });
      for (const expected of [
        '--prometheus-label=cluster',
        '--prometheus-cluster-label=prod-eu-1',
        `--prometheus-headers=${headerSecret}`,
        '--allow-hpa',
        '--use_oomkill_data',
        '--oom_memory_buffer_percentage=30',
        '--job-grouping-labels=app,batch.example.com/pipeline',
        '--job-grouping-limit=50',
        '--max-workers=3',
      ]) {
        assert.ok(args.includes(expected), `${expected} in ${args.join(' ')}`);
      }
    });

    it('masks the extra headers like the auth header', () => {
      const masked = maskKrrArgs(buildKrrArgs({ krrPath, strategy: 'simple', prometheusHeaders: [headerSecret, 'X-Other: abcdefgh'], prometheusAuthHeader: 'Bearer t0123456789' }));
      assert.ok(!masked.join(' ').includes('tenant-secret'), masked.join(' '));
      assert.ok(!masked.join(' ').includes('abcdefgh'));
      assert.equal(masked.filter((arg) => arg === '--prometheus-headers=***').length, 2);
    });

    it('needs the label name and the cluster value together, and a label NAME as the name', () => {
      throwsUsage({ prometheusLabel: 'cluster' }, /both the label name/);
      throwsUsage({ prometheusClusterLabel: 'prod-eu-1' }, /both the label name/);
      // The swap krr's short -l invites: a cluster name where the label name goes.
      throwsUsage({ prometheusLabel: 'prod-eu-1', prometheusClusterLabel: 'cluster' }, /not a label name/);
      throwsUsage({ prometheusLabel: 'cluster', prometheusClusterLabel: 'a"b' }, /contains "/);
      throwsUsage({ prometheusLabel: 'cluster', prometheusClusterLabel: '-c' }, /must not start with '-'/);
    });

    it('rejects headers krr would reject, without echoing them', () => {
      for (const header of ['no colon here-secret', 'X-A: http://secret-url', 'X-A: line\nbreak-secret', ': empty-name-secret', 'X-A:   ']) {
        const error = throwsUsage({ prometheusHeaders: [header] }, /Name: value/);
        assert.ok(!error.message.includes('secret') && !error.hint.includes('secret'), error.message);
      }
    });

    it('rejects option combinations krr would ignore and values out of range', () => {
      throwsUsage({ oomMemoryBufferPercent: 10 }, /only with OOMKill data/);
      throwsUsage({ jobGroupingLimit: 5 }, /only with job grouping labels/);
      throwsUsage({ jobGroupingLabels: ['app'], jobGroupingLimit: 0 }, /jobGroupingLimit/);
      throwsUsage({ jobGroupingLabels: ['-app'] }, /not a Kubernetes label key/);
      throwsUsage({ jobGroupingLabels: ['a b'] }, /not a Kubernetes label key/);
      throwsUsage({ maxWorkers: 0 }, /maxWorkers/);
      throwsUsage({ useOomKillData: true, oomMemoryBufferPercent: -1 }, /oomMemoryBufferPercent/);
    });

    it('warns when the cluster value looks like a label name (or equals it)', () => {
      assert.equal(clusterLabelWarnings('cluster', 'prod-eu-1').length, 0);
      assert.match(clusterLabelWarnings('cluster', 'cluster')[0] ?? '', /equals the label name/);
      assert.match(clusterLabelWarnings('region', 'cluster_name')[0] ?? '', /looks like a label name/);
      assert.equal(clusterLabelWarnings(undefined, 'cluster').length, 0);
    });
  });

  describe('behaviour (the stand-in honours each option)', () => {
    const central = { KRR_STANDIN_CENTRAL: 'cluster=prod-eu-1,prod-us-1,prod-ap-1' };

    it('a centralized Prometheus: -l picks that cluster\'s series; without it the clusters mix', async () => {
      const base = { prometheusUrl: 'http://thanos.example:9090', prometheusLabel: 'cluster' };
      const eu = await scan({ ...base, prometheusClusterLabel: 'prod-eu-1' }, central);
      const us = await scan({ ...base, prometheusClusterLabel: 'prod-us-1' }, central);
      const mixed = await scan({ prometheusUrl: 'http://thanos.example:9090' }, central);
      const cpu = (report: Report) => requestOf(report, 'checkout-api', 'cpu').value;
      assert.deepEqual(cpu(eu), { kind: 'value', amount: 0.087 });
      assert.deepEqual(cpu(us), { kind: 'value', amount: 0.131 });
      // Without the selector krr takes the max over every cluster's series: the biggest cluster wins.
      assert.deepEqual(cpu(mixed), { kind: 'value', amount: 0.174 });
    });

    it('a swapped label (value where the name goes) selects no series: every value unknown', async () => {
      const swapped = await scan({ prometheusUrl: 'http://thanos.example:9090', prometheusLabel: 'cluster_name', prometheusClusterLabel: 'cluster' }, central);
      for (const entry of swapped.workloads.flatMap((w) => w.containers)) {
        assert.deepEqual(entry.recommended.requests.cpu, { kind: 'unknown' });
        assert.equal(entry.severity, 'UNKNOWN');
        assert.ok(entry.warnings.includes('NoPrometheusPods'));
      }
    });

    it('--prometheus-headers reach Prometheus, and krr\'s own complaint about them is masked', async () => {
      const { createServer } = await import('node:http');
      const seen: Array<string | undefined> = [];
      const server = createServer((request, response) => {
        seen.push(request.headers['x-scope-orgid'] as string | undefined);
        // Mimir without a tenant id: 401.
        response.statusCode = request.headers['x-scope-orgid'] === 'tenant-secret-4711' ? 200 : 401;
        response.end('{"status":"success","data":{"resultType":"vector","result":[]}}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      try {
        const env = { KRR_STANDIN_QUERY_PROMETHEUS: '1' };
        await scan({ prometheusUrl: url, prometheusHeaders: [headerSecret] }, env);
        await assert.rejects(scan({ prometheusUrl: url }, env), (error: unknown) => error instanceof KrrError && error.kind === 'prometheus-unreachable');
        assert.deepEqual(seen, ['tenant-secret-4711', undefined]);
        const progress: string[] = [];
        const result = await runKrrScan({ krrPath, strategy: 'simple', prometheusHeaders: [headerSecret] }, { env: { KRR_STANDIN_ECHO_ARGS: '1' }, onProgress: (line) => progress.push(line) });
        assert.ok(!progress.join('\n').includes('tenant-secret-4711') && !result.stderrTail.includes('tenant-secret-4711'), 'masked in progress and stderr');
      } finally {
        server.close();
      }
    });

    it('the stand-in rejects a header krr cannot split, exiting 0 without JSON like krr', () => {
      const run = spawnSync(krrPath, ['simple', '-H', 'X-A: a:b', '--logtostderr', '-f', 'json'], { encoding: 'utf8' });
      assert.equal(run.status, 0);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /prometheus_other_headers\n {2}Value error, too many values to unpack/);
    });

    it('--allow-hpa: an HPA-scaled workload gets a CPU recommendation instead of "?"', async () => {
      const without = await scan({});
      const withHpa = await scan({ allowHpa: true });
      assert.deepEqual(requestOf(without, 'frontend', 'cpu'), { value: { kind: 'unknown' }, info: 'HPA detected' });
      const allowed = requestOf(withHpa, 'frontend', 'cpu');
      assert.equal(allowed.value.kind, 'value');
      assert.equal(allowed.info, null);
      assert.equal(workload(withHpa, 'frontend').hpa?.targetCpuUtilizationPercentage, 70);
    });

    it('--use_oomkill_data and --oom_memory_buffer_percentage: memory covers the OOM-killed size plus the buffer', async () => {
      const env = { KRR_STANDIN_OOMKILLED: 'shop/checkout-api/api' };
      const without = requestOf(await scan({}, env), 'checkout-api', 'memory');
      const oom = requestOf(await scan({ useOomKillData: true }, env), 'checkout-api', 'memory');
      const bigger = requestOf(await scan({ useOomKillData: true, oomMemoryBufferPercent: 50 }, env), 'checkout-api', 'memory');
      const mib = 1024 * 1024;
      assert.deepEqual(without, { value: { kind: 'value', amount: 347 * mib }, info: null });
      // Its memory limit is 1 GiB: 1024 MiB × 1.25 (krr's default buffer), then × 1.5.
      assert.deepEqual(oom, { value: { kind: 'value', amount: 1280 * mib }, info: 'OOMKill detected' });
      assert.deepEqual(bigger, { value: { kind: 'value', amount: 1536 * mib }, info: 'OOMKill detected' });
    });

    it('--job-grouping-labels/--job-grouping-limit: Jobs sharing a label become GroupedJob rows', async () => {
      const report = JSON.parse(await readFile(sample, 'utf8')) as { scans: Array<{ object: { kind: string; name: string; labels: Record<string, string>; pods: unknown[] } }> };
      const job = report.scans.find((entry) => entry.object.kind === 'Job');
      assert.ok(job);
      report.scans = report.scans.filter((entry) => entry.object.kind !== 'Job');
      for (const day of ['01', '02', '03']) {
        const copy = structuredClone(job);
        copy.object.name = `etl-202406${day}`;
        copy.object.labels = { ...copy.object.labels, pipeline: 'etl' };
        copy.object.pods = [{ name: `etl-202406${day}-x`, deleted: true }];
        report.scans.push(copy);
      }
      const file = join(dir, 'jobs.json');
      await writeFile(file, JSON.stringify(report));
      const env = { KRR_STANDIN_REPORT: file };
      const plain = await scan({}, env);
      assert.equal(plain.workloads.filter((w) => w.kind === 'Job').length, 3);
      const grouped = await scan({ jobGroupingLabels: ['pipeline'], jobGroupingLimit: 2 }, env);
      assert.equal(grouped.workloads.filter((w) => w.kind === 'Job').length, 0);
      const group = grouped.workloads.filter((w) => w.kind === 'GroupedJob');
      assert.deepEqual(group.map((w) => w.name), ['pipeline=etl']);
      assert.equal(group[0]?.containers[0]?.pods.deleted, 2, 'pods of at most --job-grouping-limit Jobs');
    });

    it('--max-workers bounds how many objects krr queries at once', async () => {
      const trace = join(dir, 'trace.json');
      const env = { KRR_STANDIN_OBJECT_MS: '20', KRR_STANDIN_TRACE: trace };
      await scan({ maxWorkers: 2 }, env);
      assert.deepEqual(JSON.parse(await readFile(trace, 'utf8')), { objects: 7, maxWorkers: 2, peakWorkers: 2 });
      await scan({}, env);
      assert.deepEqual(JSON.parse(await readFile(trace, 'utf8')), { objects: 7, maxWorkers: 10, peakWorkers: 7 });
    });
  });
});
