// Executes an approved plan: re-read, snapshot, write with preconditions, restore on partial failure, verify.
// This module never asks for approval: the session calls it only with a plan whose digest a human approved.
import type { AuditActor, AuditLog } from './audit';
import { gitOpsOwner } from './gitops/owner';
import { describeOwner } from './gitops/ownerName';
import type { KubeObject } from './kube/object';
import { containersPathByKind } from './kube/object';
import type { ObjectRef } from './kube/kubectl';
import { KubectlError } from './kube/kubectl';
import { pointerSegments, readPath, restoreOps, sameResources, specMove, specMoved } from './plan/build';
import type { ObjectChange, Plan } from './plan/model';
import type { JsonPatchOp } from './plan/patch';
import type { SnapshotObject, SnapshotStore } from './snapshots';
import type { ApplyOutcome, ObjectOutcome, RolloutReport } from './model';
import { plural } from './text';

/** The part of the kubectl runner that apply needs (the real one is `Kubectl`). */
export interface ClusterAccess {
  getObject(ref: ObjectRef, signal?: AbortSignal): Promise<KubeObject>;
  /** Several objects of one kind in one namespace at once; throws if any cannot be read. */
  getObjects(kind: ObjectRef['kind'], namespace: string, names: readonly string[], signal?: AbortSignal): Promise<KubeObject[]>;
  /** `restore`: the automatic restore of an object this apply wrote (still sent when the apply's API channel broke). */
  patchJson(ref: ObjectRef, ops: JsonPatchOp[], options: { dryRun: boolean; signal?: AbortSignal; restore?: boolean }): Promise<KubeObject>;
  rolloutStatus(ref: ObjectRef, timeoutSeconds: number, signal?: AbortSignal): Promise<{ ok: boolean; message: string }>;
}

export interface ApplyDependencies {
  cluster: ClusterAccess;
  snapshots: SnapshotStore;
  audit: AuditLog;
  actor: AuditActor;
  concurrency: number;
  rolloutWatch: { enabled: boolean; timeoutSeconds: number };
  /** When the human approved, and for how long that approval may start a stage (the plan's lifetime). */
  approval: { at: Date; maxAgeMs: number };
  /** The clock the approval's age is read from (the session's, so tests need not wait out a lifetime). */
  now: () => Date;
  /** krr.gitops.directPatch now: under `block`, an apply plan never writes an object Argo CD or Flux reconciles. */
  gitopsDirectPatch?: 'block' | 'warn' | 'allow';
  signal?: AbortSignal;
}

type WriteState = {
  object: ObjectChange;
  result: 'pending' | 'written' | 'failed' | 'not-written';
  resourceVersion?: string;
  message?: string;
  uncertain?: boolean;
  /** the object as the write stored it (the restore tests the stored values, canonicalised by the server) */
  stored?: KubeObject;
  /** set once the automatic restore of this object was attempted */
  restore?: { ok: boolean; message: string };
};

export async function executePlan(plan: Plan, deps: ApplyDependencies): Promise<ApplyOutcome> {
  const base = { planId: plan.id, verified: false, rollouts: [] as RolloutReport[] };
  const auditObjects = (objects: readonly ObjectChange[]) => objects.map((o) => ({ namespace: o.namespace, kind: o.kind, name: o.name, resourceVersion: o.resourceVersion }));

  // 1. Re-read every target; anything that moved since the proposal makes the whole plan stale (nothing written).
  const reread = await readLiveObjects(deps.cluster, plan.objects.map(refOf), deps.concurrency, deps.signal);
  const live = plan.objects.map((object, index) => {
    const entry = reread[index] as ReadResult;
    return 'live' in entry ? { object, live: entry.live } : { object, error: entry.error };
  });
  const moved = live.flatMap((entry) => {
    const why = 'error' in entry ? `could not re-read: ${entry.error}` : (specMove(entry.live, entry.object) ?? gitOpsRefusal(plan, entry.live, entry.object, deps));
    return why === null ? [] : [{ object: entry.object, why }];
  });
  if (moved.length > 0) {
    const objects: ObjectOutcome[] = moved.map((entry) => ({ ...identityOf(entry.object), result: 'not-written', message: entry.why }));
    await deps.audit.append({ action: 'refuse', actor: deps.actor, context: plan.context, server: plan.server, planId: plan.id, digest: plan.digest, objects: auditObjects(plan.objects), outcome: 'stale', detail: { changed: objects.map((o) => `${o.namespace}/${o.kind}/${o.name}`) } });
    return { ...base, status: 'stale', objects, message: `The plan is stale: ${plural(objects.length, 'object')} changed since it was proposed. Nothing was written; propose the changes again.` };
  }

  // 2. Snapshot what will be replaced; if it cannot be stored, nothing is written.
  const snapshotObjects: SnapshotObject[] = live.map((entry) => {
    const current = (entry as { live: KubeObject }).live;
    return {
      ref: identityOf(entry.object),
      apiVersion: entry.object.apiVersion,
      resourceVersionBefore: current.metadata.resourceVersion,
      replaced: replacedValues(current, entry.object.ops),
      before: current as unknown as Record<string, unknown>,
      // What this apply writes, field by field: a rollback restores these and only where they still hold.
      fields: entry.object.changes.map((change) => ({ container: change.container, allocation: change.allocation, resource: change.resource, before: change.from, after: change.to })),
      written: false,
    };
  });
  const snapshot = await deps.snapshots.save({ context: plan.context, server: plan.server, planId: plan.id, digest: plan.digest, objects: snapshotObjects, kind: plan.kind === 'apply' ? 'apply' : 'rollback' });
  await deps.audit.append({ action: 'apply', actor: deps.actor, context: plan.context, server: plan.server, planId: plan.id, digest: plan.digest, snapshotId: snapshot.id, objects: auditObjects(plan.objects), outcome: 'started', detail: { kind: plan.kind, staged: plan.staged } });

  // 3. Write, stage by stage. After the first failed write, a cancel, or a failed storage step no new write
  //    starts; a stage starts only while the human's approval is younger than the plan's lifetime.
  const states: WriteState[] = plan.objects.map((object) => ({ object, result: 'pending' }));
  const stages = [...new Set(plan.objects.map((object) => object.stage))].sort((a, b) => a - b);
  const rollouts: RolloutReport[] = [];
  const storageFailures: string[] = [];
  let failed = false;
  let failedStage: number | null = null;
  let lapsedStage: number | null = null;
  const stopped = () => failed || storageFailures.length > 0;
  // Storage after the first write never throws out of here: a throw would skip the restore and leave workers writing.
  const store = async (step: string, run: () => Promise<unknown>): Promise<boolean> => {
    try {
      await run();
      return true;
    } catch (error) {
      storageFailures.push(`${step}: ${describeError(error)}`);
      return false;
    }
  };
  const lifetimeSeconds = Math.round(deps.approval.maxAgeMs / 1000);
  for (const stage of stages) {
    if (deps.now().getTime() - deps.approval.at.getTime() > deps.approval.maxAgeMs) {
      lapsedStage = stage;
      break;
    }
    const stageStates = states.filter((state) => state.object.stage === stage);
    await mapBounded(stageStates, deps.concurrency, async (state) => {
      if (deps.signal?.aborted) failed = true;
      if (stopped()) {
        state.result = 'not-written';
        state.message = storageFailures.length > 0 ? 'not attempted: storage failed' : deps.signal?.aborted ? 'not attempted: cancelled' : 'not attempted: an earlier write failed';
        return;
      }
      await writeObject(state, deps);
      if (state.result === 'failed') failed = true;
      await store(`audit entry for the write of ${describeObject(state.object)}`, () =>
        deps.audit.append({ action: state.result === 'written' ? 'write' : 'write-failed', actor: deps.actor, context: plan.context, planId: plan.id, digest: plan.digest, snapshotId: snapshot.id, objects: [{ ...identityOf(state.object), ...(state.resourceVersion ? { resourceVersion: state.resourceVersion } : {}) }], outcome: state.result, ...(state.message ? { detail: { message: state.message } } : {}) }),
      );
    });
    if (!stopped() && (plan.staged || deps.rolloutWatch.enabled)) {
      const stageRollouts = await watchRollouts(stageStates, deps);
      rollouts.push(...stageRollouts);
      if (plan.staged && stageRollouts.some((rollout) => !rollout.healthy)) {
        failed = true;
        failedStage = stage;
      }
    }
    if (stopped()) break;
  }
  const lapsedMessage = `not written: the approval is older than the plan's lifetime (${lifetimeSeconds} s)`;
  for (const state of states) if (state.result === 'pending') Object.assign(state, { result: 'not-written', message: lapsedStage !== null && !stopped() ? lapsedMessage : 'not attempted: an earlier step failed' });

  await store('snapshot update', () =>
    deps.snapshots.update(snapshot.id, (current) => ({
      ...current,
      objects: current.objects.map((object, index) => {
        const state = states[index];
        return state?.result === 'written' ? { ...object, written: true, ...(state.resourceVersion ? { resourceVersionAfter: state.resourceVersion } : {}) } : object;
      }),
    })),
  );

  // 4. All-or-nothing: restoring what was written is part of the approved operation. For a staged plan whose
  //    stage was unhealthy, the failing stage only (healthy earlier stages stay and get a rollback proposal
  //    from the session); when storage failed, everything written, because the apply cannot be recorded.
  const restore = async (targets: WriteState[]): Promise<void> => {
    const results = await mapBounded(targets, deps.concurrency, (state) => restoreObject(state.object, deps, state.stored));
    targets.forEach((state, index) => (state.restore = results[index]));
    for (const state of targets) {
      const ok = state.restore?.ok === true;
      await store(`audit entry for the restore of ${describeObject(state.object)}`, () =>
        deps.audit.append({ action: ok ? 'restore' : 'restore-failed', actor: { type: 'system', via: 'automatic restore after a failed write' }, context: plan.context, planId: plan.id, digest: plan.digest, snapshotId: snapshot.id, objects: [identityOf(state.object)], outcome: ok ? 'restored' : 'failed', detail: { message: state.restore?.message ?? '' } }),
      );
    }
  };
  const unrestored = () => states.filter((state) => (state.result === 'written' || state.uncertain) && !state.restore);
  if (storageFailures.length > 0) await restore(unrestored());
  else if (failed) await restore(unrestored().filter((state) => failedStage === null || state.object.stage === failedStage));

  // 5. Verify a complete apply: every written object now has exactly the proposed resources.
  const complete = !stopped() && lapsedStage === null;
  let verified = false;
  if (complete) {
    const verification = (await readLiveObjects(deps.cluster, states.map((state) => refOf(state.object)), deps.concurrency, deps.signal)).map((entry, index) =>
      'live' in entry ? sameContainers(entry.live, (states[index] as WriteState).object) : false,
    );
    verified = verification.every(Boolean);
  }

  // 6. The closing entry. If it cannot be stored while objects stay written, they are restored too (nothing
  //    may stay changed that the log does not account for); the result says which entries are missing.
  const summary = summarise(states, { complete, verified, rollouts, storageFailures, failedStage, lapsedStage, lifetimeSeconds });
  const closed = complete
    ? await store('the final verify audit entry', () =>
        deps.audit.append({ action: 'verify', actor: { type: 'system', via: 'verification read' }, context: plan.context, planId: plan.id, digest: plan.digest, snapshotId: snapshot.id, objects: auditObjects(plan.objects), outcome: verified ? 'ok' : 'mismatch', detail: { rollouts: rollouts.map((r) => `${r.namespace}/${r.name}: ${r.healthy ? 'healthy' : r.message}`) } }),
      )
    : await store('the final apply audit entry', () =>
        deps.audit.append({ action: 'apply', actor: deps.actor, context: plan.context, planId: plan.id, digest: plan.digest, snapshotId: snapshot.id, objects: auditObjects(plan.objects), outcome: summary.status, detail: { message: summary.message } }),
      );
  if (closed) return { ...base, status: summary.status, snapshotId: snapshot.id, objects: summary.objects, verified: summary.status === 'applied' && verified, rollouts, message: summary.message };
  await restore(unrestored());
  const after = summarise(states, { complete: false, verified: false, rollouts, storageFailures, failedStage, lapsedStage, lifetimeSeconds });
  return { ...base, status: after.status, snapshotId: snapshot.id, objects: after.objects, rollouts, message: after.message };
}

/**
 * Proposals already block GitOps-owned objects; this re-check at the re-read catches an object that Argo CD or Flux
 * took over after the proposal (labels do not move metadata.generation) or a setting tightened since.
 */
function gitOpsRefusal(plan: Plan, live: KubeObject, object: ObjectChange, deps: ApplyDependencies): string | null {
  if (plan.kind !== 'apply' || (deps.gitopsDirectPatch ?? 'block') !== 'block') return null;
  const owner = gitOpsOwner(live, object.kind);
  if (!owner || owner.confidence !== 'certain' || owner.reconcileDisabled) return null;
  return `it is reconciled from Git by ${describeOwner(owner)} and krr.gitops.directPatch is "block"`;
}

/** Status, per-object outcomes and message of an apply, from the final state of each write. */
function summarise(
  states: readonly WriteState[],
  run: { complete: boolean; verified: boolean; rollouts: readonly RolloutReport[]; storageFailures: readonly string[]; failedStage: number | null; lapsedStage: number | null; lifetimeSeconds: number },
): { status: ApplyOutcome['status']; objects: ObjectOutcome[]; message: string } {
  const objects: ObjectOutcome[] = states.map((state) =>
    state.restore
      ? { ...identityOf(state.object), result: state.restore.ok ? 'restored' : 'restore-failed', message: state.restore.message }
      : { ...identityOf(state.object), result: state.result === 'written' ? 'written' : state.result === 'failed' ? 'failed' : 'not-written', ...(state.message ? { message: state.message } : {}), ...(state.result === 'written' && state.resourceVersion ? { resourceVersion: state.resourceVersion } : {}) },
  );
  if (run.complete && run.storageFailures.length === 0) {
    const unhealthy = run.rollouts.filter((rollout) => !rollout.healthy);
    return { status: 'applied', objects, message: `Applied ${plural(states.length, 'object')}${run.verified ? ', verified by re-reading them' : ', but verification found a difference: re-check the objects'}.${unhealthy.length > 0 ? ` ${plural(unhealthy.length, 'rollout')} not healthy.` : ''}` };
  }
  const restores = states.filter((state) => state.restore);
  const allRestored = restores.every((state) => state.restore?.ok);
  const kept = objects.some((object) => object.result === 'written');
  const anyWritten = states.some((state) => state.result === 'written' || state.uncertain);
  // The objects left changed are named with the reason: the person must know which ones to check, and why.
  const notRestored = restores.filter((state) => !state.restore?.ok).map((state) => `${describeObject(state.object)}: ${state.restore?.message ?? ''}`);
  const leftChanged = notRestored.slice(0, 3).join('; ') + (notRestored.length > 3 ? `; and ${notRestored.length - 3} more` : '');
  const restoredText = `${plural(restores.length, 'already-written object')} ${allRestored ? `${restores.length === 1 ? 'was' : 'were'} restored to their previous values` : `could NOT all be restored — check them now (${leftChanged})`}.`;
  const firstFailure = states.find((state) => state.result === 'failed');
  const listed = run.storageFailures.slice(0, 3).join('; ') + (run.storageFailures.length > 3 ? `; and ${run.storageFailures.length - 3} more` : '');
  const missing = 'The audit log or the snapshot may be missing entries for this apply: check the disk of the state directory (krr_audit_log shows whether the chain is intact).';
  // What stopped the apply comes first; a storage failure that came on top of it is added after.
  let message: string;
  let storageSaid = false;
  if (run.failedStage !== null) {
    message = `Stage ${run.failedStage} did not become healthy; it was ${allRestored ? 'restored' : `NOT fully restored (${leftChanged})`} and later stages were not written.${kept ? ' Earlier stages remain applied.' : ''}`;
  } else if (firstFailure) {
    message = `A write failed (${describeObject(firstFailure.object)}: ${firstFailure.message}). ${restoredText}`;
  } else if (run.storageFailures.length > 0) {
    message = `Storage failed after the first write (${listed}). ${restoredText} ${missing}`;
    storageSaid = true;
  } else if (run.lapsedStage !== null) {
    message = `Stage ${run.lapsedStage} and later were not written: the approval is older than the plan's lifetime (${run.lifetimeSeconds} s).${kept ? ' Earlier stages remain applied.' : ' Nothing was written.'} Propose the remaining changes again for a new approval.`;
  } else {
    message = `The apply was cancelled. ${restoredText}`;
  }
  if (run.storageFailures.length > 0 && !storageSaid) {
    const earlierRestored = run.failedStage !== null && restores.some((state) => state.object.stage !== run.failedStage);
    message += ` Storage also failed (${listed}).${earlierRestored ? ` Earlier stages were restored too, as the apply could not be recorded: ${restoredText}` : ''} ${missing}`;
  }
  const status: ApplyOutcome['status'] = kept || !allRestored ? 'failed' : !anyWritten && run.lapsedStage !== null && run.storageFailures.length === 0 ? 'expired' : 'restored';
  return { status, objects, message };
}

async function writeObject(state: WriteState, deps: ApplyDependencies): Promise<void> {
  try {
    const written = await deps.cluster.patchJson(refOf(state.object), state.object.ops, { dryRun: false, signal: deps.signal });
    state.result = 'written';
    state.resourceVersion = written.metadata.resourceVersion;
    state.stored = written;
  } catch (error) {
    state.message = describeError(error);
    if (isDefiniteRejection(error)) {
      state.result = 'failed';
      return;
    }
    // The outcome is unknown (connection dropped, timeout, kubectl killed): read the object to find out.
    state.result = 'failed';
    try {
      const after = await deps.cluster.getObject(refOf(state.object));
      if (specMoved(after, state.object) && sameContainers(after, state.object)) {
        state.result = 'written';
        state.resourceVersion = after.metadata.resourceVersion;
        state.stored = after;
        state.message = `${state.message} (the write did reach the server)`;
      }
    } catch (readError) {
      // Still unknown: the restore below is attempted too; its preconditions make it a no-op if nothing landed.
      state.uncertain = true;
      state.message = `${state.message}; re-reading it also failed: ${describeError(readError)}`;
    }
  }
}

async function restoreObject(object: ObjectChange, deps: ApplyDependencies, stored?: KubeObject): Promise<{ ok: boolean; message: string }> {
  const ops = restoreOps(object.ops, stored);
  let lost: unknown;
  try {
    return restoredAs(await deps.cluster.patchJson(refOf(object), ops, { dryRun: false, restore: true }), ops);
  } catch (error) {
    if (isDefiniteRejection(error)) return { ok: false, message: `restore failed: ${describeError(error)}` };
    lost = error;
  }
  // The answer was lost (a timeout on a slow or loaded API server, a dropped connection, a proxy's 5xx): the restore
  // may have landed or not. Reporting "NOT restored" without looking would send the person after an object that is
  // fine, or leave one written that one more try would restore; so read it back, and send the restore once more
  // only while the object still holds exactly what this apply wrote (its test ops make a second landing impossible).
  let live: KubeObject;
  try {
    live = await deps.cluster.getObject(refOf(object));
  } catch (readError) {
    return { ok: false, message: `restore failed: ${describeError(lost)}; re-reading the object also failed (${describeError(readError)}): check this object now` };
  }
  if (holdsRestore(live, ops)) return { ok: true, message: `restored to the values before this apply (the answer to the restore was lost: ${describeError(lost)}; re-reading the object shows the previous values)` };
  if (!holdsWritten(live, ops)) return { ok: false, message: `restore failed: ${describeError(lost)}; the object now holds neither the previous values nor what this apply wrote (changed by someone else?): check this object now` };
  try {
    const result = restoredAs(await deps.cluster.patchJson(refOf(object), ops, { dryRun: false, restore: true }), ops);
    return result.ok ? { ok: true, message: `restored to the values before this apply (on the second try; the first one's answer was lost: ${describeError(lost)})` } : result;
  } catch (error) {
    return { ok: false, message: `restore failed twice: ${describeError(lost)}; then ${describeError(error)}: check this object now` };
  }
}

/**
 * The reply is the object as stored. Admission (a mutating policy or webhook) may have changed what the restore
 * wrote; then the object is not back as it was, and the person must be told rather than read "restored".
 */
function restoredAs(written: KubeObject, ops: readonly JsonPatchOp[]): { ok: boolean; message: string } {
  const differs = ops.filter((op) => (op.op === 'replace' || op.op === 'add') && !sameResources(readPath(written, pointerSegments(op.path)), op.value));
  if (differs.length > 0) return { ok: false, message: `the restore was written, but the API server stored different values at ${differs.map((op) => op.path).join(', ')} (a mutating admission policy or webhook?): check this object now` };
  return { ok: true, message: 'restored to the values before this apply' };
}

/** Does the object hold what the restore writes (previous values back, fields the apply added gone)? */
function holdsRestore(live: KubeObject, ops: readonly JsonPatchOp[]): boolean {
  return ops.every((op) => {
    const value = readPath(live, pointerSegments(op.path));
    if (op.op === 'replace' || op.op === 'add') return sameResources(value, op.value);
    if (op.op === 'remove') return value === undefined;
    return true;
  });
}

/** Does the object still hold exactly what this apply wrote (every test op of the restore passes, by value)? */
function holdsWritten(live: KubeObject, ops: readonly JsonPatchOp[]): boolean {
  return ops.every((op) => op.op !== 'test' || sameResources(readPath(live, pointerSegments(op.path)), op.value));
}

async function watchRollouts(states: readonly WriteState[], deps: ApplyDependencies): Promise<RolloutReport[]> {
  const watchable = states.filter((state) => state.result === 'written' && ['Deployment', 'StatefulSet', 'DaemonSet'].includes(state.object.kind));
  return mapBounded(watchable, deps.concurrency, async (state) => {
    try {
      const status = await deps.cluster.rolloutStatus(refOf(state.object), deps.rolloutWatch.timeoutSeconds, deps.signal);
      return { ...identityOf(state.object), healthy: status.ok, message: status.message };
    } catch (error) {
      return { ...identityOf(state.object), healthy: false, message: describeError(error) };
    }
  });
}

/** The values each `replace`/`add` op will overwrite, by JSON pointer (absent ones marked), for the snapshot. */
function replacedValues(live: KubeObject, ops: readonly JsonPatchOp[]): SnapshotObject['replaced'] {
  return ops
    .filter((op) => op.op === 'replace' || op.op === 'add' || op.op === 'remove')
    .map((op) => {
      const segments = op.path.split('/').slice(1).map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
      const value = readPath(live, segments.map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment)));
      return value === undefined ? { path: op.path, absent: true } : { path: op.path, value };
    });
}

/** Do the object's containers carry the resources the plan writes (quantities by value: the server canonicalises them)? */
function sameContainers(object: KubeObject, change: ObjectChange): boolean {
  const containersPath = containersPathByKind[change.kind];
  if (!containersPath) return false;
  for (const op of change.ops) {
    if (op.op !== 'replace' && op.op !== 'add') continue;
    if (!sameResources(readPath(object, pointerSegments(op.path)), op.value)) return false;
  }
  return true;
}

function isDefiniteRejection(error: unknown): boolean {
  return error instanceof KubectlError && ['precondition-failed', 'conflict', 'forbidden', 'invalid', 'not-found', 'auth'].includes(error.kind);
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeObject(object: ObjectChange): string {
  return `${object.kind} ${object.namespace}/${object.name}`;
}

function refOf(object: ObjectChange): ObjectRef {
  return { kind: object.kind, namespace: object.namespace, name: object.name };
}

/** The namespace/kind/name of an object, without the rest (for outcomes and audit entries). */
export function identityOf(object: { namespace: string; kind: string; name: string }): { namespace: string; kind: string; name: string } {
  return { namespace: object.namespace, kind: object.kind, name: object.name };
}

export type ReadResult = { live: KubeObject } | { error: string };

/** Names per batched read: bounds one kubectl process's run time (it GETs the names one by one). */
const readBatchSize = 10;

/**
 * Reads objects in as few kubectl processes as possible (one per kind, namespace and batch of names), in
 * the order of `refs`. A batch that fails is read again object by object, so each object gets its own error.
 */
export async function readLiveObjects(cluster: ClusterAccess, refs: readonly ObjectRef[], concurrency: number, signal?: AbortSignal): Promise<ReadResult[]> {
  const groups = new Map<string, number[]>();
  refs.forEach((ref, index) => {
    const key = `${ref.kind}\u0000${ref.namespace}`;
    const group = groups.get(key) ?? [];
    group.push(index);
    groups.set(key, group);
  });
  const batches: number[][] = [];
  for (const group of groups.values()) for (let start = 0; start < group.length; start += readBatchSize) batches.push(group.slice(start, start + readBatchSize));
  const results = new Array<ReadResult>(refs.length);
  const retry: number[] = [];
  await mapBounded(batches, concurrency, async (batch) => {
    const first = refs[batch[0] as number] as ObjectRef;
    const names = batch.map((index) => (refs[index] as ObjectRef).name);
    try {
      const objects = await cluster.getObjects(first.kind, first.namespace, names, signal);
      const byName = new Map(objects.map((object) => [object.metadata.name, object]));
      if (names.every((name) => byName.has(name))) {
        for (const index of batch) results[index] = { live: byName.get((refs[index] as ObjectRef).name) as KubeObject };
        return;
      }
    } catch {
      // read again one by one below: each object gets its own error message
    }
    retry.push(...batch);
  });
  await mapBounded(retry, concurrency, async (index) => {
    try {
      results[index] = { live: await cluster.getObject(refs[index] as ObjectRef, signal) };
    } catch (error) {
      results[index] = { error: describeError(error) };
    }
  });
  return results;
}

/**
 * Runs `task` over `items` with at most `limit` in flight, keeping the order of results. After a task throws
 * no new task starts, and the call rejects (with the first error) only once every started task has settled:
 * nothing keeps running behind a caller that has moved on (e.g. released the per-context apply lock).
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const index = next++;
      try {
        results[index] = await task(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
  return results;
}

