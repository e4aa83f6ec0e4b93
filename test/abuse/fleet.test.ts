// A fleet of the largest size the product accepts (fleetContextsMax contexts, here 50) scanned in one krr_scan: every
// context's report must come back and stay readable, even with older reports in the session pushing the count past
// its bound. Counts fleet_contexts_max (contexts whose report came back whole) and fleet_lost_reports (must be 0).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { parse, stringify } from 'yaml';
import { fleetContextsMax } from '../../src/core/settings';
import { startHttpHost, type HttpHost } from '../../src/mcp/http';
import { krrReportJson, requestsOnly } from '../support/krr-report';
import { human, startSessionFixture, type SessionFixture } from '../support/session-fixture';
import { count, record } from './figures';
import { connectHttp, data, textOf } from './harness';

interface Kubeconfig {
  contexts: Array<{ name: string; context: Record<string, unknown> }>;
}

/** Adds `n` contexts to the fixture's kubeconfig, each a copy of the cluster's own context under another name. */
function addContexts(kubeconfigPath: string, base: string, n: number): string[] {
  const config = parse(readFileSync(kubeconfigPath, 'utf8')) as Kubeconfig;
  const original = config.contexts.find((entry) => entry.name === base);
  assert.ok(original, `context ${base} in the fixture's kubeconfig`);
  const names = Array.from({ length: n }, (_, i) => `fleet-${String(i).padStart(2, '0')}`);
  config.contexts.push(...names.map((name) => ({ name, context: { ...original.context } })));
  writeFileSync(kubeconfigPath, stringify(config), { mode: 0o600 });
  return names;
}

describe('abuse: a fleet of the largest accepted size loses no report', function () {
  this.timeout(300_000);
  let f: SessionFixture;
  let host: HttpHost;
  let client: Client;
  let contexts: string[];

  before(async () => {
    f = await startSessionFixture();
    contexts = addContexts(f.cluster.kubeconfigPath, f.cluster.context, fleetContextsMax);
    host = await startHttpHost(f.session, { version: 'test' });
    client = await connectHttp(host, 'fleet-abuse-client');
  });
  after(async () => {
    await client.close();
    await host.close();
    await f.close();
  });

  it(`krr_scan with ${fleetContextsMax} contexts, after 15 older reports: every context's report comes back and stays readable`, async () => {
    // Older reports first, so that the fleet takes the session past its report count bound.
    for (let i = 0; i < 15; i++) {
      const file = path.join(path.dirname(f.cluster.kubeconfigPath), `older-${i}.json`);
      writeFileSync(file, krrReportJson([{ namespace: 'shop', kind: 'Deployment', name: `older-${i}`, containers: { app: { current: requestsOnly(0.5, 2 ** 29), recommended: requestsOnly(0.25, 2 ** 28) } } }]));
      await f.session.loadReport(file, human);
    }
    const scanned = (await client.callTool({ name: 'krr_scan', arguments: { contexts, namespaces: ['shop'] } }, undefined, { timeout: 280_000 })) as CallToolResult;
    assert.equal(scanned.isError, undefined, textOf(scanned));
    const fleet = data<{ fleetId: string; reports: Array<{ context: string; reportId?: string; error?: string }> }>(scanned);
    assert.deepEqual(fleet.reports.map((entry) => entry.context), contexts);
    let whole = 0;
    for (const entry of fleet.reports) {
      const readable = entry.reportId !== undefined && (() => {
        try {
          return f.session.reportSummary(entry.reportId as string).context === entry.context;
        } catch {
          return false;
        }
      })();
      if (readable) whole += 1;
      else count('fleet_lost_reports');
    }
    // The fleet's list covers every context: nothing of it was evicted by the fleet itself.
    const listed = (await client.callTool({ name: 'krr_list_recommendations', arguments: { reportId: fleet.fleetId, pageSize: 1 } })) as CallToolResult;
    assert.equal(listed.isError, undefined, textOf(listed));
    const clusters = data<{ totals: { clusters: Array<{ cluster: string }> } }>(listed).totals.clusters.map((entry) => entry.cluster);
    assert.deepEqual([...clusters].sort(), [...contexts].sort(), 'the fleet list has a total for every context');
    record('fleet_contexts_max', whole);
    assert.equal(whole, fleetContextsMax, `lost reports: ${fleet.reports.filter((entry) => entry.error).map((entry) => `${entry.context}: ${entry.error}`).join('; ')}`);
    // A single scan afterwards evicts older reports, never the newest fleet's.
    await f.session.scan({ context: contexts[0] as string, namespaces: ['data'] }, human);
    for (const entry of fleet.reports) assert.doesNotThrow(() => f.session.reportSummary(entry.reportId as string));
  });

  it(`more than ${fleetContextsMax} contexts are refused with a clear reason before any scan`, async () => {
    const tooMany = [...contexts, 'one-more'];
    const refused = (await client.callTool({ name: 'krr_scan', arguments: { contexts: tooMany } })) as CallToolResult;
    assert.equal(refused.isError, true);
    await assert.rejects(f.session.scanFleet({ contexts: tooMany }, human), new RegExp(`at most ${fleetContextsMax} contexts`));
  });
});
