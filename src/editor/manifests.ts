// The editor side of the manifest target (GitOps): the files' multi-diff, the WorkspaceEdit writer, the command
// "KRR: Write Recommendations to Manifests…", and an optional commit on a new branch (never a push). Thin: the
// session decides and the core edits; this file shows, writes through VS Code and asks.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ManifestWrite, ManifestWriter } from '../core/gitops/apply';
import type { ManifestPlan } from '../core/gitops/model';
import type { ApplyOutcome, Requester } from '../core/model';
import type { Session } from '../core/session/session';
import { displayText, nameText } from '../core/text';
import { loadEngine } from './engine';

export const manifestScheme = 'krr-manifest';
const keptPlans = 20;

function sha256(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Writes through one WorkspaceEdit (undo works; VS Code applies it to all files or none), then saves the documents so
 * Git sees the change. What the person sees counts: an open editor's text (unsaved edits included) is what is hashed,
 * so a dirty editor makes the plan stale instead of being overwritten.
 */
export function workspaceEditWriter(): ManifestWriter {
  const openDocument = (absolutePath: string) => vscode.workspace.textDocuments.find((document) => document.uri.scheme === 'file' && document.uri.fsPath === absolutePath);
  return {
    async currentHash(absolutePath, folderRoot) {
      const open = openDocument(absolutePath);
      if (open) return sha256(open.getText());
      // Not open: the core's reader, which counts a link that leads nowhere as a file and refuses links out of the
      // folder, oversized and binary files.
      return loadEngine().manifestFileHash(absolutePath, folderRoot);
    },
    async write(files: readonly ManifestWrite[]) {
      const edit = new vscode.WorkspaceEdit();
      const documents: vscode.TextDocument[] = [];
      for (const file of files) {
        const uri = vscode.Uri.file(file.absolutePath);
        if (file.expectedHash === null) {
          // VS Code's createFile writes through a link at the path: refuse anything there, and a directory outside.
          await loadEngine().checkNewFileTarget(file);
          edit.createFile(uri, { ignoreIfExists: false, contents: new TextEncoder().encode(file.content) }, { label: 'KRR: write recommendations', needsConfirmation: false });
          continue;
        }
        const document = await vscode.workspace.openTextDocument(uri);
        if (sha256(document.getText()) !== file.expectedHash) throw new Error(`${file.path} changed since the proposal`);
        edit.replace(uri, new vscode.Range(document.positionAt(0), document.positionAt(document.getText().length)), file.content, { label: 'KRR: write recommendations', needsConfirmation: false });
        documents.push(document);
      }
      if (!(await vscode.workspace.applyEdit(edit))) throw new Error('VS Code did not apply the edit (a file is read-only or changed)');
      for (const document of documents) if (document.isDirty) await document.save();
    },
  };
}

/** Before ↔ after of every file of a manifest plan, in the multi-file diff editor. */
export class ManifestDiff implements vscode.Disposable {
  private readonly documents = new Map<string, string>();
  private readonly order: string[] = [];
  private readonly registration: vscode.Disposable;

  constructor() {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(manifestScheme, {
      provideTextDocumentContent: (uri) => this.documents.get(uri.toString()) ?? '# This plan is no longer kept in memory. Propose the changes again.\n',
    });
  }

  uris(plan: Pick<ManifestPlan, 'id'>, file: { folder: string; path: string }): { before: vscode.Uri; after: vscode.Uri } {
    const uriPath = `/${encodeURIComponent(file.folder)}/${file.path.split('/').map(encodeURIComponent).join('/')}`;
    return {
      before: vscode.Uri.from({ scheme: manifestScheme, path: uriPath, query: `plan=${encodeURIComponent(plan.id)}&side=before` }),
      after: vscode.Uri.from({ scheme: manifestScheme, path: uriPath, query: `plan=${encodeURIComponent(plan.id)}&side=after` }),
    };
  }

  content(uri: vscode.Uri): string | undefined {
    return this.documents.get(uri.toString());
  }

  async show(plan: ManifestPlan): Promise<void> {
    if (!this.order.includes(plan.id)) {
      this.order.push(plan.id);
      while (this.order.length > keptPlans) {
        const dropped = this.order.shift() as string;
        for (const key of [...this.documents.keys()]) if (key.includes(`plan%3D${encodeURIComponent(dropped)}`) || key.includes(`plan=${encodeURIComponent(dropped)}`)) this.documents.delete(key);
      }
    }
    const pairs = plan.files.map((file) => {
      const uris = this.uris(plan, file);
      this.documents.set(uris.before.toString(), file.before ?? '');
      this.documents.set(uris.after.toString(), file.after);
      return { file, ...uris };
    });
    const first = pairs[0];
    if (!first) return;
    const title = `KRR ${plan.id}: ${pairs.length} ${pairs.length === 1 ? 'file' : 'files'} in the workspace — current ↔ recommended`;
    const options: vscode.TextDocumentShowOptions = { preview: false, preserveFocus: plan.requestedBy.type !== 'human' };
    if (pairs.length === 1) {
      await vscode.commands.executeCommand('vscode.diff', first.before, first.after, `${nameText(first.file.path, 120)} — ${title}`, options);
      return;
    }
    await vscode.commands.executeCommand('vscode.changes', title, pairs.map(({ before, after }) => [after, before, after]));
  }

  /**
   * Closes a plan's diff tabs once it is written or refused: a tab left open would still say "current ↔ recommended"
   * for files that now hold the recommended values (or for a plan that can no longer be written).
   */
  async closeTabs(planId: string): Promise<void> {
    const query = `plan=${encodeURIComponent(planId)}&`;
    const titlePrefix = `KRR ${planId}: `;
    const tabs = vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter((tab) => {
      const input = tab.input;
      if (input instanceof vscode.TabInputTextDiff) return input.modified.scheme === manifestScheme && input.modified.query.startsWith(query);
      // The multi-file diff (vscode.changes) is known by its title.
      return tab.label.startsWith(titlePrefix) || tab.label.includes(` — ${titlePrefix}`);
    });
    if (tabs.length > 0) await vscode.window.tabGroups.close(tabs);
  }

  dispose(): void {
    this.registration.dispose();
    this.documents.clear();
  }
}

/**
 * The last manifest plan written and not yet committed: *Commit on a New Branch…* stays in the palette (and in the
 * review panel) until it is committed or another write replaces it, not only in a toast that disappears.
 */
let uncommitted: ManifestPlan | undefined;

function setUncommitted(plan: ManifestPlan | undefined): void {
  uncommitted = plan;
  void vscode.commands.executeCommand('setContext', 'krr.manifestsToCommit', plan !== undefined);
}

/** "KRR: Commit Written Manifests on a New Branch…": commits the last written manifest plan's files (never pushes). */
export async function commitWrittenManifests(): Promise<void> {
  const plan = uncommitted;
  if (!plan) {
    void vscode.window.showInformationMessage('KRR: no written manifests to commit. Write recommendations to the manifests first.');
    return;
  }
  try {
    const branch = await commitOnNewBranch(plan);
    setUncommitted(undefined);
    void vscode.window.showInformationMessage(`KRR: committed on the new branch ${branch} (not pushed).`);
  } catch (error) {
    void vscode.window.showErrorMessage(`KRR: could not commit: ${error instanceof Error ? error.message : String(error)}`);
  }
}

interface GitRepository {
  rootUri: vscode.Uri;
  createBranch(name: string, checkout: boolean): Promise<void>;
  add(paths: string[]): Promise<void>;
  commit(message: string): Promise<void>;
}

/** The commit message lists each workload and each value change. */
export function commitMessage(plan: ManifestPlan): string {
  const lines = [`Right-size ${plan.workloads.length} workload(s) with krr's recommendations`, ''];
  for (const workload of plan.workloads) {
    lines.push(`${workload.kind} ${workload.namespace}/${workload.name} (${workload.source.label}):`);
    for (const change of workload.changes) lines.push(`  ${change.container} ${change.allocation}.${change.resource}: ${change.from ?? 'unset'} -> ${change.to ?? 'unset'}`);
  }
  lines.push('', `Written by KRR, plan ${plan.id} (digest ${plan.digest.slice(0, 12)}).`);
  return lines.join('\n');
}

/** Commits the written files on a new branch through VS Code's built-in Git extension. Never pushes. */
export async function commitOnNewBranch(plan: ManifestPlan): Promise<string> {
  const git = vscode.extensions.getExtension<{ getAPI(version: 1): { getRepository(uri: vscode.Uri): GitRepository | null; openRepository?(root: vscode.Uri): Promise<GitRepository | null> } }>('vscode.git');
  if (!git) throw new Error('the built-in Git extension is not available');
  const api = (git.isActive ? git.exports : await git.activate()).getAPI(1);
  const first = plan.files[0];
  if (!first) throw new Error('the plan wrote no file');
  const file = vscode.Uri.file(path.join(first.folderRoot, first.path));
  // The Git extension may not have scanned the folder yet: ask it to open the repository holding the file.
  const repository = api.getRepository(file) ?? (await api.openRepository?.(vscode.Uri.file(path.dirname(file.fsPath)))) ?? api.getRepository(file);
  if (!repository) throw new Error(`${first.folder} is not in a Git repository`);
  const branch = `krr/right-size-${plan.id.replace(/^plan-/, '')}`;
  await repository.createBranch(branch, true);
  await repository.add(plan.files.map((file) => path.join(file.folderRoot, file.path)));
  await repository.commit(commitMessage(plan));
  return branch;
}

/**
 * "KRR: Write Recommendations to Manifests…": pick workloads of the latest report, propose the manifest edits (the
 * diff opens), then ask to write them (the approval dialog names the files), then offer a commit on a new branch.
 */
export async function writeToManifests(
  session: Session,
  requester: Requester,
  options: { readOnly: boolean; workloads?: Array<{ namespace: string; kind: string; name: string }>; includeLimits?: boolean } = { readOnly: false },
  closeDiff?: (planId: string) => Promise<void>,
): Promise<ApplyOutcome | undefined> {
  const reportId = session.latestReportId();
  if (!reportId) {
    void vscode.window.showWarningMessage('KRR: scan a cluster or open a krr report first (KRR: Scan Cluster…).');
    return undefined;
  }
  let workloads = options.workloads;
  if (!workloads) {
    const report = session.getReport(reportId);
    const picked = await vscode.window.showQuickPick(
      report.workloads.map((workload) => ({ label: `${workload.kind} ${displayText(workload.namespace)}/${displayText(workload.name)}`, description: `${workload.containers.length} container(s)`, workload })),
      { canPickMany: true, title: 'KRR: workloads whose manifests to right-size' },
    );
    if (!picked || picked.length === 0) return undefined;
    workloads = picked.map(({ workload }) => ({ namespace: workload.namespace, kind: workload.kind, name: workload.name }));
  }
  let includeLimits = options.includeLimits;
  if (includeLimits === undefined) {
    const scope = await vscode.window.showQuickPick(['Requests only', 'Requests and limits'], { title: 'KRR: which values to write' });
    if (!scope) return undefined;
    includeLimits = scope === 'Requests and limits';
  }
  const plan = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'KRR: finding the manifests', cancellable: true }, (_progress, token) => {
    const controller = new AbortController();
    token.onCancellationRequested(() => controller.abort());
    return session.proposeManifests({ reportId, workloads, includeLimits, target: 'manifests' }, requester, controller.signal);
  });
  const unresolved = plan.unresolved.map((entry) => `${entry.namespace}/${entry.name}: ${entry.reason}${entry.candidates.length > 0 ? ` (${entry.candidates.slice(0, 3).join('; ')})` : ''}`);
  if (plan.files.length === 0) {
    void vscode.window.showWarningMessage(`KRR: nothing to write. ${unresolved.join(' · ')}`);
    return undefined;
  }
  const write = `Write ${plan.files.length} ${plan.files.length === 1 ? 'File' : 'Files'}…`;
  const choice = await vscode.window.showInformationMessage(`KRR: ${plan.id} — ${plan.files.length} file(s) for ${plan.workloads.length} workload(s).${unresolved.length > 0 ? ` Not written: ${unresolved.join(' · ')}` : ''}`, ...(options.readOnly ? [] : [write]));
  if (choice !== write) return undefined;
  const outcome = await session.apply(plan.id, requester);
  reportManifestOutcome(session, outcome);
  await closeDiff?.(plan.id);
  return outcome;
}

/** After a manifest write: the result, and for a written plan the offer to commit it on a new branch (never pushed). */
export function reportManifestOutcome(session: Session, outcome: ApplyOutcome): void {
  const plan = session.getManifestPlan(outcome.planId);
  if (outcome.status !== 'applied' || !plan) {
    void (outcome.status === 'declined' ? vscode.window.showInformationMessage(`KRR: ${outcome.status}: ${outcome.message}`) : vscode.window.showWarningMessage(`KRR: ${outcome.status}: ${outcome.message}`));
    return;
  }
  setUncommitted(plan);
  const commit = 'Commit on a New Branch…';
  void vscode.window.showInformationMessage(`KRR: written: ${outcome.message} The commit stays offered in the review panel and as "KRR: Commit Written Manifests on a New Branch…".`, commit).then(async (answer) => {
    if (answer === commit) await commitWrittenManifests();
  });
}
