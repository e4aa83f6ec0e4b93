// The audit log under abuse: kill -9 in the middle of appends (no acknowledged entry may be lost) and
// tampering of every kind (verify() must notice each one).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AuditLog, canonicalJson } from '../../src/core/audit';
import { runAuditKillTest } from '../support/audit-kill';
import { count } from './figures';

const iterations = Number(process.env.ABUSE_AUDIT_KILLS ?? 30);

/** A forger who knows the format: a line with a correct own hash (but no way to fix the lines after it). */
function forge(entry: Record<string, unknown>): string {
  const { hash: _hash, ...rest } = entry;
  return canonicalJson({ ...rest, hash: createHash('sha256').update(canonicalJson(rest)).digest('hex') });
}

describe('abuse: audit log', function () {
  this.timeout(180_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-audit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it(`kill -9 during appends, ${iterations} times: no acknowledged entry lost, the chain verifies`, async () => {
    const result = await runAuditKillTest(iterations, { filePath: path.join(dir, 'audit.jsonl') });
    count('audit_kill_iterations', result.iterations);
    count('audit_lost_entries', result.lost.length);
    assert.ok(result.acknowledged.length >= iterations, 'every writer acknowledged at least one entry');
    assert.deepEqual(result.lost, []);
    assert.equal(result.verify.valid, true, result.verify.reason);
  });

  it('every kind of tampering is detected by verify()', async () => {
    const file = path.join(dir, 'audit.jsonl');
    const log = await AuditLog.open(file);
    for (let i = 0; i < 8; i++) {
      await log.append({ action: i % 2 ? 'write' : 'propose', actor: { type: 'model', via: 'test' }, context: 'prod-eu-1', planId: `plan-${i}`, objects: [{ namespace: 'shop', kind: 'Deployment', name: `app-${i}` }], outcome: 'ok', detail: { n: i } });
    }
    assert.equal((await log.verify()).valid, true);
    const original = readFileSync(file, 'utf8');
    const lines = original.split('\n').slice(0, -1);
    const entry = (i: number) => JSON.parse(lines[i] as string) as Record<string, unknown>;
    const join = (list: string[]) => `${list.join('\n')}\n`;
    const cases: Array<[string, string]> = [
      ['modify a field (re-serialised canonically)', join(lines.map((line, i) => (i === 3 ? canonicalJson({ ...entry(3), outcome: 'declined' }) : line)))],
      ['modify a field in place', original.replace('"name":"app-2"', '"name":"app-9"')],
      ['modify a field and recompute its own hash', join(lines.map((line, i) => (i === 4 ? forge({ ...entry(4), context: 'staging' }) : line)))],
      ['delete a middle line', join(lines.filter((_, i) => i !== 3))],
      ['delete the first line', join(lines.slice(1))],
      ['reorder two lines', join(lines.map((line, i) => (i === 2 ? (lines[3] as string) : i === 3 ? (lines[2] as string) : line)))],
      ['insert a forged line', join([...lines.slice(0, 4), forge({ ...entry(3), seq: 5, prev: entry(4).prev, action: 'approve', actor: { type: 'human', via: 'approval dialog' } }), ...lines.slice(4)])],
      ['truncate a middle line, keep the rest', join(lines.map((line, i) => (i === 5 ? line.slice(0, line.length / 2) : line)))],
      ['truncate the file mid-line', original.slice(0, original.length - Math.floor((lines[7] as string).length / 2))],
      ['add whitespace inside a line', original.replace('"outcome":"ok"', '"outcome": "ok"')],
      ['trailing whitespace on a line', join(lines.map((line, i) => (i === 1 ? `${line} ` : line)))],
      ['CRLF line endings', original.replace(/\n/g, '\r\n')],
      ['flip one hash digit', original.replace(/"hash":"([0-9a-f])/, (_, digit: string) => `"hash":"${digit === '0' ? '1' : '0'}`)],
    ];
    const undetected: string[] = [];
    for (const [name, text] of cases) {
      assert.notEqual(text, original, `${name} changes the file`);
      const copy = path.join(dir, `tampered-${cases.findIndex((c) => c[0] === name)}.jsonl`);
      writeFileSync(copy, text);
      const verify = await (await AuditLog.open(copy)).verify();
      count('tampering_cases');
      // A cut-off last line is indistinguishable from a crash mid-append: verify() reports it as a torn tail,
      // and the entries it vouches for are fewer than were written.
      const detected = !verify.valid || (verify.tornTail && verify.entries < lines.length);
      if (detected) count('tampering_detected');
      else undetected.push(name);
    }
    assert.deepEqual(undetected, [], 'every tampering is detected');
  });
});
