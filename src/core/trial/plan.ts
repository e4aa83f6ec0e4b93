// Which pods a trial resizes and how: pure functions from the live workload, its pods and krr's recommendation to the
// resize patch of each pod. Nothing here reads a tool argument beyond the validated count and window.
import { stringify } from 'yaml';
import type { ResourceName, WorkloadKind } from '../krr/model';
import type { DesiredResources } from '../plan/build';
import type { FieldChange, ObjectIdentity, PolicyFinding } from '../plan/model';
import { pointer, type JsonPatchOp } from '../plan/patch';
import { isReady, nodeReportsResources, type Pod } from '../kube/pod';
import { parseQuantity, sameQuantity } from '../quantity';
import type { TrialContainer, TrialPod } from './model';

export class TrialRefusal extends Error {
  override readonly name = 'TrialRefusal';
}

/** Kinds whose pods run until replaced: a trial on a Job's pod would end with the Job, not with its window. */
const trialKinds: ReadonlySet<WorkloadKind> = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout']);

export function trialKindProblem(kind: string): string | null {
  return trialKinds.has(kind as WorkloadKind) ? null : `a trial resizes long-running pods (Deployment, StatefulSet, DaemonSet, Rollout); ${kind} pods run to completion, so use the ordinary plan`;
}

/** In-place resize is beta and on by default from Kubernetes 1.33 (alpha, off by default, before). */
export function serverVersionProblem(gitVersion: string | null): string | null {
  if (gitVersion === null) return null; // unknown: the node check and the server's dry-run still decide
  const match = /^v?(\d+)\.(\d+)/.exec(gitVersion);
  if (!match) return null;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  if (major > 1 || minor >= 33) return null;
  return `the cluster runs Kubernetes ${gitVersion}; in-place pod resize is on by default from 1.33 (before, the InPlacePodVerticalScaling feature gate is alpha and off), so a trial cannot resize its pods — use the ordinary plan`;
}

/**
 * Why the workload is still rolling out (its pods are being replaced, so a trial's pods would be too), or null when its
 * controller has caught up: observedGeneration current, every replica updated and available, no old pod left.
 */
export function rolloutProblem(kind: string, live: { metadata: { generation?: number | undefined }; spec?: Record<string, unknown> | undefined; status?: Record<string, unknown> | undefined }): string | null {
  const status = live.status ?? {};
  const number = (value: unknown) => (typeof value === 'number' ? value : 0);
  const observed = typeof status.observedGeneration === 'number' ? status.observedGeneration : undefined;
  if (live.metadata.generation !== undefined && observed !== undefined && observed < live.metadata.generation) return 'its controller has not yet seen its latest change';
  if (kind === 'Deployment' || kind === 'Rollout') {
    const wanted = typeof live.spec?.replicas === 'number' ? live.spec.replicas : 1;
    const updated = number(status.updatedReplicas);
    const total = number(status.replicas);
    if (updated < wanted || total > wanted) return `it is rolling out (${updated} of ${wanted} pods updated${total > wanted ? `, ${total - updated} old still running` : ''})`;
  }
  if (kind === 'StatefulSet' && status.updateRevision !== undefined && status.currentRevision !== status.updateRevision) return `it is rolling out (${number(status.updatedReplicas)} pods at the new revision)`;
  if (kind === 'DaemonSet' && number(status.updatedNumberScheduled) < number(status.desiredNumberScheduled)) return `it is rolling out (${number(status.updatedNumberScheduled)} of ${number(status.desiredNumberScheduled)} pods updated)`;
  return null;
}

/** Whether `pod` belongs to the workload: its controller is the workload itself, or a ReplicaSet named after it. */
export function ownedBy(pod: Pod, workload: ObjectIdentity): boolean {
  const owner = pod.metadata.ownerReferences?.find((reference) => reference.controller !== false) ?? pod.metadata.ownerReferences?.[0];
  if (!owner) return false;
  if (workload.kind === 'Deployment' || workload.kind === 'Rollout') return owner.kind === 'ReplicaSet' && owner.name.startsWith(`${workload.name}-`) && /^[a-z0-9]+$/.test(owner.name.slice(workload.name.length + 1));
  return owner.kind === workload.kind && owner.name === workload.name;
}

export interface TrialSelection {
  pods: TrialPod[];
  /** Running, ready pods of the workload (the trial's N of M). */
  runningPods: number;
  findings: PolicyFinding[];
}

/**
 * Picks up to `count` running, ready pods of the workload whose node reports the resources it runs with (a 1.33+
 * kubelet that resizes in place), oldest first, and builds each one's resize patch. Throws TrialRefusal with the reason
 * when no pod can take part or nothing would change.
 */
export function selectTrialPods(workload: ObjectIdentity, pods: readonly Pod[], desired: ReadonlyMap<string, DesiredResources>, count: number): TrialSelection {
  const findings: PolicyFinding[] = [];
  const running = pods.filter((pod) => ownedBy(pod, workload) && !pod.metadata.deletionTimestamp && pod.status?.phase === 'Running' && isReady(pod));
  if (running.length === 0) throw new TrialRefusal(`${workload.kind} ${workload.namespace}/${workload.name} has no running, ready pod to try the change on`);
  const resizable = running.filter(nodeReportsResources);
  if (resizable.length === 0) {
    throw new TrialRefusal(`no pod of ${workload.kind} ${workload.namespace}/${workload.name} runs on a node that resizes pods in place (its kubelet reports no container resources: Kubernetes before 1.33, or the feature is off); use the ordinary plan`);
  }
  if (resizable.length < running.length) {
    findings.push({ severity: 'info', rule: 'trial-node-without-resize', message: `${running.length - resizable.length} of ${running.length} running pods are on nodes without in-place resize; they are not tried.` });
  }
  const ordered = [...resizable].sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name));
  const chosen = ordered.slice(0, count);
  if (chosen.length < count) findings.push({ severity: 'info', rule: 'trial-fewer-pods', message: `${count} pods were asked for; ${workload.kind} ${workload.namespace}/${workload.name} has ${chosen.length} that can be resized in place, so the trial takes ${chosen.length}.` });
  const trialPods = chosen.map((pod) => trialPod(pod, desired, findings));
  if (trialPods.every((pod) => pod.containers.length === 0)) throw new TrialRefusal(`the trial pods already run with krr's recommendation: nothing to try`);
  return { pods: trialPods.filter((pod) => pod.containers.length > 0), runningPods: running.length, findings: dedupe(findings) };
}

type Block = Record<string, Record<string, string>>;

function trialPod(pod: Pod, desired: ReadonlyMap<string, DesiredResources>, findings: PolicyFinding[]): TrialPod {
  const containers: TrialContainer[] = [];
  const ops: JsonPatchOp[] = [{ op: 'test', path: '/metadata/uid', value: pod.metadata.uid }];
  pod.spec.containers.forEach((container, index) => {
    const wanted = desired.get(container.name);
    if (!wanted) return;
    const before = normalizeBlock(container.resources);
    const after: Block = structuredClone(before);
    const changes: FieldChange[] = [];
    for (const allocation of ['requests', 'limits'] as const) {
      for (const resource of ['cpu', 'memory'] as const) {
        const target = wanted[allocation][resource];
        if (target === undefined) continue;
        const from = before[allocation]?.[resource] ?? null;
        if (target === null) {
          if (from !== null) findings.push({ severity: 'info', rule: 'trial-no-removal', container: container.name, message: `container ${container.name}: krr recommends removing ${allocation}.${resource}; a resize in place cannot remove it, so the trial keeps ${from}.` });
          continue;
        }
        if (from !== null && sameQuantity(from, target)) continue;
        changes.push({ container: container.name, allocation, resource, from, to: target, fromAmount: from === null ? null : parseQuantity(from), toAmount: parseQuantity(target) });
        (after[allocation] ??= {})[resource] = target;
      }
    }
    if (changes.length === 0) return;
    const restartsOn = [...new Set(changes.map((change) => change.resource))].filter((resource) => container.resizePolicy?.some((policy) => policy.resourceName === resource && policy.restartPolicy === 'RestartContainer')) as ResourceName[];
    for (const resource of restartsOn) findings.push({ severity: 'warn', rule: 'trial-restarts-container', container: container.name, message: `container ${container.name} restarts when its ${resource} is resized (resizePolicy RestartContainer): the trial restarts it, and so does the revert.` });
    containers.push({ name: container.name, before, after, changes, restartsOn });
    const base = ['spec', 'containers', index];
    ops.push({ op: 'test', path: pointer([...base, 'name']), value: container.name });
    if (container.resources !== undefined) {
      ops.push({ op: 'test', path: pointer([...base, 'resources']), value: container.resources });
      ops.push({ op: 'replace', path: pointer([...base, 'resources']), value: after });
    } else {
      ops.push({ op: 'add', path: pointer([...base, 'resources']), value: after });
    }
  });
  return { name: pod.metadata.name, uid: pod.metadata.uid, node: pod.spec.nodeName ?? null, containers, ops: containers.length > 0 ? ops : [] };
}

/** The JSON patch that puts a trial pod back: pinned to the trial's values, so a pod someone resized since is left alone. */
export function revertOps(pod: TrialPod, live: Pod): JsonPatchOp[] | null {
  const ops: JsonPatchOp[] = [{ op: 'test', path: '/metadata/uid', value: pod.uid }];
  for (const container of pod.containers) {
    const index = live.spec.containers.findIndex((entry) => entry.name === container.name);
    if (index < 0) return null;
    const current = live.spec.containers[index]?.resources;
    const base = ['spec', 'containers', index];
    ops.push({ op: 'test', path: pointer([...base, 'name']), value: container.name });
    // The server canonicalises quantities: pin what it stored when it is still the trial's value.
    if (!sameBlock(normalizeBlock(current), container.after)) return null;
    ops.push({ op: 'test', path: pointer([...base, 'resources']), value: current ?? {} });
    ops.push({ op: 'replace', path: pointer([...base, 'resources']), value: container.before });
  }
  return ops;
}

/** Whether the pod spec holds the trial's values for every trial container (the resize was accepted). */
export function specAtTrialSize(pod: TrialPod, live: Pod): boolean {
  return pod.containers.every((container) => sameBlock(normalizeBlock(live.spec.containers.find((entry) => entry.name === container.name)?.resources), container.after));
}

export function specAtTemplateSize(pod: TrialPod, live: Pod): boolean {
  return pod.containers.every((container) => sameBlock(normalizeBlock(live.spec.containers.find((entry) => entry.name === container.name)?.resources), container.before));
}

export function normalizeBlock(resources: { requests?: Record<string, string | number>; limits?: Record<string, string | number> } | undefined): Block {
  const block: Block = {};
  for (const allocation of ['requests', 'limits'] as const) {
    const list = resources?.[allocation];
    if (!list) continue;
    block[allocation] = Object.fromEntries(Object.entries(list).map(([key, value]) => [key, String(value)]));
  }
  return block;
}

export function sameBlock(a: Block, b: Block): boolean {
  for (const allocation of ['requests', 'limits'] as const) {
    const left = a[allocation] ?? {};
    const right = b[allocation] ?? {};
    const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
    for (const key of keys) {
      const x = left[key];
      const y = right[key];
      if (x === undefined || y === undefined) return false;
      try {
        if (!sameQuantity(x, y)) return false;
      } catch {
        if (x !== y) return false;
      }
    }
  }
  return true;
}

/** The trial pods' containers before and during the trial, for the diff editor. */
export function trialManifests(workload: ObjectIdentity, pods: readonly TrialPod[]): { live: string; proposed: string } {
  const view = (side: 'before' | 'after') =>
    stringify({ trial: `${workload.kind} ${workload.namespace}/${workload.name}`, pods: pods.map((pod) => ({ name: pod.name, node: pod.node, containers: pod.containers.map((container) => ({ name: container.name, resources: container[side] })) })) }, { lineWidth: 0 });
  return { live: view('before'), proposed: view('after') };
}

function dedupe(findings: PolicyFinding[]): PolicyFinding[] {
  const seen = new Set<string>();
  return findings.filter((finding) => {
    const key = `${finding.rule}\0${finding.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
