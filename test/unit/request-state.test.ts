// The 2026-07-28 request state on its own: what it binds, and every way it is refused (no server, no cluster).
import assert from 'node:assert/strict';
import { argumentsHash, RequestStateSigner } from '../../src/mcp/requestState';

const fields = { tool: 'krr_apply_plan', planId: 'plan-0123456789ab', digest: 'd'.repeat(64), args: argumentsHash({ planId: 'plan-0123456789ab' }), input: 'approval' };

describe('request state (2026-07-28 approval round trip)', () => {
  it('opens once what this signer minted, with its fields; the second time is a replay', () => {
    const signer = new RequestStateSigner();
    const token = signer.mint(fields, 60_000);
    const opened = signer.open(token);
    assert.equal(opened.ok, true);
    assert.deepEqual(opened.ok && { ...opened.state, nonce: '', expiresAt: 0 }, { ...fields, nonce: '', expiresAt: 0 });
    assert.deepEqual(signer.open(token), { ok: false, problem: 'replayed' });
  });

  it('refuses a state of another signer (another process), an altered payload, and garbage', () => {
    const signer = new RequestStateSigner();
    assert.deepEqual(signer.open(new RequestStateSigner().mint(fields, 60_000)), { ok: false, problem: 'forged' });
    const [payload, mac] = signer.mint(fields, 60_000).split('.') as [string, string];
    const altered = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')), planId: 'plan-ffffffffffff' })).toString('base64url');
    assert.deepEqual(signer.open(`${altered}.${mac}`), { ok: false, problem: 'forged' });
    for (const garbage of ['', 'x', 'a.b.c', '.', `${payload}.`]) assert.equal(signer.open(garbage).ok, false, JSON.stringify(garbage));
  });

  it('expires: refused once its lifetime is over, even if never presented', () => {
    let now = 1_000_000;
    const signer = new RequestStateSigner(() => now);
    const token = signer.mint(fields, 5_000);
    now += 5_000;
    assert.deepEqual(signer.open(token), { ok: false, problem: 'expired' });
  });

  it('binds the arguments: any change of them is another hash', () => {
    assert.equal(argumentsHash({ a: 1, b: 2 }), argumentsHash({ b: 2, a: 1 }));
    assert.notEqual(argumentsHash({ snapshotId: 's' }), argumentsHash({ snapshotId: 's', includeConflicts: true }));
  });
});
