// A trial: krr's recommendation tried on a few running pods of one workload, resized in place through the pods/resize
// subresource (Kubernetes 1.33+), watched for a window, then reverted — and, when it passed, offered as the ordinary
// change of the template (the persist plan), which needs its own approval. The trial plan is approved like any plan.
import type { FieldChange, ObjectIdentity, PlanRequester, PolicyFinding } from '../plan/model';
import type { JsonPatchOp } from '../plan/patch';
import type { ResourceName } from '../krr/model';

/** One container of one trial pod: its resources block before and during the trial, and what a resize does to it. */
export interface TrialContainer {
  name: string;
  /** The pod spec's resources block as read (the resize's `test` op pins it; the revert writes it back). */
  before: Record<string, Record<string, string>>;
  /** The block during the trial. */
  after: Record<string, Record<string, string>>;
  changes: FieldChange[];
  /** Resources whose resizePolicy is RestartContainer: resizing them restarts this container (the dialog says so). */
  restartsOn: ResourceName[];
}

export interface TrialPod {
  name: string;
  uid: string;
  node: string | null;
  containers: TrialContainer[];
  /** The JSON patch of the pod's resize subresource: tests (uid, names, resources) then replaces. */
  ops: JsonPatchOp[];
}

export interface TrialPlan {
  id: string;
  digest: string;
  target: 'trial';
  context: string;
  server: string;
  createdAt: string;
  expiresAt: string;
  requestedBy: PlanRequester;
  workload: ObjectIdentity;
  /** The pods the trial resizes (no other pod is reachable by its apply: the API channel accepts only these). */
  pods: TrialPod[];
  /** How many the person asked for, and how many running, ready pods the workload had. */
  requestedPods: number;
  runningPods: number;
  /** How long the trial runs before it is reverted (and, if it passed, offers the persist plan). */
  windowSeconds: number;
  /** Limits were part of the recommendation tried (the persist plan proposes the same values). */
  includeLimits: boolean;
  findings: PolicyFinding[];
  /** The trial pods' containers before and during the trial, as YAML, for the diff. */
  liveManifest: string;
  proposedManifest: string;
  sourceReportId: string;
}

/** What the watch last saw of one trial pod. */
export interface TrialPodStatus {
  name: string;
  /**
   * applied: every container runs with the trial's resources; pending/in-progress: the kubelet has not finished;
   * infeasible/deferred: the cluster's answer (PodResizePending); restarted: a restart or OOM kill happened; gone: the
   * pod was deleted or replaced (a new pod comes back at the template's size); reverted: back at its template size.
   */
  phase: 'applied' | 'pending' | 'in-progress' | 'infeasible' | 'deferred' | 'restarted' | 'gone' | 'reverted' | 'not-ready';
  ready: boolean;
  /** Restarts and OOM kills of its containers since the trial started (from restartCount and lastState). */
  restarts: number;
  oomKills: number;
  /** The cluster's own words (a resize condition's message, the last termination reason), when there are any. */
  message?: string;
  /** The memory each changed container runs with, as the kubelet reports it ("198Mi"), when it reports it. */
  running?: Record<string, { cpu?: string; memory?: string; cpuLimit?: string; memoryLimit?: string }>;
}

export type TrialState =
  /** Resized, being watched. */
  | 'running'
  /** The window ended with no failed signal; the pods were reverted; the persist plan may be proposed. */
  | 'passed'
  /** A signal failed (OOM kill, restart, not ready, resize refused); the pods were reverted. */
  | 'failed'
  /** Reverted before its end by a person (or the model) asking. */
  | 'reverted'
  /** Its window ended while no watch ran (VS Code closed, server stopped): the pods may still be at the trial size. */
  | 'overdue';

export interface TrialRevert {
  at: string;
  pods: Array<{ name: string; result: 'reverted' | 'gone' | 'not-needed' | 'failed'; message?: string }>;
}

/** A trial as the state directory keeps it (one file per trial), so it outlives a window reload or a server restart. */
export interface TrialRecord {
  id: string;
  planId: string;
  digest: string;
  context: string;
  server: string;
  workload: ObjectIdentity;
  pods: TrialPod[];
  runningPods: number;
  windowSeconds: number;
  includeLimits: boolean;
  sourceReportId: string;
  startedAt: string;
  endsAt: string;
  state: TrialState;
  /** Restart counts per pod and container when the trial started: later restarts count against it. */
  baseline: Record<string, Record<string, number>>;
  statuses: TrialPodStatus[];
  /** When the watch last read the pods. */
  checkedAt: string | null;
  /** Why it ended (failed: the signal; passed: what it ran with). */
  outcome?: { at: string; reason: string };
  revert?: TrialRevert;
  /** Peak memory working set per container during the trial, when Prometheus said (bytes). */
  peakMemory?: Record<string, number>;
  /** Throttled share of CPU periods per container during the trial, in percent, when Prometheus said. */
  throttledPercent?: Record<string, number>;
  /** Why there is no usage from Prometheus (none configured, unreachable, refused). */
  usageNote?: string;
  persistPlanId?: string;
}
