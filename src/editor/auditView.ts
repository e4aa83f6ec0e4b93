// "KRR: Show Audit Log": the log as a table a person reads (time, who, via what, action, objects, outcome) with
// filters, and the raw JSONL one click away. The rows are worded in core/auditTable from the entries alone; the page
// renders them with textContent only, so a name from a cluster or an MCP client cannot inject markup.
import * as vscode from 'vscode';
import type { AuditEntry } from '../core/audit';
import { auditRows } from '../core/auditTable';
import type { Session } from '../core/session/session';
import { showPage, webviewHtml, webviewOptions } from './webviewPage';

/** Newest entries shown (and filtered) in the table; the raw JSONL and the export hold every entry. */
export const auditViewLimit = 2000;
const pageSize = 200;

type Incoming = { type: 'ready' } | { type: 'refresh' } | { type: 'command'; command: 'krr.showAuditLogRaw' | 'krr.verifyAuditLog' | 'krr.exportAuditLog' };

/** Messages from the webview are untrusted input: only known shapes pass. */
function parseIncoming(message: unknown): Incoming | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const record = message as Record<string, unknown>;
  if (record.type === 'ready' || record.type === 'refresh') return { type: record.type };
  if (record.type === 'command' && (record.command === 'krr.showAuditLogRaw' || record.command === 'krr.verifyAuditLog' || record.command === 'krr.exportAuditLog')) {
    return { type: 'command', command: record.command };
  }
  return undefined;
}

export class AuditView implements vscode.Disposable {
  static current: AuditView | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  static show(extensionUri: vscode.Uri, session: Session): AuditView {
    if (AuditView.current) {
      AuditView.current.panel.reveal();
      void AuditView.current.post();
      return AuditView.current;
    }
    const panel = vscode.window.createWebviewPanel('krr.auditLog', 'KRR Audit Log', vscode.ViewColumn.Active, webviewOptions(extensionUri));
    AuditView.current = new AuditView(panel, extensionUri, session);
    return AuditView.current;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly session: Session,
  ) {
    this.disposables.push(...showPage(panel, extensionUri, auditHtml(panel.webview, extensionUri), { receive: (message) => void this.receive(message), dispose: () => this.dispose() }));
    // Every apply, rollback and proposal appends entries: keep the open table current.
    const unsubscribe = session.onDidChange((event) => {
      if (event.type === 'apply' || event.type === 'plan' || event.type === 'report' || event.type === 'snapshot') void this.post();
    });
    this.disposables.push({ dispose: unsubscribe });
  }

  private async receive(raw: unknown): Promise<void> {
    const message = parseIncoming(raw);
    if (!message) return;
    if (message.type === 'command') await vscode.commands.executeCommand(message.command);
    else await this.post();
  }

  /** Reads the newest entries (bounded), words them and posts them with the chain status. */
  async post(): Promise<void> {
    try {
      const entries: AuditEntry[] = [];
      let total = 0;
      let chain = { valid: true, firstBrokenLine: undefined as number | undefined, problem: undefined as string | undefined };
      for (let page = 1; entries.length < auditViewLimit; page++) {
        const log = await this.session.auditLog({ page, pageSize });
        total = log.total;
        chain = { valid: log.chainValid, firstBrokenLine: log.firstBrokenLine, problem: log.chainProblem };
        entries.push(...log.entries);
        if (log.entries.length < pageSize || entries.length >= total) break;
      }
      await this.panel.webview.postMessage({ type: 'rows', rows: auditRows(entries), total, shown: entries.length, chain });
    } catch (error) {
      await this.panel.webview.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  }

  dispose(): void {
    if (AuditView.current === this) AuditView.current = undefined;
    this.panel.dispose();
    for (const disposable of this.disposables.splice(0)) disposable.dispose();
  }
}

function auditHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return webviewHtml(webview, extensionUri, {
    title: 'KRR Audit Log',
    script: 'audit.js',
    style: 'audit.css',
    body: `<header>
  <h1>KRR audit log</h1>
  <p id="summary" role="status" aria-live="polite">Loading…</p>
  <p id="chain" class="banner" hidden></p>
</header>
<form id="filters" class="filters" role="search" aria-label="Filter the audit log">
  <label>Who <select id="f-who"><option value="">All</option></select></label>
  <label>Action <select id="f-action"><option value="">All</option></select></label>
  <label>Outcome <select id="f-tone">
    <option value="">All</option><option value="ok">Done</option><option value="declined">Declined</option><option value="refused">Refused</option><option value="failed">Failed</option><option value="info">Other</option>
  </select></label>
  <label>Search <input id="f-text" type="search" placeholder="object, context, plan, via"></label>
  <span class="spacer"></span>
  <button type="button" id="raw" class="secondary" title="The log itself: one JSON entry per line, newest first">Open raw JSONL</button>
  <button type="button" id="verify" class="secondary">Verify</button>
  <button type="button" id="export" class="secondary">Export…</button>
</form>
<p id="count" role="status" aria-live="polite"></p>
<div class="table-wrap">
<table id="table" aria-label="Audit log entries, newest first">
  <thead><tr><th scope="col">Time</th><th scope="col">Who</th><th scope="col">Via</th><th scope="col">Action</th><th scope="col">Objects</th><th scope="col">Outcome</th><th scope="col">Context · plan</th></tr></thead>
  <tbody id="rows"></tbody>
</table>
</div>`,
  });
}
