// Simulated nodes for the test control plane: what kube-scheduler and a kubelet would do, through the real
// API and nothing else. It registers Ready nodes, binds pending pods to them (honouring a DaemonSet pod's
// node affinity), reports bound pods Running and Ready, and finishes the deletion of terminating pods
// (a kubelet confirms a graceful delete once the containers stopped). The real controllers
// (kube-controller-manager) do the rest: ReplicaSets, rollout status, observedGeneration.
// `stall(namespace, name)` makes a workload's new pods never become ready — a stuck rollout.
//
// In-place resize, as a 1.33 kubelet does it (InPlacePodVerticalScaling, beta and on by default; rules in resize.ts):
// - A running pod's containerStatuses[].resources is what the container runs with and allocatedResources its
//   allocated requests. The API server accepts a `pods/resize` only when running containers report resources, so a
//   node with `inPlaceResize: false` (a kubelet without the feature, 1.32 and older by default) reports none and the
//   API server refuses: "Pod running on node without support for resize".
// - When the spec's resources differ from the allocation: Infeasible (PodResizePending) if the pod alone exceeds the
//   node's allocatable, Deferred if it does not fit beside the other pods (retried every tick, where a 1.33 kubelet
//   retries at the pod's next sync); otherwise the resize is allocated (allocatedResources) and PodResizeInProgress
//   is set. After `resizeDelayMs` (default 500 ms) it is applied: resources = the new values, the condition cleared,
//   and a container whose resizePolicy says RestartContainer for a changed resource restarted (restartCount + 1, a
//   new containerID, lastState terminated with exit code 0 — a process that stops cleanly on SIGTERM).
// - Nodes: three of 16 CPU / 64 GiB (allocatable: 15890m / 59824Mi / 110 pods, capacity less what GKE reserves for
//   the system and the eviction threshold) take every pod by name hash, ignoring requests as before. `addNode`
//   registers a dedicated node (any size, with or without in-place resize; tainted NoSchedule, so no DaemonSet pod)
//   that takes only the pods naming it in spec.nodeName, so a test can fill a node without disturbing the others.
//
// Usage and OOM kills (rules in oom-kill.ts): `setUsage(namespace, name, container, { memory, cpu })` says what a
// container demands. A running container whose demand is above the memory limit it runs with is OOM-killed after
// oomKillDelayMs and restarted as a kubelet does (at once the first time, then after a crash-loop back-off); none set:
// never killed. `metrics` serves cAdvisor- and kube-state-metrics-shaped series of it for a real Prometheus
// (usage-metrics.ts).
import { HarnessApi } from './harness-api';
import { bytesOf, defaultCrashLoopBackOff, defaultOomKillDelayMs, millicoresOf, stepContainer, withReadiness, type BackOffEntry, type CrashLoopBackOff, type LiveContainerStatus, type SimulatedUsage } from './oom-kill';
import { admitResize, needsRestart, sameResources, withResizeConditions, type NodeResources, type PodCondition, type ResizablePod, type Resources } from './resize';
import { UsageMetrics, type ContainerSnapshot, type PodSnapshot } from './usage-metrics';

interface Pod extends ResizablePod {
  metadata: { name: string; namespace: string; uid: string; deletionTimestamp?: string; ownerReferences?: Array<{ kind: string; name: string; controller?: boolean }> };
  spec: ResizablePod['spec'] & { nodeName?: string; restartPolicy?: string; affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: Array<{ matchFields?: Array<{ key: string; values?: string[] }> }> } } } };
}

/** A container ID that changes when the container restarts, as a runtime's would. */
function containerId(pod: Pod, container: string, restartCount: number): string {
  return `sim://${pod.metadata.uid}/${container}/${restartCount}`;
}

export interface SimulatedNode {
  capacity: NodeResources;
  allocatable: NodeResources;
  /** Reports containerStatuses[].resources and resizes in place, like a 1.33 kubelet; false: like a kubelet without the feature. */
  inPlaceResize: boolean;
}

/** A 16 CPU / 64 GiB node; allocatable is capacity less GKE's kube-reserved formula and a 100Mi eviction threshold, rounded. */
export const defaultNode: SimulatedNode = {
  capacity: { cpu: '16', memory: '64Gi', pods: '110' },
  allocatable: { cpu: '15890m', memory: '59824Mi', pods: '110' },
  inPlaceResize: true,
};

export const defaultResizeDelayMs = 500;

/** Keeps DaemonSet pods off a dedicated node (pods naming it in spec.nodeName are not checked against NoSchedule). */
export const dedicatedTaint = { key: 'simulator.krr.test/dedicated', value: 'true', effect: 'NoSchedule' };

/** A container's simulated demand: bytes and millicores. */
interface Demand {
  memory: bigint | undefined;
  cpu: bigint | undefined;
}

/** A pod's status as one sync leaves it. */
interface SyncedStatus {
  phase: string;
  conditions: PodCondition[];
  containerStatuses: LiveContainerStatus[];
}

/** What the kubelet allocated to a pod's containers (its checkpoint), and when: applying waits resizeDelayMs from then. */
interface Allocation {
  containers: Map<string, Resources | undefined>;
  at: number;
}

export class NodeSimulator {
  private readonly api: HarnessApi;
  /** The nodes that take pods by name hash. */
  private readonly nodeNames: string[] = [];
  private readonly nodes = new Map<string, SimulatedNode>();
  private readonly allocations = new Map<string, Allocation>();
  private readonly stalled = new Set<string>();
  /** `namespace/name/container` → demand, where name is a pod's or its workload's. */
  private readonly usages = new Map<string, Demand>();
  /** The crash-loop back-off of each container, by `uid/container` (the kubelet keys it by pod and container). */
  private readonly backOffs = new Map<string, BackOffEntry>();
  private crashLoop: CrashLoopBackOff = defaultCrashLoopBackOff;
  private oomKillDelay = defaultOomKillDelayMs;
  /** The cAdvisor and kube-state-metrics endpoint. */
  readonly metrics = new UsageMetrics();
  private resizeDelay = defaultResizeDelayMs;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(server: string, caPem: string, bearer: string) {
    this.api = new HarnessApi(server, caPem, bearer);
  }

  async start(nodes: number): Promise<void> {
    await this.metrics.listen();
    for (let index = 1; index <= nodes; index += 1) {
      const name = `sim-node-${index}`;
      await this.register(name, defaultNode, false);
      this.nodeNames.push(name);
    }
    this.schedule();
  }

  /** A dedicated node: only pods that name it in spec.nodeName run there. */
  async addNode(name: string, node: Partial<SimulatedNode> = {}): Promise<void> {
    if (this.nodes.has(name)) throw new Error(`node ${name} exists`);
    await this.register(name, { ...defaultNode, ...node }, true);
  }

  /** Removes a node added by addNode, with the pods still bound to it (deleted at once, as a kubelet would confirm). */
  async removeNode(name: string): Promise<void> {
    if (this.nodeNames.includes(name) || !this.nodes.has(name)) throw new Error(`node ${name} is not a dedicated node`);
    const pods = (await this.request('GET', `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${name}`)}`)) as { items: Pod[] };
    for (const pod of pods.items) {
      await this.api.send('DELETE', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}?gracePeriodSeconds=0`, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 });
    }
    this.nodes.delete(name);
    const response = await this.api.send('DELETE', `/api/v1/nodes/${name}`);
    if (response.status >= 300 && response.status !== 404) throw new Error(`DELETE node ${name}: ${response.status} ${response.text.slice(0, 200)}`);
  }

  /** Dedicated nodes, for a reset: the ones addNode registered. */
  dedicatedNodes(): string[] {
    return [...this.nodes.keys()].filter((name) => !this.nodeNames.includes(name));
  }

  /** How long an allocated resize takes to be applied (PodResizeInProgress meanwhile). */
  setResizeDelay(ms: number): void {
    this.resizeDelay = ms;
  }

  stall(namespace: string, name: string): void {
    this.stalled.add(`${namespace}/${name}`);
  }

  clearStalls(): void {
    this.stalled.clear();
  }

  /**
   * What a container demands, for the pods named `name` or owned by the workload `name` (directly, or through a
   * ReplicaSet `<name>-<hash>`) in `namespace`; undefined forgets it. A pod's own name wins over its workload's.
   */
  setUsage(namespace: string, name: string, container: string, usage: SimulatedUsage | undefined): void {
    const key = `${namespace}/${name}/${container}`;
    if (usage === undefined) this.usages.delete(key);
    else this.usages.set(key, { memory: bytesOf(usage.memory), cpu: millicoresOf(usage.cpu) });
  }

  /** The crash-loop back-off: the delay before the second restart of a failing container, doubling up to maxMs. */
  setCrashLoopBackOff(backOff: CrashLoopBackOff): void {
    if (!(backOff.initialMs > 0 && backOff.maxMs >= backOff.initialMs)) throw new Error(`crash-loop back-off ${backOff.initialMs}/${backOff.maxMs} ms: 0 < initial ≤ max`);
    this.crashLoop = backOff;
  }

  /** How long a container above its memory limit runs (at the limit) before it is OOM-killed. */
  setOomKillDelay(ms: number): void {
    this.oomKillDelay = ms;
  }

  /** Usage, back-off and OOM delay as at start (a reset between tests). */
  resetUsage(): void {
    this.usages.clear();
    this.crashLoop = defaultCrashLoopBackOff;
    this.oomKillDelay = defaultOomKillDelayMs;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.metrics.close();
    this.api.destroy();
  }

  private async register(name: string, node: SimulatedNode, dedicated: boolean): Promise<void> {
    await this.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } } });
    const now = new Date().toISOString();
    // A kubelet without in-place resize: 1.32 had the feature alpha and off by default.
    const kubeletVersion = node.inPlaceResize ? 'v1.33.13-sim' : 'v1.32.4-sim';
    await this.request('PATCH', `/api/v1/nodes/${name}/status`, {
      status: {
        capacity: node.capacity,
        allocatable: node.allocatable,
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'simulated node', lastHeartbeatTime: now, lastTransitionTime: now }],
        nodeInfo: { kubeletVersion, osImage: 'simulated', kernelVersion: '0', operatingSystem: 'linux', architecture: 'amd64', containerRuntimeVersion: 'sim://1', kubeProxyVersion: '', machineID: name, systemUUID: name, bootID: name },
      },
    }, 'application/merge-patch+json');
    // The API server taints a new node not-ready (TaintNodesByCondition); the node lifecycle controller lifts
    // the taint once the node reports Ready. That controller is not running here, so the simulator does it.
    // A dedicated node keeps a NoSchedule taint of its own, as a dedicated node pool would: the DaemonSet
    // controller then makes no pod for it, so a test's pods are the only ones there.
    await this.request('PATCH', `/api/v1/nodes/${name}`, { spec: { taints: dedicated ? [dedicatedTaint] : null } }, 'application/merge-patch+json');
    this.nodes.set(name, node);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch(() => undefined) // the API server may be going away at the end of a suite
        .finally(() => this.schedule());
    }, 150);
  }

  private async tick(): Promise<void> {
    const list = (await this.request('GET', '/api/v1/pods')) as { items: Pod[] };
    const live = new Set(list.items.map((pod) => pod.metadata.uid));
    for (const uid of this.allocations.keys()) if (!live.has(uid)) this.allocations.delete(uid);
    for (const key of this.backOffs.keys()) if (!live.has(key.slice(0, key.indexOf('/')))) this.backOffs.delete(key);
    const snapshots: PodSnapshot[] = [];
    for (const pod of list.items) {
      if (this.stopped) return;
      const base = `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`;
      if (pod.metadata.deletionTimestamp) {
        await this.request('DELETE', `${base}?gracePeriodSeconds=0`, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 }).catch(() => undefined);
        continue;
      }
      if (!pod.spec.nodeName) {
        const node = this.nodeFor(pod);
        await this.request('POST', `${base}/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace }, target: { apiVersion: 'v1', kind: 'Node', name: node } }).catch(() => undefined);
        continue;
      }
      const node = this.nodes.get(pod.spec.nodeName);
      if (!node) continue; // bound to a node nobody simulates: its pods stay Pending, as with a kubelet that is down
      if ((pod.status?.containerStatuses?.length ?? 0) > 0) {
        // Started: a kubelet sync (resize, OOM kills, restarts); the pod's metrics follow what it leaves. One pod
        // the rules cannot read must not stop the others' syncs.
        let synced: SyncedStatus;
        try {
          synced = this.sync(pod, node, list.items);
          snapshots.push(this.snapshot(pod, node, synced));
        } catch {
          continue;
        }
        await this.write(pod, synced).catch(() => undefined);
        continue;
      }
      if (this.isStalled(pod)) continue;
      const now = new Date().toISOString();
      await this.request('PATCH', `${base}/status`, {
        status: {
          phase: 'Running',
          hostIP: '127.0.0.1',
          podIP: '127.0.0.1',
          startTime: now,
          conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: now })),
          containerStatuses: pod.spec.containers.map((container) => ({
            name: container.name,
            ready: true,
            started: true,
            restartCount: 0,
            image: 'simulated',
            imageID: 'simulated',
            containerID: containerId(pod, container.name, 0),
            state: { running: { startedAt: now } },
            // What a 1.33 kubelet reports (kubelet_pods.go convertToAPIContainerStatuses): the resources it runs with, and the allocated requests.
            ...(node.inPlaceResize ? { resources: container.resources ?? {}, ...(container.resources?.requests ? { allocatedResources: container.resources.requests } : {}) } : {}),
          })),
        },
      }, 'application/merge-patch+json').catch(() => undefined);
    }
    this.metrics.observe(snapshots, Date.now());
  }

  /** One kubelet sync of a running pod: the resize (on a node that does them), then each container's life (oom-kill.ts). */
  private sync(pod: Pod, node: SimulatedNode, pods: readonly Pod[]): SyncedStatus {
    const now = Date.now();
    const stamp = new Date(now).toISOString();
    const resized = node.inPlaceResize ? this.resize(pod, node, pods, now) : { conditions: pod.status?.conditions ?? [], containerStatuses: pod.status?.containerStatuses ?? [] };
    const allocation = this.allocations.get(pod.metadata.uid);
    const specs = new Map(pod.spec.containers.map((container) => [container.name, container]));
    const restartPolicy = pod.spec.restartPolicy ?? 'Always';
    const containerStatuses = (resized.containerStatuses as LiveContainerStatus[]).map((status) => {
      const container = specs.get(status.name);
      const demand = this.demandOf(pod, status.name);
      const key = `${pod.metadata.uid}/${status.name}`;
      // A 1.33 kubelet reports the limit it applied; an older one only has the spec's.
      const applied = node.inPlaceResize ? status.resources : container?.resources;
      const step = stepContainer(status, {
        memoryDemand: demand?.memory,
        memoryLimit: bytesOf(applied?.limits?.memory),
        allocated: node.inPlaceResize ? (allocation?.containers.get(status.name) ?? container?.resources ?? {}) : undefined,
        restartPolicy,
        backOff: this.backOffs.get(key),
        settings: { ...this.crashLoop, oomKillDelayMs: this.oomKillDelay },
        now,
        podDesc: `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
        containerId: (restartCount) => containerId(pod, status.name, restartCount),
      });
      if (step.backOff) this.backOffs.set(key, step.backOff);
      else this.backOffs.delete(key);
      return step.status;
    });
    // kubelet_pods.go getPhase: with restartPolicy Never, a pod whose containers all ended non-zero has failed.
    const phase = restartPolicy === 'Never' && containerStatuses.every((status) => status.state?.terminated) ? 'Failed' : (pod.status?.phase ?? 'Running');
    return { phase, conditions: withReadiness(resized.conditions, containerStatuses, phase, stamp), containerStatuses };
  }

  /** Writes a sync's status when something changed: an idle pod costs no write (the simulator runs every 150 ms). */
  private async write(pod: Pod, synced: SyncedStatus): Promise<void> {
    const status = pod.status ?? {};
    if (synced.phase === status.phase && JSON.stringify(synced.conditions) === JSON.stringify(status.conditions ?? []) && JSON.stringify(synced.containerStatuses) === JSON.stringify(status.containerStatuses ?? [])) return;
    await this.request('PATCH', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`, { status: synced }, 'application/merge-patch+json');
  }

  /**
   * The resize half of a kubelet sync (kubelet.go handlePodResourcesResize, then the runtime's actuation): allocate
   * the desired resources if the node can take them (else PodResizePending), and apply an allocation that has waited
   * resizeDelayMs (PodResizeInProgress until then). A container that is not running takes the allocation as it is:
   * it starts with it (isPodResizeInProgress skips it, and convertContainerStatusResources reports the allocation).
   */
  private resize(pod: Pod, node: SimulatedNode, pods: readonly Pod[], now: number): { conditions: PodCondition[]; containerStatuses: LiveContainerStatus[] } {
    const uid = pod.metadata.uid;
    const statuses = (pod.status?.containerStatuses ?? []) as LiveContainerStatus[];
    const running = new Map(statuses.map((status) => [status.name, status]));
    let allocation = this.allocations.get(uid);
    if (!allocation) {
      // What the pod runs with is what was allocated (the kubelet's checkpoint, read back after a restart).
      allocation = { containers: new Map(pod.spec.containers.map((container) => [container.name, running.get(container.name)?.resources ?? container.resources])), at: 0 };
      this.allocations.set(uid, allocation);
    }
    let pending: { reason: string; message: string } | undefined;
    const current = allocation;
    if (!pod.spec.containers.every((container) => sameResources(container.resources, current.containers.get(container.name)))) {
      const others = pods.filter((other) => other.spec.nodeName === pod.spec.nodeName && other.metadata.uid !== uid && other.status?.phase !== 'Succeeded' && other.status?.phase !== 'Failed');
      const verdict = admitResize(pod, node.allocatable, others, (other, container) => this.allocations.get(other.metadata.uid ?? '')?.containers.get(container.name) ?? container.resources);
      if (verdict.fit) {
        // A new allocation resets the crash-loop back-off of each container it changes (handlePodResourcesResize).
        for (const container of pod.spec.containers) if (!sameResources(container.resources, current.containers.get(container.name))) this.backOffs.delete(`${uid}/${container.name}`);
        allocation = { containers: new Map(pod.spec.containers.map((container) => [container.name, container.resources])), at: now };
        this.allocations.set(uid, allocation);
      } else {
        pending = { reason: verdict.reason, message: verdict.message };
      }
    }
    const allocated = allocation;
    const isRunning = (status: LiveContainerStatus | undefined): boolean => status?.state?.running !== undefined;
    let inProgress = pod.spec.containers.some((container) => isRunning(running.get(container.name)) && !sameResources(running.get(container.name)?.resources, allocated.containers.get(container.name)));
    // Unchanged statuses stay the very objects read, so an idle pod costs no write.
    let containerStatuses = statuses.map((status) => {
      const requests = allocated.containers.get(status.name)?.requests;
      const withRequests = requests ? { ...status, allocatedResources: requests } : status;
      if (isRunning(status) || sameResources(status.resources, allocated.containers.get(status.name))) return withRequests;
      return { ...withRequests, resources: allocated.containers.get(status.name) ?? {} };
    });
    const stamp = new Date(now).toISOString();
    if (inProgress && now - allocated.at >= this.resizeDelay) {
      containerStatuses = containerStatuses.map((status) => {
        if (!isRunning(status)) return status;
        const container = pod.spec.containers.find((entry) => entry.name === status.name);
        const resources = allocated.containers.get(status.name) ?? {};
        if (!container || !needsRestart(container, status.resources, resources)) return { ...status, resources };
        const restartCount = (status.restartCount ?? 0) + 1;
        const startedAt = status.state?.running?.startedAt ?? stamp;
        return {
          ...status,
          resources,
          restartCount,
          containerID: containerId(pod, status.name, restartCount),
          lastState: { terminated: { exitCode: 0, reason: 'Completed', startedAt, finishedAt: stamp, containerID: status.containerID } },
          state: { running: { startedAt: stamp } },
        };
      });
      inProgress = false;
    }
    return { conditions: withResizeConditions(pod.status?.conditions ?? [], pending, inProgress, stamp), containerStatuses };
  }

  /** The demand set for this pod's container: by the pod's own name, else its workload's (as isStalled finds it). */
  private demandOf(pod: Pod, container: string): Demand | undefined {
    if (this.usages.size === 0) return undefined;
    const namespace = pod.metadata.namespace;
    const own = this.usages.get(`${namespace}/${pod.metadata.name}/${container}`);
    if (own) return own;
    for (const name of this.ownerNames(pod)) {
      const demand = this.usages.get(`${namespace}/${name}/${container}`);
      if (demand) return demand;
    }
    return undefined;
  }

  /** The names of a pod's owners: a StatefulSet, DaemonSet or Job directly, a Deployment through its ReplicaSet `<deployment>-<hash>`. */
  private ownerNames(pod: Pod): string[] {
    const names: string[] = [];
    for (const owner of pod.metadata.ownerReferences ?? []) {
      names.push(owner.name);
      if (owner.kind === 'ReplicaSet') names.push(owner.name.replace(/-[a-z0-9]+$/, ''));
    }
    return names;
  }

  /** What the metrics endpoint reports of a pod after a sync. */
  private snapshot(pod: Pod, node: SimulatedNode, synced: SyncedStatus): PodSnapshot {
    const specs = new Map(pod.spec.containers.map((container) => [container.name, container]));
    const owner = pod.metadata.ownerReferences?.find((reference) => reference.controller) ?? pod.metadata.ownerReferences?.[0];
    const quantities = (list: Record<string, string> | undefined) => ({ cpu: millicoresOf(list?.cpu), memory: bytesOf(list?.memory) });
    const containers = synced.containerStatuses.map((status): ContainerSnapshot => {
      const spec = specs.get(status.name)?.resources;
      const applied = node.inPlaceResize ? status.resources : spec;
      return {
        name: status.name,
        containerID: status.containerID,
        running: status.state?.running !== undefined,
        ready: status.ready === true,
        restartCount: status.restartCount ?? 0,
        waitingReason: status.state?.waiting?.reason,
        lastTerminatedReason: status.lastState?.terminated?.reason,
        demand: this.demandOf(pod, status.name),
        limits: quantities(applied?.limits),
        spec: { requests: quantities(spec?.requests), limits: quantities(spec?.limits) },
      };
    });
    return { namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid, node: pod.spec.nodeName ?? '', phase: synced.phase, owner: owner ? { kind: owner.kind, name: owner.name } : undefined, containers };
  }

  /** A DaemonSet pod names its node in a required matchFields term; anything else goes to a node by name hash. */
  private nodeFor(pod: Pod): string {
    const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    for (const term of terms) for (const field of term.matchFields ?? []) if (field.key === 'metadata.name' && field.values?.[0] && this.nodes.has(field.values[0])) return field.values[0];
    let hash = 0;
    for (const char of pod.metadata.name) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
    return this.nodeNames[hash % this.nodeNames.length] as string;
  }

  /** Owned by a stalled workload: directly (StatefulSet, DaemonSet) or through a ReplicaSet `<deployment>-<hash>`. */
  private isStalled(pod: Pod): boolean {
    for (const owner of pod.metadata.ownerReferences ?? []) {
      if (this.stalled.has(`${pod.metadata.namespace}/${owner.name}`)) return true;
      if (owner.kind === 'ReplicaSet') {
        const deployment = owner.name.replace(/-[a-z0-9]+$/, '');
        if (this.stalled.has(`${pod.metadata.namespace}/${deployment}`)) return true;
      }
    }
    return false;
  }

  private request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<unknown> {
    return this.api.request(method, path, body, contentType);
  }
}
