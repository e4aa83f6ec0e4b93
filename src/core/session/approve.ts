// Approving: the checks that refuse an apply before anyone is asked (read-only, single use, expiry, one apply per
// context, the model's cool-down after a decline), the dialog's words, and asking the approver.
import { approvalText as clusterApprovalText } from '../approval';
import type { Plan } from '../plan/model';
import type { ApprovalDecision, ApprovalText, Requester } from '../model';
import type { SessionSettings } from '../settings';
import { displayText } from '../text';
import { filesChangedSinceProposal } from '../gitops/apply';
import { manifestApprovalText } from '../gitops/approval';
import type { ManifestPlan } from '../gitops/model';
import type { TrialPlan } from '../trial/model';
import { trialApprovalText } from '../trial/approval';
import { messageOf, type SessionContext, type StoredPlan } from './context';

/** Manifest writes share one lock and one decline cool-down (the workspace), apart from every cluster context. */
export const manifestCooldownKey = 'workspace manifests';

/** The dialog's words for `requester` asking to apply `plan` (who proposed it is in the plan). */
export function approvalText(ctx: SessionContext, plan: Plan | ManifestPlan | TrialPlan, requester: Requester): ApprovalText {
  if ('target' in plan && plan.target === 'manifests') return manifestApprovalText(plan, requester, ctx.now());
  if ('target' in plan && plan.target === 'trial') return trialApprovalText(plan, requester, ctx.options.settings().confirmByTyping, ctx.now());
  return clusterApprovalText(plan as Plan, requester, ctx.options.settings().confirmByTyping, ctx.now());
}

/**
 * Whether apply(planId) would ask a person now, or refuse first (unknown, used, expired or empty plan, read-only,
 * another apply in the context, the model's cool-down after a decline). For hosts that show the question before
 * calling apply (the 2026-07-28 approval round trip): they must not show what apply would refuse without asking.
 */
export async function wouldAskApproval(ctx: SessionContext, planId: string, requester: Requester): Promise<boolean> {
  const stored = ctx.manifestPlans.get(planId) ?? ctx.trialPlans.get(planId) ?? ctx.plans.get(planId);
  // A plan another process claimed: apply finds that out when it claims the plan itself, still before asking.
  if (stored === undefined || refusalBeforeAsking(ctx, stored, requester, ctx.options.settings()) !== null || ctx.store.isClaimed(planId)) return false;
  // A manifest plan whose files changed is refused as stale by apply, before asking: no form for it either.
  const writer = ctx.options.workspace?.writer;
  if ('files' in stored.plan && writer) return (await filesChangedSinceProposal(stored.plan, writer)).length === 0;
  return true;
}

/**
 * Why apply refuses a stored plan before anyone is asked, in the order it checks: read-only, single use, expiry, an
 * empty plan, a host that cannot write files (manifests), another apply in the context, the model's cool-down after
 * a decline; null when it would ask. apply, applyManifests and wouldAskApproval all ask here, so what a host shows
 * beforehand cannot drift from apply's answer. `spendsPlan`: the plan can never be applied, apply marks it used.
 */
export function refusalBeforeAsking(ctx: SessionContext, stored: { plan: Plan | ManifestPlan | TrialPlan; state: StoredPlan['state'] }, requester: Requester, settings: SessionSettings): { status: 'refused' | 'used' | 'expired'; message: string; spendsPlan?: true } | null {
  const { plan } = stored;
  if (settings.readOnly) return { status: 'refused', message: `Writes are disabled: ${settings.readOnlyReason ?? 'krr.readOnly is set'}.` };
  if (stored.state !== 'proposed') return { status: 'used', message: 'This plan was already used (applied, declined or being approved); plans are single-use. Propose again for a new plan.' };
  if (ctx.isExpired(plan)) return { status: 'expired', message: `The plan expired at ${plan.expiresAt}. Propose the changes again.`, spendsPlan: true };
  if ('files' in plan) {
    if (plan.files.length === 0) return { status: 'refused', message: 'The plan writes no file (no source was found, or every workload already has these values).', spendsPlan: true };
    if (!ctx.options.workspace?.writer) return { status: 'refused', message: 'This host cannot write workspace files.' };
    if (ctx.applying.has(manifestCooldownKey)) return { status: 'refused', message: 'Another manifest write is running; wait for it to finish.' };
    const cooldown = cooldownLeft(ctx, manifestCooldownKey, requester, settings);
    if (cooldown > 0) return { status: 'refused', message: `The person declined (or did not answer) a manifest write moments ago, so write requests from the AI chat are refused for another ${cooldown} s. Nothing was written and nobody was asked. Do not retry on your own: ask the user.` };
    return null;
  }
  if ('pods' in plan) {
    if (plan.pods.length === 0) return { status: 'refused', message: 'The trial resizes no pod.', spendsPlan: true };
  } else if (plan.objects.length === 0) return { status: 'refused', message: 'The plan contains no changes (everything was blocked or already matches).', spendsPlan: true };
  if (ctx.applying.has(plan.context)) return { status: 'refused', message: `Another apply is running in context ${displayText(plan.context)}; wait for it to finish.` };
  // Modal spam: after a person said no (or did not answer), the model waits before it may ask again for this
  // context. The plan stays usable: the person can still apply it from the command palette or the review panel.
  const cooldown = cooldownLeft(ctx, plan.context, requester, settings);
  if (cooldown > 0) {
    return {
      status: 'refused',
      message:
        `The person declined (or did not answer) an apply in context ${displayText(plan.context)} moments ago, so apply requests from the AI chat for this context are refused for another ${cooldown} s. ` +
        'Nothing was written and nobody was asked. Do not retry on your own: ask the user whether they want this change; they can also apply it themselves.',
    };
  }
  return null;
}

/** Seconds the model must still wait before it may ask again for `context` (0: it may ask; a person never waits). */
function cooldownLeft(ctx: SessionContext, context: string, requester: Requester, settings: SessionSettings): number {
  if (requester.type === 'human' || settings.declineCooldownSeconds === 0) return 0;
  return Math.ceil(ctx.declines.leftMs(context, settings.declineCooldownSeconds * 1000, ctx.now().getTime()) / 1000);
}

export async function askApproval(ctx: SessionContext, plan: Plan, requester: Requester, settings: SessionSettings, signal?: AbortSignal) {
  const text = approvalText(ctx, plan, requester);
  return askWithin(settings, signal, (combined) => ctx.options.approver.requestApproval(plan, text, combined), 'this host cannot ask a person to approve');
}

/**
 * Asks through `ask` (null: the host cannot ask this kind of plan) within krr.approvalTimeoutSeconds and the caller's
 * signal: a timeout, a failing dialog or a host that cannot ask come back as decisions, never as throws.
 */
export async function askWithin(settings: SessionSettings, signal: AbortSignal | undefined, ask: ((signal: AbortSignal) => Promise<ApprovalDecision>) | null, unavailableReason: string): Promise<ApprovalDecision> {
  if (!ask) return { outcome: 'unavailable', reason: unavailableReason };
  const timeout = AbortSignal.timeout(settings.approvalTimeoutSeconds * 1000);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const timedOut = new Promise<{ outcome: 'timeout' }>((resolve) => combined.addEventListener('abort', () => resolve({ outcome: 'timeout' }), { once: true }));
  try {
    return await Promise.race([ask(combined), timedOut]);
  } catch (error) {
    return { outcome: 'declined' as const, reason: `the approval dialog failed: ${messageOf(error)}` };
  }
}
