// What the trial tools return: a trial plan (krr_propose_trial) and a trial record (krr_trial_status, krr_revert_trial),
// structured and as text. Names from the cluster go through displayText/nameText; lists are bounded.
import { z } from 'zod';
import { describeWindow, trialHeadline } from '../core/trial/approval';
import type { TrialPlan, TrialRecord } from '../core/trial/model';
import { describeTrial } from '../core/session/session';
import { displayText, nameText, plural } from '../core/text';
import { orNull } from './portable';
import type { ApprovalChannel } from './tool';

/** The most pods (and trials) a result lists; krr.trial.maxPods may allow more, the rest is counted. */
const maxListed = 50;

const identity = z.object({ namespace: z.string(), kind: z.string(), name: z.string() });
const finding = z.object({ severity: z.enum(['block', 'warn', 'info']), rule: z.string(), message: z.string() });

export const trialPlanOutput = {
  planId: z.string(),
  digest: z.string(),
  target: z.literal('trial'),
  context: z.string(),
  server: z.string(),
  workload: identity,
  pods: z
    .array(
      z.object({
        name: z.string(),
        node: orNull(z.string(), 'not bound to a node'),
        containers: z.array(
          z.object({
            name: z.string(),
            changes: z.array(z.object({ allocation: z.enum(['requests', 'limits']), resource: z.enum(['cpu', 'memory']), from: orNull(z.string(), 'unset now'), to: orNull(z.string(), 'left unset') })),
            restartsOn: z.array(z.string()).describe('resources whose resizePolicy is RestartContainer: resizing them restarts this container'),
          }),
        ),
      }),
    )
    .describe(`the pods the trial resizes (at most ${maxListed} listed)`),
  requestedPods: z.number(),
  runningPods: z.number().describe('running, ready pods of the workload (the trial takes N of them)'),
  windowSeconds: z.number(),
  includeLimits: z.boolean(),
  findings: z.array(finding),
  expiresAt: z.string(),
};

export function trialPlanView(plan: TrialPlan) {
  return {
    planId: plan.id,
    digest: plan.digest,
    target: 'trial' as const,
    context: displayText(plan.context, 253),
    server: displayText(plan.server, 200),
    workload: { ...plan.workload },
    pods: plan.pods.slice(0, maxListed).map((pod) => ({
      name: displayText(pod.name, 253),
      node: pod.node === null ? null : displayText(pod.node, 253),
      containers: pod.containers.map((container) => ({
        name: displayText(container.name, 253),
        changes: container.changes.map(({ allocation, resource, from, to }) => ({ allocation, resource, from, to })),
        restartsOn: [...container.restartsOn],
      })),
    })),
    requestedPods: plan.requestedPods,
    runningPods: plan.runningPods,
    windowSeconds: plan.windowSeconds,
    includeLimits: plan.includeLimits,
    findings: plan.findings.slice(0, 20).map(({ severity, rule, message }) => ({ severity, rule, message: displayText(message, 500) })),
    expiresAt: plan.expiresAt,
  };
}

export function describeTrialPlan(plan: TrialPlan, approvalVia: 'editor' | 'elicitation', channel: ApprovalChannel): string {
  const lines = [
    `Trial plan ${plan.id} (digest ${plan.digest.slice(0, 12)}…) for context ${nameText(plan.context)} (${displayText(plan.server, 200)}). Expires ${plan.expiresAt}.`,
    trialHeadline(plan),
    `Pods: ${plan.pods.length} of ${plan.runningPods} running (${plan.requestedPods} asked for); window ${describeWindow(plan.windowSeconds)}; limits ${plan.includeLimits ? 'included' : 'not changed'}.`,
  ];
  const first = plan.pods[0];
  for (const container of first?.containers ?? []) {
    const changes = container.changes.map((change) => `${change.allocation}.${change.resource} ${change.from ?? 'unset'}→${change.to ?? 'unset'}`).join(', ');
    lines.push(`- container ${nameText(container.name, 80)}: ${changes}${container.restartsOn.length > 0 ? ` (restarts: resizePolicy RestartContainer for ${container.restartsOn.join(', ')})` : ''}`);
  }
  lines.push(`- pods: ${plan.pods.slice(0, 10).map((pod) => nameText(pod.name, 120)).join(', ')}${plan.pods.length > 10 ? ` …and ${plan.pods.length - 10} more` : ''}`);
  for (const entry of plan.findings.slice(0, 10)) lines.push(`${entry.severity === 'warn' ? 'warning' : entry.severity}: ${displayText(entry.message, 500)}`);
  if (approvalVia === 'editor') {
    lines.push('Starting the trial needs the human’s approval in the editor: if the user wants to try it, call krr_apply_plan with this planId; the person approves or declines there. You cannot approve it.');
  } else if (!channel.canApprove) {
    lines.push(`Starting the trial needs a person’s approval, and none can be asked in this session: ${channel.how} Tell the user; calling krr_apply_plan here will be refused. You cannot approve it.`);
  } else {
    lines.push(`Starting the trial needs a person’s approval: if the user wants to try it, call krr_apply_plan with this planId. ${channel.how} You cannot approve it.`);
  }
  return lines.join('\n');
}

const podStatus = z.object({
  name: z.string(),
  phase: z.enum(['applied', 'pending', 'in-progress', 'infeasible', 'deferred', 'restarted', 'gone', 'reverted', 'not-ready']),
  ready: z.boolean(),
  restarts: z.number(),
  oomKills: z.number(),
  message: z.string().optional(),
});

export const trialRecordSchema = z.object({
  trialId: z.string(),
  state: z.enum(['running', 'passed', 'failed', 'reverted', 'overdue']),
  context: z.string(),
  workload: identity,
  pods: z.array(z.string()),
  runningPods: z.number(),
  windowSeconds: z.number(),
  startedAt: z.string(),
  endsAt: z.string(),
  checkedAt: orNull(z.string(), 'never checked'),
  statuses: z.array(podStatus),
  outcome: z.object({ at: z.string(), reason: z.string() }).optional().describe('why it ended'),
  revert: z
    .object({ at: z.string(), pods: z.array(z.object({ name: z.string(), result: z.enum(['reverted', 'gone', 'not-needed', 'failed']), message: z.string().optional() })) })
    .optional()
    .describe('what putting the pods back did'),
  persistPlanId: z.string().optional().describe('the plan krr_persist_trial proposed for the template'),
});

export function trialRecordView(record: TrialRecord): z.infer<typeof trialRecordSchema> {
  const message = (text: string | undefined) => (text === undefined ? {} : { message: displayText(text, 500) });
  return {
    trialId: record.id,
    state: record.state,
    context: displayText(record.context, 253),
    workload: { ...record.workload },
    pods: record.pods.slice(0, maxListed).map((pod) => displayText(pod.name, 253)),
    runningPods: record.runningPods,
    windowSeconds: record.windowSeconds,
    startedAt: record.startedAt,
    endsAt: record.endsAt,
    checkedAt: record.checkedAt,
    statuses: record.statuses.slice(0, maxListed).map((status) => ({ name: displayText(status.name, 253), phase: status.phase, ready: status.ready, restarts: status.restarts, oomKills: status.oomKills, ...message(status.message) })),
    ...(record.outcome ? { outcome: { at: record.outcome.at, reason: displayText(record.outcome.reason, 1000) } } : {}),
    ...(record.revert ? { revert: { at: record.revert.at, pods: record.revert.pods.slice(0, maxListed).map((pod) => ({ name: displayText(pod.name, 253), result: pod.result, ...message(pod.message) })) } } : {}),
    ...(record.persistPlanId ? { persistPlanId: record.persistPlanId } : {}),
  };
}

/** One trial in full: its line, each pod's status, the revert, and what to do next. */
export function describeTrialRecord(record: TrialRecord): string {
  const lines = [describeTrial(record)];
  lines.push(`Started ${record.startedAt}, window ${describeWindow(record.windowSeconds)} (ends ${record.endsAt}); last checked ${record.checkedAt ?? 'never'}.`);
  for (const status of record.statuses.slice(0, 20)) {
    lines.push(`- pod ${nameText(status.name, 120)}: ${status.phase}${status.ready ? '' : ', not ready'}${status.restarts > 0 ? `, ${plural(status.restarts, 'restart')}` : ''}${status.oomKills > 0 ? `, ${plural(status.oomKills, 'OOM kill')}` : ''}${status.message ? ` (${displayText(status.message, 300)})` : ''}`);
  }
  if (record.statuses.length > 20) lines.push(`- … and ${record.statuses.length - 20} more pods (see structured content)`);
  if (record.revert) {
    const failed = record.revert.pods.filter((pod) => pod.result === 'failed');
    lines.push(`Reverted at ${record.revert.at}: ${failed.length === 0 ? `every pod is back at its template size (${record.revert.pods.map((pod) => `${nameText(pod.name, 120)} ${pod.result}`).slice(0, 10).join(', ')})` : `${plural(failed.length, 'pod')} could NOT be reverted: ${failed.slice(0, 5).map((pod) => `${nameText(pod.name, 120)} (${displayText(pod.message ?? 'failed', 300)})`).join('; ')}`}.`);
  }
  lines.push(nextStep(record));
  return lines.join('\n');
}

function nextStep(record: TrialRecord): string {
  if (record.revert?.pods.some((pod) => pod.result === 'failed')) return 'Next: tell the user; krr_revert_trial with this trialId tries to put the remaining pods back.';
  switch (record.state) {
    case 'running':
      return 'Next: call krr_trial_status again later; krr_revert_trial ends it early if the user asks.';
    case 'overdue':
      return 'Next: its window ended while no watch ran, so its pods may still run at the trial size: tell the user, and krr_revert_trial with this trialId puts them back.';
    case 'passed':
      return record.persistPlanId
        ? `The change of the template was proposed as plan ${record.persistPlanId} (krr_apply_plan needs a person’s approval).`
        : 'Next: if the user wants the change for good, krr_persist_trial with this trialId proposes it for the template (a plan a person approves with krr_apply_plan).';
    default:
      return 'Nothing left to do for this trial; tell the user why it ended.';
  }
}
