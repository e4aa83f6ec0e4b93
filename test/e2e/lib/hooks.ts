// What a test suite may prepare before code-server starts (a test cluster, a kubeconfig, a workspace), and undo afterwards.
import fs from 'node:fs';

export interface RunEnvironment {
  /** Environment for the extension host. */
  env?: Record<string, string>;
  /** Folder to open; a fresh empty one when omitted. */
  workspace?: string;
  /** User settings merged over the harness defaults. */
  settings?: Record<string, unknown>;
  /** Called after code-server stopped, also on failure. */
  dispose?: () => Promise<void>;
}

export type PrepareEnvironment = (outDir: string) => Promise<RunEnvironment>;

/** Loads `export default async function (outDir): Promise<RunEnvironment>` from `file` when it exists. */
export async function loadPrepareEnvironment(file: string): Promise<PrepareEnvironment | undefined> {
  if (!fs.existsSync(file)) return undefined;
  const loaded = (await import(file)) as { default?: unknown };
  // tsx may wrap a CommonJS default export once more.
  const candidate = typeof loaded.default === 'function' ? loaded.default : (loaded.default as { default?: unknown } | undefined)?.default;
  if (typeof candidate !== 'function') throw new Error(`${file} must export a default function (outDir) => Promise<RunEnvironment>`);
  return candidate as PrepareEnvironment;
}
