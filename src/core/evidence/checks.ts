// Checks of a change against the usage Prometheus recorded: memory below the observed peak, a limit at or below one
// the container was OOM-killed at, and what a CPU limit being removed did. Safety invariant "Policies block": with
// krr.policy.memoryBelowPeak "block" (the default) a memory decrease below the evidence is a `block` finding, and the
// workload is left out of the plan like any other block. Increases are never blocked here: they only move toward safety.
import type { FieldChange, PolicyFinding } from '../plan/model';
import { describeCpu, describeMemory } from '../quantity';
import { formatPercent, onMoment, windowDays, type EvidenceSummary } from './planEvidence';

export type MemoryBelowPeakMode = 'block' | 'warn';

/**
 * A decrease: the value goes down, or a memory limit is set where there was none (an unset limit is no ceiling at all).
 * A request set where there was none is not: an unset request is taken from the limit or is zero, neither of which is
 * known here, and a request does not kill.
 */
function lowers(change: FieldChange): boolean {
  if (change.toAmount === null) return false;
  if (change.fromAmount === null) return change.allocation === 'limits';
  return change.toAmount < change.fromAmount;
}

/** Findings for each changed container that has recorded evidence; a container without evidence gets none here. */
export function evidenceFindings(changes: readonly FieldChange[], evidence: readonly EvidenceSummary[], mode: MemoryBelowPeakMode): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  const byContainer = new Map(evidence.map((summary) => [summary.container, summary]));
  for (const change of changes) {
    const summary = byContainer.get(change.container);
    if (!summary || summary.status !== 'recorded') continue;
    const label = `container ${change.container}: memory ${change.allocation === 'limits' ? 'limit' : 'request'}`;
    const days = windowDays(summary);
    if (change.resource === 'memory' && change.toAmount !== null) {
      const severity = lowers(change) && mode === 'block' ? 'block' : 'warn';
      const how =
        severity === 'block'
          ? 'blocked by krr.policy.memoryBelowPeak; raise the value, or set that setting to "warn" to propose it anyway'
          : lowers(change)
            ? 'proposed anyway: krr.policy.memoryBelowPeak is "warn"'
            : 'an increase, so not blocked';
      if (summary.memoryPeak !== null && change.toAmount < summary.memoryPeak) {
        findings.push({
          severity,
          rule: 'memory-below-peak',
          container: change.container,
          message: `${label} ${describeMemory(change.toAmount)} is below the peak ${describeMemory(summary.memoryPeak)} seen${onMoment(summary.memoryPeakAt)} (${days} days of usage; ${how}).`,
        });
      }
      if (change.allocation === 'limits' && summary.oomKilledLimit !== null && summary.oomKills > 0 && change.toAmount <= summary.oomKilledLimit) {
        findings.push({
          severity,
          rule: 'memory-at-oom-limit',
          container: change.container,
          message: `${label} ${describeMemory(change.toAmount)} is at or below ${describeMemory(summary.oomKilledLimit)}, a limit the container was OOM-killed at (${summary.oomKills} OOM ${summary.oomKills === 1 ? 'kill' : 'kills'} in ${days} days; ${how}).`,
        });
      }
    }
    if (change.resource === 'cpu' && change.allocation === 'limits' && change.toAmount === null && change.fromAmount !== null) {
      const current = `the current CPU limit ${describeCpu(change.fromAmount)}`;
      findings.push({
        severity: 'info',
        rule: 'cpu-limit-throttling',
        container: change.container,
        message:
          summary.throttledPercent === null
            ? `container ${change.container}: no throttling was recorded for ${current} (Prometheus has no CFS period series for it in ${days} days).`
            : `container ${change.container}: ${current} throttled ${formatPercent(summary.throttledPercent)} of CFS periods in ${days} days.`,
      });
    }
  }
  return findings;
}
