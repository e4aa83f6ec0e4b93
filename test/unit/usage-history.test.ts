// The usage-history generator (test/support/usage-history): deterministic OpenMetrics whose samples follow each
// pattern's closed form, with the labels krr's queries select on. Values are checked against arithmetic done here.
import assert from 'node:assert/strict';
import { generateUsageHistory, podsOf, type UsageHistoryOptions } from '../support/usage-history';

const MIB = 1024 * 1024;
const end = new Date('2026-12-01T12:00:10Z');
const last = Math.floor(end.getTime() / 1000 / 30) * 30; // the last sample: end floored to the 30 s interval

type Samples = Array<[number, number]>;

/** series text `name{labels}` → samples, in file order */
function parse(text: string): Map<string, Samples> {
  const series = new Map<string, Samples>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(\S+\{[^}]*\}) (\S+) (\d+)$/.exec(line);
    assert.ok(match, `not an OpenMetrics sample with a timestamp in seconds: ${line}`);
    const [, key = '', value = '', time = ''] = match;
    if (!series.has(key)) series.set(key, []);
    series.get(key)?.push([Number(time), Number(value)]);
  }
  return series;
}

function only(series: Map<string, Samples>, pattern: RegExp): [string, Samples] {
  const found = [...series].filter(([key]) => pattern.test(key));
  assert.equal(found.length, 1, `${pattern}: ${found.map(([key]) => key).join(', ')}`);
  return found[0] as [string, Samples];
}

const world = (seed = 1): UsageHistoryOptions => ({
  end,
  days: 4,
  seed,
  workloads: [
    { namespace: 'shop', kind: 'Deployment', name: 'checkout-api', pods: 2, containers: [{ name: 'api', pattern: 'steady', cpu: 0.25, memory: 256 * MIB, requests: { cpu: 0.5, memory: 512 * MIB } }] },
    { namespace: 'shop', kind: 'Deployment', name: 'worker', containers: [{ name: 'worker', pattern: 'oomkill', cpu: 0.0625, memory: 150 * MIB, limits: { memory: 256 * MIB, cpu: 1 } }] },
    { namespace: 'shop', kind: 'Deployment', name: 'search', containers: [{ name: 'search', pattern: 'new' }] },
    { cluster: 'prod-us-1', namespace: 'batch', kind: 'CronJob', name: 'nightly', generations: 2, containers: [{ name: 'run', pattern: 'throttled', limits: { cpu: 0.5 } }] },
  ],
});

describe('usage-history generator (test/support/usage-history)', () => {
  const text = generateUsageHistory(world());
  const series = parse(text);

  it('is deterministic for a seed and ends with # EOF; another seed renames pods but keeps every value', () => {
    assert.equal(generateUsageHistory(world()), text);
    assert.ok(text.endsWith('\n# EOF\n'));
    const other = generateUsageHistory(world(2));
    assert.notEqual(other, text);
    const values = (body: string) => body.split('\n').map((line) => line.replace(/pod="[^"]*"|owner_name="[^"]*"|replicaset="[^"]*"/g, ''));
    assert.deepEqual(values(other), values(text));
  });

  it('names pods as their controllers do and links them through the owner series krr reads', () => {
    const pods = podsOf(world()).filter((pod) => pod.workload.name === 'checkout-api');
    assert.equal(pods.length, 2);
    for (const pod of pods) {
      assert.match(pod.name, /^checkout-api-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      assert.equal(pod.owner.kind, 'ReplicaSet');
      only(series, new RegExp(`^kube_pod_owner\\{namespace="shop",pod="${pod.name}",job="kube-state-metrics",owner_kind="ReplicaSet",owner_name="${pod.owner.name}",owner_is_controller="true"\\}$`));
      only(series, new RegExp(`^kube_replicaset_owner\\{namespace="shop",replicaset="${pod.owner.name}",owner_kind="Deployment",owner_name="checkout-api",`));
    }
    // A CronJob's pods belong to its Jobs, one per generation; kube_job_owner ties each Job to the CronJob.
    const jobs = [...series.keys()].filter((key) => key.startsWith('kube_job_owner{'));
    assert.equal(jobs.length, 2);
    for (const key of jobs) assert.match(key, /^kube_job_owner\{cluster="prod-us-1",namespace="batch",job_name="nightly-\d+",owner_kind="CronJob",owner_name="nightly",/);
  });

  it('steady: a CPU counter rising 0.25 × 30 s per sample over 4 days, memory flat, kubelet and kube-state-metrics jobs', () => {
    const pod = podsOf(world()).find((p) => p.workload.name === 'checkout-api')?.name ?? '';
    const [, cpu] = only(series, new RegExp(`^container_cpu_usage_seconds_total\\{namespace="shop",pod="${pod}",container="api",job="kubelet"\\}$`));
    assert.equal(cpu.length, (4 * 86400) / 30 + 1);
    assert.deepEqual(cpu[0], [last - 4 * 86400, 0]);
    assert.deepEqual(cpu.at(-1), [last, 0.25 * 4 * 86400]);
    for (let index = 1; index < cpu.length; index += 1) assert.equal((cpu[index]?.[1] ?? 0) - (cpu[index - 1]?.[1] ?? 0), 7.5);
    const [, memory] = only(series, new RegExp(`^container_memory_working_set_bytes\\{namespace="shop",pod="${pod}",container="api",job="kubelet"\\}$`));
    assert.ok(memory.every(([, value]) => value === 256 * MIB));
    assert.equal(memory.length, (4 * 86400) / 60 + 1); // memory every 60 s by default
    const [, request] = only(series, new RegExp(`^kube_pod_container_resource_requests\\{namespace="shop",pod="${pod}",job="kube-state-metrics",container="api",node="node-1",resource="memory",unit="byte"\\}$`));
    assert.ok(request.every(([, value]) => value === 512 * MIB));
    assert.equal(request.at(-1)?.[0], last, 'state series reach the last sample, so the pod is Running at the end');
  });

  it('oomkill: memory ramps to the limit and holds it 5 minutes, then a restart, the counter resets and OOMKilled is reported', () => {
    const [pod] = podsOf(world()).filter((p) => p.workload.name === 'worker');
    const kill = last - 3 * 86400;
    const [, memory] = only(series, new RegExp(`^container_memory_working_set_bytes\\{namespace="shop",pod="${pod?.name}"`));
    assert.equal(Math.max(...memory.map(([, value]) => value)), 256 * MIB);
    assert.deepEqual(memory.filter(([, value]) => value === 256 * MIB).map(([t]) => t), [kill - 300, kill - 240, kill - 180, kill - 120, kill - 60, kill]);
    assert.equal(memory.find(([t]) => t === kill - 300 - 1800)?.[1], 150 * MIB + 53 * MIB); // half-way up the ramp
    assert.equal(memory.find(([t]) => t === kill + 60)?.[1], 150 * MIB);
    const [, cpu] = only(series, new RegExp(`^container_cpu_usage_seconds_total\\{namespace="shop",pod="${pod?.name}"`));
    assert.equal(cpu.find(([t]) => t === kill + 30)?.[1], 0);
    const [, restarts] = only(series, new RegExp(`^kube_pod_container_status_restarts_total\\{namespace="shop",pod="${pod?.name}"`));
    assert.deepEqual([restarts.find(([t]) => t <= kill && t > kill - 240)?.[1], restarts.at(-1)?.[1]], [0, 1]);
    const [key, reason] = only(series, /^kube_pod_container_status_last_terminated_reason\{/);
    assert.match(key, /container="worker",reason="OOMKilled"\}$/);
    assert.ok((reason[0]?.[0] ?? 0) > kill && reason.at(-1)?.[0] === last);
    only(series, new RegExp(`^kube_pod_container_resource_limits\\{namespace="shop",pod="${pod?.name}",job="kube-state-metrics",container="worker",node="node-1",resource="memory",unit="byte"\\}$`));
  });

  it('new: only the last 30 minutes; throttled: usage pinned at the CPU limit, half its CFS periods throttled', () => {
    const [, cpu] = only(series, /^container_cpu_usage_seconds_total\{namespace="shop",pod="search-/);
    assert.equal(cpu[0]?.[0], last - 1800);
    assert.equal(cpu.length, 61);
    const pods = podsOf(world()).filter((p) => p.workload.name === 'nightly');
    assert.deepEqual(pods.map((p) => p.deleted), [true, false]);
    const newest = pods[1]?.name ?? '';
    const [, usage] = only(series, new RegExp(`^container_cpu_usage_seconds_total\\{cluster="prod-us-1",namespace="batch",pod="${newest}"`));
    assert.equal((usage.at(-1)?.[1] ?? 0) - (usage.at(-2)?.[1] ?? 0), 0.5 * 30);
    const [, periods] = only(series, new RegExp(`^container_cpu_cfs_periods_total\\{cluster="prod-us-1",namespace="batch",pod="${newest}"`));
    const [, throttled] = only(series, new RegExp(`^container_cpu_cfs_throttled_periods_total\\{cluster="prod-us-1",namespace="batch",pod="${newest}"`));
    assert.equal(throttled.at(-1)?.[1], (periods.at(-1)?.[1] ?? 0) / 2);
    assert.equal(periods.at(-1)?.[1], 10 * 2 * 86400); // 10 periods a second since the second generation began, 2 days ago
    // Containers without a CPU quota have no CFS series, as in cAdvisor.
    assert.equal([...series.keys()].filter((key) => key.startsWith('container_cpu_cfs_periods_total') && key.includes('checkout-api')).length, 0);
  });

  it('refuses an interval krr cannot rate over, and patterns missing the limit they need', () => {
    assert.throws(() => generateUsageHistory({ ...world(), interval: 60 }), /≤ 37/);
    assert.throws(
      () => generateUsageHistory({ end, workloads: [{ namespace: 'a', kind: 'Deployment', name: 'b', containers: [{ name: 'c', pattern: 'oomkill' }] }] }),
      /needs a memory limit/,
    );
  });
});
