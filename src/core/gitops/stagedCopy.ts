// The private copy a proposal renders from (kubectl kustomize, helm template) with its edits staged in it. The
// workspace is hostile input: a link in it may point anywhere, a FIFO may block a reader, a folder may hold gigabytes
// of build output. So the copy holds only what the finders say a render reads, each file copied as a regular file
// (a link is resolved and copied only when it stays inside the workspace folder), bounded in bytes and count, and
// it never holds a link: every write into it creates a new file with O_EXCL, which does not follow one. Nothing is
// written anywhere but here before a person approves (safety invariant).
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, realpath, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { writeAll } from '../durableFile';
import type { RenderInput } from './model';
import { isInside, WorkspaceInputError, type WorkspaceFolder } from './workspace';

export interface StagedCopyLimits {
  /** A file larger than this is left out (a render that needs it then fails, and is reported as not rendering). */
  maxFileBytes: number;
  /** The whole copy, pending edits included: past it the proposal is refused for that folder. */
  maxBytes: number;
  maxFiles: number;
  /** How deep a listed directory (a chart's templates/, charts/) is walked. */
  maxDepth: number;
}

export const stagedCopyLimits: StagedCopyLimits = {
  maxFileBytes: 8 * 1024 * 1024,
  maxBytes: 128 * 1024 * 1024,
  maxFiles: 25_000,
  maxDepth: 16,
};

// O_NOFOLLOW: the last component was resolved just before, a link swapped in since is not followed. O_NONBLOCK: a
// FIFO swapped in does not block the open (fstat then refuses it). Both are 0 where the platform lacks them.
const readFlags = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
// O_EXCL with O_CREAT fails on any existing entry, a link included, and never follows one.
const createFlags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/** Inputs copied at a time. */
const copyConcurrency = 8;

export class StagedCopy {
  bytes = 0;
  files = 0;
  /** What was left out and why ("overlays/prod/x.yaml: a symbolic link leading outside the workspace folder"). */
  readonly omitted: string[] = [];
  private readonly sizes = new Map<string, number>();
  private readonly claimed = new Set<string>();

  private constructor(
    readonly folder: WorkspaceFolder,
    readonly root: string,
    private readonly limits: StagedCopyLimits,
  ) {}

  /** A new copy in `root` (an empty directory the caller made privately) holding the inputs a render reads. */
  static async create(folder: WorkspaceFolder, root: string, inputs: readonly RenderInput[], limits: StagedCopyLimits = stagedCopyLimits): Promise<StagedCopy> {
    const copy = new StagedCopy(folder, root, limits);
    // Several inputs at a time: each is a chain of small file-system calls, and a monorepo has thousands. Every worker
    // stops at the first failure, and the copy is refused only once none is still writing.
    let next = 0;
    let failure: { error: unknown } | null = null;
    const worker = async () => {
      while (failure === null && next < inputs.length) {
        const input = inputs[next++] as RenderInput;
        try {
          if ('file' in input) await copy.copyFile(input.file);
          else await copy.copyDirectory(input.directory, 0);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(copyConcurrency, inputs.length) }, worker));
    if (failure !== null) throw (failure as { error: unknown }).error;
    // In path order, whichever finished first.
    copy.omitted.sort();
    return copy;
  }

  /** Writes `text` as `relativePath` of the copy, replacing what the copy holds there (never following a link). */
  async write(relativePath: string, text: string): Promise<void> {
    await this.put(relativePath, Buffer.from(text, 'utf8'));
  }

  /** What the copy holds at `relativePath` (null: nothing), to put back with restore. */
  async read(relativePath: string): Promise<Buffer | null> {
    try {
      return await readFile(this.target(relativePath));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  /** Puts back what read returned: the same bytes, or no file. */
  async restore(relativePath: string, data: Buffer | null): Promise<void> {
    if (data === null) await this.remove(relativePath);
    else await this.put(relativePath, data);
  }

  async remove(relativePath: string): Promise<void> {
    const target = this.target(relativePath);
    await rm(target, { force: true });
    this.account(relativePath, null);
  }

  private target(relativePath: string): string {
    const target = path.resolve(this.root, relativePath);
    if (target === this.root || !isInside(this.root, target)) throw new WorkspaceInputError(`${relativePath} is outside the workspace folder ${this.folder.name}.`);
    return target;
  }

  /** Counts a file of `size` bytes at `relativePath` (null: removed); refuses past the bounds before anything is written. */
  private account(relativePath: string, size: number | null): void {
    const previous = this.sizes.get(relativePath);
    const bytes = this.bytes - (previous ?? 0) + (size ?? 0);
    const files = this.files - (previous === undefined ? 0 : 1) + (size === null ? 0 : 1);
    if (bytes > this.limits.maxBytes || files > this.limits.maxFiles) {
      throw new WorkspaceInputError(`the files a render of ${this.folder.name} reads exceed ${Math.round(this.limits.maxBytes / 2 ** 20)} MiB or ${this.limits.maxFiles} files; KRR does not copy more to render it`);
    }
    this.bytes = bytes;
    this.files = files;
    if (size === null) this.sizes.delete(relativePath);
    else this.sizes.set(relativePath, size);
  }

  private async put(relativePath: string, data: Buffer): Promise<void> {
    const target = this.target(relativePath);
    this.account(relativePath, data.length);
    await mkdir(path.dirname(target), { recursive: true });
    // The copy never holds a link; checked anyway, since a directory link here would carry the write out of it.
    const parent = await realpath(path.dirname(target));
    if (!isInside(this.root, parent)) throw new WorkspaceInputError(`${relativePath} would be written outside the private copy`);
    await rm(target, { force: true });
    const handle = await open(target, createFlags, 0o600);
    try {
      await writeAll(handle, data);
    } finally {
      await handle.close();
    }
  }

  private omit(relativePath: string, reason: string): void {
    this.omitted.push(`${relativePath}: ${reason}`);
  }

  /** Copies one workspace file as a regular file, or leaves it out (recorded in `omitted`). */
  private async copyFile(relativePath: string): Promise<void> {
    // Claimed before the first await: an input listed twice (or inside a listed directory) is copied once.
    if (this.claimed.has(relativePath)) return;
    this.claimed.add(relativePath);
    const absolute = path.resolve(this.folder.root, relativePath);
    if (!isInside(this.folder.root, absolute) || absolute === this.folder.root) return this.omit(relativePath, 'outside the workspace folder; left out');
    if ((await lstat(absolute).catch(() => null)) === null) return; // not there (an optional file such as Chart.lock)
    // realpath resolves every link on the way (a linked directory too): the file read is the one it leads to.
    const real = await realpath(absolute).catch(() => null);
    if (real === null) return this.omit(relativePath, 'a link that leads nowhere; left out');
    if (!isInside(this.folder.root, real)) return this.omit(relativePath, 'a symbolic link leading outside the workspace folder; left out');
    const data = await this.readRegularFile(real);
    if (typeof data === 'string') return this.omit(relativePath, data);
    await this.put(relativePath, data);
  }

  private async readRegularFile(real: string): Promise<Buffer | string> {
    const stats = await lstat(real).catch(() => null);
    if (!stats?.isFile()) return 'not a regular file; left out';
    if (stats.size > this.limits.maxFileBytes) return `larger than ${Math.round(this.limits.maxFileBytes / 2 ** 20)} MiB; left out`;
    let handle;
    try {
      handle = await open(real, readFlags);
    } catch {
      return 'cannot be opened (replaced by a link or removed since); left out';
    }
    try {
      const opened = await handle.stat();
      if (!opened.isFile()) return 'not a regular file; left out';
      // Read at most the bound plus one byte, whatever the file claims (it may grow while it is read).
      const buffer = Buffer.alloc(Math.min(opened.size, this.limits.maxFileBytes) + 1);
      let length = 0;
      while (length < buffer.length) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      if (length > this.limits.maxFileBytes) return `larger than ${Math.round(this.limits.maxFileBytes / 2 ** 20)} MiB; left out`;
      return buffer.subarray(0, length);
    } finally {
      await handle.close();
    }
  }

  /** A directory a render reads whole (a chart's templates/): its files, each as copyFile would; links to directories are left out. */
  private async copyDirectory(relativePath: string, depth: number): Promise<void> {
    const absolute = path.resolve(this.folder.root, relativePath);
    if (!isInside(this.folder.root, absolute)) return this.omit(relativePath, 'outside the workspace folder; left out');
    const stats = await lstat(absolute).catch(() => null);
    if (stats === null) return;
    if (!stats.isDirectory()) return this.omit(relativePath, 'not a directory (a link, or a file); left out');
    // A parent on the way may be a link: the directory walked must be inside the folder itself.
    const real = await realpath(absolute).catch(() => null);
    if (real === null || !isInside(this.folder.root, real)) return this.omit(relativePath, 'leads outside the workspace folder; left out');
    if (depth > this.limits.maxDepth) return this.omit(relativePath, `deeper than ${this.limits.maxDepth} directories; left out`);
    const entries = await readdir(absolute, { withFileTypes: true }).catch(() => null);
    if (entries === null) return this.omit(relativePath, 'cannot be read; left out');
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const child = path.posix.join(relativePath.split(path.sep).join('/'), entry.name);
      if (entry.isDirectory()) await this.copyDirectory(child, depth + 1);
      else if (entry.isFile() || entry.isSymbolicLink()) await this.copyFile(child);
      else this.omit(child, 'not a regular file; left out');
    }
  }
}
