// Runs krr (robusta-dev/krr, a Python CLI) with an argument array, never a shell, and turns its exit
// code and stderr into a Report or a KrrError that says what to do. Facts: docs/krr-facts.md.
import { workloadKinds, type Report } from './model';
import { ReportParseError, parseReport } from './report';

export interface KrrScanOptions {
  krrPath: string;
  strategy: 'simple' | 'simple_limit';
  context?: string;
  kubeconfig?: string;
  /** krr treats each as a regex; kube-system is scanned only when named. */
  namespaces?: string[];
  selector?: string;
  /** Workload kinds (krr's -r), e.g. Deployment. */
  resources?: string[];
  prometheusUrl?: string;
  /** Secret: passed to krr, never logged, never in an error message. */
  prometheusAuthHeader?: string;
  historyHours?: number;
  cpuPercentile?: number;
  memoryBufferPercent?: number;
  cpuMinMillicores?: number;
  memMinMib?: number;
  allowHpa?: boolean;
  useOomKillData?: boolean;
  /** simple_limit only. */
  cpuRequestPercentile?: number;
  /** simple_limit only. */
  cpuLimitPercentile?: number;
  maxWorkers?: number;
  /** Centralized Prometheus: the label NAME that tells clusters apart (krr --prometheus-label), e.g. `cluster`. */
  prometheusLabel?: string;
  /** Centralized Prometheus: this cluster's VALUE of that label (krr -l/--prometheus-cluster-label), e.g. `prod-eu-1`. */
  prometheusClusterLabel?: string;
  /** Secret: extra `Name: value` headers for Prometheus (krr -H), never logged, never in an error message. */
  prometheusHeaders?: string[];
  /** With useOomKillData: headroom over the memory an OOM-killed container had (krr default 25). */
  oomMemoryBufferPercent?: number;
  /** Jobs sharing one of these labels are reported as one GroupedJob row (krr --job-grouping-labels). */
  jobGroupingLabels?: string[];
  /** Most Jobs krr reads per GroupedJob group (krr --job-grouping-limit, default 500). */
  jobGroupingLimit?: number;
}

export interface KrrScanControl {
  signal?: AbortSignal;
  /** Default 10 minutes. */
  timeoutMs?: number;
  /** One call per krr log line (stderr), without krr's time and level prefix. */
  onProgress?: (message: string) => void;
  /** The executable and arguments about to run, with the Prometheus auth header replaced by `***`. */
  onCommand?: (argvMasked: string[]) => void;
  /** Added to the inherited environment. */
  env?: Record<string, string>;
}

export interface KrrScanResult {
  report: Report;
  /** The last part of krr's stderr (secrets masked), for the output channel. */
  stderrTail: string;
  durationMs: number;
  /** Size of krr's JSON output, for the session's memory bound. */
  bytes: number;
}

export type KrrErrorKind =
  | 'not-installed'
  | 'kube-config'
  | 'no-prometheus'
  | 'prometheus-unreachable'
  | 'nothing-to-scan'
  | 'all-scans-failed'
  | 'multiple-clusters'
  | 'no-json'
  | 'usage'
  | 'timeout'
  | 'aborted'
  | 'failed';

export class KrrError extends Error {
  override name = 'KrrError';
  constructor(
    readonly kind: KrrErrorKind,
    message: string,
    /** What the user can do about it, in a sentence or two. */
    readonly hint: string,
  ) {
    super(message);
  }
}

export const defaultKrrTimeoutMs = 10 * 60 * 1000;
/** Grace between SIGTERM and SIGKILL when a scan is cancelled or times out. */
const killGraceMs = 2000;
const stderrTailChars = 4000;
const masked = '***';

const installHint =
  'Install krr (`pip install krr` or `brew install robusta-dev/homebrew-krr/krr`, or the release binary), ' +
  'or point the setting `krr.krrPath` at the krr executable.';


// ---- arguments ----

// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f]/;
// A namespace is an RFC 1123 label, but krr reads -n as a regex: allow the label characters plus regex
// syntax, never whitespace or control characters, and never a leading '-' (it would read as a flag).
const namespacePattern = /^[a-z0-9.*+?^$()[\]{}|\\-]+$/;
/** A Prometheus label name (PromQL): krr puts it unquoted into every query. */
const prometheusLabelNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A Kubernetes label key (optional DNS prefix + name), for --job-grouping-labels. */
const labelKeyPattern = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** An HTTP header name (RFC 9110 token). */
const headerNamePattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function usage(message: string, hint: string): KrrError {
  return new KrrError('usage', message, hint);
}

function checkText(name: string, value: string, options: { max: number }): void {
  if (value.length === 0) throw usage(`${name} is empty.`, `Give a value for ${name} or leave it unset.`);
  if (value.length > options.max) throw usage(`${name} is longer than ${options.max} characters.`, `Shorten ${name}.`);
  if (controlCharacters.test(value)) throw usage(`${name} contains control characters.`, `Remove line breaks and control characters from ${name}.`);
  if (value.startsWith('-')) throw usage(`${name} must not start with '-'.`, `krr would read it as a flag; check ${name}.`);
}

function checkNumber(name: string, value: number, min: number, max: number, integer = false): string {
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw usage(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${String(value)}.`, `Change ${name}.`);
  }
  return String(value);
}

/**
 * krr's argument list for one scan, after validating every input. Values are attached with `=` so none
 * can be read as another flag. `-q` is not passed: it would silence the log lines used for progress;
 * the price is krr's two start-up network calls (intro and release check, 0.5 s timeout each).
 */
export function buildKrrArgs(options: KrrScanOptions): string[] {
  const strategy = options.strategy as string;
  if (strategy !== 'simple' && strategy !== 'simple_limit') {
    throw usage(`Unknown krr strategy ${JSON.stringify(strategy)}.`, 'Use simple or simple_limit.');
  }
  const args: string[] = [strategy];
  if (options.context !== undefined) {
    checkText('the kube context', options.context, { max: 1024 });
    args.push(`--context=${options.context}`);
  }
  if (options.kubeconfig !== undefined) {
    checkText('the kubeconfig path', options.kubeconfig, { max: 4096 });
    args.push(`--kubeconfig=${options.kubeconfig}`);
  }
  for (const namespace of options.namespaces ?? []) {
    checkText(`the namespace ${JSON.stringify(namespace)}`, namespace, { max: 253 });
    if (!namespacePattern.test(namespace)) {
      throw usage(
        `The namespace ${JSON.stringify(namespace)} is neither a namespace name nor a simple regex.`,
        'Use lowercase letters, digits, "-", "." and regex characters (krr matches -n as a regex).',
      );
    }
    try {
      new RegExp(namespace);
    } catch {
      throw usage(`The namespace pattern ${JSON.stringify(namespace)} is not a valid regex.`, 'Fix the pattern or give a plain namespace name.');
    }
    args.push(`--namespace=${namespace}`);
  }
  for (const resource of options.resources ?? []) {
    if (!(workloadKinds as readonly string[]).includes(resource)) {
      throw usage(`krr cannot scan the kind ${JSON.stringify(resource)}.`, `Use one of ${workloadKinds.join(', ')}.`);
    }
    args.push(`--resource=${resource}`);
  }
  if (options.selector !== undefined) {
    checkText('the label selector', options.selector, { max: 4096 });
    args.push(`--selector=${options.selector}`);
  }
  if (options.prometheusUrl !== undefined) {
    // krr (pydantic) checks `startswith('http://')` case-sensitively: `HTTP://` would exit 0 without a
    // report, so the scheme is passed lower-cased (the same URL).
    const url = options.prometheusUrl.replace(/^https?(?=:\/\/)/i, (scheme) => scheme.toLowerCase());
    checkText('the Prometheus URL', url, { max: 4096 });
    let valid = /^https?:\/\//.test(url) && !/\s/.test(url);
    try {
      new URL(url);
    } catch {
      valid = false;
    }
    if (!valid) {
      throw usage('The Prometheus URL must be an http:// or https:// URL.', 'Set `krr.prometheusUrl` to e.g. http://localhost:9090.');
    }
    args.push(`--prometheus-url=${url}`);
  }
  if (options.prometheusAuthHeader !== undefined) {
    // Never echo the value: it is a credential.
    if (options.prometheusAuthHeader.length === 0 || controlCharacters.test(options.prometheusAuthHeader)) {
      throw usage('The Prometheus auth header is empty or contains control characters.', 'Check the Prometheus auth header setting.');
    }
    args.push(`--prometheus-auth-header=${options.prometheusAuthHeader}`);
  }
  if (options.prometheusLabel !== undefined || options.prometheusClusterLabel !== undefined) {
    // krr builds `{<label>="<value>"}` into every query; one without the other selects no series (or all clusters' series).
    if (options.prometheusLabel === undefined || options.prometheusClusterLabel === undefined) {
      throw usage(
        'A centralized Prometheus needs both the label name (krr.prometheusLabel, e.g. "cluster") and this cluster\'s value of it (krr.prometheusClusterLabel, e.g. "prod-eu-1").',
        'Set both, or neither for a Prometheus that holds one cluster.',
      );
    }
    checkText('the Prometheus label name', options.prometheusLabel, { max: 200 });
    if (!prometheusLabelNamePattern.test(options.prometheusLabel)) {
      throw usage(`The Prometheus label name ${JSON.stringify(options.prometheusLabel)} is not a label name.`, 'Use the label that tells clusters apart in your central Prometheus, e.g. cluster (letters, digits and _).');
    }
    checkText('the Prometheus cluster label value', options.prometheusClusterLabel, { max: 1024 });
    if (options.prometheusClusterLabel.includes('"') || options.prometheusClusterLabel.includes('\\')) {
      throw usage('The Prometheus cluster label value contains " or \\.', 'krr puts it in double quotes into its queries; use the plain cluster name.');
    }
    args.push(`--prometheus-label=${options.prometheusLabel}`, `--prometheus-cluster-label=${options.prometheusClusterLabel}`);
  }
  for (const header of options.prometheusHeaders ?? []) {
    // Never echo the value: headers carry tenant ids and tokens. krr splits each on ':' into exactly two parts
    // (a second ':' makes its settings invalid and it exits 0 without a report), so that is checked here first.
    const parts = header.split(':');
    if (parts.length !== 2 || !headerNamePattern.test((parts[0] ?? '').trim()) || controlCharacters.test(header) || (parts[1] ?? '').trim() === '') {
      throw usage(
        `A Prometheus header (number ${(options.prometheusHeaders ?? []).indexOf(header) + 1}) is not "Name: value" with exactly one ':' (its value is not shown).`,
        'Check krr.prometheusHeaders: krr accepts "Name: value" with a single colon, no line breaks.',
      );
    }
    args.push(`--prometheus-headers=${header}`);
  }
  if (options.cpuMinMillicores !== undefined) args.push(`--cpu-min=${checkNumber('cpuMinMillicores', options.cpuMinMillicores, 0, 100_000, true)}`);
  if (options.memMinMib !== undefined) args.push(`--mem-min=${checkNumber('memMinMib', options.memMinMib, 0, 1_048_576, true)}`);
  if (options.maxWorkers !== undefined) args.push(`--max-workers=${checkNumber('maxWorkers', options.maxWorkers, 1, 256, true)}`);
  if (options.historyHours !== undefined) args.push(`--history_duration=${checkNumber('historyHours', options.historyHours, 0.1, 24 * 366)}`);
  if (options.cpuPercentile !== undefined) args.push(`--cpu_percentile=${checkNumber('cpuPercentile', options.cpuPercentile, 1, 100)}`);
  if (options.memoryBufferPercent !== undefined) {
    args.push(`--memory_buffer_percentage=${checkNumber('memoryBufferPercent', options.memoryBufferPercent, 0, 1000)}`);
  }
  if (options.allowHpa) args.push('--allow-hpa');
  if (options.useOomKillData) args.push('--use_oomkill_data');
  if (options.oomMemoryBufferPercent !== undefined) {
    if (!options.useOomKillData) throw usage('The OOM memory buffer applies only with OOMKill data.', 'Turn on krr.useOomKillData or drop krr.oomMemoryBufferPercent.');
    args.push(`--oom_memory_buffer_percentage=${checkNumber('oomMemoryBufferPercent', options.oomMemoryBufferPercent, 0, 1000)}`);
  }
  if (options.jobGroupingLabels !== undefined && options.jobGroupingLabels.length > 0) {
    for (const label of options.jobGroupingLabels) {
      if (label.length > 317 || !labelKeyPattern.test(label)) {
        throw usage(`The job grouping label ${JSON.stringify(label.slice(0, 80))} is not a Kubernetes label key.`, 'Use label keys such as app or batch.example.com/pipeline in krr.jobGroupingLabels.');
      }
    }
    args.push(`--job-grouping-labels=${options.jobGroupingLabels.join(',')}`);
  }
  if (options.jobGroupingLimit !== undefined) {
    if (!options.jobGroupingLabels?.length) throw usage('The job grouping limit applies only with job grouping labels.', 'Set krr.jobGroupingLabels or drop krr.jobGroupingLimit.');
    args.push(`--job-grouping-limit=${checkNumber('jobGroupingLimit', options.jobGroupingLimit, 1, 100_000, true)}`);
  }
  if (options.cpuRequestPercentile !== undefined || options.cpuLimitPercentile !== undefined) {
    if (strategy !== 'simple_limit') {
      throw usage('CPU request/limit percentiles apply only to the simple_limit strategy.', 'Choose simple_limit or drop those settings.');
    }
    if (options.cpuRequestPercentile !== undefined) args.push(`--cpu_request=${checkNumber('cpuRequestPercentile', options.cpuRequestPercentile, 1, 100)}`);
    if (options.cpuLimitPercentile !== undefined) args.push(`--cpu_limit=${checkNumber('cpuLimitPercentile', options.cpuLimitPercentile, 1, 100)}`);
  }
  // Without --logtostderr krr writes its banner and logs to stdout, into the JSON.
  args.push('--logtostderr', '-f', 'json');
  return args;
}

const secretFlags = ['--prometheus-auth-header=', '--prometheus-headers='];

/** The argument list with the values of the Prometheus auth header and extra headers replaced by `***`. */
export function maskKrrArgs(args: readonly string[]): string[] {
  return args.map((arg) => {
    const flag = secretFlags.find((prefix) => arg.startsWith(prefix));
    return flag ? `${flag}${masked}` : arg;
  });
}

/**
 * Replaces the header, and each long part of it (the token of `Bearer <token>`, which krr may log on its own),
 * by `***`. Longest first, so a part never leaves a piece of the whole behind.
 */
function maskerOf(secrets: ReadonlyArray<string | undefined>): (text: string) => string {
  const present = secrets.filter((secret): secret is string => Boolean(secret));
  if (present.length === 0) return (text) => text;
  // A header's value alone too (`X-Scope-OrgID: tenant-a` is logged as `tenant-a` by some clients).
  const parts = [...new Set(present.flatMap((secret) => [secret, ...secret.split(/[\s:,;=]+/).filter((part) => part.length >= 8), ...headerValues(secret)]))].sort((a, b) => b.length - a.length);
  return (text) => parts.reduce((done, part) => done.split(part).join(masked), text);
}

function headerValues(header: string): string[] {
  const at = header.indexOf(':');
  const value = at > 0 ? header.slice(at + 1).trim() : '';
  return value.length >= 4 ? [value] : [];
}

// ---- running ----

// execa is ESM-only and one of its dependencies exports only an `import` condition: a static import
// breaks when this module is loaded through require() (tsx/mocha in CommonJS). import() works in both.
async function loadExeca() {
  return (await import('execa')).execa;
}

/** Runs one krr scan; resolves with the parsed report or rejects with a KrrError. */
export async function runKrrScan(options: KrrScanOptions, control: KrrScanControl = {}): Promise<KrrScanResult> {
  const args = buildKrrArgs(options);
  const mask = maskerOf([options.prometheusAuthHeader, ...(options.prometheusHeaders ?? [])]);
  if (!options.krrPath) throw new KrrError('not-installed', 'No krr executable is configured.', installHint);
  if (control.signal?.aborted) throw new KrrError('aborted', 'The krr scan was cancelled.', 'Start the scan again when ready.');
  control.onCommand?.([options.krrPath, ...maskKrrArgs(args)]);

  const execa = await loadExeca();
  const started = Date.now();
  // Its own process group (POSIX), so cancel and timeout can kill krr's worker processes too.
  const ownGroup = process.platform !== 'win32';
  const subprocess = execa(options.krrPath, args, {
    reject: false,
    stdin: 'ignore',
    detached: ownGroup,
    cleanup: true,
    env: control.env,
    maxBuffer: 512 * 1024 * 1024,
    stripFinalNewline: false,
  });

  let stopped: 'aborted' | 'timeout' | null = null;
  let forceKill: NodeJS.Timeout | undefined;
  const killTree = (signal: NodeJS.Signals) => {
    try {
      if (ownGroup && subprocess.pid !== undefined) process.kill(-subprocess.pid, signal);
      else subprocess.kill(signal);
    } catch {
      // already gone
    }
  };
  const stop = (reason: 'aborted' | 'timeout') => {
    if (stopped) return;
    stopped = reason;
    killTree('SIGTERM');
    forceKill = setTimeout(() => killTree('SIGKILL'), killGraceMs);
    forceKill.unref();
  };
  const onAbort = () => stop('aborted');
  control.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => stop('timeout'), control.timeoutMs ?? defaultKrrTimeoutMs);
  timer.unref();

  let pending = '';
  subprocess.stderr?.on('data', (chunk: Buffer | string) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) deliverProgress(line, control.onProgress, mask);
  });

  let result;
  try {
    result = await subprocess;
  } finally {
    clearTimeout(timer);
    control.signal?.removeEventListener('abort', onAbort);
  }
  if (pending) deliverProgress(pending, control.onProgress, mask);
  if (stopped !== null) {
    // Make sure nothing of the tree outlives the scan (SIGTERM may have been ignored by a worker).
    killTree('SIGKILL');
    if (forceKill) clearTimeout(forceKill);
  }
  const durationMs = Date.now() - started;
  const stdout = String(result.stdout ?? '');
  const stderr = mask(String(result.stderr ?? ''));
  const stderrTail = stderr.slice(-stderrTailChars);

  if (stopped === 'aborted') throw new KrrError('aborted', 'The krr scan was cancelled.', 'Start the scan again when ready.');
  if (stopped === 'timeout') {
    throw new KrrError(
      'timeout',
      `krr did not finish within ${Math.round((control.timeoutMs ?? defaultKrrTimeoutMs) / 1000)} s and was stopped.`,
      'Scan fewer namespaces (krr.namespaces), shorten the history, or raise the scan timeout.',
    );
  }
  if (result.code === 'ENOENT' || result.code === 'EACCES') {
    throw new KrrError(
      'not-installed',
      result.code === 'ENOENT' ? `krr was not found at ${options.krrPath}.` : `${options.krrPath} is not executable.`,
      installHint,
    );
  }
  if (result.exitCode === 0) {
    try {
      return { report: parseReport(stdout), stderrTail, durationMs, bytes: Buffer.byteLength(stdout) };
    } catch (error) {
      if (!(error instanceof ReportParseError)) throw error;
      if (/No JSON object found/.test(error.message)) {
        throw new KrrError(
          'no-json',
          `krr exited without a report${describeLastError(stderr)}.`,
          'krr rejected an argument (it exits 0 when its settings are invalid). Check the scan settings; the krr output has the details.',
        );
      }
      throw new KrrError('failed', mask(error.message), 'Check that krr is version 1.7 or later (`krr version`) and report the problem.');
    }
  }
  throw classifyFailure(result.exitCode, result.signal, stderr, options);
}

/** krr's log lines look like `[12:00:01] INFO     message`; continuation lines are indented. */
function deliverProgress(line: string, onProgress: ((message: string) => void) | undefined, mask: (text: string) => string): void {
  if (!onProgress) return;
  // eslint-disable-next-line no-control-regex
  const plain = line.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '').trimEnd();
  const match = /^(?:\[[\d:.,\s-]+\]\s+)?(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\s+(.*)$/.exec(plain.trimStart());
  if (match?.[1]) onProgress(mask(match[1]));
}

/** `: <the error line and up to two lines of detail>` from krr's stderr (Python traceback or log). */
function describeLastError(stderr: string): string {
  const lines = stderr.split('\n').map((line) => line.trimEnd()).filter((line) => line.trim() !== '');
  // A traceback ends with an unindented `SomeError: message` line, sometimes followed by details.
  let at = -1;
  for (let index = lines.length - 1; index >= 0 && index >= lines.length - 8; index -= 1) {
    if (/^[A-Za-z_][\w.]*(Error|Exception)\b/.test(lines[index] ?? '')) {
      at = index;
      break;
    }
  }
  const picked = at >= 0 ? lines.slice(at, at + 3) : lines.slice(-1);
  const text = picked.map((line) => line.trim()).join(' ').replace(/\.$/, '');
  return text ? `: ${text.slice(0, 500)}` : '';
}

function classifyFailure(exitCode: number | undefined, signal: string | undefined, stderr: string, options: KrrScanOptions): KrrError {
  if (exitCode === 2) {
    const line = /^Error: (.*)$/m.exec(stderr)?.[1] ?? describeLastError(stderr).slice(2);
    return new KrrError(
      'usage',
      `krr rejected its arguments: ${line}`,
      'This krr may be too old or too new for this extension; check `krr version` (1.7 or later is needed).',
    );
  }
  if (exitCode === 1) {
    const context = options.context ? `the kube context "${options.context}"` : 'the current kube context';
    const kubeconfig = options.kubeconfig ? `the kubeconfig ${options.kubeconfig}` : 'the default kubeconfig ($KUBECONFIG or ~/.kube/config)';
    if (/Could not load kubernetes configuration/.test(stderr)) {
      return new KrrError(
        'kube-config',
        `krr could not load the Kubernetes configuration${describeMatch(stderr, /Could not load kubernetes configuration: (.*)/)}.`,
        `Check ${context} exists in ${kubeconfig} (\`kubectl config get-contexts\`).`,
      );
    }
    if (/Wasn't able to connect to any Prometheus service/.test(stderr)) {
      return new KrrError(
        'no-prometheus',
        `krr found no Prometheus in ${options.context ?? 'the cluster'}.`,
        'Set `krr.prometheusUrl` to your Prometheus, e.g. run `kubectl port-forward -n monitoring svc/prometheus-server 9090:80` and use http://localhost:9090.',
      );
    }
    if (/Couldn't connect to Prometheus found under/.test(stderr)) {
      return new KrrError(
        'prometheus-unreachable',
        `krr could not reach Prometheus${describeMatch(stderr, /Couldn't connect to Prometheus found under (\S+)/, ' at ')}${describeMatch(stderr, /Caused by ([^\n]{0,300})/, ' (', ')')}.`,
        'Check `krr.prometheusUrl` is reachable from this machine (is the `kubectl port-forward` still running?) and that the auth header is right.',
      );
    }
    if (/No objects available to scan/.test(stderr)) {
      return new KrrError(
        'nothing-to-scan',
        'krr found no workloads to scan.',
        'Check the namespaces, label selector and kinds of the scan (kube-system is skipped unless named).',
      );
    }
    if (/No successful scans were made/.test(stderr)) {
      return new KrrError(
        'all-scans-failed',
        'krr could not compute any recommendation.',
        'Prometheus may lack the metrics krr reads (cAdvisor, kube-state-metrics); see the krr output for details.',
      );
    }
    if (/Cannot scan multiple clusters for this prometheus/.test(stderr)) {
      return new KrrError(
        'multiple-clusters',
        'krr cannot scan several clusters through one Prometheus.',
        'Scan one kube context at a time (set a single context).',
      );
    }
  }
  const how = exitCode !== undefined ? `exit code ${exitCode}` : `signal ${signal ?? 'unknown'}`;
  return new KrrError('failed', `krr failed (${how})${describeLastError(stderr)}.`, 'See the krr output for details; run the same scan in a terminal to reproduce.');
}

function describeMatch(text: string, pattern: RegExp, before = ': ', after = ''): string {
  const found = pattern.exec(text)?.[1]?.trim().replace(/\.$/, '');
  return found ? `${before}${found}${after}` : '';
}

// ---- version ----

/** Runs `krr version`. Versions before 1.7 (or unparsable ones) come with a warning naming what differs. */
export async function readKrrVersion(krrPath: string, signal?: AbortSignal): Promise<{ version: string | null; warning: string | null }> {
  const execa = await loadExeca();
  const result = await execa(krrPath, ['version'], {
    reject: false,
    stdin: 'ignore',
    timeout: 30_000,
    ...(signal ? { cancelSignal: signal } : {}),
  });
  if (result.code === 'ENOENT' || result.code === 'EACCES') {
    throw new KrrError('not-installed', `krr was not found at ${krrPath}.`, installHint);
  }
  if (result.isCanceled) throw new KrrError('aborted', 'Reading the krr version was cancelled.', 'Try again.');
  const output = String(result.stdout ?? '').trim();
  const match = /(?:^|\s|v)(\d+)\.(\d+)(?:\.(\d+))?([-.+][0-9A-Za-z.+-]*)?\s*$/.exec(output);
  if (result.exitCode !== 0 || !match) {
    return {
      version: null,
      warning: `Could not read the krr version (\`krr version\` ${result.exitCode !== 0 ? `exited with ${String(result.exitCode ?? result.signal)}` : 'printed no version'}); scans may fail or miss fields. 1.7 or later is needed.`,
    };
  }
  const version = `${match[1]}.${match[2]}${match[3] !== undefined ? `.${match[3]}` : ''}${match[4] ?? ''}`;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  const below = (wantMajor: number, wantMinor: number) => major < wantMajor || (major === wantMajor && minor < wantMinor);
  if (below(1, 7)) {
    return {
      version,
      warning: `krr ${version} is older than 1.7: its reports lack object warnings, the cluster summary, labels and the simple_limit strategy. Upgrade krr (pip install -U krr).`,
    };
  }
  if (below(1, 18)) {
    return {
      version,
      warning: `krr ${version} is older than 1.18: it has no simple_limit strategy and its reports carry no labels. Upgrade krr for those.`,
    };
  }
  return { version, warning: null };
}
