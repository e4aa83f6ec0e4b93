// What one look at a trial pod says: the resize's own status (the PodResizePending/PodResizeInProgress conditions and the
// resources each container runs with), restarts and OOM kills since the trial began, readiness — and whether any of it
// fails the trial. Pure: the watch (session/trial.ts) reads the pods and keeps the result.
import { podResizeInProgress, podResizePending, isReady, type Pod } from '../kube/pod';
import { normalizeBlock, sameBlock } from './plan';
import { describeMemory } from '../quantity';
import type { TrialPod, TrialPodStatus } from './model';
import type { TrialUsage } from './usage';

export interface PodVerdict {
  status: TrialPodStatus;
  /** Set when this look fails the trial: the reason, in the cluster's words where it has any. */
  failure?: string;
}

/**
 * `live` is the pod read now (null: not found). `baseline` holds each container's restartCount when the trial began;
 * a container whose resizePolicy restarts it may restart once per resize without failing the trial.
 * `previous` is the last status (not ready twice in a row fails; once may be a probe between two checks).
 */
export function observeTrialPod(pod: TrialPod, live: Pod | null, baseline: Readonly<Record<string, number>>, previous: TrialPodStatus | undefined): PodVerdict {
  if (!live || live.metadata.uid !== pod.uid || live.metadata.deletionTimestamp) {
    return {
      status: { name: pod.name, phase: 'gone', ready: false, restarts: previous?.restarts ?? 0, oomKills: previous?.oomKills ?? 0, message: 'the pod was deleted or replaced; its controller starts new pods at the template\'s size' },
    };
  }
  const statuses = live.status?.containerStatuses ?? [];
  let restarts = 0;
  let oomKills = 0;
  let lastReason: string | undefined;
  const running: NonNullable<TrialPodStatus['running']> = {};
  for (const container of pod.containers) {
    const status = statuses.find((entry) => entry.name === container.name);
    if (!status) continue;
    const allowed = container.restartsOn.length > 0 ? 1 : 0;
    const extra = Math.max(0, (status.restartCount ?? 0) - (baseline[container.name] ?? 0) - allowed);
    restarts += extra;
    const reason = status.lastState?.terminated?.reason ?? status.state?.terminated?.reason;
    if (extra > 0 && reason === 'OOMKilled') oomKills += extra;
    if (extra > 0 && reason) lastReason = `${container.name}: ${reason}${status.state?.waiting?.reason ? `, now ${status.state.waiting.reason}` : ''}`;
    const block = normalizeBlock(status.resources);
    running[container.name] = {
      ...(block.requests?.cpu ? { cpu: block.requests.cpu } : {}),
      ...(block.requests?.memory ? { memory: block.requests.memory } : {}),
      ...(block.limits?.cpu ? { cpuLimit: block.limits.cpu } : {}),
      ...(block.limits?.memory ? { memoryLimit: block.limits.memory } : {}),
    };
  }
  const ready = isReady(live);
  const base = { name: pod.name, ready, restarts, oomKills, running };
  if (oomKills > 0) return { status: { ...base, phase: 'restarted', message: lastReason ?? 'OOMKilled' }, failure: `pod ${pod.name} was OOM-killed ${oomKills === 1 ? 'once' : `${oomKills} times`} at the trial's memory limit (${lastReason ?? 'OOMKilled'})` };
  if (restarts > 0) return { status: { ...base, phase: 'restarted', ...(lastReason ? { message: lastReason } : {}) }, failure: `pod ${pod.name} restarted ${restarts === 1 ? 'once' : `${restarts} times`} during the trial${lastReason ? ` (${lastReason})` : ''}` };
  const pending = live.status?.conditions?.find((condition) => condition.type === podResizePending && condition.status === 'True');
  if (pending?.reason === 'Infeasible') {
    const message = pending.message ?? 'the node cannot fit the new size';
    return { status: { ...base, phase: 'infeasible', message }, failure: `the cluster refused to resize pod ${pod.name}: Infeasible — ${message}` };
  }
  const inProgress = live.status?.conditions?.find((condition) => condition.type === podResizeInProgress && condition.status === 'True');
  if (inProgress?.reason === 'Error') {
    const message = inProgress.message ?? 'the kubelet reported an error';
    return { status: { ...base, phase: 'in-progress', message }, failure: `resizing pod ${pod.name} failed on its node: ${message}` };
  }
  const applied = pod.containers.every((container) => sameBlock(normalizeBlock(statuses.find((entry) => entry.name === container.name)?.resources), container.after));
  if (!ready) {
    const status: TrialPodStatus = { ...base, phase: 'not-ready', message: 'not ready' };
    return previous?.phase === 'not-ready' ? { status, failure: `pod ${pod.name} stayed not ready during the trial` } : { status };
  }
  if (applied) return { status: { ...base, phase: 'applied' } };
  if (pending?.reason === 'Deferred') return { status: { ...base, phase: 'deferred', message: pending.message ?? 'the node has no room now' } };
  if (inProgress) return { status: { ...base, phase: 'in-progress', ...(inProgress.message ? { message: inProgress.message } : {}) } };
  return { status: { ...base, phase: 'pending', message: 'waiting for the kubelet to take the new size' } };
}

/** At the end of the window, a pod the kubelet never resized did not run the trial: the trial cannot pass on it. */
export function notAppliedAtEnd(status: TrialPodStatus): string | null {
  if (status.phase === 'deferred') return `pod ${status.name} never got the new size: the cluster deferred it (${status.message ?? 'Deferred'})`;
  if (status.phase === 'pending' || status.phase === 'in-progress') return `pod ${status.name} never ran with the new size during the window (${status.message ?? status.phase})`;
  return null;
}

/** One line for a person: "ran 30 min on 1 pod at 198Mi: 0 OOM kills, 0 restarts". */
export function describeRun(statuses: readonly TrialPodStatus[], minutes: number, pods: readonly TrialPod[], usage: Partial<TrialUsage> = {}): string {
  const sizes = [...new Set(pods.flatMap((pod) => pod.containers.flatMap((container) => container.changes.filter((change) => change.resource === 'memory').map((change) => `${container.name} ${change.allocation === 'limits' ? 'limit' : 'request'} ${change.to}`))))];
  const restarts = statuses.reduce((sum, status) => sum + status.restarts, 0);
  const oomKills = statuses.reduce((sum, status) => sum + status.oomKills, 0);
  const peaks = Object.entries(usage.peakMemory ?? {}).map(([container, bytes]) => `${container} peak ${describeMemory(bytes)}`);
  for (const [container, percent] of Object.entries(usage.throttledPercent ?? {})) peaks.push(`${container} throttled ${percent}%`);
  return `ran ${minutes < 1 ? `${Math.max(1, Math.round(minutes * 60))} s` : `${Math.round(minutes)} min`} on ${pods.length} ${pods.length === 1 ? 'pod' : 'pods'}${sizes.length > 0 ? ` at ${sizes.slice(0, 3).join(', ')}` : ''}: ${peaks.length > 0 ? `${peaks.slice(0, 4).join(', ')}, ` : ''}${oomKills} OOM ${oomKills === 1 ? 'kill' : 'kills'}, ${restarts} ${restarts === 1 ? 'restart' : 'restarts'}`;
}
