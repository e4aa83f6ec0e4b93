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
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AuditKeyError, fileKeyStore, hmac, newAuditKey, parseAuditKey, sameDigest, type AuditKey, type AuditKeyStore } from './auditKey';
import { canonicalJson } from './canonicalJson';
import { syncDirectory, writeAll } from './durableFile';

export type AuditActor =
  | { type: 'human'; via: string }
  | { type: 'model'; via: string }
  | { type: 'system'; via: string }
  /** An MCP client's answer to an approval request: a person or automation behind it (the protocol cannot tell). */
  | { type: 'client'; via: string };

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
  'repair',
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
  /** sha256 hex over the canonical JSON of this entry without `hash` and `mac` */
  hash: string;
  /** HMAC-SHA256 hex over the canonical JSON of this entry without `mac`; absent on legacy (pre-key) entries */
  mac?: string;
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
  /** entries 1..legacyEntries were written before the log was keyed: hash chain only, no MAC */
  legacyEntries: number;
  /** 1-based line number of the first line that breaks the chain (absent when the break is at the end: truncation, head, key) */
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
  mac: hexHash.optional(),
  action: z.enum(auditActions),
  actor: z.object({ type: z.enum(['human', 'model', 'system', 'client']), via: z.string() }),
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
  const { hash: _hash, mac: _mac, ...rest } = entry;
  return sha256(canonicalJson(rest));
}

function macEntry(key: Buffer, entry: Record<string, unknown>): string {
  const { mac: _mac, ...rest } = entry;
  return hmac(key, canonicalJson(rest));
}

// Keys compared after lower-casing and dropping '-', '_' and other separators.
const secretKeyParts = ['token', 'password', 'passwd', 'secret', 'authorization', 'header', 'bearer', 'privatekey', 'apikey', 'cookie', 'credential'];
const secretKeys = new Set(['config', 'auth']);

function isSecretKey(key: string): boolean {
  const normal = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  return secretKeys.has(normal) || secretKeyParts.some((part) => normal.includes(part));
}

function maskSecretText(text: string): string {
  return (
    text
      .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]')
      .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi, '$1[redacted]@')
      // `token=…`, `password: …`, `Authorization: …` inside free text (query strings, pasted headers).
      .replace(/\b((?:access[_-]?)?token|password|passwd|secret|api[_-]?key|authorization|x-api-key|cookie)(\s*[=:]\s*)(?!\[redacted\])[^\s&;,"']+/gi, '$1$2[redacted]')
      // Well-known credential shapes: JWTs, GitHub, GitLab, OpenAI-style and Slack tokens, AWS access key ids.
      .replace(/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, '[redacted]')
      .replace(/\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,}|glpat-[A-Za-z0-9_-]{16,}|sk-[A-Za-z0-9_-]{16,}|xox[abpr]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})\b/g, '[redacted]')
  );
}

/**
 * Defensive copy without secrets: drops keys that name credentials (token, authorization, password,
 * secret, headers, krr's `config` block, ...) at any depth and masks `Bearer xxx` / `Basic xxx`,
 * `scheme://user:pass@`, `token=…` and well-known token shapes inside strings. Cycles become '[circular]'.
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

const argumentBounds = { depth: 4, keys: 30, items: 30, string: 200, bytes: 4096 } as const;

/**
 * What a refused tool call sent, fit for the audit log: secrets removed (redactSecrets), nesting cut at
 * depth 4, at most 30 keys or items per level, strings cut at 200 characters, and at most 4 KB in all
 * (beyond that only a preview is kept). A hostile client cannot fill the log or smuggle a credential in.
 */
export function boundedArguments(value: unknown): unknown {
  // One pass that redacts and bounds, so a deeply nested value never reaches an unbounded recursion.
  const bounded = bound(value, 0);
  const text = canonicalJson(bounded);
  if (text.length <= argumentBounds.bytes) return bounded;
  return { truncated: true, characters: text.length, preview: `${text.slice(0, argumentBounds.string)}…` };
}

function bound(value: unknown, depth: number): unknown {
  if (typeof value === 'string') {
    const masked = maskSecretText(value.length > 4 * argumentBounds.string ? value.slice(0, 4 * argumentBounds.string) : value);
    return masked.length > argumentBounds.string || value.length > 4 * argumentBounds.string ? `${masked.slice(0, argumentBounds.string)}… (${value.length} characters)` : masked;
  }
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol' ? String(value) : value;
  if (depth >= argumentBounds.depth) return Array.isArray(value) ? `[array of ${value.length}]` : '[object]';
  if (Array.isArray(value)) {
    const items = value.slice(0, argumentBounds.items).map((item) => bound(item, depth + 1));
    return value.length > argumentBounds.items ? [...items, `… ${value.length - argumentBounds.items} more`] : items;
  }
  const entries = Object.entries(value).filter(([key]) => !isSecretKey(key));
  const result: Record<string, unknown> = {};
  for (const [key, item] of entries.slice(0, argumentBounds.keys)) result[bound(key, argumentBounds.depth) as string] = bound(item, depth + 1);
  if (entries.length > argumentBounds.keys) result['…'] = `${entries.length - argumentBounds.keys} more keys`;
  return result;
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
async function* readLines(filePath: string, size?: number): AsyncGenerator<Line> {
  let carry = Buffer.alloc(0);
  let number = 0;
  let offset = 0;
  // `size` bounds the read to the bytes that existed at one moment (verify's snapshot).
  const stream = createReadStream(filePath, { highWaterMark: 256 * 1024, ...(size !== undefined ? { end: size - 1 } : {}) });
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
  /** the last complete entry as parsed, to check its MAC; undefined for an empty log */
  lastEntry?: Record<string, unknown>;
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
    return { size, goodLength: start + end + 1, lastSeq: entry.data.seq, lastLineHash: sha256(bytes), lastEntry: parsed as Record<string, unknown>, torn };
  }
  return undefined;
}

// One queue per resolved path, so two AuditLog objects on the same file never fork the chain.
const appendQueues = new Map<string, Promise<unknown>>();

/**
 * One append at a time across processes (several stdio servers may share a state directory): an O_EXCL lock file
 * holding the owner's pid. A lock whose pid is gone (a writer killed mid-append) is taken over; a live one is waited
 * for, at most `waitMs`, then the append fails as a write failure (the caller refuses the cluster write).
 */
async function withAppendLock<T>(lockPath: string, task: () => Promise<T>, waitMs = 10_000): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      try {
        await handle.writeFile(String(process.pid));
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new AuditLogError(`Cannot lock the audit log (${lockPath}): ${(error as Error).message}`, 'write-failed', { cause: error });
      const owner = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      // No pid in it: its writer died between creating it and writing the pid (or is doing so right now).
      const unowned = !(Number.isInteger(owner) && owner > 0) && Date.now() - ((await stat(lockPath).catch(() => undefined))?.mtimeMs ?? Date.now()) > 2_000;
      if (unowned || (Number.isInteger(owner) && owner > 0 && !processAlive(owner))) {
        await unlink(lockPath).catch(() => undefined);
        continue;
      }
      if (Date.now() >= deadline) throw new AuditLogError(`The audit log is locked by process ${Number.isInteger(owner) ? owner : '?'} (${lockPath}) for more than ${waitMs / 1000} s.`, 'write-failed');
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.floor(Math.random() * 20)));
    }
  }
  try {
    return await task();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

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

/** `<log>.head`: where the log must end. `mac` is an HMAC over the canonical JSON of the other fields. */
interface Head {
  v: 1;
  /** seq of the last acknowledged entry (0 for an empty log) */
  seq: number;
  /** sha256 of that entry's line (zeros for seq 0) */
  line: string;
  /** how many entries at the start of the log carry no MAC (written before keying) */
  legacy: number;
  /** prepared: sha256 of the line being appended right now */
  next?: string;
}

const headSchema = z.strictObject({
  v: z.literal(1),
  seq: z.number().int().min(0),
  line: hexHash,
  legacy: z.number().int().min(0),
  next: hexHash.optional(),
  mac: hexHash,
});

type HeadRead = { state: 'missing' } | { state: 'ok'; head: Head } | { state: 'bad'; reason: string };

async function readHeadFile(headPath: string): Promise<string | undefined> {
  try {
    return await readFile(headPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function parseHead(text: string | undefined, key: AuditKey | undefined): HeadRead {
  if (text === undefined) return { state: 'missing' };
  let parsed: z.infer<typeof headSchema>;
  try {
    parsed = headSchema.parse(JSON.parse(text));
  } catch {
    return { state: 'bad', reason: 'the head file is damaged (not a head record)' };
  }
  if (!key) return { state: 'bad', reason: 'the head file exists but the audit key is missing' };
  const { mac, ...head } = parsed;
  if (!sameDigest(hmac(key.key, canonicalJson(head)), mac)) return { state: 'bad', reason: 'the head file does not match the audit key (edited, or the key changed)' };
  return { state: 'ok', head };
}

/** Where the log ends compared with its head; undefined when they agree (also one prepared line past it). */
function headMismatch(head: Head, lastSeq: number, lastLineHash: string): string | undefined {
  if (lastSeq === head.seq && lastLineHash === head.line) return undefined;
  if (lastSeq === head.seq + 1 && head.next !== undefined && lastLineHash === head.next) return undefined;
  if (lastSeq < head.seq) return `the log ends at entry ${lastSeq} but its head records entry ${head.seq}: entries were deleted from the end (or the last one replaced)`;
  if (lastSeq === head.seq) return `entry ${lastSeq} is not the one its head records: the log was rewritten (re-chained?)`;
  return `the log goes on to entry ${lastSeq} past its head (entry ${head.seq}): the head file was restored from an older copy, or entries were added without the key`;
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
