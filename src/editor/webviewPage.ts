// The frame both webview pages share (the review panel, the audit log): panel options that load only from media/,
// and HTML with a strict Content-Security-Policy — styles (and, when asked, images) from the extension only, the
// page's one script by a fresh nonce, nothing inline — the shared base.css before the page's own stylesheet.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return { enableScripts: true, retainContextWhenHidden: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media')] };
}

export interface WebviewPage {
  title: string;
  /** File names in media/. */
  script: string;
  style: string;
  /** Images from the extension too (the review panel's icons). */
  images?: boolean;
  /** The markup inside <body>, before the script; static, so it needs no nonce. */
  body: string;
}

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: WebviewPage): string {
  const nonce = randomBytes(16).toString('base64');
  const media = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', file)).toString();
  const csp = `default-src 'none'; style-src ${webview.cspSource}; script-src 'nonce-${nonce}';${page.images ? ` img-src ${webview.cspSource};` : ''}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${media('base.css')}">
<link rel="stylesheet" href="${media(page.style)}">
<title>${page.title}</title>
</head>
<body>
${page.body}
<script nonce="${nonce}" src="${media(page.script)}"></script>
</body>
</html>`;
}

/**
 * Shows `html` in the panel under the extension's icon, and routes what the page sends to `receive` (untrusted input:
 * the receiver parses it) and the panel's closing to `dispose`. Returns the subscriptions, for the caller to dispose.
 */
export function showPage(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, html: string, on: { receive(message: unknown): void; dispose(): void }): vscode.Disposable[] {
  panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'krr.svg');
  panel.webview.html = html;
  return [panel.onDidDispose(() => on.dispose()), panel.webview.onDidReceiveMessage((message: unknown) => on.receive(message))];
}
