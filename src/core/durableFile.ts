// Durable writes for the audit log and the snapshots: every byte written, and the directory entry synced.
import { open, type FileHandle } from 'node:fs/promises';

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
