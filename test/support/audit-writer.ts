// Child process for the kill -9 tests: appends audit entries in a loop and prints each seq on its own
// line only after append() resolved (i.e. after fsync), so every printed seq is an acknowledged write.
// Usage: node --import tsx test/support/audit-writer.ts <log file> [max entries] (audit-kill.ts runs it bundled)
import { AuditLog } from '../../src/core/audit';

async function writeForever(filePath: string, maxEntries: number): Promise<void> {
  const log = await AuditLog.open(filePath);
  process.stdout.write('ready\n');
  for (let count = 0; count < maxEntries; count += 1) {
    const entry = await log.append({
      action: 'write',
      actor: { type: 'system', via: 'audit-writer' },
      context: 'kind-test',
      objects: [{ namespace: 'default', kind: 'Deployment', name: `app-${count}`, resourceVersion: String(count) }],
      outcome: 'ok',
      detail: { padding: 'x'.repeat(200 + (count % 7) * 300) },
    });
    process.stdout.write(`${entry.seq}\n`);
  }
}

const [filePath, max] = process.argv.slice(2);
if (!filePath) {
  process.stderr.write('usage: audit-writer.ts <log file> [max entries]\n');
  process.exit(2);
}
// No top-level await: tsx runs this file as CommonJS.
writeForever(filePath, max ? Number(max) : Number.POSITIVE_INFINITY).catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
