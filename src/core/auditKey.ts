// The audit log's HMAC key and where it is kept. The core owns the key record's format; a host only stores an
// opaque string: VS Code in SecretStorage (src/editor/auditKeys.ts), the stdio server in a 0600 file beside the
// log. The key never goes into the log, a result, an error message or the output channel.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { syncDirectory } from './durableFile';

/** Persists the key record (a short JSON string). write() is called once, when a log is first keyed. */
export interface AuditKeyStore {
  /** undefined when no key was ever stored */
  read(): Promise<string | undefined>;
  /** Must not overwrite an existing record (a lost key would silently re-key the log). */
  write(record: string): Promise<void>;
  /** Where the key lives, for messages (never the key itself). */
  readonly description: string;
}

export interface AuditKey {
  key: Buffer;
  /**
   * Entries the log already held, without MACs, when it was keyed. With no head file, a log longer than
   * this that carries no MACs has had them stripped (or the head deleted).
   */
  legacyEntries: number;
}

const recordSchema = z.strictObject({
  v: z.literal(1),
  key: z.string().regex(/^[A-Za-z0-9+/]{43}=$/),
  legacyEntries: z.number().int().min(0),
});

export class AuditKeyError extends Error {
  override readonly name = 'AuditKeyError';
}

export function newAuditKey(legacyEntries: number): { key: AuditKey; record: string } {
  const key = randomBytes(32);
  return { key: { key, legacyEntries }, record: JSON.stringify({ v: 1, key: key.toString('base64'), legacyEntries }) };
}

/** Throws AuditKeyError (without echoing the record) when the stored record is not a key record. */
export function parseAuditKey(record: string, where: string): AuditKey {
  let parsed: z.infer<typeof recordSchema>;
  try {
    parsed = recordSchema.parse(JSON.parse(record));
  } catch {
    throw new AuditKeyError(`The audit key in ${where} is damaged (not a key record).`);
  }
  return { key: Buffer.from(parsed.key, 'base64'), legacyEntries: parsed.legacyEntries };
}

export function hmac(key: Buffer, data: string | Buffer): string {
  return createHmac('sha256', key).update(data).digest('hex');
}

/** Constant-time comparison of two hex digests. */
export function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The stdio server's key: a 0600 file, created atomically (temp file, then link, which fails if one exists). */
export function fileKeyStore(filePath: string): AuditKeyStore {
  return {
    description: `the key file ${filePath}`,
    async read() {
      try {
        return await readFile(filePath, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async write(record) {
      const temporary = `${filePath}.tmp-${randomBytes(4).toString('hex')}`;
      await writeFile(temporary, record, { mode: 0o600, flag: 'wx', flush: true });
      try {
        await link(temporary, filePath);
      } finally {
        await unlink(temporary).catch(() => undefined);
      }
      await syncDirectory(path.dirname(filePath));
    },
  };
}
