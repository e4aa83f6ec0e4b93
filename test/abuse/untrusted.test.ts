// An untrusted workspace (VS Code's Restricted Mode) holds a hostile repository: a kustomization whose patch is a
// dangling link out of the workspace, a remote base on a recording loopback listener, a chart whose helm is recorded.
// No path may read or render it: not the manifests target, and not a cluster proposal of a workload Argo CD or Flux
// owns (which looks for its source in the workspace when the workspace is trusted). Counts workspace_attacks,
// writes_outside_workspace, writes_before_approval and remote_fetches.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileManifestWriter } from '../../src/core/gitops/apply';
import { gitopsWorkloads, writeGitOpsReport } from '../support/gitops-report';
import { human, model, startSessionFixture, type SessionFixture } from '../support/session-fixture';
import { count } from './figures';

/** Every entry of a tree (links as links, not followed), path -> content hash or link target. */
function treeDigest(root: string): Map<string, string> {
  const entries = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      const stats = lstatSync(full);
      if (stats.isSymbolicLink()) entries.set(path.relative(root, full), `link:${readlinkSync(full)}`);
      else if (stats.isDirectory()) walk(full);
      else entries.set(path.relative(root, full), createHash('sha256').update(readFileSync(full)).digest('hex'));
    }
  };
  walk(root);
  return entries;
}

describe('abuse: an untrusted workspace is never read or rendered', function () {
  this.timeout(180_000);
  let f: SessionFixture | undefined;
  let dir: string;
  let listener: Server;
  let requests = 0;

  before(async () => {
    listener = createServer((request, response) => {
      requests += 1;
      response.end('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fetched}\n');
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  });
  afterEach(async () => {
    await f?.close();
    f = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('cluster proposals of Argo CD and Flux workloads, and the manifests target: no render, no fetch, no write', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-untrusted-'));
    const workspace = path.join(dir, 'workspace');
    const outside = path.join(dir, 'outside');
    mkdirSync(outside);
    cpSync(path.resolve(__dirname, '..', 'fixtures', 'gitops', 'helm'), workspace, { recursive: true });
    const port = (listener.address() as AddressInfo).port;
    // A kustomization for each owned workload, each hostile: a remote base and a patch that is a dangling link out.
    for (const name of ['cart', 'payments']) {
      const overlay = path.join(workspace, 'apps', name);
      mkdirSync(overlay, { recursive: true });
      writeFileSync(path.join(overlay, 'deployment.yaml'), `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}, namespace: gitops}\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: ${name}:1\n`);
      writeFileSync(path.join(overlay, 'kustomization.yaml'), `resources:\n  - deployment.yaml\n  - http://127.0.0.1:${port}/${name}/base.yaml\npatches:\n  - path: krr-deployment-${name}-resources.yaml\n`);
      symlinkSync(path.join(outside, `${name}-created.yaml`), path.join(overlay, `krr-deployment-${name}-resources.yaml`));
    }
    const recordingHelm = path.join(dir, 'helm');
    const helmRan = path.join(dir, 'helm-ran');
    writeFileSync(recordingHelm, `#!/bin/sh\necho ran >> '${helmRan}'\nexit 1\n`, { mode: 0o755 });
    const before = treeDigest(workspace);
    const outsideBefore = treeDigest(outside);

    f = await startSessionFixture({ settings: { helmPath: recordingHelm, workspaceTrusted: false }, session: { workspace: { folders: () => [workspace], writer: fileManifestWriter() } } });
    const { reportId } = await f.session.loadReport(writeGitOpsReport(dir), human);
    for (const workload of [gitopsWorkloads.cart, gitopsWorkloads.payments, gitopsWorkloads.search]) {
      count('workspace_attacks');
      const plan = await f.session.propose({ reportId, workloads: [workload] }, model);
      assert.deepEqual(plan.objects, [], `${workload.name} is GitOps-owned: no direct patch`);
      assert.match(plan.blocked[0]?.reasons.join(' ') ?? '', /did not look for its source in the workspace: the workspace is not trusted/);
    }
    count('workspace_attacks');
    await assert.rejects(f.session.proposeManifests({ reportId, workloads: [gitopsWorkloads.cart, gitopsWorkloads.search], target: 'manifests' }, model), /The workspace is not trusted/);

    count('remote_fetches', requests);
    assert.equal(requests, 0, 'the remote base was fetched');
    assert.equal(existsSync(helmRan), false, 'helm ran on the untrusted workspace');
    const outsideAfter = treeDigest(outside);
    const createdOutside = [...outsideAfter.keys()].filter((key) => outsideBefore.get(key) !== outsideAfter.get(key));
    count('writes_outside_workspace', createdOutside.length);
    assert.deepEqual(createdOutside, [], 'files created outside the workspace');
    const after = treeDigest(workspace);
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((key) => before.get(key) !== after.get(key));
    count('writes_before_approval', changed.length);
    assert.deepEqual(changed, [], 'files changed in the workspace');
  });
});
