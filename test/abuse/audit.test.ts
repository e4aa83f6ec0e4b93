// The audit log under abuse: kill -9 in the middle of appends (no acknowledged entry may be lost) and
// tampering of every kind (verify() must notice each one).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AuditLog, canonicalJson } from '../../src/core/audit';
import { runAuditKillTest } from '../support/audit-kill';
import { count } from './figures';

const iterations = Number(process.env.ABUSE_AUDIT_KILLS ?? 100);

/** A forger who knows the format: a line with a correct own hash (but no way to fix the lines after it). */
function forge(entry: Record<string, unknown>): string {
  const { hash: _hash, mac, ...rest } = entry;
  return canonicalJson({ ...rest, hash: createHash('sha256').update(canonicalJson(rest)).digest('hex'), ...(mac === undefined ? {} : { mac }) });
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

  it('every kind of tampering is detected by verify(), and the next append refuses to write over it', async () => {
    const file = path.join(dir, 'audit.jsonl');
    const log = await AuditLog.open(file);
    const heads = new Map<number, string>();
    for (let i = 0; i < 8; i++) {
      await log.append({ action: i % 2 ? 'write' : 'propose', actor: { type: 'model', via: 'test' }, context: 'prod-eu-1', planId: `plan-${i}`, objects: [{ namespace: 'shop', kind: 'Deployment', name: `app-${i}` }], outcome: 'ok', detail: { n: i } });
      heads.set(i + 1, readFileSync(`${file}.head`, 'utf8'));
    }
    assert.equal((await log.verify()).valid, true);
    const original = readFileSync(file, 'utf8');
    const key = readFileSync(`${file}.key`, 'utf8');
    const lines = original.split('\n').slice(0, -1);
    const entry = (i: number) => JSON.parse(lines[i] as string) as Record<string, unknown>;
    const join = (list: string[]) => `${list.join('\n')}\n`;
    const fresh = (list: string[]) => join(rechain(list.map((line) => JSON.parse(line) as Record<string, unknown>), { keepMac: true }));
    const stripped = (list: string[]) => join(rechain(list.map((line) => JSON.parse(line) as Record<string, unknown>), { keepMac: false }));
    // Each case: the log's new text, and optionally the head and key files' new text (null = deleted).
    type Case = { log?: string; head?: string | null; key?: string | null };
    const cases: Array<[string, Case]> = [
      ['modify a field (re-serialised canonically)', { log: join(lines.map((line, i) => (i === 3 ? canonicalJson({ ...entry(3), outcome: 'declined' }) : line))) }],
      ['modify a field in place', { log: original.replace('"name":"app-2"', '"name":"app-9"') }],
      ['modify a field and recompute its own hash', { log: join(lines.map((line, i) => (i === 4 ? forge({ ...entry(4), context: 'staging' }) : line))) }],
      ['delete a middle line', { log: join(lines.filter((_, i) => i !== 3)) }],
      ['delete the first line', { log: join(lines.slice(1)) }],
      ['reorder two lines', { log: join(lines.map((line, i) => (i === 2 ? (lines[3] as string) : i === 3 ? (lines[2] as string) : line))) }],
      ['insert a forged line', { log: join([...lines.slice(0, 4), forge({ ...entry(3), seq: 5, prev: entry(4).prev, action: 'approve', actor: { type: 'human', via: 'approval dialog' } }), ...lines.slice(4)]) }],
      ['truncate a middle line, keep the rest', { log: join(lines.map((line, i) => (i === 5 ? line.slice(0, line.length / 2) : line))) }],
      ['add whitespace inside a line', { log: original.replace('"outcome":"ok"', '"outcome": "ok"') }],
      ['trailing whitespace on a line', { log: join(lines.map((line, i) => (i === 1 ? `${line} ` : line))) }],
      ['CRLF line endings', { log: original.replace(/\n/g, '\r\n') }],
      ['flip one hash digit', { log: original.replace(/"hash":"([0-9a-f])/, (_, digit: string) => `"hash":"${digit === '0' ? '1' : '0'}`) }],
    ];
    // The end of the log, its head and its key: what a hash chain alone cannot see, and what an append
    // would paper over if it went on writing.
    const endCases: Array<[string, Case]> = [
      ['delete the last line', { log: join(lines.slice(0, -1)) }],
      ['delete the last 3 lines', { log: join(lines.slice(0, -3)) }],
      ['delete every line', { log: '' }],
      ['torn tail: the last line cut mid-way (no newline)', { log: original.slice(0, original.length - Math.floor((lines[7] as string).length / 2)) }],
      ['torn tail: the last line replaced with garbage', { log: join([...lines.slice(0, -1), 'x'.repeat(120)]) }],
      ['torn tail: the last line replaced with zeros', { log: `${join(lines.slice(0, -1))}${'\0'.repeat(300)}\n` }],
      ['re-chain the whole file with fresh sha256 hashes after editing an entry', { log: fresh(lines.map((line, i) => (i === 2 ? canonicalJson({ ...entry(2), outcome: 'declined' }) : line))) }],
      ['re-chain after deleting the last 2 lines', { log: fresh(lines.slice(0, -2)) }],
      ['remove every MAC and re-chain', { log: stripped(lines) }],
      ['remove every MAC, re-chain and delete the head', { log: stripped(lines.slice(0, -2)), head: null }],
      ['delete the head file', { head: null }],
      ['head file rolled back to an older copy (3 entries back)', { head: heads.get(5) as string }],
      ['head file rolled back to the previous copy', { head: heads.get(7) as string }],
      ['head file edited (seq lowered)', { head: (heads.get(8) as string).replace(/"seq":8/, '"seq":6') }],
      ['head file damaged', { head: '{"v":1' }],
      ['key missing', { key: null }],
      ['key replaced by another key', { key: JSON.stringify({ v: 1, key: randomBytes(32).toString('base64'), legacyEntries: 0 }) }],
      ['key damaged', { key: 'not a key' }],
    ];
    const undetected: string[] = [];
    const appended: string[] = [];
    for (const [index, [name, change]] of [...cases, ...endCases].entries()) {
      const atEnd = index >= cases.length;
      const caseDir = path.join(dir, `case-${index}`);
      mkdirSync(caseDir);
      const copy = path.join(caseDir, 'audit.jsonl');
      writeFileSync(copy, change.log ?? original);
      const put = (suffix: string, text: string | null | undefined, otherwise: string) => {
        if (text !== null) writeFileSync(`${copy}${suffix}`, text ?? otherwise, { mode: 0o600 });
      };
      put('.head', change.head, heads.get(8) as string);
      put('.key', change.key, key);
      assert.ok(change.log !== undefined || change.head !== undefined || change.key !== undefined, `${name} changes something`);
      count('tampering_cases');
      // The verifier knows only the files in front of it: no original length, no original text.
      const verify = await (await AuditLog.open(copy).catch(() => ({ verify: async () => ({ valid: false }) }))).verify();
      if (!verify.valid) count('tampering_detected');
      else undetected.push(name);
      // Appending on over a damaged end would write a new head for it and hide the damage: it must refuse.
      // A break in the middle stays in the file whatever is appended after it.
      const before = readFileSync(copy);
      const writer = await AuditLog.open(copy).catch(() => undefined);
      if (writer) {
        const wrote = await writer.append({ action: 'scan', actor: { type: 'system', via: 'test' }, outcome: 'ok' }).then(
          () => true,
          () => false,
        );
        if (atEnd && wrote) appended.push(name);
        if (!wrote) assert.deepEqual(readFileSync(copy), before, `${name}: a refused append leaves the log as it was`);
        if (wrote) assert.equal((await writer.verify()).valid, false, `${name}: still detected after an append`);
      }
    }
    assert.deepEqual(undetected, [], 'every tampering is detected');
    assert.deepEqual(appended, [], 'no append goes on over a tampered log');
  });

  it('a torn tail from a crash is reported, then cut on the next append and recorded in the chain', async () => {
    const file = path.join(dir, 'audit.jsonl');
    const log = await AuditLog.open(file);
    for (let i = 0; i < 3; i++) await log.append({ action: 'scan', actor: { type: 'system', via: 'test' }, outcome: 'ok' });
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"action":"wri`, { flag: 'w' });
    const torn = await AuditLog.open(file);
    assert.deepEqual(await torn.verify(), { valid: true, entries: 3, legacyEntries: 0, tornTail: true });
    await torn.append({ action: 'scan', actor: { type: 'system', via: 'test' }, outcome: 'ok' });
    const { entries } = await torn.read({ actions: ['repair'] });
    assert.deepEqual(entries.map((e) => [e.seq, e.outcome, e.detail?.bytes]), [[4, 'torn-tail-cut', 14]]);
    assert.deepEqual(await torn.verify(), { valid: true, entries: 5, legacyEntries: 0, tornTail: false });
  });
});

/** Recomputes `prev` and `hash` for every entry from the first on: what a forger without the key can do. */
function rechain(entries: Array<Record<string, unknown>>, options: { keepMac: boolean }): string[] {
  let prev = '0'.repeat(64);
  return entries.map((original, index) => {
    const { hash: _hash, mac, prev: _prev, ...rest } = original;
    const unsigned = { ...rest, seq: index + 1, prev };
    const line = canonicalJson({ ...unsigned, hash: createHash('sha256').update(canonicalJson(unsigned)).digest('hex'), ...(options.keepMac ? { mac } : {}) });
    prev = createHash('sha256').update(line).digest('hex');
    return line;
  });
}
