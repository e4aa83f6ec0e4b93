// The stand-in's Prometheus mode: krr v1.29's own queries (robusta_krr/core/integrations/prometheus, read from its
// source, and ../shared/krr/promql-examples.txt) against a real Prometheus, and the simple / simple_limit strategies'
// arithmetic, rounding and info strings over their answers. Instant queries carry no `time`, as krr's do: the server
// evaluates them at its now.
'use strict';
const { URLSearchParams } = require('node:url');
const { parseHeaders } = require('./simulation');

const MIB = 1024 * 1024;

class PrometheusError extends Error {}

/** krr's connection: the URL, the auth header as `Authorization` (a URL's user:password as Basic), -H headers. */
function connection(options) {
  const headers = parseHeaders(options.prometheus_other_headers);
  const base = new URL(options.prometheus_url);
  if (base.username) headers.Authorization = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
  base.username = '';
  base.password = '';
  if (options.prometheus_auth_header) headers.Authorization = options.prometheus_auth_header;
  base.pathname = base.pathname.replace(/\/+$/, '');
  return { base, headers, queries: 0 };
}

/** prometrix's requests: POST with the parameters as a form, for instant and range queries alike. */
async function call(conn, api, params) {
  const url = new URL(`${conn.base.pathname}/api/v1/${api}`, conn.base);
  conn.queries += 1;
  const response = await fetch(url, {
    method: 'POST',
    headers: { ...conn.headers, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  // prometrix: any other status is a PrometheusApiClientException (e.g. 400 for a query_range above 11,000 points).
  if (response.status !== 200) throw new PrometheusError(`HTTP Status Code ${response.status} (${JSON.stringify(text.slice(0, 300))})`);
  return JSON.parse(text).data.result;
}

const query = (conn, promql) => call(conn, 'query', { query: promql });

/** The `, <label>="<value>"` krr appends to every selector for a centralized Prometheus (`None` without --prometheus-label). */
function clusterLabel(options) {
  if (options.prometheus_cluster_label === undefined) return '';
  return `, ${options.prometheus_label ?? 'None'}="${options.prometheus_cluster_label}"`;
}

/** krr's `_step_to_string` for the history window: whole days above a day, else minutes. */
function durationString(seconds) {
  if (seconds > 86400) return `${Math.floor(seconds / 86400)}d`;
  return `${Math.floor(seconds / 60)}m`;
}

/** load_pods' range literal: hours up to a day, else days, both at most 32. */
function periodLiteral(seconds) {
  if (seconds <= 86400) return `${Math.min(Math.floor(seconds / 3600), 32)}h`;
  return `${Math.min(Math.floor(seconds / 3600 / 24), 32)}d`;
}

/** krr's load_pods: owners (ReplicaSets of a Deployment/Rollout, Jobs of a CronJob) → kube_pod_owner → Running now. */
async function loadPods(conn, object, settings, label) {
  const period = periodLiteral(settings.history_duration * 3600);
  const ownerSelector = (metric) => `${metric}{ owner_name="${object.name}", owner_kind="${object.kind}", namespace="${object.namespace}" ${label} }[${period}]`;
  let owners;
  let ownerKind;
  if (object.kind === 'Deployment' || object.kind === 'Rollout') {
    owners = [...new Set((await query(conn, ownerSelector('kube_replicaset_owner'))).map((series) => series.metric.replicaset))];
    ownerKind = 'ReplicaSet';
  } else if (object.kind === 'CronJob') {
    owners = [...new Set((await query(conn, ownerSelector('kube_job_owner'))).map((series) => series.metric.job_name))];
    ownerKind = 'Job';
  } else if (object.kind === 'GroupedJob') {
    return object.pods;
  } else {
    owners = [object.name];
    ownerKind = object.kind;
  }
  const related = [];
  for (const group of batched(owners, 100)) {
    const promql = `last_over_time( kube_pod_owner{ owner_name=~"${group.join('|')}", owner_kind="${ownerKind}", namespace="${object.namespace}" ${label} }[${period}] )`;
    related.push(...(await query(conn, promql)));
  }
  if (related.length === 0) return [];
  const names = related.map((series) => series.metric.pod);
  const running = new Set();
  for (const group of batched(names, 100)) {
    const promql = `kube_pod_status_phase{ phase="Running", pod=~"${group.join('|')}", namespace="${object.namespace}" ${label} } == 1`;
    for (const series of await query(conn, promql)) running.add(series.metric.pod);
  }
  const seen = new Set();
  return names.filter((name) => !seen.has(name) && seen.add(name)).map((name) => ({ name, deleted: !running.has(name) }));
}

function batched(items, size) {
  const batches = [];
  for (let index = 0; index < items.length; index += size) batches.push(items.slice(index, index + size));
  return batches;
}

function selector(metric, object, label, extra = '') {
  return `${metric}{ ${extra}namespace="${object.namespace}", pod=~"${object.pods.map((pod) => pod.name).join('|')}", container="${object.container}" ${label} }`;
}

/** krr's loaders' queries (promql-examples.txt), for one container, its pods and the settings' window and step. */
function loaderQueries(object, settings, label, percentiles) {
  const duration = durationString(settings.history_duration * 3600);
  const step = `${Math.round(settings.timeframe_duration * 60)}s`;
  const cpu = selector('container_cpu_usage_seconds_total', object, label);
  const memory = selector('container_memory_working_set_bytes', object, label);
  const queries = {
    CPUAmountLoader: `count_over_time( max( ${cpu} ) by (container, pod, job) [${duration}:${step}] )`,
    MaxMemoryLoader: `max_over_time( max( ${memory} ) by (container, pod, job) [${duration}:${step}] )`,
    MemoryAmountLoader: `count_over_time( max( ${memory} ) by (container, pod, job) [${duration}:${step}] )`,
    MaxOOMKilledMemoryLoader:
      `max_over_time( max( max( ${selector('kube_pod_container_resource_limits', object, label, 'resource="memory", ')} ) by (pod, container, job)` +
      ` * on(pod, container, job) group_left(reason) max( ${selector('kube_pod_container_status_last_terminated_reason', object, label, 'reason="OOMKilled", ')} ) by (pod, container, job, reason) ) by (container, pod, job) [${duration}:${step}] )`,
    CPULoader: `max( rate( ${cpu}[${step}] ) ) by (container, pod, job)`,
  };
  // Python's round(p / 100, 2), printed as Python prints a float.
  const quantile = (p) => String(Number((p / 100).toFixed(2)));
  if (percentiles !== undefined) queries.PercentileCPULoader = `quantile_over_time( ${quantile(percentiles)}, max( rate( ${cpu}[${step}] ) ) by (container, pod, job) [${duration}:${step}] )`;
  return queries;
}

/** filter_prom_jobs_results: one series per pod, the kubelet's when there is one, else the first job alphabetically. */
function byPod(result) {
  if (result.length === 1) return { [result[0].metric.pod]: result[0] };
  const pods = {};
  for (const series of result) {
    const pod = series.metric.pod ?? series.metric.container ?? series.metric.node;
    if (pod === undefined) continue;
    (pods[pod] ??= []).push(series);
  }
  const chosen = {};
  for (const [pod, list] of Object.entries(pods)) {
    const kubelet = list.filter((series) => series.metric.job === 'kubelet');
    chosen[pod] = kubelet.length === 1 ? kubelet[0] : list.slice().sort((a, b) => (a.metric.job ?? '').localeCompare(b.metric.job ?? ''))[0];
  }
  return chosen;
}

const values = (series) => (series.values ?? [series.value]).map(([, value]) => Number(value));

/** One loader's data for the object, as krr's gather_data keeps it: pod → numbers; {} when the query failed. */
async function gather(conn, name, promql, object, settings, log) {
  try {
    let result;
    if (name === 'CPULoader') {
      const end = Math.floor(Date.now() / 60000) * 60; // krr: utcnow with seconds and microseconds zeroed
      result = await call(conn, 'query_range', { query: promql, start: String(end - settings.history_duration * 3600), end: String(end), step: `${Math.round(settings.timeframe_duration * 60)}s` });
    } else {
      result = await query(conn, promql);
    }
    const data = {};
    for (const [pod, series] of Object.entries(byPod(result))) data[pod] = values(series);
    if (Object.keys(data).length === 0) noData(name, object, log);
    return data;
  } catch (error) {
    log.error(`Failed to gather resource history data for ${describe(object)}\n${error.message}`);
    noData(name, object, log);
    return {};
  }
}

function noData(name, object, log) {
  // krr's gather_data matches the loader's class name: MaxOOMKilledMemoryLoader counts as a memory loader too.
  if (name.includes('CPU')) addWarning(object, 'NoPrometheusCPUMetrics');
  else if (name.includes('Memory')) addWarning(object, 'NoPrometheusMemoryMetrics');
  if (name !== 'MaxOOMKilledMemoryLoader') log.warning(`Prometheus returned no ${name} metrics for ${describe(object)}`);
}

function addWarning(object, warning) {
  if (!object.warnings.includes(warning)) object.warnings.push(warning);
}

function describe(object) {
  return `${object.kind} ${object.namespace}/${object.name}/${object.container}`;
}

/** numpy's default percentile (linear between closest ranks), which Prometheus' quantile_over_time shares. */
function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

const undefinedRecommendation = (info) => ({ request: '?', limit: '?', info });

function hpaTarget(object, resource) {
  const target = object.hpa?.[`target_${resource}_utilization_percentage`];
  return target !== null && target !== undefined;
}

function pointCount(data) {
  return Object.values(data).reduce((sum, list) => sum + (list[0] ?? 0), 0);
}

function cpuProposal(command, data, object, settings) {
  const usage = command === 'simple' ? data.PercentileCPULoader : data.CPULoader;
  if (Object.keys(usage).length === 0) return undefinedRecommendation('No data');
  if (pointCount(data.CPUAmountLoader) < settings.points_required) return undefinedRecommendation('Not enough data');
  if (hpaTarget(object, 'cpu') && !settings.allow_hpa) return undefinedRecommendation('HPA detected');
  const all = Object.values(usage).flat();
  if (command === 'simple') return { request: Math.max(...all), limit: null, info: null };
  const sorted = all.slice().sort((a, b) => a - b);
  return { request: percentile(sorted, settings.cpu_request), limit: percentile(sorted, settings.cpu_limit), info: null };
}

function memoryProposal(data, object, settings) {
  let oomKilled = 0;
  if (settings.use_oomkill_data) {
    const peaks = Object.values(data.MaxOOMKilledMemoryLoader).map((list) => list[0]);
    oomKilled = peaks.length > 0 ? Math.max(...peaks) : 0;
  }
  const usage = data.MaxMemoryLoader;
  if (Object.keys(usage).length === 0) return undefinedRecommendation('No data');
  if (pointCount(data.MemoryAmountLoader) < settings.points_required) return undefinedRecommendation('Not enough data');
  if (hpaTarget(object, 'memory') && !settings.allow_hpa) return undefinedRecommendation('HPA detected');
  const peak = Math.max(...Object.values(usage).map((list) => Math.max(...list)));
  const amount = Math.max(peak * (1 + settings.memory_buffer_percentage / 100), oomKilled * (1 + settings.oom_memory_buffer_percentage / 100));
  return { request: amount, limit: amount, info: oomKilled !== 0 ? 'OOMKill detected' : null };
}

/** krr's _round_value: CPU up to 1m, memory up to 1 MiB, at least the minimum; "?" and null pass through. */
function round(value, resource, options) {
  if (typeof value !== 'number' || Number.isNaN(value)) return value;
  const rounded = resource === 'cpu' ? Math.ceil(value * 1000) / 1000 : Math.ceil(value / MIB) * MIB;
  const minimum = resource === 'cpu' ? (options.cpu_min_value ?? 10) / 1000 : (options.memory_min_value ?? 100) * MIB;
  return Math.max(rounded, minimum);
}

/** krr's _check_data_availability: Prometheus' own head series over the last 5 hours tell how much history it has. */
async function historyErrors(conn, settings, log) {
  const end = Math.floor(Date.now() / 1000);
  try {
    const result = await call(conn, 'query_range', { query: 'max(prometheus_tsdb_head_series)', start: String(end - 5 * 3600), end: String(end), step: '3600s' });
    const points = result[0]?.values;
    if (!points || points.length === 0) throw new PrometheusError('no history');
    const [first, last] = [points[0][0], points[points.length - 1][0]];
    if (last - first >= 3 * 3600) return [];
    log.warning('Not enough history available for cluster.');
    return [{ name: 'NotEnoughHistoryAvailable', retry_after: new Date((first + settings.history_duration * 3600) * 1000).toISOString().replace('Z', '') }];
  } catch {
    log.info('Unable to check how much historical data is available. Will assume it is sufficient and calculate recommendations anyway.');
    return [{ name: 'HistoryRangeError' }];
  }
}

/** krr's get_cluster_summary: four single-value queries; any missing answer leaves the summary empty. */
async function clusterSummary(conn, label) {
  const single = label.replace(',', '');
  const one = async (promql) => {
    const result = await query(conn, promql);
    if (result.length !== 1 || !result[0].value) throw new PrometheusError(`Expected exactly one result from Prometheus query but instead got ${result.length}`);
    return Number(result[0].value[1]);
  };
  try {
    return {
      cluster_memory: await one(`sum(max by (instance) (machine_memory_bytes{ ${single} }))`),
      cluster_cpu: await one(`sum(max by (instance) (machine_cpu_cores{ ${single} }))`),
      kube_system_mem_req: await one(`sum(max(kube_pod_container_resource_requests{ namespace='kube-system', resource='memory' ${label} }) by (job, pod, container) )`),
      kube_system_cpu_req: await one(`sum(max(kube_pod_container_resource_requests{ namespace='kube-system', resource='cpu' ${label} }) by (job, pod, container) )`),
    };
  } catch {
    return {};
  }
}

/**
 * Fills every scan's pods, warnings and recommendation from Prometheus (krr's runner for one cluster), on a pool of
 * --max-workers workers; drops the scans krr would fail (their pods could not be listed); returns the queries sent.
 */
async function recommendFromPrometheus(report, command, settings, options, log) {
  const conn = connection(options);
  const label = clusterLabel(options);
  const percentiles = command === 'simple' ? settings.cpu_percentile : undefined;
  report.errors = await historyErrors(conn, settings, log);
  report.clusterSummary = await clusterSummary(conn, label);
  const scans = report.scans;
  const failed = new Set();
  let next = 0;
  const work = async () => {
    while (next < scans.length) {
      const scan = scans[next];
      next += 1;
      if (!(await recommendOne(conn, scan, command, settings, options, label, percentiles, log))) failed.add(scan);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.max_workers ?? 10, Math.max(scans.length, 1)) }, work));
  report.scans = scans.filter((scan) => !failed.has(scan));
  return conn.queries;
}

async function recommendOne(conn, scan, command, settings, options, label, percentiles, log) {
  const object = scan.object;
  object.warnings = [];
  const known = object.pods.filter((pod) => !pod.deleted);
  let pods;
  try {
    pods = await loadPods(conn, object, settings, label);
  } catch (error) {
    // krr's runner: an object whose pods cannot be listed has no scan at all.
    log.error(`An error occurred while calculating recommendations for ${describe(object)}: ${error.message}`);
    return false;
  }
  if (pods.length === 0 && known.length > 0) {
    // krr falls back to the Kubernetes API's pods (here: the report's running ones) and says so.
    pods = known.map((pod) => ({ name: pod.name, deleted: false }));
    addWarning(object, 'NoPrometheusPods');
    log.warning(`Was not able to load any pods for ${describe(object)} from Prometheus. Loaded pods from Kubernetes API instead.`);
  }
  object.pods = pods;
  const queries = loaderQueries(object, settings, label, percentiles);
  const loaders = [command === 'simple' ? 'PercentileCPULoader' : 'CPULoader', 'MaxMemoryLoader', 'CPUAmountLoader', 'MemoryAmountLoader'];
  if (settings.use_oomkill_data) loaders.push('MaxOOMKilledMemoryLoader');
  const data = {};
  for (const name of loaders) data[name] = await gather(conn, name, queries[name], object, settings, log);
  const cpu = cpuProposal(command, data, object, settings);
  const memory = memoryProposal(data, object, settings);
  for (const [resource, proposal] of [['cpu', cpu], ['memory', memory]]) {
    scan.recommended.requests[resource] = { value: round(proposal.request, resource, options), severity: 'UNKNOWN' };
    scan.recommended.limits[resource] = { value: round(proposal.limit, resource, options), severity: 'UNKNOWN' };
    scan.recommended.info[resource] = proposal.info;
  }
  return true;
}

module.exports = { recommendFromPrometheus, loaderQueries, clusterLabel, PrometheusError };
