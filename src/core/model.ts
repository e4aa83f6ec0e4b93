// What the use cases take and return: the contract between the core and its two hosts (MCP, VS Code).
import type { GitOpsOwner } from './gitops/owner';
import type { Plan, PlanKind, PlanRequester, RollbackConflict } from './plan/model';
import type { ManifestPlan } from './gitops/model';
import type { TrialPlan } from './trial/model';
import type { ManifestFileResult } from './gitops/apply';
import type { Severity, WorkloadKind } from './krr/model';

/** Who is asking. Recorded in the audit log and shown in the approval dialog. */
export type Requester = PlanRequester;

export type ApprovalDecision =
  /**
   * `by` says who answered, as honestly as the channel allows (an MCP elicitation can be answered by automation, so
   * it is recorded as the client's answer, not a person's); default: a person in the VS Code approval dialog.
   */
  | { outcome: 'approved'; digest: string; by?: { type: 'human' | 'client'; via: string } }
  | { outcome: 'declined'; reason: string }
  | { outcome: 'timeout' }
  /** No human can be asked (e.g. an MCP client without elicitation): every write is refused. */
  | { outcome: 'unavailable'; reason: string };

/** The text of the approval dialog, computed from the stored plan only (never from a tool argument). */
export interface ApprovalText {
  title: string;
  detail: string;
  confirmLabel: string;
  /** When set, the person must also type this (the context name) to approve. */
  typeToConfirm: string | null;
  /**
   * Set when the model asked for the apply: a one-line non-modal notice ("Copilot asks to apply plan-… (3 changes in
   * prod-eu-1)"); the modal opens only after the person chooses to review it. Null: a person asked, the modal opens at once.
   */
  notice: string | null;
}

/**
 * The human side of the safety invariant. Implementations show UI the model cannot drive (a VS Code modal,
 * an MCP elicitation answered by the user). Nothing a tool call passes can produce an `approved` decision.
 */
export interface Approver {
  /** Shows the plan (VS Code: opens the diff). Returns without waiting for a decision. */
  show(plan: Plan): Promise<void>;
  /** Asks a person to approve this exact plan; the returned digest must equal the plan's. */
  requestApproval(plan: Plan, text: ApprovalText, signal: AbortSignal): Promise<ApprovalDecision>;
  /** Manifest plans (GitOps): shows the files' diff. Optional: a host without it shows nothing. */
  showManifests?(plan: ManifestPlan): Promise<void>;
  /** Asks a person to approve writing these files; a host without it refuses every manifest write. */
  requestManifestApproval?(plan: ManifestPlan, text: ApprovalText, signal: AbortSignal): Promise<ApprovalDecision>;
  /** Trial plans (pods resized in place): shows the pods' diff. Optional: a host without it shows nothing. */
  showTrial?(plan: TrialPlan): Promise<void>;
  /** Asks a person to approve starting this trial; a host without it refuses every trial. */
  requestTrialApproval?(plan: TrialPlan, text: ApprovalText, signal: AbortSignal): Promise<ApprovalDecision>;
}

/** A plan a person can still apply, as the "Apply Previewed Plan" quick pick lists it. */
export interface PendingPlan {
  id: string;
  /** 'manifests': a plan of workspace files (GitOps); `objects` then counts files and `context` is "workspace". */
  kind: PlanKind | 'manifests' | 'trial';
  context: string;
  /** Who proposed it, as the dialog says it ("the AI chat (Copilot)", "you (review panel)", "KRR itself (rollout watch…)"). */
  proposedBy: string;
  objects: number;
  risk: string;
  createdAt: string;
}

export interface ScanArguments {
  context?: string;
  namespaces?: string[];
  selector?: string;
  strategy?: 'simple' | 'simple_limit';
  prometheusUrl?: string;
  historyHours?: number;
  cpuPercentile?: number;
  memoryBufferPercent?: number;
  /** krr --allow-hpa (default: krr.allowHpa). */
  allowHpa?: boolean;
  /** krr --use_oomkill_data (default: krr.useOomKillData). */
  useOomKillData?: boolean;
  oomMemoryBufferPercent?: number;
  jobGroupingLabels?: string[];
  jobGroupingLimit?: number;
  maxWorkers?: number;
  /** Centralized Prometheus: label NAME (default: krr.prometheusLabel). */
  prometheusLabel?: string;
  /** Centralized Prometheus: this cluster's VALUE (default: krr.prometheusClusterLabels[context] ?? krr.prometheusClusterLabel). */
  prometheusClusterLabel?: string;
  refresh?: boolean;
}

/** One context of a fleet scan: its report, or why it has none (other contexts are not affected). */
export interface FleetScanEntry {
  context: string;
  reportId?: string;
  /** The API server the context pointed at when scanned. */
  server?: string;
  clusterLabel?: string;
  error?: string;
  cached?: boolean;
}

export interface FleetSummary {
  fleetId: string;
  reports: FleetScanEntry[];
  /** Over the reports that succeeded. */
  totals: ClusterTotals;
}

export interface ClusterTotals {
  rows: number;
  bySeverity: Record<Severity, number>;
  monthlyCostDelta: number;
}

export interface ReportSummary {
  reportId: string;
  source: string;
  cluster: string | null;
  strategy: string;
  score: number;
  workloads: number;
  containers: number;
  bySeverity: Record<Severity, number>;
  /** Sum of monthly cost deltas of all rows whose recommendation is known (negative = savings). */
  monthlyCostDelta: number;
  errors: string[];
  cached: boolean;
  /** Scans only: whether the stored Prometheus auth header went with this scan, and why not (never the header). */
  prometheusAuth?: string;
  /** Scans only: the kube context and API server scanned; a proposal from this report goes to exactly these. */
  context?: string;
  server?: string;
  /** Scans of a centralized Prometheus: the label selector krr used, `name="value"`. */
  clusterLabel?: string;
  /** Things to check before trusting the report (a swapped cluster label, the HPA feedback loop). */
  warnings?: string[];
}

export interface RecommendationQuery {
  reportId: string;
  /** Several reports (a fleet) listed as one; rows carry their cluster. */
  reportIds?: string[];
  /** Only rows of this cluster (the kube context krr scanned). */
  cluster?: string;
  namespace?: string;
  kind?: string;
  /** Substring or glob (`*`, `?`) matched against the workload name. */
  name?: string;
  minSeverity?: Severity;
  /** Only rows whose largest relative change of a request is at least this percentage. */
  minChangePercent?: number;
  sort?: 'savings' | 'severity' | 'name';
  page?: number;
  pageSize?: number;
}

export interface QuantityView {
  requests: { cpu: string | null; memory: string | null };
  limits: { cpu: string | null; memory: string | null };
}

export interface RecommendationRow {
  /** The kube context krr scanned (null: krr ran in-cluster). */
  cluster: string | null;
  namespace: string;
  kind: WorkloadKind;
  name: string;
  container: string;
  /** Quantities; null = unset. */
  current: QuantityView;
  /** Quantities; null = krr recommends unset; "?" = unknown (never touched). */
  recommended: QuantityView;
  severity: Severity;
  monthlyCostDelta: number | null;
  notes: string[];
  /** Argo CD or Flux reconciles the live object (null: neither); absent while the live object has not been read. */
  gitopsOwner?: GitOpsOwner | null;
  /** false: listed for information only (GroupedJob, kinds without a pod template we patch); `notes` says why. */
  patchable: boolean;
  /** krr.policy.onLimit "step": fields beyond the policy's limits and the partial step a proposal takes instead. */
  steps?: Array<{ field: string; from: string; to: string; recommended: string; limit: string }>;
}

export interface RecommendationPage {
  rows: RecommendationRow[];
  total: number;
  page: number;
  pageSize: number;
  /** Over all rows that match the filters (not just this page): per cluster and for the whole selection. */
  totals?: { fleet: ClusterTotals; clusters: Array<{ cluster: string | null } & ClusterTotals> };
}

export interface ProposeArguments {
  reportId: string;
  /**
   * `source`, target "manifests" only: the id of one of the candidates an earlier proposal listed for this workload
   * (`sources[].id` of its refusal); only that source is edited, and the pick is part of the plan's digest.
   */
  workloads: Array<{ namespace: string; kind: string; name: string; source?: string }>;
  includeLimits?: boolean;
  allowLimitRemoval?: boolean;
  staged?: boolean;
  /** Where the change goes: the live objects (default) or the manifests in the workspace folders. */
  target?: 'cluster' | 'manifests';
  /** Beyond the policy's max increase/decrease: block (default krr.policy.onLimit) or take the largest allowed step. */
  onLimit?: 'block' | 'step';
}

export type ApplyStatus =
  | 'applied'
  | 'declined'
  | 'expired'
  | 'stale'
  | 'used'
  | 'unknown'
  | 'failed'
  | 'restored'
  | 'refused';

export interface ObjectOutcome {
  namespace: string;
  kind: string;
  name: string;
  result: 'written' | 'not-written' | 'failed' | 'restored' | 'restore-failed' | 'unchanged';
  message?: string;
  resourceVersion?: string;
}

export interface RolloutReport {
  namespace: string;
  kind: string;
  name: string;
  healthy: boolean;
  message: string;
}

export interface ApplyOutcome {
  status: ApplyStatus;
  planId: string;
  snapshotId?: string;
  objects: ObjectOutcome[];
  verified: boolean;
  rollouts: RolloutReport[];
  /** A plan id that would undo this apply (after a bad rollout); needs its own approval. */
  rollbackPlanId?: string;
  /** Rollback: fields changed since the apply (restored only when `included`). */
  conflicts?: RollbackConflict[];
  /** Manifest plans: what happened to each file (paths relative to their workspace folder). */
  files?: ManifestFileResult[];
  /** Trial plans: the trial started (its id is the plan's; watch it with the trial status). */
  trialId?: string;
  message: string;
}
