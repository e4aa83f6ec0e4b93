// The abuse suite's measured figures: every test counts what it tried and what went wrong here, and a mocha
// root `after` hook prints the table and writes reports/abuse.json. Nothing here is hard-coded but the keys.
import { mkdirSync, writeFileSync } from 'node:fs';
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

/** Adds n (default 1) to a counted figure. */
export function count(key: FigureKey | ExtraKey, n = 1): void {
  figures.set(key, (figures.get(key) ?? 0) + n);
}

/** Records a measured value (RSS, durations), not a count. */
export function record(key: ExtraKey | 'fleet_contexts_max', value: number): void {
  figures.set(key, value);
}

export function figure(key: FigureKey | ExtraKey): number {
  return figures.get(key) ?? 0;
}

export const reportPath = path.resolve(__dirname, '..', '..', 'reports', 'abuse.json');

function table(): string {
  const rows = [...figures.entries()].map(([key, value]) => `| ${key} | ${value} |`);
  return ['| figure | value |', '| --- | ---: |', ...rows].join('\n');
}

// A root hook: figures.ts is imported by every abuse test file, so this registers once, after all of them.
if (typeof after === 'function') {
  after(function writeFigures() {
    const json = Object.fromEntries(figures);
    mkdirSync(path.dirname(reportPath), { recursive: true });
    writeFileSync(reportPath, `${JSON.stringify(json, null, 2)}\n`);
    process.stdout.write(`\nAbuse figures (also in ${path.relative(process.cwd(), reportPath)}):\n\n${table()}\n`);
  });
}
