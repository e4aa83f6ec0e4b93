// The stored plans: by id in memory or from the state directory (a plan another process proposed), and the
// ones a person can still apply.
import { describeParty } from '../approval';
import type { Plan } from '../plan/model';
import type { PendingPlan } from '../model';
import { planIdPattern } from './store';
import { displayText } from '../text';
import type { ManifestPlan } from '../gitops/model';
import { restoreManifestPlan } from '../gitops/stored';
import type { TrialPlan } from '../trial/model';
import { workspaceFolders } from '../gitops/workspace';
import { megabytes, type SessionContext, type StoredPlan } from './context';

/**
 * getAnyPlan, also looking in the state directory (a plan another process proposed: a stdio server started per
 * call). Loads it into memory; claims nothing and asks nobody. Trial plans live in memory only.
 */
export async function openAnyPlan(ctx: SessionContext, planId: string): Promise<Plan | ManifestPlan | TrialPlan | undefined> {
  if (!ctx.plans.has(planId) && !ctx.manifestPlans.has(planId) && !ctx.trialPlans.has(planId)) {
    if (!(await planFromState(ctx, planId))) await manifestPlanFromState(ctx, planId);
  }
  return getAnyPlan(ctx, planId);
}

/** A stored plan of any target (cluster, manifests or trial), for hosts that ask about any of them (krr_apply_plan). */
export function getAnyPlan(ctx: SessionContext, planId: string): Plan | ManifestPlan | TrialPlan | undefined {
  return getPlan(ctx, planId) ?? getManifestPlan(ctx, planId) ?? ctx.trialPlans.get(planId)?.plan;
}

export function getManifestPlan(ctx: SessionContext, planId: string): ManifestPlan | undefined {
  return ctx.manifestPlans.get(planId)?.plan;
}

export function getPlan(ctx: SessionContext, planId: string): Plan | undefined {
  return ctx.plans.get(planId)?.plan;
}

export function latestPlanId(ctx: SessionContext): string | null {
  return ctx.latestPlan;
}

/**
 * Plans a person can still apply: proposed, unused, unexpired, with changes; newest first. The "Apply Previewed
 * Plan" command lists these by id, context and proposer instead of taking the latest (which the model can replace).
 */
export function pendingPlans(ctx: SessionContext): PendingPlan[] {
  const pending: PendingPlan[] = [];
  for (const { plan, state } of ctx.plans.values()) {
    if (state !== 'proposed' || plan.objects.length === 0 || ctx.isExpired(plan) || ctx.store.isClaimed(plan.id)) continue;
    pending.push({ id: plan.id, kind: plan.kind, context: displayText(plan.context), proposedBy: describeParty(plan.requestedBy), objects: plan.objects.length, risk: plan.risk, createdAt: plan.createdAt });
  }
  for (const { plan, state } of ctx.trialPlans.values()) {
    if (state !== 'proposed' || plan.pods.length === 0 || ctx.isExpired(plan) || ctx.store.isClaimed(plan.id)) continue;
    pending.push({ id: plan.id, kind: 'trial', context: displayText(plan.context), proposedBy: describeParty(plan.requestedBy), objects: plan.pods.length, risk: 'trial', createdAt: plan.createdAt });
  }
  for (const { plan, state } of ctx.manifestPlans.values()) {
    if (state !== 'proposed' || plan.files.length === 0 || ctx.isExpired(plan)) continue;
    pending.push({ id: plan.id, kind: 'manifests', context: 'workspace', proposedBy: describeParty(plan.requestedBy), objects: plan.files.length, risk: 'n/a', createdAt: plan.createdAt });
  }
  return pending.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).reverse();
}

export async function planFromState(ctx: SessionContext, planId: string): Promise<StoredPlan | undefined> {
  if (!planIdPattern.test(planId)) return undefined;
  const plan = await ctx.store.readPlan(planId);
  if (!plan) return undefined;
  return ctx.plans.get(planId) ?? adoptPlan(ctx, plan);
}

/**
 * A manifest plan another process stored, rebuilt from this process's workspace folders and adopted (ok), or why it
 * cannot be used here; undefined when the state directory has no manifest plan of that id.
 */
export async function manifestPlanFromState(ctx: SessionContext, planId: string): Promise<{ ok: true } | { ok: false; status: 'stale' | 'refused' | 'used'; reason: string; digest: string } | undefined> {
  if (!planIdPattern.test(planId)) return undefined;
  const stored = await ctx.store.readManifestPlan(planId);
  if (!stored) return undefined;
  if (ctx.manifestPlans.has(planId)) return { ok: true };
  // Single use first: a plan some process claimed is used, whatever its files look like now (it may have written them).
  if (ctx.store.isClaimed(planId)) return { ok: false, status: 'used', reason: 'it was already used (applied, declined or being approved, possibly by another krr-mcp process sharing this state directory); plans are single-use', digest: stored.digest };
  // Compared as resolved paths: the plan names the real path of each folder it proposed edits in.
  const roots = await workspaceFolders(ctx.options.workspace?.folders() ?? []).then((folders) => folders.map((folder) => folder.root), () => []);
  const restored = await restoreManifestPlan(stored, roots);
  if (!restored.ok) return { ok: false, status: restored.stale ? 'stale' : 'refused', reason: restored.reason, digest: stored.digest };
  ctx.manifestPlans.set(planId, { plan: restored.plan, state: 'proposed' });
  while (ctx.manifestPlans.size > ctx.limits.plans) {
    const oldest = ctx.manifestPlans.keys().next().value as string;
    if (oldest === planId || ctx.manifestPlans.get(oldest)?.state === 'approving') break;
    ctx.manifestPlans.delete(oldest);
  }
  return { ok: true };
}

export function adoptPlan(ctx: SessionContext, plan: Plan): StoredPlan {
  const stored: StoredPlan = { plan, state: 'proposed', bytes: JSON.stringify(plan).length };
  ctx.plans.set(plan.id, stored);
  ctx.evicted.delete(plan.id);
  ctx.evictOldest(ctx.plans, ctx.limits.plans, ctx.limits.planBytes, (id) => `Plan ${id} was evicted (limit ${ctx.limits.plans} plans / ${megabytes(ctx.limits.planBytes)} MB).`);
  return stored;
}
