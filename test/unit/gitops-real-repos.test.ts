// The manifest target end to end on six real GitOps repositories (../shared/gitops/repos, read only, never copied into
// this repository): each is copied to a temporary workspace, the workloads a chosen environment renders are put in the
// cluster as live objects, krr (the stand-in, reading their live requests) scans them, and an MCP client proposes with
// target "manifests" through `krr-mcp serve --stdio --workspace`, then approves the write by elicitation. The isolation
// invariant (docs/ARCHITECTURE.md, "The manifest target") is checked on every rendering of the repository, before and
// after: every kustomization root and chart rendering renders exactly as before, except the target environment's
// rendering of each target workload, whose resources equal krr's recommendation. Where the product refuses, the test
// says why that is right. One cluster and one server for the whole file; the workspace folder is refilled per test.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, ElicitRequest } from '@modelcontextprotocol/sdk/types.js';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { parseCpu, parseMemory } from '../../src/core/quantity';
import { krrReportJson } from '../support/krr-report';
import { changedRenderings, renderEveryRoot } from '../support/render-every-root';
import { krrStandIn } from '../support/session-fixture';
import { connectStdioClient, serveTransport } from '../support/stdio-client';
import { asControlPlane, startTestCluster, type TestCluster } from '../support/test-cluster';

const repoRoot = path.resolve(__dirname, '..', '..');

/**
 * The real layouts beside the repository (../shared/gitops/repos; CI has ../shared beside the checkout). A git worktree
 * one level deeper finds them too; missing, the tests fail rather than pass without them.
 */
function sharedRepos(): string {
  const candidates = [path.resolve(repoRoot, '..', 'shared', 'gitops', 'repos'), path.resolve(repoRoot, '..', '..', 'shared', 'gitops', 'repos')];
  const found = candidates.find((candidate) => existsSync(candidate));
  assert.ok(found, `the real GitOps layouts are not at ${candidates.join(' or ')}`);
  return found;
}

/** The helm that `npm run helm:build` built; tests never build it themselves. */
function builtHelm(): string {
  const out = execFileSync('bash', [path.resolve(repoRoot, 'test', 'helm', 'build.sh'), '--cached-only'], { encoding: 'utf8' }).trim().split('\n').at(-1) as string;
  return path.join(out, 'helm');
}

type JsonObject = Record<string, unknown>;
type Amounts = { cpu: number; memory: number };
/**
 * krr's recommendation for one container: every value set, so the rendered resources must equal it exactly; a null
 * CPU limit is krr's "unset" (proposed with allowLimitRemoval: the rendering must have no CPU limit).
 */
type Recommendation = { requests: Amounts; limits: { cpu: number | null; memory: number } };

const mi = 2 ** 20;

interface Target {
  namespace: string;
  kind: 'Deployment' | 'StatefulSet';
  name: string;
  containers: Record<string, Recommendation>;
  /** The live object: what the environment the cluster runs renders (namespace set to the target's). */
  live: (seen: { target: Target; renderings: ReadonlyMap<string, string>; workspace: string }) => JsonObject;
  /**
   * written: the rendering (a renderEveryRoot key, or `file <path>` for a plain manifest) of the target environment,
   * and the folder every written file is under; refused: the reason, and each candidate the reason must name.
   */
  outcome: { written: string; under: string; files?: string[]; release?: UnrenderedRelease } | { refused: RegExp; candidates?: RegExp[] };
}

/**
 * A workload whose chart is not in the repository (a HelmRelease of a remote chart): what changes in the rendering is
 * the HelmRelease's `spec.values.<values>.resources`, which must equal the recommendation; the workload itself is not
 * rendered by anything in the repository.
 */
interface UnrenderedRelease {
  name: string;
  values: string[];
  /** What the plan must say: that the chart could not be rendered. */
  note: RegExp;
}

interface Proposal {
  /** The kube context scanned: it names the environment where several render the same workload. */
  context: string;
  /** Proposed with allowLimitRemoval (krr's "unset" limits are removed from the source). */
  allowLimitRemoval?: true;
  targets: Target[];
}

/** The workload as `key` renders it (a kustomization, a chart with values files, or a plain manifest file). */
function fromRendering(key: string): Target['live'] {
  return ({ target, renderings }) => {
    const text = renderings.get(key);
    assert.ok(text !== undefined && !text.startsWith('render failed'), `${key}: ${text ?? 'no such rendering'}`);
    const object = documentsOf(text).find((document) => document.kind === target.kind && (document.metadata as JsonObject).name === target.name);
    assert.ok(object, `${key} renders no ${target.kind} ${target.name}`);
    return { ...object, metadata: { ...(object.metadata as JsonObject), namespace: target.namespace } };
  };
}

function documentsOf(text: string): JsonObject[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as unknown)
    .filter((value): value is JsonObject => value !== null && typeof value === 'object');
}

function recommend(cpu: number, memory: number, cpuLimit: number | null, memoryLimit: number): Recommendation {
  return { requests: { cpu, memory }, limits: { cpu: cpuLimit, memory: memoryLimit } };
}

const repositories: Array<{ repo: string; why: string; proposals: Proposal[] }> = [
  {
    repo: 'css-kustomize',
    why: 'one base, seven overlays on it with components and JSON6902 patches, all rendering solid/css-community-solid-server (namePrefix css-)',
    proposals: [
      {
        // The kube context names the overlay (as `k3s-with-pvc` does in gitops-isolation.test.ts for another one). The
        // overlays with the pvc component render a Deployment the API server refuses (its volume `data` gets a
        // persistentVolumeClaim beside the base's emptyDir): they cannot be the live object, nodeport-dev can.
        context: 'k3s-nodeport-dev',
        targets: [
          {
            namespace: 'solid',
            kind: 'Deployment',
            name: 'css-community-solid-server',
            containers: { 'community-solid-server': recommend(0.08, 192 * mi, 0.4, 768 * mi) },
            live: fromRendering('kustomize overlays/nodeport-dev'),
            // The overlay's own strategic-merge patch (dev-patch.yaml, read by no other overlay) sets every value, naming
            // the Deployment as the base did before its namePrefix (community-solid-server): it is edited in place.
            outcome: { written: 'kustomize overlays/nodeport-dev', under: 'overlays/nodeport-dev/', files: ['overlays/nodeport-dev/dev-patch.yaml'] },
          },
        ],
      },
      {
        // krr recommends unsetting the CPU limit, with the opt-in: dev-patch.yaml sets it (500m) and the base sets none
        // (`limits: {}`), so the key is removed from the patch; the six other overlays render as before.
        context: 'k3s-nodeport-dev',
        allowLimitRemoval: true,
        targets: [
          {
            namespace: 'solid',
            kind: 'Deployment',
            name: 'css-community-solid-server',
            containers: { 'community-solid-server': recommend(0.08, 192 * mi, null, 768 * mi) },
            live: fromRendering('kustomize overlays/nodeport-dev'),
            outcome: { written: 'kustomize overlays/nodeport-dev', under: 'overlays/nodeport-dev/', files: ['overlays/nodeport-dev/dev-patch.yaml'] },
          },
        ],
      },
    ],
  },
  {
    repo: 'kustomize-examples',
    why: 'kustomize\'s own examples: overlays with namePrefix and patches, a generator, plain manifests beside kustomizations, one with a remote resource',
    proposals: [
      {
        context: 'kind-examples',
        targets: [
          {
            namespace: 'default',
            kind: 'Deployment',
            name: 'production-sbdemo',
            containers: { sbdemo: recommend(0.3, 1024 * mi, 1, 1024 * mi) },
            live: fromRendering('kustomize examples/springboot/overlays/production'),
            // Memory comes from production's own memorylimit_patch.yaml; CPU from nowhere yet (the shared base has none).
            outcome: { written: 'kustomize examples/springboot/overlays/production', under: 'examples/springboot/overlays/production/' },
          },
          {
            namespace: 'default',
            kind: 'Deployment',
            name: 'the-deployment',
            containers: { 'the-container': recommend(0.05, 64 * mi, 0.2, 128 * mi) },
            live: fromRendering('kustomize examples/helloWorld'),
            outcome: { written: 'kustomize examples/helloWorld', under: 'examples/helloWorld/' },
          },
          {
            namespace: 'default',
            kind: 'Deployment',
            name: 'mysql',
            containers: { mysql: recommend(0.5, 512 * mi, 1, 1024 * mi) },
            live: fromRendering('kustomize examples/wordpress/mysql'),
            // Real ambiguity: mySql/deployment.yaml (a plain manifest) and the wordpress/mysql kustomization both define
            // Deployment default/mysql, and nothing in the repository says which of the two examples is deployed.
            outcome: { refused: /2 sources could define Deployment default\/mysql; KRR does not pick one/, candidates: [/examples\/mySql\/deployment\.yaml/, /examples\/wordpress\/mysql \(Kustomize\)/] },
          },
        ],
      },
    ],
  },
  {
    repo: 'podinfo',
    why: 'Kustomize bases shared by three namespaced overlays, plain manifests of two more environments, a kustomization of its own and a Helm chart with values-prod.yaml rendering the same name',
    proposals: [
      {
        context: 'gke_acme_production',
        targets: [
          {
            namespace: 'production',
            kind: 'Deployment',
            name: 'cache',
            containers: { redis: recommend(0.05, 48 * mi, 0.5, 96 * mi) },
            live: fromRendering('kustomize deploy/overlays/production'),
            // The values live in bases/cache, which dev and staging render too: a patch of production's own.
            outcome: { written: 'kustomize deploy/overlays/production', under: 'deploy/overlays/production/' },
          },
          {
            namespace: 'webapp',
            kind: 'Deployment',
            name: 'backend',
            containers: { backend: recommend(0.15, 48 * mi, 1, 256 * mi) },
            live: fromRendering('file deploy/webapp/backend/deployment.yaml'),
            outcome: { written: 'file deploy/webapp/backend/deployment.yaml', under: 'deploy/webapp/backend/' },
          },
          {
            namespace: 'default',
            kind: 'Deployment',
            name: 'podinfo',
            containers: { podinfod: recommend(0.05, 48 * mi, 1, 256 * mi) },
            live: fromRendering('kustomize kustomize'),
            // The chart renders a Deployment default/podinfo too (released as podinfo, as its README installs it), but
            // its container is `podinfo`: the live object's `podinfod` comes from kustomize/, the one source.
            outcome: { written: 'kustomize kustomize', under: 'kustomize/' },
          },
        ],
      },
    ],
  },
  {
    repo: 'microservices-demo',
    why: 'the same application three ways: plain manifests with a kustomization, a Kustomize base with components and test overlays, and a Helm chart',
    proposals: [
      {
        context: 'gke_shop_memorystore-with-all-components',
        targets: [
          {
            namespace: 'default',
            kind: 'Deployment',
            name: 'frontend',
            containers: { server: recommend(0.08, 48 * mi, 0.2, 96 * mi) },
            live: fromRendering('kustomize kustomize/tests/memorystore-with-all-components'),
            // Real ambiguity: the context names the test overlay among the kustomizations, but the Helm chart renders
            // default/frontend too (helm install puts it in any namespace), and the repository offers both as ways to
            // deploy the same shop.
            outcome: { refused: /2 sources could define Deployment default\/frontend/, candidates: [/kustomize\/tests\/memorystore-with-all-components \(Kustomize\)/, /helm-chart\/values\.yaml \(Helm chart onlineboutique\)/] },
          },
        ],
      },
      {
        // Installed with helm into a namespace of its own: no kustomization renders namespace boutique, the chart alone does.
        context: 'gke_shop_boutique',
        targets: [
          {
            namespace: 'boutique',
            kind: 'Deployment',
            name: 'frontend',
            containers: { server: recommend(0.08, 48 * mi, 0.2, 96 * mi) },
            live: fromRendering('helm helm-chart values.yaml'),
            outcome: { written: 'helm helm-chart values.yaml', under: 'helm-chart/' },
          },
        ],
      },
    ],
  },
  {
    repo: 'flux2-general',
    why: 'Flux: apps/ layers with nameSuffix and inline JSON6902 patches, per-cluster environment kustomizations, a HelmRelease',
    proposals: [
      {
        context: 'demo-000',
        targets: [
          {
            namespace: 'demoapp-auth-dev',
            kind: 'Deployment',
            name: 'demoapp-auth-food',
            containers: { 'demoapp-auth-food': recommend(0.2, 384 * mi, 0.5, 512 * mi) },
            live: fromRendering('kustomize clusters/demo-000/apps/demoapp-auth/prod'),
            // Real ambiguity: cluster demo-000's dev, stg and prod kustomizations all set namespace demoapp-auth-dev (stg
            // and prod copy dev's), so all three deploy this object into one namespace of one cluster, and a context
            // naming only the cluster cannot tell which one decides it.
            outcome: {
              refused: /3 sources could define Deployment demoapp-auth-dev\/demoapp-auth-food/,
              candidates: ['dev', 'stg', 'prod'].map((env) => new RegExp(`clusters/demo-000/apps/demoapp-auth/${env} \\(Kustomize\\)`)),
            },
          },
          {
            namespace: 'demoapp-auth-dev',
            kind: 'StatefulSet',
            name: 'redis-master',
            containers: { redis: recommend(0.1, 192 * mi, 0.25, 256 * mi) },
            live: () => redisMaster,
            // Its only source is the HelmRelease `redis` in dev's redis.yaml (read by dev alone), of the Bitnami chart
            // from a HelmRepository, which no one can render here: redis-master is `<release>-<component>`, so by the
            // chart's naming convention its values are spec.values.master.resources, written there with the plan
            // saying the chart could not be rendered.
            outcome: {
              written: 'kustomize clusters/demo-000/apps/demoapp-auth/dev',
              under: 'clusters/demo-000/apps/demoapp-auth/dev/',
              files: ['clusters/demo-000/apps/demoapp-auth/dev/redis.yaml'],
              release: { name: 'redis', values: ['master'], note: /the chart of HelmRelease redis could not be rendered \(.*comes from HelmRepository bitnami-oci.*\): KRR wrote spec\.values\.<key>\.resources by convention/ },
            },
          },
        ],
      },
      {
        // A context naming the cluster and the environment, as Flux's clusters/<cluster>/…/<env> layout reads.
        context: 'demo-000-prod',
        targets: [
          {
            namespace: 'demoapp-auth-dev',
            kind: 'Deployment',
            name: 'demoapp-auth-food',
            containers: { 'demoapp-auth-food': recommend(0.2, 384 * mi, 0.5, 512 * mi) },
            live: fromRendering('kustomize clusters/demo-000/apps/demoapp-auth/prod'),
            // The values come from an inline patch of apps/demoapp-auth/food, which dev and stg render too: a patch of
            // prod's own.
            outcome: { written: 'kustomize clusters/demo-000/apps/demoapp-auth/prod', under: 'clusters/demo-000/apps/demoapp-auth/prod/' },
          },
        ],
      },
    ],
  },
  {
    repo: 'gitops-promoter-demo',
    why: 'Argo CD (source hydrator): an app-of-apps chart of Applications, and a guestbook chart with env/<env>/values.yaml per Application',
    proposals: [
      {
        context: 'kind-guestbook-prd',
        targets: [
          {
            namespace: 'guestbook-github-prd',
            kind: 'Deployment',
            name: 'guestbook-github-prd',
            containers: { guestbook: recommend(0.02, 32 * mi, 0.1, 64 * mi) },
            live: ({ workspace }) => guestbookAsArgoRendersIt(workspace),
            // Its source is the Argo CD Application guestbook-github-prd: the chart demo-apps/guestbook released under
            // that name with env/prd/values.yaml. The Application finder finds it, and refuses rightly: that values
            // file is listed by guestbook-gitlab-prd too (an edit would reach the other Application), and the
            // Application itself is written by the app-of-apps chart's template, so there is no valuesObject of its
            // own to write into.
            outcome: { refused: /Application guestbook-github-prd has no values of its own to write these resources in \(demo-apps\/guestbook\/env\/prd\/values\.yaml is listed by other Applications too \(guestbook-gitlab-prd\)/ },
          },
        ],
      },
    ],
  },
];

/** redis-master as the bitnami chart of the HelmRelease renders it (that chart is not in the repository). */
const redisMaster: JsonObject = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'redis-master', namespace: 'demoapp-auth-dev', labels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'redis', 'app.kubernetes.io/component': 'master', 'helm.toolkit.fluxcd.io/name': 'redis', 'helm.toolkit.fluxcd.io/namespace': 'demoapp-auth-dev' } },
  spec: {
    replicas: 1,
    serviceName: 'redis-headless',
    selector: { matchLabels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'redis', 'app.kubernetes.io/component': 'master' } },
    template: {
      metadata: { labels: { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'redis', 'app.kubernetes.io/component': 'master' } },
      spec: { containers: [{ name: 'redis', image: 'docker.io/bitnami/redis:7.2.5', resources: { requests: { cpu: '150m', memory: '256Mi' }, limits: { cpu: '375m', memory: '384Mi' } } }] },
    },
  },
};

let helm = '';

/** What Argo CD's hydrator renders for Application guestbook-github-prd (charts/apps/templates/guestbook-github-prd.yaml). */
function guestbookAsArgoRendersIt(workspace: string): JsonObject {
  const chart = path.join(workspace, 'demo-apps', 'guestbook');
  const text = execFileSync(helm, ['template', 'guestbook-github-prd', chart, '--namespace', 'guestbook-github-prd', '-f', path.join(chart, 'values.yaml'), '-f', path.join(chart, 'env', 'prd', 'values.yaml')], { encoding: 'utf8' });
  const object = documentsOf(text).find((document) => document.kind === 'Deployment');
  assert.ok(object, 'the guestbook chart renders a Deployment');
  return { ...object, metadata: { ...(object.metadata as JsonObject), namespace: 'guestbook-github-prd' } };
}

/** Every file under `root` (relative path -> content), to show that only the plan's files changed. */
function tree(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else files.set(path.relative(root, full).split(path.sep).join('/'), readFileSync(full, 'utf8'));
    }
  };
  walk(root);
  return files;
}

/** Container resources with every CPU and memory quantity as a number, so `750m` and `0.75` compare equal. */
function quantities(resources: unknown): unknown {
  if (!resources || typeof resources !== 'object') return resources ?? {};
  return Object.fromEntries(
    Object.entries(resources as Record<string, Record<string, unknown>>).map(([allocation, values]) => [
      allocation,
      Object.fromEntries(Object.entries(values ?? {}).map(([resource, value]) => [resource, resource === 'cpu' ? parseCpu(String(value)) : resource === 'memory' ? parseMemory(String(value)) : value])),
    ]),
  );
}

function containersOf(object: JsonObject): JsonObject[] {
  const spec = (object.kind === 'CronJob' ? ((object.spec as JsonObject).jobTemplate as JsonObject) : object) as JsonObject;
  return (((spec.spec as JsonObject).template as JsonObject).spec as JsonObject).containers as JsonObject[];
}

function withoutResources(object: JsonObject): JsonObject {
  const copy = structuredClone(object);
  for (const container of containersOf(copy)) delete container.resources;
  return copy;
}

/**
 * `after` is `before` but for the target workloads' container resources, which equal the recommendation (values krr
 * recommends for other fields of `resources`, if any, stay). A chart rendered by renderEveryRoot is in namespace
 * default whatever namespace the release goes to: there the target is found by kind and name.
 */
function assertOnlyTargetsChanged(key: string, before: string, after: string, targets: readonly Target[]): void {
  const [was, now] = [documentsOf(before), documentsOf(after)];
  assert.equal(now.length, was.length, `${key}: as many objects as before`);
  const isTarget = (object: JsonObject, target: Target) => {
    const metadata = object.metadata as JsonObject;
    return object.kind === target.kind && metadata.name === target.name && (key.startsWith('helm ') || ((metadata.namespace as string | undefined) ?? 'default') === target.namespace);
  };
  const seen = new Set<Target>();
  now.forEach((object, index) => {
    const previous = was[index] as JsonObject;
    const target = targets.find((candidate) => isTarget(object, candidate));
    if (!target) {
      assert.deepEqual(object, previous, `${key}: ${String(object.kind)} ${String((object.metadata as JsonObject).name)} renders as before`);
      return;
    }
    seen.add(target);
    assert.deepEqual(withoutResources(object), withoutResources(previous), `${key}: ${target.kind} ${target.name} differs only in its resources`);
    const previousContainers = containersOf(previous);
    for (const container of containersOf(object)) {
      const recommended: Recommendation | undefined = target.containers[container.name as string];
      const old = previousContainers.find((candidate) => candidate.name === container.name)?.resources;
      // A null (krr's "unset", opted in) is a limit the rendering no longer has.
      const limits = recommended ? Object.fromEntries(Object.entries({ ...(quantities(old) as Record<string, object>).limits, ...recommended.limits }).filter(([, value]) => value !== null)) : {};
      const expected: unknown = recommended ? { ...(quantities(old) as object), requests: { ...(quantities(old) as Record<string, object>).requests, ...recommended.requests }, limits } : quantities(old);
      assert.deepEqual(quantities(container.resources), expected, `${key}: ${target.kind} ${target.name} container ${String(container.name)}`);
    }
  });
  assert.deepEqual(
    targets.filter((target) => !seen.has(target)).map((target) => target.name),
    [],
    `${key} renders every target`,
  );
}

function releaseOf(target: Target): UnrenderedRelease | undefined {
  return 'written' in target.outcome ? target.outcome.release : undefined;
}

/** `after` is `before` but for the HelmRelease's spec.values.<values>.resources, which equal the recommendation. */
function assertOnlyReleaseValuesChanged(key: string, before: string, after: string, target: Target, release: UnrenderedRelease): void {
  const [was, now] = [documentsOf(before), documentsOf(after)];
  assert.equal(now.length, was.length, `${key}: as many objects as before`);
  const recommended = Object.values(target.containers);
  assert.equal(recommended.length, 1, 'one container, one values key');
  let seen = false;
  now.forEach((object, index) => {
    const previous = was[index] as JsonObject;
    if (object.kind !== 'HelmRelease' || (object.metadata as JsonObject).name !== release.name) {
      assert.deepEqual(object, previous, `${key}: ${String(object.kind)} ${String((object.metadata as JsonObject).name)} renders as before`);
      return;
    }
    seen = true;
    const valuesOf = (value: JsonObject) => (value.spec as JsonObject).values as JsonObject;
    const holder = release.values.reduce<JsonObject>((node, part) => node[part] as JsonObject, valuesOf(object));
    assert.deepEqual(quantities(holder.resources), recommended[0], `${key}: HelmRelease ${release.name} spec.values.${release.values.join('.')}.resources`);
    const expected = structuredClone(object);
    const expectedHolder = release.values.slice(0, -1).reduce<JsonObject>((node, part) => node[part] as JsonObject, valuesOf(expected));
    delete expectedHolder[release.values.at(-1) as string];
    assert.deepEqual(expected, previous, `${key}: HelmRelease ${release.name} differs only in spec.values.${release.values.join('.')}`);
  });
  assert.ok(seen, `${key} renders HelmRelease ${release.name}`);
}

interface WorkloadView {
  namespace: string;
  kind: string;
  name: string;
  files: Array<{ folder: string; path: string }>;
  notes?: string[];
  reason?: string;
  candidates?: string[];
}

function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

function structured<T>(result: CallToolResult): T {
  assert.ok(result.structuredContent, textOf(result));
  return result.structuredContent as T;
}

describe('gitops on six real repositories: end to end over MCP (target "manifests"), every rendering checked before and after', function () {
  this.timeout(240_000);
  let cluster: TestCluster;
  let dir: string;
  let workspace: string;
  let client: Client;
  let elicitations: Array<ElicitRequest['params']>;
  let kubeconfig: string;
  const reportFile = () => path.join(dir, 'krr-report.json');
  const repos = sharedRepos();
  /**
   * The objects the tests put in the cluster, removed at the end: the control plane is shared with the other files of
   * the worker, so the namespaces are none of its seed's (shop, dev, …), which a reset would have to recreate.
   */
  const seeded: Array<{ kind: string; namespace: string; name: string }> = [];
  const namespaces = new Set<string>();
  let kubeVersion = '';

  before(async function () {
    this.timeout(180_000);
    helm = builtHelm();
    cluster = await startTestCluster();
    dir = mkdtempSync(path.join(tmpdir(), 'krr-real-repos-'));
    workspace = path.join(dir, 'repo');
    // One kubeconfig context per environment the tests scan, all on the test cluster: the report of a scan carries its
    // context, and the context names the environment (the overlay) where several render the same workload.
    const config = parse(readFileSync(cluster.kubeconfigPath, 'utf8')) as { contexts: Array<{ name: string; context: JsonObject }> };
    const main = config.contexts.find((context) => context.name === cluster.context) as { name: string; context: JsonObject };
    // Each context once (two proposals may scan the same one): kubectl refuses a kubeconfig naming a context twice.
    for (const context of new Set(repositories.flatMap(({ proposals }) => proposals.map((proposal) => proposal.context)))) config.contexts.push({ name: context, context: { ...main.context } });
    kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, stringify(config), { mode: 0o600 });
    writeFileSync(path.join(dir, 'settings.json'), JSON.stringify({ confirmByTyping: [], declineCooldownSeconds: 0, helmPath: helm }));
    writeFileSync(reportFile(), krrReportJson([]));
    cpSync(path.join(repos, 'podinfo'), workspace, { recursive: true });
    const transport = serveTransport(
      ['--state-dir', path.join(dir, 'state'), '--kubeconfig', kubeconfig, '--krr', krrStandIn, '--kubectl', 'kubectl', '--settings', path.join(dir, 'settings.json'), '--workspace', workspace],
      path.join(dir, 'home'),
      // krr reads the allocations of the live objects the tests seed; the recommendations come from the report file.
      { KRR_STANDIN_REPORT: reportFile(), KRR_STANDIN_FROM_CLUSTER: '1' },
    );
    ({ client, elicitations } = await connectStdioClient(transport, 'real-repos-client', () => ({ action: 'accept', content: { approve: true } })));
    // krr_status reads the API server's version: charts render for it (podinfo's declares kubeVersion >=1.23).
    const status = structured<{ kubectl: { server: string | null } }>(await call('krr_status', {}));
    assert.ok(status.kubectl.server, 'the server version is known');
    kubeVersion = status.kubectl.server;
  });

  after(async () => {
    await client?.close();
    if (cluster) {
      for (const object of seeded) kubectl(['delete', object.kind, object.name, '-n', object.namespace, '--ignore-not-found', '--wait=false']);
      for (const namespace of namespaces) kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
      await cluster.close();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function call(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    return (await client.callTool({ name, arguments: args }, undefined, { timeout: 180_000 })) as CallToolResult;
  }

  /** kubectl as the harness where the real control plane runs (its writes are not the product's), else as admin. */
  function kubectl(args: string[], input?: string): string {
    const plane = asControlPlane(cluster);
    if (plane) return plane.harnessKubectl(args, input);
    return execFileSync('kubectl', ['--kubeconfig', cluster.kubeconfigPath, ...args], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  }

  function seed(objects: readonly JsonObject[]): void {
    const wanted = objects.map((object) => (object.metadata as JsonObject).namespace as string).filter((namespace) => namespace !== 'default');
    for (const namespace of wanted) namespaces.add(namespace);
    const namespaceDocs = [...new Set(wanted)].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
    if (namespaceDocs.length > 0) kubectl(['apply', '-f', '-'], namespaceDocs.map((doc) => stringify(doc)).join('---\n'));
    kubectl(['apply', '-f', '-'], objects.map((object) => stringify(object)).join('---\n'));
    for (const object of objects) seeded.push({ kind: String(object.kind), namespace: (object.metadata as JsonObject).namespace as string, name: (object.metadata as JsonObject).name as string });
    cluster.clearMutations();
  }

  /** Every rendering of the workspace, and the plain manifest files the targets name. */
  function renderings(root: string, files: readonly string[]): Map<string, string> {
    const all = renderEveryRoot(root, { helm, kubeVersion });
    for (const file of files) all.set(`file ${file}`, readFileSync(path.join(root, file), 'utf8'));
    return all;
  }

  for (const { repo, why, proposals } of repositories) {
    describe(`${repo} (${why})`, () => {
      let pristine: Map<string, string> | undefined;
      const plainFiles = proposals.flatMap((proposal) => proposal.targets.flatMap((target) => ('written' in target.outcome && target.outcome.written.startsWith('file ') ? [target.outcome.written.slice('file '.length)] : [])));

      for (const proposal of proposals) {
        const names = proposal.targets.map((target) => `${target.namespace}/${target.name}`).join(', ');
        it(`context ${proposal.context}: ${names}`, async () => {
          rmSync(workspace, { recursive: true, force: true });
          cpSync(path.join(repos, repo), workspace, { recursive: true });
          const files = tree(workspace);
          // Rendered once per repository (every test starts from the same files).
          pristine ??= renderings(workspace, plainFiles);
          const before = pristine;

          // The cluster runs what the environment renders; krr recommends for it.
          seed(proposal.targets.map((target) => target.live({ target, renderings: before, workspace })));
          writeFileSync(
            reportFile(),
            krrReportJson(
              proposal.targets.map((target) => ({
                namespace: target.namespace,
                kind: target.kind,
                name: target.name,
                containers: Object.fromEntries(Object.entries(target.containers).map(([container, recommended]) => [container, { current: recommended, recommended }])),
              })),
              { cluster: proposal.context },
            ),
          );
          const scan = await call('krr_scan', { context: proposal.context, namespaces: [...new Set(proposal.targets.map((target) => target.namespace))], refresh: true });
          const reportId = structured<{ reportId: string }>(scan).reportId;
          const result = await call('krr_propose_changes', { reportId, target: 'manifests', includeLimits: true, ...(proposal.allowLimitRemoval ? { allowLimitRemoval: true } : {}), workloads: proposal.targets.map(({ namespace, kind, name }) => ({ namespace, kind, name })) });
          assert.equal(result.isError, undefined, textOf(result));
          const plan = structured<{ planId: string; workloads: WorkloadView[]; files: Array<{ path: string }> }>(result);

          for (const target of proposal.targets) {
            const view = plan.workloads.find((workload) => workload.namespace === target.namespace && workload.kind === target.kind && workload.name === target.name);
            assert.ok(view, `${target.name} is in the plan`);
            if ('written' in target.outcome) {
              assert.equal(view.reason, undefined, `${target.name}: ${view.reason ?? ''} ${(view.candidates ?? []).join('; ')}`);
              assert.ok(view.files.length > 0, `${target.name} has files to write`);
              for (const file of view.files) assert.ok(file.path.startsWith(target.outcome.under), `${target.name}: ${file.path} is under ${target.outcome.under}`);
              if (target.outcome.files) assert.deepEqual(view.files.map((file) => file.path).sort(), target.outcome.files);
              if (target.outcome.release) assert.match((view.notes ?? []).join('\n'), target.outcome.release.note);
            } else {
              assert.deepEqual(view.files, [], `${target.name}: nothing written`);
              assert.match(view.reason ?? '', target.outcome.refused);
              for (const candidate of target.outcome.candidates ?? []) assert.ok((view.candidates ?? []).some((named) => candidate.test(named)), `${target.name}: a candidate matches ${String(candidate)}: ${(view.candidates ?? []).join('; ')}`);
            }
          }

          const written = proposal.targets.filter((target): target is Target & { outcome: { written: string; under: string } } => 'written' in target.outcome);
          const asked = elicitations.length;
          if (written.length > 0) {
            const applied = await call('krr_apply_plan', { planId: plan.planId });
            assert.equal(structured<{ status: string }>(applied).status, 'applied', textOf(applied));
            assert.equal(elicitations.length, asked + 1, 'the person was asked once');
          } else assert.deepEqual(plan.files, [], 'nothing to write, nobody asked');

          // Only the plan's files changed in the workspace, and nothing reached the cluster.
          const now = tree(workspace);
          const changedFiles = [...new Set([...files.keys(), ...now.keys()])].filter((file) => files.get(file) !== now.get(file)).sort();
          assert.deepEqual(changedFiles, plan.files.map((file) => file.path).sort());
          assert.deepEqual(cluster.writes(), [], 'a manifest write sends nothing to the cluster');

          // The isolation invariant on every rendering of the repository.
          const after = renderings(workspace, plainFiles);
          const expected = [...new Set(written.map((target) => target.outcome.written))].sort();
          assert.deepEqual(changedRenderings(before, after), expected);
          for (const key of expected) {
            const unrendered = written.find((target) => target.outcome.written === key && releaseOf(target) !== undefined);
            const release = unrendered ? releaseOf(unrendered) : undefined;
            if (unrendered && release) {
              assertOnlyReleaseValuesChanged(key, before.get(key) as string, after.get(key) as string, unrendered, release);
              continue;
            }
            assertOnlyTargetsChanged(
              key,
              before.get(key) as string,
              after.get(key) as string,
              written.filter((target) => target.outcome.written === key),
            );
          }
        });
      }
    });
  }
});
