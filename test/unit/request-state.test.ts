// The 2026-07-28 request state on its own: what it binds, every way it is refused, and that it lives in the state
// directory (its key file and its single-use ledger), so a client that starts the server per call can answer a form
// shown by an earlier process, once (no server, no cluster: each signer stands for one process).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { argumentsHash, requestStateKey, RequestStateSigner } from '../../src/mcp/requestState';

const fields = { tool: 'krr_apply_plan', planId: 'plan-0123456789ab', digest: 'd'.repeat(64), args: argumentsHash({ planId: 'plan-0123456789ab' }), input: 'approval' };

describe('request state (2026-07-28 approval round trip)', () => {
  let dir: string;
  let stateDir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-request-state-'));
    stateDir = path.join(dir, 'state');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('opens once what this signer minted, with its fields; the second time is a replay', async () => {
    const signer = new RequestStateSigner(stateDir);
    const token = await signer.mint(fields, 60_000);
    const opened = await signer.open(token);
    assert.equal(opened.ok, true);
    assert.deepEqual(opened.ok && { ...opened.state, nonce: '', expiresAt: 0 }, { ...fields, nonce: '', expiresAt: 0 });
    assert.deepEqual(await signer.open(token), { ok: false, problem: 'replayed' });
  });

  it('refuses a state of another state directory, an altered payload, and garbage', async () => {
    const signer = new RequestStateSigner(stateDir);
    assert.deepEqual(await signer.open(await new RequestStateSigner(path.join(dir, 'other')).mint(fields, 60_000)), { ok: false, problem: 'forged' });
    const [payload, mac] = (await signer.mint(fields, 60_000)).split('.') as [string, string];
    const altered = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')), planId: 'plan-ffffffffffff' })).toString('base64url');
    assert.deepEqual(await signer.open(`${altered}.${mac}`), { ok: false, problem: 'forged' });
    for (const garbage of ['', 'x', 'a.b.c', '.', `${payload}.`]) assert.equal((await signer.open(garbage)).ok, false, JSON.stringify(garbage));
  });

  it('expires: refused once its lifetime is over, even if never presented', async () => {
    let now = 1_000_000;
    const signer = new RequestStateSigner(stateDir, () => now);
    const token = await signer.mint(fields, 5_000);
    now += 5_000;
    assert.deepEqual(await signer.open(token), { ok: false, problem: 'expired' });
  });

  it('binds the arguments: any change of them is another hash', () => {
    assert.equal(argumentsHash({ a: 1, b: 2 }), argumentsHash({ b: 2, a: 1 }));
    assert.notEqual(argumentsHash({ snapshotId: 's' }), argumentsHash({ snapshotId: 's', includeConflicts: true }));
  });

  it('per-call processes: a state minted by one process opens in the next over the same state directory, once', async () => {
    const first = new RequestStateSigner(stateDir);
    const token = await first.mint(fields, 60_000);
    // The key is a 0600 file in the state directory, the only one there.
    const keyFile = path.join(stateDir, 'request-state.key');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(stateDir), ['request-state.key']);
    const second = new RequestStateSigner(stateDir);
    const opened = await second.open(token);
    assert.equal(opened.ok && opened.state.planId, fields.planId);
    // Replayed in a third process, or back in the first one: spent.
    assert.deepEqual(await new RequestStateSigner(stateDir).open(token), { ok: false, problem: 'replayed' });
    assert.deepEqual(await first.open(token), { ok: false, problem: 'replayed' });
  });

  it('concurrent first processes agree on one key (created with O_EXCL), and race for a state: exactly one opens it', async () => {
    const keys = await Promise.all(Array.from({ length: 8 }, () => requestStateKey(stateDir)));
    for (const key of keys) assert.ok(key.equals(keys[0] as Buffer));
    assert.deepEqual(readdirSync(stateDir), ['request-state.key'], 'no temp file left behind');
    const token = await new RequestStateSigner(stateDir).mint(fields, 60_000);
    const results = await Promise.all(Array.from({ length: 8 }, () => new RequestStateSigner(stateDir).open(token)));
    assert.equal(results.filter((result) => result.ok).length, 1);
    assert.ok(results.filter((result) => !result.ok).every((result) => !result.ok && result.problem === 'replayed'));
  });

  it('a damaged key file is an error that names the file, never silently replaced; repaired, it works again', async () => {
    const signer = new RequestStateSigner(stateDir);
    await signer.mint(fields, 60_000);
    const keyFile = path.join(stateDir, 'request-state.key');
    const record = readFileSync(keyFile, 'utf8');
    writeFileSync(keyFile, 'not a key');
    const fresh = new RequestStateSigner(stateDir);
    await assert.rejects(fresh.mint(fields, 60_000), /request-state\.key is damaged/);
    assert.equal(readFileSync(keyFile, 'utf8'), 'not a key');
    writeFileSync(keyFile, record);
    assert.equal((await fresh.open(await fresh.mint(fields, 60_000))).ok, true);
  });

  it('a ledger that cannot be written refuses the state (its single use cannot be recorded) instead of opening it', async () => {
    const signer = new RequestStateSigner(stateDir);
    const token = await signer.mint(fields, 60_000);
    writeFileSync(path.join(stateDir, 'request-states'), 'not a directory');
    assert.deepEqual(await signer.open(token), { ok: false, problem: 'unrecorded' });
  });

  it('sweeps the claims of expired states, and only those', async () => {
    let now = 1_000_000;
    const signer = new RequestStateSigner(stateDir, () => now);
    assert.equal((await signer.open(await signer.mint(fields, 5_000))).ok, true);
    assert.equal((await signer.open(await signer.mint(fields, 60_000))).ok, true);
    const ledger = path.join(stateDir, 'request-states');
    writeFileSync(path.join(ledger, 'not-a-claim'), '');
    assert.equal(readdirSync(ledger).length, 3);
    now += 10_000;
    assert.equal((await signer.open(await signer.mint(fields, 60_000))).ok, true);
    // Expiries 1 005 000 (swept: past at 1 010 000), 1 060 000 and 1 070 000 (live), and a stranger's file (kept).
    assert.deepEqual(readdirSync(ledger).map((name) => name.split('.')[0]).sort(), ['1060000', '1070000', 'not-a-claim']);
  });
});
