import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReportParseError, maxReportFileBytes, parseReport, parseReportFile } from '../../src/core/krr/report';
import type { Report, Workload } from '../../src/core/krr/model';

const fixtures = join(__dirname, '..', 'fixtures');
const sampleText = () => readFile(join(fixtures, 'sample-report.json'), 'utf8');
const sampleJson = async () => JSON.parse(await sampleText()) as { scans: Array<Record<string, any>> } & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function workload(report: Report, name: string): Workload {
  const found = report.workloads.find((candidate) => candidate.name === name);
  assert.ok(found, `workload ${name} in report`);
  return found;
}

function assertParseError(input: unknown, expected: RegExp): void {
  assert.throws(
    () => parseReport(typeof input === 'string' ? input : JSON.stringify(input)),
    (error: unknown) => {
      assert.ok(error instanceof ReportParseError, `ReportParseError, got ${String(error)}`);
      assert.match(error.message, expected);
      assert.match(error.message, /krr's -f json output/);
      return true;
    },
  );
}

describe('krr report', () => {
  describe('the sample report', () => {
    let report: Report;
    before(async () => {
      report = parseReport(await sampleText());
    });

    it('groups 7 scans into 6 workloads, postgres with 2 containers', () => {
      assert.equal(report.workloads.length, 6);
      assert.equal(report.containerCount, 7);
      assert.deepEqual(
        report.workloads.map((w) => `${w.namespace}/${w.kind}/${w.name}:${w.containers.map((c) => c.container).join('+')}`),
        [
          'shop/Deployment/checkout-api:api',
          'shop/Deployment/frontend:web',
          'data/StatefulSet/postgres:postgresql+metrics',
          'monitoring/DaemonSet/node-exporter:node-exporter',
          'batch/Job/db-migrate-20240611:migrate',
          'batch/CronJob/nightly-report:report',
        ],
      );
      assert.deepEqual(report.clusters, ['prod-eu-1']);
      assert.equal(workload(report, 'postgres').key, 'prod-eu-1/data/StatefulSet/postgres');
      assert.equal(workload(report, 'node-exporter').kind, 'DaemonSet');
    });

    it('keeps top-level facts and maps the cluster summary', () => {
      assert.equal(report.score, 51);
      assert.deepEqual(report.resources, ['cpu', 'memory']);
      assert.equal(report.strategy.name, 'simple');
      assert.equal(report.strategy.settings.cpu_percentile, 95);
      assert.match(report.description, /Simple Strategy/);
      assert.deepEqual(report.errors, []);
      assert.deepEqual(report.clusterSummary, {
        clusterCpu: 12,
        clusterMemory: 50392313856,
        kubeSystemCpuRequests: 1.35,
        kubeSystemMemoryRequests: 807403520,
      });
    });

    it('turns values into value / unset (null) / unknown ("?")', () => {
      const api = workload(report, 'checkout-api').containers[0];
      assert.ok(api);
      assert.deepEqual(api.recommended.requests.cpu, { kind: 'value', amount: 0.087 });
      assert.deepEqual(api.recommended.limits.cpu, { kind: 'unset' });
      assert.deepEqual(api.recommended.limits.memory, { kind: 'value', amount: 363855872 });
      assert.deepEqual(api.current, { requests: { cpu: 0.5, memory: 536870912 }, limits: { cpu: 1, memory: 1073741824 } });
      assert.deepEqual(api.pods, { running: 2, deleted: 1 });
      assert.equal(api.severity, 'CRITICAL');

      const web = workload(report, 'frontend').containers[0];
      assert.ok(web);
      assert.deepEqual(web.recommended.requests.cpu, { kind: 'unknown' });
      assert.deepEqual(web.recommended.limits.cpu, { kind: 'unknown' });
      assert.equal(web.info.cpu, 'HPA detected');
      assert.equal(web.severities.requests.cpu, 'UNKNOWN');
    });

    it('camelCases the HPA and keeps labels but not annotations', () => {
      assert.deepEqual(workload(report, 'frontend').hpa, {
        minReplicas: 2,
        maxReplicas: 10,
        currentReplicas: 4,
        desiredReplicas: 4,
        targetCpuUtilizationPercentage: 70,
        targetMemoryUtilizationPercentage: null,
      });
      assert.equal(workload(report, 'checkout-api').hpa, null);
      assert.deepEqual(workload(report, 'frontend').labels, { app: 'frontend', tier: 'web' });
      assert.doesNotMatch(JSON.stringify(report), /annotations|last-applied-configuration|meta\.helm\.sh/);
    });

    it('gives a workload the worst severity of its containers', () => {
      const postgres = workload(report, 'postgres');
      assert.deepEqual(postgres.containers.map((c) => c.severity), ['CRITICAL', 'WARNING']);
      assert.equal(postgres.severity, 'CRITICAL');
      assert.deepEqual(postgres.containers[1]?.current.limits, { cpu: null, memory: null });
      assert.equal(workload(report, 'node-exporter').severity, 'WARNING');
      assert.equal(workload(report, 'nightly-report').severity, 'UNKNOWN');
    });

    it('keeps object warnings, sorted', () => {
      assert.deepEqual(workload(report, 'nightly-report').containers[0]?.warnings, [
        'NoPrometheusCPUMetrics',
        'NoPrometheusMemoryMetrics',
        'NoPrometheusPods',
      ]);
      assert.equal(workload(report, 'nightly-report').containers[0]?.info.memory, 'No data');
    });
  });

  it('skips a banner and log lines printed before the JSON, and log lines after it', async () => {
    const banner = ' _____  _____  _____\n|  __ \\|  __ \\|  __ \\\nRunning Robusta\'s KRR (Kubernetes Resource Recommender) 1.29.0\n[12:00:01] INFO     Using clusters: [\'prod-eu-1\']\n';
    const report = parseReport(`${banner}${await sampleText()}[12:00:09] INFO     Done\n`);
    assert.equal(report.containerCount, 7);
  });

  it('never keeps krr\'s config block (secrets in clear), and tolerates unknown keys', () => {
    const text = require('node:fs').readFileSync(join(fixtures, 'krr', 'secrets-and-extras-report.json'), 'utf8') as string;
    assert.match(text, /FAKE-SECRET/, 'the fixture holds fake secrets');
    const report = parseReport(text);
    const serialised = JSON.stringify(report);
    assert.doesNotMatch(serialised, /FAKE-SECRET/);
    assert.doesNotMatch(serialised, /"config"|eks_secret_key|teams_webhook|azureblob_output|future_/);
    assert.equal('config' in report, false);
  });

  it('parses an empty clusterSummary as null and errors with retry_after', () => {
    const report = parseReport(require('node:fs').readFileSync(join(fixtures, 'krr', 'secrets-and-extras-report.json'), 'utf8'));
    assert.equal(report.clusterSummary, null);
    assert.deepEqual(report.errors, [
      { name: 'HistoryRangeError' },
      { name: 'NotEnoughHistoryAvailable', retryAfter: '2024-06-12T08:00:00' },
    ]);
  });

  it('keeps the first of duplicate (workload, container) rows and ignores the rest', () => {
    const report = parseReport(require('node:fs').readFileSync(join(fixtures, 'krr', 'secrets-and-extras-report.json'), 'utf8'));
    // The fixture repeats checkout-api/api at the end with cpu 9 and no pods.
    assert.equal(report.containerCount, 7);
    const api = workload(report, 'checkout-api');
    assert.equal(api.containers.length, 1);
    assert.deepEqual(api.containers[0]?.recommended.requests.cpu, { kind: 'value', amount: 0.087 });
    assert.deepEqual(api.containers[0]?.pods, { running: 2, deleted: 1 });
  });

  it('parses older krr output (no warnings, config, clusterSummary, labels, errors; null description)', async () => {
    const report = await parseReportFile(join(fixtures, 'krr', 'krr-1.6-report.json'));
    assert.equal(report.workloads.length, 3);
    assert.equal(report.containerCount, 3);
    assert.equal(report.clusterSummary, null);
    assert.deepEqual(report.errors, []);
    assert.equal(report.description, '');
    assert.deepEqual(workload(report, 'postgres').labels, {});
    assert.deepEqual(workload(report, 'postgres').containers[0]?.warnings, []);
  });

  it('reads krr\'s YAML output (-f yaml) into the same report as the JSON', async () => {
    const fromYaml = await parseReportFile(join(fixtures, 'krr', 'sample-report.yaml'));
    const fromJson = parseReport(await sampleText());
    assert.deepEqual(fromYaml, fromJson);
  });

  it('keeps an in-cluster (null) cluster apart from a named one with the same workload', async () => {
    const raw = await sampleJson();
    const copy = structuredClone(raw.scans[0]!);
    copy.object.cluster = null;
    raw.scans.push(copy);
    const report = parseReport(JSON.stringify(raw));
    assert.equal(report.workloads.length, 7);
    assert.deepEqual(report.clusters, ['prod-eu-1', null]);
    assert.equal(report.workloads[6]?.key, '/shop/Deployment/checkout-api');
  });

  describe('bad input names what is wrong and where', () => {
    it('not JSON at all', () => {
      assertParseError('Error: something went wrong\n', /No JSON object found/);
    });

    it('invalid JSON, with its line and column, without echoing the text', () => {
      assertParseError('banner\n{"scans": [1, }\n', /not valid JSON at line 2, column 15/);
      assertParseError('{"config": {"eks_secret_key": "FAKE-SECRET-x", }}', /^(?![\s\S]*FAKE-SECRET)[\s\S]*not valid JSON at line 1/);
      assertParseError('{"scans": [', /not valid JSON at line 1, column 12/);
    });

    it('NaN / Infinity, as Python writes them', () => {
      assertParseError('{"scans": [], "score": NaN}', /NaN at line 1, column 24 is not a valid amount/);
      assertParseError('{"x": -Infinity}', /-Infinity at line 1, column 7 is not a valid amount/);
    });

    it('a recommended value that is not a number, "?" or null', async () => {
      const raw = await sampleJson();
      raw.scans[3]!.recommended.requests.cpu.value = 'lots';
      assertParseError(raw, /^Invalid krr report: scans\[3\]\.recommended\.requests\.cpu\.value: expected a number, "\?" or null\./);
    });

    it('negative amounts, current and recommended', async () => {
      const raw = await sampleJson();
      raw.scans[1]!.recommended.limits.memory.value = -5;
      assertParseError(raw, /scans\[1\]\.recommended\.limits\.memory\.value: expected a number ≥ 0, "\?" or null/);
      const raw2 = await sampleJson();
      raw2.scans[2]!.object.allocations.requests.memory = -1;
      assertParseError(raw2, /scans\[2\]\.object\.allocations\.requests\.memory: expected a number ≥ 0 or null/);
    });

    it('the first offending path wins', async () => {
      const raw = await sampleJson();
      raw.scans[5]!.severity = 'BAD';
      raw.scans[4]!.object.kind = 'ReplicaSet';
      assertParseError(raw, /scans\[4\]\.object\.kind: expected one of Deployment, /);
    });

    it('missing keys and wrong types', async () => {
      const raw = await sampleJson();
      delete raw.scans[0]!.object.namespace;
      assertParseError(raw, /scans\[0\]\.object\.namespace: missing \(expected string\)/);
      const raw2 = await sampleJson();
      raw2.score = 101;
      assertParseError(raw2, /score: expected a value ≤ 100/);
      const raw3 = await sampleJson();
      raw3.score = 50.5;
      assertParseError(raw3, /^Invalid krr report: score: /);
      const raw4 = await sampleJson();
      raw4.scans[6]!.recommended.info.cpu = 7;
      assertParseError(raw4, /scans\[6\]\.recommended\.info\.cpu: expected string, got a number/);
      assertParseError({ scans: {} }, /^Invalid krr report: scans: expected array, got a (object|record)/);
    });

    it('a severity outside krr\'s five', async () => {
      const raw = await sampleJson();
      raw.scans[0]!.recommended.requests.memory.severity = 'FINE';
      assertParseError(raw, /scans\[0\]\.recommended\.requests\.memory\.severity: expected one of UNKNOWN, GOOD, OK, WARNING, CRITICAL/);
    });
  });

  describe('parseReportFile', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'krr-report-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('refuses a file over the size limit before reading it', async () => {
      const path = join(dir, 'huge.json');
      await writeFile(path, '');
      await truncate(path, maxReportFileBytes + 1);
      await assert.rejects(parseReportFile(path), /over the 200 MB limit/);
    });

    it('never echoes file content in a parse error: V8 snippets, unexpected characters, record keys', async () => {
      const secret = 'tok3n-0123456789abcdefghijklmnop';
      const raw = await sampleJson();
      (raw.scans[0]!.object as unknown as { labels: Record<string, unknown> }).labels = { [secret]: 5 };
      const texts = [
        `{"scans": [1, 2, "${secret}" x "${secret} plus enough text for V8 to truncate its quoted snippet"]}`,
        `{"scans": [${secret}]}`,
        `{"scans": ["${secret}\u0001"]}`,
        `{"scans": [1] "${secret}"`,
        JSON.stringify(raw),
      ];
      for (const [index, text] of texts.entries()) {
        const path = join(dir, `leak-${index}.json`);
        await writeFile(path, text);
        await assert.rejects(parseReportFile(path), (error: Error) => {
          assert.ok(error instanceof ReportParseError);
          assert.ok(!error.message.includes(secret.slice(0, 8)), `case ${index} echoes the file: ${error.message}`);
          return true;
        });
      }
    });

    it('says when the file is missing', async () => {
      await assert.rejects(parseReportFile(join(dir, 'absent.json')), /Cannot read the krr report .*ENOENT/);
    });

    it('reports invalid YAML with its line', async () => {
      const path = join(dir, 'bad.yml');
      await writeFile(path, 'scans:\n  - object: [unclosed\n');
      await assert.rejects(parseReportFile(path), /not valid YAML \(line \d+, column \d+\)/);
    });

    it('bounds names as Kubernetes does, naming the path', async () => {
      for (const [field, length, limit] of [['name', 254, 253], ['namespace', 64, 63], ['container', 64, 63]] as const) {
        const raw = await sampleJson();
        (raw.scans[1]!.object as unknown as Record<string, string>)[field] = 'a'.repeat(length);
        assertParseError(raw, new RegExp(`scans\\[1\\]\\.object\\.${field}: expected at most ${limit} characters`));
        (raw.scans[1]!.object as unknown as Record<string, string>)[field] = 'a'.repeat(limit);
        assert.doesNotThrow(() => parseReport(JSON.stringify(raw)));
      }
    });

    it('refuses what is not a regular file (FIFO, device, directory) without blocking', async () => {
      const fifo = join(dir, 'fifo.json');
      execFileSync('mkfifo', [fifo]);
      await assert.rejects(parseReportFile(fifo), /is a FIFO; only a regular file/);
      await assert.rejects(parseReportFile('/dev/zero'), /is a device/);
      await assert.rejects(parseReportFile(dir), /is a directory/);
    });

    it('rejects .nan in YAML as an invalid amount, naming the path', async () => {
      const yaml = await readFile(join(fixtures, 'krr', 'sample-report.yaml'), 'utf8');
      const path = join(dir, 'nan.yaml');
      await writeFile(path, yaml.replace('value: 0.087', 'value: .nan'));
      await assert.rejects(parseReportFile(path), /scans\[0\]\.recommended\.requests\.cpu\.value: expected a number/);
    });
  });

  it('parses 5,000 scans quickly (linear grouping)', async () => {
    const raw = await sampleJson();
    const template = raw.scans[2]!;
    raw.scans = Array.from({ length: 5000 }, (_, index) => {
      const scan = structuredClone(template);
      scan.object.name = `svc-${Math.floor(index / 2)}`;
      scan.object.container = `c-${index % 2}`;
      return scan;
    });
    const text = JSON.stringify(raw);
    const started = performance.now();
    const report = parseReport(text);
    const elapsed = performance.now() - started;
    assert.equal(report.workloads.length, 2500);
    assert.equal(report.containerCount, 5000);
    assert.ok(elapsed < 3000, `parsed in ${Math.round(elapsed)} ms`);
  });
});
