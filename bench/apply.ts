// apply_throughput: 200 Deployments in the Kubernetes API test server (20 ms injected latency per request),
// through the real kubectl. Proposal (reads + server-side dry-runs) and approval→verified completion
// (re-read, snapshot, writes with test ops, verification) against a naive sequential `kubectl patch` per
// object on a fresh cluster, measured side by side in the same run.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  verified: boolean;
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
      started = performance.now();
      const outcome = await fixture.session.apply(plan.id, requester);
      applySamples.push(performance.now() - started);
      callsApply = countKubectl(fixture.logs.slice(logStart));
      if (outcome.status !== 'applied') throw new Error(`apply ended ${outcome.status}: ${outcome.message}`);
      verified &&= outcome.verified && fixture.cluster.writes().length === count;
      // The naive tool writes the same values, without the test preconditions.
      replaceOps = plan.objects.map((object) => ({ ref: { namespace: object.namespace, kind: 'Deployment' as const, name: object.name }, ops: object.ops.filter((op) => op.op !== 'test') }));
    } finally {
      await fixture.close();
    }
    baselineSamples.push(await sequentialPatch(fleet.objects, replaceOps, latencyMs));
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
