// Composition root: reads settings, builds the session with the editor's approver, wires commands, views,
// the MCP provider and Claude Code's discovery file. Activation is cheap: no process runs and no port opens here.
import { mkdirSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Report } from './core/krr/model';
import * as vscode from 'vscode';
import type { Session } from './core/session/session';
import type { SessionSettings } from './core/session/settings';
import { modalApprovalDialog, EditorApprover, type ApprovalDialog } from './editor/approver';
import { discoveryPath, removeDiscoveryFile, setUpClaudeCode, writeDiscoveryFile } from './editor/claudeCode';
import { prometheusSecretKey, registerAuditDocument, registerCommands, showProblem } from './editor/commands';
import { PlanDiff } from './editor/diff';
import { KrrMcpServerProvider, LazyHost, mcpProviderId } from './editor/mcpProvider';
import { ReviewPanel } from './editor/reviewPanel';
import { secretAuditKeyStore } from './editor/auditKeys';
import { loadEngine } from './editor/engine';
import { decideReadOnly } from './editor/trust';
import { readOnlyFromLayers } from './core/session/settingsScope';
import { displayText } from './core/text';
import { ContextStatus, RecommendationTree, SnapshotTree } from './editor/tree';

/** Returned by activate() only in extension-test mode: the seam that answers the approval dialog in tests. */
export interface KrrTestApi {
  session(): Session;
  settings(): SessionSettings;
  stateDir: string;
  globalStorage: string;
  discoveryFile: string | undefined;
  provider: KrrMcpServerProvider;
  host: LazyHost;
  diff: PlanDiff;
  approver: EditorApprover;
  /** The open review panel, if any (its state rules are tested through it). */
  reviewPanel(): ReviewPanel | undefined;
  setApprovalDialogForTests(dialog: ApprovalDialog | undefined): void;
}

const claudeCodeFlag = 'krr.claudeCode.enabled';
let onDeactivate: (() => Promise<void>) | undefined;

export function activate(context: vscode.ExtensionContext): KrrTestApi | undefined {
  const output = vscode.window.createOutputChannel('KRR', { log: true });
  const log = (line: string) => output.info(line);
  // Workspace state belongs with the workspace; with no folder open there is no storageUri, so use global storage.
  const stateDir = (context.storageUri ?? context.globalStorageUri).fsPath;
  const globalStorage = context.globalStorageUri.fsPath;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const discoveryFile = folder ? discoveryPath(globalStorage, folder.toString()) : undefined;

  // inspect() gives every layer: the gate's settings are the user's, which a workspace may only tighten (settingsScope).
  const settings = () => {
    const configuration = vscode.workspace.getConfiguration('krr');
    return loadEngine().readSessionSettings((key) => configuration.get(key), vscode.workspace.isTrusted, (key) => configuration.inspect(key));
  };
  const readOnly = (): { readOnly: boolean; reason: string | null } => {
    try {
      const current = settings();
      return { readOnly: current.readOnly, reason: current.readOnly ? (current.readOnlyReason ?? 'krr.readOnly is set') : null };
    } catch {
      return { readOnly: true, reason: 'a krr.* setting is invalid' };
    }
  };

  const diff = new PlanDiff();
  let dialog: ApprovalDialog = modalApprovalDialog;
  const approver = new EditorApprover(diff, () => dialog, log);

  const recommendations = new RecommendationTree(() => session);
  const snapshots = new SnapshotTree(() => session);
  const status = new ContextStatus();
  // The status bar reads raw configuration (no schema): it is drawn at activation, before the engine loads.
  const updateStatus = () => {
    const reportId = session?.latestReportId();
    const cluster = reportId ? (session?.reportSummary(reportId).cluster ?? null) : null;
    const configuration = vscode.workspace.getConfiguration('krr');
    const configured = configuration.get<string>('context') || null;
    const gate = decideReadOnly(vscode.workspace.isTrusted, readOnlyFromLayers(configuration.inspect('readOnly')));
    void vscode.commands.executeCommand('setContext', 'krr.readOnly', gate.readOnly);
    status.update(cluster ?? configured, { readOnly: gate.readOnly, reason: gate.readOnlyReason ?? null });
  };
  const refreshViews = () => {
    recommendations.refresh();
    snapshots.refresh();
    updateStatus();
  };

  // Built on first use, so activation creates no state directory and a bad setting surfaces on the first command.
  let session: Session | undefined;
  const getSession = (): Session => {
    if (session) return session;
    mkdirSync(stateDir, { recursive: true });
    const created = new (loadEngine().Session)({
      settings,
      approver,
      stateDir,
      log,
      secrets: { prometheusAuthHeader: async () => (await context.secrets.get(prometheusSecretKey)) || undefined },
      auditKeys: secretAuditKeyStore(context.secrets, stateDir),
    });
    created.onDidChange((event) => {
      refreshViews();
      if (event.type === 'report') void keepReport(created);
    });
    session = created;
    return created;
  };

  // The latest report outlives a window reload, so the restored review panel comes back with it (not empty).
  const keptReportFile = path.join(stateDir, 'review-report.json');
  const keepReport = async (current: Session) => {
    const reportId = current.latestReportId();
    if (!reportId) return;
    const temp = `${keptReportFile}.${process.pid}.tmp`;
    try {
      await writeFile(temp, JSON.stringify({ source: current.reportSummary(reportId).source, report: current.getReport(reportId) }), { mode: 0o600 });
      await rename(temp, keptReportFile);
    } catch (error) {
      log(`could not keep the report for a window reload: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const restoreReport = async (current: Session): Promise<boolean> => {
    let kept: { source?: unknown; report?: Partial<Report> };
    try {
      kept = JSON.parse(await readFile(keptReportFile, 'utf8')) as typeof kept;
    } catch {
      return false;
    }
    // Our own file, but checked before use: a damaged one is ignored, never half-loaded.
    const report = kept.report;
    if (typeof kept.source !== 'string' || !report || !Array.isArray(report.workloads) || !Array.isArray(report.clusters) || !Array.isArray(report.errors) || typeof report.strategy?.name !== 'string') return false;
    current.restoreReport(report as Report, kept.source);
    return true;
  };

  const host = new LazyHost(async () => {
    const started = await loadEngine().startHttpHost(getSession(), {
      version: String(context.extension.packageJSON.version ?? '0.0.0'),
      readOnly: readOnly().readOnly,
      ...(folder ? { workspaceRoot: folder.fsPath } : {}),
      log,
      onInitialize: (client) => log(`MCP client connected: ${client ? displayText(`${client.name} ${client.version}`, 100) : 'unknown'}`),
    });
    log(`MCP server listening on ${started.url}`);
    return started;
  });
  const provider = new KrrMcpServerProvider(host);
  host.onDidStart((started) => {
    if (discoveryFile && context.globalState.get<boolean>(claudeCodeFlag)) {
      writeDiscoveryFile(discoveryFile, started).catch((error: unknown) => log(`could not write the discovery file: ${String(error)}`));
    }
  });
  // The MCP server leaves out write tools when read-only: a change of trust or krr.readOnly restarts it.
  const restartHost = () => {
    updateStatus();
    if (host.isStarted()) host.restart().catch((error: unknown) => showProblem(error, output));
  };

  context.subscriptions.push(
    output,
    diff,
    recommendations,
    snapshots,
    status,
    host,
    provider,
    vscode.lm.registerMcpServerDefinitionProvider(mcpProviderId, provider),
    vscode.window.registerTreeDataProvider('krr.recommendations', recommendations),
    vscode.window.registerTreeDataProvider('krr.snapshots', snapshots),
    registerAuditDocument(getSession),
    ...registerCommands({
      extensionUri: context.extensionUri,
      session: getSession,
      settings,
      readOnly,
      secrets: context.secrets,
      output,
      refreshViews,
      closeDiff: async (planId) => {
        await diff.closeTabs(planId);
      },
      restoreReport,
      setUpClaudeCode: async () => {
        const done = await setUpClaudeCode({ extensionPath: context.extensionPath, globalStorage, workspaceFolder: folder, startHost: () => host.get(), log });
        if (done) await context.globalState.update(claudeCodeFlag, true);
      },
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(restartHost),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration('krr')) return;
      if (event.affectsConfiguration('krr.readOnly')) restartHost();
      else updateStatus();
      try {
        settings();
      } catch (error) {
        showProblem(error, output);
      }
    }),
    { dispose: () => ReviewPanel.current?.dispose() },
    { dispose: () => session?.dispose() },
  );
  updateStatus();
  // Diff tabs a window reload restored show plans the previous extension host held in memory: close them.
  void diff.closeTabs().catch((error: unknown) => log(`could not close stale diff tabs: ${String(error)}`));

  // Claude Code's relay needs a running server: after a consented setup, start it soon after (not during) activation.
  if (discoveryFile && context.globalState.get<boolean>(claudeCodeFlag)) {
    const timer = setTimeout(() => void host.get().catch((error: unknown) => log(`MCP server did not start: ${String(error)}`)), 3000);
    context.subscriptions.push({ dispose: () => clearTimeout(timer) });
  }
  onDeactivate = async () => {
    if (discoveryFile) await removeDiscoveryFile(discoveryFile);
  };

  if (context.extensionMode !== vscode.ExtensionMode.Test) return undefined;
  return {
    session: getSession,
    settings,
    stateDir,
    globalStorage,
    discoveryFile,
    provider,
    host,
    diff,
    approver,
    reviewPanel: () => ReviewPanel.current,
    setApprovalDialogForTests: (replacement) => {
      dialog = replacement ?? modalApprovalDialog;
    },
  };
}

export async function deactivate(): Promise<void> {
  await onDeactivate?.();
}
