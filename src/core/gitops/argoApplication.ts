// Argo CD Applications with a Helm source in the workspace: the workload a chart renders for an Application takes its
// resources from the Application's Helm values. Rules, stated:
// - Applications are read where they are written: YAML files, and the output of an app-of-apps chart (a chart whose
//   templates hold `kind: Application`, rendered with its own values). A source is read when its `path` is a chart
//   directory of the folder and its `repoURL` is not known to be another repository (the folder's git remotes, read
//   from .git/config; unknown: taken as this one). `spec.source`, each of `spec.sources` (with `$<ref>/…` value files
//   resolved from the repository root) and a hydrator's `drySource` are read.
// - The release is `helm.releaseName`, else the Application's name, in `destination.namespace`.
// - Values, later winning: the chart's values.yaml, `valueFiles` in order, then `valuesObject` (else the `values`
//   string), then `parameters`.
// - The edit goes where this environment alone sets its values: the layer that sets them now when only this
//   Application reads it, else the last value file only it lists, else `valuesObject` of an Application written in a
//   file (not a template). A value file another Application lists, the chart's values.yaml, a `parameters` entry and
//   a `values` string are never edited: refused with the reason.
// - Checked on the private copy: the chart renders the workload with exactly the recommended values and its other
//   objects as before, and the Application's file changes only in those values.
import * as path from 'node:path';
import { canonicalJson } from '../canonicalJson';
import type { FieldChange } from '../plan/model';
import { baselineOf, chartRenderInputs, charts, HelmMissing, helmTemplate, matchesBaseline, namedAfterRelease, renderedWorkload, type Baseline, type HelmFinderOptions } from './helm';
import { chartAt, chartDefaults, isRecord, locateByRendering, mergeValues, renderWithValues, valuesWithChanges, type ChartDir, type LocatedKeys } from './helmValues';
import { writeValuesResources } from './valuesResources';
import { applicationSchema, declaredObjects, invalidateDeclared, isFolderRepository, type Application, type ApplicationSource, type Declared } from './gitopsObjects';
import { closureOf, fileKey, kustomizeFinder, loadKustomizations, patchListing, readersOf, render, renderAt, type KustomizationInfo, type KustomizationSet } from './kustomize';
import type { FinderContext, ManifestSourceFinder, PreparedChange, PreparedFile, SourceCandidate, WorkloadTarget } from './model';
import { changesFor, checkRendered, identityOf } from './workload';
import type { WorkspaceFolder } from './workspace';
import { WorkspaceInputError } from './workspace';
import { stringify } from 'yaml';
import { applySplices, insertedLine, lineOf, ManifestEditError, parseManifestFile, plainObjectOf, type FieldEdit, type TextSplice } from './yamlEdit';

/**
 * An Application as written: in a file no kustomization uses (editable), rendered by an app-of-apps chart (not), or
 * rendered by a kustomization root from a file it includes (its patches applied): editable in the root's own
 * strategic-merge patch of it, else in its file when only this root reads it (`site`), else not (`why`).
 */
interface FoundApplication {
  folder: WorkspaceFolder;
  application: Application;
  origin:
    | { type: 'file'; file: string; documentIndex: number }
    | { type: 'chart'; dir: string }
    | { type: 'kustomization'; root: KustomizationInfo; declared: { file: string; documentIndex: number }; site: { file: string; documentIndex: number; patch: boolean } | null; why?: string };
}

/** One Helm source of an Application that renders a chart of the folder. */
interface HelmSource {
  found: FoundApplication;
  chart: ChartDir;
  source: ApplicationSource;
  /** Keys from the document root to this source (for writing `helm.valuesObject`). */
  at: Array<string | number>;
  /** Value files, relative to the folder, in order. */
  valueFiles: string[];
  release: string;
  namespace: string;
}

function where(found: FoundApplication): string {
  const { origin } = found;
  if (origin.type === 'file') return `${found.folder.name}/${origin.file}`;
  if (origin.type === 'chart') return `${found.folder.name}/${origin.dir} (rendered)`;
  return `${found.folder.name}/${origin.root.dir || '.'} (kustomization, from ${origin.declared.file})`;
}

function strip(info: KustomizationInfo, name: string): string {
  let result = name;
  if (info.namePrefix && result.startsWith(info.namePrefix)) result = result.slice(info.namePrefix.length);
  if (info.nameSuffix && result.endsWith(info.nameSuffix)) result = result.slice(0, result.length - info.nameSuffix.length);
  return result;
}

/** Whether only `root` (and kustomizations built on it) read `file`: then it is this environment's own. */
function ownFile(set: KustomizationSet, root: KustomizationInfo, file: string): boolean {
  return readersOf(set, root.folder, file).every((reader) => reader === root || closureOf(reader).has(root));
}

/**
 * Where an Application a kustomization root renders is written for this root alone: the root's own strategic-merge
 * patch of it (the last), else its file when no other kustomization reads it. Null: shared, with the reason.
 */
async function kustomizationSite(context: FinderContext, set: KustomizationSet, root: KustomizationInfo, declared: { file: string; documentIndex: number }, name: string): Promise<{ site: { file: string; documentIndex: number; patch: boolean } | null; why?: string }> {
  for (const patch of [...root.patches].reverse()) {
    if (patch.file === undefined || patch.listed === 'patchesJson6902' || !ownFile(set, root, patch.file)) continue;
    const parsed = parseManifestFile(await context.files.read(root.folder, patch.file), patch.file);
    const documentIndex = parsed.documents.findIndex((document) => {
      const identity = identityOf(plainObjectOf(document, patch.file as string));
      return identity !== null && identity.kind === 'Application' && (identity.name === name || (patch.target?.kind === 'Application' && patch.target.name === name));
    });
    if (documentIndex >= 0) return { site: { file: patch.file, documentIndex, patch: true } };
  }
  if (ownFile(set, root, declared.file)) return { site: { ...declared, patch: false } };
  const others = readersOf(set, root.folder, declared.file).filter((reader) => !(reader === root || closureOf(reader).has(root))).map((reader) => reader.dir || '.');
  return { site: null, why: `${root.dir || '.'} renders the Application from ${declared.file}, which ${others.join(', ')} read${others.length === 1 ? 's' : ''} too, and has no strategic-merge patch of its own for it` };
}

async function applications(options: HelmFinderOptions, context: FinderContext): Promise<{ list: FoundApplication[]; problems: string[] }> {
  const cached = context.cache.get('argocd:applications') as { list: FoundApplication[]; problems: string[] } | undefined;
  if (cached) return cached;
  const declared = await declaredObjects(context);
  const set = await loadKustomizations(context);
  const list: FoundApplication[] = [];
  const problems = [...declared.problems];
  const inKustomizations: Array<{ entry: Declared; application: Application }> = [];
  const roots = new Set<KustomizationInfo>();
  for (const entry of declared.objects) {
    const parsed = applicationSchema.safeParse(entry.object);
    if (!parsed.success) continue;
    // A file a kustomization uses is read as that kustomization renders it (patches, prefixes applied), not as written.
    if (!set.used.has(fileKey(entry.folder, entry.file))) {
      list.push({ folder: entry.folder, application: parsed.data, origin: { type: 'file', file: entry.file, documentIndex: entry.documentIndex } });
      continue;
    }
    inKustomizations.push({ entry, application: parsed.data });
    const readers = readersOf(set, entry.folder, entry.file).filter((info) => !info.unread && !info.component);
    for (const info of readers) if (!readers.some((other) => other !== info && closureOf(other).has(info))) roots.add(info);
  }
  // App-of-apps through Kustomize: every root that renders an Application file, rendered as Argo CD would.
  for (const root of roots) {
    const rendered = await render(context, root);
    if ('error' in rendered) {
      problems.push(`${root.folder.name}/${root.dir || '.'} (Applications): ${rendered.error}`);
      continue;
    }
    for (const object of rendered.objects) {
      const parsed = applicationSchema.safeParse(object);
      if (!parsed.success) continue;
      const name = strip(root, parsed.data.metadata.name);
      const base = inKustomizations.find(({ entry, application }) => application.metadata.name === name && entry.folder.root === root.folder.root && [root, ...closureOf(root)].some((info) => info.resourceFiles.includes(entry.file)));
      if (!base) {
        problems.push(`${root.dir || '.'} renders Application ${parsed.data.metadata.name}, but KRR cannot tell which file declares it`);
        continue;
      }
      const declaredAt = { file: base.entry.file, documentIndex: base.entry.documentIndex };
      list.push({ folder: root.folder, application: parsed.data, origin: { type: 'kustomization', root, declared: declaredAt, ...(await kustomizationSite(context, set, root, declaredAt, name)) } });
    }
  }
  // App-of-apps: a chart whose templates write Applications, rendered with its own values.
  for (const chart of charts(context)) {
    const templates = context.index.files.filter((file) => file.folder.root === chart.folder.root && file.relativePath.startsWith(chart.dir ? `${chart.dir}/templates/` : 'templates/'));
    let holds = false;
    for (const file of templates) if (/\bkind:\s*Application\b/.test(await context.files.read(file.folder, file.relativePath).catch(() => ''))) holds = true;
    if (!holds) continue;
    try {
      const stagedRoot = await context.stagedRoot(chart.folder);
      const objects = await helmTemplate(options, context, chart, path.join(stagedRoot, chart.dir), chart.name, 'argocd', [], [], context.signal);
      for (const object of objects) {
        const parsed = applicationSchema.safeParse(object);
        if (parsed.success) list.push({ folder: chart.folder, application: parsed.data, origin: { type: 'chart', dir: chart.dir } });
      }
    } catch (error) {
      if (error instanceof HelmMissing) problems.push(`${chart.folder.name}/${chart.dir || '.'} writes Argo CD Applications, but helm is not installed (or older than 3.16), so they are not read`);
      else if (error instanceof ManifestEditError || error instanceof WorkspaceInputError) problems.push(`${chart.folder.name}/${chart.dir || '.'} (Applications): ${error.message}`);
      else throw error;
    }
  }
  const result = { list, problems };
  context.cache.set('argocd:applications', result);
  return result;
}

/** The Helm sources of an Application that render a chart of its folder (repoURL not known to be another repository). */
async function helmSources(context: FinderContext, found: FoundApplication): Promise<HelmSource[]> {
  const { application } = found;
  const sources: Array<{ source: ApplicationSource; at: Array<string | number> }> = [];
  if (application.spec.source) sources.push({ source: application.spec.source, at: ['spec', 'source'] });
  application.spec.sources?.forEach((source, index) => sources.push({ source, at: ['spec', 'sources', index] }));
  if (application.spec.sourceHydrator) sources.push({ source: application.spec.sourceHydrator.drySource, at: ['spec', 'sourceHydrator', 'drySource'] });
  const result: HelmSource[] = [];
  for (const { source, at } of sources) {
    if (source.chart !== undefined || source.path === undefined) continue;
    if ((await isFolderRepository(context, found.folder, source.repoURL)) === false) continue;
    const chart = chartAt(context, found.folder, source.path);
    if (!chart) continue;
    const valueFiles: string[] = [];
    for (const file of source.helm?.valueFiles ?? []) {
      const reference = /^\$([^/]+)\/(.*)$/.exec(file);
      if (reference) {
        // `$<ref>/path`: from the root of the source whose `ref` it names (this repository, else not read).
        const named = (application.spec.sources ?? []).find((candidate) => candidate.ref === reference[1]);
        if (!named || (await isFolderRepository(context, found.folder, named.repoURL)) === false) throw new ManifestEditError(`Application ${application.metadata.name} reads the value file ${file} from another repository; KRR cannot check its values`);
        valueFiles.push(path.posix.normalize(reference[2] as string));
      } else valueFiles.push(path.posix.normalize(path.posix.join(chart.dir, file)));
    }
    result.push({ found, chart, source, at, valueFiles, release: source.helm?.releaseName ?? application.metadata.name, namespace: application.spec.destination?.namespace ?? 'default' });
  }
  return result;
}

/** A layer of values, with where it is written and whether KRR may write there. */
interface Layer {
  what: string;
  values: unknown;
  /** A value file (relative to the folder) or the Application's inline values. */
  site: { type: 'file'; file: string } | { type: 'inline' } | { type: 'fixed'; why: string };
}

async function layersOf(context: FinderContext, helm: HelmSource, overrides: ReadonlyMap<string, string> = new Map(), inline?: unknown): Promise<Layer[]> {
  const layers: Layer[] = [];
  for (const file of helm.valueFiles) {
    const text = overrides.get(file) ?? (await context.files.read(helm.found.folder, file));
    layers.push({ what: file, values: parseManifestFile(text, file).documents[0]?.toJS() ?? {}, site: { type: 'file', file } });
  }
  const settings = helm.source.helm;
  if (inline !== undefined || settings?.valuesObject !== undefined) layers.push({ what: 'helm.valuesObject', values: inline ?? settings?.valuesObject, site: { type: 'inline' } });
  else if (settings?.values !== undefined) layers.push({ what: 'helm.values', values: parseManifestFile(settings.values, `Application ${helm.found.application.metadata.name} helm.values`).documents[0]?.toJS() ?? {}, site: { type: 'fixed', why: 'a YAML string (helm.values) KRR does not rewrite' } });
  if (settings?.parameters && settings.parameters.length > 0) {
    let values: Record<string, unknown> = {};
    for (const parameter of settings.parameters) {
      let layer: unknown = parameter.value ?? '';
      for (const key of parameter.name.split('.').reverse()) layer = { [key]: layer };
      values = mergeValues(values, layer) as Record<string, unknown>;
    }
    layers.push({ what: 'helm.parameters', values, site: { type: 'fixed', why: 'helm.parameters' } });
  }
  return layers;
}

export function argoApplicationFinder(options: HelmFinderOptions = {}): ManifestSourceFinder {
  // Applications that could not be read or rendered, for the "no source" message (a finder is made per proposal).
  const unusable = new Set<string>();
  return {
    name: 'argocd',
    async find(target, context) {
      const { list } = await applications(options, context);
      const candidates: SourceCandidate[] = [];
      for (const found of list) {
        let sources: HelmSource[];
        try {
          sources = await helmSources(context, found);
        } catch (error) {
          if (!(error instanceof ManifestEditError)) throw error;
          unusable.add(`${where(found)}: ${error.message}`);
          continue;
        }
        for (const helm of sources) {
          if (helm.namespace !== target.namespace) continue;
          let located: LocatedKeys | null;
          try {
            const layers = await layersOf(context, helm);
            located = await locateByRendering(options, context, helm.chart, helm.release, target, layers.map((layer) => layer.values));
          } catch (error) {
            if (error instanceof HelmMissing) {
              // Without helm the release cannot be told from the chart's output: not a candidate, and said so.
              unusable.add(`${where(found)}: Application ${found.application.metadata.name} renders chart ${helm.chart.dir || '.'}, but helm is not installed (or older than 3.16), so it is not read`);
              continue;
            }
            if (!(error instanceof ManifestEditError || error instanceof WorkspaceInputError)) throw error;
            const problem = `${where(found)}: Application ${found.application.metadata.name} (chart ${helm.chart.dir || '.'}): ${error.message}`;
            unusable.add(problem);
            if (namedAfterRelease(target, helm.release)) throw new ManifestEditError(`${problem}; it may render ${target.kind} ${target.namespace}/${target.name}, so KRR cannot tell which source decides it`);
            continue;
          }
          if (located) candidates.push(candidateFor(options, helm, located, list, target));
        }
      }
      return candidates;
    },
    invalidate(context, folder, editedPaths) {
      // An app-of-apps chart's Applications change with its values: read again when a chart's file was edited.
      const chartFiles = charts(context).filter((chart) => chart.folder.root === folder.root).map((chart) => (chart.dir ? `${chart.dir}/` : ''));
      // Applications a kustomization renders change with any file it reads: read again after any edit.
      const fromKustomizations = (context.cache.get('argocd:applications') as { list: FoundApplication[] } | undefined)?.list.some((found) => found.origin.type === 'kustomization');
      if (invalidateDeclared(context, folder, editedPaths) || fromKustomizations || editedPaths.some((edited) => chartFiles.some((prefix) => edited.startsWith(prefix)))) context.cache.delete('argocd:applications');
    },
    async renderInputs(context, folder) {
      // Every chart of the folder may be an Application's source or an app-of-apps: what helm template reads of each;
      // and the kustomizations that may render Applications, rendered again to check an edit.
      return [...((await kustomizeFinder.renderInputs?.(context, folder)) ?? []), ...chartRenderInputs(context, folder)];
    },
    async problems(context) {
      return [...(await applications(options, context)).problems, ...unusable];
    },
  };
}

function candidateFor(options: HelmFinderOptions, helm: HelmSource, located: LocatedKeys, all: readonly FoundApplication[], target: WorkloadTarget): SourceCandidate {
  const { found } = helm;
  const name = found.application.metadata.name;
  return {
    finder: 'argocd',
    folder: found.folder,
    label: `${where(found)} (Argo CD Application ${name}, chart ${helm.chart.dir || '.'})`,
    path: helm.chart.dir,
    deployer: { tool: 'argocd', name, ...(found.application.metadata.namespace ? { namespace: found.application.metadata.namespace } : {}), chart: helm.chart.dir },
    async prepare(context): Promise<PreparedChange> {
      const layers = await layersOf(context, helm);
      const before = located.rendered;
      const { changes, missing } = changesFor(before, target.kind, target.desired);
      const notes = missing.map((container) => `container ${container} is not fed by a values key of chart ${helm.chart.dir || '.'}; skipped`);
      // Value files other Applications (possibly of this repository) list too: never this environment's own.
      const others = new Map<string, string[]>();
      for (const other of all) {
        if (other === found) continue;
        for (const source of await helmSources(context, other).catch(() => [])) for (const file of source.valueFiles) others.set(file, [...(others.get(file) ?? []), other.application.metadata.name]);
      }
      // Where this Application's helm.valuesObject is written for it alone, or why nowhere.
      const { origin } = found;
      // A kustomization root with no file of its own for the Application gets a new strategic-merge patch of it.
      const inlineSite: { file: string; documentIndex: number } | { newPatch: KustomizationInfo } | string =
        origin.type === 'file'
          ? origin
          : origin.type === 'chart'
            ? `the Application is written by the template of chart ${origin.dir || '.'}`
            : (origin.site === null || origin.site.patch) && helm.at[1] === 'sources'
              ? `${origin.site?.file ?? `a patch in ${origin.root.dir || '.'}`} would have to patch spec.sources, a list a strategic-merge patch replaces whole${origin.why ? `; ${origin.why}` : ''}`
              : origin.site === null
                ? { newPatch: origin.root }
                : origin.site;
      const editable = (layer: Layer): string | null => {
        if (layer.site.type === 'fixed') return layer.site.why;
        if (layer.site.type === 'inline') return typeof inlineSite === 'string' ? inlineSite : null;
        if (/^values\.ya?ml$/.test(path.posix.relative(helm.chart.dir || '.', layer.site.file))) return `${layer.site.file} is the chart's own values.yaml, read by every environment of the chart`;
        const readers = others.get(layer.site.file);
        return readers ? `${layer.site.file} is listed by other Applications too (${readers.join(', ')})` : null;
      };
      const byContainer = new Map<string, FieldChange[]>();
      for (const change of changes) if (located.keys.has(change.container)) byContainer.set(change.container, [...(byContainer.get(change.container) ?? []), change]);
      // The layer to write: the last that sets one of these values now, when KRR may write it; else the last value
      // file only this Application lists; else valuesObject of an Application written in a file.
      const sets = (layer: Layer) => changes.some((change) => located.keys.has(change.container) && isRecord(readResources(layer.values, located.keys.get(change.container) as string[])?.[change.allocation]) && (readResources(layer.values, located.keys.get(change.container) as string[])?.[change.allocation] as Record<string, unknown>)[change.resource] !== undefined);
      const setting = [...layers].reverse().find(sets);
      let chosen: Layer | undefined;
      if (setting && editable(setting) === null) chosen = setting;
      else if (setting && setting.site.type === 'fixed') throw new ManifestEditError(`Application ${name} sets these resources in ${setting.what} (${editable(setting)}); edit it by hand`);
      else chosen = [...layers].reverse().find((layer) => layer.site.type === 'file' && editable(layer) === null) ?? (typeof inlineSite !== 'string' && !layers.some((layer) => layer.what === 'helm.values') ? (layers.find((layer) => layer.site.type === 'inline') ?? { what: 'helm.valuesObject', values: {}, site: { type: 'inline' } }) : undefined);
      if (!chosen && byContainer.size > 0) {
        const reasons = [...new Set([...layers.map((layer) => editable(layer)).filter((why): why is string => why !== null), ...(typeof inlineSite === 'string' ? [`${inlineSite}, so KRR cannot add helm.valuesObject to it`] : [])])];
        throw new ManifestEditError(`Application ${name} has no values of its own to write these resources in (${reasons.join('; ') || 'no value file, and the Application is not written in a file'}): add a value file for this environment to its helm.valueFiles, or edit by hand`);
      }
      const file = chosen?.site.type === 'file' ? chosen.site.file : typeof inlineSite === 'string' ? '' : 'newPatch' in inlineSite ? inlineSite.newPatch.file : inlineSite.file;
      // What sets values below the chosen layer (the chart's defaults, earlier value files): a removal of a value one
      // of them sets is written as null, which Helm's merge drops with it.
      const chosenIndex = chosen ? layers.indexOf(chosen) : -1;
      const lower = (chosenIndex === -1 ? layers : layers.slice(0, chosenIndex)).reduce<unknown>((all, layer) => mergeValues(all, layer.values), await chartDefaults(context, helm.chart));
      const text = byContainer.size > 0 ? await context.files.read(found.folder, file) : '';
      const splices: TextSplice[] = [];
      const edits: FieldEdit[] = [];
      const newFiles: PreparedFile[] = [];
      if (byContainer.size > 0 && chosen && typeof inlineSite !== 'string' && 'newPatch' in inlineSite && chosen.site.type !== 'file') {
        const root = inlineSite.newPatch;
        const patch = newApplicationPatch(root, found.application, strip(root, name), helm.at, byContainer, located.keys);
        if (await context.files.exists(root.folder, patch.relativePath)) throw new ManifestEditError(`${patch.relativePath} exists but ${root.file} does not list it as a patch; list it or remove it, then propose again`);
        newFiles.push(patch);
        const listed = patchListing(parseManifestFile(text, file), path.posix.basename(patch.relativePath), root.file);
        splices.push(listed);
        edits.push({ line: insertedLine(text, listed, ['path']), field: 'patches', from: null, to: `- path: ${path.posix.basename(patch.relativePath)}` });
        notes.push(`created ${patch.relativePath}, a patch of Application ${name}'s helm.valuesObject in ${root.dir || '.'}, because ${origin.type === 'kustomization' ? origin.declared.file : 'its file'} is shared with other environments`);
      } else if (byContainer.size > 0 && chosen) {
        const parsed = parseManifestFile(text, file);
        const documentIndex = chosen.site.type === 'file' || typeof inlineSite === 'string' || 'newPatch' in inlineSite ? 0 : inlineSite.documentIndex;
        const document = parsed.documents[documentIndex];
        if (!document) throw new ManifestEditError(`${file} changed while it was read`);
        const at = chosen.site.type === 'file' ? [] : [...helm.at, 'helm', 'valuesObject'];
        for (const [container, list] of byContainer) {
          const result = writeValuesResources(parsed, document, at, located.keys.get(container) as string[], list, at.join('.'), lower);
          splices.push(...result.splices);
          edits.push(...result.edits);
        }
        notes.push(`edited ${chosen.site.type === 'file' ? `${file}, a value file only Application ${name} lists` : `helm.valuesObject of Application ${name} in ${file}${origin.type === 'kustomization' ? ` (${origin.site?.patch ? 'the strategic-merge patch' : 'the Application file'} only ${origin.root.dir || '.'} reads)` : ''}`}, so other environments keep their values`);
      }
      // An Application a kustomization renders: every rendering that reads the edited file, before the edit.
      const set = await loadKustomizations(context);
      const readersBefore = new Map<KustomizationInfo, Awaited<ReturnType<typeof render>>>();
      if (origin.type === 'kustomization' && chosen?.site.type !== 'file' && byContainer.size > 0) {
        // The edited file's readers; for a new patch, the root's kustomization file: the root and those built on it.
        const readers = [origin.root, ...readersOf(set, origin.root.folder, file), ...set.list.filter((info) => closureOf(info).has(origin.root))];
        for (const reader of new Set(readers)) readersBefore.set(reader, await render(context, reader));
      }
      const after = splices.length > 0 ? applySplices(text, splices) : text;
      let baseline: Baseline | null = null;
      if (splices.length > 0) {
        const othersOf = async () => {
          const objects = await renderWithValues(options, context, helm.chart, helm.release, target.namespace, layers.map((layer) => layer.values));
          const workload = renderedWorkload(objects, target);
          return objects.filter((object) => object !== workload);
        };
        baseline = baselineOf(await othersOf(), await othersOf());
      }
      return {
        before,
        files: splices.length === 0 ? [] : [...newFiles, { relativePath: file, text: after, edits }],
        changes,
        notes,
        async verify(stagedRoot, verifyContext) {
          let afterLayers: Layer[];
          if (chosen?.site.type === 'file') afterLayers = await layersOf(verifyContext, helm, new Map([[file, after]]));
          else if (origin.type === 'kustomization') {
            // As the kustomization renders it now: the Application differs only in its valuesObject, which carries
            // exactly the recommended values; every other rendering that reads the edited file stays as it was.
            const checked = await kustomizationOutcome(verifyContext, stagedRoot, origin.root, readersBefore, name, [...helm.at, 'helm', 'valuesObject']);
            if (typeof checked === 'string') return checked;
            const expected = valuesWithChanges(helm.source.helm?.valuesObject ?? {}, located.keys, changes, lower);
            if (canonicalJson(checked.inline ?? {}) !== canonicalJson(expected)) return `helm.valuesObject of Application ${name}, as ${origin.root.dir || '.'} renders it, would not carry exactly the recommended values`;
            afterLayers = await layersOf(verifyContext, helm, new Map(), checked.inline ?? {});
          } else {
            // The Application file: only this Application's values change, every other document stays as it was.
            const original = parseManifestFile(text, file).documents;
            const edited = parseManifestFile(after, file).documents;
            const index = found.origin.type === 'file' ? found.origin.documentIndex : -1;
            if (edited.length !== original.length || edited.some((document, at) => at !== index && canonicalJson(document.toJS()) !== canonicalJson(original[at]?.toJS()))) return `the edit of ${file} would change other documents of it`;
            const parsed = applicationSchema.safeParse(edited[index]?.toJS());
            if (!parsed.success) return `${file} would no longer hold a valid Application`;
            const inline = readAt(parsed.data, [...helm.at, 'helm', 'valuesObject']);
            const expected = valuesWithChanges(helm.source.helm?.valuesObject ?? {}, located.keys, changes, lower);
            if (canonicalJson(inline) !== canonicalJson(expected)) return `helm.valuesObject of Application ${name} would not carry exactly the recommended values`;
            afterLayers = await layersOf(verifyContext, helm, new Map(), inline);
          }
          let objects: unknown[];
          try {
            objects = await renderWithValues(options, verifyContext, helm.chart, helm.release, target.namespace, afterLayers.map((layer) => layer.values));
          } catch (error) {
            if (error instanceof ManifestEditError) return `could not render chart ${helm.chart.dir || '.'} with the new values: ${error.message}`;
            throw error;
          }
          const workload = renderedWorkload(objects, target);
          const problem = checkRendered(before, workload, target.kind, changes);
          if (problem) return `helm template of chart ${helm.chart.dir || '.'} for Application ${name} does not give the recommended values: ${problem}`;
          if (baseline && !matchesBaseline(baseline, objects.filter((object) => object !== workload))) return `the new values would change other objects chart ${helm.chart.dir || '.'} renders for Application ${name}, not only ${target.kind} ${target.name}`;
          return null;
        },
      };
    },
  };
}

/**
 * The isolation check of an edit of an Application a kustomization `root` renders: every rendering in `before` (those
 * that read the edited file) renders the same objects in the same order, but that in `root` and those built on it an
 * Application may differ in its valuesObject (at `at`) alone. Returns root's Application's valuesObject, or why not.
 */
async function kustomizationOutcome(context: FinderContext, stagedRoot: string, root: KustomizationInfo, before: ReadonlyMap<KustomizationInfo, Awaited<ReturnType<typeof render>>>, name: string, at: ReadonlyArray<string | number>): Promise<{ inline: unknown } | string> {
  const changed: string[] = [];
  let inline: unknown;
  let seen = false;
  const withoutValues = (object: unknown) => {
    const copy = structuredClone(object) as Record<string, unknown>;
    const holder = readAt(copy, at.slice(0, -1));
    if (isRecord(holder)) delete holder[String(at.at(-1))];
    return canonicalJson(copy);
  };
  for (const [reader, previous] of before) {
    const where = reader.dir || '.';
    if ('error' in previous) return `${where} reads the edited file but cannot be rendered, so it is not known to stay as it was: ${previous.error}`;
    const now = await renderAt(context, stagedRoot, reader);
    if ('error' in now) return `${where} does not render with the edit: ${now.error}`;
    const sameEnvironment = reader === root || closureOf(reader).has(root);
    if (!sameEnvironment || now.objects.length !== previous.objects.length) {
      if (now.text !== previous.text) changed.push(where);
      continue;
    }
    let differs = false;
    now.objects.forEach((object, index) => {
      const was = previous.objects[index];
      if (canonicalJson(object) === canonicalJson(was)) return;
      const application = identityOf(object)?.kind === 'Application' && identityOf(was)?.kind === 'Application' && withoutValues(object) === withoutValues(was);
      if (!application) differs = true;
    });
    if (differs) changed.push(where);
    if (reader === root) {
      const application = now.objects.find((object) => identityOf(object)?.kind === 'Application' && identityOf(object)?.name === name);
      seen = application !== undefined;
      inline = readAt(application, at);
    }
  }
  if (changed.length > 0) return `it would also change what ${changed.join(', ')} render${changed.length === 1 ? 's' : ''}; KRR changes only the environment the recommendation is for`;
  if (!seen) return `${root.dir || '.'} would no longer render Application ${name}`;
  return { inline };
}

/**
 * A new strategic-merge patch of the Application `name` (as the root's resources name it) in `root`, setting
 * `<at>.helm.valuesObject.<key>.resources` to the changes (a null removes a value kustomize merges from below).
 */
function newApplicationPatch(root: KustomizationInfo, application: Application, name: string, at: ReadonlyArray<string | number>, byContainer: ReadonlyMap<string, FieldChange[]>, keys: ReadonlyMap<string, string[]>): PreparedFile {
  const fileName = `krr-application-${name}-values.yaml`;
  const relativePath = root.dir ? `${root.dir}/${fileName}` : fileName;
  const values: Record<string, unknown> = {};
  for (const [container, list] of byContainer) {
    let node = values;
    for (const key of [...(keys.get(container) as string[]), 'resources']) node = (node[key] ??= {}) as Record<string, unknown>;
    for (const change of list) ((node[change.allocation] ??= {}) as Record<string, unknown>)[change.resource] = change.to;
  }
  let spec: Record<string, unknown> = { helm: { valuesObject: values } };
  for (const key of [...at].reverse()) spec = { [String(key)]: spec };
  // A patch matches by namespace too: under a root that sets none, the Application keeps its base's namespace.
  const namespace = root.namespace === undefined ? application.metadata.namespace : undefined;
  const body = { apiVersion: application.apiVersion, kind: 'Application', metadata: { name, ...(namespace ? { namespace } : {}) }, ...spec };
  const text = `# Container resources for this environment's Argo CD Application ${name} (krr's recommendation, written by KRR).\n# A strategic-merge patch: helm.valuesObject merges key by key, so only these values change.\n${stringify(body, { indent: 2, lineWidth: 0 })}`;
  const written = parseManifestFile(text, relativePath).documents[0];
  const edits: FieldEdit[] = [];
  for (const [container, list] of byContainer) {
    for (const change of list) {
      const fieldPath = [...at, 'helm', 'valuesObject', ...(keys.get(container) as string[]), 'resources', change.allocation, change.resource];
      const node = written?.getIn(fieldPath, true) as { range?: [number, number, number] } | undefined;
      edits.push({ line: lineOf(text, node?.range?.[0] ?? 0), field: fieldPath.join('.'), from: null, to: change.to });
    }
  }
  return { relativePath, text, edits };
}

function readResources(values: unknown, keyPath: readonly string[]): Record<string, unknown> | undefined {
  const node = readAt(values, [...keyPath, 'resources']);
  return isRecord(node) ? node : undefined;
}

function readAt(value: unknown, keys: ReadonlyArray<string | number>): unknown {
  let node = value;
  for (const key of keys) {
    if (Array.isArray(node) && typeof key === 'number') node = node[key];
    else if (isRecord(node)) node = node[String(key)];
    else return undefined;
  }
  return node;
}
