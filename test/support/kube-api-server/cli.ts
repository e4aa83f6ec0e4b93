// npm run test-cluster -- --port <n|0> --kubeconfig <out path> [--seed <file>] [--context <name>] [--light] [--log]
//   [--prometheus <OpenMetrics file>]
// Starts the real control plane (kube-apiserver, etcd, kube-controller-manager built by
// `npm run control-plane:build`) behind a loopback fault proxy, or with --light our own API test server.
// Prints "ready <url>" once serving and, for the real one, "audit <path>" (the API server's audit log: a
// write is an event with a write verb, no dry run and a response code below 300). With --prometheus, also a real
// Prometheus (`npm run prometheus:build`) loaded with that usage history, behind basic auth: "prometheus <url>", then
// "prometheus-auth <path>" (a 0600 file holding the Authorization header's value). Serves until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { asControlPlane, startPrometheus, startTestCluster, type MetricsStore } from '../test-cluster';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      kubeconfig: { type: 'string' },
      seed: { type: 'string' },
      context: { type: 'string' },
      light: { type: 'boolean', default: false },
      log: { type: 'boolean', default: false },
      prometheus: { type: 'string' },
    },
    strict: true,
  });
  if (!values.kubeconfig) throw new Error('--kubeconfig <path> is required');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${values.port}`);
  const log = values.log ? (line: string): void => void process.stderr.write(`${line}\n`) : undefined;
  // Started beside the cluster (each takes seconds), printed after it: "ready" stays the first line.
  const prometheus: Promise<MetricsStore> | undefined = values.prometheus ? startPrometheus({ openMetrics: values.prometheus, ...(log ? { log } : {}) }) : undefined;
  prometheus?.catch(() => undefined); // awaited below; a cluster failure first must not leave it unhandled
  const cluster = await startTestCluster({
    light: values.light,
    port,
    kubeconfigPath: values.kubeconfig,
    ...(values.seed ? { seed: values.seed } : {}),
    ...(values.context ? { contextName: values.context } : {}),
    ...(log ? { log } : {}),
  }).catch(async (error: unknown) => {
    await (await prometheus?.catch(() => undefined))?.close();
    throw error;
  });
  process.stdout.write(`ready ${cluster.url}\n`);
  const plane = asControlPlane(cluster);
  if (plane) process.stdout.write(`audit ${plane.auditLogPath}\n`);
  const store = await prometheus?.catch(async (error: unknown) => {
    await cluster.close();
    throw error;
  });
  if (store) process.stdout.write(`prometheus ${store.url}\nprometheus-auth ${store.authFile}\n`);
  const stop = (): void => {
    void Promise.all([cluster.close(), store?.close()]).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`test-cluster: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
