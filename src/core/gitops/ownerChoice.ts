// Choosing among the sources the finders found, with what the cluster says: the live object's GitOps owner (Argo CD
// tracking id, Flux labels; gitops/owner) names the Application, Kustomization or HelmRelease that deploys it. Rules:
// - A chart's own values files give way to a HelmRelease or Application that renders the same chart: the environment's
//   values are in that object, the chart's files are every environment's defaults.
// - With a certain, named owner: the sources it names are kept — a HelmRelease or Application of that name, or a
//   source whose directory is the owner's path (a kustomization root exactly; a plain manifest or HelmRelease file
//   under it, as Flux and Argo CD read a directory without a kustomization) — instead of guessing from the context.
// - The owner written in the workspace but no source under it: refused, naming both (never guessed). The owner not
//   written in the workspace: the sources stay as found, and the plan says so.
import * as path from 'node:path';
import { describeOwner } from './ownerName';
import { applicationSchema, declaredObjects, fluxKustomizationSchema, isFolderRepository } from './gitopsObjects';
import type { FinderContext, OwnerSource, SourceCandidate, WorkloadTarget } from './model';

/** A GitOps path (`./apps/prod/`, `apps/prod`, `.`) as a folder-relative directory ('' for the root). */
export function gitOpsPath(value: string): string {
  const normalized = path.posix.normalize(value.replace(/^\.\//, '') || '.');
  return normalized === '.' || normalized === './' ? '' : normalized.replace(/\/+$/, '');
}

/** Where the target's owner deploys from, when it names one; undefined without a certain, named owner. */
export async function ownerSourceOf(target: WorkloadTarget, context: FinderContext): Promise<OwnerSource | undefined> {
  const owner = target.owner;
  if (!owner || owner.name === null || owner.confidence !== 'certain') return undefined;
  const base: OwnerSource = { described: describeOwner(owner), tool: owner.tool, name: owner.name, ...(owner.namespace ? { namespace: owner.namespace } : {}), paths: null };
  if (owner.tool === 'flux-helm') return base;
  const paths: Array<{ folderRoot: string; path: string }> = [];
  const sameNamespace = (namespace: string | undefined) => owner.namespace === undefined || namespace === undefined || namespace === owner.namespace;
  for (const entry of (await declaredObjects(context)).objects) {
    if (owner.tool === 'flux-kustomize') {
      const parsed = fluxKustomizationSchema.safeParse(entry.object);
      if (parsed.success && parsed.data.metadata.name === owner.name && sameNamespace(parsed.data.metadata.namespace) && parsed.data.spec.path !== undefined) paths.push({ folderRoot: entry.folder.root, path: gitOpsPath(parsed.data.spec.path) });
    } else {
      const parsed = applicationSchema.safeParse(entry.object);
      if (!parsed.success || parsed.data.metadata.name !== owner.name || !sameNamespace(parsed.data.metadata.namespace)) continue;
      const spec = parsed.data.spec;
      for (const source of [spec.source, ...(spec.sources ?? []), spec.sourceHydrator?.drySource]) {
        if (source?.path === undefined || (await isFolderRepository(context, entry.folder, source.repoURL)) === false) continue;
        paths.push({ folderRoot: entry.folder.root, path: gitOpsPath(source.path) });
      }
    }
  }
  return paths.length > 0 ? { ...base, paths } : base;
}

function namedBy(candidate: SourceCandidate, source: OwnerSource): boolean {
  const deployer = candidate.deployer;
  if (deployer && deployer.tool === source.tool && deployer.name === source.name && (source.namespace === undefined || deployer.namespace === undefined || deployer.namespace === source.namespace)) return true;
  if (!source.paths || candidate.path === undefined) return false;
  const at = candidate.path;
  // A kustomization root is the directory deployed; a file is deployed by any directory above it that is read whole.
  const underDirectory = candidate.finder === 'manifest' || candidate.finder === 'helmrelease';
  return source.paths.some((entry) => entry.folderRoot === candidate.folder.root && (at === entry.path || (underDirectory && (entry.path === '' || at.startsWith(`${entry.path}/`)))));
}

export interface Choice {
  candidates: SourceCandidate[];
  /** Why nothing is chosen (the owner contradicts every source); the caller refuses with it. */
  refusal?: string;
  /** How the choice was made, for the plan. */
  notes: string[];
}

export function chooseCandidates(found: readonly SourceCandidate[], target: WorkloadTarget): Choice {
  const notes: string[] = [];
  const deployed = found.filter((candidate) => candidate.deployer?.chart !== undefined);
  let candidates = found.filter((candidate) => !(candidate.finder === 'helm' && candidate.deployer === undefined && deployed.some((other) => other.folder.root === candidate.folder.root && other.deployer?.chart === candidate.path)));
  const source = target.ownerSource;
  if (!source) return { candidates, notes };
  const named = candidates.filter((candidate) => namedBy(candidate, source));
  if (named.length > 0) {
    if (named.length < candidates.length) notes.push(`chosen by the live object's owner, ${source.described}${source.paths ? ` (deployed from ${source.paths.map((entry) => entry.path || '.').join(', ')})` : ''}; also found: ${candidates.filter((candidate) => !named.includes(candidate)).map((candidate) => candidate.label).join('; ')}`);
    candidates = named;
    return { candidates, notes };
  }
  if (source.paths && candidates.length > 0) {
    return { candidates: [], notes, refusal: `the live object is deployed by ${source.described} from ${source.paths.map((entry) => entry.path || '.').join(', ')}, but the source${candidates.length === 1 ? ' found is' : 's found are'} elsewhere (${candidates.map((candidate) => candidate.label).join('; ')}); KRR does not write a source its owner does not deploy — check the workspace holds that path` };
  }
  if (candidates.length > 0) notes.push(`the live object's owner, ${source.described}, is not written in the workspace, so it could not confirm this source`);
  return { candidates, notes };
}
