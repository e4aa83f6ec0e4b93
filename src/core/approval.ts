// The words of the approval dialog, computed from the stored plan alone. Safety invariant: a model must
// not be able to word the dialog, so nothing here reads a tool argument — only plan fields the extension built.
import { changedContainerLine, sharedMissingReason } from './evidence/planEvidence';
import { describeProjection } from './hpa/projection';
import { describeCpu, describeMemory } from './quantity';
import type { FieldChange, ObjectChange, Plan, PlanRequester } from './plan/model';
import { describeConflict } from './plan/rollback';
import type { ApprovalText } from './model';
import { matchesAnyGlob } from './settings';
import { displayText, formatCount, formatMonthly, nameText, plural } from './text';
import { planSkips } from './plan/skips';

const maxListedObjects = 12;
const maxListedSkips = 5;

/** Who did something, as the dialog says it: the AI chat (and which client), the extension itself, or the person. */
export function describeParty(party: PlanRequester): string {
  const via = displayText(party.via, 60) || 'unknown';
  if (party.type === 'model') return `the AI chat (${via})`;
  if (party.type === 'system') return `KRR itself (${via})`;
  return `you (${via})`;
}

/**
 * The dialog's words for one apply of `plan`, asked for by `requester` (who may differ from the plan's proposer: the
 * model may ask to apply a rollback plan the rollout watch proposed). Every name from a cluster, a report or an MCP
 * client goes through displayText: one line, bounded, no bidi overrides or line separators.
 */
export function approvalText(plan: Plan, requester: PlanRequester, confirmByTyping: readonly string[], now: Date = new Date()): ApprovalText {
  const count = plan.objects.length;
  const objects = plural(count, 'object');
  const verb = plan.kind === 'apply' ? 'Apply' : 'Roll back';
  // Names are shown, not cleaned away: a hidden character becomes a visible ⟨U+…⟩ and the name is isolated (core/text).
  const context = nameText(plan.context);
  const title = plan.kind === 'apply'
    ? `Apply resource changes to ${objects} in ${context}?`
    : `Roll back ${objects} in ${context} to a snapshot?`;
  const lines: string[] = [
    `Proposed by ${describeParty(plan.requestedBy)}.`,
    `Apply requested by ${describeParty(requester)}.`,
    `Cluster: ${context} — ${displayText(plan.server, 200)}`,
    '',
  ];
  // No container with evidence, all for one reason (no Prometheus): said once, below the objects.
  const missing = sharedMissingReason(plan.objects.flatMap((object) => object.evidence ?? []));
  for (const object of plan.objects.slice(0, maxListedObjects)) {
    lines.push(`${object.kind} ${nameText(`${object.namespace}/${object.name}`, 200)}${plan.staged ? ` (stage ${object.stage})` : ''} — ${describeRestart(object)}:`);
    for (const change of object.changes) lines.push(`   ${describeChange(change, object.pods)}`);
    // The usage behind the change, from the plan's stored summary (in its digest): what the person approves along with it.
    for (const summary of missing === null ? (object.evidence ?? []) : []) lines.push(`   ${nameText(summary.container)}: ${displayText(changedContainerLine(summary, object.changes), 400)}`);
    // What the HPA will do with the new requests, from the stored projection (in the digest): replicas and total cost.
    if (object.hpa) lines.push(`   ${displayText(describeProjection(object.hpa), 600)}`);
  }
  if (count > maxListedObjects) lines.push(`…and ${plural(count - maxListedObjects, 'more object', 'more objects')} (see the diff).`);
  // A persist plan: what the trial on running pods showed (stored in the plan, in its digest).
  if (plan.trial) lines.push(displayText(plan.trial.line, 400));
  if (missing !== null) lines.push(`No usage evidence for these changes (${displayText(missing, 300)}).`);
  lines.push('');
  const t = plan.totals;
  const restarted = plan.objects.filter((object) => restarts(object) && object.pods !== null).reduce((sum, object) => sum + (object.pods ?? 0), 0);
  if (restarted > 0) lines.push(`Rolling out restarts ${plural(restarted, 'pod')} in total (replaced one after another as each workload's rollout strategy allows).`);
  lines.push(`Total requests over all pods: CPU ${signed(t.cpuRequestDelta, describeCpu)}, memory ${signed(t.memoryRequestDelta, describeMemory)} · monthly cost ${formatMonthly(t.monthlyCostDelta)}`);
  lines.push(`Risk: ${plan.risk}${plan.riskReasons.length > 0 ? ` (${plan.riskReasons.slice(0, 3).map((reason) => displayText(reason, 200)).join('; ')})` : ''}`);
  const warnings = [...new Set(plan.objects.flatMap((object) => object.findings.filter((finding) => finding.severity === 'warn').map((finding) => displayText(finding.message, 200))))];
  for (const warning of warnings.slice(0, 5)) lines.push(`⚠ ${warning}`);
  // Nothing is left out silently: every blocked workload and skipped container is named with its reason.
  const skips = planSkips(plan);
  if (skips.length > 0) {
    lines.push(`Not included (${plural(skips.length, 'item')}):`);
    for (const skip of skips.slice(0, maxListedSkips)) lines.push(`   ${skip.text}`);
    if (skips.length > maxListedSkips) lines.push(`   …and ${formatCount(skips.length - maxListedSkips)} more (KRR output channel).`);
  }
  // Rollback conflicts: values someone changed since the apply. The person must see which are overwritten.
  const conflicts = plan.conflicts ?? [];
  const overwritten = conflicts.filter((conflict) => conflict.included);
  const kept = conflicts.filter((conflict) => !conflict.included);
  if (overwritten.length > 0) lines.push(`⚠ OVERWRITES ${plural(overwritten.length, 'value')} changed since the apply:`, ...overwritten.slice(0, 5).map((conflict) => `   ${describeConflict(conflict)}`));
  if (kept.length > 0) lines.push(`Not rolled back: ${plural(kept.length, 'value')} changed since the apply ${kept.length === 1 ? 'is' : 'are'} left as ${kept.length === 1 ? 'it is' : 'they are'}:`, ...kept.slice(0, 5).map((conflict) => `   ${describeConflict(conflict)}`));
  if (overwritten.length > 5 || kept.length > 5) lines.push('   …(see the diff)');
  if (plan.staged) lines.push('Staged: stages are applied in order; a stage must roll out healthy before the next one starts.');
  lines.push('', 'Already-written objects are restored automatically if a later write fails.');
  const minutes = Math.max(0, Math.round((Date.parse(plan.expiresAt) - now.getTime()) / 60000));
  lines.push(`Plan ${plan.id} · digest ${plan.digest.slice(0, 12)} · expires in ${minutes} min`);
  const typeToConfirm = matchesAnyGlob(plan.context, confirmByTyping) ? plan.context : null;
  const changes = plural(count, 'change');
  // A model's request never opens the modal by itself: the person sees a notice and opens the dialog when ready.
  const notice = requester.type === 'human' ? null : `KRR: ${describeParty(requester)} asks to ${plan.kind === 'apply' ? 'apply' : 'roll back with'} ${plan.id} (${changes} in ${context}).`;
  return { title, detail: lines.join('\n'), confirmLabel: `${verb} ${changes}`, typeToConfirm, notice };
}

/** Kinds whose pods run on a schedule: a changed template applies to the next run and restarts nothing now. */
function restarts(object: ObjectChange): boolean {
  return object.kind !== 'CronJob' && object.kind !== 'Job' && object.kind !== 'GroupedJob';
}

/**
 * What writing the pod template does to running pods, with the count read from the live object (HPA current replicas,
 * spec.replicas, a DaemonSet's desiredNumberScheduled): a person deciding about production needs to know.
 */
function describeRestart(object: ObjectChange): string {
  if (!restarts(object)) return 'applies from its next run (no running pod is restarted)';
  if (object.pods === null) return `the rollout restarts its pods (how many is unknown: ${displayText(object.podsSource, 80)})`;
  if (object.pods === 0) return `0 pods now (${displayText(object.podsSource, 80)}); new pods get the new values`;
  return `the rollout restarts its ${object.pods} ${object.pods === 1 ? 'pod' : 'pods'} (${displayText(object.podsSource, 80)})`;
}

/** One value, before → after, and per pod versus in total: "−58Mi per pod × 4 pods = −232Mi". */
function describeChange(change: FieldChange, pods: number | null): string {
  const describe = change.resource === 'cpu' ? describeCpu : describeMemory;
  const from = change.fromAmount === null ? 'unset' : describe(change.fromAmount);
  const to = change.toAmount === null ? 'unset (removed)' : describe(change.toAmount);
  let amounts = '';
  if (change.fromAmount !== null && change.toAmount !== null && change.toAmount !== change.fromAmount) {
    const delta = change.toAmount - change.fromAmount;
    amounts = pods !== null && pods > 1 ? ` (${signed(delta, describe)} per pod × ${formatCount(pods)} pods = ${signed(delta * pods, describe)})` : ` (${signed(delta, describe)}${pods === 1 ? ', 1 pod' : ' per pod'})`;
  }
  return `${nameText(change.container)}: ${change.resource} ${change.allocation === 'requests' ? 'request' : 'limit'} ${from} → ${to}${amounts}`;
}

function signed(value: number, describe: (value: number) => string): string {
  if (value === 0) return '±0';
  return `${value > 0 ? '+' : '−'}${describe(Math.abs(value))}`;
}

