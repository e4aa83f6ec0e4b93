// Bad input, property-based (fast-check): krr reports into parseReport, report file paths (FIFOs, devices,
// directories, symlinks) into parseReportFile, name globs into the matcher, Prometheus URLs into the
// auth-header rule and krr's argv, tool arguments through the real MCP server, and garbage kubectl output
// into the kubectl runner. Nothing may crash: parseReport parses or throws ReportParseError; every tool call
// returns a result; the runner throws KubectlError 'bad-output'; the header only ever goes with the
// configured URL.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { decidePrometheusAuth, normalisePrometheusUrl } from '../../src/core/krr/prometheusAuth';
import { parseReport, parseReportFile, ReportParseError } from '../../src/core/krr/report';
import { buildKrrArgs, KrrError } from '../../src/core/krr/runner';
import { matchesGlob } from '../../src/core/settings';
import { Kubectl, KubectlError } from '../../src/core/kube/kubectl';
import { startHttpHost } from '../../src/mcp/http';
import { invalidKrrArguments, invalidKubectlArguments, wrapKrr, wrapKubectl } from '../support/kubectl-wrapper';
import { startSessionFixture } from '../support/session-fixture';
import { count } from './figures';
import { call, connectHttp, data } from './harness';

const sample = readFileSync(path.resolve(__dirname, '..', 'support', 'krr-standin', 'sample-report.json'), 'utf8');
const seed = Number(process.env.ABUSE_FUZZ_SEED ?? Date.now() % 1_000_000);

const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('--all', '-n', '-n kube-system', '--namespace=kube-system', '$(id)', '`id`', '; rm -rf /', '| cat /etc/passwd', '../../etc/passwd', '/etc/passwd', 'a\0b', 'x'.repeat(300), 'shop\n--all', 'ünïcödé-名前', 'snap-20250101T000000Z-abcdef/../x', '--kubeconfig=/etc/shadow', 'file:///etc/passwd', 'http://[::1', '-o=yaml'),
);

function rawTokens(): fc.Arbitrary<string> {
  return fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e400', '-1e400', '-0', '-1', '1e308', '123456789012345678901234567890', '"NaN"', '"Infinity"', '"-5"', '"1e99"', 'true', '[]', '{}', '"?"', 'null');
}

/** The sample report with one value replaced (at a random place) by a hostile JSON token or value. */
const mutatedReport = fc
  .record({ scan: fc.nat(20), key: fc.constantFrom('object', 'recommended', 'allocations', 'severity', 'name', 'namespace', 'kind', 'container', 'requests', 'limits', 'cpu', 'memory', 'value', 'pods', 'hpa', 'scans', 'score', 'strategy'), token: fc.oneof(rawTokens(), fc.json(), hostileString.map((s) => JSON.stringify(s))) })
  .map(({ scan, key, token }) => {
    const report = JSON.parse(sample) as { scans: unknown[] };
    const marker = '"__MARKER__"';
    const replaceIn = (node: unknown, depth: number): boolean => {
      if (node === null || typeof node !== 'object') return false;
      for (const k of Object.keys(node)) {
        if (k === key && depth >= 0) {
          (node as Record<string, unknown>)[k] = '__MARKER__';
          return true;
        }
        if (replaceIn((node as Record<string, unknown>)[k], depth + 1)) return true;
      }
      return false;
    };
    const target = report.scans[scan % report.scans.length];
    if (!replaceIn(target, 0)) replaceIn(report, 0);
    return JSON.stringify(report).replace(marker, token);
  });

/** Glob characters and name characters, biased towards the backtracking shapes (`*a*a*…`). */
const globText = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'b', '-', '.', '*', '?', 'A'), maxLength: 40 }),
  fc.nat(60).map((n) => `${'*a'.repeat(n)}b`),
  fc.nat(120).map((n) => `*${'?'.repeat(n)}*`),
);
const nameText = fc.oneof(fc.string({ unit: fc.constantFrom('a', 'b', '-', '.', 'A'), maxLength: 60 }), fc.nat(253).map((n) => 'a'.repeat(n)));

/** Reference semantics, by dynamic programming (slow, obviously right): `*` any run, `?` one character. */
function globReference(value: string, pattern: string): boolean {
  const v = value.toLowerCase();
  const p = pattern.toLowerCase();
  let row = Array.from({ length: v.length + 1 }, (_, j) => j === 0);
  for (const char of p) {
    const next = Array.from({ length: v.length + 1 }, () => false);
    for (let j = 0; j <= v.length; j += 1) {
      if (char === '*') next[j] = (row[j] ?? false) || (j > 0 && (next[j - 1] ?? false));
      else next[j] = j > 0 && (row[j - 1] ?? false) && (char === '?' || char === v[j - 1]);
    }
    row = next;
  }
  return row[v.length] ?? false;
}

const configuredUrl = 'http://127.0.0.1:9/prom';
/** URLs that are, or nearly are, the configured one, and plain hostile text. */
const prometheusUrl = fc.oneof(
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc
    .record({
      scheme: fc.constantFrom('http', 'https', 'HTTP', 'ftp', 'file', 'javascript'),
      userinfo: fc.constantFrom('', 'u@', 'u:p@', '%40@', 'a@b@'),
      host: fc.constantFrom('127.0.0.1', '127.0.0.1.', '0x7f.1', '2130706433', 'localhost', 'LOCALHOST', 'localhost.', '[::1]', 'evil.example', '127.0.0.1@evil.example', 'evil.example#@127.0.0.1'),
      port: fc.constantFrom('', ':9', ':09', ':80', ':9090', ':65536', ':'),
      path: fc.constantFrom('', '/', '/prom', '/prom/', '/PROM', '/prom/..', '/prom/../prom', '/%70rom', '/prom//', '/prom?', '/prom?x=1', '/prom#f', '/prom\\x', '/prom%2f..'),
    })
    .map(({ scheme, userinfo, host, port, path: p }) => `${scheme}://${userinfo}${host}${port}${p}`),
  hostileString,
);

/** Paths to special files (made per run) and to hostile names; parseReportFile must refuse or parse, quickly. */
function specialFiles(dir: string): string[] {
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const sub = path.join(dir, 'sub');
  mkdirSync(sub);
  const links: string[] = [];
  for (const [name, target] of [['zero.json', '/dev/zero'], ['fifo.yaml', fifo], ['loop.json', path.join(dir, 'loop.json')], ['dangling.json', path.join(dir, 'absent')], ['dir.json', sub]] as const) {
    const link = path.join(dir, name);
    symlinkSync(target, link);
    links.push(link);
  }
  const good = path.join(dir, 'good.json');
  writeFileSync(good, sample);
  const truncated = path.join(dir, 'truncated.json');
  writeFileSync(truncated, sample.slice(0, 9000));
  return [fifo, sub, good, truncated, ...links, '/dev/zero', '/dev/urandom', '/dev/null', '/dev/stdin', '/proc/self/environ', '/proc/self/mem', '/', '/etc', '/nonexistent'];
}

function expectParseOrReportError(text: string): void {
  count('fuzz_cases');
  try {
    parseReport(text);
  } catch (error) {
    if (!(error instanceof ReportParseError)) {
      count('crashes');
      throw error;
    }
  }
}

describe('abuse: fuzzing bad input', function () {
  this.timeout(180_000);

  it(`krr reports: parse or ReportParseError, never anything else (seed ${seed})`, () => {
    fc.assert(fc.property(mutatedReport, expectParseOrReportError), { numRuns: 3000, seed });
    fc.assert(fc.property(fc.json({ maxDepth: 6 }), expectParseOrReportError), { numRuns: 1000, seed });
    fc.assert(fc.property(fc.string({ unit: 'binary' }), expectParseOrReportError), { numRuns: 1000, seed });
    const scans = (JSON.parse(sample) as { scans: unknown[] }).scans;
    const special = [
      JSON.stringify({ ...JSON.parse(sample), scans: [...scans, ...scans, ...scans] }), // duplicate rows
      `{"scans": [], "score": 0, "strategy": {"name": "simple", "settings": {}}, "description": "${'x'.repeat(10 * 1024 * 1024)}"}`, // a 10 MB string
      '['.repeat(100_000) + ']'.repeat(100_000), // deep nesting
      `{"scans": ${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`,
      sample.replace(/"shop"/g, '"шоп-🛒"'),
      sample.replace(/"requests"/g, '"requests", "requests"'),
      '',
      'null',
      '\uFEFF' + sample,
    ];
    for (const text of special) expectParseOrReportError(text);
  });

  it(`report file paths (FIFOs, devices, directories, symlinks, hostile names): parse or ReportParseError, quickly (seed ${seed})`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-fuzz-files-'));
    try {
      const special = specialFiles(dir);
      const filePath = fc.oneof(fc.constantFrom(...special), hostileString.map((s) => path.join(dir, s)), hostileString.map((s) => `/dev/${s}`));
      await fc.assert(
        fc.asyncProperty(filePath, async (file) => {
          count('fuzz_cases');
          const started = Date.now();
          try {
            await parseReportFile(file);
          } catch (error) {
            if (!(error instanceof ReportParseError)) {
              count('crashes');
              throw error;
            }
          }
          assert.ok(Date.now() - started < 5000, `${file} took ${Date.now() - started} ms`);
        }),
        { numRuns: 1000, seed },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`name globs: the iterative matcher agrees with the reference and never takes long (seed ${seed})`, () => {
    fc.assert(
      fc.property(nameText, globText, (name, glob) => {
        count('fuzz_cases');
        const started = performance.now();
        let got: boolean;
        try {
          got = matchesGlob(name, glob);
        } catch (error) {
          count('crashes');
          throw error;
        }
        assert.ok(performance.now() - started < 50, `${glob} over a ${name.length}-character name took ${performance.now() - started} ms`);
        assert.equal(got, globReference(name, glob), `${JSON.stringify(glob)} vs ${JSON.stringify(name)}`);
      }),
      { numRuns: 2000, seed },
    );
  });

  it(`Prometheus URLs: the header goes only with the configured URL, and krr's argv stays valid (seed ${seed})`, () => {
    fc.assert(
      fc.property(prometheusUrl, (url) => {
        count('fuzz_cases');
        let args: string[];
        try {
          const decision = decidePrometheusAuth({ header: 'Bearer fuzz-secret', configuredUrl, effectiveUrl: url });
          if (decision.send) assert.equal(normalisePrometheusUrl(url), normalisePrometheusUrl(configuredUrl), `${url} got the header`);
          args = buildKrrArgs({ krrPath: 'krr', strategy: 'simple', prometheusUrl: url, ...(decision.send ? { prometheusAuthHeader: 'Bearer fuzz-secret' } : {}) });
        } catch (error) {
          if (error instanceof KrrError && error.kind === 'usage') return;
          count('crashes');
          throw error;
        }
        const bad = invalidKrrArguments(args, { configuredPrometheusUrl: configuredUrl });
        count('unvalidated_argv', bad.length > 0 ? 1 : 0);
        assert.deepEqual(bad, [], args.join(' '));
      }),
      { numRuns: 2000, seed },
    );
  });

  it(`tool arguments through the real MCP server: every call returns a result, no argv with an invalid name (seed ${seed})`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-fuzz-'));
    const kubectl = wrapKubectl({ dir });
    const krr = wrapKrr({ dir });
    const f = await startSessionFixture({
      settings: { kubectlPath: kubectl.path, krrPath: krr.path, prometheusUrl: configuredUrl },
      // configuredUrl has no Prometheus behind it: the krr stand-in keeps its fixed numbers.
      session: { env: { KRR_STANDIN_PROMETHEUS: 'fixed' }, secrets: { prometheusAuthHeader: async () => 'Bearer fuzz-secret' } },
    });
    const special = specialFiles(dir);
    const host = await startHttpHost(f.session, { version: 'test' });
    const client = await connectHttp(host, 'fuzz-client');
    try {
      const { reportId } = data<{ reportId: string }>(await call(client, 'krr_scan'));
      const workload = fc.record({ namespace: fc.oneof(hostileString, fc.constant('shop')), kind: fc.oneof(fc.constantFrom('Deployment', 'StatefulSet'), hostileString), name: fc.oneof(hostileString, fc.constant('frontend')) });
      const calls = fc.oneof(
        fc.record({ tool: fc.constant('krr_scan'), args: fc.record({ context: hostileString, namespaces: fc.array(hostileString, { maxLength: 3 }), selector: hostileString, prometheusUrl: hostileString }, { requiredKeys: [] }) }),
        fc.record({ tool: fc.constant('krr_scan'), args: fc.record({ prometheusUrl: prometheusUrl, refresh: fc.boolean() }) }),
        fc.record({ tool: fc.constant('krr_list_recommendations'), args: fc.record({ reportId: fc.constant(reportId), name: globText }) }),
        fc.record({ tool: fc.constant('krr_load_report'), args: fc.record({ path: fc.constantFrom(...special) }) }),
        fc.record({ tool: fc.constant('krr_propose_changes'), args: fc.record({ reportId: fc.oneof(fc.constant(reportId), hostileString), workloads: fc.array(workload, { minLength: 0, maxLength: 3 }) }) }),
        fc.record({ tool: fc.constant('krr_load_report'), args: fc.record({ path: fc.oneof(hostileString, hostileString.map((s) => `/tmp/${s}`), fc.constantFrom('/etc/shadow', '/proc/self/environ', '/dev/zero', '/', 'x'.repeat(5000))) }) }),
        fc.record({ tool: fc.constant('krr_list_recommendations'), args: fc.record({ reportId: fc.oneof(fc.constant(reportId), hostileString), namespace: hostileString, pageSize: fc.oneof(fc.integer(), fc.double()), page: fc.integer() }, { requiredKeys: ['reportId'] }) }),
        // No Prometheus listens at configuredUrl: the evidence is "unavailable", with the header sent nowhere else.
        fc.record({ tool: fc.constant('krr_explain'), args: fc.record({ reportId: fc.oneof(fc.constant(reportId), hostileString), namespace: fc.oneof(fc.constant('shop'), hostileString), kind: fc.oneof(fc.constant('Deployment'), hostileString), name: fc.oneof(fc.constant('frontend'), hostileString), container: hostileString }, { requiredKeys: ['reportId', 'namespace', 'kind', 'name'] }) }),
        fc.record({ tool: fc.constant('krr_apply_plan'), args: fc.record({ planId: hostileString }) }),
        fc.record({ tool: fc.constant('krr_rollback'), args: fc.record({ snapshotId: hostileString, objects: fc.array(workload, { maxLength: 2 }) }, { requiredKeys: ['snapshotId'] }) }),
        fc.record({ tool: fc.constant('krr_audit_log'), args: fc.record({ action: hostileString, since: hostileString, pageSize: fc.integer() }, { requiredKeys: [] }) }),
        fc.record({ tool: fc.constant('krr_status'), args: fc.dictionary(hostileString, hostileString, { maxKeys: 2 }) }),
        fc.record({ tool: fc.constant('krr_propose_changes'), args: fc.record({ reportId: fc.constant(reportId), workloads: fc.constant(Array.from({ length: 500 }, () => ({ namespace: 'shop', kind: 'Deployment', name: 'frontend' }))) }) }),
      );
      await fc.assert(
        fc.asyncProperty(calls, async ({ tool, args }) => {
          count('fuzz_cases');
          try {
            const result = await call(client, tool, args);
            assert.ok(Array.isArray(result.content), 'a tool result');
          } catch (error) {
            count('crashes');
            throw error;
          }
        }),
        { numRuns: 300, seed },
      );
      // Still serving, and nothing was written (the human declines by default; nothing could approve).
      assert.equal(data<{ reachable: boolean }>(await call(client, 'krr_status')).reachable, true);
      assert.equal(f.cluster.writes().length, 0);
      for (const argv of kubectl.argvs()) {
        const bad = invalidKubectlArguments(argv);
        count('unvalidated_argv', bad.length > 0 ? 1 : 0);
        assert.deepEqual(bad, [], argv.join(' '));
      }
      for (const argv of krr.argvs()) {
        const bad = invalidKrrArguments(argv, { configuredPrometheusUrl: configuredUrl });
        count('unvalidated_argv', bad.length > 0 ? 1 : 0);
        assert.deepEqual(bad, [], argv.join(' '));
      }
      assert.ok(kubectl.argvs().length > 0 && krr.argvs().length > 0, 'the wrappers saw the calls');
    } finally {
      await client.close();
      await host.close();
      await f.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`garbage kubectl output: the runner throws KubectlError 'bad-output', never crashes (seed ${seed})`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-kubectl-out-'));
    const outputFile = path.join(dir, 'stdout');
    const kubectl = new Kubectl({ kubectlPath: wrapKubectl({ dir, printFile: outputFile }).path, context: 'prod-eu-1' });
    const ref = { kind: 'Deployment' as const, namespace: 'shop', name: 'frontend' };
    const operations = [() => kubectl.getObject(ref), () => kubectl.listObjects('Deployment', 'shop'), () => kubectl.version(), () => kubectl.patchJson(ref, [{ op: 'test', path: '/x', value: 1 }], { dryRun: true })];
    const garbage = fc.oneof(fc.string({ unit: 'binary' }), fc.json({ maxDepth: 4 }), fc.constantFrom('{"kind":"Deployment"}', '{"metadata":{"name":1}}', '{"items":[{}]}', '{"clientVersion":{}}', '\u0000\u0001', 'null', '[]', '{'.repeat(5000)));
    try {
      await fc.assert(
        fc.asyncProperty(garbage, fc.nat(operations.length - 1), async (text, which) => {
          count('fuzz_cases');
          writeFileSync(outputFile, text);
          try {
            await (operations[which] as () => Promise<unknown>)();
            // Output that happens to be valid for the call is fine; nothing else is.
          } catch (error) {
            if (!(error instanceof KubectlError && error.kind === 'bad-output')) {
              count('crashes');
              throw error;
            }
          }
        }),
        { numRuns: 120, seed },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
