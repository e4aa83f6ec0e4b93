// The krr extension's own UI as a test drives it: the scan's quick picks, the review panel's checkboxes and buttons,
// the KRR side bar. Selectors follow what the extension renders (media/review.js, src/editor/tree.ts).
import type { FrameLocator, Locator } from 'playwright-core';
import type { Workbench } from './browser';
import { extensionId } from './krrEnvironment';

export const panelTitle = 'KRR Recommendations';

/** Enter while the quick input shows `title` (the scan asks three times: context, namespaces, strategy). */
async function acceptQuickInput(workbench: Workbench, title: string | RegExp): Promise<void> {
  const widget = workbench.page.locator('.quick-input-widget');
  await widget.locator('.quick-input-title', { hasText: title }).waitFor({ state: 'visible' });
  await workbench.page.keyboard.press('Enter');
}

/** `KRR: Scan Cluster…` from the palette, accepting the offered context (first: krr.context), namespaces (all), strategy. */
export async function scanFromPalette(workbench: Workbench, expectedContext: string): Promise<void> {
  await workbench.runCommand('KRR: Scan Cluster…');
  const first = workbench.page.locator('.quick-input-widget .monaco-list-row').first();
  await first.waitFor({ state: 'visible' });
  const label = await first.locator('.label-name').innerText();
  if (label.trim() !== expectedContext) throw new Error(`the scan offered ${label} first, expected ${expectedContext}`);
  await acceptQuickInput(workbench, /1\/3 context/);
  await acceptQuickInput(workbench, /2\/3 namespaces/);
  await acceptQuickInput(workbench, /3\/3 strategy/);
}

export function panel(workbench: Workbench): FrameLocator {
  return workbench.webview(extensionId);
}

/** Brings the review panel's tab to the front (a diff editor opened over it) without re-posting its rows. */
export async function focusPanel(workbench: Workbench): Promise<void> {
  await workbench.page.locator('.tabs-container .tab', { hasText: panelTitle }).first().click();
  await panel(workbench).locator('#main').waitFor({ state: 'visible' });
}

export function workloadCheckbox(workbench: Workbench, kind: string, namespace: string, name: string): Locator {
  return panel(workbench).locator(`input[type="checkbox"][aria-label="Select ${kind} ${namespace}/${name}"]`);
}

/** Waits for the panel's plan line to match `expected` and returns it. */
export async function waitForPlanLine(workbench: Workbench, expected: RegExp): Promise<string> {
  const line = panel(workbench).locator('#plan');
  await line.filter({ hasText: expected }).waitFor({ state: 'visible' });
  return line.innerText();
}

/** Every diff editor on screen (the multi-file diff shows one per object), texts as rendered, spaces normalised. */
export async function readDiffEditors(workbench: Workbench): Promise<Array<{ original: string; modified: string }>> {
  const editors = workbench.page.locator('.monaco-diff-editor');
  await editors.first().waitFor({ state: 'visible' });
  const result: Array<{ original: string; modified: string }> = [];
  for (const editor of await editors.all()) {
    const original = (await editor.locator('.editor.original .view-lines').innerText()).replace(/\u00a0/g, ' ');
    const modified = (await editor.locator('.editor.modified .view-lines').innerText()).replace(/\u00a0/g, ' ');
    result.push({ original, modified });
  }
  return result;
}

/** Opens the KRR container in the activity bar. */
export async function openKrrSideBar(workbench: Workbench): Promise<void> {
  await workbench.page.locator('.activitybar .action-item .action-label[aria-label^="KRR Right-Sizing"]').first().click();
  await workbench.page.locator('.pane-header', { hasText: 'Snapshots' }).first().waitFor({ state: 'visible' });
}

/** The rows of the Snapshots view (newest first). */
export function snapshotRows(workbench: Workbench): Locator {
  return workbench.page.locator('.pane', { has: workbench.page.locator('.pane-header', { hasText: 'Snapshots' }) }).locator('.monaco-list-row');
}

/** Text without the Unicode isolates (U+2068…U+2069) the extension puts around every name it shows. */
export function withoutIsolates(text: string): string {
  return text.replace(/[\u2068\u2069]/gu, '');
}

/** Polls `condition` every 100 ms until it returns a value other than undefined, bounded by `timeoutMs`. */
export async function until<T>(what: string, condition: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The approval modal ignores an Apply in its first moment (src/editor/approver.ts approvalArmMs): a person reads first. */
export const approvalArmMs = 1500;

/** Reads the open approval modal, waits past its arming delay, and clicks `label`; returns the dialog's text. */
export async function answerApproval(workbench: Workbench, label: string, beforeClick?: () => Promise<void>): Promise<string> {
  return workbench.answerDialog(label, async () => {
    await beforeClick?.();
    await workbench.page.waitForTimeout(approvalArmMs + 300);
  });
}

/** The label of the focused button of the open modal: the one Enter or Space presses. */
export async function focusedDialogButton(workbench: Workbench): Promise<string> {
  const dialog = workbench.page.locator('.monaco-dialog-box');
  await dialog.waitFor({ state: 'visible' });
  // The e2e tsconfig has no DOM types: the element is typed structurally.
  return dialog.evaluate((box: { ownerDocument: { activeElement: { textContent: string | null } | null }; contains(node: unknown): boolean }) => {
    const active = box.ownerDocument.activeElement;
    return active && box.contains(active) ? (active.textContent ?? '').trim() : '(focus outside the dialog)';
  });
}

/** "KRR: Apply Previewed Plan" lists the pending plans; picks the newest (first) and returns its row's text. */
export async function applyPreviewedPlan(workbench: Workbench): Promise<string> {
  await workbench.runCommand('KRR: Apply Previewed Plan');
  const widget = workbench.page.locator('.quick-input-widget');
  await widget.locator('.quick-input-title', { hasText: 'apply which plan' }).waitFor({ state: 'visible' });
  const first = widget.locator('.monaco-list-row').first();
  await first.waitFor({ state: 'visible' });
  const text = await first.innerText();
  await workbench.page.keyboard.press('Enter');
  return text;
}
