// In-place pod resize on the real control plane (kube-apiserver 1.33, where InPlacePodVerticalScaling is beta and on):
// the real kubectl sends `kubectl patch pod … --subresource resize`, the real API server validates it, and the node
// simulator answers as a 1.33 kubelet would (PodResizeInProgress, PodResizePending Infeasible/Deferred, restarts by
// resizePolicy). One plane for the file; the pods run on dedicated simulated nodes so their sizes are known.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { harnessUser, startControlPlane, type ControlPlane } from '../support/control-plane';
import { AuditLogReader } from '../support/control-plane/audit-log';
import { defaultResizeDelayMs } from '../support/control-plane/node-simulator';
import { admitResize, heldRequest, podRequest, type ResizablePod } from '../support/control-plane/resize';

const run = promisify(execFile);
const namespace = 'resize-lab';
/** A small node: 4 CPU / 16 GiB; allocatable 3920m / 13621Mi, capacity less GKE's reservation for that size and 100Mi for eviction. */
const smallNode = 'sim-resize-small';
const legacyNode = 'sim-resize-legacy';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface ContainerStatus {
  name: string;
  restartCount: number;
  containerID?: string;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  allocatedResources?: Record<string, string>;
  lastState?: { terminated?: { exitCode: number; reason?: string } };
}
interface PodView {
  spec: { nodeName?: string };
  status?: { conditions?: Condition[]; containerStatuses?: ContainerStatus[] };
}

describe('in-place pod resize on the real control plane (pods/resize, simulated 1.33 kubelet)', function () {
  this.timeout(120_000);
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
  const resize = (pod: string, container: { requests?: Record<string, string>; limits?: Record<string, string> }): Promise<{ code: number; stdout: string; stderr: string }> =>
    kubectl(['patch', 'pod', pod, '--subresource', 'resize', '--type=strategic', '-p', JSON.stringify({ spec: { containers: [{ name: 'app', resources: container }] } })]);
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
  const waitFor = async <T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const value = probe();
        if (value !== undefined) return value;
      } catch (error) {
        last = error;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const ready = (view: PodView): boolean => view.status?.conditions?.some((entry) => entry.type === 'Ready' && entry.status === 'True') ?? false;
  /** A one-container pod bound to `node` (named in spec.nodeName, as the dedicated nodes require), once it runs. */
  const createPod = async (name: string, node: string, resources: { requests: Record<string, string>; limits?: Record<string, string> }, resizePolicy?: Array<{ resourceName: string; restartPolicy: string }>): Promise<PodView> => {
    const manifest = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec: { nodeName: node, terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: 'registry.example/app:1', resources, ...(resizePolicy ? { resizePolicy } : {}) }] } };
    cluster.harnessKubectl(['apply', '-f', '-'], JSON.stringify(manifest));
    return waitFor(`pod ${name} running`, () => {
      const view = pod(name);
      return ready(view) ? view : undefined;
    });
  };

  before(async () => {
    cacheDir = mkdtempSync(path.join(tmpdir(), 'kubectl-cache-'));
    cluster = await startControlPlane();
    cluster.harnessKubectl(['create', 'namespace', namespace]);
    // Pods need the namespace's default service account, which the service-account controller makes.
    await waitFor('service account default', () => (cluster.harnessKubectl(['get', 'serviceaccount', 'default', '-n', namespace]) ? true : undefined));
    await cluster.nodes.add(smallNode, { capacity: { cpu: '4', memory: '16Gi', pods: '110' }, allocatable: { cpu: '3920m', memory: '13621Mi', pods: '110' } });
    await cluster.nodes.add(legacyNode, { inPlaceResize: false });
  });
  afterEach(() => {
    cluster.nodes.resizeDelayMs(defaultResizeDelayMs);
    cluster.harnessKubectl(['delete', 'pods', '--all', '-n', namespace, '--wait=true']);
  });
  after(async () => {
    try {
      cluster?.harnessKubectl(['delete', 'namespace', namespace, '--wait=false']);
    } finally {
      await cluster?.close();
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it('reports what each running container runs with, and applies a resize: PodResizeInProgress, then the new resources', async () => {
    const started = await createPod('web', smallNode, { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } });
    assert.deepEqual(app(started).resources, { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } });
    assert.deepEqual(app(started).allocatedResources, { cpu: '500m', memory: '256Mi' });

    cluster.nodes.resizeDelayMs(2_000); // long enough to see the resize in progress
    const patched = await resize('web', { requests: { cpu: '700m', memory: '300Mi' }, limits: { cpu: '1500m', memory: '600Mi' } });
    assert.equal(patched.code, 0, patched.stderr);
    const inProgress = await waitFor('PodResizeInProgress', () => {
      const view = pod('web');
      return condition(view, 'PodResizeInProgress') ? view : undefined;
    });
    const progress = condition(inProgress, 'PodResizeInProgress');
    assert.equal(progress?.status, 'True');
    assert.deepEqual([progress?.reason, progress?.message], [undefined, undefined], 'a 1.33 kubelet sets no reason or message while a resize is actuated');
    assert.deepEqual(app(inProgress).resources, { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } }, 'still running with the old values');
    assert.deepEqual(app(inProgress).allocatedResources, { cpu: '700m', memory: '300Mi' }, 'the new requests are allocated');
    assert.equal(condition(inProgress, 'PodResizePending'), undefined);

    const applied = await waitFor('the resize applied', () => {
      const view = pod('web');
      return condition(view, 'PodResizeInProgress') ? undefined : view;
    });
    assert.deepEqual(app(applied).resources, { requests: { cpu: '700m', memory: '300Mi' }, limits: { cpu: '1500m', memory: '600Mi' } });
    assert.equal(app(applied).restartCount, 0, 'resizePolicy NotRequired (the default): no restart');
    assert.equal(app(applied).containerID, app(started).containerID);

    // Settled: the simulator writes no status while nothing changes (it runs every 150 ms on a shared plane).
    const audit = new AuditLogReader(cluster.auditLogPath);
    audit.markNow();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const writes = audit.events(new Set([harnessUser])).filter((event) => event.objectRef?.resource === 'pods' && event.objectRef.namespace === namespace);
    assert.deepEqual(writes.map((event) => event.requestURI), []);
  });

  it('Infeasible: requests beyond the node\'s allocatable stay pending with the kubelet\'s message, and the pod keeps its size', async () => {
    await createPod('big', smallNode, { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } });
    const patched = await resize('big', { requests: { cpu: '8' }, limits: { cpu: '9' } });
    assert.equal(patched.code, 0, patched.stderr);
    const pending = await waitFor('PodResizePending', () => condition(pod('big'), 'PodResizePending'));
    assert.equal(pending.reason, 'Infeasible');
    assert.equal(pending.message, "Node didn't have enough capacity: cpu, requested: 8000, capacity: 3920");
    // Memory is named when it is the one that does not fit (checked first, as kubelet.go canResizePod does).
    assert.equal((await resize('big', { requests: { cpu: '8', memory: '20Gi' }, limits: { cpu: '9', memory: '21Gi' } })).code, 0);
    const memory = await waitFor('the memory message', () => {
      const entry = condition(pod('big'), 'PodResizePending');
      return entry?.message?.includes('memory') ? entry : undefined;
    });
    assert.equal(memory.message, `Node didn't have enough capacity: memory, requested: ${20 * 2 ** 30}, capacity: ${13621 * 2 ** 20}`);
    const view = pod('big');
    assert.deepEqual(app(view).resources, { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } });
    assert.deepEqual(app(view).allocatedResources, { cpu: '500m', memory: '256Mi' });
    assert.equal(condition(view, 'PodResizeInProgress'), undefined);
  });

  it('Deferred while the node is full, then applied when another pod goes away', async () => {
    await createPod('filler', smallNode, { requests: { cpu: '2', memory: '1Gi' } });
    await createPod('grower', smallNode, { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } });
    const patched = await resize('grower', { requests: { cpu: '2500m' }, limits: { cpu: '3' } });
    assert.equal(patched.code, 0, patched.stderr);
    const pending = await waitFor('PodResizePending', () => condition(pod('grower'), 'PodResizePending'));
    assert.equal(pending.reason, 'Deferred');
    // The admission text the kubelet reports: the pod's new request, what the other pods hold, the node's allocatable.
    assert.equal(pending.message, "Node didn't have enough resource: cpu, requested: 2500, used: 2000, capacity: 3920");
    assert.equal(app(pod('grower')).resources?.requests?.cpu, '500m');

    const deleted = await kubectl(['delete', 'pod', 'filler', '--wait=true']);
    assert.equal(deleted.code, 0, deleted.stderr);
    const applied = await waitFor('the deferred resize applied', () => {
      const view = pod('grower');
      return app(view).resources?.requests?.cpu === '2500m' && !condition(view, 'PodResizeInProgress') ? view : undefined;
    });
    assert.equal(condition(applied, 'PodResizePending'), undefined);
    assert.deepEqual(app(applied).resources, { requests: { cpu: '2500m', memory: '256Mi' }, limits: { cpu: '3', memory: '512Mi' } });
  });

  it('RestartContainer: a memory resize restarts the container (restartCount + 1); a CPU resize (NotRequired) does not', async () => {
    const policy = [{ resourceName: 'cpu', restartPolicy: 'NotRequired' }, { resourceName: 'memory', restartPolicy: 'RestartContainer' }];
    const started = await createPod('cache', smallNode, { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '500m', memory: '512Mi' } }, policy);
    assert.equal(app(started).restartCount, 0);

    // A memory-limit decrease is allowed only because the policy restarts the container (1.33 validation).
    assert.equal((await resize('cache', { requests: { memory: '192Mi' }, limits: { memory: '384Mi' } })).code, 0);
    const restarted = await waitFor('the memory resize applied', () => {
      const view = pod('cache');
      return app(view).resources?.limits?.memory === '384Mi' && !condition(view, 'PodResizeInProgress') ? view : undefined;
    });
    assert.equal(app(restarted).restartCount, 1);
    assert.notEqual(app(restarted).containerID, app(started).containerID, 'a new container');
    assert.equal(app(restarted).lastState?.terminated?.exitCode, 0);

    assert.equal((await resize('cache', { requests: { cpu: '300m' }, limits: { cpu: '600m' } })).code, 0);
    const resized = await waitFor('the cpu resize applied', () => {
      const view = pod('cache');
      return app(view).resources?.requests?.cpu === '300m' && !condition(view, 'PodResizeInProgress') ? view : undefined;
    });
    assert.equal(app(resized).restartCount, 1, 'CPU is NotRequired: the same container');
    assert.equal(app(resized).containerID, app(restarted).containerID);
  });

  it('the API server refuses what 1.33 refuses: a pod on a node without resize support, a memory-limit decrease under NotRequired', async () => {
    const legacy = await createPod('old-node', legacyNode, { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } });
    assert.equal(app(legacy).resources, undefined, 'a kubelet without in-place resize reports no resources');
    const refused = await resize('old-node', { requests: { cpu: '600m' } });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Forbidden: Pod running on node without support for resize/);
    assert.equal((pod('old-node') as { spec: { containers?: Array<{ resources: { requests: Record<string, string> } }> } }).spec.containers?.[0]?.resources.requests.cpu, '500m');

    await createPod('shrink', smallNode, { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } });
    const shrink = await resize('shrink', { limits: { memory: '384Mi' } });
    assert.notEqual(shrink.code, 0);
    assert.match(shrink.stderr, /memory limits cannot be decreased unless resizePolicy is RestartContainer/);
    // The same pod takes a CPU resize: the refusal above was about the memory limit, not the node.
    assert.equal((await resize('shrink', { requests: { cpu: '600m' } })).code, 0);
    await waitFor('the cpu resize applied', () => (app(pod('shrink')).resources?.requests?.cpu === '600m' ? true : undefined));
  });
});

// The arithmetic the end-to-end cases above do not reach, against hand-computed values from the 1.33 rules.
describe('the simulated kubelet\'s resize rules (resize.ts)', () => {
  const allocatable = { cpu: '3920m', memory: '13621Mi', pods: '3' };
  const running = (name: string, requests: Record<string, string>, status: Record<string, string>, pending?: string): ResizablePod => ({
    metadata: { uid: name },
    spec: { containers: [{ name: 'app', resources: { requests } }] },
    status: { conditions: pending ? [{ type: 'PodResizePending', status: 'True', reason: pending }] : [], containerStatuses: [{ name: 'app', resources: { requests: status }, allocatedResources: status }] },
  });

  it('a pod\'s request: containers and sidecars summed, at least the largest init container with the sidecars before it, plus overhead', () => {
    const pod: ResizablePod = {
      metadata: {},
      spec: {
        overhead: { cpu: '50m' },
        initContainers: [
          { name: 'sidecar', restartPolicy: 'Always', resources: { requests: { cpu: '100m' } } },
          { name: 'migrate', resources: { requests: { cpu: '2' } } },
        ],
        containers: [{ name: 'a', resources: { requests: { cpu: '300m' } } }, { name: 'b', resources: { requests: { cpu: '200m' } } }],
      },
    };
    assert.equal(podRequest(pod, 'cpu'), 2150n); // max(100 + 2000, 300 + 200 + 100) + 50
    pod.spec.initContainers = [pod.spec.initContainers?.[0] ?? { name: 'missing' }];
    assert.equal(podRequest(pod, 'cpu'), 650n);
  });

  it('another pod holds the larger of its allocated and running requests, only the running ones once its own resize is Infeasible', () => {
    const growing = running('growing', { cpu: '1' }, { cpu: '500m' });
    assert.equal(heldRequest(growing, 'cpu', () => ({ requests: { cpu: '1' } })), 1000n);
    assert.equal(heldRequest(running('stuck', { cpu: '8' }, { cpu: '500m' }, 'Infeasible'), 'cpu', () => ({ requests: { cpu: '8' } })), 500n);
  });

  it('Deferred names the first check that fails: pods, then cpu, then memory', () => {
    const pod = running('me', { cpu: '1', memory: '1Gi' }, { cpu: '500m', memory: '1Gi' });
    const others = [running('a', { cpu: '1' }, { cpu: '1' }), running('b', { cpu: '1', memory: '13Gi' }, { cpu: '1', memory: '13Gi' })];
    const allocatedOf = (other: ResizablePod) => ({ requests: other.spec.containers[0]?.resources?.requests ?? {} });
    assert.deepEqual(admitResize(pod, allocatable, others, allocatedOf), { fit: false, reason: 'Deferred', message: `Node didn't have enough resource: memory, requested: ${2 ** 30}, used: ${13 * 2 ** 30}, capacity: ${13621 * 2 ** 20}` });
    assert.deepEqual(admitResize(pod, { ...allocatable, pods: '2' }, others, allocatedOf), { fit: false, reason: 'Deferred', message: "Node didn't have enough resource: pods, requested: 1, used: 2, capacity: 2" });
    assert.deepEqual(admitResize(pod, { ...allocatable, cpu: '2500m' }, others, allocatedOf), { fit: false, reason: 'Deferred', message: "Node didn't have enough resource: cpu, requested: 1000, used: 2000, capacity: 2500" });
    assert.deepEqual(admitResize(pod, { ...allocatable, memory: '20Gi' }, others, allocatedOf), { fit: true });
  });
});
