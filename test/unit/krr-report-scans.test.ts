// The one-pass reading of a report's scans (src/core/krr/reportScans.ts) must agree with the zod schema exactly:
// same Report for every report the schema accepts, the schema's own error for every report it refuses. Checked on
// the sample report, on a generated 30-scan report, and on thousands of mutations of both.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { generateLargeReport } from '../../bench/generate';
import { parseReport, reportFromSchema } from '../../src/core/krr/report';
import { readScansFast } from '../../src/core/krr/reportScans';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const sample = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'sample-report.json'), 'utf8')) as { scans: Json[] };
const generated = JSON.parse(generateLargeReport({ scans: 30, seed: 7 }).text) as { scans: Json[] };

/** parseReport's answer (a Report or an error message) and the schema's, for the same JSON text. */
function both(text: string): { onePass: unknown; schema: unknown } {
  const answer = (read: () => unknown) => {
    try {
      return read();
    } catch (error) {
      return { error: (error as Error).message };
    }
  };
  return { onePass: answer(() => parseReport(text)), schema: answer(() => reportFromSchema(JSON.parse(text))) };
}

/** Every path to a value inside one scan (object keys and array indices). */
function pathsOf(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const paths: Array<Array<string | number>> = [prefix];
  if (Array.isArray(value)) value.forEach((item, index) => paths.push(...pathsOf(item, [...prefix, index])));
  else if (value && typeof value === 'object') for (const [key, item] of Object.entries(value)) paths.push(...pathsOf(item, [...prefix, key]));
  return paths;
}

// A JSON object with an own `__proto__` key, as JSON.parse makes it (an object literal would set the prototype instead).
const ownProtoKey = JSON.parse('{"__proto__":"x","team":"a"}') as Json;

const replacement: fc.Arbitrary<Json | undefined> = fc.oneof(
  fc.constantFrom<Json | undefined>(undefined, null, true, false, 0, -0, -1, 0.5, 2 ** 60, 1e308, '', '?', 'x'.repeat(64), 'x'.repeat(254), 'Deployment', 'CRITICAL', [], {}, ownProtoKey),
  fc.string({ maxLength: 5 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

function mutate(report: { scans: Json[] }, scanIndex: number, pathIndex: number, value: Json | undefined): string {
  const copy = structuredClone(report) as { scans: Json[] };
  const scan = copy.scans[scanIndex % copy.scans.length] as Json;
  const paths = pathsOf(scan);
  const path = paths[pathIndex % paths.length] ?? [];
  if (path.length === 0) {
    if (value === undefined) copy.scans.splice(scanIndex % copy.scans.length, 1);
    else copy.scans[scanIndex % copy.scans.length] = value;
    return JSON.stringify(copy);
  }
  let parent = scan as Record<string | number, Json>;
  for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<string | number, Json>;
  const last = path[path.length - 1] as string | number;
  if (value === undefined) delete parent[last];
  else parent[last] = value;
  return JSON.stringify(copy);
}

describe('krr report: the one-pass reading of scans', () => {
  it('reads valid reports in one pass (the schema is not the path taken) and gives what the schema gives', () => {
    for (const report of [sample, generated]) {
      assert.ok(readScansFast(report.scans), 'a valid report is read in one pass');
      const { onePass, schema } = both(JSON.stringify(report));
      assert.ok(!('error' in (schema as object)), 'the schema accepts it');
      assert.deepEqual(onePass, schema);
    }
  });

  it('gives up on what it is not sure of: the schema decides, with its own message', () => {
    const badName = structuredClone(sample) as { scans: Array<{ object: { name: string } }> };
    badName.scans[1]!.object.name = 'x'.repeat(254);
    assert.equal(readScansFast(badName.scans), null);
    const { onePass, schema } = both(JSON.stringify(badName));
    assert.deepEqual(onePass, schema);
    assert.match((onePass as { error: string }).error, /^Invalid krr report: scans\[1\]\.object\.name: expected at most 253 characters/);
  });

  it('leaves labels with an own __proto__ key to the schema, which drops that key', () => {
    const report = structuredClone(sample) as { scans: Array<{ object: { labels: Json } }> };
    report.scans[0]!.object.labels = ownProtoKey;
    assert.equal(readScansFast(report.scans), null);
    const { onePass, schema } = both(JSON.stringify(report));
    assert.deepEqual(onePass, schema);
  });

  it('agrees with the schema on every mutation of one value in a scan (1,000 runs)', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.nat(), fc.nat(), replacement, (useSample, scanIndex, pathIndex, value) => {
        const text = mutate(useSample ? sample : generated, scanIndex, pathIndex, value);
        const { onePass, schema } = both(text);
        assert.deepEqual(onePass, schema);
      }),
      { numRuns: 1000, seed: 20261206 },
    );
  });
});
