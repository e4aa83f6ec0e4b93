// The audit log's commands: the table (AuditView), the raw JSONL as a read-only document, verification of the keyed
// chain, and an export (JSON Lines or CSV). The session reads, verifies and formats; these only show and save.
import * as vscode from 'vscode';
import type { Session } from '../core/session/session';
import type { CommandHost } from './commandHost';
import { AuditView } from './auditView';

export const auditScheme = 'krr-audit';

/** "KRR: Show Audit Log": the table a person reads. */
export async function showAuditLog(host: CommandHost): Promise<void> {
  const view = AuditView.show(host.extensionUri, host.session());
  await view.post();
}

/** "KRR: Show Audit Log (Raw JSONL)": the document of registerAuditDocument, fresh on every open. */
export async function showAuditLogRaw(): Promise<void> {
  const uri = vscode.Uri.from({ scheme: auditScheme, path: '/audit-log.jsonl', query: String(Date.now()) });
  const document = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(document, { preview: false });
}

export async function verifyAuditLog(host: CommandHost): Promise<void> {
  const result = await host.session().verifyAudit();
  const legacy = result.legacyEntries > 0 ? `; entries 1–${result.legacyEntries} were written before the log was keyed (hash chain only)` : '';
  if (result.valid) void vscode.window.showInformationMessage(`KRR: the audit log is intact (${result.entries} entries, keyed chain and head verified${legacy}${result.tornTail ? '; an unfinished last line (a crash mid-write) is cut on the next entry' : ''}).`);
  else void vscode.window.showErrorMessage(`KRR: the audit log was modified: ${result.firstBrokenLine ? `the chain breaks at line ${result.firstBrokenLine}` : 'its end, head or key does not match'}${result.reason ? ` (${result.reason})` : ''}.`);
}

/** "KRR: Export Audit Log…": the format follows the file name the person chose (.csv, else JSON Lines). */
export async function exportAuditLog(host: CommandHost): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const target = await vscode.window.showSaveDialog({
    title: 'Export the KRR audit log',
    filters: { 'JSON Lines': ['jsonl'], CSV: ['csv'] },
    ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, 'krr-audit.jsonl') } : {}),
  });
  if (!target) return;
  const format = target.path.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl';
  await vscode.workspace.fs.writeFile(target, Buffer.from(await host.session().exportAudit(format), 'utf8'));
  void vscode.window.showInformationMessage(`KRR: audit log exported to ${target.fsPath} (${format.toUpperCase()}).`);
}

/** The audit log as a read-only document: newest first, one JSON entry per line, chain status on top. */
export function registerAuditDocument(session: () => Session): vscode.Disposable {
  return vscode.workspace.registerTextDocumentContentProvider(auditScheme, {
    provideTextDocumentContent: async () => {
      const log = await session().auditLog({ pageSize: 200 });
      const status = log.chainValid ? 'hash chain intact' : `HASH CHAIN BROKEN at line ${log.firstBrokenLine ?? '?'}`;
      const header = `// KRR audit log: ${log.total} entries, ${status}; showing the newest ${log.entries.length}, newest first.`;
      return [header, ...log.entries.map((entry) => JSON.stringify(entry))].join('\n') + '\n';
    },
  });
}
