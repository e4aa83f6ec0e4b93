// The dialog's words for writing a manifest plan: it names files and workspace folders, never a cluster. Computed from
// the stored plan alone (safety invariant: a model must not be able to word the dialog).
import { describeParty } from '../approval';
import { changedContainerLine, sharedMissingReason } from '../evidence/planEvidence';
import { describeProjection } from '../hpa/projection';
import type { ApprovalText } from '../model';
import type { FieldChange, PlanRequester } from '../plan/model';
import { displayText, nameText } from '../text';
import type { ManifestPlan, ManifestWorkload } from './model';
import type { FieldEdit } from './yamlEdit';

const maxListedFiles = 12;
const maxListedWorkloads = 12;
const maxListedEdits = 8;

/**
 * True when the workload's files add this value as a new key although the workload already rendered one: the value
 * was inherited (a shared base, a chart default) and the write now sets it here. Matched on the edit's field path
 * (`…[container].resources.requests.cpu`, or `…requests.cpu` where the path names no container, as in values files).
 */
function inherited(workload: ManifestWorkload, change: FieldChange): boolean {
  if (change.from === null) return false;
  const tail = `.${change.allocation}.${change.resource}`;
  const edits = workload.files.flatMap((file) => file.edits).filter((edit) => edit.field.endsWith(tail) && (edit.field.includes(`[${change.container}]`) || !edit.field.includes('[')));
  return edits.length > 0 && edits.every((edit) => edit.from === null);
}

/** One rendered value of a workload, before → after (the dialog and the MCP tool's text say it alike). */
export function renderedChangeText(workload: ManifestWorkload, change: FieldChange): string {
  const from = change.from === null ? '(unset)' : displayText(change.from, 40);
  const to = change.to === null ? '(removed)' : displayText(change.to, 60);
  const how = inherited(workload, change) ? 'rendered; was inherited, now set in the file' : 'rendered';
  return `${nameText(change.container, 80)} ${change.allocation}.${change.resource} ${from} → ${to} (${how})`;
}

/** One edit of a file: its line, the field, the old value (or what is new) → the new one. */
export function fileEditText(edit: FieldEdit): string {
  return `line ${edit.line}: ${displayText(edit.field, 120)} ${edit.from === null ? newWhat(edit) : displayText(edit.from, 40)} → ${edit.to === null ? '(removed)' : displayText(edit.to, 60)}`;
}

/** What an edit with no old value adds: a key, or an entry of a list (a patch listed in a kustomization: `- path: …`). */
function newWhat(edit: FieldEdit): string {
  return edit.to?.startsWith('- ') ? '(new entry)' : '(new key)';
}

export function manifestApprovalText(plan: ManifestPlan, requester: PlanRequester, now: Date = new Date()): ApprovalText {
  const count = plan.files.length;
  const noun = count === 1 ? 'file' : 'files';
  // Folder names and file paths are names a person must recognise: hidden characters are shown as ⟨U+XXXX⟩ (a space
  // would make `a\u202Egnp.yaml` look like a plain `a gnp.yaml`), each isolated so it cannot reorder the line.
  const folders = [...new Set(plan.files.map((file) => nameText(file.folder)))].join(', ');
  const lines: string[] = [`Proposed by ${describeParty(plan.requestedBy)}.`, `Write requested by ${describeParty(requester)}.`];
  // The environment first, then what each workload renders before → after: a file edit alone can read "(new key) →
  // 40m" where the workload ran with 100m inherited from a base.
  const missing = sharedMissingReason(plan.workloads.flatMap((workload) => workload.evidence ?? []));
  for (const workload of plan.workloads.slice(0, maxListedWorkloads)) {
    lines.push(`${workload.kind} ${nameText(`${workload.namespace}/${workload.name}`, 200)} in ${nameText(workload.source.label, 240)}${workload.source.guess ? ' (a guess: check it)' : ''}${workload.source.chosen ? ' (the source picked among the candidates)' : ''}`);
    for (const change of workload.changes.slice(0, maxListedEdits)) lines.push(`   ${renderedChangeText(workload, change)}`);
    if (workload.changes.length > maxListedEdits) lines.push(`   …and ${workload.changes.length - maxListedEdits} more values (see the diff)`);
    // The usage behind the values, from the plan's stored summary (in its digest, like the values themselves).
    for (const summary of missing === null ? (workload.evidence ?? []) : []) lines.push(`   ${nameText(summary.container, 80)}: ${displayText(changedContainerLine(summary, workload.changes), 400)}`);
    if (workload.hpa) lines.push(`   ${displayText(describeProjection(workload.hpa), 600)}`);
  }
  if (plan.workloads.length > maxListedWorkloads) lines.push(`…and ${plan.workloads.length - maxListedWorkloads} more workloads (see the diff).`);
  if (missing !== null) lines.push(`No usage evidence for these changes (${displayText(missing, 300)}).`);
  // A persist plan: what the trial on running pods showed (stored in the plan, in its digest).
  if (plan.trial) lines.push(displayText(plan.trial.line, 400));
  if (plan.unresolved.length > 0) lines.push(`${plan.unresolved.length} workload(s) without a usable source are not included.`);
  lines.push('', `Workspace folder: ${folders}. Nothing is sent to a cluster.`, '');
  for (const file of plan.files.slice(0, maxListedFiles)) {
    lines.push(`${nameText(`${file.folder}/${file.path}`, 240)}${file.beforeHash === null ? ' (new file)' : ''}:`);
    for (const edit of file.edits.slice(0, maxListedEdits)) lines.push(`   ${fileEditText(edit)}`);
    if (file.edits.length > maxListedEdits) lines.push(`   …and ${file.edits.length - maxListedEdits} more (see the diff)`);
  }
  if (count > maxListedFiles) lines.push(`…and ${count - maxListedFiles} more files (see the diff).`);
  lines.push('', 'A file changed since the proposal (on disk or in an unsaved editor) makes the plan stale: nothing is written.');
  const minutes = Math.max(0, Math.round((Date.parse(plan.expiresAt) - now.getTime()) / 60000));
  lines.push(`Plan ${plan.id} · digest ${plan.digest.slice(0, 12)} · expires in ${minutes} min`);
  const notice = requester.type === 'human' ? null : `KRR: ${describeParty(requester)} asks to write ${plan.id} (${count} ${noun} in ${folders}).`;
  return { title: `Write resource changes to ${count} ${noun} in the workspace?`, detail: lines.join('\n'), confirmLabel: `Write ${count} ${noun}`, typeToConfirm: null, notice };
}
