// Several kustomization roots rendered by one `kubectl kustomize` run: a temporary kustomization that lists the roots'
// directories as its resources, its output split back per root. A kubectl run costs far more (its start, its OpenAPI
// schema) than a root does, so a proposal renders the roots it will need in a few runs ahead of time; each output is
// kept under the content key of a render of that root alone (renderKey), so a later render of the same inputs takes it,
// and a render of other inputs runs as before. Only what is provably equal to a render of the root alone is kept.
//
// Why the split equals separate renders (kustomize v5, api/internal/target/kusttarget.go and krusty/kustomizer.go):
// a directory resource is built by the same code as a root (accumulateDirectory -> AccumulateTarget, its own loader
// rooted at that directory with the same load restrictor), and the aggregate adds no field of its own. What differs is
// only what kustomize does once, at the top: hash suffixes (per object), name back-references, vars, dropping
// local-config objects, the sort, and the root's own top-level-only fields. So a root is batched only when:
// - its own kustomization sets `namespace:` and uses only fields that cannot move an object out of it afterwards (no
//   patchesJson6902, replacements or plugins, which run after the namespace transformer) nor act only at the top
//   (openapi, sortOptions, buildMetadata): all of its namespaced objects end in that namespace;
// - nothing it includes declares vars, configurations, crds or openapi (merged into the top-level run, or global);
// - no file it reads mentions local-config, even through a YAML escape (an object dropped at the top is invisible in
//   the output but was a candidate for back-references);
// and a batch is kept only when its output shows every object in the namespace of exactly one root of the batch (the
// roots' namespaces differ), none of a cluster-scoped kind but a Namespace (inert: see splitBatch) that only one root
// of the batch can make, and no RoleBinding. A back-reference of a namespaced
// object other than a RoleBinding only looks at objects of its own namespace and cluster-scoped ones
// (resWrangler.SubsetThatCouldBeReferencedByResource): that is exactly its own root's objects, as alone. The legacy
// sort is a total order on object ids, so each root's objects keep the order they have alone; each object is printed
// on its own. Anything else — a failed run, an object that breaks these rules — keeps nothing: those roots render alone.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { closureOf, renderKey, type KustomizationGraph, type KustomizationInfo } from './kustomizationGraph';
import type { FinderContext } from './model';
import { RenderError, runRenderer } from './render';
import { ManifestEditError, parseManifestFile, plainObjectOf } from './yamlEdit';

/** Fields a batched root's own kustomization may set: none of them moves an object out of its namespace afterwards. */
const rootFields = new Set(['apiVersion', 'kind', 'metadata', 'namespace', 'namePrefix', 'nameSuffix', 'resources', 'bases', 'components', 'patches', 'patchesStrategicMerge', 'images', 'labels', 'commonLabels', 'commonAnnotations', 'replicas', 'configMapGenerator', 'secretGenerator', 'generatorOptions']);

/** Fields of any kustomization a batched root includes that reach the top-level run or the whole process. */
const closureFields = ['vars', 'configurations', 'crds', 'openapi'];

/**
 * Kinds Kubernetes serves cluster-scoped (by name, whatever the group: a superset of those kustomize's schema knows).
 * An object of one of them could be a back-reference candidate of every root of a batch.
 */
const clusterScopedKinds = new Set([
  'APIService',
  'CertificateSigningRequest',
  'ClusterRole',
  'ClusterCIDR',
  'ClusterRoleBinding',
  'ClusterTrustBundle',
  'ComponentStatus',
  'CSIDriver',
  'CSINode',
  'CustomResourceDefinition',
  'DeviceClass',
  'FlowSchema',
  'IngressClass',
  'IPAddress',
  'MutatingAdmissionPolicy',
  'MutatingAdmissionPolicyBinding',
  'MutatingWebhookConfiguration',
  'Namespace',
  'Node',
  'PersistentVolume',
  'PodSecurityPolicy',
  'PriorityClass',
  'PriorityLevelConfiguration',
  'ResourceClass',
  'ResourceSlice',
  'RuntimeClass',
  'SelfSubjectAccessReview',
  'SelfSubjectReview',
  'SelfSubjectRulesReview',
  'ServiceCIDR',
  'StorageClass',
  'StorageVersion',
  'StorageVersionMigration',
  'SubjectAccessReview',
  'TokenReview',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'ValidatingWebhookConfiguration',
  'VolumeAttachment',
  'VolumeAttributesClass',
]);

/**
 * Whether a file may name the local-config annotation: written out, or through a YAML escape or an escaped line break
 * in a double-quoted string, which could spell it too.
 */
export function mayMentionLocalConfig(data: Buffer): boolean {
  return data.includes('local-config') || /\\(?:[xuU]|\r?\n)/.test(data.toString('latin1'));
}

/** At most this many roots in one run: a failed run costs its roots a render each. */
export const maxBatchRoots = 25;

/** A kustomization file's fields as a batch looks at them: which it sets (not null), and its namespace. */
export interface BatchFields {
  fields: readonly string[];
  namespace?: string | undefined;
}

/**
 * Whether `info` may be in a batch, by its fields and those of every kustomization it includes (`fieldsOf`, read from
 * what will be rendered; the output is checked too); its namespace when it may.
 */
export function batchNamespace(info: KustomizationInfo, fieldsOf: (info: KustomizationInfo) => BatchFields | null = readFields): string | null {
  if (info.error !== undefined || info.unread || info.component) return null;
  const own = fieldsOf(info);
  if (own === null || typeof own.namespace !== 'string' || own.namespace === '') return null;
  if (own.fields.some((field) => !rootFields.has(field))) return null;
  for (const included of closureOf(info)) {
    const fields = included.error !== undefined || included.unread ? null : fieldsOf(included);
    if (fields === null || fields.fields.some((field) => closureFields.includes(field))) return null;
  }
  return own.namespace;
}

/** The fields the set read from the workspace. */
function readFields(info: KustomizationInfo): BatchFields | null {
  return info.fields === undefined ? null : { fields: info.fields, namespace: info.namespace };
}

/** The fields of each kustomization file as the staged copy holds it now (edits staged since the set was read included). */
async function stagedFields(context: FinderContext, infos: readonly KustomizationInfo[]): Promise<Map<KustomizationInfo, BatchFields | null>> {
  const fields = new Map<KustomizationInfo, BatchFields | null>();
  for (const info of infos) {
    for (const member of [info, ...closureOf(info)]) {
      if (fields.has(member)) continue;
      try {
        const text = await readFile(path.join(await context.stagedRoot(member.folder), member.file), 'utf8');
        const document = parseManifestFile(text, member.file).documents[0];
        const value = document ? plainObjectOf(document, member.file) : {};
        if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ManifestEditError(`${member.file} is not a mapping`);
        const entries = Object.entries(value as Record<string, unknown>).filter(([, field]) => field !== null);
        const namespace = (value as { namespace?: unknown }).namespace;
        fields.set(member, { fields: entries.map(([name]) => name), namespace: typeof namespace === 'string' ? namespace : undefined });
      } catch (error) {
        if (!(error instanceof ManifestEditError) && (error as NodeJS.ErrnoException).code === undefined) throw error;
        fields.set(member, null);
      }
    }
  }
  return fields;
}

/**
 * The documents of a `kubectl kustomize` output: kustomize prints each object on its own and joins them with `---`
 * lines; a valid YAML document never holds a `---` line of its own. Null when the text is not that shape.
 */
export function documentsOf(text: string): string[] | null {
  if (text === '') return [];
  if (!text.endsWith('\n')) return null;
  const documents = text.split(/^---\n/m);
  if (documents.some((document) => document === '')) return null;
  return documents;
}

/**
 * The output of each root from the output of a batch (`namespaces[i]` is root i's namespace, all different), or null
 * when any object breaks the rules above or any root rendered nothing (it is then rendered alone, which says why).
 */
export function splitBatch(text: string, namespaces: readonly string[], namespaceObjectOwner: (name: string) => number | null = () => null): string[] | null {
  const documents = documentsOf(text);
  if (documents === null) return null;
  const index = new Map(namespaces.map((namespace, position) => [namespace, position]));
  if (index.size !== namespaces.length) return null;
  const parts: string[][] = namespaces.map(() => []);
  for (const document of documents) {
    let object: unknown;
    try {
      const parsed = parseManifestFile(document, 'the output of a batched kubectl kustomize').documents;
      if (parsed.length !== 1) return null;
      object = plainObjectOf(parsed[0] as (typeof parsed)[number], 'the output of a batched kubectl kustomize');
    } catch (error) {
      if (error instanceof ManifestEditError) return null;
      throw error;
    }
    if (!object || typeof object !== 'object' || Array.isArray(object)) return null;
    const { apiVersion, kind, metadata } = object as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
    const namespace = metadata && typeof metadata === 'object' ? metadata.namespace : undefined;
    let position: number | null | undefined;
    if (apiVersion === 'v1' && kind === 'Namespace' && namespace === undefined && typeof metadata?.name === 'string') {
      // A Namespace is neither a back-reference's target nor its referrer (kustomize's default nameReference
      // configuration, which no batched root extends): inert at the top. It goes to the one root that can make it.
      position = namespaceObjectOwner(metadata.name);
    } else {
      if (typeof kind !== 'string' || clusterScopedKinds.has(kind) || kind === 'RoleBinding') return null;
      position = typeof namespace === 'string' ? index.get(namespace) : undefined;
    }
    if (position === undefined || position === null) return null;
    (parts[position] as string[]).push(document);
  }
  if (parts.some((part) => part.length === 0)) return null;
  return parts.map((part) => part.join('---\n'));
}

/**
 * Roots into as few batches as their namespaces allow (all different within a batch, at most `limit` each): the
 * roots of the largest namespaces first, each into the emptiest batch that can take it.
 */
export function batchesOf<T>(roots: ReadonlyArray<{ item: T; namespace: string }>, limit = maxBatchRoots): T[][] {
  const buckets = new Map<string, T[]>();
  for (const root of roots) buckets.set(root.namespace, [...(buckets.get(root.namespace) ?? []), root.item]);
  const largest = Math.max(0, ...[...buckets.values()].map((bucket) => bucket.length));
  const batches = Array.from({ length: Math.max(largest, Math.ceil(roots.length / limit)) }, () => ({ items: [] as T[], namespaces: new Set<string>() }));
  for (const [namespace, items] of [...buckets].sort(([, a], [, b]) => b.length - a.length)) {
    for (const item of items) {
      let batch: (typeof batches)[number] | undefined;
      for (const candidate of batches) if (candidate.items.length < limit && !candidate.namespaces.has(namespace) && (!batch || candidate.items.length < batch.items.length)) batch = candidate;
      if (!batch) {
        batch = { items: [], namespaces: new Set() };
        batches.push(batch);
      }
      batch.items.push(item);
      batch.namespaces.add(namespace);
    }
  }
  return batches.filter((batch) => batch.items.length > 0).map((batch) => batch.items);
}

const kustomizeVersions = new Map<string, Promise<boolean>>();

/**
 * Whether the kubectl at `kubectlPath` embeds kustomize v5 (the code the argument above reads); asked once per
 * process and path, in the same closed environment as a render. Anything else: no batches, every root alone.
 */
function embedsKustomizeV5(context: FinderContext): Promise<boolean> {
  let known = kustomizeVersions.get(context.kubectlPath);
  if (!known) {
    known = runRenderer({ command: context.kubectlPath, args: ['version', '--client', '-o', 'json'], what: 'kubectl version --client', timeoutMs: context.renders.limits.timeoutMs, home: context.renders.home(), maxOutputBytes: 1 << 20 })
      .then((text) => {
        const version = (JSON.parse(text) as { kustomizeVersion?: unknown }).kustomizeVersion;
        return typeof version === 'string' && /^v5\.\d+\.\d+/.test(version);
      })
      .catch(() => false);
    kustomizeVersions.set(context.kubectlPath, known);
  }
  return known;
}

/**
 * Renders `infos` (from the staged copy as it is now) in batches, keeping each root's output for a later render of the
 * same inputs. Best effort: a root that cannot be batched, or whose batch keeps nothing, is rendered when asked.
 * Returns once the batches are started: nothing may write the staged copy before `context.renders.settled()`.
 */
export async function prefetchKustomizations(context: FinderContext, infos: readonly KustomizationInfo[], graph: KustomizationGraph): Promise<void> {
  // Asked at once (once per process), while the keys are computed.
  const v5 = embedsKustomizeV5(context);
  const wanted: Array<{ item: { info: KustomizationInfo; stagedRoot: string; contentKey: string; namespace: string }; namespace: string }> = [];
  const unique = [...new Set(infos)].filter((info) => info.error === undefined && !info.unread && !info.component);
  const fields = await stagedFields(context, unique);
  for (const info of unique) {
    const namespace = batchNamespace(info, (member) => fields.get(member) ?? null);
    if (namespace === null) continue;
    const stagedRoot = await context.stagedRoot(info.folder);
    let mentionsLocalConfig = false;
    const contentKey = await renderKey(stagedRoot, info, context.kubectlPath, (data) => {
      if (mayMentionLocalConfig(data)) mentionsLocalConfig = true;
    });
    if (mentionsLocalConfig || context.renders.known(contentKey)) continue;
    wanted.push({ item: { info, stagedRoot, contentKey, namespace }, namespace });
  }
  // One root alone gains nothing from a batch: it is rendered when asked.
  if (wanted.length < 2 || !(await v5)) return;
  const batches = batchesOf(wanted).filter((batch) => batch.length > 1);
  // Two runs at a time at most, within the machine's cores: each is one kubectl process. In the background: the
  // proposal goes on meanwhile, and a render of one of these roots waits for its batch (RenderGuard.runAhead).
  const parallel = Math.max(1, Math.min(2, availableParallelism()));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++] as (typeof batches)[number];
      await renderBatch(context, batch, graph);
    }
  };
  context.renders.runAhead(
    batches.flatMap((batch) => batch.map(({ contentKey }) => contentKey)),
    async () => {
      // Over only when every run is (a failure of one must not let the copy be written while another reads it).
      const results = await Promise.allSettled(Array.from({ length: Math.min(parallel, batches.length) }, worker));
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw failed.reason;
    },
  );
}

async function renderBatch(context: FinderContext, batch: ReadonlyArray<{ info: KustomizationInfo; stagedRoot: string; contentKey: string; namespace: string }>, graph: KustomizationGraph): Promise<void> {
  const dir = context.renders.scratchDir();
  // Relative entries (kustomize refuses an absolute one), from a directory outside every staged copy.
  const entries = batch.map(({ info, stagedRoot }) => path.relative(dir, path.join(stagedRoot, info.dir)).split(path.sep).join('/'));
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${entries.map((entry) => `  - ${JSON.stringify(entry)}\n`).join('')}`, { mode: 0o600 });
  let text: string;
  try {
    text = await context.renders.runBatch(context.kubectlPath, ['kustomize', dir, '--load-restrictor', 'LoadRestrictionsRootOnly'], `kubectl kustomize of ${batch.length} roots`, context.signal);
  } catch (error) {
    if (error instanceof RenderError) return;
    throw error;
  }
  // A Namespace object belongs to the one root of the batch whose files can make it (the graph says "cannot" only for
  // certain); two that can, or none: nothing is kept. KRR's staged edits set resources of objects that exist, never
  // make one, so what the files of the workspace say holds for the staged copy too.
  const owner = (name: string) => {
    const able = batch.flatMap(({ info }, position) => (graph.mayRender(info, { kind: 'Namespace', group: '', name }) ? [position] : []));
    return able.length === 1 ? (able[0] as number) : null;
  };
  const parts = splitBatch(
    text,
    batch.map(({ namespace }) => namespace),
    owner,
  );
  if (parts === null) return;
  batch.forEach(({ info, contentKey }, position) => context.renders.seed(contentKey, parts[position] as string, `kubectl kustomize ${info.dir || '.'}`));
}
