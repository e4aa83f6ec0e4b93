// npm run test-cluster -- --port <n|0> --kubeconfig <out path> [--seed <file>] [--context <name>] [--light] [--log]
// Starts the real control plane (kube-apiserver, etcd, kube-controller-manager built by
// `npm run control-plane:build`) behind a loopback fault proxy, or with --light our own API test server.
// Prints "ready <url>" once serving and, for the real one, "audit <path>" (the API server's audit log: a
// write is an event with a write verb, no dry run and a response code below 300); serves until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { asControlPlane, startTestCluster } from '../test-cluster';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      kubeconfig: { type: 'string' },
      seed: { type: 'string' },
      context: { type: 'string' },
      light: { type: 'boolean', default: false },
      log: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.kubeconfig) throw new Error('--kubeconfig <path> is required');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${values.port}`);
  const cluster = await startTestCluster({
    light: values.light,
    port,
    kubeconfigPath: values.kubeconfig,
    ...(values.seed ? { seed: values.seed } : {}),
    ...(values.context ? { contextName: values.context } : {}),
    ...(values.log ? { log: (line: string) => process.stderr.write(`${line}\n`) } : {}),
  });
  process.stdout.write(`ready ${cluster.url}\n`);
  const plane = asControlPlane(cluster);
  if (plane) process.stdout.write(`audit ${plane.auditLogPath}\n`);
  const stop = (): void => {
    void cluster.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`test-cluster: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
