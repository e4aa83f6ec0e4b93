// What a Kubernetes 1.33 kubelet decides about an in-place pod resize, as pure functions for the node simulator.
// Each rule cites the 1.33.13 source it follows (k8s.io/kubernetes@v1.33.13, k8s.io/component-helpers@v0.33.13):
// - the feasibility check and its messages: pkg/kubelet/kubelet.go canResizePod, handlePodResourcesResize;
// - "Deferred": the admission the kubelet re-runs with the desired requests (canAdmitPod → lifecycle/predicate.go →
//   scheduler noderesources.fitsRequest), whose InsufficientResourceError text becomes the condition's message;
// - what other pods hold on the node: component-helpers resource.PodRequests with UseStatusResources (the larger of
//   the allocated and the running requests, the running ones alone once that pod's own resize is Infeasible);
// - restarts: pkg/kubelet/kuberuntime/kuberuntime_manager.go computePodResizeAction (a changed resource whose
//   resizePolicy is RestartContainer restarts the container; no policy means NotRequired).
import { parseQuantity } from '../kube-api-server/quantity';

export type ResourceList = Record<string, string>;
export interface Resources {
  requests?: ResourceList;
  limits?: ResourceList;
}
export interface ResizePolicy {
  resourceName: string;
  restartPolicy: string;
}
export interface Container {
  name: string;
  resources?: Resources;
  resizePolicy?: ResizePolicy[];
  restartPolicy?: string;
}
export interface ContainerStatus {
  name: string;
  resources?: Resources;
  allocatedResources?: ResourceList;
  restartCount?: number;
  containerID?: string;
  state?: { running?: { startedAt?: string } };
  [field: string]: unknown;
}
export interface PodCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
}
export interface ResizablePod {
  metadata: { uid?: string };
  spec: { containers: Container[]; initContainers?: Container[]; overhead?: ResourceList };
  status?: { phase?: string; conditions?: PodCondition[]; containerStatuses?: ContainerStatus[] };
}
export interface NodeResources {
  cpu: string;
  memory: string;
  pods: string;
}

/** The condition types and reasons of core/v1 (api@v0.33.13 core/v1/types.go). */
export const podResizePending = 'PodResizePending';
export const podResizeInProgress = 'PodResizeInProgress';
export const reasonInfeasible = 'Infeasible';
export const reasonDeferred = 'Deferred';

/** CPU in millicores (Quantity.MilliValue, rounded up), anything else in units (Quantity.Value, rounded up). */
export function amount(resource: string, quantity: string | undefined): bigint {
  if (quantity === undefined) return 0n;
  const { nano } = parseQuantity(quantity);
  const unit = resource === 'cpu' ? 10n ** 6n : 10n ** 9n;
  const whole = nano / unit;
  return nano % unit > 0n ? whole + 1n : whole;
}

const resizable = ['cpu', 'memory'] as const;

/** Same CPU and memory requests and limits (a missing value equals only a missing value), compared as quantities. */
export function sameResources(a: Resources | undefined, b: Resources | undefined): boolean {
  return (['requests', 'limits'] as const).every((kind) =>
    resizable.every((resource) => {
      const left = a?.[kind]?.[resource];
      const right = b?.[kind]?.[resource];
      return left === undefined || right === undefined ? left === right : amount(resource, left) === amount(resource, right);
    }),
  );
}

/** The resources whose request or limit differ between what runs and what is allocated. */
function changedResources(running: Resources | undefined, allocated: Resources | undefined): string[] {
  return resizable.filter((resource) => !sameResources({ requests: pick(running?.requests, resource), limits: pick(running?.limits, resource) }, { requests: pick(allocated?.requests, resource), limits: pick(allocated?.limits, resource) }));
}

function pick(list: ResourceList | undefined, resource: string): ResourceList | undefined {
  const value = list?.[resource];
  return value === undefined ? undefined : { [resource]: value };
}

/** Applying the allocation restarts the container when a changed resource's policy says RestartContainer. */
export function needsRestart(container: Container, running: Resources | undefined, allocated: Resources | undefined): boolean {
  return changedResources(running, allocated).some((resource) => container.resizePolicy?.find((policy) => policy.resourceName === resource)?.restartPolicy === 'RestartContainer');
}

/**
 * A pod's request of one resource (pkg/api/v1/resource GetResourceRequest over component-helpers PodRequests): the sum of
 * its containers and sidecars, at least any init container's (with the sidecars started before it), plus overhead.
 * `requestsOf` gives a container's requests (the spec's, or what the kubelet counts for a pod already on the node).
 */
export function podRequest(pod: ResizablePod, resource: string, requestsOf: (container: Container) => ResourceList | undefined = (container) => container.resources?.requests): bigint {
  let total = pod.spec.containers.reduce((sum, container) => sum + amount(resource, requestsOf(container)?.[resource]), 0n);
  let sidecars = 0n;
  let initPeak = 0n;
  for (const container of pod.spec.initContainers ?? []) {
    const request = amount(resource, requestsOf(container)?.[resource]);
    if (container.restartPolicy === 'Always') {
      sidecars += request;
      initPeak = initPeak > sidecars ? initPeak : sidecars;
    } else {
      initPeak = initPeak > sidecars + request ? initPeak : sidecars + request;
    }
  }
  total += sidecars;
  if (initPeak > total) total = initPeak;
  return total + amount(resource, pod.spec.overhead?.[resource]);
}

/**
 * What a pod already on the node holds in the kubelet's admission (component-helpers determineContainerReqs): per
 * container the largest of the allocated requests, the running ones and status.allocatedResources; only the
 * running and reported-allocated ones when that pod's own resize is Infeasible.
 */
export function heldRequest(pod: ResizablePod, resource: string, allocated: (container: Container) => Resources | undefined): bigint {
  const infeasible = pod.status?.conditions?.find((condition) => condition.type === podResizePending)?.reason === reasonInfeasible;
  const statuses = new Map((pod.status?.containerStatuses ?? []).map((status) => [status.name, status]));
  return podRequest(pod, resource, (container) => {
    const status = statuses.get(container.name);
    if (!status?.resources) return container.resources?.requests;
    const candidates = [status.resources.requests?.[resource], status.allocatedResources?.[resource], ...(infeasible ? [] : [allocated(container)?.requests?.[resource]])];
    let largest: string | undefined;
    for (const candidate of candidates) if (candidate !== undefined && (largest === undefined || amount(resource, candidate) > amount(resource, largest))) largest = candidate;
    return largest === undefined ? {} : { [resource]: largest };
  });
}

export type ResizeVerdict = { fit: true } | { fit: false; reason: typeof reasonInfeasible | typeof reasonDeferred; message: string };

/**
 * Can the node take the pod at its desired size? Infeasible when the pod alone exceeds the node's allocatable
 * (kubelet.go canResizePod: memory named first if both do); Deferred when it fits the node but not beside the
 * other pods (fitsRequest's order: pods, cpu, memory; the first failure is the message); otherwise it fits.
 */
export function admitResize(pod: ResizablePod, allocatable: NodeResources, others: readonly ResizablePod[], allocatedOf: (pod: ResizablePod, container: Container) => Resources | undefined): ResizeVerdict {
  const cpu = podRequest(pod, 'cpu');
  const memory = podRequest(pod, 'memory');
  const cpuAvailable = amount('cpu', allocatable.cpu);
  const memoryAvailable = amount('memory', allocatable.memory);
  if (cpu > cpuAvailable || memory > memoryAvailable) {
    const detail = memory > memoryAvailable ? `memory, requested: ${memory}, capacity: ${memoryAvailable}` : `cpu, requested: ${cpu}, capacity: ${cpuAvailable}`;
    return { fit: false, reason: reasonInfeasible, message: `Node didn't have enough capacity: ${detail}` };
  }
  const insufficient = (resource: string, requested: bigint, used: bigint, capacity: bigint): ResizeVerdict => ({
    fit: false,
    reason: reasonDeferred,
    message: `Node didn't have enough resource: ${resource}, requested: ${requested}, used: ${used}, capacity: ${capacity}`,
  });
  const maxPods = amount('pods', allocatable.pods);
  if (BigInt(others.length) + 1n > maxPods) return insufficient('pods', 1n, BigInt(others.length), maxPods);
  if (cpu === 0n && memory === 0n) return { fit: true };
  const usedCpu = others.reduce((sum, other) => sum + heldRequest(other, 'cpu', (container) => allocatedOf(other, container)), 0n);
  if (cpu > 0n && cpu > cpuAvailable - usedCpu) return insufficient('cpu', cpu, usedCpu, cpuAvailable);
  const usedMemory = others.reduce((sum, other) => sum + heldRequest(other, 'memory', (container) => allocatedOf(other, container)), 0n);
  if (memory > 0n && memory > memoryAvailable - usedMemory) return insufficient('memory', memory, usedMemory, memoryAvailable);
  return { fit: true };
}

/**
 * The pod's conditions with PodResizePending / PodResizeInProgress set or cleared as the kubelet's status manager
 * does (status_manager.go updatedPodResizeCondition): status True, reason and message as given (both empty for an
 * in-progress resize), lastTransitionTime kept while the reason stays the same, lastProbeTime now.
 */
export function withResizeConditions(conditions: readonly PodCondition[], pending: { reason: string; message: string } | undefined, inProgress: boolean, now: string): PodCondition[] {
  const set = (list: PodCondition[], type: string, wanted: { reason: string; message: string } | undefined): PodCondition[] => {
    const old = list.find((condition) => condition.type === type);
    if (!wanted) return list.filter((condition) => condition.type !== type);
    if (old && (old.reason ?? '') === wanted.reason && (old.message ?? '') === wanted.message) return list;
    const condition: PodCondition = { type, status: 'True', lastProbeTime: now, lastTransitionTime: old && (old.reason ?? '') === wanted.reason ? (old.lastTransitionTime ?? now) : now, ...(wanted.reason ? { reason: wanted.reason } : {}), ...(wanted.message ? { message: wanted.message } : {}) };
    return old ? list.map((entry) => (entry.type === type ? condition : entry)) : [...list, condition];
  };
  return set(set([...conditions], podResizePending, pending), podResizeInProgress, inProgress ? { reason: '', message: '' } : undefined);
}
