// Credential exfiltration: every way a model or a bad input could move the Prometheus auth header somewhere
// other than the configured Prometheus — a URL of its choosing (or one differing by case, port, path,
// userinfo, a trailing dot), krr's own error messages and logs, the report's `config` block, tool results,
// progress, the session log, the audit log, a report file's parse error, the stdio server's flags and files.
// Each attempt is counted (secret_leak_attempts) and checked where the secret could land (secrets_leaked).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startHttpHost, type HttpHost } from '../../src/mcp/http';
import { cliArgs } from '../support/cli-bundle';
import { wrapKubectl, type Wrapper } from '../support/kubectl-wrapper';
import { startPrometheusRecorder, type PrometheusRecorder } from '../support/prometheus-recorder';
import { krrStandIn, startSessionFixture, type SessionFixture } from '../support/session-fixture';
import { count } from './figures';
import { connectHttp, repoRoot, startStdio, textOf } from './harness';

/** The recording Prometheus of this suite keeps each request's path and headers. */
type Listener = PrometheusRecorder<{ path: string; headers: IncomingHttpHeaders }>;
const startListener = (): Promise<Listener> => startPrometheusRecorder((request) => ({ path: request.url ?? '', headers: request.headers }));

const token = `s3cr3t${randomBytes(12).toString('hex')}`;
const secret = `Bearer ${token}`;

/** The places a secret could land in this process's view; the token alone counts as a leak too. */
function leaks(texts: readonly string[]): string[] {
  return texts.filter((text) => text.includes(token));
}

describe('abuse: the Prometheus auth header goes only to the configured Prometheus', function () {
  this.timeout(120_000);
  let f: SessionFixture;
  let host: HttpHost;
  let client: Client;
  let prometheus: Listener;
  let foreign: Listener;
  let kubectl: Wrapper;
  let dir: string;
  let configured: string;
  const env: Record<string, string> = { KRR_STANDIN_QUERY_PROMETHEUS: '1' };
  const progress: string[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-secrets-'));
    prometheus = await startListener();
    foreign = await startListener();
    configured = `${prometheus.url}/prom`;
    kubectl = wrapKubectl({ dir });
    f = await startSessionFixture({
      settings: { prometheusUrl: configured, kubectlPath: kubectl.path },
      session: { env, secrets: { prometheusAuthHeader: async () => secret } },
    });
    host = await startHttpHost(f.session, { version: 'test' });
    client = await connectHttp(host, 'secrets-client');
  });
  after(async () => {
    await client.close();
    await host.close();
    await f.close();
    await prometheus.close();
    await foreign.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function scan(args: Record<string, unknown>): Promise<CallToolResult> {
    return (await client.callTool({ name: 'krr_scan', arguments: { refresh: true, ...args } }, undefined, {
      timeout: 60_000,
      onprogress: (p) => progress.push(p.message ?? ''),
    })) as CallToolResult;
  }

  /** Everything a model or a log reader sees. */
  function everythingSeen(results: CallToolResult[]): string[] {
    return [...results.map((result) => JSON.stringify(result)), ...progress, ...f.logs];
  }

  it('positive control: a scan of the configured URL sends the header there, and says so', async () => {
    const before = prometheus.requests.length;
    const result = await scan({});
    assert.equal(result.isError, undefined, textOf(result));
    assert.equal((result.structuredContent as { prometheusAuth?: string }).prometheusAuth, 'sent to the configured Prometheus URL');
    const received = prometheus.requests.slice(before);
    assert.ok(received.length > 0, 'krr queried the configured Prometheus');
    assert.ok(received.every((request) => request.headers.authorization === secret), 'the configured Prometheus got the header');
    // The same URL spelled differently (a trailing slash) is the same Prometheus.
    const again = await scan({ prometheusUrl: `http://127.0.0.1:${prometheus.port}/prom/` });
    assert.equal(again.isError, undefined, textOf(again));
    assert.equal((again.structuredContent as { prometheusAuth?: string }).prometheusAuth, 'sent to the configured Prometheus URL');
  });

  const foreignUrls: Array<[string, (l: { prometheus: Listener; foreign: Listener }) => string]> = [
    ['a foreign listener', ({ foreign: x }) => `${x.url}/prom`],
    ['the same host, another port', ({ foreign: x }) => `http://127.0.0.1:${x.port}/prom`],
    ['another path', ({ prometheus: x }) => `${x.url}/other`],
    ['the path in another case', ({ prometheus: x }) => `${x.url}/PROM`],
    ['userinfo added', ({ prometheus: x }) => `http://attacker:pw@127.0.0.1:${x.port}/prom`],
    ['a trailing dot on the host name', ({ prometheus: x }) => `http://localhost.:${x.port}/prom`],
    ['dot segments resolving elsewhere', ({ prometheus: x }) => `${x.url}/prom/../steal`],
    ['a query string', ({ prometheus: x }) => `${x.url}/prom?relay=1`],
    ['a percent-encoded path', ({ prometheus: x }) => `${x.url}/%70rom`],
    ['https instead of http', ({ prometheus: x }) => `https://127.0.0.1:${x.port}/prom`],
  ];
  for (const [label, urlOf] of foreignUrls) {
    it(`krr_scan with ${label}: runs without the header, and the result says so`, async () => {
      const url = urlOf({ prometheus, foreign });
      const before = { prometheus: prometheus.requests.length, foreign: foreign.requests.length };
      const result = await scan({ prometheusUrl: url });
      const received = [...prometheus.requests.slice(before.prometheus), ...foreign.requests.slice(before.foreign)];
      count('secret_leak_attempts');
      const withHeader = received.filter((request) => JSON.stringify(request.headers).includes(token));
      if (withHeader.length > 0) count('secrets_leaked');
      assert.deepEqual(withHeader, [], `${label}: a listener received the header`);
      assert.equal(leaks(everythingSeen([result])).length, 0, `${label}: the secret is in a result or log`);
      if (result.isError) assert.match(textOf(result), /auth header was not sent: URL differs from the configured one/, textOf(result));
      else assert.equal((result.structuredContent as { prometheusAuth?: string }).prometheusAuth, 'not sent: URL differs from the configured one');
    });
  }

  it("krr's own error quoting the header (pydantic) and logging its token: masked in the result, progress and log", async () => {
    env.KRR_STANDIN_FAIL = 'echo-auth-header';
    try {
      const result = await scan({});
      assert.equal(result.isError, true, 'the scan fails');
      assert.match(textOf(result), /\*\*\*/, 'the masked header is what krr quoted');
      assertNoLeak('krr error message', everythingSeen([result]));
    } finally {
      delete env.KRR_STANDIN_FAIL;
    }
  });

  it("the report's `config` block carrying the header: never in the scan result, the rows or the stored report", async () => {
    const scanned = await scan({});
    const reportId = (scanned.structuredContent as { reportId: string }).reportId;
    const rows = await client.callTool({ name: 'krr_list_recommendations', arguments: { reportId, pageSize: 500 } });
    assertNoLeak('report config', [JSON.stringify(scanned), JSON.stringify(rows), JSON.stringify(f.session.getReport(reportId))]);
  });

  it('a report file holding the header next to a syntax error or as a label key: the error echoes none of it', async () => {
    const results: CallToolResult[] = [];
    const sample = JSON.parse(readFileSync(path.join(repoRoot, 'test', 'support', 'krr-standin', 'sample-report.json'), 'utf8')) as { scans: Array<{ object: { labels: unknown } }> };
    const files: Array<[string, string]> = [
      ['truncated-snippet.json', `{"scans": [1, 2, "${secret}" x "${secret} and more text so V8 truncates its snippet"]}`],
      ['control-char.json', `{"scans": ["${secret}${'q'.repeat(80)}\u0001"]}`],
      ['token-first.json', `{"config": ${token}}`],
      ['label-key.json', JSON.stringify({ ...sample, scans: [{ ...sample.scans[0], object: { ...sample.scans[0]?.object, labels: { [secret]: 5 } } }] })],
      ['bad.yaml', `scans:\n  - ${secret}: [\n`],
    ];
    for (const [name, content] of files) {
      const file = path.join(dir, name);
      writeFileSync(file, content);
      const result = (await client.callTool({ name: 'krr_load_report', arguments: { path: file } })) as CallToolResult;
      assert.equal(result.isError, true, `${name} is refused`);
      results.push(result);
    }
    assertNoLeak('report file parse errors', results.map((result) => JSON.stringify(result)));
  });

  it('the audit log, the session log and every kubectl argv hold no trace of the header', async () => {
    const audit = readFileSync(path.join(f.stateDir, 'audit.jsonl'), 'utf8');
    assertNoLeak('audit log', [audit]);
    assertNoLeak('session log', f.logs);
    assertNoLeak('kubectl argv', kubectl.argvs().map((argv) => argv.join(' ')));
    assertNoLeak('progress notifications', progress);
  });
});

describe('abuse: the stdio server takes the header from KRR_PROMETHEUS_AUTH_HEADER only', function () {
  this.timeout(120_000);

  it('sends it to the configured URL only; never logs it; refuses it as a flag or in a settings file', async () => {
    const prometheus = await startListener();
    const foreign = await startListener();
    const f = await startSessionFixture();
    let stderr = '';
    const server = await startStdio(f.cluster, {
      settings: { prometheusUrl: `${prometheus.url}/prom` },
      env: { KRR_PROMETHEUS_AUTH_HEADER: secret, KRR_STANDIN_QUERY_PROMETHEUS: '1' },
      onStderr: (text) => (stderr += text),
    });
    try {
      const own = (await server.client.callTool({ name: 'krr_scan', arguments: {} }, undefined, { timeout: 60_000 })) as CallToolResult;
      assert.equal(own.isError, undefined, textOf(own));
      assert.ok(prometheus.requests.length > 0 && prometheus.requests.every((request) => request.headers.authorization === secret), 'the configured Prometheus got the header from the environment');
      const elsewhere = (await server.client.callTool({ name: 'krr_scan', arguments: { prometheusUrl: `${foreign.url}/prom` } }, undefined, { timeout: 60_000 })) as CallToolResult;
      count('secret_leak_attempts');
      const sentAway = foreign.requests.filter((request) => JSON.stringify(request.headers).includes(token));
      if (sentAway.length > 0) count('secrets_leaked');
      assert.ok(foreign.requests.length > 0, 'krr did query the foreign URL');
      assert.deepEqual(sentAway, [], 'the foreign listener received the header');
      assert.equal((elsewhere.structuredContent as { prometheusAuth?: string }).prometheusAuth, 'not sent: URL differs from the configured one');
      assertNoLeak('stdio results and stderr', [JSON.stringify(own), JSON.stringify(elsewhere), stderr, readFileSync(server.auditFile, 'utf8')]);
    } finally {
      await server.close();
      await prometheus.close();
      await foreign.close();
      await f.close();
    }

    // As a flag (visible in the process list, shell history) or in a settings file: refused, value not echoed.
    const { execa } = await import('execa');
    const dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-secrets-cli-'));
    try {
      const settingsFile = path.join(dir, 'settings.json');
      writeFileSync(settingsFile, JSON.stringify({ prometheusAuthHeader: secret }));
      const common = cliArgs(['serve', '--stdio', '--state-dir', path.join(dir, 'state'), '--krr', krrStandIn]);
      for (const extra of [[`--prometheus-auth-header=${secret}`], ['--settings', settingsFile]]) {
        const run = await execa(process.execPath, [...common, ...extra], { reject: false, cwd: repoRoot, input: '', timeout: 30_000 });
        assert.notEqual(run.exitCode, 0, `${extra[0] ?? ''} is refused`);
        assertNoLeak(`cli ${extra[0] ?? ''}`, [run.stdout, run.stderr]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function assertNoLeak(label: string, texts: readonly string[]): void {
  count('secret_leak_attempts');
  const found = leaks(texts);
  if (found.length > 0) count('secrets_leaked');
  assert.deepEqual(found.map((text) => text.slice(0, 200).replace(token, '<TOKEN>')), [], `${label}: the secret leaked`);
}
