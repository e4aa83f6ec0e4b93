// GitOps from the review panel, where two sources could define a workload: the Kustomize fixture (prod overlay) plus a
// stray plain manifest of the same Deployment (`legacy/web.yaml`, as repositories keep after a migration). With target
// Manifests, Preview refuses to guess and lists both sources with "Use this source"; picking the prod overlay proposes
// again with that pick, the button reads "Write Files…", the approval names the overlay and says the source was
// picked, the write lands in the overlay only (the stray manifest is byte-for-byte the same), and the panel says
// "written:" and keeps "Commit on a New Branch…" at hand.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../lib/codeServer';
import { startKrrEnvironment, testContext } from '../lib/krrEnvironment';
import { answerApproval, focusPanel, panel, scanFromPalette, until, waitForPlanLine, withoutIsolates, workloadCheckbox } from '../lib/krrWorkbench';
import type { UiTest } from '../lib/uiTest';

const fixture = path.join(repoRoot, 'test', 'fixtures', 'gitops', 'kustomize');
const mi = 2 ** 20;
let workspace = '';

const strayManifest = `# Kept from before the move to Kustomize; nothing deploys it any more.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: app
          image: registry.example.com/web:2.0
          resources:
            requests:
              cpu: "1"
              memory: 1Gi
`;

export const uiTest: UiTest = {
  title: 'GitOps in the panel: two sources could define prod/web; the panel lists both, the pick proposes again, Write Files… writes the picked overlay only, "written:" with the commit action',
  timeoutMs: 240_000,
  async prepare() {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'krr-e2e-sources-'));
    workspace = path.join(root, 'shop-deploy');
    fs.cpSync(fixture, workspace, { recursive: true });
    fs.mkdirSync(path.join(workspace, 'legacy'));
    fs.writeFileSync(path.join(workspace, 'legacy', 'web.yaml'), strayManifest);
    const report = path.join(root, 'krr-prod.json');
    const value = (amount: number | null) => ({ value: amount, severity: 'WARNING' });
    fs.writeFileSync(
      report,
      JSON.stringify({
        scans: [
          {
            object: { cluster: testContext, name: 'web', container: 'app', pods: [{ name: 'web-0', deleted: false }], hpa: null, namespace: 'prod', kind: 'Deployment', allocations: { requests: { cpu: 1, memory: 1024 * mi }, limits: { cpu: null, memory: null } } },
            recommended: { requests: { cpu: value(0.75), memory: value(384 * mi) }, limits: { cpu: value(null), memory: value(null) }, info: { cpu: null, memory: null } },
            severity: 'WARNING',
          },
        ],
        score: 50,
        resources: ['cpu', 'memory'],
        description: null,
        strategy: { name: 'simple', settings: {} },
      }),
    );
    const environment = await startKrrEnvironment({ workspace });
    return {
      ...environment,
      env: { ...environment.env, KRR_STANDIN_REPORT: report },
      dispose: async () => {
        await environment.dispose();
        fs.rmSync(root, { recursive: true, force: true });
      },
    };
  },
  async run({ workbench }) {
    const page = workbench.page;
    const view = panel(workbench);
    const stray = fs.readFileSync(path.join(workspace, 'legacy', 'web.yaml'));
    const overlayBefore = fs.readFileSync(path.join(workspace, 'overlays', 'prod', 'web-resources.yaml'));
    await workbench.runCommand('View: Close Primary Side Bar');

    // 1. Scan, tick prod/web, target Manifests, Preview: two sources, no guess, nothing proposed.
    await scanFromPalette(workbench, testContext);
    await workbench.readWebview({ extensionId: 'krr-mcp.krr-mcp', expected: 'web' });
    await workloadCheckbox(workbench, 'Deployment', 'prod', 'web').check();
    await view.locator('#target').selectOption('manifests');
    await view.locator('#preview').click();
    const choices = view.locator('#plan-choices');
    await choices.waitFor({ state: 'visible', timeout: 60_000 });
    const listed = withoutIsolates(await choices.innerText());
    assert.match(listed, /Several sources could define these workloads/);
    assert.match(listed, /overlays\/prod/, listed);
    assert.match(listed, /legacy\/web\.yaml/, listed);
    const useButtons = choices.getByRole('button', { name: 'Use this source' });
    assert.equal(await useButtons.count(), 2, listed);
    assert.equal(await view.locator('#apply').isDisabled(), true, 'nothing to write until a source is picked');
    await workbench.runCommand('Notifications: Clear All Notifications');
    await workbench.screenshot('sources-listed');

    // 2. Use the prod overlay: proposed again with that pick; the button speaks of files.
    await choices.locator('li li', { hasText: 'overlays/prod' }).getByRole('button', { name: 'Use this source' }).click();
    // The proposal opens the file's diff over the panel: read it, then bring the panel back.
    await page.locator('.tabs-container .tab', { hasText: /KRR plan-[0-9a-f]{12}: 1 file in the workspace/ }).first().waitFor({ state: 'visible', timeout: 60_000 });
    await workbench.screenshot('source-picked-diff');
    await focusPanel(workbench);
    const planLine = withoutIsolates(await waitForPlanLine(workbench, /plan-[0-9a-f]{12}: 1 files? in the workspace/));
    assert.doesNotMatch(planLine, /legacy/, planLine);
    const apply = view.locator('#apply');
    await until('Write Files… enabled', async () => ((await apply.isEnabled()) && (await apply.innerText()).trim() === 'Write Files…' ? true : undefined), 60_000);
    assert.equal(await choices.isHidden(), true, 'the pick resolved the choice');
    await workbench.screenshot('source-picked');

    // 3. The approval names the overlay and the pick; writing it changes the overlay only.
    await apply.click();
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible' });
    const dialogText = withoutIsolates(await dialog.innerText());
    assert.match(dialogText, /Write resource changes to 1 file in the workspace\?/, dialogText);
    assert.match(dialogText, /\(the source picked among the candidates\)/, dialogText);
    assert.match(dialogText, /app requests\.cpu 1 → 750m \(rendered\)/, dialogText);
    assert.doesNotMatch(dialogText, /legacy\//, dialogText);
    await workbench.screenshot('approval-picked-source');
    await answerApproval(workbench, 'Write 1 file');

    await until('the overlay written', () => (fs.readFileSync(path.join(workspace, 'overlays', 'prod', 'web-resources.yaml')).equals(overlayBefore) ? undefined : true));
    assert.match(fs.readFileSync(path.join(workspace, 'overlays', 'prod', 'web-resources.yaml'), 'utf8'), /750m/);
    assert.ok(fs.readFileSync(path.join(workspace, 'legacy', 'web.yaml')).equals(stray), 'the stray manifest is untouched');

    // 4. The panel says what happened to the files and keeps the commit action.
    await focusPanel(workbench);
    const plan = view.locator('#plan');
    await plan.filter({ hasText: /written:/ }).waitFor({ state: 'visible', timeout: 30_000 });
    assert.doesNotMatch(await plan.innerText(), /applied:/);
    await plan.getByRole('button', { name: 'Commit on a New Branch…' }).waitFor({ state: 'visible' });
    await workbench.runCommand('Notifications: Clear All Notifications');
    await workbench.screenshot('written-commit');
  },
};
