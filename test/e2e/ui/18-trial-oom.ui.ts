// Issue 26 in the real UI, the failing case: frontend's web container may lower its memory limit in place
// (resizePolicy RestartContainer for memory) and uses 230Mi — under its 256Mi limit, over the 198Mi krr recommends. From
// the palette, "KRR: Try on N Pods…" picks frontend and 1 pod; the modal says the container restarts for it; approved,
// the node simulator OOM-kills the trial pod at its new limit, the watch fails the trial at once and reverts it, and a
// warning names the OOM kill and offers Details (the trial's document). Screenshot: trial-failed.
import assert from 'node:assert/strict';
import type { TestCluster } from '../../support/kube-api-server';
import { asControlPlane } from '../../support/test-cluster';
import { containerResources, readAuditEntries, startKrrEnvironment, testContext } from '../lib/krrEnvironment';
import { answerApproval, panel, scanFromPalette, until, withoutIsolates } from '../lib/krrWorkbench';
import type { UiTest } from '../lib/uiTest';

let cluster: TestCluster | undefined;

const frontend = ['apps/v1', 'Deployment', 'shop', 'frontend'] as const;
const shopFrontend = '\u2068?shop/frontend\u2069?';

interface DeploymentView {
  metadata: { generation?: number };
  spec: { replicas?: number; template: { spec: { containers: Array<{ name: string; resizePolicy?: unknown }> } } };
  status?: { observedGeneration?: number; updatedReplicas?: number; readyReplicas?: number; replicas?: number };
}

export const uiTest: UiTest = {
  title: 'trial: Try on N Pods… from the palette → RestartContainer said in the modal → OOM-killed at the trial limit → failed, reverted, Details',
  timeoutMs: 240_000,
  async prepare() {
    const environment = await startKrrEnvironment({ settings: { 'krr.confirmByTyping': [], 'krr.trial.windowSeconds': 120, 'krr.trial.pollSeconds': 1 } });
    const plane = asControlPlane(environment.cluster);
    if (!plane) throw new Error('the OOM kill needs the real control plane and its node simulator');
    cluster = environment.cluster;
    // The template lets memory change in place with a restart; its new pods roll out before the workbench starts.
    const deployment = environment.cluster.getObject(...frontend) as unknown as DeploymentView;
    const web = deployment.spec.template.spec.containers.find((container) => container.name === 'web');
    if (!web) throw new Error('frontend has no web container');
    web.resizePolicy = [
      { resourceName: 'cpu', restartPolicy: 'NotRequired' },
      { resourceName: 'memory', restartPolicy: 'RestartContainer' },
    ];
    environment.cluster.putObject(deployment);
    await until(
      'frontend rolled out with the resize policy',
      () => {
        const now = environment.cluster.getObject(...frontend) as unknown as DeploymentView;
        const wanted = now.spec.replicas ?? 1;
        const status = now.status ?? {};
        return (status.observedGeneration ?? 0) >= (now.metadata.generation ?? 1) && status.updatedReplicas === wanted && status.readyReplicas === wanted && status.replicas === wanted ? true : undefined;
      },
      60_000,
    );
    // Under the 256Mi limit the pods run at, over the 198Mi the trial gives them.
    plane.nodes.usage('shop', 'frontend', 'web', { memory: '230Mi' });
    return environment;
  },
  async run({ workbench, server }) {
    if (!cluster) throw new Error('prepare did not start the test cluster');
    const test = cluster;
    const page = workbench.page;
    const templateBefore = containerResources(test, ...frontend);
    await workbench.runCommand('View: Close Primary Side Bar');
    await scanFromPalette(workbench, testContext);
    // The scan has ended once the panel shows its rows: the command picks from the current report.
    await panel(workbench).locator('tr.container').first().waitFor({ state: 'visible' });

    // 1. The palette: only workloads with long-running pods are offered; frontend, then 1 pod.
    await workbench.runCommand('KRR: Try on N Pods…');
    const input = page.locator('.quick-input-widget');
    await input.locator('.quick-input-title', { hasText: 'of which workload' }).waitFor({ state: 'visible' });
    const offered = (await input.locator('.monaco-list-row .label-name').allInnerTexts()).map((label) => withoutIsolates(label).trim()).sort();
    assert.deepEqual(offered, ['checkout-api', 'frontend', 'node-exporter', 'postgres'], 'no Job or CronJob');
    await page.keyboard.type('frontend');
    await input.locator('.monaco-list-row', { hasText: 'frontend' }).first().waitFor({ state: 'visible' });
    await page.keyboard.press('Enter');
    await input.locator('.quick-input-title', { hasText: 'how many running pods of' }).waitFor({ state: 'visible' });
    await page.keyboard.press('Enter');

    // 2. The modal: this time the limit is lowered too, and the container restarts for it.
    const text = withoutIsolates(await answerApproval(workbench, 'Start trial on 1 pod'));
    assert.match(text, /restarts web \(memory\) \(resizePolicy RestartContainer\)/);
    assert.match(text, /web: memory limit 256Mi → 198Mi/);
    assert.match(text, /Trial requested by you \(command palette\)\./);

    // 3. The OOM kill fails it long before its 120 s window: reverted at once, said in a warning with Details.
    const failed = page.locator('.notification-toast', { hasText: new RegExp(`Trial of 1 pod of ${shopFrontend} \\(plan-[0-9a-f]{12}\\) failed: pod .+ was OOM-killed`) }).first();
    await failed.waitFor({ state: 'visible', timeout: 60_000 });
    const failedText = withoutIsolates(await failed.innerText());
    assert.match(failedText, /at the trial's memory limit/);
    assert.match(failedText, /Its pods were reverted\./);
    await page.locator('.statusbar-item', { hasText: /Trial: / }).first().waitFor({ state: 'hidden' });
    await page.waitForTimeout(800); // the toast's fade-in, for a clean screenshot
    await workbench.screenshot('trial-failed');
    assert.deepEqual(containerResources(test, ...frontend), templateBefore, 'a trial never changes the template');
    const audit = readAuditEntries(server.root).map((entry) => `${String(entry.action)}:${String(entry.outcome)}`);
    for (const step of ['trial:started', 'trial-revert:reverted', 'trial:failed']) assert.ok(audit.includes(step), `${step} in the audit log: ${audit.join(', ')}`);

    // 4. Details: the trial's document names the OOM kill per pod.
    await failed.hover();
    await failed.getByRole('button', { name: 'Details' }).click();
    // Monaco renders spaces as U+00A0 (\s matches it).
    const details = page.locator('.monaco-editor .view-lines', { hasText: /#\sTrial\splan-[0-9a-f]{12}\s—\sfailed/ }).first();
    await details.waitFor({ state: 'visible' });
    await until('the pods table in the details', async () => (/\| reverted \| (yes|no) \| [1-9]\d* \| [1-9]\d* \| web: OOMKilled/.test((await details.innerText()).replace(/\u00a0/g, ' ')) ? true : undefined));
  },
};
