// krr_propose_changes: builds, dry-runs and policy-checks a plan (or, target "manifests", the edits of the workspace
// manifests), shows the diff; writes nothing.
import { changedContainerLine } from '../../core/evidence/planEvidence';
import { describeProjection } from '../../core/hpa/projection';
import { z } from 'zod';
import { fileEditText, renderedChangeText } from '../../core/gitops/approval';
import type { ManifestPlan } from '../../core/gitops/model';
import type { GitOpsOwner } from '../../core/gitops/owner';
import { describeOwner } from '../../core/gitops/ownerName';
import type { Plan } from '../../core/plan/model';
import { generatedId, sourceChoice, workloadRef } from '../arguments';
import { gitopsOwnerSchema } from '../gitopsOwnerSchema';
import { orNull } from '../portable';
import { formatMoney } from '../summary';
import { displayText } from '../../core/text';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { defineTool, errorResult, okResult, type ApprovalChannel, type ToolDeps } from '../tool';

const identity = { namespace: z.string(), kind: z.string(), name: z.string() };
const gitopsOwner = gitopsOwnerSchema.optional();
const finding = z.object({ severity: z.enum(['block', 'warn', 'info']), rule: z.string(), message: z.string() });
const fieldEdit = z.object({ line: z.number(), field: z.string(), from: orNull(z.string(), 'the field is added'), to: orNull(z.string(), 'the field is removed') });

export const krrProposeChanges = defineTool({
  name: 'krr_propose_changes',
  title: 'Propose resource changes',
  description:
    'Builds a change plan for the given workloads from a report: reads the live objects, computes the JSON patches, dry-runs them on the API server and checks policies. ' +
    'Writes nothing. The diff is shown to the person (in the editor when running in VS Code). Returns planId, digest, risk, per-object changes and cost, blocked workloads with reasons, totals and expiresAt. ' +
    'Blocked workloads are left out of the plan; tell the user why. Next: if the user wants it, krr_apply_plan with the planId — a person must approve it; you cannot approve it. ' +
    'With target "manifests" (GitOps: the cluster is reconciled from Git) nothing is read from or written to the cluster: it finds where each workload\'s resources are decided in the workspace folders (plain manifests, Kustomize overlays) and returns per workload the files and edits ({folder, path, edits}, paths relative to the workspace folder), or why no single source was found and the candidates; the edits are checked by rendering again. When several sources could define a workload, none is edited and its sources are listed with an id: if the user says which one, propose again with that id as the workload\'s source (the pick is part of the plan the person approves; an id that no longer matches a source is refused). krr_apply_plan then writes the files after the same approval.',
  inputSchema: {
    reportId: generatedId.describe('the reportId from krr_scan or krr_load_report'),
    workloads: z
      .array(workloadRef.extend({ source: sourceChoice.optional().describe('target "manifests" only: the source to edit when several could define the workload — one of the sources[].id the previous proposal listed for it') }).strict())
      .min(1)
      .max(200)
      .describe('workloads to change: {namespace, kind, name}, as listed by krr_list_recommendations; with target "manifests" optionally {source} to pick among several sources'),
    includeLimits: z.boolean().optional().describe('also change limits (default: requests only)'),
    allowLimitRemoval: z.boolean().optional().describe('allow removing limits when krr recommends unset (default: blocked)'),
    staged: z.boolean().optional().describe('apply in stages (one object first, then the rest)'),
    target: z.enum(['cluster', 'manifests']).optional().describe('"cluster" (default): patch the live objects; "manifests": edit the manifests in the workspace folders (GitOps)'),
    onLimit: z.enum(['block', 'step']).optional().describe('a recommendation beyond krr.policy.maxDecreasePercent/maxIncreasePercent: "block" it, or "step": propose the largest step the limit allows (e.g. 500m → 100m instead of → 87m), labelled as a partial step; default krr.policy.onLimit'),
  },
  outputSchema: {
    planId: z.string(),
    digest: z.string(),
    target: z.enum(['cluster', 'manifests']).optional(),
    context: orNull(z.string(), 'a manifest plan for a report without a kube context'),
    server: z.string().optional(),
    risk: z.string().optional(),
    riskReasons: z.array(z.string()).optional(),
    workloads: z
      .array(
        z.object({
          ...identity,
          source: z
            .object({ finder: z.string(), label: z.string(), folder: z.string(), guess: z.boolean(), id: z.string().optional(), chosen: z.boolean().optional().describe('picked by the caller (workloads[].source)') })
            .optional(),
          files: z.array(z.object({ folder: z.string(), path: z.string(), edits: z.array(fieldEdit) })),
          notes: z.array(z.string()).optional(),
          reason: z.string().optional(),
          candidates: z.array(z.string()).optional(),
          sources: z
            .array(z.object({ id: z.string(), label: z.string() }))
            .optional()
            .describe('several sources could define it (or the chosen one matches none now): pass one id back as workloads[].source, once the user has said which'),
        }),
      )
      .optional()
      .describe('manifest plans: per workload, the files and edits, or why no single source was found'),
    files: z.array(z.object({ folder: z.string(), path: z.string(), created: z.boolean(), edits: z.number() })).optional(),
    objects: z.array(
      z.object({
        ...identity,
        changes: z.array(
          z.object({
            container: z.string(),
            allocation: z.enum(['requests', 'limits']),
            resource: z.enum(['cpu', 'memory']),
            from: orNull(z.string(), 'unset now'),
            to: orNull(z.string(), 'the apply removes the field'),
            partialStep: z
              .object({ recommended: z.string(), limit: z.string() })
              .optional()
              .describe('krr.policy.onLimit "step": this is the largest step the policy allows; krr recommends `recommended`'),
          }),
        ),
        monthlyCostDelta: orNull(z.number(), 'not estimated (CronJob, Job, or no pod count)'),
        findings: z.array(finding),
        gitopsOwner,
      }),
    ).optional(),
    blocked: z.array(z.object({ ...identity, reasons: z.array(z.string()), gitopsOwner })).optional(),
    warnings: z.array(finding).optional(),
    totals: z
      .object({
        objects: z.number().optional(),
        containers: z.number().optional(),
        changes: z.number(),
        cpuRequestDelta: z.number().optional().describe('Σ Δ CPU request × pods, in cores'),
        memoryRequestDelta: z.number().optional().describe('Σ Δ memory request × pods, in bytes'),
        cpuLimitDelta: z.number().optional(),
        memoryLimitDelta: z.number().optional(),
        monthlyCostDelta: z.number().optional(),
        blocked: z.number().optional(),
        workloads: z.number().optional().describe('manifest plans: workloads with edits'),
        files: z.number().optional().describe('manifest plans: files written'),
        unresolved: z.number().optional().describe('manifest plans: workloads without a single source'),
      })
      .describe('cluster plans: objects, containers, resource and cost deltas, blocked; manifest plans: workloads, files, unresolved'),
    expiresAt: z.string(),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  async handler(args, extra, deps) {
    const { session, requester } = deps;
    try {
      return proposalResult(args.target === 'manifests' ? await session.proposeManifests(args, requester(), extra.signal) : await session.propose(args, requester(), extra.signal), deps);
    } catch (error) {
      return errorResult(error);
    }
  },
});

/** A cluster or manifest plan as krr_propose_changes returns it (krr_persist_trial returns its plan the same way). */
export function proposalResult(plan: Plan | ManifestPlan, { approvalVia, approvalChannel }: Pick<ToolDeps, 'approvalVia' | 'approvalChannel'>): CallToolResult {
  if ('target' in plan && plan.target === 'manifests') return okResult(describeManifestPlan(plan, approvalVia, approvalChannel()), manifestPlanView(plan));
  return okResult(describePlan(plan as Plan, approvalVia, approvalChannel()), planView(plan as Plan));
}

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
      ...ownerField(object.gitopsOwner),
    })),
    blocked: plan.blocked.map(({ namespace, kind, name, reasons, gitopsOwner }) => ({ namespace, kind, name, reasons, ...ownerField(gitopsOwner) })),
    warnings: plan.warnings.map(({ severity, rule, message }) => ({ severity, rule, message })),
    totals: plan.totals,
    expiresAt: plan.expiresAt,
  };
}

function ownerField(owner: GitOpsOwner | undefined) {
  return owner ? { gitopsOwner: { tool: owner.tool, name: owner.name, ...(owner.namespace ? { namespace: owner.namespace } : {}), evidence: owner.evidence, confidence: owner.confidence } } : {};
}

function ownerNote(owner: GitOpsOwner | undefined): string {
  return owner ? ` [${owner.confidence === 'hint' ? 'maybe ' : ''}reconciled from Git by ${describeOwner(owner)}]` : '';
}

function describePlan(plan: Plan, approvalVia: 'editor' | 'elicitation', channel: ApprovalChannel): string {
  const lines = [
    `Plan ${plan.id} (digest ${plan.digest.slice(0, 12)}…) for context ${plan.context} (${plan.server}): ${plan.totals.objects} objects, ${plan.totals.changes} changes, ${formatMoney(plan.totals.monthlyCostDelta)}, risk ${plan.risk}${plan.riskReasons.length > 0 ? ` (${plan.riskReasons.join('; ')})` : ''}. Expires ${plan.expiresAt}.`,
  ];
  // A persist plan: the trial it comes from, as its dialog says it.
  if (plan.trial) lines.push(displayText(plan.trial.line, 400));
  for (const object of plan.objects.slice(0, 20)) {
    const changes = object.changes
      .map((change) => `${change.container} ${change.allocation}.${change.resource} ${change.from ?? 'unset'}→${change.to ?? 'unset'}${change.step ? ` (PARTIAL STEP: limit ${change.step.rule === 'max-decrease' ? '-' : '+'}${change.step.limitPercent}%; krr recommends ${change.step.recommended})` : ''}`)
      .join(', ');
    lines.push(`- ${object.namespace}/${object.kind}/${object.name}: ${changes || 'no change'} (${formatMoney(object.monthlyCostDelta)})${ownerNote(object.gitopsOwner)}`);
    // The same evidence lines the person's approval shows (from the stored plan), so the model reasons from usage too.
    for (const summary of object.evidence ?? []) lines.push(`    usage of ${summary.container}: ${changedContainerLine(summary, object.changes)}`);
    if (object.hpa) lines.push(`    ${describeProjection(object.hpa)}`);
  }
  if (plan.objects.length > 20) lines.push(`- … and ${plan.objects.length - 20} more objects (see structured content)`);
  for (const blocked of plan.blocked) lines.push(`BLOCKED ${blocked.namespace}/${blocked.kind}/${blocked.name}: ${blocked.reasons.join('; ')}${ownerNote(blocked.gitopsOwner)}`);
  for (const warning of plan.warnings) lines.push(`warning: ${warning.message}`);
  if (plan.objects.length === 0) {
    lines.push('Nothing to apply: every requested workload is blocked or already matches. Tell the user the reasons above.');
  } else if (approvalVia === 'editor') {
    lines.push(
      'The diff is open in the editor. Applying needs the human’s approval in the editor: if the user wants these changes, call krr_apply_plan with this planId; the person approves or declines there. You cannot approve it.',
    );
  } else if (!channel.canApprove) {
    // Never promise a question nobody can be asked: this client cannot show an approval form.
    lines.push(`Applying needs a person’s approval, and none can be asked in this session: ${channel.how} Tell the user; calling krr_apply_plan here will be refused. You cannot approve it.`);
  } else {
    lines.push(
      `Applying needs a person’s approval: if the user wants these changes, call krr_apply_plan with this planId. ${channel.how} You cannot approve it.`,
    );
  }
  return lines.join('\n');
}

export function manifestPlanView(plan: ManifestPlan) {
  return {
    planId: plan.id,
    digest: plan.digest,
    target: 'manifests' as const,
    context: plan.context,
    workloads: [
      ...plan.workloads.map((workload) => ({
        namespace: workload.namespace,
        kind: workload.kind,
        name: workload.name,
        source: workload.source,
        files: workload.files,
        ...(workload.notes.length > 0 ? { notes: workload.notes } : {}),
      })),
      ...plan.unresolved.map(({ namespace, kind, name, reason, candidates, sources }) => ({ namespace, kind, name, files: [], reason, candidates, ...(sources ? { sources } : {}) })),
    ],
    files: plan.files.map((file) => ({ folder: file.folder, path: file.path, created: file.beforeHash === null, edits: file.edits.length })),
    totals: { workloads: plan.workloads.length, files: plan.files.length, changes: plan.workloads.reduce((sum, workload) => sum + workload.changes.length, 0), unresolved: plan.unresolved.length },
    expiresAt: plan.expiresAt,
  };
}

function describeManifestPlan(plan: ManifestPlan, approvalVia: 'editor' | 'elicitation', channel: ApprovalChannel): string {
  const lines = [`Plan ${plan.id} (digest ${plan.digest.slice(0, 12)}…) writes ${plan.files.length} file(s) in the workspace for ${plan.workloads.length} workload(s). Nothing is sent to a cluster. Expires ${plan.expiresAt}.`];
  for (const workload of plan.workloads.slice(0, 20)) {
    // The environment first, then what the workload renders before → after, then the file edits that do it (an edit
    // alone can read "(new key) → 40m" where the workload ran with 100m inherited from a base).
    lines.push(`- ${workload.namespace}/${workload.kind}/${workload.name} in ${workload.source.label}${workload.source.guess ? ' (a guess: ask the user to check it)' : ''}${workload.source.chosen ? ' (the source chosen)' : ''}`);
    for (const change of workload.changes) lines.push(`    ${renderedChangeText(workload, change)}`);
    for (const summary of workload.evidence ?? []) lines.push(`    usage of ${summary.container}: ${changedContainerLine(summary, workload.changes)}`);
    if (workload.hpa) lines.push(`    ${describeProjection(workload.hpa)}`);
    for (const file of workload.files) {
      const created = plan.files.some((planned) => planned.folder === file.folder && planned.path === file.path && planned.beforeHash === null);
      lines.push(`    ${file.folder}/${file.path}${created ? ' (new file)' : ''}: ${file.edits.map(fileEditText).join('; ')}`);
    }
    for (const note of workload.notes) lines.push(`    note: ${note}`);
  }
  for (const entry of plan.unresolved) {
    if (entry.sources) {
      lines.push(`NOT WRITTEN ${entry.namespace}/${entry.kind}/${entry.name}: ${entry.reason}. Sources (ask the user which one, then propose again with workloads[].source set to its id):`);
      for (const source of entry.sources) lines.push(`    ${JSON.stringify(source.id)}: ${source.label}`);
    } else lines.push(`NOT WRITTEN ${entry.namespace}/${entry.kind}/${entry.name}: ${entry.reason}${entry.candidates.length > 0 ? ` (candidates: ${entry.candidates.join('; ')})` : ''}`);
  }
  if (plan.files.length === 0) lines.push('Nothing to write: tell the user the reasons above.');
  else if (approvalVia === 'editor') lines.push('The diff of the files is open in the editor. Writing them needs the human’s approval: if the user wants it, call krr_apply_plan with this planId. You cannot approve it.');
  else if (!channel.canApprove) lines.push(`Writing the files needs a person’s approval, and none can be asked in this session: ${channel.how} Tell the user; calling krr_apply_plan here will be refused. You cannot approve it.`);
  else lines.push(`Writing the files needs a person’s approval: if the user wants it, call krr_apply_plan with this planId. ${channel.how} You cannot approve it.`);
  return lines.join('\n');
}
