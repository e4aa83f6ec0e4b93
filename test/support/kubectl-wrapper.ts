// Faithful wrappers around the real kubectl and the krr stand-in for the abuse suite: each logs its argv
// (so tests can check every argument that reached a process) and then execs the real program; the kubectl
// one can also SIGKILL itself on the k-th real (non-dry-run) patch, before or after the write lands.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { krrStandIn } from './session-fixture';

export interface WrapperOptions {
  /** Directory for the script, the argv log and the patch counter. */
  dir: string;
  /** Program the wrapper execs (default: kubectl on PATH, or the krr stand-in for `wrapKrr`). */
  real?: string;
  /**
   * SIGKILL on the k-th non-dry-run patch: 'in-flight' kills kubectl 300 ms after it started (pair it with a
   * server hang so the request is on the wire); 'after-write' lets kubectl finish, then dies without output.
   */
  killOnPatch?: { k: number; mode: 'in-flight' | 'after-write' };
  /** Extra arguments appended to every kubectl call (e.g. --request-timeout=2s). */
  appendArgs?: string[];
  /** Replace kubectl entirely: print this file to stdout and exit 0 (garbage-output tests). */
  printFile?: string;
  /** Append the pid of every `kubectl proxy` (the API channel) to this file, one a line (the wrapper execs, so it is kubectl's). */
  proxyPidFile?: string;
}

export interface Wrapper {
  path: string;
  logPath: string;
  /** Every argv logged so far, in order. */
  argvs(): string[][];
}

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * Each run appends: the argument count, a newline, then each argument NUL-terminated (any byte survives).
 * A record takes several writes, so it is appended under an exclusive flock of the log: concurrent runs
 * (an apply with applyConcurrency > 1) would otherwise interleave their records.
 */
function script(options: WrapperOptions, name: string, defaultReal: string): Wrapper {
  const scriptPath = path.join(options.dir, name);
  const logPath = path.join(options.dir, `${name}.argv`);
  const counter = path.join(options.dir, `${name}.patches`);
  const real = options.real ?? defaultReal;
  const append = (options.appendArgs ?? []).map(quote).join(' ');
  const lines = [
    '#!/bin/bash',
    `{ flock 9; printf '%d\\n' "$#" >&9; for a in "$@"; do printf '%s\\0' "$a" >&9; done; } 9>> ${quote(logPath)}`,
  ];
  if (options.printFile) lines.push(`cat ${quote(options.printFile)}`, 'exit 0');
  if (options.proxyPidFile) lines.push(`for a in "$@"; do if [ "$a" = proxy ]; then echo $$ >> ${quote(options.proxyPidFile)}; fi; done`);
  if (options.killOnPatch) {
    const { k, mode } = options.killOnPatch;
    lines.push(
      'is_write=0; has_patch=0',
      'for a in "$@"; do case "$a" in patch) has_patch=1;; --dry-run=*) is_write=2;; esac; done',
      'if [ "$has_patch" = 1 ] && [ "$is_write" = 0 ]; then',
      `  n=$(( $(cat ${quote(counter)} 2>/dev/null || echo 0) + 1 )); echo "$n" > ${quote(counter)}`,
      `  if [ "$n" = ${k} ]; then`,
      mode === 'in-flight'
        ? `    ${quote(real)} "$@" ${append} >/dev/null 2>&1 & child=$!; sleep 0.3; kill -9 "$child"; kill -9 $$`
        : `    ${quote(real)} "$@" ${append} >/dev/null 2>&1; kill -9 $$`,
      '  fi',
      'fi',
    );
  }
  lines.push(`exec ${quote(real)} "$@" ${append}`);
  writeFileSync(scriptPath, `${lines.join('\n')}\n`);
  chmodSync(scriptPath, 0o755);
  return { path: scriptPath, logPath, argvs: () => readArgvLog(logPath) };
}

export function wrapKubectl(options: WrapperOptions): Wrapper {
  return script(options, 'kubectl', 'kubectl');
}

export function wrapKrr(options: WrapperOptions): Wrapper {
  return script({ ...options, killOnPatch: undefined, appendArgs: undefined }, 'krr', krrStandIn);
}

export function readArgvLog(logPath: string): string[][] {
  if (!existsSync(logPath)) return [];
  const bytes = readFileSync(logPath);
  const argvs: string[][] = [];
  let at = 0;
  // A malformed record throws: a search that found nothing (-1) must never send `at` back to the start.
  const malformed = (where: number) => new Error(`${logPath}: malformed argv record at byte ${where}`);
  while (at < bytes.length) {
    const newline = bytes.indexOf(0x0a, at);
    const n = newline === -1 ? Number.NaN : Number(bytes.subarray(at, newline).toString('utf8'));
    if (!Number.isInteger(n) || n < 0) throw malformed(at);
    at = newline + 1;
    const argv: string[] = [];
    for (let i = 0; i < n; i++) {
      const end = bytes.indexOf(0, at);
      if (end === -1) throw malformed(at);
      argv.push(bytes.subarray(at, end).toString('utf8'));
      at = end + 1;
    }
    argvs.push(argv);
  }
  return argvs;
}

const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const isLabel = (value: string) => value.length <= 63 && label.test(value);
const isSubdomain = (value: string) => value.length <= 253 && value.split('.').every(isLabel);
const isContext = (value: string) => value.length > 0 && value.length <= 253 && !value.startsWith('-') && !/[\p{Cc}\u2028\u2029]/u.test(value);

/**
 * The name-bearing arguments of one kubectl argv that break the RFC 1123 / leading-dash rules (empty when
 * all are valid): --context's value, -n's value, the object name after `get|patch <resource>`, and
 * `<resource>/<name>` of rollout status.
 */
export function invalidKubectlArguments(argv: readonly string[]): string[] {
  const bad: string[] = [];
  const check = (value: string | undefined, valid: (v: string) => boolean) => {
    if (value === undefined || !valid(value)) bad.push(String(value));
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--context') check(argv[i + 1], isContext);
    if (arg === '-n' || arg === '--namespace') check(argv[i + 1], isLabel);
    if (arg.startsWith('--namespace=')) check(arg.slice('--namespace='.length), isLabel);
  }
  const verbAt = argv.findIndex((arg) => arg === 'get' || arg === 'patch' || arg === 'rollout');
  if (verbAt >= 0) {
    const verb = argv[verbAt];
    if (verb === 'rollout') {
      const target = argv[verbAt + 2] ?? '';
      check(target.split('/')[1], isSubdomain);
    } else {
      const name = argv[verbAt + 2];
      // `get <resource> -n ns -o json` (a list) has no name.
      if (name !== undefined && name !== '-n') check(name, isSubdomain);
    }
  }
  return bad;
}

/**
 * The same for krr: --context, --namespace (a name or krr's regex, but never a flag), --selector and
 * --prometheus-url values; and, given the configured Prometheus URL, a --prometheus-auth-header that
 * goes with any other URL (or with none).
 */
export function invalidKrrArguments(argv: readonly string[], options: { configuredPrometheusUrl?: string } = {}): string[] {
  const bad: string[] = [];
  const url = argv.find((arg) => arg.startsWith('--prometheus-url='))?.slice('--prometheus-url='.length);
  if (url !== undefined && (!/^https?:\/\/[^\s\p{Cc}]+$/u.test(url) || !URL.canParse(url))) bad.push(`--prometheus-url=${url}`);
  if (argv.some((arg) => arg.startsWith('--prometheus-auth-header='))) {
    const where = (u: string) => {
      const parsed = new URL(u);
      return `${parsed.protocol}//${parsed.username}:${parsed.password}@${parsed.host}${parsed.pathname.replace(/(.)\/$/, '$1')}${parsed.search}`;
    };
    const same = url !== undefined && options.configuredPrometheusUrl !== undefined && URL.canParse(url) && where(url) === where(options.configuredPrometheusUrl);
    if (!same) bad.push(`--prometheus-auth-header with ${url ?? 'no URL'}`);
  }
  for (const arg of argv) {
    const [flag, ...rest] = arg.split('=');
    const value = rest.join('=');
    if (flag === '--context' && !isContext(value)) bad.push(arg);
    if (flag === '--namespace' && (value === '' || value.startsWith('-') || /[\s\p{Cc}]/u.test(value))) bad.push(arg);
    if (flag === '--selector' && !/^[A-Za-z0-9_.\-/=!,() ]+$/.test(value)) bad.push(arg);
  }
  // Positional arguments that look like flags other than the ones we build would be injected ones.
  if (argv.some((arg) => /^-(n|c|k|s|p|H|r|w|f)$/.test(arg) && arg !== '-f')) bad.push('short flag');
  return bad;
}
