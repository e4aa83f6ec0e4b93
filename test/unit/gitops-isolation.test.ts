// The isolation invariant of the manifest target (docs/ARCHITECTURE.md, "The manifest target"): after a write, every
// kustomization root and chart rendering that reads an edited file renders exactly as before, except the target
// environment's rendering of the target workload, whatever names or namespaces the others give it. Checked with the
// real `kubectl kustomize` on a small layout of its own and on a real repository (../shared/gitops/repos, read only).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AuditLog } from '../../src/core/audit';
import { fileKeyStore } from '../../src/core/auditKey';
import { executeManifestPlan, fileManifestWriter } from '../../src/core/gitops/apply';
import { helmFinder } from '../../src/core/gitops/helm';
import type { ManifestPlan, ManifestSourceFinder, WorkloadTarget } from '../../src/core/gitops/model';
import { proposeManifestPlan } from '../../src/core/gitops/propose';
import { workspaceFolders } from '../../src/core/gitops/workspace';
import type { DesiredResources } from '../../src/core/plan/build';
import { changedRenderings, renderEveryRoot } from '../support/render-every-root';

const repoRoot = path.resolve(__dirname, '..', '..');

/**
 * The real layouts beside the repository (../shared/gitops/repos), never copied into it. A git worktree one level
 * deeper (../../shared) finds them too; missing, the tests fail rather than pass without them.
 */
function sharedRepos(): string {
  const candidates = [path.resolve(repoRoot, '..', 'shared', 'gitops', 'repos'), path.resolve(repoRoot, '..', '..', 'shared', 'gitops', 'repos')];
  const found = candidates.find((candidate) => existsSync(candidate));
  assert.ok(found, `the real GitOps layouts are not at ${candidates.join(' or ')}`);
  return found;
}

type Values = { requests?: { cpu?: string; memory?: string }; limits?: { cpu?: string; memory?: string } };

function target(namespace: string, name: string, containers: Record<string, Values>, context: string | null = null): WorkloadTarget {
  const desired = new Map<string, DesiredResources>(Object.entries(containers).map(([container, values]) => [container, { requests: { ...values.requests }, limits: { ...values.limits } }]));
  return { namespace, kind: 'Deployment', name, group: 'apps', context, desired };
}

/** The helm that `npm run helm:build` built; tests never build it themselves. */
function builtHelm(): string {
  const out = execFileSync('bash', [path.resolve(repoRoot, 'test', 'helm', 'build.sh'), '--cached-only'], { encoding: 'utf8' }).trim().split('\n').at(-1) as string;
  return path.join(out, 'helm');
}

/** Writes `files` (relative path -> content) under `root`. */
function layout(root: string, files: Record<string, string>): string {
  for (const [relativePath, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, relativePath)), { recursive: true });
    writeFileSync(path.join(root, relativePath), text);
  }
  return root;
}

const backend = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: backend
  namespace: default
spec:
  selector:
    matchLabels: {app: backend}
  template:
    metadata:
      labels: {app: backend}
    spec:
      containers:
        - name: backend
          image: ghcr.io/example/backend:1.0.0
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              memory: 256Mi
`;

/**
 * The layout of issue 24: base/ holds the values and is deployed as an environment of its own (default/backend);
 * overlays/staging (namePrefix staging-) and overlays/prod (namespace prod) build on it and render the same
 * Deployment under another name or namespace.
 */
const sharedBase = {
  'base/kustomization.yaml': 'resources:\n  - deployment.yaml\n',
  'base/deployment.yaml': backend,
  'overlays/staging/kustomization.yaml': 'resources:\n  - ../../base\nnamePrefix: staging-\n',
  'overlays/prod/kustomization.yaml': 'resources:\n  - ../../base\nnamespace: prod\n',
};

/** A strategic-merge patch that sets every resources field of backend, so the base's values never show. */
function ownValues(cpu: string): string {
  return `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: backend\nspec:\n  template:\n    spec:\n      containers:\n        - name: backend\n          resources:\n            requests:\n              cpu: ${cpu}\n              memory: 512Mi\n            limits:\n              memory: 1Gi\n`;
}

describe('gitops isolation: an edit changes only the target environment\'s rendering of the target workload', function () {
  this.timeout(180_000);
  let dir: string;
  let stateDir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-isolation-'));
    stateDir = mkdtempSync(path.join(tmpdir(), 'krr-isolation-state-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  });

  async function propose(root: string, targets: WorkloadTarget[], finders?: readonly ManifestSourceFinder[]): Promise<ManifestPlan> {
    return proposeManifestPlan(targets, { folders: await workspaceFolders([root]), kubectlPath: 'kubectl', requester: { type: 'model', via: 'test' }, now: new Date(), ttlSeconds: 600, context: null, ...(finders ? { finders } : {}) });
  }

  async function write(plan: ManifestPlan): Promise<void> {
    const audit = await AuditLog.open(path.join(stateDir, 'audit.jsonl'), { keys: fileKeyStore(path.join(stateDir, 'audit.key')) });
    const result = await executeManifestPlan(plan, { writer: fileManifestWriter(), audit, actor: { type: 'human', via: 'test' } });
    assert.equal(result.status, 'applied', result.message);
  }

  describe('a base deployed on its own and shared by overlays', () => {
    it('the base\'s own workload: the edit would reach staging and prod, so it is refused and names them; nothing is written', async () => {
      const root = layout(dir, sharedBase);
      const before = renderEveryRoot(root);
      const plan = await propose(root, [target('default', 'backend', { backend: { requests: { cpu: '250m' } } })]);
      assert.deepEqual(plan.files, []);
      assert.equal(plan.unresolved.length, 1);
      const reason = plan.unresolved[0]?.reason ?? '';
      assert.match(reason, /would also change what overlays\/prod, overlays\/staging render/);
      assert.match(reason, /they build on base/);
      // Actionable: where to propose instead, or how to give the base's environment values of its own.
      assert.match(reason, /propose for the overlay that deploys it/);
      assert.match(reason, /an overlay of its own/);
      assert.deepEqual(changedRenderings(before, renderEveryRoot(root)), []);
    });

    it('when every overlay sets these values itself, the base\'s own environment is edited in place and no overlay changes', async () => {
      const root = layout(dir, {
        ...sharedBase,
        'overlays/staging/kustomization.yaml': 'resources:\n  - ../../base\nnamePrefix: staging-\npatches:\n  - path: backend.yaml\n',
        'overlays/staging/backend.yaml': ownValues('200m'),
        'overlays/prod/kustomization.yaml': 'resources:\n  - ../../base\nnamespace: prod\npatches:\n  - path: backend.yaml\n',
        'overlays/prod/backend.yaml': ownValues('2'),
      });
      const before = renderEveryRoot(root);
      const plan = await propose(root, [target('default', 'backend', { backend: { requests: { cpu: '250m' } } })]);
      assert.deepEqual(plan.unresolved, []);
      assert.deepEqual(plan.files.map((file) => file.path), ['base/deployment.yaml']);
      await write(plan);
      const after = renderEveryRoot(root);
      assert.deepEqual(changedRenderings(before, after), ['kustomize base']);
      assert.equal(after.get('kustomize base'), (before.get('kustomize base') as string).replace('cpu: 100m', 'cpu: 250m'));
    });

    it('an overlay\'s workload whose value lives in the base: a patch in that overlay; the base and the other overlay render as before', async () => {
      const root = layout(dir, sharedBase);
      const before = renderEveryRoot(root);
      const plan = await propose(root, [target('default', 'staging-backend', { backend: { requests: { cpu: '250m' }, limits: { memory: '300Mi' } } })]);
      assert.deepEqual(plan.unresolved, []);
      assert.deepEqual(plan.files.map((file) => file.path).sort(), ['overlays/staging/krr-deployment-backend-resources.yaml', 'overlays/staging/kustomization.yaml']);
      await write(plan);
      const after = renderEveryRoot(root);
      assert.deepEqual(changedRenderings(before, after), ['kustomize overlays/staging']);
      assert.match(after.get('kustomize overlays/staging') as string, /limits:\n {12}memory: 300Mi\n {10}requests:\n {12}cpu: 250m\n {12}memory: 128Mi/);
    });

    it('an overlay that cannot be rendered after the edit is not skipped: it is named, and nothing is offered', async () => {
      // prod's JSON6902 `test` op holds while the base says 100m and fails (kustomize refuses) once it changes.
      const root = layout(dir, {
        ...sharedBase,
        'overlays/staging/kustomization.yaml': 'resources:\n  - ../../base\nnamePrefix: staging-\npatches:\n  - path: backend.yaml\n',
        'overlays/staging/backend.yaml': ownValues('200m'),
        'overlays/prod/kustomization.yaml': 'resources:\n  - ../../base\nnamespace: prod\npatches:\n  - path: pin.yaml\n    target: {kind: Deployment, name: backend}\n',
        'overlays/prod/pin.yaml': '- op: test\n  path: /spec/template/spec/containers/0/resources/requests/cpu\n  value: 100m\n',
      });
      const plan = await propose(root, [target('default', 'backend', { backend: { requests: { cpu: '250m' } } })]);
      assert.deepEqual(plan.files, []);
      assert.match(plan.unresolved[0]?.reason ?? '', /could not check overlays\/prod: overlays\/prod does not render/);
    });

    it('a patch file another kustomization also lists is not edited: a patch of the environment\'s own is written instead', async () => {
      // overlays/audit lists prod's patch too (and does not render: the file is outside its directory). Editing that
      // file would change it; it is left alone, and a new patch listed after it decides the values in prod.
      const root = layout(dir, {
        ...sharedBase,
        'overlays/prod/kustomization.yaml': 'resources:\n  - ../../base\nnamespace: prod\npatches:\n  - path: backend.yaml\n',
        'overlays/prod/backend.yaml': ownValues('2'),
        'overlays/audit/kustomization.yaml': 'resources:\n  - ../../base\nnamespace: audit\npatches:\n  - path: ../prod/backend.yaml\n',
      });
      const before = renderEveryRoot(root);
      const plan = await propose(root, [target('prod', 'backend', { backend: { requests: { cpu: '1500m' } } })]);
      assert.deepEqual(plan.unresolved, []);
      assert.deepEqual(plan.files.map((file) => file.path).sort(), ['overlays/prod/krr-deployment-backend-resources.yaml', 'overlays/prod/kustomization.yaml']);
      await write(plan);
      assert.equal(readFileSync(path.join(root, 'overlays/prod/backend.yaml'), 'utf8'), ownValues('2'));
      const after = renderEveryRoot(root);
      assert.deepEqual(changedRenderings(before, after), ['kustomize overlays/prod']);
      assert.match(after.get('kustomize overlays/prod') as string, /requests:\n {12}cpu: 1500m\n {12}memory: 512Mi/);
    });
  });

  function realRepository(name: string): string {
    const root = path.join(dir, path.basename(name));
    cpSync(path.join(sharedRepos(), name), root, { recursive: true });
    return root;
  }

  describe('a real repository (css-kustomize: one base, seven overlays with components)', () => {

    it('the base rendered on its own (default/css-community-solid-server): refused, naming the overlays its values would reach', async () => {
      const root = realRepository('css-kustomize');
      const before = renderEveryRoot(root);
      const plan = await propose(root, [target('default', 'css-community-solid-server', { 'community-solid-server': { requests: { cpu: '300m', memory: '512Mi' } } })]);
      assert.deepEqual(plan.files, []);
      const reason = plan.unresolved[0]?.reason ?? '';
      for (const overlay of ['overlays/base', 'overlays/with-pvc', 'overlays/with-metallb', 'overlays/local-proxmox', 'overlays/with-ingress-sparql']) assert.ok(reason.includes(overlay), `${overlay} is named: ${reason}`);
      assert.deepEqual(changedRenderings(before, renderEveryRoot(root)), []);
    });

    it('one overlay\'s workload (with-pvc, picked by the kube context): written there; every other root renders exactly as before', async () => {
      const root = realRepository('css-kustomize');
      const before = renderEveryRoot(root);
      const plan = await propose(root, [target('solid', 'css-community-solid-server', { 'community-solid-server': { requests: { cpu: '300m', memory: '512Mi' }, limits: { memory: '1Gi' } } }, 'k3s-with-pvc')]);
      assert.deepEqual(plan.unresolved, []);
      assert.ok(plan.files.every((file) => file.path.startsWith('overlays/with-pvc/')), plan.files.map((file) => file.path).join(', '));
      await write(plan);
      const after = renderEveryRoot(root);
      assert.deepEqual(changedRenderings(before, after), ['kustomize overlays/with-pvc']);
      assert.match(after.get('kustomize overlays/with-pvc') as string, /limits:\n {12}memory: 1Gi\n {10}requests:\n {12}cpu: 300m\n {12}memory: 512Mi/);
    });
  });

  describe('a real repository (microservices-demo/kustomize: the folder\'s own kustomization and three test overlays on one base)', () => {
    it('frontend, the overlay picked by the kube context: a patch there; the base, the folder\'s kustomization and the other overlays render as before', async () => {
      const root = realRepository('microservices-demo/kustomize');
      const before = renderEveryRoot(root);
      const plan = await propose(root, [target('default', 'frontend', { server: { requests: { cpu: '150m' }, limits: { memory: '256Mi' } } }, 'gke_shop_memorystore-with-all-components')]);
      assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
      assert.ok(plan.files.every((file) => file.path.startsWith('tests/memorystore-with-all-components/')), plan.files.map((file) => file.path).join(', '));
      await write(plan);
      const after = renderEveryRoot(root);
      assert.deepEqual(changedRenderings(before, after), ['kustomize tests/memorystore-with-all-components']);
    });
  });

  describe('Helm: values.yaml is every environment\'s default', () => {
    const chart = {
      'app/Chart.yaml': 'apiVersion: v2\nname: app\nversion: 0.1.0\n',
      'app/values.yaml': 'app:\n  resources:\n    requests:\n      cpu: 100m\n',
      'app/values-prod.yaml': 'app:\n  replicas: 3\n',
      'app/templates/deployment.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  selector:\n    matchLabels: {app: app}\n  template:\n    metadata:\n      labels: {app: app}\n    spec:\n      containers:\n        - name: app\n          image: ghcr.io/example/app:1\n          resources: {{- toYaml .Values.app.resources | nindent 12 }}\n',
    };

    it('without helm, an edit of values.yaml that other values files build on is refused: their environments cannot be checked', async () => {
      const root = layout(dir, chart);
      const plan = await propose(root, [target('staging', 'app', { app: { requests: { cpu: '50m' } } }, 'staging-1')], [helmFinder({ helmPath: path.join(dir, 'no-such-helm') })]);
      assert.deepEqual(plan.files, []);
      assert.match(plan.unresolved[0]?.reason ?? '', /values\.yaml is read by every environment of chart app \(values-prod\.yaml too\)/);
      assert.match(plan.unresolved[0]?.reason ?? '', /add a values-<env>\.yaml for this environment/);
    });

    it('with helm, an edit of values.yaml that changes what values-prod.yaml renders is refused, naming it; nothing written', async () => {
      const helm = builtHelm();
      const root = layout(dir, chart);
      const before = renderEveryRoot(root, { helm });
      const plan = await propose(root, [target('staging', 'app', { app: { requests: { cpu: '50m' } } }, 'staging-1')], [helmFinder({ helmPath: helm })]);
      assert.deepEqual(plan.files, []);
      assert.match(plan.unresolved[0]?.reason ?? '', /would also change what chart app renders with values\.yaml \+ values-prod\.yaml; .*this environment's values-<env>\.yaml/);
      assert.deepEqual(changedRenderings(before, renderEveryRoot(root, { helm })), []);
    });

    describe('a real chart (podinfo: values.yaml and values-prod.yaml), rendered with helm', () => {
      // An environment with no values file of its own (the context names none): values.yaml is its file, and
      // values-prod.yaml builds on it; podinfo's prod sets the requests itself. Its test pods get random names on every
      // render: they cannot be compared, and do not count as a change.
      const podinfo = (containers: Record<string, Values>) => target('default', 'podinfo', containers, 'kind-dev');
      /**
       * The chart, minus its `kubeVersion: >=1.23.0-0`: the helm built for the tests reports Kubernetes v1.20 to
       * `helm template` (its build does not stamp a Kubernetes version), so the chart would not render at all.
       */
      function podinfoChart(): string {
        const root = realRepository('podinfo/charts');
        const chartFile = path.join(root, 'podinfo', 'Chart.yaml');
        writeFileSync(chartFile, readFileSync(chartFile, 'utf8').replace(/^kubeVersion:.*\n/m, ''));
        return root;
      }

      it('a value prod sets itself: values.yaml is edited, and only its own rendering changes', async () => {
        const helm = builtHelm();
        const root = podinfoChart();
        const before = renderEveryRoot(root, { helm });
        const plan = await propose(root, [podinfo({ podinfo: { requests: { cpu: '5m' } } })], [helmFinder({ helmPath: helm })]);
        assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
        assert.deepEqual(plan.files.map((file) => file.path), ['podinfo/values.yaml']);
        await write(plan);
        assert.deepEqual(changedRenderings(before, renderEveryRoot(root, { helm })), ['helm podinfo values.yaml']);
      });

    });
  });
});
