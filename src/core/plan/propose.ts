// Selection + live objects -> a checked plan: built, policy-checked and validated by a server-side dry-run.
import type { CountedProgress } from '../progressPulse';
import { randomBytes } from 'node:crypto';
import type { ClusterAccess } from '../apply';
import { mapBounded, readLiveObjects, type ReadResult } from '../apply';
import { evidenceOfChanged, type EvidenceSummary } from '../evidence/planEvidence';
import { liveHpasByTarget, reportHpaState, type LiveHpa } from '../hpa/object';
import { describeProjection, projectHpa, type HpaAssessment } from '../hpa/projection';
import type { ResourceName, Workload, WorkloadKind } from '../krr/model';
import { gitOpsOwner, type GitOpsOwner } from '../gitops/owner';
import { KubectlError, type ObjectRef } from '../kube/kubectl';
import type { KubeObject } from '../kube/object';
import { containersPathByKind } from '../kube/object';
import { assessRisk, describeStep, evaluatePolicies, isBlocked, largestAllowedStep, maxRisk } from '../policy';
import { matchesAnyGlob, type SessionSettings } from '../settings';
import { ZodError } from 'zod';
import { QuantityError } from '../quantity';
import { buildObjectPatch, manifestYaml, PlanBuildError, readContainerResources, type DesiredResources } from './build';
import { monthlyCostOfChanges, podCount } from './cost';
import { planDigest } from './digest';
import type { BlockedWorkload, FieldChange, ObjectChange, Plan, PlanKind, PlanRequester, PlanTotals, PolicyFinding, RollbackConflict } from './model';
import type { PolicyStep } from '../policy';
import { describeConflict } from './rollback';

export interface PlanTarget {
  ref: { namespace: string; kind: WorkloadKind; name: string };
  /** Desired values per container name. */
  desired: Map<string, DesiredResources>;
  notes: PolicyFinding[];
  /** From the report, when the target came from one (HPA details, allow-removal opt-in). */
  workload?: Workload;
  /**
   * The usage evidence of the workload's containers by container name (recorded, or why none), read at proposal time;
   * stored with every changed container and checked (core/evidence/checks). Absent: none is sought (rollbacks).
   */
  evidence?: ReadonlyMap<string, EvidenceSummary>;
  /** Rollback: the desired values depend on the live object (only fields still as the apply wrote them). */
  resolve?: (live: KubeObject) => { desired: Map<string, DesiredResources>; notes: PolicyFinding[]; conflicts: RollbackConflict[] };
}

export interface ProposeContext {
  cluster: ClusterAccess & { listObjects(kind: 'HorizontalPodAutoscaler', namespace: string, signal?: AbortSignal): Promise<KubeObject[]> };
  settings: SessionSettings;
  context: string;
  server: string;
  requester: PlanRequester;
  kind: PlanKind;
  staged: boolean;
  allowLimitRemoval: boolean;
  now: Date;
  signal?: AbortSignal;
  /** Workloads refused before reading anything (e.g. not in the report); carried into `blocked`. */
  blocked?: BlockedWorkload[];
  sourceReportId?: string;
  sourceSnapshotId?: string;
  /** Called at the start, after each target's proposal is complete (read, policies, dry-run), and at the end. */
  onProgress?: (progress: ProposeProgress) => void;
  /** Told who (if anyone) reconciles each live object read from Git, so listings can show it without another read. */
  observeOwner?: (ref: PlanTarget['ref'], owner: GitOpsOwner | null) => void;
  /** Beyond maxIncrease/maxDecreasePercent: block (default), or write the largest step the limits allow. */
  onLimit?: 'block' | 'step';
}

/** How far a proposal is: `done` of `total` selected workloads are read, checked and dry-run (or blocked). */
export type ProposeProgress = CountedProgress;

/**
 * Targets read per window: reads are batched per namespace inside a window (fewer kubectl processes when
 * there is no API channel), and each window's targets are checked before the next is read, so progress
 * moves all the time rather than only after every object has been read.
 */
const windowPerWorker = 10;

/**
 * Requests in flight during a proposal: twice the apply's. A proposal writes nothing (reads and server-side
 * dry-runs), so there is nothing in flight to restore when one fails, and its time is mostly waiting on the server.
 */
export function proposeConcurrency(settings: Pick<SessionSettings, 'applyConcurrency'>): number {
  return Math.max(1, settings.applyConcurrency) * 2;
}

export async function proposePlan(targets: readonly PlanTarget[], input: ProposeContext): Promise<Plan> {
  const blocked: BlockedWorkload[] = [...(input.blocked ?? [])];
  const conflicts: RollbackConflict[] = [];
  const warnings: PolicyFinding[] = [];
  const hpaTargetsByNamespace = new Map<string, Promise<Map<string, LiveHpa>>>();
  const hpaTargetsIn = (namespace: string) => {
    let pending = hpaTargetsByNamespace.get(namespace);
    if (!pending) {
      pending = input.cluster.listObjects('HorizontalPodAutoscaler', namespace, input.signal).then(liveHpasByTarget, () => new Map<string, LiveHpa>());
      hpaTargetsByNamespace.set(namespace, pending);
    }
    return pending;
  };

  // Argo Rollouts are patched like Deployments when the cluster serves their CRD; the read says whether it does.
  const supported = (target: PlanTarget) => Boolean(containersPathByKind[target.ref.kind]);
  const liveByTarget = new Map<PlanTarget, ReadResult>();
  const progress = { done: 0, total: targets.length };
  input.onProgress?.({ ...progress });

  const buildOne = async (target: PlanTarget): Promise<ObjectChange | null> => {
    const { ref } = target;
    let owner: GitOpsOwner | null = null;
    const refuse = (reasons: string[]) => {
      blocked.push({ namespace: ref.namespace, kind: ref.kind, name: ref.name, reasons, ...(owner ? { gitopsOwner: owner } : {}) });
      return null;
    };
    const read = liveByTarget.get(target);
    if (!supported(target) || !read) return refuse([`not patchable here: ${ref.kind} objects cannot be changed by this extension (supported: Deployment, StatefulSet, DaemonSet, CronJob, and Argo Rollouts where their CRD is served).`]);
    if ('error' in read) {
      if (ref.kind === 'Rollout' && crdNotServed.test(read.error)) return refuse(['not patchable here: this cluster does not serve the Argo Rollouts CRD (rollouts.argoproj.io, v1alpha1); install Argo Rollouts or change the Rollout where it is managed.']);
      return refuse([`could not read the live object: ${read.error}`]);
    }
    if (ref.kind === 'Rollout' && read.live.apiVersion !== 'argoproj.io/v1alpha1') {
      return refuse([`not patchable here: the Rollout is served as ${read.live.apiVersion}, not argoproj.io/v1alpha1 (the version whose pod template this extension knows).`]);
    }
    const live: KubeObject = read.live;
    owner = gitOpsOwner(live, ref.kind);
    input.observeOwner?.(ref, owner);
    // Resolved against the same read the patch pins, so a conflict cannot slip in between two reads.
    const resolved = target.resolve?.(live);
    const objectConflicts = resolved?.conflicts ?? [];
    conflicts.push(...objectConflicts);
    let patch;
    const stepNotes: PolicyFinding[] = [];
    try {
      patch = buildObjectPatch(live, ref, resolved?.desired ?? target.desired);
      // A rollback restores what was there; only a recommendation is stepped.
      if (input.onLimit === 'step' && input.kind === 'apply') {
        const stepped = stepTowardRecommendation(patch.changes, resolved?.desired ?? target.desired, input.settings.policy);
        if (stepped) {
          patch = buildObjectPatch(live, ref, stepped.desired);
          for (const change of patch.changes) {
            const step = stepped.steps.get(fieldKey(change));
            if (!step) continue;
            change.step = { recommended: step.recommended, rule: step.rule, limitPercent: step.limitPercent };
            stepNotes.push({ severity: 'info', rule: 'partial-step', container: change.container, message: `container ${change.container}: ${change.allocation}.${change.resource} ${change.from ?? 'unset'} → ${change.to ?? 'unset'} is a ${describeStep(step)}.` });
          }
        }
      }
    } catch (error) {
      // A live value or container no quantity/schema check accepts blocks this workload, not the whole plan.
      if (!(error instanceof PlanBuildError || error instanceof QuantityError || error instanceof ZodError)) throw error;
      return refuse([`cannot build the change: ${error instanceof ZodError ? (error.issues[0]?.message ?? 'invalid container') : error.message}`]);
    }
    const notes = [...target.notes, ...(resolved?.notes ?? []), ...stepNotes];
    for (const missing of patch.missingContainers) notes.push({ severity: 'info', rule: 'container-missing', container: missing, message: 'the container is in the report but not in the live object; skipped.' });
    if (patch.changes.length === 0) {
      // Notes of a workload without an object in the plan name it themselves (core/plan/skips lists them).
      const named = notes.map((note) => ({ ...note, workload: { namespace: ref.namespace, kind: ref.kind, name: ref.name } }));
      // A rollback whose every field was changed since says so through its conflicts, not "already matches".
      if (objectConflicts.length > 0) {
        warnings.push(...named);
        return null;
      }
      warnings.push({ severity: 'info', rule: 'no-change', message: `${ref.kind} ${ref.namespace}/${ref.name}: nothing to change (the live values already match).` }, ...named);
      return null;
    }
    const liveHpa = (await hpaTargetsIn(ref.namespace)).get(`${ref.kind}/${ref.name}`);
    const hpaTargets = new Set<ResourceName>(liveHpa?.resources ?? []);
    if (target.workload?.hpa?.targetCpuUtilizationPercentage != null) hpaTargets.add('cpu');
    if (target.workload?.hpa?.targetMemoryUtilizationPercentage != null) hpaTargets.add('memory');
    // A rollback puts back what an apply of ours wrote, towards what Git holds: GitOps ownership does not block it.
    const gitops = input.kind === 'apply' ? { gitops: { owner, directPatch: input.settings.gitops.directPatch } } : {};
    // One entry per changed container, in the order of the changes: what the approval shows and the digest covers.
    const evidence = target.evidence ? evidenceOfChanged(patch.changes, target.evidence) : undefined;
    // With "model", a rollback or restore puts back the request the HPA scaled with before our apply: it is not
    // projected or blocked for the HPA (an apply the projection let through must stay undoable, also by the rollout
    // watch). "block" keeps the old rule for every plan kind.
    const scaled = input.kind === 'apply' || input.settings.policy.hpa === 'block' ? [...hpaTargets] : [];
    const hpa = input.settings.policy.hpa === 'model' ? hpaAssessment(live, ref.kind, patch, scaled, liveHpa, target, input.settings.prices) : null;
    const findings = [
      ...evaluatePolicies(
        { identity: ref, changes: patch.changes, resulting: patch.resulting, hpaUtilizationTargets: scaled, allowLimitRemoval: input.allowLimitRemoval, ...gitops, ...(evidence ? { evidence } : {}), ...(hpa ? { hpa } : {}) },
        input.settings.policy,
      ),
      ...notes,
    ];
    if (isBlocked(findings)) return refuse(findings.filter((finding) => finding.severity === 'block').map((finding) => finding.message));

    // The server-side dry-run runs admission (validation, LimitRanges, webhooks) without storing anything.
    try {
      const dryRun = await input.cluster.patchJson(ref as ObjectRef, patch.ops, { dryRun: true, signal: input.signal });
      const expected = readContainerResources(patch.proposed, ref.kind);
      const admitted = readContainerResources(dryRun, ref.kind);
      if (JSON.stringify(expected) !== JSON.stringify(admitted)) {
        findings.push({ severity: 'warn', rule: 'admission-changed', message: `The API server's dry-run changed the resources of ${ref.name} (a LimitRange or webhook?): review the result after applying.` });
      }
    } catch (error) {
      const detail = error instanceof KubectlError ? error.message : (error as Error).message;
      return refuse([`the server-side dry-run rejected the change: ${detail}`]);
    }
    const hpaReplicas = target.workload?.hpa ? { currentReplicas: target.workload.hpa.currentReplicas } : null;
    const pods = podCount(ref, live, hpaReplicas);
    return {
      ...ref,
      apiVersion: live.apiVersion,
      uid: live.metadata.uid ?? null,
      resourceVersion: live.metadata.resourceVersion,
      generation: live.metadata.generation ?? null,
      changes: patch.changes,
      ops: patch.ops,
      liveManifest: manifestYaml(live),
      // The diff's right side says which fields changed since the apply and whether they are restored.
      proposedManifest:
        objectConflicts.map((conflict) => `# ${describeConflict(conflict)}: ${conflict.included ? 'RESTORED (included on request)' : 'left as it is'}\n`).join('') +
        // The replicas and total cost the HPA settles at, beside krr's per-pod values the diff shows.
        (hpa?.status === 'projected' ? `# ${describeProjection(hpa)}\n` : '') +
        manifestYaml(patch.proposed),
      pods: pods.pods,
      podsSource: pods.source,
      monthlyCostDelta: monthlyCostOfChanges(patch.changes, pods.pods, input.settings.prices),
      findings,
      stage: input.staged ? stageOf(ref.namespace, input.settings) : 1,
      ...(owner ? { gitopsOwner: owner } : {}),
      ...(evidence ? { evidence } : {}),
      // Only a projection that let the change through is stored: the dialog shows it and the digest covers it.
      ...(hpa?.status === 'projected' ? { hpa } : {}),
    };
  };

  const built: Array<ObjectChange | null> = [];
  const concurrency = proposeConcurrency(input.settings);
  // The first window is small, so the first workloads are counted soon after the start.
  const windows: PlanTarget[][] = [];
  for (let start = 0; start < targets.length; ) {
    const size = start === 0 ? concurrency : concurrency * windowPerWorker;
    windows.push(targets.slice(start, start + size));
    start += size;
  }
  // A window's live objects are read together, batched per namespace (one kubectl process per batch instead of one
  // per object when there is no API channel; through the channel, its connection limit bounds both pools).
  const readWindow = async (slice: readonly PlanTarget[]): Promise<void> => {
    const readable = slice.filter(supported);
    const reads = await readLiveObjects(input.cluster, readable.map((target) => target.ref as ObjectRef), concurrency, input.signal);
    readable.forEach((target, index) => liveByTarget.set(target, reads[index] as ReadResult));
  };
  // A read or dry-run cut short by a cancel fails like any other and would block its workload: a cancelled preview
  // then came back as a plan of "could not read the live object: …cancelled" rows, stored and audited. It fails instead.
  const stopIfCancelled = () => {
    if (input.signal?.aborted) throw new KubectlError('aborted', 'The proposal was cancelled; nothing was proposed.', '', []);
  };
  let reading: Promise<void> = windows[0] ? readWindow(windows[0]) : Promise.resolve();
  try {
    for (const [index, slice] of windows.entries()) {
      await reading;
      stopIfCancelled();
      // The next window is read while this one is checked, so the count keeps moving.
      const next = windows[index + 1];
      reading = next ? readWindow(next) : Promise.resolve();
      built.push(
        ...(await mapBounded(slice, concurrency, async (target) => {
          stopIfCancelled();
          const change = await buildOne(target);
          stopIfCancelled();
          progress.done += 1;
          input.onProgress?.({ ...progress });
          return change;
        })),
      );
      for (const target of slice) liveByTarget.delete(target);
    }
  } finally {
    // Nothing keeps reading behind a proposal that failed.
    await reading.catch(() => undefined);
  }
  stopIfCancelled();

  const objects = built.filter((object): object is ObjectChange => object !== null).sort((a, b) => a.stage - b.stage || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  const risks = objects.map((object) => ({ object, ...assessRisk(object.changes, object.findings) }));
  const risk = maxRisk(risks.map((entry) => entry.level));
  const riskReasons = [...new Set(risks.filter((entry) => entry.level === risk && risk !== 'low').flatMap((entry) => entry.reasons.map((reason) => `${entry.object.name}: ${reason}`)))];
  const digest = planDigest({ context: input.context, server: input.server, staged: input.staged, objects });
  return {
    id: `plan-${randomBytes(6).toString('hex')}`,
    digest,
    kind: input.kind,
    context: input.context,
    server: input.server,
    createdAt: input.now.toISOString(),
    expiresAt: new Date(input.now.getTime() + input.settings.planTtlSeconds * 1000).toISOString(),
    requestedBy: input.requester,
    objects,
    blocked,
    warnings,
    totals: totalsOf(objects, blocked.length),
    risk,
    riskReasons,
    staged: input.staged,
    ...(input.sourceReportId ? { sourceReportId: input.sourceReportId } : {}),
    ...(input.sourceSnapshotId ? { sourceSnapshotId: input.sourceSnapshotId } : {}),
    ...(input.kind === 'rollback' ? { conflicts } : {}),
  };
}

/** kubectl's and the API server's words for a resource type the cluster does not serve. */
const crdNotServed = /doesn't have a resource type|could not find the requested resource|no matches for kind|the server could not find/i;

function fieldKey(change: { container: string; allocation: string; resource: string }): string {
  return `${change.container}\u0000${change.allocation}\u0000${change.resource}`;
}

/** The desired values with every change beyond the policy's limits replaced by the largest allowed step; null if none is beyond. */
function stepTowardRecommendation(changes: readonly FieldChange[], desired: ReadonlyMap<string, DesiredResources>, policy: SessionSettings['policy']) {
  const steps = new Map<string, PolicyStep>();
  for (const change of changes) {
    const step = largestAllowedStep(change, policy);
    if (step) steps.set(fieldKey(change), step);
  }
  if (steps.size === 0) return null;
  const stepped = new Map<string, DesiredResources>();
  for (const [container, wanted] of desired) {
    const copy: DesiredResources = { requests: { ...wanted.requests }, limits: { ...wanted.limits } };
    for (const allocation of ['requests', 'limits'] as const) {
      for (const resource of ['cpu', 'memory'] as const) {
        const step = steps.get(fieldKey({ container, allocation, resource }));
        if (step) copy[allocation][resource] = step.to;
      }
    }
    stepped.set(container, copy);
  }
  return { desired: stepped, steps };
}

/** Staging rule: dev/test-looking namespaces first, production-looking last, the rest in between. */
function stageOf(namespace: string, settings: SessionSettings): number {
  if (matchesAnyGlob(namespace, ['*dev*', '*test*', '*sandbox*', '*preview*'])) return 1;
  if (matchesAnyGlob(namespace, ['*stag*', '*qa*', '*uat*'])) return 2;
  if (matchesAnyGlob(namespace, settings.policy.productionNamespacePatterns)) return 4;
  return 3;
}

function totalsOf(objects: readonly ObjectChange[], blocked: number): PlanTotals {
  const totals: PlanTotals = { objects: objects.length, containers: 0, changes: 0, cpuRequestDelta: 0, memoryRequestDelta: 0, cpuLimitDelta: 0, memoryLimitDelta: 0, monthlyCostDelta: 0, blocked };
  for (const object of objects) {
    totals.containers += new Set(object.changes.map((change) => change.container)).size;
    totals.changes += object.changes.length;
    totals.monthlyCostDelta += object.monthlyCostDelta ?? 0;
    const pods = object.pods ?? 1;
    for (const change of object.changes) {
      const delta = ((change.toAmount ?? 0) - (change.fromAmount ?? 0)) * pods;
      if (change.allocation === 'requests' && change.resource === 'cpu') totals.cpuRequestDelta += delta;
      if (change.allocation === 'requests' && change.resource === 'memory') totals.memoryRequestDelta += delta;
      if (change.allocation === 'limits' && change.resource === 'cpu') totals.cpuLimitDelta += delta;
      if (change.allocation === 'limits' && change.resource === 'memory') totals.memoryLimitDelta += delta;
    }
  }
  totals.monthlyCostDelta = Math.round(totals.monthlyCostDelta * 100) / 100;
  return totals;
}

/**
 * What the HPA will do with the patched requests (core/hpa/projection), when a request it scales on changes; null
 * when none does. The live HPA is preferred (fresher than the report); the whole pod counts, changed or not.
 */
function hpaAssessment(live: KubeObject, kind: WorkloadKind, patch: { changes: readonly FieldChange[]; resulting: ReadonlyArray<{ container: string; requests: { cpu: number | null; memory: number | null } }> }, scaled: readonly ResourceName[], liveHpa: LiveHpa | undefined, target: PlanTarget, prices: SessionSettings['prices']): HpaAssessment | null {
  if (!patch.changes.some((change) => change.allocation === 'requests' && scaled.includes(change.resource))) return null;
  const state = liveHpa?.state ?? reportHpaState(target.workload?.hpa);
  if (!state) return { status: 'unmodelled', reason: 'neither the live HPA nor the report gives its maxReplicas, current replicas and utilization targets' };
  // A metric left out would under-count: the HPA takes the largest proposal of all of them.
  const unknown = scaled.filter((resource) => state.targets[resource] === undefined);
  if (unknown.length > 0) return { status: 'unmodelled', reason: `the HPA's ${unknown.join(' and ')} utilization target is not known (the live HPA could not be read in full)` };
  const after = new Map(patch.resulting.map((resources) => [resources.container, resources.requests]));
  const pod = readContainerResources(live, kind).map((resources) => ({ container: resources.container, before: resources.requests, after: after.get(resources.container) ?? resources.requests }));
  return projectHpa(state, pod, target.evidence, prices);
}
