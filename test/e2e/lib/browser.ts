// Debian's chromium driven by playwright-core against code-server's web workbench, with selectors that were measured to work.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type FrameLocator, type Locator, type Page } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';

/** No network chatter, no first-run UI, no GPU: the flags the measured recipe ran with. */
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface WorkbenchOptions {
  /** Screenshots go here as `<NN>-<name>.png`. */
  outDir: string;
  viewport?: { width: number; height: number };
  /** Default bound for every wait below. */
  timeoutMs?: number;
}

export class Workbench {
  readonly page: Page;
  readonly outDir: string;
  readonly timeoutMs: number;
  private readonly context: BrowserContext;
  private readonly profileDir: string;
  private shots = 0;

  private constructor(context: BrowserContext, page: Page, profileDir: string, options: WorkbenchOptions) {
    this.context = context;
    this.page = page;
    this.profileDir = profileDir;
    this.outDir = options.outDir;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Launches chromium with a fresh profile; browser console errors are appended to `<outDir>/browser-console.log`. */
  static async launch(options: WorkbenchOptions): Promise<Workbench> {
    if (!fs.existsSync(chromiumPath)) throw new Error(`${chromiumPath} missing: run test/e2e/install.sh`);
    fs.mkdirSync(options.outDir, { recursive: true });
    const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'krr-e2e-chromium-'));
    const context = await chromium.launchPersistentContext(profileDir, {
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs,
      viewport: options.viewport ?? { width: 1400, height: 900 },
      timeout: 60_000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const consoleLog = path.join(options.outDir, 'browser-console.log');
    page.on('console', (message) => {
      if (message.type() === 'error') fs.appendFileSync(consoleLog, message.text() + '\n');
    });
    const workbench = new Workbench(context, page, profileDir, options);
    page.setDefaultTimeout(workbench.timeoutMs);
    return workbench;
  }

  async open(url: string): Promise<void> {
    await this.page.goto(url, { waitUntil: 'domcontentloaded', timeout: this.timeoutMs });
  }

  /** The workbench is laid out once the status bar exists; the extension being ready needs its own signal. */
  async waitForWorkbench(timeoutMs = 120_000): Promise<void> {
    await this.page.waitForSelector('.monaco-workbench .part.statusbar', { timeout: timeoutMs });
  }

  /** Writes `<outDir>/<NN>-<name>.png` and returns its path. */
  async screenshot(name: string): Promise<string> {
    this.shots += 1;
    const file = path.join(this.outDir, `${String(this.shots).padStart(2, '0')}-${name.replace(/[^\w.-]+/g, '-')}.png`);
    await this.page.screenshot({ path: file, timeout: this.timeoutMs });
    return file;
  }

  /**
   * Runs a command from the palette by its exact title ("Category: Title" as shown). Commands appear only once
   * their contribution or extension has loaded, so the palette is reopened until the title shows up (bounded).
   */
  async runCommand(title: string, timeoutMs = this.timeoutMs): Promise<void> {
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    const row = this.page
      .locator('.quick-input-widget .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(title)}$`) }) })
      .first();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.page.keyboard.press('F1');
      await input.waitFor({ state: 'visible', timeout: Math.max(1_000, deadline - Date.now()) });
      // VS Code's quick input marks its widget inert during its 150 ms close animation; a palette opened while the
      // previous pick (e.g. the walkthrough's) is still closing can be left inert, and then nothing can be typed.
      // Close it and open it again rather than waiting on a widget that will not take input.
      const inert = await this.page
        .waitForFunction("!document.querySelector('.quick-input-widget')?.closest('[inert]')", undefined, { timeout: 2_000 })
        .then(() => false, () => true);
      if (inert) {
        await this.page.keyboard.press('Escape');
        if (Date.now() >= deadline) throw new Error(`the palette stayed inert for ${timeoutMs} ms`);
        await this.page.waitForTimeout(300);
        continue;
      }
      // The palette can also close right after opening: an editor that takes focus once it has rendered (the
      // walkthrough does) hides the quick input. Then it is reopened too.
      const filled = await input.fill(`>${title}`, { timeout: 3_000 }).then(() => true, () => false);
      if (!filled) {
        if (Date.now() >= deadline) throw new Error(`could not type into the palette for ${timeoutMs} ms`);
        await this.page.keyboard.press('Escape');
        await this.page.waitForTimeout(300);
        continue;
      }
      try {
        await row.waitFor({ state: 'visible', timeout: Math.min(3_000, Math.max(1, deadline - Date.now())) });
      } catch (error) {
        await this.page.keyboard.press('Escape');
        if (Date.now() >= deadline) throw new Error(`command "${title}" not in the palette after ${timeoutMs} ms`, { cause: error });
        await input.waitFor({ state: 'hidden' });
        continue;
      }
      // The palette can close between its row showing and the click (an editor that renders late takes focus): the
      // row stays in the DOM but hidden, and a click would wait on it for ever. Playwright dispatches no click until
      // the row is actionable, so a click that timed out ran nothing, and the palette is opened again.
      const clicked = await row.click({ timeout: 3_000 }).then(() => true, () => false);
      if (clicked) break;
      if (Date.now() >= deadline) throw new Error(`could not click "${title}" in the palette for ${timeoutMs} ms`);
      if (await input.isVisible()) await this.page.keyboard.press('Escape');
      await this.page.waitForTimeout(300);
    }
    // The palette is gone once its input is hidden or another quick input (the command's own) took its place.
    await this.page.locator('.quick-input-widget .quick-input-box input[placeholder="Type the name of a command to run."]').waitFor({ state: 'hidden' });
  }

  /** Waits for a modal dialog, clicks the button named exactly `buttonName`, returns the dialog's text. */
  async answerDialog(buttonName: string, beforeClick?: (dialog: Locator) => Promise<void>): Promise<string> {
    const dialog = this.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible' });
    const text = await dialog.innerText();
    if (beforeClick) await beforeClick(dialog);
    await dialog.getByRole('button', { name: buttonName, exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    return text;
  }

  /** Button labels of the open modal dialog. */
  async dialogButtons(): Promise<string[]> {
    const dialog = this.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible' });
    return dialog.locator('.dialog-buttons .monaco-button').allInnerTexts();
  }

  /** Waits for a visible diff editor and returns its original and modified text as rendered. */
  async waitForDiffEditor(): Promise<{ editor: Locator; original: string; modified: string }> {
    const editor = this.page.locator('.monaco-diff-editor').first();
    await editor.waitFor({ state: 'visible' });
    // Monaco renders spaces as no-break spaces.
    const original = (await editor.locator('.editor.original .view-lines:not(.line-delete)').innerText()).replace(/\u00a0/g, ' ');
    const modified = (await editor.locator('.editor.modified .view-lines:not(.line-delete)').innerText()).replace(/\u00a0/g, ' ');
    return { editor, original, modified };
  }

  /**
   * The content frame of a webview. Webviews are two nested iframes: the outer `iframe.webview` (its src carries the
   * extension id) and the inner `#active-frame` holding the extension's HTML.
   */
  webview(extensionId?: string): FrameLocator {
    const outer = extensionId
      ? `iframe.webview.ready[src*="extensionId=${encodeURIComponent(extensionId)}"]`
      : 'iframe.webview.ready';
    return this.page.locator(outer).first().contentFrame().locator('#active-frame').contentFrame();
  }

  /** Waits for a webview's body to contain `expected` (when given) and returns the body's text. */
  async readWebview(options: { extensionId?: string; expected?: string | RegExp } = {}): Promise<string> {
    const body = this.webview(options.extensionId).locator('body');
    if (options.expected !== undefined) {
      await body.filter({ hasText: options.expected }).waitFor({ state: 'visible' });
    } else {
      await body.waitFor({ state: 'visible' });
    }
    return body.innerText();
  }

  /**
   * What a person would see, as text, for a failure's log: CI keeps no screenshots, so a failed wait is explained by
   * the notifications, the dialog, the quick input, the status bar and the tabs that were on screen.
   */
  async describeScreen(): Promise<string> {
    const texts = async (selector: string) =>
      (await this.page.locator(selector).allInnerTexts().catch(() => [] as string[])).map((text) => text.replace(/\s+/g, ' ').trim()).filter(Boolean);
    const visible = async (selector: string) => this.page.locator(selector).first().isVisible().catch(() => false);
    const lines = [
      `notification toasts: ${JSON.stringify(await texts('.notification-toast-container .notification-toast'))}`,
      `notification center: ${(await visible('.notifications-center.visible')) ? 'open' : 'closed'}`,
      `dialog: ${JSON.stringify(await texts('.monaco-dialog-box'))}`,
      `quick input: ${(await visible('.quick-input-widget')) ? JSON.stringify(await texts('.quick-input-widget .quick-input-title, .quick-input-widget .quick-input-message')) : 'closed'}`,
      `status bar: ${JSON.stringify(await texts('.part.statusbar .statusbar-item'))}`,
      `tabs: ${JSON.stringify(await texts('.tabs-container .tab .label-name'))}`,
    ];
    return lines.join('\n');
  }

  /** Closes chromium and removes its profile; safe to call twice. */
  async close(): Promise<void> {
    await this.context.close().catch(() => undefined);
    fs.rmSync(this.profileDir, { recursive: true, force: true });
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
