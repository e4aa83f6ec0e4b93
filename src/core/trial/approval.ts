// The dialog's words for a trial: which pods, of how many, at which size, with or without restarts, and for how long.
// Computed from the stored plan alone (safety invariant: a model must not be able to word the dialog).
import { describeParty } from '../approval';
import type { ApprovalText } from '../model';
import type { PlanRequester } from '../plan/model';
import { describeCpu, describeMemory } from '../quantity';
import { matchesAnyGlob } from '../settings';
import { displayText, nameText, plural } from '../text';
import type { TrialPlan } from './model';

const maxListedPods = 8;

export function describeWindow(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds >= 120 && seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** "Trial: 1 of 6 pods of shop/frontend, resized in place, no restart (resizePolicy NotRequired); reverted …". */
export function trialHeadline(plan: Pick<TrialPlan, 'pods' | 'runningPods' | 'workload' | 'windowSeconds'>): string {
  const restarting = [...new Set(plan.pods.flatMap((pod) => pod.containers.filter((container) => container.restartsOn.length > 0).map((container) => `${container.name} (${container.restartsOn.join(', ')})`)))];
  const restart = restarting.length === 0 ? 'no restart (resizePolicy NotRequired)' : `restarts ${restarting.slice(0, 3).map((entry) => nameText(entry, 80)).join(', ')} (resizePolicy RestartContainer)`;
  return `Trial: ${plan.pods.length} of ${plural(plan.runningPods, 'pod')} of ${nameText(`${plan.workload.namespace}/${plan.workload.name}`, 200)}, resized in place, ${restart}; reverted automatically after ${describeWindow(plan.windowSeconds)}, and if it passes, the change of the template is offered for its own approval.`;
}

export function trialApprovalText(plan: TrialPlan, requester: PlanRequester, confirmByTyping: readonly string[], now: Date): ApprovalText {
  const context = nameText(plan.context);
  const lines: string[] = [
    trialHeadline(plan),
    '',
    `Proposed by ${describeParty(plan.requestedBy)}.`,
    `Trial requested by ${describeParty(requester)}.`,
    `Cluster: ${context} — ${displayText(plan.server, 200)}`,
    '',
  ];
  const first = plan.pods[0];
  if (first) {
    lines.push(`Each trial pod's containers (${plan.workload.kind} ${nameText(`${plan.workload.namespace}/${plan.workload.name}`, 200)}):`);
    for (const container of first.containers) {
      for (const change of container.changes) {
        const describe = change.resource === 'cpu' ? describeCpu : describeMemory;
        lines.push(`   ${nameText(container.name, 80)}: ${change.resource} ${change.allocation === 'requests' ? 'request' : 'limit'} ${change.fromAmount === null ? 'unset' : describe(change.fromAmount)} → ${change.toAmount === null ? 'unset' : describe(change.toAmount)}`);
      }
    }
  }
  lines.push(`Pods: ${plan.pods.slice(0, maxListedPods).map((pod) => nameText(pod.name, 120)).join(', ')}${plan.pods.length > maxListedPods ? ` …and ${plan.pods.length - maxListedPods} more` : ''}`);
  lines.push('The trial fails, and its pods are reverted at once, on an OOM kill, a restart, a pod that stays not ready, or a resize the cluster refuses (Infeasible).');
  lines.push('Pods the controller replaces during the trial come back at the template\'s size.');
  for (const finding of plan.findings.slice(0, 5)) lines.push(`${finding.severity === 'warn' ? '⚠ ' : ''}${displayText(finding.message, 500)}`);
  lines.push('');
  const minutes = Math.max(0, Math.round((Date.parse(plan.expiresAt) - now.getTime()) / 60000));
  lines.push(`Plan ${plan.id} · digest ${plan.digest.slice(0, 12)} · expires in ${minutes} min`);
  const typeToConfirm = matchesAnyGlob(plan.context, confirmByTyping) ? plan.context : null;
  const notice = requester.type === 'human' ? null : `KRR: ${describeParty(requester)} asks to try ${plan.id} on ${plural(plan.pods.length, 'pod')} of ${nameText(`${plan.workload.namespace}/${plan.workload.name}`, 120)} in ${context}.`;
  return { title: `Try the recommendation on ${plural(plan.pods.length, 'running pod')} in ${context}?`, detail: lines.join('\n'), confirmLabel: `Start trial on ${plural(plan.pods.length, 'pod')}`, typeToConfirm, notice };
}
