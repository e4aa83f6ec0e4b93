// Selection -> manifest plan: find each workload's source with every finder, refuse to choose between several,
// compute the edits in memory, re-render a private copy of the folder with them, and offer only what checks out.
import { randomBytes } from 'node:crypto';
import { cp, lstat, mkdtemp, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { canonicalJson } from '../canonicalJson';
import { KubectlError } from '../kube/kubectl';
import type { FieldChange, PlanRequester, PolicyFinding } from '../plan/model';
import type { ResultingResources } from '../policy';
import { readContainerResources } from '../plan/build';
import type { KubeObject } from '../kube/object';
import { withChanges } from './workload';
import { QuantityError } from '../quantity';
import { kustomizeFinder } from './kustomize';
import { plainManifestFinder } from './manifests';
import type { FinderContext, ManifestFileChange, ManifestPlan, ManifestSourceFinder, ManifestWorkload, UnresolvedWorkload, WorkloadTarget } from './model';
import { indexWorkspace, readManifestText, sha256, WorkspaceInputError, type WorkspaceFolder, type WorkspaceIndex } from './workspace';
import { RenderError, RenderGuard, renderLimits } from './render';
import { ManifestEditError } from './yamlEdit';

/** The finders in the order their candidates are listed; Helm plugs in here. */
export const defaultFinders: readonly ManifestSourceFinder[] = [plainManifestFinder, kustomizeFinder];

export interface ProposeManifestOptions {
  folders: readonly WorkspaceFolder[];
  kubectlPath: string;
  requester: PlanRequester;
  now: Date;
  ttlSeconds: number;
  context: string | null;
  finders?: readonly ManifestSourceFinder[];
  /** Workloads refused before looking (not in the report, policy): carried into `unresolved`. */
  unresolved?: UnresolvedWorkload[];
  sourceReportId?: string;
  signal?: AbortSignal;
  /** For tests: a smaller index bound. */
  index?: WorkspaceIndex;
  /** For tests: shorter render bounds (default renderLimits: 20 s a render, 40 s of hanging renders a proposal). */
  renderLimits?: typeof renderLimits;
  /**
   * The same policies as a cluster change (protected namespaces, maximum increase/decrease, minimums, HPA-targeted
   * requests): a workload with a `block` finding is not written; warnings go into the plan.
   */
  policy?: (target: WorkloadTarget, subject: { changes: FieldChange[]; resulting: ResultingResources[] }) => PolicyFinding[];
}

/** The digest a person approves: every file's folder, path, content hash at proposal time, new content hash, and edits. */
/** Files larger than this are not copied for rendering (a kustomization needing one is reported as not rendering). */
export const stagedFileBytes = 8 * 1024 * 1024;

async function stagedCopyFilter(source: string): Promise<boolean> {
  if (/[/\\](node_modules|\.git|\.hg|\.svn|\.terraform|\.venv)$/.test(source)) return false;
  const stats = await lstat(source).catch(() => null);
  return stats !== null && (stats.isDirectory() || stats.isSymbolicLink() || stats.size <= stagedFileBytes);
}

export function manifestPlanDigest(plan: Pick<ManifestPlan, 'context' | 'files'>): string {
  const files = [...plan.files]
    .map((file) => ({ folder: file.folderRoot, path: file.path, beforeHash: file.beforeHash, afterHash: file.afterHash, edits: file.edits }))
    .sort((a, b) => `${a.folder}\0${a.path}`.localeCompare(`${b.folder}\0${b.path}`));
  return sha256(canonicalJson({ target: 'manifests', context: plan.context, files }));
}

interface Original {
  folder: WorkspaceFolder;
  path: string;
  text: string | null;
  hash: string | null;
  current: string;
}

export async function proposeManifestPlan(targets: readonly WorkloadTarget[], options: ProposeManifestOptions): Promise<ManifestPlan> {
  const index = options.index ?? (await indexWorkspace(options.folders));
  const finders = options.finders ?? defaultFinders;
  const pending = new Map<string, Original>();
  const staged = new Map<string, Promise<string>>();
  const key = (folder: WorkspaceFolder, relativePath: string) => `${folder.root}\0${relativePath}`;
  const temp = await mkdtemp(path.join(tmpdir(), 'krr-manifests-'));
  const context: FinderContext = {
    index,
    kubectlPath: options.kubectlPath,
    cache: new Map(),
    renders: new RenderGuard(temp, options.renderLimits ?? renderLimits),
    ...(options.signal ? { signal: options.signal } : {}),
    files: {
      async read(folder, relativePath) {
        const edited = pending.get(key(folder, relativePath));
        if (edited) return edited.current;
        return (await readManifestText(folder, relativePath)).text;
      },
      async exists(folder, relativePath) {
        if (pending.has(key(folder, relativePath))) return true;
        return stat(path.resolve(folder.root, relativePath)).then(
          () => true,
          () => false,
        );
      },
    },
    stagedRoot(folder) {
      let copy = staged.get(folder.root);
      if (!copy) {
        // A private copy to render from: the workspace itself is never written before approval. Made on first use,
        // with the edits accepted so far; big files (over stagedFileBytes) and dependency/VCS directories are left out.
        const target = path.join(temp, String(staged.size));
        copy = cp(folder.root, target, { recursive: true, verbatimSymlinks: true, filter: stagedCopyFilter }).then(async () => {
          for (const entry of pending.values()) {
            if (entry.folder.root !== folder.root) continue;
            await mkdir(path.dirname(path.join(target, entry.path)), { recursive: true });
            await writeFile(path.join(target, entry.path), entry.current);
          }
          return target;
        });
        staged.set(folder.root, copy);
      }
      return copy;
    },
  };
  const workloads: ManifestWorkload[] = [];
  const unresolved: UnresolvedWorkload[] = [...(options.unresolved ?? [])];
  const warnings: PolicyFinding[] = [];
  try {
    for (const target of targets) {
      const identity = { namespace: target.namespace, kind: target.kind, name: target.name };
      const refuse = (reason: string, candidates: string[] = []) => unresolved.push({ ...identity, reason, candidates });
      try {
        const candidates = (await Promise.all(finders.map((finder) => finder.find(target, context)))).flat();
        if (candidates.length === 0) {
          const problems = [...new Set((await Promise.all(finders.map((finder) => finder.problems?.(context) ?? Promise.resolve([])))).flat())];
          const skipped = index.problems.map((problem) => `${problem.folder}/${problem.relativePath}: ${problem.reason}`);
          refuse(`no manifest in the workspace folders (${options.folders.map((folder) => folder.name).join(', ') || 'none'}) defines ${target.kind} ${target.namespace}/${target.name}`, [...problems, ...skipped].slice(0, 20));
          continue;
        }
        if (candidates.length > 1) {
          refuse(`${candidates.length} sources could define ${target.kind} ${target.namespace}/${target.name}; KRR does not pick one — keep one of them in the workspace, or edit the right one by hand`, candidates.map((candidate) => candidate.label));
          continue;
        }
        const candidate = candidates[0] as (typeof candidates)[number];
        const prepared = await candidate.prepare(context);
        if (prepared.files.length === 0) {
          refuse(prepared.changes.length === 0 ? `${candidate.label} already has these values; nothing to change` : `${candidate.label}: nothing to write`, [candidate.label]);
          continue;
        }
        if (options.policy) {
          const changed = new Set(prepared.changes.map((change) => change.container));
          const resulting = readContainerResources(withChanges(prepared.before, target.kind, prepared.changes) as unknown as KubeObject, target.kind).filter((entry) => changed.has(entry.container));
          const findings = options.policy(target, { changes: prepared.changes, resulting });
          const blocking = findings.filter((finding) => finding.severity === 'block');
          if (blocking.length > 0) {
            refuse(`blocked by policy: ${blocking.map((finding) => finding.message).join(' ')}`, [candidate.label]);
            continue;
          }
          warnings.push(...findings.filter((finding) => finding.severity === 'warn'));
        }
        // Stage the edits in the private copy, check them by rendering, and keep them only if they check out.
        // A plain manifest is checked by parsing the edited text: no copy of the folder unless one exists already.
        const root = candidate.finder === 'manifest' && !staged.has(candidate.folder.root) ? null : await context.stagedRoot(candidate.folder);
        const previous = new Map<string, string | null>();
        for (const file of root === null ? [] : prepared.files) {
          const absolute = path.join(root as string, file.relativePath);
          previous.set(file.relativePath, pending.get(key(candidate.folder, file.relativePath))?.current ?? (await context.files.exists(candidate.folder, file.relativePath) ? await context.files.read(candidate.folder, file.relativePath) : null));
          await mkdir(path.dirname(absolute), { recursive: true });
          await writeFile(absolute, file.text);
        }
        const problem = await prepared.verify(root ?? '', context);
        if (problem !== null) {
          for (const [relativePath, text] of previous) {
            const absolute = path.join(root as string, relativePath);
            if (text === null) await rm(absolute, { force: true });
            else await writeFile(absolute, text);
          }
          refuse(`the edit was not offered: ${problem}`, [candidate.label]);
          continue;
        }
        for (const file of prepared.files) {
          const existing = pending.get(key(candidate.folder, file.relativePath));
          if (existing) existing.current = file.text;
          else {
            const exists = await context.files.exists(candidate.folder, file.relativePath);
            const original = exists ? await readManifestText(candidate.folder, file.relativePath) : null;
            pending.set(key(candidate.folder, file.relativePath), { folder: candidate.folder, path: file.relativePath, text: original?.text ?? null, hash: original?.hash ?? null, current: file.text });
          }
        }
        const edited = prepared.files.map((file) => file.relativePath);
        if (finders.every((finder) => finder.invalidate)) for (const finder of finders) finder.invalidate?.(context, candidate.folder, edited);
        else context.cache.clear();
        workloads.push({
          ...identity,
          source: { finder: candidate.finder, label: candidate.label, folder: candidate.folder.name, guess: candidate.guess ?? false },
          files: prepared.files.map((file) => ({ folder: candidate.folder.name, path: file.relativePath, edits: file.edits })),
          changes: prepared.changes,
          notes: prepared.notes,
        });
      } catch (error) {
        if (error instanceof KubectlError && error.kind === 'not-installed') throw error;
        if (error instanceof ManifestEditError || error instanceof WorkspaceInputError || error instanceof KubectlError || error instanceof QuantityError || error instanceof RenderError) refuse(error.message);
        else throw error;
      }
    }
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  const files: ManifestFileChange[] = [...pending.values()].map((entry) => ({
    folder: entry.folder.name,
    folderRoot: entry.folder.root,
    path: entry.path,
    beforeHash: entry.hash,
    before: entry.text,
    after: entry.current,
    afterHash: sha256(entry.current),
    edits: workloads.flatMap((workload) => workload.files.filter((file) => file.folder === entry.folder.name && file.path === entry.path).flatMap((file) => file.edits)),
  }));
  const createdAt = options.now;
  const plan: Omit<ManifestPlan, 'digest'> = {
    id: `plan-${randomBytes(6).toString('hex')}`,
    target: 'manifests',
    context: options.context,
    createdAt: createdAt.toISOString(),
    expiresAt: new Date(createdAt.getTime() + options.ttlSeconds * 1000).toISOString(),
    requestedBy: options.requester,
    folders: options.folders.map((folder) => ({ name: folder.name, root: folder.root })),
    files,
    workloads,
    unresolved,
    warnings,
    ...(options.sourceReportId ? { sourceReportId: options.sourceReportId } : {}),
  };
  return { ...plan, digest: manifestPlanDigest(plan) };
}
