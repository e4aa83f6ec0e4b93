// Deterministic benchmark data: krr `-f json` reports and matching Kubernetes objects from a seeded PRNG,
// so every run (and every machine) measures the same bytes.

/** mulberry32: small, fast, good enough to vary shapes; the same seed gives the same sequence. */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)] as (typeof items)[number],
    chance: (p) => next() < p,
    hex: (length) => Array.from({ length }, () => '0123456789abcdef'[Math.floor(next() * 16)]).join(''),
  };
}

export interface Random {
  next(): number;
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
  hex(length: number): string;
}

const teams = ['shop', 'payments', 'search', 'data', 'ml', 'platform', 'identity', 'notify', 'media', 'ads', 'risk', 'ledger', 'catalog', 'growth'];
const stages = ['prod', 'staging', 'dev', 'qa'];
const words = ['api', 'web', 'worker', 'gateway', 'consumer', 'indexer', 'scheduler', 'cache', 'sync', 'exporter', 'proxy', 'renderer', 'router', 'ingest', 'billing', 'auth'];
const sidecars = ['istio-proxy', 'metrics', 'log-shipper', 'vault-agent', 'cloud-sql-proxy'];
const kinds = ['Deployment', 'Deployment', 'Deployment', 'Deployment', 'Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Job', 'Rollout'] as const;
const severities = ['GOOD', 'OK', 'WARNING', 'CRITICAL'] as const;
const mib = 1024 ** 2;

type Kind = (typeof kinds)[number];

interface GeneratedWorkload {
  namespace: string;
  kind: Kind;
  name: string;
  containers: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  pods: Array<{ name: string; deleted: boolean }>;
  hpa: Record<string, number | null> | null;
}

function generateWorkloads(random: Random, containerTarget: number): GeneratedWorkload[] {
  const workloads: GeneratedWorkload[] = [];
  const names = new Set<string>();
  let containers = 0;
  while (containers < containerTarget) {
    const namespace = `${random.pick(teams)}-${random.pick(stages)}`;
    const kind = random.pick(kinds);
    let name = `${random.pick(words)}-${random.pick(words)}`;
    while (names.has(`${namespace}/${kind}/${name}`)) name = `${name}-${random.int(2, 99)}`;
    names.add(`${namespace}/${kind}/${name}`);
    // ~2.5 containers per workload: mostly 1–3, sometimes a pod with several sidecars.
    const count = Math.min(containerTarget - containers, random.chance(0.1) ? random.int(4, 6) : random.int(1, 3));
    const containerNames = [name.split('-')[0] ?? 'main', ...sidecars].slice(0, count);
    while (containerNames.length < count) containerNames.push(`extra-${containerNames.length}`);
    containers += count;
    const version = `${random.int(1, 9)}.${random.int(0, 30)}.${random.int(0, 9)}`;
    const labels: Record<string, string> = {
      'app.kubernetes.io/name': name,
      'app.kubernetes.io/instance': `${name}-${namespace}`,
      'app.kubernetes.io/version': version,
      'app.kubernetes.io/managed-by': 'Helm',
      'helm.sh/chart': `${name}-${version}`,
      team: namespace.split('-')[0] ?? 'team',
    };
    const annotations: Record<string, string> = {
      'deployment.kubernetes.io/revision': String(random.int(1, 300)),
      'meta.helm.sh/release-name': name,
      'meta.helm.sh/release-namespace': namespace,
    };
    // Large annotations are realistic (kubectl apply) and must be dropped by the parser, not kept.
    if (random.chance(0.4)) {
      annotations['kubectl.kubernetes.io/last-applied-configuration'] = JSON.stringify({
        apiVersion: 'apps/v1',
        kind,
        metadata: { name, namespace, labels },
        spec: { replicas: random.int(1, 6), template: { spec: { containers: containerNames.map((c) => ({ name: c, image: `registry.example.com/${c}:${version}` })) } } },
      });
    }
    const podTotal = kind === 'DaemonSet' ? random.int(3, 12) : random.int(1, 6);
    const hash = random.hex(10);
    const pods = Array.from({ length: podTotal }, (_, index) => ({ name: `${name}-${hash}-${random.hex(5)}`, deleted: index > 0 && random.chance(0.15) }));
    const hpa =
      (kind === 'Deployment' || kind === 'StatefulSet') && random.chance(0.1)
        ? {
            min_replicas: random.int(1, 3),
            max_replicas: random.int(4, 20),
            current_replicas: random.int(1, 4),
            desired_replicas: random.int(1, 4),
            target_cpu_utilization_percentage: random.chance(0.8) ? random.pick([60, 70, 80]) : null,
            target_memory_utilization_percentage: random.chance(0.3) ? 75 : null,
          }
        : null;
    workloads.push({ namespace, kind, name, containers: containerNames, labels, annotations, pods, hpa });
  }
  return workloads;
}

function amount(random: Random, resource: 'cpu' | 'memory'): number {
  return resource === 'cpu' ? random.pick([0.01, 0.05, 0.1, 0.1, 0.25, 0.25, 0.5, 0.5, 1, 2, 4]) : random.pick([64, 128, 256, 256, 512, 512, 1024, 2048, 4096]) * mib;
}

/** A recommendation near the current value: a number, or sometimes "?" (unknown) or null (unset). */
function recommendation(random: Random, current: number | null, resource: 'cpu' | 'memory', hpaOn: boolean): { value: number | '?' | null; severity: string } {
  if (hpaOn || random.chance(0.05)) return { value: '?', severity: 'UNKNOWN' };
  if (random.chance(0.08)) return { value: null, severity: random.pick(severities) };
  const base = current ?? amount(random, resource);
  const factor = 0.3 + random.next() * 1.6;
  const value = resource === 'cpu' ? Math.max(0.01, Math.round(base * factor * 1000) / 1000) : Math.max(32 * mib, Math.round(base * factor));
  return { value, severity: random.pick(severities) };
}

function scanOf(random: Random, workload: GeneratedWorkload, container: string, cluster: string | null, current?: { requests: { cpu: number | null; memory: number | null }; limits: { cpu: number | null; memory: number | null } }) {
  const allocations = current ?? {
    requests: { cpu: random.chance(0.1) ? null : amount(random, 'cpu'), memory: random.chance(0.05) ? null : amount(random, 'memory') },
    limits: { cpu: random.chance(0.5) ? null : amount(random, 'cpu') * 2, memory: random.chance(0.2) ? null : amount(random, 'memory') * 2 },
  };
  const hpaCpu = workload.hpa?.target_cpu_utilization_percentage != null;
  const hpaMemory = workload.hpa?.target_memory_utilization_percentage != null;
  const requestsCpu = recommendation(random, allocations.requests.cpu, 'cpu', hpaCpu);
  const requestsMemory = recommendation(random, allocations.requests.memory, 'memory', hpaMemory);
  const noData = random.chance(0.04);
  const rank = (s: string) => ['UNKNOWN', 'GOOD', 'OK', 'WARNING', 'CRITICAL'].indexOf(s);
  const limits = {
    cpu: { value: null, severity: allocations.limits.cpu === null ? 'GOOD' : 'WARNING' },
    memory: typeof requestsMemory.value === 'number' ? { value: requestsMemory.value, severity: random.pick(severities) } : { value: requestsMemory.value, severity: 'UNKNOWN' },
  };
  const all = [requestsCpu.severity, requestsMemory.severity, limits.cpu.severity, limits.memory.severity];
  return {
    object: {
      cluster,
      name: workload.name,
      container,
      pods: workload.pods,
      hpa: workload.hpa,
      namespace: workload.namespace,
      kind: workload.kind,
      allocations: { ...allocations, info: {} },
      warnings: noData ? ['NoPrometheusPods'] : [],
      labels: workload.labels,
      annotations: workload.annotations,
    },
    recommended: {
      requests: { cpu: requestsCpu, memory: requestsMemory },
      limits,
      info: { cpu: noData ? 'No data' : hpaCpu ? 'HPA detected' : null, memory: noData ? 'No data' : hpaMemory ? 'HPA detected' : random.chance(0.02) ? 'OOMKill detected' : null },
    },
    severity: all.reduce((worst, s) => (rank(s) > rank(worst) ? s : worst), 'UNKNOWN'),
  };
}

function envelope(scans: unknown[], cluster: string | null) {
  return {
    scans,
    score: 63,
    resources: ['cpu', 'memory'],
    description: '[b]Simple Strategy[/b]\n\nCPU request: 95.0% percentile, limit: unset\nMemory request: max + 15.0%, limit: max + 15.0%\nHistory: 336.0 hours',
    strategy: { name: 'simple', settings: { history_duration: 336.0, timeframe_duration: 1.25, cpu_percentile: 95.0, memory_buffer_percentage: 15.0, points_required: 100, allow_hpa: false } },
    errors: [],
    clusterSummary: { cluster_memory: 1.2e12, cluster_cpu: 960.0, kube_system_mem_req: 8.1e9, kube_system_cpu_req: 13.5 },
    // krr always writes its config; the parser must drop it (it can hold secrets).
    config: { quiet: false, clusters: cluster ? [cluster] : null, namespaces: '*', prometheus_url: null, prometheus_auth_header: null, format: 'json', strategy: 'simple', max_workers: 10 },
  };
}

/** A krr report with `scans` containers (~2.5 per workload), realistic shapes, as JSON text. */
export function generateLargeReport(options: { scans: number; seed: number; cluster?: string }): { text: string; workloads: number } {
  const random = createRandom(options.seed);
  const cluster = options.cluster ?? 'prod-eu-1';
  const workloads = generateWorkloads(random, options.scans);
  const scans = workloads.flatMap((workload) => workload.containers.map((container) => scanOf(random, workload, container, cluster)));
  return { text: JSON.stringify(envelope(scans, cluster), null, 1), workloads: workloads.length };
}

const cpuText = (cores: number) => `${Math.round(cores * 1000)}m`;
const memoryText = (bytes: number) => `${Math.round(bytes / mib)}Mi`;

/**
 * `count` single-container Deployments for the test cluster, and a krr report recommending a change to
 * each that passes the default policy (changes within ±60%, above the minimums, no HPA).
 */
export function generateDeploymentFleet(options: { count: number; seed: number; cluster: string; namespaces?: number }): { objects: object[]; reportText: string; refs: Array<{ namespace: string; kind: 'Deployment'; name: string }> } {
  const random = createRandom(options.seed);
  const namespaceCount = options.namespaces ?? 10;
  const objects: object[] = [];
  const scans: unknown[] = [];
  const refs: Array<{ namespace: string; kind: 'Deployment'; name: string }> = [];
  for (let index = 0; index < options.count; index += 1) {
    const namespace = `fleet-${index % namespaceCount}`;
    const name = `svc-${String(index).padStart(3, '0')}`;
    const requests = { cpu: random.pick([0.1, 0.2, 0.25, 0.5, 1]), memory: random.pick([128, 256, 512, 1024]) * mib };
    const limits = { cpu: requests.cpu * 2, memory: requests.memory * 2 };
    objects.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels: { 'app.kubernetes.io/name': name } },
      spec: {
        replicas: random.int(1, 4),
        selector: { matchLabels: { 'app.kubernetes.io/name': name } },
        template: {
          metadata: { labels: { 'app.kubernetes.io/name': name } },
          spec: { containers: [{ name: 'app', image: `registry.example.com/${name}:1.0.0`, resources: { requests: { cpu: cpuText(requests.cpu), memory: memoryText(requests.memory) }, limits: { cpu: cpuText(limits.cpu), memory: memoryText(limits.memory) } } }] },
        },
      },
    });
    refs.push({ namespace, kind: 'Deployment', name });
    const workload: GeneratedWorkload = { namespace, kind: 'Deployment', name, containers: ['app'], labels: { 'app.kubernetes.io/name': name }, annotations: {}, pods: [{ name: `${name}-${random.hex(10)}-${random.hex(5)}`, deleted: false }], hpa: null };
    const scan = scanOf(random, workload, 'app', options.cluster, { requests, limits });
    // Every recommendation is a definite value within ±60% (whole millicores / MiB), so none is blocked or unchanged.
    const shift = (value: number) => (random.chance(0.5) ? 0.5 + random.next() * 0.3 : 1.2 + random.next() * 0.4) * value;
    scan.recommended.requests = {
      cpu: { value: Math.round(shift(requests.cpu) * 1000) / 1000, severity: 'WARNING' },
      memory: { value: Math.round(shift(requests.memory) / mib) * mib, severity: 'OK' },
    };
    scan.recommended.info = { cpu: null, memory: null };
    scan.object.warnings = [];
    scans.push(scan);
  }
  return { objects, reportText: JSON.stringify(envelope(scans, options.cluster)), refs };
}
