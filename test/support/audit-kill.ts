// kill -9 a process in the middle of audit appends, many times over, and count acknowledged entries
// that did not survive. Shared by the audit unit test and the abuse suite.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuditLog } from '../../src/core/audit';

const writerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'audit-writer.ts');

let bundled: Promise<string> | undefined;

/**
 * The writer bundled once with esbuild and run by plain node: starting node with the tsx loader costs
 * ~0.5 s per process, which would make the 100+ kills of the abuse suite take minutes for nothing.
 */
function writerBundle(): Promise<string> {
  bundled ??= (async () => {
    const esbuild = await import('esbuild');
    const outfile = path.join(mkdtempSync(path.join(tmpdir(), 'krr-audit-writer-')), 'audit-writer.cjs');
    await esbuild.build({ entryPoints: [writerScript], outfile, bundle: true, format: 'cjs', platform: 'node', target: 'node22', logLevel: 'error' });
    return outfile;
  })();
  return bundled;
}

export interface AuditKillResult {
  iterations: number;
  /** every seq a writer printed after its append() resolved */
  acknowledged: number[];
  /** acknowledged seqs missing from the log afterwards (must be empty) */
  lost: number[];
  /** verify() after the last kill */
  verify: Awaited<ReturnType<AuditLog['verify']>>;
}

/**
 * Runs `iterations` writer processes against one log file, each SIGKILLed at a random moment
 * (0–maxDelayMs) after it acknowledged its first entry, then checks the log.
 */
export async function runAuditKillTest(
  iterations: number,
  options: { filePath: string; maxDelayMs?: number },
): Promise<AuditKillResult> {
  // Dynamic import: tests load as CommonJS under tsx, and execa's dependencies export only `import`.
  const { execa } = await import('execa');
  const acknowledged: number[] = [];
  const maxDelayMs = options.maxDelayMs ?? 60;
  const script = await writerBundle();
  for (let iteration = 0; iteration < iterations; iteration += 1) {
    const writer = execa(process.execPath, [script, options.filePath], { reject: false, buffer: false, stderr: 'inherit' });
    let firstAck!: () => void;
    const acked = new Promise<void>((resolve) => (firstAck = resolve));
    let pending = '';
    writer.stdout.setEncoding('utf8');
    writer.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (/^\d+$/.test(line)) {
          acknowledged.push(Number(line));
          firstAck();
        }
      }
    });
    const ended = writer.then((result) => result);
    await Promise.race([acked, ended]);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * maxDelayMs));
    writer.kill('SIGKILL');
    const result = await ended;
    if (!result.isTerminated && result.exitCode !== 0) throw new Error(`audit writer failed: exit ${result.exitCode}`);
  }
  const log = await AuditLog.open(options.filePath);
  const { entries } = await log.read();
  const present = new Set(entries.map((entry) => entry.seq));
  const lost = acknowledged.filter((seq) => !present.has(seq));
  return { iterations, acknowledged, lost, verify: await log.verify() };
}
