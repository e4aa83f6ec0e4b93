// Simulated usage on the real control plane: a container's demand set through `cluster.nodes.usage`, OOM kills when
// the memory limit it runs with is below that demand (after an in-place resize with the real kubectl, or on a node
// without in-place resize, the spec's limit), CrashLoopBackOff between repeated kills, recovery when the limit goes
// back up; and a real Prometheus scraping the simulated kubelet's cAdvisor and kube-state-metrics series.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { namespaceQueries } from '../../src/core/evidence/queries';
import { startControlPlane, type ControlPlane } from '../support/control-plane';
import { goDuration, inBackOffSince, nextBackOff, stepContainer, withReadiness, type ContainerContext, type LiveContainerStatus } from '../support/control-plane/oom-kill';
import { get, queryVector, startPrometheus, type MetricsStore } from '../support/prometheus';

const run = promisify(execFile);
const namespace = 'usage-lab';
const node = 'sim-usage';
const legacyNode = 'sim-usage-legacy';
const mi = 1024 * 1024;

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface Terminated {
  exitCode: number;
  reason?: string;
  startedAt?: string;
  finishedAt?: string;
  containerID?: string;
}
interface ContainerStatus {
  name: string;
  ready: boolean;
  started?: boolean;
  restartCount: number;
  containerID?: string;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  state?: { running?: { startedAt: string }; waiting?: { reason?: string; message?: string }; terminated?: Terminated };
  lastState?: { terminated?: Terminated };
}
interface PodView {
  metadata: { name: string; uid: string };
  status?: { phase?: string; conditions?: Condition[]; containerStatuses?: ContainerStatus[] };
}

describe('simulated usage: OOM kills, crash-loop back-off and live metrics (node simulator, real control plane)', function () {
  this.timeout(180_000);
  let cluster: ControlPlane;
  let cacheDir: string;

  const kubectl = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run('kubectl', ['--kubeconfig', cluster.kubeconfigPath, '--cache-dir', cacheDir, '-n', namespace, ...args], { timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failure = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof failure.code === 'number' ? failure.code : 1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
    }
  };
  const resize = (pod: string, resources: { requests?: Record<string, string>; limits?: Record<string, string> }) =>
    kubectl(['patch', 'pod', pod, '--subresource', 'resize', '--type=strategic', '-p', JSON.stringify({ spec: { containers: [{ name: 'app', resources }] } })]);
  const pod = (name: string): PodView => {
    const found = cluster.getObject('v1', 'Pod', namespace, name);
    assert.ok(found, `pod ${name} exists`);
    return found as unknown as PodView;
  };
  const app = (view: PodView): ContainerStatus => {
    const status = view.status?.containerStatuses?.find((entry) => entry.name === 'app');
    assert.ok(status, 'container app has a status');
    return status;
  };
  const condition = (view: PodView, type: string): Condition | undefined => view.status?.conditions?.find((entry) => entry.type === type);
  const ready = (view: PodView): boolean => condition(view, 'Ready')?.status === 'True';
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const waitFor = async <T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const value = await probe();
        if (value !== undefined) return value;
      } catch (error) {
        last = error;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
      await sleep(100);
    }
  };
  const limits = { cpu: '500m', memory: '512Mi' };
  /** A one-container pod on `onNode`; memory's resizePolicy RestartContainer, the only way 1.33 lets a memory limit go down. */
  const createPod = async (name: string, onNode = node, podLimits: Record<string, string> = limits): Promise<PodView> => {
    const manifest = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace },
      spec: {
        nodeName: onNode,
        terminationGracePeriodSeconds: 0,
        containers: [{ name: 'app', image: 'registry.example/app:1', resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: podLimits }, resizePolicy: [{ resourceName: 'memory', restartPolicy: 'RestartContainer' }] }],
      },
    };
    cluster.harnessKubectl(['apply', '-f', '-'], JSON.stringify(manifest));
    return waitFor(`pod ${name} running`, () => {
      const view = pod(name);
      return ready(view) ? view : undefined;
    });
  };
  const crashLooping = (name: string) =>
    waitFor(`${name} in CrashLoopBackOff`, () => {
      const view = pod(name);
      return app(view).state?.waiting?.reason === 'CrashLoopBackOff' ? view : undefined;
    });

  before(async () => {
    cacheDir = mkdtempSync(path.join(tmpdir(), 'kubectl-cache-'));
    cluster = await startControlPlane();
    cluster.harnessKubectl(['create', 'namespace', namespace]);
    await waitFor('service account default', () => (cluster.harnessKubectl(['get', 'serviceaccount', 'default', '-n', namespace]) ? true : undefined));
    await cluster.nodes.add(node);
    await cluster.nodes.add(legacyNode, { inPlaceResize: false });
  });
  afterEach(() => {
    cluster.harnessKubectl(['delete', 'pods,deployments', '--all', '-n', namespace, '--wait=true']);
  });
  after(async () => {
    try {
      cluster?.harnessKubectl(['delete', 'namespace', namespace, '--wait=false']);
    } finally {
      await cluster?.close();
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('OOM-kills a container resized below its usage (restart, then CrashLoopBackOff, not ready) and runs it again once the limit is back', async () => {
    cluster.nodes.crashLoopBackOff({ initialMs: 1_000, maxMs: 4_000 });
    cluster.nodes.oomKillDelayMs(300);
    const started = await createPod('web');
    cluster.nodes.usage(namespace, 'web', 'app', { memory: '300Mi', cpu: '200m' });
    await sleep(1_500);
    assert.equal(app(pod('web')).restartCount, 0, '300Mi under a 512Mi limit: never killed');
    assert.ok(ready(pod('web')));

    const lowered = await resize('web', { limits: { memory: '256Mi' } });
    assert.equal(lowered.code, 0, lowered.stderr);
    const looping = await crashLooping('web');
    const status = app(looping);
    // The resize restarted it once (RestartContainer), then the first OOM kill restarted it at once, the second waits.
    assert.ok(status.restartCount >= 2, `restartCount ${status.restartCount}`);
    assert.equal(status.ready, false);
    assert.equal(status.started, false);
    assert.match(status.state?.waiting?.message ?? '', new RegExp(`^back-off \\d+(\\.\\d+)?s restarting failed container=app pod=web_${namespace}\\(${started.metadata.uid}\\)$`));
    const killed = status.lastState?.terminated;
    assert.equal(killed?.exitCode, 137);
    assert.equal(killed?.reason, 'OOMKilled');
    assert.equal(killed?.containerID, status.containerID, 'while it waits, the status names the container that died');
    assert.ok(killed?.startedAt && killed.finishedAt && Date.parse(killed.finishedAt) >= Date.parse(killed.startedAt));
    assert.notEqual(status.containerID, app(started).containerID);
    assert.deepEqual(status.resources?.limits, { cpu: '500m', memory: '256Mi' }, 'a 1.33 kubelet reports the limit it applied');
    assert.equal(looping.status?.phase, 'Running', 'restartPolicy Always: the pod keeps running while the container crash-loops');
    for (const type of ['Ready', 'ContainersReady']) {
      const entry = condition(looping, type);
      assert.deepEqual([entry?.status, entry?.reason, entry?.message], ['False', 'ContainersNotReady', 'containers with unready status: [app]'], type);
    }

    // The back-off passes, the container runs again and is killed again: the count keeps growing, the delay doubles (1 s, 2 s, 4 s).
    const longest = await waitFor('a 4 s back-off', () => {
      const view = pod('web');
      return app(view).state?.waiting?.message?.startsWith('back-off 4s ') ? view : undefined;
    });
    assert.ok(app(longest).restartCount > status.restartCount);
    assert.equal(app(longest).lastState?.terminated?.reason, 'OOMKilled');

    // The revert: the limit above the usage again. The allocation resets the back-off, so the container starts at once
    // (well inside the 4 s it was waiting out) and stays.
    const lastKill = Date.parse(app(longest).lastState?.terminated?.finishedAt ?? '');
    const raised = await resize('web', { limits: { memory: '512Mi' } });
    assert.equal(raised.code, 0, raised.stderr);
    const recovered = await waitFor('web ready again', () => {
      const view = pod('web');
      return ready(view) && app(view).resources?.limits?.memory === '512Mi' ? view : undefined;
    }, 10_000);
    const restartedAt = Date.parse(app(recovered).state?.running?.startedAt ?? '');
    assert.ok(restartedAt - lastKill < 4_000, `started ${restartedAt - lastKill} ms after the last kill, inside its 4 s back-off`);
    await sleep(1_500);
    const settled = pod('web');
    assert.ok(ready(settled), 'still ready');
    assert.equal(app(settled).restartCount, app(recovered).restartCount, 'no further kill under a 512Mi limit');
    assert.ok(app(settled).state?.running);
    assert.deepEqual([condition(settled, 'Ready')?.reason, condition(settled, 'ContainersReady')?.message], [undefined, undefined]);
  });

  it('matches a Deployment\'s pods by the workload\'s name, and kills against the spec\'s limit on a node without in-place resize', async () => {
    cluster.nodes.oomKillDelayMs(200);
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api', namespace },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'api' } },
        template: {
          metadata: { labels: { app: 'api' } },
          spec: { nodeName: legacyNode, terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: 'registry.example/api:1', resources: { requests: { memory: '128Mi' }, limits: { memory: '256Mi' } } }] },
        },
      },
    };
    cluster.harnessKubectl(['apply', '-f', '-'], JSON.stringify(deployment));
    const name = await waitFor('the api pod running', () => {
      const list = JSON.parse(cluster.harnessKubectl(['get', 'pods', '-n', namespace, '-l', 'app=api', '-o', 'json'])) as { items: PodView[] };
      const running = list.items.find((item) => ready(item));
      return running?.metadata.name;
    });
    assert.match(name, /^api-[a-z0-9]+-[a-z0-9]{5}$/);
    assert.equal(app(pod(name)).resources, undefined, 'a kubelet without in-place resize reports no resources');
    cluster.nodes.usage(namespace, 'api', 'app', { memory: '300Mi' });
    const looping = await crashLooping(name);
    assert.equal(app(looping).lastState?.terminated?.reason, 'OOMKilled');
    assert.equal(app(looping).resources, undefined, 'still none after the kills');

    // Forgetting the usage: the back-off passes and the container runs for good.
    cluster.nodes.usage(namespace, 'api', 'app', undefined);
    const running = await waitFor('api running again', () => {
      const view = pod(name);
      return ready(view) ? view : undefined;
    }, 15_000);
    await sleep(1_000);
    assert.equal(app(pod(name)).restartCount, app(running).restartCount);
  });

  describe('a real Prometheus scraping the simulated kubelet and kube-state-metrics', function () {
    let prometheus: MetricsStore | undefined;
    afterEach(async () => {
      await prometheus?.close();
      prometheus = undefined;
    });

    it('sees the working set capped at the limit, throttling above the CPU limit, and OOM kills and restarts', async () => {
      cluster.nodes.crashLoopBackOff({ initialMs: 1_000, maxMs: 2_000 });
      // Long enough at the limit for 1 s scrapes to catch it before each kill.
      cluster.nodes.oomKillDelayMs(2_500);
      await createPod('busy');
      await createPod('hog', node, { cpu: '500m', memory: '256Mi' });
      await createPod('idle');
      cluster.nodes.usage(namespace, 'busy', 'app', { memory: '200Mi', cpu: '1' });
      cluster.nodes.usage(namespace, 'hog', 'app', { memory: '600Mi', cpu: '125m' });
      const targets = cluster.nodes.metricsTargets();
      assert.deepEqual(targets.map((target) => target.job), ['kubelet', 'kube-state-metrics']);
      const exposition = await get(targets[0]?.url ?? '');
      assert.equal(exposition.status, 200);
      prometheus = await startPrometheus({ scrape: targets, scrapeIntervalSeconds: 1 });
      const store = prometheus;
      const one = async (promql: string): Promise<{ metric: Record<string, string>; value: number } | undefined> => {
        const result = await queryVector(store, promql);
        assert.ok(result.length <= 1, `${promql}: ${JSON.stringify(result)}`);
        return result[0];
      };
      const selector = (pod: string, extra = '') => `{namespace="${namespace}", pod="${pod}", container="app"${extra}}`;

      // Under its limit: the working set is the usage, with the backfilled history's labels exactly (no instance).
      const busyMemory = await waitFor('busy working set', () => one(`container_memory_working_set_bytes${selector('busy')}`));
      assert.equal(busyMemory.value, 200 * mi);
      assert.deepEqual(busyMemory.metric, { __name__: 'container_memory_working_set_bytes', namespace, pod: 'busy', container: 'app', job: 'kubelet' });
      // Above it: capped at the 256Mi limit while it runs, then killed.
      const capped = await waitFor('hog at its limit', () => one(`max_over_time(container_memory_working_set_bytes${selector('hog')}[1m])`));
      assert.equal(capped.value, 256 * mi);

      // 1 core wanted under a 500m quota: it gets 500m and every period is throttled; 125m under 500m: none.
      await sleep(6_000);
      const busyRate = await one(`rate(container_cpu_usage_seconds_total${selector('busy')}[5s])`);
      assert.ok(busyRate && Math.abs(busyRate.value - 0.5) < 0.05, `busy uses ${busyRate?.value} cores`);
      const throttled = (pod: string) => one(`increase(container_cpu_cfs_throttled_periods_total${selector(pod)}[5s]) / increase(container_cpu_cfs_periods_total${selector(pod)}[5s])`);
      const busyThrottled = await throttled('busy');
      assert.ok(busyThrottled && busyThrottled.value > 0.9, `busy throttled ratio ${busyThrottled?.value}`);
      const idle = await one(`container_cpu_usage_seconds_total${selector('idle')}`);
      assert.equal(idle, undefined, 'no usage set: no cAdvisor series');

      // kube-state-metrics: the kills as restarts and the last termination's reason.
      const restarts = await waitFor('hog restarted twice', async () => {
        const sample = await one(`kube_pod_container_status_restarts_total${selector('hog')}`);
        return sample && sample.value >= 2 ? sample : undefined;
      });
      assert.equal(restarts.metric.job, 'kube-state-metrics');
      const reason = await one(`kube_pod_container_status_last_terminated_reason${selector('hog', ', reason="OOMKilled"')}`);
      assert.equal(reason?.value, 1);
      assert.equal((await one(`kube_pod_container_status_restarts_total${selector('busy')}`))?.value, 0);
      assert.equal(await one(`kube_pod_container_status_last_terminated_reason${selector('busy')}`), undefined);

      // The product's own evidence query (src/core/evidence/queries.ts) finds the live samples as it finds backfilled ones.
      const events = namespaceQueries(namespace, { end: new Date(), historyHours: 1, stepSeconds: 75 }).find((query) => query.name === 'events');
      assert.ok(events);
      const signals = await queryVector(store, events.query);
      const signal = (pod: string, name: string) => signals.find((sample) => sample.metric['pod'] === pod && sample.metric['signal'] === name)?.value;
      const periods = signal('busy', 'periods') ?? 0;
      assert.ok(periods > 0 && (signal('busy', 'throttled') ?? 0) / periods > 0.9, JSON.stringify(signals));
      assert.equal(signal('hog', 'throttled'), 0);
      assert.ok((signal('hog', 'restarts') ?? 0) >= 1, JSON.stringify(signals));
      // The OOMKilled reason names the pod whose kills the reader then counts (oomKillsQuery); the pod never killed is not named.
      assert.equal(signal('hog', 'oomSeen'), 1, JSON.stringify(signals));
      assert.equal(signal('busy', 'oomSeen'), undefined);
    });
  });
});

describe('the simulated kubelet\'s OOM and back-off rules (oom-kill.ts)', () => {
  const settings = { initialMs: 1_000, maxMs: 4_000, oomKillDelayMs: 100 };
  const context = (now: number, overrides: Partial<ContainerContext> = {}): ContainerContext => ({
    memoryDemand: 300n * BigInt(mi),
    memoryLimit: 256n * BigInt(mi),
    allocated: { limits: { memory: '256Mi' } },
    restartPolicy: 'Always',
    backOff: undefined,
    settings,
    now,
    podDesc: 'web_lab(uid-1)',
    containerId: (count) => `sim://uid-1/app/${count}`,
    ...overrides,
  });
  const runningSince = (at: number, restartCount = 0): LiveContainerStatus => ({ name: 'app', ready: true, started: true, restartCount, containerID: `sim://uid-1/app/${restartCount}`, state: { running: { startedAt: new Date(at).toISOString() } } });

  it('prints back-off delays as Go\'s time.Duration does', () => {
    assert.deepEqual([500, 1_000, 1_500, 10_000, 80_000, 300_000, 3_600_000].map(goDuration), ['500ms', '1s', '1.5s', '10s', '1m20s', '5m0s', '1h0m0s']);
  });

  it('doubles the back-off up to its maximum and forgets it after twice that without a failure', () => {
    let entry = nextBackOff(undefined, 0, 0, settings);
    const delays = [entry.backoffMs];
    for (let failure = 1; failure < 5; failure++) {
      entry = nextBackOff(entry, failure * 5_000, failure * 5_000, settings);
      delays.push(entry.backoffMs);
    }
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 4_000, 4_000]);
    assert.equal(nextBackOff(entry, 28_000, 28_000, settings).backoffMs, 4_000, 'a failure 8 s after the last: still remembered');
    assert.equal(nextBackOff(entry, 28_001, 28_001, settings).backoffMs, 1_000, 'forgotten after 2 × max');
    assert.equal(inBackOffSince(entry, 25_000, 28_999, settings), true);
    assert.equal(inBackOffSince(entry, 25_000, 29_000, settings), false);
  });

  it('kills only above the limit and after the delay; restarts at once the first time, then waits', () => {
    const start = 1_000_000;
    const untouched = runningSince(start);
    assert.equal(stepContainer(untouched, context(start + 50)).status, untouched, 'not yet: it takes oomKillDelayMs to reach the limit');
    assert.equal(stepContainer(untouched, context(start + 500, { memoryDemand: 200n * BigInt(mi) })).status, untouched, 'under the limit');
    assert.equal(stepContainer(untouched, context(start + 500, { memoryDemand: undefined })).status, untouched, 'no usage set');

    const first = stepContainer(untouched, context(start + 500));
    assert.equal(first.status.restartCount, 1);
    assert.ok(first.status.state?.running);
    assert.deepEqual(first.status.lastState?.terminated, { exitCode: 137, reason: 'OOMKilled', startedAt: new Date(start).toISOString(), finishedAt: new Date(start + 500).toISOString(), containerID: 'sim://uid-1/app/0' });
    assert.deepEqual(first.backOff, { backoffMs: 1_000, lastUpdate: start + 500 });

    const second = stepContainer(first.status, context(start + 700, { backOff: first.backOff }));
    assert.deepEqual(second.status.state, { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 1s restarting failed container=app pod=web_lab(uid-1)' } });
    assert.equal(second.status.restartCount, 1);
    assert.equal(second.status.containerID, 'sim://uid-1/app/1');
    assert.equal(second.status.ready, false);
    assert.equal(stepContainer(second.status, context(start + 1_699, { backOff: second.backOff })).status, second.status, 'still backing off');
    const third = stepContainer(second.status, context(start + 1_700, { backOff: second.backOff }));
    assert.equal(third.status.restartCount, 2);
    assert.equal(third.backOff?.backoffMs, 2_000);
    assert.equal(third.status.lastState?.terminated?.containerID, 'sim://uid-1/app/1');
  });

  it('restartPolicy Never: the container stays terminated and the pod fails', () => {
    const killed = stepContainer(runningSince(0), context(1_000, { restartPolicy: 'Never' }));
    assert.equal(killed.status.state?.terminated?.reason, 'OOMKilled');
    assert.equal(killed.status.restartCount, 0);
    assert.equal(stepContainer(killed.status, context(60_000, { restartPolicy: 'Never' })).status, killed.status);
    const conditions = withReadiness([{ type: 'Ready', status: 'True' }, { type: 'PodScheduled', status: 'True' }], [killed.status], 'Failed', 'now');
    assert.deepEqual(conditions, [{ type: 'Ready', status: 'False', reason: 'PodFailed', lastTransitionTime: 'now' }, { type: 'PodScheduled', status: 'True' }]);
  });
});
