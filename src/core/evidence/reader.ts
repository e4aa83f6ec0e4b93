// The evidence reader: what Prometheus recorded for a report's containers, read by the product itself over krr's
// window with krr's queries (queries.ts), a few namespaces at a time. From a Prometheus 3 the CPU and memory numbers
// are computed from the raw samples (one remote read each per namespace; cpuFromSamples.ts, memoryFromSamples.ts) and
// the events and owners asked in PromQL: four requests per namespace. From any other store, or where the samples
// cannot be used: five PromQL queries per namespace (and up to three more for the few pods that were OOM-killed or not
// there the whole window, and for the steps of the memory peaks). Bounded
// (a timeout per query, a byte cap per answer read as a stream, a series cap), cancellable, and it never invents a
// number: a missing series is null and zero coverage. The headers it is given (the auth header, krr.prometheusHeaders)
// go only in the requests; they are never logged, returned, or put into a reason.
import { mapBounded } from '../apply';
import type { Report } from '../krr/model';
import { displayText } from '../text';
import { maxEvidencePoints, type ContainerEvidence, type EvidencePoint, type EvidenceResult, type EvidenceTarget } from './model';
import { buildInfoSchema, finite, flagsSchema, prometheusResponseSchema, type SampleValue } from './prometheusResponse';
import { cpuAnswersFromSamples, type SampleSeries } from './cpuFromSamples';
import { memoryAnswersFromSamples, type PodPeak } from './memoryFromSamples';
import { bucketOf, coverageQuery, cpuQueries, maxPeaksAsked, memoryQueries, samplesRead, maxPodsSelected, namespaceQueries, oomKillsQuery, peakTimeQuery, windowSteps, type ClusterSelector, type EvidenceQuery, type EvidenceWindowSpec, type PeakInBucket } from './queries';
import { parseStreamedResponse, readRequestBody, RemoteReadError, streamedContentType, type LabelMatcher, type RemoteSeries } from './remoteRead';
import { ChunkError, chunkSampleCount, decodeXorChunk, type DecodedSamples } from './xorChunk';

export interface EvidenceLimits {
  /** Per HTTP query. */
  queryTimeoutMs: number;
  /** Per answer: read as a stream and aborted past this. */
  maxResponseBytes: number;
  /** Per answer. */
  maxSeries: number;
  /** Namespaces read at the same time (each runs its five queries together, then its follow-ups together). */
  namespaceConcurrency: number;
}

export const evidenceLimits: EvidenceLimits = { queryTimeoutMs: 60_000, maxResponseBytes: 64 * 1024 * 1024, maxSeries: 200_000, namespaceConcurrency: 2 };

export interface ReadEvidenceOptions {
  /** The Prometheus base URL (krr appends /api/v1/… the same way). */
  url: string;
  /** Sent with every query; decided by the caller's credential routing (decidePrometheusAuth). Never echoed. */
  headers?: Readonly<Record<string, string>>;
  /** Centralized Prometheus: krr's `--prometheus-label NAME -l VALUE`. */
  clusterLabel?: ClusterSelector;
  /** The containers to read; `targets` wins over every container of `report`. */
  report?: Report;
  targets?: readonly EvidenceTarget[];
  window: EvidenceWindowSpec;
  signal?: AbortSignal;
  /** Node's fetch by default (tests count or break requests with their own). */
  fetch?: typeof fetch;
  limits?: Partial<EvidenceLimits>;
  /**
   * Compute the CPU and memory evidence from the raw samples (remote read) where the store is a Prometheus 3 (default
   * true); false: always PromQL. Both give the same numbers (tested); the samples cost Prometheus a fraction.
   */
  rawSamples?: boolean;
}

/** Every container of a report, as evidence targets (cluster: the context the report's rows carry). */
export function targetsOfReport(report: Report, cluster?: string | null): EvidenceTarget[] {
  return report.workloads.flatMap((workload) =>
    workload.containers.map((container) => ({ cluster: cluster === undefined ? workload.cluster : cluster, namespace: workload.namespace, kind: workload.kind, name: workload.name, container: container.container })),
  );
}

class Unavailable extends Error {}
/** The CPU samples could not be used (`store`: this store cannot stream them at all); the reader asks PromQL instead. */
class SamplesUnusable extends Error {
  constructor(
    message: string,
    readonly store: boolean,
  ) {
    super(message);
  }
}
/** Prometheus answered the query with an error of its own (a valid answer that says no). */
class Refused extends Unavailable {}

/** What Prometheus holds for the targets, or why there is nothing: never a guess. */
export async function readEvidence(options: ReadEvidenceOptions): Promise<EvidenceResult> {
  const limits = { ...evidenceLimits, ...options.limits };
  const targets = options.targets ?? (options.report ? targetsOfReport(options.report) : []);
  const shown = describeUrl(options.url);
  if (shown === null) return { status: 'unavailable', reason: 'krr.prometheusUrl is not an http(s) URL' };
  const headerProblem = checkHeaders(options.headers ?? {});
  if (headerProblem) return { status: 'unavailable', reason: headerProblem };
  // fetch refuses a URL with a user name and password; they are basic auth, as for krr's HTTP client, unless a header says otherwise.
  const { url, headers } = withUrlCredentials(options.url, options.headers ?? {});
  if (options.signal?.aborted) return cancelled();
  const byNamespace = new Map<string, EvidenceTarget[]>();
  for (const target of targets) {
    const list = byNamespace.get(target.namespace) ?? [];
    list.push(target);
    byNamespace.set(target.namespace, list);
  }
  // The first failure stops the other namespaces' queries too: one reason, no half-read evidence.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let queries = 0;
  const run = (query: EvidenceQuery, namespace: string) => {
    queries += 1;
    return runQuery(query, namespace, { ...options, url, headers, signal, shown, limits });
  };
  // Where the store is a Prometheus 3, the CPU and memory statistics come from the raw samples (one remote read each per
  // namespace) computed with its own arithmetic, instead of a dozen 14-day subquery passes at Prometheus; memory needs
  // its lookback delta too. A store that cannot stream them is read with PromQL from then on.
  const store = options.rawSamples === false ? { samples: false, lookbackMs: null } : await storeAbilities({ ...options, url, headers, signal, limits });
  const sources = { cpu: store.samples, memory: store.samples && store.lookbackMs !== null };
  const request = { ...options, url, headers, signal, shown, limits };
  /** The samples of one signal, or null where they cannot be used (the namespace then asks PromQL for it). */
  const fromSamples = async <T>(kind: 'cpu' | 'memory', namespace: string, compute: (series: readonly RemoteSeries[]) => Promise<T | null>): Promise<T | null> => {
    queries += 1;
    const metric = kind === 'cpu' ? 'container_cpu_usage_seconds_total' : 'container_memory_working_set_bytes';
    const lookbackMs = kind === 'cpu' ? Math.round(options.window.stepSeconds * 1000) : (store.lookbackMs ?? 0);
    try {
      const computed = await compute(await readSamples(samplesRead(metric, namespace, options.window, options.clusterLabel, lookbackMs), namespace, request));
      if (computed === null) throw new SamplesUnusable('a sample is NaN or infinite', false);
      return computed;
    } catch (error) {
      if (error instanceof ChunkError) return null;
      if (!(error instanceof SamplesUnusable)) throw error;
      if (error.store) sources.cpu = sources.memory = false;
      return null;
    }
  };
  const runAll = async (planned: readonly EvidenceQuery[], namespace: string) => new Map(await Promise.all(planned.map(async (query) => [query.name, await run(query, namespace)] as const)));
  try {
    const perNamespace = await mapBounded([...byNamespace], limits.namespaceConcurrency, async ([namespace, list]) => {
      const cpuFrom = sources.cpu ? 'samples' : 'promql';
      const memoryFrom = sources.memory ? 'samples' : 'promql';
      let planned: EvidenceQuery[];
      try {
        planned = namespaceQueries(namespace, options.window, options.clusterLabel, { cpu: cpuFrom, memory: memoryFrom });
      } catch (error) {
        throw new Unavailable(error instanceof Error ? error.message : String(error));
      }
      try {
        const [answers, cpu, memory] = await Promise.all([
          runAll(planned, namespace),
          cpuFrom === 'samples' ? fromSamples('cpu', namespace, (series) => cpuAnswersFromSamples(decodedSeries(series, false, signal), options.window)) : null,
          memoryFrom === 'samples' ? fromSamples('memory', namespace, (series) => memoryAnswersFromSamples(decodedSeries(series, true, signal), options.window, store.lookbackMs ?? 0)) : null,
        ]);
        const addSeries = (rows: Answer) => answers.set('series', [...(answers.get('series') ?? []), ...rows]);
        if (cpuFrom === 'samples') {
          if (cpu) {
            answers.set('cpu', cpu.cpu);
            addSeries(cpu.series);
          } else {
            const asked = await runAll(cpuQueries(namespace, options.window, options.clusterLabel), namespace);
            answers.set('cpu', asked.get('cpu') ?? []);
            addSeries(asked.get('series') ?? []);
          }
        }
        if (memoryFrom === 'samples') {
          if (memory) {
            answers.set('memory', memory.memory);
            answers.set('coverage', memory.coverage);
            addSeries(memory.series);
          } else {
            const asked = await runAll(memoryQueries(namespace, options.window, options.clusterLabel), namespace);
            answers.set('memory', asked.get('memory') ?? []);
            addSeries(asked.get('series') ?? []);
          }
        }
        // Follow-ups for the few pods that need them: the OOM kills of those OOM-killed; with memory from PromQL, the
        // first and last sample of those not there the whole window and the step of each memory peak (the samples gave both).
        const selection = (pods: string[]) => (pods.length <= maxPodsSelected ? pods : null);
        const killed = oomKilledPods(answers.get('events') ?? []);
        const points = pointsOf(answers.get('memory') ?? []);
        const podPeaks = memory?.peaks ?? null;
        const partial = podPeaks ? [] : partlyCoveredPods(points, windowSteps(options.window).count);
        // The series found each memory peak to its bucket; the peak query finds its step within that bucket.
        const peaks = podPeaks ? [] : peaksInBuckets(assemble(list, answers, points, options.window), memorySeriesOf(answers.get('series') ?? []));
        const followUps: EvidenceQuery[] = [
          ...(killed.length > 0 ? [oomKillsQuery(namespace, options.window, options.clusterLabel, selection(killed))] : []),
          ...(partial.length > 0 ? [coverageQuery(namespace, options.window, options.clusterLabel, selection(partial))] : []),
        ];
        const peakQuery = peaks.length > 0 ? peakTimeQuery(namespace, options.window, options.clusterLabel, peaks) : null;
        const [peakAnswer] = await Promise.all([
          peakQuery ? run(peakQuery, namespace).catch(peakTimesRefused) : Promise.resolve([]),
          ...followUps.map(async (query) => answers.set(query.name, await run(query, namespace))),
        ]);
        const evidence = assemble(list, answers, points, options.window);
        return podPeaks ? withPeakTimesFromSamples(evidence, podPeaks) : withPeakTimes(evidence, peaks, peakAnswer, options.window);
      } catch (error) {
        stop.abort();
        throw error;
      }
    });
    return { status: 'available', containers: perNamespace.flat(), readAt: new Date().toISOString(), queries };
  } catch (error) {
    if (options.signal?.aborted) return cancelled();
    if (error instanceof Unavailable) return { status: 'unavailable', reason: error.message };
    return { status: 'unavailable', reason: `reading the evidence failed: ${displayText(error instanceof Error ? error.message : String(error), 300)}` };
  }
}

export type PrometheusAnswer = Array<{ metric: Record<string, string>; value?: readonly [number, SampleValue]; values?: ReadonlyArray<readonly [number, SampleValue]> }>;

/**
 * One instant query with the evidence's rules (the URL's basic auth, no redirects, bounded size, time and series,
 * Prometheus' own shape), for readers of a few series beside the evidence (a trial's usage). `where` names the
 * query in messages. The answer, or why there is none: never a guess.
 */
export async function queryOnce(options: Pick<ReadEvidenceOptions, 'url' | 'headers' | 'signal' | 'fetch' | 'limits'>, query: string, time: Date, where: string): Promise<{ ok: true; answer: PrometheusAnswer } | { ok: false; reason: string }> {
  const limits = { ...evidenceLimits, ...options.limits };
  const shown = describeUrl(options.url);
  if (shown === null) return { ok: false, reason: 'krr.prometheusUrl is not an http(s) URL' };
  const headerProblem = checkHeaders(options.headers ?? {});
  if (headerProblem) return { ok: false, reason: headerProblem };
  const { url, headers } = withUrlCredentials(options.url, options.headers ?? {});
  try {
    const answer = await runQuery({ name: 'series', type: 'instant', query, time: time.getTime() / 1000 }, where, { ...options, url, headers, signal: options.signal ?? new AbortController().signal, shown, limits, window: { end: time, historyHours: 1, stepSeconds: 60 } });
    return { ok: true, answer };
  } catch (error) {
    if (error instanceof Unavailable) return { ok: false, reason: error.message };
    return { ok: false, reason: `the query failed: ${displayText(error instanceof Error ? error.message : String(error), 300)}` };
  }
}

function cancelled(): EvidenceResult {
  return { status: 'unavailable', reason: 'cancelled before Prometheus answered' };
}

/** The URL as a reason may show it: no user name or password, no query string. Null: not http(s). */
export function describeUrl(url: string): string | null {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return null;
  }
}

/** fetch rejects a bad header with a message that quotes its value (a secret): checked here, named without it. */
function checkHeaders(headers: Readonly<Record<string, string>>): string | null {
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return `a Prometheus header name is not a valid HTTP header name (krr.prometheusHeaders: "Name: value")`;
    if (/[\r\n\0]/.test(value)) return `the Prometheus header ${displayText(name, 60)} has a line break in its value; set it again (KRR: Set Prometheus Auth Header, or krr.prometheusHeaders)`;
  }
  return null;
}

/** `Name: value` lines of krr.prometheusHeaders (krr -H) as headers; lines without a colon are skipped. */
export function parseHeaderLines(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function withUrlCredentials(base: string, headers: Readonly<Record<string, string>>): { url: string; headers: Readonly<Record<string, string>> } {
  const url = new URL(base);
  if (!url.username && !url.password) return { url: base, headers };
  const basic = Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64');
  url.username = '';
  url.password = '';
  const hasAuthorization = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
  return { url: url.toString(), headers: hasAuthorization ? headers : { ...headers, authorization: `Basic ${basic}` } };
}

function apiUrl(base: string, endpoint: 'query' | 'query_range' | 'read' | 'status/buildinfo' | 'status/flags'): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/v1/${endpoint}`;
  return url.toString();
}

type Answer = PrometheusAnswer;

/**
 * One POST to the store with the reader's rules: the given headers and the caller's (the auth header) to the
 * configured URL only, no redirect followed (no header goes on to another place), a timeout per request; an
 * unreachable store or a timeout is the read's failure, with a reason that says what to check.
 */
async function postToStore(
  endpoint: 'query' | 'query_range' | 'read',
  headers: Record<string, string>,
  body: string | Uint8Array,
  namespace: string,
  options: Omit<ReadEvidenceOptions, 'window'> & { signal: AbortSignal; shown: string; limits: EvidenceLimits },
): Promise<{ response: Response; timeout: AbortSignal; timedOut: () => Unavailable }> {
  const { limits, shown } = options;
  const timeout = AbortSignal.timeout(limits.queryTimeoutMs);
  const where = `namespace ${displayText(namespace, 63)}`;
  const timedOut = () => new Unavailable(`Prometheus at ${shown} did not answer within ${Math.round(limits.queryTimeoutMs / 1000)} s (${where}); it may be overloaded, or the window too long for it`);
  try {
    const response = await (options.fetch ?? fetch)(apiUrl(options.url, endpoint), { method: 'POST', headers: { ...options.headers, ...headers }, body, signal: AbortSignal.any([options.signal, timeout]), redirect: 'manual' });
    return { response, timeout, timedOut };
  } catch (error) {
    if (timeout.aborted) throw timedOut();
    if (options.signal.aborted) throw error;
    throw new Unavailable(`Prometheus at ${shown} is unreachable (${causeOf(error)}): check krr.prometheusUrl and that this machine can reach it (a port-forward, VPN or proxy)`);
  }
}

type StoreRequest = Omit<ReadEvidenceOptions, 'window'> & { window: EvidenceWindowSpec; url: string; headers: Readonly<Record<string, string>>; signal: AbortSignal; limits: EvidenceLimits };


/**
 * What the store can do for the samples path: whether it says it is a Prometheus 3 (its buildinfo's version 3.x, no
 * other application named), the server whose remote read and arithmetic cpuFromSamples and memoryFromSamples follow,
 * and its lookback delta (--query.lookback-delta, from its flags; null when it does not say). Anything else
 * (VictoriaMetrics answers 2.24.0, Mimir names itself, no answer) is read with PromQL.
 */
async function storeAbilities(options: Pick<StoreRequest, 'url' | 'headers' | 'signal' | 'limits' | 'fetch'>): Promise<{ samples: boolean; lookbackMs: number | null }> {
  const get = async (endpoint: 'status/buildinfo' | 'status/flags'): Promise<unknown> => {
    try {
      const response = await (options.fetch ?? fetch)(apiUrl(options.url, endpoint), {
        headers: { ...options.headers, accept: 'application/json' },
        signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.limits.queryTimeoutMs)]),
        redirect: 'manual',
      });
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => undefined);
        return null;
      }
      return JSON.parse((await readCappedBytes(response, 256 * 1024)).toString('utf8'));
    } catch {
      return null;
    }
  };
  const build = buildInfoSchema.safeParse(await get('status/buildinfo'));
  if (!build.success || build.data.data.application !== undefined || !/^3\.\d+\.\d+/.test(build.data.data.version)) return { samples: false, lookbackMs: null };
  const flags = flagsSchema.safeParse(await get('status/flags'));
  return { samples: true, lookbackMs: flags.success ? prometheusDurationMs(flags.data.data['query.lookback-delta'] ?? '') : null };
}

/** A Prometheus duration ("5m", "1m30s", "500ms") in milliseconds; null when it is not one (or not positive). */
export function prometheusDurationMs(text: string): number | null {
  const match = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(text);
  if (!match || text === '') return null;
  const units = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1];
  const ms = units.reduce((total, unit, index) => total + Number(match[index + 1] ?? 0) * unit, 0);
  return ms > 0 && Number.isSafeInteger(ms) ? ms : null;
}

/**
 * The series of one remote read (streamed XOR chunks). SamplesUnusable where they cannot be used: the store does not
 * stream them (`store`), or this answer is too large, not what was asked, or holds chunks that are not float XOR.
 */
async function readSamples(read: { matchers: LabelMatcher[]; startMs: number; endMs: number }, namespace: string, options: StoreRequest & { shown: string }): Promise<RemoteSeries[]> {
  const { limits } = options;
  const { response, timeout, timedOut } = await postToStore(
    'read',
    { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-read-version': '0.1.0', accept: streamedContentType },
    readRequestBody(read.matchers, read.startMs, read.endMs),
    namespace,
    options,
  );
  // A refusal here (401, 403: a proxy that lets only queries through, or wrong credentials) is the store's: PromQL is
  // asked instead, and wrong credentials are reported by its refusal.
  if (response.status !== 200 || !(response.headers.get('content-type') ?? '').startsWith('application/x-streamed-protobuf')) {
    await response.body?.cancel().catch(() => undefined);
    throw new SamplesUnusable(`remote read answered HTTP ${response.status}`, true);
  }
  let body: Buffer;
  try {
    body = await readCappedBytes(response, limits.maxResponseBytes);
  } catch (error) {
    if (error instanceof Unavailable) throw new SamplesUnusable('remote read answered more than the cap', false);
    if (timeout.aborted) throw timedOut();
    if (options.signal.aborted) throw error;
    throw new SamplesUnusable(`remote read broke off (${causeOf(error)})`, false);
  }
  let series: RemoteSeries[];
  try {
    series = parseStreamedResponse(body, limits.maxSeries);
  } catch (error) {
    if (error instanceof RemoteReadError) throw new SamplesUnusable(error.message, true);
    throw error;
  }
  if (series.some((one) => one.chunks.some((chunk) => chunk.encoding !== 1))) throw new SamplesUnusable('remote read sent chunks that are not float XOR chunks', false);
  return series;
}

/** Samples of one series decoded at most (14 days at a scrape every quarter second): two arrays of 40 MB. */
const maxSamplesPerSeries = 5_000_000;
/** Series decoded between two turns of the event loop (the extension host serves everyone else meanwhile). */
const seriesPerTurn = 8;

/**
 * Each series' samples, decoded when it is reached into arrays reused for the next (the computations read each series
 * before they ask for the next one and keep none of it); the event loop gets a turn every few series, and a cancel
 * stops it there.
 */
async function* decodedSeries(series: readonly RemoteSeries[], keepStale: boolean, signal: AbortSignal): AsyncGenerator<SampleSeries> {
  let times = new Float64Array(0);
  let values = new Float64Array(0);
  for (const [index, one] of series.entries()) {
    if (index % seriesPerTurn === seriesPerTurn - 1) {
      await new Promise((resolve) => setImmediate(resolve));
      signal.throwIfAborted();
    }
    let total = 0;
    for (const chunk of one.chunks) total += chunkSampleCount(chunk.data);
    if (total > maxSamplesPerSeries) throw new ChunkError(`a series of ${total} samples (at most ${maxSamplesPerSeries} are decoded)`);
    if (times.length < total) {
      times = new Float64Array(total);
      values = new Float64Array(total);
    }
    const out: DecodedSamples = { times, values, length: 0, lastTime: -Infinity, keepStale, nonFinite: false };
    for (const chunk of one.chunks) decodeXorChunk(chunk.data, out);
    yield { labels: one.labels, times: times.subarray(0, out.length), values: values.subarray(0, out.length), nonFinite: out.nonFinite };
  }
}

async function runQuery(query: EvidenceQuery, namespace: string, options: Omit<ReadEvidenceOptions, 'window'> & { window?: EvidenceWindowSpec; signal: AbortSignal; shown: string; limits: EvidenceLimits }): Promise<Answer> {
  const { limits, shown } = options;
  const params: Record<string, string> =
    query.type === 'instant'
      ? { query: query.query, time: String(query.time) }
      : { query: query.query, start: String(query.start), end: String(query.end), step: String(query.step) };
  const where = `namespace ${displayText(namespace, 63)}`;
  // POST: a namespace's batched query is long.
  const { response, timeout, timedOut } = await postToStore(query.type === 'instant' ? 'query' : 'query_range', { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, new URLSearchParams(params).toString(), namespace, options);
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel().catch(() => undefined);
    throw new Unavailable(`Prometheus at ${shown} redirects (HTTP ${response.status}); the evidence does not follow redirects (the credentials must not go elsewhere): set krr.prometheusUrl to the address it redirects to`);
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel().catch(() => undefined);
    throw new Unavailable(`Prometheus refused the credentials (HTTP ${response.status}) at ${shown}: set the auth header again (KRR: Set Prometheus Auth Header) or check krr.prometheusHeaders`);
  }
  let text: string;
  try {
    text = await readCapped(response, limits.maxResponseBytes);
  } catch (error) {
    if (error instanceof Unavailable) throw new Unavailable(`${error.message} (${where}); Prometheus at ${shown} answered more than the evidence needs`);
    if (timeout.aborted) throw timedOut();
    if (options.signal.aborted) throw error;
    throw new Unavailable(`Prometheus at ${shown} broke off its answer (${causeOf(error)}, ${where})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Unavailable(`Prometheus at ${shown} answered HTTP ${response.status} with something that is not JSON (${where}): is krr.prometheusUrl a Prometheus API (it should answer /api/v1/query)?`);
  }
  // Counted before validation: the schema would copy every one of a million series before the limit refused them.
  const count = seriesCount(json);
  if (count > limits.maxSeries) throw new Unavailable(`Prometheus at ${shown} answered ${count} series for one query (${where}), more than ${limits.maxSeries}; scan fewer namespaces at a time`);
  const parsed = prometheusResponseSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Unavailable(`Prometheus at ${shown} answered HTTP ${response.status} in a shape that is not Prometheus' API (${displayText(issue?.message ?? 'invalid', 120)} at ${issue?.path.join('.') || '(root)'}; ${where})`);
  }
  const body = parsed.data;
  if (body.status === 'error') throw new Refused(`Prometheus at ${shown} refused the query (${displayText(body.errorType, 40)}: ${displayText(body.error, 300)}; ${where})`);
  if (body.data.result.length > limits.maxSeries) throw new Unavailable(`Prometheus at ${shown} answered ${body.data.result.length} series for one query (${where}), more than ${limits.maxSeries}; scan fewer namespaces at a time`);
  return body.data.result;
}

/** How many series a parsed answer holds, without validating it (0 when it is not an answer with a result list). */
function seriesCount(json: unknown): number {
  if (json === null || typeof json !== 'object') return 0;
  const data = (json as { data?: unknown }).data;
  if (data === null || typeof data !== 'object') return 0;
  const result = (data as { result?: unknown }).result;
  return Array.isArray(result) ? result.length : 0;
}

/** The body, read chunk by chunk and abandoned (connection closed) as soon as it passes `max` bytes. */
async function readCapped(response: Response, max: number): Promise<string> {
  return (await readCappedBytes(response, max)).toString('utf8');
}

async function readCappedBytes(response: Response, max: number): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  const tooLarge = () => new Unavailable(`the answer is larger than ${Math.round(max / 1024 / 1024)} MiB`);
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

function causeOf(error: unknown): string {
  // Only the code (ECONNREFUSED, ENOTFOUND, …): undici's messages may carry request details.
  const cause = (error as { cause?: { code?: unknown; name?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') return displayText(cause.code, 40);
  if (cause && typeof cause.name === 'string') return displayText(cause.name, 40);
  return error instanceof Error ? displayText(error.name, 40) : 'network error';
}

// ── assembling one namespace's answers into per-container evidence ────────────────────────────────────────────

type Values = Map<string, Map<string, number | null>>;

/** Kubernetes' own bounds (an object name is a DNS subdomain, a container name a DNS label): a longer label names nothing that can exist, so it never reaches a result. */
const maxObjectName = 253;
const maxContainerName = 63;

function podAndContainer(pod: string, container: string): boolean {
  return pod.length <= maxObjectName && container.length <= maxContainerName;
}

function podKey(pod: string, container: string): string {
  return `${pod}\0${container}`;
}

/** signal → pod/container → value (NaN and ±Inf as null). */
function instantValues(answer: Answer): Values {
  const values: Values = new Map();
  for (const series of answer) {
    const { signal, pod, container } = series.metric;
    if (signal === undefined || pod === undefined || container === undefined || !series.value || !podAndContainer(pod, container)) continue;
    let bySignal = values.get(signal);
    if (!bySignal) values.set(signal, (bySignal = new Map()));
    bySignal.set(podKey(pod, container), finite(series.value[1]));
  }
  return values;
}

/** The pods whose last termination was an OOM kill somewhere in the window (the events' `oomSeen`), sorted. */
function oomKilledPods(events: Answer): string[] {
  const pods = new Set<string>();
  for (const { metric } of events) if (metric.signal === 'oomSeen' && metric.pod !== undefined && metric.container !== undefined && podAndContainer(metric.pod, metric.container)) pods.add(metric.pod);
  return [...pods].sort();
}

/** krr's points per (pod, container): the sum of its series' counts (one per scrape job), and how many series there were. */
function pointsOf(memory: Answer): Map<string, { points: number; series: number }> {
  const points = new Map<string, { points: number; series: number }>();
  for (const series of memory) {
    const { signal, pod, container } = series.metric;
    if (signal !== 'points' || pod === undefined || container === undefined || !series.value || !podAndContainer(pod, container)) continue;
    const value = finite(series.value[1]);
    if (value === null) continue;
    const known = points.get(podKey(pod, container)) ?? { points: 0, series: 0 };
    points.set(podKey(pod, container), { points: known.points + value, series: known.series + 1 });
  }
  return points;
}

/** One series with a point at every step: there from the window's first step to its last (no query needed for them). */
function wholeWindow(entry: { points: number; series: number } | undefined, steps: number): boolean {
  return entry !== undefined && entry.series === 1 && entry.points === steps;
}

/** The pods with a container that has points but not one series with a point at every step, sorted. */
function partlyCoveredPods(points: ReadonlyMap<string, { points: number; series: number }>, steps: number): string[] {
  const pods = new Set<string>();
  for (const [key, entry] of points) if (!wholeWindow(entry, steps)) pods.add(key.slice(0, key.indexOf('\0')));
  return [...pods].sort();
}

interface Owners {
  pods: Map<string, { kind: string; name: string }>;
  parents: Map<string, Map<string, { kind: string; name: string }>>;
}

function ownersOf(answer: Answer): Owners {
  const owners: Owners = { pods: new Map(), parents: new Map([['ReplicaSet', new Map()], ['Job', new Map()], ['ReplicationController', new Map()]]) };
  const childLabel: Record<string, [string, string]> = { replicaset: ['ReplicaSet', 'replicaset'], job: ['Job', 'job_name'], replicationcontroller: ['ReplicationController', 'replicationcontroller'] };
  for (const { metric } of answer) {
    const kind = metric.owner_kind;
    const name = metric.owner_name;
    if (!kind || !name || kind === '<none>' || name.length > maxObjectName) continue;
    if (metric.signal === 'pod' && metric.pod && metric.pod.length <= maxObjectName) owners.pods.set(metric.pod, { kind, name });
    const child = childLabel[metric.signal ?? ''];
    const childName = child ? metric[child[1]] : undefined;
    if (child && childName && childName.length <= maxObjectName) owners.parents.get(child[0])?.set(childName, { kind, name });
  }
  return owners;
}

/** The workload a pod belongs to, as krr names it: ReplicaSet → Deployment/Rollout, Job → CronJob, RC → DeploymentConfig. */
function workloadOfPod(owners: Owners, pod: string): { kind: string; name: string } | undefined {
  const owner = owners.pods.get(pod);
  if (!owner) return undefined;
  const parent = owners.parents.get(owner.kind)?.get(owner.name);
  return parent ?? owner;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Pods without owner series (no kube-state-metrics): the names the controllers give their pods. */
function namePattern(kind: string, name: string): RegExp | null {
  const base = escapeRegExp(name);
  switch (kind) {
    case 'Deployment':
    case 'Rollout':
      return new RegExp(`^${base}-[a-z0-9]{1,10}-[a-z0-9]{5}$`);
    case 'StatefulSet':
    case 'StrimziPodSet':
      return new RegExp(`^${base}-\\d+$`);
    case 'DaemonSet':
    case 'Job':
      return new RegExp(`^${base}-[a-z0-9]{5}$`);
    case 'CronJob':
      return new RegExp(`^${base}-\\d+-[a-z0-9]{5}$`);
    default:
      return null;
  }
}

type Series = ReadonlyArray<readonly [number, SampleValue]>;

/** signal → pod/container → its downsampled series (the `series` answer). */
function seriesOf(answer: Answer): Map<string, Map<string, Series>> {
  const series = new Map<string, Map<string, Series>>();
  for (const entry of answer) {
    const { signal, pod, container } = entry.metric;
    if (!signal || !pod || !container || !entry.values || !podAndContainer(pod, container)) continue;
    let bySignal = series.get(signal);
    if (!bySignal) series.set(signal, (bySignal = new Map()));
    bySignal.set(podKey(pod, container), entry.values);
  }
  return series;
}

function memorySeriesOf(answer: Answer): Map<string, Series> {
  return seriesOf(answer).get('memory') ?? new Map();
}

/**
 * Where each container's memory peak is in the series: the earliest bucket holding it and the pods that reached it
 * there (tagged with the container's index). Not asked: a container without a peak, with more pods at it than a
 * selector names, or beyond maxPeaksAsked in its namespace; its peak keeps no time.
 */
function peaksInBuckets(evidence: readonly ContainerEvidence[], memory: ReadonlyMap<string, Series>): PeakInBucket[] {
  const peaks: PeakInBucket[] = [];
  evidence.forEach((container, index) => {
    const value = container.memory.max;
    if (value === null || peaks.length >= maxPeaksAsked) return;
    const reached = new Map<number, string[]>();
    for (const pod of container.pods) {
      for (const [time, raw] of memory.get(podKey(pod, container.container)) ?? []) if (finite(raw) === value) reached.set(time, [...(reached.get(time) ?? []), pod]);
    }
    const bucketEnd = Math.min(...reached.keys());
    const pods = reached.get(bucketEnd) ?? [];
    if (pods.length === 0 || pods.length > maxPodsSelected) return;
    peaks.push({ tag: String(index), container: container.container, pods, value, bucketEnd });
  });
  return peaks;
}

/** A Prometheus that refuses the peak query (an old or unusual one) costs the peaks their time, not the evidence. */
function peakTimesRefused(error: unknown): Answer {
  if (error instanceof Refused) return [];
  throw error;
}

/**
 * The peaks' times from the peak query: the step at which each first reached its peak, if it lies in the bucket it was
 * asked in; otherwise none (null), never the bucket's end passed off as a moment.
 */
function withPeakTimes(evidence: readonly ContainerEvidence[], peaks: readonly PeakInBucket[], answer: Answer, window: EvidenceWindowSpec): ContainerEvidence[] {
  const asked = new Map(peaks.map((peak) => [peak.tag, peak]));
  const width = bucketOf(window).seconds;
  const found = new Map<string, number>();
  for (const { metric, value } of answer) {
    const peak = metric.target === undefined ? undefined : asked.get(metric.target);
    const time = value ? finite(value[1]) : null;
    if (peak && time !== null && time > peak.bucketEnd - width && time <= peak.bucketEnd) found.set(peak.tag, time);
  }
  return evidence.map((container, index) => {
    if (container.memory.max === null) return container;
    const time = found.get(String(index));
    return { ...container, memory: { ...container.memory, maxAt: time === undefined ? null : new Date(time * 1000).toISOString() } };
  });
}

/**
 * The peaks' times from the samples: the first step at which the workload's container reached its peak, the earliest
 * of its pods that reached it (the same step the peak query would name).
 */
function withPeakTimesFromSamples(evidence: readonly ContainerEvidence[], podPeaks: readonly PodPeak[]): ContainerEvidence[] {
  const byPod = new Map(podPeaks.map((peak) => [podKey(peak.pod, peak.container), peak]));
  return evidence.map((container) => {
    const max = container.memory.max;
    if (max === null) return container;
    let first: number | null = null;
    for (const pod of container.pods) {
      const peak = byPod.get(podKey(pod, container.container));
      if (peak && peak.max === max && (first === null || peak.firstAt < first)) first = peak.firstAt;
    }
    return { ...container, memory: { ...container.memory, maxAt: first === null ? null : new Date(first * 1000).toISOString() } };
  });
}

/** `points`: pointsOf the memory answer, which the follow-ups were chosen by. */
function assemble(targets: readonly EvidenceTarget[], answers: Map<string, Answer>, points: ReadonlyMap<string, { points: number; series: number }>, window: EvidenceWindowSpec): ContainerEvidence[] {
  const cpu = instantValues(answers.get('cpu') ?? []);
  const coverage = instantValues(answers.get('coverage') ?? []);
  const steps = windowSteps(window);
  const events = instantValues(answers.get('events') ?? []);
  const oomKills = instantValues(answers.get('oomKills') ?? []);
  const owners = ownersOf(answers.get('owners') ?? []);
  const series = seriesOf(answers.get('series') ?? []);
  const seenPods = new Set(owners.pods.keys());
  for (const values of [cpu, events]) for (const bySignal of values.values()) for (const key of bySignal.keys()) seenPods.add(key.slice(0, key.indexOf('\0')));
  for (const key of points.keys()) seenPods.add(key.slice(0, key.indexOf('\0')));

  const podsOf = new Map<string, string[]>();
  for (const pod of [...seenPods].sort()) {
    const workload = workloadOfPod(owners, pod);
    const keys = workload
      ? [`${workload.kind}/${workload.name}`]
      : owners.pods.has(pod)
        ? []
        : [...new Set(targets.map((target) => `${target.kind}/${target.name}`))].filter((key) => {
            const [kind = '', name = ''] = key.split(/\/(.*)/s);
            return namePattern(kind, name)?.test(pod) ?? false;
          });
    for (const key of keys) podsOf.set(key, [...(podsOf.get(key) ?? []), pod]);
  }

  const start = new Date(window.end.getTime() - window.historyHours * 3600 * 1000).toISOString();
  const evidenceWindow = { start, end: window.end.toISOString(), stepSeconds: window.stepSeconds };
  return targets.map((target) => {
    const pods = podsOf.get(`${target.kind}/${target.name}`) ?? [];
    const keys = pods.map((pod) => podKey(pod, target.container));
    const over = (values: Values, signal: string, combine: (a: number, b: number) => number): number | null => {
      const bySignal = values.get(signal);
      let result: number | null = null;
      for (const key of keys) {
        const value = bySignal?.get(key);
        if (value === undefined || value === null) continue;
        result = result === null ? value : combine(result, value);
      }
      return result;
    };
    const max = (a: number, b: number) => Math.max(a, b);
    const sum = (a: number, b: number) => a + b;
    const throttled = over(events, 'throttled', sum);
    const periods = over(events, 'periods', sum);
    const cpuSeries = merged(series.get('cpu'), keys);
    const memorySeries = merged(series.get('memory'), keys);
    // The buckets hold exactly the window's subquery points (queries.ts): their highest value is max_over_time, and its bucket is when.
    const peak = highest(memorySeries);
    // A container there the whole window starts at its first step and ends at its last; the others' are asked (coverageQuery).
    const whole = keys.filter((key) => wholeWindow(points.get(key), steps.count));
    const firstAsked = over(coverage, 'first', Math.min);
    const lastAsked = over(coverage, 'last', max);
    const first = whole.length > 0 ? steps.firstMs / 1000 : firstAsked;
    const last = whole.length > 0 ? steps.lastMs / 1000 : lastAsked;
    const pointsTotal = keys.reduce((total, key) => total + (points.get(key)?.points ?? 0), 0);
    return {
      ...target,
      window: evidenceWindow,
      pods,
      cpu: {
        p50: over(cpu, 'p50', max),
        p95: over(cpu, 'p95', max),
        p99: over(cpu, 'p99', max),
        max: highest(cpuSeries)?.[1] ?? null,
        throttledPercent: throttled !== null && periods !== null && periods > 0 ? Math.min(100, Math.max(0, (throttled / periods) * 100)) : null,
        series: cpuSeries,
      },
      memory: { max: peak?.[1] ?? null, maxAt: peak ? new Date(peak[0] * 1000).toISOString() : null, series: memorySeries },
      oomKills: Math.round(over(oomKills, 'oomKills', sum) ?? 0),
      oomKilledLimit: over(events, 'oomLimit', max),
      restarts: Math.round(over(events, 'restarts', sum) ?? 0),
      coverage: {
        points: Math.round(pointsTotal),
        first: first === null ? null : new Date(first * 1000).toISOString(),
        last: last === null ? null : new Date(last * 1000).toISOString(),
      },
    };
  });
}

/** The first point with the highest value (the earliest bucket of a peak), or undefined for an empty series. */
function highest(series: readonly EvidencePoint[]): EvidencePoint | undefined {
  let best: EvidencePoint | undefined;
  for (const point of series) if (best === undefined || point[1] > best[1]) best = point;
  return best;
}

/** The max over the pods at each bucket time, oldest first, at most maxEvidencePoints (finite values only). */
function merged(bySignal: Map<string, ReadonlyArray<readonly [number, SampleValue]>> | undefined, keys: readonly string[]): EvidencePoint[] {
  if (!bySignal) return [];
  const buckets = new Map<number, number>();
  for (const key of keys) {
    for (const [time, raw] of bySignal.get(key) ?? []) {
      const value = finite(raw);
      if (value === null) continue;
      const known = buckets.get(time);
      if (known === undefined || value > known) buckets.set(time, value);
    }
  }
  return [...buckets].sort((a, b) => a[0] - b[0]).slice(-maxEvidencePoints).map(([time, value]) => [time, value] as const);
}
