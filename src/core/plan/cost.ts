// Monthly cost of a change: Δ requests × pods × price. Requests, not limits or usage, are what a node
// reserves, so they are what a right-sizing saves or costs.
import type { ContainerRecommendation, Hpa } from '../krr/model';
import type { KubeObject } from '../kube/object';
import type { Prices } from '../settings';
import type { FieldChange, ObjectIdentity } from './model';

export const hoursPerMonth = 730;
const gibibyte = 2 ** 30;

export interface PodCount {
  pods: number | null;
  source: string;
}

/**
 * How many pods a change multiplies by. Rule: an HPA's current replicas win (it overrides spec.replicas);
 * then spec.replicas; a DaemonSet's desiredNumberScheduled; CronJobs and Jobs are not estimated, because
 * their pods run only part of the time and krr does not report for how long.
 */
export function podCount(identity: ObjectIdentity, live: KubeObject, hpa: Pick<Hpa, 'currentReplicas'> | null): PodCount {
  if (identity.kind === 'CronJob' || identity.kind === 'Job') return { pods: null, source: 'not estimated: runs on a schedule' };
  if (hpa?.currentReplicas != null) return { pods: hpa.currentReplicas, source: 'HPA current replicas' };
  if (identity.kind === 'DaemonSet') {
    const scheduled = live.status?.desiredNumberScheduled;
    return typeof scheduled === 'number' ? { pods: scheduled, source: 'DaemonSet desiredNumberScheduled' } : { pods: null, source: 'not estimated: DaemonSet status missing' };
  }
  const replicas = live.spec?.replicas;
  return typeof replicas === 'number' ? { pods: replicas, source: 'spec.replicas' } : { pods: 1, source: 'spec.replicas unset (defaults to 1)' };
}

export function monthlyCostOfChanges(changes: readonly FieldChange[], pods: number | null, prices: Prices): number | null {
  if (pods === null) return null;
  let perPodHour = 0;
  for (const change of changes) {
    if (change.allocation !== 'requests') continue;
    const delta = (change.toAmount ?? 0) - (change.fromAmount ?? 0);
    perPodHour += change.resource === 'cpu' ? delta * prices.cpuHour : (delta / gibibyte) * prices.memoryGiBHour;
  }
  return roundCents(perPodHour * hoursPerMonth * pods);
}

/** Row estimate from the report alone (before live objects are read): krr's pod count, or the HPA's. */
export function monthlyCostOfRecommendation(recommendation: ContainerRecommendation, hpa: Hpa | null, kind: string, prices: Prices): number | null {
  if (kind === 'CronJob' || kind === 'Job' || kind === 'GroupedJob') return null;
  const pods = hpa?.currentReplicas ?? recommendation.pods.running;
  let perPodHour = 0;
  for (const resource of ['cpu', 'memory'] as const) {
    const recommended = recommendation.recommended.requests[resource];
    if (recommended.kind !== 'value') continue;
    const delta = recommended.amount - (recommendation.current.requests[resource] ?? 0);
    perPodHour += resource === 'cpu' ? delta * prices.cpuHour : (delta / gibibyte) * prices.memoryGiBHour;
  }
  return roundCents(perPodHour * hoursPerMonth * pods);
}

function roundCents(value: number): number {
  return Math.round(value * 100) / 100;
}
