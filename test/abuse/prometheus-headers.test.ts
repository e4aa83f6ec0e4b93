// krr.prometheusHeaders (krr -H, e.g. Mimir's X-Scope-OrgID or a gateway token) are secrets under the same rule as
// the Prometheus auth header: sent only to the configured krr.prometheusUrl, never to a URL from a tool call, and
// never in a log line, a tool result, progress, the audit log, an error or the stored report.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startHttpHost, type HttpHost } from '../../src/mcp/http';
import { startPrometheusRecorder, type PrometheusRecorder } from '../support/prometheus-recorder';
import { startSessionFixture, type SessionFixture } from '../support/session-fixture';
import { count } from './figures';
import { connectHttp, textOf } from './harness';

/** The recording Prometheus of this suite keeps each request's headers. */
type Listener = PrometheusRecorder<IncomingHttpHeaders>;
const startListener = (): Promise<Listener> => startPrometheusRecorder((request) => request.headers);

const tenant = `tenant${randomBytes(10).toString('hex')}`;

describe('abuse: krr.prometheusHeaders go only to the configured Prometheus and are never shown', function () {
  this.timeout(120_000);
  let f: SessionFixture;
  let host: HttpHost;
  let client: Client;
  let prometheus: Listener;
  let foreign: Listener;
  const progress: string[] = [];
  const results: CallToolResult[] = [];
  const env: Record<string, string> = { KRR_STANDIN_QUERY_PROMETHEUS: '1', KRR_STANDIN_ECHO_ARGS: '1' };

  before(async () => {
    prometheus = await startListener();
    foreign = await startListener();
    f = await startSessionFixture({ settings: { prometheusUrl: `${prometheus.url}/prom`, prometheusHeaders: [`X-Scope-OrgID: ${tenant}`] }, session: { env } });
    host = await startHttpHost(f.session, { version: 'test' });
    client = await connectHttp(host, 'headers-client');
  });
  after(async () => {
    await client.close();
    await host.close();
    await f.close();
    await prometheus.close();
    await foreign.close();
  });

  async function scan(args: Record<string, unknown>): Promise<CallToolResult> {
    const result = (await client.callTool({ name: 'krr_scan', arguments: { refresh: true, ...args } }, undefined, { timeout: 60_000, onprogress: (p) => progress.push(p.message ?? '') })) as CallToolResult;
    results.push(result);
    return result;
  }

  it('positive control: the configured Prometheus gets the headers', async () => {
    const result = await scan({});
    assert.equal(result.isError, undefined, textOf(result));
    assert.ok(prometheus.requests.length > 0 && prometheus.requests.every((headers) => headers['x-scope-orgid'] === tenant));
  });

  it('a prometheusUrl from the tool call runs without them, and the result says so', async () => {
    count('secret_leak_attempts');
    const result = await scan({ prometheusUrl: `${foreign.url}/prom` });
    assert.equal(result.isError, undefined, textOf(result));
    const leaked = foreign.requests.filter((headers) => JSON.stringify(headers).includes(tenant));
    if (leaked.length > 0) count('secrets_leaked');
    assert.ok(foreign.requests.length > 0, 'krr queried the foreign URL');
    assert.deepEqual(leaked, []);
    assert.match(textOf(result), /Prometheus headers of krr\.prometheusHeaders were not sent \(URL differs from the configured one\)/);
  });

  it("krr's validation error quoting them (pydantic) is masked", async () => {
    count('secret_leak_attempts');
    f.settings = { ...f.settings, prometheusHeaders: [`X-Scope-OrgID: ${tenant}`, `X-Token: ${tenant}`] };
    env.KRR_STANDIN_FAIL = 'exit0-no-json';
    try {
      const result = await scan({});
      assert.equal(result.isError, true);
    } finally {
      delete env.KRR_STANDIN_FAIL;
    }
  });

  it('no trace of them in results, progress, the session log, the audit log or the stored reports', async () => {
    const audit = readFileSync(path.join(f.stateDir, 'audit.jsonl'), 'utf8');
    const reports = results.flatMap((result) => {
      const id = (result.structuredContent as { reportId?: string } | undefined)?.reportId;
      return id ? [JSON.stringify(f.session.getReport(id)), JSON.stringify(f.session.reportSummary(id))] : [];
    });
    const seen = [...results.map((result) => JSON.stringify(result)), ...progress, ...f.logs, audit, ...reports];
    const leaks = seen.filter((text) => text.includes(tenant));
    if (leaks.length > 0) count('secrets_leaked');
    assert.deepEqual(leaks.map((text) => text.slice(0, 200)), []);
    assert.ok(f.logs.some((line) => line.includes('--prometheus-headers=***')), 'the logged command shows the flag, masked');
  });
});
