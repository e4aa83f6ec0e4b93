// The kustomizations of a workspace as a graph read from their files: which kustomization includes which (resources,
// bases, components), which files each one's rendering reads, and which workloads it can render. A proposal renders
// only the kustomizations that can render a workload it looks for, or that read a file it edits (docs/ARCHITECTURE.md,
// "How a proposal chooses what to render"); what the files do not tell for certain (a generator or transformer plugin,
// a JSON6902 patch of a name, replacements, a file KRR cannot parse) makes a kustomization "may render anything", so it
// is rendered, never skipped. Renders are keyed by the content of every file they read (renderKey).
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { isMap, isSeq } from 'yaml';
import { z } from 'zod';
import type { FinderContext, WorkloadTarget } from './model';
import { sha256, type WorkspaceFolder } from './workspace';
import { groupOf, identityOf } from './workload';
import { parseManifestFile, plainObjectOf } from './yamlEdit';

export const selectorSchema = z.looseObject({ group: z.string().optional(), version: z.string().optional(), kind: z.string().optional(), name: z.string().optional(), namespace: z.string().optional() });
export type Selector = z.infer<typeof selectorSchema>;

export interface PatchEntry {
  /** Where it is listed, for messages: "patches[0]". */
  where: string;
  /** Relative to the folder; undefined for an inline patch. */
  file?: string;
  inline?: string;
  target?: Selector;
  /** Index in the `patches:` list (for finding an existing strategic-merge patch to extend). */
  listed: 'patches' | 'patchesStrategicMerge' | 'patchesJson6902';
}

export interface KustomizationInfo {
  folder: WorkspaceFolder;
  /** Relative to the folder ('' = the folder itself). */
  dir: string;
  file: string;
  namespace?: string;
  namePrefix: string;
  nameSuffix: string;
  /** Directories of other kustomizations it includes (resources, bases, components). */
  includes: KustomizationInfo[];
  resourceFiles: string[];
  /** Other local files it reads (generator sources, schemas, configurations): copied for rendering, never edited. */
  inputFiles: string[];
  patches: PatchEntry[];
  hasReplacements: boolean;
  /** `kind: Component`: rendered only as part of the kustomizations that list it, never on its own. */
  component: boolean;
  /** The file could not be read as a kustomization (invalid YAML, an alias bomb): what it includes is unknown. */
  unread?: boolean;
  /** The fields its file sets (not null), when it was read: which ones decide whether it can be batched (kustomizeBatch). */
  fields?: readonly string[];
  /**
   * Why it cannot be used: invalid YAML, remote content in any field (never fetched), an entry outside the folder or
   * not read by KRR, or a kustomization it includes that cannot be used.
   */
  error?: string;
}

export interface KustomizationSet {
  /**
   * Every kustomization. Any of them may be an environment — one no other includes, but also a base deployed on its
   * own that overlays use too — so an edit is checked against every one that reads an edited file (readersOf).
   */
  list: KustomizationInfo[];
  /** `${folder.root}\0${relativePath}` of every file some kustomization uses (those are not plain manifests). */
  used: Set<string>;
}

export function fileKey(folder: WorkspaceFolder, relativePath: string): string {
  return `${folder.root}\0${relativePath}`;
}

/** Every kustomization `info` includes, directly or through others. */
export function closureOf(info: KustomizationInfo): Set<KustomizationInfo> {
  const seen = new Set<KustomizationInfo>();
  const queue = [...info.includes];
  while (queue.length > 0) {
    const next = queue.shift() as KustomizationInfo;
    if (seen.has(next)) continue;
    seen.add(next);
    queue.push(...next.includes);
  }
  return seen;
}

/** The files of the folder a kustomization's own entries name: its file, resources, other inputs and patch files. */
function ownFiles(info: KustomizationInfo): string[] {
  return [info.file, ...info.resourceFiles, ...info.inputFiles, ...info.patches.flatMap((patch) => (patch.file === undefined ? [] : [patch.file]))];
}

/**
 * Every kustomization whose rendering reads `relativePath`: the ones that list it (as their kustomization file, a
 * resource, a patch or another input), every one that includes those, and one KRR could not read in the same folder
 * (it may list anything). Components are left out: they render only through the kustomizations that use them.
 */
export function readersOf(set: KustomizationSet, folder: WorkspaceFolder, relativePath: string): KustomizationInfo[] {
  const inFolder = set.list.filter((info) => info.folder.root === folder.root);
  const direct = inFolder.filter((info) => info.unread || ownFiles(info).includes(relativePath));
  return inFolder.filter((info) => !info.component && (direct.includes(info) || direct.some((reader) => closureOf(info).has(reader))));
}

/**
 * What a render of `info` from the private copy at `stagedRoot` reads, as a hash: the bytes of every file of the copy
 * under its directory and the directories of the kustomizations it includes (root-only loading: kustomize reads
 * nothing else), with the command. Files, not the lists of the kustomization files: a patch an edit adds is in the
 * key though `info` was read before the edit. Two renders with the same key print the same, so the second is not run.
 */
export async function renderKey(stagedRoot: string, info: KustomizationInfo, command: string, onFile?: (data: Buffer) => void): Promise<string> {
  const files = new Map<string, string>();
  const walk = async (relative: string, depth: number): Promise<void> => {
    const entries = await readdir(path.join(stagedRoot, relative), { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (files.has(child)) continue;
      if (entry.isDirectory()) {
        if (depth < 32) await walk(child, depth + 1);
        else files.set(child, 'too deep');
      } else {
        const data = await readFile(path.join(stagedRoot, child));
        onFile?.(data);
        files.set(child, createHash('sha256').update(data).digest('hex'));
      }
    }
  };
  for (const dir of new Set([info.dir, ...[...closureOf(info)].map((included) => included.dir)])) await walk(dir, 0);
  const entries = [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(['kustomize', command, stagedRoot, info.folder.root, info.dir, entries])).digest('hex');
}

/**
 * A workload a kustomization renders, as far as its files tell: `exact` — this kind, group, name and namespace; or
 * loose — a name that contains `name` (a component's prefix may or may not apply) in one of `namespaces`.
 */
interface Output {
  kind: string;
  group: string | null;
  name: string;
  exact: boolean;
  /** null: none set (read as "default"). */
  namespaces: ReadonlySet<string | null>;
}

/** Fields that let kustomize create objects or change names, kinds or namespaces in ways KRR does not follow. */
const opaqueFields = ['generators', 'transformers', 'helmCharts', 'helmChartInflationGenerator', 'helmGlobals', 'replacements', 'vars', 'configurations'];

/** A JSON6902 path that changes what an object is called or what it is. */
function renamingPath(value: unknown): boolean {
  if (typeof value !== 'string') return true;
  return value === '' || value === '/' || value === '/kind' || value === '/apiVersion' || value === '/metadata' || value.startsWith('/metadata/name') || value.startsWith('/metadata/namespace');
}

export class KustomizationGraph {
  private readonly outputs = new Map<KustomizationInfo, Output[] | 'any'>();
  private readonly own = new Map<KustomizationInfo, OwnFiles>();

  private constructor(readonly set: KustomizationSet) {}

  /** The graph of `set`, its files read through `context` (pending edits included); cached per proposal and set. */
  static async of(context: FinderContext, set: KustomizationSet): Promise<KustomizationGraph> {
    const cached = context.cache.get('kustomize:graph') as KustomizationGraph | undefined;
    if (cached?.set === set) return cached;
    const graph = new KustomizationGraph(set);
    for (const info of set.list) {
      // By the content of its own files: after an edit only the kustomizations whose files changed are read again.
      const texts: string[] = [];
      for (const file of ownFiles(info)) texts.push(file, await context.files.read(info.folder, file).catch(() => '\0unreadable'));
      const key = `kustomize:own:${sha256(JSON.stringify([info.folder.root, info.error ?? '', info.hasReplacements, texts]))}`;
      let own = context.cache.get(key) as OwnFiles | undefined;
      if (!own) {
        own = await readOwn(context, info);
        context.cache.set(key, own);
      }
      graph.own.set(info, own);
    }
    context.cache.set('kustomize:graph', graph);
    return graph;
  }

  /**
   * Whether `info` can render a workload of this kind, group and name (in this namespace; any when omitted). False
   * only when its files say so for certain; a kustomization KRR cannot use renders nothing (its render is an error,
   * which costs no run) but is answered true so that callers still see that error.
   */
  mayRender(info: KustomizationInfo, target: { kind: string; group: string; name: string; namespace?: string }): boolean {
    if (info.error !== undefined) return true;
    const outputs = this.outputsOf(info, new Set());
    if (outputs === 'any') return true;
    return outputs.some((output) => {
      if (output.kind !== target.kind || (output.group !== null && output.group !== target.group)) return false;
      if (output.exact ? output.name !== target.name : !target.name.includes(output.name)) return false;
      return target.namespace === undefined || output.namespaces.has(target.namespace) || (target.namespace === 'default' && output.namespaces.has(null));
    });
  }

  /** Whether what `info` renders is known exactly from its files (no plugin, no component that renames). */
  knowsExactly(info: KustomizationInfo, target: Pick<WorkloadTarget, 'kind' | 'group'>, name: string): boolean {
    if (info.error !== undefined) return false;
    const outputs = this.outputsOf(info, new Set());
    return outputs !== 'any' && outputs.some((output) => output.exact && output.kind === target.kind && output.group === target.group && output.name === name);
  }

  private outputsOf(info: KustomizationInfo, visiting: Set<KustomizationInfo>): Output[] | 'any' {
    const known = this.outputs.get(info);
    if (known) return known;
    // A cycle or an unusable kustomization: kustomize refuses it; nothing is promised about it.
    if (visiting.has(info) || info.error !== undefined) return 'any';
    visiting.add(info);
    const own = this.own.get(info);
    let result: Output[] | 'any';
    if (!own || own.opaque) result = 'any';
    else {
      let accumulated: Output[] = [...own.documents];
      result = accumulated;
      for (const included of info.includes) {
        const outputs = this.outputsOf(included, visiting);
        if (outputs === 'any') {
          result = 'any';
          break;
        }
        accumulated.push(...outputs);
        // A component transforms everything its parent holds when it is applied (the order decides what): each name
        // may or may not carry its prefix, each object may or may not be in its namespace.
        if (included.component && (included.namePrefix || included.nameSuffix || included.namespace)) {
          accumulated = accumulated.map((output) => ({ ...output, exact: false, namespaces: new Set([...output.namespaces, ...(included.namespace ? [included.namespace] : [])]) }));
        }
      }
      if (result !== 'any') {
        result = accumulated.map((output) => ({
          ...output,
          // kustomize gives these kinds no prefix or suffix (prefixFieldSpecsToSkip, suffixFieldSpecsToSkip).
          name: output.exact && !keepsItsName(output) ? `${info.namePrefix}${output.name}${info.nameSuffix}` : output.name,
          // An empty `namespace:` sets none.
          namespaces: info.namespace ? new Set([info.namespace]) : output.namespaces,
        }));
      }
    }
    visiting.delete(info);
    this.outputs.set(info, result);
    return result;
  }
}

function keepsItsName(output: Pick<Output, 'kind' | 'group'>): boolean {
  return output.kind === 'Namespace' || output.kind === 'CustomResourceDefinition' || (output.kind === 'APIService' && output.group === 'apiregistration.k8s.io');
}

/** What a kustomization's own files say: the objects its resource files define, and whether it does what KRR cannot follow. */
interface OwnFiles {
  opaque: boolean;
  documents: Output[];
}

async function readOwn(context: FinderContext, info: KustomizationInfo): Promise<OwnFiles> {
  if (info.error !== undefined || info.hasReplacements) return { opaque: true, documents: [] };
  try {
    const document = parseManifestFile(await context.files.read(info.folder, info.file), info.file).documents[0];
    const spec = document ? plainObjectOf(document, info.file) : {};
    const fields = spec && typeof spec === 'object' ? (spec as Record<string, unknown>) : {};
    if (opaqueFields.some((field) => fields[field] !== undefined && fields[field] !== null)) return { opaque: true, documents: [] };
    // `options: {allowNameChange: true}` lets a patch rename what it patches.
    if (Array.isArray(fields.patches) && fields.patches.some((entry) => entry && typeof entry === 'object' && 'options' in entry)) return { opaque: true, documents: [] };
    for (const patch of info.patches) {
      const text = patch.file !== undefined ? await context.files.read(info.folder, patch.file) : (patch.inline ?? '');
      for (const document of parseManifestFile(text, patch.file ?? info.file).documents) {
        const contents = document.contents;
        if (!isSeq(contents)) continue;
        // A JSON6902 patch: one that writes a name, namespace, kind or apiVersion makes the outcome unknown here.
        if (contents.items.some((op) => !isMap(op) || renamingPath(op.get('path')) || (op.has('from') && renamingPath(op.get('from'))))) return { opaque: true, documents: [] };
      }
    }
    const documents: Output[] = [];
    for (const file of info.resourceFiles) {
      for (const document of parseManifestFile(await context.files.read(info.folder, file), file).documents) {
        const identity = identityOf(plainObjectOf(document, file));
        if (identity === null) continue;
        // A List is expanded by kustomize into its items: not followed here.
        if (identity.kind.endsWith('List')) return { opaque: true, documents: [] };
        documents.push({ kind: identity.kind, group: groupOf(identity.apiVersion), name: identity.name, exact: true, namespaces: new Set([identity.namespace]) });
      }
    }
    return { opaque: false, documents };
  } catch {
    // A file KRR cannot read (invalid YAML, too large): its render says why; it is never skipped.
    return { opaque: true, documents: [] };
  }
}
