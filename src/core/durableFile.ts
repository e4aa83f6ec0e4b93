// Durable writes for the audit log, the snapshots and the session state: every byte written, and the directory entry synced.
import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  // A write may be short (file size limit, disk nearly full); the next one then reports the error.
  for (let written = 0; written < data.length; ) {
    const { bytesWritten } = await handle.write(data, written, data.length - written);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    written += bytesWritten;
  }
}

export async function syncDirectory(directory: string): Promise<void> {
  if (process.platform === 'win32') return; // a directory cannot be opened for fsync there
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** temp file in the same directory, fsync, rename over the target, fsync the directory. */
export async function writeFileAtomically(directory: string, fileName: string, data: string | Buffer): Promise<void> {
  const temp = path.join(directory, `.${fileName}.${randomBytes(4).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'wx', 0o600);
    await writeAll(handle, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, path.join(directory, fileName));
    await syncDirectory(directory);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}
