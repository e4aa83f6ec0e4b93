// Trials that fail for real and pass with numbers: a Deployment whose memory resizePolicy restarts the container (so
// Kubernetes 1.33 lets a trial lower its memory limit in place), running on the real control plane, with the node
// simulator's usage (cluster.nodes.usage) and a real Prometheus scraping the simulated kubelet and kube-state-metrics.
// A limit below the container's usage gets it OOM-killed by the simulated kubelet: the watch fails the trial and
// reverts the pod, which runs again. A limit above it passes, with the memory peak Prometheus recorded in the line.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Pod } from '../../src/core/kube/pod';
import type { TrialPlan } from '../../src/core/trial/model';
import { startPrometheus, type MetricsStore } from '../support/prometheus';
import { human, startSessionFixture, type SessionFixture } from '../support/session-fixture';
import { singleWorkloadReport } from '../support/single-workload-report';
import { asControlPlane } from '../support/test-cluster';
import { notYetTriable } from '../support/trial-ready';

const Mi = 2 ** 20;
const namespace = 'trial-lab';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const seed = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace, labels: { app: 'api' } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: { labels: { app: 'api' } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'example/api:1',
              resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '200m', memory: '256Mi' } },
              resizePolicy: [{ resourceName: 'cpu', restartPolicy: 'NotRequired' }, { resourceName: 'memory', restartPolicy: 'RestartContainer' }],
            },
          ],
        },
      },
    },
  },
  {
    // Pinned to a node whose kubelet cannot resize in place (like 1.32's, where the feature was alpha and off).
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'legacy', namespace, labels: { app: 'legacy' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'legacy' } },
      template: { metadata: { labels: { app: 'legacy' } }, spec: { nodeName: 'sim-trial-legacy', containers: [{ name: 'app', image: 'example/legacy:1', resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '200m', memory: '256Mi' } } }] } },
    },
  },
];

describe('trials with usage: OOM kills and Prometheus (real control plane, node simulator usage, real Prometheus)', function () {
  this.timeout(240_000);
  let f: SessionFixture;
  let prometheus: MetricsStore;
  let offset = 0;

  before(async () => {
    f = await startSessionFixture({ cluster: { seed, light: false }, settings: { trial: { windowSeconds: 20, pollSeconds: 1 } }, session: { now: () => new Date(Date.now() + offset), secrets: { prometheusAuthHeader: async () => prometheus?.authHeader } } });
    const plane = asControlPlane(f.cluster);
    assert.ok(plane, 'the real control plane');
    await plane.nodes.add('sim-trial-legacy', { inPlaceResize: false });
    prometheus = await startPrometheus({ scrape: plane.nodes.metricsTargets(), scrapeIntervalSeconds: 1 });
    f.settings.prometheusUrl = prometheus.url;
  });
  after(async () => {
    await prometheus?.close();
    await f?.close();
  });
  afterEach(async () => {
    for (const trial of await f.session.listTrials()) if (trial.state === 'running' || trial.state === 'overdue') await f.session.revertTrial(trial.id, human);
    offset = 0;
  });

  const pod = (name: string) => f.cluster.getObject('v1', 'Pod', namespace, name) as unknown as Pod | undefined;

  async function trialOf(memory: number, name = 'api'): Promise<TrialPlan> {
    const file = path.join(f.stateDir, `report-${name}-${memory}.json`);
    writeFileSync(file, JSON.stringify(singleWorkloadReport({ namespace, name, container: 'app', allocations: { requests: { cpu: 0.1, memory: 256 * Mi }, limits: { cpu: 0.2, memory: 256 * Mi } }, recommended: { requests: { cpu: '?', memory }, limits: { cpu: '?', memory } } })));
    const reportId = (await f.session.loadReport(file, human)).reportId;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await f.session.proposeTrial({ reportId, workload: { namespace, kind: 'Deployment', name } }, human);
      } catch (error) {
        if (attempt > 120 || !notYetTriable.test(String(error))) throw error;
        await sleep(500);
      }
    }
  }

  /** Checks every second (as the extension's watch does) until the trial ends or `seconds` pass. */
  async function watch(id: string, seconds: number) {
    for (let i = 0; i < seconds; i += 1) {
      await f.session.checkTrials();
      const record = await f.session.getTrial(id);
      if (record.state !== 'running') return record;
      await sleep(1000);
    }
    return f.session.getTrial(id);
  }

  it('a workload whose pods run on a node without in-place resize gets a clear refusal that points to the ordinary plan', async () => {
    await assert.rejects(trialOf(200 * Mi, 'legacy'), (error: Error) => {
      assert.match(error.message, /No trial for Deployment trial-lab\/legacy: no pod of Deployment trial-lab\/legacy runs on a node that resizes pods in place \(its kubelet reports no container resources: Kubernetes before 1\.33, or the feature is off\); use the ordinary plan/);
      return true;
    });
  });

  it('a memory limit below the usage: the simulated kubelet OOM-kills the trial pod, the trial fails and the pod is reverted and runs again', async () => {
    asControlPlane(f.cluster)?.nodes.usage(namespace, 'api', 'app', { memory: '200Mi', cpu: '50m' });
    const plan = await trialOf(150 * Mi);
    const [trialPod] = plan.pods;
    assert.ok(trialPod);
    assert.deepEqual(trialPod.containers[0]?.restartsOn, ['memory']);
    assert.deepEqual(trialPod.containers[0]?.changes.map((change) => `${change.allocation}.${change.resource} ${change.to}`), ['requests.memory 150Mi', 'limits.memory 150Mi']);
    f.human.answer = 'approve';
    assert.equal((await f.session.apply(plan.id, human)).status, 'applied');
    const ended = await watch(plan.id, 30);
    assert.equal(ended.state, 'failed', JSON.stringify(ended.statuses));
    assert.match(ended.outcome?.reason ?? '', new RegExp(`pod ${trialPod.name} was OOM-killed (once|\\d+ times) at the trial's memory limit \\(app: OOMKilled`));
    assert.deepEqual(ended.revert?.pods.map((entry) => entry.result), ['reverted']);
    const back = pod(trialPod.name);
    assert.equal(back?.spec.containers[0]?.resources?.limits?.memory, '256Mi');
    // Back at 256Mi the container stays up: the kubelet reports the template's size and the pod is ready again.
    for (let i = 0; i < 40; i += 1) {
      const now = pod(trialPod.name);
      if (now?.status?.containerStatuses?.[0]?.resources?.limits?.memory === '256Mi' && now.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return;
      await sleep(500);
    }
    assert.fail(`pod ${trialPod.name} did not run again at 256Mi: ${JSON.stringify(pod(trialPod.name)?.status)}`);
  });

  it('a memory limit above the usage passes, with the peak Prometheus recorded in the line the persist plan carries', async () => {
    asControlPlane(f.cluster)?.nodes.usage(namespace, 'api', 'app', { memory: '200Mi', cpu: '50m' });
    const plan = await trialOf(230 * Mi);
    f.human.answer = 'approve';
    assert.equal((await f.session.apply(plan.id, human)).status, 'applied');
    // Watched through the window (the session's clock moves only as real time does here: 20 s).
    const ended = await watch(plan.id, 40);
    assert.equal(ended.state, 'passed', `${ended.outcome?.reason} ${ended.usageNote ?? ''}`);
    assert.equal(ended.peakMemory?.app, 200 * Mi, JSON.stringify(ended.peakMemory));
    assert.match(ended.outcome?.reason ?? '', /^ran 20 s on 1 pod at app request 230Mi, app limit 230Mi: app peak 200Mi, app throttled 0%, 0 OOM kills, 0 restarts$/);
    const persist = await f.session.persistTrial(plan.id, human);
    assert.match(f.session.approvalText(persist, human).detail, /Tried first \(trial plan-[0-9a-f]{12}\): ran 20 s on 1 pod at app request 230Mi, app limit 230Mi: app peak 200Mi/);
  });
});
