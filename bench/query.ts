// caching_performance: listRecommendations (filter, sort, page) through a real Session on the loaded
// 5,000-scan report: per-call latency over many varied queries.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Severity } from '../src/core/krr/model';
import type { RecommendationQuery } from '../src/core/model';
import { Session } from '../src/core/session/session';
import { parseSessionSettings } from '../src/core/settings';
import { ScriptedHuman } from '../test/support/session-fixture';
import { createRandom } from './generate';
import { collectGarbage, percentile, round } from './stats';

export interface QueryFigures {
  queries: number;
  load_report_ms: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Rows matched, summed over all queries (a check that the filters select something). */
  rows_matched: number;
}

export async function benchmarkQueries(reportFile: string, queries = 600): Promise<QueryFigures> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'krr-bench-query-'));
  const settings = parseSessionSettings({ kubectlPath: 'kubectl', confirmByTyping: [] });
  const session = new Session({ settings: () => settings, approver: new ScriptedHuman(), stateDir });
  try {
    collectGarbage();
    const loadStarted = performance.now();
    const summary = await session.loadReport(reportFile, { type: 'human', via: 'bench' });
    const loadMs = performance.now() - loadStarted;
    const report = session.getReport(summary.reportId);
    const namespaces = [...new Set(report.workloads.map((workload) => workload.namespace))];
    const names = ['api', 'web', 'worker', 'gateway-*', '*-cache', 'sync', 'ingest-?pi', 'router'];
    const kinds = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob'];
    const severities: Severity[] = ['OK', 'WARNING', 'CRITICAL'];
    const random = createRandom(7);
    const makeQuery = (): RecommendationQuery => {
      const query: RecommendationQuery = { reportId: summary.reportId, sort: random.pick(['savings', 'severity', 'name'] as const), pageSize: random.pick([20, 50]) };
      // Half the queries are the unfiltered full-table view (the worst case: sort all 5,000 rows).
      if (random.chance(0.5)) {
        if (random.chance(0.5)) query.namespace = random.pick(namespaces);
        if (random.chance(0.3)) query.kind = random.pick(kinds);
        if (random.chance(0.3)) query.name = random.pick(names);
        if (random.chance(0.3)) query.minSeverity = random.pick(severities);
        if (random.chance(0.2)) query.minChangePercent = random.pick([10, 25, 50]);
      }
      query.page = random.chance(0.7) ? 1 : random.int(2, 40);
      return query;
    };
    for (let warm = 0; warm < 30; warm += 1) session.listRecommendations(makeQuery());
    const samples: number[] = [];
    let matched = 0;
    for (let index = 0; index < queries; index += 1) {
      const query = makeQuery();
      const started = performance.now();
      const page = session.listRecommendations(query);
      samples.push(performance.now() - started);
      matched += page.total;
    }
    return { queries, load_report_ms: round(loadMs), p50_ms: round(percentile(samples, 50), 3), p99_ms: round(percentile(samples, 99), 3), max_ms: round(Math.max(...samples), 3), rows_matched: matched };
  } finally {
    session.dispose();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
