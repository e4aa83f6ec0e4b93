// The product's kubectl runner: argv arrays through execa (never a shell), an explicit --context on
// every call (resolved once, so a context switch elsewhere cannot redirect a write), names validated
// before any argv is built, output validated with zod, and failures classified from kubectl's stderr.
import { z } from 'zod';
import type { WorkloadKind } from '../krr/model';
import type { JsonPatchOp } from '../plan/patch';
import { assertContextName, assertDnsLabel, assertDnsSubdomain } from './names';
import { kubeObjectSchema, kubectlResourceByKind, type KubeObject } from './object';
import { podListSchema, podPath, podSchema, type Pod, type PodRef } from './pod';

export interface KubectlOptions {
  kubectlPath: string;
  kubeconfig?: string;
  context: string;
  /** Per command; default 30000. */
  timeoutMs?: number;
  /** kubectl's discovery cache (--cache-dir); isolates tests and avoids a stale shared cache. */
  cacheDir?: string;
  /** Called after every kubectl process ends; argv holds no secrets (tokens live in the kubeconfig). */
  onCommand?: (event: { argv: string[]; durationMs: number; exitCode: number | undefined }) => void;
}

export type ObjectRef = { kind: WorkloadKind | 'HorizontalPodAutoscaler'; namespace: string; name: string };

export type KubectlErrorKind =
  | 'not-installed'
  | 'auth'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  /** A JSON-patch `test` op (or another op) did not apply: the object is not what the plan pinned. */
  | 'precondition-failed'
  | 'invalid'
  | 'unreachable'
  | 'timeout'
  | 'aborted'
  | 'bad-output'
  | 'unknown';

/**
 * kubectl drops metadata.managedFields from `get -o json` unless asked; they tell which GitOps controller last applied
 * a workload's containers (core/gitops/owner). Diffs, snapshots and the audit log strip them again.
 */
const showManagedFields = '--show-managed-fields';

export class KubectlError extends Error {
  override readonly name = 'KubectlError';
  constructor(
    readonly kind: KubectlErrorKind,
    message: string,
    readonly stderr: string,
    readonly argv: string[],
  ) {
    super(message);
  }
}

const defaultTimeoutMs = 30_000;

// execa is ESM-only and one of its dependencies exports only an `import` condition: a static import
// breaks when this module is loaded through require() (tsx/mocha in CommonJS). import() works in both.
async function loadExeca() {
  return (await import('execa')).execa;
}

/** kubectl's group-qualified resource name, so a CRD with the same short name can never be addressed. */
export function kubectlResource(kind: ObjectRef['kind']): string {
  const resource = kind === 'HorizontalPodAutoscaler' ? 'horizontalpodautoscalers.autoscaling' : kubectlResourceByKind[kind];
  if (!resource) throw new KubectlError('unknown', `${kind} objects cannot be read or changed with kubectl by this extension.`, '', []);
  return resource;
}

function assertRef(ref: ObjectRef): void {
  assertDnsLabel(ref.namespace, 'namespace');
  assertDnsSubdomain(ref.name, `${ref.kind} name`);
}

interface RunOptions {
  kubectlPath: string;
  argv: string[];
  /** Named in error messages. */
  context: string | undefined;
  kubeconfig: string | undefined;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  onCommand: KubectlOptions['onCommand'];
}

interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '' && !/^[EWI]\d{4} /.test(line))?.trim() ?? text.trim();
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)?.trim() ?? '';
}

/** Maps kubectl's stderr (and how the process ended) to an error a person can act on. */
const labelNamePart = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const labelValue = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/**
 * `k1=v1,k2=v2` from a workload's matchLabels, each key and value checked against Kubernetes' label syntax, so nothing
 * but a plain equality selector can reach kubectl's `-l`.
 */
export function labelSelector(matchLabels: Readonly<Record<string, string>>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(matchLabels)) {
    const slash = key.lastIndexOf('/');
    const prefix = slash >= 0 ? key.slice(0, slash) : null;
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    if (prefix !== null) assertDnsSubdomain(prefix, 'label key prefix');
    if (!labelNamePart.test(name)) throw new KubectlError('invalid', `The label key ${JSON.stringify(key.slice(0, 80))} is not a valid Kubernetes label key.`, '', []);
    if (!labelValue.test(value)) throw new KubectlError('invalid', `The label value ${JSON.stringify(value.slice(0, 80))} of ${JSON.stringify(key.slice(0, 80))} is not a valid Kubernetes label value.`, '', []);
    parts.push(`${key}=${value}`);
  }
  if (parts.length === 0) throw new KubectlError('invalid', 'The workload selects its pods with no matchLabels; a trial needs them to find its pods.', '', []);
  return parts.join(',');
}

export function classifyFailure(stderr: string, where: FailureWhere): { kind: KubectlErrorKind; message: string } {
  const line = firstLine(stderr);
  const kind: KubectlErrorKind =
    /Error from server \(Forbidden\)|is forbidden: User/.test(stderr) ? 'forbidden'
    : /Error from server \(NotFound\)/.test(stderr) ? 'not-found'
    : /Error from server \(Conflict\)/.test(stderr) ? 'conflict'
    // A JSON patch that does not apply (a `test` op that failed, a path that is gone) comes back as this generic 422.
    : /the server rejected our request due to an error in our request/.test(stderr) ? 'precondition-failed'
    : /Error from server \(Invalid\)|is invalid|The request is invalid/.test(stderr) ? 'invalid'
    : /You must be logged in|\(Unauthorized\)|provide credentials|Unauthorized/.test(stderr) ? 'auth'
    : /Unable to connect to the server|connection refused|was refused - did you specify the right host|dial tcp|no such host|i\/o timeout|TLS handshake|connection reset|EOF$/m.test(stderr) ? 'unreachable'
    : 'unknown';
  if (kind === 'unknown' && /context was not found|context ".*" does not exist|no context exists/.test(stderr)) {
    const context = where.context ? `context "${where.context}"` : 'the current context';
    return { kind, message: `The ${context} is not in ${where.kubeconfig ? `kubeconfig ${where.kubeconfig}` : 'the default kubeconfig'}: ${line}. Pick an existing context (kubectl config get-contexts).` };
  }
  return { kind, message: failureMessage(kind, line, where) };
}

export type FailureWhere = { context: string | undefined; kubeconfig: string | undefined };

/**
 * What a person reads for each class of failure, whichever way it arrived (kubectl's stderr, or an HTTP Status
 * through the API channel, whose `line` is worded the way kubectl prints it: `Error from server (Reason): …`).
 */
export function failureMessage(kind: KubectlErrorKind, line: string, where: FailureWhere): string {
  const context = where.context ? `context "${where.context}"` : 'the current context';
  const kubeconfig = where.kubeconfig ? `kubeconfig ${where.kubeconfig}` : 'the default kubeconfig';
  switch (kind) {
    case 'forbidden':
      return `The cluster of ${context} refused the request: ${line}. The user of this context lacks permission; ask a cluster admin or use another context.`;
    case 'not-found':
      return `${line} (in ${context}). It may have been deleted or renamed since the scan; rescan and try again.`;
    case 'conflict':
      return `The object changed on the server during the write (in ${context}): ${line}. Nothing was written; build a new proposal from the current state.`;
    case 'precondition-failed':
      return `The live object in ${context} no longer has the values this change was built from (a JSON-patch test failed). Nothing was written; build a new proposal.`;
    case 'invalid':
      return `The API server of ${context} rejected the change as invalid: ${line}`;
    case 'auth':
      return `kubectl is not authenticated for ${context} (${kubeconfig}): ${line}. Refresh the credentials (for example your cloud CLI login) and try again.`;
    case 'unreachable':
      return `Cannot reach the Kubernetes API server of ${context}: ${line}. Check the network or VPN, and that the cluster is running.`;
    default:
      return `kubectl failed for ${context}: ${line || 'no error output'}`;
  }
}

async function runKubectl(options: RunOptions): Promise<RunResult> {
  const { argv, context, kubeconfig } = options;
  if (options.signal?.aborted) throw new KubectlError('aborted', 'The kubectl command was cancelled before it started.', '', argv);
  const execa = await loadExeca();
  const started = performance.now();
  const result = await execa(options.kubectlPath, argv, {
    reject: false,
    timeout: options.timeoutMs,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
    forceKillAfterDelay: 2000,
    stdin: 'ignore',
    // English messages, whatever the user's locale: the stderr classification depends on them.
    env: { LC_ALL: 'C', LANG: 'C' },
    stripFinalNewline: true,
  });
  options.onCommand?.({ argv: [...argv], durationMs: Math.round(performance.now() - started), exitCode: result.exitCode });
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const spawnCode = (result as { code?: unknown }).code;
  if (spawnCode === 'ENOENT' || spawnCode === 'EACCES' || /spawn .* (ENOENT|EACCES)/.test(result.originalMessage ?? '')) {
    throw new KubectlError(
      'not-installed',
      `kubectl was not found or cannot run at "${options.kubectlPath}". Install kubectl (https://kubernetes.io/docs/tasks/tools/) or set krr.kubectlPath to its full path.`,
      stderr,
      argv,
    );
  }
  if (result.isCanceled) throw new KubectlError('aborted', 'The kubectl command was cancelled.', stderr, argv);
  if (result.timedOut) {
    throw new KubectlError('timeout', `kubectl did not finish within ${Math.round(options.timeoutMs / 1000)} s (${context ? `context "${context}"` : 'current context'}); the cluster may be slow or unreachable.`, stderr, argv);
  }
  if (result.exitCode !== 0) {
    const { kind, message } = classifyFailure(stderr, { context, kubeconfig });
    throw new KubectlError(kind, message, stderr, argv);
  }
  return { stdout, stderr, exitCode: 0 };
}

function parseJson<T>(stdout: string, schema: z.ZodType<T>, argv: string[], what: string): T {
  let data: unknown;
  try {
    data = JSON.parse(stdout);
  } catch {
    throw new KubectlError('bad-output', `kubectl printed something that is not JSON where ${what} was expected.`, '', argv);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KubectlError('bad-output', `kubectl printed JSON that is not ${what}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'schema mismatch'}.`, '', argv);
  }
  return parsed.data;
}

const listSchema = z.object({ items: z.array(kubeObjectSchema) }).passthrough();
const versionSchema = z
  .object({
    clientVersion: z.object({ gitVersion: z.string() }).passthrough(),
    serverVersion: z.object({ gitVersion: z.string() }).passthrough().optional(),
  })
  .passthrough();

export class Kubectl {
  readonly context: string;
  private readonly options: KubectlOptions;

  constructor(options: KubectlOptions) {
    assertContextName(options.context);
    this.context = options.context;
    this.options = { ...options };
  }

  /** Global flags first, always with the recorded context. */
  private argv(args: string[]): string[] {
    return [
      ...(this.options.kubeconfig ? ['--kubeconfig', this.options.kubeconfig] : []),
      '--context',
      this.context,
      ...(this.options.cacheDir ? ['--cache-dir', this.options.cacheDir] : []),
      ...args,
    ];
  }

  private run(args: string[], signal: AbortSignal | undefined, timeoutMs = this.options.timeoutMs ?? defaultTimeoutMs): Promise<RunResult> {
    return runKubectl({
      kubectlPath: this.options.kubectlPath,
      argv: this.argv(args),
      context: this.context,
      kubeconfig: this.options.kubeconfig,
      timeoutMs,
      signal,
      onCommand: this.options.onCommand,
    });
  }

  async getObject(ref: ObjectRef, signal?: AbortSignal): Promise<KubeObject> {
    assertRef(ref);
    const args = ['get', kubectlResource(ref.kind), ref.name, '-n', ref.namespace, '-o', 'json', showManagedFields];
    const { stdout } = await this.run(args, signal);
    return parseJson(stdout, kubeObjectSchema, this.argv(args), `a ${ref.kind}`);
  }

  /**
   * Several named objects of one kind in one namespace, in one kubectl process (kubectl start-up, not the
   * API server, dominates a single get). Throws if any of them cannot be read; callers fall back to getObject.
   */
  async getObjects(kind: ObjectRef['kind'], namespace: string, names: readonly string[], signal?: AbortSignal): Promise<KubeObject[]> {
    for (const name of names) assertRef({ kind, namespace, name });
    if (names.length === 0) return [];
    const args = ['get', kubectlResource(kind), ...names, '-n', namespace, '-o', 'json', showManagedFields];
    const { stdout } = await this.run(args, signal);
    // One name prints the object itself; several print a List.
    const printed = parseJson(stdout, z.union([listSchema, kubeObjectSchema]), this.argv(args), `${kind} objects`);
    return 'items' in printed && Array.isArray(printed.items) ? (printed.items as KubeObject[]) : [printed as KubeObject];
  }

  async listObjects(kind: 'HorizontalPodAutoscaler' | WorkloadKind, namespace: string, signal?: AbortSignal): Promise<KubeObject[]> {
    assertDnsLabel(namespace, 'namespace');
    const args = ['get', kubectlResource(kind), '-n', namespace, '-o', 'json', showManagedFields];
    const { stdout } = await this.run(args, signal);
    return parseJson(stdout, listSchema, this.argv(args), `a list of ${kind} objects`).items;
  }

  /**
   * The cluster's namespace names (for the scan's namespace picker), sorted. A name that is not a valid RFC 1123
   * label cannot have come from a real API server and would not be passed to krr: it is left out and counted.
   */
  async listNamespaces(signal?: AbortSignal): Promise<{ names: string[]; invalid: number }> {
    const { stdout } = await this.run(['get', 'namespaces', '-o', 'name'], signal);
    const names: string[] = [];
    let invalid = 0;
    for (const line of stdout.split('\n')) {
      const trimmed = line.trim();
      if (trimmed === '') continue;
      const name = trimmed.startsWith('namespace/') ? trimmed.slice('namespace/'.length) : trimmed;
      try {
        assertDnsLabel(name, 'namespace');
        names.push(name);
      } catch {
        invalid += 1;
      }
    }
    return { names: names.sort(), invalid };
  }

  async patchJson(ref: ObjectRef, ops: JsonPatchOp[], options: { dryRun: boolean; signal?: AbortSignal }): Promise<KubeObject> {
    assertRef(ref);
    const args = ['patch', kubectlResource(ref.kind), ref.name, '-n', ref.namespace, '--type=json', '-p', JSON.stringify(ops), '-o', 'json'];
    if (options.dryRun) args.push('--dry-run=server');
    const { stdout } = await this.run(args, options.signal);
    return parseJson(stdout, kubeObjectSchema, this.argv(args), `the patched ${ref.kind}`);
  }

  async getPod(ref: PodRef, signal?: AbortSignal): Promise<Pod> {
    podPath(ref);
    const args = ['get', 'pods', ref.name, '-n', ref.namespace, '-o', 'json'];
    const { stdout } = await this.run(args, signal);
    return parseJson(stdout, podSchema, this.argv(args), 'a pod');
  }

  /** The pods of a namespace that match `matchLabels` (keys and values validated as Kubernetes label parts first). */
  async listPods(namespace: string, matchLabels: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<Pod[]> {
    assertDnsLabel(namespace, 'namespace');
    const selector = labelSelector(matchLabels);
    const args = ['get', 'pods', '-n', namespace, '-l', selector, '-o', 'json'];
    const { stdout } = await this.run(args, signal);
    return parseJson(stdout, podListSchema, this.argv(args), 'a list of pods').items;
  }

  /** A JSON patch of the pod's resize subresource (kubectl ≥ 1.32 knows `--subresource resize`). */
  async resizePod(ref: PodRef, ops: JsonPatchOp[], options: { dryRun: boolean; signal?: AbortSignal }): Promise<Pod> {
    podPath(ref);
    const args = ['patch', 'pods', ref.name, '-n', ref.namespace, '--subresource', 'resize', '--type=json', '-p', JSON.stringify(ops), '-o', 'json'];
    if (options.dryRun) args.push('--dry-run=server');
    const { stdout } = await this.run(args, options.signal);
    return parseJson(stdout, podSchema, this.argv(args), 'the resized pod');
  }

  /** ok=false when the rollout did not complete in time or failed; other failures (auth, unreachable…) throw. */
  async rolloutStatus(ref: ObjectRef, timeoutSeconds: number, signal?: AbortSignal): Promise<{ ok: boolean; message: string }> {
    assertRef(ref);
    const seconds = Math.max(1, Math.ceil(timeoutSeconds));
    const args = ['rollout', 'status', `${kubectlResource(ref.kind)}/${ref.name}`, '-n', ref.namespace, `--timeout=${seconds}s`];
    try {
      const { stdout } = await this.run(args, signal, Math.max(this.options.timeoutMs ?? defaultTimeoutMs, seconds * 1000 + 15_000));
      // kubectl prints a "Waiting for … rollout to finish" line per change it sees, then the result: keep the result.
      return { ok: true, message: lastLine(stdout) };
    } catch (error) {
      if (error instanceof KubectlError && error.kind === 'unknown') return { ok: false, message: firstLine(error.stderr) || error.message };
      throw error;
    }
  }

  /** server is null when the API server cannot be reached (kubectl still prints its own version). */
  async version(signal?: AbortSignal): Promise<{ client: string; server: string | null }> {
    const args = ['version', '-o', 'json'];
    try {
      const { stdout } = await this.run(args, signal);
      const parsed = parseJson(stdout, versionSchema, this.argv(args), 'kubectl version output');
      return { client: parsed.clientVersion.gitVersion, server: parsed.serverVersion?.gitVersion ?? null };
    } catch (error) {
      if (error instanceof KubectlError && (error.kind === 'unreachable' || error.kind === 'auth')) {
        // kubectl printed the client part before failing on the server part; ask for that alone.
        const { stdout } = await this.run(['version', '--client', '-o', 'json'], signal);
        return { client: parseJson(stdout, versionSchema, this.argv(args), 'kubectl version output').clientVersion.gitVersion, server: null };
      }
      throw error;
    }
  }
}

const configViewSchema = z
  .object({
    'current-context': z.string().optional(),
    contexts: z.array(z.object({ name: z.string(), context: z.object({ cluster: z.string(), namespace: z.string().optional() }).passthrough() })).nullish(),
    clusters: z.array(z.object({ name: z.string(), cluster: z.object({ server: z.string() }).passthrough() })).nullish(),
  })
  .passthrough();

/**
 * The context kubectl would use (the given one, or the kubeconfig's current-context), its cluster and
 * server URL. Reads `kubectl config view --minify` without --raw, so credentials are never printed.
 */
export async function resolveContext(options: { kubectlPath: string; kubeconfig?: string; context?: string }): Promise<{ context: string; cluster: string; server: string; namespace: string | null }> {
  if (options.context !== undefined) assertContextName(options.context);
  const argv = [
    ...(options.kubeconfig ? ['--kubeconfig', options.kubeconfig] : []),
    ...(options.context !== undefined ? ['--context', options.context] : []),
    'config',
    'view',
    '--minify',
    '-o',
    'json',
  ];
  const { stdout } = await runKubectl({ kubectlPath: options.kubectlPath, argv, context: options.context, kubeconfig: options.kubeconfig, timeoutMs: defaultTimeoutMs, signal: undefined, onCommand: undefined });
  const view = parseJson(stdout, configViewSchema, argv, 'a kubeconfig view');
  const entry = view.contexts?.[0];
  const cluster = view.clusters?.find((c) => c.name === entry?.context.cluster) ?? view.clusters?.[0];
  const context = options.context ?? view['current-context'] ?? entry?.name;
  if (!entry || !cluster || !context) {
    throw new KubectlError('unknown', `No usable kube context in ${options.kubeconfig ?? 'the default kubeconfig'}: set a current context or the setting krr.context.`, '', argv);
  }
  return { context, cluster: entry.context.cluster, server: cluster.cluster.server, namespace: entry.context.namespace ?? null };
}

/**
 * Several contexts' clusters and server URLs from one `kubectl config view` (a fleet scan resolves 20 contexts with
 * one process instead of 20). Without --raw: credentials are never printed. A name not in the kubeconfig maps to null.
 */
export async function resolveContexts(options: { kubectlPath: string; kubeconfig?: string }, names: readonly string[]): Promise<Map<string, { context: string; cluster: string; server: string } | null>> {
  for (const name of names) assertContextName(name);
  const argv = [...(options.kubeconfig ? ['--kubeconfig', options.kubeconfig] : []), 'config', 'view', '-o', 'json'];
  const { stdout } = await runKubectl({ kubectlPath: options.kubectlPath, argv, context: undefined, kubeconfig: options.kubeconfig, timeoutMs: defaultTimeoutMs, signal: undefined, onCommand: undefined });
  const view = parseJson(stdout, configViewSchema, argv, 'a kubeconfig view');
  const resolved = new Map<string, { context: string; cluster: string; server: string } | null>();
  for (const name of names) {
    const entry = view.contexts?.find((candidate) => candidate.name === name);
    const cluster = entry ? view.clusters?.find((candidate) => candidate.name === entry.context.cluster) : undefined;
    resolved.set(name, entry && cluster ? { context: name, cluster: entry.context.cluster, server: cluster.cluster.server } : null);
  }
  return resolved;
}

/** Every context name in the kubeconfig, and the current one (null when unset). */
export async function listContexts(options: { kubectlPath: string; kubeconfig?: string }): Promise<{ names: string[]; current: string | null }> {
  const argv = [...(options.kubeconfig ? ['--kubeconfig', options.kubeconfig] : []), 'config', 'view', '-o', 'json'];
  const { stdout } = await runKubectl({ kubectlPath: options.kubectlPath, argv, context: undefined, kubeconfig: options.kubeconfig, timeoutMs: defaultTimeoutMs, signal: undefined, onCommand: undefined });
  const view = parseJson(stdout, configViewSchema, argv, 'a kubeconfig view');
  const current = view['current-context'];
  return { names: (view.contexts ?? []).map((c) => c.name), current: current ? current : null };
}

