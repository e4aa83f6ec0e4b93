// Publishes the in-process MCP server to VS Code. The HTTP host starts on first need, never at activation.
import * as vscode from 'vscode';

export const mcpProviderId = 'krr-mcp.server';
export const mcpServerLabel = 'KRR right-sizing';

export interface RunningHost {
  url: string;
  token: string;
  port: number;
  close(): Promise<void> | void;
}

/**
 * Starts the loopback HTTP host once and shares it; a failed start is not cached so the next call retries.
 * `onStarted` runs for every (re)start, e.g. to write Claude Code's discovery file.
 */
export class LazyHost implements vscode.Disposable {
  private running: Promise<RunningHost> | undefined;
  private readonly startedEmitter = new vscode.EventEmitter<RunningHost>();
  readonly onDidStart = this.startedEmitter.event;

  constructor(private readonly start: () => Promise<RunningHost>) {}

  get(): Promise<RunningHost> {
    if (!this.running) {
      const starting = this.start();
      this.running = starting;
      starting.then(
        (host) => this.startedEmitter.fire(host),
        () => {
          if (this.running === starting) this.running = undefined;
        },
      );
    }
    return this.running;
  }

  isStarted(): boolean {
    return this.running !== undefined;
  }

  /** Closes the host and starts a new one (new port, new token); VS Code is told to re-resolve. */
  async restart(): Promise<RunningHost> {
    await this.stop();
    return this.get();
  }

  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    if (!running) return;
    try {
      await (await running).close();
    } catch {
      // A host that never started has nothing to close.
    }
  }

  dispose(): void {
    void this.stop();
    this.startedEmitter.dispose();
  }
}

/**
 * `provide` returns the URL without the token (VS Code caches and may display provided definitions);
 * `resolve` returns a fresh definition carrying `Authorization: Bearer`, because on a restart VS Code
 * hands back the previous object with the old header still set.
 */
export class KrrMcpServerProvider implements vscode.McpServerDefinitionProvider<vscode.McpHttpServerDefinition>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeMcpServerDefinitions = this.changed.event;
  private lastUrl: string | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly host: LazyHost) {
    this.subscription = host.onDidStart((started) => {
      // A restart on a new port makes the cached definition wrong: ask VS Code to call provide again.
      if (this.lastUrl !== undefined && this.lastUrl !== started.url) this.changed.fire();
      this.lastUrl = started.url;
    });
  }

  async provideMcpServerDefinitions(): Promise<vscode.McpHttpServerDefinition[]> {
    const running = await this.host.get();
    this.lastUrl = running.url;
    return [new vscode.McpHttpServerDefinition(mcpServerLabel, vscode.Uri.parse(running.url))];
  }

  async resolveMcpServerDefinition(server: vscode.McpHttpServerDefinition): Promise<vscode.McpHttpServerDefinition> {
    const running = await this.host.get();
    return new vscode.McpHttpServerDefinition(server.label || mcpServerLabel, vscode.Uri.parse(running.url), { Authorization: `Bearer ${running.token}` });
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
