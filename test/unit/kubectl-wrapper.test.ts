// The abuse suite's argv-logging wrapper: its log must stay parseable when several kubectl run at once
// (an apply with applyConcurrency > 1), and a damaged log must fail the reader, not hang it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { readArgvLog, wrapKubectl } from '../support/kubectl-wrapper';

const run = promisify(execFile);

describe('test support: the argv-logging kubectl wrapper', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-wrapper-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps each run\'s record whole when many runs append at once', async function () {
    this.timeout(30_000);
    const wrapper = wrapKubectl({ dir, real: '/bin/true' });
    // Many arguments per run: one record is many writes, so unlocked runs interleave.
    const argvOf = (i: number) => ['patch', 'deployment', `web-${i}`, ...Array.from({ length: 40 }, (_, j) => `--arg-${i}-${j}=${'x'.repeat(200)}`)];
    await Promise.all(Array.from({ length: 24 }, (_, i) => run(wrapper.path, argvOf(i))));
    const logged = wrapper.argvs();
    assert.equal(logged.length, 24);
    const byName = new Map(logged.map((argv) => [argv[2], argv]));
    for (let i = 0; i < 24; i++) assert.deepEqual(byName.get(`web-${i}`), argvOf(i));
  });

  it('throws on a damaged log instead of reading it from the start again', () => {
    const log = path.join(dir, 'kubectl.argv');
    writeFileSync(log, Buffer.concat([Buffer.from('2\nget\0'), Buffer.from('pods')]));
    assert.throws(() => readArgvLog(log), /malformed argv record at byte 6/);
    writeFileSync(log, '1\nget\0garbage');
    assert.throws(() => readArgvLog(log), /malformed argv record/);
  });
});
