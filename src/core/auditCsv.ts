// The audit log exported as CSV: one row per entry, fields a spreadsheet shows as text (never as a formula).
import type { AuditEntry } from './auditEntry';
import { canonicalJson } from './canonicalJson';

export const csvColumns = ['seq', 'time', 'action', 'actor_type', 'actor_via', 'context', 'server', 'plan_id', 'digest', 'snapshot_id', 'objects', 'outcome', 'detail', 'prev', 'hash'] as const;

function csvField(value: string): string {
  // A leading = + - @ would run as a formula in a spreadsheet; a leading quote keeps it text.
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(entry: AuditEntry): string {
  const objects = (entry.objects ?? [])
    .map((object) => `${object.namespace}/${object.kind}/${object.name}${object.resourceVersion ? `@${object.resourceVersion}` : ''}`)
    .join('; ');
  const values: Record<(typeof csvColumns)[number], string> = {
    seq: String(entry.seq),
    time: entry.time,
    action: entry.action,
    actor_type: entry.actor.type,
    actor_via: entry.actor.via,
    context: entry.context ?? '',
    server: entry.server ?? '',
    plan_id: entry.planId ?? '',
    digest: entry.digest ?? '',
    snapshot_id: entry.snapshotId ?? '',
    objects,
    outcome: entry.outcome,
    detail: entry.detail ? canonicalJson(entry.detail) : '',
    prev: entry.prev,
    hash: entry.hash,
  };
  return csvColumns.map((column) => csvField(values[column])).join(',');
}
