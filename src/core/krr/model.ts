// Our own shape of a krr report, independent of krr's JSON (see report.ts for the parser).
// CPU is in cores, memory in bytes, as krr reports them.

export type ResourceName = 'cpu' | 'memory';
export type AllocationKind = 'requests' | 'limits';
export const resourceNames: readonly ResourceName[] = ['cpu', 'memory'];
export const allocationKinds: readonly AllocationKind[] = ['requests', 'limits'];

export type Severity = 'UNKNOWN' | 'GOOD' | 'OK' | 'WARNING' | 'CRITICAL';
export const severityOrder: readonly Severity[] = ['UNKNOWN', 'GOOD', 'OK', 'WARNING', 'CRITICAL'];

/**
 * krr's recommended value for one field: a number, `"?"` (unknown: never touch the field) or `null`
 * (krr says the field should be unset, e.g. "remove the CPU limit").
 */
export type RecommendedValue = { kind: 'value'; amount: number } | { kind: 'unset' } | { kind: 'unknown' };

export interface ResourcePair<T> {
  cpu: T;
  memory: T;
}

export interface Allocations<T> {
  requests: ResourcePair<T>;
  limits: ResourcePair<T>;
}

export type WorkloadKind =
  | 'Deployment'
  | 'DaemonSet'
  | 'StatefulSet'
  | 'Job'
  | 'CronJob'
  | 'Rollout'
  | 'DeploymentConfig'
  | 'StrimziPodSet'
  | 'GroupedJob';

/** Every kind krr reports (krr v1.29). */
export const workloadKinds = [
  'Deployment',
  'DaemonSet',
  'StatefulSet',
  'Job',
  'CronJob',
  'Rollout',
  'DeploymentConfig',
  'StrimziPodSet',
  'GroupedJob',
] as const satisfies readonly WorkloadKind[];

export interface WorkloadRef {
  namespace: string;
  kind: WorkloadKind;
  name: string;
}

export interface Hpa {
  minReplicas: number | null;
  maxReplicas: number;
  currentReplicas: number | null;
  desiredReplicas: number | null;
  targetCpuUtilizationPercentage: number | null;
  targetMemoryUtilizationPercentage: number | null;
}

export interface ContainerRecommendation {
  container: string;
  /** What the workload has now; null = unset. */
  current: Allocations<number | null>;
  recommended: Allocations<RecommendedValue>;
  severities: Allocations<Severity>;
  /** The worst of the four severities (UNKNOWN only if all four are). */
  severity: Severity;
  /** krr's notes per resource: "No data", "Not enough data", "HPA detected", "OOMKill detected". */
  info: ResourcePair<string | null>;
  /** krr's object warnings: NoPrometheusPods, NoPrometheusCPUMetrics, NoPrometheusMemoryMetrics. */
  warnings: string[];
  pods: { running: number; deleted: number };
}

export interface Workload extends WorkloadRef {
  /** `${cluster ?? ''}/${namespace}/${kind}/${name}`: unique within a report. */
  key: string;
  /** The kube context name krr scanned; null when krr ran in-cluster. */
  cluster: string | null;
  hpa: Hpa | null;
  labels: Record<string, string>;
  containers: ContainerRecommendation[];
  severity: Severity;
}

export interface ClusterSummary {
  clusterCpu: number;
  clusterMemory: number;
  kubeSystemCpuRequests: number;
  kubeSystemMemoryRequests: number;
}

export interface ReportError {
  name: string;
  retryAfter?: string | number;
}

export interface Report {
  strategy: { name: string; settings: Record<string, unknown> };
  score: number;
  resources: ResourceName[];
  description: string;
  errors: ReportError[];
  clusterSummary: ClusterSummary | null;
  workloads: Workload[];
  /** Number of scans (containers) in the report. */
  containerCount: number;
  /** Distinct `object.cluster` values, in order of first appearance. */
  clusters: Array<string | null>;
}

export function workloadKey(cluster: string | null, ref: WorkloadRef): string {
  return `${cluster ?? ''}/${ref.namespace}/${ref.kind}/${ref.name}`;
}

export function worstSeverity(severities: Iterable<Severity>): Severity {
  let worst: Severity = 'UNKNOWN';
  for (const severity of severities) {
    if (severityOrder.indexOf(severity) > severityOrder.indexOf(worst)) worst = severity;
  }
  return worst;
}
