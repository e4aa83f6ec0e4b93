// Writes the test world's usage history (seed-world.ts) as OpenMetrics for `npm run test-cluster -- --prometheus <file>`:
//   npx tsx test/support/usage-history/cli.ts <out.om> [--cluster <label value>] [--seed <seed.yaml>] [--days <n>]
// The history ends now, so a Prometheus started right after finds its pods Running. Prints the file's size as JSON.
import { seedWorld } from './seed-world';
import { writeUsageHistory } from './index';

function main(args: string[]): number {
  const [out, ...rest] = args;
  const flags = new Map<string, string>();
  for (let index = 0; index < rest.length; index += 2) flags.set(rest[index] ?? '', rest[index + 1] ?? '');
  const unknown = [...flags.keys()].filter((flag) => !['--cluster', '--seed', '--days'].includes(flag));
  if (!out || out.startsWith('-') || unknown.length > 0 || [...flags.values()].some((value) => value === '')) {
    process.stderr.write('usage: cli.ts <out.om> [--cluster <label value>] [--seed <seed.yaml>] [--days <n>]\n');
    return 2;
  }
  const started = Date.now();
  const workloads = seedWorld({ seed: flags.get('--seed'), cluster: flags.get('--cluster') });
  const stats = writeUsageHistory(out, { end: new Date(), workloads, days: flags.has('--days') ? Number(flags.get('--days')) : undefined });
  process.stdout.write(`${JSON.stringify({ file: out, workloads: workloads.length, ...stats, ms: Date.now() - started })}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
