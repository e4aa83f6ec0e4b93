// What the stand-in's "Prometheus" holds, so the options that change krr's numbers change the stand-in's too
// (tests check behaviour, not just argv). The sample report's recommendations are the simulated usage of a single
// cluster; everything below derives from them deterministically.
// Environment knobs (tests only):
//   KRR_STANDIN_CENTRAL=<label>=<v1>,<v2>…  the -p Prometheus is centralized: it holds the clusters v1, v2 … told apart
//                                           by <label>; cluster i's usage is the sample's × (1 + 0.5·i). Without -l
//                                           krr's queries match every cluster's series (the max wins, as in krr).
//   KRR_STANDIN_OOMKILLED=<ns>/<name>/<container>,…  containers OOM-killed at their memory limit (kube-state-metrics)
//   KRR_STANDIN_OBJECT_MS=<ms>              time each object's queries take; krr runs them on --max-workers workers
//   KRR_STANDIN_TRACE=<file>                write {"objects","maxWorkers","peakWorkers"} after the queries
'use strict';
const fs = require('node:fs');

const MIB = 1024 * 1024;

function central() {
  const raw = process.env.KRR_STANDIN_CENTRAL;
  if (!raw) return null;
  const at = raw.indexOf('=');
  return { label: raw.slice(0, at), clusters: raw.slice(at + 1).split(',').filter(Boolean) };
}

/**
 * Which of the Prometheus's series krr's queries select: a usage factor, or null when they select none.
 * krr adds `, <prometheus_label>="<cluster label>"` to every selector when -l is given (the name is the literal
 * `None` when --prometheus-label is missing, which matches nothing).
 */
function seriesFactor(options) {
  const store = central();
  const value = options.prometheus_cluster_label;
  if (value === undefined) return store ? 1 + 0.5 * (store.clusters.length - 1) : 1;
  const name = options.prometheus_label ?? 'None';
  if (!store || name !== store.label) return null;
  const index = store.clusters.indexOf(value);
  return index < 0 ? null : 1 + 0.5 * index;
}

function hpaTargets(scan) {
  const hpa = scan.object.hpa;
  return {
    cpu: Boolean(hpa && hpa.target_cpu_utilization_percentage !== null && hpa.target_cpu_utilization_percentage !== undefined),
    memory: Boolean(hpa && hpa.target_memory_utilization_percentage !== null && hpa.target_memory_utilization_percentage !== undefined),
  };
}

/** The sample's numbers as usage: its CPU recommendation is the 95th percentile; its memory one is peak × 1.15. */
function usageOf(scan) {
  const recommended = scan.recommended.requests;
  const requests = scan.object.allocations.requests;
  const cpu = typeof recommended.cpu.value === 'number' ? recommended.cpu.value : scan.recommended.info.cpu === 'HPA detected' ? (requests.cpu ?? 0.1) * 0.4 : null;
  const memory = typeof recommended.memory.value === 'number' ? recommended.memory.value / 1.15 : scan.recommended.info.memory === 'HPA detected' ? (requests.memory ?? 256 * MIB) * 0.5 : null;
  return { cpu, memory };
}

function needsSimulation(options, strategy) {
  return Boolean(central() || options.prometheus_cluster_label !== undefined || strategy.allow_hpa || strategy.use_oomkill_data || process.env.KRR_STANDIN_OOMKILLED);
}

/** krr's simple strategy over the simulated series (CPU rounded up to 1m, memory to 1 MiB, both ≥ their minimum). */
function simulateRecommendations(report, strategy, options) {
  if (!needsSimulation(options, strategy)) return false;
  const factor = seriesFactor(options);
  const oomKilled = new Set((process.env.KRR_STANDIN_OOMKILLED || '').split(',').filter(Boolean));
  const cpuMin = (options.cpu_min_value ?? 10) / 1000;
  const memMin = (options.memory_min_value ?? 100) * MIB;
  for (const scan of report.scans) {
    const usage = usageOf(scan);
    const hpa = hpaTargets(scan);
    const set = (resource, value, info) => {
      scan.recommended.requests[resource].value = value;
      if (resource === 'memory' || value === '?') scan.recommended.limits[resource].value = value;
      else scan.recommended.limits.cpu.value = null;
      scan.recommended.info[resource] = info;
    };
    if (factor === null) {
      // No series: krr knows nothing about this container.
      set('cpu', '?', 'No data');
      set('memory', '?', 'No data');
      scan.object.warnings = ['NoPrometheusPods'];
      continue;
    }
    if (usage.cpu !== null) {
      if (hpa.cpu && !strategy.allow_hpa) set('cpu', '?', 'HPA detected');
      else set('cpu', Math.max(Math.ceil(usage.cpu * factor * 1000 - 1e-9) / 1000, cpuMin), null);
    }
    if (usage.memory !== null) {
      if (hpa.memory && !strategy.allow_hpa) {
        set('memory', '?', 'HPA detected');
      } else {
        const fromUsage = usage.memory * factor * (1 + strategy.memory_buffer_percentage / 100);
        const key = `${scan.object.namespace}/${scan.object.name}/${scan.object.container}`;
        const oomAt = strategy.use_oomkill_data && oomKilled.has(key) ? scan.object.allocations.limits.memory : null;
        const fromOom = oomAt ? oomAt * (1 + strategy.oom_memory_buffer_percentage / 100) : 0;
        const amount = Math.max(Math.ceil(Math.max(fromUsage, fromOom) / MIB - 1e-9) * MIB, memMin);
        set('memory', amount, oomAt ? 'OOMKill detected' : null);
      }
    }
  }
  return true;
}

/**
 * krr's --job-grouping-labels: Jobs carrying one of the labels are reported per `<label>=<value>` and namespace as
 * one GroupedJob scan per container (the first Job as template, pods of at most --job-grouping-limit Jobs), and no
 * longer as Jobs.
 */
function groupJobs(report, options) {
  const labels = (options.job_grouping_labels ?? '').split(',').map((label) => label.trim()).filter(Boolean);
  if (labels.length === 0) return;
  const limit = options.job_grouping_limit ?? 500;
  const groups = new Map();
  const grouped = new Set();
  for (const scan of report.scans) {
    if (scan.object.kind !== 'Job') continue;
    for (const label of labels) {
      const value = scan.object.labels?.[label];
      if (value === undefined) continue;
      grouped.add(scan);
      const key = `${scan.object.namespace}\u0000${label}=${value}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(scan);
    }
  }
  const result = report.scans.filter((scan) => !grouped.has(scan));
  for (const [key, scans] of groups) {
    const name = key.slice(key.indexOf('\u0000') + 1);
    const jobs = [...new Set(scans.map((scan) => scan.object.name))].slice(0, limit);
    const kept = scans.filter((scan) => jobs.includes(scan.object.name));
    for (const container of [...new Set(kept.map((scan) => scan.object.container))]) {
      const members = kept.filter((scan) => scan.object.container === container);
      const template = structuredClone(members[0]);
      template.object.kind = 'GroupedJob';
      template.object.name = name;
      template.object.pods = members.flatMap((scan) => scan.object.pods);
      result.push(template);
    }
  }
  report.scans = result;
}

/** krr gathers each object's metrics on a pool of --max-workers workers (default 10). */
async function gatherMetrics(report, options) {
  const perObject = Number(process.env.KRR_STANDIN_OBJECT_MS || 0);
  const workers = options.max_workers ?? 10;
  let active = 0;
  let peak = 0;
  let next = 0;
  const work = async () => {
    while (next < report.scans.length) {
      next += 1;
      active += 1;
      peak = Math.max(peak, active);
      await new Promise((resolve) => setTimeout(resolve, perObject));
      active -= 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, Math.max(report.scans.length, 1)) }, work));
  if (process.env.KRR_STANDIN_TRACE) fs.writeFileSync(process.env.KRR_STANDIN_TRACE, JSON.stringify({ objects: report.scans.length, maxWorkers: workers, peakWorkers: peak }));
}

/** krr's validator of -H: `{k.strip().lower(): v.strip() for k, v in [h.split(":") for h in headers]}`. */
function headerProblem(headers) {
  for (const header of headers ?? []) {
    const parts = header.split(':').length;
    if (parts < 2) return 'not enough values to unpack (expected 2, got 1)';
    if (parts > 2) return 'too many values to unpack (expected 2)';
  }
  return null;
}

function parseHeaders(headers) {
  const result = {};
  for (const header of headers ?? []) {
    const [key, value] = header.split(':');
    result[key.trim().toLowerCase()] = value.trim();
  }
  return result;
}

module.exports = { simulateRecommendations, groupJobs, gatherMetrics, headerProblem, parseHeaders };
