// Resource exhaustion: inputs that would block a thread, read without end, burn CPU or keep memory forever
// — FIFOs, devices, directories, huge files, symlinks to devices, pathological globs, very long names,
// floods of reports and plans. Each case must answer within 5 s (a per-case deadline; over it = a hang).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { maxReportFileBytes } from '../../src/core/krr/report';
import { sessionLimits } from '../../src/core/session/session';
import { startHttpHost, type HttpHost } from '../../src/mcp/http';
import { model, startSessionFixture, type SessionFixture } from '../support/session-fixture';
import { count } from './figures';
import { connectHttp, repoRoot, textOf } from './harness';

const perCallDeadlineMs = 5000;

/** Runs one case under the deadline (per call it makes: `calls`); a case still running at the deadline is a hang. */
async function withinDeadline<T>(label: string, run: () => Promise<T>, calls = 1): Promise<T> {
  const deadlineMs = perCallDeadlineMs * calls;
  count('resource_exhaustion_cases');
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => resolve('hang'), deadlineMs);
  });
  const started = Date.now();
  try {
    const outcome = await Promise.race([run(), deadline]);
    if (outcome === 'hang') {
      count('hangs');
      assert.fail(`${label}: no answer within ${deadlineMs} ms`);
    }
    // A CPU-bound case blocks this process's event loop (the server runs here too), so the timer cannot fire
    // while it runs: measure the elapsed time as well.
    if (Date.now() - started >= deadlineMs) {
      count('hangs');
      assert.fail(`${label}: answered after ${Date.now() - started} ms, over the ${deadlineMs} ms deadline`);
    }
    return outcome as T;
  } finally {
    clearTimeout(timer);
  }
}

const sampleText = readFileSync(path.join(repoRoot, 'test', 'support', 'krr-standin', 'sample-report.json'), 'utf8');
type SampleScan = { object: Record<string, unknown> };
const sample = JSON.parse(sampleText) as { scans: SampleScan[] };

/** The sample report with every workload renamed (and its namespace/container set). */
function reportWith(object: Record<string, unknown>): string {
  return JSON.stringify({ ...sample, scans: sample.scans.map((scan) => ({ ...scan, object: { ...scan.object, ...object } })) });
}

describe('abuse: resource exhaustion', function () {
  this.timeout(120_000);
  let f: SessionFixture;
  let host: HttpHost;
  let client: Client;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-exhaustion-'));
    f = await startSessionFixture();
    host = await startHttpHost(f.session, { version: 'test' });
    client = await connectHttp(host, 'exhaustion-client');
  });
  after(async () => {
    await client.close();
    await host.close();
    await f.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function tool(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    return (await client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;
  }

  async function load(file: string): Promise<CallToolResult> {
    return tool('krr_load_report', { path: file });
  }

  const fifo = () => {
    const file = path.join(dir, `fifo-${Math.random().toString(16).slice(2)}`);
    execFileSync('mkfifo', [file]);
    return file;
  };
  const refusals: Array<[string, () => string | Promise<string>, RegExp]> = [
    ['a FIFO nobody writes to', fifo, /is a FIFO; only a regular file/],
    ['/dev/zero', () => '/dev/zero', /is a device; only a regular file/],
    ['/dev/urandom', () => '/dev/urandom', /is a device; only a regular file/],
    ['a directory', () => dir, /is a directory; only a regular file/],
    [
      `a sparse file over the ${maxReportFileBytes / 1024 / 1024} MB bound`,
      async () => {
        const file = path.join(dir, 'huge.json');
        await truncate(file, maxReportFileBytes + 1).catch(async () => {
          writeFileSync(file, '');
          await truncate(file, maxReportFileBytes + 1);
        });
        return file;
      },
      /over the 200 MB limit/,
    ],
    [
      'a symlink to /dev/zero named like a report',
      () => {
        const link = path.join(dir, 'zero.json');
        symlinkSync('/dev/zero', link);
        return link;
      },
      /is a device/,
    ],
    [
      'a symlink to a FIFO named like a YAML report',
      () => {
        const link = path.join(dir, 'fifo.yaml');
        symlinkSync(fifo(), link);
        return link;
      },
      /is a FIFO/,
    ],
  ];
  for (const [label, make, expected] of refusals) {
    it(`krr_load_report of ${label}: refused at once`, async () => {
      const file = await make();
      const result = await withinDeadline(label, () => load(file));
      assert.equal(result.isError, true, textOf(result));
      assert.match(textOf(result), expected);
    });
  }

  it('very long names in a report (object > 253, namespace or container > 63 characters): refused, naming the path', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ name: 'a'.repeat(254) }, /scans\[0\]\.object\.name: expected at most 253 characters/],
      [{ namespace: 'n'.repeat(64) }, /scans\[0\]\.object\.namespace: expected at most 63 characters/],
      [{ container: 'c'.repeat(64) }, /scans\[0\]\.object\.container: expected at most 63 characters/],
    ];
    for (const [object, expected] of cases) {
      const file = path.join(dir, `long-${Object.keys(object)[0] ?? ''}.json`);
      writeFileSync(file, reportWith(object));
      const result = await withinDeadline(`long ${Object.keys(object).join()}`, () => load(file));
      assert.equal(result.isError, true);
      assert.match(textOf(result), expected);
    }
  });

  it('a pathological name glob over 253-character names answers at once (no backtracking regex)', async () => {
    const file = path.join(dir, 'longest-names.json');
    writeFileSync(file, reportWith({ name: 'a'.repeat(253) }));
    const loaded = await load(file);
    assert.equal(loaded.isError, undefined, textOf(loaded));
    const reportId = (loaded.structuredContent as { reportId: string }).reportId;
    // With the old glob-to-regex, the first takes ~4 s per row (7 rows); five stars would take minutes.
    for (const name of [`${'*a'.repeat(4)}b`, `${'*a'.repeat(12)}b`, `${'a*'.repeat(40)}?b`, `*${'?'.repeat(200)}*b`]) {
      const result = await withinDeadline(`glob ${name.slice(0, 20)}…`, () => tool('krr_list_recommendations', { reportId, name }));
      assert.equal(result.isError, undefined, textOf(result));
      assert.equal((result.structuredContent as { total: number }).total, 0);
    }
  });

  it('a flood of reports past the bound: the oldest are evicted, and the model is told so', async () => {
    const file = path.join(dir, 'flood.json');
    writeFileSync(file, sampleText);
    const ids: string[] = [];
    const loads = sessionLimits.reports + 5;
    await withinDeadline(`${loads} report loads`, async () => {
      for (let index = 0; index < loads; index += 1) ids.push((((await load(file)).structuredContent as { reportId: string }) ?? { reportId: '' }).reportId);
    });
    const oldest = await tool('krr_list_recommendations', { reportId: ids[0] });
    assert.equal(oldest.isError, true);
    assert.match(textOf(oldest), new RegExp(`Report ${ids[0] ?? '-'} was evicted \\(limit ${sessionLimits.reports} reports / 512 MB\\); scan again`));
    const newest = await tool('krr_list_recommendations', { reportId: ids.at(-1) });
    assert.equal(newest.isError, undefined, textOf(newest));
  });
});

describe('abuse: resource exhaustion under small bounds (bytes, plans)', function () {
  this.timeout(120_000);

  it('reports past the byte bound and plans past the count bound are evicted, oldest first, with a message', async () => {
    const f = await startSessionFixture({ session: { limits: { reportBytes: Buffer.byteLength(sampleText) * 2 + 10, plans: 2 } } });
    const dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-bounds-'));
    try {
      const file = path.join(dir, 'report.json');
      writeFileSync(file, sampleText);
      const first = await withinDeadline('report bytes flood', async () => {
        const loaded = [];
        for (let index = 0; index < 4; index += 1) loaded.push((await f.session.loadReport(file, model)).reportId);
        return loaded;
      });
      assert.throws(() => f.session.getReport(first[0] ?? ''), new RegExp(`was evicted \\(limit ${sessionLimits.reports} reports / 0 MB\\); scan again`));
      assert.throws(() => f.session.getReport(first[1] ?? ''), /was evicted/);
      assert.ok(f.session.getReport(first[3] ?? ''));

      const reportId = first[3] ?? '';
      const workloads = [{ namespace: 'shop', kind: 'Deployment', name: 'frontend' }];
      // Three proposals, each reading the live object and dry-running on the real control plane: each gets the deadline.
      const plans = await withinDeadline(
        'plan flood',
        async () => {
          const ids = [];
          for (let index = 0; index < 3; index += 1) ids.push((await f.session.propose({ reportId, workloads }, model)).id);
          return ids;
        },
        3,
      );
      const outcome = await f.session.apply(plans[0] ?? '', model);
      assert.equal(outcome.status, 'unknown');
      assert.match(outcome.message, /Plan .* was evicted \(limit 2 plans/);
      assert.equal(f.human.asked.length, 0, 'nobody was asked about an evicted plan');
      assert.ok(f.session.getPlan(plans[2] ?? ''));
    } finally {
      await f.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
