// The simulated nodes' metrics, for a real Prometheus to scrape: what the kubelet's cAdvisor endpoint
// (/metrics/cadvisor) and kube-state-metrics would expose about the pods the node simulator runs, in the Prometheus
// text format, on loopback. Same metric and label names as the backfilled history (../usage-history/README.md), so
// the product's queries find live samples as they find backfilled ones; `job` comes from the scrape configuration.
// - cAdvisor, for running containers with a simulated usage only (nobody said what the others use):
//   container_memory_working_set_bytes = min(demand, limit); container_cpu_usage_seconds_total grows at
//   min(demand, limit) cores; with a CPU limit, container_cpu_cfs_periods_total grows 10 a second (100 ms periods)
//   and container_cpu_cfs_throttled_periods_total as fast while the demand exceeds the limit (a steady demand above
//   the quota exhausts it in every period). A restarted container's counters start again from 0, as a new cgroup's.
// - kube-state-metrics, for every pod the simulator runs: restarts, the last termination and waiting reasons,
//   readiness, the spec's requests and limits, owner and phase.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A place for Prometheus to scrape, and the job label its series get (the shape test/support/prometheus takes). */
export interface ScrapeTarget {
  job: string;
  url: string;
}

export interface ContainerSnapshot {
  name: string;
  containerID: string | undefined;
  running: boolean;
  ready: boolean;
  restartCount: number;
  waitingReason: string | undefined;
  lastTerminatedReason: string | undefined;
  /** Bytes and millicores the container demands; undefined: no simulated usage (no cAdvisor series). */
  demand: { memory: bigint | undefined; cpu: bigint | undefined } | undefined;
  /** The limits it runs with (bytes, millicores). */
  limits: { memory: bigint | undefined; cpu: bigint | undefined };
  /** The spec's requests and limits (bytes, millicores), as kube-state-metrics reads them. */
  spec: { requests: Record<'cpu' | 'memory', bigint | undefined>; limits: Record<'cpu' | 'memory', bigint | undefined> };
}

export interface PodSnapshot {
  namespace: string;
  name: string;
  uid: string;
  node: string;
  phase: string;
  owner: { kind: string; name: string } | undefined;
  containers: ContainerSnapshot[];
}

/** One container's cAdvisor counters, advanced at its current rates. */
interface Meter {
  containerID: string | undefined;
  at: number;
  cpuSeconds: number;
  periods: number;
  throttled: number;
  cores: number;
  hasQuota: boolean;
  throttling: boolean;
}

const periodsPerSecond = 10; // CFS' default 100 ms period
const phases = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];

export class UsageMetrics {
  private pods: PodSnapshot[] = [];
  private readonly meters = new Map<string, Meter>();
  private server: http.Server | undefined;
  private base = '';

  /** Starts the endpoint on a free loopback port. */
  async listen(): Promise<void> {
    const server = http.createServer((request, response) => {
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      const body = path === '/metrics/cadvisor' ? this.cadvisor(Date.now()) : path === '/kube-state-metrics/metrics' ? this.kubeStateMetrics() : undefined;
      if (body === undefined) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** What Prometheus scrapes: the kubelet's cAdvisor endpoint as job "kubelet", kube-state-metrics as its own job. */
  targets(): ScrapeTarget[] {
    if (!this.server) throw new Error('the simulated nodes serve no metrics yet');
    return [
      { job: 'kubelet', url: `${this.base}/metrics/cadvisor` },
      { job: 'kube-state-metrics', url: `${this.base}/kube-state-metrics/metrics` },
    ];
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The pods as one simulator sync left them: counters advance to `now` at the old rates, then take the new ones. */
  observe(pods: PodSnapshot[], now: number): void {
    const seen = new Set<string>();
    for (const pod of pods) {
      for (const container of pod.containers) {
        const key = `${pod.uid}/${container.name}`;
        seen.add(key);
        let meter = this.meters.get(key);
        if (meter && meter.containerID === container.containerID) advance(meter, now);
        else meter = { containerID: container.containerID, at: now, cpuSeconds: 0, periods: 0, throttled: 0, cores: 0, hasQuota: false, throttling: false };
        const demand = container.running ? container.demand?.cpu : undefined;
        const limit = container.limits.cpu;
        const granted = demand === undefined ? 0n : limit !== undefined && limit < demand ? limit : demand;
        meter.cores = Number(granted) / 1000;
        meter.hasQuota = container.running && limit !== undefined;
        meter.throttling = meter.hasQuota && demand !== undefined && limit !== undefined && demand > limit;
        this.meters.set(key, meter);
      }
    }
    for (const key of this.meters.keys()) if (!seen.has(key)) this.meters.delete(key);
    this.pods = pods;
  }

  /** The cAdvisor series of running containers with a simulated usage. */
  cadvisor(now: number): string {
    const families = new Families();
    for (const pod of this.pods) {
      for (const container of pod.containers) {
        if (!container.running || !container.demand) continue;
        const meter = this.meters.get(`${pod.uid}/${container.name}`);
        if (!meter) continue;
        advance(meter, now);
        const labels = { namespace: pod.namespace, pod: pod.name, container: container.name };
        families.add('container_cpu_usage_seconds_total', 'counter', 'Cumulative cpu time consumed in seconds.', labels, meter.cpuSeconds);
        const { memory } = container.demand;
        if (memory !== undefined) {
          const limit = container.limits.memory;
          families.add('container_memory_working_set_bytes', 'gauge', 'Current working set in bytes.', labels, Number(limit !== undefined && limit < memory ? limit : memory));
        }
        if (meter.hasQuota) {
          families.add('container_cpu_cfs_periods_total', 'counter', 'Number of elapsed enforcement period intervals.', labels, Math.floor(meter.periods));
          families.add('container_cpu_cfs_throttled_periods_total', 'counter', 'Number of throttled period intervals.', labels, Math.floor(meter.throttled));
        }
      }
    }
    return families.text();
  }

  /** kube-state-metrics' series of every pod the simulator runs. */
  kubeStateMetrics(): string {
    const families = new Families();
    const replicaSets = new Map<string, { namespace: string; replicaset: string }>();
    for (const pod of this.pods) {
      const podLabels = { namespace: pod.namespace, pod: pod.name };
      if (pod.owner) {
        families.add('kube_pod_owner', 'gauge', "Information about the Pod's owner.", { ...podLabels, owner_kind: pod.owner.kind, owner_name: pod.owner.name, owner_is_controller: 'true' }, 1);
        if (pod.owner.kind === 'ReplicaSet') replicaSets.set(`${pod.namespace}/${pod.owner.name}`, { namespace: pod.namespace, replicaset: pod.owner.name });
      }
      for (const phase of phases) families.add('kube_pod_status_phase', 'gauge', 'The pods current phase.', { ...podLabels, phase }, phase === pod.phase ? 1 : 0);
      for (const container of pod.containers) {
        const labels = { ...podLabels, container: container.name };
        families.add('kube_pod_container_status_restarts_total', 'counter', 'The number of container restarts per container.', labels, container.restartCount);
        families.add('kube_pod_container_status_ready', 'gauge', 'Describes whether the containers readiness check succeeded.', labels, container.ready ? 1 : 0);
        if (container.waitingReason) families.add('kube_pod_container_status_waiting_reason', 'gauge', 'Describes the reason the container is currently in waiting state.', { ...labels, reason: container.waitingReason }, 1);
        if (container.lastTerminatedReason) families.add('kube_pod_container_status_last_terminated_reason', 'gauge', 'Describes the last reason the container was in terminated state.', { ...labels, reason: container.lastTerminatedReason }, 1);
        for (const side of ['requests', 'limits'] as const) {
          for (const resource of ['cpu', 'memory'] as const) {
            const value = container.spec[side][resource];
            if (value === undefined) continue;
            const amount = resource === 'cpu' ? Number(value) / 1000 : Number(value);
            families.add(`kube_pod_container_resource_${side}`, 'gauge', `The number of ${side} resource requested by a container.`, { ...labels, node: pod.node, resource, unit: resource === 'cpu' ? 'core' : 'byte' }, amount);
          }
        }
      }
    }
    for (const { namespace, replicaset } of replicaSets.values()) {
      // A Deployment names its ReplicaSets `<deployment>-<pod-template-hash>`.
      const deployment = replicaset.replace(/-[a-z0-9]+$/, '');
      families.add('kube_replicaset_owner', 'gauge', 'Information about the ReplicaSet owner.', { namespace, replicaset, owner_kind: 'Deployment', owner_name: deployment, owner_is_controller: 'true' }, 1);
    }
    return families.text();
  }
}

function advance(meter: Meter, now: number): void {
  const seconds = Math.max(0, now - meter.at) / 1000;
  meter.cpuSeconds += meter.cores * seconds;
  if (meter.hasQuota) meter.periods += periodsPerSecond * seconds;
  if (meter.throttling) meter.throttled += periodsPerSecond * seconds;
  meter.at = Math.max(meter.at, now);
}

/** Prometheus text format 0.0.4: each family's HELP and TYPE once, then its samples. */
class Families {
  private readonly families = new Map<string, { header: string; lines: string[] }>();

  add(name: string, type: 'counter' | 'gauge', help: string, labels: Record<string, string>, value: number): void {
    let family = this.families.get(name);
    if (!family) {
      family = { header: `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`, lines: [] };
      this.families.set(name, family);
    }
    const text = Object.entries(labels)
      .map(([label, labelValue]) => `${label}="${labelValue.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`)
      .join(',');
    family.lines.push(`${name}{${text}} ${value}\n`);
  }

  text(): string {
    return [...this.families.values()].map((family) => family.header + family.lines.join('')).join('');
  }
}
