// The extension under development is loaded by the real extension host and activates without throwing.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import manifest from '../../package.json';

const extensionId = `${manifest.publisher}.${manifest.name}`;

describe('activation', () => {
  // Runs first in the suite: nothing has called activate() yet. onStartupFinished activates the extension by itself,
  // so the status-bar item is there from the start, not only after a first KRR command (issue 15).
  it('is active and shows its status-bar item before any command runs', async () => {
    const extension = vscode.extensions.getExtension<{ statusBar(): { text: string; command: string | undefined } }>(extensionId);
    assert.ok(extension);
    const deadline = Date.now() + 15_000;
    while (!extension.isActive && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(extension.isActive, true, 'activated at startup, without a command');
    const status = extension.exports.statusBar();
    assert.equal(status.text, `$(pulse) KRR: ${String(vscode.workspace.getConfiguration('krr').get('context'))}`);
    assert.equal(status.command, 'krr.scan');
  });

  it(`loads and activates ${extensionId}`, async () => {
    assert.equal(extensionId, 'krr-mcp.krr-mcp');
    const extension = vscode.extensions.getExtension(extensionId);
    assert.ok(extension, `${extensionId} is not loaded in the extension host`);
    await extension.activate();
    assert.equal(extension.isActive, true);
  });

  it('contributes at least one command that is registered once active', async () => {
    const contributed = (manifest.contributes as { commands?: { command: string }[] }).commands ?? [];
    assert.ok(contributed.length > 0, 'package.json contributes no commands');
    await vscode.extensions.getExtension(extensionId)?.activate();
    const registered = await vscode.commands.getCommands(true);
    for (const { command } of contributed) assert.ok(registered.includes(command), `${command} is contributed but not registered`);
  });
});
