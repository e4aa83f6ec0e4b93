// A real Prometheus and a real single-node VictoriaMetrics for tests, benches and `npm run test-cluster`, built from
// their Go modules (test/prometheus/build.sh, test/victoriametrics/build.sh), started on loopback behind basic auth
// with a random password per start, and loaded with a usage history from an OpenMetrics file (samples with
// timestamps, ending in `# EOF`). Neither scrapes anything unless told: then Prometheus also scrapes the given targets
// (the simulated nodes' live metrics), and what a query sees is the file plus what it scraped.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { z } from 'zod';
import { exitedEarly, freePort, startProcess, type Supervised } from '../control-plane/processes';
import { prometheusBinaries, victoriaMetricsBinaries } from './binaries';

const run = promisify(execFile);

export interface MetricsStoreOptions {
  /** An OpenMetrics file with a timestamp on every sample (OpenMetrics timestamps are Unix seconds) and `# EOF` last. */
  openMetrics: string;
  /** Progress lines (what was loaded, how long it took); never a secret. */
  log?: (line: string) => void;
}

/** A plain-HTTP endpoint Prometheus scrapes; its series get `job` (and `labels`, e.g. a `cluster`). */
export interface ScrapeTarget {
  job: string;
  url: string;
  labels?: Record<string, string>;
}

export interface PrometheusOptions extends Omit<MetricsStoreOptions, 'openMetrics'> {
  /** The history to load; none: an empty store (live scrapes only). */
  openMetrics?: string;
  /** Endpoints to scrape (e.g. `cluster.nodes.metricsTargets()`). */
  scrape?: ScrapeTarget[];
  /** Seconds between scrapes (default 1: a test sees a change within a second or two). */
  scrapeIntervalSeconds?: number;
}

export interface MetricsStore {
  kind: 'prometheus' | 'victoriametrics';
  /** http://127.0.0.1:<port>, the root of the Prometheus HTTP API (`/api/v1/query`…). */
  url: string;
  /** The value of the Authorization header every request needs (`Basic base64(user:password)`). A secret: never log it. */
  authHeader: string;
  /** A file (mode 0600) holding authHeader and nothing else, for processes that take a secret by path. */
  authFile: string;
  /** The version the server itself reports: Prometheus' buildinfo version, VictoriaMetrics' vm_app_version short_version. */
  version: string;
  /** Stops the server and removes its data and auth files. */
  close(): Promise<void>;
}

/** The one user both stores accept; the password is random per start. */
export const storeUser = 'krr';

/**
 * Prometheus, loaded with `promtool tsdb create-blocks-from openmetrics` (the backfill Prometheus documents) before it
 * starts, so the history is in persisted blocks, not in the head: queries see it at once, whatever its age. With
 * `scrape`, it also scrapes those targets; a scraped sample older than the history's last one is refused (out of
 * bounds), so a history loaded beside live targets ends before now.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<MetricsStore> {
  const input = options.openMetrics === undefined ? undefined : readableInput(options.openMetrics);
  const binaries = prometheusBinaries();
  const log = options.log ?? (() => undefined);
  const dir = temporaryDir('krr-prometheus-');
  let server: Supervised | undefined;
  const close = async (): Promise<void> => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const dataDir = join(dir, 'data');
    let started = performance.now();
    if (input !== undefined) {
      // Blocks of up to 18 h (promtool rounds 24h down to a compaction range) instead of 2 h: a 14-day history is ~20
      // blocks rather than ~170, and Prometheus opens and compacts fewer at start.
      await run(binaries.promtool, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', '--max-block-duration=24h', input, dataDir], { maxBuffer: 16 * 1024 * 1024 });
      log(`prometheus: blocks created from ${input} in ${elapsed(started)}`);
    }

    const password = randomBytes(24).toString('base64url');
    const bcrypt = await bcryptHash(binaries.bcryptHash, password);
    writeFileSync(join(dir, 'web.yml'), `basic_auth_users:\n  ${storeUser}: ${JSON.stringify(bcrypt)}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'prometheus.yml'), prometheusConfig(options.scrape ?? [], options.scrapeIntervalSeconds ?? 1));
    const auth = writeAuthFile(dir, password);

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    started = performance.now();
    server = startProcess('prometheus', binaries.prometheus, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--web.config.file=${join(dir, 'web.yml')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--storage.tsdb.path=${dataDir}`,
      // Retention counts back from the newest sample: a year keeps any history a test loads.
      '--storage.tsdb.retention.time=365d',
    ], join(dir, 'prometheus.log'));
    const supervised = server;
    await waitUntil(async () => exitedEarly(supervised) ?? ((await get(`${url}/-/ready`, auth.header)).status === 200 ? true : undefined), 60_000, 'prometheus');
    const buildInfo = buildInfoSchema.parse(JSON.parse((await getOk(`${url}/api/v1/status/buildinfo`, auth.header)).body));
    log(`prometheus ${buildInfo.data.version} ready at ${url} in ${elapsed(started)}`);
    return { kind: 'prometheus', url, authHeader: auth.header, authFile: auth.file, version: buildInfo.data.version, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Single-node VictoriaMetrics, loaded through its Prometheus text import (/api/v1/import/prometheus, which reads
 * OpenMetrics' seconds timestamps as such) and flushed (/internal/force_flush) so that queries see every sample.
 */
export async function startVictoriaMetrics(options: MetricsStoreOptions): Promise<MetricsStore> {
  const input = readableInput(options.openMetrics);
  const binaries = victoriaMetricsBinaries();
  const log = options.log ?? (() => undefined);
  const dir = temporaryDir('krr-victoriametrics-');
  let server: Supervised | undefined;
  const close = async (): Promise<void> => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const password = randomBytes(24).toString('base64url');
    // VictoriaMetrics reads a password flag from file://<path>: the password stays out of argv (and ps).
    writeFileSync(join(dir, 'password'), password, { mode: 0o600 });
    const auth = writeAuthFile(dir, password);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let started = performance.now();
    server = startProcess('victoria-metrics', binaries.victoriaMetrics, [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-storageDataPath=${join(dir, 'data')}`,
      // VictoriaMetrics drops samples older than the retention, counted back from now: its longest (100 years) keeps a
      // test's fixed-date history loadable whenever the test runs.
      '-retentionPeriod=100y',
      `-httpAuth.username=${storeUser}`,
      `-httpAuth.password=file://${join(dir, 'password')}`,
      // Its rollup cache assumes no samples arrive in the past; a loaded history does (its docs say so for backfills).
      '-search.disableCache',
    ], join(dir, 'victoria-metrics.log'));
    const supervised = server;
    // /health answers without auth; a protected page proves the auth flags took.
    await waitUntil(async () => exitedEarly(supervised) ?? ((await get(`${url}/api/v1/status/buildinfo`, auth.header)).status === 200 ? true : undefined), 60_000, 'victoria-metrics');
    log(`victoria-metrics ready at ${url} in ${elapsed(started)}`);

    started = performance.now();
    await post(`${url}/api/v1/import/prometheus`, auth.header, input);
    await getOk(`${url}/internal/force_flush`, auth.header);
    log(`victoria-metrics: ${input} imported and flushed in ${elapsed(started)}`);

    const metrics = (await getOk(`${url}/metrics`, auth.header)).body;
    const version = /^vm_app_version\{[^}]*short_version="([^"]+)"/m.exec(metrics)?.[1];
    if (!version) throw new Error('victoria-metrics: /metrics has no vm_app_version{short_version=…}');
    return { kind: 'victoriametrics', url, authHeader: auth.header, authFile: auth.file, version, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * No scrape_configs without targets: the loaded history is all there is. Each target is a job of its own (its `job`
 * label, as kube-prometheus names the kubelet's and kube-state-metrics' jobs); `instance` is dropped so that live series
 * carry the very label set of the backfilled ones (../usage-history/README.md), and a query sees one series, not two.
 */
export function prometheusConfig(targets: readonly ScrapeTarget[], intervalSeconds: number): string {
  if (!Number.isInteger(intervalSeconds) || intervalSeconds < 1) throw new Error(`scrape interval ${intervalSeconds}: a whole number of seconds ≥ 1`);
  const jobs = targets.map((target) => {
    const url = new URL(target.url);
    if (url.protocol !== 'http:') throw new Error(`scrape target ${target.job}: plain http only, not ${url.protocol}`);
    return {
      job_name: target.job,
      scrape_interval: `${intervalSeconds}s`,
      scrape_timeout: `${intervalSeconds}s`,
      metrics_path: url.pathname,
      static_configs: [{ targets: [url.host], ...(target.labels ? { labels: target.labels } : {}) }],
      metric_relabel_configs: [{ action: 'labeldrop', regex: 'instance' }],
    };
  });
  if (new Set(jobs.map((job) => job.job_name)).size !== jobs.length) throw new Error('scrape targets: one job name each');
  return stringify({ global: { scrape_interval: '30s' }, ...(jobs.length > 0 ? { scrape_configs: jobs } : {}) });
}

const buildInfoSchema = z.object({ status: z.literal('success'), data: z.object({ version: z.string().min(1) }) });

/** One sample of an instant vector from /api/v1/query. */
export interface VectorSample {
  metric: Record<string, string>;
  value: number;
}

const vectorSchema = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('vector'),
    result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) })),
  }),
});

/** An instant query (`time` in Unix seconds, default now), as a client of either store would send it. */
export async function queryVector(store: Pick<MetricsStore, 'url' | 'authHeader'>, promql: string, time?: number): Promise<VectorSample[]> {
  const params = new URLSearchParams({ query: promql, ...(time === undefined ? {} : { time: String(time) }) });
  const response = await getOk(`${store.url}/api/v1/query?${params.toString()}`, store.authHeader);
  return vectorSchema.parse(JSON.parse(response.body)).data.result.map((sample) => ({ metric: sample.metric, value: Number(sample.value[1]) }));
}

/** A GET with an optional Authorization header; never throws on a status, only on a connection failure. */
export function get(url: string, authHeader?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const request = http.get(url, { headers: authHeader ? { authorization: authHeader } : {}, timeout: 30_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolvePromise({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${new URL(url).pathname} timed out`)));
    request.on('error', reject);
  });
}

async function getOk(url: string, authHeader: string): Promise<{ status: number; body: string }> {
  const response = await get(url, authHeader);
  // The path only: a query string may carry a PromQL expression, never a secret, but the path is what tells.
  if (response.status < 200 || response.status >= 300) throw new Error(`GET ${new URL(url).pathname} answered ${response.status}: ${response.body.slice(0, 500)}`);
  return response;
}

/** Streams a file as the body of a POST (a usage history can be hundreds of MB). */
async function post(url: string, authHeader: string, file: string): Promise<void> {
  const size = statSync(file).size;
  const request = http.request(url, { method: 'POST', headers: { authorization: authHeader, 'content-type': 'text/plain', 'content-length': size } });
  const answered = new Promise<{ status: number; body: string }>((resolvePromise, reject) => {
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolvePromise({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
  await pipeline(createReadStream(file), request);
  const response = await answered;
  if (response.status < 200 || response.status >= 300) throw new Error(`POST ${new URL(url).pathname} answered ${response.status}: ${response.body.slice(0, 500)}`);
}

/** The header value `Basic base64(user:password)`, also written to a 0600 file beside the store's data. */
function writeAuthFile(dir: string, password: string): { header: string; file: string } {
  const header = `Basic ${Buffer.from(`${storeUser}:${password}`).toString('base64')}`;
  const file = join(dir, 'authorization');
  writeFileSync(file, header, { mode: 0o600 });
  return { header, file };
}

async function bcryptHash(command: string, password: string): Promise<string> {
  // On standard input, not argv: a password in argv is visible to every process on the machine.
  const hash = await new Promise<string>((resolvePromise, reject) => {
    const child = execFile(command, [], (error, stdout) => (error ? reject(new Error(`bcrypt-hash failed: ${error.message}`)) : resolvePromise(stdout.trim())));
    child.stdin?.end(`${password}\n`);
  });
  if (!/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) throw new Error('bcrypt-hash printed no bcrypt hash');
  return hash;
}

function readableInput(file: string): string {
  const path = resolve(file);
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) throw new Error(`no OpenMetrics file at ${path}`);
  return path;
}

const cleanupDirs = new Set<string>();

/** A fresh 0700 temp folder, removed when the process exits by any path (its processes are killed by processes.ts). */
function temporaryDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (cleanupDirs.size === 0) {
    process.once('exit', () => {
      for (const path of cleanupDirs) rmSync(path, { recursive: true, force: true });
    });
  }
  cleanupDirs.add(dir);
  return dir;
}

async function waitUntil(probe: () => Promise<true | string | undefined>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await probe().catch(() => undefined); // refused while the server binds its port
    if (result === true) return;
    if (typeof result === 'string') throw new Error(result);
    if (Date.now() > deadline) throw new Error(`${what} did not become ready within ${timeoutMs / 1000} s`);
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 200));
  }
}

function elapsed(started: number): string {
  return `${((performance.now() - started) / 1000).toFixed(1)} s`;
}
