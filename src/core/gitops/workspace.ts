// The workspace folders as a bounded index of manifest files. Read-only; never follows a path out of a folder.
import { createHash } from 'node:crypto';
import { lstat, open, readdir, realpath } from 'node:fs/promises';
import * as path from 'node:path';

export interface WorkspaceFolder {
  /** Shown to people and models; paths in results are relative to the folder. */
  name: string;
  /** Absolute, symlinks resolved. */
  root: string;
}

export interface WorkspaceFile {
  folder: WorkspaceFolder;
  /** POSIX separators, relative to the folder root. */
  relativePath: string;
  absolutePath: string;
  size: number;
}

export interface WorkspaceProblem {
  folder: string;
  relativePath: string;
  reason: string;
}

export interface WorkspaceIndex {
  folders: WorkspaceFolder[];
  /** .yaml, .yml and .json files within the bounds. */
  files: WorkspaceFile[];
  /** Files and links skipped, with the reason (over the size bound, a link leaving the folder, unreadable). */
  problems: WorkspaceProblem[];
}

export const workspaceLimits = {
  /** A manifest larger than this is not read (nor edited). */
  maxFileBytes: 1024 * 1024,
  maxFiles: 20_000,
  maxDepth: 24,
};

/** Directories no manifest lives in (and that can be huge). */
const skippedDirectories = new Set(['node_modules', '.git', '.hg', '.svn', '.terraform', '.venv', '__pycache__']);
const manifestExtension = /\.(ya?ml|json)$/i;

export class WorkspaceInputError extends Error {
  override readonly name = 'WorkspaceInputError';
}

export async function workspaceFolders(roots: readonly string[]): Promise<WorkspaceFolder[]> {
  const folders: WorkspaceFolder[] = [];
  for (const root of roots) {
    const resolved = await realpath(path.resolve(root)).catch(() => {
      throw new WorkspaceInputError(`The workspace folder ${root} does not exist or cannot be read.`);
    });
    if (!(await lstat(resolved)).isDirectory()) throw new WorkspaceInputError(`The workspace folder ${root} is not a directory.`);
    folders.push({ name: path.basename(resolved), root: resolved });
  }
  return folders;
}

/** Walks every folder (bounded in depth, count and file size), skipping node_modules, .git and links that leave it. */
export async function indexWorkspace(folders: readonly WorkspaceFolder[], limits = workspaceLimits): Promise<WorkspaceIndex> {
  const index: WorkspaceIndex = { folders: [...folders], files: [], problems: [] };
  for (const folder of folders) {
    const queue: Array<{ dir: string; depth: number }> = [{ dir: folder.root, depth: 0 }];
    while (queue.length > 0) {
      const { dir, depth } = queue.shift() as { dir: string; depth: number };
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        index.problems.push({ folder: folder.name, relativePath: relativeOf(folder, dir), reason: 'directory cannot be read' });
        continue;
      }
      entries.sort((a, b) => a.name.localeCompare(b.name));
      for (const entry of entries) {
        const absolute = path.join(dir, entry.name);
        const relative = relativeOf(folder, absolute);
        if (entry.isDirectory()) {
          if (skippedDirectories.has(entry.name)) continue;
          if (depth + 1 > limits.maxDepth) index.problems.push({ folder: folder.name, relativePath: relative, reason: `deeper than ${limits.maxDepth} directories; not searched` });
          else queue.push({ dir: absolute, depth: depth + 1 });
          continue;
        }
        if (!manifestExtension.test(entry.name)) continue;
        if (entry.isSymbolicLink()) {
          const target = await realpath(absolute).catch(() => null);
          if (target === null || !isInside(folder.root, target)) {
            index.problems.push({ folder: folder.name, relativePath: relative, reason: 'a symbolic link leading outside the workspace folder; not read' });
            continue;
          }
        } else if (!entry.isFile()) continue;
        const stats = await lstat(absolute).catch(() => null);
        const size = entry.isSymbolicLink() ? ((await realpath(absolute).then((target) => lstat(target)).catch(() => null))?.size ?? 0) : (stats?.size ?? 0);
        if (size > limits.maxFileBytes) {
          index.problems.push({ folder: folder.name, relativePath: relative, reason: `larger than ${Math.round(limits.maxFileBytes / 1024)} KiB; not read` });
          continue;
        }
        if (index.files.length >= limits.maxFiles) {
          index.problems.push({ folder: folder.name, relativePath: relative, reason: `more than ${limits.maxFiles} manifest files; the rest are not read` });
          return index;
        }
        index.files.push({ folder, relativePath: relative, absolutePath: absolute, size });
      }
    }
  }
  return index;
}

export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

export function relativeOf(folder: WorkspaceFolder, absolute: string): string {
  return path.relative(folder.root, absolute).split(path.sep).join('/');
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Reads a manifest as UTF-8 text: refuses a path that resolves outside its folder, a file over the size bound and a
 * binary file (a NUL byte or invalid UTF-8). Reads at most the bound plus one byte, whatever the file claims.
 */
export async function readManifestText(folder: WorkspaceFolder, relativePath: string, limits = workspaceLimits): Promise<{ text: string; hash: string }> {
  const absolute = path.resolve(folder.root, relativePath);
  if (!isInside(folder.root, absolute)) throw new WorkspaceInputError(`${relativePath} is outside the workspace folder ${folder.name}.`);
  const real = await realpath(absolute).catch(() => {
    throw new WorkspaceInputError(`${relativePath} does not exist or cannot be read.`);
  });
  if (!isInside(folder.root, real)) throw new WorkspaceInputError(`${relativePath} is a symbolic link leading outside the workspace folder ${folder.name}; it is not read or written.`);
  const stats = await lstat(real);
  if (!stats.isFile()) throw new WorkspaceInputError(`${relativePath} is not a regular file.`);
  const handle = await open(real, 'r');
  let bytes: Buffer;
  try {
    const buffer = Buffer.alloc(limits.maxFileBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    bytes = buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
  if (bytes.length > limits.maxFileBytes) throw new WorkspaceInputError(`${relativePath} is larger than ${Math.round(limits.maxFileBytes / 1024)} KiB; it is not read or edited.`);
  if (bytes.includes(0)) throw new WorkspaceInputError(`${relativePath} is a binary file (it holds NUL bytes); it is not read or edited.`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new WorkspaceInputError(`${relativePath} is not UTF-8 text; it is not read or edited.`);
  }
  return { text, hash: sha256(bytes) };
}
