// apply_throughput: 200 Deployments on the real control plane (test/support/control-plane: kube-apiserver, etcd,
// kube-controller-manager), with 20 ms added to every request by its loopback fault proxy, through the real kubectl.
// Proposal (reads + server-side dry-runs) and approval→verified completion (re-read, snapshot, writes with test ops,
// verification, an audit entry per write) against two baselines on a fresh plane of the same objects each, measured
// side by side in the same run: a naive sequential `kubectl patch` per object, and what a person who knows kubectl
// would do — the 200 changes as partial manifests in one `kubectl apply --server-side`. What each step of the apply
// costs is read from the audit log's timestamps. propose_scale: one proposal over 2,500 workloads on our own API
// test server, with the time between progress reports.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { AuditLog } from '../src/core/audit';
import { proposeConcurrency } from '../src/core/plan/propose';
import { fileKeyStore } from '../src/core/auditKey';
import type { ObjectChange } from '../src/core/plan/model';
import { startSessionFixture } from '../test/support/session-fixture';
import { asControlPlane, startTestCluster, type ControlPlane, type TestCluster } from '../test/support/test-cluster';
import { generateDeploymentFleet } from './generate';
import { median, round } from './stats';

const requester = { type: 'human' as const, via: 'bench' };

export interface ApplyFigures {
  objects: number;
  latency_ms: number;
  concurrency: number;
  runs: number;
  propose_ms: number;
  apply_ms: number;
  baseline_sequential_patch_ms: number;
  /** One `kubectl apply --server-side --force-conflicts` of the same changes as partial manifests. */
  baseline_server_side_apply_ms: number;
  /** Write requests that one server-side apply sent (from the API server's audit log). */
  server_side_apply_writes: number;
  /** Those writes by method, path (names left out) and field manager, to see what kubectl sends besides the apply. */
  server_side_apply_write_kinds: Record<string, number>;
  /** baseline / apply: how much faster the safe apply is than the naive loop. */
  speedup_vs_sequential: number;
  /** apply / server-side apply: what every safety step costs against the fastest plain kubectl way. */
  ratio_vs_server_side_apply: number;
  /** propose / baseline. */
  propose_vs_sequential: number;
  /** kubectl processes per phase (from the session log), to see where time goes. */
  kubectl_calls_propose: number;
  kubectl_calls_apply: number;
  /** CPU time (user + system) of the kubectl processes, per process, during apply and during the baseline. */
  kubectl_cpu_ms_per_process_apply: number | null;
  kubectl_cpu_ms_per_process_baseline: number | null;
  /**
   * Best speed-up the cores allow when every kubectl process needs that much CPU: the baseline's time over
   * (apply's kubectl CPU / cores). Shows whether a miss is the machine or the code.
   */
  cpu_bound_speedup_limit: number | null;
  /** Medians of the apply's steps, from the audit log's timestamps (ms). */
  steps: ApplySteps;
  /** One audit append (hash chain, HMAC, fsync of the line and the head), median of 200 on this disk. */
  audit_append_ms: number;
  /** Peak RSS of this process (session, plan, fault proxy; the control plane runs in processes of its own) during the apply, and its RSS before it. */
  peak_rss_mb: number | null;
  rss_before_apply_mb: number;
  /** Our apply verified, and both baselines left every object's resources exactly as our apply did. */
  verified: boolean;
}

export interface ApplySteps {
  /** apply() called → 'approve' entry: resolving the context, the (scripted) approval, its audit entry. */
  approve: number;
  /** 'approve' → 'apply started': opening the API channel, re-reading every object, the stale check, the snapshot. */
  channel_reread_snapshot: number;
  /** 'apply started' → the last 'write' entry: every write (JSON patch with test ops) and its audit entry. */
  writes: number;
  /** The last 'write' entry → 'verify': the snapshot update and the verification read. */
  snapshot_update_verify: number;
  /** 'verify' → apply() returned: closing the channel. */
  close: number;
}

/** Peak RSS since the last reset (Linux: VmHWM, reset through /proc/self/clear_refs); null elsewhere. */
function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}
function peakRssMb(): number | null {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Step durations of the last apply in an audit log file (entries carry ISO times with milliseconds). */
function stepsFromAudit(file: string, calledAt: number, returnedAt: number): ApplySteps {
  const entries = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { action: string; outcome?: string; time: string });
  const timeOf = (entry: { time: string } | undefined) => (entry ? Date.parse(entry.time) : Number.NaN);
  const approve = entries.findLast((e) => e.action === 'approve');
  const started = entries.findLast((e) => e.action === 'apply' && e.outcome === 'started');
  const lastWrite = entries.findLast((e) => e.action === 'write');
  const verify = entries.findLast((e) => e.action === 'verify');
  return {
    approve: timeOf(approve) - calledAt,
    channel_reread_snapshot: timeOf(started) - timeOf(approve),
    writes: timeOf(lastWrite) - timeOf(started),
    snapshot_update_verify: timeOf(verify) - timeOf(lastWrite),
    close: returnedAt - timeOf(verify),
  };
}

async function auditAppendMs(): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'krr-bench-audit-'));
  try {
    const log = await AuditLog.open(path.join(dir, 'audit.jsonl'), { keys: fileKeyStore(path.join(dir, 'audit.key')) });
    const samples: number[] = [];
    for (let index = 0; index < 200; index += 1) {
      const started = performance.now();
      await log.append({ action: 'write', actor: { type: 'human', via: 'bench' }, context: 'prod-eu-1', planId: 'plan-bench', objects: [{ namespace: 'fleet-1', kind: 'Deployment', name: `svc-${index}` }], outcome: 'written' });
      samples.push(performance.now() - started);
    }
    return median(samples);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU of waited-for child processes so far, in ms (Linux /proc; null elsewhere). */
function childrenCpuMs(): number | null {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
    // After "pid (comm) ", cutime and cstime are fields 16 and 17 of stat(5), i.e. indexes 13 and 14 here; in clock ticks (100/s).
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
  } catch {
    return null;
  }
}

export async function benchmarkApply(options: { objects?: number; latencyMs?: number; runs?: number; concurrency?: number; progress?: (line: string) => void } = {}): Promise<ApplyFigures> {
  const count = options.objects ?? 200;
  const latencyMs = options.latencyMs ?? 20;
  const runs = options.runs ?? 3;
  const fleet = generateDeploymentFleet({ count, seed: 11, cluster: 'prod-eu-1' });
  const proposeSamples: number[] = [];
  const applySamples: number[] = [];
  const baselineSamples: number[] = [];
  const serverSideApplySamples: number[] = [];
  let serverSideApplyWrites = 0;
  let serverSideApplyWriteKinds: Record<string, number> = {};
  let callsPropose = 0;
  let callsApply = 0;
  const applyCpu: number[] = [];
  const baselineCpu: number[] = [];
  let verified = true;
  let concurrency = 0;
  const stepSamples: ApplySteps[] = [];
  const peaks: number[] = [];
  const rssBefore: number[] = [];
  for (let index = 0; index < runs; index += 1) {
    // The real control plane for our apply and both baselines: a fresh plane of the same objects each, quiet before the clock starts.
    const fixture = await startSessionFixture({ cluster: { seed: fleet.objects, latencyMs, light: false }, settings: options.concurrency ? { applyConcurrency: options.concurrency } : {} });
    let plan: Awaited<ReturnType<typeof fixture.session.propose>>;
    let applied: Map<string, string>;
    try {
      await quietWithoutClientSideApplyHistory(controlPlaneOf(fixture.cluster));
      concurrency = fixture.settings.applyConcurrency;
      fixture.human.answer = 'approve';
      const reportFile = path.join(fixture.stateDir, 'fleet-report.json');
      writeFileSync(reportFile, fleet.reportText);
      const summary = await fixture.session.loadReport(reportFile, requester);

      let logStart = fixture.logs.length;
      let started = performance.now();
      plan = await fixture.session.propose({ reportId: summary.reportId, workloads: fleet.refs }, requester);
      proposeSamples.push(performance.now() - started);
      callsPropose = countKubectl(fixture.logs.slice(logStart));
      if (plan.objects.length !== count) throw new Error(`the plan has ${plan.objects.length} objects, expected ${count}; blocked: ${JSON.stringify(plan.blocked.slice(0, 3))}`);

      logStart = fixture.logs.length;
      const cpuBefore = childrenCpuMs();
      rssBefore.push(process.memoryUsage().rss / 1024 / 1024);
      const peakReset = resetPeakRss();
      const calledAt = Date.now();
      started = performance.now();
      const outcome = await fixture.session.apply(plan.id, requester);
      applySamples.push(performance.now() - started);
      stepSamples.push(stepsFromAudit(path.join(fixture.stateDir, 'audit.jsonl'), calledAt, Date.now()));
      const peak = peakReset ? peakRssMb() : null;
      if (peak !== null) peaks.push(peak);
      callsApply = countKubectl(fixture.logs.slice(logStart));
      const cpuAfter = childrenCpuMs();
      if (cpuBefore !== null && cpuAfter !== null) applyCpu.push((cpuAfter - cpuBefore) / callsApply);
      if (outcome.status !== 'applied') throw new Error(`apply ended ${outcome.status}: ${outcome.message}`);
      verified &&= outcome.verified && fixture.cluster.writes().length === count;
      applied = fleetResources(controlPlaneOf(fixture.cluster));
    } finally {
      await fixture.close();
    }

    // The naive tool writes the same values, without the test preconditions.
    const patches = plan.objects.map((object) => ({ namespace: object.namespace, name: object.name, ops: object.ops.filter((op) => op.op !== 'test') }));
    const sequential = await onFreshPlane(fleet.objects, latencyMs, async (cluster, kubectl) => {
      const cpuBefore = childrenCpuMs();
      const started = performance.now();
      for (const { namespace, name, ops } of patches) await kubectl(['patch', 'deployments.apps', name, '-n', namespace, '--type=json', '-p', JSON.stringify(ops)]);
      const elapsed = performance.now() - started;
      const cpuAfter = childrenCpuMs();
      if (cpuBefore !== null && cpuAfter !== null) baselineCpu.push((cpuAfter - cpuBefore) / patches.length);
      if (cluster.writes().length !== patches.length) throw new Error(`the sequential baseline wrote ${cluster.writes().length} of ${patches.length} objects`);
      verified &&= sameResources(applied, fleetResources(cluster), 'the sequential baseline');
      return elapsed;
    });
    baselineSamples.push(sequential);

    const serverSideApply = await onFreshPlane(fleet.objects, latencyMs, async (cluster, kubectl, dir) => {
      const manifests = path.join(dir, 'right-sizing.yaml');
      writeFileSync(manifests, plan.objects.map((object) => stringify(partialManifest(object))).join('---\n'));
      const started = performance.now();
      // Its own field manager (the usual advice for a tool's apply), and --force-conflicts: the resources fields belong to
      // whoever created the Deployments, so without it every object is a conflict and nothing is written.
      await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=right-sizing', '-f', manifests]);
      const elapsed = performance.now() - started;
      serverSideApplyWrites = cluster.writes().length;
      serverSideApplyWriteKinds = writeKinds(cluster.writes());
      verified &&= sameResources(applied, fleetResources(cluster), 'the server-side apply baseline');
      return elapsed;
    });
    serverSideApplySamples.push(serverSideApply);
    // A run takes minutes (three planes started and seeded): say where it stands.
    options.progress?.(`  run ${index + 1}/${runs}: proposal ${Math.round(proposeSamples.at(-1) ?? 0)} ms, apply ${Math.round(applySamples.at(-1) ?? 0)} ms, sequential patch ${Math.round(sequential)} ms, server-side apply ${Math.round(serverSideApply)} ms`);
  }
  const appendMs = await auditAppendMs();
  const stepMedian = (key: keyof ApplySteps) => round(median(stepSamples.map((steps) => steps[key])), 0);
  const proposeMs = median(proposeSamples);
  const applyMs = median(applySamples);
  const baselineMs = median(baselineSamples);
  const serverSideApplyMs = median(serverSideApplySamples);
  return {
    objects: count,
    latency_ms: latencyMs,
    concurrency,
    runs,
    propose_ms: round(proposeMs, 0),
    apply_ms: round(applyMs, 0),
    baseline_sequential_patch_ms: round(baselineMs, 0),
    baseline_server_side_apply_ms: round(serverSideApplyMs, 0),
    server_side_apply_writes: serverSideApplyWrites,
    server_side_apply_write_kinds: serverSideApplyWriteKinds,
    speedup_vs_sequential: round(baselineMs / applyMs),
    ratio_vs_server_side_apply: round(applyMs / serverSideApplyMs),
    propose_vs_sequential: round(proposeMs / baselineMs),
    kubectl_calls_propose: callsPropose,
    kubectl_calls_apply: callsApply,
    kubectl_cpu_ms_per_process_apply: applyCpu.length > 0 ? round(median(applyCpu), 1) : null,
    kubectl_cpu_ms_per_process_baseline: baselineCpu.length > 0 ? round(median(baselineCpu), 1) : null,
    cpu_bound_speedup_limit: applyCpu.length > 0 && callsApply > 0 ? round(baselineMs / ((median(applyCpu) * callsApply) / cpus().length)) : null,
    steps: { approve: stepMedian('approve'), channel_reread_snapshot: stepMedian('channel_reread_snapshot'), writes: stepMedian('writes'), snapshot_update_verify: stepMedian('snapshot_update_verify'), close: stepMedian('close') },
    audit_append_ms: round(appendMs, 2),
    peak_rss_mb: peaks.length > 0 ? round(Math.max(...peaks), 0) : null,
    rss_before_apply_mb: round(median(rssBefore), 0),
    verified,
  };
}

function controlPlaneOf(cluster: TestCluster): ControlPlane {
  const plane = asControlPlane(cluster);
  if (!plane) throw new Error('apply_throughput runs on the real control plane, but the light API test server started');
  return plane;
}

/**
 * A fresh control plane seeded with `objects`, the same latency in its proxy, once the seed's rollouts are done;
 * `measure` gets it, the real kubectl on the product's kubeconfig (its discovery cache warmed first, as a person's
 * is: the apply's proposal warmed ours) and a folder for files; the plane is stopped after.
 */
async function onFreshPlane<T>(objects: object[], latencyMs: number, measure: (cluster: ControlPlane, kubectl: (args: string[]) => Promise<unknown>, dir: string) => Promise<T>): Promise<T> {
  const cluster = controlPlaneOf(await startTestCluster({ seed: objects, latencyMs, light: false }));
  const dir = mkdtempSync(path.join(tmpdir(), 'krr-bench-baseline-'));
  try {
    await quietWithoutClientSideApplyHistory(cluster);
    const { execa } = await import('execa');
    const kubectl = (args: string[]) => execa('kubectl', ['--kubeconfig', cluster.kubeconfigPath, '--context', cluster.context, '--cache-dir', path.join(dir, 'kube-cache'), ...args]);
    await kubectl(['api-resources', '-o', 'name']);
    cluster.clearMutations();
    return await measure(cluster, kubectl, dir);
  } finally {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface DeploymentList {
  items: Array<{ metadata: { namespace: string; name: string; generation: number }; spec: { replicas: number; template: { spec: { containers: Array<{ name: string; resources?: unknown }> } } }; status?: { observedGeneration?: number; readyReplicas?: number; updatedReplicas?: number } }>;
}

function deployments(cluster: ControlPlane): DeploymentList['items'] {
  return (JSON.parse(cluster.harnessKubectl(['get', 'deployments.apps', '--all-namespaces', '-o', 'json'])) as DeploymentList).items;
}

/** Waits until every Deployment's rollout is done: the seed's pods scheduled and ready, so the clock starts on a quiet cluster. */
async function waitForRollouts(cluster: ControlPlane, timeoutMs = 240_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const busy = deployments(cluster).filter((d) => d.status?.observedGeneration !== d.metadata.generation || (d.status?.updatedReplicas ?? 0) !== d.spec.replicas || (d.status?.readyReplicas ?? 0) !== d.spec.replicas);
    if (busy.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${busy.length} Deployments still rolling out after ${timeoutMs / 1000} s (e.g. ${busy[0]?.metadata.namespace}/${busy[0]?.metadata.name})`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * The harness seeds with client-side `kubectl apply`, which leaves a last-applied-configuration annotation; on such an
 * object `kubectl apply --server-side` also migrates the field ownership and re-applies the annotation: three round
 * trips per object instead of one (seen in the audit log). Removed on every plane, ours too, before the clock starts:
 * the server-side apply baseline gets its best case, an object that never saw a client-side apply.
 */
async function quietWithoutClientSideApplyHistory(cluster: ControlPlane): Promise<void> {
  await waitForRollouts(cluster);
  cluster.harnessKubectl(['annotate', 'deployments.apps', '--all', '--all-namespaces', 'kubectl.kubernetes.io/last-applied-configuration-']);
}

/** Every Deployment's container resources, by namespace/name: what the apply and the baselines must all leave the same. */
function fleetResources(cluster: ControlPlane): Map<string, string> {
  return new Map(deployments(cluster).map((d) => [`${d.metadata.namespace}/${d.metadata.name}`, JSON.stringify(d.spec.template.spec.containers.map((c) => [c.name, c.resources ?? null]))]));
}

function sameResources(expected: Map<string, string>, actual: Map<string, string>, who: string): boolean {
  for (const [key, resources] of expected) {
    if (actual.get(key) !== resources) throw new Error(`${who} left ${key} with ${actual.get(key)}, our apply with ${resources}`);
  }
  return actual.size === expected.size;
}

function writeKinds(writes: ReadonlyArray<{ method: string; path: string }>): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const write of writes) {
    const url = new URL(write.path, 'https://api.invalid');
    const where = url.pathname.replace(/\/namespaces\/[^/]+/, '/namespaces/*').replace(/\/deployments\/[^/]+/, '/deployments/*');
    const key = `${write.method} ${where} fieldManager=${url.searchParams.get('fieldManager') ?? '-'}`;
    kinds[key] = (kinds[key] ?? 0) + 1;
  }
  return kinds;
}

/** The object's change as a partial manifest for server-side apply: identity plus only the values that change. */
export function partialManifest(object: ObjectChange): object {
  const containers = new Map<string, Record<string, Record<string, string>>>();
  for (const change of object.changes) {
    // A partial manifest cannot remove a field another manager owns; the bench's fleet never asks for it.
    if (change.to === null) throw new Error(`${object.namespace}/${object.name}: removing ${change.allocation}.${change.resource} has no partial-manifest form`);
    const resources = containers.get(change.container) ?? {};
    resources[change.allocation] = { ...resources[change.allocation], [change.resource]: change.to };
    containers.set(change.container, resources);
  }
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata: { namespace: object.namespace, name: object.name },
    spec: { template: { spec: { containers: [...containers].map(([name, resources]) => ({ name, resources })) } } },
  };
}

function countKubectl(lines: readonly string[]): number {
  return lines.filter((line) => line.startsWith('kubectl ')).length;
}

export interface ProposeScaleFigures {
  workloads: number;
  latency_ms: number;
  concurrency: number;
  /** session.propose: reads, policies, server-side dry-runs, HPA lists; one run. */
  ms: number;
  objects: number;
  blocked: number;
  progress_reports: number;
  /** The longest time without a progress report, from the call to its return. */
  max_progress_gap_ms: number;
  /** The count reported at the end of that longest gap (-1: it ran from the last report to the call's return). */
  max_gap_ends_at: number;
  /** From the last progress report to the proposal's return (digest, plan storage). */
  end_after_last_report_ms: number;
  kubectl_processes: number;
}

/** One proposal over `count` generated Deployments (20 ms latency per request), with its progress reports timed. */
export async function benchmarkProposeScale(options: { count?: number; latencyMs?: number; concurrency?: number } = {}): Promise<ProposeScaleFigures> {
  const count = options.count ?? 2500;
  const latencyMs = options.latencyMs ?? 20;
  const fleet = generateDeploymentFleet({ count, seed: 25, cluster: 'prod-eu-1', namespaces: 25 });
  const fixture = await startSessionFixture({ cluster: { seed: fleet.objects, latencyMs, light: true }, settings: options.concurrency ? { applyConcurrency: options.concurrency } : {} });
  try {
    const reportFile = path.join(fixture.stateDir, 'fleet-report.json');
    writeFileSync(reportFile, fleet.reportText);
    const summary = await fixture.session.loadReport(reportFile, requester);
    const reports: number[] = [];
    const counts: number[] = [];
    let last = { done: 0, total: 0 };
    const logStart = fixture.logs.length;
    const started = performance.now();
    const plan = await fixture.session.propose({ reportId: summary.reportId, workloads: fleet.refs }, requester, undefined, (progress) => {
      reports.push(performance.now());
      counts.push(progress.done);
      last = progress;
    });
    const ms = performance.now() - started;
    if (last.done !== count || last.total !== count) throw new Error(`the last progress report was ${last.done} / ${last.total}, expected ${count} / ${count}`);
    // The call's start, every report, and its return: a silent stretch at either end counts too.
    const times = [started, ...reports, started + ms];
    const gaps = times.slice(1).map((time, index) => time - (times[index] as number));
    return {
      workloads: count,
      latency_ms: latencyMs,
      concurrency: proposeConcurrency(fixture.settings),
      ms: round(ms, 0),
      objects: plan.objects.length,
      blocked: plan.blocked.length,
      progress_reports: reports.length,
      max_progress_gap_ms: round(Math.max(...gaps), 0),
      // -1: the longest stretch is the last one, from the last report to the call's return.
      max_gap_ends_at: counts[gaps.indexOf(Math.max(...gaps))] ?? -1,
      end_after_last_report_ms: round(ms - ((reports.at(-1) ?? started) - started), 0),
      kubectl_processes: countKubectl(fixture.logs.slice(logStart)),
    };
  } finally {
    await fixture.close();
  }
}
