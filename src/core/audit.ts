// The audit log: append-only JSONL, one entry per line, hash-chained, keyed and fsync'd before append() resolves.
//
// Each line is the canonical JSON (sorted keys, no spaces) of one AuditEntry. `hash` covers the entry
// without `hash` and `mac`; `prev` is the sha256 of the previous line's exact bytes (without its newline), so a
// modified, deleted, inserted or reordered line breaks the chain at that line. The safety invariant
// says every proposal, approval, denial, write, failure and rollback is recorded before the call
// returns: callers await append() and refuse the cluster write when it throws.
//
// Keyed chain. A sha256 chain alone proves nothing against someone who rewrites the file: they can drop the
// last lines or re-chain everything with fresh hashes. So every entry also carries `mac`, an HMAC-SHA256 over
// the entry without `mac` under a key that never appears in the log (auditKey.ts: SecretStorage in VS Code,
// a 0600 file for the stdio server), and the latest head lives outside the log, in `<log>.head`: the seq and
// sha256 of the last entry, HMAC'd too, replaced atomically (temp file, fsync, rename, directory fsync).
// Each append writes the head twice: first "prepared" (current head + the hash of the line about to be
// written), then the line, then "committed". A crash between any two steps leaves a state verify() accepts
// (the log ends at the head, or one line past it that the prepared head names), while deleting lines,
// restoring an older head, re-chaining, removing MACs or using another key does not verify.
// What the head cannot show: an attacker who can read the key, or one who rolls back the head and the log
// together to a state both once had (only a copy kept elsewhere, e.g. an export, shows that).
//
// Legacy logs (written before keying): their entries have no `mac`. The first keyed append stores a new key
// record that remembers how many entries the log had ("legacy, unkeyed up to entry N") and writes a head
// that pins that last legacy line; from there on every entry is keyed. verify() checks the legacy prefix by
// its hash chain and reports its length (`legacyEntries`); an unkeyed entry after a keyed one is a break.
//
// Torn tail (a crash mid-write): the final bytes without a newline, or a final line that is not JSON,
// are reported (`tornTail`) by open() and verify(). A torn tail can only come after the entry the head
// names: a last entry replaced by garbage makes the log end before its head, which is a break. On the next
// append the torn bytes are moved to a side file `<log>.torn-<epoch ms>` and cut from the log, and an
// entry (action 'repair', outcome 'torn-tail-cut') records how many bytes went where, so the cut is in the
// chain itself. We cut rather than leave them because a leftover fragment would sit mid-file as a line that
// is not an entry, and verify() would then have to tolerate garbage in the middle of the chain, which
// is exactly what tampering looks like; the side file keeps the bytes for anyone who wants them.
// The cut happens on the first append, not in open(), so opening a log only to read it never changes it.
//
// An append that finds the log and its head (or key) disagreeing refuses to write (AuditLogError 'damaged'),
// since writing on would overwrite the evidence; cluster writes are then refused until a person looks.
//
// One writer process per log file: appends are serialised within a process (also across AuditLog
// instances on the same path); a second process appending to the same file is not supported.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { AuditKeyError, fileKeyStore, hmac, newAuditKey, parseAuditKey, sameDigest, type AuditKey, type AuditKeyStore } from './auditKey';
import { canonicalJson } from './canonicalJson';
import { syncDirectory, writeAll } from './durableFile';
import { AuditLogError, type AuditEntry, type AuditReadOptions, type AuditRecord, type AuditVerifyResult } from './auditEntry';
import { entrySchema, hashEntry, headMismatch, macEntry, parseHead, parseJson, readHeadFile, readLines, readTail, sha256, zeroHash, type Head, type HeadRead, type Line, type Tail } from './auditChain';
import { csvColumns, csvRow } from './auditCsv';
import { enqueue, withAppendLock } from './auditLock';
import { redactSecrets } from './auditRedaction';

export { auditActions, AuditLogError, type AuditActor, type AuditAction, type AuditEntry, type AuditObjectRef, type AuditReadOptions, type AuditRecord, type AuditVerifyResult } from './auditEntry';
export { boundedArguments, redactSecrets } from './auditRedaction';

export { canonicalJson };

function parseTime(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new AuditLogError(`${name} is not an ISO time: ${JSON.stringify(value)}`, 'bad-query');
  return time;
}

function checkCount(value: number | undefined, name: string): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
    throw new AuditLogError(`${name} must be a non-negative integer`, 'bad-query');
  }
}

export interface AuditLogOptions {
  now?: () => Date;
  /** Where the HMAC key is kept; default: a 0600 file `<log>.key` beside the log (the stdio server's choice). */
  keys?: AuditKeyStore;
}

/** What verify() and the chain check before an append need to know about the key and the head. */
interface ChainState {
  key: AuditKey | undefined;
  head: HeadRead;
}

export class AuditLog {
  private tail: Tail;
  private readonly queueKey: string;
  private readonly headPath: string;
  /** Set once an append checked the log against its head and key; cleared when the file changed under us. */
  private chain: { key: AuditKey; head: Head } | undefined;

  private constructor(
    readonly filePath: string,
    tail: Tail,
    private readonly now: () => Date,
    private readonly keys: AuditKeyStore,
  ) {
    this.tail = tail;
    this.tornTail = tail.torn;
    this.queueKey = path.resolve(filePath);
    this.headPath = `${filePath}.head`;
  }

  /** True when open() found torn bytes after the last complete entry (they are cut on the next append). */
  readonly tornTail: boolean;

  /**
   * Creates the directory (0700) if needed and reads only the end of the file to find what the next
   * entry chains to. Throws AuditLogError('damaged') when the last complete line is not an entry.
   */
  static async open(filePath: string, options: AuditLogOptions = {}): Promise<AuditLog> {
    await mkdir(path.dirname(filePath), { recursive: true, mode: 0o700 });
    const tail = await readTail(filePath);
    return new AuditLog(filePath, tail, options.now ?? (() => new Date()), options.keys ?? fileKeyStore(`${filePath}.key`));
  }

  /**
   * Appends one entry and fsyncs it (and the head) before resolving. Concurrent calls are serialised.
   * `detail` and every other field pass through redactSecrets(). Throws AuditLogError('write-failed') when
   * the entry could not be made durable, and AuditLogError('damaged') when the log does not match its head
   * or key; callers must then refuse the cluster write.
   */
  append(record: AuditRecord): Promise<AuditEntry> {
    return enqueue(this.queueKey, () => withAppendLock(`${this.filePath}.lock`, () => this.appendNow(record)));
  }

  private async appendNow(record: AuditRecord): Promise<AuditEntry> {
    let handle: FileHandle;
    try {
      handle = await open(this.filePath, 'a', 0o600);
    } catch (error) {
      throw new AuditLogError(`Cannot open the audit log ${this.filePath}: ${(error as Error).message}`, 'write-failed', { cause: error });
    }
    try {
      const { size } = await handle.stat();
      // Someone else changed the file (another AuditLog in this process already queued behind us
      // shares the queue, so this is an outside change): find the real end again, and check it again.
      if (size !== this.tail.size) {
        this.tail = await readTail(this.filePath);
        this.chain = undefined;
      }
      const chain = (this.chain ??= await this.checkChain());
      if (this.tail.torn) {
        const cut = await this.cutTornTail(handle);
        await this.writeEntry(handle, chain, {
          action: 'repair',
          actor: { type: 'system', via: 'audit log' },
          outcome: 'torn-tail-cut',
          detail: { bytes: cut.bytes, movedTo: path.basename(cut.sideFile), afterSeq: this.tail.lastSeq },
        });
      }
      return await this.writeEntry(handle, chain, record);
    } catch (error) {
      if (!(error instanceof AuditLogError && error.code === 'damaged')) this.chain = undefined; // re-check after a failed write
      throw error;
    } finally {
      await handle.close();
    }
  }

  /**
   * Before the first append: the log must end where its head says, with the key that signed it. A log never
   * keyed (no key record, no head, no MACs) is keyed now: a new key record, then a head that pins its last line.
   */
  private async checkChain(): Promise<{ key: AuditKey; head: Head }> {
    const damaged = (reason: string) =>
      new AuditLogError(
        `The audit log ${this.filePath} does not match its head or key: ${reason}. Nothing can be appended, so cluster writes are refused: ` +
          'run verify, then move the log and its .head file aside to start a new log.',
        'damaged',
      );
    const { key, head } = await this.readChainState().catch((error: unknown) => {
      throw error instanceof AuditKeyError ? damaged(error.message) : new AuditLogError(`Cannot read the audit key or head of ${this.filePath}: ${(error as Error).message}`, 'write-failed', { cause: error });
    });
    const lastKeyed = typeof this.tail.lastEntry?.mac === 'string';
    if (head.state === 'bad') throw damaged(head.reason);
    if (!key) {
      if (head.state === 'ok' || lastKeyed) throw damaged(`the audit key is missing (${this.keys.description})`);
      const created = newAuditKey(this.tail.lastSeq);
      try {
        await this.keys.write(created.record);
      } catch (error) {
        throw new AuditLogError(`Cannot store the audit key in ${this.keys.description}: ${(error as Error).message}`, 'write-failed', { cause: error });
      }
      return { key: created.key, head: await this.writeHead(created.key, { v: 1, seq: this.tail.lastSeq, line: this.tail.lastLineHash, legacy: this.tail.lastSeq }) };
    }
    if (lastKeyed && !sameDigest(macEntry(key.key, this.tail.lastEntry ?? {}), String(this.tail.lastEntry?.mac))) throw damaged('the last entry does not match the audit key (edited, or the key changed)');
    if (head.state === 'missing') {
      if (lastKeyed) throw damaged('the head file is missing');
      if (this.tail.lastSeq > key.legacyEntries) throw damaged(`the head file is missing and entries past ${key.legacyEntries} carry no MAC (removed?)`);
      // Keyed before, then the log (and its head) moved aside, or a crash between storing the key and the head.
      return { key, head: await this.writeHead(key, { v: 1, seq: this.tail.lastSeq, line: this.tail.lastLineHash, legacy: this.tail.lastSeq }) };
    }
    const mismatch = headMismatch(head.head, this.tail.lastSeq, this.tail.lastLineHash);
    if (mismatch) throw damaged(mismatch);
    if (this.tail.lastSeq > head.head.legacy && !lastKeyed) throw damaged('the last entry carries no MAC');
    // One line past a prepared head: the crash came between writing that line and committing the head.
    const { next: _next, ...committed } = head.head;
    return { key, head: this.tail.lastSeq === head.head.seq ? head.head : await this.writeHead(key, { ...committed, seq: this.tail.lastSeq, line: this.tail.lastLineHash }) };
  }

  private async readChainState(): Promise<ChainState> {
    const [record, headText] = await Promise.all([this.keys.read(), readHeadFile(this.headPath)]);
    const key = record === undefined ? undefined : parseAuditKey(record, this.keys.description);
    return { key, head: parseHead(headText, key) };
  }

  /** Atomic and durable: a temp file, fsync'd, renamed over the head, then the directory fsync'd. */
  private async writeHead(key: AuditKey, head: Head): Promise<Head> {
    const text = canonicalJson({ ...head, mac: hmac(key.key, canonicalJson(head)) });
    const temporary = `${this.headPath}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      await writeFile(temporary, `${text}\n`, { mode: 0o600, flush: true });
      await rename(temporary, this.headPath);
      await syncDirectory(path.dirname(this.headPath));
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw new AuditLogError(`Cannot write the audit log head ${this.headPath}: ${(error as Error).message}`, 'write-failed', { cause: error });
    }
    return head;
  }

  private async writeEntry(handle: FileHandle, chain: { key: AuditKey; head: Head }, record: AuditRecord): Promise<AuditEntry> {
    const redacted = redactSecrets(record) as AuditRecord;
    const unsigned: Record<string, unknown> = { ...redacted, seq: this.tail.lastSeq + 1, time: this.now().toISOString(), prev: this.tail.lastLineHash };
    const hashed = { ...unsigned, hash: hashEntry(unsigned) };
    const line = canonicalJson({ ...hashed, mac: macEntry(chain.key.key, hashed) });
    const bytes = Buffer.from(`${line}\n`, 'utf8');
    const lineHash = sha256(line);
    const { next: _next, ...committed } = chain.head;
    chain.head = await this.writeHead(chain.key, { ...committed, next: lineHash });
    const before = this.tail.size;
    try {
      await writeAll(handle, bytes);
      await handle.sync();
      if (before === 0) await syncDirectory(path.dirname(this.filePath)); // the new file's name is durable too
    } catch (error) {
      // Leave no half line behind, so the chain stays intact for the next append.
      await handle.truncate(before).catch(() => undefined);
      await handle.sync().catch(() => undefined);
      throw new AuditLogError(`Cannot write the audit log ${this.filePath}: ${(error as Error).message}`, 'write-failed', { cause: error });
    }
    const entry = JSON.parse(line) as AuditEntry; // exactly what is stored (e.g. NaN became null)
    this.tail = { size: before + bytes.length, goodLength: before + bytes.length, lastSeq: entry.seq, lastLineHash: lineHash, lastEntry: entry as unknown as Record<string, unknown>, torn: false };
    // Acknowledged only once the head names it: a log cut back to before this entry no longer verifies.
    chain.head = await this.writeHead(chain.key, { ...committed, seq: entry.seq, line: lineHash });
    return entry;
  }

  private async cutTornTail(handle: FileHandle): Promise<{ bytes: number; sideFile: string }> {
    const { goodLength, size } = this.tail;
    const torn = Buffer.alloc(size - goodLength);
    const reader = await open(this.filePath, 'r');
    try {
      await reader.read(torn, 0, torn.length, goodLength);
    } finally {
      await reader.close();
    }
    const sideFile = `${this.filePath}.torn-${Date.now()}-${randomBytes(3).toString('hex')}`;
    try {
      await writeFile(sideFile, torn, { mode: 0o600, flag: 'wx', flush: true });
      await handle.truncate(goodLength);
      await handle.sync();
    } catch (error) {
      throw new AuditLogError(`Cannot cut the torn end of the audit log ${this.filePath}: ${(error as Error).message}`, 'write-failed', { cause: error });
    }
    this.tail = { ...this.tail, size: goodLength, torn: false };
    return { bytes: torn.length, sideFile };
  }

  /** Streams the file; skips lines that are not entries (verify() is the integrity check). */
  async read(options: AuditReadOptions = {}): Promise<{ entries: AuditEntry[]; total: number }> {
    const since = parseTime(options.since, 'since');
    const until = parseTime(options.until, 'until');
    checkCount(options.offset, 'offset');
    checkCount(options.limit, 'limit');
    const offset = options.offset ?? 0;
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const actions = options.actions ? new Set<string>(options.actions) : undefined;
    let total = 0;
    const page: AuditEntry[] = [];
    // Newest first: keep only the last offset+limit matches in a ring, so memory stays bounded.
    const ringSize = offset + limit;
    for await (const entry of this.entries()) {
      const time = Date.parse(entry.time);
      if (since !== undefined && !(time >= since)) continue;
      if (until !== undefined && !(time < until)) continue;
      if (actions && !actions.has(entry.action)) continue;
      if (options.outcome !== undefined && entry.outcome !== options.outcome) continue;
      total += 1;
      if (options.newestFirst) {
        page.push(entry);
        if (page.length > ringSize) page.shift();
      } else if (total > offset && page.length < limit) {
        page.push(entry);
      }
    }
    if (options.newestFirst) {
      page.reverse();
      return { entries: page.slice(offset, offset + limit), total };
    }
    return { entries: page, total };
  }

  private async *entries(): AsyncGenerator<AuditEntry> {
    for await (const line of readLines(this.filePath)) {
      if (!line.complete) continue;
      const parsed = entrySchema.safeParse(parseJson(line.bytes));
      if (parsed.success) yield parsed.data as unknown as AuditEntry;
    }
  }

  /**
   * Checks every line (canonical form, seq order, `prev` link, own hash, MAC with the key; unkeyed entries only
   * before the first keyed one), then that the log ends where its head says. A torn tail is reported, and is
   * not an error only when it comes after the entry the head names (a crash mid-append).
   */
  async verify(): Promise<AuditVerifyResult> {
    // The log's length and its head, taken together between two appends of this process, so an append
    // running meanwhile neither looks like a log past its head nor like a truncation.
    let snapshot: { size: number; state: ChainState };
    try {
      snapshot = await enqueue(this.queueKey, async () => {
        const size = await open(this.filePath, 'r').then(
          async (handle) => {
            try {
              return (await handle.stat()).size;
            } finally {
              await handle.close();
            }
          },
          (error: NodeJS.ErrnoException) => {
            if (error.code === 'ENOENT') return 0;
            throw error;
          },
        );
        return { size, state: await this.readChainState() };
      });
    } catch (error) {
      if (error instanceof AuditKeyError) return { valid: false, entries: 0, legacyEntries: 0, reason: error.message, tornTail: false };
      throw error;
    }
    const { key, head } = snapshot.state;
    let expectedSeq = 1;
    let prev = zeroHash;
    let legacy = 0;
    let keyed = false;
    let pending: Line | undefined;
    let tornTail = false;
    const result = (fields: { valid: boolean; firstBrokenLine?: number; reason?: string }): AuditVerifyResult => ({ entries: expectedSeq - 1, legacyEntries: legacy, tornTail, ...fields });
    const broken = (line: Line, reason: string): AuditVerifyResult => result({ valid: false, firstBrokenLine: line.number, reason: `line ${line.number}: ${reason}` });
    const check = (line: Line, isLast: boolean): AuditVerifyResult | 'torn' | undefined => {
      const json = parseJson(line.bytes);
      if (json === undefined) return isLast ? 'torn' : broken(line, 'not JSON');
      const parsed = entrySchema.safeParse(json);
      if (!parsed.success) return broken(line, 'not an audit entry');
      const entry = parsed.data;
      const text = line.bytes.toString('utf8');
      if (canonicalJson(json) !== text) return broken(line, 'not in canonical form (edited by hand?)');
      if (entry.seq !== expectedSeq) return broken(line, `seq ${entry.seq} where ${expectedSeq} was expected (line deleted, inserted or moved)`);
      if (entry.prev !== prev) return broken(line, 'prev does not match the previous line (line deleted, inserted or moved)');
      if (hashEntry(json as Record<string, unknown>) !== entry.hash) return broken(line, 'hash does not match the content (line modified)');
      if (entry.mac === undefined) {
        if (keyed) return broken(line, 'no MAC after keyed entries (MAC removed, or the line forged)');
        legacy += 1;
      } else {
        if (!key) return broken(line, 'a keyed entry, but the audit key is missing');
        if (!sameDigest(macEntry(key.key, json as Record<string, unknown>), entry.mac)) return broken(line, 'MAC does not match (modified and re-hashed, re-chained, or a different key)');
        keyed = true;
      }
      expectedSeq += 1;
      prev = sha256(line.bytes);
      return undefined;
    };
    if (snapshot.size > 0) {
      for await (const line of readLines(this.filePath, snapshot.size)) {
        if (!line.complete) {
          tornTail = true; // bytes with no newline can only be the end
          break;
        }
        if (pending) {
          const failed = check(pending, false);
          if (failed !== undefined && failed !== 'torn') return failed;
        }
        pending = line;
      }
    }
    if (pending) {
      const failed = check(pending, !tornTail);
      if (failed === 'torn') tornTail = true;
      else if (failed !== undefined) return { ...failed, tornTail };
    }
    const lastSeq = expectedSeq - 1;
    if (head.state === 'bad') return result({ valid: false, reason: head.reason });
    if (head.state === 'missing') {
      if (keyed) return result({ valid: false, reason: 'the head file is missing (it records where the log ends)' });
      if (key && lastSeq > key.legacyEntries) return result({ valid: false, reason: `no head file, and entries past ${key.legacyEntries} (where the log was keyed) carry no MAC: MACs removed or the log re-chained` });
      return result({ valid: true });
    }
    if (legacy !== Math.min(head.head.legacy, lastSeq)) return result({ valid: false, reason: `${legacy} entries carry no MAC where the head records ${head.head.legacy}: MACs removed or the log re-chained` });
    const mismatch = headMismatch(head.head, lastSeq, prev);
    if (mismatch) return result({ valid: false, reason: mismatch });
    return result({ valid: true });
  }

  /** jsonl: the stored lines byte for byte (torn tail left out): an export can be checked line by line (chain, and MACs with the key); its end is pinned only by the head, which stays here. */
  async export(format: 'jsonl' | 'csv'): Promise<string> {
    if (format === 'jsonl') {
      const lines: Buffer[] = [];
      let torn = false;
      for await (const line of readLines(this.filePath)) {
        if (line.complete) lines.push(line.bytes);
        else torn = true;
      }
      // A final line that is not JSON is a torn tail (as in verify()); any other line is kept as it is.
      const last = lines.at(-1);
      if (!torn && last !== undefined && parseJson(last) === undefined) lines.pop();
      return lines.map((bytes) => `${bytes.toString('utf8')}\n`).join('');
    }
    const rows = [csvColumns.join(',')];
    for await (const entry of this.entries()) rows.push(csvRow(entry));
    return `${rows.join('\r\n')}\r\n`;
  }
}
