// Proposing: a plan for the cluster (read live objects, dry-run, policies) or for the workspace manifests (the
// edits as files), stored single-use and shown to the person; nothing is written here.
import { identityOf } from '../apply';
import { ownerKey } from '../gitops/owner';
import type { ResourceName, Workload, WorkloadKind } from '../krr/model';
import { reportHpaState } from '../hpa/object';
import { projectHpa, type HpaAssessment } from '../hpa/projection';
import { evidenceOfChanged, summariesByWorkload, workloadKey, type EvidenceSummary } from '../evidence/planEvidence';
import type { EvidenceResult } from '../evidence/model';
import { targetsOfReport } from '../evidence/reader';
import { evaluatePolicies, type ResultingResources } from '../policy';
import { ChannelledCluster } from '../kube/apiChannel';
import { KubectlError } from '../kube/kubectl';
import { assertDnsLabel, assertDnsSubdomain } from '../kube/names';
import { desiredFromRecommendation, type DesiredResources } from '../plan/build';
import type { BlockedWorkload, Plan, PolicyFinding } from '../plan/model';
import { planDigest } from '../plan/digest';
import { proposePlan, type PlanTarget, type ProposeContext, type ProposeProgress } from '../plan/propose';
import { progressPulse, type ProgressPulse } from '../progressPulse';
import { QuantityError } from '../quantity';
import { notPatchableReason } from '../recommendations';
import type { ProposeArguments, Requester } from '../model';
import type { SessionSettings } from '../settings';
import type { ManifestPlan, ManifestSourceFinder, UnresolvedWorkload, WorkloadTarget } from '../gitops/model';
import { helmFinder, type HelmFinderOptions } from '../gitops/helm';
import { helmReleaseFinder } from '../gitops/helmRelease';
import { argoApplicationFinder } from '../gitops/argoApplication';
import { defaultFinders, manifestPlanDigest, proposeManifestPlan } from '../gitops/propose';
import { ManifestPlanNotStored, storedManifestPlan } from '../gitops/stored';
import { groupByKind } from '../gitops/workload';
import { workspaceFolders, WorkspaceInputError } from '../gitops/workspace';
import { actorOf, megabytes, messageOf, proposalChannelFrom, type SessionContext, SessionError, type StoredReport, truncate } from './context';
import { evidenceFor } from './evidence';
import { reportById } from './review';

/**
 * `onProgress` is called with `{ done, total }` (workloads whose proposal is complete, of those selected, refused
 * ones included) when the call starts, after each workload, and when the last is done; an editor can show
 * "312 / 2,500".
 */
export async function propose(ctx: SessionContext, args: ProposeArguments, requester: Requester, signal?: AbortSignal, onProgress?: (progress: ProposeProgress) => void, trial?: { id: string; line: string }): Promise<Plan> {
  if (args.target === 'manifests') throw new SessionError('invalid-argument', 'A manifest proposal is built by proposeManifests.', 'Call proposeManifests for target "manifests".');
  const settings = ctx.options.settings();
  const stored = await reportById(ctx, args.reportId);
  if (args.workloads.length === 0) throw new SessionError('invalid-argument', 'No workloads selected.', 'Select at least one workload from the report.');
  if (args.workloads.some((workload) => workload.source !== undefined)) throw new SessionError('invalid-argument', 'A workload\'s source picks a manifest in the workspace; a cluster proposal patches the live object.', 'Pass source only with target "manifests".');
  const selection = dedupe(args.workloads);
  // Reported before anything else runs, and repeated with what runs while no workload finishes (at most every
  // half second): the count is there from the first moment and never goes quiet for long.
  const pulse = onProgress ? progressPulse(onProgress) : undefined;
  try {
    pulse?.report({ done: 0, total: selection.length, phase: 'resolving the context' });
    return await proposeSelected(ctx, args, requester, settings, stored, selection, pulse, signal, trial);
  } finally {
    pulse?.stop();
  }
}

async function proposeSelected(ctx: SessionContext, args: ProposeArguments, requester: Requester, settings: SessionSettings, stored: StoredReport, selection: Array<ProposeArguments['workloads'][number]>, pulse: ProgressPulse | undefined, signal?: AbortSignal, trial?: { id: string; line: string }): Promise<Plan> {
  // A scanned report is bound to the context and API server it came from: the proposal goes there, or nowhere.
  const target = await ctx.resolveTarget(settings, stored.summary.context);
  if (stored.summary.server !== undefined && stored.summary.server !== target.server) {
    throw new SessionError('kubectl', `Context ${stored.summary.context ?? ''} now points at ${target.server}, not ${stored.summary.server} where report ${stored.summary.reportId} was scanned.`, 'Scan that context again; a proposal goes only to the cluster its report came from.');
  }
  const byKey = new Map(stored.report.workloads.map((workload) => [`${workload.namespace}/${workload.kind}/${workload.name}`, workload]));
  const blocked: BlockedWorkload[] = [];
  const targets: PlanTarget[] = [];
  const includeLimits = args.includeLimits ?? false;
  const allowLimitRemoval = args.allowLimitRemoval ?? false;
  for (const selected of selection) {
    const notPatchable = selected.kind === 'Job' ? null : notPatchableReason(selected.kind as WorkloadKind);
    if (notPatchable) {
      // Listed, never patched: a GroupedJob's "name" is a label selector, not an object (checked before the name rules).
      blocked.push({ namespace: truncate(selected.namespace, 63), kind: selected.kind, name: truncate(selected.name, 253), reasons: [notPatchable] });
      continue;
    }
    // An invalid name blocks its workload with the reason (every one of them), never the whole proposal.
    const invalid = identityProblem(selected);
    if (invalid) {
      blocked.push({ ...selected, reasons: [invalid] });
      continue;
    }
    const workload = byKey.get(`${selected.namespace}/${selected.kind}/${selected.name}`);
    if (!workload) {
      blocked.push({ ...selected, reasons: ['not in the report (check namespace, kind and name with krr_list_recommendations)'] });
      continue;
    }
    if (workload.cluster !== null && workload.cluster !== target.context) {
      blocked.push({ ...selected, reasons: [`the report is from cluster ${workload.cluster}, but the current context is ${target.context}; scan this context first`] });
      continue;
    }
    const desired = new Map<string, DesiredResources>();
    const notes = [];
    try {
      for (const container of workload.containers) {
        const invalidContainer = containerNameProblem(container.container);
        if (invalidContainer) {
          notes.push({ severity: 'info' as const, rule: 'invalid-name', container: container.container, message: `${invalidContainer}; this container is skipped.` });
          continue;
        }
        const wanted = desiredFromRecommendation(container, { includeLimits, allowLimitRemoval });
        desired.set(container.container, wanted.desired);
        notes.push(...wanted.notes);
      }
    } catch (error) {
      // A value no quantity can hold exactly (a crafted 1e300) blocks this workload, not the whole proposal.
      if (!(error instanceof QuantityError)) throw error;
      blocked.push({ ...selected, reasons: [`krr's recommendation cannot be written: ${error.message}`] });
      continue;
    }
    targets.push({ ref: { namespace: workload.namespace, kind: workload.kind, name: workload.name }, desired, notes, workload });
  }
  pulse?.phase('reading usage evidence');
  const evidence = await proposalEvidence(ctx, stored, targets.map((target) => target.ref), signal);
  for (const target of targets) target.evidence = evidence.byWorkload.get(workloadKey(target.ref)) ?? new Map();
  if (targets.length >= proposalChannelFrom) pulse?.phase('starting the API channel');
  const plan = await proposeThroughCluster(ctx, targets, {
    settings,
    context: target.context,
    server: target.server,
    requester,
    kind: 'apply',
    staged: args.staged ?? false,
    allowLimitRemoval,
    now: ctx.now(),
    blocked,
    sourceReportId: args.reportId,
    onLimit: args.onLimit ?? settings.policy.onLimit,
    observeOwner: (ref, owner) => stored.gitops.owners.set(ownerKey(ref), owner),
    ...(signal ? { signal } : {}),
    // Workloads refused before reading anything (not in the report, …) count as done from the start.
    ...(pulse ? { onProgress: (progress: ProposeProgress) => pulse.report({ done: progress.done + blocked.length, total: progress.total + blocked.length }) } : {}),
  });
  pulse?.phase('finishing the plan');
  if (evidence.note) plan.warnings.push(evidence.note);
  await nameGitOpsSources(ctx, plan, targets, target.context, target.server, settings, signal);
  if (trial) {
    plan.trial = trial;
    plan.digest = planDigest(plan);
  }
  return storePlan(ctx, plan);
}

/**
 * The usage behind the selected workloads' recommendations, through evidenceFor (cached with the report, bounded and
 * cancellable there), summarised per workload and container for the plan to store. Unavailable — no Prometheus, an
 * error, a cancel — the proposal goes on without it and says why: in each container's summary ("no usage evidence
 * (…)", which the approval shows) and in a note of the plan. Never a guess.
 */
async function proposalEvidence(ctx: SessionContext, stored: StoredReport, workloads: ReadonlyArray<{ namespace: string; kind: string; name: string }>, signal?: AbortSignal): Promise<{ byWorkload: Map<string, Map<string, EvidenceSummary>>; note: PolicyFinding | null }> {
  const wanted = new Set(workloads.map(workloadKey));
  // The report's own targets (same cluster field as evidenceFor's), so the cache finds them.
  const targets = targetsOfReport(stored.report, stored.summary.context).filter((target) => wanted.has(workloadKey(target)));
  if (targets.length === 0) return { byWorkload: new Map(), note: null };
  let result: EvidenceResult;
  try {
    result = await evidenceFor(ctx, stored.summary.reportId, targets, signal);
  } catch (error) {
    // The proposal does not depend on the evidence: a failed read is a reason, not a failed proposal.
    result = { status: 'unavailable', reason: `the usage could not be read: ${messageOf(error)}` };
  }
  const note: PolicyFinding | null =
    result.status === 'unavailable'
      ? { severity: 'info', rule: 'evidence-unavailable', message: `No usage evidence: ${result.reason}. Memory changes were not checked against recorded usage (krr.policy.memoryBelowPeak).` }
      : null;
  return { byWorkload: summariesByWorkload(result, targets), note };
}

/**
 * A workload blocked because Argo CD or Flux owns it: when the workspace holds its source, the reason names the file
 * to edit instead (found by the manifest finders, nothing written). Best effort: without a workspace, or when the
 * search fails, the reason names the owner only.
 */
async function nameGitOpsSources(ctx: SessionContext, plan: Plan, targets: readonly PlanTarget[], context: string, server: string, settings: SessionSettings, signal?: AbortSignal): Promise<void> {
  const roots = ctx.options.workspace?.folders() ?? [];
  const owned = plan.blocked.filter((blocked) => blocked.gitopsOwner?.confidence === 'certain' && blocked.reasons.some((reason) => reason.includes('krr.gitops.directPatch')));
  if (roots.length === 0 || owned.length === 0) return;
  // The same gate as the manifests target: an untrusted workspace's kustomizations and charts are never read or
  // rendered (a render runs kubectl kustomize and helm on a stranger's files), even for a cluster proposal.
  if (!settings.workspaceTrusted) {
    for (const blocked of owned) blocked.reasons.push('KRR did not look for its source in the workspace: the workspace is not trusted (Workspaces: Manage Workspace Trust).');
    return;
  }
  const wanted: WorkloadTarget[] = [];
  for (const blocked of owned) {
    const planned = targets.find((candidate) => ownerKey(candidate.ref) === ownerKey(blocked));
    const group = planned ? groupByKind[planned.ref.kind] : undefined;
    if (planned && group !== undefined) wanted.push({ ...planned.ref, group, context, desired: planned.desired, owner: blocked.gitopsOwner ?? null });
  }
  try {
    const found = await proposeManifestPlan(wanted, {
      folders: await workspaceFolders(roots),
      kubectlPath: settings.kubectlPath,
      requester: plan.requestedBy,
      now: ctx.now(),
      ttlSeconds: settings.planTtlSeconds,
      context,
      finders: [...defaultFinders, ...helmFinders(helmOptions(ctx, settings, { context, server })), ...(ctx.options.workspace?.finders ?? [])],
      ...(signal ? { signal } : {}),
    });
    for (const blocked of owned) {
      const source = found.workloads.find((workload) => ownerKey(workload) === ownerKey(blocked))?.source;
      const candidates = found.unresolved.find((workload) => ownerKey(workload) === ownerKey(blocked))?.candidates ?? [];
      if (source) blocked.reasons.push(`Its source in the workspace: ${source.label}${source.guess ? ' (a guess)' : ''} — write the change there with target "manifests" (KRR: Write Recommendations to Manifests…).`);
      else if (candidates.length > 1) blocked.reasons.push(`Possible sources in the workspace: ${candidates.slice(0, 3).join(', ')}.`);
    }
  } catch (error) {
    ctx.log(`could not look for the manifests of GitOps-owned workloads: ${messageOf(error)}`);
  }
}

/**
 * The manifest target: finds where each workload's resources are decided in the workspace folders and proposes the
 * edits as a plan of files (digest over each file's path, content hash and edits). Writes nothing.
 */
export async function proposeManifests(ctx: SessionContext, args: ProposeArguments, requester: Requester, signal?: AbortSignal, trial?: { id: string; line: string }): Promise<ManifestPlan> {
  const settings = ctx.options.settings();
  const workspace = ctx.options.workspace;
  const roots = workspace?.folders() ?? [];
  if (!workspace || roots.length === 0) throw new SessionError('invalid-argument', 'There is no workspace folder to write manifests in.', 'Open the folder that holds the manifests (VS Code), or start the stdio server with --workspace <dir>.');
  // Before any file is read: rendering an untrusted kustomization could fetch remote bases, and writes are off there anyway.
  if (!settings.workspaceTrusted) {
    throw new SessionError('read-only', 'The workspace is not trusted: KRR does not read or render its manifests (kubectl kustomize could fetch remote bases a kustomization names), and writes are off.', 'Trust the workspace (Workspaces: Manage Workspace Trust) to propose edits of its manifests; scans and cluster previews work without it.');
  }
  // In memory, or stored by another process (a per-call client loaded it in an earlier process).
  const stored = await reportById(ctx, args.reportId);
  if (args.workloads.length === 0) throw new SessionError('invalid-argument', 'No workloads selected.', 'Select at least one workload from the report.');
  let folders;
  try {
    folders = await workspaceFolders(roots);
  } catch (error) {
    if (error instanceof WorkspaceInputError) throw new SessionError('invalid-argument', error.message, 'Check the workspace folders.');
    throw error;
  }
  // The context only picks between overlays that render the same workload; a manifest write needs no cluster.
  const resolved = await ctx.resolveTarget(settings, undefined).catch(() => null);
  const context = resolved?.context ?? settings.context ?? null;
  const byKey = new Map(stored.report.workloads.map((workload) => [`${workload.namespace}/${workload.kind}/${workload.name}`, workload]));
  const unresolved: UnresolvedWorkload[] = [];
  const targets: WorkloadTarget[] = [];
  const allowLimitRemoval = args.allowLimitRemoval ?? false;
  // The same workload twice with different picks: which one the person meant cannot be told.
  const picks = new Map<string, string | undefined>();
  for (const workload of args.workloads) {
    const key = ownerKey(workload);
    if (picks.has(key) && picks.get(key) !== workload.source) throw new SessionError('invalid-argument', `${workload.kind} ${workload.namespace}/${workload.name} is listed twice with different sources.`, 'List each workload once, with the source to edit.');
    picks.set(key, workload.source);
  }
  for (const { source, ...selected } of dedupe(args.workloads)) {
    const workload = byKey.get(`${selected.namespace}/${selected.kind}/${selected.name}`);
    const refuse = (reason: string) => unresolved.push({ ...selected, reason, candidates: [] });
    // As for a cluster proposal: an invalid name leaves its workload out with the reason, not the whole proposal.
    const invalid = identityProblem(selected);
    if (invalid) {
      refuse(invalid);
      continue;
    }
    if (!workload) {
      refuse('not in the report (check namespace, kind and name with krr_list_recommendations)');
      continue;
    }
    const group = groupByKind[workload.kind];
    if (group === undefined) {
      refuse(`${workload.kind} objects are not written to manifests (supported: ${Object.keys(groupByKind).join(', ')})`);
      continue;
    }
    const desired = new Map<string, DesiredResources>();
    const notes: string[] = [];
    try {
      for (const container of workload.containers) {
        // As for a cluster plan: a removal krr recommends is left out without the opt-in, and the plan says so.
        const wanted = desiredFromRecommendation(container, { includeLimits: args.includeLimits ?? false, allowLimitRemoval });
        desired.set(container.container, wanted.desired);
        // A removal opted in (null) is written by the finders: the key is removed from the source (or set to null in a
        // patch over a base); without the opt-in the value is kept, and the note says how to opt in.
        notes.push(...wanted.notes.filter((note) => note.rule === 'removal-not-included').map((note) => note.message));
        // Limits left out altogether (no includeLimits): a removal krr recommends is still named, never dropped silently.
        if (!(args.includeLimits ?? false)) {
          for (const resource of ['cpu', 'memory'] as const) {
            if (container.recommended.limits[resource].kind === 'unset' && container.current.limits[resource] !== null) notes.push(`container ${container.container}: krr recommends removing limits.${resource}; kept (limits are written only with includeLimits, a removal only with allowLimitRemoval too).`);
          }
        }
      }
    } catch (error) {
      if (!(error instanceof QuantityError)) throw error;
      refuse(`krr's recommendation cannot be written: ${error.message}`);
      continue;
    }
    // The owner read from the live object by an earlier cluster proposal or review (never guessed): it picks the source.
    const owner = stored.gitops.owners.get(ownerKey(workload));
    targets.push({ namespace: workload.namespace, kind: workload.kind, name: workload.name, group, context: workload.cluster ?? context, desired, ...(notes.length > 0 ? { notes } : {}), ...(source !== undefined ? { source } : {}), ...(owner ? { owner } : {}) });
  }
  // The same evidence as a cluster proposal: the manifests are deployed too, just later.
  const evidence = await proposalEvidence(ctx, stored, targets, signal);
  for (const target of targets) target.evidence = evidence.byWorkload.get(workloadKey(target)) ?? new Map();
  let plan: ManifestPlan;
  try {
    plan = await proposeManifestPlan(targets, {
      folders,
      kubectlPath: settings.kubectlPath,
      requester,
      now: ctx.now(),
      ttlSeconds: settings.planTtlSeconds,
      context,
      unresolved,
      sourceReportId: args.reportId,
      // The same policies as a cluster change: the manifests are deployed too, just later.
      policy: (target, subject) => {
        const workload = byKey.get(`${target.namespace}/${target.kind}/${target.name}`);
        const hpa: ResourceName[] = [];
        if (workload?.hpa?.targetCpuUtilizationPercentage != null) hpa.push('cpu');
        if (workload?.hpa?.targetMemoryUtilizationPercentage != null) hpa.push('memory');
        const usage = target.evidence ? { evidence: evidenceOfChanged(subject.changes, target.evidence) } : {};
        // The manifests are deployed later, so the HPA's response is projected from the report's HPA and requests.
        const projection = settings.policy.hpa === 'model' && workload ? { hpa: manifestHpaAssessment(workload, subject, target.evidence, settings.prices) } : {};
        return evaluatePolicies({ identity: { namespace: target.namespace, kind: target.kind, name: target.name }, changes: subject.changes, resulting: subject.resulting, hpaUtilizationTargets: hpa, allowLimitRemoval, ...usage, ...projection }, settings.policy);
      },
      // Stored with a workload the policy let through, so the dialog shows the replicas and cost it approves.
      hpa: (target, subject) => {
        const workload = byKey.get(`${target.namespace}/${target.kind}/${target.name}`);
        if (settings.policy.hpa !== 'model' || !workload) return null;
        const scaled = [workload.hpa?.targetCpuUtilizationPercentage != null ? 'cpu' : null, workload.hpa?.targetMemoryUtilizationPercentage != null ? 'memory' : null];
        if (!subject.changes.some((change) => change.allocation === 'requests' && scaled.includes(change.resource))) return null;
        const assessment = manifestHpaAssessment(workload, subject, target.evidence, settings.prices);
        return assessment.status === 'projected' ? assessment : null;
      },
      // Helm after the defaults: rendering with the user's helm (krr.helmPath), a guess by convention without it.
      finders: [...defaultFinders, ...helmFinders(helmOptions(ctx, settings, resolved)), ...(workspace.finders ?? [])],
      ...(signal ? { signal } : {}),
      ...(workspace.onRenders ? { onRenders: workspace.onRenders } : {}),
    });
  } catch (error) {
    if (error instanceof KubectlError) throw new SessionError('kubectl', error.message, 'Kustomize sources are rendered with kubectl kustomize: install kubectl or set krr.kubectlPath.');
    throw error;
  }
  if (evidence.note) plan.warnings.push(evidence.note);
  if (trial) plan = { ...plan, trial, digest: manifestPlanDigest({ ...plan, trial }) };
  ctx.manifestPlans.set(plan.id, { plan, state: 'proposed' });
  // Kept like a cluster plan, so a stdio server started per call can apply it in the next process.
  if (plan.files.length > 0) await persistManifestPlan(ctx, plan);
  while (ctx.manifestPlans.size > ctx.limits.plans) {
    const oldest = ctx.manifestPlans.keys().next().value as string;
    if (ctx.manifestPlans.get(oldest)?.state === 'approving') break;
    ctx.manifestPlans.delete(oldest);
    ctx.evicted.set(oldest, `Plan ${oldest} was evicted (limit ${ctx.limits.plans} manifest plans).`);
  }
  ctx.latestPlan = plan.id;
  await ctx.audit({
    action: 'propose',
    actor: actorOf(requester),
    ...(plan.context ? { context: plan.context } : {}),
    planId: plan.id,
    digest: plan.digest,
    objects: plan.workloads.map(({ namespace, kind, name }) => ({ namespace, kind, name })),
    outcome: 'proposed',
    detail: { target: 'manifests', files: plan.files.map((file) => `${file.folder}/${file.path}`), unresolved: plan.unresolved.length },
  });
  ctx.emit({ type: 'plan' });
  if (plan.files.length > 0) await ctx.options.approver.showManifests?.(plan).catch((error: unknown) => ctx.log(`could not show the plan: ${messageOf(error)}`));
  return plan;
}

/** The HPA's response to a manifest edit, from the report: its HPA and every container's current requests. */
function manifestHpaAssessment(workload: Workload, subject: { resulting: readonly ResultingResources[] }, evidence: ReadonlyMap<string, EvidenceSummary> | undefined, prices: SessionSettings['prices']): HpaAssessment {
  const state = reportHpaState(workload.hpa);
  if (!state) return { status: 'unmodelled', reason: 'the report gives no current replicas for its HPA' };
  const after = new Map(subject.resulting.map((resources) => [resources.container, resources.requests]));
  const pod = workload.containers.map((container) => ({ container: container.container, before: container.current.requests, after: after.get(container.container) ?? container.current.requests }));
  return projectHpa(state, pod, evidence, prices);
}

/** The Helm sources: a chart's values files, a Flux HelmRelease's values, an Argo CD Application's Helm values. */
function helmFinders(options: HelmFinderOptions): ManifestSourceFinder[] {
  return [helmFinder(options), helmReleaseFinder(options), argoApplicationFinder(options)];
}

/**
 * helm as the user set it, rendering for the Kubernetes version charts are checked against: krr.gitops.kubeVersion,
 * else the version KRR read from this context's API server (krr_status), else helm's own default.
 */
function helmOptions(ctx: SessionContext, settings: SessionSettings, target: { context: string; server: string } | null): HelmFinderOptions {
  const kubeVersion = settings.gitops.kubeVersion ?? (target ? ctx.serverVersions.get(`${target.context}\0${target.server}`) : undefined);
  return { helmPath: settings.helmPath, ...(kubeVersion ? { kubeVersion } : {}) };
}

/** Keeps a manifest plan in the state directory (no file content: gitops/stored.ts); logged when it cannot. */
async function persistManifestPlan(ctx: SessionContext, plan: ManifestPlan): Promise<void> {
  try {
    await ctx.store.saveManifestPlan(storedManifestPlan(plan));
  } catch (error) {
    if (!(error instanceof ManifestPlanNotStored)) throw error;
    ctx.log(`did not keep manifest plan ${plan.id} in the state directory (${error.message}); it can be applied in this process only`);
  }
}

export async function storePlan(ctx: SessionContext, plan: Plan): Promise<Plan> {
  ctx.plans.set(plan.id, { plan, state: 'proposed', bytes: JSON.stringify(plan).length });
  ctx.latestPlan = plan.id;
  ctx.evictOldest(ctx.plans, ctx.limits.plans, ctx.limits.planBytes, (id) => `Plan ${id} was evicted (limit ${ctx.limits.plans} plans / ${megabytes(ctx.limits.planBytes)} MB).`);
  await ctx.audit({
    action: 'propose',
    actor: actorOf(plan.requestedBy),
    context: plan.context,
    server: plan.server,
    planId: plan.id,
    digest: plan.digest,
    objects: plan.objects.map(identityOf),
    outcome: 'proposed',
    detail: { kind: plan.kind, risk: plan.risk, changes: plan.totals.changes, blocked: plan.blocked.length, monthlyCostDelta: plan.totals.monthlyCostDelta },
  });
  await ctx.store.savePlan(plan);
  ctx.emit({ type: 'plan' });
  if (plan.objects.length > 0) await ctx.options.approver.show(plan).catch((error: unknown) => ctx.log(`could not show the plan: ${messageOf(error)}`));
  return plan;
}

/**
 * proposePlan over the cluster access of one proposal (dry runs only): an API channel from proposalChannelFrom
 * targets on, kubectl processes below it; closed whether or not the proposal succeeds.
 */
export async function proposeThroughCluster(ctx: SessionContext, targets: PlanTarget[], input: Omit<ProposeContext, 'cluster'>): Promise<Plan> {
  const { settings, context } = input;
  const cluster = targets.length >= proposalChannelFrom ? await ctx.clusterFor(settings, context, targets.map((t) => t.ref), 'dry-run', [...new Set(targets.map((t) => t.ref.namespace))]) : new ChannelledCluster(null, ctx.kubectlFor(settings, context));
  try {
    return await proposePlan(targets, { ...input, cluster });
  } finally {
    await cluster.close();
  }
}

/** Why a workload's namespace or name cannot go into a kubectl argv, or null when both are valid. */
function identityProblem(ref: { namespace: string; kind: string; name: string }): string | null {
  try {
    assertDnsLabel(ref.namespace, 'namespace');
    assertDnsSubdomain(ref.name, 'workload name');
    return null;
  } catch (error) {
    return messageOf(error);
  }
}

function containerNameProblem(name: string): string | null {
  try {
    assertDnsLabel(name, 'container name');
    return null;
  } catch (error) {
    return messageOf(error);
  }
}

function dedupe<T extends { namespace: string; kind: string; name: string }>(items: readonly T[]): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = `${item.namespace}/${item.kind}/${item.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
