// The test world's usage: one pattern per seeded workload (test/support/kube-api-server/seed.yaml), so the cluster a
// test starts and the history its Prometheus holds describe the same pods. Levels are binary-exact so krr's numbers
// can be worked out by hand (README.md beside this file); pods follow spec.replicas (a DaemonSet: its scheduled count).
import { defaultSeedPath, loadSeed } from '../kube-api-server/seed';
import { parseQuantity } from '../kube-api-server/quantity';
import type { ContainerUsage, PatternName, Resources, WorkloadKind, WorkloadUsage } from './index';

const MIB = 1024 * 1024;
const KINDS: readonly string[] = ['Deployment', 'Rollout', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'];

/** `<namespace>/<name>/<container>` → its pattern and levels; any other container is steady at 0.0625 cores, 64 MiB. */
export const SEED_USAGE: Record<string, Omit<ContainerUsage, 'name' | 'requests' | 'limits'>> = {
  'shop/checkout-api/api': { pattern: 'spike', cpu: 0.0625, spikeCpu: 0.75, memory: 256 * MIB, peakMemory: 300 * MIB },
  'shop/frontend/web': { pattern: 'diurnal', cpu: 0.125, memory: 160 * MIB },
  'data/postgres/postgresql': { pattern: 'leak', cpu: 0.125, memory: 200 * MIB, peakMemory: 420 * MIB },
  'data/postgres/metrics': { pattern: 'steady', cpu: 0.015625, memory: 32 * MIB },
  'monitoring/node-exporter/node-exporter': { pattern: 'steady', cpu: 0.03125, memory: 40 * MIB },
  'batch/db-migrate-20240611/migrate': { pattern: 'steady', cpu: 0.5, memory: 600 * MIB },
  'batch/nightly-report/report': { pattern: 'weekly', cpu: 0.25, memory: 700 * MIB },
  'dev/sandbox-api/api': { pattern: 'weekly', cpu: 0.0625, memory: 96 * MIB },
  'kube-system/coredns/coredns': { pattern: 'steady', cpu: 0.015625, memory: 24 * MIB },
  'gitops/cart/api': { pattern: 'oomkill', cpu: 0.25, memory: 300 * MIB },
  'gitops/payments/api': { pattern: 'new', cpu: 0.125, memory: 128 * MIB },
  'gitops/search/search': { pattern: 'throttled', memory: 200 * MIB },
};

/** Generations per kind: a Deployment rolled out once in the window, a daily CronJob's 14 Jobs, one for the rest. */
const GENERATIONS: Partial<Record<WorkloadKind, number>> = { Deployment: 2, Rollout: 2, CronJob: 14 };

type Json = Record<string, unknown>;
const object = (value: unknown): Json => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {});
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

function resources(value: unknown): Resources | undefined {
  const spec = object(value);
  const result: Resources = {};
  for (const resource of ['cpu', 'memory'] as const) {
    if (spec[resource] === undefined) continue;
    // nano-units → thousandths first, so 500m is 0.5 and 1Gi 1073741824 exactly.
    result[resource] = Number(parseQuantity(spec[resource]).nano / 1_000_000n) / 1000;
  }
  return Object.keys(result).length > 0 ? result : undefined;
}

function podSpec(item: Json): Json {
  const spec = object(item.spec);
  return item.kind === 'CronJob' ? object(object(object(object(spec.jobTemplate).spec).template).spec) : object(object(spec.template).spec);
}

/** The seeded workloads with their usage; `cluster` labels every series (the centralized case). */
export function seedWorld(options: { seed?: string; cluster?: string } = {}): WorkloadUsage[] {
  const workloads: WorkloadUsage[] = [];
  for (const item of loadSeed(options.seed ?? defaultSeedPath)) {
    if (typeof item.kind !== 'string' || !KINDS.includes(item.kind)) continue;
    const kind = item.kind as WorkloadKind;
    const metadata = object(item.metadata);
    const namespace = String(metadata.namespace ?? 'default');
    const name = String(metadata.name);
    const containers = list(podSpec(item).containers).map((raw): ContainerUsage => {
      const container = object(raw);
      const containerName = String(container.name);
      const requests = resources(object(container.resources).requests);
      const limits = resources(object(container.resources).limits);
      const usage = SEED_USAGE[`${namespace}/${name}/${containerName}`] ?? { pattern: 'steady' as PatternName, cpu: 0.0625, memory: 64 * MIB };
      return { name: containerName, requests, limits, ...usage };
    });
    const spec = object(item.spec);
    const pods = kind === 'DaemonSet' ? Number(object(item.status).desiredNumberScheduled ?? 1) : Number(spec.replicas ?? spec.parallelism ?? 1);
    workloads.push({ cluster: options.cluster, namespace, kind, name, containers, pods, generations: GENERATIONS[kind] ?? 1 });
  }
  return workloads;
}
