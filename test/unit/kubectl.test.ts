// The product's kubectl runner, against the test cluster with the real kubectl.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kubectl, KubectlError, listContexts, resolveContext, type KubectlOptions, type ObjectRef } from '../../src/core/kube/kubectl';
import { InvalidNameError } from '../../src/core/kube/names';
import type { JsonPatchOp } from '../../src/core/plan/patch';
import { asControlPlane, startTestCluster, type TestCluster } from '../support/test-cluster';

const kubectlPath = '/usr/bin/kubectl';
const checkout: ObjectRef = { kind: 'Deployment', namespace: 'shop', name: 'checkout-api' };
const cpuPath = '/spec/template/spec/containers/0/resources/requests/cpu';
const lowerCpu: JsonPatchOp[] = [
  { op: 'test', path: cpuPath, value: '500m' },
  { op: 'replace', path: cpuPath, value: '250m' },
];

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function rejectsWith(promise: Promise<unknown>, kind: KubectlError['kind']): Promise<KubectlError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof KubectlError, `expected KubectlError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    return error;
  }
  assert.fail(`expected a KubectlError "${kind}"`);
}

describe('Kubectl runner (real kubectl against the test cluster)', function () {
  this.timeout(30000);
  let cluster: TestCluster;
  let commands: { argv: string[]; durationMs: number; exitCode: number | undefined }[];

  function kubectl(overrides: Partial<KubectlOptions> = {}): Kubectl {
    return new Kubectl({
      kubectlPath,
      kubeconfig: cluster.kubeconfigPath,
      context: cluster.context,
      cacheDir: mkdtempSync(join(tmpdir(), 'kubectl-cache-')),
      onCommand: (event) => commands.push(event),
      ...overrides,
    });
  }

  function live(): Json {
    return cluster.getObject('apps/v1', 'Deployment', 'shop', 'checkout-api') as Json;
  }

  beforeEach(async () => {
    cluster = await startTestCluster();
    commands = [];
  });
  afterEach(async () => {
    await cluster.close();
  });

  it('gets an object with group-qualified resource names and an explicit --context and --kubeconfig', async () => {
    const obj = await kubectl().getObject(checkout);
    assert.equal(obj.kind, 'Deployment');
    assert.equal(obj.metadata.resourceVersion, live().metadata.resourceVersion);
    const [command] = commands;
    assert.ok(command);
    assert.deepEqual(command.argv.slice(0, 4), ['--kubeconfig', cluster.kubeconfigPath, '--context', 'prod-eu-1']);
    assert.deepEqual(command.argv.slice(6), ['get', 'deployments.apps', 'checkout-api', '-n', 'shop', '-o', 'json', '--show-managed-fields']);
    assert.equal(command.exitCode, 0);
    assert.ok(!command.argv.join(' ').includes(cluster.tokens.admin));
    const hpa = await kubectl().getObject({ kind: 'HorizontalPodAutoscaler', namespace: 'shop', name: 'frontend' });
    assert.equal(hpa.kind, 'HorizontalPodAutoscaler');
    assert.equal(commands[1]?.argv[6 + 1], 'horizontalpodautoscalers.autoscaling');
  });

  it('lists objects of a kind in a namespace', async () => {
    const items = await kubectl().listObjects('Deployment', 'shop');
    assert.deepEqual(items.map((i) => i.metadata.name), ['checkout-api', 'frontend']);
    assert.ok(items.every((i) => i.kind === 'Deployment'));
    assert.deepEqual(await kubectl().listObjects('StatefulSet', 'shop'), []);
  });

  it('runs a dry-run patch on the server without changing the object', async () => {
    const before = live();
    const result = await kubectl().patchJson(checkout, lowerCpu, { dryRun: true });
    assert.equal((result.spec as Json).template.spec.containers[0].resources.requests.cpu, '250m');
    // The controller manager may still write status (observedGeneration) and the revision annotation of an earlier
    // change meanwhile: that moves resourceVersion, status and that annotation, not what a patch would change (spec,
    // generation); writes() proves no write of ours.
    assert.deepEqual(withoutControllerWrites(live()), withoutControllerWrites(before));
    assert.deepEqual(cluster.mutations().map((m) => [m.method, m.dryRun, m.status]), [['PATCH', true, 200]]);
    assert.deepEqual(cluster.writes(), []);
    assert.ok(commands[0]?.argv.includes('--dry-run=server'));
  });

  it('applies a real patch', async () => {
    const before = live();
    const result = await kubectl().patchJson(checkout, lowerCpu, { dryRun: false });
    assert.equal(live().spec.template.spec.containers[0].resources.requests.cpu, '250m');
    assert.ok(Number(result.metadata.resourceVersion) > Number(before.metadata.resourceVersion));
    assert.equal(cluster.writes().length, 1);
    assert.ok(!commands[0]?.argv.includes('--dry-run=server'));
  });

  it('classifies a failed test op as precondition-failed and writes nothing', async () => {
    const stale: JsonPatchOp[] = [{ op: 'test', path: cpuPath, value: '400m' }, lowerCpu[1] as JsonPatchOp];
    const error = await rejectsWith(kubectl().patchJson(checkout, stale, { dryRun: false }), 'precondition-failed');
    assert.match(error.message, /context "prod-eu-1"/);
    assert.deepEqual(cluster.writes(), []);
  });

  it('classifies invalid, forbidden, not-found and conflict with the context named', async () => {
    const tooHigh: JsonPatchOp[] = [{ op: 'replace', path: cpuPath, value: '2' }];
    const invalid = await rejectsWith(kubectl().patchJson(checkout, tooHigh, { dryRun: true }), 'invalid');
    assert.match(invalid.message, /must be less than or equal to cpu limit of 1/);

    const forbidden = await rejectsWith(kubectl({ context: cluster.readOnlyContext }).patchJson(checkout, lowerCpu, { dryRun: false }), 'forbidden');
    assert.match(forbidden.message, /context "prod-eu-1-read-only"/);
    assert.match(forbidden.stderr, /User "read-only" cannot patch resource "deployments"/);

    await rejectsWith(kubectl().getObject({ ...checkout, name: 'nope' }), 'not-found');

    cluster.faults.conflictNextWrite();
    await rejectsWith(kubectl().patchJson(checkout, lowerCpu, { dryRun: false }), 'conflict');
    assert.deepEqual(cluster.writes(), []);
  });

  it('classifies a closed port as unreachable and a missing binary as not-installed', async () => {
    const down = await startTestCluster();
    await down.close();
    // The kubeconfig of a cluster that is gone points at a port nobody listens on any more.
    const error = await rejectsWith(kubectl({ kubeconfig: down.kubeconfigPath }).getObject(checkout), 'unreachable');
    assert.match(error.message, /Cannot reach the Kubernetes API server of context "prod-eu-1"/);
    assert.match(error.stderr, /connection to the server 127\.0\.0\.1:\d+ was refused|connection refused/);

    cluster.faults.dropNthWrite(1);
    const dropped = await rejectsWith(kubectl().patchJson(checkout, lowerCpu, { dryRun: false }), 'unreachable');
    assert.equal(dropped.kind, 'unreachable', dropped.stderr);
    assert.deepEqual(cluster.writes(), []);

    const missing = await rejectsWith(kubectl({ kubectlPath: '/nonexistent/kubectl' }).getObject(checkout), 'not-installed');
    assert.match(missing.message, /krr\.kubectlPath/);
  });

  it('classifies a wrong token as auth', async () => {
    const { writeFileSync, readFileSync } = await import('node:fs');
    const path = join(mkdtempSync(join(tmpdir(), 'kubeconfig-')), 'config');
    writeFileSync(path, readFileSync(cluster.kubeconfigPath, 'utf8').replace(cluster.tokens.admin, 'wrong-token'));
    const error = await rejectsWith(kubectl({ kubeconfig: path }).getObject(checkout), 'auth');
    assert.match(error.message, /not authenticated for context "prod-eu-1"/);
  });

  it('never runs kubectl for invalid names, namespaces or contexts', async () => {
    const client = kubectl();
    for (const ref of [
      { ...checkout, name: '--all' },
      { ...checkout, name: 'x;rm -rf /' },
      { ...checkout, namespace: '-n' },
      { ...checkout, namespace: 'Shop' },
      { ...checkout, name: '' },
    ]) {
      await assert.rejects(client.patchJson(ref, lowerCpu, { dryRun: false }), InvalidNameError);
      await assert.rejects(client.getObject(ref), InvalidNameError);
    }
    await assert.rejects(client.listObjects('Deployment', '$(id)'), InvalidNameError);
    assert.throws(() => kubectl({ context: '--kubeconfig=/etc/passwd' }), InvalidNameError);
    await assert.rejects(resolveContext({ kubectlPath, context: '-x' }), InvalidNameError);
    assert.deepEqual(commands, []);
    assert.deepEqual(cluster.mutations(), []);
  });

  it('kills kubectl when the signal aborts, and the hung write is never stored', async () => {
    cluster.faults.hangNthWrite(1, 3000);
    const controller = new AbortController();
    const started = Date.now();
    const pending = kubectl().patchJson(checkout, lowerCpu, { dryRun: false, signal: controller.signal });
    setTimeout(() => controller.abort(), 700);
    await rejectsWith(pending, 'aborted');
    assert.ok(Date.now() - started < 2500, 'returned well before the hang ended');
    assert.equal(commands[0]?.exitCode, undefined);
    await new Promise((resolve) => setTimeout(resolve, 2600));
    assert.equal(live().spec.template.spec.containers[0].resources.requests.cpu, '500m');
    assert.deepEqual(cluster.writes(), []);
    // The held write was never forwarded: the API server's audit log has no event for it at all.
    assert.deepEqual(cluster.mutations(), []);
    await rejectsWith(kubectl().getObject(checkout, AbortSignal.abort()), 'aborted');
  });

  it('times out a hung command', async () => {
    cluster.faults.hangNthWrite(1, 4000);
    const started = Date.now();
    await rejectsWith(kubectl({ timeoutMs: 1000 }).patchJson(checkout, lowerCpu, { dryRun: false }), 'timeout');
    assert.ok(Date.now() - started < 3500);
  });

  it('reports rollout status', async () => {
    await kubectl().patchJson(checkout, lowerCpu, { dryRun: false });
    const status = await kubectl().rolloutStatus(checkout, 5);
    assert.deepEqual(status, { ok: true, message: 'deployment "checkout-api" successfully rolled out' });
    // A controller that never finishes the next rollout (on the real control plane: its new pods never get ready).
    cluster.faults.stallRollouts('shop', 'checkout-api');
    const stuck = structuredClone(live());
    stuck.spec.template.spec.containers[0].resources.requests.cpu = '450m';
    cluster.putObject(stuck);
    const waiting = await kubectl().rolloutStatus(checkout, 1);
    assert.equal(waiting.ok, false);
    assert.match(waiting.message, /timed out/);
  });

  it('reports client and server versions', async () => {
    const version = await kubectl().version();
    // The machine's /usr/bin/kubectl dispatches to the kubectl nearest the server's version.
    assert.match(version.client, /^v1\.\d+\.\d+/);
    assert.equal(version.server, asControlPlane(cluster) ? 'v1.33.13' : 'v1.32.4');
  });

  it('resolves the current or a named context without printing credentials, and lists contexts', async () => {
    const current = await resolveContext({ kubectlPath, kubeconfig: cluster.kubeconfigPath });
    assert.deepEqual(current, { context: 'prod-eu-1', cluster: 'prod-eu-1', server: cluster.url, namespace: null });
    const staging = await resolveContext({ kubectlPath, kubeconfig: cluster.kubeconfigPath, context: 'staging-eu-1' });
    assert.deepEqual(staging, { context: 'staging-eu-1', cluster: 'staging-eu-1', server: cluster.url, namespace: 'dev' });
    await assert.rejects(resolveContext({ kubectlPath, kubeconfig: cluster.kubeconfigPath, context: 'nope' }), KubectlError);
    const contexts = await listContexts({ kubectlPath, kubeconfig: cluster.kubeconfigPath });
    assert.deepEqual(contexts, { names: ['prod-eu-1', 'prod-eu-1-read-only', 'staging-eu-1'], current: 'prod-eu-1' });
  });
});

/** The object without what kube-controller-manager writes on its own (status, its managedFields entry, and the resourceVersion that moves with them). */
function withoutControllerWrites(object: Json): Json {
  const { status: _status, ...rest } = object;
  // managedFields is the server's bookkeeping of who owns what: the controller taking over the revision annotation
  // rewrites it. The spec, generation, labels and other annotations are what a write of ours would change.
  const { resourceVersion: _resourceVersion, managedFields: _managedFields, annotations, ...metadata } = rest.metadata as Json;
  const { 'deployment.kubernetes.io/revision': _revision, ...otherAnnotations } = (annotations ?? {}) as Json;
  return { ...rest, metadata: { ...metadata, annotations: otherAnnotations } };
}
