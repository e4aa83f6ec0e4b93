// The packaged extension installs into code-server and it is listed as installed.
import assert from 'node:assert/strict';
import type { UiTest } from '../lib/uiTest';

export const uiTest: UiTest = {
  title: 'krr-mcp: the packaged .vsix installs and the workbench starts with it',
  async run({ workbench }) {
    await workbench.screenshot('workbench');
    await workbench.runCommand('Extensions: Show Installed Extensions');
    const row = workbench.page.locator('.extensions-viewlet .monaco-list-row', { hasText: 'KRR — Kubernetes Right-Sizing' });
    await row.first().waitFor({ state: 'visible' });
    assert.match(await row.first().innerText(), /krr-mcp/i);
    await workbench.screenshot('installed-extensions');
  },
};
