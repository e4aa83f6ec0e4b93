// The decline cool-down in the state directory: what one process records, the next one (a stdio server started per
// call) honours; concurrent writers leave whole files; a damaged or planted file never crashes and never ends a
// cool-down early (each DeclineCooldowns stands for one process).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DeclineCooldowns } from '../../src/core/session/cooldown';

const minute = 60_000;

describe('decline cool-down in the state directory', () => {
  let dir: string;
  let stateDir: string;
  let logs: string[];
  const nextProcess = () => new DeclineCooldowns(stateDir, (line) => logs.push(line));
  /** The one cool-down file there is (names are hashes of the key). */
  const onlyFile = () => {
    const names = readdirSync(path.join(stateDir, 'cooldowns')).filter((name) => name.endsWith('.json'));
    assert.equal(names.length, 1, names.join(', '));
    return path.join(stateDir, 'cooldowns', names[0] as string);
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-cooldown-'));
    stateDir = path.join(dir, 'state');
    logs = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a decline in one process holds in the next over the same state directory, per key, until it has passed', async () => {
    const now = Date.now();
    await nextProcess().record('prod-eu-1', now);
    const next = nextProcess();
    assert.equal(next.leftMs('prod-eu-1', 2 * minute, now + minute), minute);
    assert.equal(next.leftMs('staging', 2 * minute, now + minute), 0, 'another context is not cooled down');
    assert.equal(next.leftMs('prod-eu-1', 2 * minute, now + 2 * minute), 0);
    assert.equal(new DeclineCooldowns(path.join(dir, 'other'), () => undefined).leftMs('prod-eu-1', 2 * minute, now), 0, 'another state directory has its own');
    assert.deepEqual(logs, []);
  });

  it('concurrent declines from many processes leave one whole record and no temp file', async () => {
    const now = Date.now();
    await Promise.all(Array.from({ length: 16 }, (_, index) => nextProcess().record('prod-eu-1', now + index)));
    const file = onlyFile();
    assert.deepEqual(readdirSync(path.dirname(file)), [path.basename(file)]);
    // Whichever of the 16 records landed last (any order is right), it is one of them: recorded at now … now + 15.
    const left = nextProcess().leftMs('prod-eu-1', minute, now + 16);
    assert.ok(left >= minute - 16 && left <= minute - 1, String(left));
    assert.deepEqual(logs, []);
  });

  it('a damaged file counts as a decline when it was last written: in cool-down, then over by itself', async () => {
    const now = Date.now();
    await nextProcess().record('prod-eu-1', now - 10 * minute);
    const file = onlyFile();
    for (const damaged of ['{"v":1,"declinedAt":', 'garbage', '{"v":1,"declinedAt":"soon"}', '{"v":2,"declinedAt":0}', 'x'.repeat(5000)]) {
      writeFileSync(file, damaged);
      assert.ok(nextProcess().leftMs('prod-eu-1', minute, Date.now()) > minute - 5_000, `just written: ${damaged.slice(0, 30)}`);
      utimesSync(file, new Date(now - 2 * minute), new Date(now - 2 * minute));
      assert.equal(nextProcess().leftMs('prod-eu-1', minute, now), 0, `written two minutes ago: ${damaged.slice(0, 30)}`);
    }
    assert.ok(logs.every((line) => line.includes('is not a record')) && logs.length === 10, logs.join('\n'));
  });

  it('a planted future time, or a directory in place of the file, keeps the cool-down (never longer than its length)', async () => {
    const now = Date.now();
    await nextProcess().record('prod-eu-1', now);
    const file = onlyFile();
    writeFileSync(file, JSON.stringify({ v: 1, declinedAt: now + 365 * 24 * 60 * minute }));
    assert.equal(nextProcess().leftMs('prod-eu-1', minute, now), minute);
    rmSync(file);
    mkdirSync(file);
    const left = nextProcess().leftMs('prod-eu-1', minute, Date.now());
    assert.ok(left > minute - 5_000 && left <= minute, `a directory counts as a decline at its mtime: ${left}`);
  });

  it('a state directory that cannot be written: the decline still holds in this process, and the failure is logged', async () => {
    writeFileSync(path.join(dir, 'state'), 'not a directory');
    const cooldowns = nextProcess();
    const now = Date.now();
    await cooldowns.record('prod-eu-1', now);
    assert.equal(cooldowns.leftMs('prod-eu-1', minute, now), minute);
    assert.match(logs.join('\n'), /could not keep the decline cool-down .* in this process only/);
  });
});
