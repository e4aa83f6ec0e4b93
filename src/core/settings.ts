// Settings of the use cases, validated once per read. VS Code's `krr.*` and the CLI's flags both end here.
import { z } from 'zod';

const glob = z.string().min(1).max(200);

/**
 * The most contexts one fleet scan takes, wherever the list comes from (krr.contexts, krr_scan's `contexts`, the Scan
 * command's multi-select). The session keeps at least this many reports and never evicts a fleet's own reports, so a
 * fleet of this size always comes back whole.
 */
export const fleetContextsMax = 50;

export const sessionSettingsSchema = z.object({
  krrPath: z.string().min(1).default('krr'),
  kubectlPath: z.string().min(1).default('kubectl'),
  /** helm renders charts to find the values key that feeds a container's resources; without it keys are guessed. */
  helmPath: z.string().min(1).default('helm'),
  kubeconfig: z.string().min(1).optional(),
  context: z.string().min(1).optional(),
  namespaces: z.array(z.string().min(1).max(253)).max(200).default([]),
  selector: z.string().min(1).max(1000).optional(),
  strategy: z.enum(['simple', 'simple_limit']).default('simple'),
  prometheusUrl: z.url({ protocol: /^https?$/ }).optional(),
  historyHours: z.number().positive().max(24 * 365).optional(),
  cpuPercentile: z.number().min(1).max(100).optional(),
  memoryBufferPercent: z.number().min(0).max(1000).optional(),
  /** Centralized Prometheus (Thanos, Mimir, VictoriaMetrics): the label NAME that tells clusters apart, e.g. `cluster`. */
  prometheusLabel: z.string().min(1).max(200).optional(),
  /** Centralized Prometheus: this cluster's VALUE of that label, e.g. `prod-eu-1` (krr -l). */
  prometheusClusterLabel: z.string().min(1).max(1024).optional(),
  /** Per kube context: that cluster's value of the label (fleet scans); wins over prometheusClusterLabel. */
  prometheusClusterLabels: z.record(z.string().min(1).max(253), z.string().min(1).max(1024)).default({}),
  /** Secret: extra `Name: value` headers sent to krr.prometheusUrl only (krr -H); machine-scoped. */
  prometheusHeaders: z.array(z.string().min(1).max(8192)).max(20).default([]),
  /** krr --allow-hpa: recommend for workloads an HPA scales on CPU/memory (krr otherwise says "?"). */
  allowHpa: z.boolean().default(false),
  /** krr --use_oomkill_data: memory at least the OOM-killed size plus oomMemoryBufferPercent. */
  useOomKillData: z.boolean().default(false),
  oomMemoryBufferPercent: z.number().min(0).max(1000).optional(),
  /** krr --job-grouping-labels: Jobs sharing one of these labels become one GroupedJob row (listed, never patchable). */
  jobGroupingLabels: z.array(z.string().min(1).max(317)).max(20).default([]),
  jobGroupingLimit: z.number().int().min(1).max(100_000).optional(),
  /** krr -w/--max-workers. */
  maxWorkers: z.number().int().min(1).max(256).optional(),
  /** Kube contexts a fleet scan covers (Scan command's default selection; krr_scan `contexts`). */
  contexts: z.array(z.string().min(1).max(253)).max(fleetContextsMax).default([]),
  /**
   * How many contexts a fleet scan runs krr on at the same time. krr spends a scan waiting on Prometheus, so 20 at
   * once take about as long as the slowest one; each krr process holds its own memory (lower this on a small machine).
   */
  scanParallelism: z.number().int().min(1).max(32).default(20),
  policy: z
    .object({
      protectedNamespaces: z.array(z.string()).default(['kube-system', 'kube-public', 'kube-node-lease']),
      maxIncreasePercent: z.number().positive().default(500),
      maxDecreasePercent: z.number().min(0).max(100).default(80),
      minCpuMillicores: z.number().min(0).default(10),
      minMemoryMiB: z.number().min(0).default(32),
      /** Beyond maxIncrease/maxDecreasePercent: block the change, or offer the largest step the limits allow. */
      onLimit: z.enum(['block', 'step']).default('block'),
      /** A memory decrease below the peak Prometheus recorded (or to a limit it was OOM-killed at): block, or only warn. */
      memoryBelowPeak: z.enum(['block', 'warn']).default('block'),
      /** A request change of a resource an HPA scales on by utilization: block it, or model the HPA's response (core/hpa/projection). */
      hpa: z.enum(['block', 'model']).default('model'),
      productionNamespacePatterns: z.array(glob).default(['*prod*', 'production', 'live']),
      criticalWorkloadPatterns: z
        .array(glob)
        .default(['*postgres*', '*mysql*', '*mariadb*', '*redis*', '*kafka*', '*etcd*', '*zookeeper*', '*elastic*', '*mongo*', '*-db', 'db-*', '*ingress*', '*gateway*']),
    })
    .default({
      protectedNamespaces: ['kube-system', 'kube-public', 'kube-node-lease'],
      maxIncreasePercent: 500,
      maxDecreasePercent: 80,
      minCpuMillicores: 10,
      minMemoryMiB: 32,
      onLimit: 'block',
      memoryBelowPeak: 'block',
      hpa: 'model',
      productionNamespacePatterns: ['*prod*', 'production', 'live'],
      criticalWorkloadPatterns: ['*postgres*', '*mysql*', '*mariadb*', '*redis*', '*kafka*', '*etcd*', '*zookeeper*', '*elastic*', '*mongo*', '*-db', 'db-*', '*ingress*', '*gateway*'],
    }),
  prices: z
    .object({
      cpuHour: z.number().min(0).default(0.0316),
      memoryGiBHour: z.number().min(0).default(0.00424),
    })
    .default({ cpuHour: 0.0316, memoryGiBHour: 0.00424 }),
  confirmByTyping: z.array(glob).default(['*prod*']),
  readOnly: z.boolean().default(false),
  /**
   * False in a workspace VS Code does not trust: its manifests are not rendered (a kustomization can make
   * `kubectl kustomize` fetch remote bases), so no manifest plan is proposed there.
   */
  workspaceTrusted: z.boolean().default(true),
  readOnlyReason: z.string().optional(),
  planTtlSeconds: z.number().int().min(30).max(24 * 3600).default(600),
  // 16: through the API channel a request costs an HTTP round trip, not a kubectl process, so waiting on the
  // server, not local CPU, bounds an apply (bench: apply_throughput).
  applyConcurrency: z.number().int().min(1).max(64).default(16),
  snapshotRetentionDays: z.number().int().min(1).max(3650).default(30),
  scanCacheTtlSeconds: z.number().int().min(0).max(24 * 3600).default(900),
  approvalTimeoutSeconds: z.number().int().min(5).max(3600).default(300),
  /** After a person declines (or ignores) a model's apply request, the model's next request for that context waits this long; 0: off. */
  declineCooldownSeconds: z.number().int().min(0).max(24 * 3600).default(120),
  rolloutWatch: z
    .object({ enabled: z.boolean().default(false), timeoutSeconds: z.number().int().min(5).max(3600).default(120) })
    .default({ enabled: false, timeoutSeconds: 120 }),
  trial: z
    .object({
      /** How long a trial runs before its pods are reverted (and, if it passed, the persist plan is offered). */
      windowSeconds: z.number().int().min(10).max(24 * 3600).default(1800),
      /** How often the watch reads the trial pods. */
      pollSeconds: z.number().int().min(1).max(600).default(10),
      /** The most pods one trial may resize. */
      maxPods: z.number().int().min(1).max(500).default(10),
      /** A container whose CPU limit the trial changed fails it when throttled in more than this share of CPU periods (Prometheus). */
      maxThrottledPercent: z.number().min(0).max(100).default(25),
    })
    .default({ windowSeconds: 1800, pollSeconds: 10, maxPods: 10, maxThrottledPercent: 25 }),
  gitops: z
    .object({
      /** A direct cluster patch of an object Argo CD or Flux reconciles from Git: `block` (default), `warn` or `allow`. */
      directPatch: z.enum(['block', 'warn', 'allow']).default('block'),
      /**
       * The Kubernetes version charts are rendered for (helm template --kube-version: a chart's `kubeVersion` and
       * `.Capabilities.KubeVersion`); unset: the cluster's version when KRR has read it, else helm's own default.
       */
      kubeVersion: z
        .string()
        .regex(/^v?\d{1,3}\.\d{1,3}(\.\d{1,5})?$/, 'a Kubernetes version such as 1.31 or v1.31.2')
        .optional(),
    })
    .default({ directPatch: 'block' }),
});

export type SessionSettings = z.infer<typeof sessionSettingsSchema>;
export type PolicySettings = SessionSettings['policy'];
export type Prices = SessionSettings['prices'];
export type DirectPatchMode = SessionSettings['gitops']['directPatch'];

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message);
  }
}

/** Validates settings; the error names the first offending key as the user would write it (`krr.policy.maxIncreasePercent`). */
export function parseSessionSettings(input: unknown): SessionSettings {
  const result = sessionSettingsSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const key = issue ? issue.path.map(String).join('.') : '';
  throw new SettingsError(`Setting krr.${key} is invalid: ${issue?.message ?? 'unknown problem'}. Fix it in Settings (search "krr.${key}").`, key);
}

/**
 * Glob match with `*` and `?` only, case-insensitive; used for namespace, workload and context patterns.
 * An iterative matcher, no regex: a regex from `*a*a*a…` backtracks polynomially (587 ms for a 60-character
 * name). Here a mismatch resumes only after the most recent `*`, so a match takes at most
 * name × pattern steps — and names (≤ 253) and patterns (≤ 253) are bounded.
 */
export function matchesGlob(value: string, pattern: string): boolean {
  const text = value.toLowerCase();
  const glob = pattern.toLowerCase();
  let t = 0;
  let g = 0;
  let star = -1; // index in glob just after the last `*` seen
  let resume = 0; // where in text that `*` currently stops
  while (t < text.length) {
    const char = glob[g];
    if (char === '*') {
      star = g + 1;
      resume = t;
      g += 1;
    } else if (g < glob.length && (char === '?' || char === text[t])) {
      t += 1;
      g += 1;
    } else if (star >= 0) {
      // Let the last `*` swallow one more character and retry the rest of the pattern from there.
      resume += 1;
      t = resume;
      g = star;
    } else {
      return false;
    }
  }
  while (glob[g] === '*') g += 1;
  return g === glob.length;
}

export function matchesAnyGlob(value: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => matchesGlob(value, pattern));
}
