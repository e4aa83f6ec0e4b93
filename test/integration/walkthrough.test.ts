// The walkthrough's steps complete from real state: the context keys follow krr on disk, the settings, the session's
// report and plans, and the snapshots an apply and a rollback leave (src/editor/walkthrough.ts). Runs last: it writes.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { KrrTestApi } from '../../src/extension';
import { extensionId, krrApi } from './extensionHost';

/** The keys after the reads in flight (bounded). */
async function state(api: KrrTestApi, step: keyof Awaited<ReturnType<KrrTestApi['walkthrough']>>, expected: boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  let value = (await api.walkthrough())[step];
  while (value !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = (await api.walkthrough())[step];
  }
  assert.equal(value, expected, `walkthrough step ${step}`);
}

describe('walkthrough: steps complete from real state', function () {
  this.timeout(90_000);

  it('declares one onContext completion per step, each a key the extension sets', async () => {
    const extension = vscode.extensions.getExtension(extensionId);
    const walkthroughs = extension?.packageJSON.contributes.walkthroughs as Array<{ steps: Array<{ id: string; completionEvents: string[] }> }>;
    const steps = walkthroughs[0]?.steps ?? [];
    assert.deepEqual(steps.map((step) => step.id), ['krr', 'context', 'scan', 'review', 'preview', 'apply', 'rollback']);
    const keys = Object.keys(await (await krrApi()).walkthrough()).map((step) => `onContext:krr.walkthrough.${step}`);
    for (const step of steps) assert.ok(step.completionEvents.every((event) => keys.includes(event)), `${step.id}: ${step.completionEvents.join(', ')}`);
  });

  it('"install krr" follows whether krr.krrPath names an executable, without running it', async () => {
    const api = await krrApi();
    const config = vscode.workspace.getConfiguration('krr');
    const inspected = config.inspect<string>('krrPath');
    await state(api, 'krrFound', true);
    // krrPath is machine-scoped: in code-server's remote window it lives in the Remote (Global) settings.
    const original = inspected?.globalValue;
    try {
      await config.update('krrPath', '/nonexistent/krr', vscode.ConfigurationTarget.Global);
      await state(api, 'krrFound', false);
    } finally {
      await config.update('krrPath', original, vscode.ConfigurationTarget.Global);
    }
    await state(api, 'krrFound', true);
  });

  it('scan, review, preview, apply and roll back complete as they happen', async () => {
    const api = await krrApi();
    await state(api, 'contextChosen', true);
    const extension = vscode.extensions.getExtension(extensionId);
    const you = { type: 'human' as const, via: 'integration test' };
    const report = await api.session().loadReport(join(extension!.extensionPath, 'test', 'fixtures', 'sample-report.json'), you);
    await state(api, 'scanned', true);
    await vscode.commands.executeCommand('krr.showRecommendations');
    await state(api, 'reviewed', true);

    // The steps read real state: without a snapshot they are not done; the review panel's suite (panel-state, run
    // before this one) applies and rolls back, and then both are done already, from its snapshots.
    const earlier = await api.session().listSnapshots();
    await state(api, 'applied', earlier.some((snapshot) => snapshot.kind === 'apply'));
    await state(api, 'rolledBack', earlier.some((snapshot) => snapshot.kind === 'rollback'));
    const plan = await api.session().propose({ reportId: report.reportId, workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'frontend' }] }, you);
    assert.ok(plan.objects.length > 0, 'the plan changes frontend');
    await state(api, 'previewed', true);

    api.setApprovalDialogForTests(async (shown) => ({ outcome: 'approved', digest: shown.digest }));
    try {
      const applied = await api.session().apply(plan.id, you);
      assert.equal(applied.status, 'applied', applied.message);
      await state(api, 'applied', true);
      await state(api, 'rolledBack', earlier.some((snapshot) => snapshot.kind === 'rollback'));
      const rolledBack = await api.session().rollback(applied.snapshotId as string, you);
      assert.equal(rolledBack.status, 'applied', rolledBack.message);
      await state(api, 'rolledBack', true);
    } finally {
      api.setApprovalDialogForTests(undefined);
    }
  });
});
