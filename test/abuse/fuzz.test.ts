// Bad input, property-based (fast-check): krr reports into parseReport, tool arguments through the real MCP
// server, and garbage kubectl output into the kubectl runner. Nothing may crash: parseReport parses or throws
// ReportParseError; every tool call returns a result; the runner throws KubectlError 'bad-output'.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { parseReport, ReportParseError } from '../../src/core/krr/report';
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
    fc.assert(fc.property(mutatedReport, expectParseOrReportError), { numRuns: 400, seed });
    fc.assert(fc.property(fc.json({ maxDepth: 6 }), expectParseOrReportError), { numRuns: 200, seed });
    fc.assert(fc.property(fc.string({ unit: 'binary' }), expectParseOrReportError), { numRuns: 100, seed });
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

  it(`tool arguments through the real MCP server: every call returns a result, no argv with an invalid name (seed ${seed})`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-fuzz-'));
    const kubectl = wrapKubectl({ dir });
    const krr = wrapKrr({ dir });
    const f = await startSessionFixture({ settings: { kubectlPath: kubectl.path, krrPath: krr.path } });
    const host = await startHttpHost(f.session, { version: 'test' });
    const client = await connectHttp(host, 'fuzz-client');
    try {
      const { reportId } = data<{ reportId: string }>(await call(client, 'krr_scan'));
      const workload = fc.record({ namespace: fc.oneof(hostileString, fc.constant('shop')), kind: fc.oneof(fc.constantFrom('Deployment', 'StatefulSet'), hostileString), name: fc.oneof(hostileString, fc.constant('frontend')) });
      const calls = fc.oneof(
        fc.record({ tool: fc.constant('krr_scan'), args: fc.record({ context: hostileString, namespaces: fc.array(hostileString, { maxLength: 3 }), selector: hostileString, prometheusUrl: hostileString }, { requiredKeys: [] }) }),
        fc.record({ tool: fc.constant('krr_propose_changes'), args: fc.record({ reportId: fc.oneof(fc.constant(reportId), hostileString), workloads: fc.array(workload, { minLength: 0, maxLength: 3 }) }) }),
        fc.record({ tool: fc.constant('krr_load_report'), args: fc.record({ path: fc.oneof(hostileString, hostileString.map((s) => `/tmp/${s}`), fc.constantFrom('/etc/shadow', '/proc/self/environ', '/dev/zero', '/', 'x'.repeat(5000))) }) }),
        fc.record({ tool: fc.constant('krr_list_recommendations'), args: fc.record({ reportId: fc.oneof(fc.constant(reportId), hostileString), namespace: hostileString, pageSize: fc.oneof(fc.integer(), fc.double()), page: fc.integer() }, { requiredKeys: ['reportId'] }) }),
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
        { numRuns: 150, seed },
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
        const bad = invalidKrrArguments(argv);
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
