// evidence_scale at the scale without its half hour of backfill each time: `load` fills a real Prometheus with
// the bench's world once and serves it until stopped; `measure` runs the bench's own measurement (measureEvidenceReads:
// krr's way, our read, the PromQL floor) against it, as often as needed.
//
//   npx tsx bench/evidenceStore.ts load 2500 /tmp/evidence-store.json    # ~30 min for 2,500 containers; Ctrl-C stops it
//   npx tsx bench/evidenceStore.ts measure /tmp/evidence-store.json      # in another terminal
//
// The state file names the store's URL, its auth file (mode 0600, the random password of this start) and the world;
// it holds no secret itself.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { startPrometheus } from '../test/support/prometheus';
import { writeUsageHistory } from '../test/support/usage-history';
import { evidenceWorld, measureEvidenceReads } from './evidenceScale';

const stateSchema = z.object({ url: z.string().url(), authFile: z.string(), containers: z.number().int().positive(), now: z.number() });

async function load(containers: number, stateFile: string): Promise<void> {
  const now = Date.now();
  const world = evidenceWorld(containers, now);
  const directory = mkdtempSync(path.join(tmpdir(), 'krr-evidence-store-'));
  const file = path.join(directory, 'usage.om');
  try {
    const stats = writeUsageHistory(file, world);
    console.log(`${containers} containers: ${Math.round(stats.bytes / 1024 / 1024)} MB of OpenMetrics`);
    const store = await startPrometheus({ openMetrics: file, log: (line) => console.log(line) });
    rmSync(directory, { recursive: true, force: true });
    writeFileSync(stateFile, JSON.stringify({ url: store.url, authFile: store.authFile, containers, now }));
    console.log(`serving; measure with: npx tsx bench/evidenceStore.ts measure ${stateFile}`);
    const stop = async () => {
      await store.close();
      rmSync(stateFile, { force: true });
      process.exit(0);
    };
    process.on('SIGINT', () => void stop());
    process.on('SIGTERM', () => void stop());
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}

async function measure(stateFile: string): Promise<void> {
  const state = stateSchema.parse(JSON.parse(readFileSync(stateFile, 'utf8')));
  const authHeader = readFileSync(state.authFile, 'utf8').trim();
  const store = { kind: 'prometheus' as const, url: state.url, authHeader, authFile: state.authFile, version: '', close: async () => undefined };
  const measured = await measureEvidenceReads(store, evidenceWorld(state.containers, state.now));
  console.log(JSON.stringify({ containers: state.containers, namespaces: measured.namespaces, ...measured.figures }));
}

const [command, ...rest] = process.argv.slice(2);
const usage = 'usage: tsx bench/evidenceStore.ts load <containers> <state-file> | measure <state-file>';
const done = command === 'load' && rest.length === 2 ? load(Number(rest[0]), rest[1] as string) : command === 'measure' && rest.length === 1 ? measure(rest[0] as string) : Promise.reject(new Error(usage));
done.catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
