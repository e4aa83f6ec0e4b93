// GitOps Helm sources (issue 24): a Flux HelmRelease's values (src/core/gitops/helmRelease.ts), an Argo CD
// Application's Helm values (argoApplication.ts), and the live object's owner picking the source (ownerChoice.ts).
// Small layouts modeled on the real ones in ../shared/gitops/repos (flux2-general, gitops-promoter-demo), and the real
// gitops-promoter-demo itself, copied to a temp dir. Rendered with the real helm (npm run helm:build) and kubectl.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { argoApplicationFinder } from '../../src/core/gitops/argoApplication';
import { helmFinder } from '../../src/core/gitops/helm';
import { helmReleaseFinder } from '../../src/core/gitops/helmRelease';
import { kustomizeFinder } from '../../src/core/gitops/kustomize';
import { plainManifestFinder } from '../../src/core/gitops/manifests';
import type { WorkloadTarget } from '../../src/core/gitops/model';
import { normalizeRepoUrl } from '../../src/core/gitops/gitopsObjects';
import { chooseCandidates } from '../../src/core/gitops/ownerChoice';
import { proposeManifestPlan } from '../../src/core/gitops/propose';
import { workspaceFolders } from '../../src/core/gitops/workspace';
import type { DesiredResources } from '../../src/core/plan/build';
import { fileManifestWriter } from '../../src/core/gitops/apply';
import { gitopsWorkloads, writeGitOpsReport } from '../support/gitops-report';
import { startSessionFixture, type SessionFixture } from '../support/session-fixture';

const repoRoot = path.resolve(__dirname, '..', '..');
/**
 * The real layouts beside the repository (../shared/gitops/repos), never copied into it; a git worktree one level
 * deeper (../../shared) finds them too. Missing, the tests fail rather than pass without them.
 */
function realRepos(): string {
  const candidates = [path.resolve(repoRoot, '..', 'shared', 'gitops', 'repos'), path.resolve(repoRoot, '..', '..', 'shared', 'gitops', 'repos')];
  const found = candidates.find((candidate) => existsSync(candidate));
  assert.ok(found, `the real GitOps layouts are not at ${candidates.join(' or ')}`);
  return found;
}

/** The helm that `npm run helm:build` built; tests never build it themselves. */
function builtHelm(): string {
  const out = execFileSync('bash', [path.resolve(__dirname, '..', 'helm', 'build.sh'), '--cached-only'], { encoding: 'utf8' }).trim().split('\n').at(-1) as string;
  return path.join(out, 'helm');
}

const human = { type: 'human' as const, via: 'test' };

function write(root: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), text);
  }
}

function finders(helm: string) {
  return [plainManifestFinder, kustomizeFinder, helmFinder({ helmPath: helm }), helmReleaseFinder({ helmPath: helm }), argoApplicationFinder({ helmPath: helm })];
}

function target(namespace: string, name: string, container: string, desired: DesiredResources, extra: Partial<WorkloadTarget> = {}): WorkloadTarget {
  return { namespace, kind: 'Deployment', name, group: 'apps', context: null, desired: new Map([[container, desired]]), ...extra };
}

async function propose(dir: string, targets: WorkloadTarget[], helm: string, context: string | null = null) {
  return proposeManifestPlan(targets, { folders: await workspaceFolders([dir]), kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context, finders: finders(helm) });
}

/** The plan's files written into the folder (as an approved apply would). */
function applyFiles(dir: string, files: ReadonlyArray<{ path: string; after: string }>): void {
  for (const file of files) write(dir, { [file.path]: file.after });
}

/** Every object `kubectl kustomize` renders for a directory, as canonical JSON lines (sorted). */
function kustomized(dir: string): unknown[] {
  return parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })).map((document) => document.toJS() as unknown);
}

/** The Deployment `name` of `helm template` with the given values, its first container's resources. */
function renderedResources(helm: string, chart: string, release: string, namespace: string, values: unknown[], name = release): unknown {
  const files = values.map((value, index) => {
    const file = path.join(chart, '..', `.values-${index}.json`);
    writeFileSync(file, JSON.stringify(value));
    return file;
  });
  const out = execFileSync(helm, ['template', release, chart, '--namespace', namespace, ...files.flatMap((file) => ['-f', file])], { encoding: 'utf8' });
  for (const file of files) rmSync(file);
  const deployment = parseAllDocuments(out).map((document) => document.toJS() as { kind?: string; metadata?: { name?: string }; spec?: { template?: { spec?: { containers?: Array<{ resources?: unknown }> } } } }).find((object) => object?.kind === 'Deployment' && object.metadata?.name === name);
  return deployment?.spec?.template?.spec?.containers?.[0]?.resources;
}

/** A chart with a `web.resources` key and a Service (an object other than the workload, which must stay as it was). */
const webChart = {
  'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
  'charts/web/values.yaml': '# Defaults of every environment\nreplicaCount: 1\nweb:\n  resources:\n    requests:\n      cpu: 100m\n      memory: 64Mi\n',
  'charts/web/templates/deployment.yaml': [
    'apiVersion: apps/v1', 'kind: Deployment', 'metadata:', '  name: {{ .Release.Name }}', 'spec:', '  replicas: {{ .Values.replicaCount }}', '  selector:', '    matchLabels: {app: {{ .Release.Name }}}', '  template:', '    metadata:', '      labels: {app: {{ .Release.Name }}}', '    spec:', '      containers:', '        - name: web', '          image: nginx:1.27', '          resources:', '            {{- toYaml .Values.web.resources | nindent 12 }}', '',
  ].join('\n'),
  'charts/web/templates/service.yaml': ['apiVersion: v1', 'kind: Service', 'metadata:', '  name: {{ .Release.Name }}', 'spec:', '  selector: {app: {{ .Release.Name }}}', '  ports: [{port: 80}]', ''].join('\n'),
};

/** Flux: a base HelmRelease of the in-repo chart, a staging overlay patching its values, a production overlay without. */
const fluxLayout = {
  ...webChart,
  'apps/base/web/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - release.yaml\n',
  'apps/base/web/release.yaml': [
    'apiVersion: helm.toolkit.fluxcd.io/v2', 'kind: HelmRelease', 'metadata:', '  name: web', '  namespace: web', 'spec:', '  interval: 10m', '  chart:', '    spec:', '      chart: ./charts/web', '      sourceRef:', '        kind: GitRepository', '        name: flux-system', '        namespace: flux-system', '  values:', '    replicaCount: 1', '',
  ].join('\n'),
  'apps/staging/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/web\npatches:\n  - path: web-values.yaml\n',
  'apps/staging/web-values.yaml': [
    '# Staging values', 'apiVersion: helm.toolkit.fluxcd.io/v2', 'kind: HelmRelease', 'metadata:', '  name: web', '  namespace: web', 'spec:', '  values:', '    web:', '      resources:', '        requests:', '          cpu: 150m # staging', '          memory: 96Mi', '',
  ].join('\n'),
  'apps/production/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/web\n',
  'clusters/staging/apps.yaml': 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  path: ./apps/staging\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n',
};

const webDesired: DesiredResources = { requests: { cpu: '300m', memory: '128Mi' }, limits: {} };

describe('Flux HelmRelease: spec.values of the environment\'s HelmRelease, checked by rendering the chart (issue 24)', function () {
  this.timeout(180_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-helmrelease-'));
    write(dir, fluxLayout);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('staging: its own values patch is edited byte-preservingly; the chart renders the recommended values; production renders as before', async () => {
    const helm = builtHelm();
    const productionBefore = kustomized(path.join(dir, 'apps/production'));
    const plan = await propose(dir, [target('web', 'web', 'web', webDesired, { context: 'staging-eu-1' })], helm, 'staging-eu-1');
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.equal(plan.workloads[0]?.source.finder, 'helmrelease');
    assert.match(plan.workloads[0]?.source.label ?? '', /apps\/staging \(Flux HelmRelease web\/web\)$/);
    assert.equal(plan.workloads[0]?.source.guess, false);
    assert.deepEqual(plan.files.map((file) => file.path), ['apps/staging/web-values.yaml']);
    const file = plan.files[0];
    assert.ok(file);
    assert.equal(file.after, fluxLayout['apps/staging/web-values.yaml'].replace('cpu: 150m # staging', 'cpu: 300m # staging').replace('memory: 96Mi', 'memory: 128Mi'));
    assert.deepEqual(plan.workloads[0]?.changes.map((change) => `${change.resource} ${change.from} -> ${change.to}`), ['cpu 150m -> 300m', 'memory 96Mi -> 128Mi']);
    applyFiles(dir, plan.files);
    // Independently: the staging HelmRelease as kustomize renders it, its values through the real chart.
    const release = kustomized(path.join(dir, 'apps/staging')).find((object) => (object as { kind?: string }).kind === 'HelmRelease') as { spec: { values: unknown } };
    assert.deepEqual(renderedResources(helm, path.join(dir, 'charts/web'), 'web', 'web', [release.spec.values]), { requests: { cpu: '300m', memory: '128Mi' } });
    assert.deepEqual(kustomized(path.join(dir, 'apps/production')), productionBefore);
  });

  it('production (the base is shared): a new patch of the HelmRelease\'s spec.values in the overlay; the base and staging stay', async () => {
    const helm = builtHelm();
    const stagingBefore = kustomized(path.join(dir, 'apps/staging'));
    const plan = await propose(dir, [target('web', 'web', 'web', webDesired, { context: 'production-1' })], helm, 'production-1');
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.deepEqual(plan.files.map((file) => file.path).sort(), ['apps/production/krr-helmrelease-web-values.yaml', 'apps/production/kustomization.yaml']);
    assert.equal(plan.files.find((file) => file.path === 'apps/production/kustomization.yaml')?.after, `${fluxLayout['apps/production/kustomization.yaml']}patches:\n  - path: krr-helmrelease-web-values.yaml\n`);
    assert.match(plan.workloads[0]?.notes.join('\n') ?? '', /created apps\/production\/krr-helmrelease-web-values\.yaml, a patch of HelmRelease web's spec\.values/);
    applyFiles(dir, plan.files);
    const release = kustomized(path.join(dir, 'apps/production')).find((object) => (object as { kind?: string }).kind === 'HelmRelease') as { spec: { values: unknown } };
    assert.deepEqual(release.spec.values, { replicaCount: 1, web: { resources: { requests: { cpu: '300m', memory: '128Mi' } } } });
    assert.deepEqual(renderedResources(helm, path.join(dir, 'charts/web'), 'web', 'web', [release.spec.values]), { requests: { cpu: '300m', memory: '128Mi' } });
    assert.deepEqual(kustomized(path.join(dir, 'apps/staging')), stagingBefore);
    assert.equal(readFileSync(path.join(dir, 'apps/base/web/release.yaml'), 'utf8'), fluxLayout['apps/base/web/release.yaml']);
  });

  it('two environments and no context naming one: refused as ambiguous, both named; the owner\'s Flux Kustomization picks staging', async () => {
    const helm = builtHelm();
    const ambiguous = await propose(dir, [target('web', 'web', 'web', webDesired)], helm);
    assert.deepEqual(ambiguous.files, []);
    assert.match(ambiguous.unresolved[0]?.reason ?? '', /2 sources could define Deployment web\/web; KRR does not pick one/);
    assert.deepEqual([...(ambiguous.unresolved[0]?.candidates ?? [])].sort(), [`${path.basename(dir)}/apps/production (Flux HelmRelease web/web)`, `${path.basename(dir)}/apps/staging (Flux HelmRelease web/web)`]);
    // The live object says Flux Kustomization flux-system/apps deployed it; clusters/staging/apps.yaml says from ./apps/staging.
    const owner = { tool: 'flux-kustomize' as const, name: 'apps', namespace: 'flux-system', evidence: ['label kustomize.toolkit.fluxcd.io/name=apps'], confidence: 'certain' as const };
    const plan = await propose(dir, [target('web', 'web', 'web', webDesired, { owner, context: 'production-1' })], helm, 'production-1');
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.deepEqual(plan.files.map((file) => file.path), ['apps/staging/web-values.yaml']);
    assert.match(plan.workloads[0]?.notes.join('\n') ?? '', /chosen by the live object's owner, Flux Kustomization flux-system\/apps \(deployed from apps\/staging\)/);
  });

  it('allowLimitRemoval: the CPU limit staging\'s values patch sets is removed from it (the line goes); the chart renders no CPU limit; production renders as before', async () => {
    const helm = builtHelm();
    const patchFile = path.join(dir, 'apps/staging/web-values.yaml');
    const original = readFileSync(patchFile, 'utf8').replace('          memory: 96Mi\n', '          memory: 96Mi\n        limits:\n          cpu: 400m # staging cap\n          memory: 192Mi\n');
    writeFileSync(patchFile, original);
    const productionBefore = kustomized(path.join(dir, 'apps/production'));
    const plan = await propose(dir, [target('web', 'web', 'web', { requests: {}, limits: { cpu: null } }, { context: 'staging-eu-1' })], helm, 'staging-eu-1');
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.equal(plan.workloads[0]?.source.finder, 'helmrelease');
    assert.deepEqual(plan.files.map((file) => file.path), ['apps/staging/web-values.yaml']);
    assert.equal(plan.files[0]?.after, original.replace('          cpu: 400m # staging cap\n', ''));
    applyFiles(dir, plan.files);
    const release = kustomized(path.join(dir, 'apps/staging')).find((object) => (object as { kind?: string }).kind === 'HelmRelease') as { spec: { values: unknown } };
    assert.deepEqual(renderedResources(helm, path.join(dir, 'charts/web'), 'web', 'web', [parse(readFileSync(path.join(dir, 'charts/web/values.yaml'), 'utf8')), release.spec.values]), { requests: { cpu: '150m', memory: '96Mi' }, limits: { memory: '192Mi' } });
    assert.deepEqual(kustomized(path.join(dir, 'apps/production')), productionBefore);
  });

  it('a chart from a HelmRepository (not in the workspace): spec.values.<component>.resources by convention, said to be a guess that could not be rendered', async () => {
    const helm = builtHelm();
    write(dir, {
      'clusters/dev/cache/redis.yaml': [
        '---', 'apiVersion: helm.toolkit.fluxcd.io/v2beta1', 'kind: HelmRelease', 'metadata:', '  name: redis', '  namespace: cache', 'spec:', '  releaseName: redis', '  chart:', '    spec:', '      chart: redis', '      sourceRef:', '        kind: HelmRepository', '        name: bitnami-oci', '        namespace: flux-system', '  values:', '    architecture: standalone', '    master:', '      resources:', '        requests:', '          cpu: 100m', '',
      ].join('\n'),
    });
    const plan = await propose(dir, [{ ...target('cache', 'redis-master', 'redis', { requests: { cpu: '250m' }, limits: {} }), kind: 'StatefulSet' }], helm);
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.equal(plan.workloads[0]?.source.guess, true);
    assert.match(plan.workloads[0]?.source.label ?? '', /clusters\/dev\/cache\/redis\.yaml \(Flux HelmRelease cache\/redis\); a guess: the chart could not be rendered: the chart redis comes from HelmRepository bitnami-oci, not from the workspace/);
    assert.match(plan.workloads[0]?.notes.join('\n') ?? '', /could not be rendered .*KRR wrote spec\.values\.<key>\.resources by convention and could not check what the chart makes of it/);
    assert.deepEqual(plan.files.map((file) => file.path), ['clusters/dev/cache/redis.yaml']);
    assert.ok(plan.files[0]?.after.includes('    master:\n      resources:\n        requests:\n          cpu: 250m\n'), plan.files[0]?.after);
  });

  it('a remote chart whose values name no key yet: the chart\'s naming convention picks it (redis-master → master, redis-replicas → replica, <release>-<chart> → top level); two keys that fit are refused', async () => {
    const helm = builtHelm();
    const release = (name: string, namespace: string, chart: string, values: string[]) => [
      'apiVersion: helm.toolkit.fluxcd.io/v2', 'kind: HelmRelease', 'metadata:', `  name: ${name}`, `  namespace: ${namespace}`, 'spec:', '  chart:', '    spec:', `      chart: ${chart}`, '      sourceRef:', '        kind: HelmRepository', '        name: charts', '  values:', ...values, '',
    ].join('\n');
    write(dir, {
      'clusters/dev/cache/redis.yaml': release('redis', 'cache', 'redis', ['    architecture: replication # both', '    auth:', '      enabled: false']),
      // Released as `queue`, chart rabbitmq: the fullname is queue-rabbitmq.
      'clusters/dev/queue/queue.yaml': release('queue', 'queue', 'oci://registry.example/charts/rabbitmq', ['    replicaCount: 1']),
      // Both `replica` and `replicas` hold settings: which one configures the replicas is not known without the chart.
      'clusters/dev/kv/kv.yaml': release('kv', 'kv', 'valkey', ['    replica:', '      persistence: {}', '    replicas:', '      count: 2']),
    });
    const statefulSet = (namespace: string, name: string, container: string, desired: DesiredResources) => ({ ...target(namespace, name, container, desired), kind: 'StatefulSet' as const });
    const plan = await propose(dir, [
      statefulSet('cache', 'redis-master', 'redis', { requests: { cpu: '250m', memory: '256Mi' }, limits: {} }),
      statefulSet('cache', 'redis-replicas', 'redis', { requests: { cpu: '150m' }, limits: {} }),
      statefulSet('queue', 'queue-rabbitmq', 'rabbitmq', { requests: { cpu: '400m' }, limits: {} }),
      statefulSet('kv', 'kv-replicas', 'valkey', { requests: { cpu: '100m' }, limits: {} }),
      // Named after no release: no HelmRelease claims it.
      statefulSet('cache', 'sentinel', 'sentinel', { requests: { cpu: '100m' }, limits: {} }),
    ], helm);
    assert.deepEqual(plan.workloads.map((workload) => workload.name), ['redis-master', 'redis-replicas', 'queue-rabbitmq']);
    for (const workload of plan.workloads) {
      assert.equal(workload.source.guess, true);
      assert.match(workload.notes.join('\n'), /could not be rendered .*could not check what the chart makes of it/);
    }
    assert.match(plan.workloads[0]?.source.label ?? '', /named redis-master \(the chart's fullname for release redis, then the component master\), so by the charts' naming convention its values are master\.resources for container redis/);
    assert.match(plan.workloads[2]?.source.label ?? '', /named queue-rabbitmq \(the chart's fullname for release queue\), so by the charts' naming convention its values are resources for container rabbitmq/);
    const redis = parse(plan.files.find((file) => file.path === 'clusters/dev/cache/redis.yaml')?.after ?? '') as { spec: { values: Record<string, unknown> } };
    assert.deepEqual(redis.spec.values, { architecture: 'replication', auth: { enabled: false }, master: { resources: { requests: { cpu: '250m', memory: '256Mi' } } }, replica: { resources: { requests: { cpu: '150m' } } } });
    // Byte for byte elsewhere: the comment and the lines before stay.
    assert.ok(plan.files.find((file) => file.path === 'clusters/dev/cache/redis.yaml')?.after.startsWith(readFileSync(path.join(dir, 'clusters/dev/cache/redis.yaml'), 'utf8').trimEnd()));
    const queue = parse(plan.files.find((file) => file.path === 'clusters/dev/queue/queue.yaml')?.after ?? '') as { spec: { values: Record<string, unknown> } };
    assert.deepEqual(queue.spec.values, { replicaCount: 1, resources: { requests: { cpu: '400m' } } });
    const kv = plan.unresolved.find((workload) => workload.name === 'kv-replicas');
    assert.match(kv?.reason ?? '', /several values keys fit StatefulSet kv\/kv-replicas: replica\.resources, replicas\.resources; KRR does not pick one/);
    assert.match(plan.unresolved.find((workload) => workload.name === 'sentinel')?.reason ?? '', /no manifest in the workspace folders .* defines StatefulSet cache\/sentinel/);
  });

  it('valuesFrom: a ConfigMap of the repository is read (a value it already holds is not written); spec.values, which wins, gets the rest', async () => {
    const helm = builtHelm();
    write(dir, {
      'deploy/api.yaml': [
        'apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: api-values', '  namespace: api', 'data:', '  values.yaml: |', '    web:', '      resources:', '        requests:', '          memory: 200Mi', '---',
        'apiVersion: helm.toolkit.fluxcd.io/v2', 'kind: HelmRelease', 'metadata:', '  name: api', '  namespace: api', 'spec:', '  chart:', '    spec:', '      chart: ./charts/web', '      sourceRef:', '        kind: GitRepository', '        name: flux-system', '  valuesFrom:', '    - kind: ConfigMap', '      name: api-values', '  values:', '    replicaCount: 2', '',
      ].join('\n'),
    });
    const plan = await propose(dir, [target('api', 'api', 'web', { requests: { cpu: '300m', memory: '200Mi' }, limits: {} })], helm);
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.deepEqual(plan.workloads[0]?.changes.map((change) => `${change.resource} ${change.from} -> ${change.to}`), ['cpu 100m -> 300m']);
    const after = plan.files[0]?.after ?? '';
    const release = parseAllDocuments(after)[1]?.toJS() as { spec: { values: unknown } };
    assert.deepEqual(release.spec.values, { replicaCount: 2, web: { resources: { requests: { cpu: '300m' } } } });
    assert.deepEqual(renderedResources(helm, path.join(dir, 'charts/web'), 'api', 'api', [{ web: { resources: { requests: { memory: '200Mi' } } } }, release.spec.values]), { requests: { cpu: '300m', memory: '200Mi' } });
  });
});

/** Argo CD: Applications written in files, rendering one in-repo chart per environment (as gitops-promoter-demo does). */
const argoLayout = {
  'charts/shop/Chart.yaml': 'apiVersion: v2\nname: shop\nversion: 0.1.0\n',
  'charts/shop/values.yaml': 'replicaCount: 1\nresources:\n  requests:\n    cpu: 10m\n    memory: 16Mi\n  limits:\n    memory: 64Mi\n',
  'charts/shop/templates/deployment.yaml': ['apiVersion: apps/v1', 'kind: Deployment', 'metadata:', '  name: {{ .Release.Name }}', 'spec:', '  replicas: {{ .Values.replicaCount }}', '  selector:', '    matchLabels: {app: shop}', '  template:', '    metadata:', '      labels: {app: shop}', '    spec:', '      containers:', '        - name: shop', '          image: nginx:1.27', '          resources:', '            {{- toYaml .Values.resources | nindent 12 }}', ''].join('\n'),
  'charts/shop/env/dev.yaml': '# dev\nreplicaCount: 1\n',
  'charts/shop/env/prod.yaml': '# prod\nreplicaCount: 2\n',
  'argocd/shop-dev.yaml': ['apiVersion: argoproj.io/v1alpha1', 'kind: Application', 'metadata:', '  name: shop', '  namespace: argocd', 'spec:', '  project: default', '  source:', '    repoURL: https://github.com/example/shop.git', '    path: charts/shop', '    helm:', '      valueFiles:', '        - env/dev.yaml', '  destination:', '    namespace: shop-dev', ''].join('\n'),
  'argocd/shop-prod.yaml': ['apiVersion: argoproj.io/v1alpha1', 'kind: Application', 'metadata:', '  name: shop-prod', '  namespace: argocd', 'spec:', '  source:', '    repoURL: https://github.com/example/shop.git', '    path: charts/shop', '    helm:', '      valueFiles:', '        - env/prod.yaml', '      valuesObject:', '        resources:', '          requests:', '            cpu: 200m', '  destination:', '    namespace: shop-prod', ''].join('\n'),
};

describe('Argo CD Application with an in-repo Helm source: its values for that environment (issue 24)', function () {
  this.timeout(180_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-argo-'));
    write(dir, argoLayout);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the environment\'s value file gets the block; the chart\'s own candidate (release named like the chart) gives way to the Application', async () => {
    const helm = builtHelm();
    const plan = await propose(dir, [target('shop-dev', 'shop', 'shop', { requests: { cpu: '40m', memory: '32Mi' }, limits: {} })], helm);
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.equal(plan.workloads[0]?.source.finder, 'argocd');
    assert.match(plan.workloads[0]?.source.label ?? '', /argocd\/shop-dev\.yaml \(Argo CD Application shop, chart charts\/shop\)$/);
    assert.deepEqual(plan.files.map((file) => file.path), ['charts/shop/env/dev.yaml']);
    assert.equal(plan.files[0]?.after, '# dev\nreplicaCount: 1\nresources:\n  requests:\n    cpu: 40m\n    memory: 32Mi\n');
    applyFiles(dir, plan.files);
    const values = (name: string) => parse(readFileSync(path.join(dir, 'charts/shop', name), 'utf8')) as unknown;
    assert.deepEqual(renderedResources(helm, path.join(dir, 'charts/shop'), 'shop', 'shop-dev', [values('env/dev.yaml')]), { requests: { cpu: '40m', memory: '32Mi' }, limits: { memory: '64Mi' } });
    assert.equal(readFileSync(path.join(dir, 'charts/shop/values.yaml'), 'utf8'), argoLayout['charts/shop/values.yaml']);
  });

  it('valuesObject that sets the value now is edited in the Application\'s file; the other documents and files stay', async () => {
    const helm = builtHelm();
    const plan = await propose(dir, [target('shop-prod', 'shop-prod', 'shop', { requests: { cpu: '500m', memory: '32Mi' }, limits: {} })], helm);
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.deepEqual(plan.files.map((file) => file.path), ['argocd/shop-prod.yaml']);
    assert.equal(plan.files[0]?.after, argoLayout['argocd/shop-prod.yaml'].replace('            cpu: 200m\n', '            cpu: 500m\n            memory: 32Mi\n'));
  });

  it('a value file two Applications list is not edited: the Application\'s own valuesObject gets the values', async () => {
    const helm = builtHelm();
    write(dir, { 'argocd/shop-dev2.yaml': argoLayout['argocd/shop-dev.yaml'].replace('name: shop\n', 'name: shop-dev2\n').replace('namespace: shop-dev\n', 'namespace: shop-dev2\n') });
    const plan = await propose(dir, [target('shop-dev', 'shop', 'shop', { requests: { cpu: '40m' }, limits: {} })], helm);
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.deepEqual(plan.files.map((file) => file.path), ['argocd/shop-dev.yaml']);
    assert.ok(plan.files[0]?.after.includes('      valueFiles:\n        - env/dev.yaml\n      valuesObject:\n        resources:\n          requests:\n            cpu: 40m\n'), plan.files[0]?.after);
  });

  it('a value file of another repository (the folder\'s remote is known): that Application is not read as a reader of it', async () => {
    const helm = builtHelm();
    write(dir, { '.git/config': '[remote "origin"]\n\turl = git@github.com:example/shop.git\n', 'argocd/mirror.yaml': argoLayout['argocd/shop-dev.yaml'].replace('name: shop\n', 'name: mirror\n').replace('github.com/example/shop.git', 'gitlab.com/other/shop.git').replace('namespace: shop-dev\n', 'namespace: mirror\n') });
    const plan = await propose(dir, [target('shop-dev', 'shop', 'shop', { requests: { cpu: '40m' }, limits: {} })], helm);
    assert.deepEqual(plan.files.map((file) => file.path), ['charts/shop/env/dev.yaml']);
    assert.equal(normalizeRepoUrl('git@github.com:example/shop.git'), normalizeRepoUrl('https://GitHub.com/example/shop/'));
  });
});

/**
 * Argo CD app-of-apps through Kustomize (the Argo CD docs' pattern; none of the six real layouts has it): the parent
 * Application points at argocd/<env>, a kustomization that includes the Application manifests of argocd/base and
 * patches them per environment (a name suffix, the destination, values). Each Application is the output of a
 * kustomization, not a file of its own.
 */
const kustomizedApps = {
  ...webChart,
  'argocd/base/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - web.yaml\n',
  'argocd/base/web.yaml': [
    'apiVersion: argoproj.io/v1alpha1', 'kind: Application', 'metadata:', '  name: web', '  namespace: argocd', 'spec:', '  project: default', '  source:', '    repoURL: https://github.com/example/apps.git', '    targetRevision: main', '    path: charts/web', '    helm:', '      valuesObject:', '        replicaCount: 1', '  destination:', '    server: https://kubernetes.default.svc', '    namespace: web', '',
  ].join('\n'),
  'argocd/staging/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base\nnameSuffix: -staging\npatches:\n  - path: web.yaml\n',
  'argocd/staging/web.yaml': [
    '# Staging: its own namespace, two replicas', 'apiVersion: argoproj.io/v1alpha1', 'kind: Application', 'metadata:', '  name: web', '  namespace: argocd', 'spec:', '  source:', '    helm:', '      valuesObject:', '        replicaCount: 2 # staging', '  destination:', '    namespace: web-staging', '',
  ].join('\n'),
  'argocd/production/kustomization.yaml': [
    'apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', 'resources:', '  - ../base', 'nameSuffix: -production', 'patches:', '  - target:', '      kind: Application', '      name: web', '    patch: |-', '      - op: replace', '        path: /spec/destination/namespace', '        value: web-production', '',
  ].join('\n'),
  // The parent: the app of apps, pointed at staging's kustomization.
  'argocd/root-staging.yaml': ['apiVersion: argoproj.io/v1alpha1', 'kind: Application', 'metadata:', '  name: apps-staging', '  namespace: argocd', 'spec:', '  project: default', '  source:', '    repoURL: https://github.com/example/apps.git', '    path: argocd/staging', '  destination:', '    server: https://kubernetes.default.svc', '    namespace: argocd', ''].join('\n'),
};

describe('Argo CD Applications that kustomizations render (app of apps through Kustomize): read as rendered, edited where that environment alone sets them (issue 24)', function () {
  this.timeout(180_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-argo-kustomize-'));
    write(dir, kustomizedApps);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('staging: its own patch of the Application gets helm.valuesObject.<key>.resources, byte for byte elsewhere; the chart renders the recommended values for release web-staging; base and production render as before', async () => {
    const helm = builtHelm();
    const before = { base: kustomized(path.join(dir, 'argocd/base')), production: kustomized(path.join(dir, 'argocd/production')) };
    const plan = await propose(dir, [target('web-staging', 'web-staging', 'web', { requests: { cpu: '250m', memory: '96Mi' }, limits: {} })], helm);
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.equal(plan.workloads[0]?.source.finder, 'argocd');
    assert.match(plan.workloads[0]?.source.label ?? '', /argocd\/staging \(kustomization, from argocd\/base\/web\.yaml\) \(Argo CD Application web-staging, chart charts\/web\)$/);
    assert.match(plan.workloads[0]?.notes.join('\n') ?? '', /edited helm\.valuesObject of Application web-staging in argocd\/staging\/web\.yaml \(the strategic-merge patch only argocd\/staging reads\)/);
    assert.deepEqual(plan.files.map((file) => file.path), ['argocd/staging/web.yaml']);
    assert.equal(plan.files[0]?.after, kustomizedApps['argocd/staging/web.yaml'].replace('        replicaCount: 2 # staging\n', '        replicaCount: 2 # staging\n        web:\n          resources:\n            requests:\n              cpu: 250m\n              memory: 96Mi\n'));
    applyFiles(dir, plan.files);
    const application = kustomized(path.join(dir, 'argocd/staging')).find((object) => (object as { kind?: string }).kind === 'Application') as { spec: { source: { helm: { valuesObject: unknown } } } };
    assert.deepEqual(renderedResources(helm, path.join(dir, 'charts/web'), 'web-staging', 'web-staging', [application.spec.source.helm.valuesObject]), { requests: { cpu: '250m', memory: '96Mi' } });
    assert.deepEqual(kustomized(path.join(dir, 'argocd/base')), before.base);
    assert.deepEqual(kustomized(path.join(dir, 'argocd/production')), before.production);
  });

  it('production (no patch of its own for the Application, the base file shared with staging): a new patch of its helm.valuesObject, listed in its kustomization; base and staging render as before', async () => {
    const helm = builtHelm();
    const before = { base: kustomized(path.join(dir, 'argocd/base')), staging: kustomized(path.join(dir, 'argocd/staging')) };
    const plan = await propose(dir, [target('web-production', 'web-production', 'web', { requests: { cpu: '250m' }, limits: {} })], helm);
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.deepEqual(plan.files.map((file) => file.path).sort(), ['argocd/production/krr-application-web-values.yaml', 'argocd/production/kustomization.yaml']);
    assert.match(plan.workloads[0]?.notes.join('\n') ?? '', /created argocd\/production\/krr-application-web-values\.yaml, a patch of Application web-production's helm\.valuesObject in argocd\/production, because argocd\/base\/web\.yaml is shared with other environments/);
    assert.equal(plan.files.find((file) => file.path === 'argocd/production/kustomization.yaml')?.after, `${kustomizedApps['argocd/production/kustomization.yaml']}  - path: krr-application-web-values.yaml\n`);
    applyFiles(dir, plan.files);
    const application = kustomized(path.join(dir, 'argocd/production')).find((object) => (object as { kind?: string }).kind === 'Application') as { spec: { destination: { namespace: string }; source: { helm: { valuesObject: unknown } } } };
    assert.equal(application.spec.destination.namespace, 'web-production');
    assert.deepEqual(application.spec.source.helm.valuesObject, { replicaCount: 1, web: { resources: { requests: { cpu: '250m' } } } });
    assert.deepEqual(renderedResources(helm, path.join(dir, 'charts/web'), 'web-production', 'web-production', [application.spec.source.helm.valuesObject]), { requests: { cpu: '250m', memory: '64Mi' } });
    assert.deepEqual(kustomized(path.join(dir, 'argocd/base')), before.base);
    assert.deepEqual(kustomized(path.join(dir, 'argocd/staging')), before.staging);
  });

  it('an Application whose sources are a list (spec.sources) and no file of its own: refused with the reason, nothing written', async () => {
    const helm = builtHelm();
    write(dir, { 'argocd/base/web.yaml': kustomizedApps['argocd/base/web.yaml'].replace('  source:\n    repoURL', '  sources:\n  - repoURL') });
    const base = readFileSync(path.join(dir, 'argocd/base/web.yaml'), 'utf8');
    assert.match(base, / {2}sources:\n {2}- repoURL: https:\/\/github\.com\/example\/apps\.git\n {4}targetRevision: main\n {4}path: charts\/web\n {4}helm:\n/);
    const plan = await propose(dir, [target('web-production', 'web-production', 'web', { requests: { cpu: '250m' }, limits: {} })], helm);
    assert.deepEqual(plan.files, []);
    assert.match(plan.unresolved[0]?.reason ?? '', /Application web-production has no values of its own to write these resources in \(a patch in argocd\/production would have to patch spec\.sources, a list a strategic-merge patch replaces whole; argocd\/production renders the Application from argocd\/base\/web\.yaml, which argocd\/base, argocd\/staging read too/);
  });

  it('a patch of its own added for production: that patch is edited, and staging keeps its values', async () => {
    const helm = builtHelm();
    write(dir, {
      'argocd/production/kustomization.yaml': kustomizedApps['argocd/production/kustomization.yaml'] + '  - path: values.yaml\n',
      'argocd/production/values.yaml': 'apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n  namespace: argocd\nspec:\n  source:\n    helm:\n      valuesObject:\n        replicaCount: 3\n',
    });
    const staging = kustomized(path.join(dir, 'argocd/staging'));
    const plan = await propose(dir, [target('web-production', 'web-production', 'web', { requests: { cpu: '300m' }, limits: {} })], helm);
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.deepEqual(plan.files.map((file) => file.path), ['argocd/production/values.yaml']);
    applyFiles(dir, plan.files);
    assert.deepEqual(kustomized(path.join(dir, 'argocd/staging')), staging);
  });
});

describe('owner-based choice (pure): the owner\'s name or path picks, a contradiction is refused', () => {
  const folder = { name: 'repo', root: '/repo' };
  const candidate = (label: string, extra: object) => ({ finder: 'kustomize', folder, label, prepare: () => Promise.reject(new Error('not prepared')), ...extra });
  const owner = (paths: Array<{ folderRoot: string; path: string }> | null) => ({ described: 'Argo CD Application argocd/shop-eu', tool: 'argocd' as const, name: 'shop-eu', paths });
  const base = target('shop', 'shop', 'shop', { requests: { cpu: '1' }, limits: {} });

  it('a kustomization root at the Application\'s path is kept, the other dropped; none there: refused with both named', () => {
    const blue = candidate('repo/overlays/blue (Kustomize)', { path: 'overlays/blue' });
    const green = candidate('repo/overlays/green (Kustomize)', { path: 'overlays/green' });
    const kept = chooseCandidates([blue, green], { ...base, ownerSource: owner([{ folderRoot: '/repo', path: 'overlays/blue' }]) });
    assert.deepEqual(kept.candidates, [blue]);
    const refused = chooseCandidates([green], { ...base, ownerSource: owner([{ folderRoot: '/repo', path: 'overlays/blue' }]) });
    assert.deepEqual(refused.candidates, []);
    assert.match(refused.refusal ?? '', /deployed by Argo CD Application argocd\/shop-eu from overlays\/blue, but the source found is elsewhere \(repo\/overlays\/green \(Kustomize\)\)/);
    // Not written in the workspace: nothing is dropped, and the plan says the owner could not confirm it.
    const unknown = chooseCandidates([green], { ...base, ownerSource: owner(null) });
    assert.deepEqual(unknown.candidates, [green]);
    assert.match(unknown.notes.join(''), /is not written in the workspace/);
  });

  it('an Application named by the tracking id wins by name (an app-of-apps one has no path to match)', () => {
    const app = candidate('repo/apps (rendered) (Argo CD Application shop-eu, chart charts/shop)', { finder: 'argocd', path: 'charts/shop', deployer: { tool: 'argocd', name: 'shop-eu', chart: 'charts/shop' } });
    const other = candidate('repo/apps (rendered) (Argo CD Application shop-us, chart charts/shop)', { finder: 'argocd', path: 'charts/shop', deployer: { tool: 'argocd', name: 'shop-us', chart: 'charts/shop' } });
    assert.deepEqual(chooseCandidates([app, other], { ...base, ownerSource: owner(null) }).candidates, [app]);
  });
});

describe('a real layout: gitops-promoter-demo (app-of-apps chart of Argo CD Applications with hydrator dry sources)', function () {
  this.timeout(240_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-promoter-'));
    cpSync(path.join(realRepos(), 'gitops-promoter-demo'), dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * Every guestbook environment the app-of-apps renders from this repository: each Application's chart rendered with
   * its value files. The GitLab ones name another repository (a copy of the chart there), so they read its files.
   */
  function everyEnvironment(helm: string): Map<string, string> {
    const guestbooks = parseAllDocuments(execFileSync(helm, ['template', 'apps', path.join(dir, 'charts/apps')], { encoding: 'utf8' }))
      .map((document) => document.toJS() as { kind?: string; metadata: { name: string }; spec: { destination?: { namespace?: string }; sourceHydrator?: { drySource: { repoURL: string; path: string; helm?: { releaseName?: string; valueFiles?: string[] } } } } })
      .filter((object) => object?.kind === 'Application' && object.spec.sourceHydrator?.drySource.path === 'demo-apps/guestbook');
    const apps = guestbooks.filter((app) => normalizeRepoUrl(app.spec.sourceHydrator?.drySource.repoURL ?? '') === 'github.com/argoproj-labs/gitops-promoter-demo');
    assert.ok(apps.length >= 3 && guestbooks.length >= 6, `${apps.length} of ${guestbooks.length} guestbook Applications from this repository`);
    const renders = new Map<string, string>();
    for (const app of apps) {
      const dry = app.spec.sourceHydrator?.drySource;
      const chart = path.join(dir, 'demo-apps/guestbook');
      renders.set(app.metadata.name, execFileSync(helm, ['template', dry?.helm?.releaseName ?? app.metadata.name, chart, '--namespace', app.spec.destination?.namespace ?? 'default', ...(dry?.helm?.valueFiles ?? []).flatMap((file) => ['-f', path.join(chart, file)])], { encoding: 'utf8' }));
    }
    return renders;
  }

  const guestbook = target('guestbook-github-dev', 'guestbook-github-dev', 'guestbook', { requests: { cpu: '25m', memory: '32Mi' }, limits: {} });

  it('the folder is the GitHub repository: env/dev/values.yaml is edited; of every guestbook environment only github-dev renders differently', async () => {
    const helm = builtHelm();
    write(dir, { '.git/config': '[remote "origin"]\n\turl = https://github.com/argoproj-labs/gitops-promoter-demo.git\n' });
    const before = everyEnvironment(helm);
    const original = readFileSync(path.join(dir, 'demo-apps/guestbook/env/dev/values.yaml'), 'utf8');
    const plan = await propose(dir, [guestbook], helm);
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.match(plan.workloads[0]?.source.label ?? '', /charts\/apps \(rendered\) \(Argo CD Application guestbook-github-dev, chart demo-apps\/guestbook\)/);
    assert.deepEqual(plan.files.map((file) => file.path), ['demo-apps/guestbook/env/dev/values.yaml']);
    assert.equal(original, 'replicaCount: 1\n');
    assert.equal(plan.files[0]?.after, 'replicaCount: 1\nresources:\n  requests:\n    cpu: 25m\n    memory: 32Mi\n');
    applyFiles(dir, plan.files);
    const after = everyEnvironment(helm);
    for (const [name, rendered] of before) {
      if (name === 'guestbook-github-dev') assert.notEqual(after.get(name), rendered);
      else assert.equal(after.get(name), rendered, `${name} renders differently`);
    }
    assert.match(after.get('guestbook-github-dev') ?? '', /requests:\n\s+cpu: 25m\n\s+memory: 32Mi/);
  });

  it('the folder\'s repository unknown: the GitLab Applications may read the same value file, and their Application is a template — refused with the reason', async () => {
    const helm = builtHelm();
    const plan = await propose(dir, [guestbook], helm);
    assert.deepEqual(plan.files, []);
    assert.match(plan.unresolved[0]?.reason ?? '', /Application guestbook-github-dev has no values of its own to write these resources in \(.*demo-apps\/guestbook\/env\/dev\/values\.yaml is listed by other Applications too \(guestbook-gitlab-dev\).*the Application is written by the template of chart charts\/apps/);
    assert.equal(existsSync(path.join(dir, '.git')), false);
  });
});

describe('session: the owner read from the live object picks the overlay (Flux Kustomization apps → ./overlays/green)', function () {
  this.timeout(240_000);
  let f: SessionFixture | undefined;
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-owner-'));
    const deployment = ['apiVersion: apps/v1', 'kind: Deployment', 'metadata:', '  name: payments', 'spec:', '  selector:', '    matchLabels: {app: payments}', '  template:', '    metadata:', '      labels: {app: payments}', '    spec:', '      containers:', '        - name: api', '          image: ghcr.io/example/payments:3.0.2', '          resources:', '            requests: {cpu: 300m, memory: 256Mi}', ''].join('\n');
    write(dir, {
      'base/deployment.yaml': deployment,
      'base/kustomization.yaml': 'resources:\n  - deployment.yaml\n',
      'overlays/blue/kustomization.yaml': 'namespace: gitops\nresources:\n  - ../../base\n',
      'overlays/green/kustomization.yaml': 'namespace: gitops\nresources:\n  - ../../base\n',
      'clusters/green/apps.yaml': 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  path: ./overlays/green\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n',
    });
  });
  afterEach(async () => {
    await f?.close();
    f = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('before the owner is known the two overlays are ambiguous; once a cluster proposal read it, overlays/green is written and the plan says why', async () => {
    f = await startSessionFixture({ session: { workspace: { folders: () => [dir], writer: fileManifestWriter() } } });
    const person = { type: 'human' as const, via: 'test' };
    const { reportId } = await f.session.loadReport(writeGitOpsReport(dir), person);
    const selection = { reportId, workloads: [gitopsWorkloads.payments], target: 'manifests' as const };
    const unknown = await f.session.proposeManifests(selection, person);
    assert.deepEqual(unknown.files, []);
    assert.match(unknown.unresolved[0]?.reason ?? '', /2 sources could define Deployment gitops\/payments/);
    // A cluster proposal reads the live object (labels kustomize.toolkit.fluxcd.io/name=apps, namespace flux-system).
    const cluster = await f.session.propose({ reportId, workloads: [gitopsWorkloads.payments] }, { type: 'model', via: 'test-client' });
    assert.match(cluster.blocked[0]?.reasons.join(' ') ?? '', /Its source in the workspace: [^ ]+\/overlays\/green \(Kustomize\)/);
    const plan = await f.session.proposeManifests(selection, person);
    assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
    assert.deepEqual(plan.files.map((file) => file.path).sort(), ['overlays/green/krr-deployment-payments-resources.yaml', 'overlays/green/kustomization.yaml']);
    assert.match(plan.workloads[0]?.notes.join('\n') ?? '', /chosen by the live object's owner, Flux Kustomization flux-system\/apps \(deployed from overlays\/green\)/);
  });
});
