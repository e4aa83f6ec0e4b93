// The manifest target: where a workload's resources are written in the workspace, and the plan a person approves.
import type { HpaProjection } from '../hpa/model';
import type { EvidenceSummary } from '../evidence/planEvidence';
import type { WorkloadKind } from '../krr/model';
import type { DesiredResources } from '../plan/build';
import type { FieldChange, PlanRequester, PolicyFinding } from '../plan/model';
import type { RenderGuard } from './render';
import type { FieldEdit } from './yamlEdit';
import type { WorkspaceFolder, WorkspaceIndex } from './workspace';
import type { GitOpsOwner, GitOpsTool } from './ownerName';

/** One workload to write, with the values krr recommends (canonical quantities) per container. */
export interface WorkloadTarget {
  namespace: string;
  kind: WorkloadKind;
  name: string;
  /** The API group of the kind ('apps', 'batch', 'argoproj.io'). */
  group: string;
  /** The kube context the recommendation is for; picks the overlay when several render the same workload. */
  context: string | null;
  desired: ReadonlyMap<string, DesiredResources>;
  /** Said about the recommendation before any source is looked at (values krr gives that are not written), for the plan. */
  notes?: readonly string[];
  /** The usage evidence of its containers by container name (recorded, or why none), read at proposal time. */
  evidence?: ReadonlyMap<string, EvidenceSummary>;
  /**
   * The source a person (or the model) picked among the candidates an earlier proposal listed (`sourceId`): only that
   * one is edited. Compared with the candidates found now, never used as a path; one that matches none is refused.
   */
  source?: string;
  /**
   * Who deploys the live object (Argo CD tracking id or instance label, Flux labels), when it was read: its
   * Application, Kustomization or HelmRelease picks the source (gitops/ownerChoice) instead of the context name.
   */
  owner?: GitOpsOwner | null;
  /**
   * Where that owner deploys from, when its Application or Flux Kustomization is written in the workspace (set by
   * gitops/ownerChoice before the finders run): a finder that would pick between environments by the context name
   * leaves the choice to it instead.
   */
  ownerSource?: OwnerSource;
}

/** The live object's owner as found in the workspace: its directories (relative to their folder root) to prefer. */
export interface OwnerSource {
  /** "Argo CD Application argocd/shop-prod", for reasons and notes. */
  described: string;
  tool: GitOpsTool;
  name: string;
  namespace?: string;
  /** The owner's source directories; null when the owner is not written in the workspace (only its name can match). */
  paths: Array<{ folderRoot: string; path: string }> | null;
}

/** A file as the finders see it during one proposal: edits of earlier workloads already applied in memory. */
export interface FileSource {
  /** Current text (pending edits included); throws WorkspaceInputError for a file that must not be read. */
  read(folder: WorkspaceFolder, relativePath: string): Promise<string>;
  exists(folder: WorkspaceFolder, relativePath: string): Promise<boolean>;
}

export interface FinderContext {
  index: WorkspaceIndex;
  files: FileSource;
  kubectlPath: string;
  /**
   * A private copy of what the finders' renders read in the folder (their `renderInputs`), holding the edits accepted
   * so far in this proposal: render from here (kubectl kustomize, helm template), never from the workspace itself.
   */
  stagedRoot(folder: WorkspaceFolder): Promise<string>;
  /** Per proposal, cleared whenever the staged copy changes: what finders computed once (renders, parsed files). */
  cache: Map<string, unknown>;
  /** Runs the renderers of this proposal: closed environment, bounded time, a shared budget for runs that hang. */
  renders: RenderGuard;
  signal?: AbortSignal;
}

/**
 * Finds where a workload's resources are decided in the workspace. One per source kind: plain manifests, Kustomize,
 * Helm (values files). Returns every candidate it sees; the caller refuses to pick between several.
 */
export interface ManifestSourceFinder {
  readonly name: string;
  find(target: WorkloadTarget, context: FinderContext): Promise<SourceCandidate[]>;
  /**
   * Drops what this finder cached that the edited files change (they are now in the staged copy). Without it the
   * whole cache is cleared after each workload.
   */
  invalidate?(context: FinderContext, folder: WorkspaceFolder, editedPaths: readonly string[]): void;
  /** Why nothing was found by this finder, for the "no source" message (files that failed to parse or render). */
  problems?(context: FinderContext): Promise<string[]>;
  /**
   * The workspace files and directories (relative to the folder) its renders read: only these are copied into the
   * private copy (`stagedRoot`), not the whole folder with its build output. A finder that renders nothing has none.
   */
  renderInputs?(context: FinderContext, folder: WorkspaceFolder): Promise<RenderInput[]>;
  /**
   * Runs ahead, in as few renderer processes as it can, renders the proposal will ask for: those `find` needs for these
   * targets, or those verifying these prepared edits needs (from the staged copy as it is now). Only a speed-up: each
   * output is kept by the content of what it read, so a render of other content still runs when asked. The renders
   * may still run when it returns: the staged copy is not written before `context.renders.settled()`.
   */
  prefetch?(context: FinderContext, ahead: { targets: readonly WorkloadTarget[] } | { prepared: readonly PreparedChange[] }): Promise<void>;
}

/** One thing a render reads: a file, or a directory read whole (a chart's templates/). Relative, POSIX separators. */
export type RenderInput = { file: string } | { directory: string };

export interface SourceCandidate {
  finder: string;
  folder: WorkspaceFolder;
  /** One line for a person: "apps/shop.yaml (document 2)", "overlays/prod (Kustomize)". */
  label: string;
  /**
   * What it edits, relative to its folder (the file, with its document; the kustomization directory): with the finder
   * and the folder, the stable id a person picks it by (`sourceId`). Without it the label stands in.
   */
  key?: string;
  /** A conventional match that could not be confirmed by rendering (Helm without helm): shown as a guess. */
  guess?: boolean;
  /**
   * The directory (relative to the folder, POSIX, '' for the folder) a GitOps tool is pointed at to deploy this source:
   * a kustomization root, a chart, a manifest's directory. Matched against the path of the live object's owner.
   */
  path?: string;
  /**
   * A source that is itself a GitOps object naming values for a chart (a Flux HelmRelease, an Argo CD Application):
   * the object and the chart directory it renders. It is the environment's source, so a candidate of the chart's own
   * values files for the same chart gives way to it (gitops/ownerChoice).
   */
  deployer?: { tool: GitOpsTool; name: string; namespace?: string; chart?: string };
  /** The edits that give the workload the desired values, computed from the files as they are now. */
  prepare(context: FinderContext): Promise<PreparedChange>;
}

export interface PreparedFile {
  relativePath: string;
  /** The whole new content. */
  text: string;
  edits: FieldEdit[];
}

export interface PreparedChange {
  /** The workload as the source gives it now (a manifest document, or the rendered object). */
  before: unknown;
  files: PreparedFile[];
  /** Per field: the value the source gives the workload now and the one it will give. */
  changes: FieldChange[];
  /** Rules applied and values left alone, for the person ("created a patch in overlays/prod because base/ is shared"). */
  notes: string[];
  /**
   * Checks, on a copy of the folder holding the edited files (`stagedRoot`), that the workload now renders with exactly
   * the desired values (and nothing else changed). Returns null when it does, otherwise why not; the change is then not
   * offered. Plain manifests are checked by parsing the edited text and get '' (no copy is made for them).
   */
  verify(stagedRoot: string, context: FinderContext): Promise<string | null>;
}

/** A file a manifest plan writes: its content hash at proposal time binds the approval. */
export interface ManifestFileChange {
  folder: string;
  folderRoot: string;
  /** Relative to the folder, POSIX separators. */
  path: string;
  /** sha256 of the bytes read at proposal time; null for a file the plan creates. */
  beforeHash: string | null;
  before: string | null;
  after: string;
  afterHash: string;
  edits: FieldEdit[];
}

export interface ManifestWorkload {
  namespace: string;
  kind: string;
  name: string;
  /** `id` names the candidate (`sourceId`); `chosen`: the caller picked it (the workload's `source`); both are in the digest. */
  source: { finder: string; label: string; folder: string; guess: boolean; id?: string; chosen?: true };
  files: Array<{ folder: string; path: string; edits: FieldEdit[] }>;
  changes: FieldChange[];
  notes: string[];
  /** The usage behind the values, one entry per changed container (core/evidence/planEvidence); in the digest, as shown in the dialog. */
  evidence?: EvidenceSummary[];
  /** What the workload's HPA does with the new requests (core/hpa/projection); in the digest, as shown in the dialog. */
  hpa?: HpaProjection;
}

/** A candidate a person can pick: `id` goes back into the next proposal as the workload's `source`. */
export interface SourceChoice {
  id: string;
  label: string;
}

export interface UnresolvedWorkload {
  namespace: string;
  kind: string;
  name: string;
  /** Why no edit is offered: no source, several candidates, invalid input, a failed re-render check, policy. */
  reason: string;
  candidates: string[];
  /** Several candidates (or a pick that matches none now): each with the id to pass back as the workload's `source`. */
  sources?: SourceChoice[];
  /** The source already holds the recommended values: nothing to do, and not a refusal (shown apart from them). */
  alreadyRecommended?: true;
}

export interface ManifestPlan {
  id: string;
  digest: string;
  target: 'manifests';
  context: string | null;
  createdAt: string;
  expiresAt: string;
  requestedBy: PlanRequester;
  folders: Array<{ name: string; root: string }>;
  files: ManifestFileChange[];
  workloads: ManifestWorkload[];
  unresolved: UnresolvedWorkload[];
  warnings: PolicyFinding[];
  sourceReportId?: string;
  /** A persist plan: the trial that passed on this change, and the line its dialog shows (in the digest). */
  trial?: { id: string; line: string };
}
