// npm run test-cluster -- --port <n|0> --kubeconfig <out path> [--seed <file>] [--context <name>] [--log]
// Prints exactly one line "ready <url>" once listening; serves until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { startTestCluster } from './index';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      kubeconfig: { type: 'string' },
      seed: { type: 'string' },
      context: { type: 'string' },
      log: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.kubeconfig) throw new Error('--kubeconfig <path> is required');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${values.port}`);
  const cluster = await startTestCluster({
    port,
    kubeconfigPath: values.kubeconfig,
    ...(values.seed ? { seed: values.seed } : {}),
    ...(values.context ? { contextName: values.context } : {}),
    ...(values.log ? { log: (line: string) => process.stderr.write(`${line}\n`) } : {}),
  });
  process.stdout.write(`ready ${cluster.url}\n`);
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
