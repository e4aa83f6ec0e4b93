// Flux HelmRelease sources: a workload a HelmRelease renders takes its resources from the HelmRelease's values
// (`spec.valuesFrom` ConfigMaps first, in order, then `spec.values`, which wins). Rules, stated:
// - An environment is a HelmRelease as deployed: written in a file no kustomization uses, or as a kustomization root
//   renders it (its base file plus the overlay's patches). Its release is `spec.releaseName`, else
//   `[<targetNamespace>-]<name>` (Flux's default), in `spec.targetNamespace`, else its own namespace.
// - The chart is rendered when it is in the workspace: `spec.chart.spec.sourceRef` a GitRepository (not one whose URL
//   is known to be another repository) and `spec.chart.spec.chart` a chart directory of the folder. The workload must
//   render there; the values key feeding each container is found with markers (helmValues). Otherwise (a
//   HelmRepository, an OCI chart, `chartRef`, no helm) the key is guessed by convention, shown as a guess, and the
//   plan says the chart could not be rendered.
// - The edit goes into `spec.values.<key>.resources` where this environment alone sets its values: the overlay's
//   strategic-merge patch of the HelmRelease when it has one only it reads, else the HelmRelease's own file when only
//   this environment reads it, else a new patch in the overlay listed under `patches:`. ConfigMaps are read, never
//   edited (spec.values wins over them).
// - Checked on the private copy: the environment's HelmRelease renders exactly as before but for those values; every
//   other kustomization that reads an edited file renders exactly as before; the chart (when rendered) gives the
//   workload exactly the recommended values and its other objects stay as they were.
import * as path from 'node:path';
import { stringify } from 'yaml';
import { canonicalJson } from '../canonicalJson';
import type { FieldChange } from '../plan/model';
import { baselineOf, chartRenderInputs, matchesBaseline, namedAfterRelease, renderedWorkload, type Baseline, type HelmFinderOptions } from './helm';
import { chartAt, chartDefaults, HelmMissing, locateByConvention, locateByRendering, mergeValues, renderWithValues, valuesWithChanges, workloadFromValues, type ChartDir, type LocatedKeys } from './helmValues';
import { writeValuesResources } from './valuesResources';
import { configMapSchema, declaredObjects, gitRepositorySchema, helmReleaseSchema, invalidateDeclared, isFolderRepository, type Declared, type HelmRelease } from './gitopsObjects';
import { closureOf, contextScore, fileKey, kustomizeFinder, loadKustomizations, patchListing, readersOf, render, type KustomizationInfo, type KustomizationSet } from './kustomize';
import type { FinderContext, ManifestSourceFinder, PreparedChange, PreparedFile, RenderInput, SourceCandidate, WorkloadTarget } from './model';
import { RenderError } from './render';
import { changesFor, checkRendered, identityOf } from './workload';
import { WorkspaceInputError } from './workspace';
import { applySplices, insertedLine, lineOf, ManifestEditError, parseManifestFile, plainObjectOf, type FieldEdit, type ParsedFile, type TextSplice } from './yamlEdit';

/** A HelmRelease as one environment deploys it. */
interface Environment {
  release: HelmRelease;
  /** The document that declares it (the base file for a kustomization root). */
  declared: Declared;
  /** The kustomization root that renders it; undefined for a file no kustomization uses. */
  root?: KustomizationInfo;
  /** Objects the root renders (for valuesFrom ConfigMaps). */
  rendered?: unknown[];
}

function helmReleaseOf(object: unknown): HelmRelease | null {
  const parsed = helmReleaseSchema.safeParse(object);
  return parsed.success ? parsed.data : null;
}

function releaseNameOf(release: HelmRelease): string {
  return release.spec.releaseName ?? (release.spec.targetNamespace ? `${release.spec.targetNamespace}-${release.metadata.name}` : release.metadata.name);
}

/** The chart's name as its `fullname` helper uses it: the last part of `spec.chart.spec.chart` (a name, a path, an OCI reference); null for `chartRef`. */
function chartNameOf(release: HelmRelease): string | null {
  const chart = release.spec.chart?.spec.chart;
  if (!chart) return null;
  return chart.replace(/\/+$/, '').split('/').at(-1)?.replace(/:.*$/, '') || null;
}

function strip(info: KustomizationInfo, name: string): string {
  let result = name;
  if (info.namePrefix && result.startsWith(info.namePrefix)) result = result.slice(info.namePrefix.length);
  if (info.nameSuffix && result.endsWith(info.nameSuffix)) result = result.slice(0, result.length - info.nameSuffix.length);
  return result;
}

/** Every HelmRelease as deployed: plain files, and the kustomization roots (none including another) that render one. */
async function environments(context: FinderContext): Promise<{ list: Environment[]; problems: string[] }> {
  const cached = context.cache.get('helmrelease:environments') as { list: Environment[]; problems: string[] } | undefined;
  if (cached) return cached;
  const declared = await declaredObjects(context);
  const set = await loadKustomizations(context);
  const list: Environment[] = [];
  const problems = [...declared.problems];
  const releases = declared.objects.flatMap((entry) => {
    const release = helmReleaseOf(entry.object);
    return release ? [{ entry, release }] : [];
  });
  const roots = new Set<KustomizationInfo>();
  for (const { entry, release } of releases) {
    if (!set.used.has(fileKey(entry.folder, entry.file))) {
      list.push({ release, declared: entry });
      continue;
    }
    const readers = readersOf(set, entry.folder, entry.file).filter((info) => !info.unread);
    for (const info of readers) if (!readers.some((other) => other !== info && closureOf(other).has(info))) roots.add(info);
  }
  for (const root of roots) {
    const rendered = await render(context, root);
    if ('error' in rendered) {
      problems.push(rendered.error);
      continue;
    }
    for (const object of rendered.objects) {
      const release = helmReleaseOf(object);
      if (!release) continue;
      const name = strip(root, release.metadata.name);
      const base = releases.find(({ entry, release: written }) => written.metadata.name === name && entry.folder.root === root.folder.root && [root, ...closureOf(root)].some((info) => info.resourceFiles.includes(entry.file)));
      if (!base) {
        problems.push(`${root.dir || '.'} renders HelmRelease ${release.metadata.name}, but KRR cannot tell which file declares it`);
        continue;
      }
      list.push({ release, declared: base.entry, root, rendered: rendered.objects });
    }
  }
  const result = { list, problems };
  context.cache.set('helmrelease:environments', result);
  return result;
}

/** The chart of a HelmRelease when it is in the workspace, else why not. */
async function chartOf(context: FinderContext, environment: Environment): Promise<ChartDir | string> {
  const { release, declared } = environment;
  if (release.spec.chartRef) return `the chart comes from ${release.spec.chartRef.kind} ${release.spec.chartRef.name} (chartRef), not from the workspace`;
  const spec = release.spec.chart?.spec;
  if (!spec) return 'the HelmRelease names no chart';
  if (spec.sourceRef.kind !== 'GitRepository') return `the chart ${spec.chart} comes from ${spec.sourceRef.kind} ${spec.sourceRef.name}, not from the workspace`;
  const repositories = (await declaredObjects(context)).objects.flatMap((entry) => {
    const parsed = gitRepositorySchema.safeParse(entry.object);
    return parsed.success && parsed.data.metadata.name === spec.sourceRef.name && entry.folder.root === declared.folder.root ? [parsed.data] : [];
  });
  for (const repository of repositories) {
    if ((await isFolderRepository(context, declared.folder, repository.spec.url)) === false) return `the chart ${spec.chart} comes from GitRepository ${spec.sourceRef.name} (${repository.spec.url}), which is not this folder's repository`;
  }
  return chartAt(context, declared.folder, spec.chart) ?? `the chart path ${spec.chart} of GitRepository ${spec.sourceRef.name} is not a chart directory in ${declared.folder.name}`;
}

/** The values layers in Flux's order: each valuesFrom ConfigMap found, then spec.values; with notes on what is not read. */
function valuesLayers(environment: Environment, declared: readonly Declared[], values: unknown = environment.release.spec.values): { layers: unknown[]; notes: string[] } {
  const { release } = environment;
  const namespace = release.metadata.namespace ?? environment.root?.namespace;
  const layers: unknown[] = [];
  const notes: string[] = [];
  for (const reference of release.spec.valuesFrom ?? []) {
    const what = `${reference.kind} ${reference.name}`;
    if (reference.kind !== 'ConfigMap') {
      notes.push(`values from ${what} are not read (KRR reads only ConfigMaps of the workspace); spec.values, which KRR writes, wins over them`);
      continue;
    }
    const pool = environment.rendered ?? declared.filter((entry) => entry.folder.root === environment.declared.folder.root).map((entry) => entry.object);
    const found = pool.map((object) => configMapSchema.safeParse(object)).find((parsed) => parsed.success && parsed.data.metadata.name === reference.name && (parsed.data.metadata.namespace ?? namespace) === namespace);
    const text = found?.success ? found.data.data?.[reference.valuesKey ?? 'values.yaml'] : undefined;
    if (text === undefined) {
      if (!reference.optional) notes.push(`values from ${what} (key ${reference.valuesKey ?? 'values.yaml'}) are not in the workspace, so they are not part of the render check; spec.values, which KRR writes, wins over them`);
      continue;
    }
    if (reference.targetPath) {
      let layer: unknown = text;
      for (const key of reference.targetPath.split('.').reverse()) layer = { [key]: layer };
      layers.push(layer);
    } else layers.push(parseManifestFile(text, `${what} ${reference.valuesKey ?? 'values.yaml'}`).documents[0]?.toJS() ?? {});
  }
  layers.push(values ?? {});
  return { layers, notes };
}

function label(environment: Environment): string {
  const { release, declared, root } = environment;
  const where = root ? `${root.folder.name}/${root.dir || '.'}` : `${declared.folder.name}/${declared.file}`;
  return `${where} (Flux HelmRelease ${release.metadata.namespace ? `${release.metadata.namespace}/` : ''}${release.metadata.name})`;
}

export function helmReleaseFinder(options: HelmFinderOptions = {}): ManifestSourceFinder {
  // HelmReleases whose chart could not be rendered, for the "no source" message (a finder is made per proposal).
  const unusable = new Set<string>();
  return {
    name: 'helmrelease',
    async find(target, context) {
      const { list } = await environments(context);
      const declared = (await declaredObjects(context)).objects;
      const found: Array<{ environment: Environment; candidate: SourceCandidate }> = [];
      for (const environment of list) {
        const { release } = environment;
        const namespace = release.spec.targetNamespace ?? release.metadata.namespace ?? environment.root?.namespace;
        if (namespace !== undefined && namespace !== target.namespace) continue;
        const releaseName = releaseNameOf(release);
        const chart = await chartOf(context, environment);
        let layers: unknown[];
        let notes: string[];
        try {
          ({ layers, notes } = valuesLayers(environment, declared));
        } catch (error) {
          // A ConfigMap's values that do not parse: helm-controller would fail this release too; said, not guessed.
          if (!(error instanceof ManifestEditError)) throw error;
          unusable.add(`${label(environment)}: ${error.message}`);
          continue;
        }
        let located: LocatedKeys | null;
        if (typeof chart === 'string') located = locateByConvention(layers.reduce<unknown>((all, layer) => mergeValues(all, layer), {}), releaseName, target, `the chart could not be rendered: ${chart}`, chartNameOf(release));
        else {
          try {
            located = await locateByRendering(options, context, chart, releaseName, target, layers);
          } catch (error) {
            if (error instanceof ManifestEditError || error instanceof WorkspaceInputError) {
              // A HelmRelease whose chart does not render may be this workload's source: never passed over in silence.
              const problem = `${label(environment)}: chart ${chart.dir || '.'} does not render with its values: ${error.message}`;
              unusable.add(problem);
              if (namedAfterRelease(target, releaseName)) throw new ManifestEditError(`${problem}; it may render ${target.kind} ${target.namespace}/${target.name}, so KRR cannot tell which source decides it`);
              continue;
            }
            if (!(error instanceof HelmMissing)) throw error;
            located = locateByConvention(layers.reduce<unknown>((all, layer) => mergeValues(all, layer), {}), releaseName, target, 'helm is not installed (or older than 3.16), so the chart could not be rendered', chartNameOf(release));
          }
        }
        if (!located) continue;
        found.push({ environment, candidate: candidateFor(options, environment, typeof chart === 'string' ? null : chart, releaseName, located, notes, target) });
      }
      // Several environments deploy the same release into the namespace (one overlay per cluster): as for Kustomize,
      // the kube context names the one it deploys to — unless the live object's owner names its path (ownerChoice).
      if (found.length > 1 && target.context && !target.ownerSource?.paths) {
        const scores = found.map(({ environment }) => (environment.root ? contextScore(environment.root.dir, target.context as string) : 0));
        const best = Math.max(...scores);
        const named = found.filter((_, index) => scores[index] === best);
        if (best > 0 && named.length === 1) return named.map(({ candidate }) => candidate);
      }
      return found.map(({ candidate }) => candidate);
    },
    invalidate(context, folder, editedPaths) {
      // A HelmRelease a kustomization renders changes with any file it reads: those are dropped with the renders.
      const environmentsOf = context.cache.get('helmrelease:environments') as { list: Environment[] } | undefined;
      if (invalidateDeclared(context, folder, editedPaths) || environmentsOf?.list.some((environment) => environment.root !== undefined)) context.cache.delete('helmrelease:environments');
    },
    async renderInputs(context, folder) {
      // Every chart of the folder, as helm template reads it: which ones HelmReleases render is known only after
      // rendering their kustomizations, which render from the copy being made (so it cannot be asked here).
      // The kustomizations that render HelmReleases are rendered again to check an edit: what they read too.
      const inputs: RenderInput[] = [...((await kustomizeFinder.renderInputs?.(context, folder)) ?? [])];
      inputs.push(...chartRenderInputs(context, folder));
      return inputs;
    },
    async problems(context) {
      return [...(await environments(context)).problems, ...unusable];
    },
  };
}

/** Where the environment's spec.values are written: a document of a file, at `spec.values`; or a new patch. */
type Site = { type: 'document'; file: string; documentIndex: number; name: string } | { type: 'new-patch'; name: string };

/** Whether only `root` (and kustomizations built on it) read `file`: then it is this environment's own. */
function ownFile(set: KustomizationSet, root: KustomizationInfo, file: string): boolean {
  return readersOf(set, root.folder, file).every((reader) => reader === root || closureOf(reader).has(root));
}

async function siteFor(context: FinderContext, environment: Environment, set: KustomizationSet): Promise<Site> {
  const { root, declared } = environment;
  if (!root) return { type: 'document', file: declared.file, documentIndex: declared.documentIndex, name: environment.release.metadata.name };
  const name = strip(root, environment.release.metadata.name);
  // The overlay's own strategic-merge patch of this HelmRelease, read by this environment alone.
  for (const patch of [...root.patches].reverse()) {
    if (patch.file === undefined || patch.listed === 'patchesJson6902' || !ownFile(set, root, patch.file)) continue;
    const parsed = parseManifestFile(await context.files.read(root.folder, patch.file), patch.file);
    const documentIndex = parsed.documents.findIndex((document) => {
      const identity = identityOf(plainObjectOf(document, patch.file as string));
      return identity !== null && identity.kind === 'HelmRelease' && (identity.name === name || (patch.target?.kind === 'HelmRelease' && patch.target.name === name));
    });
    if (documentIndex >= 0) return { type: 'document', file: patch.file, documentIndex, name };
  }
  if (ownFile(set, root, declared.file)) return { type: 'document', file: declared.file, documentIndex: declared.documentIndex, name };
  return { type: 'new-patch', name };
}

function candidateFor(options: HelmFinderOptions, environment: Environment, chart: ChartDir | null, releaseName: string, located: LocatedKeys, layerNotes: readonly string[], target: WorkloadTarget): SourceCandidate {
  const { release, declared, root } = environment;
  return {
    finder: 'helmrelease',
    folder: declared.folder,
    label: `${label(environment)}${located.guess ? `; a guess: ${located.evidence ?? ''}` : ''}`,
    path: root ? root.dir : path.posix.dirname(declared.file) === '.' ? '' : path.posix.dirname(declared.file),
    deployer: { tool: 'flux-helm', name: release.metadata.name, ...(release.metadata.namespace ? { namespace: release.metadata.namespace } : {}), ...(chart ? { chart: chart.dir } : {}) },
    ...(located.guess ? { guess: true } : {}),
    async prepare(context): Promise<PreparedChange> {
      const set = await loadKustomizations(context);
      const declaredAll = (await declaredObjects(context)).objects;
      const { layers } = valuesLayers(environment, declaredAll);
      const merged = layers.reduce<unknown>((all, layer) => mergeValues(all, layer), {});
      const before = located.rendered ?? workloadFromValues(merged, located, target);
      const { changes, missing } = changesFor(before, target.kind, target.desired);
      const notes = [...layerNotes, ...missing.map((container) => `container ${container} is not fed by a values key of the HelmRelease ${release.metadata.name}; skipped`)];
      if (!chart) notes.push(`the chart of HelmRelease ${release.metadata.name} could not be rendered (${located.evidence ?? 'not in the workspace'}): KRR wrote spec.values.<key>.resources by convention and could not check what the chart makes of it`);
      else if (located.guess) notes.push(`chart ${chart.dir || '.'} was not rendered (${located.evidence ?? 'no helm'}): the values key is a guess, not checked`);
      const site = await siteFor(context, environment, set);
      // What sets values below spec.values (the chart's defaults, valuesFrom): a removal of a value one of them sets is
      // written as null, which Helm's merge drops with it. In an overlay's patch the base HelmRelease's own spec.values
      // is below too (a null there is kustomize's removal of the base's value).
      const helmLower = layers.slice(0, -1).reduce<unknown>((all, layer) => mergeValues(all, layer), chart ? await chartDefaults(context, chart) : {});
      const baseValues = (environment.declared.object as { spec?: { values?: unknown } }).spec?.values;
      const writeLower = site.type === 'document' && site.file !== declared.file ? mergeValues(helmLower, baseValues ?? {}) : helmLower;
      const files = new Map<string, { parsed: ParsedFile; splices: TextSplice[]; edits: FieldEdit[] }>();
      const fileFor = async (relativePath: string) => {
        let entry = files.get(relativePath);
        if (!entry) files.set(relativePath, (entry = { parsed: parseManifestFile(await context.files.read(declared.folder, relativePath), relativePath), splices: [], edits: [] }));
        return entry;
      };
      const newFiles: PreparedFile[] = [];
      const byContainer = new Map<string, FieldChange[]>();
      for (const change of changes) if (located.keys.has(change.container)) byContainer.set(change.container, [...(byContainer.get(change.container) ?? []), change]);
      if (byContainer.size > 0) {
        if (site.type === 'document') {
          const entry = await fileFor(site.file);
          const document = entry.parsed.documents[site.documentIndex];
          if (!document) throw new ManifestEditError(`${site.file} changed while it was read`);
          for (const [container, list] of byContainer) {
            const result = writeValuesResources(entry.parsed, document, ['spec', 'values'], located.keys.get(container) as string[], list, 'spec.values', writeLower);
            entry.splices.push(...result.splices);
            entry.edits.push(...result.edits);
          }
          if (site.file !== declared.file || root) notes.push(`edited ${site.file}, the values of HelmRelease ${release.metadata.name} for this environment alone${root ? ` (${root.dir || '.'})` : ''}`);
        } else await writeNewPatch(context, environment, root as KustomizationInfo, site.name, located, byContainer, fileFor, newFiles, notes);
      }
      const prepared: PreparedFile[] = [...[...files].filter(([, entry]) => entry.splices.length > 0).map(([relativePath, entry]) => ({ relativePath, text: applySplices(entry.parsed.text, entry.splices), edits: entry.edits })), ...newFiles];
      // The HelmRelease as this environment should deploy it after the edit: the same, but for the new values.
      const expectedRelease = { ...release, spec: { ...release.spec, values: valuesWithChanges(release.spec.values, located.keys, changes, helmLower) } };
      // Before the edit is staged: every rendering that reads an edited file, and the chart's other objects.
      const readers = root ? [...new Set(prepared.flatMap((file) => readersOf(set, root.folder, file.relativePath)))] : [];
      const readersBefore = new Map<KustomizationInfo, unknown[] | string>();
      for (const reader of readers) {
        const rendered = await render(context, reader);
        readersBefore.set(reader, 'error' in rendered ? rendered.error : rendered.objects);
      }
      let baseline: Baseline | null = null;
      if (chart && !located.guess && prepared.length > 0) {
        const others = async () => {
          const objects = await renderWithValues(options, context, chart, releaseName, target.namespace, layers);
          const workload = renderedWorkload(objects, target);
          return objects.filter((object) => object !== workload);
        };
        baseline = baselineOf(await others(), await others());
      }
      return {
        before,
        files: prepared,
        changes,
        notes,
        async verify(stagedRoot, verifyContext) {
          // 1. The HelmRelease as deployed now: exactly the expected one.
          let afterRelease: unknown;
          if (!root) {
            const text = prepared.find((file) => file.relativePath === declared.file)?.text ?? (await verifyContext.files.read(declared.folder, declared.file));
            const documents = parseManifestFile(text, declared.file).documents;
            const original = parseManifestFile(await verifyContext.files.read(declared.folder, declared.file), declared.file).documents;
            if (documents.length !== original.length || documents.some((document, index) => index !== declared.documentIndex && canonicalJson(document.toJS()) !== canonicalJson(original[index]?.toJS()))) return `the edit of ${declared.file} would change other documents of it`;
            afterRelease = documents[declared.documentIndex]?.toJS();
          } else {
            const changed: string[] = [];
            for (const [reader, previous] of readersBefore) {
              if (typeof previous === 'string') return `${reader.dir || '.'} reads an edited file but cannot be rendered, so it is not known to stay as it was: ${previous}`;
              const now = await buildAt(verifyContext, stagedRoot, reader);
              if (typeof now === 'string') return now;
              const difference = differences(previous, now);
              const sameEnvironment = reader === root || closureOf(reader).has(root);
              if (difference.removed.length === 0 && difference.added.length === 0) continue;
              const ours = sameEnvironment && difference.removed.length === 1 && difference.added.length === 1 && (difference.removed[0] as { kind?: unknown }).kind === 'HelmRelease';
              if (!ours) {
                changed.push(reader.dir || '.');
                continue;
              }
              if (reader === root) afterRelease = difference.added[0];
              else {
                const removed = difference.removed[0] as HelmRelease;
                const expected = { ...removed, spec: { ...removed.spec, values: valuesWithChanges(removed.spec.values, located.keys, changes, helmLower) } };
                if (canonicalJson(expected) !== canonicalJson(difference.added[0])) changed.push(reader.dir || '.');
              }
            }
            if (changed.length > 0) return `it would also change what ${changed.join(', ')} render${changed.length === 1 ? 's' : ''}; KRR changes only the environment the recommendation is for`;
            if (afterRelease === undefined) return `${root.dir || '.'} would render HelmRelease ${release.metadata.name} as before: the edit does not reach it`;
          }
          if (canonicalJson(afterRelease) !== canonicalJson(expectedRelease)) return `HelmRelease ${release.metadata.name} would not carry exactly the recommended values in spec.values (another layer sets them, or more would change)`;
          // 2. The chart with the new values gives the workload exactly the recommended values, and nothing else changes.
          if (!chart || located.guess) return null;
          const { layers: afterLayers } = valuesLayers(environment, declaredAll, expectedRelease.spec.values);
          let objects: unknown[];
          try {
            objects = await renderWithValues(options, verifyContext, chart, releaseName, target.namespace, afterLayers);
          } catch (error) {
            if (error instanceof ManifestEditError) return `could not render chart ${chart.dir || '.'} with the new values: ${error.message}`;
            throw error;
          }
          const workload = renderedWorkload(objects, target);
          const problem = checkRendered(before, workload, target.kind, changes);
          if (problem) return `helm template of chart ${chart.dir || '.'} with the new values does not give the recommended values: ${problem}`;
          if (baseline && !matchesBaseline(baseline, objects.filter((object) => object !== workload))) return `the new values would change other objects chart ${chart.dir || '.'} renders for release ${releaseName}, not only ${target.kind} ${target.name}`;
          return null;
        },
      };
    },
  };
}

/** Objects only in `before` and only in `after` (compared whole, as canonical JSON). */
function differences(before: readonly unknown[], after: readonly unknown[]): { removed: unknown[]; added: unknown[] } {
  const count = new Map<string, number>();
  for (const object of after) count.set(canonicalJson(object), (count.get(canonicalJson(object)) ?? 0) + 1);
  const removed: unknown[] = [];
  for (const object of before) {
    const key = canonicalJson(object);
    const left = count.get(key) ?? 0;
    if (left > 0) count.set(key, left - 1);
    else removed.push(object);
  }
  const remaining = new Map(count);
  const added = after.filter((object) => {
    const key = canonicalJson(object);
    const left = remaining.get(key) ?? 0;
    if (left <= 0) return false;
    remaining.set(key, left - 1);
    return true;
  });
  return { removed, added };
}

/** `kubectl kustomize` of a kustomization in the private copy (the edit staged), as the kustomize finder runs it. */
async function buildAt(context: FinderContext, stagedRoot: string, info: KustomizationInfo): Promise<unknown[] | string> {
  const what = `kubectl kustomize ${info.dir || '.'}`;
  try {
    const text = await context.renders.run(`helmrelease-verify:${fileKey(info.folder, info.dir)}`, context.kubectlPath, ['kustomize', path.join(stagedRoot, info.dir), '--load-restrictor', 'LoadRestrictionsRootOnly'], what, context.signal);
    return parseManifestFile(text, `the output of ${what}`).documents.map((document) => plainObjectOf(document, `the output of ${what}`));
  } catch (error) {
    if (error instanceof RenderError || error instanceof ManifestEditError || error instanceof WorkspaceInputError) return `${info.dir || '.'} does not render with the edit: ${error.message}`;
    throw error;
  }
}

/** A new strategic-merge patch of the HelmRelease's spec.values in the overlay, listed under `patches:`. */
async function writeNewPatch(
  context: FinderContext,
  environment: Environment,
  root: KustomizationInfo,
  name: string,
  located: LocatedKeys,
  byContainer: ReadonlyMap<string, FieldChange[]>,
  fileFor: (relativePath: string) => Promise<{ parsed: ParsedFile; splices: TextSplice[]; edits: FieldEdit[] }>,
  newFiles: PreparedFile[],
  notes: string[],
): Promise<void> {
  const fileName = `krr-helmrelease-${name}-values.yaml`;
  const relativePath = root.dir ? `${root.dir}/${fileName}` : fileName;
  if (await context.files.exists(root.folder, relativePath)) throw new ManifestEditError(`${relativePath} exists but ${root.file} does not list it as a patch; list it or remove it, then propose again`);
  const values: Record<string, unknown> = {};
  for (const [container, list] of byContainer) {
    let node = values;
    for (const key of [...(located.keys.get(container) as string[]), 'resources']) node = (node[key] ??= {}) as Record<string, unknown>;
    for (const change of list) ((node[change.allocation] ??= {}) as Record<string, unknown>)[change.resource] = change.to;
  }
  // A patch matches by namespace too: under an overlay that sets none, the HelmRelease keeps its base's namespace.
  const baseNamespace = (environment.declared.object.metadata as { namespace?: unknown } | undefined)?.namespace;
  const namespace = root.namespace === undefined && typeof baseNamespace === 'string' ? baseNamespace : null;
  const body = { apiVersion: environment.release.apiVersion, kind: 'HelmRelease', metadata: { name, ...(namespace ? { namespace } : {}) }, spec: { values } };
  const text = `# Container resources for this environment's HelmRelease ${name} (krr's recommendation, written by KRR).\n# A strategic-merge patch: spec.values merges key by key, so only these values change.\n${stringify(body, { indent: 2, lineWidth: 0 })}`;
  const written = parseManifestFile(text, relativePath).documents[0];
  const edits: FieldEdit[] = [];
  for (const [container, list] of byContainer) {
    for (const change of list) {
      const keys = ['spec', 'values', ...(located.keys.get(container) as string[]), 'resources', change.allocation, change.resource];
      const node = written?.getIn(keys, true) as { range?: [number, number, number] } | undefined;
      edits.push({ line: lineOf(text, node?.range?.[0] ?? 0), field: keys.join('.'), from: null, to: change.to });
    }
  }
  newFiles.push({ relativePath, text, edits });
  const kustomization = await fileFor(root.file);
  const listed = patchListing(kustomization.parsed, fileName, root.file);
  kustomization.splices.push(listed);
  kustomization.edits.push({ line: insertedLine(kustomization.parsed.text, listed, ['path']), field: 'patches', from: null, to: `- path: ${fileName}` });
  notes.push(`created ${relativePath}, a patch of HelmRelease ${name}'s spec.values in ${root.dir || '.'}, because ${environment.declared.file} is shared with other environments`);
}

