// Issue 15 item 7, the state rules of the review panel inside a real extension host: after Apply the rows show the
// values now live and are marked, the ticks clear, the plan's diff tab closes; after a rollback the rows show the
// restored values; the latest report is kept (session store) for a window reload; diff tabs of plans this host does not hold close.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { generateLargeReport } from '../../bench/generate';
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

  it('a report of 2,000 containers: the first page goes alone with only its workloads; slices bring every other row in order and every workload once', async () => {
    const api = await krrApi();
    const dir = mkdtempSync(join(tmpdir(), 'krr-panel-stream-'));
    try {
      const file = join(dir, 'krr-2000.json');
      writeFileSync(file, generateLargeReport({ scans: 2000, seed: 7 }).text);
      const summary = await api.session().loadReport(file, { type: 'human', via: 'integration test' });
      await vscode.commands.executeCommand('krr.showRecommendations');
      const panel = await until('the review panel', () => api.reviewPanel());
      // The real webview, its messages noted on their way (it still receives every one).
      type Posted = { type: string; stream?: number; complete?: boolean; reportId?: string; loadingText?: string; rows?: Array<{ workload: string; container: string }>; workloads?: Array<{ key: string; cost: number | null }> };
      const posted: Posted[] = [];
      const webview = panel.panel.webview;
      const deliver = webview.postMessage.bind(webview);
      Object.defineProperty(webview, 'postMessage', { configurable: true, value: (message: Posted) => (posted.push(message), deliver(message)) });
      try {
        panel.postRows();
        await until('the last slice', () => {
          const stream = posted.find((message) => message.type === 'rows')?.stream;
          return posted.some((message) => message.type === 'more-rows' && message.stream === stream && message.complete === true) ? true : undefined;
        }, 30_000);
      } finally {
        delete (webview as { postMessage?: unknown }).postMessage;
      }
      const first = posted.find((message) => message.type === 'rows');
      assert.ok(first?.rows && first.workloads, 'a first message with rows');
      assert.equal(first.reportId, summary.reportId);
      assert.equal(first.complete, false);
      assert.equal(first.rows.length, 500, 'the first page alone');
      assert.equal(first.loadingText, 'loading rows: 500 of 2,000…', 'the summary says rows are on their way');
      assert.deepEqual(new Set(first.workloads.map((workload) => workload.key)), new Set(first.rows.map((row) => row.workload)), 'only the first page\'s workloads are checked at first');
      const slices = posted.filter((message) => message.type === 'more-rows' && message.stream === first.stream);
      assert.ok(slices.length >= 1);
      assert.deepEqual(slices.map((slice) => slice.complete), [...slices.slice(1).map(() => false), true], 'only the last slice completes');
      assert.equal(slices.at(-1)?.loadingText, '', 'and the loading line goes with it');
      // Every row once, in the listing's order (by savings), as the session lists them.
      const listed: string[] = [];
      for (let page = 1; listed.length < 2000; page += 1) {
        const result = api.session().listRecommendations({ reportId: summary.reportId, page, pageSize: 500, sort: 'savings' });
        if (result.rows.length === 0) break;
        for (const row of result.rows) listed.push(`${row.namespace}/${row.kind}/${row.name}\u0000${row.container}`);
      }
      const rows = [first, ...slices].flatMap((message) => message.rows ?? []).map((row) => `${row.workload}\u0000${row.container}`);
      assert.equal(rows.length, 2000);
      assert.deepEqual(rows, listed);
      // Every workload of the report exactly once, whichever slice first named it.
      const workloads = [first, ...slices].flatMap((message) => message.workloads ?? []).map((workload) => workload.key);
      assert.equal(workloads.length, summary.workloads);
      assert.equal(new Set(workloads).size, summary.workloads);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
