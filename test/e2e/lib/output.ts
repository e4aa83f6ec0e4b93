// One folder per run under test/e2e/output/, named by route and time, so failures keep their logs and screenshots.
import fs from 'node:fs';
import path from 'node:path';
import { e2eRoot } from './codeServer';

export function createRunDir(route: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = path.join(e2eRoot, 'output', `${route}-${stamp}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
