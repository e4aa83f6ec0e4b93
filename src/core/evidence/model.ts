// The usage behind a recommendation: what Prometheus recorded for one container over krr's window, read by the
// product itself (never invented, never taken from the model's word). Shared by the evidence reader, the policy
// check, the approval text, the MCP tools and the review panel, so it lives below all of them.
import type { WorkloadKind } from '../krr/model';

/** One sample of a downsampled series: unix seconds, value (CPU in cores, memory in bytes). */
export type EvidencePoint = readonly [time: number, value: number];

/** At most this many points per signal leave the reader (charts, krr_explain). */
export const maxEvidencePoints = 200;

/** Which container the evidence is about: the same identity as a report row. */
export interface EvidenceTarget {
  /** The kube context krr scanned (null: in-cluster); with a centralized Prometheus the cluster label selects it. */
  cluster: string | null;
  namespace: string;
  kind: WorkloadKind;
  name: string;
  container: string;
}

/** The window the evidence covers: krr's own history and step (from the report's strategy settings). */
export interface EvidenceWindow {
  /** ISO 8601. */
  start: string;
  end: string;
  /** krr's timeframe_duration in seconds (75 by default): the rate window and subquery step. */
  stepSeconds: number;
}

export interface CpuEvidence {
  /** Cores, over the per-pod rate at krr's step; the max over the workload's pods of each pod's percentile. Null: no samples. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  /** Throttled CFS periods / all CFS periods over the window, 0..100; null when the container has no CPU limit or no cfs series. */
  throttledPercent: number | null;
  /** Max over pods of the CPU rate in each bucket, at most maxEvidencePoints. */
  series: EvidencePoint[];
}

export interface MemoryEvidence {
  /** Bytes: the highest working set of any of the workload's pods in the window. Null: no samples. */
  max: number | null;
  /**
   * ISO 8601: the first of krr's steps at which the working set reached that peak (the reader's peak query). Null when
   * there is no peak, or Prometheus could not name its step (it refused the query); never a bucket's end.
   */
  maxAt: string | null;
  /** Max over pods of the working set in each bucket, at most maxEvidencePoints. */
  series: EvidencePoint[];
}

export interface EvidenceCoverage {
  /** Samples of the working set over all pods (krr's MemoryAmountLoader counts the same; below points_required krr says "Not enough data"). */
  points: number;
  /** ISO 8601 of the first and last sample; null when there is none. */
  first: string | null;
  last: string | null;
}

/** What Prometheus recorded for one container. */
export interface ContainerEvidence extends EvidenceTarget {
  window: EvidenceWindow;
  /** Pods of the workload seen in the window (kube-state-metrics owner series). */
  pods: string[];
  cpu: CpuEvidence;
  memory: MemoryEvidence;
  /** Times the container was OOM-killed in the window, and the highest memory limit it had when it was. */
  oomKills: number;
  oomKilledLimit: number | null;
  restarts: number;
  coverage: EvidenceCoverage;
}

/** Evidence for a report, or why there is none: no Prometheus configured, unreachable, refused, cancelled. */
export type EvidenceResult =
  | { status: 'available'; containers: ContainerEvidence[]; readAt: string; queries: number }
  | { status: 'unavailable'; reason: string };

/** The key of a container's evidence within a report: the same fields as a report row. */
export function evidenceKey(target: EvidenceTarget): string {
  return `${target.cluster ?? ''}/${target.namespace}/${target.kind}/${target.name}/${target.container}`;
}
