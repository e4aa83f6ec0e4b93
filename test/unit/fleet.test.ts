// Many clusters in one review: a fleet scan (several kube contexts, bounded parallelism, per-context errors and
// cancel), one list over every cluster's rows with totals, and proposals still bound to one context and server.
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FleetSummary } from '../../src/core/model';
import { SessionError } from '../../src/core/session/session';
import { startHttpHost, type HttpHost } from '../../src/mcp/http';
import { connectHttp, data, textOf } from '../abuse/harness';
import { human, startSessionFixture, type SessionFixture } from '../support/session-fixture';

describe('fleets: several contexts in one scan and one review', function () {
  this.timeout(180_000);
  let f: SessionFixture;
  let host: HttpHost;
  let client: Client;
  let fleet: FleetSummary;
  let contexts: string[];

  before(async () => {
    // Some cases name a Prometheus that is not there: the krr stand-in keeps its fixed numbers (KRR_STANDIN_PROMETHEUS=fixed).
    f = await startSessionFixture({ settings: { scanParallelism: 2 }, session: { env: { KRR_STANDIN_PROMETHEUS: 'fixed' } } });
    contexts = [f.cluster.context, f.cluster.stagingContext, 'no-such-context'];
    host = await startHttpHost(f.session, { version: 'test' });
    client = await connectHttp(host, 'fleet-client');
  });
  after(async () => {
    await client.close();
    await host.close();
    await f.close();
  });

  it('scans each context into its own report; a failing context does not sink the others', async () => {
    const running = new Set<string>();
    let peak = 0;
    const events: string[] = [];
    fleet = await f.session.scanFleet({ contexts, namespaces: ['shop', 'data'] }, human, {
      onProgress: (p) => {
        if (p.message === 'starting') {
          running.add(p.context);
          peak = Math.max(peak, running.size);
          events.push(`start ${p.context}`);
        }
        if (p.done) {
          running.delete(p.context);
          events.push(`${p.message === 'done' ? 'done' : 'failed'} ${p.context}`);
        }
      },
    });
    assert.ok(peak <= 2, `at most krr.scanParallelism (2) scans at once, saw ${peak}`);
    assert.deepEqual(fleet.reports.map((entry) => entry.context), contexts);
    const [prod, staging, missing] = fleet.reports;
    assert.ok(prod?.reportId && staging?.reportId && prod.reportId !== staging.reportId);
    assert.match(prod.server ?? '', /^https:\/\/127\.0\.0\.1:\d+/);
    assert.equal(missing?.reportId, undefined);
    assert.match(missing?.error ?? '', /no-such-context/);
    assert.ok(events.includes('failed no-such-context'));
    // Each report keeps its identity: context and API server.
    const summary = f.session.reportSummary(staging.reportId);
    assert.equal(summary.context, f.cluster.stagingContext);
    assert.equal(summary.server, staging.server);
    assert.equal(fleet.totals.rows, f.session.listRecommendations({ reportId: prod.reportId }).total + f.session.listRecommendations({ reportId: staging.reportId }).total);
  });

  it('one list over the fleet: rows carry their cluster, filter by cluster, totals per cluster and for the fleet', () => {
    const all = f.session.listRecommendations({ reportId: fleet.fleetId, pageSize: 500 });
    const clusters = new Set(all.rows.map((row) => row.cluster));
    assert.deepEqual([...clusters].sort(), [f.cluster.context, f.cluster.stagingContext].sort());
    assert.ok(all.totals);
    assert.equal(all.totals.fleet.rows, all.total);
    assert.equal(all.totals.clusters.reduce((sum, cluster) => sum + cluster.rows, 0), all.total);
    const fleetSavings = all.rows.reduce((sum, row) => sum + (row.monthlyCostDelta ?? 0), 0);
    assert.ok(Math.abs(all.totals.fleet.monthlyCostDelta - fleetSavings) < 0.02);
    const critical = all.rows.filter((row) => row.severity === 'CRITICAL').length;
    assert.equal(all.totals.fleet.bySeverity.CRITICAL, critical);
    const staging = f.session.listRecommendations({ reportId: fleet.fleetId, cluster: f.cluster.stagingContext, pageSize: 500 });
    assert.ok(staging.total > 0 && staging.rows.every((row) => row.cluster === f.cluster.stagingContext));
    assert.deepEqual(staging.totals?.clusters.map((cluster) => cluster.cluster), [f.cluster.stagingContext]);
    // The same rows through reportIds.
    const ids = fleet.reports.flatMap((entry) => (entry.reportId ? [entry.reportId] : []));
    assert.equal(f.session.listRecommendations({ reportId: ids[0] as string, reportIds: ids }).total, all.total);
  });

  it('a proposal from one report goes to that context and server only', async () => {
    const staging = fleet.reports[1];
    assert.ok(staging?.reportId);
    f.settings = { ...f.settings, policy: { ...f.settings.policy, maxDecreasePercent: 90 } };
    const plan = await f.session.propose({ reportId: staging.reportId, workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'checkout-api' }] }, human);
    assert.equal(plan.context, f.cluster.stagingContext);
    assert.equal(plan.server, staging.server);
    assert.equal(plan.objects.length, 1, JSON.stringify(plan.blocked));
  });

  it('cancelling one context stops only that one', async () => {
    const cancelled = new AbortController();
    cancelled.abort();
    const result = await f.session.scanFleet({ contexts: [f.cluster.context, f.cluster.stagingContext], refresh: true }, human, {
      signalFor: (context) => (context === f.cluster.stagingContext ? cancelled.signal : undefined),
    });
    assert.ok(result.reports[0]?.reportId, 'the other context finished');
    assert.equal(result.reports[1]?.reportId, undefined);
    assert.match(result.reports[1]?.error ?? '', /cancelled/);
  });

  it('one cluster label value for several contexts is refused; a context without its value fails alone', async () => {
    await assert.rejects(f.session.scanFleet({ contexts, prometheusClusterLabel: 'x' }, human), (error: unknown) => error instanceof SessionError && error.code === 'invalid-argument');
    f.settings = { ...f.settings, prometheusUrl: 'http://127.0.0.1:9/', prometheusLabel: 'cluster', prometheusClusterLabels: { [f.cluster.context]: 'eu1' } };
    try {
      const result = await f.session.scanFleet({ contexts: [f.cluster.context, f.cluster.stagingContext], refresh: true }, human);
      assert.ok(result.reports[0]?.reportId, result.reports[0]?.error);
      assert.equal(f.session.reportSummary(result.reports[0]?.reportId as string).clusterLabel, 'cluster="eu1"');
      assert.match(result.reports[1]?.error ?? '', /No Prometheus cluster label value for context staging-eu-1/);
    } finally {
      f.settings = { ...f.settings, prometheusUrl: undefined, prometheusLabel: undefined, prometheusClusterLabels: {} };
    }
  });

  it('MCP: krr_scan with contexts returns one report per context; krr_list_recommendations takes the fleet id and a cluster', async () => {
    const scanned = (await client.callTool({ name: 'krr_scan', arguments: { contexts, namespaces: ['shop'] } }, undefined, { timeout: 120_000 })) as CallToolResult;
    assert.equal(scanned.isError, undefined, textOf(scanned));
    const result = data<FleetSummary>(scanned);
    assert.deepEqual(result.reports.map((entry) => [entry.context, Boolean(entry.reportId), Boolean(entry.error)]), [
      [contexts[0], true, false],
      [contexts[1], true, false],
      ['no-such-context', false, true],
    ]);
    assert.match(textOf(scanned), /no-such-context: FAILED/);
    const listed = (await client.callTool({ name: 'krr_list_recommendations', arguments: { reportId: result.fleetId, cluster: f.cluster.stagingContext } })) as CallToolResult;
    assert.equal(listed.isError, undefined, textOf(listed));
    const page = data<{ rows: Array<{ cluster: string }>; totals: { clusters: Array<{ cluster: string }> } }>(listed);
    assert.ok(page.rows.length > 0 && page.rows.every((row) => row.cluster === f.cluster.stagingContext));
    assert.match(textOf(listed), /Cluster staging-eu-1: \d+ rows/);
    const both = (await client.callTool({ name: 'krr_scan', arguments: { context: contexts[0], contexts } })) as CallToolResult;
    assert.equal(both.isError, true);
  });
});
