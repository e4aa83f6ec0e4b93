// apply_throughput: 200 Deployments in the Kubernetes API test server (20 ms injected latency per request),
// through the real kubectl. Proposal (reads + server-side dry-runs) and approval→verified completion
// (re-read, snapshot, writes with test ops, verification) against a naive sequential `kubectl patch` per
// object on a fresh cluster, measured side by side in the same run.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startTestCluster } from '../test/support/kube-api-server';
import { startSessionFixture } from '../test/support/session-fixture';
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
  /** baseline / apply: how much faster the safe apply is than the naive loop. */
  speedup_vs_sequential: number;
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
  verified: boolean;
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

export async function benchmarkApply(options: { objects?: number; latencyMs?: number; runs?: number; concurrency?: number } = {}): Promise<ApplyFigures> {
  const count = options.objects ?? 200;
  const latencyMs = options.latencyMs ?? 20;
  const runs = options.runs ?? 3;
  const fleet = generateDeploymentFleet({ count, seed: 11, cluster: 'prod-eu-1' });
  const proposeSamples: number[] = [];
  const applySamples: number[] = [];
  const baselineSamples: number[] = [];
  let callsPropose = 0;
  let callsApply = 0;
  const applyCpu: number[] = [];
  const baselineCpu: number[] = [];
  let verified = true;
  let concurrency = 0;
  for (let index = 0; index < runs; index += 1) {
    const fixture = await startSessionFixture({ cluster: { seed: fleet.objects, latencyMs }, settings: options.concurrency ? { applyConcurrency: options.concurrency } : {} });
    let replaceOps: Array<{ ref: (typeof fleet.refs)[number]; ops: unknown[] }>;
    try {
      concurrency = fixture.settings.applyConcurrency;
      fixture.human.answer = 'approve';
      const reportFile = path.join(fixture.stateDir, 'fleet-report.json');
      writeFileSync(reportFile, fleet.reportText);
      const summary = await fixture.session.loadReport(reportFile, requester);

      let logStart = fixture.logs.length;
      let started = performance.now();
      const plan = await fixture.session.propose({ reportId: summary.reportId, workloads: fleet.refs }, requester);
      proposeSamples.push(performance.now() - started);
      callsPropose = countKubectl(fixture.logs.slice(logStart));
      if (plan.objects.length !== count) throw new Error(`the plan has ${plan.objects.length} objects, expected ${count}; blocked: ${JSON.stringify(plan.blocked.slice(0, 3))}`);

      logStart = fixture.logs.length;
      const cpuBefore = childrenCpuMs();
      started = performance.now();
      const outcome = await fixture.session.apply(plan.id, requester);
      applySamples.push(performance.now() - started);
      callsApply = countKubectl(fixture.logs.slice(logStart));
      const cpuAfter = childrenCpuMs();
      if (cpuBefore !== null && cpuAfter !== null) applyCpu.push((cpuAfter - cpuBefore) / callsApply);
      if (outcome.status !== 'applied') throw new Error(`apply ended ${outcome.status}: ${outcome.message}`);
      verified &&= outcome.verified && fixture.cluster.writes().length === count;
      // The naive tool writes the same values, without the test preconditions.
      replaceOps = plan.objects.map((object) => ({ ref: { namespace: object.namespace, kind: 'Deployment' as const, name: object.name }, ops: object.ops.filter((op) => op.op !== 'test') }));
    } finally {
      await fixture.close();
    }
    const cpuBefore = childrenCpuMs();
    baselineSamples.push(await sequentialPatch(fleet.objects, replaceOps, latencyMs));
    const cpuAfter = childrenCpuMs();
    if (cpuBefore !== null && cpuAfter !== null) baselineCpu.push((cpuAfter - cpuBefore) / replaceOps.length);
  }
  const proposeMs = median(proposeSamples);
  const applyMs = median(applySamples);
  const baselineMs = median(baselineSamples);
  return {
    objects: count,
    latency_ms: latencyMs,
    concurrency,
    runs,
    propose_ms: round(proposeMs, 0),
    apply_ms: round(applyMs, 0),
    baseline_sequential_patch_ms: round(baselineMs, 0),
    speedup_vs_sequential: round(baselineMs / applyMs),
    propose_vs_sequential: round(proposeMs / baselineMs),
    kubectl_calls_propose: callsPropose,
    kubectl_calls_apply: callsApply,
    kubectl_cpu_ms_per_process_apply: applyCpu.length > 0 ? round(median(applyCpu), 1) : null,
    kubectl_cpu_ms_per_process_baseline: baselineCpu.length > 0 ? round(median(baselineCpu), 1) : null,
    cpu_bound_speedup_limit: applyCpu.length > 0 ? round(baselineMs / ((median(applyCpu) * callsApply) / cpus().length)) : null,
    verified,
  };
}

/** What a naive tool does: one `kubectl patch` after another, no re-read, no snapshot, no verification. */
async function sequentialPatch(objects: object[], patches: Array<{ ref: { namespace: string; name: string }; ops: unknown[] }>, latencyMs: number): Promise<number> {
  const cluster = await startTestCluster({ seed: objects, latencyMs });
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'krr-bench-kube-cache-'));
  try {
    const { execa } = await import('execa');
    const started = performance.now();
    for (const { ref, ops } of patches) {
      await execa('kubectl', ['--kubeconfig', cluster.kubeconfigPath, '--context', cluster.context, '--cache-dir', cacheDir, 'patch', 'deployments.apps', ref.name, '-n', ref.namespace, '--type=json', '-p', JSON.stringify(ops)]);
    }
    const elapsed = performance.now() - started;
    if (cluster.writes().length !== patches.length) throw new Error(`baseline wrote ${cluster.writes().length} of ${patches.length} objects`);
    return elapsed;
  } finally {
    await cluster.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

function countKubectl(lines: readonly string[]): number {
  return lines.filter((line) => line.startsWith('kubectl ')).length;
}
