// The extensionTestsPath route: mocha runs inside code-server's real extension host; the exit code comes back through the smoke-test driver.
import fs from 'node:fs';
import path from 'node:path';
import { format } from 'node:util';
import { Workbench } from './browser';
import { CodeServer } from './codeServer';

export interface ExtensionTestsOptions {
  /** Folder of the extension under development (its package.json). */
  extensionPath: string;
  /** Compiled runner exporting `run(): Promise<void>`; must lie inside `extensionPath`. */
  testsPath: string;
  /** Folder opened in the workbench; a fresh empty one when omitted. */
  workspace?: string;
  /** Environment of the extension host (the payload's extensionEnvironment). */
  env?: Record<string, string>;
  settings?: Record<string, unknown>;
  /** Where the code-server log, a final screenshot and browser errors are kept. */
  outDir: string;
  /** Bound on the whole run, start to exit. */
  timeoutMs?: number;
}

/** Resolves to the runner's exit code: 0 when `run()` resolved, 1 when it rejected or the wait ran out. */
export async function runExtensionTests(options: ExtensionTestsOptions): Promise<number> {
  const extensionPath = path.resolve(options.extensionPath);
  const testsPath = path.resolve(options.testsPath);
  if (!testsPath.startsWith(extensionPath + path.sep)) {
    throw new Error(`testsPath ${testsPath} must lie inside extensionPath ${extensionPath}`);
  }
  if (!fs.existsSync(testsPath)) throw new Error(`testsPath ${testsPath} does not exist (build the tests first)`);
  fs.mkdirSync(options.outDir, { recursive: true });
  const timeoutMs = options.timeoutMs ?? 5 * 60_000;
  const server = CodeServer.create({
    ...(options.workspace ? { workspace: options.workspace } : {}),
    logFile: path.join(options.outDir, 'code-server.log'),
    smokeTestDriver: true,
    ...(options.settings ? { settings: options.settings } : {}),
  });
  let workbench: Workbench | undefined;
  let timer: NodeJS.Timeout | undefined;
  let code = 1;
  try {
    await server.start();
    workbench = await Workbench.launch({ outDir: options.outDir });
    const page = workbench.page;
    let resolveExit: (code: number) => void = () => undefined;
    const exited = new Promise<number>((resolve) => (resolveExit = resolve));
    // Console output of the extension host (mocha's reporter) arrives here.
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown) => {
      const parts: unknown[] = Array.isArray(args) ? args : [args];
      fs.appendFileSync(path.join(options.outDir, 'automation.log'), `[${type}] ${JSON.stringify(parts)}\n`);
      const text = format(...parts);
      if (!isWorkbenchNoise(text)) console.log(text);
    });
    await page.exposeFunction('codeAutomationExit', (code: number) => resolveExit(code));
    const payload: [string, string][] = [
      ['extensionDevelopmentPath', server.remoteUri(extensionPath)],
      ['extensionTestsPath', server.remoteUri(testsPath)],
    ];
    if (options.env) payload.push(['extensionEnvironment', JSON.stringify(options.env)]);
    const timedOut = new Promise<number>((resolve) => {
      timer = setTimeout(() => {
        console.error(`extension tests: no exit after ${timeoutMs} ms; code-server log: ${server.logFile}`);
        resolve(1);
      }, timeoutMs);
    });
    await workbench.open(server.workbenchUrl({ payload: JSON.stringify(payload) }));
    code = await Promise.race([exited, timedOut]);
    await workbench.screenshot('extension-tests-done').catch(() => undefined);
    return code;
  } finally {
    if (timer) clearTimeout(timer);
    await workbench?.close();
    await server.stop();
    // A failed run keeps user data and extension host logs for inspection.
    if (code === 0) server.removeRoot();
    else console.error(`extension tests: code-server data kept in ${server.root}`);
  }
}

/** The workbench's own chatter (offline gallery, GitHub auth, sockets); it stays in automation.log, not on stdout. */
function isWorkbenchNoise(text: string): boolean {
  return (
    text.includes('/static/out/vs/') ||
    /^(\[AgentHost|\[AccountPolicyGate\]|Creating a socket|Resolving connection|Resolved connection|getaddrinfo ENOTFOUND|Timed out waiting for authentication provider)/.test(text)
  );
}
