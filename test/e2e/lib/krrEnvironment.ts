// The test cluster (the real control plane; our light API test server for the demo) plus the krr stand-in, wired into the extension's user settings: what the UI tests,
// the integration route and `npm run demo` run the extension against.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestCluster, type TestCluster } from '../../support/test-cluster';
import { repoRoot } from './codeServer';
import type { RunEnvironment } from './hooks';

export const krrStandIn = path.join(repoRoot, 'test', 'support', 'bin', 'krr');
export const extensionId = 'krr-mcp.krr-mcp';
/** The test cluster's main context (seeded with the sample report's workloads). */
export const testContext = 'prod-eu-1';

export interface KrrEnvironment extends Required<Pick<RunEnvironment, 'env' | 'settings' | 'workspace' | 'dispose'>> {
  cluster: TestCluster;
}

export interface KrrEnvironmentOptions {
  /**
   * Settings merged over the ones below. Those only point the extension at the test cluster and the krr stand-in;
   * every other setting is the product's default, so a test that needs a looser one (e.g. `krr.confirmByTyping: []`)
   * says so here, and the demo passes nothing.
   */
  settings?: Record<string, unknown>;
  /** Folder opened in the workbench; a fresh one with a short README when omitted. */
  workspace?: string;
  /** Fixed port for the test cluster; an ephemeral one when omitted. */
  port?: number;
  /** Our own API test server instead of the real control plane: starts at once and needs no Go build (the demo). */
  light?: boolean;
}

/**
 * Starts the test cluster in this process (it must outlive the workbench) and returns the settings that point the
 * extension at it. The krr stand-in is `#!/usr/bin/env node`: code-server puts its own Node first on the PATH.
 */
export async function startKrrEnvironment(options: KrrEnvironmentOptions = {}): Promise<KrrEnvironment> {
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'krr-e2e-env-'));
  const cluster = await startTestCluster({ kubeconfigPath: path.join(temp, 'kubeconfig'), ...(options.port ? { port: options.port } : {}), ...(options.light ? { light: true } : {}) });
  const workspace = options.workspace ?? path.join(temp, 'workspace');
  if (!options.workspace) {
    fs.mkdirSync(workspace, { recursive: true });
    fs.writeFileSync(
      path.join(workspace, 'README.md'),
      `# KRR demo workspace\n\nThe cluster \`${testContext}\` is a local Kubernetes API test server; krr is a stand-in that reports the sample recommendations.\nOpen the KRR view in the activity bar, or run **KRR: Scan Cluster…** from the command palette.\n`,
    );
  }
  const settings: Record<string, unknown> = {
    'krr.krrPath': krrStandIn,
    'krr.kubectlPath': fs.existsSync('/usr/bin/kubectl') ? '/usr/bin/kubectl' : 'kubectl',
    'krr.kubeconfig': cluster.kubeconfigPath,
    'krr.context': testContext,
    ...options.settings,
  };
  return {
    cluster,
    settings,
    workspace,
    env: { KUBECONFIG: cluster.kubeconfigPath },
    dispose: async () => {
      await cluster.close();
      fs.rmSync(temp, { recursive: true, force: true });
    },
  };
}

/** Container resources of a workload as the test cluster stores them, by container name. */
export function containerResources(cluster: TestCluster, apiVersion: string, kind: string, namespace: string, name: string): Record<string, unknown> {
  const object = cluster.getObject(apiVersion, kind, namespace, name) as { spec?: { template?: { spec?: { containers?: Array<{ name: string; resources?: unknown }> } } } } | undefined;
  const containers = object?.spec?.template?.spec?.containers;
  if (!containers) throw new Error(`${kind} ${namespace}/${name} is not in the test cluster`);
  return Object.fromEntries(containers.map((container) => [container.name, container.resources ?? null]));
}

/** `<user-data>/User/workspaceStorage/<hash>/krr-mcp.krr-mcp/audit.jsonl` entries, parsed; [] when there is none yet. */
export function readAuditEntries(serverRoot: string): Array<Record<string, unknown>> {
  const storage = path.join(serverRoot, 'user-data', 'User', 'workspaceStorage');
  if (!fs.existsSync(storage)) return [];
  const entries: Array<Record<string, unknown>> = [];
  for (const hash of fs.readdirSync(storage)) {
    const file = path.join(storage, hash, extensionId, 'audit.jsonl');
    if (!fs.existsSync(file)) continue;
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (line.trim()) entries.push(JSON.parse(line) as Record<string, unknown>);
    }
  }
  return entries;
}
