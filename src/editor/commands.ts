// Every `KRR: …` command, registered in one place: each id forwards to the module of what a person does —
// scanCommands (scan, open a report), reviewCommands (the panel), planCommands (preview, apply), trialCommands (try
// on a few pods, the trials), rollbackCommands,
// auditCommands, prometheusAuth, manifests — all over one CommandHost (commandHost.ts).
import * as vscode from 'vscode';
import { guard, requesters, type CommandHost } from './commandHost';
import { exportAuditLog, showAuditLog, showAuditLogRaw, verifyAuditLog } from './auditCommands';
import { commitWrittenManifests, writeToManifests } from './manifests';
import { applyChosenPlan, previewSelection } from './planCommands';
import { setPrometheusAuthHeader } from './prometheusAuth';
import { registerReviewPanelSerializer, showReviewPanel } from './reviewCommands';
import { rollBack } from './rollbackCommands';
import { openReportFile, scanCluster } from './scanCommands';
import { registerTrialDocument, showTrials, tryOnPodsCommand } from './trialCommands';
import type { RecommendationNode, SnapshotNode } from './tree';

export function registerCommands(host: CommandHost): vscode.Disposable[] {
  const serializer = registerReviewPanelSerializer(host);
  const commands: Record<string, (...args: never[]) => Promise<void>> = {
    'krr.scan': guard(host, (source?: unknown) => scanCluster(host, source)),
    'krr.openReport': guard(host, () => openReportFile(host)),
    'krr.showRecommendations': guard(host, async () => {
      showReviewPanel(host);
    }),
    'krr.previewSelection': guard(host, (arg?: RecommendationNode | { via: string }, nodes?: RecommendationNode[]) => previewSelection(host, arg, nodes)),
    'krr.applyPlan': guard(host, (planId?: string | { via: string }) => applyChosenPlan(host, planId)),
    'krr.tryOnPods': guard(host, (arg?: RecommendationNode | { via: string }) => tryOnPodsCommand(host, arg)),
    'krr.showTrials': guard(host, () => showTrials(host)),
    'krr.rollBack': guard(host, (arg?: SnapshotNode | { via: string }) => rollBack(host, arg)),
    'krr.showAuditLog': guard(host, () => showAuditLog(host)),
    'krr.showAuditLogRaw': guard(host, () => showAuditLogRaw()),
    'krr.verifyAuditLog': guard(host, () => verifyAuditLog(host)),
    'krr.exportAuditLog': guard(host, () => exportAuditLog(host)),
    'krr.setPrometheusAuthHeader': guard(host, () => setPrometheusAuthHeader(host)),
    'krr.writeToManifests': guard(host, async () => {
      await writeToManifests(host.session(), requesters.palette, { readOnly: host.readOnly().readOnly }, host.closeDiff);
      host.refreshViews();
    }),
    'krr.commitManifests': guard(host, () => commitWrittenManifests()),
    'krr.setUpClaudeCode': guard(host, () => host.setUpClaudeCode()),
    'krr.showOutput': guard(host, async () => host.output.show()),
    'krr.refresh': guard(host, async () => host.refreshViews()),
  };
  return [serializer, registerTrialDocument(() => host.session()), ...Object.entries(commands).map(([id, run]) => vscode.commands.registerCommand(id, run))];
}
