// krr JSON reports written by tests (one scan per container), as `krr simple -f json` writes them: the format in one
// place, the values each test's own. Every recommendation has severity WARNING.
export type Amounts = { requests: { cpu: number | null; memory: number | null }; limits: { cpu: number | null; memory: number | null } };

/** Amounts with requests only (no limits). */
export function requestsOnly(cpu: number, memory: number): Amounts {
  return { requests: { cpu, memory }, limits: { cpu: null, memory: null } };
}

export interface ReportWorkload {
  namespace: string;
  kind: string;
  name: string;
  containers: Record<string, { current: Amounts; recommended: Amounts }>;
}

/** `cluster`: the scan's cluster (default prod-eu-1; null: krr run without a context); `pods`: one pod per workload (default) or none. */
export function krrReportJson(workloads: ReportWorkload[], options: { cluster?: string | null; pods?: 'one' | 'none' } = {}): string {
  const value = (amount: number | null) => ({ value: amount, severity: 'WARNING' });
  const cluster = options.cluster === undefined ? 'prod-eu-1' : options.cluster;
  const scans = workloads.flatMap((workload) =>
    Object.entries(workload.containers).map(([container, { current, recommended }]) => ({
      object: { cluster, name: workload.name, container, pods: options.pods === 'none' ? [] : [{ name: `${workload.name}-0`, deleted: false }], hpa: null, namespace: workload.namespace, kind: workload.kind, allocations: { ...current, info: {} } },
      recommended: { requests: { cpu: value(recommended.requests.cpu), memory: value(recommended.requests.memory) }, limits: { cpu: value(recommended.limits.cpu), memory: value(recommended.limits.memory) }, info: { cpu: null, memory: null } },
      severity: 'WARNING',
    })),
  );
  return JSON.stringify({ scans, score: 50, resources: ['cpu', 'memory'], description: null, strategy: { name: 'simple', settings: {} } });
}
