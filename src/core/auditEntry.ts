// What an audit entry is (actor, action, objects, outcome; seq, time, hash chain and MAC), the queries and the
// verification result of the log (audit.ts), and its error.
export type AuditActor =
  | { type: 'human'; via: string }
  | { type: 'model'; via: string }
  | { type: 'system'; via: string }
  /** An MCP client's answer to an approval request: a person or automation behind it (the protocol cannot tell). */
  | { type: 'client'; via: string };

export const auditActions = [
  'scan',
  'propose',
  'approve',
  'decline',
  'apply',
  'write',
  'write-failed',
  'restore',
  'restore-failed',
  'rollback',
  'verify',
  'refuse',
  'rollout',
  'repair',
  /** A trial (core/trial): started on its pods ('started' | 'failed'), its end ('passed' | 'failed' | 'overdue'). */
  'trial',
  /** A trial's pods put back at the template's size ('reverted' | 'failed'). */
  'trial-revert',
] as const;
export type AuditAction = (typeof auditActions)[number];

export interface AuditObjectRef {
  namespace: string;
  kind: string;
  name: string;
  resourceVersion?: string;
}

export interface AuditRecord {
  action: AuditAction;
  actor: AuditActor;
  context?: string;
  server?: string;
  planId?: string;
  digest?: string;
  snapshotId?: string;
  objects?: AuditObjectRef[];
  /** short: 'ok' | 'declined' | 'expired' | 'stale' | 'failed' | ... */
  outcome: string;
  detail?: Record<string, unknown>;
}

export interface AuditEntry extends AuditRecord {
  seq: number;
  /** ISO 8601 */
  time: string;
  /** sha256 hex of the previous line's exact bytes, or 64 zeros for the first entry */
  prev: string;
  /** sha256 hex over the canonical JSON of this entry without `hash` and `mac` */
  hash: string;
  /** HMAC-SHA256 hex over the canonical JSON of this entry without `mac`; absent on legacy (pre-key) entries */
  mac?: string;
}

export interface AuditReadOptions {
  /** inclusive, ISO time */
  since?: string;
  /** exclusive, ISO time */
  until?: string;
  actions?: AuditAction[];
  outcome?: string;
  offset?: number;
  /** no limit when absent */
  limit?: number;
  newestFirst?: boolean;
}

export interface AuditVerifyResult {
  valid: boolean;
  /** complete entries that were checked and found valid (up to the first broken line) */
  entries: number;
  /** entries 1..legacyEntries were written before the log was keyed: hash chain only, no MAC */
  legacyEntries: number;
  /** 1-based line number of the first line that breaks the chain (absent when the break is at the end: truncation, head, key) */
  firstBrokenLine?: number;
  reason?: string;
  tornTail: boolean;
}

export class AuditLogError extends Error {
  constructor(
    message: string,
    readonly code: 'damaged' | 'write-failed' | 'bad-query',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AuditLogError';
  }
}
