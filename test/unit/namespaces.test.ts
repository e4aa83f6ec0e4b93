// The scan's namespace picker lists what the cluster has (kubectl get namespaces), and only names kubectl and krr
// can take: a name that is not an RFC 1123 label is left out and counted, never offered.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kubectl } from '../../src/core/kube/kubectl';
import { startTestCluster, type TestCluster } from '../support/test-cluster';

describe('kubectl: the namespaces of a context', function () {
  this.timeout(120_000);

  describe('against the test cluster', () => {
    let cluster: TestCluster;
    before(async () => {
      cluster = await startTestCluster();
    });
    after(async () => cluster.close());

    it('lists every namespace, sorted, with the seeded ones among them', async () => {
      const kubectl = new Kubectl({ kubectlPath: 'kubectl', kubeconfig: cluster.kubeconfigPath, context: 'prod-eu-1' });
      const { names, invalid } = await kubectl.listNamespaces();
      for (const name of ['data', 'default', 'kube-system', 'shop']) assert.ok(names.includes(name), names.join(', '));
      assert.deepEqual(names, [...names].sort());
      assert.equal(invalid, 0);
    });
  });

  it('leaves out and counts names that are not RFC 1123 labels (a kubectl stand-in prints them)', async () => {
    // A real API server never returns such names; a wrapper or a compromised kubectl could.
    const dir = mkdtempSync(path.join(tmpdir(), 'krr-ns-'));
    try {
      const standIn = path.join(dir, 'kubectl');
      writeFileSync(standIn, '#!/bin/sh\nprintf "namespace/shop\\nnamespace/--context=evil\\nnamespace/UPPER\\nnamespace/a\\342\\200\\256b\\n\\nnamespace/data\\n"\n');
      chmodSync(standIn, 0o755);
      const { names, invalid } = await new Kubectl({ kubectlPath: standIn, context: 'prod-eu-1' }).listNamespaces();
      assert.deepEqual(names, ['data', 'shop']);
      assert.equal(invalid, 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
