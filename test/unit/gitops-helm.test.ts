// Helm values discovery (src/core/gitops/helm.ts) on the fixture chart test/fixtures/gitops/helm/search, with a real
// helm built from its Go module (npm run helm:build), and by convention (a guess) when helm cannot be run.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileManifestWriter } from '../../src/core/gitops/apply';
import { helmFinder } from '../../src/core/gitops/helm';
import { proposeManifestPlan } from '../../src/core/gitops/propose';
import { workspaceFolders } from '../../src/core/gitops/workspace';
import type { DesiredResources } from '../../src/core/plan/build';
import { readSessionSettings } from '../../src/editor/settings';
import { gitopsWorkloads, writeGitOpsReport } from '../support/gitops-report';
import { startSessionFixture, type SessionFixture } from '../support/session-fixture';

const fixture = path.resolve(__dirname, '..', 'fixtures', 'gitops', 'helm');

/** The helm that `npm run helm:build` built; tests never build it themselves. */
function builtHelm(): string {
  const out = execFileSync('bash', [path.resolve(__dirname, '..', 'helm', 'build.sh'), '--cached-only'], { encoding: 'utf8' }).trim().split('\n').at(-1) as string;
  return path.join(out, 'helm');
}

const desired = new Map<string, DesiredResources>([['search', { requests: { cpu: '300m', memory: '300Mi' }, limits: { cpu: '600m' } }]]);
const target = { namespace: 'gitops', kind: 'Deployment' as const, name: 'search', group: 'apps', context: 'prod-eu-1', desired };
const human = { type: 'human' as const, via: 'test' };

describe('Helm values: the key that feeds a container\'s resources, edited in the environment\'s values file', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-helm-'));
    cpSync(fixture, dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('with helm: found by rendering, values-prod.yaml edited byte-preservingly, the re-render carries exactly the values', async () => {
    const helm = builtHelm();
    const folders = await workspaceFolders([dir]);
    const plan = await proposeManifestPlan([target], { folders, kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: 'prod-eu-1', finders: [helmFinder({ helmPath: helm })] });
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    const workload = plan.workloads[0];
    assert.equal(workload?.source.finder, 'helm');
    assert.equal(workload?.source.guess, false);
    assert.deepEqual(plan.files.map((file) => file.path), ['search/values-prod.yaml']);
    const file = plan.files[0];
    assert.ok(file);
    const before = readFileSync(path.join(dir, 'search', 'values-prod.yaml'), 'utf8');
    assert.equal(file.before, before);
    // Outside the changed values, the file is byte for byte the same (comments, order, quoting).
    const strip = (text: string) => text.split('\n').filter((line) => !/\b(cpu|memory):/.test(line) && !/^\s+(limits|requests):\s*$/.test(line)).join('\n');
    assert.equal(strip(file.after), strip(before));
    assert.match(file.after, /# Production overrides/);
    assert.match(file.after, /cpu: "300m"/, "the quoting of the value it replaces stays");
    assert.match(file.after, /memory: 300Mi/);
    // The real render of the edited chart: exactly the recommended values (limits.memory stays prod's 1Gi).
    cpSync(path.join(dir, 'search'), path.join(dir, 'rendered'), { recursive: true });
    execFileSync('bash', ['-c', 'cat > "$1"', '_', path.join(dir, 'rendered', 'values-prod.yaml')], { input: file.after });
    const rendered = execFileSync(helm, ['template', 'search', path.join(dir, 'rendered'), '-f', path.join(dir, 'rendered', 'values.yaml'), '-f', path.join(dir, 'rendered', 'values-prod.yaml')], { encoding: 'utf8' });
    assert.match(rendered, /name: search\n[\s\S]*?resources:\n\s+limits:\n\s+cpu: 600m\n\s+memory: 1Gi\n\s+requests:\n\s+cpu: 300m\n\s+memory: 300Mi/);
    // values.yaml (every other environment) is untouched.
    assert.equal(plan.files.some((changed) => changed.path === 'search/values.yaml'), false);
  });

  it('without helm: the conventional search.resources block, marked as a guess', async () => {
    const folders = await workspaceFolders([dir]);
    const plan = await proposeManifestPlan([target], { folders, kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: 'prod-eu-1', finders: [helmFinder({ helmPath: path.join(dir, 'no-such-helm') })] });
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.equal(plan.workloads[0]?.source.guess, true);
    assert.match(plan.workloads[0]?.source.label ?? '', /a guess/);
    assert.deepEqual(plan.files.map((file) => file.path), ['search/values-prod.yaml']);
  });

  it('a context with no environment file: values.yaml is edited only when no other environment\'s rendering changes', async () => {
    const helm = builtHelm();
    const indexer = { ...target, name: 'search-indexer', context: 'staging-1', desired: new Map([['indexer', { requests: { cpu: '50m' }, limits: {} }]]) };
    const proposeFor = async () => proposeManifestPlan([indexer], { folders: await workspaceFolders([dir]), kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: 'staging-1', finders: [helmFinder({ helmPath: helm })] });
    // values-prod.yaml does not set the indexer: prod would take the new default too, so nothing is offered.
    const refused = await proposeFor();
    assert.deepEqual(refused.files, []);
    assert.match(refused.unresolved[0]?.reason ?? '', /would also change what chart search renders with values\.yaml \+ values-prod\.yaml; .*values-<env>\.yaml/);
    // Once prod sets the indexer's values itself, the default is this environment's alone.
    writeFileSync(path.join(dir, 'search', 'values-prod.yaml'), `${readFileSync(path.join(dir, 'search', 'values-prod.yaml'), 'utf8')}indexer:\n  resources:\n    requests: {cpu: 200m, memory: 128Mi}\n`);
    const plan = await proposeFor();
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.deepEqual(plan.files.map((file) => file.path), ['search/values.yaml']);
    assert.match(plan.files[0]?.after ?? '', /requests: \{ ?cpu: 50m, memory: 128Mi ?\}/);
  });
});

describe('session: a Flux HelmRelease workload blocked from a direct patch names its values file', function () {
  this.timeout(120_000);
  let f: SessionFixture | undefined;
  let dir: string;
  afterEach(async () => {
    await f?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the blocked reason points at search/values-prod.yaml (rendered with helm), the cluster stays untouched', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-helm-ws-'));
    cpSync(fixture, dir, { recursive: true });
    f = await startSessionFixture({ settings: { helmPath: builtHelm() }, session: { workspace: { folders: () => [dir], writer: fileManifestWriter() } } });
    const { reportId } = await f.session.loadReport(writeGitOpsReport(dir), { type: 'human', via: 'test' });
    const writes = f.cluster.writes().length;
    const plan = await f.session.propose({ reportId, workloads: [gitopsWorkloads.search] }, { type: 'model', via: 'test-client' });
    assert.deepEqual(plan.objects, []);
    const reasons = plan.blocked[0]?.reasons.join(' ') ?? '';
    assert.match(reasons, /reconciled from Git by Flux HelmRelease flux-system\/search/);
    assert.match(reasons, /Its source in the workspace: [^ ]+\/search\/values-prod\.yaml \(Helm chart search\)/);
    assert.equal(f.cluster.writes().length, writes);
    assert.equal(readFileSync(path.join(dir, 'search', 'values-prod.yaml'), 'utf8'), readFileSync(path.join(fixture, 'search', 'values-prod.yaml'), 'utf8'), 'nothing written to the workspace');
  });

  it('an untrusted workspace: a cluster proposal of a GitOps-owned workload renders nothing in it (no helm, no kubectl kustomize)', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-helm-ws-'));
    cpSync(fixture, dir, { recursive: true });
    // A helm that records that it ran: the untrusted workspace's charts must never reach it.
    const marker = path.join(dir, '..', `${path.basename(dir)}-helm-ran`);
    const recordingHelm = path.join(dir, '..', `${path.basename(dir)}-helm`);
    writeFileSync(recordingHelm, `#!/bin/sh\necho ran >> '${marker}'\nexec '${builtHelm()}' "$@"\n`, { mode: 0o755 });
    try {
      f = await startSessionFixture({ settings: { helmPath: recordingHelm, workspaceTrusted: false }, session: { workspace: { folders: () => [dir], writer: fileManifestWriter() } } });
      const { reportId } = await f.session.loadReport(writeGitOpsReport(dir), { type: 'human', via: 'test' });
      const plan = await f.session.propose({ reportId, workloads: [gitopsWorkloads.search] }, { type: 'model', via: 'test-client' });
      const reasons = plan.blocked[0]?.reasons.join(' ') ?? '';
      assert.match(reasons, /reconciled from Git by Flux HelmRelease flux-system\/search/);
      assert.match(reasons, /did not look for its source in the workspace: the workspace is not trusted/);
      assert.doesNotMatch(reasons, /Its source in the workspace/);
      assert.equal(existsSync(marker), false, 'helm ran on an untrusted workspace');
    } finally {
      rmSync(recordingHelm, { force: true });
      rmSync(marker, { force: true });
    }
  });

  it('krr.helmPath is the user\'s: a workspace value is ignored (it decides what runs)', () => {
    const layers: Record<string, { globalValue?: unknown; workspaceValue?: unknown }> = { helmPath: { workspaceValue: './tools/helm-wrapper' } };
    const settings = readSessionSettings((key) => layers[key]?.workspaceValue, true, (key) => layers[key]);
    assert.equal(settings.helmPath, 'helm');
  });
});
