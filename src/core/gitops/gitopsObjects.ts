// The GitOps objects written in the workspace that say how things are deployed: Flux HelmRelease, Kustomization and
// GitRepository, Argo CD Application, and ConfigMaps (a HelmRelease's valuesFrom). Read from the YAML files as they
// are (a chart's templates are not YAML and are skipped), one schema per shape; cached per proposal.
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { z } from 'zod';
import type { FinderContext } from './model';
import { WorkspaceInputError, type WorkspaceFolder } from './workspace';
import { ManifestEditError, parseManifestFile, plainObjectOf } from './yamlEdit';

const metadataSchema = z.looseObject({ name: z.string(), namespace: z.string().optional() });

const sourceRefSchema = z.looseObject({ kind: z.string(), name: z.string(), namespace: z.string().optional() });

/** Flux helm-controller's HelmRelease (v2beta1, v2beta2, v2): what decides the chart, the release and its values. */
export const helmReleaseSchema = z.looseObject({
  apiVersion: z.string().regex(/^helm\.toolkit\.fluxcd\.io\//),
  kind: z.literal('HelmRelease'),
  metadata: metadataSchema,
  spec: z.looseObject({
    releaseName: z.string().optional(),
    targetNamespace: z.string().optional(),
    chart: z.looseObject({ spec: z.looseObject({ chart: z.string(), sourceRef: sourceRefSchema }) }).optional(),
    chartRef: z.looseObject({ kind: z.string(), name: z.string() }).optional(),
    values: z.unknown().optional(),
    valuesFrom: z.array(z.looseObject({ kind: z.string(), name: z.string(), valuesKey: z.string().optional(), targetPath: z.string().optional(), optional: z.boolean().optional() })).optional(),
  }),
});
export type HelmRelease = z.infer<typeof helmReleaseSchema>;

export const fluxKustomizationSchema = z.looseObject({
  apiVersion: z.string().regex(/^kustomize\.toolkit\.fluxcd\.io\//),
  kind: z.literal('Kustomization'),
  metadata: metadataSchema,
  spec: z.looseObject({ path: z.string().optional(), sourceRef: sourceRefSchema.optional(), targetNamespace: z.string().optional() }),
});
export type FluxKustomization = z.infer<typeof fluxKustomizationSchema>;

export const gitRepositorySchema = z.looseObject({
  apiVersion: z.string().regex(/^source\.toolkit\.fluxcd\.io\//),
  kind: z.literal('GitRepository'),
  metadata: metadataSchema,
  spec: z.looseObject({ url: z.string() }),
});

const helmSourceSchema = z.looseObject({
  releaseName: z.string().optional(),
  valueFiles: z.array(z.string()).optional(),
  values: z.string().optional(),
  valuesObject: z.unknown().optional(),
  parameters: z.array(z.looseObject({ name: z.string(), value: z.string().optional() })).optional(),
});
const applicationSourceSchema = z.looseObject({ repoURL: z.string().optional(), path: z.string().optional(), chart: z.string().optional(), ref: z.string().optional(), helm: helmSourceSchema.optional() });
export type ApplicationSource = z.infer<typeof applicationSourceSchema>;

/** Argo CD's Application: one source, several (`sources`, with `ref` for `$ref/…` value files), or a hydrator's dry source. */
export const applicationSchema = z.looseObject({
  apiVersion: z.string().regex(/^argoproj\.io\//),
  kind: z.literal('Application'),
  metadata: metadataSchema,
  spec: z.looseObject({
    source: applicationSourceSchema.optional(),
    sources: z.array(applicationSourceSchema).optional(),
    sourceHydrator: z.looseObject({ drySource: applicationSourceSchema }).optional(),
    destination: z.looseObject({ namespace: z.string().optional() }).optional(),
  }),
});
export type Application = z.infer<typeof applicationSchema>;

export const configMapSchema = z.looseObject({ apiVersion: z.literal('v1'), kind: z.literal('ConfigMap'), metadata: metadataSchema, data: z.record(z.string(), z.string()).optional() });

/** One object as written in a workspace file: the file, the document, and the object as plain data. */
export interface Declared {
  folder: WorkspaceFolder;
  file: string;
  documentIndex: number;
  object: Record<string, unknown>;
}

const kinds = /\bkind:\s*["']?(HelmRelease|Kustomization|GitRepository|Application|ConfigMap)\b/;

/**
 * Every document of the workspace's YAML files whose kind is one of those above (matched by a schema later), with
 * the files that could not be read for the "no source" message. A chart's templates are Go templates, not YAML:
 * they are skipped here (an Application a chart renders is read by rendering it, see argoApplication).
 */
export async function declaredObjects(context: FinderContext): Promise<{ objects: Declared[]; problems: string[] }> {
  const cached = context.cache.get('gitops:declared') as { objects: Declared[]; problems: string[] } | undefined;
  if (cached) return cached;
  // The files to look at, once per proposal (the index does not change during one).
  let scanned = context.cache.get('gitops:declared:scan') as ReadonlyArray<(typeof context.index.files)[number]> | undefined;
  if (!scanned) {
    const chartDirs = context.index.files.filter((file) => path.posix.basename(file.relativePath) === 'Chart.yaml').map((file) => `${file.folder.root}\0${path.posix.dirname(file.relativePath) === '.' ? '' : `${path.posix.dirname(file.relativePath)}/`}templates/`);
    scanned = context.index.files.filter((file) => !chartDirs.some((prefix) => `${file.folder.root}\0${file.relativePath}`.startsWith(prefix)));
    context.cache.set('gitops:declared:scan', scanned);
  }
  const objects: Declared[] = [];
  const problems: string[] = [];
  // What each file gave, by its text: read again after an edit, only a file whose text changed is parsed again.
  let byFile = context.cache.get('gitops:declared:files') as Map<string, { text: string; objects: Declared[]; problem: string | null }> | undefined;
  if (!byFile) {
    byFile = new Map();
    context.cache.set('gitops:declared:files', byFile);
  }
  for (const file of scanned) {
    const key = `${file.folder.root}\0${file.relativePath}`;
    let text: string;
    try {
      text = await context.files.read(file.folder, file.relativePath);
    } catch (error) {
      if (!(error instanceof ManifestEditError || error instanceof WorkspaceInputError)) throw error;
      if (kinds.test(error.message) || /HelmRelease|Application/.test(file.relativePath)) problems.push(error.message);
      continue;
    }
    let known = byFile.get(key);
    if (known?.text !== text) {
      known = { text, objects: [], problem: null };
      byFile.set(key, known);
      // Cheap filter first: most files hold none of these kinds.
      if (kinds.test(text)) {
        try {
          const parsed = parseManifestFile(text, `${file.folder.name}/${file.relativePath}`);
          const declared = known.objects;
          parsed.documents.forEach((document, documentIndex) => {
            const object = plainObjectOf(document, `${file.folder.name}/${file.relativePath}`);
            if (object && typeof object === 'object' && !Array.isArray(object)) declared.push({ folder: file.folder, file: file.relativePath, documentIndex, object: object as Record<string, unknown> });
          });
        } catch (error) {
          if (!(error instanceof ManifestEditError || error instanceof WorkspaceInputError)) throw error;
          known.objects = [];
          if (kinds.test(error.message) || /HelmRelease|Application/.test(file.relativePath)) known.problem = error.message;
        }
      }
    }
    objects.push(...known.objects);
    if (known.problem !== null) problems.push(known.problem);
  }
  const result = { objects, problems };
  context.cache.set('gitops:declared', result);
  return result;
}

/**
 * The URLs of the folder's git remotes, read from `.git/config` (a file, no git run); null when the folder is not the
 * root of a git clone, or its configuration cannot be read: which repository an Application or GitRepository names
 * is then unknown.
 */
export async function folderRemotes(context: FinderContext, folder: WorkspaceFolder): Promise<string[] | null> {
  const key = `gitops:remotes:${folder.root}`;
  if (context.cache.has(key)) return context.cache.get(key) as string[] | null;
  let remotes: string[] | null;
  try {
    // A worktree's .git is a file, not a directory: its configuration is elsewhere, so the remotes stay unknown.
    const text = await readFile(path.join(folder.root, '.git', 'config'), 'utf8');
    const urls = [...text.matchAll(/^\s*url\s*=\s*(\S+)\s*$/gm)].map((match) => normalizeRepoUrl(match[1] as string));
    remotes = urls.length > 0 ? urls : null;
  } catch {
    remotes = null;
  }
  context.cache.set(key, remotes);
  return remotes;
}

/** A repository URL in one form: host/path, lower-case host, no scheme, user, `.git` or trailing slash. */
export function normalizeRepoUrl(url: string): string {
  let value = url.trim();
  const scp = /^[^@/:]+@([^:/]+):(.+)$/.exec(value);
  if (scp) value = `${scp[1]}/${scp[2]}`;
  value = value.replace(/^[a-z+]+:\/\//i, '').replace(/^[^@/]+@/, '');
  const slash = value.indexOf('/');
  const host = (slash < 0 ? value : value.slice(0, slash)).toLowerCase().replace(/:\d+$/, '');
  const rest = slash < 0 ? '' : value.slice(slash);
  return `${host}${rest}`.replace(/\/+$/, '').replace(/\.git$/, '');
}

/**
 * Whether a repoURL is this folder's repository: true or false when the folder's remotes are known, null when not
 * (the caller then treats it as possibly this one: never guessed away).
 */
export async function isFolderRepository(context: FinderContext, folder: WorkspaceFolder, repoURL: string | undefined): Promise<boolean | null> {
  if (repoURL === undefined) return null;
  const remotes = await folderRemotes(context, folder);
  if (remotes === null) return null;
  return remotes.includes(normalizeRepoUrl(repoURL));
}

/**
 * Clears what this module cached when an edit may change a declared object (an edited file that declares one, or a
 * new file); true when it did. Kept otherwise: a proposal of many workloads does not read every file again after each.
 */
export function invalidateDeclared(context: FinderContext, folder: WorkspaceFolder, editedPaths: readonly string[]): boolean {
  const cached = context.cache.get('gitops:declared') as { objects: Declared[] } | undefined;
  if (!cached) return true;
  const indexed = new Set(context.index.files.filter((file) => file.folder.root === folder.root).map((file) => file.relativePath));
  const declaring = new Set(cached.objects.filter((entry) => entry.folder.root === folder.root).map((entry) => entry.file));
  if (!editedPaths.some((edited) => declaring.has(edited) || !indexed.has(edited))) return false;
  context.cache.delete('gitops:declared');
  return true;
}
