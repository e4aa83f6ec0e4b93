// The audit log: append-only JSONL, one entry per line, hash-chained and fsync'd before append() resolves.
//
// Each line is the canonical JSON (sorted keys, no spaces) of one AuditEntry. `hash` covers the entry
// without `hash`; `prev` is the sha256 of the previous line's exact bytes (without its newline), so a
// modified, deleted, inserted or reordered line breaks the chain at that line. The safety invariant
// says every proposal, approval, denial, write, failure and rollback is recorded before the call
// returns: callers await append() and refuse the cluster write when it throws.
//
// Torn tail (a crash mid-write): the final bytes without a newline, or a final line that is not JSON,
// are reported (`tornTail`) and ignored by read() and verify(). On the next append they are moved to a
// side file `<log>.torn-<epoch ms>` and cut from the log, so the chain continues from the last complete
// entry. We cut rather than leave them because a leftover fragment would sit mid-file as a line that
// is not an entry, and verify() would then have to tolerate garbage in the middle of the chain, which
// is exactly what tampering looks like; the side file keeps the bytes for anyone who wants them.
// The cut happens on the first append, not in open(), so opening a log only to read it never changes it.
//
// One writer process per log file: appends are serialised within a process (also across AuditLog
// instances on the same path); a second process appending to the same file is not supported.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { canonicalJson } from './canonicalJson';
import { syncDirectory, writeAll } from './durableFile';

export type AuditActor =
  | { type: 'human'; via: string }
  | { type: 'model'; via: string }
  | { type: 'system'; via: string };

export const auditActions = [
  'scan',
  'propose',
  'approve',
  'decline',
  'apply',
  'write',
  'write-failed',
  'restore',
  'restore-failed',
  'rollback',
  'verify',
  'refuse',
  'rollout',
] as const;
export type AuditAction = (typeof auditActions)[number];

export interface AuditObjectRef {
  namespace: string;
  kind: string;
  name: string;
  resourceVersion?: string;
}

export interface AuditRecord {
  action: AuditAction;
  actor: AuditActor;
  context?: string;
  server?: string;
  planId?: string;
  digest?: string;
  snapshotId?: string;
  objects?: AuditObjectRef[];
  /** short: 'ok' | 'declined' | 'expired' | 'stale' | 'failed' | ... */
  outcome: string;
  detail?: Record<string, unknown>;
}

export interface AuditEntry extends AuditRecord {
  seq: number;
  /** ISO 8601 */
  time: string;
  /** sha256 hex of the previous line's exact bytes, or 64 zeros for the first entry */
  prev: string;
  /** sha256 hex over the canonical JSON of this entry without `hash` */
  hash: string;
}

export interface AuditReadOptions {
  /** inclusive, ISO time */
  since?: string;
  /** exclusive, ISO time */
  until?: string;
  actions?: AuditAction[];
  outcome?: string;
  offset?: number;
  /** no limit when absent */
  limit?: number;
  newestFirst?: boolean;
}

export interface AuditVerifyResult {
  valid: boolean;
  /** complete entries that were checked and found valid (up to the first broken line) */
  entries: number;
  /** 1-based line number of the first line that breaks the chain */
  firstBrokenLine?: number;
  reason?: string;
  tornTail: boolean;
}

export class AuditLogError extends Error {
  constructor(
    message: string,
    readonly code: 'damaged' | 'write-failed' | 'bad-query',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AuditLogError';
  }
}

const zeroHash = '0'.repeat(64);
const hexHash = z.string().regex(/^[0-9a-f]{64}$/);

const entrySchema = z.looseObject({
  seq: z.number().int().positive(),
  time: z.string(),
  prev: hexHash,
  hash: hexHash,
  action: z.enum(auditActions),
  actor: z.object({ type: z.enum(['human', 'model', 'system']), via: z.string() }),
  context: z.string().optional(),
  server: z.string().optional(),
  planId: z.string().optional(),
  digest: z.string().optional(),
  snapshotId: z.string().optional(),
  objects: z
    .array(z.object({ namespace: z.string(), kind: z.string(), name: z.string(), resourceVersion: z.string().optional() }))
    .optional(),
  outcome: z.string(),
  detail: z.record(z.string(), z.unknown()).optional(),
});

export { canonicalJson };

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hashEntry(entry: Record<string, unknown>): string {
  const { hash: _hash, ...rest } = entry;
  return sha256(canonicalJson(rest));
}

// Keys compared after lower-casing and dropping '-', '_' and other separators.
const secretKeyParts = ['token', 'password', 'passwd', 'secret', 'authorization', 'authheader', 'bearer', 'privatekey', 'apikey', 'cookie', 'credential'];
const secretKeys = new Set(['config', 'auth']);

function isSecretKey(key: string): boolean {
  const normal = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  return secretKeys.has(normal) || secretKeyParts.some((part) => normal.includes(part));
}

function maskSecretText(text: string): string {
  return text
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]')
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi, '$1[redacted]@');
}

/**
 * Defensive copy without secrets: drops keys that name credentials (token, authorization, password,
 * secret, auth headers, krr's `config` block, ...) at any depth and masks `Bearer xxx` / `Basic xxx`
 * and `scheme://user:pass@` inside strings. Cycles become '[circular]'.
 */
export function redactSecrets(value: unknown): unknown {
  return redact(value, new WeakSet());
}

function redact(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return maskSecretText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  try {
    if (value instanceof Error) return { name: value.name, message: maskSecretText(value.message) };
    const withJson = value as { toJSON?: () => unknown };
    if (typeof withJson.toJSON === 'function') return redact(withJson.toJSON(), seen);
    if (Array.isArray(value)) return value.map((item) => redact(item, seen));
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (!isSecretKey(key)) result[key] = redact(item, seen);
    }
    return result;
  } finally {
    seen.delete(value);
  }
}

interface Line {
  /** 1-based */
  number: number;
  /** offset of the line's first byte */
  offset: number;
  /** without the newline */
  bytes: Buffer;
  /** false for final bytes that have no newline */
  complete: boolean;
}

/** Streams the file's lines as exact bytes (readline would also split on '\r' and hide edits). */
async function* readLines(filePath: string): AsyncGenerator<Line> {
  let carry = Buffer.alloc(0);
  let number = 0;
  let offset = 0;
  const stream = createReadStream(filePath, { highWaterMark: 256 * 1024 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      let newline = data.indexOf(0x0a);
      while (newline !== -1) {
        const bytes = data.subarray(0, newline);
        number += 1;
        yield { number, offset, bytes, complete: true };
        offset += newline + 1;
        data = data.subarray(newline + 1);
        newline = data.indexOf(0x0a);
      }
      carry = Buffer.from(data);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (carry.length > 0) yield { number: number + 1, offset, bytes: carry, complete: false };
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Where the log ends: what the next append chains to, and any torn bytes after the last entry. */
interface Tail {
  size: number;
  /** length of the file up to and including the last complete entry's newline */
  goodLength: number;
  lastSeq: number;
  lastLineHash: string;
  torn: boolean;
}

const emptyTail: Tail = { size: 0, goodLength: 0, lastSeq: 0, lastLineHash: zeroHash, torn: false };

/** Reads only the end of the file, growing the window until it holds the last complete entry. */
async function readTail(filePath: string): Promise<Tail> {
  let handle: FileHandle;
  try {
    handle = await open(filePath, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyTail;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return emptyTail;
    for (let window = 64 * 1024; ; window *= 2) {
      const start = Math.max(0, size - window);
      const buffer = Buffer.alloc(size - start);
      await handle.read(buffer, 0, buffer.length, start);
      const tail = findTail(filePath, buffer, start, size);
      if (tail) return tail;
      if (start === 0) throw new Error('unreachable: whole file read without a result');
    }
  } finally {
    await handle.close();
  }
}

/** undefined when the window is too small to decide. */
function findTail(filePath: string, buffer: Buffer, start: number, size: number): Tail | undefined {
  // Complete lines fully inside the window: [lineStart, lineEnd) with buffer[lineEnd] === '\n'.
  const ends: number[] = [];
  for (let index = buffer.indexOf(0x0a); index !== -1; index = buffer.indexOf(0x0a, index + 1)) ends.push(index);
  const lastNewline = ends.at(-1) ?? -1;
  let torn = lastNewline + 1 < buffer.length; // bytes after the last newline
  let candidate = ends.length - 1;
  const lineAt = (position: number): Buffer | undefined => {
    const end = ends[position];
    if (end === undefined) return undefined;
    const previous = position > 0 ? ends[position - 1] : undefined;
    if (previous === undefined && start > 0) return undefined; // starts before the window
    return buffer.subarray(previous === undefined ? 0 : previous + 1, end);
  };
  for (let attempt = 0; attempt < 2; attempt += 1) {
    if (candidate < 0) {
      if (start > 0) return undefined;
      return { size, goodLength: 0, lastSeq: 0, lastLineHash: zeroHash, torn };
    }
    const bytes = lineAt(candidate);
    if (bytes === undefined) return undefined;
    const parsed = parseJson(bytes);
    if (parsed === undefined && !torn) {
      // A last line that is not JSON (zeros after a power cut, half a line): treat it as torn.
      torn = true;
      candidate -= 1;
      continue;
    }
    const entry = entrySchema.safeParse(parsed);
    if (!entry.success) {
      throw new AuditLogError(
        `The audit log ${filePath} is damaged at its end (the last complete line is not an audit entry). ` +
          'Nothing can be appended, so cluster writes are refused: run verify, then move the file aside to start a new log.',
        'damaged',
      );
    }
    const end = ends[candidate] ?? 0;
    return { size, goodLength: start + end + 1, lastSeq: entry.data.seq, lastLineHash: sha256(bytes), torn };
  }
  return undefined;
}

// One queue per resolved path, so two AuditLog objects on the same file never fork the chain.
const appendQueues = new Map<string, Promise<unknown>>();

function enqueue<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = appendQueues.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  appendQueues.set(key, settled);
  void settled.then(() => {
    if (appendQueues.get(key) === settled) appendQueues.delete(key);
  });
  return run;
}

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

const csvColumns = ['seq', 'time', 'action', 'actor_type', 'actor_via', 'context', 'server', 'plan_id', 'digest', 'snapshot_id', 'objects', 'outcome', 'detail', 'prev', 'hash'] as const;

function csvField(value: string): string {
  // A leading = + - @ would run as a formula in a spreadsheet; a leading quote keeps it text.
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvRow(entry: AuditEntry): string {
  const objects = (entry.objects ?? [])
    .map((object) => `${object.namespace}/${object.kind}/${object.name}${object.resourceVersion ? `@${object.resourceVersion}` : ''}`)
    .join('; ');
  const values: Record<(typeof csvColumns)[number], string> = {
    seq: String(entry.seq),
    time: entry.time,
    action: entry.action,
    actor_type: entry.actor.type,
    actor_via: entry.actor.via,
    context: entry.context ?? '',
    server: entry.server ?? '',
    plan_id: entry.planId ?? '',
    digest: entry.digest ?? '',
    snapshot_id: entry.snapshotId ?? '',
    objects,
    outcome: entry.outcome,
    detail: entry.detail ? canonicalJson(entry.detail) : '',
    prev: entry.prev,
    hash: entry.hash,
  };
  return csvColumns.map((column) => csvField(values[column])).join(',');
}

export class AuditLog {
  private tail: Tail;
  private readonly queueKey: string;

  private constructor(
    readonly filePath: string,
    tail: Tail,
    private readonly now: () => Date,
  ) {
    this.tail = tail;
    this.tornTail = tail.torn;
    this.queueKey = path.resolve(filePath);
  }

  /** True when open() found torn bytes after the last complete entry (they are cut on the next append). */
  readonly tornTail: boolean;

  /**
   * Creates the directory (0700) if needed and reads only the end of the file to find what the next
   * entry chains to. Throws AuditLogError('damaged') when the last complete line is not an entry.
   */
  static async open(filePath: string, options: { now?: () => Date } = {}): Promise<AuditLog> {
    await mkdir(path.dirname(filePath), { recursive: true, mode: 0o700 });
    const tail = await readTail(filePath);
    return new AuditLog(filePath, tail, options.now ?? (() => new Date()));
  }

  /**
   * Appends one entry and fsyncs it before resolving. Concurrent calls are serialised. `detail` and
   * every other field pass through redactSecrets(). Throws AuditLogError('write-failed') when the
   * entry could not be made durable; callers must then refuse the cluster write.
   */
  append(record: AuditRecord): Promise<AuditEntry> {
    return enqueue(this.queueKey, () => this.appendNow(record));
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
      // shares the queue, so this is an outside change): find the real end again.
      if (size !== this.tail.size) this.tail = await readTail(this.filePath);
      if (this.tail.torn) await this.cutTornTail(handle);

      const redacted = redactSecrets(record) as AuditRecord;
      const unsigned = { ...redacted, seq: this.tail.lastSeq + 1, time: this.now().toISOString(), prev: this.tail.lastLineHash };
      const line = canonicalJson({ ...unsigned, hash: hashEntry(unsigned) });
      const bytes = Buffer.from(`${line}\n`, 'utf8');
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
      this.tail = { size: before + bytes.length, goodLength: before + bytes.length, lastSeq: entry.seq, lastLineHash: sha256(line), torn: false };
      return entry;
    } finally {
      await handle.close();
    }
  }

  private async cutTornTail(handle: FileHandle): Promise<void> {
    const { goodLength, size } = this.tail;
    const torn = Buffer.alloc(size - goodLength);
    const reader = await open(this.filePath, 'r');
    try {
      await reader.read(torn, 0, torn.length, goodLength);
    } finally {
      await reader.close();
    }
    try {
      const suffix = `${Date.now()}-${randomBytes(3).toString('hex')}`;
      await writeFile(`${this.filePath}.torn-${suffix}`, torn, { mode: 0o600, flag: 'wx', flush: true });
      await handle.truncate(goodLength);
      await handle.sync();
    } catch (error) {
      throw new AuditLogError(`Cannot cut the torn end of the audit log ${this.filePath}: ${(error as Error).message}`, 'write-failed', { cause: error });
    }
    this.tail = { ...this.tail, size: goodLength, torn: false };
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

  /** Checks every line: canonical form, seq order, `prev` link and own hash. A torn tail is not an error. */
  async verify(): Promise<AuditVerifyResult> {
    let expectedSeq = 1;
    let prev = zeroHash;
    let pending: Line | undefined;
    let tornTail = false;
    const broken = (line: Line, reason: string): AuditVerifyResult => ({
      valid: false,
      entries: expectedSeq - 1,
      firstBrokenLine: line.number,
      reason: `line ${line.number}: ${reason}`,
      tornTail,
    });
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
      expectedSeq += 1;
      prev = sha256(line.bytes);
      return undefined;
    };
    for await (const line of readLines(this.filePath)) {
      if (!line.complete) {
        tornTail = true; // bytes with no newline can only be the end
        break;
      }
      if (pending) {
        const result = check(pending, false);
        if (result !== undefined && result !== 'torn') return result;
      }
      pending = line;
    }
    if (pending) {
      const result = check(pending, !tornTail);
      if (result === 'torn') tornTail = true;
      else if (result !== undefined) return { ...result, tornTail };
    }
    return { valid: true, entries: expectedSeq - 1, tornTail };
  }

  /** jsonl: the stored lines byte for byte (torn tail left out), so an export verifies on its own. */
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
