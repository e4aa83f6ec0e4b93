// The log on disk as a keyed chain (see audit.ts): the entry schema, each entry's hash and MAC, the lines as exact
// bytes, where the log ends (its tail), and the head file `<log>.head` that says where it must end.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { z } from 'zod';
import { hmac, sameDigest, type AuditKey } from './auditKey';
import { canonicalJson } from './canonicalJson';
import { auditActions, AuditLogError } from './auditEntry';

export const zeroHash = '0'.repeat(64);
export const hexHash = z.string().regex(/^[0-9a-f]{64}$/);

export const entrySchema = z.looseObject({
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

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hashEntry(entry: Record<string, unknown>): string {
  const { hash: _hash, mac: _mac, ...rest } = entry;
  return sha256(canonicalJson(rest));
}

export function macEntry(key: Buffer, entry: Record<string, unknown>): string {
  const { mac: _mac, ...rest } = entry;
  return hmac(key, canonicalJson(rest));
}

export interface Line {
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
export async function* readLines(filePath: string, size?: number): AsyncGenerator<Line> {
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

export function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Where the log ends: what the next append chains to, and any torn bytes after the last entry. */
export interface Tail {
  size: number;
  /** length of the file up to and including the last complete entry's newline */
  goodLength: number;
  lastSeq: number;
  lastLineHash: string;
  /** the last complete entry as parsed, to check its MAC; undefined for an empty log */
  lastEntry?: Record<string, unknown>;
  torn: boolean;
}

export const emptyTail: Tail = { size: 0, goodLength: 0, lastSeq: 0, lastLineHash: zeroHash, torn: false };

/** Reads only the end of the file, growing the window until it holds the last complete entry. */
export async function readTail(filePath: string): Promise<Tail> {
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
export function findTail(filePath: string, buffer: Buffer, start: number, size: number): Tail | undefined {
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

/** `<log>.head`: where the log must end. `mac` is an HMAC over the canonical JSON of the other fields. */
export interface Head {
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

export const headSchema = z.strictObject({
  v: z.literal(1),
  seq: z.number().int().min(0),
  line: hexHash,
  legacy: z.number().int().min(0),
  next: hexHash.optional(),
  mac: hexHash,
});

export type HeadRead = { state: 'missing' } | { state: 'ok'; head: Head } | { state: 'bad'; reason: string };

export async function readHeadFile(headPath: string): Promise<string | undefined> {
  try {
    return await readFile(headPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export function parseHead(text: string | undefined, key: AuditKey | undefined): HeadRead {
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
export function headMismatch(head: Head, lastSeq: number, lastLineHash: string): string | undefined {
  if (lastSeq === head.seq && lastLineHash === head.line) return undefined;
  if (lastSeq === head.seq + 1 && head.next !== undefined && lastLineHash === head.next) return undefined;
  if (lastSeq < head.seq) return `the log ends at entry ${lastSeq} but its head records entry ${head.seq}: entries were deleted from the end (or the last one replaced)`;
  if (lastSeq === head.seq) return `entry ${lastSeq} is not the one its head records: the log was rewritten (re-chained?)`;
  return `the log goes on to entry ${lastSeq} past its head (entry ${head.seq}): the head file was restored from an older copy, or entries were added without the key`;
}
