// `npm run demo` (node --import tsx test/e2e/demo.ts [--port N]; not the tsx CLI, whose parent process dies on Ctrl-C
// and takes this one with it before the clean-up ends): the extension in a real VS Code (code-server) against a local
// Kubernetes API test server seeded with the sample workloads, and the krr stand-in — no cluster, no krr needed.
// Builds and packages the extension, starts everything, prints the URL, and cleans up on Ctrl-C.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CodeServer, repoRoot } from './lib/codeServer';
import { startKrrEnvironment, testContext, type KrrEnvironment } from './lib/krrEnvironment';
import { packageExtension } from './lib/packageExtension';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: 'string' } }, strict: true });
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) throw new Error(`--port must be 1..65535, got ${values.port}`);

  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'krr-demo-'));
  let environment: KrrEnvironment | undefined;
  let server: CodeServer | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await server?.stop();
      await environment?.dispose();
      fs.rmSync(temp, { recursive: true, force: true });
    })());

  try {
    console.log('krr demo: building and packaging the extension…');
    const vsix = await packageExtension(repoRoot, temp);
    // The demo starts in seconds on our own API test server; the test suites use the real control plane. It shows the
    // product as it ships: no krr.* setting but the paths to the cluster and the krr stand-in, so the default
    // krr.confirmByTyping ("*prod*") asks to type prod-eu-1 (test/unit/demo-settings.test.ts keeps it that way).
    environment = await startKrrEnvironment({ light: true });
    console.log(`krr demo: Kubernetes API test server at ${environment.cluster.url} (context ${testContext}, kubeconfig ${environment.cluster.kubeconfigPath})`);
    server = CodeServer.create({
      root: path.join(temp, 'code-server'),
      workspace: environment.workspace,
      settings: { ...environment.settings, 'workbench.startupEditor': 'readme' },
      env: environment.env,
      ...(port ? { port } : {}),
    });
    await server.installExtension(vsix);
    await server.start();
  } catch (error) {
    await stop();
    throw error;
  }

  // processGroups' safety net exits at once on a signal; here Ctrl-C first stops code-server, the cluster and the temp
  // files in order (its exit hook still kills any group left if this hangs). Ctrl-C arrives twice (from the terminal
  // and relayed by tsx): the handler stays installed and the stop runs once.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => {
      if (stopping) return;
      console.log(`\nkrr demo: ${signal}, stopping code-server and the test cluster…`);
      const forced = setTimeout(() => process.exit(1), 15_000);
      void stop().then(() => {
        clearTimeout(forced);
        console.log('krr demo: stopped, temporary files removed.');
        process.exit(0);
      });
    });
  }

  console.log('');
  console.log(`  open ${server.origin}/?folder=${environment.workspace}`);
  console.log('');
  console.log(`  The KRR view is in the activity bar; "KRR: Scan Cluster…" scans ${testContext}. Changes to ${testContext} ask for`);
  console.log('  your approval and the context name typed (krr.confirmByTyping). code-server log: ' + server.logFile);
  console.log('  Ctrl-C stops everything.');
  // Keeps the process (and the in-process test cluster) alive until a signal.
  setInterval(() => undefined, 1 << 30);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
