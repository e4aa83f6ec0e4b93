// What a HorizontalPodAutoscaler will do with a new request: the replica count it settles at, and what the workload then
// costs in total (requests × replicas). The algorithm is the HPA's published one (Kubernetes docs, "Horizontal Pod
// Autoscaling", algorithm details; pkg/controller/podautoscaler/replica_calculator.go), so a projection is what the
// controller computes, not an estimate of our own. Pure: the evidence and the HPA come in, numbers go out.
import type { RecordedEvidence, EvidenceSummary } from '../evidence/planEvidence';
import type { ResourceName } from '../krr/model';
import type { HpaAssessment, HpaProjection, HpaState, LoadProjection, MetricProjection, PodContainer, ReplicaDecision } from './model';
import { hoursPerMonth } from '../plan/cost';
import { describeCpu, describeMemory } from '../quantity';
import type { Prices } from '../settings';
import { formatMonthly } from '../text';

/** The controller's default --horizontal-pod-autoscaler-tolerance: no scaling while |usage/target − 1| ≤ 0.1. */
export const hpaTolerance = 0.1;

/**
 * One metric's proposal, as the replica calculator makes it: utilization and target in percent; within the tolerance
 * the count stays, otherwise ceil(current × utilization / target). Not clamped (projectReplicas clamps).
 */
export function proposeReplicas(currentReplicas: number, utilizationPercent: number, targetPercent: number, tolerance = hpaTolerance): number {
  const ratio = utilizationPercent / targetPercent;
  if (Math.abs(1 - ratio) <= tolerance) return currentReplicas;
  return Math.ceil(ratio * currentReplicas);
}

/**
 * Utilization as the HPA computes it for a resource metric: the pod's usage summed over its containers, divided by
 * the pod's requests summed over its containers, in whole percent (the controller truncates it to an integer).
 */
export function utilizationPercent(resource: ResourceName, usage: number, request: number): number {
  // In whole millicores and bytes, as the controller's int64 arithmetic has them, so 240m/300m is 80, not 79.999….
  const unit = resource === 'cpu' ? 1000 : 1;
  return Math.trunc((Math.round(usage * unit) * 100) / Math.round(request * unit));
}

/** A request the controller can divide by: set, and at least a whole millicore or byte. */
function measurable(resource: ResourceName, request: number | null): boolean {
  return request !== null && Math.round(request * (resource === 'cpu' ? 1000 : 1)) > 0;
}

/** Several metrics: each proposes, the largest wins (the HPA scales for its busiest metric), then min/max clamp it. */
export function projectReplicas(state: Pick<HpaState, 'minReplicas' | 'maxReplicas' | 'currentReplicas'>, metrics: ReadonlyArray<{ utilizationPercent: number; targetPercent: number }>): ReplicaDecision {
  const proposed = metrics.reduce((largest, metric) => Math.max(largest, proposeReplicas(state.currentReplicas, metric.utilizationPercent, metric.targetPercent)), 0);
  if (metrics.length === 0) return { replicas: state.currentReplicas, proposed: state.currentReplicas, clampedTo: null };
  if (proposed > state.maxReplicas) return { replicas: state.maxReplicas, proposed, clampedTo: 'max' };
  if (proposed < state.minReplicas) return { replicas: state.minReplicas, proposed, clampedTo: 'min' };
  return { replicas: proposed, proposed, clampedTo: null };
}

const gibibyte = 2 ** 30;

/** Requests × replicas × price per month: what the nodes reserve for the whole workload. */
export function monthlyCostOfPods(requests: Record<ResourceName, number>, replicas: number, prices: Prices): number {
  const perPodHour = requests.cpu * prices.cpuHour + (requests.memory / gibibyte) * prices.memoryGiBHour;
  return Math.round(perPodHour * hoursPerMonth * replicas * 100) / 100;
}

/**
 * The HPA's response to the change, from the usage evidence of every container of the pod (the HPA sums over all of
 * them, so a container the change leaves alone still counts). Unmodelled when a container has no evidence, or no
 * request for a resource the HPA scales on (the HPA itself cannot compute that utilization then).
 */
export function projectHpa(state: HpaState, pod: readonly PodContainer[], evidence: ReadonlyMap<string, EvidenceSummary> | undefined, prices: Prices): HpaAssessment {
  const resources = (['cpu', 'memory'] as const).filter((resource) => state.targets[resource] !== undefined);
  if (resources.length === 0) return { status: 'unmodelled', reason: 'the HPA scales on no CPU or memory utilization' };
  if (!(state.currentReplicas > 0)) return { status: 'unmodelled', reason: 'the HPA reports no current replicas (scaled to zero, or not yet running)' };
  if (!evidence) return { status: 'unmodelled', reason: 'no usage evidence to model the HPA (none was read for this plan)' };
  const recorded: RecordedEvidence[] = [];
  for (const container of pod) {
    const summary = evidence.get(container.container);
    if (!summary) return { status: 'unmodelled', reason: `no usage evidence to model the HPA (container ${container.container}: none was read)` };
    if (summary.status === 'none') return { status: 'unmodelled', reason: `no usage evidence to model the HPA (${summary.reason})` };
    recorded.push(summary);
  }
  const statistics: Record<'typical' | 'peak', Record<ResourceName, (summary: RecordedEvidence) => number | null | undefined>> = {
    typical: { cpu: (summary) => summary.cpuP50, memory: (summary) => summary.memoryPeak },
    peak: { cpu: (summary) => summary.cpuP95, memory: (summary) => summary.memoryPeak },
  };
  const names: Record<'typical' | 'peak', Record<ResourceName, string>> = { typical: { cpu: 'CPU p50', memory: 'memory peak' }, peak: { cpu: 'CPU p95', memory: 'memory peak' } };
  const loads = {} as Record<'typical' | 'peak', LoadProjection>;
  for (const load of ['typical', 'peak'] as const) {
    const metrics: MetricProjection[] = [];
    for (const resource of resources) {
      let usage = 0;
      let requestBefore = 0;
      let requestAfter = 0;
      for (const [index, container] of pod.entries()) {
        const value = statistics[load][resource](recorded[index] as RecordedEvidence);
        if (value === null || value === undefined) return { status: 'unmodelled', reason: `no usage evidence to model the HPA (container ${container.container}: no ${names[load][resource]} in the evidence)` };
        const before = container.before[resource];
        const after = container.after[resource];
        // The HPA refuses to compute a utilization when a container has no request for the resource.
        if (!measurable(resource, before) || !measurable(resource, after)) return { status: 'unmodelled', reason: `container ${container.container} has no ${resource} request ${measurable(resource, before) ? 'after the change' : 'now'}, so the HPA cannot compute ${resource} utilization` };
        usage += value;
        requestBefore += before as number;
        requestAfter += after as number;
      }
      metrics.push({ resource, targetPercent: state.targets[resource] as number, usage, requestBefore, requestAfter, utilizationBefore: utilizationPercent(resource, usage, requestBefore), utilizationAfter: utilizationPercent(resource, usage, requestAfter) });
    }
    const before = projectReplicas(state, metrics.map((metric) => ({ utilizationPercent: metric.utilizationBefore, targetPercent: metric.targetPercent })));
    const after = projectReplicas(state, metrics.map((metric) => ({ utilizationPercent: metric.utilizationAfter, targetPercent: metric.targetPercent })));
    loads[load] = { statistic: resources.map((resource) => names[load][resource]).join(', '), metrics, replicasBefore: before.replicas, replicasAfter: after };
  }
  const podRequests = (side: 'before' | 'after') => ({
    cpu: pod.reduce((sum, container) => sum + (container[side].cpu ?? 0), 0),
    memory: pod.reduce((sum, container) => sum + (container[side].memory ?? 0), 0),
  });
  return {
    status: 'projected',
    source: state.source,
    minReplicas: state.minReplicas,
    maxReplicas: state.maxReplicas,
    currentReplicas: state.currentReplicas,
    typical: loads.typical,
    peak: loads.peak,
    monthlyCostBefore: monthlyCostOfPods(podRequests('before'), loads.typical.replicasBefore, prices),
    monthlyCostAfter: monthlyCostOfPods(podRequests('after'), loads.typical.replicasAfter.replicas, prices),
  };
}

/** The projection raises the workload's total monthly cost (more replicas outweigh the smaller request). */
export function raisesCost(projection: HpaProjection): boolean {
  return projection.monthlyCostAfter > projection.monthlyCostBefore;
}

/** At peak load the HPA would want maxReplicas or more after the change: it has no room left to absorb more load. */
export function reachesMax(projection: HpaProjection): boolean {
  return projection.peak.replicasAfter.proposed >= projection.maxReplicas;
}

const dollars = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** "$58.40/month". */
export function describeMonthlyCost(value: number): string {
  return `$${dollars.format(value)}/month`;
}

function describeAmount(resource: ResourceName, amount: number): string {
  return resource === 'cpu' ? describeCpu(amount) : describeMemory(amount);
}

function describeLoad(load: LoadProjection): string {
  const metrics = load.metrics.map((metric) => `${metric.resource} ${describeAmount(metric.resource, metric.usage)} of ${describeAmount(metric.resource, metric.requestBefore)} → ${describeAmount(metric.resource, metric.requestAfter)} = ${metric.utilizationBefore}% → ${metric.utilizationAfter}% (target ${metric.targetPercent}%)`);
  const clamp = load.replicasAfter.clampedTo ? ` (the HPA would want ${load.replicasAfter.proposed}; held at ${load.replicasAfter.clampedTo}Replicas)` : '';
  return `${metrics.join(', ')}: ${load.replicasBefore} → ${load.replicasAfter.replicas} replicas${clamp}`;
}

/**
 * The projection in one line, for the dialog, the MCP form and the diff: "HPA (live HPA, 2–10 replicas, now 4):
 * typical (CPU p50) cpu 240m of 500m → 300m = 48% → 80% (target 60%): 4 → 6 replicas; peak (CPU p95) …; requests ×
 * replicas $49.23/month → $46.17/month (net −$3.06/month)". Numbers only, from the stored projection.
 */
export function describeProjection(projection: HpaProjection): string {
  const head = `HPA (${projection.source}, ${projection.minReplicas}–${projection.maxReplicas} replicas, now ${projection.currentReplicas})`;
  const typical = `typical (${projection.typical.statistic}) ${describeLoad(projection.typical)}`;
  const peak = `peak (${projection.peak.statistic}) ${describeLoad(projection.peak)}`;
  const net = formatMonthly(projection.monthlyCostAfter - projection.monthlyCostBefore);
  return `${head}: ${typical}; ${peak}; requests × replicas ${describeMonthlyCost(projection.monthlyCostBefore)} → ${describeMonthlyCost(projection.monthlyCostAfter)} (net ${net})`;
}

export type { HpaAssessment, HpaProjection, HpaState, HpaUnmodelled, LoadProjection, MetricProjection, PodContainer, ReplicaDecision } from './model';
