// Trials: krr's recommendation tried on a few running pods, resized in place (core/trial). Propose a trial plan (read the
// workload and its pods, dry-run each resize on the server), start it once a person approved its digest (the same gate
// as every apply: apply.ts calls applyTrial), watch it (checkTrials, run by the host's timer), revert it, and offer the
// persist plan — the ordinary change of the template — for a trial that passed.
import { randomBytes } from 'node:crypto';
import { describeParty } from '../approval';
import type { AuditAction } from '../audit';
import { KubectlError } from '../kube/kubectl';
import type { Pod } from '../kube/pod';
import { assertDnsLabel, assertDnsSubdomain } from '../kube/names';
import type { WorkloadKind } from '../krr/model';
import type { ApplyOutcome, ProposeArguments, Requester } from '../model';
import { desiredFromRecommendation, type DesiredResources } from '../plan/build';
import type { Plan } from '../plan/model';
import type { ManifestPlan } from '../gitops/model';
import { QuantityError } from '../quantity';
import { displayText, nameText, plural } from '../text';
import { trialApprovalText } from '../trial/approval';
import { trialDigest } from '../trial/digest';
import type { TrialPlan, TrialPod, TrialPodStatus, TrialRecord, TrialRevert } from '../trial/model';
import { describeRun, notAppliedAtEnd, observeTrialPod } from '../trial/observe';
import { rolloutProblem, selectTrialPods, serverVersionProblem, trialKindProblem, trialManifests, TrialRefusal } from '../trial/plan';
import { readTrialPods, revertPods, startTrial, type TrialCluster } from '../trial/run';
import { queryOnce } from '../evidence/reader';
import { trialUsageOf, trialUsageQuery, type TrialUsage } from '../trial/usage';
import { askWithin, refusalBeforeAsking } from './approve';
import { prometheusAccess } from './evidence';
import { actorOf, messageOf, SessionError, type SessionContext } from './context';
import { propose, proposeManifests } from './propose';
import { reportById } from './review';

export interface TrialArguments {
  reportId: string;
  workload: { namespace: string; kind: string; name: string };
  /** How many running pods to resize (default 1; at most krr.trial.maxPods). */
  pods?: number;
  /** The window (default krr.trial.windowSeconds). */
  windowSeconds?: number;
  /** Limits too (default true: the memory limit is what OOM-kills, so a trial without it proves little). */
  includeLimits?: boolean;
}

/** Reads the workload and its pods and dry-runs each resize; stores the trial plan (single use, like every plan). */
export async function proposeTrial(ctx: SessionContext, args: TrialArguments, requester: Requester, signal?: AbortSignal): Promise<TrialPlan> {
  const settings = ctx.options.settings();
  const { namespace, kind, name } = args.workload;
  try {
    assertDnsLabel(namespace, 'namespace');
    assertDnsSubdomain(name, 'workload name');
  } catch (error) {
    throw new SessionError('invalid-argument', messageOf(error), 'Pass the namespace, kind and name of a workload from krr_list_recommendations.');
  }
  const kindProblem = trialKindProblem(kind);
  if (kindProblem) throw new SessionError('invalid-argument', `No trial for ${displayText(kind, 40)} ${namespace}/${name}: ${kindProblem}.`, 'Propose the change with krr_propose_changes instead.');
  const count = args.pods ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > settings.trial.maxPods) {
    throw new SessionError('invalid-argument', `A trial takes 1 to ${settings.trial.maxPods} pods (krr.trial.maxPods); ${displayText(String(count), 20)} were asked for.`, 'Ask for fewer pods, or raise krr.trial.maxPods.');
  }
  const windowSeconds = args.windowSeconds ?? settings.trial.windowSeconds;
  if (!Number.isInteger(windowSeconds) || windowSeconds < 10 || windowSeconds > 24 * 3600) throw new SessionError('invalid-argument', 'A trial window is 10 s to 24 h, in whole seconds.', 'Pass windowSeconds between 10 and 86400.');
  const stored = await reportById(ctx, args.reportId);
  const workload = stored.report.workloads.find((entry) => entry.namespace === namespace && entry.kind === kind && entry.name === name);
  if (!workload) throw new SessionError('invalid-argument', `${displayText(kind, 40)} ${namespace}/${name} is not in report ${stored.summary.reportId}.`, 'Check namespace, kind and name with krr_list_recommendations.');
  const includeLimits = args.includeLimits ?? true;
  const desired = new Map<string, DesiredResources>();
  try {
    for (const container of workload.containers) desired.set(container.container, desiredFromRecommendation(container, { includeLimits, allowLimitRemoval: false }).desired);
  } catch (error) {
    if (error instanceof QuantityError) throw new SessionError('invalid-argument', `krr's recommendation cannot be written: ${error.message}`, 'Scan again.');
    throw error;
  }
  const target = await ctx.resolveTarget(settings, stored.summary.context);
  if (stored.summary.server !== undefined && stored.summary.server !== target.server) {
    throw new SessionError('kubectl', `Context ${stored.summary.context ?? ''} now points at ${target.server}, not ${stored.summary.server} where report ${stored.summary.reportId} was scanned.`, 'Scan that context again; a trial goes only to the cluster its report came from.');
  }
  if (workload.cluster !== null && workload.cluster !== target.context) throw new SessionError('invalid-argument', `The report is from cluster ${workload.cluster}, but the current context is ${target.context}.`, 'Scan this context first.');
  const kubectl = ctx.kubectlFor(settings, target.context);
  const ref = { namespace, kind: kind as WorkloadKind, name };
  let listed: Pod[];
  let selection: ReturnType<typeof selectTrialPods>;
  try {
    const version = await kubectl.version(signal);
    const versionProblem = serverVersionProblem(version.server);
    if (versionProblem) throw new TrialRefusal(versionProblem);
    const live = await kubectl.getObject(ref, signal);
    // Pods a rollout is replacing would be replaced mid-trial too (and the new ones come at the template's size).
    const rolling = rolloutProblem(kind, live);
    if (rolling) throw new TrialRefusal(`${rolling}: its pods are being replaced, so a trial's pods would be too; try again once the rollout is done`);
    const matchLabels = (live.spec?.selector as { matchLabels?: unknown } | undefined)?.matchLabels;
    if (!isStringRecord(matchLabels)) throw new TrialRefusal(`${kind} ${namespace}/${name} selects its pods without matchLabels; a trial finds pods by them`);
    listed = await kubectl.listPods(namespace, matchLabels, signal);
    selection = selectTrialPods(ref, listed, desired, count);
  } catch (error) {
    if (error instanceof TrialRefusal) throw new SessionError('invalid-argument', `No trial for ${kind} ${namespace}/${name}: ${error.message}.`, 'Propose the change with krr_propose_changes instead.');
    if (error instanceof KubectlError) throw new SessionError('kubectl', error.message, 'Check the context and your access to the workload and its pods.');
    throw error;
  }
  // The server's own answer to each resize, before anyone is asked (QoS class, memory-limit decreases, quotas).
  let refusal = await dryRunResizes(ctx, target.context, namespace, selection.pods, signal);
  if (refusal && memoryLimitDecreaseRefused.test(refusal.message) && includeLimits) {
    // Kubernetes 1.33 refuses to lower a memory limit in place unless the container restarts for it: the trial keeps
    // the limit (said in the dialog, in the cluster's words) and tries the rest; the persist plan still proposes it.
    for (const wanted of desired.values()) delete wanted.limits.memory;
    try {
      // The same pods as listed above, chosen again without the memory limit.
      selection = selectTrialPods(ref, listed, desired, count);
    } catch (error) {
      if (error instanceof TrialRefusal) throw new SessionError('invalid-argument', `No trial for ${kind} ${namespace}/${name}: ${error.message} (the cluster refuses the memory limit in place: ${refusal.message}).`, 'Propose the change with krr_propose_changes instead.');
      throw error;
    }
    selection.findings.unshift({ severity: 'warn', rule: 'trial-memory-limit-kept', message: `The cluster refuses to lower a memory limit in place (${displayText(refusal.clusterSays, 200)}); the trial keeps each container's memory limit and tries the rest. The persist plan still proposes krr's limit.` });
    refusal = await dryRunResizes(ctx, target.context, namespace, selection.pods, signal);
  }
  if (refusal) throw new SessionError('kubectl', refusal.message, 'Use the ordinary plan (krr_propose_changes), which changes the template and restarts the pods.');
  const now = ctx.now();
  const manifests = trialManifests(ref, selection.pods);
  const body = {
    target: 'trial' as const,
    context: target.context,
    server: target.server,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + settings.planTtlSeconds * 1000).toISOString(),
    requestedBy: { type: requester.type, via: requester.via },
    workload: ref,
    pods: selection.pods,
    requestedPods: count,
    runningPods: selection.runningPods,
    windowSeconds,
    includeLimits,
    findings: selection.findings,
    liveManifest: manifests.live,
    proposedManifest: manifests.proposed,
    sourceReportId: stored.summary.reportId,
  };
  const plan: TrialPlan = { id: `plan-${randomBytes(6).toString('hex')}`, digest: trialDigest(body), ...body };
  ctx.trialPlans.set(plan.id, { plan, state: 'proposed' });
  ctx.latestPlan = plan.id;
  while (ctx.trialPlans.size > ctx.limits.plans) ctx.trialPlans.delete(ctx.trialPlans.keys().next().value as string);
  await ctx.audit({ action: 'propose', actor: actorOf(requester), context: plan.context, server: plan.server, planId: plan.id, digest: plan.digest, objects: [ref], outcome: 'proposed', detail: { target: 'trial', pods: plan.pods.map((pod) => pod.name), windowSeconds } });
  ctx.emit({ type: 'plan' });
  await ctx.options.approver.showTrial?.(plan).catch((error: unknown) => ctx.log(`could not show the trial plan: ${messageOf(error)}`));
  return plan;
}

/**
 * The gate of every apply (read-only, single use, expiry, one apply per context, the model's cool-down, a person's
 * approval of this digest), then the resizes. A failed resize puts back every pod already resized.
 */
export async function applyTrial(ctx: SessionContext, planId: string, requester: Requester, signal?: AbortSignal): Promise<ApplyOutcome> {
  const settings = ctx.options.settings();
  const actor = actorOf(requester);
  const stored = ctx.trialPlans.get(planId) as { plan: TrialPlan; state: 'proposed' | 'approving' | 'used' };
  const { plan } = stored;
  const objects = [{ ...plan.workload }];
  const refuse = async (status: ApplyOutcome['status'], message: string, action: AuditAction = 'refuse'): Promise<ApplyOutcome> => {
    await ctx.audit({ action, actor, outcome: status, planId, digest: plan.digest, context: plan.context, objects, detail: { target: 'trial', message } });
    return { status, planId, objects: [], verified: false, rollouts: [], message };
  };
  const refusal = refusalBeforeAsking(ctx, stored, requester, settings);
  if (refusal) {
    if (refusal.spendsPlan) stored.state = 'used';
    return refuse(refusal.status, refusal.message);
  }
  stored.state = 'approving';
  ctx.applying.add(plan.context);
  try {
    let claim: string | null;
    try {
      claim = await ctx.store.claim(plan);
    } catch (error) {
      stored.state = 'proposed';
      return await refuse('refused', `Cannot record that plan ${plan.id} is being used, so its single use cannot be guaranteed: ${messageOf(error)}. Nothing was resized and nobody was asked.`);
    }
    if (claim === null) {
      stored.state = 'used';
      return await refuse('used', 'This plan was already used; plans are single-use. Propose the trial again.');
    }
    const text = trialApprovalText(plan, requester, settings.confirmByTyping, ctx.now());
    const approver = ctx.options.approver;
    const ask = approver.requestTrialApproval?.bind(approver);
    const decision = await askWithin(settings, signal, ask ? (combined) => ask(plan, text, combined) : null, 'this host cannot ask a person to approve a trial');
    stored.state = 'used';
    if (decision.outcome !== 'approved') {
      if (decision.outcome === 'declined' || decision.outcome === 'timeout') await ctx.declines.record(plan.context, ctx.now().getTime());
      const message =
        decision.outcome === 'declined' ? `The trial was declined in the approval dialog${decision.reason ? ` (${decision.reason})` : ''}. Nothing was resized.`
        : decision.outcome === 'timeout' ? `Nobody answered the approval dialog within ${settings.approvalTimeoutSeconds} s. Nothing was resized.`
        : `No human can approve here: ${decision.reason}. Nothing was resized.`;
      return refuse(decision.outcome === 'unavailable' ? 'refused' : 'declined', message, 'decline');
    }
    if (decision.digest !== plan.digest) return refuse('refused', 'The approval does not match this plan (digest differs). Nothing was resized.');
    if (ctx.isExpired(plan)) return refuse('expired', `The plan expired at ${plan.expiresAt} while waiting for approval. Nothing was resized; propose the trial again.`);
    if (!(await ctx.store.holdsClaim(plan.id, claim))) return refuse('used', `Plan ${plan.id} is no longer claimed by this apply. Nothing was resized; propose the trial again.`);
    await ctx.audit({ action: 'approve', actor: decision.by ?? { type: 'human', via: 'approval dialog' }, context: plan.context, server: plan.server, planId, digest: plan.digest, objects, outcome: 'approved', detail: { target: 'trial', pods: plan.pods.map((pod) => pod.name), requestedBy: `${requester.type}:${displayText(requester.via)}`, proposedBy: `${plan.requestedBy.type}:${displayText(plan.requestedBy.via)}` } });
    const resolved = await ctx.resolveTarget(settings, plan.context).catch(() => null);
    if (!resolved || resolved.server !== plan.server) return refuse('stale', `Context ${plan.context} no longer points at ${plan.server}. Nothing was resized; propose the trial again.`);
    // The channel reaches exactly the approved pods (and their /resize): no other pod of any workload.
    const cluster = await trialCluster(ctx, plan, 'approved');
    let started;
    try {
      started = await startTrial(plan, cluster, settings.applyConcurrency, () => ctx.now(), signal);
    } finally {
      await cluster.close();
    }
    if (!started.ok) {
      const left = started.revert.pods.filter((pod) => pod.result === 'failed');
      const message = `The trial could not start: ${started.message}. ${left.length === 0 ? 'No pod runs at the trial size (every pod resized was put back).' : `${plural(left.length, 'pod')} may still run at the trial size: ${left.map((pod) => `${pod.name} (${pod.message ?? 'failed'})`).join('; ')}.`}`;
      await ctx.audit({ action: 'trial', actor, context: plan.context, server: plan.server, planId, digest: plan.digest, objects, outcome: 'failed', detail: { message, revert: started.revert.pods } });
      return { status: 'failed', planId, objects: [], verified: false, rollouts: [], message };
    }
    const startedAt = ctx.now();
    const record: TrialRecord = {
      id: plan.id,
      planId: plan.id,
      digest: plan.digest,
      context: plan.context,
      server: plan.server,
      workload: plan.workload,
      pods: plan.pods,
      runningPods: plan.runningPods,
      windowSeconds: plan.windowSeconds,
      includeLimits: plan.includeLimits,
      sourceReportId: plan.sourceReportId,
      startedAt: startedAt.toISOString(),
      endsAt: new Date(startedAt.getTime() + plan.windowSeconds * 1000).toISOString(),
      state: 'running',
      baseline: started.baseline,
      statuses: plan.pods.map((pod) => ({ name: pod.name, phase: 'pending', ready: true, restarts: 0, oomKills: 0 })),
      checkedAt: startedAt.toISOString(),
    };
    try {
      await ctx.trials.save(record);
    } catch (error) {
      // A trial nobody could find again must not stay: its pods go back at once.
      const undo = await trialCluster(ctx, plan, 'approved');
      const revert = await revertPods(plan, plan.pods, undo, settings.applyConcurrency, () => ctx.now()).finally(() => undo.close());
      const left = revert.pods.filter((pod) => pod.result === 'failed');
      const message = `The trial could not be recorded in the state directory (${messageOf(error)}), so its pods were put back at once${left.length > 0 ? `, except ${left.map((pod) => `${pod.name} (${pod.message ?? 'failed'})`).join('; ')}` : ''}.`;
      await ctx.audit({ action: 'trial-revert', actor, context: plan.context, server: plan.server, planId, digest: plan.digest, objects, outcome: left.length === 0 ? 'reverted' : 'failed', detail: { message, pods: revert.pods } });
      return { status: 'failed', planId, objects: [], verified: false, rollouts: [], message };
    }
    await ctx.audit({ action: 'trial', actor, context: plan.context, server: plan.server, planId, digest: plan.digest, objects, outcome: 'started', detail: { pods: plan.pods.map((pod) => pod.name), endsAt: record.endsAt } });
    ctx.emit({ type: 'trial' });
    return { status: 'applied', planId, objects: [], verified: false, rollouts: [], trialId: record.id, message: `Trial ${record.id} started: ${plural(plan.pods.length, 'pod')} of ${plan.workload.namespace}/${plan.workload.name} resized in place; watched until ${record.endsAt}, then reverted.` };
  } finally {
    ctx.applying.delete(plan.context);
  }
}

export async function listTrials(ctx: SessionContext): Promise<TrialRecord[]> {
  return ctx.trials.list();
}

export async function getTrial(ctx: SessionContext, trialId: string): Promise<TrialRecord> {
  const record = await ctx.trials.read(trialId);
  if (!record) throw new SessionError('invalid-argument', `There is no trial ${displayText(trialId, 40)}.`, 'List the trials (krr_trial_status without an id) and use one of their ids.');
  return record;
}

/**
 * One pass of the watch: every running trial is read and judged; a failed signal reverts it at once (part of the
 * approved operation, audited); a window that ended reverts it and says whether it passed. A trial whose window ended
 * while no watch ran (no check in its last stretch) is marked overdue and left for a person to revert.
 */
export async function checkTrials(ctx: SessionContext, signal?: AbortSignal): Promise<TrialRecord[]> {
  const changed: TrialRecord[] = [];
  for (const record of await ctx.trials.list()) {
    if (record.state !== 'running') continue;
    // Being checked or reverted already (the watch, a status call, a revert): wait for that, so what the caller reads
    // next is its result, not the record from before it.
    const inFlight = ctx.trialChecks.get(record.id);
    if (inFlight) {
      await inFlight.catch(() => undefined);
      continue;
    }
    const next = await exclusively(ctx, record.id, () => checkTrial(ctx, record, signal)).catch((error: unknown) => {
      ctx.log(`trial ${record.id}: the check failed (${messageOf(error)}); it is tried again at the next check`);
      return null;
    });
    if (next) changed.push(next);
  }
  if (changed.length > 0) ctx.emit({ type: 'trial' });
  return changed;
}

/** Runs `work` for one trial once no other check or revert of it runs in this process. */
async function exclusively<T>(ctx: SessionContext, trialId: string, work: () => Promise<T>): Promise<T> {
  for (let pending = ctx.trialChecks.get(trialId); pending; pending = ctx.trialChecks.get(trialId)) await pending.catch(() => undefined);
  const running = work();
  ctx.trialChecks.set(trialId, running);
  try {
    return await running;
  } finally {
    if (ctx.trialChecks.get(trialId) === running) ctx.trialChecks.delete(trialId);
  }
}

async function checkTrial(ctx: SessionContext, record: TrialRecord, signal?: AbortSignal): Promise<TrialRecord | null> {
  const settings = ctx.options.settings();
  const now = ctx.now();
  const endsAt = Date.parse(record.endsAt);
  const lastCheck = record.checkedAt === null ? Date.parse(record.startedAt) : Date.parse(record.checkedAt);
  // Nobody watched the end of the window: its evidence is incomplete, and reverting is a person's call now.
  if (now.getTime() >= endsAt && endsAt - lastCheck > 3 * settings.trial.pollSeconds * 1000 + 5_000) {
    const overdue: TrialRecord = { ...record, state: 'overdue', outcome: { at: now.toISOString(), reason: `the window ended at ${record.endsAt} while no watch ran (last check ${record.checkedAt ?? 'never'}); its pods may still run at the trial size — revert them` } };
    await ctx.trials.save(overdue);
    await ctx.audit({ action: 'trial', actor: { type: 'system', via: 'trial watch' }, context: record.context, planId: record.planId, objects: [record.workload], outcome: 'overdue', detail: { message: overdue.outcome?.reason } });
    return overdue;
  }
  const cluster = await trialCluster(ctx, record, 'approved');
  try {
    const live = await readTrialPods(record, record.pods, cluster, settings.applyConcurrency, signal);
    const statuses: TrialPodStatus[] = [];
    const failures: string[] = [];
    for (const pod of record.pods) {
      const previous = record.statuses.find((status) => status.name === pod.name);
      if (previous?.phase === 'gone') {
        statuses.push(previous);
        continue;
      }
      const verdict = observeTrialPod(pod, live.get(pod.name) ?? null, record.baseline[pod.name] ?? {}, previous);
      statuses.push(verdict.status);
      if (verdict.failure) failures.push(verdict.failure);
    }
    const usage = await trialUsageNow(ctx, record, now, signal);
    if (usage.usage) {
      for (const [container, percent] of Object.entries(usage.usage.throttledPercent)) {
        const limitChanged = record.pods.some((pod) => pod.containers.some((entry) => entry.name === container && entry.changes.some((change) => change.resource === 'cpu' && change.allocation === 'limits')));
        if (limitChanged && percent > settings.trial.maxThrottledPercent) failures.push(`container ${container} was throttled in ${percent}% of its CPU periods at the trial's CPU limit (more than krr.trial.maxThrottledPercent, ${settings.trial.maxThrottledPercent}%)`);
      }
    }
    const watched: TrialRecord = {
      ...record,
      statuses,
      checkedAt: now.toISOString(),
      ...(usage.usage ? { peakMemory: usage.usage.peakMemory, throttledPercent: usage.usage.throttledPercent } : {}),
      ...(usage.note ? { usageNote: usage.note } : {}),
    };
    const remaining = statuses.filter((status) => status.phase !== 'gone');
    if (failures.length === 0 && remaining.length === 0) failures.push('every trial pod was replaced by its controller (the new pods run at the template\'s size); nothing is left to watch');
    if (failures.length === 0 && now.getTime() < endsAt) {
      await ctx.trials.save(watched);
      return statuses.some((status, index) => status.phase !== record.statuses[index]?.phase) ? watched : null;
    }
    if (failures.length === 0) for (const status of remaining) {
      const missing = notAppliedAtEnd(status);
      if (missing) failures.push(missing);
    }
    const passed = failures.length === 0;
    const minutes = (Math.min(now.getTime(), endsAt) - Date.parse(record.startedAt)) / 60000;
    const gone = statuses.filter((status) => status.phase === 'gone').length;
    const reason = passed
      ? `${describeRun(remaining, minutes, record.pods.filter((pod) => remaining.some((status) => status.name === pod.name)), watched)}${gone > 0 ? ` (${plural(gone, 'pod')} replaced by the controller during the trial)` : ''}`
      : failures.slice(0, 3).join('; ');
    const revert = await revertPods(record, record.pods, cluster, settings.applyConcurrency, () => ctx.now());
    const ended: TrialRecord = { ...watched, state: passed ? 'passed' : 'failed', outcome: { at: now.toISOString(), reason }, revert, statuses: markReverted(statuses, revert) };
    await ctx.trials.save(ended);
    await auditRevert(ctx, ended, { type: 'system', via: 'trial watch' });
    await ctx.audit({ action: 'trial', actor: { type: 'system', via: 'trial watch' }, context: record.context, server: record.server, planId: record.planId, digest: record.digest, objects: [record.workload], outcome: ended.state, detail: { message: reason } });
    return ended;
  } finally {
    await cluster.close();
  }
}

/** Puts a trial's pods back now, at a person's (or the model's) request: part of the approved trial, so nobody is asked. */
export async function revertTrial(ctx: SessionContext, trialId: string, requester: Requester): Promise<TrialRecord> {
  if (!(await ctx.trials.read(trialId))) {
    // A revert writes pods: asking for one the state directory does not vouch for is refused, and recorded.
    const message = `There is no trial ${displayText(trialId, 40)} this extension recorded (or its record was changed since); nothing was reverted.`;
    await ctx.audit({ action: 'refuse', actor: actorOf(requester), outcome: 'unknown', ...(/^plan-[0-9a-f]{12}$/.test(trialId) ? { planId: trialId } : {}), detail: { target: 'trial', message } });
    throw new SessionError('invalid-argument', message, 'List the trials (krr_trial_status without an id) and use one of their ids.');
  }
  const ended = await exclusively(ctx, trialId, async () => {
    // Read again once no check runs: the watch may have ended (and reverted) it meanwhile.
    const record = await getTrial(ctx, trialId);
    if (record.state !== 'running' && record.state !== 'overdue' && !(record.revert?.pods.some((pod) => pod.result === 'failed') ?? false)) {
      throw new SessionError('invalid-argument', `Trial ${record.id} has ended (${record.state}) and its pods were reverted.`, 'Nothing to revert.');
    }
    const settings = ctx.options.settings();
    const cluster = await trialCluster(ctx, record, 'approved');
    let revert: TrialRevert;
    try {
      revert = await revertPods(record, record.pods, cluster, settings.applyConcurrency, () => ctx.now());
    } finally {
      await cluster.close();
    }
    const next: TrialRecord = {
      ...record,
      state: record.state === 'running' || record.state === 'overdue' ? 'reverted' : record.state,
      outcome: record.state === 'running' || record.state === 'overdue' ? { at: ctx.now().toISOString(), reason: `reverted by ${describeParty(requester)}` } : (record.outcome ?? { at: ctx.now().toISOString(), reason: 'reverted' }),
      revert,
      statuses: markReverted(record.statuses, revert),
    };
    await ctx.trials.save(next);
    await auditRevert(ctx, next, actorOf(requester));
    return next;
  });
  ctx.emit({ type: 'trial' });
  return ended;
}

/**
 * The persist plan of a trial that passed: the ordinary proposal of the same values for the template (or, for a
 * workload Argo CD or Flux reconciles, for its manifests), carrying the trial's evidence into its dialog and digest.
 */
export async function persistTrial(ctx: SessionContext, trialId: string, requester: Requester, target: 'cluster' | 'manifests' = 'cluster', signal?: AbortSignal): Promise<Plan | ManifestPlan> {
  const record = await getTrial(ctx, trialId);
  if (record.state !== 'passed') throw new SessionError('invalid-argument', `Trial ${record.id} ${record.state === 'running' ? 'is still running' : `did not pass (${record.state}${record.outcome ? `: ${displayText(record.outcome.reason, 200)}` : ''})`}.`, 'Only a trial that passed offers its change for the template.');
  const args: ProposeArguments = { reportId: record.sourceReportId, workloads: [{ ...record.workload }], includeLimits: record.includeLimits, target };
  const trial = { id: record.id, line: `Tried first (trial ${record.id}): ${record.outcome?.reason ?? 'passed'}.` };
  const plan = target === 'manifests' ? await proposeManifests(ctx, args, requester, signal, trial) : await propose(ctx, args, requester, signal, undefined, trial);
  await ctx.trials.save({ ...record, persistPlanId: plan.id });
  ctx.emit({ type: 'trial' });
  return plan;
}

/**
 * What Prometheus recorded of the trial pods since the trial began, when krr.prometheusUrl is set (same credential
 * routing as the evidence); otherwise, or when it cannot answer, a note saying why — never a guess, never a failure.
 */
async function trialUsageNow(ctx: SessionContext, record: TrialRecord, now: Date, signal?: AbortSignal): Promise<{ usage?: TrialUsage; note?: string }> {
  const settings = ctx.options.settings();
  if (!settings.prometheusUrl) return { note: 'no Prometheus URL is configured (krr.prometheusUrl): no memory peak or CPU throttling for this trial' };
  const access = await prometheusAccess(ctx, record.context);
  const seconds = (now.getTime() - Date.parse(record.startedAt)) / 1000;
  const query = trialUsageQuery(record.workload.namespace, record.pods.map((pod) => pod.name), seconds, access.clusterLabel);
  const limits = { queryTimeoutMs: 15_000, maxResponseBytes: 1024 * 1024, maxSeries: 1000, ...ctx.options.evidenceLimits };
  const result = await queryOnce({ url: access.url, headers: access.headers, limits, ...(signal ? { signal } : {}) }, query, now, `trial ${record.id}`);
  if (!result.ok) {
    ctx.log(`trial ${record.id}: usage not read: ${result.reason}`);
    return { note: result.reason };
  }
  return { usage: trialUsageOf(result.answer) };
}

async function trialCluster(ctx: SessionContext, trial: Pick<TrialRecord, 'context' | 'workload' | 'pods'>, writes: 'approved' | 'dry-run'): Promise<TrialCluster & { close(): Promise<void> }> {
  const settings = ctx.options.settings();
  return ctx.clusterFor(settings, trial.context, [], writes, [], trial.pods.map((pod) => ({ namespace: trial.workload.namespace, name: pod.name })));
}

async function auditRevert(ctx: SessionContext, record: TrialRecord, actor: ReturnType<typeof actorOf>): Promise<void> {
  const failed = record.revert?.pods.filter((pod) => pod.result === 'failed') ?? [];
  await ctx.audit({ action: 'trial-revert', actor, context: record.context, server: record.server, planId: record.planId, digest: record.digest, objects: [record.workload], outcome: failed.length === 0 ? 'reverted' : 'failed', detail: { pods: record.revert?.pods ?? [] } });
}

function markReverted(statuses: readonly TrialPodStatus[], revert: TrialRevert): TrialPodStatus[] {
  return statuses.map((status) => {
    const result = revert.pods.find((pod) => pod.name === status.name);
    if (result?.result === 'reverted' || result?.result === 'not-needed') return { ...status, phase: 'reverted' };
    if (result?.result === 'failed') return { ...status, message: result.message ?? 'revert failed' };
    return status;
  });
}

const memoryLimitDecreaseRefused = /memory limits cannot be decreased/i;

/** Each trial pod's resize as a server-side dry run; the first refusal, in the cluster's words, or null. */
async function dryRunResizes(ctx: SessionContext, context: string, namespace: string, pods: readonly TrialPod[], signal?: AbortSignal): Promise<{ message: string; clusterSays: string } | null> {
  const cluster = await ctx.clusterFor(ctx.options.settings(), context, [], 'dry-run', [], pods.map((pod) => ({ namespace, name: pod.name })));
  try {
    for (const pod of pods) {
      try {
        await cluster.resizePod({ namespace, name: pod.name }, pod.ops, { dryRun: true, ...(signal ? { signal } : {}) });
      } catch (error) {
        const clusterSays = messageOf(error).replace(/^.*?Error from server \([A-Za-z]+\): /s, '');
        return { message: `The cluster refuses to resize pod ${namespace}/${pod.name} in place: ${messageOf(error)}`, clusterSays };
      }
    }
    return null;
  } finally {
    await cluster.close();
  }
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((entry) => typeof entry === 'string');
}

/** The trial's words for a person, one line: state, pods, and why it ended. */
export function describeTrial(record: TrialRecord): string {
  const workload = nameText(`${record.workload.namespace}/${record.workload.name}`, 120);
  const base = `${record.id} · ${workload} · ${plural(record.pods.length, 'pod')}`;
  if (record.state === 'running') return `${base} · running until ${record.endsAt}`;
  return `${base} · ${record.state}${record.outcome ? `: ${displayText(record.outcome.reason, 300)}` : ''}`;
}
