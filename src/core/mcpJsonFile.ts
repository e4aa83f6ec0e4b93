// "KRR: Set Up Claude Code" writes the workspace's .mcp.json after a consent dialog that names that path. The workspace
// is hostile input: a .mcp.json that is a symbolic link would carry the write to wherever the link points (a file the
// dialog never named, possibly outside the workspace), and a FIFO or a directory there is not a config file either.
import { lstat, readlink } from 'node:fs/promises';
import { nameText } from './text';

/**
 * Why the .mcp.json at `filePath` must not be written, or null when it may be: it does not exist yet, or it is a
 * regular file. Checked before the consent dialog and again just before the write.
 */
export async function mcpJsonProblem(filePath: string): Promise<string | null> {
  let stats;
  try {
    stats = await lstat(filePath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return `${nameText(filePath, 200)} cannot be checked (${(error as NodeJS.ErrnoException).code ?? 'error'}); nothing was changed.`;
  }
  if (stats.isSymbolicLink()) {
    const target = await readlink(filePath).catch(() => '?');
    return `${nameText(filePath, 200)} is a symbolic link (to ${nameText(target, 200)}); KRR does not write through a link. Replace it with a regular file, or remove it, then run KRR: Set Up Claude Code again. Nothing was changed.`;
  }
  if (!stats.isFile()) return `${nameText(filePath, 200)} is not a regular file; KRR writes .mcp.json only as a regular file. Nothing was changed.`;
  return null;
}
