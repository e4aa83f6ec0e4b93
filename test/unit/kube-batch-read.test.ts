// Batched reads of live objects (one kubectl process per namespace and batch), with the real kubectl
// against the test cluster: same objects as one get per object, each failure still reported per object.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLiveObjects } from '../../src/core/apply';
import { Kubectl, KubectlError, type ObjectRef } from '../../src/core/kube/kubectl';
import { InvalidNameError } from '../../src/core/kube/names';
import { startTestCluster, type TestCluster } from '../support/test-cluster';

const checkout: ObjectRef = { kind: 'Deployment', namespace: 'shop', name: 'checkout-api' };
const frontend: ObjectRef = { kind: 'Deployment', namespace: 'shop', name: 'frontend' };
const postgres: ObjectRef = { kind: 'StatefulSet', namespace: 'data', name: 'postgres' };
const gone: ObjectRef = { kind: 'Deployment', namespace: 'shop', name: 'no-such-app' };

describe('batched reads of live objects (real kubectl)', function () {
  this.timeout(30000);
  let cluster: TestCluster;
  let commands: string[][];
  let kubectl: Kubectl;

  before(async () => {
    cluster = await startTestCluster();
  });
  after(async () => {
    await cluster.close();
  });
  beforeEach(() => {
    commands = [];
    kubectl = new Kubectl({
      kubectlPath: '/usr/bin/kubectl',
      kubeconfig: cluster.kubeconfigPath,
      context: cluster.context,
      cacheDir: mkdtempSync(join(tmpdir(), 'kube-cache-')),
      onCommand: (event) => commands.push(event.argv),
    });
  });

  it('getObjects reads one or several named objects in one kubectl process', async () => {
    const one = await kubectl.getObjects('Deployment', 'shop', ['frontend']);
    assert.deepEqual(one.map((object) => object.metadata.name), ['frontend']);
    const two = await kubectl.getObjects('Deployment', 'shop', ['checkout-api', 'frontend']);
    assert.deepEqual(two.map((object) => object.metadata.name).sort(), ['checkout-api', 'frontend']);
    assert.equal(two[0]?.metadata.resourceVersion, (await kubectl.getObject(two[0]?.metadata.name === 'frontend' ? frontend : checkout)).metadata.resourceVersion);
    assert.equal(commands.length, 3);
    await assert.rejects(kubectl.getObjects('Deployment', 'shop', ['frontend', 'no-such-app']), (error: unknown) => error instanceof KubectlError && error.kind === 'not-found');
  });

  it('getObjects validates every name before running kubectl', async () => {
    await assert.rejects(kubectl.getObjects('Deployment', 'shop', ['frontend', '--all-namespaces']), InvalidNameError);
    await assert.rejects(kubectl.getObjects('Deployment', '$(id)', ['frontend']), InvalidNameError);
    assert.deepEqual(commands, []);
  });

  it('readLiveObjects batches per kind and namespace and keeps the order of the refs', async () => {
    const results = await readLiveObjects(kubectl, [postgres, checkout, frontend], 8);
    assert.deepEqual(
      results.map((result) => ('live' in result ? `${result.live.kind}/${result.live.metadata.name}` : result.error)),
      ['StatefulSet/postgres', 'Deployment/checkout-api', 'Deployment/frontend'],
    );
    // One process for the two shop Deployments, one for the data StatefulSet (not one per object).
    assert.equal(commands.length, 2);
  });

  it('readLiveObjects reads a failed batch again object by object, so only the missing one fails', async () => {
    const results = await readLiveObjects(kubectl, [checkout, gone, frontend], 8);
    assert.ok('live' in (results[0] ?? {}), 'checkout-api is read');
    assert.ok('live' in (results[2] ?? {}), 'frontend is read');
    const missing = results[1];
    assert.ok(missing && 'error' in missing, 'the missing object has an error');
    assert.match(missing.error, /no-such-app/);
    assert.equal(commands.length, 1 + 3);
  });
});
