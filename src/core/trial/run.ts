// Carrying out an approved trial: resize each trial pod (its patch's `test` ops pin what the plan saw), put back every
// pod already resized when one fails, look at the pods, and revert them. Called only by session/trial.ts, after a
// person approved this plan's digest; the cluster access it gets reaches only the plan's pods.
import { KubectlError } from '../kube/kubectl';
import type { Pod, PodRef } from '../kube/pod';
import type { JsonPatchOp } from '../plan/patch';
import type { TrialPlan, TrialPod, TrialRevert } from './model';
import { ownedBy, revertOps, specAtTemplateSize, specAtTrialSize } from './plan';

/** The part of the cluster access a trial needs (ChannelledCluster in the product). */
export interface TrialCluster {
  getPod(ref: PodRef, signal?: AbortSignal): Promise<Pod>;
  resizePod(ref: PodRef, ops: JsonPatchOp[], options: { dryRun: boolean; signal?: AbortSignal; restore?: boolean }): Promise<Pod>;
}

export type StartResult =
  | { ok: true; baseline: Record<string, Record<string, number>> }
  | { ok: false; message: string; revert: TrialRevert };

/** Resizes the plan's pods, `concurrency` at a time; on any failure every pod resized so far is put back. */
export async function startTrial(plan: Pick<TrialPlan, 'context' | 'workload' | 'pods'>, cluster: TrialCluster, concurrency: number, now: () => Date, signal?: AbortSignal): Promise<StartResult> {
  const baseline: Record<string, Record<string, number>> = {};
  const resized: TrialPod[] = [];
  const failures: string[] = [];
  await inBatches(plan.pods, concurrency, async (pod) => {
    if (failures.length > 0) return; // a failure stops the rest: they are never resized
    try {
      const stored = await cluster.resizePod(refOf(plan, pod), pod.ops, { dryRun: false, ...(signal ? { signal } : {}) });
      resized.push(pod);
      baseline[pod.name] = Object.fromEntries((stored.status?.containerStatuses ?? []).map((status) => [status.name, status.restartCount ?? 0]));
    } catch (error) {
      // Unknown outcome (a timeout, a dropped reply): the resize may have happened, so this pod is reverted too.
      if (!(error instanceof KubectlError) || !['precondition-failed', 'invalid', 'forbidden', 'not-found', 'conflict'].includes(error.kind)) resized.push(pod);
      failures.push(`pod ${pod.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  if (failures.length === 0) return { ok: true, baseline };
  const revert = await revertPods(plan, resized, cluster, concurrency, now);
  return { ok: false, message: failures.slice(0, 3).join('; '), revert };
}

/**
 * Puts the trial pods back at their template size. A pod that is gone, or already back, needs nothing; a pod someone
 * resized since the trial is left alone and reported; a failed revert is tried once more, then reported. Every pod
 * that may still run at the trial size is in the result as `failed`, never left out.
 */
export async function revertPods(plan: Pick<TrialPlan, 'context' | 'workload'>, pods: readonly TrialPod[], cluster: TrialCluster, concurrency: number, now: () => Date): Promise<TrialRevert> {
  const results: TrialRevert['pods'] = [];
  await inBatches(pods, concurrency, async (pod) => {
    let lastError = '';
    for (let attempt = 0; attempt < 2; attempt += 1) {
      let live: Pod;
      try {
        live = await cluster.getPod(refOf(plan, pod));
      } catch (error) {
        if (error instanceof KubectlError && error.kind === 'not-found') {
          results.push({ name: pod.name, result: 'gone', message: 'the pod no longer exists (its replacement runs at the template\'s size)' });
          return;
        }
        lastError = error instanceof Error ? error.message : String(error);
        continue;
      }
      if (live.metadata.uid !== pod.uid) {
        results.push({ name: pod.name, result: 'gone', message: 'the pod was replaced (the new one runs at the template\'s size)' });
        return;
      }
      if (live.metadata.deletionTimestamp) {
        results.push({ name: pod.name, result: 'gone', message: 'the pod is being deleted (its replacement runs at the template\'s size)' });
        return;
      }
      if (!ownedBy(live, plan.workload)) {
        results.push({ name: pod.name, result: 'failed', message: `it is not a pod of ${plan.workload.kind} ${plan.workload.namespace}/${plan.workload.name}; left alone` });
        return;
      }
      if (specAtTemplateSize(pod, live)) {
        results.push({ name: pod.name, result: 'not-needed' });
        return;
      }
      const ops = revertOps(pod, live);
      if (!ops || !specAtTrialSize(pod, live)) {
        results.push({ name: pod.name, result: 'failed', message: 'its resources were changed by someone else since the trial began; left as they are' });
        return;
      }
      try {
        await cluster.resizePod(refOf(plan, pod), ops, { dryRun: false, restore: true });
        results.push({ name: pod.name, result: 'reverted' });
        return;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
    }
    results.push({ name: pod.name, result: 'failed', message: `could not be reverted: ${lastError}; it may still run at the trial size` });
  });
  return { at: now().toISOString(), pods: results.sort((a, b) => a.name.localeCompare(b.name)) };
}

/** Reads every trial pod; a pod that is not found is null (gone), any other failure is thrown. */
export async function readTrialPods(plan: Pick<TrialPlan, 'context' | 'workload'>, pods: readonly TrialPod[], cluster: TrialCluster, concurrency: number, signal?: AbortSignal): Promise<Map<string, Pod | null>> {
  const read = new Map<string, Pod | null>();
  await inBatches(pods, concurrency, async (pod) => {
    try {
      read.set(pod.name, await cluster.getPod(refOf(plan, pod), signal));
    } catch (error) {
      if (error instanceof KubectlError && error.kind === 'not-found') read.set(pod.name, null);
      else throw error;
    }
  });
  return read;
}

function refOf(plan: Pick<TrialPlan, 'workload'>, pod: TrialPod): PodRef {
  return { namespace: plan.workload.namespace, name: pod.name };
}

async function inBatches<T>(items: readonly T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await run(item);
    }
  });
  await Promise.all(workers);
}
