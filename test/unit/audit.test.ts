import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AuditLog, AuditLogError, canonicalJson, redactSecrets, type AuditEntry, type AuditRecord } from '../../src/core/audit';
import { runAuditKillTest } from '../support/audit-kill';

const record = (overrides: Partial<AuditRecord> = {}): AuditRecord => ({
  action: 'propose',
  actor: { type: 'model', via: 'claude-code' },
  context: 'kind-dev',
  server: 'https://127.0.0.1:6443',
  planId: 'plan-1',
  objects: [{ namespace: 'shop', kind: 'Deployment', name: 'api', resourceVersion: '42' }],
  outcome: 'ok',
  ...overrides,
});

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

async function linesOf(filePath: string): Promise<string[]> {
  const text = await readFile(filePath, 'utf8');
  return text.split('\n').filter((line) => line.length > 0);
}

async function writeLines(filePath: string, lines: string[]): Promise<void> {
  await writeFile(filePath, lines.map((line) => `${line}\n`).join(''));
}

/** An attacker's line: correct seq, prev and hash for its position, so only the next line can tell. */
function forgeLine(previousLine: string, fields: AuditRecord): string {
  const previous = JSON.parse(previousLine) as { seq: number };
  const unsigned = { ...fields, seq: previous.seq + 1, time: new Date().toISOString(), prev: sha256(previousLine) };
  return canonicalJson({ ...unsigned, hash: sha256(canonicalJson(unsigned)) });
}

describe('audit log', () => {
  let directory: string;
  let file: string;

  beforeEach(async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), 'krr-audit-'));
    file = path.join(directory, 'nested', 'audit.jsonl');
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  async function logWith(count: number): Promise<AuditLog> {
    const log = await AuditLog.open(file);
    for (let index = 0; index < count; index += 1) await log.append(record({ planId: `plan-${index + 1}` }));
    return log;
  }

  it('chains entries: seq from 1, prev = sha256 of the previous line, and verifies', async () => {
    const log = await logWith(5);
    const lines = await linesOf(file);
    assert.equal(lines.length, 5);
    const first = JSON.parse(lines[0]!) as { seq: number; prev: string };
    assert.equal(first.seq, 1);
    assert.equal(first.prev, '0'.repeat(64));
    const third = JSON.parse(lines[2]!) as { seq: number; prev: string };
    assert.equal(third.seq, 3);
    assert.equal(third.prev, sha256(lines[1]!));
    assert.deepEqual(await log.verify(), { valid: true, entries: 5, legacyEntries: 0, tornTail: false });
    // A fresh open continues the chain from the file, not from memory.
    const reopened = await AuditLog.open(file);
    const sixth = await reopened.append(record());
    assert.equal(sixth.seq, 6);
    assert.equal(sixth.prev, sha256(lines[4]!));
    assert.equal((await reopened.verify()).valid, true);
  });

  it('returns the entry exactly as stored and keeps the file private (0600)', async () => {
    const log = await AuditLog.open(file);
    const entry = await log.append(record({ detail: { ratio: Number.NaN } }));
    const [line] = await linesOf(file);
    assert.deepEqual(entry, JSON.parse(line!));
    assert.equal(entry.detail?.ratio, null);
    const { stat } = await import('node:fs/promises');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it('detects a modified field at that line', async () => {
    const log = await logWith(5);
    const lines = await linesOf(file);
    lines[2] = lines[2]!.replace('"outcome":"ok"', '"outcome":"declined"');
    await writeLines(file, lines);
    const result = await log.verify();
    assert.equal(result.valid, false);
    assert.equal(result.firstBrokenLine, 3);
    assert.equal(result.entries, 2);
  });

  it('detects a modified line whose own hash was recomputed, at that line (its MAC no longer matches)', async () => {
    const log = await logWith(5);
    const lines = await linesOf(file);
    const edited: Record<string, unknown> = { ...(JSON.parse(lines[1]!) as Record<string, unknown>), outcome: 'declined' };
    const { hash: _hash, ...rest } = edited;
    const { mac: _mac, ...unkeyed } = rest;
    lines[1] = canonicalJson({ ...rest, hash: sha256(canonicalJson(unkeyed)) });
    await writeLines(file, lines);
    const result = await log.verify();
    assert.equal(result.valid, false);
    assert.equal(result.firstBrokenLine, 2);
    assert.match(result.reason ?? '', /MAC does not match/);
  });

  it('detects a whitespace-only edit (lines must stay canonical)', async () => {
    const log = await logWith(3);
    const lines = await linesOf(file);
    lines[2] = lines[2]!.replace('"outcome":', '"outcome": ');
    await writeLines(file, lines);
    assert.equal((await log.verify()).firstBrokenLine, 3);
  });

  it('detects a deleted line', async () => {
    const log = await logWith(5);
    const lines = await linesOf(file);
    lines.splice(1, 1);
    await writeLines(file, lines);
    const result = await log.verify();
    assert.equal(result.valid, false);
    assert.equal(result.firstBrokenLine, 2);
  });

  it('detects a deleted first line', async () => {
    const log = await logWith(3);
    await writeLines(file, (await linesOf(file)).slice(1));
    assert.equal((await log.verify()).firstBrokenLine, 1);
  });

  it('detects two swapped lines', async () => {
    const log = await logWith(5);
    const lines = await linesOf(file);
    [lines[1], lines[2]] = [lines[2]!, lines[1]!];
    await writeLines(file, lines);
    const result = await log.verify();
    assert.equal(result.valid, false);
    assert.equal(result.firstBrokenLine, 2);
  });

  it('detects an inserted forged line even when its own seq, prev and hash are right', async () => {
    const log = await logWith(5);
    const lines = await linesOf(file);
    const forged = forgeLine(lines[1]!, record({ action: 'approve', actor: { type: 'human', via: 'review-panel' } }));
    lines.splice(2, 0, forged);
    await writeLines(file, lines);
    const result = await log.verify();
    assert.equal(result.valid, false);
    assert.equal(result.firstBrokenLine, 3, result.reason);
    assert.match(result.reason ?? '', /no MAC after keyed entries/);
  });

  it('tolerates a torn last line (no newline): reports it, and the next append cuts it, records the cut, and chains to the last complete entry', async () => {
    await logWith(3);
    const complete = await readFile(file, 'utf8');
    const half = forgeLine((await linesOf(file))[2]!, record()).slice(0, 40);
    await appendFile(file, half);

    const log = await AuditLog.open(file);
    assert.equal(log.tornTail, true);
    assert.deepEqual(await log.verify(), { valid: true, entries: 3, legacyEntries: 0, tornTail: true });
    assert.equal((await log.read()).total, 3);
    assert.equal(await log.export('jsonl'), complete);

    const fifth = await log.append(record());
    const after = await linesOf(file);
    const repair = JSON.parse(after[3]!) as AuditEntry;
    assert.equal(repair.seq, 4);
    assert.equal(repair.prev, sha256(after[2]!));
    assert.deepEqual([repair.action, repair.outcome, repair.detail?.bytes, repair.detail?.afterSeq], ['repair', 'torn-tail-cut', half.length, 3]);
    assert.equal(fifth.seq, 5);
    assert.deepEqual(await log.verify(), { valid: true, entries: 5, legacyEntries: 0, tornTail: false });
    // The torn bytes are kept beside the log, not silently destroyed.
    const sideFiles = (await readdir(path.dirname(file))).filter((name) => name.startsWith('audit.jsonl.torn-'));
    assert.equal(sideFiles.length, 1);
    assert.equal(await readFile(path.join(path.dirname(file), sideFiles[0]!), 'utf8'), half);
  });

  it('treats a final line of zeros (power cut) as torn', async () => {
    await logWith(2);
    await appendFile(file, Buffer.concat([Buffer.alloc(300), Buffer.from('\n')]));
    const log = await AuditLog.open(file);
    assert.equal(log.tornTail, true);
    assert.deepEqual(await log.verify(), { valid: true, entries: 2, legacyEntries: 0, tornTail: true });
    assert.equal((await log.append(record())).seq, 4, 'after the entry that records the cut');
    assert.deepEqual(await log.verify(), { valid: true, entries: 4, legacyEntries: 0, tornTail: false });
  });

  it('refuses to open a log whose last complete line is JSON but not an entry', async () => {
    await logWith(2);
    await appendFile(file, '{"hello":"world"}\n');
    await assert.rejects(AuditLog.open(file), (error: unknown) => error instanceof AuditLogError && error.code === 'damaged');
  });

  it('finds the tail when the last entry is larger than the tail window', async () => {
    const log = await AuditLog.open(file);
    await log.append(record());
    await log.append(record({ detail: { notes: 'n'.repeat(200_000) } }));
    const reopened = await AuditLog.open(file);
    const third = await reopened.append(record());
    assert.equal(third.seq, 3);
    assert.equal((await reopened.verify()).valid, true);
  });

  it('serialises 200 concurrent appends (also across two AuditLog objects on one file)', async () => {
    const first = await AuditLog.open(file);
    const second = await AuditLog.open(file);
    const entries = await Promise.all(
      Array.from({ length: 200 }, (_, index) => (index % 2 === 0 ? first : second).append(record({ planId: `plan-${index}` }))),
    );
    assert.deepEqual(
      entries.map((entry) => entry.seq).sort((a, b) => a - b),
      Array.from({ length: 200 }, (_, index) => index + 1),
    );
    assert.deepEqual(await first.verify(), { valid: true, entries: 200, legacyEntries: 0, tornTail: false });
  });

  it('throws when the entry cannot be written, so callers can refuse the cluster write', async () => {
    const log = await AuditLog.open(file);
    await rm(path.dirname(file), { recursive: true });
    await mkdir(file, { recursive: true }); // the log path is now a directory
    await assert.rejects(log.append(record()), (error: unknown) => error instanceof AuditLogError && error.code === 'write-failed');
  });

  it('leaves no half line when a write fails part-way (file size limit), and the chain stays valid', async () => {
    await logWith(2);
    const before = await readFile(file, 'utf8');
    const modulePath = path.resolve('src/core/audit.ts');
    const script = `
      import { AuditLog } from ${JSON.stringify(modulePath)};
      const log = await AuditLog.open(${JSON.stringify(file)});
      try {
        await log.append({ action: 'write', actor: { type: 'system', via: 'test' }, outcome: 'ok', detail: { big: 'b'.repeat(20000) } });
        console.log('appended');
      } catch (error) { console.log('refused:' + error.code); }`;
    const limit = String(before.length + 8192); // the big line is cut short by RLIMIT_FSIZE
    const { execa } = await import('execa'); // tests load as CommonJS; execa's dependencies export only `import`
    const result = await execa('prlimit', [`--fsize=${limit}`, process.execPath, '--import', 'tsx', '--input-type=module', '-e', script]);
    assert.equal(result.stdout.trim(), 'refused:write-failed');
    assert.equal(await readFile(file, 'utf8'), before);
    const log = await AuditLog.open(file);
    assert.equal(log.tornTail, false);
    assert.equal((await log.append(record())).seq, 3);
    assert.equal((await log.verify()).valid, true);
  });

  it('survives kill -9 at random moments: every acknowledged entry is there and the chain verifies', async function () {
    this.timeout(180_000);
    const result = await runAuditKillTest(20, { filePath: file });
    assert.equal(result.iterations, 20);
    assert.ok(result.acknowledged.length >= 20, `only ${result.acknowledged.length} acknowledged`);
    assert.deepEqual(result.lost, []);
    assert.equal(result.verify.valid, true, result.verify.reason);
    assert.ok(result.verify.entries >= Math.max(...result.acknowledged));
  });

  it('never writes secrets from detail (or anywhere in the record)', async () => {
    const log = await AuditLog.open(file);
    const entry = await log.append(
      record({
        server: 'https://admin:hunter2@10.0.0.1:6443',
        detail: {
          authorization: 'Bearer qwz-secret', // not hex: a hash or MAC in the line cannot contain it by chance
          prometheus_auth_header: 'Bearer promsecret',
          config: { prometheus_url: 'http://prom', token: 'inner' },
          nested: { 'X-Auth-Token': 'tok123', list: [{ password: 'pw1' }] },
          message: 'request failed with header Bearer eyJhbGciOi.sig-part',
          kept: 'resources changed',
        },
      }),
    );
    const text = await readFile(file, 'utf8');
    for (const secret of ['qwz-secret', 'promsecret', 'inner', 'prometheus_url', 'tok123', 'pw1', 'eyJhbGciOi', 'hunter2']) {
      assert.ok(!text.includes(secret), `${secret} reached the file`);
    }
    assert.ok(text.includes('resources changed'));
    assert.equal(entry.detail?.message, 'request failed with header Bearer [redacted]');
    assert.equal(entry.server, 'https://[redacted]@10.0.0.1:6443');
  });

  it('redactSecrets drops secret keys at any depth and copies the rest', () => {
    const circular: Record<string, unknown> = { name: 'x' };
    circular.self = circular;
    assert.deepEqual(redactSecrets({ a: 1, Authorization: 'x', auth_header: 'y', apiKey: 'k', list: ['Basic dXNlcjpwYXNz'], circular, when: new Date(0) }), {
      a: 1,
      list: ['Basic [redacted]'],
      circular: { name: 'x', self: '[circular]' },
      when: '1970-01-01T00:00:00.000Z',
    });
  });

  it('keys the chain: a 0600 key file and an HMAC\'d head beside the log, and the key in neither the log nor the head', async () => {
    await logWith(3);
    const { stat } = await import('node:fs/promises');
    assert.equal((await stat(`${file}.key`)).mode & 0o777, 0o600);
    assert.equal((await stat(`${file}.head`)).mode & 0o777, 0o600);
    const key = (JSON.parse(await readFile(`${file}.key`, 'utf8')) as { key: string }).key;
    const keyHex = Buffer.from(key, 'base64').toString('hex');
    for (const text of [await readFile(file, 'utf8'), await readFile(`${file}.head`, 'utf8')]) {
      assert.ok(!text.includes(key) && !text.includes(keyHex), 'the key is not written next to what it protects');
    }
    const head = JSON.parse(await readFile(`${file}.head`, 'utf8')) as { seq: number; line: string };
    assert.equal(head.seq, 3);
    assert.equal(head.line, sha256((await linesOf(file))[2]!));
    for (const line of await linesOf(file)) assert.match((JSON.parse(line) as { mac?: string }).mac ?? '', /^[0-9a-f]{64}$/);
  });

  it('keeps a key store it is given (SecretStorage in VS Code) and writes no key file then', async () => {
    let stored: string | undefined;
    const keys = { description: 'test secret storage', read: async () => stored, write: async (record: string) => void (stored = record) };
    const log = await AuditLog.open(file, { keys });
    await log.append(record());
    assert.ok(stored, 'the key record went to the store');
    assert.equal((await readdir(path.dirname(file))).includes('audit.jsonl.key'), false);
    assert.equal((await log.verify()).valid, true);
    stored = undefined;
    const lost = await log.verify();
    assert.equal(lost.valid, false);
    assert.match(lost.reason ?? '', /key is missing/);
    assert.ok(!JSON.stringify(lost).includes('"key":'), 'no key material in the result');
  });

  it('reads a log written before keying as "legacy, unkeyed up to entry N" and continues it keyed', async () => {
    // The format before keying: sha256 chain, no mac, no head, no key.
    const legacy: string[] = [];
    let prev = '0'.repeat(64);
    for (let seq = 1; seq <= 4; seq += 1) {
      const unsigned = { ...record({ planId: `old-${seq}` }), seq, time: new Date(0).toISOString(), prev };
      const line = canonicalJson({ ...unsigned, hash: sha256(canonicalJson(unsigned)) });
      legacy.push(line);
      prev = sha256(line);
    }
    await mkdir(path.dirname(file), { recursive: true });
    await writeLines(file, legacy);
    const log = await AuditLog.open(file);
    assert.deepEqual(await log.verify(), { valid: true, entries: 4, legacyEntries: 4, tornTail: false });
    const fifth = await log.append(record());
    assert.equal(fifth.seq, 5);
    assert.equal(fifth.prev, sha256(legacy[3]!));
    assert.match(fifth.mac ?? '', /^[0-9a-f]{64}$/);
    assert.deepEqual(await log.verify(), { valid: true, entries: 5, legacyEntries: 4, tornTail: false });
    // The legacy part is pinned from now on: cutting the keyed entry, or the last legacy one, shows.
    await writeLines(file, legacy);
    assert.equal((await log.verify()).valid, false);
    await writeLines(file, legacy.slice(0, 3));
    assert.equal((await log.verify()).valid, false);
  });

  it('refuses to append when the log ends before its head (truncated), so the evidence stays', async () => {
    const log = await logWith(4);
    const lines = await linesOf(file);
    await writeLines(file, lines.slice(0, 3));
    const reopened = await AuditLog.open(file);
    await assert.rejects(reopened.append(record()), (error: unknown) => error instanceof AuditLogError && error.code === 'damaged' && /deleted from the end/.test(error.message));
    assert.deepEqual(await linesOf(file), lines.slice(0, 3));
    const result = await log.verify();
    assert.equal(result.valid, false);
    assert.match(result.reason ?? '', /ends at entry 3 but its head records entry 4/);
  });

  it('reads with filters and paging, oldest or newest first', async () => {
    let clock = Date.parse('2026-11-23T10:00:00Z');
    const log = await AuditLog.open(file, { now: () => new Date((clock += 60_000)) });
    const actions = ['propose', 'approve', 'apply', 'write', 'decline'] as const;
    for (let index = 0; index < 20; index += 1) {
      await log.append(record({ action: actions[index % 5]!, outcome: index % 4 === 0 ? 'failed' : 'ok' }));
    }
    const all = await log.read();
    assert.equal(all.total, 20);
    assert.deepEqual(all.entries.map((entry) => entry.seq), Array.from({ length: 20 }, (_, index) => index + 1));

    const page = await log.read({ offset: 5, limit: 3 });
    assert.deepEqual(page.entries.map((entry) => entry.seq), [6, 7, 8]);
    assert.equal(page.total, 20);

    const newest = await log.read({ newestFirst: true, offset: 2, limit: 3 });
    assert.deepEqual(newest.entries.map((entry) => entry.seq), [18, 17, 16]);

    const writes = await log.read({ actions: ['write', 'apply'] });
    assert.deepEqual(writes.entries.map((entry) => entry.seq), [3, 4, 8, 9, 13, 14, 18, 19]);

    const failed = await log.read({ outcome: 'failed', newestFirst: true });
    assert.deepEqual(failed.entries.map((entry) => entry.seq), [17, 13, 9, 5, 1]);

    // seq n was written at 10:00 + n minutes; since is inclusive, until exclusive.
    const window = await log.read({ since: '2026-11-23T10:05:00Z', until: '2026-11-23T10:08:00Z' });
    assert.deepEqual(window.entries.map((entry) => entry.seq), [5, 6, 7]);

    await assert.rejects(log.read({ since: 'yesterday' }), AuditLogError);
    await assert.rejects(log.read({ limit: -1 }), AuditLogError);
  });

  it('reads an empty or missing log as empty and valid', async () => {
    const log = await AuditLog.open(file);
    assert.deepEqual(await log.read(), { entries: [], total: 0 });
    assert.deepEqual(await log.verify(), { valid: true, entries: 0, legacyEntries: 0, tornTail: false });
    assert.equal(await log.export('jsonl'), '');
  });

  it('exports jsonl byte for byte and csv with commas, quotes, newlines and formulas escaped', async () => {
    const log = await AuditLog.open(file);
    await log.append(record({ outcome: 'failed, "badly"\nsecond line', detail: { note: 'a,b' } }));
    await log.append(record({ outcome: '=HYPERLINK("http://evil")' }));
    assert.equal(await log.export('jsonl'), await readFile(file, 'utf8'));

    const csv = await log.export('csv');
    const rows = csv.split('\r\n');
    assert.equal(rows[0], 'seq,time,action,actor_type,actor_via,context,server,plan_id,digest,snapshot_id,objects,outcome,detail,prev,hash');
    assert.ok(csv.includes(',"failed, ""badly""\nsecond line",'), csv);
    assert.ok(csv.includes(',"{""note"":""a,b""}",'), csv);
    assert.ok(csv.includes(`,"'=HYPERLINK(""http://evil"")",`), csv);
    assert.ok(csv.includes(',shop/Deployment/api@42,'));
    assert.equal(rows.at(-1), '');
  });
});
