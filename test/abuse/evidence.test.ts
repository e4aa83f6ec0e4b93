// A hostile Prometheus behind krr.prometheusUrl: the evidence reader (krr_explain, the list, a proposal) must end each
// answer within its bound with a reason a person can act on — never hang the server, never crash it, never send the
// auth header anywhere but the configured URL (nor show it in a result, a log or the state directory), and never
// invent a number from NaN or ±Inf. A real Prometheus cannot be made to answer like this: a local HTTP server does.
// Figures: resource_exhaustion_cases and hangs (each case against its bound), crashes (a call that failed outside the
// tool's own error result, or a server that stopped answering), secret_leak_attempts / secrets_leaked.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { evidenceLimits } from '../../src/core/evidence/reader';
import { streamedContentType } from '../../src/core/evidence/remoteRead';
import { startHttpHost, type HttpHost } from '../../src/mcp/http';
import { floatBits, frame, twoSampleChunk } from '../support/remote-read';
import { startSessionFixture, type SessionFixture } from '../support/session-fixture';
import { startTestCluster, type TestCluster } from '../support/test-cluster';
import { count } from './figures';
import { connectHttp, frontend, startStdio, textOf, type StdioServer } from './harness';

const secret = `Bearer hostile${randomBytes(12).toString('hex')}`;
/** The per-query timeout the session is given here (the product's default is 60 s: the same code path, shorter). */
const queryTimeoutMs = 2000;
/** Over this, a case is a hang: the query timeout, plus reading and parsing what the bounds let in (64 MiB, a million series). */
const caseBoundMs = 15_000;

type Handler = (query: { name: string; body: string }, response: ServerResponse) => void;

interface Hostile {
  url: string;
  handler: Handler;
  requests: Array<{ path: string; authorization: string | undefined }>;
  /** Bytes the server wrote into answer bodies, per case (reset by the test), and the most into one answer. */
  written: number;
  largest: number;
  close(): Promise<void>;
}

/** Which of the reader's queries a request is (queries.ts tags each branch with its signal). */
function queryName(url: string, body: string): string {
  if (url.endsWith('/query_range')) return 'series';
  if (url.endsWith('/status/buildinfo')) return 'buildinfo';
  if (url.endsWith('/status/flags')) return 'flags';
  if (url.endsWith('/read')) return 'read';
  const query = new URLSearchParams(body).get('query') ?? '';
  if (query.includes('"target", ')) return 'peaks';
  const first = /"signal", "(\w+)"/.exec(query)?.[1] ?? '';
  return { p50: 'cpu', points: 'memory', throttled: 'events', pod: 'owners', oomKills: 'oomKills', first: 'coverage' }[first] ?? 'unknown';
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function startHostile(): Promise<Hostile> {
  const sockets = new Set<import('node:net').Socket>();
  const hostile: Hostile = {
    url: '',
    handler: (_query, response) => response.end(),
    requests: [],
    written: 0,
    largest: 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((request, response) => {
    hostile.requests.push({ path: request.url ?? '', authorization: request.headers.authorization });
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      hostile.handler({ name: queryName(request.url ?? '', body), body }, response);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  hostile.url = await listen(server);
  return hostile;
}

const vector = (result: unknown[]) => JSON.stringify({ status: 'success', data: { resultType: 'vector', result } });
const matrix = (result: unknown[]) => JSON.stringify({ status: 'success', data: { resultType: 'matrix', result } });
const json = (response: ServerResponse, text: string, status = 200) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(text);
};

/** Writes `chunk` as fast as the client reads until it hangs up (or `limit` bytes), counting what went out. */
function pour(hostile: Hostile, response: ServerResponse, head: string, chunk: string, limit: number, contentType = 'application/json'): void {
  response.writeHead(200, { 'content-type': contentType });
  let sent = 0;
  let open = true;
  response.on('close', () => {
    open = false;
  });
  const buffer = Buffer.from(chunk);
  const write = () => {
    while (open && sent < limit) {
      sent += buffer.length;
      hostile.written += buffer.length;
      hostile.largest = Math.max(hostile.largest, sent);
      if (!response.write(buffer)) {
        response.once('drain', write);
        return;
      }
    }
    if (open) response.end();
  };
  response.write(head);
  write();
}

// A frontend pod of the stand-in's report, named as a Deployment's pods are (the reader's fallback without owner series).
const pod = 'frontend-5d8c7b9f4-abcde';
const container = 'web';
const t = (i: number) => 1_700_000_000 + i * 6300;

interface Case {
  label: string;
  handler: (hostile: Hostile) => Handler;
  /** The reason krr_explain gives. */
  reason: RegExp;
}

const hundredsOfMb = 300 * 1024 * 1024;
const cases: Case[] = [
  {
    label: 'an answer of hundreds of MB (no Content-Length)',
    handler: (hostile) => (_q, response) => pour(hostile, response, '{"status":"success","data":{"resultType":"vector","result":[', `{"metric":{"pod":"${pod}","container":"${container}","signal":"p95"},"value":[1,"1"]},`.repeat(10_000), hundredsOfMb),
    reason: /answer is larger than 64 MiB .*answered more than the evidence needs/,
  },
  {
    label: 'an answer declaring hundreds of MB (Content-Length)',
    handler: () => (_q, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(hundredsOfMb) });
      response.write('{"status":"success"');
    },
    reason: /answer is larger than 64 MiB/,
  },
  {
    label: 'an answer that streams forever, slowly',
    handler: (hostile) => (_q, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"status":"success","data":{"resultType":"vector","result":[');
      const timer = setInterval(() => {
        hostile.written += 1;
        response.write(' ');
      }, 20);
      response.on('close', () => clearInterval(timer));
    },
    reason: new RegExp(`did not answer within ${queryTimeoutMs / 1000} s \\(namespace shop\\)`),
  },
  {
    label: 'a server that stalls before its headers',
    handler: () => () => undefined,
    reason: new RegExp(`did not answer within ${queryTimeoutMs / 1000} s`),
  },
  {
    label: 'a server that stalls after its headers',
    handler: () => (_q, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.flushHeaders();
    },
    reason: new RegExp(`did not answer within ${queryTimeoutMs / 1000} s`),
  },
  {
    label: 'malformed JSON (cut off)',
    handler: () => (_q, response) => json(response, '{"status":"success","data":{"resultType":"vector","result":[{"metric":{'),
    reason: /answered HTTP 200 with something that is not JSON .*is krr\.prometheusUrl a Prometheus API/,
  },
  {
    label: 'an HTML page with HTTP 200 (a login page, a proxy)',
    handler: () => (_q, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html><body>Sign in</body></html>');
    },
    reason: /something that is not JSON/,
  },
  {
    label: 'the wrong schema (a sample without its value, a string timestamp)',
    handler: () => (query, response) =>
      json(response, query.name === 'series' ? matrix([{ metric: { pod }, values: [['now', '1']] }]) : vector([{ metric: { pod, container, signal: 'p95' }, value: [1] }])),
    reason: /in a shape that is not Prometheus' API/,
  },
  {
    label: 'sample values that are not numbers ("0x10", "", "1e400")',
    handler: () => (query, response) => json(response, query.name === 'series' ? matrix([]) : vector([{ metric: { pod, container, signal: 'p95' }, value: [1, { cpu: '0x10', memory: '', events: '1e400' }[query.name] ?? '-'] }])),
    reason: /not a sample value/,
  },
  {
    label: 'a million series',
    handler: () => (query, response) => json(response, query.name === 'series' ? matrix([]) : `{"status":"success","data":{"resultType":"vector","result":[${Array.from({ length: 1_000_000 }, () => '{"metric":{},"value":[1,"1"]}').join(',')}]}}`),
    reason: /answered 1000000 series for one query .*more than 200000; scan fewer namespaces at a time/,
  },
  {
    label: 'a redirect (HTTP 307) to another host',
    handler: () => (_q, response) => {
      response.writeHead(307, { location: `${otherHost.url}/api/v1/query` });
      response.end();
    },
    reason: /redirects \(HTTP 307\); the evidence does not follow redirects .*set krr\.prometheusUrl to the address it redirects to/,
  },
  {
    label: 'HTTP 401',
    handler: () => (_q, response) => json(response, '{"status":"error","errorType":"unauthorized","error":"bad token"}', 401),
    reason: /refused the credentials \(HTTP 401\) .*set the auth header again/,
  },
  {
    label: 'HTTP 500 with a text body',
    handler: () => (_q, response) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end('internal server error');
    },
    reason: /answered HTTP 500 with something that is not JSON/,
  },
  {
    label: "HTTP 422 with Prometheus' error shape",
    handler: () => (_q, response) => json(response, '{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}', 422),
    reason: /refused the query \(execution: query processing would load too many samples into memory; namespace shop\)/,
  },
];

/** Runs one case against its bound: an answer over it, or none, is a hang. */
async function bounded<T>(label: string, run: () => Promise<T>): Promise<T> {
  count('resource_exhaustion_cases');
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => resolve('hang'), caseBoundMs);
  });
  const started = Date.now();
  try {
    const outcome = await Promise.race([run(), deadline]);
    // The server runs in this process: a case that blocks the event loop keeps the timer from firing, so measure too.
    if (outcome === 'hang' || Date.now() - started >= caseBoundMs) {
      count('hangs');
      assert.fail(`${label}: no answer within ${caseBoundMs} ms (${Date.now() - started} ms)`);
    }
    return outcome as T;
  } finally {
    clearTimeout(timer);
  }
}

/** Another host a redirect points at: nothing may reach it, least of all the credential. */
let otherHost: Hostile;

describe('abuse: a hostile Prometheus answer to the evidence reader (krr_explain, list, propose)', function () {
  this.timeout(600_000);
  let f: SessionFixture;
  let host: HttpHost;
  let client: Client;
  let hostile: Hostile;
  const results: CallToolResult[] = [];

  before(async () => {
    hostile = await startHostile();
    otherHost = await startHostile();
    otherHost.handler = (_query, response) => json(response, vector([]));
    f = await startSessionFixture({
      settings: { prometheusUrl: hostile.url },
      session: { env: { KRR_STANDIN_PROMETHEUS: 'fixed' }, secrets: { prometheusAuthHeader: async () => secret }, evidenceLimits: { queryTimeoutMs } },
    });
    host = await startHttpHost(f.session, { version: 'test' });
    client = await connectHttp(host, 'evidence-abuse-client');
  });
  after(async () => {
    await client?.close();
    await host?.close();
    await f?.close();
    await hostile?.close();
    await otherHost?.close();
  });

  /** A tool call; a rejection (not the tool's own error result) is the server failing: counted as a crash. */
  async function tool(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    let result: CallToolResult;
    try {
      result = (await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 })) as CallToolResult;
    } catch (error) {
      count('crashes');
      throw error;
    }
    results.push(result);
    return result;
  }

  /** A fresh report (a failed read is held per report for a minute, so each case needs its own). */
  async function scan(): Promise<string> {
    const scanned = await tool('krr_scan', { refresh: true });
    assert.equal(scanned.isError, undefined, textOf(scanned));
    return (scanned.structuredContent as { reportId: string }).reportId;
  }

  /** After each case the server still answers at once (a listing of the same report). */
  async function stillServes(reportId: string): Promise<void> {
    const started = Date.now();
    const listed = await tool('krr_list_recommendations', { reportId });
    if (listed.isError === true || Date.now() - started > 5000) count('crashes');
    assert.equal(listed.isError, undefined, textOf(listed));
    assert.doesNotMatch(textOf(listed), /evidence:/, 'no evidence line for a report whose evidence could not be read');
  }

  it('positive control: a well-formed empty answer is read, with the header sent to the configured URL only', async () => {
    hostile.handler = (query, response) => json(response, query.name === 'series' ? matrix([]) : vector([]));
    const reportId = await scan();
    const explained = await bounded('empty answer', () => tool('krr_explain', { reportId, ...frontend }));
    assert.equal(explained.isError, undefined, textOf(explained));
    const data = explained.structuredContent as { status: string; containers: Array<{ cpu: { p95: number | null }; memory: { max: number | null }; coverage: { points: number } }> };
    assert.equal(data.status, 'available', textOf(explained));
    assert.deepEqual(
      data.containers.map((c) => [c.cpu.p95, c.memory.max, c.coverage.points]),
      [[null, null, 0]],
      'no series: no numbers',
    );
    assert.ok(hostile.requests.length >= 5 && hostile.requests.every((request) => request.authorization === secret), 'the configured Prometheus got the header');
  });

  for (const c of cases) {
    it(`${c.label}: krr_explain ends within its bound with a reason, and the server still serves`, async () => {
      const reportId = await scan();
      hostile.handler = c.handler(hostile);
      hostile.written = 0;
      hostile.largest = 0;
      const started = Date.now();
      const explained = await bounded(c.label, () => tool('krr_explain', { reportId, ...frontend }));
      const elapsed = Date.now() - started;
      assert.equal(explained.isError, undefined, textOf(explained));
      const data = explained.structuredContent as { status: string; reason?: string; containers: unknown[] };
      assert.equal(data.status, 'unavailable', textOf(explained));
      assert.deepEqual(data.containers, [], 'no evidence invented');
      assert.match(data.reason ?? '', c.reason);
      assert.match(textOf(explained), /No usage is known here; do not estimate it\./);
      assert.ok(!(data.reason ?? '').includes(secret));
      await stillServes(reportId);
      process.stdout.write(`      ${elapsed} ms${hostile.written > 1024 * 1024 ? `, ${(hostile.written / 1024 / 1024).toFixed(0)} MiB written by the server, at most ${(hostile.largest / 1024 / 1024).toFixed(0)} MiB into one answer` : ''}\n`);
      // Each answer was abandoned near the 64 MiB cap (plus what the sockets buffer), not read to its 300 MB end.
      if (c.label.startsWith('an answer of hundreds')) assert.ok(hostile.largest < 2 * evidenceLimits.maxResponseBytes, `the reader stopped reading (${hostile.largest} bytes into one answer)`);
    });
  }

  // A Prometheus 3 (by its buildinfo and flags) whose remote reads of the CPU counter and the working set are hostile;
  // its PromQL answers are empty.
  const remoteReads: Array<{ label: string; read: (hostile: Hostile, response: ServerResponse) => void; reason?: RegExp }> = [
    {
      label: 'hundreds of MB of stream',
      read: (hostile, response) => {
        pour(hostile, response, '', 'x'.repeat(65_536), hundredsOfMb, streamedContentType);
      },
    },
    { label: 'random bytes as a stream', read: (_hostile, response) => response.writeHead(200, { 'content-type': streamedContentType }).end(Buffer.from(Array.from({ length: 4096 }, (_, index) => (index * 7919) % 251))) },
    { label: 'a frame that declares 4 GiB', read: (_hostile, response) => response.writeHead(200, { 'content-type': streamedContentType }).end(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0, 1, 2, 3])) },
    {
      label: 'a hundred thousand chunks that each claim 65,535 samples in a few bytes',
      read: (_hostile, response) => response.writeHead(200, { 'content-type': streamedContentType }).end(frame({ pod, container }, Array.from({ length: 100_000 }, () => new Uint8Array([0xff, 0xff, 1, 2, 3, 4])))),
    },
    { label: 'a NaN counter sample', read: (_hostile, response) => response.writeHead(200, { 'content-type': streamedContentType }).end(frame({ pod, container }, [twoSampleChunk(Date.now() - 60_000, floatBits(1), 30_000, floatBits(Number.NaN))])) },
    {
      label: 'a stream that stalls after its headers',
      read: (_hostile, response) => {
        response.writeHead(200, { 'content-type': streamedContentType });
        response.flushHeaders();
      },
      reason: new RegExp(`did not answer within ${queryTimeoutMs / 1000} s \\(namespace shop\\)`),
    },
  ];
  for (const c of remoteReads) {
    it(`remote read, ${c.label}: ${c.reason ? 'krr_explain ends within its bound with a reason' : 'the CPU and memory numbers come from PromQL instead, none invented'}, and the server still serves`, async () => {
      const reportId = await scan();
      const asked: string[] = [];
      hostile.written = 0;
      hostile.largest = 0;
      hostile.handler = (query, response) => {
        asked.push(query.name);
        if (query.name === 'buildinfo') return json(response, '{"status":"success","data":{"version":"3.16.0"}}');
        if (query.name === 'flags') return json(response, '{"status":"success","data":{"query.lookback-delta":"5m"}}');
        if (query.name === 'read') return c.read(hostile, response);
        json(response, query.name === 'series' ? matrix([]) : vector([]));
      };
      const explained = await bounded(`remote read: ${c.label}`, () => tool('krr_explain', { reportId, ...frontend }));
      assert.equal(explained.isError, undefined, textOf(explained));
      const data = explained.structuredContent as { status: string; reason?: string; containers: Array<{ cpu: { p95: number | null } }> };
      assert.ok(asked.includes('read'), asked.join(', '));
      if (c.reason) {
        assert.equal(data.status, 'unavailable', textOf(explained));
        assert.match(data.reason ?? '', c.reason);
      } else {
        assert.equal(data.status, 'available', textOf(explained));
        assert.deepEqual(data.containers.map((evidence) => evidence.cpu.p95), [null]);
        assert.ok(asked.includes('cpu') && asked.includes('memory'), `the CPU and memory queries were asked after the reads: ${asked.join(', ')}`);
      }
      assert.ok(hostile.largest < 2 * evidenceLimits.maxResponseBytes, `the reader stopped reading (${hostile.largest} bytes)`);
      await stillServes(reportId);
    });
  }

  it('a redirect: nothing reached the other host (the credential did not follow)', () => {
    count('secret_leak_attempts');
    if (otherHost.requests.some((request) => request.authorization !== undefined)) count('secrets_leaked');
    assert.deepEqual(otherHost.requests, []);
  });

  it('a stalled Prometheus does not stall a proposal: it goes on and says why there is no evidence', async () => {
    const reportId = await scan();
    hostile.handler = () => undefined;
    const proposed = await bounded('proposal over a stalled Prometheus', () => tool('krr_propose_changes', { reportId, workloads: [frontend], includeLimits: true }));
    assert.equal(proposed.isError, undefined, textOf(proposed));
    assert.match(textOf(proposed), new RegExp(`No usage evidence: Prometheus at ${hostile.url.replace(/[.]/g, '\\.')} did not answer within 2 s`));
    await stillServes(reportId);
  });

  it('NaN, +Inf and -Inf: read as no value, never as a number; the finite values beside them are kept', async () => {
    const reportId = await scan();
    const at = (signal: string, value: string) => ({ metric: { pod, container, signal }, value: [t(200), value] });
    const asked: string[] = [];
    hostile.handler = (query, response) => {
      asked.push(query.name);
      const answers: Record<string, string> = {
        cpu: vector([at('p50', 'NaN'), at('p95', '0.25'), at('p99', '+Inf')]),
        memory: vector([at('points', 'NaN'), at('first', '+Inf'), at('last', String(t(199)))]),
        // An OOMKilled reason (whatever its value) makes the reader ask for the pod's OOM kills, which answer -Inf.
        events: vector([at('throttled', 'NaN'), at('periods', '100'), at('restarts', '+Inf'), at('oomSeen', 'NaN'), at('oomLimit', 'NaN')]),
        oomKills: vector([at('oomKills', '-Inf')]),
        // The step of the memory peak: +Inf is no moment (the peak keeps no time rather than a made-up one).
        peaks: vector([{ metric: { target: '0' }, value: [t(200), '+Inf'] }]),
        owners: vector([]),
        series: matrix([
          { metric: { pod, container, signal: 'cpu' }, values: [[t(1), 'NaN'], [t(2), '0.5'], [t(3), '+Inf'], [t(4), '-Inf']] },
          { metric: { pod, container, signal: 'memory' }, values: [[t(1), '-Inf'], [t(2), '1048576'], [t(3), 'NaN'], [t(4), '+Inf']] },
        ]),
      };
      json(response, answers[query.name] ?? vector([]));
    };
    const explained = await bounded('NaN/Inf', () => tool('krr_explain', { reportId, ...frontend }));
    assert.equal(explained.isError, undefined, textOf(explained));
    const [evidence] = (explained.structuredContent as { containers: Array<Record<string, unknown>> }).containers;
    assert.deepEqual(evidence && { cpu: evidence.cpu, memory: evidence.memory, oomKills: evidence.oomKills, oomKilledLimit: evidence.oomKilledLimit, restarts: evidence.restarts, points: (evidence.coverage as { points: number }).points }, {
      cpu: { p50: null, p95: 0.25, p99: null, max: 0.5, throttledPercent: null, series: [[t(2), 0.5]] },
      memory: { max: 1048576, maxAt: null, series: [[t(2), 1048576]] },
      oomKills: 0,
      oomKilledLimit: null,
      restarts: 0,
      points: 0,
    });
    assert.doesNotMatch(textOf(explained), /NaN|Infinity|Inf\b/);
    assert.ok(asked.includes('oomKills') && asked.includes('peaks'), `the OOM kills and the peak's step were asked: ${asked.join(', ')}`);
    // The stored evidence (state directory) holds the same: a reload cannot turn a null into a number either.
    const stored = readFileSync(path.join(f.stateDir, 'evidence', `${reportId}.json`), 'utf8');
    assert.doesNotMatch(stored, /NaN|Infinity/);
    await stillServes(reportId);
  });

  it('huge label values: refused or read within the bound, never returned whole to the model', async () => {
    const reportId = await scan();
    const hugePod = `frontend-${'a'.repeat(4 * 1024 * 1024)}`;
    hostile.handler = (query, response) => {
      const answers: Record<string, string> = {
        cpu: vector([{ metric: { pod: hugePod, container, signal: 'p95', junk: 'x'.repeat(4 * 1024 * 1024) }, value: [t(200), '0.3'] }]),
        owners: vector([
          { metric: { pod: hugePod, owner_kind: 'ReplicaSet', owner_name: 'frontend-5d8c7b9f4', signal: 'pod' }, value: [t(200), '1'] },
          { metric: { replicaset: 'frontend-5d8c7b9f4', owner_kind: 'Deployment', owner_name: 'frontend', signal: 'replicaset' }, value: [t(200), '1'] },
        ]),
        series: matrix([{ metric: { pod: hugePod, container: 'c'.repeat(1024 * 1024), signal: 'memory' }, values: [[t(2), '1']] }]),
      };
      json(response, answers[query.name] ?? vector([]));
    };
    const explained = await bounded('huge label values', () => tool('krr_explain', { reportId, ...frontend }));
    assert.equal(explained.isError, undefined, textOf(explained));
    const size = JSON.stringify(explained).length;
    assert.ok(size < 64 * 1024, `the result is ${size} bytes: a label value of megabytes reached the model`);
    const data = explained.structuredContent as { status: string; containers: Array<{ pods: string[]; cpu: { p95: number | null } }> };
    if (data.status === 'available') assert.deepEqual(data.containers.map((c) => [c.pods, c.cpu.p95]), [[[], null]], 'a pod that cannot exist is no evidence');
    await stillServes(reportId);
  });

  it('the auth header is in no result, log line or state file', () => {
    count('secret_leak_attempts');
    const files = contentsUnder(f.stateDir);
    const token = secret.split(' ')[1] as string;
    const seen = [...results.map((result) => JSON.stringify(result)), ...f.logs, ...files];
    const leaks = seen.filter((text) => text.includes(token));
    if (leaks.length > 0) count('secrets_leaked');
    assert.deepEqual(leaks.map((text) => text.slice(0, 200)), []);
    assert.ok(files.length > 0 && f.logs.some((line) => line.includes('not read')), 'the state directory and the log were written (the check looked somewhere)');
  });

  it('the product default bound is the one these cases shortened', () => {
    // If the default grew without bound, the stall cases above would prove nothing about the product.
    assert.ok(evidenceLimits.queryTimeoutMs <= 60_000 && evidenceLimits.maxResponseBytes <= 64 * 1024 * 1024 && evidenceLimits.maxSeries <= 200_000);
  });
});

describe('abuse: a hostile Prometheus answer to `krr-mcp serve --stdio` (its own process, the default bounds)', function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let hostile: Hostile;
  let server: StdioServer;
  const stderr: string[] = [];
  const results: CallToolResult[] = [];
  // The cases a server in its own process must survive with the product's own bounds (64 MiB, 200,000 series).
  const chosen = cases.filter((c) => /hundreds of MB \(no|million series|malformed|wrong schema|redirect|401/.test(c.label));

  before(async () => {
    hostile = await startHostile();
    otherHost = await startHostile();
    otherHost.handler = (_query, response) => json(response, vector([]));
    cluster = await startTestCluster();
    // The header comes as the CLI takes it (KRR_PROMETHEUS_AUTH_HEADER), never from a flag or the settings file.
    server = await startStdio(cluster, { settings: { prometheusUrl: hostile.url }, env: { KRR_PROMETHEUS_AUTH_HEADER: secret, KRR_STANDIN_PROMETHEUS: 'fixed' }, onStderr: (text) => stderr.push(text) });
  });
  after(async () => {
    await server?.close();
    await cluster?.close();
    await hostile?.close();
    await otherHost?.close();
  });

  /** A rejected call is the server process gone or broken: a crash. */
  async function tool(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    try {
      const result = (await server.client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 })) as CallToolResult;
      results.push(result);
      return result;
    } catch (error) {
      count('crashes');
      throw error;
    }
  }

  for (const c of chosen) {
    it(`${c.label}: a reason within the bound, and the process still serves`, async () => {
      hostile.handler = (query, response) => json(response, query.name === 'series' ? matrix([]) : vector([]));
      const scanned = await tool('krr_scan', { refresh: true });
      assert.equal(scanned.isError, undefined, textOf(scanned));
      const reportId = (scanned.structuredContent as { reportId: string }).reportId;
      hostile.handler = c.handler(hostile);
      hostile.largest = 0;
      const explained = await bounded(c.label, () => tool('krr_explain', { reportId, ...frontend }));
      const data = explained.structuredContent as { status: string; reason?: string; containers: unknown[] };
      assert.equal(data.status, 'unavailable', textOf(explained));
      assert.deepEqual(data.containers, []);
      assert.match(data.reason ?? '', c.reason);
      const listed = await tool('krr_list_recommendations', { reportId });
      assert.equal(listed.isError, undefined, textOf(listed));
      if (c.label.startsWith('an answer of hundreds')) assert.ok(hostile.largest < 2 * evidenceLimits.maxResponseBytes, `${hostile.largest} bytes into one answer`);
    });
  }

  it('the header went to the configured Prometheus only, and is in no result, no stderr line and no state file', () => {
    count('secret_leak_attempts');
    const token = secret.split(' ')[1] as string;
    const files = contentsUnder(server.stateDir);
    const leaks = [...results.map((result) => JSON.stringify(result)), ...stderr, ...files].filter((text) => text.includes(token));
    if (leaks.length > 0 || otherHost.requests.length > 0) count('secrets_leaked');
    assert.deepEqual(leaks.map((text) => text.slice(0, 200)), []);
    assert.deepEqual(otherHost.requests, [], 'nothing followed the redirect');
    assert.ok(hostile.requests.length > 0 && hostile.requests.every((request) => request.authorization === secret), 'the configured Prometheus got the header from KRR_PROMETHEUS_AUTH_HEADER');
  });
});

/** The text of every file under `dir` (latin1: any byte compares), for a search of the state directory. */
function contentsUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? contentsUnder(file) : [readFileSync(file, 'latin1')];
  });
}
