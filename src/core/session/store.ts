// Reports and plans that outlive the process: a client that starts the stdio server per call (MCP Inspector's CLI)
// scans in one process and proposes in the next, and a VS Code window reload keeps the review.
//
// <stateDir>/reports/<reportId>.json, <stateDir>/evidence/<reportId>.json (the usage read for it) and <stateDir>/plans/<planId>.json, each written atomically (temp file, fsync,
// rename, directory fsync), mode 0600, bounded in count and bytes and expiring. A file is `krr-mcp-state/1 <mac>\n`
// and a JSON body; the MAC is an HMAC-SHA256 under a key derived from the audit log's key, so a file this product did
// not write (edited, planted, damaged) is ignored with a log line and never trusted; the body is also checked against
// a schema, and a plan's digest is recomputed. Reports hold our own model of krr's output, which never has krr's
// `config` block (where krr echoes the Prometheus auth header); no secret is ever written here.
//
// Single use across processes (safety invariant: a plan is applied at most once): an apply first creates
// <stateDir>/plans/<planId>.claim with O_EXCL — exactly one process (or call) can — and checks again that the claim
// is still its own before the first write. A claim is never removed while its plan could still be applied.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { readBounded, signedText, verifiedJson } from '../signedFile';
import { syncDirectory, writeAll, writeFileAtomically } from '../durableFile';
import { severityOrder, workloadKinds, type Report } from '../krr/model';
import type { StoredManifestPlan } from '../gitops/stored';
import { planDigest } from '../plan/digest';
import type { Plan } from '../plan/model';
import type { ContainerEvidence } from '../evidence/model';

export const reportIdPattern = /^report-[0-9a-f]{12}$/;
export const planIdPattern = /^plan-[0-9a-f]{12}$/;

export interface StateLimits {
  reports: number;
  reportBytes: number;
  plans: number;
  planBytes: number;
  /** How long a stored report is kept (a day: krr's data ages; scan again after that). */
  reportTtlMs: number;
}

export interface PersistedReport {
  id: string;
  savedAt: string;
  source: string;
  prometheusAuth?: string;
  /** Size of krr's output it came from (the session's memory bound counts these). */
  bytes: number;
  report: Report;
  /** Where a scanned report came from (fleet scans keep each report's identity across a reload). */
  identity?: ReportIdentity;
}

export interface ReportIdentity {
  context?: string;
  server?: string;
  clusterLabel?: string;
  warnings?: string[];
}

/** The evidence read for a report (evidence.ts), kept beside it so another process or a reload does not query again. */
export interface PersistedEvidence {
  reportId: string;
  savedAt: string;
  readAt: string;
  /** HTTP queries it took (counted at this end). */
  queries: number;
  /** Namespaces read in full: their containers with no entry have no evidence, others were not read yet. */
  namespaces: string[];
  containers: ContainerEvidence[];
}

export interface StateStoreOptions {
  stateDir: string;
  /** The key files are signed with; undefined while none exists (nothing is then written or trusted). */
  key(): Promise<Buffer | undefined>;
  limits: StateLimits;
  now(): Date;
  log(line: string): void;
}

const magic = 'krr-mcp-state/1';
/** Plans live at most krr.planTtlSeconds' maximum (24 h): after this a plan file or claim can only be an expired one. */
const planFileLifetimeMs = 25 * 60 * 60 * 1000;
const tempLifetimeMs = 60 * 60 * 1000;
/** No state file is larger than this; a larger one is not read at all. */
const maxFileBytes = 1024 * 1024 * 1024;

// ── schemas: what a stored file must be before anything of it is used ───────────────────────────────────────────
const severity = z.enum(severityOrder);
const pair = <T extends z.ZodType>(schema: T) => z.object({ cpu: schema, memory: schema });
const allocations = <T extends z.ZodType>(schema: T) => z.object({ requests: pair(schema), limits: pair(schema) });
const recommendedValue = z.discriminatedUnion('kind', [z.object({ kind: z.literal('value'), amount: z.number() }), z.object({ kind: z.literal('unset') }), z.object({ kind: z.literal('unknown') })]);
const nullableNumber = z.number().nullable();

const reportSchema = z.object({
  strategy: z.object({ name: z.string(), settings: z.record(z.string(), z.unknown()) }),
  score: z.number(),
  resources: z.array(z.enum(['cpu', 'memory'])),
  description: z.string(),
  errors: z.array(z.object({ name: z.string(), retryAfter: z.union([z.string(), z.number()]).optional() })),
  clusterSummary: z.object({ clusterCpu: z.number(), clusterMemory: z.number(), kubeSystemCpuRequests: z.number(), kubeSystemMemoryRequests: z.number() }).nullable(),
  workloads: z.array(
    z.object({
      namespace: z.string(),
      kind: z.enum(workloadKinds),
      name: z.string(),
      key: z.string(),
      cluster: z.string().nullable(),
      hpa: z
        .object({
          minReplicas: nullableNumber,
          maxReplicas: z.number(),
          currentReplicas: nullableNumber,
          desiredReplicas: nullableNumber,
          targetCpuUtilizationPercentage: nullableNumber,
          targetMemoryUtilizationPercentage: nullableNumber,
        })
        .nullable(),
      labels: z.record(z.string(), z.string()),
      containers: z.array(
        z.object({
          container: z.string(),
          current: allocations(nullableNumber),
          recommended: allocations(recommendedValue),
          severities: allocations(severity),
          severity,
          info: pair(z.string().nullable()),
          warnings: z.array(z.string()),
          pods: z.object({ running: z.number(), deleted: z.number() }),
        }),
      ),
      severity,
    }),
  ),
  containerCount: z.number(),
  clusters: z.array(z.string().nullable()),
});

const reportFileSchema = z.object({
  kind: z.literal('report'),
  id: z.string().regex(reportIdPattern),
  savedAt: z.iso.datetime(),
  source: z.string().max(1000),
  prometheusAuth: z.string().max(200).optional(),
  bytes: z.number().int().min(0),
  report: reportSchema,
  identity: z
    .object({ context: z.string().max(253).optional(), server: z.string().max(2048).optional(), clusterLabel: z.string().max(1000).optional(), warnings: z.array(z.string().max(2000)).max(50).optional() })
    .optional(),
});

const identity = { namespace: z.string(), kind: z.enum(workloadKinds), name: z.string() };
const finding = z.object({ severity: z.enum(['block', 'warn', 'info']), rule: z.string(), message: z.string(), container: z.string().optional() });
const allocation = z.enum(['requests', 'limits']);
const resource = z.enum(['cpu', 'memory']);
const patchOp = z.discriminatedUnion('op', [
  z.object({ op: z.literal('test'), path: z.string(), value: z.unknown() }),
  z.object({ op: z.literal('replace'), path: z.string(), value: z.unknown() }),
  z.object({ op: z.literal('add'), path: z.string(), value: z.unknown() }),
  z.object({ op: z.literal('remove'), path: z.string() }),
]);

// Every field of the evidence summary (core/evidence/planEvidence): the digest covers it, so a dropped field would fail it.
const evidenceSummary = z.discriminatedUnion('status', [
  z.object({
    container: z.string(),
    status: z.literal('recorded'),
    windowStart: z.string(),
    windowEnd: z.string(),
    memoryPeak: nullableNumber,
    memoryPeakAt: z.string().nullable(),
    oomKills: z.number(),
    oomKilledLimit: nullableNumber,
    restarts: z.number(),
    cpuP50: nullableNumber.optional(),
    cpuP95: nullableNumber,
    cpuMax: nullableNumber,
    throttledPercent: nullableNumber,
    points: z.number(),
    firstSample: z.string().nullable(),
  }),
  z.object({ container: z.string(), status: z.literal('none'), reason: z.string() }),
]);

// Every field of the HPA projection (core/hpa/projection): the digest covers it, so a dropped field would fail it.
const hpaMetric = z.object({ resource, targetPercent: z.number(), usage: z.number(), requestBefore: z.number(), requestAfter: z.number(), utilizationBefore: z.number(), utilizationAfter: z.number() });
const hpaLoad = z.object({
  statistic: z.string(),
  metrics: z.array(hpaMetric),
  replicasBefore: z.number(),
  replicasAfter: z.object({ replicas: z.number(), proposed: z.number(), clampedTo: z.enum(['min', 'max']).nullable() }),
});
const hpaProjection = z.object({
  status: z.literal('projected'),
  source: z.enum(['live HPA', 'report']),
  minReplicas: z.number(),
  maxReplicas: z.number(),
  currentReplicas: z.number(),
  typical: hpaLoad,
  peak: hpaLoad,
  monthlyCostBefore: z.number(),
  monthlyCostAfter: z.number(),
});

const planSchema = z.object({
  id: z.string().regex(planIdPattern),
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  kind: z.enum(['apply', 'rollback', 'restore']),
  context: z.string().min(1),
  server: z.string().min(1),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  requestedBy: z.object({ type: z.enum(['human', 'model', 'system']), via: z.string() }),
  objects: z.array(
    z.object({
      ...identity,
      apiVersion: z.string(),
      uid: z.string().nullable(),
      resourceVersion: z.string(),
      generation: z.number().nullable(),
      changes: z.array(z.object({ container: z.string(), allocation, resource, from: z.string().nullable(), to: z.string().nullable(), fromAmount: nullableNumber, toAmount: nullableNumber })),
      ops: z.array(patchOp),
      liveManifest: z.string(),
      proposedManifest: z.string(),
      pods: nullableNumber,
      podsSource: z.string(),
      monthlyCostDelta: nullableNumber,
      findings: z.array(finding),
      stage: z.number().int().min(1),
      evidence: z.array(evidenceSummary).optional(),
      hpa: hpaProjection.optional(),
    }),
  ),
  blocked: z.array(z.object({ namespace: z.string(), kind: z.string(), name: z.string(), reasons: z.array(z.string()) })),
  warnings: z.array(finding),
  totals: z.object({
    objects: z.number(),
    containers: z.number(),
    changes: z.number(),
    cpuRequestDelta: z.number(),
    memoryRequestDelta: z.number(),
    cpuLimitDelta: z.number(),
    memoryLimitDelta: z.number(),
    monthlyCostDelta: z.number(),
    blocked: z.number(),
  }),
  risk: z.enum(['low', 'medium', 'high', 'critical']),
  riskReasons: z.array(z.string()),
  staged: z.boolean(),
  sourceSnapshotId: z.string().optional(),
  conflicts: z
    .array(z.object({ ...identity, container: z.string(), allocation, resource, wrote: z.string().nullable().optional(), live: z.string().nullable(), restore: z.string().nullable(), included: z.boolean() }))
    .optional(),
  sourceReportId: z.string().optional(),
  // A persist plan's trial line (in the digest): dropped here, the stored plan would fail its digest.
  trial: z.object({ id: z.string(), line: z.string() }).optional(),
});

// Evidence (evidence/model.ts): numbers Prometheus gave, checked again on the way back in.
const point = z.tuple([z.number(), z.number()]);
const maxStoredPoints = 200;
const evidenceSchema = z.object({
  cluster: z.string().nullable(),
  namespace: z.string(),
  kind: z.enum(workloadKinds),
  name: z.string(),
  container: z.string(),
  window: z.object({ start: z.iso.datetime(), end: z.iso.datetime(), stepSeconds: z.number().positive() }),
  pods: z.array(z.string()).max(10_000),
  cpu: z.object({ p50: nullableNumber, p95: nullableNumber, p99: nullableNumber, max: nullableNumber, throttledPercent: nullableNumber, series: z.array(point).max(maxStoredPoints) }),
  memory: z.object({ max: nullableNumber, maxAt: z.iso.datetime().nullable(), series: z.array(point).max(maxStoredPoints) }),
  oomKills: z.number().int().min(0),
  oomKilledLimit: nullableNumber,
  restarts: z.number().int().min(0),
  coverage: z.object({ points: z.number().int().min(0), first: z.iso.datetime().nullable(), last: z.iso.datetime().nullable() }),
});
const evidenceFileSchema = z.object({
  kind: z.literal('evidence'),
  id: z.string().regex(reportIdPattern),
  savedAt: z.iso.datetime(),
  readAt: z.iso.datetime(),
  queries: z.number().int().min(0),
  namespaces: z.array(z.string()),
  containers: z.array(evidenceSchema),
  // 'step': each memory peak's maxAt is the step it was reached at. Files written before that (Dec 2026) hold a
  // bucket's end there, which would read as a moment: such evidence is read again rather than shown.
  peakTimes: z.literal('step').optional(),
});
/** One report's evidence file is at most this (2,500 containers with both series take about 25 MB). */
export const maxEvidenceFileBytes = 64 * 1024 * 1024;
/** All evidence files together. */
const evidenceDirectoryBytes = 256 * 1024 * 1024;

const planFileSchema = z.object({ kind: z.literal('plan'), id: z.string().regex(planIdPattern), savedAt: z.iso.datetime(), plan: planSchema });

// A manifest plan (target "manifests") without the files' content: hashes, edits and the changed lines (gitops/stored.ts).
const sha = z.string().regex(/^[0-9a-f]{64}$/);
const fieldEdit = z.object({ line: z.number().int(), field: z.string(), from: z.string().nullable(), to: z.string().nullable() });
const manifestPlanSchema = z.object({
  id: z.string().regex(planIdPattern),
  digest: sha,
  target: z.literal('manifests'),
  context: z.string().nullable(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  requestedBy: z.object({ type: z.enum(['human', 'model', 'system']), via: z.string() }),
  folders: z.array(z.object({ name: z.string(), root: z.string().min(1) })),
  files: z.array(
    z.object({
      folder: z.string(),
      folderRoot: z.string().min(1),
      path: z.string().min(1),
      beforeHash: sha.nullable(),
      afterHash: sha,
      edits: z.array(fieldEdit),
      hunks: z.array(z.object({ start: z.number().int().min(0), count: z.number().int().min(0), lines: z.array(z.string()) })).nullable(),
      created: z.string().nullable(),
    }),
  ),
  workloads: z.array(
    z.object({
      namespace: z.string(),
      kind: z.string(),
      name: z.string(),
      // Every field the digest covers (the pick too): a field dropped here would make the stored plan fail its digest.
      source: z.object({ finder: z.string(), label: z.string(), folder: z.string(), guess: z.boolean(), id: z.string().optional(), chosen: z.literal(true).optional() }),
      files: z.array(z.object({ folder: z.string(), path: z.string(), edits: z.array(fieldEdit) })),
      changes: z.array(z.object({ container: z.string(), allocation, resource, from: z.string().nullable(), to: z.string().nullable(), fromAmount: nullableNumber, toAmount: nullableNumber })),
      notes: z.array(z.string()),
      evidence: z.array(evidenceSummary).optional(),
      hpa: hpaProjection.optional(),
    }),
  ),
  unresolved: z.array(z.object({ namespace: z.string(), kind: z.string(), name: z.string(), reason: z.string(), candidates: z.array(z.string()), sources: z.array(z.object({ id: z.string(), label: z.string() })).optional() })),
  warnings: z.array(finding),
  sourceReportId: z.string().optional(),
  trial: z.object({ id: z.string(), line: z.string() }).optional(),
});

const manifestPlanFileSchema = z.object({ kind: z.literal('manifest-plan'), id: z.string().regex(planIdPattern), savedAt: z.iso.datetime(), plan: manifestPlanSchema });
/** Both kinds of plan share the plans directory (and the claims: one id space, one single use). */
const anyPlanFileSchema = z.discriminatedUnion('kind', [planFileSchema, manifestPlanFileSchema]);

type Kind = 'report' | 'plan' | 'evidence';

export class StateStore {
  private readonly directories: Record<Kind, string>;

  constructor(private readonly options: StateStoreOptions) {
    this.directories = { report: path.join(options.stateDir, 'reports'), plan: path.join(options.stateDir, 'plans'), evidence: path.join(options.stateDir, 'evidence') };
  }

  // ── reports ─────────────────────────────────────────────────────────────────────────────────────────────────
  /** Stores a report (never krr's `config`: our Report model has none). False when it could not (logged). */
  async saveReport(record: PersistedReport): Promise<boolean> {
    const body = { kind: 'report' as const, id: record.id, savedAt: record.savedAt, source: record.source, ...(record.prometheusAuth ? { prometheusAuth: record.prometheusAuth } : {}), bytes: record.bytes, report: record.report, ...(record.identity ? { identity: record.identity } : {}) };
    return this.save('report', record.id, body);
  }

  /** The stored report, or undefined when there is none, it expired, or the file is not one this product wrote. */
  async readReport(id: string): Promise<PersistedReport | undefined> {
    if (!reportIdPattern.test(id)) return undefined;
    const body = await this.read('report', id, reportFileSchema);
    if (!body) return undefined;
    if (Date.parse(body.savedAt) + this.options.limits.reportTtlMs <= this.options.now().getTime()) return undefined;
    return body as PersistedReport;
  }

  /** Ids of stored reports, newest first (by the time the file was written). */
  async reportIds(): Promise<string[]> {
    return (await this.files('report')).map((file) => file.id);
  }

  // ── evidence (beside its report: same id, same lifetime) ────────────────────────────────────────────────────
  /** Keeps a report's evidence; false when it could not or it is larger than maxEvidenceFileBytes (logged). */
  async saveEvidence(record: PersistedEvidence): Promise<boolean> {
    const body = { kind: 'evidence' as const, id: record.reportId, savedAt: record.savedAt, readAt: record.readAt, queries: record.queries, namespaces: record.namespaces, containers: record.containers, peakTimes: 'step' as const };
    return this.save('evidence', record.reportId, body, maxEvidenceFileBytes);
  }

  /** The stored evidence of a report, or undefined (none, expired with its report, or not written by this product). */
  async readEvidence(reportId: string): Promise<PersistedEvidence | undefined> {
    if (!reportIdPattern.test(reportId)) return undefined;
    const body = await this.read('evidence', reportId, evidenceFileSchema);
    if (!body || body.peakTimes !== 'step') return undefined;
    if (Date.parse(body.savedAt) + this.options.limits.reportTtlMs <= this.options.now().getTime()) return undefined;
    return { reportId: body.id, savedAt: body.savedAt, readAt: body.readAt, queries: body.queries, namespaces: body.namespaces, containers: body.containers as ContainerEvidence[] };
  }

  // ── plans ───────────────────────────────────────────────────────────────────────────────────────────────────
  async savePlan(plan: Plan): Promise<boolean> {
    return this.save('plan', plan.id, { kind: 'plan' as const, id: plan.id, savedAt: this.options.now().toISOString(), plan });
  }

  /** Keeps a manifest plan (its stored form holds no workspace file's content; see gitops/stored.ts). */
  async saveManifestPlan(plan: StoredManifestPlan): Promise<boolean> {
    return this.save('plan', plan.id, { kind: 'manifest-plan' as const, id: plan.id, savedAt: this.options.now().toISOString(), plan });
  }

  /** The stored manifest plan, or undefined (none, a cluster plan, or a file this product did not write). */
  async readManifestPlan(id: string): Promise<StoredManifestPlan | undefined> {
    if (!planIdPattern.test(id)) return undefined;
    const body = await this.read('plan', id, anyPlanFileSchema);
    if (body?.kind !== 'manifest-plan' || body.plan.id !== id) return undefined;
    return body.plan as StoredManifestPlan;
  }

  /** The stored plan (expired or not: the caller says "expired"), or undefined; its digest is recomputed. */
  async readPlan(id: string): Promise<Plan | undefined> {
    if (!planIdPattern.test(id)) return undefined;
    const body = await this.read('plan', id, anyPlanFileSchema);
    if (body?.kind !== 'plan') return undefined;
    const plan = body.plan as Plan;
    if (plan.id !== id || planDigest(plan) !== plan.digest) {
      this.options.log(`ignored the stored plan ${this.fileOf('plan', id)}: its digest does not match its objects`);
      return undefined;
    }
    return plan;
  }

  async planIds(): Promise<string[]> {
    return (await this.files('plan')).map((file) => file.id);
  }

  /**
   * Claims a plan for one apply: O_EXCL creation, so across every process sharing this state directory exactly one
   * claim succeeds. Returns the claim's token, or null when the plan was claimed before (applied, declined or being
   * approved). Throws when the claim cannot be recorded; the caller must then not write.
   */
  async claim(plan: Pick<Plan, 'id' | 'expiresAt'>): Promise<string | null> {
    await mkdir(this.directories.plan, { recursive: true, mode: 0o700 });
    const token = randomBytes(16).toString('hex');
    let handle: FileHandle;
    try {
      handle = await open(this.claimOf(plan.id), 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null;
      throw error;
    }
    try {
      await writeAll(handle, Buffer.from(`${JSON.stringify({ planId: plan.id, token, pid: process.pid, at: this.options.now().toISOString(), expiresAt: plan.expiresAt })}\n`, 'utf8'));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await syncDirectory(this.directories.plan);
    return token;
  }

  /** Whether the claim file still holds this token (checked again just before the first write). */
  async holdsClaim(planId: string, token: string): Promise<boolean> {
    const text = await readBounded(this.claimOf(planId), 4096).catch(() => undefined);
    if (text === undefined) return false;
    try {
      return (JSON.parse(text) as { token?: unknown }).token === token;
    } catch {
      return false;
    }
  }

  /** Synchronous (the "Apply Previewed Plan" list): whether any process claimed this plan. */
  isClaimed(planId: string): boolean {
    return planIdPattern.test(planId) && existsSync(this.claimOf(planId));
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────────────────────────
  private async save(kind: Kind, id: string, body: object, maxBytes = maxFileBytes): Promise<boolean> {
    try {
      const key = await this.options.key();
      if (!key) {
        this.options.log(`did not keep ${kind} ${id} in the state directory: the audit key does not exist yet`);
        return false;
      }
      const json = JSON.stringify(body);
      if (Buffer.byteLength(json) > maxBytes) {
        this.options.log(`did not keep ${kind} ${id} in the state directory: larger than ${Math.round(maxBytes / 1024 / 1024)} MB`);
        return false;
      }
      const directory = this.directories[kind];
      await mkdir(directory, { recursive: true, mode: 0o700 });
      await writeFileAtomically(directory, `${id}.json`, signedText(magic, key, json));
      await this.sweep(kind, id);
      return true;
    } catch (error) {
      this.options.log(`could not keep ${kind} ${id} in the state directory: ${messageOf(error)}`);
      return false;
    }
  }

  private async read<T extends z.ZodType>(kind: Kind, id: string, schema: T): Promise<z.output<T> | undefined> {
    const file = this.fileOf(kind, id);
    const ignore = (reason: string) => {
      this.options.log(`ignored the stored ${kind} ${file}: ${reason}; it is not trusted (delete it, or let it expire)`);
      return undefined;
    };
    let text: string | undefined;
    try {
      text = await readBounded(file, maxFileBytes);
    } catch (error) {
      return ignore(messageOf(error));
    }
    if (text === undefined) return undefined;
    const key = await this.options.key().catch(() => undefined);
    if (!key) return ignore('there is no audit key to check it with');
    const json = verifiedJson(magic, key, text);
    if (json === null) return ignore('its signature does not match (not written by this product with this audit key, or changed since)');
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      return ignore('not valid JSON');
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0];
      return ignore(`${issue?.message ?? 'invalid'} at ${issue?.path.join('.') || '(root)'}`);
    }
    if ((result.data as { id?: unknown }).id !== id) return ignore('it holds another id');
    return result.data;
  }

  /**
   * Keeps the directory within its bounds: drops expired files and the oldest beyond the count and byte limits
   * (never `keep`, the file just written), and temp files a crash left. Claims go only once their plan has expired.
   */
  private async sweep(kind: Kind, keep: string): Promise<void> {
    const now = this.options.now().getTime();
    const limits = this.options.limits;
    const [maxCount, maxBytes, lifetime] =
      kind === 'report' ? [limits.reports, limits.reportBytes, limits.reportTtlMs] : kind === 'evidence' ? [limits.reports, evidenceDirectoryBytes, limits.reportTtlMs] : [limits.plans, limits.planBytes, planFileLifetimeMs];
    const directory = this.directories[kind];
    let count = 0;
    let bytes = 0;
    for (const file of await this.files(kind)) {
      const expired = file.mtimeMs + lifetime <= now;
      if (file.id !== keep && (expired || count + 1 > maxCount || bytes + file.size > maxBytes)) {
        await rm(file.path, { force: true });
        continue;
      }
      count += 1;
      bytes += file.size;
    }
    for (const name of await namesIn(directory)) {
      const isTemp = name.startsWith('.') && name.endsWith('.tmp');
      if (!isTemp && !name.endsWith('.claim')) continue;
      const info = await lstat(path.join(directory, name)).catch(() => undefined);
      if (info && info.mtimeMs + (isTemp ? tempLifetimeMs : planFileLifetimeMs) <= now) await rm(path.join(directory, name), { force: true });
    }
  }

  /** Regular files named `<id>.json`, newest first. */
  private async files(kind: Kind): Promise<Array<{ id: string; path: string; size: number; mtimeMs: number }>> {
    const pattern = kind === 'plan' ? planIdPattern : reportIdPattern;
    const directory = this.directories[kind];
    const files = [];
    for (const name of await namesIn(directory)) {
      const id = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
      if (!pattern.test(id)) continue;
      const file = path.join(directory, name);
      const info = await lstat(file).catch(() => undefined);
      if (info?.isFile()) files.push({ id, path: file, size: info.size, mtimeMs: info.mtimeMs });
    }
    return files.sort((a, b) => b.mtimeMs - a.mtimeMs || b.id.localeCompare(a.id));
  }

  private fileOf(kind: Kind, id: string): string {
    return path.join(this.directories[kind], `${id}.json`);
  }

  private claimOf(planId: string): string {
    return path.join(this.directories.plan, `${planId}.claim`);
  }
}

/** undefined when absent. Only a regular file (no symlink, FIFO or device: opened non-blocking), at most `max` bytes. */
async function namesIn(directory: string): Promise<string[]> {
  try {
    return await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

