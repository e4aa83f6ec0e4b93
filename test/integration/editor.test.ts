// Extension-host tests of the editor layer: run by the e2e runner inside a real VS Code (code-server 1.139).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import * as vscode from 'vscode';
import type { Plan } from '../../src/core/plan/model';
import type { ApprovalText } from '../../src/core/model';
import { modalApprovalDialog } from '../../src/editor/approver';
import { McpJsonError, mergeMcpJson, relayEntry, writeDiscoveryFile } from '../../src/editor/claudeCode';
import { liveScheme, objectDiffTitle, planDiffTitle, proposedScheme } from '../../src/editor/diff';
import { explainProblem, krrInstallUrl } from '../../src/editor/problem';
import { parseIncoming } from '../../src/editor/reviewMessages';
import { panelCell } from '../../src/editor/reviewRows';
import { decideReadOnly, readSessionSettings, untrustedReason } from '../../src/editor/settings';
import { extensionId, krrApi } from './extensionHost';

function objectChange(name: string) {
  return {
    namespace: 'shop',
    kind: 'Deployment' as const,
    name,
    apiVersion: 'apps/v1',
    uid: 'uid-' + name,
    resourceVersion: '42',
    generation: 1,
    changes: [],
    ops: [],
    liveManifest: `kind: Deployment\nmetadata:\n  name: ${name}\n# live\n`,
    proposedManifest: `kind: Deployment\nmetadata:\n  name: ${name}\n# proposed\n`,
    pods: 2,
    podsSource: 'spec.replicas',
    monthlyCostDelta: -1,
    findings: [],
    stage: 1,
  };
}

function fakePlan(names: string[]): Plan {
  const id = `plan${Math.random().toString(16).slice(2, 10)}`;
  return {
    id,
    digest: `sha256:${id}`,
    kind: 'apply',
    context: 'kind-test',
    server: 'https://127.0.0.1:6443',
    createdAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
    requestedBy: { type: 'model', via: 'test' },
    objects: names.map(objectChange),
    blocked: [],
    warnings: [],
    totals: { objects: names.length, containers: names.length, changes: 0, cpuRequestDelta: 0, memoryRequestDelta: 0, cpuLimitDelta: 0, memoryLimitDelta: 0, monthlyCostDelta: -1, blocked: 0 },
    risk: 'low',
    riskReasons: [],
    staged: false,
  };
}

const text: ApprovalText = { title: 'Apply 1 change to kind-test?', detail: 'Deployment shop/web', confirmLabel: 'Apply', typeToConfirm: null, notice: null };

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
}

function openTabLabels(): string[] {
  return vscode.window.tabGroups.all.flatMap((group) => group.tabs.map((tab) => tab.label));
}

describe('activation and contributions', () => {
  it('activates and registers every contributed command', async () => {
    await krrApi();
    const extension = vscode.extensions.getExtension(extensionId);
    const contributed = (extension?.packageJSON.contributes.commands as Array<{ command: string }>).map((command) => command.command);
    assert.ok(contributed.length >= 12);
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(contributed.filter((command) => !registered.has(command)), []);
  });

  it('keeps workspace state under storageUri (or global storage without a folder)', async () => {
    const api = await krrApi();
    if (vscode.workspace.workspaceFolders?.length) assert.match(api.stateDir, /workspaceStorage/);
    else assert.equal(api.stateDir, api.globalStorage);
    const extension = vscode.extensions.getExtension(extensionId);
    const report = join(extension!.extensionPath, 'test', 'fixtures', 'sample-report.json');
    const summary = await api.session().loadReport(report, { type: 'human', via: 'integration test' });
    assert.equal(summary.containers, 7);
    assert.ok(existsSync(join(api.stateDir, 'audit.jsonl')), 'the audit log is written inside the state directory');
    // Keyed with a key from SecretStorage: no key file beside the log, a head file, a MAC on every entry.
    assert.equal(existsSync(join(api.stateDir, 'audit.key')) || existsSync(join(api.stateDir, 'audit.jsonl.key')), false, 'no key file in the storage folder');
    assert.ok(existsSync(join(api.stateDir, 'audit.jsonl.head')));
    const lines = readFileSync(join(api.stateDir, 'audit.jsonl'), 'utf8').trimEnd().split('\n');
    for (const line of lines) assert.match(line, /"mac":"[0-9a-f]{64}"/);
    const verified = await api.session().verifyAudit();
    assert.equal(verified.valid, true, verified.reason);
  });

  it('opens the review panel for a loaded report', async () => {
    const api = await krrApi();
    const extension = vscode.extensions.getExtension(extensionId);
    await api.session().loadReport(join(extension!.extensionPath, 'test', 'fixtures', 'sample-report.json'), { type: 'human', via: 'integration test' });
    await vscode.commands.executeCommand('krr.showRecommendations');
    await until(() => openTabLabels().includes('KRR Recommendations'));
    assert.ok(openTabLabels().includes('KRR Recommendations'), `tabs: ${openTabLabels().join(', ')}`);
  });
});

describe('commands from a cold start', () => {
  it('finish (with a message, not an exception or a hang) when something is missing', async () => {
    await krrApi();
    // No previewed plan: explains, returns.
    await vscode.commands.executeCommand('krr.applyPlan');
    await vscode.commands.executeCommand('krr.verifyAuditLog');
    const config = vscode.workspace.getConfiguration('krr');
    await config.update('strategy', 'bogus', vscode.ConfigurationTarget.Global);
    try {
      // The error notification stays up; the command must still return.
      const settled = await Promise.race([vscode.commands.executeCommand('krr.scan').then(() => 'done'), new Promise((resolve) => setTimeout(() => resolve('hung'), 5000))]);
      assert.equal(settled, 'done');
    } finally {
      await config.update('strategy', undefined, vscode.ConfigurationTarget.Global);
    }
  });
});

describe('MCP server definition provider', () => {
  it('provides the URL without the token and resolves a fresh definition with the bearer header', async () => {
    const api = await krrApi();
    const provided = await api.provider.provideMcpServerDefinitions();
    assert.equal(provided.length, 1);
    const definition = provided[0]!;
    assert.equal(definition.label, 'KRR right-sizing');
    assert.match(definition.uri.toString(), /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    assert.equal(definition.headers?.Authorization, undefined, 'provide never carries the token');
    const running = await api.host.get();
    const resolved = await api.provider.resolveMcpServerDefinition(definition);
    assert.notEqual(resolved, definition, 'a fresh object, not the cached one');
    assert.equal(resolved.headers.Authorization, `Bearer ${running.token}`);
    // VS Code hands back the previous object on restart: resolve must not keep a stale header.
    const stale = new vscode.McpHttpServerDefinition('KRR right-sizing', definition.uri, { Authorization: 'Bearer old' });
    assert.equal((await api.provider.resolveMcpServerDefinition(stale)).headers.Authorization, `Bearer ${running.token}`);
  });

  it('serves MCP to an SDK client that uses exactly the resolved definition, and refuses one without it', async () => {
    const api = await krrApi();
    const [definition] = await api.provider.provideMcpServerDefinitions();
    const resolved = await api.provider.resolveMcpServerDefinition(definition!);
    const client = new Client({ name: 'integration-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(resolved.uri.toString()), { requestInit: { headers: resolved.headers } }));
    try {
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      for (const name of ['krr_status', 'krr_scan', 'krr_list_recommendations', 'krr_propose_changes']) assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
      assert.equal(names.includes('krr_apply_plan'), !api.settings().readOnly, 'write tools exist exactly when writes are allowed');
    } finally {
      await client.close();
    }
    const anonymous = new Client({ name: 'no-token', version: '1.0.0' });
    await assert.rejects(anonymous.connect(new StreamableHTTPClientTransport(new URL(resolved.uri.toString()))));
  });

  it('is started by VS Code itself and its tools appear in vscode.lm.tools', async function () {
    this.timeout(30_000);
    await krrApi();
    await vscode.commands.executeCommand('workbench.mcp.startServer', '*', { waitForLiveTools: true });
    await until(() => vscode.lm.tools.some((tool) => tool.name.endsWith('krr_status')), 20_000);
    assert.ok(vscode.lm.tools.some((tool) => tool.name.endsWith('krr_status')), `tools: ${vscode.lm.tools.map((tool) => tool.name).join(', ')}`);
  });
});

describe('approver', () => {
  afterEach(async () => {
    (await krrApi()).setApprovalDialogForTests(undefined);
  });

  it('approves with the digest of the plan that was shown, through the test seam', async () => {
    const api = await krrApi();
    const plan = fakePlan(['web']);
    const asked: string[] = [];
    api.setApprovalDialogForTests(async (shown, dialogText) => {
      asked.push(`${shown.id}:${dialogText.title}`);
      return { outcome: 'approved', digest: shown.digest };
    });
    const decision = await api.approver.requestApproval(plan, text, new AbortController().signal);
    assert.deepEqual(decision, { outcome: 'approved', digest: plan.digest });
    assert.deepEqual(asked, [`${plan.id}:${text.title}`]);
    // The person saw the diff before answering.
    assert.ok(openTabLabels().includes(objectDiffTitle(plan, plan.objects[0]!)), `tabs: ${openTabLabels().join(', ')}`);
  });

  it("a model's request opens nothing by itself: the diff opens only when the person chooses to review", async () => {
    const api = await krrApi();
    const plan = fakePlan(['model-asked']);
    const title = objectDiffTitle(plan, plan.objects[0]!);
    const modelText: ApprovalText = { ...text, notice: `KRR: the AI chat (test) asks to apply ${plan.id} (1 change in kind-test).` };
    let tabsWhenAsked: string[] = [];
    api.setApprovalDialogForTests(async (_shown, dialogText, _signal, review) => {
      tabsWhenAsked = openTabLabels();
      assert.equal(dialogText.notice, modelText.notice);
      await review();
      return { outcome: 'declined', reason: 'test' };
    });
    await api.approver.requestApproval(plan, modelText, new AbortController().signal);
    assert.ok(!tabsWhenAsked.includes(title), `no diff before the notice was answered: ${tabsWhenAsked.join(', ')}`);
    await until(() => openTabLabels().includes(title));
    assert.ok(openTabLabels().includes(title), `Review opened the diff: ${openTabLabels().join(', ')}`);
  });

  it('dismissing the dialog declines', async () => {
    const api = await krrApi();
    api.setApprovalDialogForTests(async () => ({ outcome: 'declined', reason: 'dismissed the approval dialog' }));
    const decision = await api.approver.requestApproval(fakePlan(['api']), text, new AbortController().signal);
    assert.equal(decision.outcome, 'declined');
  });

  it('a dialog that throws declines instead of approving', async () => {
    const api = await krrApi();
    api.setApprovalDialogForTests(async () => {
      throw new Error('boom');
    });
    const decision = await api.approver.requestApproval(fakePlan(['api']), text, new AbortController().signal);
    assert.equal(decision.outcome, 'declined');
  });

  it('the real modal never approves in test mode (VS Code refuses dialogs there)', async () => {
    const api = await krrApi();
    api.setApprovalDialogForTests(undefined);
    const decision = await api.approver.requestApproval(fakePlan(['db']), text, AbortSignal.timeout(5000));
    assert.notEqual(decision.outcome, 'approved');
  });

  it('an aborted wait is a timeout, not an approval', async () => {
    const decision = await modalApprovalDialog(fakePlan(['db']), text, AbortSignal.abort(), async () => undefined);
    assert.equal(decision.outcome, 'timeout');
  });
});

describe('plan diff', () => {
  it('serves live and proposed manifests on read-only schemes', async () => {
    const api = await krrApi();
    const plan = fakePlan(['checkout', 'frontend']);
    await api.diff.show(plan);
    for (const object of plan.objects) {
      const uris = api.diff.uris(plan, object);
      assert.equal(uris.live.scheme, liveScheme);
      assert.equal(uris.proposed.scheme, proposedScheme);
      assert.equal((await vscode.workspace.openTextDocument(uris.live)).getText(), object.liveManifest);
      assert.equal((await vscode.workspace.openTextDocument(uris.proposed)).getText(), object.proposedManifest);
    }
  });

  it('titles a single-object diff with kind, name, namespace and context', () => {
    // Each name isolated (FSI…PDI), so a right-to-left name cannot reorder the title.
    assert.equal(objectDiffTitle({ kind: 'apply', context: 'prod' }, { kind: 'Deployment', name: 'web', namespace: 'shop' }), 'Deployment/\u2068web\u2069 (\u2068shop\u2069) — live ↔ proposed · \u2068prod\u2069');
  });

  it('shows a hidden character in a name as a code, never raw, in both titles', () => {
    const plan = { id: 'plan-000000000001', kind: 'apply' as const, context: 'ctx\u202Eevil', objects: [{}, {}], conflicts: [] };
    const title = objectDiffTitle(plan, { kind: 'Deployment', name: 'a\u202Egnp.exe', namespace: 'shop' });
    assert.equal(title, 'Deployment/\u2068a⟨U+202E⟩gnp.exe\u2069 (\u2068shop\u2069) — live ↔ proposed · \u2068ctx⟨U+202E⟩evil\u2069');
    assert.equal(planDiffTitle(plan as never), 'KRR plan-000000000001: 2 objects — live ↔ proposed · \u2068ctx⟨U+202E⟩evil\u2069');
  });
});

describe('settings and trust', () => {
  const defaults = (overrides: Record<string, unknown> = {}) => (key: string) => overrides[key];

  it('an untrusted workspace is read-only whatever krr.readOnly says', () => {
    assert.deepEqual(decideReadOnly(false, false), { readOnly: true, readOnlyReason: untrustedReason });
    const settings = readSessionSettings(defaults({ readOnly: false }), false);
    assert.equal(settings.readOnly, true);
    assert.equal(settings.readOnlyReason, untrustedReason);
    assert.equal(settings.workspaceTrusted, false, 'and its manifests are not rendered');
    assert.equal(readSessionSettings(defaults({ readOnly: true }), true).workspaceTrusted, true);
  });

  it('a trusted workspace writes unless krr.readOnly is on', () => {
    assert.equal(readSessionSettings(defaults(), true).readOnly, false);
    assert.equal(readSessionSettings(defaults({ readOnly: true }), true).readOnly, true);
  });

  it('matches the real trust state of this window', async () => {
    const api = await krrApi();
    assert.equal(api.settings().readOnly, !vscode.workspace.isTrusted || vscode.workspace.getConfiguration('krr').get('readOnly') === true);
  });

  it('treats empty optional settings as unset and names a bad setting', () => {
    const settings = readSessionSettings(defaults({ kubeconfig: '', context: '', historyHours: null }), true);
    assert.equal(settings.kubeconfig, undefined);
    assert.equal(settings.context, undefined);
    assert.throws(() => readSessionSettings(defaults({ 'policy.maxDecreasePercent': 150 }), true), /krr\.policy\.maxDecreasePercent/);
    assert.throws(() => readSessionSettings(defaults({ readOnly: 'yes' }), false), /krr\.readOnly/);
  });

  it('a workspace .vscode/settings.json cannot loosen the gate: readOnly stays on, confirmByTyping keeps the user\'s, kubectlPath is user-only', async () => {
    const api = await krrApi();
    const config = vscode.workspace.getConfiguration('krr');
    const userKubectl = api.settings().kubectlPath;
    assert.equal(config.inspect('kubectlPath')?.defaultValue, 'kubectl');
    try {
      await config.update('readOnly', true, vscode.ConfigurationTarget.Global);
      await config.update('readOnly', false, vscode.ConfigurationTarget.Workspace);
      await config.update('confirmByTyping', ['*prod*'], vscode.ConfigurationTarget.Global);
      await config.update('confirmByTyping', [], vscode.ConfigurationTarget.Workspace);
      // VS Code resolves the workspace's false over the user's true; the gate does not.
      assert.equal(vscode.workspace.getConfiguration('krr').get('readOnly'), false);
      const settings = api.settings();
      assert.equal(settings.readOnly, true);
      assert.deepEqual(settings.confirmByTyping, ['*prod*']);
      // A machine-scoped setting cannot be written to the workspace at all (and would be ignored if it were there).
      await assert.rejects(async () => config.update('kubectlPath', '/tmp/kubectl-wrapper', vscode.ConfigurationTarget.Workspace));
      assert.equal(api.settings().kubectlPath, userKubectl);
    } finally {
      await config.update('readOnly', undefined, vscode.ConfigurationTarget.Workspace);
      await config.update('confirmByTyping', undefined, vscode.ConfigurationTarget.Workspace);
      await config.update('readOnly', undefined, vscode.ConfigurationTarget.Global);
      await config.update('confirmByTyping', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('reports an invalid user setting by name instead of failing', async () => {
    const api = await krrApi();
    const config = vscode.workspace.getConfiguration('krr');
    await config.update('applyConcurrency', 0, vscode.ConfigurationTarget.Global);
    try {
      assert.throws(() => api.settings(), /krr\.applyConcurrency/);
    } finally {
      await config.update('applyConcurrency', undefined, vscode.ConfigurationTarget.Global);
    }
    // The default since the API channel (issue 14): 16.
    assert.equal(api.settings().applyConcurrency, 16);
  });
});

describe('problems explained', () => {
  it('a missing krr offers Install krr and Set krr path', () => {
    const problem = explainProblem(Object.assign(new Error('krr was not found at krr.'), { name: 'SessionError', code: 'krr', hint: 'Install krr.' }));
    assert.deepEqual(
      problem.actions.map((action) => action.label),
      ['Install krr', 'Set krr path'],
    );
    assert.deepEqual(problem.actions[0], { label: 'Install krr', type: 'open-url', url: krrInstallUrl });
  });

  it('a workload that is not found is not mistaken for a missing kubectl', () => {
    const problem = explainProblem(Object.assign(new Error('deployments.apps "web" not found'), { name: 'KubectlError', kind: 'not-found', hint: '' }));
    assert.ok(!problem.actions.some((action) => action.label === 'Install kubectl'));
    const missing = explainProblem(Object.assign(new Error('spawn kubectl ENOENT'), { name: 'SessionError', code: 'kubectl', hint: '' }));
    assert.deepEqual(missing.actions.map((action) => action.label), ['Install kubectl', 'Set kubectl path']);
  });

  it('read-only because of trust offers Manage Workspace Trust; because of krr.readOnly, the setting', () => {
    const untrusted = explainProblem(
      Object.assign(new Error('The workspace is not trusted: KRR does not read or render its manifests (kubectl kustomize could fetch remote bases a kustomization names), and writes are off.'), {
        name: 'SessionError',
        code: 'read-only',
        hint: 'Trust the workspace (Workspaces: Manage Workspace Trust) to propose edits of its manifests; scans and cluster previews work without it.',
      }),
    );
    assert.deepEqual(untrusted.actions, [{ label: 'Manage Workspace Trust', type: 'command', command: 'workbench.trust.manage' }]);
    const setting = explainProblem(Object.assign(new Error('Writes are disabled: the setting krr.readOnly is on.'), { name: 'SessionError', code: 'read-only', hint: '' }));
    assert.deepEqual(setting.actions, [{ label: 'Open Settings', type: 'open-setting', setting: 'krr.readOnly' }]);
  });

  it('the panel may ask for Manage Workspace Trust, and for no other workbench command', () => {
    assert.deepEqual(parseIncoming({ type: 'command', command: 'workbench.trust.manage' }), { type: 'command', command: 'workbench.trust.manage' });
    assert.equal(parseIncoming({ type: 'command', command: 'workbench.action.terminal.new' }), undefined);
  });

  it('a settings error opens that setting', () => {
    const problem = explainProblem(Object.assign(new Error('Setting krr.strategy is invalid'), { name: 'SettingsError', key: 'strategy' }));
    assert.deepEqual(problem.actions, [{ label: 'Open Settings', type: 'open-setting', setting: 'krr.strategy' }]);
  });

  it('review cells carry the relative change', () => {
    assert.deepEqual(panelCell('500m', '250m'), { from: '500m', to: '250m', percent: -50, same: false });
    assert.deepEqual(panelCell(null, '100Mi'), { from: null, to: '100Mi', percent: null, same: false });
    assert.deepEqual(panelCell('1Gi', '?'), { from: '1Gi', to: '?', percent: null, same: false });
    // Compared by value: a live 1024Mi is the recommended 1Gi.
    assert.deepEqual(panelCell('1024Mi', '1Gi'), { from: '1024Mi', to: '1Gi', percent: 0, same: true });
  });
});

describe('Claude Code setup', () => {
  const entry = relayEntry('/g/relay/krr-mcp.js', '/g/discovery/x.json');

  it('merges into .mcp.json without dropping other servers or keys', () => {
    const merged = JSON.parse(mergeMcpJson(JSON.stringify({ mcpServers: { other: { command: 'x' } }, extra: 1 }), entry));
    assert.deepEqual(merged, { mcpServers: { other: { command: 'x' }, krr: { command: 'node', args: ['/g/relay/krr-mcp.js', 'relay', '--discovery', '/g/discovery/x.json'] } }, extra: 1 });
    assert.deepEqual(JSON.parse(mergeMcpJson(undefined, entry)), { mcpServers: { krr: entry } });
  });

  it('refuses invalid JSON instead of clobbering it', () => {
    assert.throws(() => mergeMcpJson('{ "mcpServers": { ', entry), McpJsonError);
    assert.throws(() => mergeMcpJson('[]', entry), McpJsonError);
    assert.throws(() => mergeMcpJson('{"mcpServers": 3}', entry), McpJsonError);
  });

  it('writes the discovery file with mode 0600', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'krr-discovery-')), 'nested', 'd.json');
    await writeDiscoveryFile(path, { url: 'http://127.0.0.1:1/mcp', token: 'secret' });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { url: 'http://127.0.0.1:1/mcp', token: 'secret', pid: process.pid });
  });
});
