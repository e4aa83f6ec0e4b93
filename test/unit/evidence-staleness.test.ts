// Staleness, from a real Prometheus' own scrapes: a pod whose series leave the scraped page gets staleness markers
// (Prometheus writes them itself; a backfilled history has none), which PromQL's range selection skips and its instant
// selection stops at. The evidence read from the raw samples (remote read, from the head block here) must equal the
// PromQL read exactly across them: CPU statistics and series, krr's points, the memory chart, first and last samples.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EvidenceTarget } from '../../src/core/evidence/model';
import { readEvidence } from '../../src/core/evidence/reader';
import { startPrometheus, type MetricsStore } from '../support/prometheus';

const MiB = 1024 * 1024;

describe('evidence across staleness markers a real Prometheus wrote from its own scrapes', function () {
  this.timeout(120_000);
  let prometheus: MetricsStore;
  let page: Server;
  let end: Date;
  const started = Date.now();
  let goneAt = 0;
  // Two workloads' pods: `api`'s pod leaves the page after a while (its series go stale), `web`'s stays.
  const pods = [
    { pod: 'api-5d8c7b9f4-abcde', cores: 0.5, memory: 100 * MiB },
    { pod: 'web-6f9d8c7b5-fghij', cores: 0.25, memory: 50 * MiB },
  ];

  before(async () => {
    page = createServer((_request, response) => {
      const seconds = (Date.now() - started) / 1000;
      const lines = pods
        .filter((pod) => goneAt === 0 || !pod.pod.startsWith('api-'))
        .flatMap(({ pod, cores, memory }) => [
          `container_cpu_usage_seconds_total{namespace="live",pod="${pod}",container="app"} ${cores * seconds}`,
          // The working set rises 1 MiB a second, so that its peak is the newest value.
          `container_memory_working_set_bytes{namespace="live",pod="${pod}",container="app"} ${memory + Math.floor(seconds) * MiB}`,
        ]);
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`${lines.join('\n')}\n`);
    });
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    prometheus = await startPrometheus({ scrape: [{ job: 'kubelet', url: `http://127.0.0.1:${(page.address() as AddressInfo).port}/metrics` }], scrapeIntervalSeconds: 1 });
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    goneAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    // A window that ends before the newest scrape (no sample can still arrive inside it between the two reads).
    end = new Date(Date.now() - 3000);
  });

  after(async () => {
    await prometheus?.close();
    await new Promise<void>((resolve) => (page ? page.close(() => resolve()) : resolve()));
  });

  it('reads the same evidence both ways; the gone pod stops at its markers, not five minutes of look-back later', async () => {
    const targets: EvidenceTarget[] = ['api', 'web'].map((name) => ({ cluster: null, namespace: 'live', kind: 'Deployment', name, container: 'app' }));
    // 2-second steps over the last 30 s: a rate over 2 s sees two or three 1-second scrapes.
    const window = { end, historyHours: 30 / 3600, stepSeconds: 2 };
    const headers = { authorization: prometheus.authHeader };
    const fromSamples = await readEvidence({ url: prometheus.url, headers, targets, window });
    const fromPromql = await readEvidence({ url: prometheus.url, headers, targets, window, rawSamples: false });
    assert.ok(fromSamples.status === 'available' && fromPromql.status === 'available', JSON.stringify([fromSamples, fromPromql]).slice(0, 500));
    assert.equal(fromSamples.queries, 4, 'the events, the owners and two remote reads: the samples were used');
    assert.deepEqual(fromSamples.containers, fromPromql.containers);

    const [api, web] = fromSamples.containers;
    assert.ok(api && web);
    // The gone pod's last step is within a scrape or two of when it left the page; without the markers Prometheus
    // would see its last sample for five more minutes, to the window's end.
    const apiLast = Date.parse(api.coverage.last ?? '');
    assert.ok(apiLast < goneAt + 4000 && apiLast < Date.parse(web.coverage.last ?? ''), `${api.coverage.last} vs left at ${new Date(goneAt).toISOString()}`);
    assert.ok(api.coverage.points < web.coverage.points, `${api.coverage.points} < ${web.coverage.points}`);
    for (const [evidence, cores] of [
      [api, 0.5],
      [web, 0.25],
    ] as const) {
      assert.ok(evidence.cpu.p50 !== null && Math.abs(evidence.cpu.p50 - cores) < 0.1, `${evidence.name} p50 ${evidence.cpu.p50}`);
      assert.ok(evidence.memory.max !== null && evidence.memory.maxAt !== null);
    }
  });
});
