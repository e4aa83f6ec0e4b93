// fleet_simulation: 20 clusters × 2,500 containers (50,000 rows) loaded into one Session and listed as one fleet:
// per-call latency of list/filter/sort over every cluster, and the heap the 20 reports and the fleet index take.
// fleet_scan: 20 kube contexts scanned in one go by the krr stand-in told to take N ms each (its simulated Prometheus
// queries, KRR_STANDIN_OBJECT_MS, run on krr's worker pool, so a scan takes N ms plus its start-up), against the slowest
// of a few single scans measured alone: wall time over that, at the default krr.scanParallelism.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { Severity } from '../src/core/krr/model';
import type { RecommendationQuery } from '../src/core/model';
import { Session } from '../src/core/session/session';
import { parseSessionSettings } from '../src/core/settings';
import { krrStandIn, ScriptedHuman } from '../test/support/session-fixture';
import { createRandom, generateLargeReport } from './generate';
import { collectGarbage, percentile, round } from './stats';

export interface FleetSimulationFigures {
  clusters: number;
  rows: number;
  queries: number;
  load_ms: number;
  first_query_ms: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** This process's CPU time per call (user + system): what a call costs without the other processes on the machine. */
  p99_cpu_ms: number;
  heap_growth_mb: number;
}

const human = { type: 'human' as const, via: 'bench' };

export async function benchmarkFleetSimulation(options: { clusters?: number; containersPerCluster?: number; queries?: number } = {}): Promise<FleetSimulationFigures> {
  const clusters = options.clusters ?? 20;
  const perCluster = options.containersPerCluster ?? 2500;
  const queries = options.queries ?? 600;
  const dir = mkdtempSync(path.join(tmpdir(), 'krr-bench-fleet-'));
  const settings = parseSessionSettings({ kubectlPath: 'kubectl', confirmByTyping: [] });
  const session = new Session({ settings: () => settings, approver: new ScriptedHuman(), stateDir: dir });
  try {
    const files: string[] = [];
    for (let index = 0; index < clusters; index += 1) {
      const file = path.join(dir, `cluster-${index}.json`);
      writeFileSync(file, generateLargeReport({ scans: perCluster, seed: 100 + index, cluster: `prod-${String(index).padStart(2, '0')}` }).text);
      files.push(file);
    }
    collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;
    const loadStarted = performance.now();
    const reportIds: string[] = [];
    for (const file of files) reportIds.push((await session.loadReport(file, human)).reportId);
    const loadMs = performance.now() - loadStarted;
    const reportId = reportIds[0] as string;
    const firstStarted = performance.now();
    const all = session.listRecommendations({ reportId, reportIds, pageSize: 50 });
    const firstMs = performance.now() - firstStarted;
    const namespaces = [...new Set(session.getReport(reportId).workloads.map((workload) => workload.namespace))];
    const clusterNames = Array.from({ length: clusters }, (_, index) => `prod-${String(index).padStart(2, '0')}`);
    const names = ['api', 'web', 'worker', 'gateway-*', '*-cache', 'sync', 'ingest-?pi', 'router'];
    const kinds = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob'];
    const severities: Severity[] = ['OK', 'WARNING', 'CRITICAL'];
    const random = createRandom(11);
    const makeQuery = (): RecommendationQuery => {
      const query: RecommendationQuery = { reportId, reportIds, sort: random.pick(['savings', 'severity', 'name'] as const), pageSize: random.pick([20, 50]) };
      // Half the queries are the whole fleet unfiltered (the worst case: every row passes every check).
      if (random.chance(0.5)) {
        if (random.chance(0.5)) query.cluster = random.pick(clusterNames);
        if (random.chance(0.4)) query.namespace = random.pick(namespaces);
        if (random.chance(0.3)) query.kind = random.pick(kinds);
        if (random.chance(0.3)) query.name = random.pick(names);
        if (random.chance(0.3)) query.minSeverity = random.pick(severities);
        if (random.chance(0.2)) query.minChangePercent = random.pick([10, 25, 50]);
      }
      query.page = random.chance(0.7) ? 1 : random.int(2, 40);
      return query;
    };
    for (let warm = 0; warm < 30; warm += 1) session.listRecommendations(makeQuery());
    collectGarbage();
    const heapAfter = process.memoryUsage().heapUsed;
    const samples: number[] = [];
    const cpuSamples: number[] = [];
    for (let index = 0; index < queries; index += 1) {
      const query = makeQuery();
      const cpu = process.cpuUsage();
      const started = performance.now();
      session.listRecommendations(query);
      samples.push(performance.now() - started);
      const used = process.cpuUsage(cpu);
      cpuSamples.push((used.user + used.system) / 1000);
    }
    return {
      clusters,
      rows: all.total,
      queries,
      load_ms: round(loadMs),
      first_query_ms: round(firstMs),
      p50_ms: round(percentile(samples, 50), 3),
      p99_ms: round(percentile(samples, 99), 3),
      max_ms: round(Math.max(...samples), 3),
      p99_cpu_ms: round(percentile(cpuSamples, 99), 3),
      heap_growth_mb: round((heapAfter - heapBefore) / 1024 / 1024, 1),
    };
  } finally {
    session.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface FleetScanFigures {
  contexts: number;
  standin_ms_per_scan: number;
  parallelism: number;
  fleet_wall_ms: number;
  single_scan_ms: number[];
  slowest_single_ms: number;
  ratio_vs_slowest_single: number;
  failed_contexts: number;
}

/** A kubeconfig with `count` contexts, each its own (unreachable: the stand-in never calls it) API server. */
export function fleetKubeconfig(file: string, count: number): string[] {
  const names = Array.from({ length: count }, (_, index) => `ctx-${String(index).padStart(2, '0')}`);
  const document = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: names.map((name, index) => ({ name, cluster: { server: `https://127.0.0.1:${20000 + index}` } })),
    users: [{ name: 'bench', user: { token: 'bench' } }],
    contexts: names.map((name) => ({ name, context: { cluster: name, user: 'bench' } })),
    'current-context': names[0],
  };
  writeFileSync(file, stringify(document), { mode: 0o600 });
  return names;
}

export async function benchmarkFleetScan(options: { contexts?: number; scanMs?: number; singles?: number } = {}): Promise<FleetScanFigures> {
  const count = options.contexts ?? 20;
  const scanMs = options.scanMs ?? 5000;
  const dir = mkdtempSync(path.join(tmpdir(), 'krr-bench-fleet-scan-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  const contexts = fleetKubeconfig(kubeconfig, count);
  const settings = parseSessionSettings({ krrPath: krrStandIn, kubectlPath: 'kubectl', kubeconfig, confirmByTyping: [] });
  const session = new Session({ settings: () => settings, approver: new ScriptedHuman(), stateDir: dir, env: { KRR_STANDIN_OBJECT_MS: String(scanMs) } });
  try {
    const singles: number[] = [];
    for (const context of contexts.slice(0, options.singles ?? 3)) {
      const started = performance.now();
      await session.scan({ context, refresh: true }, human);
      singles.push(performance.now() - started);
    }
    const started = performance.now();
    const fleet = await session.scanFleet({ contexts, refresh: true }, human);
    const wall = performance.now() - started;
    const slowest = Math.max(...singles);
    return {
      contexts: count,
      standin_ms_per_scan: scanMs,
      parallelism: settings.scanParallelism,
      fleet_wall_ms: round(wall),
      single_scan_ms: singles.map((ms) => round(ms)),
      slowest_single_ms: round(slowest),
      ratio_vs_slowest_single: round(wall / slowest, 2),
      failed_contexts: fleet.reports.filter((entry) => entry.error).length,
    };
  } finally {
    session.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
