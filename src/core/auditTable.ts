// The audit log as a person reads it: one row per entry with time, who, via what, action, objects and outcome, in
// words. The JSONL stays the record (and one click away in the view); these rows only word it, so every value here is
// computed from the entry's own fields and every name from outside passes through displayText.
import type { AuditActor, AuditEntry } from './audit';
import { displayText, plural } from './text';

export interface AuditRow {
  seq: number;
  /** ISO 8601, as stored; the view formats it in the person's locale. */
  time: string;
  /** "you", "the AI chat", "KRR itself" or "nobody" (an approval nobody answered). */
  who: string;
  /** Which UI or MCP client: "review panel", "notification", "approval dialog", "Copilot", "rollout watch". */
  via: string;
  /** A verb phrase: "scanned", "proposed a rollback", "declined", "applied", "rolled back", "wrote", … */
  action: string;
  /** Up to three objects by name, then "+ N more". */
  objects: string;
  objectCount: number;
  /** "ok", "declined", "refused: stale", "verified", … */
  outcome: string;
  /** One group per outcome, for filters and colour: ok, declined, refused, failed, info. */
  tone: 'ok' | 'declined' | 'refused' | 'failed' | 'info';
  context: string;
  planId: string;
  /** The entry's message or reason, one line, bounded. */
  detail: string;
}

type PlanKind = 'apply' | 'rollback' | 'restore';

const maxNamedObjects = 3;

/** Words every entry in `entries` (any order); a plan's kind (apply or rollback) is read from the entries that name it. */
export function auditRows(entries: readonly AuditEntry[]): AuditRow[] {
  const kinds = new Map<string, PlanKind>();
  const requesters = new Map<string, AuditActor>();
  for (const entry of entries) {
    const kind = entry.detail?.kind;
    if (entry.planId && (kind === 'apply' || kind === 'rollback' || kind === 'restore')) kinds.set(entry.planId, kind);
    // The apply's start names who asked for it; its closing verification is written by the extension itself.
    if (entry.planId && entry.action === 'apply' && entry.outcome === 'started') requesters.set(entry.planId, entry.actor);
  }
  return entries.map((entry) => auditRow(entry, entry.planId ? { kind: kinds.get(entry.planId), requester: requesters.get(entry.planId) } : {}));
}

/**
 * Words one entry. `plan` carries what other entries of the same plan told: its kind (a verify entry does not carry
 * it) and who asked for the apply (the verify entry's own actor is the verification read).
 */
export function auditRow(entry: AuditEntry, plan: { kind?: PlanKind | undefined; requester?: AuditActor | undefined } = {}): AuditRow {
  const detail = entry.detail ?? {};
  const message = typeof detail.message === 'string' ? detail.message : '';
  const rollback = plan.kind === 'rollback' || detail.kind === 'rollback';
  const actor = party(entry.action === 'verify' && plan.requester ? plan.requester : entry.actor);
  const base = {
    seq: entry.seq,
    time: entry.time,
    ...actor,
    objects: describeObjects(entry.objects ?? []),
    objectCount: entry.objects?.length ?? 0,
    context: displayText(entry.context ?? '', 120),
    planId: displayText(entry.planId ?? '', 40),
    detail: displayText(message, 300),
  };
  const outcome = displayText(entry.outcome, 40);
  switch (entry.action) {
    case 'scan': {
      const workloads = typeof detail.workloads === 'number' ? detail.workloads : undefined;
      const file = typeof detail.file === 'string' ? displayText(detail.file, 80) : '';
      return entry.outcome === 'loaded'
        ? { ...base, action: 'loaded a report', outcome: file ? `loaded ${file}` : 'loaded', tone: 'info', detail: base.detail }
        : { ...base, action: 'scanned', outcome: workloads === undefined ? outcome : plural(workloads, 'workload'), tone: 'info' };
    }
    case 'propose': {
      const risk = typeof detail.risk === 'string' ? `, risk ${displayText(detail.risk, 20)}` : '';
      const blocked = typeof detail.blocked === 'number' && detail.blocked > 0 ? `, ${plural(detail.blocked, 'workload')} blocked` : '';
      return { ...base, action: rollback ? 'proposed a rollback' : 'proposed', outcome: `${plural(base.objectCount, 'object')}${risk}${blocked}`, tone: 'info' };
    }
    case 'approve': {
      // The actor is the dialog; who asked for the apply is in detail.requestedBy ("human:review panel").
      const requested = typeof detail.requestedBy === 'string' ? requestedBy(detail.requestedBy) : '';
      return { ...base, action: rollback ? 'approved a rollback' : 'approved', outcome: 'approved', tone: 'ok', detail: requested ? `requested by ${requested}` : base.detail };
    }
    case 'decline':
      return declineRow(entry, base, rollback, message);
    case 'apply':
      if (entry.outcome === 'started') return { ...base, action: rollback ? 'rollback started' : 'apply started', outcome: 'started', tone: 'info' };
      if (entry.outcome === 'applied') return { ...base, action: rollback ? 'rolled back' : 'applied', outcome: 'done, not verified', tone: 'ok' };
      if (entry.outcome === 'restored') return { ...base, action: rollback ? 'rollback undone' : 'apply undone', outcome: 'restored: nothing stays changed', tone: 'failed' };
      return { ...base, action: rollback ? 'rollback failed' : 'apply failed', outcome, tone: 'failed' };
    case 'write':
      return { ...base, action: rollback ? 'restored (rollback)' : 'wrote', outcome: 'written', tone: 'ok' };
    case 'write-failed':
      return { ...base, action: rollback ? 'rollback write failed' : 'write failed', outcome, tone: 'failed' };
    case 'restore':
      return { ...base, action: 'restored after a failure', outcome: 'restored', tone: 'info' };
    case 'restore-failed':
      return { ...base, action: 'restore failed', outcome, tone: 'failed' };
    case 'verify':
      // A complete apply ends with its verification read: this is the row that says the change happened.
      return entry.outcome === 'ok'
        ? { ...base, action: rollback ? 'rolled back' : 'applied', outcome: 'verified', tone: 'ok', detail: 'verified by re-reading the objects' }
        : { ...base, action: rollback ? 'rolled back' : 'applied', outcome: 'verification found different values', tone: 'failed', detail: 'the objects read back differ from the plan: check them' };
    case 'rollback':
      return { ...base, action: 'rolled back', outcome, tone: entry.outcome === 'failed' ? 'failed' : 'ok' };
    case 'refuse':
      return { ...base, action: rollback ? 'rollback refused' : 'refused', outcome: refusal(entry.outcome, detail), tone: 'refused' };
    case 'rollout':
      return { ...base, action: 'watched the rollout', outcome, tone: entry.outcome === 'healthy' || entry.outcome === 'ok' ? 'ok' : 'failed' };
    case 'repair':
      return { ...base, action: 'repaired the log', outcome: entry.outcome === 'torn-tail-cut' ? 'cut an unfinished last line' : outcome, tone: 'info' };
    case 'trial':
      if (entry.outcome === 'started') return { ...base, action: 'trial started', outcome: 'pods resized in place', tone: 'ok' };
      if (entry.outcome === 'passed') return { ...base, action: 'trial passed', outcome: 'passed, pods reverted', tone: 'ok' };
      return { ...base, action: entry.outcome === 'overdue' ? 'trial overdue' : 'trial failed', outcome, tone: 'failed' };
    case 'trial-revert':
      return { ...base, action: 'trial pods reverted', outcome, tone: entry.outcome === 'reverted' ? 'info' : 'failed' };
  }
}

function declineRow(entry: AuditEntry, base: Omit<AuditRow, 'action' | 'outcome' | 'tone'>, rollback: boolean, message: string): AuditRow {
  const what = rollback ? 'a rollback' : 'an apply';
  // The entry's actor is who asked; the decision was the person's (or nobody's, when it timed out).
  const asker = `requested by ${base.who} (${base.via})`;
  if (entry.outcome === 'refused') return { ...base, action: `${what} could not be asked`, outcome: 'refused: no one can approve here', tone: 'refused' };
  if (/Nobody answered/.test(message)) return { ...base, who: 'nobody', via: 'approval dialog', action: `did not answer ${what}`, outcome: 'declined: timed out', tone: 'declined', detail: asker };
  // The reason in parentheses is one of the approver's fixed words (src/editor/approver.ts, mcp/elicitationApprover.ts).
  const reason = /\(([^()]*)\)\. Nothing was written\.$/.exec(message)?.[1] ?? '';
  const where =
    /notification/.test(reason) ? 'notification'
    : /context name/.test(reason) ? 'typed confirmation'
    : /approval dialog|answered too quickly/.test(reason) ? 'approval dialog'
    : 'approval';
  const how =
    /^dismissed the approval dialog$/.test(reason) ? 'declined (Cancel or Escape)'
    : /^dismissed the notification$/.test(reason) ? 'declined (notification closed)'
    : /context name was not typed/.test(reason) ? 'declined (context name not typed)'
    : /too quickly/.test(reason) ? 'declined (answered too quickly, repeatedly)'
    : /failed/.test(reason) ? 'declined (the dialog failed)'
    : 'declined';
  return { ...base, who: 'you', via: where, action: `declined ${what}`, outcome: how, tone: 'declined', detail: asker };
}

function party(actor: AuditActor): { who: string; via: string } {
  const via = displayText(actor.via, 80) || 'unknown';
  if (actor.type === 'model') return { who: 'the AI chat', via };
  if (actor.type === 'system') return { who: 'KRR itself', via };
  return { who: 'you', via };
}

/** detail.requestedBy is "type:via" (session.apply). */
function requestedBy(value: string): string {
  const separator = value.indexOf(':');
  const type = value.slice(0, separator);
  const via = displayText(value.slice(separator + 1), 80);
  if (type === 'model') return `the AI chat (${via})`;
  if (type === 'system') return `KRR itself (${via})`;
  if (type === 'human') return `you (${via})`;
  return displayText(value, 80);
}

function refusal(outcome: string, detail: Record<string, unknown>): string {
  const tool = typeof detail.tool === 'string' ? ` (${displayText(detail.tool, 40)})` : '';
  const words: Record<string, string> = {
    stale: 'stale: the objects changed since the preview',
    used: 'plan already used',
    expired: 'plan expired',
    unknown: 'no such plan',
    refused: 'refused',
    conflict: 'every value was changed since',
    'invalid-arguments': `invalid arguments${tool}`,
    'unknown-tool': `unknown tool${tool}`,
  };
  return words[outcome] ?? `refused: ${displayText(outcome, 40)}`;
}

function describeObjects(objects: readonly { namespace: string; kind: string; name: string }[]): string {
  const named = objects.slice(0, maxNamedObjects).map((object) => `${displayText(object.kind, 40)} ${displayText(object.namespace, 63)}/${displayText(object.name, 80)}`);
  const more = objects.length - named.length;
  return more > 0 ? `${named.join(', ')} + ${more} more` : named.join(', ');
}
