// The HPA projection's shapes, below the plan that stores one (plan/model) and the projection that computes one
// (core/hpa/projection). Types only.
import type { ResourceName } from '../krr/model';

/** What the projection needs of an HPA: read from the live object (preferred: fresher) or from krr's report. */
export interface HpaState {
  /** spec.minReplicas (the API defaults it to 1). */
  minReplicas: number;
  maxReplicas: number;
  /** status.currentReplicas: the pods the recorded usage was spread over. */
  currentReplicas: number;
  /** Target average utilization in percent of the request, per resource the HPA scales on by utilization. */
  targets: Partial<Record<ResourceName, number>>;
  source: 'live HPA' | 'report';
}

export interface ReplicaDecision {
  /** Within minReplicas..maxReplicas. */
  replicas: number;
  /** The largest metric's proposal before clamping. */
  proposed: number;
  /** Which bound clamped it, if any. */
  clampedTo: 'min' | 'max' | null;
}

/** One container of the pod: its requests before and after the change (cores, bytes; null: unset). */
export interface PodContainer {
  container: string;
  before: Record<ResourceName, number | null>;
  after: Record<ResourceName, number | null>;
}

/** Per resource the HPA scales on: the pod's summed usage and requests, and the utilization before → after. */
export interface MetricProjection {
  resource: ResourceName;
  targetPercent: number;
  /** Per pod, summed over containers (cores, bytes). */
  usage: number;
  requestBefore: number;
  requestAfter: number;
  utilizationBefore: number;
  utilizationAfter: number;
}

/** The HPA at one level of load: which usage statistic stands for it, and the replicas before → after the change. */
export interface LoadProjection {
  /** "CPU p50, memory peak": the evidence numbers used as each pod's current usage. */
  statistic: string;
  metrics: MetricProjection[];
  replicasBefore: number;
  replicasAfter: ReplicaDecision;
}

/**
 * Stored in the plan (and in its digest, like the evidence summary): the dialog words it from here alone. Two loads:
 * typical (CPU p50) decides the cost, peak (CPU p95) decides whether maxReplicas is reached. Memory has one statistic
 * in the evidence, the peak working set, so both loads use it (the pessimistic side: more replicas).
 */
export interface HpaProjection {
  status: 'projected';
  source: HpaState['source'];
  minReplicas: number;
  maxReplicas: number;
  currentReplicas: number;
  typical: LoadProjection;
  peak: LoadProjection;
  /** Monthly cost of the pod's requests × the typical load's replicas, with krr.prices (before, after). */
  monthlyCostBefore: number;
  monthlyCostAfter: number;
}

/** Why the HPA's response cannot be projected (no evidence, no request to measure against, …): the rule blocks with it. */
export interface HpaUnmodelled {
  status: 'unmodelled';
  reason: string;
}

export type HpaAssessment = HpaProjection | HpaUnmodelled;
