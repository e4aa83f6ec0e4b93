// What a plan keeps of a container's usage evidence: the few numbers the approval shows and the memory check reads.
// Decision (docs/ARCHITECTURE.md, "Evidence is part of what is approved"): the summary is stored in the plan at
// proposal time and covered by its digest, so the dialog words it from the stored plan alone (never from a tool
// argument, never from a later read), and a person approves exactly the numbers they were shown.
import { describeCpu, describeMemory } from '../quantity';
import type { ContainerEvidence, EvidenceResult, EvidenceTarget } from './model';
import { shortTime } from './summary';

/** The evidence of one changed container as the plan stores it: recorded numbers, or why there are none. */
export type EvidenceSummary = RecordedEvidence | MissingEvidence;

export interface RecordedEvidence {
  container: string;
  status: 'recorded';
  /** krr's window the numbers cover, ISO 8601. */
  windowStart: string;
  windowEnd: string;
  /** Bytes; null: no working-set samples. */
  memoryPeak: number | null;
  memoryPeakAt: string | null;
  oomKills: number;
  /** Bytes: the highest memory limit the container had when it was OOM-killed in the window. */
  oomKilledLimit: number | null;
  restarts: number;
  /** Cores. p50: the typical per-pod usage the HPA projection works from (core/hpa/projection); absent in plans stored before it. */
  cpuP50?: number | null;
  cpuP95: number | null;
  cpuMax: number | null;
  /** 0..100; null without a CPU limit or cfs series. */
  throttledPercent: number | null;
  /** Working-set samples and the first of them (a workload younger than the window has a later one). */
  points: number;
  firstSample: string | null;
}

export interface MissingEvidence {
  container: string;
  status: 'none';
  /** Why: no Prometheus configured, unreachable, no samples for this container, … */
  reason: string;
}

/** A number a JSON round trip keeps as it is: NaN and ±Inf become null, so a stored plan still matches its digest. */
function finite(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function summarizeEvidence(evidence: ContainerEvidence): RecordedEvidence {
  return {
    container: evidence.container,
    status: 'recorded',
    windowStart: evidence.window.start,
    windowEnd: evidence.window.end,
    memoryPeak: finite(evidence.memory.max),
    memoryPeakAt: evidence.memory.max === null ? null : evidence.memory.maxAt,
    oomKills: finite(evidence.oomKills) ?? 0,
    oomKilledLimit: finite(evidence.oomKilledLimit),
    restarts: finite(evidence.restarts) ?? 0,
    cpuP50: finite(evidence.cpu.p50),
    cpuP95: finite(evidence.cpu.p95),
    cpuMax: finite(evidence.cpu.max),
    throttledPercent: finite(evidence.cpu.throttledPercent),
    points: finite(evidence.coverage.points) ?? 0,
    firstSample: evidence.coverage.first,
  };
}

/** A workload's key within one report's plan: `namespace/kind/name` (a plan is bound to one context). */
export function workloadKey(target: { namespace: string; kind: string; name: string }): string {
  return `${target.namespace}/${target.kind}/${target.name}`;
}

/**
 * Each container of `targets` with its summary from `result`, or why there is none (the whole read unavailable, or
 * nothing recorded for that container): by workloadKey, then by container name. Matched without the cluster: a plan
 * is built from one report, which is bound to one context.
 */
export function summariesByWorkload(result: EvidenceResult, targets: readonly EvidenceTarget[]): Map<string, Map<string, EvidenceSummary>> {
  const key = (target: EvidenceTarget) => `${workloadKey(target)}/${target.container}`;
  const recorded = new Map(result.status === 'available' ? result.containers.map((evidence) => [key(evidence), evidence]) : []);
  const byWorkload = new Map<string, Map<string, EvidenceSummary>>();
  for (const target of targets) {
    let containers = byWorkload.get(workloadKey(target));
    if (!containers) byWorkload.set(workloadKey(target), (containers = new Map()));
    const evidence = recorded.get(key(target));
    containers.set(target.container, evidence ? summarizeEvidence(evidence) : { container: target.container, status: 'none', reason: result.status === 'unavailable' ? result.reason : 'Prometheus has no samples of this container in the window' });
  }
  return byWorkload;
}

/** One changed value, as much of a plan's FieldChange as the evidence needs (plan/model imports this module). */
export interface ChangedValue {
  container: string;
  allocation: 'requests' | 'limits';
  resource: 'cpu' | 'memory';
  toAmount: number | null;
}

/** The evidence of each container `changes` touch, once each; a container the read did not cover says so. */
export function evidenceOfChanged(changes: readonly ChangedValue[], byContainer: ReadonlyMap<string, EvidenceSummary>): EvidenceSummary[] {
  const containers = [...new Set(changes.map((change) => change.container))];
  return containers.map((container) => byContainer.get(container) ?? { container, status: 'none', reason: 'no evidence was read for this container' });
}

/** Whole days of the window, as the text says them ("in 14 days"). */
export function windowDays(summary: Pick<RecordedEvidence, 'windowStart' | 'windowEnd'>): number {
  const milliseconds = Date.parse(summary.windowEnd) - Date.parse(summary.windowStart);
  return Number.isFinite(milliseconds) ? Math.max(1, Math.round(milliseconds / 86_400_000)) : 0;
}

/** "2 Dec 09:14 UTC" (summary.shortTime); a missing or unreadable time says so instead of printing "NaN". */
export function describeMoment(iso: string | null): string {
  return iso !== null && Number.isFinite(Date.parse(iso)) ? shortTime(iso) : 'at an unknown time';
}

/** " on 2 Dec 09:14 UTC", or nothing when the moment is not known (a peak whose step Prometheus could not name). */
export function onMoment(iso: string | null): string {
  return iso !== null && Number.isFinite(Date.parse(iso)) ? ` on ${shortTime(iso)}` : '';
}

/** "12% above it", "3% below it", "equal to it". */
function relation(value: number, reference: number): string {
  if (reference <= 0) return value > 0 ? 'above it' : 'equal to it';
  const percent = Math.round(((value - reference) / reference) * 100);
  if (percent === 0) return value === reference ? 'equal to it' : value > reference ? 'just above it' : 'just below it';
  return `${Math.abs(percent)}% ${percent > 0 ? 'above' : 'below'} it`;
}

/** The changed memory values of one container the evidence line relates to the peak. */
export interface MemoryTarget {
  allocation: 'requests' | 'limits';
  /** Bytes; null removes the value. */
  toAmount: number | null;
}

/**
 * One line per changed container for the approval: "memory peak 310Mi on 2 Dec 09:14 UTC · new limit 347Mi = 12%
 * above it · 0 OOM kills in 14 days · CPU p95 212m". Numbers only from the stored summary; the caller isolates names.
 */
export function evidenceLine(summary: EvidenceSummary, memory: readonly MemoryTarget[]): string {
  if (summary.status === 'none') return `no usage evidence (${summary.reason})`;
  const days = windowDays(summary);
  const parts: string[] = [];
  if (summary.memoryPeak === null) parts.push('no memory samples');
  else {
    parts.push(`memory peak ${describeMemory(summary.memoryPeak)}${onMoment(summary.memoryPeakAt)}`);
    for (const target of memory) {
      const what = target.allocation === 'limits' ? 'limit' : 'request';
      parts.push(target.toAmount === null ? `${what} removed` : `new ${what} ${describeMemory(target.toAmount)} = ${relation(target.toAmount, summary.memoryPeak)}`);
    }
  }
  const kills = `${summary.oomKills} OOM ${summary.oomKills === 1 ? 'kill' : 'kills'}`;
  parts.push(`${kills}${summary.oomKilledLimit !== null && summary.oomKills > 0 ? ` (at a limit of ${describeMemory(summary.oomKilledLimit)})` : ''} in ${days} days`);
  if (summary.cpuP95 !== null) parts.push(`CPU p95 ${describeCpu(summary.cpuP95)}`);
  if (summary.throttledPercent !== null && summary.throttledPercent > 0) parts.push(`throttled ${formatPercent(summary.throttledPercent)} of CFS periods`);
  if (summary.restarts > 0) parts.push(`${summary.restarts} ${summary.restarts === 1 ? 'restart' : 'restarts'}`);
  // A workload younger than the window: its peak covers less than krr's window, and the person should know.
  const first = summary.firstSample === null ? Number.NaN : Date.parse(summary.firstSample);
  if (Number.isFinite(first) && first - Date.parse(summary.windowStart) > 86_400_000) parts.push(`data only since ${describeMoment(summary.firstSample)} (${summary.points} samples)`);
  return parts.join(' · ');
}

/** "23%", "0.4%": small non-zero shares keep a decimal so they do not read as none. */
export function formatPercent(value: number): string {
  return value >= 10 || value === 0 ? `${Math.round(value)}%` : `${Math.round(value * 10) / 10}%`;
}

/** The evidence line of `summary`'s container, relating the memory values `changes` write for it to the peak. */
export function changedContainerLine(summary: EvidenceSummary, changes: readonly ChangedValue[]): string {
  const memory = changes
    .filter((change) => change.container === summary.container && change.resource === 'memory')
    .map((change) => ({ allocation: change.allocation, toAmount: change.toAmount }));
  return evidenceLine(summary, memory);
}

/**
 * The one reason when no container of a plan has evidence and all for the same reason (no Prometheus configured, or
 * unreachable): the dialog says it once instead of once per container. Null otherwise, or when there are no entries.
 */
export function sharedMissingReason(summaries: readonly EvidenceSummary[]): string | null {
  const first = summaries[0];
  if (!first || first.status !== 'none') return null;
  return summaries.every((summary) => summary.status === 'none' && summary.reason === first.reason) ? first.reason : null;
}
