// Trials in the state directory, one file each (`trials/<plan id>.json`, 0600, written atomically): a trial outlives a
// window reload and a server restart, and one whose window ended while nothing ran is found at the next start. Each
// file is signed with the state key (derived from the audit key, like the stored plans): a revert writes the pods a
// record names, so a record someone edited — another workload's pod, other sizes — is named in the log and skipped.
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { readBounded, signedText, verifiedJson } from '../signedFile';
import { writeFileAtomically } from '../durableFile';
import type { TrialRecord } from './model';

const idPattern = /^plan-[0-9a-f]{12}$/;
const magic = 'krr-mcp-trial/1';
const maxTrialBytes = 8 * 1024 * 1024;
/** Files read per listing: a directory someone filled with junk cannot stall the watch. */
const maxTrialFiles = 500;

const block = z.record(z.string(), z.record(z.string(), z.string()));
const change = z.object({ container: z.string(), allocation: z.enum(['requests', 'limits']), resource: z.enum(['cpu', 'memory']), from: z.string().nullable(), to: z.string().nullable(), fromAmount: z.number().nullable(), toAmount: z.number().nullable() }).passthrough();
const trialPod = z.object({
  name: z.string().max(253),
  uid: z.string().max(128),
  node: z.string().nullable(),
  containers: z.array(z.object({ name: z.string(), before: block, after: block, changes: z.array(change), restartsOn: z.array(z.enum(['cpu', 'memory'])) })),
  ops: z.array(z.object({ op: z.enum(['test', 'replace', 'add', 'remove']), path: z.string() }).passthrough()),
});
const podStatus = z
  .object({ name: z.string(), phase: z.enum(['applied', 'pending', 'in-progress', 'infeasible', 'deferred', 'restarted', 'gone', 'reverted', 'not-ready']), ready: z.boolean(), restarts: z.number().int().min(0), oomKills: z.number().int().min(0), message: z.string().optional() })
  .passthrough();

const recordSchema = z
  .object({
    id: z.string().regex(idPattern),
    planId: z.string().regex(idPattern),
    digest: z.string().regex(/^[0-9a-f]{64}$/),
    context: z.string().min(1),
    server: z.string(),
    workload: z.object({ namespace: z.string(), kind: z.string(), name: z.string() }),
    pods: z.array(trialPod).max(5000),
    runningPods: z.number().int().min(0),
    windowSeconds: z.number().int().positive(),
    includeLimits: z.boolean(),
    sourceReportId: z.string(),
    startedAt: z.iso.datetime(),
    endsAt: z.iso.datetime(),
    state: z.enum(['running', 'passed', 'failed', 'reverted', 'overdue']),
    baseline: z.record(z.string(), z.record(z.string(), z.number())),
    statuses: z.array(podStatus),
    checkedAt: z.iso.datetime().nullable(),
    outcome: z.object({ at: z.string(), reason: z.string() }).optional(),
    revert: z.object({ at: z.string(), pods: z.array(z.object({ name: z.string(), result: z.enum(['reverted', 'gone', 'not-needed', 'failed']), message: z.string().optional() })) }).optional(),
    peakMemory: z.record(z.string(), z.number()).optional(),
    throttledPercent: z.record(z.string(), z.number()).optional(),
    usageNote: z.string().max(2000).optional(),
    persistPlanId: z.string().regex(idPattern).optional(),
  })
  .passthrough();

export class TrialStore {
  private readonly directory: string;

  constructor(
    stateDir: string,
    private readonly key: () => Promise<Buffer | undefined>,
    private readonly log: (line: string) => void,
  ) {
    this.directory = path.join(stateDir, 'trials');
  }

  async save(record: TrialRecord): Promise<void> {
    if (!idPattern.test(record.id)) throw new Error(`not a trial id: ${record.id}`);
    const key = await this.key();
    if (!key) throw new Error('the state key does not exist (the audit log has no key yet)');
    const json = JSON.stringify(record);
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    await writeFileAtomically(this.directory, `${record.id}.json`, signedText(magic, key, json));
  }

  async read(id: string): Promise<TrialRecord | undefined> {
    if (!idPattern.test(id)) return undefined;
    const file = path.join(this.directory, `${id}.json`);
    const ignore = (reason: string) => {
      this.log(`ignored ${file}: ${reason}`);
      return undefined;
    };
    let text: string | undefined;
    try {
      text = await readBounded(file, maxTrialBytes);
    } catch (error) {
      return ignore(error instanceof Error ? error.message : String(error));
    }
    if (text === undefined) return undefined;
    const key = await this.key().catch(() => undefined);
    const json = key ? verifiedJson(magic, key, text) : null;
    if (json === null) return ignore('its signature does not match (not written by this product with this audit key, or changed since); it is not trusted');
    let parsed;
    try {
      parsed = recordSchema.safeParse(JSON.parse(json));
    } catch {
      return ignore('not valid JSON');
    }
    if (!parsed.success || parsed.data.id !== id) return ignore(`it is not a trial this extension wrote (${parsed.success ? 'its id differs from its name' : parsed.error.issues[0]?.message ?? 'invalid'})`);
    return parsed.data as unknown as TrialRecord;
  }

  /** Every stored trial, newest first. */
  async list(): Promise<TrialRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch {
      return [];
    }
    const ids = names.filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -'.json'.length)).filter((id) => idPattern.test(id)).slice(0, maxTrialFiles);
    const records = (await Promise.all(ids.map((id) => this.read(id)))).filter((record): record is TrialRecord => record !== undefined);
    return records.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }
}
