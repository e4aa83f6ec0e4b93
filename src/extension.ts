// Composition root: builds the session and wires the editor layer and the MCP server.
import type * as vscode from 'vscode';

export function activate(_context: vscode.ExtensionContext): void {
  // Wired in the editor issue.
}

export function deactivate(): void {}
