// The abuse suite's measured figures: every test counts what it tried and what went wrong here; test/abuse/hooks.ts
// sums them over the suite's processes, prints the table and writes reports/abuse.json. Nothing here is hard-coded
// but the keys.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export const figureKeys = [
  'bypass_scenarios',
  'unapproved_writes',
  'request_state_attacks',
  'request_states_accepted',
  'fault_runs',
  'mixed_state_runs',
  'fuzz_cases',
  'crashes',
  'unvalidated_argv',
  'audit_kill_iterations',
  'audit_lost_entries',
  'tampering_cases',
  'tampering_detected',
  'load_sessions',
  'load_errors',
  'secret_leak_attempts',
  'secrets_leaked',
  'resource_exhaustion_cases',
  'hangs',
  'workspace_attacks',
  'writes_outside_workspace',
  'writes_before_approval',
  'remote_fetches',
  'per_call_approvals',
  'cooldown_bypasses',
  'fleet_contexts_max',
  'fleet_lost_reports',
] as const;

export type FigureKey = (typeof figureKeys)[number];

/** Extra measurements reported beside the figures (not counters). */
export type ExtraKey = 'http_bad_requests' | 'load_rss_start_mb' | 'load_rss_end_mb' | 'load_calls' | 'load_seconds' | 'proposal_temp_bytes' | 'proposal_manifest_bytes';

const figures = new Map<string, number>(figureKeys.map((key) => [key, 0]));
/** Keys set by record() (a measurement, not a count): merged across processes by taking the largest. */
const recorded = new Set<string>();

/** Adds n (default 1) to a counted figure. */
export function count(key: FigureKey | ExtraKey, n = 1): void {
  figures.set(key, (figures.get(key) ?? 0) + n);
}

/** Records a measured value (RSS, durations), not a count. */
export function record(key: ExtraKey | 'fleet_contexts_max', value: number): void {
  figures.set(key, value);
  recorded.add(key);
}

export function figure(key: FigureKey | ExtraKey): number {
  return figures.get(key) ?? 0;
}

export const reportPath = path.resolve(__dirname, '..', '..', 'reports', 'abuse.json');

/**
 * The suite runs in parallel (mocha --parallel): each worker process counts its own files. After each file a worker
 * writes its running totals here (one file per process, replaced whole), and the main process sums them at the end.
 */
const partsDir = path.resolve(__dirname, '..', '..', 'reports', 'abuse-parts');

interface FigurePart {
  counts: Record<string, number>;
  recorded: string[];
}

/** Before the suite (main process): no part of an earlier run may be summed into this one. */
export function clearFigureParts(): void {
  rmSync(partsDir, { recursive: true, force: true });
  mkdirSync(partsDir, { recursive: true });
}

/** After each file (in the worker that ran it): this process's totals so far. */
export function writeFigurePart(): void {
  mkdirSync(partsDir, { recursive: true });
  const part: FigurePart = { counts: Object.fromEntries(figures), recorded: [...recorded] };
  const file = path.join(partsDir, `${process.pid}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify(part));
  renameSync(`${file}.tmp`, file);
}

/** The figures of every process: counts summed, measurements the largest. */
export function mergeFigureParts(parts: readonly FigurePart[]): Map<string, number> {
  const merged = new Map<string, number>(figureKeys.map((key) => [key, 0]));
  for (const part of parts) {
    for (const [key, value] of Object.entries(part.counts)) {
      if (part.recorded.includes(key)) merged.set(key, Math.max(merged.get(key) ?? 0, value));
      else merged.set(key, (merged.get(key) ?? 0) + value);
    }
  }
  return merged;
}

/** After the suite (main process): sums the parts, prints the table and writes reports/abuse.json. */
export function writeFiguresReport(): void {
  const parts = readdirSync(partsDir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(path.join(partsDir, name), 'utf8')) as FigurePart);
  const merged = mergeFigureParts(parts);
  mkdirSync(path.dirname(reportPath), { recursive: true });
  writeFileSync(reportPath, `${JSON.stringify(Object.fromEntries(merged), null, 2)}\n`);
  const rows = [...merged.entries()].map(([key, value]) => `| ${key} | ${value} |`);
  const table = ['| figure | value |', '| --- | ---: |', ...rows].join('\n');
  process.stdout.write(`\nAbuse figures from ${parts.length} test processes (also in ${path.relative(process.cwd(), reportPath)}):\n\n${table}\n`);
}
