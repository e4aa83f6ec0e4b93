// krr's JSON report (`krr simple|simple_limit -f json`, v1.x): one zod schema, and its normalisation
// into our Report (model.ts). Facts from docs/krr-facts.md (krr v1.29.0 source).
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import {
  type Allocations,
  type ClusterSummary,
  type ContainerRecommendation,
  type Hpa,
  type RecommendedValue,
  type Report,
  type ReportError,
  type Severity,
  type Workload,
  severityOrder,
  workloadKinds,
  workloadKey,
  worstSeverity,
} from './model';
import { type ScanRow, readScansFast } from './reportScans';

export class ReportParseError extends Error {
  override name = 'ReportParseError';
}

/** Reports larger than this are refused before reading (a 5,000-container report is ~15 MB). */
export const maxReportFileBytes = 200 * 1024 * 1024;

const whatToDo = "Is this krr's -f json output (krr simple|simple_limit --logtostderr -f json)?";

// ---- schema (krr's keys, snake_case as krr writes them) ----
// z.object strips unknown keys: newer krr may add keys, and `config` (which can hold secrets in clear)
// and `annotations` (large) are never declared, so they never survive parsing.

const amountSchema = z.number({ error: 'expected a number ≥ 0 or null' }).nonnegative({ error: 'expected a number ≥ 0 or null' });
const currentAmountSchema = z.union([amountSchema, z.null()], { error: 'expected a number ≥ 0 or null' });
const recommendedValueSchema = z.union(
  [z.number().nonnegative({ error: 'expected a number ≥ 0, "?" or null' }), z.literal('?'), z.null()],
  { error: 'expected a number, "?" or null' },
);
const severitySchema = z.enum(severityOrder as [Severity, ...Severity[]], {
  error: `expected one of ${severityOrder.join(', ')}`,
});
const kindSchema = z.enum(workloadKinds, { error: `expected one of ${workloadKinds.join(', ')}` });

const pairOf = <T extends z.ZodType>(schema: T) => z.object({ cpu: schema, memory: schema });
const recommendationSchema = z.object({ value: recommendedValueSchema, severity: severitySchema });

const hpaSchema = z.object({
  min_replicas: z.number().int().nullable().optional(),
  max_replicas: z.number().int(),
  current_replicas: z.number().int().nullable().optional(),
  desired_replicas: z.number().int().nullable().optional(),
  target_cpu_utilization_percentage: z.number().nullable().optional(),
  target_memory_utilization_percentage: z.number().nullable().optional(),
});

const scanSchema = z.object({
  object: z.object({
    cluster: z.string().nullable(),
    // Kubernetes bounds (object names are DNS subdomains, namespaces and containers DNS labels): a longer
    // name is not from a cluster, and every later step (filters, policy globs, kubectl argv) stays small.
    name: z.string().min(1).max(253, { error: 'expected at most 253 characters (a Kubernetes object name)' }),
    container: z.string().min(1).max(63, { error: 'expected at most 63 characters (a Kubernetes container name)' }),
    pods: z.array(z.object({ name: z.string(), deleted: z.boolean() })).default([]),
    hpa: hpaSchema.nullable().optional(),
    namespace: z.string().min(1).max(63, { error: 'expected at most 63 characters (a Kubernetes namespace)' }),
    kind: kindSchema,
    allocations: z.object({ requests: pairOf(currentAmountSchema), limits: pairOf(currentAmountSchema) }),
    // krr < 1.7 has no object warnings; krr writes a Python set, so order means nothing.
    warnings: z.array(z.string()).default([]),
    // krr < 1.18 has no labels; `annotations` is deliberately not declared (dropped: it can be large).
    labels: z.record(z.string(), z.string()).nullable().optional(),
  }),
  recommended: z.object({
    requests: pairOf(recommendationSchema),
    limits: pairOf(recommendationSchema),
    info: pairOf(z.string().nullable().optional()).optional(),
  }),
  severity: severitySchema,
});

const clusterSummarySchema = z.object({
  cluster_cpu: amountSchema.optional(),
  cluster_memory: amountSchema.optional(),
  kube_system_cpu_req: amountSchema.optional(),
  kube_system_mem_req: amountSchema.optional(),
});

/** krr's report as `-f json` writes it (both strategies), minus `config` and `annotations`. */
export const krrReportSchema = z.object({
  scans: z.array(scanSchema),
  score: z.number().int().min(0).max(100),
  resources: z.array(z.enum(['cpu', 'memory'])).default(['cpu', 'memory']),
  description: z.string().nullable().optional(),
  strategy: z.object({ name: z.string(), settings: z.record(z.string(), z.unknown()).default({}) }),
  // Older krr has no `errors`.
  errors: z
    .array(z.object({ name: z.string(), retry_after: z.union([z.string(), z.number()]).nullable().optional() }))
    .default([]),
  // krr < 1.12 has no clusterSummary; krr writes {} when it could not compute one.
  clusterSummary: clusterSummarySchema.optional(),
});
export type KrrReport = z.infer<typeof krrReportSchema>;
type KrrScan = z.infer<typeof scanSchema>;

// ---- text → Report ----

/** Parses krr's `-f json` output; banner or log lines before the JSON (no --logtostderr) are skipped. */
export function parseReport(text: string): Report {
  return reportFromParsed(parseJsonOutput(text));
}

/**
 * The parsed JSON or YAML → Report. The scans (nearly all of a report's bytes) are read in one pass by
 * reportScans.ts; the rest, and any report that pass is not sure of, goes through the zod schema, which is the
 * judge and the source of every error message.
 */
function reportFromParsed(raw: unknown): Report {
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const rows = readScansFast((raw as { scans?: unknown }).scans);
    if (rows) {
      const header = krrReportSchema.safeParse({ ...raw, scans: [] });
      if (header.success) return normaliseReport(header.data, rows);
    }
  }
  return reportFromSchema(raw);
}

/** The zod schema's own reading of a parsed report: the judge the one-pass reading must agree with (a unit test compares them). */
export function reportFromSchema(raw: unknown): Report {
  const krr = validateReport(raw);
  return normaliseReport(krr, krr.scans.map(scanRow));
}

/**
 * Reads a saved krr report: JSON (`-f json`), or YAML (`-f yaml`) when the file ends in .yaml/.yml. Only a
 * regular file: O_NONBLOCK so opening a FIFO cannot wait for a writer, fstat of the opened descriptor (a
 * symlink to /dev/zero is judged by what it opened), and at most maxReportFileBytes are read whatever the
 * size claimed (a file growing under us, /proc files that report size 0).
 */
export async function parseReportFile(path: string): Promise<Report> {
  return (await readReportFile(path)).report;
}

/** parseReportFile, plus the file's size in bytes (the session bounds what it keeps by it). */
export async function readReportFile(path: string): Promise<{ report: Report; bytes: number }> {
  const text = await readBoundedRegularFile(path);
  const bytes = Buffer.byteLength(text);
  if (/\.ya?ml$/i.test(path)) {
    let raw: unknown;
    try {
      raw = parseYaml(text);
    } catch (error) {
      // The yaml library's messages quote the input; only its position info is used.
      const line = (error as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0];
      throw new ReportParseError(
        `The krr report ${path} is not valid YAML${line ? ` (line ${line.line}, column ${line.col})` : ''}. Is this krr's -f yaml output?`,
      );
    }
    return { report: reportFromParsed(raw), bytes };
  }
  return { report: parseReport(text), bytes };
}

function tooLarge(path: string, size: number): ReportParseError {
  return new ReportParseError(
    `The krr report ${path} is ${size > maxReportFileBytes ? `${Math.round(size / 1024 / 1024)} MB, ` : ''}over the ${maxReportFileBytes / 1024 / 1024} MB limit. ` +
      'Scan fewer namespaces (krr -n) or split the report.',
  );
}

async function readBoundedRegularFile(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    throw new ReportParseError(`Cannot read the krr report ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unknown error'}.`);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) {
      const what = stats.isDirectory() ? 'a directory' : stats.isFIFO() ? 'a FIFO' : stats.isCharacterDevice() || stats.isBlockDevice() ? 'a device' : stats.isSocket() ? 'a socket' : 'not a regular file';
      throw new ReportParseError(`The krr report ${path} is ${what}; only a regular file can be loaded.`);
    }
    if (stats.size > maxReportFileBytes) throw tooLarge(path, stats.size);
    // One byte more than the bound tells "over the limit" from "exactly at it".
    const buffer = Buffer.allocUnsafe(Math.min(Math.max(stats.size, 64 * 1024), maxReportFileBytes) + 1);
    let length = 0;
    let target = buffer;
    for (;;) {
      if (length === target.length) {
        if (length > maxReportFileBytes) throw tooLarge(path, length);
        const grown = Buffer.allocUnsafe(Math.min(target.length * 2, maxReportFileBytes + 1));
        target.copy(grown, 0, 0, length);
        target = grown;
      }
      const { bytesRead } = await handle.read(target, length, target.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxReportFileBytes) throw tooLarge(path, length);
    return target.toString('utf8', 0, length);
  } catch (error) {
    if (error instanceof ReportParseError) throw error;
    throw new ReportParseError(`Cannot read the krr report ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unknown error'}.`);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function parseJsonOutput(text: string): unknown {
  const start = findJsonStart(text);
  if (start < 0) {
    throw new ReportParseError(`No JSON object found in the krr output. ${whatToDo}`);
  }
  const body = text.slice(start);
  try {
    return JSON.parse(body);
  } catch (error) {
    const message = (error as Error).message;
    const trailing = /non-whitespace character after JSON at position (\d+)/.exec(message);
    // krr may print log lines after the JSON when --logtostderr is missing: parse up to them.
    if (trailing?.[1]) {
      try {
        return JSON.parse(body.slice(0, Number(trailing[1])));
      } catch {
        // fall through to the original error
      }
    }
    throw new ReportParseError(describeJsonError(text, start, message));
  }
}

/** Offset of the first line that starts a JSON object, or -1. */
function findJsonStart(text: string): number {
  const match = /^[ \t]*\{/m.exec(text);
  return match ? match.index : -1;
}

function describeJsonError(text: string, start: number, message: string): string {
  // Never echo the text: V8 quotes a snippet of the input (and the unexpected character), which could be
  // part of krr's `config` or any file a model names. Only a fixed description of the error kind is kept.
  const reason = describeJsonSyntaxError(message);
  const position = /at position (\d+)/.exec(message);
  // V8 gives no position for an unexpected token: find it with a small scanner.
  let offset = start + (position?.[1] ? Number(position[1]) : findJsonErrorOffset(text.slice(start)));
  if (text[offset - 1] === '-' && text.startsWith('Infinity', offset)) offset -= 1; // V8 points past the minus
  // Python's json writes NaN/Infinity for non-finite floats.
  const nonFinite = /^-?(?:NaN|Infinity)/.exec(text.slice(offset, offset + 9));
  if (nonFinite) {
    return `The krr output is not valid JSON: ${nonFinite[0]} at ${lineAndColumn(text, offset)} is not a valid amount. ${whatToDo}`;
  }
  return `The krr output is not valid JSON at ${lineAndColumn(text, offset)}: ${reason}. ${whatToDo}`;
}

/** A fixed phrase for V8's JSON.parse message; nothing of the message's quoted input survives. */
function describeJsonSyntaxError(message: string): string {
  if (/^Unexpected end of JSON input/.test(message)) return 'the text ends before the JSON does';
  if (/^Unterminated string/.test(message)) return 'unterminated string';
  if (/^Bad control character in string literal/.test(message)) return 'control character in a string';
  if (/^Bad escaped character/.test(message)) return 'bad escape in a string';
  if (/^Bad Unicode escape/.test(message)) return 'bad \\u escape in a string';
  if (/^Expected property name or '\}'/.test(message)) return "expected a property name or '}'";
  if (/^Expected ',' or '\}' after property value/.test(message)) return "expected ',' or '}' after a property value";
  if (/^Expected ',' or '\]' after array element/.test(message)) return "expected ',' or ']' after an array element";
  if (/^Expected ':' after property name/.test(message)) return "expected ':' after a property name";
  if (/^Expected double-quoted property name/.test(message)) return 'expected a double-quoted property name';
  if (/^(?:Exponent part is missing|Unterminated fractional number|No number after minus sign)/.test(message)) return 'malformed number';
  if (/^Unexpected non-whitespace character after JSON/.test(message)) return 'text after the JSON';
  if (/^Unexpected token|^Unexpected character/.test(message)) return 'unexpected character';
  return 'syntax error';
}

// JSON forbids raw control characters inside strings.
// eslint-disable-next-line no-control-regex
const jsonToken = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

/** Offset of the first syntax error in `text` (only called once JSON.parse has failed). */
function findJsonErrorOffset(text: string): number {
  let at = 0;
  const skipSpace = () => {
    while (at < text.length && ' \t\r\n'.includes(text[at] ?? '')) at += 1;
  };
  const fail = (): never => {
    throw at;
  };
  const value = (): void => {
    skipSpace();
    const char = text[at];
    if (char === '{' || char === '[') {
      const close = char === '{' ? '}' : ']';
      at += 1;
      skipSpace();
      if (text[at] === close) {
        at += 1;
        return;
      }
      for (;;) {
        if (close === '}') {
          skipSpace();
          if (text[at] !== '"') fail();
          value();
          skipSpace();
          if (text[at] !== ':') fail();
          at += 1;
        }
        value();
        skipSpace();
        if (text[at] === ',') at += 1;
        else if (text[at] === close) {
          at += 1;
          return;
        } else fail();
      }
    }
    jsonToken.lastIndex = at;
    const token = jsonToken.exec(text);
    if (!token) fail();
    at += token?.[0].length ?? 0;
  };
  try {
    value();
    return at;
  } catch (offset) {
    return typeof offset === 'number' ? offset : at;
  }
}

function lineAndColumn(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let index = text.indexOf('\n'); index >= 0 && index < offset; index = text.indexOf('\n', index + 1)) {
    line += 1;
    lineStart = index + 1;
  }
  return `line ${line}, column ${offset - lineStart + 1}`;
}

function validateReport(raw: unknown): KrrReport {
  const result = krrReportSchema.safeParse(raw, { error: describeIssue });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue ? formatPath(issue.path) : '';
  const detail = issue?.message ?? 'invalid';
  throw new ReportParseError(`Invalid krr report: ${path ? `${path}: ` : ''}${detail}. ${whatToDo}`);
}

/** Messages for issues without a schema-level message; they describe types, never echo values. */
function describeIssue(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? `missing (expected ${issue.expected})` : `expected ${issue.expected}, got ${describeType(issue.input)}`;
    case 'too_small':
      return `expected ${issue.origin === 'string' ? 'a non-empty string' : `a value ≥ ${String(issue.minimum)}`}`;
    case 'too_big':
      return issue.origin === 'string' ? `expected at most ${String(issue.maximum)} characters` : `expected a value ≤ ${String(issue.maximum)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    default:
      // Other zod messages may quote the input (e.g. a record's key); a fixed text is safe.
      return 'invalid value';
  }
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isFinite(value) ? 'a number' : String(value);
  return `a ${typeof value}`;
}

/** Every key the schema declares; any other path segment (a label's key, a strategy setting) is the file's text. */
const schemaKeys = new Set<string>();
(function collectKeys(schema: unknown): void {
  const def = (schema as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
  if (!def) return;
  if (def.type === 'object') {
    for (const [key, inner] of Object.entries(def.shape as Record<string, unknown>)) {
      schemaKeys.add(key);
      collectKeys(inner);
    }
  }
  for (const field of ['innerType', 'element', 'valueType', 'in', 'out']) if (def[field]) collectKeys(def[field]);
  if (Array.isArray(def.options)) for (const option of def.options) collectKeys(option);
})(krrReportSchema);

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const name = typeof segment === 'string' && schemaKeys.has(segment) ? segment : '<key>';
      out += out ? `.${name}` : name;
    }
  }
  return out;
}

// ---- krr's report → our Report ----

function normaliseReport(krr: KrrReport, rows: readonly ScanRow[]): Report {
  const workloads = new Map<string, Workload>();
  const containersSeen = new Set<string>();
  const clusters: Array<string | null> = [];
  const clustersSeen = new Set<string | null>();
  let containerCount = 0;

  for (const row of rows) {
    const key = workloadKey(row.cluster, row.ref);
    // Duplicate (workload, container) rows: keep the first, ignore the rest. krr writes one scan per
    // container, so a repeat means concatenated or edited output; merging would double-count pods.
    const containerKey = `${key}\u0000${row.container.container}`;
    if (containersSeen.has(containerKey)) continue;
    containersSeen.add(containerKey);

    if (!clustersSeen.has(row.cluster)) {
      clustersSeen.add(row.cluster);
      clusters.push(row.cluster);
    }
    let workload = workloads.get(key);
    if (!workload) {
      workload = { ...row.ref, key, cluster: row.cluster, hpa: row.hpa, labels: row.labels, containers: [], severity: 'UNKNOWN' };
      workloads.set(key, workload);
    }
    workload.containers.push(row.container);
    workload.severity = worstSeverity([workload.severity, row.container.severity]);
    containerCount += 1;
  }

  return {
    strategy: { name: krr.strategy.name, settings: krr.strategy.settings },
    score: krr.score,
    resources: krr.resources,
    description: krr.description ?? '',
    errors: krr.errors.map(normaliseError),
    clusterSummary: normaliseClusterSummary(krr.clusterSummary),
    workloads: [...workloads.values()],
    containerCount,
    clusters,
  };
}

function scanRow(scan: KrrScan): ScanRow {
  const object = scan.object;
  return {
    cluster: object.cluster,
    ref: { namespace: object.namespace, kind: object.kind, name: object.name },
    hpa: object.hpa ? normaliseHpa(object.hpa) : null,
    labels: object.labels ?? {},
    container: normaliseContainer(scan),
  };
}

function normaliseContainer(scan: KrrScan): ContainerRecommendation {
  const { object, recommended } = scan;
  const severities: Allocations<Severity> = {
    requests: { cpu: recommended.requests.cpu.severity, memory: recommended.requests.memory.severity },
    limits: { cpu: recommended.limits.cpu.severity, memory: recommended.limits.memory.severity },
  };
  let running = 0;
  let deleted = 0;
  for (const pod of object.pods) {
    if (pod.deleted) deleted += 1;
    else running += 1;
  }
  return {
    container: object.container,
    current: {
      requests: { cpu: object.allocations.requests.cpu, memory: object.allocations.requests.memory },
      limits: { cpu: object.allocations.limits.cpu, memory: object.allocations.limits.memory },
    },
    recommended: {
      requests: { cpu: toRecommendedValue(recommended.requests.cpu.value), memory: toRecommendedValue(recommended.requests.memory.value) },
      limits: { cpu: toRecommendedValue(recommended.limits.cpu.value), memory: toRecommendedValue(recommended.limits.memory.value) },
    },
    severities,
    severity: worstSeverity([severities.requests.cpu, severities.requests.memory, severities.limits.cpu, severities.limits.memory]),
    info: { cpu: recommended.info?.cpu ?? null, memory: recommended.info?.memory ?? null },
    warnings: [...object.warnings].sort(),
    pods: { running, deleted },
  };
}

function toRecommendedValue(value: number | '?' | null): RecommendedValue {
  if (value === null) return { kind: 'unset' };
  if (value === '?') return { kind: 'unknown' };
  return { kind: 'value', amount: value };
}

function normaliseHpa(hpa: z.infer<typeof hpaSchema>): Hpa {
  return {
    minReplicas: hpa.min_replicas ?? null,
    maxReplicas: hpa.max_replicas,
    currentReplicas: hpa.current_replicas ?? null,
    desiredReplicas: hpa.desired_replicas ?? null,
    targetCpuUtilizationPercentage: hpa.target_cpu_utilization_percentage ?? null,
    targetMemoryUtilizationPercentage: hpa.target_memory_utilization_percentage ?? null,
  };
}

function normaliseError(error: KrrReport['errors'][number]): ReportError {
  return error.retry_after === undefined || error.retry_after === null
    ? { name: error.name }
    : { name: error.name, retryAfter: error.retry_after };
}

/** `{}` (krr could not compute one) and partial summaries become null. */
function normaliseClusterSummary(summary: KrrReport['clusterSummary']): ClusterSummary | null {
  if (
    !summary ||
    summary.cluster_cpu === undefined ||
    summary.cluster_memory === undefined ||
    summary.kube_system_cpu_req === undefined ||
    summary.kube_system_mem_req === undefined
  ) {
    return null;
  }
  return {
    clusterCpu: summary.cluster_cpu,
    clusterMemory: summary.cluster_memory,
    kubeSystemCpuRequests: summary.kube_system_cpu_req,
    kubeSystemMemoryRequests: summary.kube_system_mem_req,
  };
}
