// Smoke test of the harness itself with the probe extension: palette → diff editor → modal → click, and a webview.
import assert from 'node:assert/strict';
import path from 'node:path';
import { e2eRoot } from '../lib/codeServer';
import { waitForFile, type UiTest } from '../lib/uiTest';

export const uiTest: UiTest = {
  title: 'probe: palette → diff → modal → Apply, webview',
  extensionPath: path.join(e2eRoot, 'probe'),
  prepare: async (outDir) => ({ env: { KRR_PROBE_OUT: path.join(outDir, 'probe-events') } }),
  async run({ workbench, env }) {
    const events = env.KRR_PROBE_OUT ?? '';
    const activated = JSON.parse(await waitForFile(path.join(events, 'activated.json'), 60_000)) as { vscodeVersion: string };
    assert.match(activated.vscodeVersion, /^1\.139\./);
    await workbench.screenshot('workbench');

    await workbench.runCommand('KRR Probe: Diff and Ask');
    const diff = await workbench.waitForDiffEditor();
    assert.match(diff.original, /cpu: 100m/);
    assert.match(diff.modified, /cpu: 250m/);
    assert.deepEqual((await workbench.dialogButtons()).sort(), ['Apply', 'Cancel']);
    const dialogText = await workbench.answerDialog('Apply', async () => {
      await workbench.screenshot('diff-and-modal');
    });
    assert.match(dialogText, /Apply the probe change\?/);
    assert.equal(await waitForFile(path.join(events, 'answer.txt')), 'Apply');

    await workbench.runCommand('KRR Probe: Show Webview');
    const text = await workbench.readWebview({ extensionId: 'krr-mcp-e2e.probe', expected: 'cpu 250m' });
    assert.match(text, /Probe webview/);
    await workbench.screenshot('webview');
  },
};
