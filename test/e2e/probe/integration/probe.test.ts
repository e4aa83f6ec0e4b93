// Proves the extensionTestsPath route with the probe: the extension host is real VS Code, env arrives, MCP works.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';

const probeId = 'krr-mcp-e2e.probe';

describe('probe extension in code-server', () => {
  it('runs in VS Code 1.139 with the payload environment', () => {
    assert.match(vscode.version, /^1\.139\./);
    assert.equal(process.env.KRR_PROBE_MARK, 'from-extensionEnvironment');
  });

  it('activates and registers its commands', async () => {
    const extension = vscode.extensions.getExtension(probeId);
    assert.ok(extension, `${probeId} is not loaded`);
    await extension.activate();
    assert.equal(extension.isActive, true);
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('krrProbe.diffAndAsk'));
  });

  it('starts its MCP server through VS Code and calls the tool', async function () {
    this.timeout(60_000);
    await vscode.extensions.getExtension(probeId)?.activate();
    // Providers are collected lazily after activation: ask again until the tool shows up (bounded).
    let tool: vscode.LanguageModelToolInformation | undefined;
    for (let attempt = 0; attempt < 40 && !tool; attempt++) {
      await vscode.commands.executeCommand('workbench.mcp.startServer', '*', { waitForLiveTools: true });
      tool = vscode.lm.tools.find((candidate) => candidate.name.endsWith('probe_echo'));
      if (!tool) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.ok(tool, `probe_echo missing from ${vscode.lm.tools.map((candidate) => candidate.name).join(', ')}`);
    const result = await vscode.lm.invokeTool(tool.name, { input: { text: 'hi' }, toolInvocationToken: undefined });
    const text = result.content.map((part) => (part instanceof vscode.LanguageModelTextPart ? part.value : '')).join('');
    assert.equal(text, 'echo:hi');
  });
});
