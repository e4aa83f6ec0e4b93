// What can be known about a report before anything is read from the cluster: names no kubectl argument may carry
// (flagged when the report loads, all of them), and the policy rules a workload's recommendation already breaks
// (shown in the review panel before Preview, with the setting that decides them). Pure: report + settings in.
import type { ContainerRecommendation, Report, Workload } from './krr/model';
import { allocationKinds, resourceNames } from './krr/model';
import { assertDnsLabel, assertDnsSubdomain } from './kube/names';
import { desiredFromRecommendation } from './plan/build';
import type { FieldChange, PolicyFinding } from './plan/model';
import { skipText, type PlanSkip } from './plan/skips';
import { evaluatePolicies, type ResultingResources } from './policy';
import { parseQuantity, QuantityError } from './quantity';
import type { PolicySettings } from './settings';

function problemOf(check: () => void): string | null {
  try {
    check();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Every workload and container of `report` whose namespace, name or container name is not a valid Kubernetes name.
 * Proposing skips exactly these (session.propose), so the person learns it when the report loads, not at Preview.
 */
export function reportNameProblems(report: Pick<Report, 'workloads'>): PlanSkip[] {
  const problems: PlanSkip[] = [];
  for (const workload of report.workloads) {
    const identity = { namespace: workload.namespace, kind: workload.kind, name: workload.name };
    const reason = problemOf(() => assertDnsLabel(workload.namespace, 'namespace')) ?? problemOf(() => assertDnsSubdomain(workload.name, 'workload name'));
    if (reason) {
      const entry = { ...identity, reason: `${reason}; the workload cannot be changed` };
      problems.push({ ...entry, text: skipText(entry) });
      continue;
    }
    for (const container of workload.containers) {
      const invalid = problemOf(() => assertDnsLabel(container.container, 'container name'));
      if (!invalid) continue;
      const entry = { ...identity, container: container.container, reason: `${invalid}; this container is skipped` };
      problems.push({ ...entry, text: skipText(entry) });
    }
  }
  return problems;
}

/** The setting (or option) a policy rule is decided by, for a "change it" link next to the block. */
export const policySettingOf: Readonly<Record<string, string>> = {
  'max-increase': 'krr.policy.maxIncreasePercent',
  'max-decrease': 'krr.policy.maxDecreasePercent',
  'protected-namespace': 'krr.policy.protectedNamespaces',
  'minimum': 'krr.policy.minCpuMillicores',
  'hpa-target': 'krr.policy.hpa',
  'hpa-cost': 'krr.policy.hpa',
  'hpa-max': 'krr.policy.hpa',
  'hpa-unmodelled': 'krr.policy.hpa',
  'request-above-limit': '',
  'limit-removal': '',
  'job-immutable': '',
};

export interface PredictedBlock {
  rule: string;
  message: string;
  /** The setting that decides it ('' when no setting does: include limits, or change it by hand). */
  setting: string;
}

/**
 * The blocks a Preview of `workload` would hit judging by the report's own current values (the live object may
 * differ; Preview decides). Evaluated with the same rules the plan uses (policy.evaluatePolicies).
 */
export function predictPolicyBlocks(workload: Workload, policy: PolicySettings, options: { includeLimits: boolean }): PredictedBlock[] {
  const changes: FieldChange[] = [];
  const resulting: ResultingResources[] = [];
  for (const container of workload.containers) {
    if (problemOf(() => assertDnsLabel(container.container, 'container name'))) continue;
    const built = containerChanges(container, options.includeLimits);
    if (!built) continue;
    changes.push(...built.changes);
    if (built.changes.length > 0) resulting.push(built.resulting);
  }
  const hpaUtilizationTargets = [
    ...(workload.hpa?.targetCpuUtilizationPercentage != null ? (['cpu'] as const) : []),
    ...(workload.hpa?.targetMemoryUtilizationPercentage != null ? (['memory'] as const) : []),
  ];
  if (changes.length === 0) return [];
  const findings: PolicyFinding[] = evaluatePolicies(
    { identity: { namespace: workload.namespace, kind: workload.kind, name: workload.name }, changes, resulting, hpaUtilizationTargets, allowLimitRemoval: false },
    policy,
  );
  return findings
    // krr.policy.hpa "model" decides from the usage evidence the Preview reads; the report alone cannot predict it.
    .filter((finding) => finding.severity === 'block' && finding.rule !== 'hpa-unmodelled')
    .map((finding) => {
      const minimumSetting = finding.rule === 'minimum' && /MemoryMiB/.test(finding.message) ? 'krr.policy.minMemoryMiB' : undefined;
      return { rule: finding.rule, message: finding.message, setting: minimumSetting ?? policySettingOf[finding.rule] ?? '' };
    });
}

function containerChanges(container: ContainerRecommendation, includeLimits: boolean): { changes: FieldChange[]; resulting: ResultingResources } | null {
  let desired;
  try {
    desired = desiredFromRecommendation(container, { includeLimits, allowLimitRemoval: false }).desired;
  } catch (error) {
    if (error instanceof QuantityError) return null;
    throw error;
  }
  const changes: FieldChange[] = [];
  const after = { requests: { ...container.current.requests }, limits: { ...container.current.limits } };
  for (const allocation of allocationKinds) {
    for (const resource of resourceNames) {
      const target = desired[allocation][resource];
      if (target === undefined) continue;
      const fromAmount = container.current[allocation][resource];
      const toAmount = target === null ? null : parseQuantity(target);
      if (fromAmount === toAmount) continue;
      after[allocation][resource] = toAmount;
      changes.push({ container: container.container, allocation, resource, from: fromAmount === null ? null : String(fromAmount), to: target, fromAmount, toAmount });
    }
  }
  return { changes, resulting: { container: container.container, requests: after.requests, limits: after.limits } };
}
