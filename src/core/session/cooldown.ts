// The model's cool-down after a person declined (or left unanswered) an approval, kept in the state directory: a client
// that starts the stdio server per call would otherwise get the form again from every fresh process.
//
// <stateDir>/cooldowns/<sha256 of the key>.json holds {v: 1, declinedAt: epoch ms}, written atomically (temp file,
// rename), so concurrent processes each leave a whole file and a reader never sees half of one. Reading fails safe
// and never throws: a file that is there but not a record (damaged, planted, too large, not a regular file) counts as
// a decline at its modification time — in cool-down for the configured time after it was last written, then over by
// itself, so a damaged file neither crashes nor blocks the model for good; an entry that cannot even be inspected
// counts as a decline now; a time in the future counts as now. Anyone who can write the state directory can lengthen
// a cool-down (they own the directory anyway: the plans and the audit key are there too), never shorten one below what
// this process remembers itself.
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomically } from '../durableFile';

const recordSchema = z.strictObject({ v: z.literal(1), declinedAt: z.number().int().min(0) });
/** A record is a few dozen bytes; anything much larger is not one and is not read. */
const maxRecordBytes = 1024;

export class DeclineCooldowns {
  /** This process's own declines: they hold even when the state directory cannot be written. */
  private readonly remembered = new Map<string, number>();
  private readonly directory: string;

  constructor(
    stateDir: string,
    private readonly log: (line: string) => void,
  ) {
    this.directory = path.join(stateDir, 'cooldowns');
  }

  /** Records a decline for `key` (a context, or the workspace's manifests); a failed write is logged, not thrown. */
  async record(key: string, at: number): Promise<void> {
    this.remembered.set(key, Math.max(at, this.remembered.get(key) ?? 0));
    try {
      await mkdir(this.directory, { recursive: true, mode: 0o700 });
      await writeFileAtomically(this.directory, this.fileName(key), `${JSON.stringify({ v: 1, declinedAt: at })}\n`);
    } catch (error) {
      this.log(`could not keep the decline cool-down in ${this.directory} (${error instanceof Error ? error.message : String(error)}); it holds in this process only`);
    }
  }

  /** Milliseconds of the cool-down still to wait for `key` at `now` (0: none), never more than `durationMs`. */
  leftMs(key: string, durationMs: number, now: number): number {
    const stored = this.stored(key, now);
    const remembered = this.remembered.get(key);
    if (stored === undefined && remembered === undefined) return 0;
    const declinedAt = Math.min(Math.max(stored ?? 0, remembered ?? 0), now);
    return Math.max(0, declinedAt + durationMs - now);
  }

  /**
   * Synchronous, because the session asks whether it would ask a person (wouldAskApproval) without awaiting; the
   * file is tiny. Undefined only when no entry exists.
   */
  private stored(key: string, now: number): number | undefined {
    const file = path.join(this.directory, this.fileName(key));
    let modifiedAt: number;
    let regular: boolean;
    let size: number;
    try {
      const stat = lstatSync(file);
      [modifiedAt, regular, size] = [stat.mtimeMs, stat.isFile(), stat.size];
    } catch (error) {
      // No such file (ENOTDIR: something that is not a directory stands where the cool-downs' directory would be).
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      this.log(`cannot inspect the decline cool-down file ${file}: treated as a decline now`);
      return now;
    }
    try {
      if (!regular || size > maxRecordBytes) throw new Error('not a record');
      return recordSchema.parse(JSON.parse(readFileSync(file, 'utf8'))).declinedAt;
    } catch {
      this.log(`the decline cool-down file ${file} is not a record: treated as a decline when it was last written`);
      return Math.floor(modifiedAt);
    }
  }

  /** Hashed: a context name may hold any character; a file name must not. */
  private fileName(key: string): string {
    return `${createHash('sha256').update(key, 'utf8').digest('hex')}.json`;
  }
}
