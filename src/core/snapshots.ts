// Snapshots: what each apply replaced, one JSON file per apply, the source of rollback plans.
//
// The safety invariant needs a snapshot on disk before any write (apply refuses when save() throws),
// so every write here is atomic and durable: temp file in the same directory, fsync, rename, fsync
// the directory. Ids are validated strictly before they touch a path (they come from tool calls).
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { syncDirectory, writeFileAtomically } from './durableFile';
import type { WrittenField } from './plan/model';

export interface SnapshotObject {
  ref: { namespace: string; kind: string; name: string };
  apiVersion: string;
  resourceVersionBefore: string;
  /** the exact values replaced, by JSON pointer: absent fields recorded as { absent: true } */
  replaced: Array<{ path: string; value?: unknown; absent?: boolean }>;
  /** the full prior object as read (without managedFields and the last-applied annotation) */
  before: Record<string, unknown>;
  /** the values this apply wrote, field by field (rollback restores only these); absent in older snapshots */
  fields?: WrittenField[];
  /** filled in after the write */
  resourceVersionAfter?: string;
  written: boolean;
}

export interface Snapshot {
  id: string;
  createdAt: string;
  context: string;
  server: string;
  planId: string;
  digest: string;
  objects: SnapshotObject[];
  kind: 'apply' | 'rollback';
}

export type SnapshotSummary = Pick<Snapshot, 'id' | 'createdAt' | 'context' | 'planId' | 'kind'> & { objects: number };

export interface CorruptSnapshot {
  file: string;
  reason: string;
}

export class SnapshotError extends Error {
  constructor(
    message: string,
    readonly code: 'invalid-id' | 'not-found' | 'corrupt' | 'refused' | 'write-failed',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SnapshotError';
  }
}

/** `snap-20261123T104400Z-1a2b3c`: the creation time (UTC, seconds) and 6 random hex digits. */
export const snapshotIdPattern = /^snap-\d{8}T\d{6}Z-[0-9a-f]{6}$/;
const fileNamePattern = /^(snap-\d{8}T\d{6}Z-[0-9a-f]{6})\.json$/;
const tempFilePattern = /^\.snap-.*\.tmp$/;
const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';
const dayMs = 24 * 60 * 60 * 1000;

const snapshotObjectSchema = z.object({
  ref: z.object({ namespace: z.string(), kind: z.string().min(1), name: z.string().min(1) }),
  apiVersion: z.string().min(1),
  resourceVersionBefore: z.string(),
  replaced: z.array(z.object({ path: z.string().regex(/^(\/.*)?$/), value: z.unknown().optional(), absent: z.boolean().optional() })),
  before: z.record(z.string(), z.unknown()),
  fields: z
    .array(z.object({ container: z.string(), allocation: z.enum(['requests', 'limits']), resource: z.enum(['cpu', 'memory']), before: z.string().nullable(), after: z.string().nullable() }))
    .optional(),
  resourceVersionAfter: z.string().optional(),
  written: z.boolean(),
});

const snapshotSchema = z.object({
  id: z.string().regex(snapshotIdPattern),
  createdAt: z.iso.datetime(),
  context: z.string(),
  server: z.string(),
  planId: z.string(),
  digest: z.string(),
  objects: z.array(snapshotObjectSchema),
  kind: z.enum(['apply', 'rollback']),
});

export function isSnapshotId(id: unknown): id is string {
  return typeof id === 'string' && snapshotIdPattern.test(id);
}

function invalidId(id: unknown): SnapshotError {
  return new SnapshotError(`Not a snapshot id: ${JSON.stringify(String(id)).slice(0, 80)} (expected snap-YYYYMMDDTHHMMSSZ-xxxxxx)`, 'invalid-id');
}

function idFor(time: Date): string {
  const stamp = time.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  return `snap-${stamp}-${randomBytes(3).toString('hex')}`;
}

function timeOfId(id: string): number {
  const match = /^snap-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(id);
  if (!match) return Number.NaN;
  const [, year, month, day, hour, minute, second] = match.map(Number) as number[];
  return Date.UTC(year!, month! - 1, day!, hour!, minute!, second!);
}

/** A copy of the object without what is noise or huge; refuses Secrets, which are never stored. */
function trimObject(object: SnapshotObject): SnapshotObject {
  if (object.ref.kind === 'Secret' || object.before.kind === 'Secret') {
    throw new SnapshotError(`Refusing to store a Secret (${object.ref.namespace}/${object.ref.name}) in a snapshot`, 'refused');
  }
  const before = structuredClone(object.before);
  const metadata = before.metadata;
  if (metadata && typeof metadata === 'object') {
    const meta = metadata as Record<string, unknown>;
    delete meta.managedFields;
    const annotations = meta.annotations;
    if (annotations && typeof annotations === 'object') delete (annotations as Record<string, unknown>)[lastApplied];
  }
  return { ...object, before };
}

export class SnapshotStore {
  private readonly retentionDays: number;
  private readonly now: () => Date;
  // update() is read-modify-write: serialise it per id so concurrent updates never lose a change.
  private readonly updates = new Map<string, Promise<unknown>>();

  constructor(
    readonly directory: string,
    options: { retentionDays?: number; now?: () => Date } = {},
  ) {
    this.retentionDays = options.retentionDays ?? 30;
    if (!(this.retentionDays > 0)) throw new RangeError('retentionDays must be a positive number');
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Stores a new snapshot durably (mode 0600) and returns it with its id and createdAt. Throws
   * SnapshotError ('write-failed' | 'refused') when it cannot; the caller must then not write.
   */
  async save(input: Omit<Snapshot, 'id' | 'createdAt'>): Promise<Snapshot> {
    const createdAt = this.now();
    let snapshot: Snapshot | undefined;
    try {
      await mkdir(this.directory, { recursive: true, mode: 0o700 });
      for (let attempt = 0; attempt < 5 && !snapshot; attempt += 1) {
        const id = idFor(createdAt);
        if (!(await exists(this.fileOf(id)))) snapshot = { ...input, id, createdAt: createdAt.toISOString() };
      }
      if (!snapshot) throw new Error('no free snapshot id');
      snapshot = this.prepare(snapshot);
      await writeFileAtomically(this.directory, `${snapshot.id}.json`, `${JSON.stringify(snapshot, null, 2)}\n`);
      return snapshot;
    } catch (error) {
      // A rename that landed before a failed directory fsync must not leave a snapshot nobody owns.
      if (snapshot) await rm(this.fileOf(snapshot.id), { force: true }).catch(() => undefined);
      throw asWriteError(error, `Cannot save a snapshot in ${this.directory}`);
    }
  }

  /** Atomically rewrites a snapshot (e.g. marks objects written); id and createdAt cannot change. */
  update(id: string, change: (snapshot: Snapshot) => Snapshot): Promise<Snapshot> {
    if (!isSnapshotId(id)) return Promise.reject(invalidId(id));
    const previous = this.updates.get(id) ?? Promise.resolve();
    const run = previous.then(
      () => this.updateNow(id, change),
      () => this.updateNow(id, change),
    );
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.updates.set(id, settled);
    void settled.then(() => {
      if (this.updates.get(id) === settled) this.updates.delete(id);
    });
    return run;
  }

  private async updateNow(id: string, change: (snapshot: Snapshot) => Snapshot): Promise<Snapshot> {
    const current = await this.get(id);
    const next = change(structuredClone(current));
    if (next.id !== current.id || next.createdAt !== current.createdAt) {
      throw new SnapshotError(`An update may not change a snapshot's id or createdAt (${id})`, 'refused');
    }
    try {
      const prepared = this.prepare(next);
      await writeFileAtomically(this.directory, `${id}.json`, `${JSON.stringify(prepared, null, 2)}\n`);
      return prepared;
    } catch (error) {
      throw asWriteError(error, `Cannot update snapshot ${id}`);
    }
  }

  /** Trims, checks that it is serialisable and valid, and returns exactly what will be stored. */
  private prepare(snapshot: Snapshot): Snapshot {
    const trimmed = { ...snapshot, objects: snapshot.objects.map(trimObject) };
    const parsed = snapshotSchema.safeParse(JSON.parse(JSON.stringify(trimmed)));
    if (!parsed.success) throw new SnapshotError(`Invalid snapshot: ${parsed.error.issues[0]?.message ?? 'unknown'} at ${parsed.error.issues[0]?.path.join('.') ?? ''}`, 'refused');
    return parsed.data as Snapshot;
  }

  /** Throws SnapshotError: 'invalid-id' (before touching the disk), 'not-found' or 'corrupt'. */
  async get(id: string): Promise<Snapshot> {
    if (!isSnapshotId(id)) throw invalidId(id);
    let text: string;
    try {
      text = await readFile(this.fileOf(id), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new SnapshotError(`No snapshot ${id} in ${this.directory}`, 'not-found');
      throw error;
    }
    return parseSnapshot(text, id, this.fileOf(id));
  }

  /** Newest first. Unreadable or invalid files are skipped and passed to `onCorrupt`, never thrown. */
  async list(options: { onCorrupt?: (problem: CorruptSnapshot) => void } = {}): Promise<SnapshotSummary[]> {
    const summaries: SnapshotSummary[] = [];
    for (const { id, file } of await this.files()) {
      try {
        const snapshot = parseSnapshot(await readFile(file, 'utf8'), id, file);
        summaries.push({ id, createdAt: snapshot.createdAt, context: snapshot.context, planId: snapshot.planId, kind: snapshot.kind, objects: snapshot.objects.length });
      } catch (error) {
        options.onCorrupt?.({ file, reason: error instanceof Error ? error.message : String(error) });
      }
    }
    return summaries.sort((a, b) => (a.createdAt === b.createdAt ? b.id.localeCompare(a.id) : b.createdAt.localeCompare(a.createdAt)));
  }

  /**
   * Deletes snapshots whose id time is older than the retention (readable or not) and temp files
   * left by a crash more than an hour ago. Returns the deleted snapshot ids.
   */
  async prune(): Promise<string[]> {
    const now = this.now().getTime();
    const cutoff = now - this.retentionDays * dayMs;
    const deleted: string[] = [];
    for (const { id, file } of await this.files()) {
      if (timeOfId(id) < cutoff) {
        await rm(file, { force: true });
        deleted.push(id);
      }
    }
    for (const name of await this.names()) {
      if (!tempFilePattern.test(name)) continue;
      const file = path.join(this.directory, name);
      const info = await stat(file).catch(() => undefined);
      if (info && info.mtimeMs < now - 60 * 60 * 1000) await rm(file, { force: true });
    }
    if (deleted.length > 0) await syncDirectory(this.directory);
    return deleted.sort();
  }

  private fileOf(id: string): string {
    return path.join(this.directory, `${id}.json`);
  }

  private async names(): Promise<string[]> {
    try {
      return await readdir(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  private async files(): Promise<Array<{ id: string; file: string }>> {
    const result: Array<{ id: string; file: string }> = [];
    for (const name of await this.names()) {
      const id = fileNamePattern.exec(name)?.[1];
      if (id) result.push({ id, file: path.join(this.directory, name) });
    }
    return result;
  }
}

function parseSnapshot(text: string, id: string, file: string): Snapshot {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SnapshotError(`Snapshot file ${file} is corrupt: not valid JSON`, 'corrupt');
  }
  const parsed = snapshotSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SnapshotError(`Snapshot file ${file} is corrupt: ${issue?.message ?? 'invalid'} at ${issue?.path.join('.') || '(root)'}`, 'corrupt');
  }
  if (parsed.data.id !== id) throw new SnapshotError(`Snapshot file ${file} is corrupt: it holds snapshot ${parsed.data.id}`, 'corrupt');
  return parsed.data as Snapshot;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

function asWriteError(error: unknown, context: string): SnapshotError {
  if (error instanceof SnapshotError) return error;
  return new SnapshotError(`${context}: ${error instanceof Error ? error.message : String(error)}`, 'write-failed', { cause: error });
}
