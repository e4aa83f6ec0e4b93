// The shape of a UI test file (test/e2e/ui/*.ui.ts) and what each test gets: a fresh code-server and chromium of its own.
import fs from 'node:fs';
import type { Workbench } from './browser';
import type { CodeServer } from './codeServer';
import type { PrepareEnvironment } from './hooks';
import { sleep } from './processGroups';

export interface UiTestContext {
  workbench: Workbench;
  server: CodeServer;
  /** This test's output folder (screenshots, logs, anything the test wants to keep). */
  outDir: string;
  /** The environment the extension host got (from `prepare`). */
  env: Record<string, string>;
}

export interface UiTest {
  title: string;
  /** Extension folder packaged and installed for this test; the repository root when omitted. */
  extensionPath?: string;
  /** Runs before code-server starts: test cluster, kubeconfig, workspace files, settings. */
  prepare?: PrepareEnvironment;
  /** Bound on `run` alone. */
  timeoutMs?: number;
  run(context: UiTestContext): Promise<void>;
}

/** Extensions signal readiness through files, not the DOM: waits (bounded) for `file` and returns its text. */
export async function waitForFile(file: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
    await sleep(100);
  }
  throw new Error(`no ${file} after ${timeoutMs} ms`);
}
