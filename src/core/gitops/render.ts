// Running a renderer (`kubectl kustomize`, `helm template`) on workspace content, which is hostile input: with no
// route out, nothing of the user's environment, a bounded time and a bounded output.
// - No route out: every proxy variable points at a closed loopback port and NO_PROXY is empty, so a fetch the field
//   checks missed fails at once instead of reaching the network. Go still dials loopback hosts directly (its proxy
//   rule skips them), which is why the kustomization's fields are checked first (kustomizeRemote) and every run is
//   bounded in time.
// - Nothing of the user's: HOME, the XDG and Helm directories point at an empty private directory, KUBECONFIG at a
//   file that does not exist; no token, kubeconfig, helm repository or registry credential is visible to the
//   renderer (neither needs one to render). PATH stays so `kubectl`/`helm` by name resolve as configured.
// - Bounded: each run is killed (its whole process group, so a git or plugin child goes too) after `timeoutMs` or when
//   the proposal is cancelled; the runs of one proposal that time out share a budget, after which no new run starts.
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';

/** Where every proxy variable points: a loopback port nothing listens on (connections are refused at once). */
export const closedProxy = 'http://127.0.0.1:1';

export const renderLimits = {
  /** One render (one kubectl kustomize or helm template run). */
  timeoutMs: 20_000,
  /**
   * Time the renders of one proposal may spend timing out, together: with K kustomizations that hang, a proposal
   * waits at most this long for them (plus one render's bound), not K × timeoutMs; further renders are refused.
   */
  hungBudgetMs: 40_000,
  /** A render printing more than this is stopped and refused. */
  maxOutputBytes: 32 * 1024 * 1024,
};

export class RenderError extends Error {
  override readonly name = 'RenderError';
  constructor(
    readonly kind: 'not-installed' | 'timeout' | 'aborted' | 'failed' | 'budget' | 'output',
    message: string,
    readonly stderr = '',
  ) {
    super(message);
  }
}

/** What a proposal rendered: renderer runs, and each root or chart they rendered ("kubectl kustomize overlays/prod"). */
export interface RenderCount {
  count: number;
  runs: readonly string[];
}

/**
 * The renders of one proposal: the time they spent timing out, what hung (not run again in this proposal), how many
 * ran, and their output by the content of what they read (a second render of the same inputs is not run).
 */
export class RenderGuard {
  private hungMs = 0;
  private readonly hung = new Map<string, string>();
  private homeDir: string | null = null;
  /** Renderer processes started in this proposal (cache hits are not counted): the bench reports it. */
  count = 0;
  /** What they rendered ("kubectl kustomize overlays/prod"), in order: one entry per root or chart, a batch's roots each. */
  readonly runs: string[] = [];
  /** Output (or failure) by content key: a renderer is a function of its inputs, so the same inputs give the same. */
  private readonly outputs = new Map<string, Promise<string>>();
  private scratches = 0;
  /** Content keys a batch running in the background renders, until it is over. */
  private readonly ahead = new Map<string, Promise<void>>();
  private readonly background: Array<Promise<void>> = [];
  private batchTimedOut = false;

  constructor(
    private readonly tempDir: string,
    readonly limits: typeof renderLimits = renderLimits,
  ) {}

  /** An empty directory for the renderer's HOME, caches and configuration; made on first use. */
  home(): string {
    if (this.homeDir === null) {
      this.homeDir = path.join(this.tempDir, 'render-home');
      mkdirSync(this.homeDir, { recursive: true });
    }
    return this.homeDir;
  }

  /** A new directory for a batch's temporary kustomization, outside every staged copy. */
  scratchDir(): string {
    return path.join(this.tempDir, 'batches', String(this.scratches++));
  }

  /** Whether an output (or a failure) of a render with this content key is known, or a batch is rendering it. */
  known(contentKey: string): boolean {
    return this.outputs.has(contentKey) || this.ahead.has(contentKey);
  }

  /**
   * Batches run in the background (kustomizeBatch): `work` renders the inputs of `contentKeys` and seeds what it keeps;
   * meanwhile a render of one of them waits for it. Whoever writes what the batches read (the staged copy) waits for
   * settled() first.
   */
  runAhead(contentKeys: readonly string[], work: () => Promise<void>): void {
    const done = work();
    const over = done.then(
      () => undefined,
      () => undefined,
    );
    for (const contentKey of contentKeys) {
      const waiting = over.then(() => {
        if (this.ahead.get(contentKey) === waiting) this.ahead.delete(contentKey);
      });
      this.ahead.set(contentKey, waiting);
    }
    this.background.push(done);
  }

  /** Once no batch runs; rejects with the first error of one that failed for another reason than a render's. */
  async settled(): Promise<void> {
    const running = this.background.splice(0);
    const results = await Promise.allSettled(running);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected' && !(result.reason instanceof RenderError));
    if (failed) throw failed.reason;
  }

  /**
   * Keeps `text` as the output of a render with this content key (one root of a batch, split back), unless one is
   * known; `what` is counted as rendered (the run itself was counted by runBatch).
   */
  seed(contentKey: string, text: string, what: string): void {
    if (this.outputs.has(contentKey)) return;
    this.outputs.set(contentKey, Promise.resolve(text));
    this.runs.push(what);
  }

  /**
   * One renderer run for several inputs (kustomizeBatch), bounded and counted like any other; nothing is remembered
   * for a key (a failed batch only means its roots are rendered alone). A batch that times out is not charged to the
   * budget (its roots are, if they hang alone too), but no batch starts after it: a proposal waits at most one
   * render's bound longer than the budget says.
   */
  async runBatch(command: string, args: readonly string[], what: string, signal?: AbortSignal): Promise<string> {
    if (this.batchTimedOut) throw new RenderError('budget', `${what}: not run, a batch of this proposal timed out`);
    if (this.hungMs >= this.limits.hungBudgetMs) throw new RenderError('budget', `${what}: not run, the renders of this proposal already timed out for ${Math.round(this.hungMs / 1000)} s`);
    this.count++;
    try {
      return await runRenderer({ command, args, what, timeoutMs: this.limits.timeoutMs, home: this.home(), maxOutputBytes: this.limits.maxOutputBytes, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (error instanceof RenderError && error.kind === 'timeout') this.batchTimedOut = true;
      throw error;
    }
  }

  /** Why `key` is not rendered (it hung before, or the budget is spent); null: it may run. */
  refusal(key: string): string | null {
    const before = this.hung.get(key);
    if (before !== undefined) return before;
    if (this.hungMs >= this.limits.hungBudgetMs) return `not rendered: the renders of this proposal already timed out for ${Math.round(this.hungMs / 1000)} s (bound ${Math.round(this.limits.hungBudgetMs / 1000)} s)`;
    return null;
  }

  /**
   * Runs `command args` under the guard; a timeout is remembered for `key`. With `contentKey` (a hash of every input
   * the render reads, as it is now), the output of an earlier run with the same key is returned instead of running
   * again; a failure of the renderer is reused too, a timeout or a cancellation never (they say nothing of the input).
   */
  async run(key: string, command: string, args: readonly string[], what: string, signal?: AbortSignal, contentKey?: string): Promise<string> {
    if (contentKey === undefined) return this.start(key, command, args, what, signal);
    // A batch running ahead with this input: its output, or nothing kept (then it is rendered here).
    const ahead = this.ahead.get(contentKey);
    if (ahead) await ahead;
    const known = this.outputs.get(contentKey);
    if (known) return known;
    const running = this.start(key, command, args, what, signal);
    this.outputs.set(contentKey, running);
    running.catch((error: unknown) => {
      if (!(error instanceof RenderError && (error.kind === 'failed' || error.kind === 'output'))) this.outputs.delete(contentKey);
    });
    return running;
  }

  private async start(key: string, command: string, args: readonly string[], what: string, signal?: AbortSignal): Promise<string> {
    const refused = this.refusal(key);
    if (refused !== null) throw new RenderError('budget', `${what}: ${refused}`);
    // Never longer than the budget left, so the K-th hang cannot overshoot it by a whole timeout.
    const timeoutMs = Math.min(this.limits.timeoutMs, Math.max(1, this.limits.hungBudgetMs - this.hungMs));
    const started = performance.now();
    this.count++;
    this.runs.push(what);
    try {
      return await runRenderer({ command, args, what, timeoutMs, home: this.home(), maxOutputBytes: this.limits.maxOutputBytes, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (error instanceof RenderError && error.kind === 'timeout') {
        this.hungMs += performance.now() - started;
        this.hung.set(key, error.message);
      }
      throw error;
    }
  }
}

/** The renderer's whole environment: no variable of the user's but the few a process needs to start. */
export function closedEnvironment(home: string): Record<string, string> {
  const env: Record<string, string> = {};
  // PATH to find the renderer by name; the rest are what a process needs to start on Windows.
  for (const name of ['PATH', 'Path', 'PATHEXT', 'SystemRoot', 'SYSTEMROOT', 'windir', 'ComSpec']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  const proxies = Object.fromEntries(['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy'].map((name) => [name, closedProxy]));
  return {
    ...env,
    ...proxies,
    NO_PROXY: '',
    no_proxy: '',
    // English messages, whatever the user's locale.
    LC_ALL: 'C',
    LANG: 'C',
    HOME: home,
    USERPROFILE: home,
    TMPDIR: home,
    TMP: home,
    TEMP: home,
    XDG_CONFIG_HOME: path.join(home, 'config'),
    XDG_CACHE_HOME: path.join(home, 'cache'),
    XDG_DATA_HOME: path.join(home, 'data'),
    HELM_CONFIG_HOME: path.join(home, 'helm', 'config'),
    HELM_CACHE_HOME: path.join(home, 'helm', 'cache'),
    HELM_DATA_HOME: path.join(home, 'helm', 'data'),
    HELM_PLUGINS: path.join(home, 'helm', 'plugins'),
    HELM_REGISTRY_CONFIG: path.join(home, 'helm', 'registry.json'),
    HELM_REPOSITORY_CONFIG: path.join(home, 'helm', 'repositories.yaml'),
    HELM_REPOSITORY_CACHE: path.join(home, 'helm', 'repository'),
    KUBECONFIG: path.join(home, 'no-kubeconfig'),
    // A git that kustomize might still start asks nobody and reads no user or system configuration.
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: path.join(home, 'no-gitconfig'),
  };
}

interface RendererRun {
  command: string;
  args: readonly string[];
  /** For messages: "kubectl kustomize overlays/prod". */
  what: string;
  timeoutMs: number;
  home: string;
  maxOutputBytes: number;
  signal?: AbortSignal;
}

/** Runs one renderer in the closed environment; its stdout, or a RenderError saying why not. */
export async function runRenderer(run: RendererRun): Promise<string> {
  if (run.signal?.aborted) throw new RenderError('aborted', `${run.what} was cancelled before it started`);
  // execa is ESM-only (see core/kube/kubectl): loaded on first use. Never a shell: an argv array.
  const { execa } = await import('execa');
  // Its own process group (POSIX), so a timeout kills what it started too (git, a plugin).
  const group = process.platform !== 'win32';
  const child = execa(run.command, [...run.args], {
    reject: false,
    extendEnv: false,
    env: closedEnvironment(run.home),
    cwd: run.home,
    stdin: 'ignore',
    detached: group,
    maxBuffer: run.maxOutputBytes,
    stripFinalNewline: false,
  });
  let stopped: 'timeout' | 'aborted' | null = null;
  const kill = (why: 'timeout' | 'aborted') => {
    stopped ??= why;
    try {
      if (group && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  };
  const timer = setTimeout(() => kill('timeout'), run.timeoutMs);
  const onAbort = () => kill('aborted');
  run.signal?.addEventListener('abort', onAbort, { once: true });
  let result;
  try {
    result = await child;
  } finally {
    clearTimeout(timer);
    run.signal?.removeEventListener('abort', onAbort);
  }
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  const code = (result as { code?: unknown }).code;
  if (code === 'ENOENT' || code === 'EACCES') throw new RenderError('not-installed', `${run.command} was not found or cannot run`, stderr);
  if (stopped === 'timeout') throw new RenderError('timeout', `${run.what} did not finish within ${Math.round(run.timeoutMs / 1000)} s and was stopped (a renderer waiting on the network, or a chart or kustomization that never ends)`, stderr);
  if (stopped === 'aborted') throw new RenderError('aborted', `${run.what} was cancelled`, stderr);
  if ((result as { isMaxBuffer?: boolean }).isMaxBuffer) throw new RenderError('output', `${run.what} printed more than ${Math.round(run.maxOutputBytes / 2 ** 20)} MiB and was stopped`, stderr);
  if (result.failed || result.exitCode !== 0) throw new RenderError('failed', `${run.what} failed: ${stderr.trim().split('\n')[0] ?? ''}`, stderr);
  return typeof result.stdout === 'string' ? result.stdout : '';
}
