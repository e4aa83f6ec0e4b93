// The fleet flow inside the real extension host: krr.contexts from VS Code's settings, one scan of several contexts
// through VS Code's own MCP client (krr_scan contexts), the side bar showing one node per cluster (a failed context
// says why), one list over the fleet filtered by cluster, the review panel opening on the fleet, and a proposal
// that goes to exactly one context.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { FleetSummary } from '../../src/core/model';
import type { KrrTestApi } from '../../src/extension';
import type { RecommendationNode } from '../../src/editor/tree';
import { krrApi, until } from './extensionHost';

function scanTool(): vscode.LanguageModelToolInformation | undefined {
  return vscode.lm.tools.find((tool) => tool.name.endsWith('_krr_scan'));
}

describe('fleet: several contexts in one review (extension host)', function () {
  this.timeout(120_000);
  let api: KrrTestApi;
  const contexts = ['prod-eu-1', 'staging-eu-1', 'no-such-context'];

  before(async () => {
    api = await krrApi();
    await vscode.workspace.getConfiguration('krr').update('contexts', contexts, vscode.ConfigurationTarget.Global);
  });
  after(async () => {
    await vscode.workspace.getConfiguration('krr').update('contexts', undefined, vscode.ConfigurationTarget.Global);
  });

  it('krr.contexts reaches the session settings', () => {
    assert.deepEqual(api.settings().contexts, contexts);
  });

  it('krr_scan with contexts through VS Code\'s MCP client: one report per context, the failing one named; the tree shows the clusters', async () => {
    const tool = await until(
      'krr_scan in vscode.lm.tools',
      async () => {
        await vscode.commands.executeCommand('workbench.mcp.startServer', '*', { waitForLiveTools: true });
        return scanTool();
      },
      40_000,
    );
    let fleet: FleetSummary | undefined;
    // An earlier suite may restart the server (krr.readOnly toggles); VS Code cancels a call in flight then: ask again.
    for (let attempt = 1; !fleet; attempt += 1) {
      try {
        const result = await vscode.lm.invokeTool(tool.name, { input: { contexts: api.settings().contexts, namespaces: ['shop'] }, toolInvocationToken: undefined });
        const text = result.content.map((part) => (part instanceof vscode.LanguageModelTextPart ? part.value : '')).join('\n');
        fleet = text.split('\n').flatMap((line) => {
          try {
            return [JSON.parse(line) as FleetSummary];
          } catch {
            return [];
          }
        })[0];
        assert.ok(fleet, text);
      } catch (error) {
        if (attempt >= 3 || !/cancel/i.test(String(error))) throw error;
      }
    }
    assert.deepEqual(fleet.reports.map((entry) => [entry.context, Boolean(entry.reportId)]), [
      ['prod-eu-1', true],
      ['staging-eu-1', true],
      ['no-such-context', false],
    ]);
    const roots = api.recommendations.getChildren() as Array<Extract<RecommendationNode, { type: 'cluster' }>>;
    assert.deepEqual(roots.map((node) => [node.type, node.context]), contexts.map((context) => ['cluster', context]));
    assert.match(String(api.recommendations.getTreeItem(roots[2] as RecommendationNode).description), /scan failed/);
    const namespaces = api.recommendations.getChildren(roots[1]);
    assert.deepEqual(namespaces.map((node) => node.type === 'namespace' && node.namespace), ['shop']);
    // The status bar names no single context for a fleet: the one whose scan finished last is no target.
    const status = await until('the status bar names the fleet', () => (/fleet/.test(api.statusBar().text) ? api.statusBar() : undefined), 10_000);
    assert.equal(status.text, '$(pulse) KRR: fleet of 3 contexts');
    assert.match(status.tooltip, /^The review shows a fleet of 3 contexts \(prod-eu-1, staging-eu-1, no-such-context\); a plan changes the one context of the workloads it selects\. Click to scan\.$/);
  });

  it('one list over the fleet with a cluster filter; the panel opens on it; a proposal goes to one context', async () => {
    const session = api.session();
    const view = session.currentReview();
    assert.ok(view && 'fleetId' in view, 'the fleet is what the review shows');
    const page = session.listRecommendations({ reportId: view.fleetId, cluster: 'staging-eu-1', pageSize: 100 });
    assert.ok(page.total > 0 && page.rows.every((row) => row.cluster === 'staging-eu-1'));
    assert.deepEqual(page.totals?.clusters.map((cluster) => cluster.cluster), ['staging-eu-1']);
    await vscode.commands.executeCommand('krr.showRecommendations');
    await until('the review panel tab', () => (vscode.window.tabGroups.all.some((group) => group.tabs.some((tab) => tab.label === 'KRR Recommendations')) ? true : undefined), 10_000);
    const staging = session.getFleet(view.fleetId).reports.find((entry) => entry.context === 'staging-eu-1');
    assert.ok(staging?.reportId);
    const plan = await session.propose({ reportId: staging.reportId, workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'frontend' }] }, { type: 'human', via: 'integration test' });
    assert.equal(plan.context, 'staging-eu-1');
    assert.equal(plan.server, staging.server);
  });
});
