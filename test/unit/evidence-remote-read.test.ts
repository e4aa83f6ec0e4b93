// The CPU numbers from the counter's samples: Prometheus' remote read answer (a fixture a real Prometheus 3.16.0 sent
// for two pods of the bench's world), its XOR chunks, krr's rate and quantiles computed from them, and the reader's
// fallback to PromQL wherever they cannot be used. That the numbers equal PromQL's to the last bit is tested against a
// real Prometheus (evidence-prometheus.test.ts); this file holds the protocol, the hostile answers and the arithmetic.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { cpuAnswersFromSamples, type SampleSeries } from '../../src/core/evidence/cpuFromSamples';
import { memoryAnswersFromSamples } from '../../src/core/evidence/memoryFromSamples';
import { windowSteps } from '../../src/core/evidence/queries';
import { prometheusDurationMs, readEvidence } from '../../src/core/evidence/reader';
import { crc32c, parseStreamedResponse, readRequestBody, RemoteReadError, streamedContentType } from '../../src/core/evidence/remoteRead';
import { ChunkError, chunkSampleCount, decodeXorChunk, type DecodedSamples } from '../../src/core/evidence/xorChunk';
import { floatBits, frame, staleNaN, twoSampleChunk } from '../support/remote-read';

const fixture = readFileSync(path.join(__dirname, '../fixtures/remote-read/cpu-two-pods-1h.bin'));

function samples(size = 16): DecodedSamples {
  return { times: new Float64Array(size), values: new Float64Array(size), length: 0, lastTime: -Infinity, keepStale: false, nonFinite: false };
}

describe('evidence: the CPU counter read as samples (remote read)', () => {
  it('reads the streamed answer a real Prometheus 3.16.0 sent: two series, their labels, a sample every 30 s rising at the rate the world was generated with', () => {
    const series = parseStreamedResponse(fixture, 100);
    assert.deepEqual(series.map((one) => [one.labels.__name__, one.labels.namespace, one.labels.container, one.labels.pod?.replace(/-[^-]+-[^-]+$/, '')]), [
      ['container_cpu_usage_seconds_total', 'team-000', 'app', 'svc-0'],
      ['container_cpu_usage_seconds_total', 'team-000', 'app', 'svc-1'],
    ]);
    for (const [index, one] of series.entries()) {
      assert.ok(one.chunks.every((chunk) => chunk.encoding === 1));
      const out = samples(one.chunks.reduce((total, chunk) => total + ((chunk.data[0] as number) << 8) + (chunk.data[1] as number), 0));
      for (const chunk of one.chunks) decodeXorChunk(chunk.data, out);
      assert.ok(out.length >= 120, `${out.length} samples`);
      for (let at = 1; at < out.length; at++) {
        assert.equal((out.times[at] as number) - (out.times[at - 1] as number), 30_000);
        const rate = ((out.values[at] as number) - (out.values[at - 1] as number)) / 30;
        // svc-0 is steady at 125m; svc-1 diurnal around 250m (± half).
        if (index === 0) assert.ok(Math.abs(rate - 0.125) < 1e-9, `steady rate ${rate}`);
        else assert.ok(rate > 0.124 && rate < 0.376, `diurnal rate ${rate}`);
      }
    }
  });

  it('writes a remote read request Prometheus reads: a snappy literal around the protobuf, matchers and the range in it', () => {
    const body = readRequestBody([{ type: 'equal', name: 'namespace', value: 'shop' }], 1000, 2000);
    // Snappy: the length, then tag 61 (a literal with a two-byte length − 1), then the bytes.
    assert.equal(body[0], body.length - 4);
    assert.deepEqual([body[1], body[2], body[3]], [61 << 2, body.length - 5, 0]);
    const protobuf = Buffer.from(body.subarray(4));
    assert.ok(protobuf.includes(Buffer.from('namespace')) && protobuf.includes(Buffer.from('shop')));
    assert.equal(protobuf.at(-1), 1, 'STREAMED_XOR_CHUNKS');
  });

  it('decodes a chunk written by hand per xor.go, and drops a staleness marker as PromQL does, keeping its time', () => {
    const one = samples();
    decodeXorChunk(twoSampleChunk(1_000, floatBits(1), 30_000, floatBits(2)), one);
    assert.deepEqual([...one.times.subarray(0, one.length)], [1_000, 31_000]);
    assert.deepEqual([...one.values.subarray(0, one.length)], [1, 2]);
    const stale = samples();
    decodeXorChunk(twoSampleChunk(1_000, floatBits(1), 30_000, staleNaN), stale);
    assert.equal(stale.length, 1);
    assert.equal(stale.lastTime, 31_000);
    const same = samples();
    decodeXorChunk(twoSampleChunk(5_000, floatBits(0.25), 15_000, floatBits(0.25)), same);
    assert.deepEqual([...same.values.subarray(0, same.length)], [0.25, 0.25]);
  });

  it('refuses a chunk cut short, one that overlaps what came before, and one with more samples than it says', () => {
    const chunk = twoSampleChunk(1_000, floatBits(1), 30_000, floatBits(2));
    assert.throws(() => decodeXorChunk(chunk.subarray(0, chunk.length - 3), samples()), ChunkError);
    const out = samples();
    decodeXorChunk(chunk, out);
    assert.throws(() => decodeXorChunk(chunk, out), /times do not rise/);
    assert.throws(() => decodeXorChunk(chunk, samples(1)), /more samples than there is room for/);
    assert.throws(() => decodeXorChunk(new Uint8Array([0]), samples()), /shorter than its header/);
    // 65,535 samples claimed in five bytes: refused before any array is sized by the claim.
    assert.throws(() => chunkSampleCount(new Uint8Array([0xff, 0xff, 0, 0, 0])), /claims more samples than its bytes can hold/);
    assert.equal(chunkSampleCount(chunk), 2);
  });

  it("checks each frame with CRC-32C (RFC 3720's known answers)", () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
    assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  });

  it('refuses a frame whose checksum does not match, an answer cut short, a field longer than its frame, more series than allowed', () => {
    const good = frame({ pod: 'a', container: 'app' }, [twoSampleChunk(1_000, floatBits(1), 30_000, floatBits(2))]);
    assert.equal(parseStreamedResponse(good, 10).length, 1);
    assert.throws(() => parseStreamedResponse(frame({ pod: 'a' }, [], true), 10), /checksum does not match/);
    assert.throws(() => parseStreamedResponse(good.subarray(0, good.length - 1), 10), /cut short/);
    assert.throws(() => parseStreamedResponse(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0]), 10), RemoteReadError);
    const lying = Buffer.from(good);
    lying[6] = 0x7f; // the series field's length, past the frame (the checksum is then wrong as well)
    assert.throws(() => parseStreamedResponse(lying, 10), RemoteReadError);
    const two = Buffer.concat([good, frame({ pod: 'b', container: 'app' }, [])]);
    assert.equal(parseStreamedResponse(two, 2).length, 2);
    assert.throws(() => parseStreamedResponse(two, 1), /more than 1 series/);
    // One series split over two frames (Prometheus splits past its frame size) is one series again.
    const split = Buffer.concat([good, frame({ pod: 'a', container: 'app' }, [twoSampleChunk(61_000, floatBits(3), 30_000, floatBits(4))])]);
    const joined = parseStreamedResponse(split, 10);
    assert.equal(joined.length, 1);
    assert.equal(joined[0]?.chunks.length, 2);
  });
});

describe("evidence: krr's CPU numbers computed from samples", () => {
  const end = new Date('2026-12-01T12:00:00Z');
  const endMs = end.getTime();
  const window = { end, historyHours: 1, stepSeconds: 75 };
  /** A counter sampled every 30 s over the hour before `end` (and a step before it), by a function of time. */
  const counter = (labels: Record<string, string>, value: (t: number) => number): SampleSeries => {
    const times: number[] = [];
    for (let t = endMs - 3_600_000 - 75_000; t <= endMs; t += 30_000) times.push(t);
    const values = Float64Array.from(times.map(value));
    return { labels, times: Float64Array.from(times), values, nonFinite: values.some((sample) => !Number.isFinite(sample)) };
  };
  const valueOf = (answers: NonNullable<Awaited<ReturnType<typeof cpuAnswersFromSamples>>>, pod: string, signal: string) => answers.cpu.find((row) => row.metric.pod === pod && row.metric.signal === signal)?.value?.[1];

  it('a steady counter: every percentile is its rate, and the chart holds it in every bucket', async () => {
    const answers = await cpuAnswersFromSamples([counter({ pod: 'a', container: 'app' }, (t) => (0.5 * (t - endMs + 4_000_000)) / 1000)], window);
    assert.ok(answers);
    for (const signal of ['p50', 'p95', 'p99']) assert.equal(valueOf(answers, 'a', signal), 0.5, signal);
    const [chart] = answers.series;
    assert.ok(chart?.values && chart.values.length === 48, `${chart?.values?.length} buckets of one step (48 steps in an hour)`);
    assert.ok(chart.values.every(([, value]) => value === 0.5));
    assert.equal(chart.values.at(-1)?.[0], endMs / 1000);
  });

  it('a counter reset is counted as PromQL counts it (the value before the reset is added)', async () => {
    const resetAt = endMs - 1_800_000;
    const answers = await cpuAnswersFromSamples([counter({ pod: 'a', container: 'app' }, (t) => (t < resetAt ? 1000 + (t - endMs + 4_000_000) / 1000 : (t - resetAt) / 1000))], window);
    assert.ok(answers);
    // One core throughout: a window holding the reset still reads 1 (the 1000 s offset does not become a spike).
    assert.ok(answers.series[0]?.values?.every(([, value]) => Math.abs(value - 1) < 1e-9), JSON.stringify(answers.series[0]?.values?.slice(20, 28)));
  });

  it('two series of one (container, pod, job) count as their max; two jobs of one pod as the higher of their quantiles', async () => {
    const answers = await cpuAnswersFromSamples(
      [
        counter({ pod: 'a', container: 'app', id: '1' }, (t) => (0.25 * t) / 1000),
        counter({ pod: 'a', container: 'app', id: '2' }, (t) => (0.75 * t) / 1000),
        counter({ pod: 'b', container: 'app', job: 'kubelet' }, (t) => (0.5 * t) / 1000),
        counter({ pod: 'b', container: 'app', job: 'cadvisor' }, (t) => (2 * t) / 1000),
      ],
      window,
    );
    assert.ok(answers);
    assert.ok(Math.abs((valueOf(answers, 'a', 'p95') as number) - 0.75) < 1e-12);
    assert.ok(Math.abs((valueOf(answers, 'b', 'p50') as number) - 2) < 1e-12);
    assert.equal(answers.cpu.length, 6, 'three quantiles for each of the two pods');
  });

  it('a NaN or infinite sample: not computed here (PromQL treats them apart; the reader asks it)', async () => {
    for (const odd of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const series = counter({ pod: 'a', container: 'app' }, (t) => t / 1000);
      series.values[series.values.length - 2] = odd;
      series.nonFinite = true;
      assert.equal(await cpuAnswersFromSamples([series], window), null, String(odd));
    }
  });

  it('a series with one sample per window has no rate: no numbers rather than made-up ones', async () => {
    const sparse: SampleSeries = { labels: { pod: 'a', container: 'app' }, times: Float64Array.from([endMs - 600_000, endMs - 300_000, endMs]), values: Float64Array.from([1, 2, 3]), nonFinite: false };
    assert.deepEqual(await cpuAnswersFromSamples([sparse], window), { cpu: [], series: [] });
  });
});

describe("evidence: the memory numbers computed from samples (Prometheus 3's instant selector)", () => {
  const end = new Date('2026-12-01T12:00:00Z');
  const endMs = end.getTime();
  const window = { end, historyHours: 1, stepSeconds: 75 };
  const lookbackMs = 300_000;
  const steps = windowSteps(window);
  const gauge = (labels: Record<string, string>, samples: Array<[number, number]>): SampleSeries => ({ labels, times: Float64Array.from(samples.map(([t]) => t)), values: Float64Array.from(samples.map(([, v]) => v)), nonFinite: false });

  it('a step sees the latest sample newer than the lookback; a staleness marker or a sample exactly lookback old is no value; points, first, last and the peak follow', async () => {
    const t = (step: number) => steps.firstMs + step * 75_000;
    // A sample at each of steps 0–19 (100, and 500 at step 10), a staleness marker 1 ms before step 20, one sample at
    // step 26 (300 s before step 30) and one at step 40.
    const one = gauge({ pod: 'a', container: 'app', job: 'kubelet' }, [
      ...Array.from({ length: 20 }, (_, step): [number, number] => [t(step), step === 10 ? 500 : 100]),
      [t(20) - 1, Number.NaN],
      [t(26), 300],
      [t(40), 150],
    ]);
    const answers = await memoryAnswersFromSamples([one], window, lookbackMs);
    assert.ok(answers);
    // Steps 0–19; none from the marker until step 26; 26–29 (at step 30 the sample is exactly lookback old: out);
    // 40–43 (at step 44 the same): 20 + 4 + 4.
    assert.equal(steps.count, 48);
    assert.deepEqual(answers.memory, [{ metric: { pod: 'a', container: 'app', signal: 'points', job: 'kubelet' }, value: [endMs / 1000, 28] }]);
    assert.deepEqual(answers.coverage.map((row) => [row.metric.signal, row.value?.[1]]), [['first', t(0) / 1000], ['last', t(43) / 1000]]);
    assert.deepEqual(answers.peaks, [{ pod: 'a', container: 'app', max: 500, firstAt: t(10) / 1000 }]);
    // One bucket per step (48 steps in an hour): the chart holds the value of every step that has one.
    const chart = answers.series[0]?.values ?? [];
    assert.equal(chart.length, 28);
    const at = (step: number) => chart.find(([time]) => time === t(step) / 1000)?.[1];
    assert.deepEqual([at(9), at(10), at(11), at(19)], [100, 500, 100, 100]);
    assert.equal(at(20), undefined, 'the staleness marker ends the series (without it step 20 would see step 19, 75 s old)');
    assert.deepEqual([at(26), at(29), at(30)], [300, 300, undefined], 'a sample exactly lookback old is out (Prometheus 3)');
  });

  it('two jobs of one pod: points per job (krr sums them), the chart and the peak over both; a NaN sample: not computed here', async () => {
    const t = (step: number) => steps.firstMs + step * 75_000;
    const answers = await memoryAnswersFromSamples([gauge({ pod: 'a', container: 'app', job: 'one' }, [[t(0), 10], [t(4), 10]]), gauge({ pod: 'a', container: 'app', job: 'two' }, [[t(2), 30]])], window, lookbackMs);
    assert.ok(answers);
    assert.deepEqual(answers.memory.map((row) => [row.metric.job, row.value?.[1]]), [['one', 8], ['two', 4]]);
    assert.deepEqual(answers.peaks, [{ pod: 'a', container: 'app', max: 30, firstAt: t(2) / 1000 }]);
    assert.equal(await memoryAnswersFromSamples([{ ...gauge({ pod: 'a', container: 'app' }, [[t(0), 1]]), nonFinite: true }], window, lookbackMs), null);
  });

  it("reads the store's lookback delta as Prometheus writes durations", () => {
    assert.deepEqual(['5m', '1m30s', '500ms', '1h', '2d', '0s', '', '5x', '-5m', '1.5m'].map(prometheusDurationMs), [300_000, 90_000, 500, 3_600_000, 172_800_000, null, null, null, null, null]);
  });
});

describe('evidence: the reader falls back to PromQL wherever the samples cannot be used', function () {
  this.timeout(20_000);
  const end = new Date('2026-12-01T12:00:00Z');
  const window = { end, historyHours: 336, stepSeconds: 75 };
  const targets = ['shop', 'web'].map((namespace) => ({ cluster: null, namespace, kind: 'Deployment' as const, name: 'api', container: 'app' }));

  async function prometheus3(read: (response: ServerResponse) => void): Promise<{ url: string; paths: string[]; close(): Promise<void> }> {
    const paths: string[] = [];
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const where = request.url ?? '';
        paths.push(where);
        if (where.endsWith('/status/buildinfo')) return response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":{"version":"3.16.0","revision":"x"}}');
        if (where.endsWith('/status/flags')) return response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":{"query.lookback-delta":"5m","web.listen-address":":9090"}}');
        if (where.endsWith('/read')) return read(response);
        const result = where.endsWith('/query_range') ? { resultType: 'matrix', result: [] } : { resultType: 'vector', result: [] };
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: result }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      paths,
      close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
    };
  }
  const cpuQueriesAsked = (paths: string[]) => paths.filter((where) => where.endsWith('/query')).length;

  const cases: Array<[string, (response: ServerResponse) => void, 'store' | 'namespace']> = [
    ['remote read not there (404)', (response) => response.writeHead(404).end('not found'), 'store'],
    ['JSON instead of a stream', (response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'), 'store'],
    ['a frame whose checksum does not match', (response) => response.writeHead(200, { 'content-type': streamedContentType }).end(frame({ pod: 'api-1', container: 'app' }, [], true)), 'store'],
    ['a NaN sample', (response) => response.writeHead(200, { 'content-type': streamedContentType }).end(frame({ pod: 'api-1', container: 'app' }, [twoSampleChunk(end.getTime() - 30_000, floatBits(1), 30_000, floatBits(Number.NaN))])), 'namespace'],
    ['a chunk cut short', (response) => response.writeHead(200, { 'content-type': streamedContentType }).end(frame({ pod: 'api-1', container: 'app' }, [twoSampleChunk(end.getTime() - 30_000, floatBits(1), 30_000, floatBits(2)).subarray(0, 12)])), 'namespace'],
  ];
  for (const [name, read, scope] of cases) {
    it(`${name}: the CPU and memory numbers are asked of PromQL${scope === 'store' ? ', and the next namespace does not try the samples again' : ' for that namespace only'}`, async () => {
      const server = await prometheus3(read);
      try {
        const result = await readEvidence({ url: server.url, targets, window, limits: { namespaceConcurrency: 1 } });
        assert.equal(result.status, 'available', JSON.stringify(result));
        // The CPU counter and the working set, read together for the first namespace (and for the second where only that namespace's samples failed).
        const reads = server.paths.filter((where) => where.endsWith('/read')).length;
        assert.equal(reads, scope === 'store' ? 2 : 4);
        // Per namespace: the events, the owners, and the CPU and memory queries after the failed reads (or from the start).
        assert.equal(cpuQueriesAsked(server.paths), 8);
        assert.equal(server.paths.filter((where) => where.endsWith('/query_range')).length, scope === 'store' ? 3 : 4, 'the CPU and memory series: two ranges after the failed reads, one with both from the start');
      } finally {
        await server.close();
      }
    });
  }

  it('the remote read refused (403: a proxy that lets only queries through): PromQL answers instead; credentials refused everywhere: the same reason as for a query', async () => {
    const server = await prometheus3((response) => response.writeHead(403).end());
    try {
      const result = await readEvidence({ url: server.url, targets, window, limits: { namespaceConcurrency: 1 } });
      assert.equal(result.status, 'available', JSON.stringify(result));
      assert.equal(server.paths.filter((where) => where.endsWith('/read')).length, 2);
      assert.equal(cpuQueriesAsked(server.paths), 8);
    } finally {
      await server.close();
    }
    const refusing = createServer((request, response) => {
      request.resume();
      request.on('end', () => (request.url?.endsWith('/status/buildinfo') ? response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":{"version":"3.16.0"}}') : response.writeHead(401).end()));
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    try {
      const result = await readEvidence({ url: `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`, targets, window });
      assert.ok(result.status === 'unavailable');
      assert.match(result.reason, /^Prometheus refused the credentials \(HTTP 401\)/);
    } finally {
      await new Promise<void>((resolve) => (refusing.closeAllConnections(), refusing.close(() => resolve())));
    }
  });
});
