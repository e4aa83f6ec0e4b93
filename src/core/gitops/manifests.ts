// Plain manifests: YAML/JSON files (several documents each) that no kustomization uses. A workload matches on group,
// kind, name and namespace; a document without a namespace takes the enclosing kustomization's `namespace:`, else
// "default".
import * as path from 'node:path';
import type { FinderContext, ManifestSourceFinder, PreparedChange, SourceCandidate, WorkloadTarget } from './model';
import { fileKey, kustomizationFileNames, loadKustomizations } from './kustomize';
import { sha256, type WorkspaceFile } from './workspace';
import { readPath } from '../plan/build';
import { applySplices, ManifestEditError, parseManifestFile, setContainerResources, type ParsedFile } from './yamlEdit';
import { changesFor, checkRendered, containerNode, containersPath, identityOf, sameWorkload } from './workload';

/**
 * Per proposal (its FileSource), per file content: whether it parses, and the error if not. A hostile repository can
 * hold many files that take seconds each to parse (1 MiB of flow items); each is parsed once per proposal for the
 * "no source" message, not once per workload. Only the verdict is kept, never the parsed documents (memory).
 */
const parseVerdicts = new WeakMap<FinderContext['files'], Map<string, string | null>>();

function verdictsOf(context: FinderContext): Map<string, string | null> {
  let verdicts = parseVerdicts.get(context.files);
  if (!verdicts) parseVerdicts.set(context.files, (verdicts = new Map()));
  return verdicts;
}

/** The file parsed (documents), its verdict remembered; a file known not to parse is not parsed again. */
function parseOnce(context: FinderContext, file: WorkspaceFile, text: string): ParsedFile {
  const verdicts = verdictsOf(context);
  const key = `${file.folder.root}\0${file.relativePath}\0${sha256(text)}`;
  const known = verdicts.get(key);
  if (typeof known === 'string') throw new ManifestEditError(known);
  try {
    const parsed = parseManifestFile(text, `${file.folder.name}/${file.relativePath}`);
    verdicts.set(key, null);
    return parsed;
  } catch (error) {
    if (error instanceof ManifestEditError) verdicts.set(key, error.message);
    throw error;
  }
}

/** The namespace a kustomization in the file's directory or above would give it (nearest first). */
async function enclosingNamespace(context: FinderContext, file: WorkspaceFile): Promise<string | null> {
  const set = await loadKustomizations(context);
  let dir = path.posix.dirname(file.relativePath);
  for (;;) {
    const normalized = dir === '.' ? '' : dir;
    const info = set.list.find((candidate) => candidate.folder === file.folder && candidate.dir === normalized);
    if (info?.namespace) return info.namespace;
    if (normalized === '') return null;
    dir = path.posix.dirname(normalized);
  }
}

async function documentsMatching(context: FinderContext, file: WorkspaceFile, target: WorkloadTarget): Promise<number[]> {
  const text = await context.files.read(file.folder, file.relativePath);
  // Cheap filter first: most files of a repository do not mention the workload at all.
  if (!text.includes(target.name)) return [];
  const parsed = parseOnce(context, file, text);
  const matches: number[] = [];
  for (const [index, document] of parsed.documents.entries()) {
    const object = document.toJS() as unknown;
    const identity = identityOf(object);
    if (!identity || !sameWorkload(identity, target) || !deployable(object, target.kind)) continue;
    const namespace = identity.namespace ?? (await enclosingNamespace(context, file)) ?? 'default';
    if (namespace === target.namespace) matches.push(index);
  }
  return matches;
}

/**
 * Whether a file is a Helm chart's template (under `templates/` beside a Chart.yaml): Go template text, which is not
 * YAML until helm renders it, so "not valid YAML" about it is noise; the Helm finder reports a chart that fails to render.
 */
function chartTemplates(context: FinderContext): (file: WorkspaceFile) => boolean {
  const prefixes = context.index.files.filter((file) => path.posix.basename(file.relativePath) === 'Chart.yaml').map((chart) => `${chart.folder.root}\0${path.posix.dirname(chart.relativePath) === '.' ? '' : `${path.posix.dirname(chart.relativePath)}/`}templates/`);
  return (file) => prefixes.some((prefix) => `${file.folder.root}\0${file.relativePath}`.startsWith(prefix));
}

/**
 * A workload the API server would accept has an image in every container; a strategic-merge patch left in the tree
 * (same kind and name, only resources) does not, and is not a source.
 */
function deployable(object: unknown, kind: string): boolean {
  const containers = readPath(object, containersPath(kind));
  return Array.isArray(containers) && containers.length > 0 && containers.every((container) => typeof (container as { image?: unknown })?.image === 'string');
}

export const plainManifestFinder: ManifestSourceFinder = {
  name: 'manifest',
  async find(target, context) {
    const set = await loadKustomizations(context);
    const candidates: SourceCandidate[] = [];
    for (const file of context.index.files) {
      if (set.used.has(fileKey(file.folder, file.relativePath)) || kustomizationFileNames.includes(path.posix.basename(file.relativePath))) continue;
      let matches: number[];
      try {
        matches = await documentsMatching(context, file, target);
      } catch {
        continue; // reported by problems()
      }
      for (const documentIndex of matches) candidates.push(candidateFor(file, documentIndex, target));
    }
    return candidates;
  },
  // Keeps nothing of its own between workloads (it reads files through context.files, which sees pending edits).
  invalidate() {},
  async problems(context) {
    const problems: string[] = [];
    const set = await loadKustomizations(context);
    const templates = chartTemplates(context);
    for (const file of context.index.files) {
      if (set.used.has(fileKey(file.folder, file.relativePath)) || templates(file)) continue;
      try {
        const text = await context.files.read(file.folder, file.relativePath);
        const known = verdictsOf(context).get(`${file.folder.root}\0${file.relativePath}\0${sha256(text)}`);
        if (typeof known === 'string') problems.push(known);
        else if (known === undefined) parseOnce(context, file, text);
      } catch (error) {
        problems.push(error instanceof Error ? error.message : String(error));
      }
    }
    return problems;
  },
};

function candidateFor(file: WorkspaceFile, documentIndex: number, target: WorkloadTarget): SourceCandidate {
  return {
    finder: 'manifest',
    path: path.posix.dirname(file.relativePath) === '.' ? '' : path.posix.dirname(file.relativePath),
    folder: file.folder,
    label: `${file.folder.name}/${file.relativePath}${documentIndex > 0 ? ` (document ${documentIndex + 1})` : ''}`,
    key: `${file.relativePath}${documentIndex > 0 ? `#${documentIndex + 1}` : ''}`,
    async prepare(context): Promise<PreparedChange> {
      const parsed = parseManifestFile(await context.files.read(file.folder, file.relativePath), file.relativePath);
      const document = parsed.documents[documentIndex];
      const before = document?.toJS() as unknown;
      const identity = identityOf(before);
      if (!document || !identity || !sameWorkload(identity, target)) throw new ManifestEditError(`${file.relativePath} changed while it was read`);
      const { changes, missing } = changesFor(before, target.kind, target.desired);
      const notes = missing.map((container) => `container ${container} is not in ${file.relativePath}; skipped`);
      const json = file.relativePath.toLowerCase().endsWith('.json');
      const splices = [];
      const edits = [];
      for (const container of new Set(changes.map((change) => change.container))) {
        const node = containerNode(document, target.kind, container);
        if (!node) throw new ManifestEditError(`${file.relativePath} has no container ${container}`);
        const fields = changes.filter((change) => change.container === container).map((change) => ({ allocation: change.allocation, resource: change.resource, value: change.to }));
        const result = setContainerResources(parsed, document, node, fields, `${containersPath(target.kind).join('.')}[${container}]`, json);
        splices.push(...result.splices);
        edits.push(...result.edits);
      }
      const text = applySplices(parsed.text, splices);
      return {
        before,
        files: splices.length === 0 ? [] : [{ relativePath: file.relativePath, text, edits }],
        changes,
        notes,
        async verify() {
          // No renderer for a plain manifest: the edited file itself must parse and carry exactly the new values.
          let after: unknown;
          try {
            after = parseManifestFile(text, file.relativePath).documents[documentIndex]?.toJS();
          } catch (error) {
            return error instanceof Error ? error.message : String(error);
          }
          const problem = checkRendered(before, after, target.kind, changes);
          return problem ? `the edited ${file.relativePath} would not carry the recommended values: ${problem}` : null;
        },
      };
    },
  };
}
