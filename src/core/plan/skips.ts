// What a plan leaves out, and why: blocked workloads and skipped containers, as sentences a person can read, and the
// same grouped by cause for long lists ("namespace team-13: … not found: 63 workloads"). Nothing is dropped silently:
// the review panel, the approval dialog and the output channel all list these.
import { displayText, nameText, plural } from '../text';
import type { Plan, PolicyFinding } from './model';

/** Finding rules that mean "this container was left out", not merely "note this". */
export const skipRules: ReadonlySet<string> = new Set(['container-missing', 'invalid-name']);

export interface PlanSkip {
  namespace: string;
  kind: string;
  name: string;
  /** Set when one container was skipped; absent when the whole workload was blocked. */
  container?: string;
  reason: string;
  /** One line: what and why, names shown visibly and isolated (core/text). */
  text: string;
}

export interface SkipGroup {
  /** The shared cause, with each workload's own name replaced by "…". */
  reason: string;
  namespace: string;
  count: number;
  /** "workload" when whole workloads were blocked, "container" when containers were skipped. */
  unit: 'workload' | 'container';
  /** e.g. `namespace team-13: could not read the live object: deployments.apps "…" not found — 63 workloads` */
  text: string;
}

/** "Deployment ⁨shop/web⁩, container ⁨x⁩: reason" — names visible and isolated, the reason cleaned and bounded. */
export function skipText(skip: Omit<PlanSkip, 'text'>): string {
  const what = `${skip.kind} ${nameText(`${skip.namespace}/${skip.name}`, 200)}${skip.container === undefined ? '' : `, container ${nameText(skip.container)}`}`;
  return `${what}: ${displayText(skip.reason, 300)}`;
}

/** Every blocked workload and every skipped container of `plan`, in plan order. */
export function planSkips(plan: Pick<Plan, 'blocked' | 'objects' | 'warnings'>): PlanSkip[] {
  const skips: PlanSkip[] = [];
  for (const item of plan.blocked) {
    const entry = { namespace: item.namespace, kind: item.kind, name: item.name, reason: item.reasons.join('; ') };
    skips.push({ ...entry, text: skipText(entry) });
  }
  const add = (identity: { namespace: string; kind: string; name: string }, finding: PolicyFinding) => {
    if (finding.severity === 'block' || !skipRules.has(finding.rule)) return;
    const entry = { ...identity, ...(finding.container !== undefined ? { container: finding.container } : {}), reason: finding.message };
    skips.push({ ...entry, text: skipText(entry) });
  };
  for (const object of plan.objects) for (const finding of object.findings) add(object, finding);
  // A workload with nothing else to change carries its notes as plan warnings; they name their workload in `workload`.
  for (const finding of plan.warnings) {
    if (finding.workload) add(finding.workload, finding);
  }
  return skips;
}

/**
 * Skips grouped by namespace and cause, largest group first: 2,500 workloads whose namespace is gone read as one
 * line per namespace, not 2,500 lines. The cause is the reason with the workload's own name replaced by "…".
 */
export function groupSkips(skips: readonly PlanSkip[]): SkipGroup[] {
  const groups = new Map<string, SkipGroup>();
  for (const skip of skips) {
    const reason = displayText(skip.reason.split(skip.name).join('…'), 300);
    const unit = skip.container === undefined ? 'workload' : 'container';
    const key = `${skip.namespace}\u0000${unit}\u0000${reason}`;
    const group = groups.get(key);
    if (group) group.count += 1;
    else groups.set(key, { reason, namespace: skip.namespace, count: 1, unit, text: '' });
  }
  const list = [...groups.values()].sort((a, b) => b.count - a.count || a.namespace.localeCompare(b.namespace));
  for (const group of list) group.text = `namespace ${nameText(group.namespace)}: ${group.reason} — ${plural(group.count, group.unit)}`;
  return list;
}
