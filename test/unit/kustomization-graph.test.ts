// What a proposal renders (docs/ARCHITECTURE.md, "How a proposal chooses what to render"): only the kustomization
// roots whose files can render a workload it looks for, or that read a file it edits — those always, before and after
// the edit, through any chain of bases and components — and each set of inputs once (by content). With the real
// `kubectl kustomize` on small layouts of this file's own; a chart is run only when its text can make the name.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { chartMayName, readChartText } from '../../src/core/gitops/chartNames';
import { KustomizationGraph } from '../../src/core/gitops/kustomizationGraph';
import { loadKustomizations } from '../../src/core/gitops/kustomize';
import type { FinderContext, ManifestPlan, WorkloadTarget } from '../../src/core/gitops/model';
import { proposeManifestPlan } from '../../src/core/gitops/propose';
import { RenderGuard, type RenderCount } from '../../src/core/gitops/render';
import { indexWorkspace, readManifestText, workspaceFolders } from '../../src/core/gitops/workspace';
import type { DesiredResources } from '../../src/core/plan/build';

function layout(root: string, files: Record<string, string>): string {
  for (const [relativePath, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, relativePath)), { recursive: true });
    writeFileSync(path.join(root, relativePath), text);
  }
  return root;
}

function deployment(name: string, cpu = '100m'): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
        - name: app
          image: ghcr.io/example/${name}:1.0.0
          resources:
            requests:
              cpu: ${cpu}
              memory: 128Mi
`;
}

function target(namespace: string, name: string, cpu: string): WorkloadTarget {
  const desired = new Map<string, DesiredResources>([['app', { requests: { cpu }, limits: {} }]]);
  return { namespace, kind: 'Deployment', name, group: 'apps', context: null, desired };
}

/** Two apps, each a base and two overlays (namePrefix and namespace per environment). */
const twoApps = {
  'apps/shop/base/kustomization.yaml': 'resources:\n  - deployment.yaml\n',
  'apps/shop/base/deployment.yaml': deployment('shop'),
  'apps/shop/overlays/prod/kustomization.yaml': 'resources:\n  - ../../base\nnamespace: shop-prod\nnamePrefix: prod-\n',
  'apps/shop/overlays/staging/kustomization.yaml': 'resources:\n  - ../../base\nnamespace: shop-staging\nnamePrefix: staging-\n',
  'apps/cart/base/kustomization.yaml': 'resources:\n  - deployment.yaml\n',
  'apps/cart/base/deployment.yaml': deployment('cart'),
  'apps/cart/overlays/prod/kustomization.yaml': 'resources:\n  - ../../base\nnamespace: cart-prod\nnamePrefix: prod-\n',
};

describe('kustomization graph: a proposal renders only what can render its workloads or reads an edited file', function () {
  this.timeout(120_000);
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-graph-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function propose(root: string, targets: WorkloadTarget[]): Promise<{ plan: ManifestPlan; renders: RenderCount }> {
    let renders: RenderCount = { count: 0, runs: [] };
    const plan = await proposeManifestPlan(targets, { folders: await workspaceFolders([root]), kubectlPath: 'kubectl', requester: { type: 'model', via: 'test' }, now: new Date(), ttlSeconds: 600, context: null, onRenders: (seen) => (renders = seen) });
    return { plan, renders };
  }

  it('a root that does not include the edited file, and cannot render the workload, is never rendered', async () => {
    const root = layout(dir, twoApps);
    const { plan, renders } = await propose(root, [target('shop-prod', 'prod-shop', '250m')]);
    assert.deepEqual(plan.unresolved, []);
    assert.deepEqual(plan.files.map((file) => file.path).sort(), ['apps/shop/overlays/prod/krr-deployment-shop-resources.yaml', 'apps/shop/overlays/prod/kustomization.yaml']);
    // The target's root before and after the edit; not its staging, not the other app, not the bases.
    assert.deepEqual(renders.runs, ['kubectl kustomize apps/shop/overlays/prod', 'kubectl kustomize apps/shop/overlays/prod']);
    assert.equal(renders.count, 2);
  });

  it('a root that includes the edited file through a chain of bases and a component is rendered before and after, and its change refuses the edit', async () => {
    // base/ is an environment of its own (default/backend) and shared: overlays/prod through mid/, overlays/qa through
    // a component that lists mid/ too. Editing base/deployment.yaml would change both.
    const root = layout(dir, {
      'base/kustomization.yaml': 'resources:\n  - deployment.yaml\n',
      'base/deployment.yaml': deployment('backend'),
      'mid/kustomization.yaml': 'resources:\n  - ../base\nnamespace: middle\n',
      'overlays/prod/kustomization.yaml': 'resources:\n  - ../../mid\nnamespace: prod\n',
      'components/qa/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - ../../mid\n',
      'overlays/qa/kustomization.yaml': 'components:\n  - ../../components/qa\nnamespace: qa\n',
      'other/kustomization.yaml': 'resources:\n  - deployment.yaml\nnamespace: other\n',
      'other/deployment.yaml': deployment('unrelated'),
    });
    const { plan, renders } = await propose(root, [target('default', 'backend', '250m')]);
    assert.deepEqual(plan.files, []);
    assert.match(plan.unresolved[0]?.reason ?? '', /would also change what mid, overlays\/prod, overlays\/qa render/);
    const times = (dir: string) => renders.runs.filter((what) => what === `kubectl kustomize ${dir}`).length;
    for (const reader of ['mid', 'overlays/prod', 'overlays/qa']) assert.equal(times(reader), 2, `${reader} before and after: ${renders.runs.join(', ')}`);
    assert.equal(times('other'), 0, 'a root that neither renders the workload nor reads the edited file');
  });

  it('the same inputs are rendered once: the render that checked one edit is the next workload\'s "before"', async () => {
    const root = layout(dir, {
      'base/kustomization.yaml': 'resources:\n  - web.yaml\n  - worker.yaml\n',
      'base/web.yaml': deployment('web'),
      'base/worker.yaml': deployment('worker'),
      'overlays/prod/kustomization.yaml': 'resources:\n  - ../../base\nnamespace: prod\n',
    });
    const { plan, renders } = await propose(root, [target('prod', 'web', '250m'), target('prod', 'worker', '300m')]);
    assert.deepEqual(plan.unresolved, []);
    assert.equal(plan.workloads.length, 2);
    // Before web; after web's edit (= before worker: the same files, not run again); after worker's edit.
    assert.deepEqual(renders.runs, ['kubectl kustomize overlays/prod', 'kubectl kustomize overlays/prod', 'kubectl kustomize overlays/prod']);
  });

  it('a renderer run is reused only for the same content key, and a failure of the renderer too', async () => {
    const guard = new RenderGuard(dir);
    const print = ['-e', 'process.stdout.write(String(process.pid))'];
    const first = await guard.run('a', process.execPath, print, 'node', undefined, 'key-1');
    assert.equal(await guard.run('a', process.execPath, print, 'node', undefined, 'key-1'), first);
    assert.equal(guard.count, 1);
    assert.notEqual(await guard.run('a', process.execPath, print, 'node', undefined, 'key-2'), first);
    assert.equal(guard.count, 2);
    const fail = ['-e', 'process.exit(3)'];
    await assert.rejects(guard.run('b', process.execPath, fail, 'node', undefined, 'key-3'), /node failed/);
    await assert.rejects(guard.run('b', process.execPath, fail, 'node', undefined, 'key-3'), /node failed/);
    assert.equal(guard.count, 3);
  });

  describe('what the files tell', () => {
    async function graphOf(root: string) {
      const folders = await workspaceFolders([root]);
      const context: FinderContext = {
        index: await indexWorkspace(folders),
        files: { read: async (folder, relativePath) => (await readManifestText(folder, relativePath)).text, exists: async () => true },
        kubectlPath: 'kubectl',
        stagedRoot: async () => root,
        cache: new Map(),
        renders: new RenderGuard(dir),
      };
      const set = await loadKustomizations(context);
      const graph = await KustomizationGraph.of(context, set);
      return (dir: string, namespace: string, name: string) => graph.mayRender(set.list.find((info) => info.dir === dir) as (typeof set.list)[number], { kind: 'Deployment', group: 'apps', name, namespace });
    }

    it('names and namespaces through prefixes, suffixes and namespaces; a component that renames makes names loose', async () => {
      const may = await graphOf(
        layout(dir, {
          ...twoApps,
          'components/suffix/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nnameSuffix: -canary\n',
          'apps/shop/overlays/canary/kustomization.yaml': 'resources:\n  - ../../base\ncomponents:\n  - ../../../../components/suffix\nnamespace: shop-prod\n',
        }),
      );
      assert.equal(may('apps/shop/overlays/prod', 'shop-prod', 'prod-shop'), true);
      assert.equal(may('apps/shop/overlays/prod', 'shop-staging', 'prod-shop'), false, 'another namespace');
      assert.equal(may('apps/shop/overlays/staging', 'shop-prod', 'prod-shop'), false);
      assert.equal(may('apps/cart/overlays/prod', 'shop-prod', 'prod-shop'), false, 'another app');
      assert.equal(may('apps/shop/base', 'default', 'shop'), true);
      assert.equal(may('apps/shop/base', 'shop-prod', 'prod-shop'), false);
      assert.equal(may('apps/shop/overlays/canary', 'shop-prod', 'shop-canary'), true);
      assert.equal(may('apps/shop/overlays/canary', 'shop-prod', 'shop'), true, 'with or without the component\'s suffix');
      assert.equal(may('apps/shop/overlays/canary', 'shop-prod', 'cart'), false);
    });

    it('what KRR cannot follow may render anything: a JSON6902 patch of the name, a transformer, an unreadable resource', async () => {
      const may = await graphOf(
        layout(dir, {
          ...twoApps,
          'apps/shop/overlays/renamed/kustomization.yaml': 'resources:\n  - ../../base\npatches:\n  - target: {kind: Deployment}\n    patch: |-\n      - op: replace\n        path: /metadata/name\n        value: anything\n',
          'apps/shop/overlays/plugin/kustomization.yaml': 'resources:\n  - ../../base\ntransformers:\n  - prefix.yaml\n',
          'apps/shop/overlays/plugin/prefix.yaml': 'apiVersion: builtin\nkind: PrefixSuffixTransformer\nmetadata:\n  name: p\nprefix: x-\nfieldSpecs:\n  - path: metadata/name\n',
          'apps/shop/overlays/annotated/kustomization.yaml': 'resources:\n  - ../../base\npatches:\n  - target: {kind: Deployment}\n    patch: |-\n      - op: add\n        path: /metadata/annotations\n        value: {a: b}\n',
        }),
      );
      assert.equal(may('apps/shop/overlays/renamed', 'default', 'anything'), true);
      assert.equal(may('apps/shop/overlays/plugin', 'default', 'x-shop'), true);
      assert.equal(may('apps/shop/overlays/annotated', 'default', 'anything'), false, 'a JSON6902 patch that names nothing');
    });

    it('a chart is run only when its text can make the name; functions that make text of their own make it run always', async () => {
      const chart = layout(path.join(dir, 'chart'), {
        'Chart.yaml': 'apiVersion: v2\nname: metrics-agent\nversion: 1.0.0\n',
        'values.yaml': 'component: collector\n',
        'templates/deployment.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ printf "%s-%s" .Release.Name .Values.component | trunc 63 | trimSuffix "-" }}\n',
      });
      const text = await readChartText(chart, ['values.yaml']);
      assert.equal(chartMayName(text, 'metrics-agent', 'monitoring', 'metrics-agent-collector'), true);
      assert.equal(chartMayName(text, 'metrics-agent', 'monitoring', 'metricsagentcollector'), true, 'words joined');
      assert.equal(chartMayName(text, 'metrics-agent', 'shop-prod', 'prod-shop-7'), true, 'namespace words and numbers');
      assert.equal(chartMayName(text, 'metrics-agent', 'shop-prod', 'prod-shop-api'), false, '"api" is no word of the chart');
      writeFileSync(path.join(chart, 'templates', 'job.yaml'), 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-{{ randAlphaNum 5 | lower }}\n');
      assert.equal(chartMayName(await readChartText(chart, ['values.yaml']), 'metrics-agent', 'shop-prod', 'prod-shop-api'), true);
      writeFileSync(path.join(chart, 'templates', 'job.yaml'), '');
      mkdirSync(path.join(chart, 'charts'));
      writeFileSync(path.join(chart, 'charts', 'sub-1.0.0.tgz'), Buffer.from([0x1f, 0x8b, 0x08, 0x00]));
      assert.equal(chartMayName(await readChartText(chart, ['values.yaml']), 'metrics-agent', 'shop-prod', 'prod-shop-api'), true, 'a packaged subchart is not read');
    });
  });
});
