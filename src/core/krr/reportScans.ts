// The scans of krr's report, read in one pass: validated and normalised together, without building zod's copy of
// each scan first. A 5,000-container report is 15 MB and is read on every scan and every open; this pass is what
// keeps reading it within a small factor of JSON.parse (large_cluster_simulation in `npm run bench`).
//
// It is a fast path, not a second schema: it accepts only what report.ts's zod schema accepts and yields exactly
// what normalising zod's output yields (a property test checks both on mutated reports). At the first value it is
// not sure of, it gives up (null) and the caller runs the zod schema, whose messages are the errors people see.
import {
  type Allocations,
  type ContainerRecommendation,
  type Hpa,
  type RecommendedValue,
  type Severity,
  type WorkloadKind,
  type WorkloadRef,
  severityOrder,
  workloadKinds,
  worstSeverity,
} from './model';

/** One scan (one container of one workload), normalised; report.ts groups them into workloads. */
export interface ScanRow {
  cluster: string | null;
  ref: WorkloadRef;
  hpa: Hpa | null;
  labels: Record<string, string>;
  container: ContainerRecommendation;
}

/** Thrown inside the pass at the first value the schema might refuse or read differently. */
const notSure = Symbol('notSure');

const severities = new Set<unknown>(severityOrder);
const kinds = new Set<unknown>(workloadKinds);

type Json = Record<string, unknown>;

function object(value: unknown): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw notSure;
  return value as Json;
}

function string(value: unknown, min: number, max: number): string {
  if (typeof value !== 'string' || value.length < min || value.length > max) throw notSure;
  return value;
}

function severity(value: unknown): Severity {
  if (!severities.has(value)) throw notSure;
  return value as Severity;
}

/** z.number().nonnegative() or null: finite (YAML can say .inf) and ≥ 0. */
function amountOrNull(value: unknown): number | null {
  if (value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || !(value >= 0)) throw notSure;
  return value;
}

function recommendedValue(value: unknown): RecommendedValue {
  if (value === null) return { kind: 'unset' };
  if (value === '?') return { kind: 'unknown' };
  if (typeof value !== 'number' || !Number.isFinite(value) || !(value >= 0)) throw notSure;
  return { kind: 'value', amount: value };
}

/** z.number().int() (safe integers only, as zod 4 reads int()), optionally nullable/optional. */
function integer(value: unknown, optional: boolean): number | null {
  if (optional && (value === undefined || value === null)) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw notSure;
  return value;
}

function numberOrNull(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw notSure;
  return value;
}

function pair<T>(value: unknown, read: (value: unknown) => T): { cpu: T; memory: T } {
  const pairObject = object(value);
  return { cpu: read(pairObject.cpu), memory: read(pairObject.memory) };
}

function hpaOf(value: unknown): Hpa | null {
  if (value === undefined || value === null) return null;
  const hpa = object(value);
  return {
    minReplicas: integer(hpa.min_replicas, true),
    maxReplicas: integer(hpa.max_replicas, false) as number,
    currentReplicas: integer(hpa.current_replicas, true),
    desiredReplicas: integer(hpa.desired_replicas, true),
    targetCpuUtilizationPercentage: numberOrNull(hpa.target_cpu_utilization_percentage),
    targetMemoryUtilizationPercentage: numberOrNull(hpa.target_memory_utilization_percentage),
  };
}

function labelsOf(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  const labels = object(value);
  // zod's record drops a `__proto__` key; rather than copy that rule, leave such a report to zod.
  if (Object.hasOwn(labels, '__proto__')) throw notSure;
  for (const key in labels) if (typeof labels[key] !== 'string') throw notSure;
  return labels as Record<string, string>;
}

function warningsOf(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw notSure;
  for (const warning of value) if (typeof warning !== 'string') throw notSure;
  return [...(value as string[])].sort();
}

function podsOf(value: unknown): { running: number; deleted: number } {
  if (value === undefined) return { running: 0, deleted: 0 };
  if (!Array.isArray(value)) throw notSure;
  let running = 0;
  let deleted = 0;
  for (const entry of value) {
    const pod = object(entry);
    if (typeof pod.name !== 'string' || typeof pod.deleted !== 'boolean') throw notSure;
    if (pod.deleted) deleted += 1;
    else running += 1;
  }
  return { running, deleted };
}

function infoOf(value: unknown): { cpu: string | null; memory: string | null } {
  if (value === undefined) return { cpu: null, memory: null };
  const info = object(value);
  const text = (field: unknown): string | null => {
    if (field === undefined || field === null) return null;
    if (typeof field !== 'string') throw notSure;
    return field;
  };
  return { cpu: text(info.cpu), memory: text(info.memory) };
}

function rowOf(entry: unknown): ScanRow {
  const scan = object(entry);
  const raw = object(scan.object);
  const recommended = object(scan.recommended);
  // Checked in the schema's key order, so a scan that fails here fails there too (the caller re-reads it with zod).
  const cluster = raw.cluster === null ? null : string(raw.cluster, 0, Infinity);
  const name = string(raw.name, 1, 253);
  const containerName = string(raw.container, 1, 63);
  const pods = podsOf(raw.pods);
  const hpa = hpaOf(raw.hpa);
  const namespace = string(raw.namespace, 1, 63);
  if (!kinds.has(raw.kind)) throw notSure;
  const kind = raw.kind as WorkloadKind;
  const allocations = object(raw.allocations);
  const current: Allocations<number | null> = { requests: pair(allocations.requests, amountOrNull), limits: pair(allocations.limits, amountOrNull) };
  const warnings = warningsOf(raw.warnings);
  const labels = labelsOf(raw.labels);
  const readRecommendation = (value: unknown) => {
    const recommendation = object(value);
    return { value: recommendedValue(recommendation.value), severity: severity(recommendation.severity) };
  };
  const requests = pair(recommended.requests, readRecommendation);
  const limits = pair(recommended.limits, readRecommendation);
  const info = infoOf(recommended.info);
  severity(scan.severity);
  const containerSeverities: Allocations<Severity> = {
    requests: { cpu: requests.cpu.severity, memory: requests.memory.severity },
    limits: { cpu: limits.cpu.severity, memory: limits.memory.severity },
  };
  return {
    cluster,
    ref: { namespace, kind, name },
    hpa,
    labels,
    container: {
      container: containerName,
      current,
      recommended: {
        requests: { cpu: requests.cpu.value, memory: requests.memory.value },
        limits: { cpu: limits.cpu.value, memory: limits.memory.value },
      },
      severities: containerSeverities,
      severity: worstSeverity([containerSeverities.requests.cpu, containerSeverities.requests.memory, containerSeverities.limits.cpu, containerSeverities.limits.memory]),
      info,
      warnings,
      pods,
    },
  };
}

/** The report's scans as rows, or null when any scan is not plainly valid (then the zod schema decides and explains). */
export function readScansFast(scans: unknown): ScanRow[] | null {
  if (!Array.isArray(scans)) return null;
  const rows: ScanRow[] = new Array<ScanRow>(scans.length);
  try {
    for (let index = 0; index < scans.length; index += 1) rows[index] = rowOf(scans[index]);
  } catch (error) {
    if (error === notSure) return null;
    throw error;
  }
  return rows;
}
