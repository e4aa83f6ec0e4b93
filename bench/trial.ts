// trial: one trial over 100 running pods of one Deployment on the real control plane (kube-apiserver 1.33 with
// pods/resize; the node simulator resizes like a 1.33 kubelet, 500 ms from allocation to applied). Timed from the
// approved apply to every pod running at the trial size (the kubelet's containerStatuses[].resources, read through the
// API), then from the revert to every pod running at the template's size again: `ms` is the sum.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Pod } from '../src/core/kube/pod';
import { startSessionFixture } from '../test/support/session-fixture';
import { singleWorkloadReport } from '../test/support/single-workload-report';
import { asControlPlane } from '../test/support/test-cluster';
import { round } from './stats';

const requester = { type: 'human' as const, via: 'bench' };
const namespace = 'trial-bench';
const name = 'web';

export interface TrialFigures {
  pods: number;
  /** Proposal: the workload, its pods, one server-side dry-run per pod. */
  propose_ms: number;
  /** Approved apply until every pod's kubelet reports the trial size. */
  resize_ms: number;
  /** Revert until every pod's kubelet reports the template's size. */
  revert_ms: number;
  ms: number;
  /** Pods whose running resources were read back through the API at each end (both must equal `pods`). */
  verified_trial_size: number;
  verified_template_size: number;
}

export async function benchmarkTrial(options: { pods?: number; log?: (line: string) => void } = {}): Promise<TrialFigures> {
  const pods = options.pods ?? 100;
  const seed = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels: { app: name } },
      spec: {
        replicas: pods,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'example/web:1', resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '100m', memory: '128Mi' } } }] } },
      },
    },
  ];
  const fixture = await startSessionFixture({ cluster: { seed, light: false }, settings: { trial: { maxPods: Math.max(pods, 10), windowSeconds: 1800, pollSeconds: 10 }, applyConcurrency: 16 } });
  try {
    const plane = asControlPlane(fixture.cluster);
    if (!plane) throw new Error('the trial bench runs on the real control plane, but the light API test server started');
    const list = (): Pod[] => (JSON.parse(plane.harnessKubectl(['get', 'pods', '-n', namespace, '-l', `app=${name}`, '-o', 'json'])) as { items: Pod[] }).items;
    const ready = (pod: Pod) => pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false;
    options.log?.(`  waiting for ${pods} pods to run…`);
    await until(() => list().filter(ready).length >= pods, 300_000, 'the pods to run');
    const reportFile = path.join(fixture.stateDir, 'trial-bench-report.json');
    const report = singleWorkloadReport({ namespace, name, container: 'app', allocations: { requests: { cpu: 0.05, memory: 67108864 }, limits: { cpu: 0.1, memory: 134217728 } }, recommended: { requests: { cpu: 0.04, memory: 50331648 }, limits: { cpu: 0.1, memory: 134217728 } } });
    writeFileSync(reportFile, JSON.stringify(report));
    const reportId = (await fixture.session.loadReport(reportFile, requester)).reportId;
    const proposeStart = performance.now();
    const plan = await fixture.session.proposeTrial({ reportId, workload: { namespace, kind: 'Deployment', name }, pods, windowSeconds: 1800 }, requester);
    const proposeMs = performance.now() - proposeStart;
    if (plan.pods.length !== pods) throw new Error(`the trial took ${plan.pods.length} pods, not ${pods}`);
    const names = new Set(plan.pods.map((pod) => pod.name));
    const runsWith = (pod: Pod, memory: string) => pod.status?.containerStatuses?.[0]?.resources?.requests?.memory === memory;
    const countAt = (memory: string) => list().filter((pod) => names.has(pod.metadata.name) && pod.spec.containers[0]?.resources?.requests?.memory === memory && runsWith(pod, memory)).length;
    fixture.human.answer = 'approve';
    const start = performance.now();
    const outcome = await fixture.session.apply(plan.id, requester);
    if (outcome.status !== 'applied') throw new Error(`the trial did not start: ${outcome.message}`);
    await until(() => countAt('48Mi') === pods, 120_000, 'every pod to run at the trial size', 200);
    const resizeMs = performance.now() - start;
    const verifiedTrial = countAt('48Mi');
    const revertStart = performance.now();
    const reverted = await fixture.session.revertTrial(plan.id, requester);
    const failed = reverted.revert?.pods.filter((pod) => pod.result !== 'reverted') ?? [];
    if (failed.length > 0) throw new Error(`${failed.length} pods were not reverted: ${JSON.stringify(failed.slice(0, 3))}`);
    await until(() => countAt('64Mi') === pods, 120_000, 'every pod to run at the template size', 200);
    const revertMs = performance.now() - revertStart;
    return { pods, propose_ms: round(proposeMs, 0), resize_ms: round(resizeMs, 0), revert_ms: round(revertMs, 0), ms: round(resizeMs + revertMs, 0), verified_trial_size: verifiedTrial, verified_template_size: countAt('64Mi') };
  } finally {
    await fixture.close();
  }
}

async function until(check: () => boolean, timeoutMs: number, what: string, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
