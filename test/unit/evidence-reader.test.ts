// The evidence reader against a hostile Prometheus double (a local HTTP server that answers too much, too slowly,
// wrongly, or redirects): bounded bytes, timeouts, cancellation, schema errors and refusals become a reason, never a
// hang, a crash or a number; and the credentials go only where the person configured them, never into a result or log.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import type { EvidenceResult } from '../../src/core/evidence/model';
import { prometheusResponseSchema } from '../../src/core/evidence/prometheusResponse';
import { readEvidence, type ReadEvidenceOptions } from '../../src/core/evidence/reader';
import { Session } from '../../src/core/session/session';
import { StateStore } from '../../src/core/session/store';
import { signedText } from '../../src/core/signedFile';
import { parseSessionSettings, type SessionSettings } from '../../src/core/settings';
import { strictInput } from '../../src/mcp/server';
import { krrExplain } from '../../src/mcp/tools/krrExplain';
import { krrReportJson, requestsOnly } from '../support/krr-report';
import { ScriptedHuman } from '../support/session-fixture';

interface Seen {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  closed: boolean;
}

/** A local server that records every request and answers as the test says. */
async function double(answer: (request: Seen, response: ServerResponse) => void): Promise<{ url: string; seen: Seen[]; server: Server; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const entry: Seen = { path: request.url ?? '', headers: request.headers, body, closed: false };
      seen.push(entry);
      response.on('close', () => (entry.closed = true));
      answer(entry, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prom`;
  return {
    url,
    seen,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const secret = 'Bearer evidence-secret-4b1d9e7a2c';
const end = new Date('2026-12-01T12:00:00Z');
const window = { end, historyHours: 336, stepSeconds: 75 };
const target = { cluster: 'prod', namespace: 'shop', kind: 'Deployment' as const, name: 'api', container: 'app' };

/** A well-formed answer for each of the five queries, the OOM kills' (the pod had an OOMKilled reason) and the memory peak's step, with NaN and +Inf where a double could put them. */
function wellFormed(request: Seen, response: ServerResponse): void {
  const query = new URLSearchParams(request.body).get('query') ?? '';
  const pod = { pod: 'api-7d9c6b8f5d-4xkqz', container: 'app' };
  const vector = (rows: Array<[Record<string, string>, string]>) => ({ status: 'success', data: { resultType: 'vector', result: rows.map(([metric, value]) => ({ metric, value: [end.getTime() / 1000, value] })) } });
  let body: unknown;
  if (query.includes('quantile_over_time')) body = vector([[{ ...pod, signal: 'p50' }, '0.1'], [{ ...pod, signal: 'p95' }, 'NaN'], [{ ...pod, signal: 'p99' }, '-Inf'], [{ ...pod, signal: 'max' }, '+Inf']]);
  else if (query.includes('count_over_time')) body = vector([[{ ...pod, signal: 'max' }, '134217728'], [{ ...pod, signal: 'points' }, '16128'], [{ ...pod, signal: 'first' }, String(end.getTime() / 1000 - 1209525)], [{ ...pod, signal: 'last' }, String(end.getTime() / 1000)]]);
  else if (query.includes('"oomSeen"')) body = vector([[{ ...pod, signal: 'restarts' }, '2'], [{ ...pod, signal: 'throttled' }, '10'], [{ ...pod, signal: 'periods' }, '0'], [{ ...pod, signal: 'oomSeen' }, '1']]);
  else if (query.includes('"oomKills"')) body = vector([[{ ...pod, signal: 'oomKills' }, '1']]);
  else if (query.includes('"target"')) body = vector([[{ target: '0' }, String(end.getTime() / 1000 - 150)]]);
  else if (query.includes('kube_pod_owner')) body = vector([[{ signal: 'pod', pod: pod.pod, owner_kind: 'ReplicaSet', owner_name: 'api-7d9c6b8f5d' }, '1'], [{ signal: 'replicaset', replicaset: 'api-7d9c6b8f5d', owner_kind: 'Deployment', owner_name: 'api' }, '1']]);
  else body = { status: 'success', data: { resultType: 'matrix', result: [{ metric: { ...pod, signal: 'memory' }, values: [[end.getTime() / 1000 - 6300, '100'], [end.getTime() / 1000, '134217728']] }, { metric: { ...pod, signal: 'cpu' }, values: [[end.getTime() / 1000, 'NaN']] }] } };
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function wellFormedJson(response: ServerResponse, body: unknown): void {
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** The PromQL of a request (its body is form-encoded: `(` arrives as %28). */
function queryOf(request: Seen): string {
  return new URLSearchParams(request.body).get('query') ?? '';
}

function reasonOf(result: EvidenceResult): string {
  assert.equal(result.status, 'unavailable', JSON.stringify(result).slice(0, 500));
  return result.status === 'unavailable' ? result.reason : '';
}

describe('evidence: the Prometheus answer schema', () => {
  it('reads vectors and matrices and keeps NaN, +Inf and -Inf as what they are, never numbers', () => {
    const answer = prometheusResponseSchema.parse({ status: 'success', data: { resultType: 'vector', result: [{ metric: { pod: 'a' }, value: [1764590400.123, 'NaN'] }, { metric: {}, value: [1, '+Inf'] }, { metric: {}, value: [1, '-Inf'] }, { metric: {}, value: [1, '1.5e+09'] }] } });
    assert.ok(answer.status === 'success' && answer.data.resultType === 'vector');
    assert.deepEqual(answer.data.result.map((row) => row.value[1]), ['NaN', '+Inf', '-Inf', 1.5e9]);
    const matrix = prometheusResponseSchema.parse({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { __name__: 'up' }, values: [[1, '0'], [2, '-0.25']] }] }, warnings: ['w'] });
    assert.ok(matrix.status === 'success' && matrix.data.resultType === 'matrix');
    assert.deepEqual(matrix.data.result[0]?.values, [[1, 0], [2, -0.25]]);
    const error = prometheusResponseSchema.parse({ status: 'error', errorType: 'bad_data', error: 'invalid parameter "query": 1:1: parse error' });
    assert.equal(error.status, 'error');
  });

  it('refuses what Prometheus never writes: numbers as values, hex, empty strings, a scalar result, a missing status', () => {
    for (const body of [
      { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, 5] }] } },
      { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, '0x10'] }] } },
      { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, ''] }] } },
      { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, 'Infinity'] }] } },
      { status: 'success', data: { resultType: 'scalar', result: [1, '1'] } },
      { data: { resultType: 'vector', result: [] } },
      { status: 'error' },
    ]) {
      assert.equal(prometheusResponseSchema.safeParse(body).success, false, JSON.stringify(body));
    }
  });
});

describe('evidence reader against a hostile Prometheus double', function () {
  this.timeout(20_000);
  const servers: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });
  async function start(answer: (request: Seen, response: ServerResponse) => void) {
    const server = await double(answer);
    servers.push(server);
    return server;
  }
  const read = (url: string, options: Partial<ReadEvidenceOptions> = {}) => readEvidence({ url, headers: { authorization: secret }, targets: [target], window, ...options });

  it('turns NaN and ±Inf into nulls, not numbers, and maps pods to their Deployment through the ReplicaSet', async () => {
    const server = await start(wellFormed);
    const result = await read(server.url);
    assert.equal(result.status, 'available', JSON.stringify(result));
    assert.ok(result.status === 'available');
    assert.equal(result.queries, 7, 'five, the OOM kills of the pod whose last termination was OOMKilled, and the step of its memory peak');
    // First the store's build (not a Prometheus 3 here: the CPU numbers come from PromQL), then the queries.
    assert.equal(server.seen[0]?.path, '/prom/api/v1/status/buildinfo');
    const queries = server.seen.slice(1);
    assert.equal(queries.length, 7);
    const asked = queries.map(queryOf);
    const oomQuery = asked.find((query) => query.includes('"oomKills"')) ?? '';
    assert.equal(asked.indexOf(oomQuery) >= 5, true, 'the OOM kills are asked after the events named the pod');
    assert.match(oomQuery, /pod=~"api-7d9c6b8f5d-4xkqz"/, 'for that pod only');
    const peakQuery = asked.find((query) => query.includes('"target"')) ?? '';
    assert.equal(asked.indexOf(peakQuery) >= 5, true, 'the peak is asked after the series found its bucket');
    // The bucket ending at the window's end held the peak: no shift, only that pod, compared with the value Prometheus gave.
    assert.match(peakQuery, /^label_replace\(min\(min_over_time\(timestamp\(max\(container_memory_working_set_bytes\{namespace="shop", pod=~"api-7d9c6b8f5d-4xkqz", container="app"\}\) by \(container, pod, job\) >= 134217728\)\[6300s:75s\]\)\), "target", "0", "", ""\)$/);
    assert.ok(queries.every((request) => request.path === '/prom/api/v1/query' || request.path === '/prom/api/v1/query_range'));
    const [evidence] = result.containers;
    assert.ok(evidence);
    assert.deepEqual(evidence.pods, ['api-7d9c6b8f5d-4xkqz']);
    assert.deepEqual({ p50: evidence.cpu.p50, p95: evidence.cpu.p95, p99: evidence.cpu.p99, max: evidence.cpu.max }, { p50: 0.1, p95: null, p99: null, max: null });
    assert.equal(evidence.cpu.throttledPercent, null, 'no CFS periods: no percentage (not a division by zero)');
    assert.deepEqual(evidence.cpu.series, []);
    assert.equal(evidence.memory.max, 134217728);
    assert.equal(evidence.memory.maxAt, new Date(end.getTime() - 150_000).toISOString(), 'the step the peak query named, not the bucket');
    assert.equal(evidence.restarts, 2);
    assert.equal(evidence.oomKills, 1);
    assert.equal(evidence.coverage.points, 16128);
    // One series with a point at every one of the window's 16,128 steps: there from its first step to its last, not asked.
    assert.deepEqual([evidence.coverage.first, evidence.coverage.last], [new Date(end.getTime() - 1_209_600_000 + 75_000).toISOString(), end.toISOString()]);
    assert.ok(!asked.some((query) => query.includes('"first"')), 'no query for the first and last sample');
    assertFiniteNumbers(result);
  });

  it("a peak's time is the step Prometheus names inside the bucket the series found it in, or none: a refused peak query, or a step outside that bucket, never the bucket's end", async () => {
    const cases: Array<[string, (request: Seen, response: ServerResponse) => boolean, string | null]> = [
      ['refused', (_request, response) => (wellFormedJson(response, { status: 'error', errorType: 'bad_data', error: 'parse error' }), true), null],
      ['after the bucket', (_request, response) => (wellFormedJson(response, { status: 'success', data: { resultType: 'vector', result: [{ metric: { target: '0' }, value: [0, String(end.getTime() / 1000 + 75)] }] } }), true), null],
      ['before the bucket', (_request, response) => (wellFormedJson(response, { status: 'success', data: { resultType: 'vector', result: [{ metric: { target: '0' }, value: [0, String(end.getTime() / 1000 - 6300)] }] } }), true), null],
      ['another target', (_request, response) => (wellFormedJson(response, { status: 'success', data: { resultType: 'vector', result: [{ metric: { target: '1' }, value: [0, String(end.getTime() / 1000)] }] } }), true), null],
      ['NaN', (_request, response) => (wellFormedJson(response, { status: 'success', data: { resultType: 'vector', result: [{ metric: { target: '0' }, value: [0, 'NaN'] }] } }), true), null],
      ['the bucket\'s first step', (_request, response) => (wellFormedJson(response, { status: 'success', data: { resultType: 'vector', result: [{ metric: { target: '0' }, value: [0, String(end.getTime() / 1000 - 6300 + 75)] }] } }), true), new Date(end.getTime() - 6_225_000).toISOString()],
    ];
    for (const [name, answerPeak, expected] of cases) {
      const server = await start((request, response) => (queryOf(request).includes('"target"') ? answerPeak(request, response) : wellFormed(request, response)));
      const result = await read(server.url);
      assert.ok(result.status === 'available', `${name}: ${JSON.stringify(result).slice(0, 300)}`);
      assert.equal(result.containers[0]?.memory.max, 134217728, name);
      assert.equal(result.containers[0]?.memory.maxAt, expected, name);
    }
    // Any other failure of the peak query is the read's failure, as for every query: one reason, no half-read evidence.
    const broken = await start((request, response) => (queryOf(request).includes('"target"') ? response.writeHead(500).end('oops') : wellFormed(request, response)));
    assert.match(reasonOf(await read(broken.url)), /answered HTTP 500 with something that is not JSON/);
  });

  it("asks the first and last sample of a container whose points are not one series at every step (two scrape jobs here), and sums krr's points", async () => {
    const pod = 'api-7d9c6b8f5d-4xkqz';
    const server = await start((request, response) => {
      const query = new URLSearchParams(request.body).get('query') ?? '';
      if (query.includes('"signal", "points"')) {
        // 8,064 + 8,064 = the window's 16,128 steps, from two jobs: the sum alone would pass for the whole window.
        const rows = ['kubelet', 'cadvisor'].map((job) => ({ metric: { pod, container: 'app', job, signal: 'points' }, value: [end.getTime() / 1000, '8064'] }));
        return wellFormedJson(response, { status: 'success', data: { resultType: 'vector', result: rows } });
      }
      if (query.includes('timestamp(')) {
        const at = (signal: string, seconds: number) => ({ metric: { pod, container: 'app', signal }, value: [end.getTime() / 1000, String(seconds)] });
        return wellFormedJson(response, { status: 'success', data: { resultType: 'vector', result: [at('first', end.getTime() / 1000 - 3600), at('last', end.getTime() / 1000 - 600)] } });
      }
      wellFormed(request, response);
    });
    const result = await read(server.url);
    assert.ok(result.status === 'available', JSON.stringify(result));
    const coverageQuery = server.seen.map(queryOf).find((query) => query.includes('"first"'));
    assert.ok(coverageQuery?.includes(`pod=~"${pod}"`), coverageQuery);
    assert.deepEqual(result.containers[0]?.coverage, { points: 16128, first: new Date(end.getTime() - 3_600_000).toISOString(), last: new Date(end.getTime() - 600_000).toISOString() });
  });

  it('abandons an answer that streams past the byte cap, and closes the connection', async () => {
    const server = await start((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"status":"success","data":{"resultType":"vector","result":[');
      const chunk = `${'{"metric":{"pod":"p","container":"c","signal":"max"},"value":[1,"1"]},'.repeat(1000)}`;
      const pump = () => {
        if (response.destroyed) return;
        while (response.write(chunk));
        response.once('drain', pump);
      };
      pump();
    });
    const started = Date.now();
    const reason = reasonOf(await read(server.url, { limits: { maxResponseBytes: 1024 * 1024 } }));
    assert.match(reason, /larger than 1 MiB \(namespace shop\)/);
    assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
    await waitFor(() => server.seen.every((request) => request.closed));
  });

  it('gives up on a Prometheus that never answers (timeout per query) and on a caller that cancels', async () => {
    const server = await start(() => undefined);
    const started = Date.now();
    assert.match(reasonOf(await read(server.url, { limits: { queryTimeoutMs: 300 } })), /did not answer within 0 s|did not answer within/);
    assert.ok(Date.now() - started < 3000);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const cancelledAt = Date.now();
    assert.match(reasonOf(await read(server.url, { signal: controller.signal })), /cancelled/);
    assert.ok(Date.now() - cancelledAt < 2000, 'the cancel is prompt');
    await waitFor(() => server.seen.every((request) => request.closed));
    // A body that stalls half way is cut by the same timeout.
    const half = await start((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"status":"success","data":');
    });
    assert.match(reasonOf(await read(half.url, { limits: { queryTimeoutMs: 300 } })), /did not answer within/);
  });

  it('words refusals, errors, malformed answers, unreachable servers and redirects as reasons without the secret', async () => {
    const cases: Array<[(request: Seen, response: ServerResponse) => void, RegExp]> = [
      [(_q, r) => r.writeHead(401).end('Unauthorized'), /^Prometheus refused the credentials \(HTTP 401\) at http:\/\/127\.0\.0\.1:\d+\/prom/],
      [(_q, r) => r.writeHead(403).end(), /refused the credentials \(HTTP 403\)/],
      [(_q, r) => r.writeHead(400, { 'content-type': 'application/json' }).end('{"status":"error","errorType":"bad_data","error":"parse error"}'), /refused the query \(bad_data: parse error; namespace shop\)/],
      [(_q, r) => r.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'), /not JSON .*\/api\/v1\/query/],
      [(_q, r) => r.writeHead(200).end('{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,5]}]}}'), /not Prometheus' API/],
      [(_q, r) => r.writeHead(302, { location: 'http://127.0.0.1:9/steal' }).end(), /redirects \(HTTP 302\)/],
    ];
    for (const [answer, expected] of cases) {
      const server = await start(answer);
      const result = await read(`${server.url.replace('http://', 'http://user:pw@')}?tenant=x`);
      const reason = reasonOf(result);
      assert.match(reason, expected);
      assert.ok(!JSON.stringify(result).includes('evidence-secret') && !reason.includes('pw') && !reason.includes('tenant'), reason);
    }
    const closed = await start(() => undefined);
    const port = new URL(closed.url).port;
    await closed.close();
    assert.match(reasonOf(await read(`http://127.0.0.1:${port}/`)), /^Prometheus at http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\): check krr\.prometheusUrl/);
  });

  it('does not follow a redirect: the header never reaches the place it points to', async () => {
    const elsewhere = await start(wellFormed);
    const redirecting = await start((_request, response) => response.writeHead(307, { location: `${elsewhere.url}/api/v1/query` }).end());
    reasonOf(await read(redirecting.url));
    assert.equal(elsewhere.seen.length, 0);
  });

  it('refuses a header with a line break before any request, without quoting it', async () => {
    const server = await start(wellFormed);
    const result = await readEvidence({ url: server.url, headers: { authorization: `${secret}\r\nX-Injected: 1` }, targets: [target], window });
    assert.match(reasonOf(result), /line break/);
    assert.ok(!JSON.stringify(result).includes('evidence-secret'));
    assert.equal(server.seen.length, 0);
  });

  it('refuses too many series in one answer', async () => {
    const server = await start((_request, response) => {
      const result = Array.from({ length: 50 }, (_, index) => ({ metric: { pod: `p${index}`, container: 'c', signal: 'max' }, value: [1, '1'] }));
      response.writeHead(200).end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
    });
    assert.match(reasonOf(await read(server.url, { limits: { maxSeries: 10 } })), /50 series for one query/);
  });

  it('counts the series before validating them (the schema would first copy every one of a million)', async () => {
    const server = await start((_request, response) => {
      // Series the schema would reject (a value that is not a pair): only a count taken before validation names the limit.
      const result = Array.from({ length: 50 }, (_, index) => ({ metric: { pod: `p${index}` }, value: 'not a sample' }));
      response.writeHead(200).end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
    });
    assert.match(reasonOf(await read(server.url, { limits: { maxSeries: 10 } })), /50 series for one query/);
  });
});

describe('evidence in the session: credential routing, one read per report, kept beside it', function () {
  this.timeout(30_000);
  let directory: string;
  let servers: Array<{ close(): Promise<void> }> = [];
  beforeEach(() => {
    directory = mkdtempSync(path.join(tmpdir(), 'krr-evidence-'));
  });
  afterEach(async () => {
    for (const server of servers) await server.close();
    servers = [];
    rmSync(directory, { recursive: true, force: true });
  });

  function session(settings: Record<string, unknown>, logs: string[], stateDir = path.join(directory, 'state')): Session {
    const parsed: SessionSettings = parseSessionSettings({ krrPath: '/nonexistent/krr', ...settings });
    return new Session({ settings: () => parsed, approver: new ScriptedHuman(), stateDir, log: (line) => logs.push(line), secrets: { prometheusAuthHeader: async () => secret } });
  }

  async function loaded(s: Session): Promise<string> {
    const file = path.join(directory, 'report.json');
    writeFileSync(file, krrReportJson([{ namespace: 'shop', kind: 'Deployment', name: 'api', containers: { app: { current: requestsOnly(0.5, 512 * 1024 * 1024), recommended: requestsOnly(0.1, 256 * 1024 * 1024) } } }], { cluster: 'prod' }));
    return (await s.loadReport(file, { type: 'human', via: 'test' })).reportId;
  }

  it("evidence stored before the peaks had their step (its maxAt was a bucket's end) is not shown: it is read again", async () => {
    const server = await double(wellFormed);
    servers.push(server);
    const result = await readEvidence({ url: server.url, headers: { authorization: secret }, targets: [target], window });
    assert.ok(result.status === 'available');
    const key = randomBytes(32);
    const logs: string[] = [];
    const store = new StateStore({ stateDir: directory, key: async () => key, limits: { reports: 5, reportBytes: 1e7, plans: 5, planBytes: 1e7, reportTtlMs: 3_600_000 }, now: () => new Date(), log: (line) => logs.push(line) });
    const record = { reportId: 'report-0123456789ab', savedAt: new Date().toISOString(), readAt: result.readAt, queries: result.queries, namespaces: ['shop'], containers: result.containers };
    assert.equal(await store.saveEvidence(record), true);
    assert.deepEqual((await store.readEvidence(record.reportId))?.containers, result.containers);
    // The same file as an earlier version wrote it (no `peakTimes`), signed with the same key: a valid file, not shown.
    const file = path.join(directory, 'evidence', `${record.reportId}.json`);
    const body = JSON.parse(readFileSync(file, 'utf8').split('\n')[1] ?? '') as Record<string, unknown>;
    assert.equal(body.peakTimes, 'step');
    delete body.peakTimes;
    writeFileSync(file, signedText('krr-mcp-state/1', key, JSON.stringify(body)));
    assert.equal(await store.readEvidence(record.reportId), undefined);
    assert.deepEqual(logs, [], 'not reported as an untrusted file: it is only an older one');
  });

  it('without krr.prometheusUrl there is no evidence, and says so; nothing is asked of anyone', async () => {
    const server = await double(wellFormed);
    servers.push(server);
    const logs: string[] = [];
    const s = session({}, logs);
    const reportId = await loaded(s);
    const result = await s.evidenceFor(reportId);
    assert.match(reasonOf(result), /no Prometheus URL is configured \(krr\.prometheusUrl\)/);
    assert.equal(server.seen.length, 0);
  });

  it('sends the header and krr.prometheusHeaders to the configured URL only, keeps them out of results, logs and files; reads once', async () => {
    const server = await double(wellFormed);
    servers.push(server);
    const logs: string[] = [];
    const s = session({ prometheusUrl: server.url, prometheusHeaders: ['X-Scope-OrgID: tenant-1'] }, logs);
    const reportId = await loaded(s);
    const result = await s.evidenceFor(reportId);
    assert.equal(result.status, 'available', JSON.stringify(result));
    assert.equal(server.seen.length, 8, "the store's build, five queries, the OOM kills of the pod the events named and the step of its memory peak");
    for (const request of server.seen) {
      assert.equal(request.headers.authorization, secret);
      assert.equal(request.headers['x-scope-orgid'], 'tenant-1');
    }
    // Cached with the report: the panel, the list and the approval reuse it.
    assert.deepEqual(await s.evidenceFor(reportId, [target]), { ...result, containers: result.status === 'available' ? result.containers : [] });
    assert.equal(server.seen.length, 8, 'no new query');
    // Another process (or a reload) finds it beside the report.
    const otherLogs: string[] = [];
    const other = session({ prometheusUrl: server.url }, otherLogs);
    const again = await other.evidenceFor(reportId);
    assert.equal(again.status, 'available');
    assert.equal(server.seen.length, 8, 'no new query');
    assert.equal((await other.cachedEvidence(reportId, [target])).length, 1);
    const stateFiles = readdirSync(path.join(directory, 'state'), { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
    assert.ok(stateFiles.some((entry) => entry.parentPath.endsWith('evidence')));
    for (const entry of stateFiles) assert.ok(!readFileSync(path.join(entry.parentPath, entry.name), 'utf8').includes('evidence-secret'), entry.name);
    for (const line of [...logs, ...otherLogs]) assert.ok(!line.includes('evidence-secret'), line);
    assert.ok(!JSON.stringify(result).includes('evidence-secret'));
  });

  it('remembers a failed read a minute instead of asking a down Prometheus again', async () => {
    const server = await double((_request, response) => response.writeHead(503).end('{"status":"error","errorType":"unavailable","error":"overloaded"}'));
    servers.push(server);
    const s = session({ prometheusUrl: server.url }, []);
    const reportId = await loaded(s);
    assert.match(reasonOf(await s.evidenceFor(reportId)), /overloaded/);
    const asked = server.seen.length;
    assert.match(reasonOf(await s.evidenceFor(reportId)), /overloaded/);
    assert.equal(server.seen.length, asked);
  });

  it('krr_explain takes no URL: the model cannot point the evidence (and the header) elsewhere', () => {
    const schema = strictInput(krrExplain) as z.ZodType;
    const base = { reportId: 'report-0123456789ab', namespace: 'shop', kind: 'Deployment', name: 'api' };
    assert.equal(schema.safeParse(base).success, true);
    assert.equal(schema.safeParse({ ...base, prometheusUrl: 'http://attacker.example' }).success, false);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Every number in a result is finite: NaN and ±Inf never leave the reader as numbers (JSON would turn them into null silently). */
function assertFiniteNumbers(value: unknown, where = 'result'): void {
  if (typeof value === 'number') assert.ok(Number.isFinite(value), `${where} is ${value}`);
  else if (typeof value === 'string') assert.ok(!['NaN', '+Inf', '-Inf'].includes(value), `${where} is ${value}`);
  else if (Array.isArray(value)) value.forEach((item, index) => assertFiniteNumbers(item, `${where}[${index}]`));
  else if (value && typeof value === 'object') for (const [key, item] of Object.entries(value)) assertFiniteNumbers(item, `${where}.${key}`);
}
