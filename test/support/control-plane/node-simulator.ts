// Simulated nodes for the test control plane: what kube-scheduler and a kubelet would do, through the real
// API and nothing else. It registers Ready nodes, binds pending pods to them (honouring a DaemonSet pod's
// node affinity), reports bound pods Running and Ready, and finishes the deletion of terminating pods
// (a kubelet confirms a graceful delete once the containers stopped). The real controllers
// (kube-controller-manager) do the rest: ReplicaSets, rollout status, observedGeneration.
// `stall(namespace, name)` makes a workload's new pods never become ready — a stuck rollout.
import { HarnessApi } from './harness-api';

interface Pod {
  metadata: { name: string; namespace: string; deletionTimestamp?: string; ownerReferences?: Array<{ kind: string; name: string }> };
  spec: { nodeName?: string; containers: Array<{ name: string }>; affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: Array<{ matchFields?: Array<{ key: string; values?: string[] }> }> } } } };
  status?: { phase?: string; conditions?: Array<{ type: string; status: string }> };
}

export class NodeSimulator {
  private readonly api: HarnessApi;
  private readonly nodeNames: string[] = [];
  private readonly stalled = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(server: string, caPem: string, bearer: string) {
    this.api = new HarnessApi(server, caPem, bearer);
  }

  async start(nodes: number): Promise<void> {
    for (let index = 1; index <= nodes; index += 1) {
      const name = `sim-node-${index}`;
      this.nodeNames.push(name);
      await this.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } } });
      const now = new Date().toISOString();
      await this.request('PATCH', `/api/v1/nodes/${name}/status`, {
        status: {
          capacity: { cpu: '64', memory: '256Gi', pods: '250' },
          allocatable: { cpu: '64', memory: '256Gi', pods: '250' },
          conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'simulated node', lastHeartbeatTime: now, lastTransitionTime: now }],
          nodeInfo: { kubeletVersion: 'v1.33.13-sim', osImage: 'simulated', kernelVersion: '0', operatingSystem: 'linux', architecture: 'amd64', containerRuntimeVersion: 'sim://1', kubeProxyVersion: '', machineID: name, systemUUID: name, bootID: name },
        },
      }, 'application/merge-patch+json');
      // The API server taints a new node not-ready (TaintNodesByCondition); the node lifecycle controller lifts
      // the taint once the node reports Ready. That controller is not running here, so the simulator does it.
      await this.request('PATCH', `/api/v1/nodes/${name}`, { spec: { taints: null } }, 'application/merge-patch+json');
    }
    this.schedule();
  }

  stall(namespace: string, name: string): void {
    this.stalled.add(`${namespace}/${name}`);
  }

  clearStalls(): void {
    this.stalled.clear();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    this.api.destroy();
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
      const ready = pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True');
      if (ready || this.isStalled(pod)) continue;
      const now = new Date().toISOString();
      await this.request('PATCH', `${base}/status`, {
        status: {
          phase: 'Running',
          hostIP: '127.0.0.1',
          podIP: '127.0.0.1',
          startTime: now,
          conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: now })),
          containerStatuses: pod.spec.containers.map((container) => ({ name: container.name, ready: true, started: true, restartCount: 0, image: 'simulated', imageID: 'simulated', state: { running: { startedAt: now } } })),
        },
      }, 'application/merge-patch+json').catch(() => undefined);
    }
  }

  /** A DaemonSet pod names its node in a required matchFields term; anything else goes to a node by name hash. */
  private nodeFor(pod: Pod): string {
    const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    for (const term of terms) for (const field of term.matchFields ?? []) if (field.key === 'metadata.name' && field.values?.[0] && this.nodeNames.includes(field.values[0])) return field.values[0];
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
