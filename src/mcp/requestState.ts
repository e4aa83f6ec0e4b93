// The opaque `requestState` of the 2026-07-28 revision's multi round-trip requests: what the server asked a person
// to approve travels through the client and comes back with the answer. The spec makes it attacker-controlled input
// (MRTR, server requirements 4 and 5), so it is HMAC'd, bound to the tool, the plan id and digest and the call's
// arguments, expires, and is single use.
//
// A client may start the stdio server per call, so the round trip has to survive a process boundary: the key lives in
// the state directory (<stateDir>/request-state.key, 0600, created once with O_EXCL like the audit key), and single
// use is an O_EXCL claim file per state (<stateDir>/request-states/), so a state answered in one process is refused
// in every other one. A state from another state directory fails verification.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { fileKeyStore } from '../core/auditKey';
import { canonicalJson } from '../core/canonicalJson';
import { syncDirectory } from '../core/durableFile';

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

/** `unrecorded`: the state is genuine, but its single use could not be recorded (state directory not writable). */
export type StateProblem = 'malformed' | 'forged' | 'expired' | 'replayed' | 'unrecorded';

export type OpenedState = { ok: true; state: ApprovalState } | { ok: false; problem: StateProblem };

/** base64url of 16 random bytes: also safe as a file name. */
const noncePattern = /^[A-Za-z0-9_-]{22}$/;
/** A claim file of the ledger: `<expiresAt>.<nonce>`. */
const claimName = /^(\d{1,16})\.[A-Za-z0-9_-]{22}$/;
const keyRecordSchema = z.strictObject({ v: z.literal(1), key: z.string().regex(/^[A-Za-z0-9+/]{43}=$/) });

export class RequestStateKeyError extends Error {
  override readonly name = 'RequestStateKeyError';
}

export function argumentsHash(args: unknown): string {
  return createHash('sha256').update(canonicalJson(args ?? {})).digest('hex');
}

/**
 * The key request states are signed with, from <stateDir>/request-state.key; the first process creates it (the audit
 * key's file store: a 0600 temp file linked into place, which fails if another process got there first — then that
 * one's key is read). A damaged file is an error, never silently replaced: nothing is then asked or approved.
 */
export async function requestStateKey(stateDir: string): Promise<Buffer> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, 'request-state.key');
  const store = fileKeyStore(file);
  let record = await store.read();
  if (record === undefined) {
    const created = JSON.stringify({ v: 1, key: randomBytes(32).toString('base64') });
    try {
      await store.write(created);
      record = created;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      record = await store.read();
    }
  }
  try {
    return Buffer.from(keyRecordSchema.parse(JSON.parse(record ?? '')).key, 'base64');
  } catch {
    throw new RequestStateKeyError(`The request-state key ${file} is damaged (not a key record). Delete it: a new one is made, and approval forms already shown must be asked again.`);
  }
}

/**
 * Mints and checks request states under the state directory's key. A state of another state directory fails
 * verification and the client is asked again, which costs one dialog and can never approve anything.
 */
export class RequestStateSigner {
  private key: Promise<Buffer> | undefined;
  private readonly ledger: string;

  constructor(
    private readonly stateDir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.ledger = path.join(stateDir, 'request-states');
  }

  async mint(fields: Omit<ApprovalState, 'nonce' | 'expiresAt'>, ttlMs: number): Promise<string> {
    const state: ApprovalState = { ...fields, nonce: randomBytes(16).toString('base64url'), expiresAt: this.now() + ttlMs };
    const payload = Buffer.from(canonicalJson(state), 'utf8').toString('base64url');
    return `${payload}.${await this.mac(payload)}`;
  }

  /** Verifies integrity and expiry and consumes the state in the state directory: a second presentation anywhere is `replayed`. */
  async open(token: string): Promise<OpenedState> {
    const parts = token.split('.');
    if (parts.length !== 2 || !parts[0] || !parts[1] || token.length > 4096) return { ok: false, problem: 'malformed' };
    const [payload, mac] = parts as [string, string];
    const expected = Buffer.from(await this.mac(payload), 'utf8');
    const given = Buffer.from(mac, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, problem: 'forged' };
    let state: ApprovalState;
    try {
      state = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as ApprovalState;
    } catch {
      // A valid MAC over garbage can only come from a holder of the key; still refuse rather than guess.
      return { ok: false, problem: 'malformed' };
    }
    const now = this.now();
    if (typeof state.nonce !== 'string' || !noncePattern.test(state.nonce)) return { ok: false, problem: 'malformed' };
    if (typeof state.expiresAt !== 'number' || !Number.isSafeInteger(state.expiresAt) || now >= state.expiresAt) return { ok: false, problem: 'expired' };
    await this.forgetExpired(now);
    return this.claim(state);
  }

  /** O_EXCL: of every process sharing the state directory, exactly one opens a given state. */
  private async claim(state: ApprovalState): Promise<OpenedState> {
    try {
      await mkdir(this.ledger, { recursive: true, mode: 0o700 });
    } catch {
      return { ok: false, problem: 'unrecorded' };
    }
    try {
      // The expiry leads the name, so that expired claims are swept without reading them.
      const handle = await open(path.join(this.ledger, `${state.expiresAt}.${state.nonce}`), 'wx', 0o600);
      await handle.close();
    } catch (error) {
      return { ok: false, problem: (error as NodeJS.ErrnoException).code === 'EEXIST' ? 'replayed' : 'unrecorded' };
    }
    // Spent before anything is asked or written; a claim lost with the directory entry (power loss) only re-opens a
    // state the plan's own claim still guards.
    await syncDirectory(this.ledger).catch(() => undefined);
    return { ok: true, state };
  }

  /** A claim can go once its state expired: the state itself is refused as expired from then on. */
  private async forgetExpired(now: number): Promise<void> {
    const names = await readdir(this.ledger).catch(() => [] as string[]);
    for (const name of names) {
      const expiresAt = Number(claimName.exec(name)?.[1] ?? Number.NaN);
      if (expiresAt <= now) await rm(path.join(this.ledger, name), { force: true }).catch(() => undefined);
    }
  }

  private async mac(payload: string): Promise<string> {
    this.key ??= requestStateKey(this.stateDir);
    // A failed read is not cached: the next call tries again (the file may have been repaired).
    const key = await this.key.catch((error: unknown) => {
      this.key = undefined;
      throw error;
    });
    return createHmac('sha256', key).update(payload).digest('base64url');
  }
}
