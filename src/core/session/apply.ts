// Applying an approved plan: claim it (single use across processes), ask a person, re-check, then executePlan
// (cluster) or executeManifestPlan (workspace files); a bad rollout gets a ready rollback plan.
import { executePlan, identityOf, type ApplyDependencies } from '../apply';
import type { AuditAction } from '../audit';
import type { Plan } from '../plan/model';
import type { ApplyOutcome, Requester } from '../model';
import { displayText } from '../text';
import { executeManifestPlan, filesChangedSinceProposal, staleManifestResult, type ManifestWriter } from '../gitops/apply';
import { manifestApprovalText } from '../gitops/approval';
import type { ManifestPlan } from '../gitops/model';
import { askApproval, askWithin, manifestCooldownKey, refusalBeforeAsking } from './approve';
import { actorOf, messageOf, type SessionContext, type StoredPlan, truncate } from './context';
import { manifestPlanFromState, planFromState } from './plans';
import { proposeRollback } from './rollbackPlan';
import { applyTrial } from './trial';

/**
 * Safety invariant, in order: the stored plan only (by id); not read-only; single use; not expired; one
 * apply per context; a human's approval of this digest; then executePlan re-reads, snapshots, writes with
 * test preconditions, restores on partial failure. Never throws for a refusal: returns a status.
 */
export async function apply(ctx: SessionContext, planId: string, requester: Requester, signal?: AbortSignal): Promise<ApplyOutcome> {
  if (ctx.manifestPlans.has(planId)) return applyManifests(ctx, planId, requester, signal);
  if (ctx.trialPlans.has(planId)) return applyTrial(ctx, planId, requester, signal);
  if (!ctx.plans.has(planId)) {
    // A manifest plan another process proposed (a stdio server started per call): rebuilt from the workspace.
    const restored = await manifestPlanFromState(ctx, planId);
    if (restored?.ok) return applyManifests(ctx, planId, requester, signal);
    if (restored) {
      const message = `Plan ${planId} cannot be applied here: ${restored.reason}. Nothing was written and nobody was asked; propose the changes again.`;
      await ctx.audit({ action: 'refuse', actor: actorOf(requester), outcome: restored.status, planId, digest: restored.digest, detail: { target: 'manifests', message } });
      return { status: restored.status, planId, objects: [], verified: false, rollouts: [], files: [], message };
    }
  }
  const settings = ctx.options.settings();
  const actor = actorOf(requester);
  // Another process (a stdio server started per call) may have proposed it: the state directory has it then.
  const stored = ctx.plans.get(planId) ?? (await planFromState(ctx, planId));
  const refuse = async (status: ApplyOutcome['status'], message: string, plan?: Plan, action: AuditAction = 'refuse'): Promise<ApplyOutcome> => {
    await ctx.audit({ action, actor, outcome: status, planId, ...(plan ? { context: plan.context, digest: plan.digest, objects: plan.objects.map(identityOf) } : {}), detail: { message } });
    return { status, planId, objects: [], verified: false, rollouts: [], message };
  };
  if (!stored) {
    const evicted = ctx.evicted.get(planId);
    return refuse('unknown', evicted ? `${evicted} Propose the changes again.` : `There is no plan ${truncate(planId)}. Propose the changes first (krr_propose_changes) and use the plan id it returns.`);
  }
  const { plan } = stored;
  const refusal = refusalBeforeAsking(ctx, stored, requester, settings);
  if (refusal) {
    if (refusal.spendsPlan) stored.state = 'used';
    return refuse(refusal.status, refusal.message, plan);
  }
  stored.state = 'approving';
  ctx.applying.add(plan.context);
  try {
    // Single use across processes: claim the plan in the state directory before anyone is asked.
    let claim: string | null;
    try {
      claim = await ctx.store.claim(plan);
    } catch (error) {
      stored.state = 'proposed'; // nobody was asked: the person may try again once the state directory is writable
      return await refuse('refused', `Cannot record that plan ${plan.id} is being used, so its single use cannot be guaranteed: ${messageOf(error)}. Nothing was written and nobody was asked.`, plan);
    }
    if (claim === null) {
      stored.state = 'used';
      return await refuse('used', 'This plan was already used (applied, declined or being approved, possibly by another krr-mcp process sharing this state directory); plans are single-use. Propose again for a new plan.', plan);
    }
    const decision = await askApproval(ctx, plan, requester, settings, signal);
    if (decision.outcome !== 'approved') {
      stored.state = 'used';
      if (decision.outcome === 'declined' || decision.outcome === 'timeout') await ctx.declines.record(plan.context, ctx.now().getTime());
      const status = decision.outcome === 'unavailable' ? 'refused' : 'declined';
      const message =
        decision.outcome === 'declined' ? `The change was declined in the approval dialog${decision.reason ? ` (${decision.reason})` : ''}. Nothing was written.`
        : decision.outcome === 'timeout' ? `Nobody answered the approval dialog within ${settings.approvalTimeoutSeconds} s. Nothing was written; propose again when the person is ready.`
        : `No human can approve here: ${decision.reason}. Nothing was written.`;
      return refuse(status, message, plan, 'decline');
    }
    if (decision.digest !== plan.digest) {
      stored.state = 'used';
      return refuse('refused', 'The approval does not match this plan (digest differs). Nothing was written.', plan);
    }
    if (ctx.isExpired(plan)) {
      stored.state = 'used';
      return refuse('expired', `The plan expired at ${plan.expiresAt} while waiting for approval. Nothing was written; propose again.`, plan);
    }
    stored.state = 'used';
    // Checked again before the first write: the claim must still be this apply's own.
    if (!(await ctx.store.holdsClaim(plan.id, claim))) {
      return refuse('used', `Plan ${plan.id} is no longer claimed by this apply (its claim in the state directory changed while the approval was open). Nothing was written; propose again.`, plan);
    }
    // A staged apply may run long; each stage starts only while this approval is younger than the plan's lifetime.
    const approvedAt = ctx.now();
    await ctx.audit({ action: 'approve', actor: decision.by ?? { type: 'human', via: 'approval dialog' }, context: plan.context, server: plan.server, planId, digest: plan.digest, objects: plan.objects.map(identityOf), outcome: 'approved', detail: { requestedBy: `${requester.type}:${displayText(requester.via)}`, proposedBy: `${plan.requestedBy.type}:${displayText(plan.requestedBy.via)}` } });
    // The kubeconfig may have changed since the proposal: the context must still point at the same server.
    const target = await ctx.resolveTarget(settings, plan.context).catch(() => null);
    if (!target || target.server !== plan.server) {
      return refuse('stale', `Context ${plan.context} no longer points at ${plan.server}. Nothing was written; propose again.`, plan);
    }
    const audit = await ctx.openAudit();
    // One API channel for every read and write of this apply, reaching only the plan's objects; closed below.
    const cluster = await ctx.clusterFor(settings, plan.context, plan.objects.map((object) => ({ kind: object.kind, namespace: object.namespace, name: object.name })), 'approved');
    const deps: ApplyDependencies = {
      cluster,
      snapshots: ctx.snapshots,
      audit,
      actor,
      concurrency: settings.applyConcurrency,
      rolloutWatch: settings.rolloutWatch,
      approval: { at: approvedAt, maxAgeMs: settings.planTtlSeconds * 1000 },
      now: () => ctx.now(),
      gitopsDirectPatch: settings.gitops.directPatch,
      ...(signal ? { signal } : {}),
    };
    let outcome: ApplyOutcome;
    try {
      outcome = await executePlan(plan, deps);
    } catch (error) {
      // Snapshot or audit storage failed before any write, or something unexpected: report, never retry silently.
      await ctx.audit({ action: 'write-failed', actor, context: plan.context, planId, digest: plan.digest, outcome: 'failed', detail: { message: messageOf(error) } }).catch(() => undefined);
      return { status: 'failed', planId, objects: [], verified: false, rollouts: [], message: `Apply stopped: ${messageOf(error)}` };
    } finally {
      await cluster.close();
    }
    // A bad rollout, or a staged apply whose earlier stages stay written, gets a ready rollback plan — never a silent undo.
    const unhealthyApplied = outcome.status === 'applied' && outcome.rollouts.some((rollout) => !rollout.healthy);
    const keptAfterFailure = outcome.status === 'failed' && outcome.objects.some((object) => object.result === 'written');
    if (outcome.snapshotId && (unhealthyApplied || keptAfterFailure)) {
      // Proposed by the extension, not by the person or the model: the dialog and the audit log say so.
      const rollback = await proposeRollback(ctx, outcome.snapshotId, { type: 'system', via: `rollout watch, after ${plan.id}` }).catch(() => null);
      if (rollback) outcome = { ...outcome, rollbackPlanId: rollback.id, message: `${outcome.message} A rollback plan ${rollback.id} is ready; it needs its own approval.` };
    }
    ctx.emit({ type: 'apply' });
    ctx.emit({ type: 'snapshot' });
    return outcome;
  } finally {
    ctx.applying.delete(plan.context);
  }
}

/**
 * A manifest plan goes through the same gate as a cluster plan: not read-only, single use, not expired, the model's
 * cool-down after a decline, a person's approval of this digest; then a stale check of every file and the write.
 */
async function applyManifests(ctx: SessionContext, planId: string, requester: Requester, signal?: AbortSignal): Promise<ApplyOutcome> {
  const settings = ctx.options.settings();
  const actor = actorOf(requester);
  const stored = ctx.manifestPlans.get(planId) as { plan: ManifestPlan; state: StoredPlan['state'] };
  const { plan } = stored;
  const cooldownKey = manifestCooldownKey;
  const refuse = async (status: ApplyOutcome['status'], message: string, action: AuditAction = 'refuse'): Promise<ApplyOutcome> => {
    await ctx.audit({ action, actor, outcome: status, planId, digest: plan.digest, ...(plan.context ? { context: plan.context } : {}), detail: { target: 'manifests', message } });
    return { status, planId, objects: [], verified: false, rollouts: [], files: [], message };
  };
  const refusal = refusalBeforeAsking(ctx, stored, requester, settings);
  if (refusal) {
    if (refusal.spendsPlan) stored.state = 'used';
    return refuse(refusal.status, refusal.message);
  }
  // refusalBeforeAsking refused a host without a workspace writer.
  const writer = ctx.options.workspace?.writer as ManifestWriter;
  // A plan whose files changed since the proposal can never be written: refused before anyone is asked, as a
  // person must not be shown (and approve) edits of files that are no longer what the diff showed.
  const changed = await filesChangedSinceProposal(plan, writer);
  if (changed.length > 0) {
    stored.state = 'used';
    const stale = staleManifestResult(plan, changed);
    await ctx.audit({ action: 'refuse', actor, outcome: 'stale', planId, digest: plan.digest, ...(plan.context ? { context: plan.context } : {}), detail: { target: 'manifests', message: stale.message, changed: changed.map((file) => `${file.folder}/${file.path}: ${file.message ?? ''}`) } });
    return { status: 'stale', planId, objects: [], verified: false, rollouts: [], files: stale.files, message: stale.message };
  }
  stored.state = 'approving';
  ctx.applying.add(cooldownKey);
  try {
    // Single use across processes, as for a cluster plan: claim the plan in the state directory before anyone is asked.
    let claim: string | null;
    try {
      claim = await ctx.store.claim(plan);
    } catch (error) {
      stored.state = 'proposed'; // nobody was asked: the person may try again once the state directory is writable
      return await refuse('refused', `Cannot record that plan ${plan.id} is being used, so its single use cannot be guaranteed: ${messageOf(error)}. Nothing was written and nobody was asked.`);
    }
    if (claim === null) {
      stored.state = 'used';
      return await refuse('used', 'This plan was already used (applied, declined or being approved, possibly by another krr-mcp process sharing this state directory); plans are single-use. Propose again for a new plan.');
    }
    const approver = ctx.options.approver;
    const text = manifestApprovalText(plan, requester, ctx.now());
    const ask = approver.requestManifestApproval?.bind(approver);
    const decision = await askWithin(settings, signal, ask ? (combined) => ask(plan, text, combined) : null, 'this host cannot ask a person to approve a manifest write');
    stored.state = 'used';
    if (decision.outcome !== 'approved') {
      if (decision.outcome === 'declined' || decision.outcome === 'timeout') await ctx.declines.record(cooldownKey, ctx.now().getTime());
      const message =
        decision.outcome === 'declined' ? `The write was declined in the approval dialog${decision.reason ? ` (${decision.reason})` : ''}. Nothing was written.`
        : decision.outcome === 'timeout' ? `Nobody answered the approval dialog within ${settings.approvalTimeoutSeconds} s. Nothing was written; propose again when the person is ready.`
        : `No human can approve here: ${decision.reason}. Nothing was written.`;
      return refuse(decision.outcome === 'unavailable' ? 'refused' : 'declined', message, 'decline');
    }
    if (decision.digest !== plan.digest) return refuse('refused', 'The approval does not match this plan (digest differs). Nothing was written.');
    if (ctx.isExpired(plan)) return refuse('expired', `The plan expired at ${plan.expiresAt} while waiting for approval. Nothing was written; propose again.`);
    // Checked again before the first file write: the claim must still be this apply's own.
    if (!(await ctx.store.holdsClaim(plan.id, claim))) return refuse('used', `Plan ${plan.id} is no longer claimed by this apply (its claim in the state directory changed while the approval was open). Nothing was written; propose again.`);
    await ctx.audit({ action: 'approve', actor: decision.by ?? { type: 'human', via: 'approval dialog' }, ...(plan.context ? { context: plan.context } : {}), planId, digest: plan.digest, outcome: 'approved', detail: { target: 'manifests', files: plan.files.map((file) => `${file.folder}/${file.path}`), requestedBy: `${requester.type}:${displayText(requester.via)}`, proposedBy: `${plan.requestedBy.type}:${displayText(plan.requestedBy.via)}` } });
    const result = await executeManifestPlan(plan, { writer, audit: await ctx.openAudit(), actor });
    ctx.emit({ type: 'apply' });
    return { status: result.status, planId, objects: [], verified: result.status === 'applied', rollouts: [], files: result.files, message: result.message };
  } finally {
    ctx.applying.delete(cooldownKey);
  }
}
