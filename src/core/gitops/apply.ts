// Writes an approved manifest plan: refuse a stale plan (any file changed since the proposal), then write every file
// through the host's writer — a WorkspaceEdit in VS Code (undo, dirty editors), atomic file replacement for stdio.
// Like core/apply, this module never asks for approval: the session calls it only after a person approved the digest.
import { randomBytes } from 'node:crypto';
import { lstat, open, realpath, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import type { AuditActor, AuditLog } from '../audit';
import { syncDirectory, writeAll } from '../durableFile';
import type { ManifestFileChange, ManifestPlan } from './model';
import { isInside, readManifestText, WorkspaceInputError } from './workspace';

export interface ManifestWrite {
  absolutePath: string;
  folderRoot: string;
  /** Relative to the folder, for messages. */
  path: string;
  content: string;
  /** The hash the file must still have (null: it must not exist). */
  expectedHash: string | null;
}

/**
 * The host's way of reading and writing workspace files. `currentHash` sees what the person sees: in VS Code an open
 * editor's unsaved text counts, so a dirty editor makes the plan stale rather than being overwritten.
 */
export interface ManifestWriter {
  currentHash(absolutePath: string, folderRoot: string): Promise<string | null>;
  /** Writes all files or none as far as the host can; throws with a message on failure. */
  write(files: readonly ManifestWrite[]): Promise<void>;
}

export type ManifestFileResult = { folder: string; path: string; result: 'written' | 'not-written' | 'unchanged'; message?: string };

export interface ManifestApplyResult {
  status: 'applied' | 'stale' | 'failed';
  files: ManifestFileResult[];
  message: string;
}

/** Where a file of the plan lives on disk; refuses a path that leaves its folder. */
export function absolutePathOf(file: Pick<ManifestFileChange, 'folderRoot' | 'path'>): string {
  const absolute = path.resolve(file.folderRoot, file.path);
  if (!isInside(file.folderRoot, absolute)) throw new WorkspaceInputError(`${file.path} is outside the workspace folder.`);
  return absolute;
}

/**
 * The hash of a workspace file as it is on disk, null when nothing is at its path. lstat, not stat: a link that leads
 * nowhere is something (readManifestText then refuses it), so a file the plan creates is never created through it.
 */
export async function manifestFileHash(absolutePath: string, folderRoot: string): Promise<string | null> {
  const exists = await lstat(absolutePath).then(
    () => true,
    () => false,
  );
  if (!exists) return null;
  return (await readManifestText({ name: path.basename(folderRoot), root: folderRoot }, path.relative(folderRoot, absolutePath))).hash;
}

/**
 * Just before a file the plan creates is written: nothing may be at its path (not even a link that leads nowhere,
 * planted after the proposal: a writer that follows it would create a file outside the workspace), and its directory
 * must resolve inside the workspace folder. Every writer (the stdio server's and VS Code's) calls it.
 */
export async function checkNewFileTarget(file: Pick<ManifestWrite, 'absolutePath' | 'folderRoot' | 'path'>): Promise<void> {
  const existing = await lstat(file.absolutePath).catch(() => null);
  if (existing !== null) throw new WorkspaceInputError(`${file.path} was created since the proposal${existing.isSymbolicLink() ? ' (as a symbolic link)' : ''}; nothing is written through it`);
  const directory = await realpath(path.dirname(file.absolutePath)).catch(() => null);
  if (directory === null || !isInside(file.folderRoot, directory)) throw new WorkspaceInputError(`${file.path} would be written outside the workspace folder`);
}

/**
 * The files of the plan that are no longer what it was built from (on disk or in an unsaved editor). Checked before a
 * person is asked, so a stale plan is never shown for approval, and again right before the write.
 */
export async function filesChangedSinceProposal(plan: Pick<ManifestPlan, 'files'>, writer: ManifestWriter): Promise<ManifestFileResult[]> {
  const changed: ManifestFileResult[] = [];
  for (const file of plan.files) {
    let current: string | null;
    try {
      current = await writer.currentHash(absolutePathOf(file), file.folderRoot);
    } catch (error) {
      changed.push({ folder: file.folder, path: file.path, result: 'not-written', message: error instanceof Error ? error.message : String(error) });
      continue;
    }
    if (current !== file.beforeHash) {
      changed.push({ folder: file.folder, path: file.path, result: 'not-written', message: file.beforeHash === null ? 'created since the proposal' : current === null ? 'deleted since the proposal' : 'changed since the proposal (on disk or in an unsaved editor)' });
    }
  }
  return changed;
}

/** The result of a plan refused as stale: what changed, every other file not written, and what to do. */
export function staleManifestResult(plan: Pick<ManifestPlan, 'files'>, changed: readonly ManifestFileResult[]): ManifestApplyResult {
  const untouched = plan.files.filter((file) => !changed.some((entry) => entry.folder === file.folder && entry.path === file.path)).map((file) => ({ folder: file.folder, path: file.path, result: 'not-written' as const }));
  return { status: 'stale', files: [...changed, ...untouched], message: `The plan is stale: ${changed.map((file) => `${file.path} (${file.message})`).join('; ')}. Nothing was written; propose the changes again.` };
}

export async function executeManifestPlan(plan: ManifestPlan, deps: { writer: ManifestWriter; audit: AuditLog; actor: AuditActor }): Promise<ManifestApplyResult> {
  const auditBase = { actor: deps.actor, ...(plan.context ? { context: plan.context } : {}), planId: plan.id, digest: plan.digest };
  // 1. Every file as it is now must be what the plan was built from; otherwise nothing is written.
  const changed = await filesChangedSinceProposal(plan, deps.writer);
  if (changed.length > 0) {
    await deps.audit.append({ ...auditBase, action: 'refuse', outcome: 'stale', detail: { target: 'manifests', changed: changed.map((file) => `${file.folder}/${file.path}: ${file.message ?? ''}`) } });
    return staleManifestResult(plan, changed);
  }
  // 2. Write; the writer replaces all files or none.
  const writes: ManifestWrite[] = plan.files.map((file) => ({ absolutePath: absolutePathOf(file), folderRoot: file.folderRoot, path: file.path, content: file.after, expectedHash: file.beforeHash }));
  try {
    await deps.writer.write(writes);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await deps.audit.append({ ...auditBase, action: 'write-failed', outcome: 'failed', detail: { target: 'manifests', message } });
    return { status: 'failed', files: plan.files.map((file) => ({ folder: file.folder, path: file.path, result: 'not-written' })), message: `Nothing was written: ${message}` };
  }
  for (const file of plan.files) {
    await deps.audit.append({ ...auditBase, action: 'write', outcome: 'written', detail: { target: 'manifests', folder: file.folderRoot, file: file.path, beforeHash: file.beforeHash, afterHash: file.afterHash, edits: file.edits.length } });
  }
  const workloads = plan.workloads.map((workload) => `${workload.kind} ${workload.namespace}/${workload.name}`);
  return {
    status: 'applied',
    files: plan.files.map((file) => ({ folder: file.folder, path: file.path, result: 'written' })),
    message: `Wrote ${plan.files.length} file(s) for ${workloads.join(', ')}. Nothing was sent to a cluster: commit and push the change so your GitOps controller applies it.`,
  };
}

/**
 * Gives the temp file the original's mode (open's mode is reduced by the umask) and, where this process may, its
 * owner and group; a chown this user is not allowed to make leaves the file owned by the writer, as an editor's save would.
 */
async function preserveOwnership(handle: FileHandle, keep: { mode: number; uid: number; gid: number }): Promise<void> {
  await handle.chmod(keep.mode);
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  if (uid === undefined || (uid === keep.uid && gid === keep.gid)) return;
  await handle.chown(keep.uid, keep.gid).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPERM') throw error;
  });
}

/**
 * The stdio server's writer: every file written to a temporary file beside it, fsync'd; then each checked once more
 * and renamed over the original (atomic per file); if a rename fails, the files already replaced get their previous
 * content back. Refuses symbolic links that leave the folder, files over the size bound and binary files.
 */
export function fileManifestWriter(): ManifestWriter {
  return {
    currentHash: manifestFileHash,
    async write(files) {
      const staged: Array<{ file: ManifestWrite; temp: string; target: string; previous: string | null }> = [];
      try {
        for (const file of files) {
          const folder = { name: path.basename(file.folderRoot), root: file.folderRoot };
          let target = file.absolutePath;
          let previous: string | null = null;
          // The replacement keeps the original's permissions and owner: a file that held a Secret stays private
          // (0600) instead of becoming world-readable through a freshly created temp file.
          let keep: { mode: number; uid: number; gid: number } | null = null;
          if (file.expectedHash !== null) {
            const read = await readManifestText(folder, file.path);
            if (read.hash !== file.expectedHash) throw new WorkspaceInputError(`${file.path} changed since the proposal`);
            previous = read.text;
            target = await realpath(file.absolutePath);
            const original = await stat(target);
            keep = { mode: original.mode & 0o7777, uid: original.uid, gid: original.gid };
          } else await checkNewFileTarget(file);
          const temp = path.join(path.dirname(target), `.${path.basename(target)}.krr-${randomBytes(4).toString('hex')}.tmp`);
          const handle = await open(temp, 'wx', keep ? keep.mode & 0o777 : 0o644);
          try {
            if (keep) await preserveOwnership(handle, keep);
            await writeAll(handle, Buffer.from(file.content, 'utf8'));
            await handle.sync();
          } finally {
            await handle.close();
          }
          staged.push({ file, temp, target, previous });
        }
      } catch (error) {
        await Promise.all(staged.map((entry) => rm(entry.temp, { force: true })));
        throw error;
      }
      const done: typeof staged = [];
      try {
        for (const entry of staged) {
          const now = entry.previous === null ? null : (await readManifestText({ name: '', root: entry.file.folderRoot }, entry.file.path)).hash;
          if (entry.previous !== null && now !== entry.file.expectedHash) throw new WorkspaceInputError(`${entry.file.path} changed while the plan was being written`);
          if (entry.previous === null) await checkNewFileTarget(entry.file);
          await rename(entry.temp, entry.target);
          done.push(entry);
          await syncDirectory(path.dirname(entry.target));
        }
      } catch (error) {
        // All or nothing: put back what was replaced, remove what was created, drop the remaining temp files.
        for (const entry of done.reverse()) {
          if (entry.previous === null) await rm(entry.target, { force: true });
          else {
            const handle = await open(entry.target, 'w');
            try {
              await writeAll(handle, Buffer.from(entry.previous, 'utf8'));
              await handle.sync();
            } finally {
              await handle.close();
            }
          }
        }
        await Promise.all(staged.filter((entry) => !done.includes(entry)).map((entry) => rm(entry.temp, { force: true })));
        throw error;
      }
    },
  };
}
