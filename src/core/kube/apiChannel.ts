// One authenticated channel to the API server for the length of one apply, rollback or proposal: `kubectl proxy`
// on a Unix socket in a fresh 0700 directory, accepting exactly the plan's object paths and only GET and PATCH,
// with keep-alive HTTP from Node over that socket. kubectl stays the only thing that authenticates (exec
// credential plugins, OIDC, client certificates keep working); a request costs an HTTP round trip instead of
// a kubectl process (~100 ms of CPU each), which is what bounded the apply's speed on a small machine.
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import type { JsonPatchOp } from '../plan/patch';
import { KubectlError, failureMessage, type FailureWhere, type Kubectl, type KubectlErrorKind, type ObjectRef } from './kubectl';
import { assertContextName, assertDnsLabel, assertDnsSubdomain } from './names';
import { kubeObjectSchema, type KubeObject } from './object';
import { podPath, podSchema, type Pod, type PodRef } from './pod';

/** The API path prefix and plural of each kind the extension reads or patches (fixed versions, like kubectl's preferred ones). */
const resourcePathByKind: Partial<Record<ObjectRef['kind'], { prefix: string; plural: string }>> = {
  Deployment: { prefix: '/apis/apps/v1', plural: 'deployments' },
  StatefulSet: { prefix: '/apis/apps/v1', plural: 'statefulsets' },
  DaemonSet: { prefix: '/apis/apps/v1', plural: 'daemonsets' },
  Job: { prefix: '/apis/batch/v1', plural: 'jobs' },
  CronJob: { prefix: '/apis/batch/v1', plural: 'cronjobs' },
  Rollout: { prefix: '/apis/argoproj.io/v1alpha1', plural: 'rollouts' },
  HorizontalPodAutoscaler: { prefix: '/apis/autoscaling/v2', plural: 'horizontalpodautoscalers' },
};

/** The object's API path, e.g. /apis/apps/v1/namespaces/shop/deployments/frontend (names validated first). */
export function objectPath(ref: ObjectRef): string {
  assertDnsLabel(ref.namespace, 'namespace');
  assertDnsSubdomain(ref.name, `${ref.kind} name`);
  const resource = resourcePathByKind[ref.kind];
  if (!resource) throw new KubectlError('unknown', `${String(ref.kind)} objects cannot be read or changed by this extension.`, '', []);
  return `${resource.prefix}/namespaces/${ref.namespace}/${resource.plural}/${ref.name}`;
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `--accept-paths` for exactly these objects: one anchored alternation, grouped per collection so it stays short
 * (kubectl splits the flag at commas, and no name or namespace can contain one). Subresources (`/scale`,
 * `/status`), lists and every other object are refused by the proxy itself.
 */
export function acceptPathsPattern(refs: readonly ObjectRef[]): string {
  const byCollection = new Map<string, Set<string>>();
  for (const ref of refs) {
    const full = objectPath(ref);
    const collection = full.slice(0, full.length - ref.name.length);
    const names = byCollection.get(collection) ?? new Set<string>();
    names.add(ref.name);
    byCollection.set(collection, names);
  }
  const groups = [...byCollection].map(([collection, names]) => `${escapeRegex(collection)}(?:${[...names].map(escapeRegex).join('|')})`);
  return `^(?:${groups.join('|')})$`;
}

/**
 * `--reject-methods`: every method but GET and PATCH, as one RE2 expression (RE2 has no negative look-ahead, so
 * it spells out "anything that is not exactly GET or PATCH", the empty method included).
 */
export const rejectMethodsPattern = '^(?s:[^GP].*|G(?:[^E].*)?|GE(?:[^T].*)?|GET.+|P(?:[^A].*)?|PA(?:[^T].*)?|PAT(?:[^C].*)?|PATC(?:[^H].*)?|PATCH.+)?$';

/** `--reject-methods` of the read-only proxy (HPA lists): every method but GET. */
export const rejectAllButGetPattern = '^(?s:[^G].*|G(?:[^E].*)?|GE(?:[^T].*)?|GET.+)?$';

/** The HPA list of a namespace: a proposal reads it for its policy (HPA-targeted resources). */
export function hpaListPath(namespace: string): string {
  assertDnsLabel(namespace, 'namespace');
  return `/apis/autoscaling/v2/namespaces/${namespace}/horizontalpodautoscalers`;
}

/** `--accept-paths` of the read-only proxy: exactly the HPA lists of these namespaces. */
export function hpaListsPattern(namespaces: readonly string[]): string {
  for (const namespace of namespaces) assertDnsLabel(namespace, 'namespace');
  return `^/apis/autoscaling/v2/namespaces/(?:${[...new Set(namespaces)].join('|')})/horizontalpodautoscalers$`;
}

const listSchema = z.object({ apiVersion: z.string(), items: z.array(z.record(z.string(), z.unknown())) }).passthrough();

/** One argv element stays below Linux's 128 KiB limit (MAX_ARG_STRLEN): a larger plan gets more proxies. */
const maxPatternLength = 96 * 1024;

export interface ApiChannelOptions {
  kubectlPath: string;
  kubeconfig?: string;
  context: string;
  cacheDir?: string;
  /** The only objects the channel reaches. */
  objects: readonly ObjectRef[];
  /**
   * Running pods a trial resizes in place (core/trial): each pod's own path and its `/resize` subresource, GET and
   * PATCH, through a proxy of their own. No other pod, no pod list.
   */
  pods?: readonly PodRef[];
  /**
   * Namespaces whose HPA list a proposal reads, through a second proxy that accepts those list paths and GET
   * only (an apply's channel has none).
   */
  hpaListNamespaces?: readonly string[];
  /**
   * 'dry-run': every PATCH carries dryRun=All (a proposal); 'approved': real writes too (an approved apply or
   * rollback). The proxy cannot filter query strings, so this guard is in the channel's code.
   */
  writes: 'dry-run' | 'approved';
  /** Connections kept open (the apply's concurrency). */
  maxSockets: number;
  /** Per request; default 30000 (kubectl's runner default). */
  timeoutMs?: number;
  /** How long kubectl proxy may take to start serving; default 15000. */
  startTimeoutMs?: number;
  log?: (line: string) => void;
}

interface ProxyProcess {
  socketPath: string;
  pid: number | undefined;
  kill(signal: NodeJS.Signals): void;
  /** Resolves when the process has ended (however it ended). */
  exited: Promise<void>;
  ended: boolean;
}

const statusSchema = z.object({ kind: z.literal('Status'), code: z.number().optional(), reason: z.string().optional(), message: z.string().optional() }).passthrough();

/** Connection-level failures: the channel itself is gone (or never answered), not the API server's answer. */
const channelGone = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

const maxResponseBytes = 32 * 1024 * 1024;

export class ApiChannel {
  private readonly agent: http.Agent;
  private readonly byPath = new Map<string, ProxyProcess>();
  private brokenReason: string | null = null;
  private closing: Promise<void> | undefined;
  private readonly where: FailureWhere;

  private constructor(
    private readonly options: ApiChannelOptions,
    /** The fresh 0700 directory holding the sockets. */
    readonly directory: string,
    private readonly proxies: ProxyProcess[],
    paths: Array<{ path: string; proxy: ProxyProcess }>,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(1, options.maxSockets) });
    for (const entry of paths) this.byPath.set(entry.path, entry.proxy);
    this.where = { context: options.context, kubeconfig: options.kubeconfig };
    for (const proxy of proxies) {
      void proxy.exited.then(() => {
        if (!this.closing) this.markBroken(`kubectl proxy (pid ${proxy.pid ?? '?'}) exited`);
      });
    }
  }

  /** Starts the proxy (or proxies, for a plan whose paths do not fit in one argument) and waits until each serves. */
  static async open(options: ApiChannelOptions): Promise<ApiChannel> {
    assertContextName(options.context);
    if (options.objects.length === 0 && (options.pods ?? []).length === 0) throw new Error('an API channel needs at least one object');
    const paths = options.objects.map((ref) => ({ ref, path: objectPath(ref) }));
    // 0700 from creation (mkdtemp): only this user can reach the sockets inside.
    const directory = mkdtempSync(path.join(tmpdir(), 'krr-channel-'));
    liveDirectories.add(directory);
    const proxies: ProxyProcess[] = [];
    const assigned: Array<{ path: string; proxy: ProxyProcess }> = [];
    try {
      const groups: Array<{ paths: string[]; acceptPaths: string; rejectMethods: string }> = partition(paths).map((group) => ({ paths: group.map((entry) => entry.path), acceptPaths: acceptPathsPattern(group.map((entry) => entry.ref)), rejectMethods: rejectMethodsPattern }));
      for (const group of partitionPods(options.pods ?? [])) groups.push({ paths: group.map(podPath), acceptPaths: podPathsPattern(group), rejectMethods: rejectMethodsPattern });
      const namespaces = [...new Set(options.hpaListNamespaces ?? [])];
      if (namespaces.length > 0) groups.push({ paths: namespaces.map(hpaListPath), acceptPaths: hpaListsPattern(namespaces), rejectMethods: rejectAllButGetPattern });
      // Started side by side: each waits for its own "Starting to serve".
      const started = await Promise.allSettled(groups.map((group, index) => startProxy(options, path.join(directory, `s${index}`), group.acceptPaths, group.rejectMethods)));
      started.forEach((result, index) => {
        if (result.status !== 'fulfilled') return;
        proxies.push(result.value);
        for (const url of groups[index]?.paths ?? []) assigned.push({ path: url, proxy: result.value });
      });
      const failed = started.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (error) {
      await Promise.all(proxies.map(stopProxy));
      rmSync(directory, { recursive: true, force: true });
      liveDirectories.delete(directory);
      throw error;
    }
    return new ApiChannel(options, directory, proxies, assigned);
  }

  /** The proxies' process ids (tests kill them to prove a dying channel is a failed write). */
  get pids(): number[] {
    return this.proxies.map((proxy) => proxy.pid ?? -1);
  }

  /** Why the channel cannot be used any more (its proxy died, or a request found the socket gone); null while usable. */
  get broken(): string | null {
    return this.brokenReason;
  }

  covers(ref: ObjectRef): boolean {
    try {
      return this.byPath.has(objectPath(ref));
    } catch {
      return false;
    }
  }

  async getObject(ref: ObjectRef, signal?: AbortSignal): Promise<KubeObject> {
    return this.request('GET', objectPath(ref), `${ref.kind} ${ref.namespace}/${ref.name}`, parseObject, undefined, signal);
  }

  coversHpaList(namespace: string): boolean {
    try {
      return this.byPath.has(hpaListPath(namespace));
    } catch {
      return false;
    }
  }

  coversPod(ref: PodRef): boolean {
    try {
      return this.byPath.has(podPath(ref));
    } catch {
      return false;
    }
  }

  async getPod(ref: PodRef, signal?: AbortSignal): Promise<Pod> {
    return this.request('GET', podPath(ref), `pod ${ref.namespace}/${ref.name}`, parsePod, undefined, signal);
  }

  /** A JSON patch of the pod's `/resize` subresource (its `test` ops pin what the trial saw). */
  async resizePod(ref: PodRef, ops: JsonPatchOp[], options: { dryRun: boolean; signal?: AbortSignal }): Promise<Pod> {
    if (!options.dryRun && this.options.writes !== 'approved') {
      throw new KubectlError('forbidden', 'This API channel was opened for a proposal: it sends server-side dry-runs only, never a write.', '', ['PATCH', `${podPath(ref)}/resize`]);
    }
    return this.request('PATCH', podPath(ref), `pod ${ref.namespace}/${ref.name}`, parsePod, JSON.stringify(ops), options.signal, options.dryRun, '/resize');
  }

  async listHpas(namespace: string, signal?: AbortSignal): Promise<KubeObject[]> {
    return (await this.request('GET', hpaListPath(namespace), `the HorizontalPodAutoscalers of ${namespace}`, parseList, undefined, signal)).items;
  }

  /**
   * One GET per name, all issued at once: the connection pool (maxSockets, the operation's concurrency) bounds
   * what is in flight. Settles every GET before it throws the first failure (nothing left running behind it).
   */
  async getObjects(kind: ObjectRef['kind'], namespace: string, names: readonly string[], signal?: AbortSignal): Promise<KubeObject[]> {
    const settled = await Promise.allSettled(names.map((name) => this.getObject({ kind, namespace, name }, signal)));
    const failure = settled.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    return settled.map((result) => (result as PromiseFulfilledResult<KubeObject>).value);
  }

  async patchJson(ref: ObjectRef, ops: JsonPatchOp[], options: { dryRun: boolean; signal?: AbortSignal }): Promise<KubeObject> {
    if (!options.dryRun && this.options.writes !== 'approved') {
      throw new KubectlError('forbidden', 'This API channel was opened for a proposal: it sends server-side dry-runs only, never a write.', '', ['PATCH', objectPath(ref)]);
    }
    return this.request('PATCH', objectPath(ref), `${ref.kind} ${ref.namespace}/${ref.name}`, parseObject, JSON.stringify(ops), options.signal, options.dryRun);
  }

  /** Stops the proxies, drops the connections and removes the socket directory; safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.brokenReason ??= 'the channel was closed';
      this.agent.destroy();
      await Promise.all(this.proxies.map(stopProxy));
      rmSync(this.directory, { recursive: true, force: true });
      liveDirectories.delete(this.directory);
    })();
    return this.closing;
  }

  private markBroken(reason: string): void {
    if (this.brokenReason) return;
    this.brokenReason = reason;
    this.options.log?.(`API channel unusable: ${reason}; later requests of this operation use kubectl processes`);
    // Nothing may reach the cluster through a channel that is half gone: stop the proxies too.
    for (const proxy of this.proxies) proxy.kill('SIGKILL');
  }

  private request<T>(method: 'GET' | 'PATCH', objectUrl: string, what: string, parse: (text: string) => T | null, body: string | undefined, signal: AbortSignal | undefined, dryRun = false, subresource = ''): Promise<T> {
    const describe = [method, `${objectUrl}${subresource}`];
    const proxy = this.byPath.get(objectUrl);
    if (!proxy) return Promise.reject(new KubectlError('forbidden', `${what} is not part of this operation; the API channel does not reach it.`, '', describe));
    if (this.brokenReason) return Promise.reject(new KubectlError('unreachable', failureMessage('unreachable', `the API channel is gone (${this.brokenReason})`, this.where), '', describe));
    if (signal?.aborted) return Promise.reject(new KubectlError('aborted', 'The request was cancelled before it started.', '', describe));
    const query = method === 'PATCH' ? `?${dryRun ? 'dryRun=All&' : ''}fieldManager=krr-mcp` : '';
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const fail = (error: KubectlError) => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      const req = http.request(
        {
          agent: this.agent,
          socketPath: proxy.socketPath,
          method,
          path: `${objectUrl}${subresource}${query}`,
          headers: {
            Host: 'localhost',
            Accept: 'application/json',
            'User-Agent': 'krr-mcp',
            ...(body !== undefined ? { 'Content-Type': 'application/json-patch+json', 'Content-Length': Buffer.byteLength(body) } : {}),
          },
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxResponseBytes) {
              req.destroy();
              fail(new KubectlError('bad-output', `The API server's answer for ${what} exceeds ${maxResponseBytes / 1024 / 1024} MB.`, '', describe));
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', (error) => {
            if (!settled) fail(this.connectionError(error, describe));
          });
          res.on('end', () => {
            if (settled) return;
            const text = Buffer.concat(chunks).toString('utf8');
            const code = res.statusCode ?? 0;
            if (code >= 200 && code < 300) {
              const parsed = parse(text);
              if (parsed) {
                settled = true;
                resolve(parsed);
              } else fail(new KubectlError('bad-output', `The API server answered with something unexpected for ${what}.`, '', describe));
              return;
            }
            fail(this.statusError(code, text, res.headers['content-type'] ?? '', describe));
          });
        },
      );
      req.setTimeout(timeoutMs, () => {
        req.destroy();
        fail(new KubectlError('timeout', `The API server did not answer within ${Math.round(timeoutMs / 1000)} s (context "${this.options.context}"); the cluster may be slow or unreachable.`, '', describe));
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        // Our own destroy (a timeout, an oversized answer) ends in a "socket hang up" here too: not the channel's fault.
        if (settled) return;
        if (signal?.aborted || error.name === 'AbortError') fail(new KubectlError('aborted', 'The request was cancelled.', '', describe));
        else fail(this.connectionError(error, describe));
      });
      req.end(body);
    });
  }

  private connectionError(error: NodeJS.ErrnoException, describe: string[]): KubectlError {
    // The proxy died or its socket is gone: this request's outcome is unknown, and nothing more goes through it.
    if (error.code && channelGone.has(error.code)) this.markBroken(`${error.code} on the proxy's socket`);
    return new KubectlError('unreachable', failureMessage('unreachable', `the API channel (kubectl proxy) failed: ${error.message}`, this.where), '', describe);
  }

  /** An HTTP error answer, classified like kubectl's stderr (same kinds, same words). */
  private statusError(code: number, text: string, contentType: string, describe: string[]): KubectlError {
    const status = contentType.includes('json') ? parseStatus(text) : null;
    if (!status) {
      // Not a Status: an answer of the proxy itself (its path/method filter, or a failure to reach the server).
      const body = text.trim().split('\n')[0]?.slice(0, 300) ?? '';
      if (code === 403) return new KubectlError('forbidden', `The API channel refused ${describe.join(' ')}: it reaches only this operation's objects, with GET and PATCH.`, text, describe);
      if (code === 401) return new KubectlError('auth', failureMessage('auth', body || 'Unauthorized', this.where), text, describe);
      const kind: KubectlErrorKind = code >= 500 && /credential|exec plugin|getting credentials|token/i.test(body) ? 'auth' : code >= 500 ? 'unreachable' : 'unknown';
      return new KubectlError(kind, failureMessage(kind, `${code} ${body}`.trim(), this.where), text, describe);
    }
    const line = `Error from server (${status.reason || code}): ${status.message ?? ''}`.trim();
    const kind = kindOfStatus(code, status);
    return new KubectlError(kind, failureMessage(kind, kind === 'auth' ? `${status.message ?? 'Unauthorized'} (Unauthorized)` : line, this.where), text, describe);
  }
}

/** The error class of an API server Status: the same classes kubectl's stderr maps to. */
export function kindOfStatus(code: number, status: { reason?: string | undefined; message?: string | undefined }): KubectlErrorKind {
  if (code === 401) return 'auth';
  if (code === 403) return 'forbidden';
  if (code === 404) return 'not-found';
  if (code === 409) return 'conflict';
  // A JSON patch that does not apply (a failed `test` op, a path that is gone) is this generic 422.
  if (code === 422 && /the server rejected our request due to an error in our request/.test(status.message ?? '')) return 'precondition-failed';
  if (code === 422 || code === 400) return 'invalid';
  return 'unknown';
}

function parseStatus(text: string): z.infer<typeof statusSchema> | null {
  try {
    const parsed = statusSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** An HPA list; the API server leaves kind and apiVersion off the items (kubectl fills them in, so do we). */
function parseList(text: string): { items: KubeObject[] } | null {
  try {
    const list = listSchema.safeParse(JSON.parse(text));
    if (!list.success) return null;
    const items = z.array(kubeObjectSchema).safeParse(list.data.items.map((item) => ({ apiVersion: list.data.apiVersion, kind: 'HorizontalPodAutoscaler', ...item })));
    return items.success ? { items: items.data } : null;
  } catch {
    return null;
  }
}

function parsePod(text: string): Pod | null {
  try {
    const parsed = podSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function parseObject(text: string): KubeObject | null {
  try {
    const parsed = kubeObjectSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Groups of objects whose accept-paths pattern fits in one argument. */
/** `--accept-paths` for exactly these pods and their `/resize` subresource, one alternation per namespace. */
export function podPathsPattern(pods: readonly PodRef[]): string {
  const byNamespace = new Map<string, Set<string>>();
  for (const pod of pods) {
    podPath(pod); // validates both names
    const names = byNamespace.get(pod.namespace) ?? new Set<string>();
    names.add(pod.name);
    byNamespace.set(pod.namespace, names);
  }
  const groups = [...byNamespace].map(([namespace, names]) => `${escapeRegex(`/api/v1/namespaces/${namespace}/pods/`)}(?:${[...names].map(escapeRegex).join('|')})(?:/resize)?`);
  return `^(?:${groups.join('|')})$`;
}

function partitionPods(pods: readonly PodRef[]): PodRef[][] {
  const groups: PodRef[][] = [];
  let current: PodRef[] = [];
  let length = 0;
  for (const pod of pods) {
    const size = pod.namespace.length + pod.name.length + 40;
    if (current.length > 0 && length + size > maxPatternLength) {
      groups.push(current);
      current = [];
      length = 0;
    }
    current.push(pod);
    length += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

function partition<T extends { ref: ObjectRef; path: string }>(entries: readonly T[]): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let length = 0;
  for (const entry of entries) {
    if (current.length > 0 && length + entry.path.length + 8 > maxPatternLength) {
      groups.push(current);
      current = [];
      length = 0;
    }
    current.push(entry);
    length += entry.path.length + 8;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

async function startProxy(options: ApiChannelOptions, socketPath: string, acceptPaths: string, rejectMethods = rejectMethodsPattern): Promise<ProxyProcess> {
  const argv = [
    ...(options.kubeconfig ? ['--kubeconfig', options.kubeconfig] : []),
    '--context',
    options.context,
    ...(options.cacheDir ? ['--cache-dir', options.cacheDir] : []),
    'proxy',
    '--unix-socket',
    socketPath,
    '--accept-paths',
    acceptPaths,
    '--reject-methods',
    rejectMethods,
    // The default rejects exec/attach paths; none of them can match the accept list anyway, and stay refused.
    '--reject-paths',
    '^/api/.*/pods/.*/exec,^/api/.*/pods/.*/attach',
    '--keepalive',
    '30s',
  ];
  const { execa } = await import('execa');
  // A long-lived child: output is streamed, not buffered; English messages whatever the locale.
  const child = execa(options.kubectlPath, argv, { stdin: 'ignore', buffer: false, reject: false, env: { LC_ALL: 'C', LANG: 'C' } });
  let exitCode: number | undefined;
  let ended = false;
  const exited = child.then(
    (result) => {
      exitCode = result.exitCode;
      ended = true;
    },
    () => {
      ended = true;
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 8192) stderr += chunk.toString();
  });
  const where = { context: options.context, kubeconfig: options.kubeconfig };
  await new Promise<void>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new KubectlError('timeout', `kubectl proxy did not start within ${Math.round((options.startTimeoutMs ?? 15_000) / 1000)} s.`, stderr, argv));
    }, options.startTimeoutMs ?? 15_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // kubectl prints this once it listens on the socket.
      if (stdout.includes('Starting to serve on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      const result = exitCode;
      const spawnFailed = child.pid === undefined;
      reject(
        new KubectlError(
          spawnFailed ? 'not-installed' : 'unknown',
          spawnFailed ? `kubectl was not found or cannot run at "${options.kubectlPath}".` : `kubectl proxy exited (code ${String(result)}) before serving: ${failureMessage('unknown', stderr.trim().split('\n')[0] ?? '', where)}`,
          stderr,
          argv,
        ),
      );
    });
  });
  options.log?.(`kubectl proxy started (pid ${child.pid ?? '?'}) for ${acceptPaths.length} characters of accepted paths`);
  killLiveProxiesOnExit();
  live.add(child);
  void exited.then(() => live.delete(child));
  return {
    socketPath,
    pid: child.pid,
    kill: (signal) => {
      if (!ended) child.kill(signal);
    },
    exited,
    get ended() {
      return ended;
    },
  };
}

/** Proxies still running: if the host process exits mid-operation, they go with it (and no socket outlives it). */
const live = new Set<{ kill(signal: NodeJS.Signals): boolean }>();
const liveDirectories = new Set<string>();
let exitHook = false;
function killLiveProxiesOnExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
    for (const directory of liveDirectories) rmSync(directory, { recursive: true, force: true });
  });
}

async function stopProxy(proxy: ProxyProcess): Promise<void> {
  if (proxy.ended) return;
  proxy.kill('SIGTERM');
  const timer = setTimeout(() => proxy.kill('SIGKILL'), 2000);
  await proxy.exited;
  clearTimeout(timer);
}

/**
 * The cluster access of one operation: the plan's objects through the API channel while it works, everything
 * else (HPA lists, rollout status) and everything after the channel broke through kubectl processes, with the
 * same classification of failures. A request that was in flight when the channel broke fails (for a write: a
 * failed write, re-read and restored by apply); it is never re-sent on its own.
 */
export class ChannelledCluster {
  constructor(
    readonly channel: ApiChannel | null,
    private readonly kubectl: Kubectl,
  ) {}

  private via(ref: ObjectRef): ApiChannel | null {
    return this.channel && !this.channel.broken && this.channel.covers(ref) ? this.channel : null;
  }

  getObject(ref: ObjectRef, signal?: AbortSignal): Promise<KubeObject> {
    return this.via(ref)?.getObject(ref, signal) ?? this.kubectl.getObject(ref, signal);
  }

  getObjects(kind: ObjectRef['kind'], namespace: string, names: readonly string[], signal?: AbortSignal): Promise<KubeObject[]> {
    const channel = names.every((name) => this.via({ kind, namespace, name })) ? this.channel : null;
    return channel?.getObjects(kind, namespace, names, signal) ?? this.kubectl.getObjects(kind, namespace, names, signal);
  }

  /**
   * A write of the plan after the channel broke is not sent at all: the channel dying is a failed write, which
   * stops the apply. Restores (`restore: true`), dry-runs and reads go on through kubectl processes.
   */
  patchJson(ref: ObjectRef, ops: JsonPatchOp[], options: { dryRun: boolean; signal?: AbortSignal; restore?: boolean }): Promise<KubeObject> {
    const broken = this.channel?.broken;
    if (broken && !options.dryRun && !options.restore && this.channel?.covers(ref)) {
      return Promise.reject(new KubectlError('unreachable', `The API channel of this apply is gone (${broken}); this write was not sent.`, '', ['PATCH', objectPath(ref)]));
    }
    return this.via(ref)?.patchJson(ref, ops, options) ?? this.kubectl.patchJson(ref, ops, options);
  }

  private viaPod(ref: PodRef): ApiChannel | null {
    return this.channel && !this.channel.broken && this.channel.coversPod(ref) ? this.channel : null;
  }

  getPod(ref: PodRef, signal?: AbortSignal): Promise<Pod> {
    return this.viaPod(ref)?.getPod(ref, signal) ?? this.kubectl.getPod(ref, signal);
  }

  /**
   * As patchJson: a trial's resize after the channel broke is not sent; a revert (`restore: true`) goes on through a
   * kubectl process.
   */
  resizePod(ref: PodRef, ops: JsonPatchOp[], options: { dryRun: boolean; signal?: AbortSignal; restore?: boolean }): Promise<Pod> {
    const broken = this.channel?.broken;
    if (broken && !options.dryRun && !options.restore && this.channel?.coversPod(ref)) {
      return Promise.reject(new KubectlError('unreachable', `The API channel of this trial is gone (${broken}); this resize was not sent.`, '', ['PATCH', `${podPath(ref)}/resize`]));
    }
    return this.viaPod(ref)?.resizePod(ref, ops, options) ?? this.kubectl.resizePod(ref, ops, options);
  }

  listObjects(kind: 'HorizontalPodAutoscaler', namespace: string, signal?: AbortSignal): Promise<KubeObject[]> {
    const channel = this.channel && !this.channel.broken && this.channel.coversHpaList(namespace) ? this.channel : null;
    return channel?.listHpas(namespace, signal) ?? this.kubectl.listObjects(kind, namespace, signal);
  }

  rolloutStatus(ref: ObjectRef, timeoutSeconds: number, signal?: AbortSignal): Promise<{ ok: boolean; message: string }> {
    return this.kubectl.rolloutStatus(ref, timeoutSeconds, signal);
  }

  close(): Promise<void> {
    return this.channel?.close() ?? Promise.resolve();
  }
}
