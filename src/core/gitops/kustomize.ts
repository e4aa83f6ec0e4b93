// Kustomize sources: render every kustomization with `kubectl kustomize`, find the overlay that renders the workload,
// and the layer that decides each resources field there.
//
// The rule (docs/ARCHITECTURE.md, README): edit the layer that decides the value for that environment. A file that no
// other rendering reads (a patch of the overlay, a resource only it lists) is edited in place. When the value comes
// from a file other kustomizations read too (a shared base), the change goes into a strategic-merge patch in the
// overlay that renders the workload — an existing one for that workload that only it reads, or a new file listed under
// `patches:` — so the other environments keep their values. Every edit is checked by rendering again (the isolation
// invariant): the workload must carry exactly the new values, the root's other objects stay the same, and every other
// kustomization that reads an edited file — overlays built on the root included, whatever names or namespaces they
// give the workload — must render exactly as before, or be named; one that cannot be rendered is named too. Otherwise
// the edit is not offered.
import * as path from 'node:path';
import { isMap, isScalar, isSeq, stringify, type Document, type YAMLMap } from 'yaml';
import { z } from 'zod';
import { canonicalJson } from '../canonicalJson';
import { KubectlError } from '../kube/kubectl';
import type { AllocationKind, ResourceName } from '../krr/model';
import type { FieldChange } from '../plan/model';
import { pointerSegments } from '../plan/build';
import type { FinderContext, ManifestSourceFinder, PreparedChange, PreparedFile, SourceCandidate, WorkloadTarget } from './model';
import { WorkspaceInputError } from './workspace';
import { describeRemoteReference, remoteReferences, remoteStringIn } from './kustomizeRemote';
import { closureOf, fileKey, KustomizationGraph, readersOf, renderKey, selectorSchema, type KustomizationInfo, type KustomizationSet, type PatchEntry, type Selector } from './kustomizationGraph';
import { prefetchKustomizations } from './kustomizeBatch';
import { RenderError } from './render';
import { appendToSeq, applySplices, insertedLine, lineOf, ManifestEditError, parseManifestFile, plainObjectOf, setContainerResources, setResources, type FieldEdit, type ParsedFile, type RemovalStyle, type ResourcesHolder, type TextSplice } from './yamlEdit';
import { changesFor, checkRendered, containerNode, containersPath, identityOf, sameWorkload } from './workload';

export const kustomizationFileNames = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

// An empty list or field (`components:` with every entry commented out) is null in YAML, and kustomize reads it as
// absent: so does KRR (it refused the whole folder's kustomization before).
const kustomizationSchema = z.looseObject({
  kind: z.unknown().nullish(),
  namespace: z.string().nullish(),
  namePrefix: z.string().nullish(),
  nameSuffix: z.string().nullish(),
  resources: z.array(z.string()).nullish(),
  bases: z.array(z.string()).nullish(),
  components: z.array(z.string()).nullish(),
  patches: z.array(z.looseObject({ path: z.string().optional(), patch: z.string().optional(), target: selectorSchema.optional() })).nullish(),
  patchesStrategicMerge: z.array(z.string()).nullish(),
  patchesJson6902: z.array(z.looseObject({ path: z.string().optional(), patch: z.string().optional(), target: selectorSchema })).nullish(),
  replacements: z.array(z.unknown()).nullish(),
});

// Files a kustomization reads besides its resources and patches: generator sources, CRD and OpenAPI schemas,
// configurations, transformer/generator/validator configs, replacement sources. Only these are copied to render it.
const pathList = z.array(z.unknown()).nullish();
const generatorSchema = z.looseObject({ files: pathList, envs: pathList, env: z.unknown().optional() });
const inputsSchema = z.looseObject({
  configMapGenerator: z.array(z.unknown()).nullish(),
  secretGenerator: z.array(z.unknown()).nullish(),
  crds: pathList,
  configurations: pathList,
  transformers: pathList,
  generators: pathList,
  validators: pathList,
  openapi: z.unknown().optional(),
  replacements: pathList,
});

/** Every local path the kustomization's other fields name (entries that are inline YAML, or not strings, are skipped). */
function otherInputs(spec: unknown): string[] {
  const parsed = inputsSchema.safeParse(spec);
  if (!parsed.success) return [];
  const strings = (values: readonly unknown[] | null | undefined) => (values ?? []).filter((value): value is string => typeof value === 'string' && !value.includes('\n'));
  const paths: string[] = [];
  for (const generator of [...(parsed.data.configMapGenerator ?? []), ...(parsed.data.secretGenerator ?? [])]) {
    const entry = generatorSchema.safeParse(generator);
    if (!entry.success) continue;
    // `files` entries are `[key=]path`.
    paths.push(...strings(entry.data.files).map((value) => value.slice(value.indexOf('=') + 1)), ...strings(entry.data.envs), ...strings([entry.data.env]));
  }
  paths.push(...strings(parsed.data.crds), ...strings(parsed.data.configurations), ...strings(parsed.data.transformers), ...strings(parsed.data.generators), ...strings(parsed.data.validators));
  const openapi = parsed.data.openapi;
  if (openapi && typeof openapi === 'object' && 'path' in openapi) paths.push(...strings([(openapi as { path?: unknown }).path]));
  for (const replacement of parsed.data.replacements ?? []) if (replacement && typeof replacement === 'object' && 'path' in replacement) paths.push(...strings([(replacement as { path?: unknown }).path]));
  return paths;
}

type Rendered = { text: string; objects: unknown[] } | { error: string };

export { closureOf, fileKey, readersOf, type KustomizationInfo, type KustomizationSet } from './kustomizationGraph';

/**
 * The kustomization's fields as kustomize reads them: a field left empty (`components:` with every entry commented
 * out) is YAML null, which kustomize reads as an empty list or string. Dropping those fields reads the same.
 */
function withoutNullFields(value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).filter(([, field]) => field !== null));
}

/** Every kustomization in the workspace, with what it includes. Cached per proposal. */
export async function loadKustomizations(context: FinderContext): Promise<KustomizationSet> {
  const cached = context.cache.get('kustomize:set') as KustomizationSet | undefined;
  if (cached) return cached;
  // The finders look at once: one read for all of them, so they share one set (the graph is keyed by its objects).
  const loading = context.cache.get('kustomize:loading') as Promise<KustomizationSet> | undefined;
  if (loading) return loading;
  const read = readKustomizations(context).finally(() => context.cache.delete('kustomize:loading'));
  context.cache.set('kustomize:loading', read);
  return read;
}

type KustomizationText = { text: string; error: string } | { text: string; value: unknown; spec: z.infer<typeof kustomizationSchema>; fields: string[] };

function readKustomizationText(text: string, relativePath: string): KustomizationText {
  try {
    const document = parseManifestFile(text, relativePath).documents[0];
    const value = (document ? plainObjectOf(document, relativePath) : null) ?? {};
    const parsed = kustomizationSchema.safeParse(withoutNullFields(value));
    if (!parsed.success) return { text, error: `not a kustomization: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}` };
    const fields = value && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value as Record<string, unknown>).filter(([, field]) => field !== null).map(([name]) => name) : [];
    return { text, value, spec: parsed.data, fields };
  } catch (error) {
    // As kustomize would refuse it: whatever the reason, the kustomization is known as unread, never dropped.
    return { text, error: error instanceof Error ? error.message : String(error) };
  }
}

async function readKustomizations(context: FinderContext): Promise<KustomizationSet> {
  const list: KustomizationInfo[] = [];
  let parsedFiles = context.cache.get('kustomize:parsed') as Map<string, KustomizationText> | undefined;
  if (!parsedFiles) {
    parsedFiles = new Map();
    context.cache.set('kustomize:parsed', parsedFiles);
  }
  const byDir = new Map<string, KustomizationInfo>();
  const raw = new Map<KustomizationInfo, { spec: z.infer<typeof kustomizationSchema>; parsed: unknown }>();
  for (const file of context.index.files) {
    if (!kustomizationFileNames.includes(path.posix.basename(file.relativePath))) continue;
    const dir = path.posix.dirname(file.relativePath) === '.' ? '' : path.posix.dirname(file.relativePath);
    if (byDir.has(fileKey(file.folder, dir))) continue;
    const info: KustomizationInfo = { folder: file.folder, dir, file: file.relativePath, namePrefix: '', nameSuffix: '', includes: [], resourceFiles: [], inputFiles: [], patches: [], hasReplacements: false, component: false };
    list.push(info);
    byDir.set(fileKey(file.folder, dir), info);
    try {
      // Parsed and checked once per content in a proposal: the set is read again after every edit of a kustomization
      // file, and most files are as they were (the same text: a pending edit or the first read).
      const text = await context.files.read(file.folder, file.relativePath);
      let read = parsedFiles.get(fileKey(file.folder, file.relativePath));
      if (read?.text !== text) {
        read = readKustomizationText(text, file.relativePath);
        parsedFiles.set(fileKey(file.folder, file.relativePath), read);
      }
      if ('error' in read) throw new Error(read.error);
      raw.set(info, { spec: read.spec, parsed: read.value });
      info.fields = read.fields;
    } catch (error) {
      info.error = `${file.relativePath}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
      info.unread = true;
    }
  }
  // A kustomization file the index skipped (oversized, a link out of the folder) is one KRR cannot read: it may
  // include anything of its folder, so it is known as unread (never left out, which would make a shared base look
  // like one environment's own).
  for (const problem of context.index.problems) {
    const folder = context.index.folders.find((candidate) => candidate.name === problem.folder);
    if (!folder || !kustomizationFileNames.includes(path.posix.basename(problem.relativePath))) continue;
    const dir = path.posix.dirname(problem.relativePath) === '.' ? '' : path.posix.dirname(problem.relativePath);
    if (byDir.has(fileKey(folder, dir))) continue;
    const info: KustomizationInfo = { folder, dir, file: problem.relativePath, namePrefix: '', nameSuffix: '', includes: [], resourceFiles: [], inputFiles: [], patches: [], hasReplacements: false, component: false, unread: true, error: `${problem.relativePath}: ${problem.reason}` };
    list.push(info);
    byDir.set(fileKey(folder, dir), info);
  }
  const used = new Set<string>();
  const indexed = new Set(context.index.files.map((file) => fileKey(file.folder, file.relativePath)));
  // Files under a kustomization KRR could not read may be its resources or patches: not offered as plain manifests.
  for (const info of list.filter((candidate) => candidate.unread)) {
    for (const file of context.index.files) if (file.folder === info.folder && (info.dir === '' || file.relativePath.startsWith(`${info.dir}/`))) used.add(fileKey(file.folder, file.relativePath));
  }
  for (const [info, { spec, parsed }] of raw) {
    used.add(fileKey(info.folder, info.file));
    if (typeof spec.namespace === 'string') info.namespace = spec.namespace;
    info.namePrefix = spec.namePrefix ?? '';
    info.nameSuffix = spec.nameSuffix ?? '';
    info.hasReplacements = (spec.replacements ?? []).length > 0;
    info.component = spec.kind === 'Component';
    const local = (entry: string): string | null => {
      const joined = path.posix.normalize(path.posix.join(info.dir, entry));
      return joined.startsWith('../') || joined === '..' || path.posix.isAbsolute(entry) ? null : joined === '.' ? '' : joined;
    };
    const known = (entry: string) => {
      const near = local(entry);
      return near !== null && (byDir.has(fileKey(info.folder, near)) || indexed.has(fileKey(info.folder, near)));
    };
    for (const entry of [...(spec.resources ?? []), ...(spec.bases ?? []), ...(spec.components ?? [])]) {
      const resolved = local(entry);
      if (resolved === null) {
        info.error = `${info.file} refers to ${entry}, outside the workspace folder`;
        break;
      }
      const base = byDir.get(fileKey(info.folder, resolved));
      if (base) info.includes.push(base);
      else if (!indexed.has(fileKey(info.folder, resolved))) {
        // Neither a kustomization KRR read (and checked) nor a manifest file it indexed: a directory skipped by the
        // index (node_modules, .git, too deep) could hold a kustomization that fetches; kustomize is not asked.
        info.error = `${info.file} refers to ${entry}, which is not a kustomization or manifest file KRR has read (missing, or skipped by the workspace index); it is not rendered`;
        break;
      } else {
        info.resourceFiles.push(resolved);
        used.add(fileKey(info.folder, resolved));
      }
    }
    const addPatch = (entry: { path?: string | undefined; patch?: string | undefined; target?: Selector | undefined }, listed: PatchEntry['listed'], index: number) => {
      const patch: PatchEntry = { where: `${listed}[${index}]`, listed, ...(entry.target ? { target: entry.target } : {}) };
      if (entry.path !== undefined) {
        const resolved = local(entry.path);
        if (resolved === null) info.error = `${info.file} refers to the patch ${entry.path}, outside the workspace folder`;
        else {
          patch.file = resolved;
          used.add(fileKey(info.folder, resolved));
        }
      } else if (entry.patch !== undefined) patch.inline = entry.patch;
      info.patches.push(patch);
    };
    for (const entry of otherInputs(spec)) {
      const resolved = local(entry);
      if (resolved !== null) info.inputFiles.push(resolved);
    }
    (spec.patches ?? []).forEach((entry, index) => addPatch(entry, 'patches', index));
    (spec.patchesStrategicMerge ?? []).forEach((entry, index) => addPatch(entry.includes('\n') ? { patch: entry } : { path: entry }, 'patchesStrategicMerge', index));
    (spec.patchesJson6902 ?? []).forEach((entry, index) => addPatch(entry, 'patchesJson6902', index));
    // Remote content in any field: the kustomization is refused before anything runs (kustomize would fetch it). Its
    // includes stay known, so a base it includes is not edited blind (kustomizeFinder.find).
    const remote = remoteReferences(parsed, known)[0];
    if (remote) info.error = describeRemoteReference(info.file, remote);
    else {
      const problem = await checkPluginConfigurations(context, info, parsed, local, (resolved) => indexed.has(fileKey(info.folder, resolved)));
      if (problem !== null) info.error = problem;
    }
  }
  // kustomize renders what a kustomization includes: one that includes an unusable one is not rendered either.
  for (const info of list) {
    if (info.error) continue;
    const broken = [...closureOf(info)].find((included) => included.error !== undefined);
    if (broken) info.error = `${info.file} includes ${broken.dir || '.'}, which is not rendered: ${broken.error}`;
  }
  const set: KustomizationSet = { list, used };
  context.cache.set('kustomize:set', set);
  return set;
}

/**
 * The plugin configuration files a kustomization lists (generators, transformers, validators): kustomize loads what
 * their own fields name (a PatchTransformer's `path`, a generator's `files`), so each is read and checked like an
 * inline one. A directory there (a kustomization whose output is configurations) or a file KRR did not index is not
 * checked, so it is refused. Null: nothing found.
 */
async function checkPluginConfigurations(context: FinderContext, info: KustomizationInfo, parsed: unknown, local: (entry: string) => string | null, indexed: (resolved: string) => boolean): Promise<string | null> {
  const spec = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  for (const field of ['generators', 'transformers', 'validators']) {
    const entries = Array.isArray(spec[field]) ? (spec[field] as unknown[]) : [];
    for (const [index, entry] of entries.entries()) {
      if (typeof entry !== 'string' || entry.includes('\n')) continue;
      const where = `${info.file}: ${field}[${index}] (${entry})`;
      const resolved = local(entry);
      if (resolved === null) return `${where} is outside the workspace folder; it is not rendered`;
      if (!indexed(resolved)) return `${where} is not a plugin configuration file KRR has read (a directory, or a file the workspace index skipped), so what it fetches is unknown; it is not rendered`;
      try {
        const documents = parseManifestFile(await context.files.read(info.folder, resolved), resolved).documents;
        const value = remoteStringIn(documents.map((document) => plainObjectOf(document, resolved)));
        if (value !== undefined) return `${where} names remote content (${value}); KRR never lets kustomize fetch anything, so this kustomization is not rendered`;
      } catch (error) {
        if (error instanceof ManifestEditError || error instanceof WorkspaceInputError) return `${where}: ${error.message}`;
        throw error;
      }
    }
  }
  return null;
}

export async function renderAt(context: FinderContext, root: string, info: KustomizationInfo): Promise<Rendered> {
  const what = `kubectl kustomize ${info.dir || '.'}`;
  try {
    // Root-only loading (kustomize's default, stated so no configuration can change it): no file outside the
    // kustomization's directory. No --enable-helm, --enable-alpha-plugins or --enable-exec: nothing runs but kustomize.
    const args = ['kustomize', path.join(root, info.dir), '--load-restrictor', 'LoadRestrictionsRootOnly'];
    // Keyed by the content of every file it reads: the same inputs are rendered once in a proposal.
    const text = await context.renders.run(`kustomize:${fileKey(info.folder, info.dir)}`, context.kubectlPath, args, what, context.signal, await renderKey(root, info, context.kubectlPath));
    const objects = parseManifestFile(text, `the output of ${what}`).documents.map((document) => plainObjectOf(document, `the output of ${what}`));
    return { text, objects };
  } catch (error) {
    if (error instanceof RenderError && error.kind === 'not-installed') {
      throw new KubectlError('not-installed', `kubectl was not found or cannot run at "${context.kubectlPath}". Install kubectl (https://kubernetes.io/docs/tasks/tools/) or set krr.kubectlPath to its full path.`, error.stderr, ['kustomize']);
    }
    if (error instanceof RenderError || error instanceof ManifestEditError) return { error: `${info.dir || '.'} does not render: ${error.message}` };
    throw error;
  }
}

/** The kustomization rendered from the staged copy (edits accepted so far included); cached per proposal. */
export async function render(context: FinderContext, info: KustomizationInfo): Promise<Rendered> {
  if (info.error) return { error: info.error };
  const key = `kustomize:render:${fileKey(info.folder, info.dir)}`;
  const cached = context.cache.get(key) as Rendered | undefined;
  if (cached) return cached;
  const rendered = await renderAt(context, await context.stagedRoot(info.folder), info);
  context.cache.set(key, rendered);
  return rendered;
}

function renderedNamespace(object: unknown): string {
  return identityOf(object)?.namespace ?? 'default';
}

function findRendered(objects: readonly unknown[], target: WorkloadTarget): unknown {
  return objects.find((object) => {
    const identity = identityOf(object);
    return identity !== null && sameWorkload(identity, target) && renderedNamespace(object) === target.namespace;
  });
}

function strip(info: KustomizationInfo, name: string): string {
  let result = name;
  if (info.namePrefix && result.startsWith(info.namePrefix)) result = result.slice(info.namePrefix.length);
  if (info.nameSuffix && result.endsWith(info.nameSuffix)) result = result.slice(0, result.length - info.nameSuffix.length);
  return result;
}

/**
 * How well the kube context names the overlay: the total length of the directory's segments that appear in the
 * context name between separators (`gke_acme_prod-eu-1` names `overlays/prod-eu` better than `overlays/prod`); 0: not.
 * A total, not the longest one: in a layout like `clusters/<cluster>/apps/<env>` every candidate shares the cluster's
 * segment, and only the environment's tells `demo-000-prod` apart from its siblings.
 */
export function contextScore(dir: string, contextName: string): number {
  const context = contextName.toLowerCase();
  let total = 0;
  for (const segment of new Set(dir.toLowerCase().split('/'))) {
    if (!segment) continue;
    const escaped = segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (new RegExp(`(^|[^a-z0-9])${escaped}($|[^a-z0-9])`).test(context)) total += segment.length;
  }
  return total;
}

function label(info: KustomizationInfo): string {
  return `${info.folder.name}/${info.dir || '.'} (Kustomize)`;
}

/** What verifying a prepared change renders (its root and every kustomization that reads an edited file), for prefetch. */
const verifyRenders = new WeakMap<PreparedChange, readonly KustomizationInfo[]>();

export const kustomizeFinder: ManifestSourceFinder = {
  name: 'kustomize',
  async find(target, context) {
    const set = await loadKustomizations(context);
    const graph = await KustomizationGraph.of(context, set);
    const renderers: Array<{ info: KustomizationInfo; object: unknown }> = [];
    for (const info of set.list) {
      // Only what can render this workload, as its files tell (docs/ARCHITECTURE.md): the others are not run.
      if (!graph.mayRender(info, target)) continue;
      const rendered = await render(context, info);
      if ('error' in rendered) continue;
      const object = findRendered(rendered.objects, target);
      if (object) renderers.push({ info, object });
    }
    // An overlay renders what its base renders: the environment is the one no other renderer includes.
    let roots = renderers.filter((candidate) => !renderers.some((other) => other !== candidate && closureOf(other.info).has(candidate.info)));
    // A kustomization that could not be rendered (refused, failed, timed out) but includes the one found may be the
    // real environment of this workload: the layer found is not edited blind, and the reason names the one not rendered.
    for (const root of roots) {
      const hidden = [];
      for (const info of set.list) {
        // One KRR could not read may include anything of its folder.
        if (info === root.info || !(closureOf(info).has(root.info) || (info.unread && info.folder === root.info.folder))) continue;
        // One whose files say it cannot render this workload is not its environment, whether it renders or not.
        if (!graph.mayRender(info, target)) continue;
        const rendered = await render(context, info);
        if ('error' in rendered) hidden.push(rendered.error);
      }
      if (hidden.length > 0) throw new ManifestEditError(`${label(root.info)} renders ${target.kind} ${target.namespace}/${target.name}, but ${hidden.length === 1 ? 'a kustomization that includes it is' : `${hidden.length} kustomizations that include it are`} not rendered, so KRR cannot tell which layer decides it there: ${hidden.join('; ')}`);
    }
    // The live object's owner, written in the workspace, names its path: it picks (gitops/ownerChoice), not the context.
    if (roots.length > 1 && target.context && !target.ownerSource?.paths) {
      // Several environments render the same namespace and name: the context names the one it deploys to.
      const scores = roots.map((root) => contextScore(root.info.dir, target.context as string));
      const best = Math.max(...scores);
      const named = roots.filter((_, index) => scores[index] === best);
      if (best > 0 && named.length === 1) roots = named;
    }
    return roots.map(({ info, object }) => candidateFor(info, object, set, target));
  },
  invalidate(context, folder, editedPaths) {
    const set = context.cache.get('kustomize:set') as KustomizationSet | undefined;
    if (!set) return;
    // A rendering changes when a file under its directory, or under a directory it includes, changed.
    const under = (dir: string) => editedPaths.some((edited) => dir === '' || edited.startsWith(`${dir}/`));
    for (const info of set.list) {
      if (info.folder.root !== folder.root) continue;
      if (under(info.dir) || [...closureOf(info)].some((included) => under(included.dir))) context.cache.delete(`kustomize:render:${fileKey(info.folder, info.dir)}`);
    }
    // A kustomization file or a new file changes what is listed where: read them all again.
    if (editedPaths.some((edited) => kustomizationFileNames.includes(path.posix.basename(edited)) || !set.used.has(fileKey(folder, edited)))) context.cache.delete('kustomize:set');
  },
  async renderInputs(context, folder) {
    const set = await loadKustomizations(context);
    const files = new Set<string>();
    for (const info of set.list) {
      // One KRR could not read is never rendered (nor is any that includes it): nothing of it is copied.
      if (info.folder.root !== folder.root || info.unread) continue;
      for (const file of [info.file, ...info.resourceFiles, ...info.inputFiles, ...info.patches.flatMap((patch) => (patch.file === undefined ? [] : [patch.file]))]) files.add(file);
    }
    return [...files].map((file) => ({ file }));
  },
  async prefetch(context, ahead) {
    const set = await loadKustomizations(context);
    const graph = await KustomizationGraph.of(context, set);
    let infos: readonly KustomizationInfo[];
    if ('targets' in ahead) {
      // What find renders: every kustomization whose files say it can render one of the targets.
      infos = set.list.filter((info) => !info.component && info.error === undefined && ahead.targets.some((target) => graph.mayRender(info, target)));
    } else infos = ahead.prepared.flatMap((change) => verifyRenders.get(change) ?? []);
    await prefetchKustomizations(context, infos, graph);
  },
  async problems(context) {
    const set = await loadKustomizations(context);
    const problems: string[] = [];
    for (const info of set.list) {
      const rendered = await render(context, info);
      if ('error' in rendered) problems.push(rendered.error);
    }
    return problems;
  },
};

type Site =
  | { type: 'document'; info: KustomizationInfo; file: string; documentIndex: number; what: string; name: string }
  | { type: 'json6902'; info: KustomizationInfo; file: string; opIndex: number; suffix: Array<string | number>; what: string }
  // A patch written inline in the kustomization file (`file`): KRR does not rewrite one, but a layer other environments
  // share is not edited anyway (the change goes into a patch of the environment's own), so only then is it refused.
  | { type: 'inline'; info: KustomizationInfo; file: string; refusal: string };
type EditSite = Exclude<Site, { type: 'inline' }>;

function candidateFor(root: KustomizationInfo, before: unknown, set: KustomizationSet, target: WorkloadTarget): SourceCandidate {
  return {
    finder: 'kustomize',
    path: root.dir,
    folder: root.folder,
    label: label(root),
    key: root.dir || '.',
    async prepare(context): Promise<PreparedChange> {
      const { changes, missing } = changesFor(before, target.kind, target.desired);
      const notes = missing.map((container) => `container ${container} is not in what ${root.dir || '.'} renders; skipped`);
      const nameInRoot = strip(root, target.name);
      const containers = (readContainers(before, target.kind) ?? []).map((container) => container.name);
      // The isolation invariant (docs/ARCHITECTURE.md): every rendering that reads an edited file stays as it was, but
      // the root's rendering of this workload. The root and every kustomization built on it read what the root reads:
      // a file that reaches no other rendering is edited in place (whether those built on it change is checked in
      // verify); a file other renderings also read (a shared base, a patch another kustomization lists) is not.
      const upstream = new Set(set.list.filter((info) => info === root || closureOf(info).has(root)));
      const inPlace = (file: string) => readersOf(set, root.folder, file).every((reader) => upstream.has(reader));
      const decided: Array<{ change: FieldChange; site: EditSite | 'overlay-patch' }> = [];
      for (const change of changes) {
        const site = await locate(context, root, nameInRoot, change, containers.indexOf(change.container), target);
        if (inPlace(site.file)) {
          if (site.type === 'inline') throw new ManifestEditError(site.refusal);
          decided.push({ change, site });
        } else {
          decided.push({ change, site: 'overlay-patch' });
          notes.push(`${change.container} ${change.allocation}.${change.resource} comes from ${site.info.dir || '.'}, which other environments share: written as a patch in ${root.dir || '.'}`);
        }
      }
      const files = new Map<string, { parsed: ParsedFile; splices: TextSplice[]; edits: FieldEdit[] }>();
      const fileFor = async (relativePath: string) => {
        let entry = files.get(relativePath);
        if (!entry) {
          entry = { parsed: parseManifestFile(await context.files.read(root.folder, relativePath), relativePath), splices: [], edits: [] };
          files.set(relativePath, entry);
        }
        return entry;
      };
      const newFiles: PreparedFile[] = [];
      // Group by place: one edit per container of one document (two edits must not both create `resources:`).
      const groups = new Map<string, { site: EditSite; changes: FieldChange[] }>();
      for (const { change, site } of decided) {
        if (site === 'overlay-patch') continue;
        const key = site.type === 'document' ? `${site.file}\0${site.documentIndex}\0${change.container}` : `${site.file}\0op${site.opIndex}`;
        const group = groups.get(key) ?? { site, changes: [] };
        group.changes.push(change);
        groups.set(key, group);
      }
      for (const { site, changes: siteChanges } of groups.values()) {
        const entry = await fileFor(site.file);
        const document = entry.parsed.documents[site.type === 'document' ? site.documentIndex : 0];
        if (!document) throw new ManifestEditError(`${site.file} changed while it was read`);
        const json = site.file.toLowerCase().endsWith('.json');
        const fields = siteChanges.map((change) => ({ allocation: change.allocation, resource: change.resource, value: change.to }));
        let result;
        if (site.type === 'document') {
          const container = siteChanges[0]?.container as string;
          const node = containerNode(document, target.kind, container);
          if (!node) throw new ManifestEditError(`${site.file} has no container ${container} in ${site.what}`);
          // A removal in a strategic-merge patch over a layer that sets the value too is written as null (which removes
          // that value as well); otherwise, and in the resource file itself, the key goes.
          let removal: RemovalStyle = 'delete';
          if (site.info.patches.some((patch) => patch.file === site.file)) {
            for (const change of siteChanges) if (change.to === null && (await setBelow(context, site, site.name, change, containers.indexOf(change.container), target))) removal = 'null';
          }
          result = setContainerResources(entry.parsed, document, node, fields, `${containersPath(target.kind).join('.')}[${container}]`, json, removal);
        } else {
          result = editJson6902(entry.parsed, document, site, fields, json);
        }
        entry.splices.push(...result.splices);
        entry.edits.push(...result.edits);
      }
      const overlayChanges = decided.filter((entry) => entry.site === 'overlay-patch').map((entry) => entry.change);
      if (overlayChanges.length > 0) await writeOverlayPatch(context, root, nameInRoot, before, overlayChanges, target, fileFor, newFiles, inPlace);
      const prepared: PreparedFile[] = [...newFiles];
      for (const [relativePath, entry] of files) {
        if (entry.splices.length === 0) continue;
        prepared.push({ relativePath, text: applySplices(entry.parsed.text, entry.splices), edits: entry.edits });
      }
      // What every rendering that reads an edited file gives now (the staged copy holds the edits accepted so far, not
      // these): the baseline verify compares with. A new file is read through the kustomization file that lists it.
      const readers = new Set<KustomizationInfo>([root]);
      for (const file of prepared) for (const reader of readersOf(set, root.folder, file.relativePath)) readers.add(reader);
      const baseline = new Map<KustomizationInfo, Rendered>();
      for (const reader of readers) baseline.set(reader, await render(context, reader));
      const change: PreparedChange = {
        before,
        files: prepared,
        changes,
        notes,
        async verify(stagedRoot, verifyContext) {
          const after = await renderAt(verifyContext, stagedRoot, root);
          if ('error' in after) return after.error;
          const problem = checkRendered(before, findRendered(after.objects, target), target.kind, changes);
          if (problem) return `after the edit, ${root.dir || '.'} renders ${target.kind} ${target.namespace}/${target.name} differently than recommended: ${problem}`;
          const changed: KustomizationInfo[] = [];
          const unchecked: string[] = [];
          for (const [reader, previous] of baseline) {
            const where = reader.dir || '.';
            // An environment that cannot be rendered, before or after, is not known to stay as it was.
            if ('error' in previous) {
              unchecked.push(`could not check ${where}: ${previous.error}`);
              continue;
            }
            const now = reader === root ? after : await renderAt(verifyContext, stagedRoot, reader);
            if ('error' in now) unchecked.push(`could not check ${where}: ${now.error}`);
            else if (reader === root ? !sameOtherObjects(previous.objects, now.objects, target) : now.text !== previous.text) changed.push(reader);
          }
          if (changed.length === 0 && unchecked.length === 0) return null;
          return isolationProblem(root, target, changed, upstream, unchecked);
        },
      };
      verifyRenders.set(change, [...baseline.keys()]);
      return change;
    },
  };
}

/** The rendered objects other than the target workload, in order, are exactly the same. */
function sameOtherObjects(before: readonly unknown[], after: readonly unknown[], target: WorkloadTarget): boolean {
  const others = (objects: readonly unknown[]) => {
    const workload = findRendered(objects, target);
    return objects.filter((object) => object !== workload).map((object) => canonicalJson(object));
  };
  const [a, b] = [others(before), others(after)];
  return a.length === b.length && a.every((object, index) => object === b[index]);
}

/** Why an edit is refused: the renderings it would change, and those it could not check; with what to do instead. */
function isolationProblem(root: KustomizationInfo, target: WorkloadTarget, changed: readonly KustomizationInfo[], upstream: ReadonlySet<KustomizationInfo>, unchecked: readonly string[]): string {
  const rootDir = root.dir || '.';
  const parts: string[] = [];
  if (changed.length > 0) {
    const names = changed.map((info) => (info === root ? `${rootDir} (objects other than ${target.kind} ${target.name})` : info.dir || '.')).sort();
    let text = `it would also change what ${names.join(', ')} render${names.length === 1 ? 's' : ''}`;
    const builtOn = changed.filter((info) => info !== root && upstream.has(info));
    if (builtOn.length > 0) {
      // The root is a base deployed on its own and also used by overlays: whatever it holds reaches them.
      text += ` — they build on ${rootDir}, which renders ${target.kind} ${target.namespace}/${target.name} itself, so any value written there reaches them. KRR changes only the environment the recommendation is for: if the workload runs from one of those overlays, propose for the overlay that deploys it (the workload's name and namespace there); otherwise give ${rootDir}'s own environment an overlay of its own (a kustomization that includes ${rootDir}) and move its values there, or set these values in each of those overlays`;
    } else text += '; KRR writes only what changes the environment the recommendation is for — edit this by hand';
    parts.push(text);
  }
  if (unchecked.length > 0) parts.push(`${unchecked.join('; ')} (an environment KRR cannot render is not known to stay as it was)`);
  return parts.join('; ');
}

interface RenderedContainer {
  name: string;
}

function readContainers(object: unknown, kind: string): RenderedContainer[] | null {
  let node: unknown = object;
  for (const segment of containersPath(kind)) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[segment] : undefined;
  return Array.isArray(node) ? (node as RenderedContainer[]) : null;
}

function selects(selector: Selector | undefined, target: WorkloadTarget, names: readonly string[]): boolean {
  if (!selector) return false;
  if (selector.kind !== undefined && selector.kind !== target.kind) return false;
  if (selector.group !== undefined && selector.group !== target.group) return false;
  if (selector.name !== undefined) {
    let pattern: RegExp;
    try {
      pattern = new RegExp(`^(?:${selector.name})$`);
    } catch {
      return false;
    }
    if (!names.some((name) => pattern.test(name))) return false;
  }
  return true;
}

/**
 * The layer that decides one field for the workload as `info` sees it (named `name` there): the last patch of `info`
 * that sets it, else the resource file or the included kustomization the workload comes from (recursively).
 */
async function locate(context: FinderContext, info: KustomizationInfo, name: string, change: FieldChange, containerIndex: number, target: WorkloadTarget, patchesBelow = info.patches.length): Promise<Site> {
  // kustomize matches a patch by the resource's current name or any it had in the layers below (a base's namePrefix
  // `css-` renders `css-web`, and an overlay's patch may still say `web`).
  const names = [name, `${info.namePrefix}${name}${info.nameSuffix}`, ...(await earlierNames(context, info, name, target))];
  const field = `${change.container} ${change.allocation}.${change.resource}`;
  if (info.hasReplacements) {
    const rendered = await render(context, info);
    if (!('error' in rendered)) {
      // A replacement that writes resources: its source decides, and it may feed other workloads too.
      const text = await context.files.read(info.folder, info.file);
      if (/fieldPaths:[\s\S]*resources/.test(text)) throw new ManifestEditError(`${info.file} sets resources through replacements; KRR does not edit a replacement's source — change it by hand`);
    }
  }
  for (const patch of info.patches.slice(0, patchesBelow).reverse()) {
    const text = patch.file !== undefined ? await context.files.read(info.folder, patch.file) : (patch.inline as string);
    const where = patch.file ?? `${info.file} ${patch.where}`;
    const documents = parseManifestFile(text, where).documents;
    const first = documents[0]?.contents;
    if (isSeq(first)) {
      if (!selects(patch.target, target, names)) continue;
      const ops = first.items;
      for (let opIndex = ops.length - 1; opIndex >= 0; opIndex--) {
        const op = ops[opIndex];
        if (!isMap(op)) continue;
        const pathValue = op.get('path');
        const opName = op.get('op');
        if (typeof pathValue !== 'string' || typeof opName !== 'string') continue;
        const segments = pointerSegments(pathValue);
        const base = [...containersPath(target.kind), containerIndex];
        if (segments.length < base.length || base.some((segment, index) => String(segments[index]) !== String(segment))) continue;
        const suffix = segments.slice(base.length);
        const wanted = ['resources', change.allocation, change.resource];
        if (!wanted.slice(0, suffix.length).every((segment, index) => segment === suffix[index]) && suffix.length > 0) continue;
        if (suffix.length === 0 || suffix.length > 3) continue;
        if (opName === 'remove') throw new ManifestEditError(`${where} removes ${field} (JSON6902 op ${opIndex}); KRR does not rewrite a removal`);
        if (opName !== 'add' && opName !== 'replace') continue;
        const value = op.get('value', true);
        const rest = wanted.slice(suffix.length);
        if (rest.length > 0 && !(isMap(value) && hasPath(value, rest))) continue;
        if (patch.file === undefined) return inlineSite(info, field, patch);
        return { type: 'json6902', info, file: patch.file, opIndex, suffix, what: `JSON6902 op ${opIndex}` };
      }
      continue;
    }
    for (let documentIndex = documents.length - 1; documentIndex >= 0; documentIndex--) {
      const document = documents[documentIndex] as Document.Parsed;
      const identity = identityOf(plainObjectOf(document, where));
      const applies = patch.target ? selects(patch.target, target, names) : identity !== null && identity.kind === target.kind && names.includes(identity.name);
      if (!applies) continue;
      const container = containerNode(document, target.kind, change.container);
      if (!container || !hasPath(container, ['resources', change.allocation, change.resource])) continue;
      if (patch.file === undefined) return inlineSite(info, field, patch);
      return { type: 'document', info, file: patch.file, documentIndex, what: `the strategic-merge patch ${patch.file}`, name };
    }
  }
  for (const file of info.resourceFiles) {
    let parsed: ParsedFile;
    try {
      parsed = parseManifestFile(await context.files.read(info.folder, file), file);
    } catch (error) {
      if (error instanceof WorkspaceInputError || error instanceof ManifestEditError) throw new ManifestEditError(error.message);
      throw error;
    }
    const documentIndex = parsed.documents.findIndex((document) => {
      const identity = identityOf(document.toJS());
      return identity !== null && sameWorkload(identity, target, name);
    });
    if (documentIndex >= 0) return { type: 'document', info, file, documentIndex, what: `${target.kind} ${name}`, name };
  }
  const graph = await KustomizationGraph.of(context, await loadKustomizations(context));
  const possible = info.includes.filter((base) => graph.mayRender(base, { kind: target.kind, group: target.group, name }));
  // One included kustomization whose files alone define the workload under this name: it is the layer, without a
  // render (the edit is checked by rendering the root anyway). A component never renders on its own.
  const only = possible.length === 1 ? (possible[0] as KustomizationInfo) : null;
  if (only && !only.component && graph.knowsExactly(only, target, name)) return locate(context, only, strip(only, name), change, containerIndex, target);
  for (const base of possible) {
    const rendered = await render(context, base);
    if ('error' in rendered) continue;
    const found = rendered.objects.some((object) => {
      const identity = identityOf(object);
      return identity !== null && sameWorkload(identity, target, name);
    });
    if (found) return locate(context, base, strip(base, name), change, containerIndex, target);
  }
  throw new ManifestEditError(`cannot tell which layer of ${info.dir || '.'} provides ${target.kind} ${name}`);
}

/** The names the workload `info` renders as `name` has in the kustomizations below it (prefixes and suffixes undone). */
async function earlierNames(context: FinderContext, info: KustomizationInfo, name: string, target: WorkloadTarget): Promise<string[]> {
  // As in locate: only included kustomizations whose files can render the workload are looked at, and one whose files
  // alone define it under this name is taken without a render.
  const graph = await KustomizationGraph.of(context, await loadKustomizations(context));
  const possible = info.includes.filter((base) => graph.mayRender(base, { kind: target.kind, group: target.group, name }));
  const only = possible.length === 1 ? (possible[0] as KustomizationInfo) : null;
  for (const base of possible) {
    const known = base === only && !base.component && graph.knowsExactly(base, target, name);
    const rendered = known ? null : await render(context, base);
    const renders =
      known ||
      (rendered !== null &&
        !('error' in rendered) &&
        rendered.objects.some((object) => {
          const identity = identityOf(object);
          return identity !== null && sameWorkload(identity, target, name);
        }));
    if (!renders) continue;
    const inner = strip(base, name);
    return [...new Set([inner, ...(await earlierNames(context, base, inner, target))])].filter((candidate) => candidate !== name);
  }
  return [];
}

/**
 * Whether a layer below the strategic-merge patch `site` (earlier patches of its kustomization, its resources, what it
 * includes) sets the field too: then a removal is written as `null` in the patch (removing the key would let that value
 * through), else the key is removed. Not known: assumed set (a null removes it either way).
 */
async function setBelow(context: FinderContext, site: Extract<Site, { type: 'document' }>, name: string, change: FieldChange, containerIndex: number, target: WorkloadTarget): Promise<boolean> {
  const index = site.info.patches.findLastIndex((patch) => patch.file === site.file);
  let below: Site;
  try {
    below = await locate(context, site.info, name, change, containerIndex, target, index);
  } catch (error) {
    if (error instanceof ManifestEditError) return true;
    throw error;
  }
  if (below.type !== 'document') return true;
  const document = parseManifestFile(await context.files.read(below.info.folder, below.file), below.file).documents[below.documentIndex];
  const container = document ? containerNode(document, target.kind, change.container) : undefined;
  return container === undefined || hasPath(container, ['resources', change.allocation, change.resource]);
}

function inlineSite(info: KustomizationInfo, field: string, patch: PatchEntry): Site {
  return { type: 'inline', info, file: info.file, refusal: `${field} is set by an inline patch in ${info.file} (${patch.where}); move it to a file to let KRR edit it, or edit it by hand` };
}

function hasPath(map: YAMLMap, keys: readonly string[]): boolean {
  let node: unknown = map;
  for (const key of keys) {
    if (!isMap(node)) return false;
    node = node.get(key, true);
  }
  return isScalar(node);
}

function editJson6902(parsed: ParsedFile, document: Document.Parsed, site: Extract<Site, { type: 'json6902' }>, fields: Array<{ allocation: AllocationKind; resource: ResourceName; value: string | null }>, json: boolean) {
  const ops = document.contents;
  const op = isSeq(ops) ? ops.items[site.opIndex] : undefined;
  if (!isMap(op)) throw new ManifestEditError(`${site.file} changed while it was read`);
  const value = op.get('value', true);
  const prefix = `${site.file} op ${site.opIndex} value (${site.suffix.join('.')})`;
  if (site.suffix.length === 3) {
    if (!isScalar(value) || fields.length !== 1) throw new ManifestEditError(`${prefix} is not a single quantity`);
    const [start, end] = value.range as [number, number, number];
    const field = fields[0] as { value: string | null };
    // The op sets this one value: removing it means rewriting the op, which KRR does not do.
    if (field.value === null) throw new ManifestEditError(`${prefix} sets the value krr recommends removing, in a JSON6902 op of its own; remove that op by hand`);
    return { splices: [{ start, end, text: json || value.type === 'QUOTE_DOUBLE' ? JSON.stringify(field.value) : value.type === 'QUOTE_SINGLE' ? `'${field.value}'` : field.value }], edits: [{ line: lineOf(parsed.text, start), field: prefix, from: value.value === null ? null : String(value.value), to: field.value }] };
  }
  if (!isMap(value)) throw new ManifestEditError(`${prefix} is not a mapping`);
  const holder: ResourcesHolder = site.suffix.length === 2 ? { level: 'allocation', allocation: site.suffix[1] as AllocationKind, node: value } : { level: 'resources', node: value };
  // The op replaces the whole mapping: a key removed from its value is removed from the result.
  return setResources(parsed, document, holder, fields, prefix, json, 'delete');
}

/** Adds the changes to the overlay's strategic-merge patch for the workload, or creates one and lists it. */
async function writeOverlayPatch(
  context: FinderContext,
  root: KustomizationInfo,
  name: string,
  before: unknown,
  changes: readonly FieldChange[],
  target: WorkloadTarget,
  fileFor: (relativePath: string) => Promise<{ parsed: ParsedFile; splices: TextSplice[]; edits: FieldEdit[] }>,
  newFiles: PreparedFile[],
  editable: (relativePath: string) => boolean,
): Promise<void> {
  const byContainer = new Map<string, FieldChange[]>();
  for (const change of changes) byContainer.set(change.container, [...(byContainer.get(change.container) ?? []), change]);
  const fieldsOf = (list: FieldChange[]) => list.map((change) => ({ allocation: change.allocation, resource: change.resource, value: change.to }));
  const resourcesOf = (list: FieldChange[]) => {
    const resources: Record<string, Record<string, string | null>> = {};
    for (const change of list) (resources[change.allocation] ??= {})[change.resource] = change.to;
    return resources;
  };
  // An existing strategic-merge patch file of this overlay for this workload, with a container list to extend.
  for (const patch of root.patches) {
    // A patch file another rendering reads too (listed by another kustomization) is left alone: a new one is written.
    if (patch.file === undefined || patch.listed === 'patchesJson6902' || patch.target || !editable(patch.file)) continue;
    const entry = await fileFor(patch.file);
    const documentIndex = entry.parsed.documents.findIndex((document) => {
      const identity = identityOf(document.toJS());
      return identity !== null && identity.kind === target.kind && identity.name === name;
    });
    const document = entry.parsed.documents[documentIndex];
    if (!document) continue;
    const containers = document.getIn([...containersPath(target.kind)], true);
    if (!isSeq(containers)) continue;
    const json = patch.file.toLowerCase().endsWith('.json');
    for (const [container, list] of byContainer) {
      const node = containerNode(document, target.kind, container);
      if (node) {
        const result = setContainerResources(entry.parsed, document, node, fieldsOf(list), `${containersPath(target.kind).join('.')}[${container}]`, json, 'null');
        entry.splices.push(...result.splices);
        entry.edits.push(...result.edits);
      } else {
        const splice = appendToSeq(entry.parsed.text, containers, { name: container, resources: resourcesOf(list) }, json);
        entry.splices.push(splice);
        for (const change of list) entry.edits.push({ line: insertedLine(entry.parsed.text, splice, ['resources', change.allocation, change.resource]), field: `${containersPath(target.kind).join('.')}[${container}].resources.${change.allocation}.${change.resource}`, from: null, to: change.to });
      }
    }
    return;
  }
  // A new patch file in the overlay, listed under `patches:`.
  const fileName = `krr-${target.kind.toLowerCase()}-${name}-resources.yaml`;
  const relativePath = root.dir ? `${root.dir}/${fileName}` : fileName;
  if (await context.files.exists(root.folder, relativePath)) throw new ManifestEditError(`${relativePath} exists but ${root.file} does not list it as a patch; list it or remove it, then propose again`);
  const apiVersion = identityOf(before)?.apiVersion ?? 'apps/v1';
  // Every container, in the rendered order: a strategic merge puts the patch's containers first, so listing only the
  // changed one would reorder the pod template (and shift the index a JSON6902 patch uses).
  const order = (readContainers(before, target.kind) ?? []).map((container) => container.name);
  const containers = [...order.filter((name) => !byContainer.has(name)).map((name) => [name, [] as FieldChange[]] as const), ...byContainer]
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([container, list]) => (list.length === 0 ? { name: container } : { name: container, resources: resourcesOf(list) }));
  let spec: Record<string, unknown> = { containers };
  for (const segment of [...containersPath(target.kind)].slice(0, -1).reverse()) spec = { [segment]: spec };
  // A patch matches by namespace too: under an overlay that sets none, the workload keeps the namespace its base gave
  // it, and a patch without one (read as "default") would match nothing.
  const namespace = root.namespace === undefined ? identityOf(before)?.namespace : null;
  const body = { apiVersion, kind: target.kind, metadata: { name, ...(namespace ? { namespace } : {}) }, ...spec };
  const text = `# Container resources for ${target.kind} ${name} in this environment (krr's recommendation, written by KRR).\n# A strategic-merge patch: containers merge by name, so only these values change.\n${stringify(body, { indent: 2, lineWidth: 0 })}`;
  const written = parseManifestFile(text, relativePath).documents[0];
  const containerIndex = (container: string) => containers.findIndex((entry) => entry.name === container);
  // Each value's own line in the new file, for the approval.
  const edits: FieldEdit[] = changes.map((change) => {
    const node = written?.getIn([...containersPath(target.kind), containerIndex(change.container), 'resources', change.allocation, change.resource], true) as { range?: [number, number, number] } | undefined;
    return { line: lineOf(text, node?.range?.[0] ?? 0), field: `${containersPath(target.kind).join('.')}[${change.container}].resources.${change.allocation}.${change.resource}`, from: null, to: change.to };
  });
  newFiles.push({ relativePath, text, edits });
  const kustomization = await fileFor(root.file);
  const listed = patchListing(kustomization.parsed, fileName, root.file);
  kustomization.splices.push(listed);
  kustomization.edits.push({ line: insertedLine(kustomization.parsed.text, listed, ['path']), field: 'patches', from: null, to: `- path: ${fileName}` });
}

/** The splice that lists a new patch file under `patches:` of a kustomization (appended, or the key added). */
export function patchListing(parsed: ParsedFile, fileName: string, kustomizationFile: string): TextSplice {
  const document = parsed.documents[0];
  const patches = document?.get('patches', true);
  if (isSeq(patches) && patches.items.length > 0) return appendToSeq(parsed.text, patches, { path: fileName }, false);
  // `patches:` with every entry commented out (null, read as an empty list): the new entry goes right under the key.
  if (isScalar(patches) && patches.value === null && patches.range) return { start: patches.range[0], end: patches.range[1], text: `\n  - path: ${fileName}` };
  if ((patches === undefined || patches === null) && (document === undefined || document.contents === null || isMap(document.contents)) && !document?.has('patches')) {
    const separator = parsed.text.length === 0 || parsed.text.endsWith('\n') ? '' : '\n';
    return { start: parsed.text.length, end: parsed.text.length, text: `${separator}patches:\n  - path: ${fileName}\n` };
  }
  throw new ManifestEditError(`${kustomizationFile} has a \`patches\` entry KRR cannot extend (empty or not a list); add the patch ${fileName} by hand`);
}
