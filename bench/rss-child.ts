// Run in a fresh process by the large_cluster_simulation benchmark: parse a report once, print peak RSS.
// argv: <report file> <mode: report | json | none>
import { readFile } from 'node:fs/promises';
import { parseReportFile } from '../src/core/krr/report';

async function main(): Promise<void> {
  const [file, mode] = process.argv.slice(2);
  if (!file) throw new Error('usage: rss-child <report file> <report|json|none>');
  let kept: unknown = null;
  if (mode === 'report') kept = await parseReportFile(file);
  else if (mode === 'json') kept = JSON.parse(await readFile(file, 'utf8'));
  const usage = process.resourceUsage();
  // maxRSS is in kilobytes.
  process.stdout.write(`${JSON.stringify({ mode, maxRssMb: usage.maxRSS / 1024, heapUsedMb: process.memoryUsage().heapUsed / 1024 / 1024, kept: kept !== null })}\n`);
}

void main();
