// Composition root: reads settings, builds the session with the editor's approver, wires commands, views,
// the MCP provider and Claude Code's discovery file. Activation is cheap: no process runs and no port opens here.
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Session } from './core/session/session';
import type { SessionSettings } from './core/settings';
import { modalApprovalDialog, EditorApprover, type ApprovalDialog } from './editor/approver';
import { discoveryPath, removeDiscoveryFile, setUpClaudeCode, writeDiscoveryFile } from './editor/claudeCode';
import { registerAuditDocument } from './editor/auditCommands';
import { registerCommands } from './editor/commands';
import { showProblem } from './editor/notifications';
import { prometheusSecretKey } from './editor/prometheusAuth';
import { PlanDiff } from './editor/diff';
import { ManifestDiff, workspaceEditWriter } from './editor/manifests';
import { KrrMcpServerProvider, LazyHost, mcpProviderId } from './editor/mcpProvider';
import { ReviewPanel } from './editor/reviewPanel';
import { AuditView } from './editor/auditView';
import { secretAuditKeyStore } from './editor/auditKeys';
import { loadEngine } from './editor/engine';
import { decideReadOnly, type WriteGate } from './editor/trust';
import { readOnlyFromLayers } from './core/session/settingsScope';
import { displayText } from './core/text';
import { ContextStatus, RecommendationTree, SnapshotTree } from './editor/tree';
import { TrialWatch } from './editor/trialWatch';
import { hasSnapshots, isExecutable, WalkthroughState, type WalkthroughStep } from './editor/walkthrough';
import type { CommandHost } from './editor/commandHost';

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
  manifestDiff: ManifestDiff;
  approver: EditorApprover;
  /** The side bar's recommendation tree (clusters of a fleet, namespaces, workloads). */
  recommendations: RecommendationTree;
  /** The open review panel, if any (its state rules are tested through it). */
  reviewPanel(): ReviewPanel | undefined;
  setApprovalDialogForTests(dialog: ApprovalDialog | undefined): void;
  /** The walkthrough's context keys as last set, and a way to wait for the state reads in flight. */
  walkthrough(): Promise<Record<WalkthroughStep, boolean>>;
  /** The status-bar item as drawn. */
  statusBar(): { text: string; tooltip: string; command: string | undefined };
  /** The trial watch's status-bar item as drawn (hidden while no trial runs). */
  trialStatusBar(): { text: string; visible: boolean };
  /** The extension's own SecretStorage (where "KRR: Set Prometheus Auth Header" keeps the header): tests store into it. */
  secrets: vscode.SecretStorage;
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
  const readOnly = (): WriteGate => {
    const untrusted = !vscode.workspace.isTrusted;
    try {
      const current = settings();
      return { readOnly: current.readOnly, reason: current.readOnly ? (current.readOnlyReason ?? 'krr.readOnly is set') : null, untrusted };
    } catch {
      return { readOnly: true, reason: 'a krr.* setting is invalid', untrusted };
    }
  };

  const diff = new PlanDiff();
  const manifestDiff = new ManifestDiff();
  let dialog: ApprovalDialog = modalApprovalDialog;
  const approver = new EditorApprover(diff, () => dialog, log, manifestDiff);

  const recommendations = new RecommendationTree(() => session);
  const snapshots = new SnapshotTree(() => session);
  const status = new ContextStatus();
  const walkthrough = new WalkthroughState();
  let walkthroughReads: Promise<unknown> = Promise.resolve();
  const track = (read: Promise<unknown>) => {
    walkthroughReads = Promise.all([walkthroughReads, read.catch((error: unknown) => log(`walkthrough state: ${String(error)}`))]);
  };
  // From settings and the disk only: whether krr is there (no process runs), whether a context is chosen.
  const readConfiguredState = () => {
    const configuration = vscode.workspace.getConfiguration('krr');
    walkthrough.set('contextChosen', Boolean(configuration.get<string>('context')) || walkthrough.values().scanned);
    track(isExecutable(configuration.get<string>('krrPath') || 'krr').then((found) => walkthrough.set('krrFound', found)));
  };
  // From the session: a report, a previewed plan with changes, snapshots of an apply and of a rollback.
  const readSessionState = (current: Session, event: string) => {
    if (event === 'report' && current.latestReportId()) {
      walkthrough.set('scanned', true);
      // The scan asked for a context: choosing it there completes the "pick a context" step as well as krr.context.
      walkthrough.set('contextChosen', true);
    }
    if (event === 'plan' && current.pendingPlans().some((plan) => plan.kind === 'apply')) walkthrough.set('previewed', true);
    if (event === 'apply' || event === 'snapshot' || event === 'startup') {
      track(
        current.listSnapshots().then((list) => {
          if (list.some((snapshot) => snapshot.kind === 'apply')) walkthrough.set('applied', true);
          if (list.some((snapshot) => snapshot.kind === 'rollback')) walkthrough.set('rolledBack', true);
        }),
      );
    }
  };
  // The status bar reads raw configuration (no schema): it is drawn at activation, before the engine loads.
  const updateStatus = () => {
    const reportId = session?.latestReportId();
    const cluster = reportId ? (session?.reportSummary(reportId).cluster ?? null) : null;
    const review = session?.currentReview();
    const fleet = review && 'fleetId' in review ? (session?.getFleet(review.fleetId).reports.map((entry) => entry.context) ?? []) : [];
    const configuration = vscode.workspace.getConfiguration('krr');
    const configured = configuration.get<string>('context') || null;
    const gate = decideReadOnly(vscode.workspace.isTrusted, readOnlyFromLayers(configuration.inspect('readOnly')));
    void vscode.commands.executeCommand('setContext', 'krr.readOnly', gate.readOnly);
    status.update(cluster ?? configured, { readOnly: gate.readOnly, reason: gate.readOnlyReason ?? null }, fleet);
    // A trust grant or a krr.readOnly change reaches an open panel too (its banner and Apply button).
    ReviewPanel.current?.postReadOnly();
  };
  const refreshViews = () => {
    recommendations.refresh();
    snapshots.refresh();
    updateStatus();
    // A decline appends to the audit log without a session event: the open audit table is re-read here too.
    void AuditView.current?.post();
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
      // The manifest target (GitOps): the open folders, written through a WorkspaceEdit.
      workspace: { folders: () => (vscode.workspace.workspaceFolders ?? []).filter((entry) => entry.uri.scheme === 'file').map((entry) => entry.uri.fsPath), writer: workspaceEditWriter() },
    });
    created.onDidChange((event) => {
      refreshViews();
      readSessionState(created, event.type);
      if (event.type === 'trial') trialWatch.kick();
    });
    session = created;
    return created;
  };

  // The review outlives a window reload: the session keeps its reports and plans in the state directory (signed,
  // bounded, expiring; core/session/store), and the restored review panel comes back with the newest one.
  const hasStoredState = () => existsSync(path.join(stateDir, 'reports')) || existsSync(path.join(stateDir, 'plans'));
  let restoring: Promise<boolean> | undefined;
  const restoreReport = (current: Session): Promise<boolean> => {
    restoring ??= current.restore().then(() => current.currentReview() !== null);
    return restoring;
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

  const commandHost: CommandHost = {
    extensionUri: context.extensionUri,
    session: getSession,
    settings,
    readOnly,
    secrets: context.secrets,
    memento: context.workspaceState,
    output,
    refreshViews,
    reviewed: () => walkthrough.set('reviewed', true),
    closeDiff: async (planId) => {
      await diff.closeTabs(planId);
      await manifestDiff.closeTabs(planId);
    },
    restoreReport,
    setUpClaudeCode: async () => {
      const done = await setUpClaudeCode({ extensionPath: context.extensionPath, globalStorage, workspaceFolder: folder, startHost: () => host.get(), log });
      if (done) await context.globalState.update(claudeCodeFlag, true);
    },
  };
  // One timer while a trial runs (checkTrials every krr.trial.pollSeconds), disposed with the extension.
  const trialWatch = new TrialWatch(commandHost);

  context.subscriptions.push(
    output,
    trialWatch,
    diff,
    manifestDiff,
    recommendations,
    snapshots,
    status,
    host,
    provider,
    vscode.lm.registerMcpServerDefinitionProvider(mcpProviderId, provider),
    vscode.window.registerTreeDataProvider('krr.recommendations', recommendations),
    vscode.window.registerTreeDataProvider('krr.snapshots', snapshots),
    registerAuditDocument(getSession),
    ...registerCommands(commandHost),
    vscode.workspace.onDidGrantWorkspaceTrust(restartHost),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration('krr')) return;
      if (event.affectsConfiguration('krr.readOnly')) restartHost();
      else updateStatus();
      readConfiguredState();
      try {
        settings();
      } catch (error) {
        showProblem(error, output);
      }
    }),
    { dispose: () => ReviewPanel.current?.dispose() },
    { dispose: () => AuditView.current?.dispose() },
    { dispose: () => session?.dispose() },
  );
  updateStatus();
  readConfiguredState();
  // Applies and rollbacks of earlier sessions are on disk as snapshots: read them after (not during) activation, and
  // only when there are any, so a first start loads no engine.
  const startupRead = setTimeout(() => {
    track(hasSnapshots(stateDir).then((any) => (any ? readSessionState(getSession(), 'startup') : undefined)));
  }, 500);
  context.subscriptions.push({ dispose: () => clearTimeout(startupRead) });
  // Trials of an earlier window: one pass soon after activation (overdue ones are named, running ones watched again),
  // only when there are any, so a first start loads no engine.
  const trialRead = setTimeout(() => {
    if (existsSync(path.join(stateDir, 'trials'))) trialWatch.startup().catch((error: unknown) => log(`trial watch: ${String(error)}`));
  }, 700);
  context.subscriptions.push({ dispose: () => clearTimeout(trialRead) });

  // A window reload keeps the review: an earlier window's reports and plans are in the state directory. They are read
  // right after (not during) activation, and only when there are any: loading the engine takes ~0.5 s, and a first
  // activation stays cheap and creates nothing. The review panel's serializer waits for the same restore.
  if (hasStoredState()) {
    const restoreSoon = setTimeout(() => void restoreReport(getSession()).then(refreshViews, (error: unknown) => log(`could not load the stored reports and plans: ${String(error)}`)), 0);
    context.subscriptions.push({ dispose: () => clearTimeout(restoreSoon) });
  }
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
    manifestDiff,
    approver,
    recommendations,
    reviewPanel: () => ReviewPanel.current,
    secrets: context.secrets,
    setApprovalDialogForTests: (replacement) => {
      dialog = replacement ?? modalApprovalDialog;
    },
    walkthrough: async () => {
      // Reads started by a read that just finished are waited for too (bounded).
      for (let round = 0; round < 5; round++) {
        const pending = walkthroughReads;
        await pending;
        if (pending === walkthroughReads) break;
      }
      return walkthrough.values();
    },
    statusBar: () => status.drawn(),
    trialStatusBar: () => trialWatch.drawn(),
  };
}

export async function deactivate(): Promise<void> {
  await onDeactivate?.();
}
