// Issue 15 item 7, the state rules of the review panel inside a real extension host: after Apply the rows show the
// values now live and are marked, the ticks clear, the plan's diff tab closes; after a rollback the rows show the
// restored values; the latest report is kept (session store) for a window reload; diff tabs of plans this host does not hold close.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { liveScheme, proposedScheme } from '../../src/editor/diff';
import { extensionId, krrApi } from './extensionHost';

const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };
const frontendKey = 'shop/Deployment/frontend';

async function until<T>(what: string, condition: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = condition();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function diffTabsOf(planId: string): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter((tab) => {
    const input = tab.input;
    return input instanceof vscode.TabInputTextDiff && new URLSearchParams(input.original.query).get('plan') === planId;
  });
}

describe('review panel: state after apply, rollback and reload', function () {
  this.timeout(60_000);
  afterEach(async () => {
    (await krrApi()).setApprovalDialogForTests(undefined);
  });

  it('after Apply: the row shows the live value and a mark, its tick clears, the diff closes; a rollback shows the restored value', async () => {
    const api = await krrApi();
    const extension = vscode.extensions.getExtension(extensionId);
    await api.session().loadReport(join(extension!.extensionPath, 'test', 'fixtures', 'sample-report.json'), { type: 'human', via: 'integration test' });
    await vscode.commands.executeCommand('krr.showRecommendations');
    const panel = await until('the review panel', () => api.reviewPanel());
    await panel.handle({ type: 'ready' });
    await panel.handle({ type: 'selection', workloads: [frontend] });
    await panel.handle({ type: 'preview', workloads: [frontend], includeLimits: false });
    const planId = panel.viewState().planId;
    assert.ok(planId, 'the preview made a plan');
    await until('the plan diff is open', () => (diffTabsOf(planId).length > 0 ? true : undefined));

    api.setApprovalDialogForTests(async (plan) => ({ outcome: 'approved', digest: plan.digest }));
    await panel.handle({ type: 'apply' });
    const state = panel.viewState();
    assert.equal(state.planId, null, 'a plan is single-use: Apply… is off again');
    assert.deepEqual(state.selection, [], 'the tick of the written workload clears');
    const written = state.written[frontendKey];
    assert.ok(written, `marked: ${JSON.stringify(state.written)}`);
    assert.equal(written.label, 'applied');
    // krr recommends 198Mi for web's memory request (256Mi before): the row now shows 198Mi as the current value.
    assert.deepEqual(written.cells[`web\u0000memoryRequest`], { from: '198Mi', to: '198Mi', percent: 0, same: true });
    await until('the plan diff closes', () => (diffTabsOf(planId).length === 0 ? true : undefined));

    // Roll back from the snapshot: the rows show the restored values, marked as rolled back.
    const [snapshot] = await api.session().listSnapshots().then((list) => list.filter((item) => item.planId === planId));
    assert.ok(snapshot, 'the apply left a snapshot');
    await vscode.commands.executeCommand('krr.rollBack', { id: snapshot.id, createdAt: snapshot.createdAt, context: snapshot.context, planId: snapshot.planId, kind: snapshot.kind, objects: snapshot.objects });
    const rolledBack = await until('the rollback is noted', () => {
      const entry = panel.viewState().written[frontendKey];
      return entry?.label === 'rolled back' ? entry : undefined;
    });
    assert.deepEqual(rolledBack.cells[`web\u0000memoryRequest`], { from: '256Mi', to: '198Mi', percent: -22.7, same: false });
  });

  it('keeps the latest report for a window reload (the session store; the panel serializer restores it)', async () => {
    const api = await krrApi();
    const extension = vscode.extensions.getExtension(extensionId);
    const summary = await api.session().loadReport(join(extension!.extensionPath, 'test', 'fixtures', 'sample-report.json'), { type: 'human', via: 'integration test' });
    // The session keeps reports signed in the state directory (core/session/store); a new window restores the newest.
    const file = join(api.stateDir, 'reports', `${summary.reportId}.json`);
    const kept = await until('the report is kept', () => (existsSync(file) ? readFileSync(file, 'utf8') : undefined));
    assert.ok(kept.includes('checkout-api'), 'the stored report holds the workloads');
    assert.equal(summary.workloads, 6);
  });

  it('closes diff tabs whose plan this extension host does not hold (restored by a reload), and keeps the others', async () => {
    const api = await krrApi();
    const orphan = { path: '/shop/Deployment/gone.yaml', query: 'plan=plan-0123456789ab' };
    await vscode.commands.executeCommand('vscode.diff', vscode.Uri.from({ scheme: liveScheme, ...orphan }), vscode.Uri.from({ scheme: proposedScheme, ...orphan }), 'orphan diff', { preview: false });
    await until('the orphan tab is open', () => (diffTabsOf('plan-0123456789ab').length > 0 ? true : undefined));
    const extension = vscode.extensions.getExtension(extensionId);
    const { reportId } = await api.session().loadReport(join(extension!.extensionPath, 'test', 'fixtures', 'sample-report.json'), { type: 'human', via: 'integration test' });
    const plan = await api.session().propose({ reportId, workloads: [frontend] }, { type: 'human', via: 'integration test' });
    await until('the live plan diff is open', () => (diffTabsOf(plan.id).length > 0 ? true : undefined));
    const closed = await api.diff.closeTabs();
    assert.equal(closed, 1);
    assert.equal(diffTabsOf('plan-0123456789ab').length, 0, 'the orphan is closed');
    assert.ok(diffTabsOf(plan.id).length > 0, 'the diff of a plan this host holds stays');
    await api.diff.closeTabs(plan.id);
  });
});
