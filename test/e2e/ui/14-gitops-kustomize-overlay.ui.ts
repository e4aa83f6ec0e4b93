// GitOps in the real workbench: the workspace is the Kustomize fixture (a base shared by staging and prod overlays),
// krr reports prod's workloads and the kube context (prod-eu-1) names the prod overlay. "KRR: Write Recommendations to
// Manifests…" opens the multi-file diff, the approval dialog names files (not a cluster) with Decline focused, the Write
// button writes the overlay only, and `kubectl kustomize overlays/prod` renders exactly the recommended values.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../lib/codeServer';
import { readAuditEntries, startKrrEnvironment, testContext } from '../lib/krrEnvironment';
import { answerApproval, focusedDialogButton, readDiffEditors, scanFromPalette, until } from '../lib/krrWorkbench';
import type { UiTest } from '../lib/uiTest';

const fixture = path.join(repoRoot, 'test', 'fixtures', 'gitops', 'kustomize');
const mi = 2 ** 20;
let workspace = '';
let scratch = '';

/** Every file under `dir` (relative path → bytes). */
function snapshot(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files.set(path.relative(dir, full), fs.readFileSync(full));
  }
  return files;
}

/** One krr scan row (cpu in cores, memory in bytes, as krr's JSON has them). */
function scan(name: string, container: string, current: { cpu: number; memory: number }, recommended: { cpu: number; memory: number }) {
  const value = (amount: number | null) => ({ value: amount, severity: 'WARNING' });
  return {
    object: { cluster: testContext, name, container, pods: [{ name: `${name}-0`, deleted: false }], hpa: null, namespace: 'prod', kind: 'Deployment', allocations: { requests: current, limits: { cpu: null, memory: null }, info: {} } },
    recommended: { requests: { cpu: value(recommended.cpu), memory: value(recommended.memory) }, limits: { cpu: value(null), memory: value(null) }, info: { cpu: null, memory: null } },
    severity: 'WARNING',
  };
}

/** The rendered Deployment's containers → requests, from `kubectl kustomize` output (one container per `- name:`). */
function renderedRequests(rendered: string, deployment: string): Record<string, string> {
  const documents = rendered.split(/^---$/m);
  const document = documents.find((text) => /^kind: Deployment$/m.test(text) && new RegExp(`^  name: ${deployment}$`, 'm').test(text));
  assert.ok(document, `Deployment ${deployment} in the rendered overlay:\n${rendered}`);
  const result: Record<string, string> = {};
  for (const match of document.matchAll(/^ {6}- image: \S+\n {8}name: (\S+)\n {8}resources:\n([\s\S]*?)(?=^ {6}- |^ {0,4}\S|(?![\s\S]))/gm)) {
    result[match[1]!] = match[2]!.replace(/\s+/g, ' ').trim();
  }
  return result;
}

export const uiTest: UiTest = {
  title: 'GitOps: write recommendations to the prod Kustomize overlay through the multi-file diff and the approval dialog; the overlay renders them',
  timeoutMs: 240_000,
  async prepare() {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'krr-e2e-gitops-'));
    workspace = path.join(root, 'shop-deploy');
    scratch = path.join(root, 'scratch');
    fs.cpSync(fixture, workspace, { recursive: true });
    fs.mkdirSync(scratch);
    // krr's view of prod: web's app container (sized by the prod patch), its metrics container (sized by the shared
    // base) and the prod-only worker.
    const report = path.join(scratch, 'krr-prod.json');
    fs.writeFileSync(
      report,
      JSON.stringify({
        scans: [
          scan('web', 'app', { cpu: 1, memory: 1024 * mi }, { cpu: 0.75, memory: 384 * mi }),
          scan('web', 'metrics', { cpu: 0.05, memory: 64 * mi }, { cpu: 0.02, memory: 48 * mi }),
          scan('worker', 'worker', { cpu: 0.3, memory: 300 * mi }, { cpu: 0.15, memory: 256 * mi }),
        ],
        score: 50,
        resources: ['cpu', 'memory'],
        description: null,
        strategy: { name: 'simple', settings: {} },
      }),
    );
    // The terminal's DOM renderer (not WebGL) keeps its text in the page, where the test can wait for the output.
    const environment = await startKrrEnvironment({ workspace, settings: { 'terminal.integrated.gpuAcceleration': 'off' } });
    return {
      ...environment,
      env: { ...environment.env, KRR_STANDIN_REPORT: report },
      dispose: async () => {
        await environment.dispose();
        fs.rmSync(root, { recursive: true, force: true });
      },
    };
  },
  async run({ workbench, server }) {
    const page = workbench.page;
    const before = snapshot(workspace);
    const renderedBefore = execFileSync('kubectl', ['kustomize', path.join(workspace, 'overlays', 'prod')], { encoding: 'utf8' });
    const stagingBefore = execFileSync('kubectl', ['kustomize', path.join(workspace, 'overlays', 'staging')], { encoding: 'utf8' });

    // 1. The krr report (the stand-in reports prod's workloads in context prod-eu-1).
    await workbench.runCommand('View: Close Primary Side Bar');
    await scanFromPalette(workbench, testContext);
    await workbench.readWebview({ extensionId: 'krr-mcp.krr-mcp', expected: 'worker' });
    await workbench.runCommand('View: Close All Editors');

    // 2. Write to manifests: pick both workloads, requests only.
    await workbench.runCommand('KRR: Write Recommendations to Manifests…');
    const widget = page.locator('.quick-input-widget');
    await widget.locator('.quick-input-title', { hasText: 'workloads whose manifests to right-size' }).waitFor({ state: 'visible' });
    for (const name of ['prod/web', 'prod/worker']) await widget.locator('.monaco-list-row .label-name', { hasText: `Deployment ${name}` }).first().click();
    await widget.locator('.quick-input-count', { hasText: '2 Selected' }).waitFor({ state: 'visible' });
    await page.keyboard.press('Enter');
    await widget.locator('.quick-input-title', { hasText: 'which values to write' }).waitFor({ state: 'visible' });
    await page.keyboard.press('Enter'); // Requests only

    // 3. The multi-file diff: every changed file is in the prod overlay.
    const notice = page.locator('.notification-toast', { hasText: /KRR: plan-[0-9a-f]{12} — \d+ file\(s\) for 2 workload\(s\)/ }).first();
    await notice.waitFor({ state: 'visible', timeout: 60_000 });
    const noticeText = await notice.innerText();
    assert.doesNotMatch(noticeText, /Not written/, noticeText);
    const fileCount = Number(/— (\d+) file\(s\)/.exec(noticeText)?.[1]);
    assert.ok(fileCount >= 2, noticeText);
    const diffs = await until('the diff of each file', async () => {
      const shown = await readDiffEditors(workbench);
      return shown.length >= 2 && shown.some((diff) => /750m/.test(diff.modified)) && shown.some((diff) => /150m/.test(diff.modified)) ? shown : undefined;
    });
    assert.ok(diffs.some((diff) => /cpu: "1"/.test(diff.original) && /cpu: "?750m"?/.test(diff.modified)), 'web-resources.yaml: app 1 → 750m');
    assert.ok(diffs.some((diff) => /cpu: 300m/.test(diff.original) && /cpu: "?150m"?/.test(diff.modified)), 'worker.yaml: 300m → 150m');
    const tabTitle = await page.locator('.tabs-container .tab', { hasText: /KRR plan-[0-9a-f]{12}: \d+ files in the workspace/ }).first().innerText();
    await page.mouse.move(700, 850);
    await workbench.screenshot('gitops-diff');

    // 4. The approval dialog names files, not a cluster; Decline is focused; Write is pressed explicitly.
    await notice.getByRole('button', { name: /^Write \d+ Files…$/ }).click();
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible' });
    const dialogText = await dialog.innerText();
    assert.match(dialogText, /Write resource changes to \d+ files in the workspace\?/);
    assert.match(dialogText, /overlays\/prod\/web-resources\.yaml/);
    assert.match(dialogText, /overlays\/prod\/worker\.yaml/);
    assert.doesNotMatch(dialogText, /Cluster:|base\/|staging\//);
    assert.equal(await focusedDialogButton(workbench), 'Decline');
    const writeLabel = (await workbench.dialogButtons()).find((label) => /^Write \d+ files$/.test(label.trim()));
    assert.ok(writeLabel, `buttons: ${(await workbench.dialogButtons()).join(', ')}`);
    await workbench.screenshot('gitops-approval');
    await answerApproval(workbench, writeLabel.trim());

    // 5. Written: only files of the prod overlay changed; base and staging are byte-for-byte the same.
    // The files are written one after another: wait for as many as the plan has.
    const changedFiles = (now: Map<string, Buffer>) => [...new Set([...before.keys(), ...now.keys()])].filter((file) => !before.get(file)?.equals(now.get(file) ?? Buffer.alloc(0)) || !now.has(file)).sort();
    const after = await until(`the ${fileCount} files written`, () => {
      const now = snapshot(workspace);
      return changedFiles(now).length >= fileCount ? now : undefined;
    });
    const changed = changedFiles(after);
    assert.equal(changed.length, fileCount, `changed: ${changed.join(', ')}`);
    for (const file of changed) assert.match(file, /^overlays\/prod\//, `only the prod overlay changes: ${changed.join(', ')}`);
    assert.ok(changed.includes('overlays/prod/web-resources.yaml') && changed.includes('overlays/prod/worker.yaml'), changed.join(', '));
    for (const [file, bytes] of before) if (!file.startsWith('overlays/prod/')) assert.ok(after.get(file)?.equals(bytes), `${file} untouched`);

    // 6. The rendered prod overlay carries exactly the recommended requests; staging renders as before.
    const rendered = execFileSync('kubectl', ['kustomize', path.join(workspace, 'overlays', 'prod')], { encoding: 'utf8' });
    assert.notEqual(rendered, renderedBefore);
    const web = renderedRequests(rendered, 'web');
    assert.equal(web.app, 'limits: memory: 512Mi requests: cpu: 750m memory: 384Mi');
    assert.equal(web.metrics, 'requests: cpu: 20m memory: 48Mi');
    assert.deepEqual(renderedRequests(rendered, 'worker'), { worker: 'requests: cpu: 150m memory: 256Mi' });
    assert.equal(execFileSync('kubectl', ['kustomize', path.join(workspace, 'overlays', 'staging')], { encoding: 'utf8' }), stagingBefore);

    // 7. The audit log: the proposal, the approval naming the files, a write per file.
    const audit = await until('a write entry per file', () => {
      const entries = readAuditEntries(server.root);
      return entries.filter((entry) => entry.action === 'write').length >= fileCount ? entries : undefined;
    });
    const planId = /KRR (plan-[0-9a-f]{12})/.exec(tabTitle)?.[1];
    assert.ok(planId, tabTitle);
    const ofPlan = audit.filter((entry) => entry.planId === planId);
    assert.ok(ofPlan.some((entry) => entry.action === 'propose'), JSON.stringify(ofPlan));
    const approval = ofPlan.find((entry) => entry.action === 'approve');
    assert.ok(approval, JSON.stringify(ofPlan));
    assert.deepEqual((approval.detail as { target?: string }).target, 'manifests');
    const written = ofPlan.filter((entry) => entry.action === 'write' && entry.outcome === 'written').map((entry) => (entry.detail as { file: string }).file);
    assert.deepEqual(written.map((file) => file.replace(/^.*?(overlays\/)/, '$1')).sort(), changed);

    // 8. Show it: the overlay patch with its new values, then the rendered overlay in VS Code's terminal.
    await workbench.runCommand('View: Close All Editors');
    await workbench.runCommand('Notifications: Clear All Notifications');
    await page.keyboard.press('Control+P');
    await widget.locator('.quick-input-box input').fill('web-resources.yaml');
    await widget.locator('.monaco-list-row', { hasText: 'web-resources.yaml' }).first().waitFor({ state: 'visible' });
    await page.keyboard.press('Enter');
    await page.locator('.monaco-editor .view-lines', { hasText: '750m' }).first().waitFor({ state: 'visible' });
    await workbench.screenshot('overlay-written');

    await workbench.runCommand('Terminal: Create New Terminal');
    const terminal = page.locator('.terminal-wrapper.active .xterm').first();
    await terminal.waitFor({ state: 'visible' });
    await workbench.runCommand('View: Toggle Maximized Panel');
    await terminal.click();
    // The rendered objects' identity and sizing lines only, so the whole answer fits on the screen under its command.
    await page.keyboard.type(`kubectl kustomize overlays/prod | grep -E '^kind:|^  name:|^  namespace:|^  replicas:|containers:|- image:|^ {8}name: |resources:|limits:|requests:|cpu:|memory:'\n`);
    // Wait for the last value of the output.
    await terminal.locator('.xterm-rows', { hasText: '256Mi' }).waitFor({ state: 'visible' });
    await workbench.screenshot('rendered-prod');
  },
};
