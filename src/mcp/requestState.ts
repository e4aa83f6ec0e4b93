// The opaque `requestState` of the 2026-07-28 revision's multi round-trip requests: what the server asked a person
// to approve travels through the client and comes back with the answer. The spec makes it attacker-controlled input
// (MRTR, server requirements 4 and 5), so it is HMAC'd under a key that never leaves this process, bound to the tool,
// the plan id and digest and the call's arguments, expires, and is single use.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../core/canonicalJson';

/** What a state vouches for. `args` is a hash of the tool call's arguments, so a state cannot move to another call. */
export interface ApprovalState {
  tool: string;
  planId: string;
  digest: string;
  args: string;
  /** The key of the input request the answer must come under. */
  input: string;
  nonce: string;
  /** Epoch milliseconds after which the state is refused. */
  expiresAt: number;
}

export type StateProblem = 'malformed' | 'forged' | 'expired' | 'replayed';

export type OpenedState = { ok: true; state: ApprovalState } | { ok: false; problem: StateProblem };

/** Bounds the single-use ledger: at most this many live nonces are remembered (each expires with its state). */
const maxRemembered = 10_000;

export function argumentsHash(args: unknown): string {
  return createHash('sha256').update(canonicalJson(args ?? {})).digest('hex');
}

/**
 * Mints and checks request states. The key is random per process and never written anywhere: a state from another
 * process (or from before a restart) fails verification and the client is asked again, which costs one dialog and
 * can never approve anything.
 */
export class RequestStateSigner {
  private readonly key = randomBytes(32);
  /** nonce → expiry, for states already presented once (single use). */
  private readonly used = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  mint(fields: Omit<ApprovalState, 'nonce' | 'expiresAt'>, ttlMs: number): string {
    const state: ApprovalState = { ...fields, nonce: randomBytes(16).toString('base64url'), expiresAt: this.now() + ttlMs };
    const payload = Buffer.from(canonicalJson(state), 'utf8').toString('base64url');
    return `${payload}.${this.mac(payload)}`;
  }

  /** Verifies integrity and expiry and consumes the state: a second presentation is `replayed`. */
  open(token: string): OpenedState {
    const parts = token.split('.');
    if (parts.length !== 2 || !parts[0] || !parts[1] || token.length > 4096) return { ok: false, problem: 'malformed' };
    const [payload, mac] = parts as [string, string];
    const expected = Buffer.from(this.mac(payload), 'utf8');
    const given = Buffer.from(mac, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, problem: 'forged' };
    let state: ApprovalState;
    try {
      state = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as ApprovalState;
    } catch {
      // A valid MAC over garbage can only come from this process; still refuse rather than guess.
      return { ok: false, problem: 'malformed' };
    }
    const now = this.now();
    this.forgetExpired(now);
    if (typeof state.expiresAt !== 'number' || now >= state.expiresAt) return { ok: false, problem: 'expired' };
    if (this.used.has(state.nonce)) return { ok: false, problem: 'replayed' };
    this.used.set(state.nonce, state.expiresAt);
    if (this.used.size > maxRemembered) this.used.delete(this.used.keys().next().value as string);
    return { ok: true, state };
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }

  private forgetExpired(now: number): void {
    for (const [nonce, expiresAt] of this.used) if (expiresAt <= now) this.used.delete(nonce);
  }
}
