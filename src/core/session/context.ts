// What every use case of the session shares: the settings, the state directory's store, the audit log, the
// approver, the clock, the change events and the in-memory maps of reports and plans; and the cluster access
// (context resolution, kubectl, the API channel) they all go through. No use case lives here.
import * as path from 'node:path';
import { AuditLog, type AuditActor } from '../audit';
import { fileKeyStore, hmac, parseAuditKey, type AuditKeyStore } from '../auditKey';
import type { ContainerEvidence } from '../evidence/model';
import type { EvidenceLimits } from '../evidence/reader';
import type { GitOpsOwner } from '../gitops/owner';
import type { Report } from '../krr/model';
import { ApiChannel, ChannelledCluster } from '../kube/apiChannel';
import { Kubectl, KubectlError, resolveContext, type ObjectRef } from '../kube/kubectl';
import type { Plan } from '../plan/model';
import { proposeConcurrency } from '../plan/propose';
import { RowIndex } from '../recommendations';
import { SnapshotStore } from '../snapshots';
import { DeclineCooldowns } from './cooldown';
import type { Approver, FleetSummary, ReportSummary, Requester } from '../model';
import { fleetContextsMax, type SessionSettings } from '../settings';
import { StateStore } from './store';
import type { PodRef } from '../kube/pod';
import type { TrialPlan } from '../trial/model';
import { TrialStore } from '../trial/store';
import { displayText } from '../text';
import type { ManifestWriter } from '../gitops/apply';
import type { RenderCount } from '../gitops/render';
import type { ManifestPlan, ManifestSourceFinder } from '../gitops/model';

export type SessionErrorCode = 'unknown-report' | 'unknown-plan' | 'unknown-snapshot' | 'invalid-argument' | 'read-only' | 'busy' | 'krr' | 'kubectl' | 'storage';

export class SessionError extends Error {
  override readonly name = 'SessionError';
  constructor(
    readonly code: SessionErrorCode,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

export interface SessionOptions {
  settings: () => SessionSettings;
  approver: Approver;
  stateDir: string;
  secrets?: { prometheusAuthHeader(): Promise<string | undefined> };
  /** Where the audit log's HMAC key is kept: SecretStorage in VS Code; default a 0600 file `audit.key` in stateDir. */
  auditKeys?: AuditKeyStore;
  log?: (line: string) => void;
  env?: Record<string, string>;
  /** kubectl's discovery cache; tests isolate it per run. */
  kubectlCacheDir?: string;
  /**
   * The API channel of each apply, rollback and proposal (`kubectl proxy` on a private Unix socket): true by
   * default; false uses one kubectl process per request throughout. Where the channel cannot start (no Unix
   * sockets, a kubectl that cannot proxy), the operation uses kubectl processes and the log says so.
   */
  apiChannel?: boolean;
  /** Per request through the API channel; default 30000 (tests shorten it to provoke timeouts). */
  apiChannelTimeoutMs?: number;
  /** Bounds of each evidence read from Prometheus; defaults: evidenceLimits (tests shorten the timeout to provoke it). */
  evidenceLimits?: Partial<EvidenceLimits>;
  now?: () => Date;
  /** How many reports and plans are kept, in memory and in the state directory (oldest evicted first); defaults: sessionLimits. */
  limits?: Partial<SessionLimits>;
  /** The manifest target (GitOps): the workspace folders, how files are written, and extra source finders (Helm). */
  workspace?: {
    folders(): readonly string[];
    writer: ManifestWriter;
    finders?: readonly ManifestSourceFinder[];
    /** Told after each manifest proposal what it rendered (the bench counts renders). */
    onRenders?: (renders: RenderCount) => void;
  };
}

export interface SessionLimits {
  reports: number;
  /** Estimated from the size of krr's JSON (a report may be 200 MB); the newest report is always kept. */
  reportBytes: number;
  plans: number;
  planBytes: number;
  /** How long a report stays in the state directory (it outlives the process for that long, no longer). */
  reportTtlMs: number;
}

/**
 * A report may be 200 MB: keep a few, never an unbounded history (the model is told when an id is gone). The count
 * holds a whole fleet of the largest size and a few single scans beside it.
 */
export const sessionLimits: SessionLimits = { reports: fleetContextsMax + 10, reportBytes: 512 * 1024 * 1024, plans: 100, planBytes: 64 * 1024 * 1024, reportTtlMs: 24 * 60 * 60 * 1000 };

/**
 * A proposal of fewer workloads reads and dry-runs them with kubectl processes: starting the channel's proxies costs
 * about as much as the few processes it would save. An approved apply always uses the channel.
 */
export const proposalChannelFrom = 20;

/** Evicted ids remembered so the model hears "evicted" rather than "no such report"; bounded too. */
const rememberedEvictions = 1000;

/** GitOps owners learned from live objects (proposals, listings), per workload key; a failed read waits a minute. */
export type OwnerCache = { owners: Map<string, GitOpsOwner | null>; failedAt?: number; reading?: Promise<string | null> };

/**
 * A report's evidence as far as it was read (evidence.ts): whole namespaces at a time, kept with the report (and in
 * the state directory beside it). A failed read is remembered a minute so that a panel or list does not hammer a
 * Prometheus that is down.
 */
export type EvidenceCache = { containers: Map<string, ContainerEvidence>; namespaces: Set<string>; readAt: string | null; queries: number; loading?: Promise<void>; failure?: { reason: string; at: number }; reading?: Promise<unknown> };

export type StoredReport = { report: Report; index: RowIndex; summary: ReportSummary; bytes: number; source: string; savedAt: string; gitops: OwnerCache; evidence?: EvidenceCache };

export type StoredPlan = { plan: Plan; state: 'proposed' | 'approving' | 'used'; bytes: number };

export type ChangeEvent = { type: 'report' | 'plan' | 'apply' | 'snapshot' | 'trial' };

export function actorOf(requester: Requester): AuditActor {
  return { type: requester.type, via: requester.via };
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function megabytes(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}

/** Echoes of caller-supplied ids in messages to the model: one line, bounded, no format characters. */
export function truncate(text: string, max = 80): string {
  return displayText(text, max);
}

/**
 * The one value every use case takes first. Its fields are the session's state; its methods are the effects every use
 * case needs (clock, log, events, audit, cluster access), so that a use case module holds only its own steps.
 */
export class SessionContext {
  readonly reports = new Map<string, StoredReport>();
  readonly scanCache = new Map<string, { reportId: string; at: number }>();
  readonly plans = new Map<string, StoredPlan>();
  /** Manifest plans (target "manifests"): same ids, lifetime, single use and approval as cluster plans. */
  readonly manifestPlans = new Map<string, { plan: ManifestPlan; state: StoredPlan['state'] }>();
  /** Trial plans (core/trial): same ids, lifetime, single use and approval as cluster plans. */
  readonly trialPlans = new Map<string, { plan: TrialPlan; state: StoredPlan['state'] }>();
  /** Trials started, in the state directory (one file each), so a reload or restart finds them. */
  readonly trials: TrialStore;
  /** Trials this process is checking or reverting right now, and when that ends (never two at once for one trial). */
  readonly trialChecks = new Map<string, Promise<unknown>>();
  readonly applying = new Set<string>();
  /** When a person last declined or left unanswered an apply, per context (the model's cool-down), in the state directory. */
  readonly declines: DeclineCooldowns;
  readonly listeners = new Set<(event: ChangeEvent) => void>();
  auditOpening: Promise<AuditLog> | undefined;
  latestReport: string | null = null;
  readonly fleets = new Map<string, FleetSummary>();
  /** Fleet scans under way: report eviction waits for them, so a fleet never evicts the reports it just made. */
  fleetScansRunning = 0;
  /** The newest fleet's reports: never evicted while it is the newest (a later single scan evicts older reports). */
  pinnedReports = new Set<string>();
  latestFleet: string | null = null;
  /** The newest report when the newest fleet finished: the fleet is what to review until another report comes. */
  latestFleetReport: string | null = null;
  readonly combinedIndexes = new Map<string, RowIndex>();
  latestPlan: string | null = null;
  snapshotStore: SnapshotStore | undefined;
  readonly evicted = new Map<string, string>();
  /** The API server version KRR has read (status), per `${context}\0${server}`: charts are rendered for it. */
  readonly serverVersions = new Map<string, string>();
  readonly limits: SessionLimits;
  /** Reports and plans in the state directory, so that they outlive this process (see store.ts). */
  readonly store: StateStore;
  stateKey: Buffer | undefined;

  constructor(readonly options: SessionOptions) {
    this.limits = { ...sessionLimits, ...options.limits };
    this.store = new StateStore({ stateDir: options.stateDir, key: () => this.readStateKey(), limits: this.limits, now: () => this.now(), log: (line) => this.log(line) });
    this.declines = new DeclineCooldowns(options.stateDir, (line) => this.log(line));
    this.trials = new TrialStore(options.stateDir, () => this.readStateKey(), (line) => this.log(line));
  }

  get snapshots(): SnapshotStore {
    this.snapshotStore ??= new SnapshotStore(path.join(this.options.stateDir, 'snapshots'), { retentionDays: this.options.settings().snapshotRetentionDays });
    return this.snapshotStore;
  }

  /** The state files' key: derived from the audit log's key, so only whoever holds that can write a file we trust. */
  async readStateKey(): Promise<Buffer | undefined> {
    if (this.stateKey) return this.stateKey;
    const keys = this.auditKeyStore();
    const record = await keys.read();
    if (record === undefined) return undefined;
    this.stateKey = Buffer.from(hmac(parseAuditKey(record, keys.description).key, 'krr-mcp state files v1'), 'hex');
    return this.stateKey;
  }

  auditKeyStore(): AuditKeyStore {
    return this.options.auditKeys ?? fileKeyStore(path.join(this.options.stateDir, 'audit.key'));
  }

  /**
   * Drops the oldest entries (Map order = insertion order) until both bounds hold. The newest entry always
   * stays, and a plan waiting for its approval is never dropped under the person's dialog.
   */
  evictOldest<T extends { bytes: number; state?: string }>(store: Map<string, T>, maxCount: number, maxBytes: number, message: (id: string) => string, pinned: (id: string) => boolean = () => false): void {
    let bytes = 0;
    for (const entry of store.values()) bytes += entry.bytes;
    const newest = [...store.keys()].at(-1);
    for (const [id, entry] of store) {
      if (store.size <= maxCount && bytes <= maxBytes) break;
      if (id === newest || entry.state === 'approving' || pinned(id)) continue;
      store.delete(id);
      bytes -= entry.bytes;
      this.evicted.set(id, message(id));
      if (this.evicted.size > rememberedEvictions) this.evicted.delete(this.evicted.keys().next().value as string);
    }
  }

  isExpired(plan: Pick<Plan, 'expiresAt'>): boolean {
    return this.now().getTime() >= Date.parse(plan.expiresAt);
  }

  async resolveTarget(settings: SessionSettings, context: string | undefined): Promise<{ context: string; server: string }> {
    try {
      const resolved = await resolveContext({ kubectlPath: settings.kubectlPath, ...(settings.kubeconfig ? { kubeconfig: settings.kubeconfig } : {}), ...((context ?? settings.context) ? { context: context ?? settings.context } : {}) });
      return { context: resolved.context, server: resolved.server };
    } catch (error) {
      if (error instanceof KubectlError) throw new SessionError('kubectl', error.message, 'Check krr.kubeconfig / krr.context (or the current context of your kubeconfig) and that kubectl is installed (krr.kubectlPath).');
      throw error;
    }
  }

  kubectlFor(settings: SessionSettings, context: string): Kubectl {
    return new Kubectl({
      kubectlPath: settings.kubectlPath,
      context,
      ...(settings.kubeconfig ? { kubeconfig: settings.kubeconfig } : {}),
      ...(this.options.kubectlCacheDir ? { cacheDir: this.options.kubectlCacheDir } : {}),
      onCommand: (event) => this.log(`kubectl ${event.argv.join(' ')} (${event.durationMs} ms, exit ${event.exitCode ?? '?'})`),
    });
  }

  /**
   * The cluster access of one operation: an API channel reaching only `objects` (GET, and PATCH — dry-run only
   * unless `writes` is 'approved', which only an approved apply asks for), kubectl processes for the rest and as
   * the fallback. The caller closes it when the operation ends.
   */
  async clusterFor(settings: SessionSettings, context: string, objects: readonly ObjectRef[], writes: 'dry-run' | 'approved', hpaListNamespaces: readonly string[] = [], pods: readonly PodRef[] = []): Promise<ChannelledCluster> {
    const kubectl = this.kubectlFor(settings, context);
    const reachable = objects.filter((ref) => ref.kind !== 'Rollout');
    if (this.options.apiChannel === false || (reachable.length === 0 && pods.length === 0)) return new ChannelledCluster(null, kubectl);
    try {
      const channel = await ApiChannel.open({
        kubectlPath: settings.kubectlPath,
        context,
        objects: reachable,
        pods,
        writes,
        hpaListNamespaces,
        // A proposal's dry-runs go twice as wide as an apply's writes (proposeConcurrency).
        maxSockets: writes === 'dry-run' ? proposeConcurrency(settings) : settings.applyConcurrency,
        ...(settings.kubeconfig ? { kubeconfig: settings.kubeconfig } : {}),
        ...(this.options.kubectlCacheDir ? { cacheDir: this.options.kubectlCacheDir } : {}),
        ...(this.options.apiChannelTimeoutMs ? { timeoutMs: this.options.apiChannelTimeoutMs } : {}),
        log: (line) => this.log(line),
      });
      return new ChannelledCluster(channel, kubectl);
    } catch (error) {
      this.log(`API channel not available (${messageOf(error)}); using one kubectl process per request`);
      return new ChannelledCluster(null, kubectl);
    }
  }

  openAudit(): Promise<AuditLog> {
    this.auditOpening ??= AuditLog.open(path.join(this.options.stateDir, 'audit.jsonl'), {
      keys: this.auditKeyStore(),
    });
    return this.auditOpening;
  }

  async audit(record: Parameters<AuditLog['append']>[0]): Promise<void> {
    const log = await this.openAudit();
    await log.append(record);
  }

  emit(event: ChangeEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  log(line: string): void {
    this.options.log?.(line);
  }

  now(): Date {
    return this.options.now?.() ?? new Date();
  }
}
