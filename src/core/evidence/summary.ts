// One line of evidence per container, for a list row or a tool's text: the numbers a person checks a recommendation
// against, and nothing Prometheus did not say (a missing number reads "no data").
import { describeCpu, describeMemory } from '../quantity';
import type { ContainerEvidence } from './model';

/** "14 d: cpu p95 120m, max 800m, throttled 3% · memory peak 310Mi on 2 Dec 09:14 UTC · 0 OOM kills · 2 restarts · 20160 points". */
export function describeEvidence(evidence: ContainerEvidence): string {
  const days = Math.round((Date.parse(evidence.window.end) - Date.parse(evidence.window.start)) / 86_400_000);
  if (evidence.coverage.points === 0 && evidence.cpu.p95 === null) return `${days} d: no usage recorded for this container (no series in Prometheus)`;
  const cpu =
    evidence.cpu.p95 === null
      ? 'cpu no data'
      : `cpu p95 ${describeCpu(evidence.cpu.p95)}, max ${describeCpu(evidence.cpu.max)}${evidence.cpu.throttledPercent === null ? '' : `, throttled ${round(evidence.cpu.throttledPercent)}%`}`;
  const memory = evidence.memory.max === null ? 'memory no data' : `memory peak ${describeMemory(evidence.memory.max)}${evidence.memory.maxAt ? ` on ${shortTime(evidence.memory.maxAt)}` : ''}`;
  const oom = `${evidence.oomKills} OOM kill${evidence.oomKills === 1 ? '' : 's'}${evidence.oomKilledLimit === null ? '' : ` (at limit ${describeMemory(evidence.oomKilledLimit)})`}`;
  return `${days} d: ${cpu} · ${memory} · ${oom} · ${evidence.restarts} restart${evidence.restarts === 1 ? '' : 's'} · ${evidence.coverage.points} points`;
}

function round(value: number): string {
  return value >= 10 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "2 Dec 09:14 UTC": the day and minute, in UTC (the same for every reader of a shared text). */
export function shortTime(iso: string): string {
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getUTCDate()} ${months[date.getUTCMonth()]} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
}
