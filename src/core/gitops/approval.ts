// The dialog's words for writing a manifest plan: it names files and workspace folders, never a cluster. Computed from
// the stored plan alone (safety invariant: a model must not be able to word the dialog).
import { describeParty } from '../approval';
import type { ApprovalText } from '../model';
import type { PlanRequester } from '../plan/model';
import { displayText, nameText } from '../text';
import type { ManifestPlan } from './model';

const maxListedFiles = 12;

export function manifestApprovalText(plan: ManifestPlan, requester: PlanRequester, now: Date = new Date()): ApprovalText {
  const count = plan.files.length;
  const noun = count === 1 ? 'file' : 'files';
  // Folder names and file paths are names a person must recognise: hidden characters are shown as ⟨U+XXXX⟩ (a space
  // would make `a\u202Egnp.yaml` look like a plain `a gnp.yaml`), each isolated so it cannot reorder the line.
  const folders = [...new Set(plan.files.map((file) => nameText(file.folder)))].join(', ');
  const lines: string[] = [`Proposed by ${describeParty(plan.requestedBy)}.`, `Write requested by ${describeParty(requester)}.`, `Workspace folder: ${folders}. Nothing is sent to a cluster.`, ''];
  for (const file of plan.files.slice(0, maxListedFiles)) {
    lines.push(`${nameText(`${file.folder}/${file.path}`, 240)}${file.beforeHash === null ? ' (new file)' : ''}:`);
    for (const edit of file.edits.slice(0, 8)) lines.push(`   line ${edit.line}: ${displayText(edit.field, 120)} ${edit.from === null ? '(added)' : displayText(edit.from, 40)} → ${displayText(edit.to, 60)}`);
    if (file.edits.length > 8) lines.push(`   …and ${file.edits.length - 8} more (see the diff)`);
  }
  if (count > maxListedFiles) lines.push(`…and ${count - maxListedFiles} more files (see the diff).`);
  lines.push('');
  for (const workload of plan.workloads.slice(0, maxListedFiles)) lines.push(`${workload.kind} ${nameText(`${workload.namespace}/${workload.name}`, 200)} ← ${nameText(workload.source.label, 240)}${workload.source.guess ? ' (a guess: check it)' : ''}`);
  if (plan.unresolved.length > 0) lines.push(`${plan.unresolved.length} workload(s) without a usable source are not included.`);
  lines.push('', 'A file changed since the proposal (on disk or in an unsaved editor) makes the plan stale: nothing is written.');
  const minutes = Math.max(0, Math.round((Date.parse(plan.expiresAt) - now.getTime()) / 60000));
  lines.push(`Plan ${plan.id} · digest ${plan.digest.slice(0, 12)} · expires in ${minutes} min`);
  const notice = requester.type === 'human' ? null : `KRR: ${describeParty(requester)} asks to write ${plan.id} (${count} ${noun} in ${folders}).`;
  return { title: `Write resource changes to ${count} ${noun} in the workspace?`, detail: lines.join('\n'), confirmLabel: `Write ${count} ${noun}`, typeToConfirm: null, notice };
}
