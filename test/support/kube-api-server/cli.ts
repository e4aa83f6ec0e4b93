// npm run test-cluster -- --port <n|0> --kubeconfig <out path> [--seed <file>] [--context <name>] [--light] [--log]
//   [--prometheus <OpenMetrics file> | --usage-days <n> | --without-prometheus]
// Starts the real control plane (kube-apiserver, etcd, kube-controller-manager built by
// `npm run control-plane:build`) behind a loopback fault proxy, or with --light our own API test server.
// Prints "ready <url>" once serving and, for the real one, "audit <path>" (the API server's audit log: a
// write is an event with a write verb, no dry run and a response code below 300). Beside it, a real Prometheus
// (`npm run prometheus:build`) behind basic auth, loaded with the seeded workloads' usage history (the generator in
// test/support/usage-history, --usage-days of it, 14 by default: krr's window) or with --prometheus's file:
// "prometheus <url>", then "prometheus-auth <path>" (a 0600 file holding the Authorization header's value).
// Without a built Prometheus it says so on stderr and serves the cluster alone. Serves until SIGINT/SIGTERM.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { prometheusBinaries } from '../prometheus/binaries';
import { writeUsageHistory } from '../usage-history';
import { seedWorld } from '../usage-history/seed-world';
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
      'usage-days': { type: 'string', default: '14' },
      'without-prometheus': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.kubeconfig) throw new Error('--kubeconfig <path> is required');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${values.port}`);
  const log = values.log ? (line: string): void => void process.stderr.write(`${line}\n`) : undefined;
  const usageDays = Number(values['usage-days']);
  if (!Number.isFinite(usageDays) || usageDays <= 0 || usageDays > 14) throw new Error(`--usage-days must be more than 0 and at most 14, got ${values['usage-days']}`);
  const history = values['without-prometheus'] ? undefined : values.prometheus ? { file: values.prometheus, remove: () => undefined } : seededHistory(values.seed, usageDays);
  // Started beside the cluster (each takes seconds), printed after it: "ready" stays the first line.
  const prometheus: Promise<MetricsStore> | undefined = history ? startPrometheus({ openMetrics: history.file, ...(log ? { log } : {}) }).finally(() => history.remove()) : undefined;
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

/**
 * The seeded workloads' usage history, ending now, in a temporary file (removed once Prometheus has loaded it); undefined
 * when Prometheus is not built, said on stderr: the cluster alone is still useful.
 */
function seededHistory(seed: string | undefined, days: number): { file: string; remove(): void } | undefined {
  try {
    prometheusBinaries();
  } catch (error) {
    process.stderr.write(`test-cluster: serving without Prometheus: ${error instanceof Error ? error.message : String(error)}\n`);
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'krr-usage-'));
  const file = join(dir, 'history.om');
  writeUsageHistory(file, { end: new Date(), workloads: seedWorld(seed ? { seed } : {}), days });
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

main().catch((error: unknown) => {
  process.stderr.write(`test-cluster: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
