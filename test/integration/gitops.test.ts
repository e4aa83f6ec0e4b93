// Extension-host tests of the manifest target (GitOps): the files' diff opens, the approval dialog names files, the
// write goes through a WorkspaceEdit (undo works), and an open editor with unsaved changes makes the plan stale.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { execFileSync } from 'node:child_process';
import type { ApprovalText } from '../../src/core/model';
import { withoutIsolates } from '../../src/core/text';
import { commitMessage } from '../../src/editor/manifests';
import { krrReportJson, requestsOnly } from '../support/krr-report';
import { extensionId, krrApi } from './extensionHost';

const person = { type: 'human' as const, via: 'integration test' };
const mi = 2 ** 20;

function openTabLabels(): string[] {
  return vscode.window.tabGroups.all.flatMap((group) => group.tabs.map((tab) => tab.label));
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** A krr report recommending new requests for prod/web's app container. */
function reportFile(cpu: number): string {
  const file = join(mkdtempSync(join(tmpdir(), 'krr-gitops-it-')), 'report.json');
  const amounts = (requestCpu: number, requestMemory: number) => ({ requests: { cpu: requestCpu, memory: requestMemory }, limits: { cpu: null, memory: 512 * mi } });
  writeFileSync(file, krrReportJson([{ namespace: 'prod', kind: 'Deployment', name: 'web', containers: { app: { current: amounts(1, 1024 * mi), recommended: amounts(cpu, 384 * mi) } } }]));
  return file;
}

describe('GitOps: writing recommendations into the workspace manifests', function () {
  this.timeout(120_000);
  let root: string;
  let patchFile: string;

  before(async () => {
    const api = await krrApi();
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    assert.ok(folder, 'the integration run opens a workspace folder');
    const extension = vscode.extensions.getExtension(extensionId);
    root = join(folder, `gitops-${Date.now()}`);
    cpSync(join(extension!.extensionPath, 'test', 'fixtures', 'gitops', 'kustomize'), root, { recursive: true });
    patchFile = join(root, 'overlays', 'prod', 'web-resources.yaml');
    assert.ok(api.session());
  });

  afterEach(async () => {
    (await krrApi()).setApprovalDialogForTests(undefined);
  });

  it('opens the diff of the files, asks with a dialog that names files, and writes through a WorkspaceEdit that undo reverts', async () => {
    const api = await krrApi();
    const session = api.session();
    const { reportId } = await session.loadReport(reportFile(0.75), person);
    const before = readFileSync(patchFile, 'utf8');
    const plan = await session.proposeManifests({ reportId, workloads: [{ namespace: 'prod', kind: 'Deployment', name: 'web' }], target: 'manifests' }, person);
    assert.deepEqual(plan.unresolved, []);
    assert.deepEqual(plan.files.map((file) => file.path.replace(/^gitops-\d+\//, '')), ['overlays/prod/web-resources.yaml']);
    const file = plan.files[0]!;
    // The diff shows the file as it is and as it will be.
    const uris = api.manifestDiff.uris(plan, file);
    assert.equal(api.manifestDiff.content(uris.before), before);
    assert.equal(api.manifestDiff.content(uris.after), file.after);
    await until(() => openTabLabels().some((label) => label.includes(plan.id)));
    assert.ok(openTabLabels().some((label) => label.includes(plan.id)), `tabs: ${openTabLabels().join(', ')}`);

    const asked: ApprovalText[] = [];
    api.setApprovalDialogForTests(async (shown, text) => {
      asked.push(text);
      return { outcome: 'approved', digest: shown.digest };
    });
    const outcome = await session.apply(plan.id, person);
    assert.equal(outcome.status, 'applied', outcome.message);
    assert.equal(asked[0]?.title, 'Write resource changes to 1 file in the workspace?');
    assert.match(asked[0]?.detail ?? '', /web-resources\.yaml/);
    // The environment first, then what the workload renders before → after, then the files with each edit's line.
    const detail = withoutIsolates(asked[0]?.detail ?? '');
    assert.match(detail, /\nDeployment prod\/web in [^\n]*gitops-\d+\/overlays\/prod \(Kustomize\)\n {3}app requests\.cpu 1 → 750m \(rendered\)\n {3}app requests\.memory 1Gi → 384Mi \(rendered\)\n/, detail);
    assert.ok(detail.indexOf('overlays/prod (Kustomize)') < detail.indexOf('overlays/prod/web-resources.yaml:'), detail);
    assert.match(detail, /\n {3}line 13: spec\.template\.spec\.containers\[app\]\.resources\.requests\.cpu 1 → 750m\n/, detail);
    assert.doesNotMatch(asked[0]?.detail ?? '', /Cluster:/);
    assert.equal(asked[0]?.typeToConfirm, null);
    assert.equal(readFileSync(patchFile, 'utf8'), file.after, 'written and saved');
    assert.match(file.after, /cpu: "750m"\n {14}memory: 384Mi/);

    // Undo works: the edit came through VS Code, not behind its back.
    const document = await vscode.workspace.openTextDocument(patchFile);
    await vscode.window.showTextDocument(document);
    await vscode.commands.executeCommand('undo');
    await until(() => document.getText() === before);
    assert.equal(document.getText(), before);
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  it('an editor with unsaved changes makes the plan stale: nobody is asked, nothing is written, the person\'s text stays', async () => {
    const api = await krrApi();
    const session = api.session();
    const { reportId } = await session.loadReport(reportFile(0.6), person);
    const onDisk = readFileSync(patchFile, 'utf8');
    const plan = await session.proposeManifests({ reportId, workloads: [{ namespace: 'prod', kind: 'Deployment', name: 'web' }], target: 'manifests' }, person);
    assert.equal(plan.files.length, 1);
    const document = await vscode.workspace.openTextDocument(patchFile);
    const edit = new vscode.WorkspaceEdit();
    edit.insert(document.uri, new vscode.Position(0, 0), '# my unsaved note\n');
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.ok(document.isDirty);
    let asked = 0;
    api.setApprovalDialogForTests(async (shown) => {
      asked += 1;
      return { outcome: 'approved', digest: shown.digest };
    });
    const outcome = await session.apply(plan.id, person);
    // A stale plan is refused before anyone is asked: the person never approves edits of text that changed.
    assert.equal(asked, 0);
    assert.equal(outcome.status, 'stale', outcome.message);
    assert.match(outcome.message, /changed since the proposal \(on disk or in an unsaved editor\)/);
    assert.equal(readFileSync(patchFile, 'utf8'), onDisk);
    assert.ok(document.getText().startsWith('# my unsaved note\n'));
    await vscode.window.showTextDocument(document);
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  it('creates a patch file in the staging overlay and lists it: the overlay renders the new values, prod does not change', async () => {
    const api = await krrApi();
    const session = api.session();
    const file = join(mkdtempSync(join(tmpdir(), 'krr-gitops-it-')), 'report.json');
    writeFileSync(file, krrReportJson([{ namespace: 'staging', kind: 'Deployment', name: 'stg-web', containers: { metrics: { current: requestsOnly(0.05, 64 * mi), recommended: requestsOnly(0.01, 64 * mi) } } }], { cluster: 'staging', pods: 'none' }));
    const { reportId } = await session.loadReport(file, person);
    const prodBefore = execFileSync('kubectl', ['kustomize', join(root, 'overlays', 'prod')], { encoding: 'utf8' });
    const plan = await session.proposeManifests({ reportId, workloads: [{ namespace: 'staging', kind: 'Deployment', name: 'stg-web' }], target: 'manifests' }, person);
    assert.deepEqual(plan.unresolved, []);
    assert.deepEqual(plan.files.map((entry) => [entry.path.replace(/^gitops-\d+\//, ''), entry.beforeHash === null]).sort(), [
      ['overlays/staging/krr-deployment-web-resources.yaml', true],
      ['overlays/staging/kustomization.yaml', false],
    ]);
    api.setApprovalDialogForTests(async (shown) => ({ outcome: 'approved', digest: shown.digest }));
    const outcome = await session.apply(plan.id, person);
    assert.equal(outcome.status, 'applied', outcome.message);
    assert.equal(readFileSync(join(root, 'overlays', 'staging', 'krr-deployment-web-resources.yaml'), 'utf8'), plan.files.find((entry) => entry.beforeHash === null)?.after);
    const rendered = execFileSync('kubectl', ['kustomize', join(root, 'overlays', 'staging')], { encoding: 'utf8' });
    assert.match(rendered, /name: app\n[\s\S]*name: metrics\n {8}resources:\n {10}requests:\n {12}cpu: 10m\n {12}memory: 64Mi/);
    assert.equal(execFileSync('kubectl', ['kustomize', join(root, 'overlays', 'prod')], { encoding: 'utf8' }), prodBefore);
  });

  it('commits the written files on a new branch through the Git extension, with every value change in the message; never pushes', async () => {
    const api = await krrApi();
    const session = api.session();
    const git = (...args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' }).trim();
    git('init', '-q', '-b', 'main');
    git('config', 'user.email', 'test@example.com');
    git('config', 'user.name', 'Integration Test');
    git('add', '-A');
    git('commit', '-q', '-m', 'fixtures');
    const { reportId } = await session.loadReport(reportFile(0.5), person);
    const plan = await session.proposeManifests({ reportId, workloads: [{ namespace: 'prod', kind: 'Deployment', name: 'web' }], target: 'manifests' }, person);
    api.setApprovalDialogForTests(async (shown) => ({ outcome: 'approved', digest: shown.digest }));
    await until(() => openTabLabels().some((label) => label.includes(plan.id)));
    // Written from the palette: the plan's "current ↔ recommended" diff closes, and the commit stays offered as a command.
    await vscode.commands.executeCommand('krr.applyPlan', plan.id);
    await until(() => git('status', '--porcelain') !== '');
    await until(() => !openTabLabels().some((label) => label.includes(plan.id)));
    assert.deepEqual(openTabLabels().filter((label) => label.includes(plan.id)), [], 'the diff of the written plan is closed');
    const message = commitMessage(plan);
    assert.match(message, /Deployment prod\/web \(.*overlays\/prod \(Kustomize\)\):\n {2}app requests\.cpu: \S+ -> 500m/);
    await vscode.commands.executeCommand('krr.commitManifests');
    const branch = git('branch', '--show-current');
    assert.match(branch, /^krr\/right-size-/);
    assert.equal(git('log', '-1', '--format=%B'), message.trim());
    assert.equal(git('status', '--porcelain'), '', 'everything written is committed');
    assert.equal(git('remote'), '', 'nothing to push to, and nothing pushed');
  });

  it('"KRR: Write Recommendations to Manifests…" is a registered command', async () => {
    await krrApi();
    assert.ok((await vscode.commands.getCommands(true)).includes('krr.writeToManifests'));
  });
});
