// Helm values discovery (src/core/gitops/helm.ts) on the fixture chart test/fixtures/gitops/helm/search, with a real
// helm built from its Go module (npm run helm:build), and by convention (a guess) when helm cannot be run.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileManifestWriter } from '../../src/core/gitops/apply';
import { helmFinder, helmKubeVersion } from '../../src/core/gitops/helm';
import { kustomizeFinder } from '../../src/core/gitops/kustomize';
import { plainManifestFinder } from '../../src/core/gitops/manifests';
import { proposeManifestPlan } from '../../src/core/gitops/propose';
import { workspaceFolders } from '../../src/core/gitops/workspace';
import type { DesiredResources } from '../../src/core/plan/build';
import { parseSessionSettings } from '../../src/core/settings';
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

  it('allowLimitRemoval: a CPU limit values.yaml sets is removed for prod alone by a null in values-prod.yaml (Helm drops the default); helm renders no CPU limit there, values.yaml alone still has it', async () => {
    const helm = builtHelm();
    const folders = await workspaceFolders([dir]);
    const removal = { ...target, desired: new Map<string, DesiredResources>([['search', { requests: {}, limits: { cpu: null } }]]) };
    const plan = await proposeManifestPlan([removal], { folders, kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: 'prod-eu-1', finders: [helmFinder({ helmPath: helm })] });
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.deepEqual(plan.workloads[0]?.changes.map((change) => `${change.allocation}.${change.resource} ${change.from} -> ${change.to}`), ['limits.cpu 500m -> null']);
    assert.deepEqual(plan.files.map((file) => file.path), ['search/values-prod.yaml']);
    const before = readFileSync(path.join(dir, 'search', 'values-prod.yaml'), 'utf8');
    assert.equal(plan.files[0]?.after, before.replace('    limits:\n      memory: 1Gi', '    limits:\n      memory: 1Gi\n      cpu: null'));
    writeFileSync(path.join(dir, 'search', 'values-prod.yaml'), plan.files[0]?.after ?? '');
    const render = (...files: string[]) => execFileSync(helm, ['template', 'search', path.join(dir, 'search'), ...files.flatMap((file) => ['-f', path.join(dir, 'search', file)])], { encoding: 'utf8' });
    assert.match(render('values.yaml', 'values-prod.yaml'), /name: search\n[\s\S]*?resources:\n\s+limits:\n\s+memory: 1Gi\n\s+requests:/);
    assert.match(render('values.yaml'), /name: search\n[\s\S]*?resources:\n\s+limits:\n\s+cpu: 500m\n/);
  });

  it('without helm: the conventional search.resources block, marked as a guess', async () => {
    const folders = await workspaceFolders([dir]);
    const plan = await proposeManifestPlan([target], { folders, kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: 'prod-eu-1', finders: [helmFinder({ helmPath: path.join(dir, 'no-such-helm') })] });
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.equal(plan.workloads[0]?.source.guess, true);
    assert.match(plan.workloads[0]?.source.label ?? '', /a guess: helm is not installed \(or older than 3\.16\), so the chart could not be rendered to check it; the workload is named after the release search/);
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

describe('Helm without helm: an unrelated chart beside other sources (issue 24)', function () {
  this.timeout(120_000);
  let dir: string;
  let repo: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-helm-unrelated-'));
    repo = path.join(dir, 'repo');
    cpSync(path.resolve(__dirname, '..', 'fixtures', 'gitops', 'kustomize'), repo, { recursive: true });
    // A single-workload chart with a top-level `resources:`, rendering a Deployment named after its release.
    mkdirSync(path.join(repo, 'charts/cache/templates'), { recursive: true });
    writeFileSync(path.join(repo, 'charts/cache/Chart.yaml'), 'apiVersion: v2\nname: cache\nversion: 0.1.0\n');
    writeFileSync(path.join(repo, 'charts/cache/values.yaml'), 'resources:\n  requests:\n    cpu: 100m\n');
    writeFileSync(path.join(repo, 'charts/cache/templates/deployment.yaml'), ['apiVersion: apps/v1', 'kind: Deployment', 'metadata:', '  name: {{ .Release.Name }}', 'spec:', '  template:', '    spec:', '      containers:', '        - name: cache', '          image: redis:7', '          resources:', '            {{- toYaml .Values.resources | nindent 12 }}', ''].join('\n'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const finders = () => [plainManifestFinder, kustomizeFinder, helmFinder({ helmPath: path.join(dir, 'no-such-helm') })];
  const workerTarget = { namespace: 'prod', kind: 'Deployment' as const, name: 'worker', group: 'apps', context: null, desired: new Map<string, DesiredResources>([['worker', { requests: { cpu: '250m' }, limits: {} }]]) };

  it('a single-container workload of a kustomization is not claimed by the chart (no evidence it renders it), so it is not ambiguous', async () => {
    const plan = await proposeManifestPlan([workerTarget], { folders: await workspaceFolders([repo]), kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: null, finders: finders() });
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.equal(plan.workloads[0]?.source.label, 'repo/overlays/prod (Kustomize)');
  });

  it('a workload found nowhere: the chart\'s templates are not listed as "not valid YAML"', async () => {
    const plan = await proposeManifestPlan([{ ...workerTarget, name: 'ghost' }], { folders: await workspaceFolders([repo]), kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: null, finders: finders() });
    assert.match(plan.unresolved[0]?.reason ?? '', /no manifest in the workspace folders \(repo\) defines Deployment prod\/ghost/);
    assert.doesNotMatch(plan.unresolved[0]?.candidates.join('\n') ?? '', /templates\/deployment\.yaml/);
    // A file that really is not YAML still is.
    writeFileSync(path.join(repo, 'broken.yaml'), 'kind: Deployment\nmetadata: {name: ghost\n');
    const again = await proposeManifestPlan([{ ...workerTarget, name: 'ghost' }], { folders: await workspaceFolders([repo]), kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: null, finders: finders() });
    assert.match(again.unresolved[0]?.candidates.join('\n') ?? '', /broken\.yaml is not valid YAML/);
  });

  it('the chart is still a (guessed) candidate for the workload named after its release', async () => {
    const plan = await proposeManifestPlan([{ ...workerTarget, namespace: 'default', name: 'cache', desired: new Map<string, DesiredResources>([['cache', { requests: { cpu: '50m' }, limits: {} }]]) }], { folders: await workspaceFolders([repo]), kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: null, finders: finders() });
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.equal(plan.workloads[0]?.source.guess, true);
    assert.deepEqual(plan.files.map((file) => file.path), ['charts/cache/values.yaml']);
  });
});

describe('Helm renders for the cluster\'s Kubernetes version, and its own error is shown (issue 24)', function () {
  this.timeout(120_000);
  let dir: string;
  let f: SessionFixture | undefined;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-helm-version-'));
  });
  afterEach(async () => {
    await f?.close();
    f = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** A helm that records its arguments and fails the way helm does for a chart whose kubeVersion does not match. */
  function failingHelm(): { helm: string; calls: () => string } {
    const helm = path.join(dir, 'helm');
    const calls = path.join(dir, 'helm-calls');
    writeFileSync(helm, `#!/bin/sh\necho "$*" >> '${calls}'\necho 'Error: chart requires kubeVersion: >=1.25.0-0 which is incompatible with Kubernetes v1.20.0' >&2\nexit 1\n`, { mode: 0o755 });
    return { helm, calls: () => (existsSync(calls) ? readFileSync(calls, 'utf8') : '') };
  }

  it('the version from a setting or an API server\'s gitVersion: major.minor.patch only (a pre-release fails `>=1.25.0`)', () => {
    assert.equal(helmKubeVersion('1.31'), 'v1.31.0');
    assert.equal(helmKubeVersion('v1.30.4-gke.1348000'), 'v1.30.4');
    assert.equal(helmKubeVersion('v1.32.4+k3s1'), 'v1.32.4');
    assert.equal(helmKubeVersion('latest'), null);
    assert.equal(helmKubeVersion(undefined), null);
    assert.equal(parseSessionSettings({ gitops: { kubeVersion: 'v1.31.2' } }).gitops.kubeVersion, 'v1.31.2');
    assert.throws(() => parseSessionSettings({ gitops: { kubeVersion: '1.31; rm -rf /' } }), /Setting krr\.gitops\.kubeVersion is invalid: a Kubernetes version such as 1\.31/);
    const layers: Record<string, unknown> = { 'gitops.kubeVersion': '1.30' };
    assert.equal(readSessionSettings((key) => layers[key], true).gitops.kubeVersion, '1.30');
  });

  it('a chart that helm cannot render: the refusal carries helm\'s own error, and the chart was rendered for the version asked', async () => {
    cpSync(fixture, path.join(dir, 'repo'), { recursive: true });
    const { helm, calls } = failingHelm();
    const plan = await proposeManifestPlan([target], { folders: await workspaceFolders([path.join(dir, 'repo')]), kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: 'prod-eu-1', finders: [helmFinder({ helmPath: helm, kubeVersion: '1.31' })] });
    assert.equal(plan.files.length, 0);
    assert.match(plan.unresolved[0]?.reason ?? '', /the Helm chart repo\/search \(release search\) may render Deployment gitops\/search, but it could not be rendered, so KRR cannot tell which source decides it: helm template search failed: Error: chart requires kubeVersion: >=1\.25\.0-0 which is incompatible with Kubernetes v1\.20\.0; it was rendered for Kubernetes v1\.31\.0$/);
    assert.match(calls(), /--kube-version v1\.31\.0/);
  });

  it('with helm: a chart that declares `kubeVersion` renders for the version asked; for an older one, helm\'s own error is the refusal', async () => {
    const helm = builtHelm();
    const repo = path.join(dir, 'repo');
    cpSync(fixture, repo, { recursive: true });
    writeFileSync(path.join(repo, 'search/Chart.yaml'), `${readFileSync(path.join(repo, 'search/Chart.yaml'), 'utf8')}kubeVersion: ">=1.25.0-0"\n`);
    const propose = async (kubeVersion: string) => proposeManifestPlan([target], { folders: await workspaceFolders([repo]), kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: 'prod-eu-1', finders: [helmFinder({ helmPath: helm, kubeVersion })] });
    const plan = await propose('v1.31.2-eks.1');
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.equal(plan.workloads[0]?.source.guess, false);
    assert.deepEqual(plan.files.map((file) => file.path), ['search/values-prod.yaml']);
    const old = await propose('1.24');
    assert.equal(old.files.length, 0);
    assert.match(old.unresolved[0]?.reason ?? '', /could not be rendered, so KRR cannot tell which source decides it: helm template search failed: Error: chart requires kubeVersion: >=1\.25\.0-0 which is incompatible with Kubernetes v1\.24\.0; it was rendered for Kubernetes v1\.24\.0$/);
    assert.doesNotMatch(old.unresolved[0]?.candidates.join('\n') ?? '', /not valid YAML/);
  });

  it('the session renders for the context\'s server version once KRR has read it, and krr.gitops.kubeVersion wins', async () => {
    const repo = path.join(dir, 'repo');
    cpSync(fixture, repo, { recursive: true });
    const { helm, calls } = failingHelm();
    f = await startSessionFixture({ cluster: { light: true }, settings: { helmPath: helm }, session: { workspace: { folders: () => [repo], writer: fileManifestWriter() } } });
    const person = { type: 'human' as const, via: 'test' };
    const { reportId } = await f.session.loadReport(writeGitOpsReport(dir), person);
    const selection = { reportId, workloads: [gitopsWorkloads.search], target: 'manifests' as const };
    const unknown = await f.session.proposeManifests(selection, person);
    assert.match(unknown.unresolved[0]?.reason ?? '', /rendered for Kubernetes helm's default version — set krr\.gitops\.kubeVersion to the cluster's version \(or call krr_status, which reads it\)$/);
    assert.doesNotMatch(calls(), /--kube-version/);
    await f.session.status();
    await f.session.proposeManifests(selection, person);
    assert.match(calls().split('\n').at(-2) ?? '', /--kube-version v1\.32\.4/);
    f.settings = parseSessionSettings({ ...f.settings, gitops: { ...f.settings.gitops, kubeVersion: '1.29' } });
    await f.session.proposeManifests(selection, person);
    assert.match(calls().split('\n').at(-2) ?? '', /--kube-version v1\.29\.0/);
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
