// The human path end to end against the Kubernetes API test server: scan from the palette → review panel → Preview
// (diff) → Apply… → Enter (Decline is focused: nothing written) → Apply… → Apply (objects changed, audited) → Roll back from the side bar.
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import type { TestCluster } from '../../support/kube-api-server';
import { containerResources, readAuditEntries, startKrrEnvironment, testContext } from '../lib/krrEnvironment';
import { answerApproval, focusedDialogButton, focusPanel, openKrrSideBar, panel, readDiffEditors, scanFromPalette, snapshotRows, until, waitForPlanLine, withoutIsolates, workloadCheckbox } from '../lib/krrWorkbench';
import type { UiTest } from '../lib/uiTest';

let cluster: TestCluster | undefined;

const frontend = ['apps/v1', 'Deployment', 'shop', 'frontend'] as const;
const postgres = ['apps/v1', 'StatefulSet', 'data', 'postgres'] as const;

export const uiTest: UiTest = {
  title: 'scan → review → preview diff → Enter declines (writes nothing) → Apply writes the plan → roll back from the side bar',
  timeoutMs: 180_000,
  async prepare() {
    // This test is about the modal alone: typed confirmation (ui/11) is turned off here, and only here.
    const environment = await startKrrEnvironment({ settings: { 'krr.confirmByTyping': [] } });
    cluster = environment.cluster;
    return environment;
  },
  async run({ workbench, server }) {
    if (!cluster) throw new Error('prepare did not start the test cluster');
    const test = cluster;
    const before = { frontend: containerResources(test, ...frontend), postgres: containerResources(test, ...postgres) };

    // The review table needs the width: the Explorer is not used here.
    await workbench.runCommand('View: Close Primary Side Bar');

    // 1. Scan from the palette: the review panel lists the sample report's workloads.
    await scanFromPalette(workbench, testContext);
    const panelText = await workbench.readWebview({ extensionId: 'krr-mcp.krr-mcp', expected: 'checkout-api' });
    for (const name of ['checkout-api', 'frontend', 'postgres', 'node-exporter']) assert.match(panelText, new RegExp(name), `panel lists ${name}`);
    assert.match(panelText, new RegExp(`${testContext} · strategy simple · 6 workloads, 7 containers`));
    // The status bar names the context the next apply targets.
    await workbench.page.locator('.statusbar-item', { hasText: `KRR: ${testContext}` }).first().waitFor({ state: 'visible' });
    await workbench.screenshot('review-panel');

    // 2. Select frontend and postgres; postgres's memory request rises above its limit, so limits are included.
    await workloadCheckbox(workbench, 'Deployment', 'shop', 'frontend').check();
    await workloadCheckbox(workbench, 'StatefulSet', 'data', 'postgres').check();
    await panel(workbench).locator('#include-limits').check();
    await panel(workbench).locator("#totals", { hasText: /Selected: 2 workloads, 3 containers/ }).waitFor();
    await panel(workbench).locator('#preview').click();
    const diffs = await until('a diff per object', async () => {
      const shown = await readDiffEditors(workbench);
      return shown.length >= 2 && shown.every((diff) => diff.original.length > 0) ? shown : undefined;
    });
    // The diff shows only changed lines with a little context, so each object is told apart by its proposed values.
    const frontendDiff = diffs.find((diff) => /memory: 198Mi/.test(diff.modified));
    const postgresDiff = diffs.find((diff) => /memory: 808Mi/.test(diff.modified));
    assert.ok(frontendDiff && postgresDiff, `diffs of frontend and postgres, got:\n${diffs.map((diff) => diff.modified.slice(0, 300)).join('\n---\n')}`);
    assert.match(frontendDiff.original, /memory: 256Mi/);
    assert.match(frontendDiff.modified, /memory: 198Mi/);
    assert.doesNotMatch(frontendDiff.modified, /memory: 256Mi/);
    assert.match(postgresDiff.original, /memory: 512Mi/);
    assert.match(postgresDiff.modified, /memory: 808Mi/);
    await workbench.screenshot('preview-diff');
    await focusPanel(workbench);
    assert.match(await waitForPlanLine(workbench, /^plan-[0-9a-f]{12}: 2 objects/), /risk \w+/);
    await workbench.screenshot('review-panel-plan');

    // 3. Apply… → the real modal (the person asked: no notice first) → Enter: Decline has the focus, nothing is written.
    const writesBefore = test.writes().length;
    await panel(workbench).locator('#apply').click();
    assert.deepEqual((await workbench.dialogButtons()).sort(), ['Apply 2 changes', 'Cancel', 'Decline']);
    assert.equal(await focusedDialogButton(workbench), 'Decline', 'Enter and Space press Decline, never Apply');
    const dialog = workbench.page.locator('.monaco-dialog-box');
    const declinedText = withoutIsolates(await dialog.innerText());
    await workbench.screenshot('approval-modal');
    await workbench.page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    assert.match(declinedText, new RegExp(`Apply resource changes to 2 objects in ${testContext}\\?`));
    // Each workload says what its rollout restarts (issue 16 item 5), then its changes.
    assert.match(declinedText, /Deployment shop\/frontend — the rollout restarts its (\d+ )?pods? \(.*\):/);
    assert.match(declinedText, /web: memory request 256Mi → 198Mi/);
    assert.match(declinedText, /StatefulSet data\/postgres — .*:/);
    assert.match(declinedText, /Proposed by you \(review panel\)\.\s+Apply requested by you \(review panel\)\./);
    await focusPanel(workbench);
    await waitForPlanLine(workbench, /^declined/);
    assert.equal(test.writes().length, writesBefore, 'Cancel wrote nothing');
    assert.deepEqual(containerResources(test, ...frontend), before.frontend);
    assert.ok(readAuditEntries(server.root).some((entry) => entry.action === 'decline'), 'the decline is audited');

    // 4. A fresh preview (plans are single-use) → Apply… → Apply: exactly the plan is written and audited.
    await panel(workbench).locator('#preview').click();
    await readDiffEditors(workbench);
    await focusPanel(workbench);
    await waitForPlanLine(workbench, /^plan-[0-9a-f]{12}: 2 objects/);
    await panel(workbench).locator('#apply').click();
    await answerApproval(workbench, 'Apply 2 changes');
    await focusPanel(workbench);
    const applied = await waitForPlanLine(workbench, /^(applied|failed|declined|expired)/);
    assert.match(applied, /^applied/);
    await workbench.screenshot('applied');
    const after = { frontend: containerResources(test, ...frontend), postgres: containerResources(test, ...postgres) };
    assert.deepEqual(after.frontend, { web: { requests: { cpu: '200m', memory: '198Mi' }, limits: { cpu: '500m', memory: '198Mi' } } });
    assert.deepEqual((after.postgres as Record<string, { requests: unknown; limits: unknown }>).postgresql, {
      requests: { cpu: '618m', memory: '808Mi' },
      limits: { memory: '808Mi' },
    });
    assert.deepEqual((after.postgres as Record<string, { requests: unknown; limits: unknown }>).metrics, {
      requests: { cpu: '10m', memory: '100Mi' },
      limits: { memory: '100Mi' },
    });
    const writtenNames = test.writes().slice(writesBefore).map((write) => JSON.stringify(write));
    assert.ok(writtenNames.some((write) => write.includes('frontend')) && writtenNames.some((write) => write.includes('postgres')), writtenNames.join('\n'));
    const audit = readAuditEntries(server.root);
    const trail = audit.map((entry) => `${String(entry.action)}:${String(entry.outcome)}`);
    const approved = audit.find((entry) => entry.action === 'approve' && entry.outcome === 'approved');
    assert.ok(approved, `an approval in the audit log: ${trail.join(', ')}`);
    assert.equal(approved.context, testContext);
    assert.deepEqual((approved.actor as { type: string }).type, 'human');
    const written = audit.filter((entry) => entry.action === 'write' && entry.outcome === 'written' && entry.planId === approved.planId);
    assert.deepEqual(written.flatMap((entry) => (entry.objects as Array<{ name: string }>).map((object) => object.name)).sort(), ['frontend', 'postgres']);
    assert.ok(audit.some((entry) => entry.action === 'verify' && entry.outcome === 'ok' && entry.planId === approved.planId), trail.join(', '));

    // 5. Roll back from the side bar's Snapshots view → modal → Roll back: the objects are as before.
    await openKrrSideBar(workbench);
    const row = snapshotRows(workbench).first();
    await row.waitFor({ state: 'visible' });
    assert.match(withoutIsolates(await row.innerText()), new RegExp(`${testContext} · 2 objects`));
    await row.hover();
    await workbench.screenshot('snapshots-view');
    await row.locator('.action-label[aria-label^="Roll Back"]').click();
    const rollbackText = withoutIsolates(
      await answerApproval(workbench, 'Roll back 2 changes', async () => {
        await workbench.screenshot('rollback-modal');
      }),
    );
    assert.match(rollbackText, new RegExp(`Roll back 2 objects in ${testContext} to a snapshot\\?`));
    assert.match(rollbackText, /Proposed by you \(snapshots view\)\.\s+Apply requested by you \(snapshots view\)\./);
    await until('the rollback restored both objects', () => {
      const now = { frontend: containerResources(test, ...frontend), postgres: containerResources(test, ...postgres) };
      return isDeepStrictEqual(now, before) ? true : undefined;
    });
    // The audit lines follow the writes: wait for the verification that ends the rollback.
    const rollbackTrail = await until('the rollback is audited to its end', () => {
      const entries = readAuditEntries(server.root).slice(audit.length);
      return entries.some((entry) => entry.action === 'verify') ? entries : undefined;
    });
    const rollbackSteps = rollbackTrail.map((entry) => `${String(entry.action)}:${String(entry.outcome)}`);
    assert.ok(rollbackSteps.includes('approve:approved'), rollbackSteps.join(', '));
    assert.equal(rollbackSteps.filter((step) => step === 'write:written').length, 2, rollbackSteps.join(', '));
    assert.equal((rollbackTrail.find((entry) => entry.action === 'apply')?.detail as { kind?: string } | undefined)?.kind, 'rollback');
    await workbench.screenshot('rolled-back');
  },
};
