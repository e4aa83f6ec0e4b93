// The extension under development is loaded by the real extension host and activates without throwing.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import manifest from '../../package.json';

const extensionId = `${manifest.publisher}.${manifest.name}`;

describe('activation', () => {
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
