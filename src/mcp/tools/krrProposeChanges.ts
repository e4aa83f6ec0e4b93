// krr_propose_changes: builds, dry-runs and policy-checks a plan, shows the diff; writes nothing.
import { z } from 'zod';
import type { Plan } from '../../core/plan/model';
import { generatedId, workloadRef } from '../arguments';
import { formatMoney } from '../summary';
import { defineTool, errorResult, okResult } from '../tool';

const identity = { namespace: z.string(), kind: z.string(), name: z.string() };

export const krrProposeChanges = defineTool({
  name: 'krr_propose_changes',
  title: 'Propose resource changes',
  description:
    'Builds a change plan for the given workloads from a report: reads the live objects, computes the JSON patches, dry-runs them on the API server and checks policies. ' +
    'Writes nothing. The diff is shown to the person (in the editor when running in VS Code). Returns planId, digest, risk, per-object changes and cost, blocked workloads with reasons, totals and expiresAt. ' +
    'Blocked workloads are left out of the plan; tell the user why. Next: if the user wants it, krr_apply_plan with the planId — a person must approve it; you cannot approve it.',
  inputSchema: {
    reportId: generatedId.describe('the reportId from krr_scan or krr_load_report'),
    workloads: z.array(workloadRef).min(1).max(200).describe('workloads to change: {namespace, kind, name}, as listed by krr_list_recommendations'),
    includeLimits: z.boolean().optional().describe('also change limits (default: requests only)'),
    allowLimitRemoval: z.boolean().optional().describe('allow removing limits when krr recommends unset (default: blocked)'),
    staged: z.boolean().optional().describe('apply in stages (one object first, then the rest)'),
    onLimit: z.enum(['block', 'step']).optional().describe('a recommendation beyond krr.policy.maxDecreasePercent/maxIncreasePercent: "block" it, or "step": propose the largest step the limit allows (e.g. 500m → 100m instead of → 87m), labelled as a partial step; default krr.policy.onLimit'),
  },
  outputSchema: {
    planId: z.string(),
    digest: z.string(),
    context: z.string(),
    server: z.string(),
    risk: z.string(),
    riskReasons: z.array(z.string()),
    objects: z.array(
      z.looseObject({
        ...identity,
        changes: z.array(z.looseObject({ container: z.string(), allocation: z.string(), resource: z.string(), from: z.string().nullable(), to: z.string().nullable() })),
        monthlyCostDelta: z.number().nullable(),
        findings: z.array(z.looseObject({ severity: z.string(), rule: z.string(), message: z.string() })),
      }),
    ),
    blocked: z.array(z.looseObject({ ...identity, reasons: z.array(z.string()) })),
    warnings: z.array(z.looseObject({ severity: z.string(), rule: z.string(), message: z.string() })),
    totals: z.looseObject({ objects: z.number(), changes: z.number(), monthlyCostDelta: z.number(), blocked: z.number() }),
    expiresAt: z.string(),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  async handler(args, extra, { session, requester, approvalVia }) {
    try {
      const plan = await session.propose(args, requester(), extra.signal);
      const structured = planView(plan);
      return okResult(describePlan(plan, approvalVia), structured);
    } catch (error) {
      return errorResult(error);
    }
  },
});

export function planView(plan: Plan) {
  return {
    planId: plan.id,
    digest: plan.digest,
    context: plan.context,
    server: plan.server,
    risk: plan.risk,
    riskReasons: plan.riskReasons,
    objects: plan.objects.map((object) => ({
      namespace: object.namespace,
      kind: object.kind,
      name: object.name,
      changes: object.changes.map(({ container, allocation, resource, from, to, step }) => ({ container, allocation, resource, from, to, ...(step ? { partialStep: { recommended: step.recommended, limit: `${step.rule === 'max-decrease' ? '-' : '+'}${step.limitPercent}%` } } : {}) })),
      monthlyCostDelta: object.monthlyCostDelta,
      findings: object.findings.map(({ severity, rule, message }) => ({ severity, rule, message })),
    })),
    blocked: plan.blocked.map(({ namespace, kind, name, reasons }) => ({ namespace, kind, name, reasons })),
    warnings: plan.warnings.map(({ severity, rule, message }) => ({ severity, rule, message })),
    totals: plan.totals,
    expiresAt: plan.expiresAt,
  };
}

function describePlan(plan: Plan, approvalVia: 'editor' | 'elicitation'): string {
  const lines = [
    `Plan ${plan.id} (digest ${plan.digest.slice(0, 12)}…) for context ${plan.context} (${plan.server}): ${plan.totals.objects} objects, ${plan.totals.changes} changes, ${formatMoney(plan.totals.monthlyCostDelta)}, risk ${plan.risk}${plan.riskReasons.length > 0 ? ` (${plan.riskReasons.join('; ')})` : ''}. Expires ${plan.expiresAt}.`,
  ];
  for (const object of plan.objects.slice(0, 20)) {
    const changes = object.changes
      .map((change) => `${change.container} ${change.allocation}.${change.resource} ${change.from ?? 'unset'}→${change.to ?? 'unset'}${change.step ? ` (PARTIAL STEP: limit ${change.step.rule === 'max-decrease' ? '-' : '+'}${change.step.limitPercent}%; krr recommends ${change.step.recommended})` : ''}`)
      .join(', ');
    lines.push(`- ${object.namespace}/${object.kind}/${object.name}: ${changes || 'no change'} (${formatMoney(object.monthlyCostDelta)})`);
  }
  if (plan.objects.length > 20) lines.push(`- … and ${plan.objects.length - 20} more objects (see structured content)`);
  for (const blocked of plan.blocked) lines.push(`BLOCKED ${blocked.namespace}/${blocked.kind}/${blocked.name}: ${blocked.reasons.join('; ')}`);
  for (const warning of plan.warnings) lines.push(`warning: ${warning.message}`);
  if (plan.objects.length === 0) {
    lines.push('Nothing to apply: every requested workload is blocked or already matches. Tell the user the reasons above.');
  } else if (approvalVia === 'editor') {
    lines.push(
      'The diff is open in the editor. Applying needs the human’s approval in the editor: if the user wants these changes, call krr_apply_plan with this planId; the person approves or declines there. You cannot approve it.',
    );
  } else {
    lines.push(
      'Applying needs a person’s approval: if the user wants these changes, call krr_apply_plan with this planId; your client will ask the person to approve. You cannot approve it.',
    );
  }
  return lines.join('\n');
}
