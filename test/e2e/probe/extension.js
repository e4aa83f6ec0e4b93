// Probe extension: each event the harness must observe is written as a file into $KRR_PROBE_OUT.
const vscode = require('vscode');
const fs = require('node:fs');
const path = require('node:path');

function record(name, data) {
  const dir = process.env.KRR_PROBE_OUT;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), typeof data === 'string' ? data : JSON.stringify(data, null, 2));
}

const scheme = 'krr-probe';
const texts = { 'left.yaml': 'cpu: 100m\nmemory: 128Mi\n', 'right.yaml': 'cpu: 250m\nmemory: 128Mi\n' };

function activate(context) {
  context.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(scheme, {
      provideTextDocumentContent: (uri) => texts[uri.path.replace(/^\//, '')] ?? '',
    }),
    vscode.commands.registerCommand('krrProbe.diffAndAsk', async () => {
      await vscode.commands.executeCommand(
        'vscode.diff',
        vscode.Uri.parse(`${scheme}:/left.yaml`),
        vscode.Uri.parse(`${scheme}:/right.yaml`),
        'Probe: current ↔ proposed',
      );
      record('diff-opened.txt', new Date().toISOString());
      const answer = await vscode.window.showWarningMessage('Apply the probe change?', { modal: true, detail: 'cpu 100m → 250m' }, 'Apply');
      record('answer.txt', String(answer));
      return answer;
    }),
    vscode.commands.registerCommand('krrProbe.showWebview', () => {
      const panel = vscode.window.createWebviewPanel('krrProbe.view', 'Probe View', vscode.ViewColumn.One, {});
      panel.webview.html = '<!DOCTYPE html><html><body><h1>Probe webview</h1><p id="value">cpu 250m</p></body></html>';
      record('webview-opened.txt', new Date().toISOString());
    }),
    vscode.lm.registerMcpServerDefinitionProvider('krrProbe.mcp', {
      provideMcpServerDefinitions: () => [
        new vscode.McpStdioServerDefinition('krr-probe', process.execPath, [path.join(__dirname, 'mcp-server.js')]),
      ],
    }),
  );
  record('activated.json', { vscodeVersion: vscode.version, node: process.version, uiKind: vscode.env.uiKind });
}

function deactivate() {}

module.exports = { activate, deactivate };
