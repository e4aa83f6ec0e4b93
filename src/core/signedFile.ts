// The state directory's signed files (stored plans and reports, trials): `<magic> <HMAC of the JSON>` on the first
// line, the JSON after it, the key derived from the audit key; read without following links, bounded in size.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { hmac, sameDigest } from './auditKey';

export function signedText(magic: string, key: Buffer, json: string): string {
  return `${magic} ${hmac(key, json)}\n${json}\n`;
}

/** The JSON of a file `signedText` wrote with this magic and key; null when the header or the MAC does not match. */
export function verifiedJson(magic: string, key: Buffer, text: string): string | null {
  const newline = text.indexOf('\n');
  const [tag, mac] = (newline < 0 ? '' : text.slice(0, newline)).split(' ');
  const json = text.slice(newline + 1).replace(/\n$/, '');
  return tag === magic && mac && sameDigest(mac, hmac(key, json)) ? json : null;
}

/** A regular file's text (undefined: it does not exist); a link, a FIFO or a file over `max` bytes throws. */
export async function readBounded(file: string, max: number): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new Error('it is a symbolic link', { cause: error });
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error('not a regular file');
    if (info.size > max) throw new Error(`larger than ${Math.round(max / 1024 / 1024)} MB`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

