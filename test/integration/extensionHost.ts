// What the extension-host tests share: the activated extension's test API, and a bounded wait for state that
// arrives asynchronously (VS Code's MCP client, the tree after a scan).
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { KrrTestApi } from '../../src/extension';

export const extensionId = 'krr-mcp.krr-mcp';

export async function krrApi(): Promise<KrrTestApi> {
  const extension = vscode.extensions.getExtension<KrrTestApi>(extensionId);
  assert.ok(extension, `extension ${extensionId} is installed`);
  const api = await extension.activate();
  assert.ok(api, 'activate() returns the test API in extension-test mode');
  return api;
}

/** Polls `probe` (every 200 ms) until it returns a value; fails naming `what` after `timeoutMs`. */
export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
