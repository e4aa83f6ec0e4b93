// Selection + live objects -> a checked plan: built, policy-checked and validated by a server-side dry-run.
import { randomBytes } from 'node:crypto';
import type { ClusterAccess } from '../apply';
import { mapBounded, readLiveObjects, type ReadResult } from '../apply';
import type { ResourceName, Workload, WorkloadKind } from '../krr/model';
import { KubectlError, type ObjectRef } from '../kube/kubectl';
import type { KubeObject } from '../kube/object';
import { containersPathByKind } from '../kube/object';
import { assessRisk, evaluatePolicies, isBlocked, maxRisk } from '../policy';
import { matchesAnyGlob, type SessionSettings } from '../session/settings';
import { ZodError } from 'zod';
import { QuantityError } from '../quantity';
import { buildObjectPatch, manifestYaml, PlanBuildError, readContainerResources, type DesiredResources } from './build';
import { monthlyCostOfChanges, podCount } from './cost';
import { planDigest } from './digest';
import type { BlockedWorkload, ObjectChange, Plan, PlanKind, PlanRequester, PlanTotals, PolicyFinding, RollbackConflict } from './model';
import { describeConflict } from './rollback';

export interface PlanTarget {
  ref: { namespace: string; kind: WorkloadKind; name: string };
  /** Desired values per container name. */
  desired: Map<string, DesiredResources>;
  notes: PolicyFinding[];
  /** From the report, when the target came from one (HPA details, allow-removal opt-in). */
  workload?: Workload;
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
  /** Called as targets are done (read, built, dry-run or blocked): counted progress for long previews. */
  onProgress?: (progress: { done: number; total: number }) => void;
}

export async function proposePlan(targets: readonly PlanTarget[], input: ProposeContext): Promise<Plan> {
  const blocked: BlockedWorkload[] = [...(input.blocked ?? [])];
  const conflicts: RollbackConflict[] = [];
  const warnings: PolicyFinding[] = [];
  const hpaTargetsByNamespace = new Map<string, Promise<Map<string, ResourceName[]>>>();
  const hpaTargetsIn = (namespace: string) => {
    let pending = hpaTargetsByNamespace.get(namespace);
    if (!pending) {
      pending = input.cluster.listObjects('HorizontalPodAutoscaler', namespace, input.signal).then(hpaUtilizationTargets, () => new Map());
      hpaTargetsByNamespace.set(namespace, pending);
    }
    return pending;
  };

  const supported = (target: PlanTarget) => Boolean(containersPathByKind[target.ref.kind]) && target.ref.kind !== 'Rollout';
  // All live objects first, batched per namespace: one kubectl process per batch instead of one per object.
  const readable = targets.filter(supported);
  const reads = await readLiveObjects(input.cluster, readable.map((target) => target.ref as ObjectRef), input.settings.applyConcurrency, input.signal);
  const liveByTarget = new Map<PlanTarget, ReadResult>(readable.map((target, index) => [target, reads[index] as ReadResult]));

  let done = 0;
  input.onProgress?.({ done, total: targets.length });
  const built = await mapBounded(targets, input.settings.applyConcurrency, async (target): Promise<ObjectChange | null> => {
    try {
      return await buildTarget(target);
    } finally {
      input.onProgress?.({ done: ++done, total: targets.length });
    }
  });
  async function buildTarget(target: PlanTarget): Promise<ObjectChange | null> {
    const { ref } = target;
    const refuse = (reasons: string[]) => {
      blocked.push({ namespace: ref.namespace, kind: ref.kind, name: ref.name, reasons });
      return null;
    };
    const read = liveByTarget.get(target);
    if (!supported(target) || !read) return refuse([`${ref.kind} objects cannot be changed by this extension (supported: Deployment, StatefulSet, DaemonSet, CronJob).`]);
    if ('error' in read) return refuse([`could not read the live object: ${read.error}`]);
    const live: KubeObject = read.live;
    // Resolved against the same read the patch pins, so a conflict cannot slip in between two reads.
    const resolved = target.resolve?.(live);
    const objectConflicts = resolved?.conflicts ?? [];
    conflicts.push(...objectConflicts);
    let patch;
    try {
      patch = buildObjectPatch(live, ref, resolved?.desired ?? target.desired);
    } catch (error) {
      // A live value or container no quantity/schema check accepts blocks this workload, not the whole plan.
      if (!(error instanceof PlanBuildError || error instanceof QuantityError || error instanceof ZodError)) throw error;
      return refuse([`cannot build the change: ${error instanceof ZodError ? (error.issues[0]?.message ?? 'invalid container') : error.message}`]);
    }
    const notes = [...target.notes, ...(resolved?.notes ?? [])];
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
    const hpaTargets = new Set<ResourceName>((await hpaTargetsIn(ref.namespace)).get(`${ref.kind}/${ref.name}`) ?? []);
    if (target.workload?.hpa?.targetCpuUtilizationPercentage != null) hpaTargets.add('cpu');
    if (target.workload?.hpa?.targetMemoryUtilizationPercentage != null) hpaTargets.add('memory');
    const findings = [
      ...evaluatePolicies({ identity: ref, changes: patch.changes, resulting: patch.resulting, hpaUtilizationTargets: [...hpaTargets], allowLimitRemoval: input.allowLimitRemoval }, input.settings.policy),
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
      proposedManifest: objectConflicts.map((conflict) => `# ${describeConflict(conflict)}: ${conflict.included ? 'RESTORED (included on request)' : 'left as it is'}\n`).join('') + manifestYaml(patch.proposed),
      pods: pods.pods,
      podsSource: pods.source,
      monthlyCostDelta: monthlyCostOfChanges(patch.changes, pods.pods, input.settings.prices),
      findings,
      stage: input.staged ? stageOf(ref.namespace, input.settings) : 1,
    };
  }

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

/** `Kind/name` -> resources an HPA (autoscaling/v2) scales it on by utilisation. */
function hpaUtilizationTargets(hpas: KubeObject[]): Map<string, ResourceName[]> {
  const targets = new Map<string, ResourceName[]>();
  for (const hpa of hpas) {
    const spec = (hpa.spec ?? {}) as { scaleTargetRef?: { kind?: string; name?: string }; metrics?: Array<{ type?: string; resource?: { name?: string; target?: { type?: string } } }>; targetCPUUtilizationPercentage?: number };
    const ref = spec.scaleTargetRef;
    if (!ref?.kind || !ref.name) continue;
    const resources: ResourceName[] = [];
    for (const metric of spec.metrics ?? []) {
      const name = metric.resource?.name;
      if (metric.type === 'Resource' && metric.resource?.target?.type === 'Utilization' && (name === 'cpu' || name === 'memory')) resources.push(name);
    }
    if (spec.targetCPUUtilizationPercentage !== undefined) resources.push('cpu');
    targets.set(`${ref.kind}/${ref.name}`, resources);
  }
  return targets;
}
