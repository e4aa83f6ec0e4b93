// Batched kustomize renders (gitops/kustomizeBatch) against separate renders, with the real kubectl: on the six real
// GitOps layouts (../shared/gitops/repos) and the bench's generated monorepo, every root whose output a batch kept must
// equal what `kubectl kustomize` prints for that root alone, byte for byte. And the rules that keep a batch out.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { generateMonorepo } from '../../bench/manifestsScale';
import { loadKustomizations } from '../../src/core/gitops/kustomize';
import type { DesiredResources } from '../../src/core/plan/build';
import { proposeManifestPlan } from '../../src/core/gitops/propose';
import type { RenderCount } from '../../src/core/gitops/render';
import { batchesOf, batchNamespace, documentsOf, mayMentionLocalConfig, prefetchKustomizations, splitBatch } from '../../src/core/gitops/kustomizeBatch';
import { KustomizationGraph, renderKey } from '../../src/core/gitops/kustomizationGraph';
import type { FinderContext, ManifestPlan, WorkloadTarget } from '../../src/core/gitops/model';
import { RenderError, RenderGuard, runRenderer } from '../../src/core/gitops/render';
import { indexWorkspace, readManifestText, workspaceFolders } from '../../src/core/gitops/workspace';

const repoRoot = path.resolve(__dirname, '..', '..');

function sharedRepos(): string {
  const candidates = [path.resolve(repoRoot, '..', 'shared', 'gitops', 'repos'), path.resolve(repoRoot, '..', '..', 'shared', 'gitops', 'repos')];
  const found = candidates.find((candidate) => existsSync(candidate));
  assert.ok(found, `the real GitOps layouts are not at ${candidates.join(' or ')}`);
  return found;
}

/** Every root of `folder` batched, then each rendered alone: the outputs the batches kept, compared. */
async function compareWithSeparateRenders(folder: string, temp: string): Promise<{ roots: number; kept: number; runs: number }> {
  const folders = await workspaceFolders([folder]);
  const guard = new RenderGuard(temp);
  const context: FinderContext = {
    index: await indexWorkspace(folders),
    files: { read: async (at, relativePath) => (await readManifestText(at, relativePath)).text, exists: async () => true },
    kubectlPath: 'kubectl',
    // Rendered where they are: kubectl kustomize reads, never writes.
    stagedRoot: async () => folder,
    cache: new Map(),
    renders: guard,
  };
  const set = await loadKustomizations(context);
  const roots = set.list.filter((info) => !info.component && info.error === undefined);
  await prefetchKustomizations(context, roots, await KustomizationGraph.of(context, set));
  await guard.settled();
  const runs = guard.count;
  let kept = 0;
  for (const info of roots) {
    const contentKey = await renderKey(folder, info, 'kubectl');
    if (!guard.known(contentKey)) continue;
    kept++;
    const batched = await guard.run('unused', 'false', [], 'unused', undefined, contentKey);
    let alone: string;
    try {
      alone = await runRenderer({ command: 'kubectl', args: ['kustomize', path.join(folder, info.dir), '--load-restrictor', 'LoadRestrictionsRootOnly'], what: info.dir, timeoutMs: 20_000, home: guard.home(), maxOutputBytes: 32 * 2 ** 20 });
    } catch (error) {
      assert.ok(error instanceof RenderError);
      assert.fail(`${info.dir} failed alone (${error.message}) but its batch kept an output`);
    }
    assert.equal(batched, alone, `${path.basename(folder)}/${info.dir}: the batch's output differs from a render alone`);
  }
  return { roots: roots.length, kept, runs };
}

describe('batched kustomize renders: the rules', () => {
  const doc = (kind: string, name: string, namespace?: string) => `apiVersion: v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n${namespace === undefined ? '' : `  namespace: ${namespace}\n`}`;

  it('splits an output by namespace, each root keeping its documents in order, joined as kubectl prints them', () => {
    const text = [doc('ConfigMap', 'a', 'one'), doc('ConfigMap', 'b', 'two'), doc('Service', 'c', 'one')].join('---\n');
    assert.deepEqual(splitBatch(text, ['one', 'two']), [`${doc('ConfigMap', 'a', 'one')}---\n${doc('Service', 'c', 'one')}`, doc('ConfigMap', 'b', 'two')]);
  });

  it('keeps nothing when an object could be seen by another root or belongs to none', () => {
    const base = [doc('ConfigMap', 'a', 'one'), doc('ConfigMap', 'b', 'two')];
    // Cluster-scoped: a back-reference candidate of every root.
    assert.equal(splitBatch([...base, doc('ClusterRole', 'r')].join('---\n'), ['one', 'two']), null);
    assert.equal(splitBatch([...base, doc('Namespace', 'x', 'one')].join('---\n'), ['one', 'two']), null);
    // A Namespace goes to the one root that can make it, else nothing is kept.
    const withNamespace = [...base, 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: two\n'].join('---\n');
    assert.deepEqual(splitBatch(withNamespace, ['one', 'two'], (name) => (name === 'two' ? 1 : null)), [doc('ConfigMap', 'a', 'one'), `${doc('ConfigMap', 'b', 'two')}---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: two\n`]);
    assert.equal(splitBatch(withNamespace, ['one', 'two'], () => null), null);
    // A RoleBinding looks at the namespaces of its subjects too.
    assert.equal(splitBatch([...base, doc('RoleBinding', 'rb', 'one')].join('---\n'), ['one', 'two']), null);
    // No namespace, or one no root of the batch sets.
    assert.equal(splitBatch([...base, doc('ConfigMap', 'c')].join('---\n'), ['one', 'two']), null);
    assert.equal(splitBatch([...base, doc('ConfigMap', 'c', 'three')].join('---\n'), ['one', 'two']), null);
    // A root that rendered nothing is rendered alone (which says why).
    assert.equal(splitBatch(base.join('---\n'), ['one', 'two', 'three']), null);
    // Two roots with one namespace cannot be told apart.
    assert.equal(splitBatch(base.join('---\n'), ['one', 'one']), null);
    // Not kubectl's shape.
    assert.equal(documentsOf('kind: A'), null);
    assert.equal(splitBatch(`${doc('ConfigMap', 'a', 'one')}---\n---\n${doc('ConfigMap', 'b', 'two')}`, ['one', 'two']), null);
  });

  it('keeps out a root whose files may name the local-config annotation, however spelled', () => {
    assert.equal(mayMentionLocalConfig(Buffer.from('metadata:\n  annotations:\n    config.kubernetes.io/local-config: "true"\n')), true);
    assert.equal(mayMentionLocalConfig(Buffer.from('metadata:\n  annotations:\n    "config.kubernetes.io/local\\x2dconfig": "true"\n')), true);
    assert.equal(mayMentionLocalConfig(Buffer.from('metadata:\n  annotations:\n    "config.kubernetes.io/local-\\\n  config": "true"\n')), true);
    assert.equal(mayMentionLocalConfig(Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local\ndata:\n  path: "C:\\\\config"\n')), false);
  });

  it('a batch that times out costs the budget nothing, and no batch runs after it', async () => {
    const temp = mkdtempSync(path.join(tmpdir(), 'krr-batch-timeout-'));
    try {
      const guard = new RenderGuard(temp, { timeoutMs: 300, hungBudgetMs: 1_000, maxOutputBytes: 1024 });
      await assert.rejects(guard.runBatch('sleep', ['5'], 'a batch'), (error: unknown) => error instanceof RenderError && error.kind === 'timeout');
      await assert.rejects(guard.runBatch('echo', ['x'], 'the next batch'), (error: unknown) => error instanceof RenderError && error.kind === 'budget');
      assert.equal(guard.refusal('kustomize:overlays/prod'), null);
      assert.equal(guard.count, 1);
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });

  it('batches roots whose namespaces all differ, at most the limit each', () => {
    const roots = ['a', 'b', 'a', 'c', 'a', 'b'].map((namespace, item) => ({ item, namespace }));
    assert.deepEqual(batchesOf(roots), [[0, 1], [2, 5], [4, 3]]);
    assert.deepEqual(batchesOf(roots, 1), [[0], [2], [4], [1], [5], [3]]);
    assert.deepEqual(batchesOf([]), []);
  });

  it('batches only a root that sets its namespace and whose fields cannot move an object out of it or act at the top', () => {
    const folder = { name: 'w', root: '/w' };
    const info = (fields: string[], extra: Record<string, unknown> = {}) => ({ folder, dir: 'o', file: 'o/kustomization.yaml', namePrefix: '', nameSuffix: '', includes: [], resourceFiles: [], inputFiles: [], patches: [], hasReplacements: false, component: false, fields, ...extra });
    assert.equal(batchNamespace(info(['namespace', 'resources', 'patches', 'images'], { namespace: 'shop' })), 'shop');
    assert.equal(batchNamespace(info(['resources'])), null);
    for (const field of ['patchesJson6902', 'replacements', 'transformers', 'generators', 'validators', 'vars', 'sortOptions', 'buildMetadata', 'openapi', 'helmCharts', 'configurations', 'crds']) {
      assert.equal(batchNamespace(info(['namespace', 'resources', field], { namespace: 'shop' })), null, field);
    }
    const base = info(['resources', 'vars']);
    assert.equal(batchNamespace(info(['namespace', 'resources'], { namespace: 'shop', includes: [base] })), null);
    assert.equal(batchNamespace(info(['namespace', 'resources'], { namespace: 'shop', includes: [info(['resources', 'patchesJson6902'])] })), 'shop');
    assert.equal(batchNamespace(info(['namespace', 'resources'], { namespace: 'shop', error: 'x' })), null);
  });
});

describe('the kustomization graph and Namespace objects', () => {
  it('knows that kustomize gives a Namespace no prefix or suffix (a batch gives each Namespace to the root that can make it)', async () => {
    const temp = mkdtempSync(path.join(tmpdir(), 'krr-graph-'));
    try {
      const root = path.join(temp, 'w');
      mkdirSync(path.join(root, 'dev'), { recursive: true });
      writeFileSync(path.join(root, 'dev', 'kustomization.yaml'), 'namespace: app\nnamePrefix: dev-\nnameSuffix: -x\nresources:\n  - namespace.yaml\n  - deployment.yaml\n');
      writeFileSync(path.join(root, 'dev', 'namespace.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n');
      writeFileSync(path.join(root, 'dev', 'deployment.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n');
      const folders = await workspaceFolders([root]);
      const context: FinderContext = {
        index: await indexWorkspace(folders),
        files: { read: async (at, relativePath) => (await readManifestText(at, relativePath)).text, exists: async () => true },
        kubectlPath: 'kubectl',
        stagedRoot: async () => root,
        cache: new Map(),
        renders: new RenderGuard(temp),
      };
      const set = await loadKustomizations(context);
      const graph = await KustomizationGraph.of(context, set);
      const dev = set.list[0] as (typeof set.list)[number];
      assert.equal(graph.mayRender(dev, { kind: 'Namespace', group: '', name: 'app' }), true);
      assert.equal(graph.mayRender(dev, { kind: 'Namespace', group: '', name: 'dev-app-x' }), false);
      assert.equal(graph.mayRender(dev, { kind: 'Deployment', group: 'apps', name: 'dev-web-x' }), true);
      assert.equal(graph.mayRender(dev, { kind: 'Deployment', group: 'apps', name: 'web' }), false);
      // What kustomize prints agrees.
      const rendered = await runRenderer({ command: 'kubectl', args: ['kustomize', path.join(root, 'dev')], what: 'dev', timeoutMs: 20_000, home: temp, maxOutputBytes: 2 ** 20 });
      assert.match(rendered, /kind: Namespace\nmetadata:\n {2}name: app\n/);
      assert.match(rendered, /name: dev-web-x\n/);
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });
});

describe('batched kustomize renders', function () {
  this.timeout(300_000);
  let temp: string;
  beforeEach(() => {
    temp = mkdtempSync(path.join(tmpdir(), 'krr-batch-'));
  });
  afterEach(() => rmSync(temp, { recursive: true, force: true }));

  it('keeps, for each root of the generated monorepo, exactly what it renders alone, in a few runs', async () => {
    const repo = generateMonorepo(path.join(temp, 'monorepo'));
    const result = await compareWithSeparateRenders(repo.root, path.join(temp, 'guard'));
    // 300 overlays in 30 namespaces (domain × environment, 10 apps each), batches of 25 whose namespaces all differ;
    // the 101 bases set no namespace and are rendered alone when asked.
    assert.equal(result.roots, 401);
    assert.equal(result.kept, 300);
    assert.equal(result.runs, 12);
  });

  for (const name of ['css-kustomize', 'flux2-general', 'kustomize-examples', 'microservices-demo', 'podinfo', 'gitops-promoter-demo']) {
    it(`keeps only outputs equal to separate renders on ${name}`, async () => {
      const result = await compareWithSeparateRenders(path.join(sharedRepos(), name), path.join(temp, 'guard'));
      console.log(`      ${name}: ${result.kept} of ${result.roots} roots kept from ${result.runs} batch runs`);
    });
  }
});

describe('a manifest proposal that renders ahead', function () {
  this.timeout(300_000);

  it('offers and refuses exactly what it does without rendering ahead, in fewer kubectl runs', async () => {
    const temp = mkdtempSync(path.join(tmpdir(), 'krr-ahead-'));
    try {
      const repo = generateMonorepo(path.join(temp, 'monorepo'));
      const [a0, a1, a2] = repo.apps as [(typeof repo.apps)[number], (typeof repo.apps)[number], (typeof repo.apps)[number]];
      const target = (namespace: string, name: string, container: string): WorkloadTarget => ({ namespace, kind: 'Deployment', name, group: 'apps', context: null, desired: new Map<string, DesiredResources>([[container, { requests: { cpu: '250m', memory: '200Mi' }, limits: {} }]]) });
      const targets = [
        // Its values in the overlay's own patch: edited in place.
        target(`${a0.domain}-prod`, `prod-${a0.name}`, a0.name),
        // Its values in the shared base: a new patch in the overlay, listed in its kustomization.
        target(`${a1.domain}-prod`, `prod-${a1.name}`, a1.name),
        // What the base renders by itself: an edit there reaches every overlay, so it is refused (the look ahead's
        // guess staged it, and the workloads after it must not see it).
        target('default', a1.name, a1.name),
        target(`${a1.domain}-dev`, `dev-${a1.name}`, a1.name),
        target(`${a2.domain}-staging`, `staging-${a2.name}`, a2.name),
      ];
      const propose = async (renderAhead: boolean) => {
        let renders: RenderCount = { count: 0, runs: [] };
        const plan: ManifestPlan = await proposeManifestPlan(targets, { folders: await workspaceFolders([repo.root]), kubectlPath: 'kubectl', requester: { type: 'model', via: 'test' }, now: new Date(0), ttlSeconds: 600, context: null, renderAhead, onRenders: (seen) => (renders = seen) });
        return { plan, renders };
      };
      const before = await propose(false);
      const ahead = await propose(true);
      assert.equal(ahead.plan.digest, before.plan.digest);
      assert.deepEqual(
        ahead.plan.files.map((file) => [file.path, file.before, file.after]),
        before.plan.files.map((file) => [file.path, file.before, file.after]),
      );
      assert.deepEqual(ahead.plan.unresolved, before.plan.unresolved);
      assert.deepEqual(
        before.plan.workloads.map((workload) => workload.name),
        [`prod-${a0.name}`, `prod-${a1.name}`, `dev-${a1.name}`, `staging-${a2.name}`],
      );
      assert.equal(before.plan.unresolved.length, 1);
      assert.match((before.plan.unresolved[0] as { reason: string }).reason, /would also change what/);
      // Every root that reads a changed file rendered before and after its edit, either way.
      for (const dir of [`apps/${a0.name}/overlays/prod`, `apps/${a1.name}/overlays/prod`, `apps/${a1.name}/overlays/dev`, `apps/${a2.name}/overlays/staging`]) {
        assert.ok(ahead.renders.runs.filter((what) => what === `kubectl kustomize ${dir}`).length >= 2, dir);
      }
      assert.ok(ahead.renders.count < before.renders.count, `${ahead.renders.count} runs ahead, ${before.renders.count} without`);
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });
});
