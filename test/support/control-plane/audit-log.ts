// The real kube-apiserver's audit log as the evidence of what was written. The audit policy (policy.yaml
// beside this file) logs every request with a write verb — dry runs included — at the Request level, one
// JSON event per line, at the ResponseComplete stage; this module reads it back as Mutation records.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { Mutation } from '../kube-api-server/server';

/** The fields of an audit.k8s.io/v1 Event that the tests read. */
export interface AuditEvent {
  stage: string;
  verb: string;
  requestURI: string;
  user?: { username?: string };
  objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string; subresource?: string };
  responseStatus?: { code?: number };
  requestObject?: unknown;
}

const writeVerbs = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
const methodOfVerb: Record<string, string> = { create: 'POST', update: 'PUT', patch: 'PATCH', delete: 'DELETE', deletecollection: 'DELETE' };

export function isDryRun(event: AuditEvent): boolean {
  return new URL(event.requestURI, 'https://x').searchParams.getAll('dryRun').includes('All');
}

/** A write that landed: a write verb, not a dry run, answered below 300. */
export function isCommittedWrite(event: AuditEvent): boolean {
  const code = event.responseStatus?.code ?? 0;
  return writeVerbs.has(event.verb) && !isDryRun(event) && code >= 200 && code < 300;
}

export function toMutation(event: AuditEvent): Mutation {
  return {
    method: methodOfVerb[event.verb] ?? event.verb.toUpperCase(),
    path: event.requestURI,
    dryRun: isDryRun(event),
    status: event.responseStatus?.code ?? 0,
    bodySha256: createHash('sha256').update(JSON.stringify(event.requestObject ?? null)).digest('hex'),
  };
}

/** Reads the audit log from byte `from`; waits (synchronously, up to `settleMs`) until the file stops growing. */
export class AuditLogReader {
  private offset = 0;

  constructor(readonly path: string) {}

  /** Events from now on only (what `clearMutations` means against a log that is append-only). */
  markNow(): void {
    this.offset = this.size();
  }

  /** Write-verb events of `users` (the identities the tests drive kubectl with), in log order. */
  events(users: ReadonlySet<string>, settleMs = 150): AuditEvent[] {
    this.settle(settleMs);
    if (!existsSync(this.path)) return [];
    const size = this.size();
    if (size <= this.offset) return [];
    // One byte before the mark comes along: markNow() may have caught the API server mid-line, and a read from
    // there starts with the rest of that line (an event before the mark). Skip it unless that byte ends a line.
    const start = Math.max(0, this.offset - 1);
    const buffer = Buffer.alloc(size - start);
    const fd = openSync(this.path, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, start);
    } finally {
      closeSync(fd);
    }
    let text = buffer.toString('utf8');
    if (this.offset > 0) text = buffer[0] === 0x0a ? text.slice(1) : text.slice(text.indexOf('\n') + 1);
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    return complete
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as AuditEvent)
      .filter((event) => event.stage === 'ResponseComplete' && writeVerbs.has(event.verb) && users.has(event.user?.username ?? ''));
  }

  private size(): number {
    return existsSync(this.path) ? statSync(this.path).size : 0;
  }

  /**
   * The API server writes an event when the response completes, which can be a moment after the client has
   * read the reply: wait until the file has not grown for `quietMs` (bounded by 20 × quietMs).
   */
  private settle(quietMs: number): void {
    const step = 25;
    let last = this.size();
    let quiet = 0;
    for (let waited = 0; quiet < quietMs && waited < quietMs * 20; waited += step) {
      sleepSync(step);
      const now = this.size();
      quiet = now === last ? quiet + step : 0;
      last = now;
    }
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
