// The plan: exactly what would be written, to which objects, in which cluster. Approval binds to its digest.
import type { EvidenceSummary } from '../evidence/planEvidence';
import type { GitOpsOwner } from '../gitops/owner';
import type { HpaProjection } from '../hpa/model';
import type { AllocationKind, ResourceName, WorkloadKind } from '../krr/model';
import type { JsonPatchOp } from './patch';

export interface ObjectIdentity {
  namespace: string;
  kind: WorkloadKind;
  name: string;
}

/** One of the four values of one container, before and after. Quantities as written in the manifest. */
export interface FieldChange {
  container: string;
  allocation: AllocationKind;
  resource: ResourceName;
  /** Quantity string as found in the live object; null when unset. */
  from: string | null;
  /** Quantity string to write; null removes the field. */
  to: string | null;
  /** Base units (cores, bytes) for arithmetic; null when unset. */
  fromAmount: number | null;
  toAmount: number | null;
  /**
   * Set when `to` is a partial step (krr.policy.onLimit "step"): krr recommended `recommended`, beyond the policy's
   * limit; `to` is the largest step the limit allows.
   */
  step?: { recommended: string; rule: 'max-decrease' | 'max-increase'; limitPercent: number };
}

/** One value an apply wrote, as the snapshot records it: rollback restores `before` only where `after` still holds. */
export interface WrittenField {
  container: string;
  allocation: AllocationKind;
  resource: ResourceName;
  before: string | null;
  after: string | null;
}

/** A field a rollback would restore that someone changed since the apply. */
export interface RollbackConflict extends ObjectIdentity {
  container: string;
  allocation: AllocationKind;
  resource: ResourceName;
  /** What the apply wrote; absent when the snapshot does not record it (an older snapshot). */
  wrote?: string | null;
  /** What the field holds now. */
  live: string | null;
  /** What rolling back would set. */
  restore: string | null;
  /** Restored anyway because the person asked for it (includeConflicts); otherwise left as it is. */
  included: boolean;
}

export type FindingSeverity = 'block' | 'warn' | 'info';

export interface PolicyFinding {
  severity: FindingSeverity;
  rule: string;
  /** A sentence a person can read: what, why, and how to change it. */
  message: string;
  container?: string;
  /** Set on a note carried in plan.warnings (its workload has no object in the plan), so it can still be named. */
  workload?: { namespace: string; kind: string; name: string };
}

export interface ObjectChange extends ObjectIdentity {
  apiVersion: string;
  uid: string | null;
  /** resourceVersion of the live object the plan was built from (recorded; status updates change it too). */
  resourceVersion: string;
  /**
   * metadata.generation of the live object the plan was built from: it changes with every spec change and
   * never with status, so a different one at apply time = stale. null when the object has none (then the
   * resourceVersion decides).
   */
  generation: number | null;
  changes: FieldChange[];
  ops: JsonPatchOp[];
  /** The live object as fetched, and as it would be after the patch (YAML, for the diff). */
  liveManifest: string;
  proposedManifest: string;
  /** Pods that the cost estimate multiplies by, and where that number came from. */
  pods: number | null;
  podsSource: string;
  /** Monthly cost delta in the configured currency; null when not estimated (see podsSource). */
  monthlyCostDelta: number | null;
  findings: PolicyFinding[];
  /** Stage number for staged applies (1 = first); 1 for every object of an unstaged plan. */
  stage: number;
  /** Argo CD or Flux, when the live object says one reconciles it from Git (shown; not part of the digest). */
  gitopsOwner?: GitOpsOwner;
  /**
   * The usage behind the change, one entry per changed container (recorded numbers, or why there are none), read at
   * proposal time. Part of the digest: the approval shows these numbers, so they are part of what is approved.
   * Absent on plans that seek none (rollbacks, restores) and on plans stored before evidence existed.
   */
  evidence?: EvidenceSummary[];
  /**
   * What the HPA that scales this workload on a changed request will do (krr.policy.hpa "model"): replicas and total
   * cost before → after. Part of the digest, like the evidence: the approval shows it. Absent: no such HPA.
   */
  hpa?: HpaProjection;
}

export interface BlockedWorkload {
  namespace: string;
  kind: string;
  name: string;
  reasons: string[];
  /** When the live object was read and names a GitOps owner. */
  gitopsOwner?: GitOpsOwner;
}

export type RiskLevel = 'low' | 'medium' | 'high' | 'critical';

export interface PlanTotals {
  objects: number;
  containers: number;
  changes: number;
  /** Sum over objects of (Δ request × pods), in cores and bytes. */
  cpuRequestDelta: number;
  memoryRequestDelta: number;
  cpuLimitDelta: number;
  memoryLimitDelta: number;
  monthlyCostDelta: number;
  blocked: number;
}

export type PlanKind = 'apply' | 'rollback' | 'restore';

export interface PlanRequester {
  /** 'system': the extension itself (the rollout watch proposing a rollback), never a person. */
  type: 'human' | 'model' | 'system';
  /** Which UI or which MCP client asked: 'command palette', 'review panel', 'Visual Studio Code', 'claude-code', 'rollout watch'. */
  via: string;
}

export interface Plan {
  id: string;
  digest: string;
  kind: PlanKind;
  context: string;
  server: string;
  createdAt: string;
  expiresAt: string;
  requestedBy: PlanRequester;
  objects: ObjectChange[];
  blocked: BlockedWorkload[];
  warnings: PolicyFinding[];
  totals: PlanTotals;
  risk: RiskLevel;
  riskReasons: string[];
  staged: boolean;
  /** For rollback plans: the snapshot they restore. */
  sourceSnapshotId?: string;
  /** For rollback plans: fields changed since the apply (left out unless `included`). */
  conflicts?: RollbackConflict[];
  /** For apply plans: the report they came from. */
  sourceReportId?: string;
  /** A persist plan: the trial that passed on this change, and the line its dialog shows (in the digest). */
  trial?: { id: string; line: string };
}
