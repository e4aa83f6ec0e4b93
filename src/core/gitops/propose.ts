// Selection -> manifest plan: find each workload's source with every finder, refuse to choose between several unless
// the caller picked one by its id, compute the edits in memory, re-render a private copy of the folder with them, and
// offer only what checks out.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { canonicalJson } from '../canonicalJson';
import { evidenceOfChanged } from '../evidence/planEvidence';
import type { HpaProjection } from '../hpa/model';
import { KubectlError } from '../kube/kubectl';
import type { FieldChange, PlanRequester, PolicyFinding } from '../plan/model';
import type { ResultingResources } from '../policy';
import { readContainerResources } from '../plan/build';
import type { KubeObject } from '../kube/object';
import { withChanges } from './workload';
import { QuantityError } from '../quantity';
import { kustomizeFinder } from './kustomize';
import { plainManifestFinder } from './manifests';
import { chooseCandidates, ownerSourceOf } from './ownerChoice';
import type { FinderContext, ManifestFileChange, ManifestPlan, ManifestSourceFinder, ManifestWorkload, PreparedChange, SourceCandidate, UnresolvedWorkload, WorkloadTarget } from './model';
import { StagedCopy, stagedCopyLimits, type StagedCopyLimits } from './stagedCopy';
import { indexWorkspace, readManifestText, sha256, WorkspaceInputError, type WorkspaceFolder, type WorkspaceIndex } from './workspace';
import { RenderError, RenderGuard, renderLimits, type RenderCount } from './render';
import { ManifestEditError, parseManifestFile } from './yamlEdit';

/** The finders in the order their candidates are listed; the Helm ones (chart, HelmRelease, Argo CD Application) need helm's options and are added by the session. */
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
  /** What the workload's HPA does with the edited requests (krr.policy.hpa "model"), stored with a workload the policy let through. */
  hpa?: (target: WorkloadTarget, subject: { changes: FieldChange[]; resulting: ResultingResources[] }) => HpaProjection | null;
  /** For tests: smaller bounds of the private copy. */
  stagedLimits?: StagedCopyLimits;
  /** Called with each private copy just before it is removed (what it held, for measuring temp space). */
  onStagedCopy?: (copy: StagedCopy) => void | Promise<void>;
  /** For tests: false renders nothing ahead (each render runs when asked, as before batches); the plan is the same. */
  renderAhead?: boolean;
  /** Called once the proposal is done with what it rendered: how many renderer runs, and each one's command line. */
  onRenders?: (renders: RenderCount) => void;
}

/**
 * The digest a person approves: every file's folder, path, content hash at proposal time, new content hash, and edits;
 * and every workload with its source (its id, and whether the caller picked it), its rendered values before → after and
 * the usage evidence beside them, which the dialog shows too (only the fields shown: the stored form keeps no more, see
 * session/store.ts).
 */
export function manifestPlanDigest(plan: Pick<ManifestPlan, 'context' | 'files' | 'workloads' | 'trial'>): string {
  const files = [...plan.files]
    .map((file) => ({ folder: file.folderRoot, path: file.path, beforeHash: file.beforeHash, afterHash: file.afterHash, edits: file.edits }))
    .sort((a, b) => `${a.folder}\0${a.path}`.localeCompare(`${b.folder}\0${b.path}`));
  const workloads = plan.workloads.map((workload) => ({
    namespace: workload.namespace,
    kind: workload.kind,
    name: workload.name,
    source: workload.source,
    changes: workload.changes.map(({ container, allocation, resource, from, to }) => ({ container, allocation, resource, from, to })),
    // The usage the dialog shows beside the values; only when present, so a plan stored before evidence keeps its digest.
    ...(workload.evidence ? { evidence: workload.evidence } : {}),
    // The HPA projection the dialog shows (core/hpa/projection), for the same reason only when present.
    ...(workload.hpa ? { hpa: workload.hpa } : {}),
  }));
  // The trial a persist plan carries (its line is in the dialog); only when present, like the evidence.
  return sha256(canonicalJson({ target: 'manifests', context: plan.context, files, workloads, ...(plan.trial ? { trial: plan.trial } : {}) }));
}

/**
 * The id a person or a model picks a candidate by (a workload's `source`): finder, workspace folder and what it edits
 * ("kustomize:shop/overlays/prod", "manifest:shop/apps/web.yaml#2"). Only ever compared with the candidates the finders
 * found, so it can name nothing they did not.
 */
export function sourceId(candidate: Pick<SourceCandidate, 'finder' | 'folder' | 'label' | 'key'>): string {
  return candidate.key === undefined ? `${candidate.finder}:${candidate.label}` : `${candidate.finder}:${candidate.folder.name}/${candidate.key}`;
}

/** Null when KRR's edited text parses; otherwise a refusal that names it an internal error, not the file's fault. */
function ownEditProblem(folder: WorkspaceFolder, relativePath: string, text: string): string | null {
  try {
    parseManifestFile(text, relativePath);
    return null;
  } catch (error) {
    if (!(error instanceof ManifestEditError)) throw error;
    const detail = error.message.startsWith(`${relativePath} `) ? error.message.slice(relativePath.length + 1) : error.message;
    return `internal error in KRR: its own edit of ${folder.name}/${relativePath} ${detail}; ${folder.name}/${relativePath} itself is fine and nothing is offered for this workload — please report this`;
  }
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
  const key = (folder: WorkspaceFolder, relativePath: string) => `${folder.root}\0${relativePath}`;
  const pending = new Map<string, Original>();
  // The first read of each file, text and hash together: an edit is computed from that read, so the plan's `before`
  // and `beforeHash` are bound to it. A change made on disk after it (an image bump while rendering) then makes the
  // plan stale at apply instead of being silently reverted by the approved write.
  const firstReads = new Map<string, { text: string; hash: string }>();
  const readOnce = async (folder: WorkspaceFolder, relativePath: string) => {
    const known = firstReads.get(key(folder, relativePath));
    if (known) return known;
    const read = await readManifestText(folder, relativePath);
    firstReads.set(key(folder, relativePath), { text: read.text, hash: read.hash });
    return read;
  };
  const staged = new Map<string, Promise<StagedCopy>>();
  const temp = await mkdtemp(path.join(tmpdir(), 'krr-manifests-'));
  const guard = new RenderGuard(temp, options.renderLimits ?? renderLimits);
  const context: FinderContext = {
    index,
    kubectlPath: options.kubectlPath,
    cache: new Map(),
    renders: guard,
    ...(options.signal ? { signal: options.signal } : {}),
    files: {
      async read(folder, relativePath) {
        const edited = pending.get(key(folder, relativePath));
        if (edited) return edited.current;
        return (await readOnce(folder, relativePath)).text;
      },
      async exists(folder, relativePath) {
        if (pending.has(key(folder, relativePath))) return true;
        // lstat: a link that leads nowhere exists too (a new file must not be created through it).
        return lstat(path.resolve(folder.root, relativePath)).then(
          () => true,
          () => false,
        );
      },
    },
    async stagedRoot(folder) {
      return (await stagedCopyOf(folder)).root;
    },
  };
  // A private copy to render from: the workspace itself is never written before approval. Made on first use, holding
  // only what the finders' renders read (each a regular file, links resolved inside the folder) and the edits
  // accepted so far.
  const stagedCopyOf = (folder: WorkspaceFolder): Promise<StagedCopy> => {
    let copy = staged.get(folder.root);
    if (!copy) {
      const root = path.join(temp, String(staged.size));
      copy = (async () => {
        await mkdir(root, { mode: 0o700 });
        const inputs = (await allFinished(finders.map((finder) => finder.renderInputs?.(context, folder) ?? Promise.resolve([])))).flat();
        const made = await StagedCopy.create(folder, root, inputs, options.stagedLimits ?? stagedCopyLimits);
        for (const entry of pending.values()) if (entry.folder.root === folder.root) await made.write(entry.path, entry.current);
        return made;
      })();
      staged.set(folder.root, copy);
    }
    return copy;
  };
  // Renders run ahead (finders' prefetch), in as few processes as they allow: what finding the targets needs, then what
  // verifying their edits needs — each edit as prepared from the files as they are, all staged in the private copy at
  // once, then taken out again. Only a speed-up: the proposal below decides everything as before, and takes an output
  // from here only for a render of exactly the same inputs (RenderGuard's content key).
  const renderAhead = async (): Promise<void> => {
    try {
      await lookAhead();
    } finally {
      // No batch may still read the private copy once the proposal writes it.
      await context.renders.settled();
    }
  };
  const lookAhead = async (): Promise<void> => {
    const prepared: Array<{ folder: WorkspaceFolder; change: PreparedChange }> = [];
    // Only the finders that render ahead look ahead: a candidate another finder would add only makes a guess wrong.
    const ahead = finders.filter((finder) => finder.prefetch);
    if (ahead.length === 0) return;
    try {
      await allFinished(ahead.map((finder) => finder.prefetch?.(context, { targets }) ?? Promise.resolve()));
      for (const target of targets) {
        try {
          const ownerSource = await ownerSourceOf(target, context);
          const sourced = ownerSource ? { ...target, ownerSource } : target;
          const choice = chooseCandidates((await allFinished(ahead.map((finder) => finder.find(sourced, context)))).flat(), sourced);
          const picked = choice.refusal ? [] : choice.candidates.filter((candidate) => target.source === undefined || sourceId(candidate) === target.source);
          if (picked.length !== 1) continue;
          const candidate = picked[0] as SourceCandidate;
          const change = await candidate.prepare(context);
          if (change.files.length > 0) prepared.push({ folder: candidate.folder, change });
        } catch (error) {
          // The proposal below meets the same error and says so (no kubectl at all: nothing more to run ahead).
          if (error instanceof KubectlError && error.kind === 'not-installed') return;
          if (!(error instanceof ManifestEditError || error instanceof WorkspaceInputError || error instanceof KubectlError || error instanceof QuantityError || error instanceof RenderError)) throw error;
        }
      }
    } catch (error) {
      if (error instanceof KubectlError || error instanceof RenderError || error instanceof WorkspaceInputError || error instanceof ManifestEditError) return;
      throw error;
    }
    if (prepared.length === 0) return;
    // The renders of the files as they are (still running while the edits were prepared) read the copy too.
    await context.renders.settled();
    const taken: Array<{ copy: StagedCopy; relativePath: string; data: Buffer | null }> = [];
    try {
      for (const { folder, change } of prepared) {
        const copy = await stagedCopyOf(folder);
        for (const file of change.files) {
          if (!taken.some((entry) => entry.copy === copy && entry.relativePath === file.relativePath)) taken.push({ copy, relativePath: file.relativePath, data: await copy.read(file.relativePath) });
          await copy.write(file.relativePath, file.text);
        }
      }
      await allFinished(ahead.map((finder) => finder.prefetch?.(context, { prepared: prepared.map((entry) => entry.change) }) ?? Promise.resolve()));
    } catch (error) {
      if (!(error instanceof KubectlError || error instanceof RenderError || error instanceof WorkspaceInputError)) throw error;
    } finally {
      try {
        await context.renders.settled();
      } finally {
        // The copy holds exactly what it held before (a failure here fails the proposal: never render from a guess).
        for (const entry of taken.reverse()) await entry.copy.restore(entry.relativePath, entry.data);
      }
    }
  };
  const workloads: ManifestWorkload[] = [];
  const unresolved: UnresolvedWorkload[] = [...(options.unresolved ?? [])];
  const warnings: PolicyFinding[] = [];
  try {
    // One target gains nothing from a batch: its renders run when asked.
    if (targets.length > 1 && options.renderAhead !== false) await renderAhead();
    for (const target of targets) {
      const identity = { namespace: target.namespace, kind: target.kind, name: target.name };
      const refuse = (reason: string, candidates: string[] = []) => unresolved.push({ ...identity, reason, candidates });
      try {
        // The live object's owner, when it names a source, picks among the candidates (gitops/ownerChoice); a person's
        // pick (below) then chooses among what is left.
        const ownerSource = await ownerSourceOf(target, context);
        const sourced = ownerSource ? { ...target, ownerSource } : target;
        const found = (await allFinished(finders.map((finder) => finder.find(sourced, context)))).flat();
        const choice = chooseCandidates(found, sourced);
        if (choice.refusal) {
          refuse(choice.refusal, found.map((candidate) => candidate.label));
          continue;
        }
        const candidates = choice.candidates;
        // A pick that matches no candidate now (the workspace changed, or a made-up id) is refused, never widened.
        const stalePick = target.source === undefined ? '' : `the chosen source ${target.source} is not a source of ${target.kind} ${target.namespace}/${target.name} now; `;
        if (candidates.length === 0) {
          const problems = [...new Set((await allFinished(finders.map((finder) => finder.problems?.(context) ?? Promise.resolve([])))).flat())];
          const skipped = index.problems.map((problem) => `${problem.folder}/${problem.relativePath}: ${problem.reason}`);
          refuse(`${stalePick}no manifest in the workspace folders (${options.folders.map((folder) => folder.name).join(', ') || 'none'}) defines ${target.kind} ${target.namespace}/${target.name}`, [...problems, ...skipped].slice(0, 20));
          continue;
        }
        const picked = target.source === undefined ? candidates : candidates.filter((candidate) => sourceId(candidate) === target.source);
        if (picked.length !== 1) {
          const sources = candidates.map((candidate) => ({ id: sourceId(candidate), label: candidate.label }));
          const reason =
            target.source === undefined
              ? `${candidates.length} sources could define ${target.kind} ${target.namespace}/${target.name}; KRR does not pick one — choose one of them (in the review panel, or by its source id), keep one of them in the workspace, or edit the right one by hand`
              : picked.length === 0
                ? `${stalePick}${candidates.length === 1 ? 'the one source found is listed: pick it if it is the right one' : `pick one of the ${candidates.length} sources found`}`
                : `the chosen source ${target.source} names ${picked.length} sources (workspace folders with the same name); KRR does not pick one — open only one of those folders, or edit the right one by hand`;
          unresolved.push({ ...identity, reason, candidates: candidates.map((candidate) => candidate.label), sources });
          continue;
        }
        const candidate = picked[0] as (typeof candidates)[number];
        const prepared = await candidate.prepare(context);
        // Every file was parsed to compute the edit: an edited text that no longer parses is KRR's own bug, said so.
        const broken = prepared.files.map((file) => ownEditProblem(candidate.folder, file.relativePath, file.text)).find((problem) => problem !== null);
        if (broken) {
          refuse(broken, [candidate.label]);
          continue;
        }
        if (prepared.files.length === 0) {
          if (prepared.changes.length === 0) unresolved.push({ ...identity, reason: `${candidate.label} already has these values; nothing to change`, candidates: [candidate.label], alreadyRecommended: true });
          else refuse(`${candidate.label}: nothing to write`, [candidate.label]);
          continue;
        }
        let projection: HpaProjection | null = null;
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
          projection = options.hpa?.(target, { changes: prepared.changes, resulting }) ?? null;
        }
        // Stage the edits in the private copy, check them by rendering, and keep them only if they check out.
        // A plain manifest is checked by parsing the edited text: no copy of the folder unless one exists already.
        const copy = candidate.finder === 'manifest' && !staged.has(candidate.folder.root) ? null : await stagedCopyOf(candidate.folder);
        const previous = new Map<string, string | null>();
        // An edit not offered leaves the copy as it was, so the workloads after it render without it.
        const unstage = async () => {
          for (const [relativePath, text] of previous) {
            if (text === null) await copy?.remove(relativePath);
            else await copy?.write(relativePath, text);
          }
        };
        let problem: string | null;
        try {
          for (const file of copy === null ? [] : prepared.files) {
            previous.set(file.relativePath, pending.get(key(candidate.folder, file.relativePath))?.current ?? (await context.files.exists(candidate.folder, file.relativePath) ? await context.files.read(candidate.folder, file.relativePath) : null));
            await copy?.write(file.relativePath, file.text);
          }
          problem = await prepared.verify(copy?.root ?? '', context);
        } catch (error) {
          await unstage();
          throw error;
        }
        if (problem !== null) {
          await unstage();
          refuse(`the edit was not offered: ${problem}`, [candidate.label]);
          continue;
        }
        for (const file of prepared.files) {
          const existing = pending.get(key(candidate.folder, file.relativePath));
          if (existing) existing.current = file.text;
          else {
            const exists = await context.files.exists(candidate.folder, file.relativePath);
            const original = exists ? await readOnce(candidate.folder, file.relativePath) : null;
            pending.set(key(candidate.folder, file.relativePath), { folder: candidate.folder, path: file.relativePath, text: original?.text ?? null, hash: original?.hash ?? null, current: file.text });
          }
        }
        const edited = prepared.files.map((file) => file.relativePath);
        if (finders.every((finder) => finder.invalidate)) for (const finder of finders) finder.invalidate?.(context, candidate.folder, edited);
        else context.cache.clear();
        workloads.push({
          ...identity,
          source: { finder: candidate.finder, label: candidate.label, folder: candidate.folder.name, guess: candidate.guess ?? false, id: sourceId(candidate), ...(target.source !== undefined ? { chosen: true as const } : {}) },
          files: prepared.files.map((file) => ({ folder: candidate.folder.name, path: file.relativePath, edits: file.edits })),
          changes: prepared.changes,
          notes: [...(target.notes ?? []), ...choice.notes, ...prepared.notes],
          ...(target.evidence ? { evidence: evidenceOfChanged(prepared.changes, target.evidence) } : {}),
          ...(projection ? { hpa: projection } : {}),
        });
      } catch (error) {
        if (error instanceof KubectlError && error.kind === 'not-installed') throw error;
        if (error instanceof ManifestEditError || error instanceof WorkspaceInputError || error instanceof KubectlError || error instanceof QuantityError || error instanceof RenderError) refuse(error.message);
        else throw error;
      }
    }
  } finally {
    options.onRenders?.({ count: guard.count, runs: [...guard.runs] });
    try {
      // A copy still being made (its folder refused early) writes into temp: wait for every one before removing it.
      const copies = await Promise.allSettled(staged.values());
      if (options.onStagedCopy) for (const copy of copies) if (copy.status === 'fulfilled') await options.onStagedCopy(copy.value);
    } finally {
      await rm(temp, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
    }
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

/**
 * Like Promise.all, but settles every promise before it rejects: a finder that fails first must not leave another's
 * render running in the private copy while the proposal goes on, or while the copy is removed.
 */
async function allFinished<T>(promises: ReadonlyArray<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
}
