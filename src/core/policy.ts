// Rules that block a change (not warnings) or warn about it, each with a reason a person can act on.
// Safety invariant: "Policies block" — a workload with any `block` finding is left out of the plan. That includes a
// memory decrease below the recorded usage (core/evidence/checks, krr.policy.memoryBelowPeak), and a request change an
// HPA scales on whose projection raises the total cost or reaches maxReplicas, or cannot be made (krr.policy.hpa).
import { evidenceFindings } from './evidence/checks';
import { describeMonthlyCost, describeProjection, raisesCost, reachesMax, type HpaAssessment } from './hpa/projection';
import type { EvidenceSummary } from './evidence/planEvidence';
import type { GitOpsOwner } from './gitops/owner';
import { describeOwner } from './gitops/ownerName';
import type { ResourceName } from './krr/model';
import { describeCpu, describeMemory, formatCpu, formatMemory } from './quantity';
import type { FieldChange, ObjectIdentity, PolicyFinding, RiskLevel } from './plan/model';
import { matchesAnyGlob, type DirectPatchMode, type PolicySettings } from './settings';

export interface ResultingResources {
  container: string;
  requests: { cpu: number | null; memory: number | null };
  limits: { cpu: number | null; memory: number | null };
}

export interface PolicySubject {
  identity: ObjectIdentity;
  changes: FieldChange[];
  /** Every changed container's four values after the change (base units). */
  resulting: ResultingResources[];
  /** Resources an HPA scales this workload on by utilisation (utilisation is relative to requests). */
  hpaUtilizationTargets: ResourceName[];
  allowLimitRemoval: boolean;
  /** Who reconciles the live object from Git (null: nobody seen), what krr.gitops.directPatch says, and the manifests found for it. */
  gitops?: { owner: GitOpsOwner | null; directPatch: DirectPatchMode; manifests?: readonly string[] };
  /** The usage Prometheus recorded for the changed containers (core/evidence/checks); absent: nothing is checked against usage. */
  evidence?: readonly EvidenceSummary[];
  /** What the HPA will do with the new requests (core/hpa/projection), or why that cannot be said; absent: not projected. */
  hpa?: HpaAssessment;
}

const mebibyte = 2 ** 20;
const limitTolerance = 1e-9;

/** The largest change the policy allows toward a recommendation that exceeds maxIncrease/maxDecreasePercent. */
export interface PolicyStep {
  /** The quantity to write now, as the manifest would spell it. */
  to: string;
  toAmount: number;
  /** krr's full recommendation, which the step stops short of. */
  recommended: string;
  rule: 'max-decrease' | 'max-increase';
  /** The limit that set the step, in percent (80 for -80%). */
  limitPercent: number;
}

/**
 * krr.policy.onLimit "step": instead of blocking 500m → 87m at -80%, offer 500m → 100m. The amount is rounded toward
 * the current value (whole millicores, whole MiB), so the step itself is always within the limit; null when the
 * change is within the limits, or cannot be stepped (an unset side).
 */
export function largestAllowedStep(change: Pick<FieldChange, 'resource' | 'from' | 'fromAmount' | 'toAmount' | 'to'>, policy: PolicySettings): PolicyStep | null {
  const { fromAmount, toAmount } = change;
  if (fromAmount === null || toAmount === null || fromAmount <= 0 || change.to === null) return null;
  const percent = ((toAmount - fromAmount) / fromAmount) * 100;
  const cpu = change.resource === 'cpu';
  const unit = cpu ? 0.001 : mebibyte;
  let amount: number;
  let rule: PolicyStep['rule'];
  let limitPercent: number;
  if (-percent > policy.maxDecreasePercent + limitTolerance) {
    rule = 'max-decrease';
    limitPercent = policy.maxDecreasePercent;
    const floor = fromAmount * (1 - policy.maxDecreasePercent / 100);
    amount = Math.ceil(floor / unit - 1e-9) * unit;
  } else if (percent > policy.maxIncreasePercent + limitTolerance) {
    rule = 'max-increase';
    limitPercent = policy.maxIncreasePercent;
    const ceiling = fromAmount * (1 + policy.maxIncreasePercent / 100);
    amount = Math.floor(ceiling / unit + 1e-9) * unit;
  } else {
    return null;
  }
  // Rounded to the unit, a tiny current value may have no step left in the allowed direction.
  if (cpu) amount = Math.round(amount * 1000) / 1000;
  if (amount <= 0 || amount === fromAmount) return null;
  return { to: cpu ? formatCpu(amount) : formatMemory(amount), toAmount: amount, recommended: change.to, rule, limitPercent };
}

/** How a plan row says it is a partial step: "partial step (limit -80%); krr recommends 87m". */
export function describeStep(step: Pick<PolicyStep, 'rule' | 'limitPercent' | 'recommended'>): string {
  return `partial step (limit ${step.rule === 'max-decrease' ? '-' : '+'}${step.limitPercent}%, krr.policy.${step.rule === 'max-decrease' ? 'maxDecreasePercent' : 'maxIncreasePercent'}); krr's full recommendation is ${step.recommended}`;
}

export function evaluatePolicies(subject: PolicySubject, policy: PolicySettings): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  const { identity } = subject;
  const where = `${identity.kind} ${identity.namespace}/${identity.name}`;

  if (policy.protectedNamespaces.includes(identity.namespace)) {
    findings.push(block('protected-namespace', `Namespace ${identity.namespace} is protected (setting krr.policy.protectedNamespaces); ${where} is not changed.`));
  }
  if (identity.kind === 'Job') {
    findings.push(block('job-immutable', `A Job's pod template cannot be changed after creation; change the manifest or CronJob that creates ${identity.name} instead.`));
  }

  for (const change of subject.changes) {
    const field = `${change.allocation}.${change.resource}`;
    const label = `container ${change.container}: ${field}`;
    const describe = change.resource === 'cpu' ? describeCpu : describeMemory;

    if (change.allocation === 'limits' && change.to === null && change.from !== null && !subject.allowLimitRemoval) {
      findings.push(block('limit-removal', `${label}: removing the limit needs the explicit opt-in (allowLimitRemoval).`, change.container));
    }
    if (change.fromAmount !== null && change.toAmount !== null && change.fromAmount > 0) {
      const percent = ((change.toAmount - change.fromAmount) / change.fromAmount) * 100;
      // A step built to the exact limit must not trip it on a float's last bit.
      if (percent > policy.maxIncreasePercent + limitTolerance) {
        findings.push(block('max-increase', `${label}: ${describe(change.fromAmount)} → ${describe(change.toAmount)} is +${Math.round(percent)}%, above the allowed +${policy.maxIncreasePercent}% (krr.policy.maxIncreasePercent).`, change.container));
      }
      if (-percent > policy.maxDecreasePercent + limitTolerance) {
        findings.push(block('max-decrease', `${label}: ${describe(change.fromAmount)} → ${describe(change.toAmount)} is ${Math.round(percent)}%, beyond the allowed -${policy.maxDecreasePercent}% (krr.policy.maxDecreasePercent).`, change.container));
      }
    }
    if (change.toAmount !== null) {
      const minimum = change.resource === 'cpu' ? policy.minCpuMillicores / 1000 : policy.minMemoryMiB * mebibyte;
      if (change.toAmount < minimum) {
        findings.push(block('minimum', `${label}: ${describe(change.toAmount)} is below the minimum ${describe(minimum)} (krr.policy.min${change.resource === 'cpu' ? 'CpuMillicores' : 'MemoryMiB'}).`, change.container));
      }
    }
    if (policy.hpa === 'block' && change.allocation === 'requests' && subject.hpaUtilizationTargets.includes(change.resource)) {
      findings.push(block('hpa-target', `${label}: an HorizontalPodAutoscaler scales ${identity.name} on ${change.resource} utilisation, which is measured against this request; changing it would change the scaling (krr.policy.hpa is "block"). Adjust the HPA and the request together, by hand, or set krr.policy.hpa to "model".`, change.container));
    }
  }
  if (policy.hpa === 'model') findings.push(...hpaFindings(subject));

  for (const resources of subject.resulting) {
    for (const resource of ['cpu', 'memory'] as const) {
      const request = resources.requests[resource];
      const limit = resources.limits[resource];
      if (request !== null && limit !== null && request > limit) {
        const describe = resource === 'cpu' ? describeCpu : describeMemory;
        findings.push(block('request-above-limit', `container ${resources.container}: the ${resource} request ${describe(request)} would exceed its limit ${describe(limit)}; include limits in the proposal or lower the request.`, resources.container));
      }
    }
  }

  if (subject.evidence) findings.push(...evidenceFindings(subject.changes, subject.evidence, policy.memoryBelowPeak));
  if (subject.gitops) findings.push(...gitOpsFindings(where, subject.gitops));

  if (matchesAnyGlob(identity.namespace, policy.productionNamespacePatterns)) {
    findings.push(warn('production-namespace', `Namespace ${identity.namespace} looks like production (krr.policy.productionNamespacePatterns).`));
  }
  if (matchesAnyGlob(identity.name, policy.criticalWorkloadPatterns)) {
    findings.push(warn('critical-workload', `${identity.name} looks like a critical workload (krr.policy.criticalWorkloadPatterns).`));
  }
  return findings;
}

/**
 * krr.policy.hpa "model": a request change of a resource an HPA scales on by utilization goes through only with a
 * projection of the HPA's response that neither raises the workload's total cost (requests × replicas, typical load)
 * nor reaches maxReplicas (peak load). Without a projection (no evidence, no request to measure against) it is blocked.
 */
export function hpaFindings(subject: Pick<PolicySubject, 'identity' | 'changes' | 'hpaUtilizationTargets' | 'hpa'>): PolicyFinding[] {
  const scaled = [...new Set(subject.changes.filter((change) => change.allocation === 'requests' && subject.hpaUtilizationTargets.includes(change.resource)).map((change) => change.resource))];
  if (scaled.length === 0) return [];
  const { identity } = subject;
  const lead = `${identity.kind} ${identity.namespace}/${identity.name}: an HorizontalPodAutoscaler scales it on ${scaled.join(' and ')} utilisation, measured against the request${scaled.length > 1 ? 's' : ''} this changes`;
  const assessment = subject.hpa ?? { status: 'unmodelled', reason: 'no usage evidence to model the HPA (no projection was made)' };
  if (assessment.status === 'unmodelled') {
    return [block('hpa-unmodelled', `${lead}; its response cannot be projected: ${assessment.reason}. Blocked (krr.policy.hpa "model"): make the projection possible (usage read from krr.prometheusUrl, a request on every container), or adjust the HPA and the request together by hand.`)];
  }
  const projection = describeProjection(assessment);
  const findings: PolicyFinding[] = [];
  if (raisesCost(assessment)) {
    findings.push(block('hpa-cost', `${lead}; the projection raises the total cost from ${describeMonthlyCost(assessment.monthlyCostBefore)} to ${describeMonthlyCost(assessment.monthlyCostAfter)}: the HPA adds more replicas than the smaller request saves (krr.policy.hpa "model"). ${projection}.`));
  }
  if (reachesMax(assessment)) {
    findings.push(block('hpa-max', `${lead}; at peak load the HPA would need ${assessment.peak.replicasAfter.proposed} replicas, reaching maxReplicas ${assessment.maxReplicas}, with no room left for more load (krr.policy.hpa "model"). ${projection}.`));
  }
  if (findings.length === 0) findings.push({ severity: 'info', rule: 'hpa-projection', message: `${lead}. ${projection}.` });
  return findings;
}

/**
 * A direct patch of an object Argo CD or Flux reconciles is reverted at the next sync (or drift correction), so by
 * default it is blocked and the message points at Git. A hint (only `app.kubernetes.io/instance`) warns, never blocks;
 * Flux with reconciliation disabled keeps the patch until it is re-enabled, so it warns too.
 */
export function gitOpsFindings(where: string, gitops: NonNullable<PolicySubject['gitops']>): PolicyFinding[] {
  const { owner, directPatch } = gitops;
  if (!owner || directPatch === 'allow') return [];
  const owned = describeOwner(owner);
  const evidence = owner.evidence.join('; ');
  if (owner.confidence === 'hint') {
    return [warn('gitops-owner-hint', `${where} may be reconciled from Git by ${/^[AEIOU]/.test(owned) ? 'an' : 'a'} ${owned} (${evidence}); if so, the next sync reverts a direct patch.`)];
  }
  if (owner.reconcileDisabled) {
    return [warn('gitops-reconcile-disabled', `${where} belongs to ${owned} (${evidence}); Flux leaves it alone while reconciliation is disabled, and reverts the patch when it is enabled again. Change the manifest too.`)];
  }
  const manifests = gitops.manifests ?? [];
  const instead =
    manifests.length > 0
      ? `Change ${manifests.length === 1 ? 'its manifest' : 'one of its manifests'} instead: ${manifests.slice(0, 3).join(', ')}${manifests.length > 3 ? ', …' : ''}.`
      : `Change it in the Git repository the ${owned} syncs from instead (its manifest, overlay or values file).`;
  const message = `${where} is reconciled from Git by ${owned} (${evidence}): a direct patch would be reverted at the next sync. ${instead}`;
  return directPatch === 'block'
    ? [block('gitops-owned', `${message} To patch the cluster anyway, set krr.gitops.directPatch to "warn" in your user settings.`)]
    : [warn('gitops-owned', `${message} Patched anyway: krr.gitops.directPatch is "warn".`)];
}

export function isBlocked(findings: readonly PolicyFinding[]): boolean {
  return findings.some((finding) => finding.severity === 'block');
}

const riskOrder: readonly RiskLevel[] = ['low', 'medium', 'high', 'critical'];

/**
 * Risk of one object's change. Stated rule: decreases are what can break a workload (OOMKill, throttling),
 * so risk grows with the size of the largest decrease, and with production-looking or critical-looking targets.
 */
export function assessRisk(changes: readonly FieldChange[], findings: readonly PolicyFinding[]): { level: RiskLevel; reasons: string[] } {
  const reasons: string[] = [];
  let largestMemoryDecrease = 0;
  let largestCpuDecrease = 0;
  for (const change of changes) {
    if (change.fromAmount === null || change.toAmount === null || change.fromAmount <= 0) continue;
    const decrease = ((change.fromAmount - change.toAmount) / change.fromAmount) * 100;
    if (change.resource === 'memory') largestMemoryDecrease = Math.max(largestMemoryDecrease, decrease);
    else largestCpuDecrease = Math.max(largestCpuDecrease, decrease);
  }
  const production = findings.some((finding) => finding.rule === 'production-namespace');
  const critical = findings.some((finding) => finding.rule === 'critical-workload');
  let level: RiskLevel = 'low';
  const raise = (to: RiskLevel, reason: string) => {
    reasons.push(reason);
    if (riskOrder.indexOf(to) > riskOrder.indexOf(level)) level = to;
  };
  if (largestMemoryDecrease >= 30) raise('medium', `memory cut by up to ${Math.round(largestMemoryDecrease)}%`);
  if (largestCpuDecrease >= 50) raise('medium', `CPU cut by up to ${Math.round(largestCpuDecrease)}%`);
  if (production) raise(largestMemoryDecrease > 0 || largestCpuDecrease > 0 ? 'high' : 'medium', 'production-looking namespace');
  if (critical) raise('high', 'critical-looking workload');
  if (production && critical && largestMemoryDecrease >= 30) raise('critical', 'large memory cut on a critical workload in production');
  return { level, reasons };
}

export function maxRisk(levels: Iterable<RiskLevel>): RiskLevel {
  let worst: RiskLevel = 'low';
  for (const level of levels) if (riskOrder.indexOf(level) > riskOrder.indexOf(worst)) worst = level;
  return worst;
}

function block(rule: string, message: string, container?: string): PolicyFinding {
  return container === undefined ? { severity: 'block', rule, message } : { severity: 'block', rule, message, container };
}

function warn(rule: string, message: string): PolicyFinding {
  return { severity: 'warn', rule, message };
}
