// The use cases — scan, review, propose, approve, apply, roll back, audit — over an Approver interface.
// Both hosts (the MCP tools and the VS Code commands) call only this class.
import { createHash, randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { executePlan, identityOf, mapBounded, type ApplyDependencies } from '../apply';
import { approvalText, describeParty } from '../approval';
import { AuditLog, boundedArguments, type AuditActor, type AuditEntry, type AuditAction } from '../audit';
import { fileKeyStore, hmac, parseAuditKey, type AuditKeyStore } from '../auditKey';
import { ownerKey, readGitOpsOwners, type GitOpsOwner } from '../gitops/owner';
import type { Report, ResourceName, WorkloadKind } from '../krr/model';
import { evaluatePolicies } from '../policy';
import { severityOrder } from '../krr/model';
import { readReportFile } from '../krr/report';
import { clusterLabelWarnings } from '../krr/centralPrometheus';
import { decidePrometheusAuth } from '../krr/prometheusAuth';
import { KrrError, readKrrVersion, runKrrScan, type KrrScanOptions } from '../krr/runner';
import { ApiChannel, ChannelledCluster } from '../kube/apiChannel';
import { Kubectl, KubectlError, resolveContext, resolveContexts, type ObjectRef } from '../kube/kubectl';
import { assertDnsLabel, assertDnsSubdomain } from '../kube/names';
import { desiredFromRecommendation, type DesiredResources } from '../plan/build';
import type { BlockedWorkload, Plan } from '../plan/model';
import { proposeConcurrency, proposePlan, type PlanTarget, type ProposeContext, type ProposeProgress } from '../plan/propose';
import { describeConflict, rollbackTarget } from '../plan/rollback';
import { progressPulse, type ProgressPulse } from '../progressPulse';
import { QuantityError } from '../quantity';
import { notPatchableReason, RowIndex, rowsOfReport } from '../recommendations';
import { SnapshotStore } from '../snapshots';
import { DeclineCooldowns } from './cooldown';
import type { ApplyOutcome, ApprovalText, Approver, ClusterTotals, FleetScanEntry, FleetSummary, PendingPlan, ProposeArguments, RecommendationPage, RecommendationQuery, ReportSummary, Requester, ScanArguments } from '../model';
import { fleetContextsMax, type SessionSettings } from '../settings';
import { StateStore, planIdPattern, reportIdPattern, type PersistedReport, type ReportIdentity } from './store';
import { displayText, plural } from '../text';
import { executeManifestPlan, filesChangedSinceProposal, staleManifestResult, type ManifestWriter } from '../gitops/apply';
import { manifestApprovalText } from '../gitops/approval';
import type { ManifestPlan, ManifestSourceFinder, UnresolvedWorkload, WorkloadTarget } from '../gitops/model';
import { helmFinder } from '../gitops/helm';
import { defaultFinders, proposeManifestPlan } from '../gitops/propose';
import { ManifestPlanNotStored, restoreManifestPlan, storedManifestPlan } from '../gitops/stored';
import { groupByKind } from '../gitops/workload';
import { workspaceFolders, WorkspaceInputError } from '../gitops/workspace';

/**
 * Why a call was refused before it reached a use case: its input schema, an unknown tool, a 2026-07-28 request
 * state that failed verification (forged, replayed, expired, for another call), a client capability it lacks.
 */
export type RefusedCallOutcome = 'invalid-arguments' | 'unknown-tool' | 'invalid-request-state' | 'missing-capability';

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
  now?: () => Date;
  /** How many reports and plans are kept, in memory and in the state directory (oldest evicted first); defaults: sessionLimits. */
  limits?: Partial<SessionLimits>;
  /** The manifest target (GitOps): the workspace folders, how files are written, and extra source finders (Helm). */
  workspace?: { folders(): readonly string[]; writer: ManifestWriter; finders?: readonly ManifestSourceFinder[] };
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

export interface StatusResult {
  krr: { path: string; version: string | null; warning: string | null; error: string | null };
  kubectl: { path: string; client: string | null; server: string | null; error: string | null };
  context: string | null;
  server: string | null;
  reachable: boolean;
  readOnly: boolean;
  readOnlyReason: string | null;
}

export interface RollbackOptions {
  /** Only these objects of the snapshot; default: every object the apply wrote. */
  objects?: Array<{ namespace: string; kind: string; name: string }>;
  /** Also restore fields someone changed since the apply (overwrites their change); default false. */
  includeConflicts?: boolean;
}

/** GitOps owners learned from live objects (proposals, listings), per workload key; a failed read waits a minute. */
type OwnerCache = { owners: Map<string, GitOpsOwner | null>; failedAt?: number; reading?: Promise<string | null> };
type StoredReport = { report: Report; index: RowIndex; summary: ReportSummary; bytes: number; source: string; savedAt: string; gitops: OwnerCache };

export interface ScanControl {
  signal?: AbortSignal;
  onProgress?: (p: { message: string; progress: number; total?: number }) => void;
}

export interface FleetScanControl {
  /** Cancels the whole fleet scan. */
  signal?: AbortSignal;
  /** Cancels one context's scan (the others go on). */
  signalFor?: (context: string) => AbortSignal | undefined;
  onProgress?: (p: { context: string; message: string; done: boolean }) => void;
}

/** Indexes over several reports (a fleet listed as one), newest last; a few are kept, each costs an array of row references. */
const fleetIndexCache = 4;
/** Manifest writes share one lock and one decline cool-down (the workspace), apart from every cluster context. */
const manifestCooldownKey = 'workspace manifests';
type StoredPlan = { plan: Plan; state: 'proposed' | 'approving' | 'used'; bytes: number };
type ChangeEvent = { type: 'report' | 'plan' | 'apply' | 'snapshot' };

export class Session {
  private readonly reports = new Map<string, StoredReport>();
  private readonly scanCache = new Map<string, { reportId: string; at: number }>();
  private readonly plans = new Map<string, StoredPlan>();
  /** Manifest plans (target "manifests"): same ids, lifetime, single use and approval as cluster plans. */
  private readonly manifestPlans = new Map<string, { plan: ManifestPlan; state: StoredPlan['state'] }>();
  private readonly applying = new Set<string>();
  /** When a person last declined or left unanswered an apply, per context (the model's cool-down), in the state directory. */
  private readonly declines: DeclineCooldowns;
  private readonly listeners = new Set<(event: ChangeEvent) => void>();
  private auditOpening: Promise<AuditLog> | undefined;
  private latestReport: string | null = null;
  private readonly fleets = new Map<string, FleetSummary>();
  /** Fleet scans under way: report eviction waits for them, so a fleet never evicts the reports it just made. */
  private fleetScansRunning = 0;
  /** The newest fleet's reports: never evicted while it is the newest (a later single scan evicts older reports). */
  private pinnedReports = new Set<string>();
  private latestFleet: string | null = null;
  /** The newest report when the newest fleet finished: the fleet is what to review until another report comes. */
  private latestFleetReport: string | null = null;
  private readonly combinedIndexes = new Map<string, RowIndex>();
  private latestPlan: string | null = null;
  private snapshotStore: SnapshotStore | undefined;
  private readonly evicted = new Map<string, string>();
  private readonly limits: SessionLimits;
  /** Reports and plans in the state directory, so that they outlive this process (see store.ts). */
  private readonly store: StateStore;
  private stateKey: Buffer | undefined;

  /** Reads no settings and starts nothing: a bad setting surfaces on the first call, as a message. */
  constructor(private readonly options: SessionOptions) {
    this.limits = { ...sessionLimits, ...options.limits };
    this.store = new StateStore({ stateDir: options.stateDir, key: () => this.readStateKey(), limits: this.limits, now: () => this.now(), log: (line) => this.log(line) });
    this.declines = new DeclineCooldowns(options.stateDir, (line) => this.log(line));
  }

  /**
   * Loads what an earlier process left in the state directory: the newest report (the review after a window reload;
   * older ones load when asked for) and the plans. Files that fail their signature or schema are logged and skipped.
   */
  async restore(): Promise<void> {
    let restored = false;
    for (const id of await this.store.reportIds()) {
      if (this.reports.has(id)) break;
      const record = await this.store.readReport(id);
      if (!record) continue;
      this.adoptReport(record);
      this.latestReport = id;
      restored = true;
      break;
    }
    for (const id of (await this.store.planIds()).reverse()) {
      if (this.plans.has(id)) continue;
      const plan = await this.store.readPlan(id);
      if (!plan || this.isExpired(plan)) continue;
      this.adoptPlan(plan);
      restored = true;
    }
    if (restored) this.emit({ type: 'report' });
  }

  /**
   * Makes sure a report is at hand — in memory, or stored by another process (a stdio server started per call) or
   * before a reload — and returns its summary. Throws unknown-report like the synchronous accessors.
   */
  async openReport(reportId: string): Promise<ReportSummary> {
    return (await this.reportById(reportId)).summary;
  }

  get snapshots(): SnapshotStore {
    this.snapshotStore ??= new SnapshotStore(path.join(this.options.stateDir, 'snapshots'), { retentionDays: this.options.settings().snapshotRetentionDays });
    return this.snapshotStore;
  }

  // ── status ────────────────────────────────────────────────────────────────────────────────────────
  async status(signal?: AbortSignal): Promise<StatusResult> {
    const settings = this.options.settings();
    const result: StatusResult = {
      krr: { path: settings.krrPath, version: null, warning: null, error: null },
      kubectl: { path: settings.kubectlPath, client: null, server: null, error: null },
      context: null,
      server: null,
      reachable: false,
      readOnly: settings.readOnly,
      readOnlyReason: settings.readOnly ? (settings.readOnlyReason ?? 'krr.readOnly is set') : null,
    };
    await Promise.all([
      readKrrVersion(settings.krrPath, signal).then(
        (version) => Object.assign(result.krr, { version: version.version, warning: version.warning }),
        (error: unknown) => (result.krr.error = messageOf(error)),
      ),
      this.resolveTarget(settings, undefined)
        .then(async (target) => {
          result.context = target.context;
          result.server = target.server;
          const version = await this.kubectlFor(settings, target.context).version(signal);
          result.kubectl.client = version.client;
          result.kubectl.server = version.server;
          result.reachable = version.server !== null;
        })
        .catch((error: unknown) => (result.kubectl.error = messageOf(error))),
    ]);
    return result;
  }

  // ── scan and reports ──────────────────────────────────────────────────────────────────────────────
  async scan(args: ScanArguments, requester: Requester, control: ScanControl = {}): Promise<ReportSummary> {
    const settings = this.options.settings();
    const target = await this.resolveTarget(settings, args.context);
    // One context: krr.prometheusClusterLabel is this cluster's value unless the per-context map names another.
    const clusterLabel = args.prometheusClusterLabel ?? settings.prometheusClusterLabels[target.context] ?? settings.prometheusClusterLabel;
    return this.scanTarget(args, target, clusterLabel, requester, control);
  }

  /**
   * Scans several contexts, at most krr.scanParallelism at a time. Each context gets its own report (its identity:
   * context, API server, cluster label); one that fails or is cancelled does not stop the others.
   */
  async scanFleet(args: ScanArguments & { contexts: string[] }, requester: Requester, control: FleetScanControl = {}): Promise<FleetSummary> {
    const settings = this.options.settings();
    const contexts = [...new Set(args.contexts)];
    if (contexts.length === 0) throw new SessionError('invalid-argument', 'No contexts to scan.', 'Name at least one kube context (or set krr.contexts).');
    if (contexts.length > fleetContextsMax) throw new SessionError('invalid-argument', `A fleet scan takes at most ${fleetContextsMax} contexts; ${contexts.length} were given.`, `Scan the contexts in groups of at most ${fleetContextsMax}.`);
    if (args.prometheusClusterLabel !== undefined && contexts.length > 1) {
      throw new SessionError('invalid-argument', 'One Prometheus cluster label value cannot hold for several contexts.', 'Set krr.prometheusClusterLabels (context → that cluster\'s value) and scan without prometheusClusterLabel.');
    }
    // One kubeconfig read for the whole fleet; if it fails, each context is resolved (and fails) on its own.
    const kubeconfig = settings.kubeconfig ? { kubeconfig: settings.kubeconfig } : {};
    const resolved = await resolveContexts({ kubectlPath: settings.kubectlPath, ...kubeconfig }, contexts).catch(() => null);
    this.fleetScansRunning += 1;
    const entries = await mapBounded(contexts, settings.scanParallelism, async (context): Promise<FleetScanEntry> => {
      const signal = control.signalFor?.(context);
      const combined = signal && control.signal ? AbortSignal.any([signal, control.signal]) : (signal ?? control.signal);
      try {
        const known = resolved?.get(context);
        if (known === null) throw new SessionError('kubectl', `The kube context ${displayText(context, 120)} is not in ${settings.kubeconfig ?? 'the default kubeconfig'}.`, 'Check the context name (kubectl config get-contexts) or krr.contexts.');
        const target = known ?? (await this.resolveTarget(settings, context));
        const label = args.prometheusClusterLabel ?? settings.prometheusClusterLabels[context] ?? (contexts.length === 1 ? settings.prometheusClusterLabel : undefined);
        if ((args.prometheusLabel ?? settings.prometheusLabel) !== undefined && label === undefined) {
          throw new SessionError('invalid-argument', `No Prometheus cluster label value for context ${displayText(context, 120)}.`, 'Add the context to krr.prometheusClusterLabels (context → that cluster\'s value of krr.prometheusLabel).');
        }
        control.onProgress?.({ context, message: 'starting', done: false });
        const summary = await this.scanTarget(args, target, label, requester, {
          ...(combined ? { signal: combined } : {}),
          onProgress: (progress) => control.onProgress?.({ context, message: progress.message, done: false }),
        });
        control.onProgress?.({ context, message: 'done', done: true });
        return { context, reportId: summary.reportId, server: target.server, ...(summary.clusterLabel ? { clusterLabel: summary.clusterLabel } : {}), cached: summary.cached };
      } catch (error) {
        const message = error instanceof SessionError ? `${error.message} ${error.hint}` : messageOf(error);
        control.onProgress?.({ context, message: `failed: ${message}`, done: true });
        return { context, error: displayText(message, 1000) };
      }
    }).finally(() => {
      this.fleetScansRunning -= 1;
    });
    const fleetId = `fleet-${randomBytes(6).toString('hex')}`;
    const reportIds = entries.flatMap((entry) => (entry.reportId ? [entry.reportId] : []));
    // This fleet is the newest: its reports stay; what the eviction deferred during the scan happens now, to others.
    this.pinnedReports = new Set(reportIds);
    this.evictReports();
    const totals = reportIds.length > 0 ? (this.rowIndex(reportIds).query({ pageSize: 1 }).totals?.fleet ?? emptyTotals()) : emptyTotals();
    const summary: FleetSummary = { fleetId, reports: entries, totals };
    this.fleets.set(fleetId, summary);
    if (this.fleets.size > this.limits.reports) this.fleets.delete(this.fleets.keys().next().value as string);
    this.latestFleet = fleetId;
    this.latestFleetReport = this.latestReport;
    this.emit({ type: 'report' });
    return summary;
  }

  getFleet(fleetId: string): FleetSummary {
    const fleet = this.fleets.get(fleetId);
    if (!fleet) throw new SessionError('unknown-report', `There is no fleet ${truncate(fleetId)}.`, 'Run krr_scan with contexts first and use the fleetId it returns.');
    return fleet;
  }

  latestFleetId(): string | null {
    return this.latestFleet;
  }

  /** What a review shows now: the newest fleet, unless a single report was scanned or loaded after it. */
  currentReview(): { fleetId: string } | { reportId: string } | null {
    if (this.latestFleet && this.fleets.has(this.latestFleet) && this.latestReport === this.latestFleetReport) {
      const fleet = this.fleets.get(this.latestFleet) as FleetSummary;
      if (fleet.reports.some((entry) => entry.reportId && this.reports.has(entry.reportId))) return { fleetId: this.latestFleet };
    }
    return this.latestReport ? { reportId: this.latestReport } : null;
  }

  private async scanTarget(args: ScanArguments, target: { context: string; server: string }, clusterLabel: string | undefined, requester: Requester, control: ScanControl): Promise<ReportSummary> {
    const settings = this.options.settings();
    const pick = <T,>(fromArgs: T | undefined, fromSettings: T | undefined): T | undefined => (fromArgs !== undefined ? fromArgs : fromSettings);
    const prometheusLabel = pick(args.prometheusLabel, settings.prometheusLabel);
    const useOomKillData = pick(args.useOomKillData, settings.useOomKillData) ?? false;
    const jobGroupingLabels = pick(args.jobGroupingLabels, settings.jobGroupingLabels) ?? [];
    const optional = <K extends keyof KrrScanOptions>(key: K, value: KrrScanOptions[K] | undefined): Partial<KrrScanOptions> => (value === undefined ? {} : ({ [key]: value } as Partial<KrrScanOptions>));
    const scanOptions: KrrScanOptions = {
      krrPath: settings.krrPath,
      strategy: args.strategy ?? settings.strategy,
      context: target.context,
      ...(settings.kubeconfig ? { kubeconfig: settings.kubeconfig } : {}),
      ...((args.namespaces ?? settings.namespaces).length > 0 ? { namespaces: args.namespaces ?? settings.namespaces } : {}),
      ...((args.selector ?? settings.selector) ? { selector: args.selector ?? settings.selector } : {}),
      ...((args.prometheusUrl ?? settings.prometheusUrl) ? { prometheusUrl: args.prometheusUrl ?? settings.prometheusUrl } : {}),
      ...optional('historyHours', pick(args.historyHours, settings.historyHours)),
      ...optional('cpuPercentile', pick(args.cpuPercentile, settings.cpuPercentile)),
      ...optional('memoryBufferPercent', pick(args.memoryBufferPercent, settings.memoryBufferPercent)),
      ...optional('prometheusLabel', prometheusLabel),
      ...optional('prometheusClusterLabel', clusterLabel),
      ...((pick(args.allowHpa, settings.allowHpa) ?? false) ? { allowHpa: true } : {}),
      ...(useOomKillData ? { useOomKillData: true } : {}),
      ...optional('oomMemoryBufferPercent', useOomKillData ? pick(args.oomMemoryBufferPercent, settings.oomMemoryBufferPercent) : undefined),
      ...(jobGroupingLabels.length > 0 ? { jobGroupingLabels } : {}),
      ...optional('jobGroupingLimit', jobGroupingLabels.length > 0 ? pick(args.jobGroupingLimit, settings.jobGroupingLimit) : undefined),
      ...optional('maxWorkers', pick(args.maxWorkers, settings.maxWorkers)),
    };
    const warnings = clusterLabelWarnings(scanOptions.prometheusLabel, scanOptions.prometheusClusterLabel);
    // The header and the extra headers go only to the Prometheus URL the person configured, never to one a tool call names.
    const authHeader = await this.options.secrets?.prometheusAuthHeader();
    const auth = decidePrometheusAuth({ header: authHeader, configuredUrl: settings.prometheusUrl, effectiveUrl: scanOptions.prometheusUrl });
    if (authHeader && !auth.send) this.log(`Prometheus auth header ${auth.note}`);
    const headers = settings.prometheusHeaders.length > 0 ? decidePrometheusAuth({ header: 'set', configuredUrl: settings.prometheusUrl, effectiveUrl: scanOptions.prometheusUrl }) : null;
    if (headers && !headers.send) {
      this.log(`Prometheus headers (krr.prometheusHeaders) ${headers.note}`);
      warnings.push(`The Prometheus headers of krr.prometheusHeaders were ${headers.note.replace('not sent: ', 'not sent (')}${headers.note.startsWith('not sent: ') ? ')' : ''}.`);
    }
    // The cache key holds no secret: the headers are added after it is computed (only a digest of them is in it).
    const cacheKey = JSON.stringify({ ...scanOptions, server: target.server, auth: auth.note, headers: headers?.send ? digestOf(settings.prometheusHeaders) : null });
    const cached = this.scanCache.get(cacheKey);
    const now = this.now().getTime();
    if (!args.refresh && cached && now - cached.at < settings.scanCacheTtlSeconds * 1000 && this.reports.has(cached.reportId)) {
      const stored = this.reports.get(cached.reportId) as StoredReport;
      return { ...stored.summary, cached: true };
    }
    let progress = 0;
    control.onProgress?.({ message: `Running krr ${scanOptions.strategy} on ${target.context}`, progress });
    const withSecrets: KrrScanOptions = {
      ...scanOptions,
      ...(auth.send && authHeader ? { prometheusAuthHeader: authHeader } : {}),
      ...(headers?.send ? { prometheusHeaders: settings.prometheusHeaders } : {}),
    };
    let result;
    try {
      result = await runKrrScan(withSecrets, {
        ...(control.signal ? { signal: control.signal } : {}),
        onProgress: (message) => control.onProgress?.({ message, progress: ++progress }),
        onCommand: (argv) => this.log(`krr ${argv.join(' ')}`),
        ...(this.options.env ? { env: this.options.env } : {}),
      });
    } catch (error) {
      if (error instanceof KrrError) throw new SessionError('krr', error.message, auth.send || !authHeader ? error.hint : `${error.hint} The Prometheus auth header was ${auth.note}.`);
      throw error;
    }
    this.log(`krr finished in ${result.durationMs} ms: ${result.report.containerCount} containers`);
    if (scanOptions.allowHpa) {
      const scaled = result.report.workloads.filter((workload) => workload.hpa && (workload.hpa.targetCpuUtilizationPercentage !== null || workload.hpa.targetMemoryUtilizationPercentage !== null)).length;
      if (scaled > 0) warnings.push(`${scaled} workload(s) are scaled by an HPA on CPU or memory utilisation (krr.allowHpa is on): the HPA measures utilisation against the request, so cutting that request makes the HPA see higher utilisation and add replicas (and raising it, remove them). Such requests stay blocked in proposals; change the HPA and the request together.`);
    }
    for (const warning of warnings) this.log(`warning: ${warning}`);
    const summary = this.storeReport(result.report, `krr scan of ${target.context}`, result.bytes, auth.note, {
      context: target.context,
      server: target.server,
      ...(scanOptions.prometheusLabel !== undefined && scanOptions.prometheusClusterLabel !== undefined ? { clusterLabel: `${scanOptions.prometheusLabel}="${scanOptions.prometheusClusterLabel}"` } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
    });
    this.scanCache.set(cacheKey, { reportId: summary.reportId, at: now });
    await this.audit({ action: 'scan', actor: actorOf(requester), context: target.context, server: target.server, outcome: 'ok', detail: { reportId: summary.reportId, workloads: summary.workloads, containers: summary.containers } });
    // After the audit entry: the files are signed with a key derived from the audit key, which the first entry creates.
    await this.persistReport(summary.reportId);
    return summary;
  }

  async loadReport(filePath: string, requester: Requester): Promise<ReportSummary> {
    let loaded: { report: Report; bytes: number };
    try {
      loaded = await readReportFile(filePath);
    } catch (error) {
      throw new SessionError('invalid-argument', messageOf(error), 'Pick a file written by `krr … -f json` (or -f yaml).');
    }
    const summary = this.storeReport(loaded.report, path.basename(filePath), loaded.bytes);
    await this.audit({ action: 'scan', actor: actorOf(requester), outcome: 'loaded', detail: { reportId: summary.reportId, file: path.basename(filePath), containers: summary.containers } });
    await this.persistReport(summary.reportId);
    return summary;
  }

  getReport(reportId: string): Report {
    return this.storedReport(reportId).report;
  }

  reportSummary(reportId: string): ReportSummary {
    return this.storedReport(reportId).summary;
  }

  latestReportId(): string | null {
    return this.latestReport;
  }

  /** One report's rows, or several reports' (`reportIds`, or a fleet id as `reportId`) as one list whose rows carry their cluster. */
  listRecommendations(query: RecommendationQuery): RecommendationPage {
    const ids = query.reportIds && query.reportIds.length > 0 ? query.reportIds : query.reportId.startsWith('fleet-') ? this.fleetReportIds(query.reportId) : [query.reportId];
    const page = this.rowIndex(ids).query(query);
    if (ids.length === 1 && query.cluster === undefined) delete page.totals;
    const owners = new Map<string, GitOpsOwner | null>();
    for (const id of ids) for (const [key, owner] of this.storedReport(id).gitops.owners) owners.set(key, owner);
    if (owners.size === 0) return page;
    return { ...page, rows: page.rows.map((row) => (owners.has(ownerKey(row)) ? { ...row, gitopsOwner: owners.get(ownerKey(row)) ?? null } : row)) };
  }

  /**
   * Reads who reconciles the report's workloads (or the given ones) from Git — one `kubectl get` list per kind and
   * namespace — so listings show it. Best effort and read-only: only for a report of the current context, never
   * twice for a known workload, not again within a minute of a failed read. Returns why nothing was read, or null.
   */
  async readGitOpsOwners(reportId: string, workloads?: ReadonlyArray<{ namespace: string; kind: string; name: string }>, signal?: AbortSignal): Promise<string | null> {
    const cache = this.storedReport(reportId).gitops;
    // One read at a time per report: concurrent listings (several MCP sessions) wait for it instead of repeating it.
    while (cache.reading) await cache.reading.catch(() => undefined);
    const reading = this.readOwnersNow(reportId, workloads, signal);
    cache.reading = reading;
    try {
      return await reading;
    } finally {
      if (cache.reading === reading) delete cache.reading;
    }
  }

  private async readOwnersNow(reportId: string, workloads: ReadonlyArray<{ namespace: string; kind: string; name: string }> | undefined, signal?: AbortSignal): Promise<string | null> {
    const stored = this.storedReport(reportId);
    const cache = stored.gitops;
    const known = new Map(stored.report.workloads.map((workload) => [ownerKey(workload), workload]));
    const wanted = (workloads ?? stored.report.workloads).flatMap((asked) => {
      const workload = known.get(ownerKey(asked));
      return workload && !cache.owners.has(ownerKey(workload)) ? [workload] : [];
    });
    if (wanted.length === 0) return null;
    if (cache.failedAt !== undefined && this.now().getTime() - cache.failedAt < 60_000) return 'the live objects could not be read a moment ago';
    const settings = this.options.settings();
    let target;
    try {
      target = await this.resolveTarget(settings, undefined);
    } catch (error) {
      cache.failedAt = this.now().getTime();
      return messageOf(error);
    }
    if (wanted.some((workload) => workload.cluster !== null && workload.cluster !== target.context)) return `the report is from another cluster than the current context ${target.context}`;
    const read = await readGitOpsOwners(this.kubectlFor(settings, target.context), wanted.map(({ namespace, kind, name }) => ({ namespace, kind, name })), { concurrency: settings.applyConcurrency, ...(signal ? { signal } : {}) });
    for (const [key, owner] of read) cache.owners.set(key, owner);
    if (read.size < wanted.length) {
      cache.failedAt = this.now().getTime();
      return `${wanted.length - read.size} of ${wanted.length} live objects could not be read`;
    }
    return null;
  }

  private fleetReportIds(fleetId: string): string[] {
    const ids = this.getFleet(fleetId).reports.flatMap((entry) => (entry.reportId && this.reports.has(entry.reportId) ? [entry.reportId] : []));
    if (ids.length === 0) throw new SessionError('unknown-report', `Fleet ${truncate(fleetId)} has no report (every context failed, or its reports were evicted).`, 'Scan the contexts again (krr_scan with contexts).');
    return ids;
  }

  private rowIndex(reportIds: readonly string[]): RowIndex {
    const ids = [...new Set(reportIds)];
    if (ids.length === 1) return this.storedReport(ids[0] as string).index;
    const stored = ids.map((id) => this.storedReport(id));
    const key = [...ids].sort().join(',');
    let index = this.combinedIndexes.get(key);
    if (!index) {
      index = new RowIndex(stored.flatMap((entry) => entry.index.rows));
      this.combinedIndexes.set(key, index);
      if (this.combinedIndexes.size > fleetIndexCache) this.combinedIndexes.delete(this.combinedIndexes.keys().next().value as string);
    }
    return index;
  }

  // ── propose ───────────────────────────────────────────────────────────────────────────────────────
  /**
   * `onProgress` is called with `{ done, total }` (workloads whose proposal is complete, of those selected, refused
   * ones included) when the call starts, after each workload, and when the last is done; an editor can show
   * "312 / 2,500".
   */
  async propose(args: ProposeArguments, requester: Requester, signal?: AbortSignal, onProgress?: (progress: ProposeProgress) => void): Promise<Plan> {
    if (args.target === 'manifests') throw new SessionError('invalid-argument', 'A manifest proposal is built by proposeManifests.', 'Call proposeManifests for target "manifests".');
    const settings = this.options.settings();
    const stored = await this.reportById(args.reportId);
    if (args.workloads.length === 0) throw new SessionError('invalid-argument', 'No workloads selected.', 'Select at least one workload from the report.');
    const selection = dedupe(args.workloads);
    // Reported before anything else runs, and repeated with what runs while no workload finishes (at most every
    // half second): the count is there from the first moment and never goes quiet for long.
    const pulse = onProgress ? progressPulse(onProgress) : undefined;
    try {
      pulse?.report({ done: 0, total: selection.length, phase: 'resolving the context' });
      return await this.proposeSelected(args, requester, settings, stored, selection, pulse, signal);
    } finally {
      pulse?.stop();
    }
  }

  private async proposeSelected(args: ProposeArguments, requester: Requester, settings: SessionSettings, stored: StoredReport, selection: Array<ProposeArguments['workloads'][number]>, pulse: ProgressPulse | undefined, signal?: AbortSignal): Promise<Plan> {
    // A scanned report is bound to the context and API server it came from: the proposal goes there, or nowhere.
    const target = await this.resolveTarget(settings, stored.summary.context);
    if (stored.summary.server !== undefined && stored.summary.server !== target.server) {
      throw new SessionError('kubectl', `Context ${stored.summary.context ?? ''} now points at ${target.server}, not ${stored.summary.server} where report ${stored.summary.reportId} was scanned.`, 'Scan that context again; a proposal goes only to the cluster its report came from.');
    }
    const byKey = new Map(stored.report.workloads.map((workload) => [`${workload.namespace}/${workload.kind}/${workload.name}`, workload]));
    const blocked: BlockedWorkload[] = [];
    const targets: PlanTarget[] = [];
    const includeLimits = args.includeLimits ?? false;
    const allowLimitRemoval = args.allowLimitRemoval ?? false;
    for (const selected of selection) {
      const notPatchable = selected.kind === 'Job' ? null : notPatchableReason(selected.kind as WorkloadKind);
      if (notPatchable) {
        // Listed, never patched: a GroupedJob's "name" is a label selector, not an object (checked before the name rules).
        blocked.push({ namespace: truncate(selected.namespace, 63), kind: selected.kind, name: truncate(selected.name, 253), reasons: [notPatchable] });
        continue;
      }
      // An invalid name blocks its workload with the reason (every one of them), never the whole proposal.
      const invalid = identityProblem(selected);
      if (invalid) {
        blocked.push({ ...selected, reasons: [invalid] });
        continue;
      }
      const workload = byKey.get(`${selected.namespace}/${selected.kind}/${selected.name}`);
      if (!workload) {
        blocked.push({ ...selected, reasons: ['not in the report (check namespace, kind and name with krr_list_recommendations)'] });
        continue;
      }
      if (workload.cluster !== null && workload.cluster !== target.context) {
        blocked.push({ ...selected, reasons: [`the report is from cluster ${workload.cluster}, but the current context is ${target.context}; scan this context first`] });
        continue;
      }
      const desired = new Map<string, DesiredResources>();
      const notes = [];
      try {
        for (const container of workload.containers) {
          const invalidContainer = containerNameProblem(container.container);
          if (invalidContainer) {
            notes.push({ severity: 'info' as const, rule: 'invalid-name', container: container.container, message: `${invalidContainer}; this container is skipped.` });
            continue;
          }
          const wanted = desiredFromRecommendation(container, { includeLimits, allowLimitRemoval });
          desired.set(container.container, wanted.desired);
          notes.push(...wanted.notes);
        }
      } catch (error) {
        // A value no quantity can hold exactly (a crafted 1e300) blocks this workload, not the whole proposal.
        if (!(error instanceof QuantityError)) throw error;
        blocked.push({ ...selected, reasons: [`krr's recommendation cannot be written: ${error.message}`] });
        continue;
      }
      targets.push({ ref: { namespace: workload.namespace, kind: workload.kind, name: workload.name }, desired, notes, workload });
    }
    if (targets.length >= proposalChannelFrom) pulse?.phase('starting the API channel');
    const plan = await this.proposeThroughCluster(targets, {
      settings,
      context: target.context,
      server: target.server,
      requester,
      kind: 'apply',
      staged: args.staged ?? false,
      allowLimitRemoval,
      now: this.now(),
      blocked,
      sourceReportId: args.reportId,
      onLimit: args.onLimit ?? settings.policy.onLimit,
      observeOwner: (ref, owner) => stored.gitops.owners.set(ownerKey(ref), owner),
      ...(signal ? { signal } : {}),
      // Workloads refused before reading anything (not in the report, …) count as done from the start.
      ...(pulse ? { onProgress: (progress: ProposeProgress) => pulse.report({ done: progress.done + blocked.length, total: progress.total + blocked.length }) } : {}),
    });
    pulse?.phase('finishing the plan');
    await this.nameGitOpsSources(plan, targets, target.context, settings, signal);
    return this.storePlan(plan);
  }

  /**
   * A workload blocked because Argo CD or Flux owns it: when the workspace holds its source, the reason names the file
   * to edit instead (found by the manifest finders, nothing written). Best effort: without a workspace, or when the
   * search fails, the reason names the owner only.
   */
  private async nameGitOpsSources(plan: Plan, targets: readonly PlanTarget[], context: string, settings: SessionSettings, signal?: AbortSignal): Promise<void> {
    const roots = this.options.workspace?.folders() ?? [];
    const owned = plan.blocked.filter((blocked) => blocked.gitopsOwner?.confidence === 'certain' && blocked.reasons.some((reason) => reason.includes('krr.gitops.directPatch')));
    if (roots.length === 0 || owned.length === 0) return;
    // The same gate as the manifests target: an untrusted workspace's kustomizations and charts are never read or
    // rendered (a render runs kubectl kustomize and helm on a stranger's files), even for a cluster proposal.
    if (!settings.workspaceTrusted) {
      for (const blocked of owned) blocked.reasons.push('KRR did not look for its source in the workspace: the workspace is not trusted (Workspaces: Manage Workspace Trust).');
      return;
    }
    const wanted: WorkloadTarget[] = [];
    for (const blocked of owned) {
      const planned = targets.find((candidate) => ownerKey(candidate.ref) === ownerKey(blocked));
      const group = planned ? groupByKind[planned.ref.kind] : undefined;
      if (planned && group !== undefined) wanted.push({ ...planned.ref, group, context, desired: planned.desired });
    }
    try {
      const found = await proposeManifestPlan(wanted, {
        folders: await workspaceFolders(roots),
        kubectlPath: settings.kubectlPath,
        requester: plan.requestedBy,
        now: this.now(),
        ttlSeconds: settings.planTtlSeconds,
        context,
        finders: [...defaultFinders, helmFinder({ helmPath: settings.helmPath }), ...(this.options.workspace?.finders ?? [])],
        ...(signal ? { signal } : {}),
      });
      for (const blocked of owned) {
        const source = found.workloads.find((workload) => ownerKey(workload) === ownerKey(blocked))?.source;
        const candidates = found.unresolved.find((workload) => ownerKey(workload) === ownerKey(blocked))?.candidates ?? [];
        if (source) blocked.reasons.push(`Its source in the workspace: ${source.label}${source.guess ? ' (a guess)' : ''} — write the change there with target "manifests" (KRR: Write Recommendations to Manifests…).`);
        else if (candidates.length > 1) blocked.reasons.push(`Possible sources in the workspace: ${candidates.slice(0, 3).join(', ')}.`);
      }
    } catch (error) {
      this.log(`could not look for the manifests of GitOps-owned workloads: ${messageOf(error)}`);
    }
  }

  /**
   * The manifest target: finds where each workload's resources are decided in the workspace folders and proposes the
   * edits as a plan of files (digest over each file's path, content hash and edits). Writes nothing.
   */
  async proposeManifests(args: ProposeArguments, requester: Requester, signal?: AbortSignal): Promise<ManifestPlan> {
    const settings = this.options.settings();
    const workspace = this.options.workspace;
    const roots = workspace?.folders() ?? [];
    if (!workspace || roots.length === 0) throw new SessionError('invalid-argument', 'There is no workspace folder to write manifests in.', 'Open the folder that holds the manifests (VS Code), or start the stdio server with --workspace <dir>.');
    // Before any file is read: rendering an untrusted kustomization could fetch remote bases, and writes are off there anyway.
    if (!settings.workspaceTrusted) {
      throw new SessionError('read-only', 'The workspace is not trusted: KRR does not read or render its manifests (kubectl kustomize could fetch remote bases a kustomization names), and writes are off.', 'Trust the workspace (Workspaces: Manage Workspace Trust) to propose edits of its manifests; scans and cluster previews work without it.');
    }
    // In memory, or stored by another process (a per-call client loaded it in an earlier process).
    const stored = await this.reportById(args.reportId);
    if (args.workloads.length === 0) throw new SessionError('invalid-argument', 'No workloads selected.', 'Select at least one workload from the report.');
    let folders;
    try {
      folders = await workspaceFolders(roots);
    } catch (error) {
      if (error instanceof WorkspaceInputError) throw new SessionError('invalid-argument', error.message, 'Check the workspace folders.');
      throw error;
    }
    // The context only picks between overlays that render the same workload; a manifest write needs no cluster.
    const context = await this.resolveTarget(settings, undefined).then((target) => target.context, () => settings.context ?? null);
    const byKey = new Map(stored.report.workloads.map((workload) => [`${workload.namespace}/${workload.kind}/${workload.name}`, workload]));
    const unresolved: UnresolvedWorkload[] = [];
    const targets: WorkloadTarget[] = [];
    for (const selected of dedupe(args.workloads)) {
      const workload = byKey.get(`${selected.namespace}/${selected.kind}/${selected.name}`);
      const refuse = (reason: string) => unresolved.push({ ...selected, reason, candidates: [] });
      // As for a cluster proposal: an invalid name leaves its workload out with the reason, not the whole proposal.
      const invalid = identityProblem(selected);
      if (invalid) {
        refuse(invalid);
        continue;
      }
      if (!workload) {
        refuse('not in the report (check namespace, kind and name with krr_list_recommendations)');
        continue;
      }
      const group = groupByKind[workload.kind];
      if (group === undefined) {
        refuse(`${workload.kind} objects are not written to manifests (supported: ${Object.keys(groupByKind).join(', ')})`);
        continue;
      }
      const desired = new Map<string, DesiredResources>();
      try {
        for (const container of workload.containers) desired.set(container.container, desiredFromRecommendation(container, { includeLimits: args.includeLimits ?? false, allowLimitRemoval: false }).desired);
      } catch (error) {
        if (!(error instanceof QuantityError)) throw error;
        refuse(`krr's recommendation cannot be written: ${error.message}`);
        continue;
      }
      targets.push({ namespace: workload.namespace, kind: workload.kind, name: workload.name, group, context: workload.cluster ?? context, desired });
    }
    let plan: ManifestPlan;
    try {
      plan = await proposeManifestPlan(targets, {
        folders,
        kubectlPath: settings.kubectlPath,
        requester,
        now: this.now(),
        ttlSeconds: settings.planTtlSeconds,
        context,
        unresolved,
        sourceReportId: args.reportId,
        // The same policies as a cluster change: the manifests are deployed too, just later.
        policy: (target, subject) => {
          const workload = byKey.get(`${target.namespace}/${target.kind}/${target.name}`);
          const hpa: ResourceName[] = [];
          if (workload?.hpa?.targetCpuUtilizationPercentage != null) hpa.push('cpu');
          if (workload?.hpa?.targetMemoryUtilizationPercentage != null) hpa.push('memory');
          return evaluatePolicies({ identity: { namespace: target.namespace, kind: target.kind, name: target.name }, changes: subject.changes, resulting: subject.resulting, hpaUtilizationTargets: hpa, allowLimitRemoval: false }, settings.policy);
        },
        // Helm after the defaults: rendering with the user's helm (krr.helmPath), a guess by convention without it.
        finders: [...defaultFinders, helmFinder({ helmPath: settings.helmPath }), ...(workspace.finders ?? [])],
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (error instanceof KubectlError) throw new SessionError('kubectl', error.message, 'Kustomize sources are rendered with kubectl kustomize: install kubectl or set krr.kubectlPath.');
      throw error;
    }
    this.manifestPlans.set(plan.id, { plan, state: 'proposed' });
    // Kept like a cluster plan, so a stdio server started per call can apply it in the next process.
    if (plan.files.length > 0) await this.persistManifestPlan(plan);
    while (this.manifestPlans.size > this.limits.plans) {
      const oldest = this.manifestPlans.keys().next().value as string;
      if (this.manifestPlans.get(oldest)?.state === 'approving') break;
      this.manifestPlans.delete(oldest);
      this.evicted.set(oldest, `Plan ${oldest} was evicted (limit ${this.limits.plans} manifest plans).`);
    }
    this.latestPlan = plan.id;
    await this.audit({
      action: 'propose',
      actor: actorOf(requester),
      ...(plan.context ? { context: plan.context } : {}),
      planId: plan.id,
      digest: plan.digest,
      objects: plan.workloads.map(({ namespace, kind, name }) => ({ namespace, kind, name })),
      outcome: 'proposed',
      detail: { target: 'manifests', files: plan.files.map((file) => `${file.folder}/${file.path}`), unresolved: plan.unresolved.length },
    });
    this.emit({ type: 'plan' });
    if (plan.files.length > 0) await this.options.approver.showManifests?.(plan).catch((error: unknown) => this.log(`could not show the plan: ${messageOf(error)}`));
    return plan;
  }

  /**
   * getAnyPlan, also looking in the state directory (a plan another process proposed: a stdio server started per
   * call). Loads it into memory; claims nothing and asks nobody.
   */
  async openAnyPlan(planId: string): Promise<Plan | ManifestPlan | undefined> {
    if (!this.plans.has(planId) && !this.manifestPlans.has(planId)) {
      if (!(await this.planFromState(planId))) await this.manifestPlanFromState(planId);
    }
    return this.getAnyPlan(planId);
  }

  /** A stored plan of either target (cluster or manifests), for hosts that ask about any of them. */
  getAnyPlan(planId: string): Plan | ManifestPlan | undefined {
    return this.getPlan(planId) ?? this.getManifestPlan(planId);
  }

  getManifestPlan(planId: string): ManifestPlan | undefined {
    return this.manifestPlans.get(planId)?.plan;
  }

  getPlan(planId: string): Plan | undefined {
    return this.plans.get(planId)?.plan;
  }

  latestPlanId(): string | null {
    return this.latestPlan;
  }

  /** The dialog's words for `requester` asking to apply `plan` (who proposed it is in the plan). */
  approvalText(plan: Plan | ManifestPlan, requester: Requester): ApprovalText {
    if ('target' in plan && plan.target === 'manifests') return manifestApprovalText(plan, requester, this.now());
    return approvalText(plan as Plan, requester, this.options.settings().confirmByTyping, this.now());
  }

  /**
   * Plans a person can still apply: proposed, unused, unexpired, with changes; newest first. The "Apply Previewed
   * Plan" command lists these by id, context and proposer instead of taking the latest (which the model can replace).
   */
  pendingPlans(): PendingPlan[] {
    const pending: PendingPlan[] = [];
    for (const { plan, state } of this.plans.values()) {
      if (state !== 'proposed' || plan.objects.length === 0 || this.isExpired(plan) || this.store.isClaimed(plan.id)) continue;
      pending.push({ id: plan.id, kind: plan.kind, context: displayText(plan.context), proposedBy: describeParty(plan.requestedBy), objects: plan.objects.length, risk: plan.risk, createdAt: plan.createdAt });
    }
    for (const { plan, state } of this.manifestPlans.values()) {
      if (state !== 'proposed' || plan.files.length === 0 || this.isExpired(plan)) continue;
      pending.push({ id: plan.id, kind: 'manifests', context: 'workspace', proposedBy: describeParty(plan.requestedBy), objects: plan.files.length, risk: 'n/a', createdAt: plan.createdAt });
    }
    return pending.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).reverse();
  }

  // ── apply ─────────────────────────────────────────────────────────────────────────────────────────
  /**
   * Whether apply(planId) would ask a person now, or refuse first (unknown, used, expired or empty plan, read-only,
   * another apply in the context, the model's cool-down after a decline). For hosts that show the question before
   * calling apply (the 2026-07-28 approval round trip): they must not show what apply would refuse without asking.
   */
  async wouldAskApproval(planId: string, requester: Requester): Promise<boolean> {
    const stored = this.manifestPlans.get(planId) ?? this.plans.get(planId);
    // A plan another process claimed: apply finds that out when it claims the plan itself, still before asking.
    if (stored === undefined || this.refusalBeforeAsking(stored, requester, this.options.settings()) !== null || this.store.isClaimed(planId)) return false;
    // A manifest plan whose files changed is refused as stale by apply, before asking: no form for it either.
    const writer = this.options.workspace?.writer;
    if ('files' in stored.plan && writer) return (await filesChangedSinceProposal(stored.plan, writer)).length === 0;
    return true;
  }

  /**
   * Why apply refuses a stored plan before anyone is asked, in the order it checks: read-only, single use, expiry, an
   * empty plan, a host that cannot write files (manifests), another apply in the context, the model's cool-down after
   * a decline; null when it would ask. apply, applyManifests and wouldAskApproval all ask here, so what a host shows
   * beforehand cannot drift from apply's answer. `spendsPlan`: the plan can never be applied, apply marks it used.
   */
  private refusalBeforeAsking(stored: { plan: Plan | ManifestPlan; state: StoredPlan['state'] }, requester: Requester, settings: SessionSettings): { status: 'refused' | 'used' | 'expired'; message: string; spendsPlan?: true } | null {
    const { plan } = stored;
    if (settings.readOnly) return { status: 'refused', message: `Writes are disabled: ${settings.readOnlyReason ?? 'krr.readOnly is set'}.` };
    if (stored.state !== 'proposed') return { status: 'used', message: 'This plan was already used (applied, declined or being approved); plans are single-use. Propose again for a new plan.' };
    if (this.isExpired(plan)) return { status: 'expired', message: `The plan expired at ${plan.expiresAt}. Propose the changes again.`, spendsPlan: true };
    if ('files' in plan) {
      if (plan.files.length === 0) return { status: 'refused', message: 'The plan writes no file (no source was found, or every workload already has these values).', spendsPlan: true };
      if (!this.options.workspace?.writer) return { status: 'refused', message: 'This host cannot write workspace files.' };
      if (this.applying.has(manifestCooldownKey)) return { status: 'refused', message: 'Another manifest write is running; wait for it to finish.' };
      const cooldown = this.cooldownLeft(manifestCooldownKey, requester, settings);
      if (cooldown > 0) return { status: 'refused', message: `The person declined (or did not answer) a manifest write moments ago, so write requests from the AI chat are refused for another ${cooldown} s. Nothing was written and nobody was asked. Do not retry on your own: ask the user.` };
      return null;
    }
    if (plan.objects.length === 0) return { status: 'refused', message: 'The plan contains no changes (everything was blocked or already matches).', spendsPlan: true };
    if (this.applying.has(plan.context)) return { status: 'refused', message: `Another apply is running in context ${displayText(plan.context)}; wait for it to finish.` };
    // Modal spam: after a person said no (or did not answer), the model waits before it may ask again for this
    // context. The plan stays usable: the person can still apply it from the command palette or the review panel.
    const cooldown = this.cooldownLeft(plan.context, requester, settings);
    if (cooldown > 0) {
      return {
        status: 'refused',
        message:
          `The person declined (or did not answer) an apply in context ${displayText(plan.context)} moments ago, so apply requests from the AI chat for this context are refused for another ${cooldown} s. ` +
          'Nothing was written and nobody was asked. Do not retry on your own: ask the user whether they want this change; they can also apply it themselves.',
      };
    }
    return null;
  }

  /**
   * Safety invariant, in order: the stored plan only (by id); not read-only; single use; not expired; one
   * apply per context; a human's approval of this digest; then executePlan re-reads, snapshots, writes with
   * test preconditions, restores on partial failure. Never throws for a refusal: returns a status.
   */
  async apply(planId: string, requester: Requester, signal?: AbortSignal): Promise<ApplyOutcome> {
    if (this.manifestPlans.has(planId)) return this.applyManifests(planId, requester, signal);
    if (!this.plans.has(planId)) {
      // A manifest plan another process proposed (a stdio server started per call): rebuilt from the workspace.
      const restored = await this.manifestPlanFromState(planId);
      if (restored?.ok) return this.applyManifests(planId, requester, signal);
      if (restored) {
        const message = `Plan ${planId} cannot be applied here: ${restored.reason}. Nothing was written and nobody was asked; propose the changes again.`;
        await this.audit({ action: 'refuse', actor: actorOf(requester), outcome: restored.status, planId, digest: restored.digest, detail: { target: 'manifests', message } });
        return { status: restored.status, planId, objects: [], verified: false, rollouts: [], files: [], message };
      }
    }
    const settings = this.options.settings();
    const actor = actorOf(requester);
    // Another process (a stdio server started per call) may have proposed it: the state directory has it then.
    const stored = this.plans.get(planId) ?? (await this.planFromState(planId));
    const refuse = async (status: ApplyOutcome['status'], message: string, plan?: Plan, action: AuditAction = 'refuse'): Promise<ApplyOutcome> => {
      await this.audit({ action, actor, outcome: status, planId, ...(plan ? { context: plan.context, digest: plan.digest, objects: plan.objects.map(identityOf) } : {}), detail: { message } });
      return { status, planId, objects: [], verified: false, rollouts: [], message };
    };
    if (!stored) {
      const evicted = this.evicted.get(planId);
      return refuse('unknown', evicted ? `${evicted} Propose the changes again.` : `There is no plan ${truncate(planId)}. Propose the changes first (krr_propose_changes) and use the plan id it returns.`);
    }
    const { plan } = stored;
    const refusal = this.refusalBeforeAsking(stored, requester, settings);
    if (refusal) {
      if (refusal.spendsPlan) stored.state = 'used';
      return refuse(refusal.status, refusal.message, plan);
    }
    stored.state = 'approving';
    this.applying.add(plan.context);
    try {
      // Single use across processes: claim the plan in the state directory before anyone is asked.
      let claim: string | null;
      try {
        claim = await this.store.claim(plan);
      } catch (error) {
        stored.state = 'proposed'; // nobody was asked: the person may try again once the state directory is writable
        return await refuse('refused', `Cannot record that plan ${plan.id} is being used, so its single use cannot be guaranteed: ${messageOf(error)}. Nothing was written and nobody was asked.`, plan);
      }
      if (claim === null) {
        stored.state = 'used';
        return await refuse('used', 'This plan was already used (applied, declined or being approved, possibly by another krr-mcp process sharing this state directory); plans are single-use. Propose again for a new plan.', plan);
      }
      const decision = await this.askApproval(plan, requester, settings, signal);
      if (decision.outcome !== 'approved') {
        stored.state = 'used';
        if (decision.outcome === 'declined' || decision.outcome === 'timeout') await this.declines.record(plan.context, this.now().getTime());
        const status = decision.outcome === 'unavailable' ? 'refused' : 'declined';
        const message =
          decision.outcome === 'declined' ? `The change was declined in the approval dialog${decision.reason ? ` (${decision.reason})` : ''}. Nothing was written.`
          : decision.outcome === 'timeout' ? `Nobody answered the approval dialog within ${settings.approvalTimeoutSeconds} s. Nothing was written; propose again when the person is ready.`
          : `No human can approve here: ${decision.reason}. Nothing was written.`;
        return refuse(status, message, plan, 'decline');
      }
      if (decision.digest !== plan.digest) {
        stored.state = 'used';
        return refuse('refused', 'The approval does not match this plan (digest differs). Nothing was written.', plan);
      }
      if (this.isExpired(plan)) {
        stored.state = 'used';
        return refuse('expired', `The plan expired at ${plan.expiresAt} while waiting for approval. Nothing was written; propose again.`, plan);
      }
      stored.state = 'used';
      // Checked again before the first write: the claim must still be this apply's own.
      if (!(await this.store.holdsClaim(plan.id, claim))) {
        return refuse('used', `Plan ${plan.id} is no longer claimed by this apply (its claim in the state directory changed while the approval was open). Nothing was written; propose again.`, plan);
      }
      // A staged apply may run long; each stage starts only while this approval is younger than the plan's lifetime.
      const approvedAt = this.now();
      await this.audit({ action: 'approve', actor: decision.by ?? { type: 'human', via: 'approval dialog' }, context: plan.context, server: plan.server, planId, digest: plan.digest, objects: plan.objects.map(identityOf), outcome: 'approved', detail: { requestedBy: `${requester.type}:${displayText(requester.via)}`, proposedBy: `${plan.requestedBy.type}:${displayText(plan.requestedBy.via)}` } });
      // The kubeconfig may have changed since the proposal: the context must still point at the same server.
      const target = await this.resolveTarget(settings, plan.context).catch(() => null);
      if (!target || target.server !== plan.server) {
        return refuse('stale', `Context ${plan.context} no longer points at ${plan.server}. Nothing was written; propose again.`, plan);
      }
      const audit = await this.openAudit();
      // One API channel for every read and write of this apply, reaching only the plan's objects; closed below.
      const cluster = await this.clusterFor(settings, plan.context, plan.objects.map((object) => ({ kind: object.kind, namespace: object.namespace, name: object.name })), 'approved');
      const deps: ApplyDependencies = {
        cluster,
        snapshots: this.snapshots,
        audit,
        actor,
        concurrency: settings.applyConcurrency,
        rolloutWatch: settings.rolloutWatch,
        approval: { at: approvedAt, maxAgeMs: settings.planTtlSeconds * 1000 },
        now: () => this.now(),
        gitopsDirectPatch: settings.gitops.directPatch,
        ...(signal ? { signal } : {}),
      };
      let outcome: ApplyOutcome;
      try {
        outcome = await executePlan(plan, deps);
      } catch (error) {
        // Snapshot or audit storage failed before any write, or something unexpected: report, never retry silently.
        await this.audit({ action: 'write-failed', actor, context: plan.context, planId, digest: plan.digest, outcome: 'failed', detail: { message: messageOf(error) } }).catch(() => undefined);
        return { status: 'failed', planId, objects: [], verified: false, rollouts: [], message: `Apply stopped: ${messageOf(error)}` };
      } finally {
        await cluster.close();
      }
      // A bad rollout, or a staged apply whose earlier stages stay written, gets a ready rollback plan — never a silent undo.
      const unhealthyApplied = outcome.status === 'applied' && outcome.rollouts.some((rollout) => !rollout.healthy);
      const keptAfterFailure = outcome.status === 'failed' && outcome.objects.some((object) => object.result === 'written');
      if (outcome.snapshotId && (unhealthyApplied || keptAfterFailure)) {
        // Proposed by the extension, not by the person or the model: the dialog and the audit log say so.
        const rollback = await this.proposeRollback(outcome.snapshotId, { type: 'system', via: `rollout watch, after ${plan.id}` }).catch(() => null);
        if (rollback) outcome = { ...outcome, rollbackPlanId: rollback.id, message: `${outcome.message} A rollback plan ${rollback.id} is ready; it needs its own approval.` };
      }
      this.emit({ type: 'apply' });
      this.emit({ type: 'snapshot' });
      return outcome;
    } finally {
      this.applying.delete(plan.context);
    }
  }

  /**
   * A manifest plan goes through the same gate as a cluster plan: not read-only, single use, not expired, the model's
   * cool-down after a decline, a person's approval of this digest; then a stale check of every file and the write.
   */
  private async applyManifests(planId: string, requester: Requester, signal?: AbortSignal): Promise<ApplyOutcome> {
    const settings = this.options.settings();
    const actor = actorOf(requester);
    const stored = this.manifestPlans.get(planId) as { plan: ManifestPlan; state: StoredPlan['state'] };
    const { plan } = stored;
    const cooldownKey = manifestCooldownKey;
    const refuse = async (status: ApplyOutcome['status'], message: string, action: AuditAction = 'refuse'): Promise<ApplyOutcome> => {
      await this.audit({ action, actor, outcome: status, planId, digest: plan.digest, ...(plan.context ? { context: plan.context } : {}), detail: { target: 'manifests', message } });
      return { status, planId, objects: [], verified: false, rollouts: [], files: [], message };
    };
    const refusal = this.refusalBeforeAsking(stored, requester, settings);
    if (refusal) {
      if (refusal.spendsPlan) stored.state = 'used';
      return refuse(refusal.status, refusal.message);
    }
    // refusalBeforeAsking refused a host without a workspace writer.
    const writer = this.options.workspace?.writer as ManifestWriter;
    // A plan whose files changed since the proposal can never be written: refused before anyone is asked, as a
    // person must not be shown (and approve) edits of files that are no longer what the diff showed.
    const changed = await filesChangedSinceProposal(plan, writer);
    if (changed.length > 0) {
      stored.state = 'used';
      const stale = staleManifestResult(plan, changed);
      await this.audit({ action: 'refuse', actor, outcome: 'stale', planId, digest: plan.digest, ...(plan.context ? { context: plan.context } : {}), detail: { target: 'manifests', message: stale.message, changed: changed.map((file) => `${file.folder}/${file.path}: ${file.message ?? ''}`) } });
      return { status: 'stale', planId, objects: [], verified: false, rollouts: [], files: stale.files, message: stale.message };
    }
    stored.state = 'approving';
    this.applying.add(cooldownKey);
    try {
      // Single use across processes, as for a cluster plan: claim the plan in the state directory before anyone is asked.
      let claim: string | null;
      try {
        claim = await this.store.claim(plan);
      } catch (error) {
        stored.state = 'proposed'; // nobody was asked: the person may try again once the state directory is writable
        return await refuse('refused', `Cannot record that plan ${plan.id} is being used, so its single use cannot be guaranteed: ${messageOf(error)}. Nothing was written and nobody was asked.`);
      }
      if (claim === null) {
        stored.state = 'used';
        return await refuse('used', 'This plan was already used (applied, declined or being approved, possibly by another krr-mcp process sharing this state directory); plans are single-use. Propose again for a new plan.');
      }
      const approver = this.options.approver;
      const text = manifestApprovalText(plan, requester, this.now());
      let decision: Awaited<ReturnType<NonNullable<Approver['requestManifestApproval']>>>;
      if (!approver.requestManifestApproval) decision = { outcome: 'unavailable', reason: 'this host cannot ask a person to approve a manifest write' };
      else {
        const timeout = AbortSignal.timeout(settings.approvalTimeoutSeconds * 1000);
        const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
        const timedOut = new Promise<{ outcome: 'timeout' }>((resolve) => combined.addEventListener('abort', () => resolve({ outcome: 'timeout' }), { once: true }));
        decision = await Promise.race([approver.requestManifestApproval(plan, text, combined), timedOut]).catch((error: unknown) => ({ outcome: 'declined' as const, reason: `the approval dialog failed: ${messageOf(error)}` }));
      }
      stored.state = 'used';
      if (decision.outcome !== 'approved') {
        if (decision.outcome === 'declined' || decision.outcome === 'timeout') await this.declines.record(cooldownKey, this.now().getTime());
        const message =
          decision.outcome === 'declined' ? `The write was declined in the approval dialog${decision.reason ? ` (${decision.reason})` : ''}. Nothing was written.`
          : decision.outcome === 'timeout' ? `Nobody answered the approval dialog within ${settings.approvalTimeoutSeconds} s. Nothing was written; propose again when the person is ready.`
          : `No human can approve here: ${decision.reason}. Nothing was written.`;
        return refuse(decision.outcome === 'unavailable' ? 'refused' : 'declined', message, 'decline');
      }
      if (decision.digest !== plan.digest) return refuse('refused', 'The approval does not match this plan (digest differs). Nothing was written.');
      if (this.isExpired(plan)) return refuse('expired', `The plan expired at ${plan.expiresAt} while waiting for approval. Nothing was written; propose again.`);
      // Checked again before the first file write: the claim must still be this apply's own.
      if (!(await this.store.holdsClaim(plan.id, claim))) return refuse('used', `Plan ${plan.id} is no longer claimed by this apply (its claim in the state directory changed while the approval was open). Nothing was written; propose again.`);
      await this.audit({ action: 'approve', actor: decision.by ?? { type: 'human', via: 'approval dialog' }, ...(plan.context ? { context: plan.context } : {}), planId, digest: plan.digest, outcome: 'approved', detail: { target: 'manifests', files: plan.files.map((file) => `${file.folder}/${file.path}`), requestedBy: `${requester.type}:${displayText(requester.via)}`, proposedBy: `${plan.requestedBy.type}:${displayText(plan.requestedBy.via)}` } });
      const result = await executeManifestPlan(plan, { writer, audit: await this.openAudit(), actor });
      this.emit({ type: 'apply' });
      return { status: result.status, planId, objects: [], verified: result.status === 'applied', rollouts: [], files: result.files, message: result.message };
    } finally {
      this.applying.delete(cooldownKey);
    }
  }

  // ── rollback ──────────────────────────────────────────────────────────────────────────────────────
  /**
   * A rollback is a plan built from a snapshot: the same diff, approval and apply path as any other. It restores
   * only objects the apply wrote, and in them only the fields it wrote that still hold what it wrote; a field
   * someone changed since is a conflict, left as it is unless `includeConflicts` (the person asked for it).
   */
  async proposeRollback(snapshotId: string, requester: Requester, options: RollbackOptions = {}): Promise<Plan> {
    const settings = this.options.settings();
    let snapshot;
    try {
      snapshot = await this.snapshots.get(snapshotId);
    } catch (error) {
      throw new SessionError('unknown-snapshot', `Snapshot ${truncate(snapshotId)} cannot be read: ${messageOf(error)}`, 'List snapshots (krr_list_snapshots) and pick an id from there.');
    }
    const wanted = options.objects ? new Set(options.objects.map((o) => `${o.namespace}/${o.kind}/${o.name}`)) : null;
    const selected = snapshot.objects.filter((object) => !wanted || wanted.has(`${object.ref.namespace}/${object.ref.kind}/${object.ref.name}`));
    if (selected.length === 0) throw new SessionError('invalid-argument', 'None of the requested objects is in that snapshot.', 'Omit `objects` to roll back the whole snapshot.');
    // An object the apply did not write holds nobody's change of ours: restoring it could only revert someone else's.
    const written = selected.filter((object) => object.written);
    if (written.length === 0) throw new SessionError('invalid-argument', `The apply of snapshot ${snapshot.id} wrote none of ${wanted ? 'these objects' : 'its objects'}; there is nothing to roll back.`, 'Pick a snapshot whose apply wrote something (krr_list_snapshots).');
    const targets: PlanTarget[] = written.map((object) => {
      const ref = { namespace: object.ref.namespace, kind: object.ref.kind as WorkloadKind, name: object.ref.name };
      return { ref, desired: new Map(), notes: [], resolve: (live) => rollbackTarget(object, live, ref, options.includeConflicts ?? false) };
    });
    const target = await this.resolveTarget(settings, snapshot.context);
    if (target.server !== snapshot.server) throw new SessionError('kubectl', `Context ${snapshot.context} now points at ${target.server}, not ${snapshot.server} where the snapshot was taken.`, 'Fix the kubeconfig; a rollback goes only to the cluster the snapshot came from.');
    const plan = await this.proposeThroughCluster(targets, {
      settings,
      context: snapshot.context,
      server: snapshot.server,
      requester,
      kind: 'rollback',
      staged: false,
      // Restoring the prior state may remove a limit this extension added; that is what rollback means.
      allowLimitRemoval: true,
      now: this.now(),
      sourceSnapshotId: snapshotId,
    });
    return this.storePlan(plan);
  }

  async rollback(snapshotId: string, requester: Requester, options: RollbackOptions & { signal?: AbortSignal } = {}): Promise<ApplyOutcome> {
    const plan = await this.proposeRollbackAudited(snapshotId, requester, options);
    return this.applyRollback(plan, requester, options.signal);
  }

  /** proposeRollback for a write request: a refused rollback is a denied write request, audited like a refused apply. */
  async proposeRollbackAudited(snapshotId: string, requester: Requester, options: RollbackOptions = {}): Promise<Plan> {
    try {
      return await this.proposeRollback(snapshotId, requester, options);
    } catch (error) {
      await this.audit({ action: 'refuse', actor: actorOf(requester), outcome: error instanceof SessionError ? error.code : 'failed', detail: { snapshotId: truncate(snapshotId), message: messageOf(error) } });
      throw error;
    }
  }

  /** Asks approval for and applies a rollback plan from proposeRollback, saying which changed values it leaves alone. */
  async applyRollback(plan: Plan, requester: Requester, signal?: AbortSignal): Promise<ApplyOutcome> {
    const snapshotId = plan.sourceSnapshotId ?? '';
    const conflicts = plan.conflicts ?? [];
    const excluded = conflicts.filter((conflict) => !conflict.included);
    const conflictNote =
      excluded.length === 0 ? ''
      : ` ${plural(excluded.length, 'field')} changed since the apply ${excluded.length === 1 ? 'was' : 'were'} left as ${excluded.length === 1 ? 'it is' : 'they are'}: ${excluded.slice(0, 5).map(describeConflict).join('; ')}${excluded.length > 5 ? '; …' : ''}. To restore them too (overwriting those changes), roll back again with includeConflicts — only if the person asks for it.`;
    if (plan.objects.length === 0 && excluded.length > 0) {
      const message = `Nothing was rolled back: every field this apply wrote was changed since.${conflictNote}`;
      await this.audit({ action: 'refuse', actor: actorOf(requester), context: plan.context, planId: plan.id, digest: plan.digest, outcome: 'conflict', detail: { snapshotId, message } });
      return { status: 'refused', planId: plan.id, objects: [], verified: false, rollouts: [], conflicts, message };
    }
    const outcome = await this.apply(plan.id, requester, signal);
    return { ...outcome, ...(conflicts.length > 0 ? { conflicts } : {}), message: `${outcome.message}${conflictNote}` };
  }

  async listSnapshots(): Promise<Array<{ id: string; createdAt: string; context: string; planId: string; kind: string; objects: number }>> {
    return this.snapshots.list();
  }

  // ── audit ─────────────────────────────────────────────────────────────────────────────────────────
  async auditLog(query: { page?: number; pageSize?: number; since?: string; until?: string; actions?: string[]; outcome?: string } = {}): Promise<{ entries: AuditEntry[]; total: number; chainValid: boolean; firstBrokenLine?: number; chainProblem?: string; legacyEntries: number }> {
    const log = await this.openAudit();
    const pageSize = Math.min(Math.max(query.pageSize ?? 20, 1), 200);
    const page = Math.max(query.page ?? 1, 1);
    const [read, verification] = await Promise.all([
      log.read({
        newestFirst: true,
        offset: (page - 1) * pageSize,
        limit: pageSize,
        ...(query.since ? { since: query.since } : {}),
        ...(query.until ? { until: query.until } : {}),
        ...(query.actions ? { actions: query.actions as AuditAction[] } : {}),
        ...(query.outcome ? { outcome: query.outcome } : {}),
      }),
      log.verify(),
    ]);
    return {
      entries: read.entries,
      total: read.total,
      chainValid: verification.valid,
      legacyEntries: verification.legacyEntries,
      ...(verification.firstBrokenLine !== undefined ? { firstBrokenLine: verification.firstBrokenLine } : {}),
      ...(verification.reason !== undefined ? { chainProblem: verification.reason } : {}),
    };
  }

  /**
   * A tool call its input schema refused (an extra `approved: true`, a malformed id): it never reached a use
   * case, but it is an attempt and goes in the log, with its arguments redacted and bounded.
   */
  async auditRefusedCall(tool: string, args: unknown, requester: Requester, problem: string, outcome: RefusedCallOutcome = 'invalid-arguments'): Promise<void> {
    await this.audit({
      action: 'refuse',
      actor: actorOf(requester),
      outcome,
      detail: { tool: truncate(tool), arguments: boundedArguments(args), problem: truncate(problem, 500) },
    });
  }

  async verifyAudit(): ReturnType<AuditLog['verify']> {
    return (await this.openAudit()).verify();
  }

  async exportAudit(format: 'jsonl' | 'csv'): Promise<string> {
    return (await this.openAudit()).export(format);
  }

  onDidChange(listener: (event: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  dispose(): void {
    this.listeners.clear();
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────────────
  /** Seconds the model must still wait before it may ask again for `context` (0: it may ask; a person never waits). */
  private cooldownLeft(context: string, requester: Requester, settings: SessionSettings): number {
    if (requester.type === 'human' || settings.declineCooldownSeconds === 0) return 0;
    return Math.ceil(this.declines.leftMs(context, settings.declineCooldownSeconds * 1000, this.now().getTime()) / 1000);
  }

  private async askApproval(plan: Plan, requester: Requester, settings: SessionSettings, signal?: AbortSignal) {
    const timeout = AbortSignal.timeout(settings.approvalTimeoutSeconds * 1000);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const text = this.approvalText(plan, requester);
    const timedOut = new Promise<{ outcome: 'timeout' }>((resolve) => combined.addEventListener('abort', () => resolve({ outcome: 'timeout' }), { once: true }));
    try {
      return await Promise.race([this.options.approver.requestApproval(plan, text, combined), timedOut]);
    } catch (error) {
      return { outcome: 'declined' as const, reason: `the approval dialog failed: ${messageOf(error)}` };
    }
  }

  private storeReport(report: Report, source: string, bytes: number, prometheusAuth?: string, identity: ReportIdentity = {}): ReportSummary {
    const hasIdentity = Object.keys(identity).length > 0;
    const summary = this.adoptReport({ id: `report-${randomBytes(6).toString('hex')}`, savedAt: this.now().toISOString(), source, bytes, report, ...(prometheusAuth ? { prometheusAuth } : {}), ...(hasIdentity ? { identity } : {}) });
    this.latestReport = summary.reportId;
    this.emit({ type: 'report' });
    return summary;
  }

  /** Into memory (rows and summary computed with the current prices), within the bounds; not the latest by itself. */
  private adoptReport(record: PersistedReport): ReportSummary {
    const { id: reportId, report, source, bytes, prometheusAuth } = record;
    const identity: ReportIdentity = record.identity ?? {};
    const settings = this.options.settings();
    // A scanned report's rows carry the context scanned (krr names it too, but null when it ran in-cluster).
    const rows = rowsOfReport(report, settings.prices, identity.context, settings.policy);
    const bySeverity = Object.fromEntries(severityOrder.map((severity) => [severity, 0])) as ReportSummary['bySeverity'];
    let monthlyCostDelta = 0;
    for (const row of rows) {
      bySeverity[row.severity] += 1;
      monthlyCostDelta += row.monthlyCostDelta ?? 0;
    }
    const summary: ReportSummary = {
      reportId,
      source,
      cluster: report.clusters[0] ?? null,
      strategy: report.strategy.name,
      score: report.score,
      workloads: report.workloads.length,
      containers: report.containerCount,
      bySeverity,
      monthlyCostDelta: Math.round(monthlyCostDelta * 100) / 100,
      errors: report.errors.map((error) => error.name),
      cached: false,
      ...(prometheusAuth ? { prometheusAuth } : {}),
      ...identity,
    };
    this.reports.set(reportId, { report, index: new RowIndex(rows), summary, bytes, source, savedAt: record.savedAt, gitops: { owners: new Map() } });
    this.evicted.delete(reportId);
    if (this.fleetScansRunning === 0) this.evictReports();
    return summary;
  }

  /** Keeps the reports within their bounds, oldest first, never one of the newest fleet's. */
  private evictReports(): void {
    this.evictOldest(
      this.reports,
      this.limits.reports,
      this.limits.reportBytes,
      (id) => `Report ${id} was evicted (limit ${this.limits.reports} reports / ${megabytes(this.limits.reportBytes)} MB); scan again (krr_scan) or load the file again.`,
      (id) => this.pinnedReports.has(id),
    );
    for (const [key, entry] of this.scanCache) if (!this.reports.has(entry.reportId)) this.scanCache.delete(key);
    for (const key of this.combinedIndexes.keys()) if (!key.split(',').every((id) => this.reports.has(id))) this.combinedIndexes.delete(key);
  }

  private async persistReport(reportId: string): Promise<void> {
    const stored = this.reports.get(reportId);
    if (!stored) return;
    const { context, server, clusterLabel, warnings } = stored.summary;
    const identity: ReportIdentity = { ...(context ? { context } : {}), ...(server ? { server } : {}), ...(clusterLabel ? { clusterLabel } : {}), ...(warnings ? { warnings } : {}) };
    await this.store.saveReport({ id: reportId, savedAt: stored.savedAt, source: stored.source, bytes: stored.bytes, report: stored.report, ...(stored.summary.prometheusAuth ? { prometheusAuth: stored.summary.prometheusAuth } : {}), ...(Object.keys(identity).length > 0 ? { identity } : {}) });
  }

  /** In memory, else from the state directory (stored by another process or before a reload), else unknown-report. */
  private async reportById(reportId: string): Promise<StoredReport> {
    if (!this.reports.has(reportId) && reportIdPattern.test(reportId)) {
      const record = await this.store.readReport(reportId);
      if (record && !this.reports.has(reportId)) {
        this.adoptReport(record);
        this.latestReport ??= reportId;
      }
    }
    return this.storedReport(reportId);
  }

  private async planFromState(planId: string): Promise<StoredPlan | undefined> {
    if (!planIdPattern.test(planId)) return undefined;
    const plan = await this.store.readPlan(planId);
    if (!plan) return undefined;
    return this.plans.get(planId) ?? this.adoptPlan(plan);
  }

  /** Keeps a manifest plan in the state directory (no file content: gitops/stored.ts); logged when it cannot. */
  private async persistManifestPlan(plan: ManifestPlan): Promise<void> {
    try {
      await this.store.saveManifestPlan(storedManifestPlan(plan));
    } catch (error) {
      if (!(error instanceof ManifestPlanNotStored)) throw error;
      this.log(`did not keep manifest plan ${plan.id} in the state directory (${error.message}); it can be applied in this process only`);
    }
  }

  /**
   * A manifest plan another process stored, rebuilt from this process's workspace folders and adopted (ok), or why it
   * cannot be used here; undefined when the state directory has no manifest plan of that id.
   */
  private async manifestPlanFromState(planId: string): Promise<{ ok: true } | { ok: false; status: 'stale' | 'refused' | 'used'; reason: string; digest: string } | undefined> {
    if (!planIdPattern.test(planId)) return undefined;
    const stored = await this.store.readManifestPlan(planId);
    if (!stored) return undefined;
    if (this.manifestPlans.has(planId)) return { ok: true };
    // Single use first: a plan some process claimed is used, whatever its files look like now (it may have written them).
    if (this.store.isClaimed(planId)) return { ok: false, status: 'used', reason: 'it was already used (applied, declined or being approved, possibly by another krr-mcp process sharing this state directory); plans are single-use', digest: stored.digest };
    // Compared as resolved paths: the plan names the real path of each folder it proposed edits in.
    const roots = await workspaceFolders(this.options.workspace?.folders() ?? []).then((folders) => folders.map((folder) => folder.root), () => []);
    const restored = await restoreManifestPlan(stored, roots);
    if (!restored.ok) return { ok: false, status: restored.stale ? 'stale' : 'refused', reason: restored.reason, digest: stored.digest };
    this.manifestPlans.set(planId, { plan: restored.plan, state: 'proposed' });
    while (this.manifestPlans.size > this.limits.plans) {
      const oldest = this.manifestPlans.keys().next().value as string;
      if (oldest === planId || this.manifestPlans.get(oldest)?.state === 'approving') break;
      this.manifestPlans.delete(oldest);
    }
    return { ok: true };
  }

  private adoptPlan(plan: Plan): StoredPlan {
    const stored: StoredPlan = { plan, state: 'proposed', bytes: JSON.stringify(plan).length };
    this.plans.set(plan.id, stored);
    this.evicted.delete(plan.id);
    this.evictOldest(this.plans, this.limits.plans, this.limits.planBytes, (id) => `Plan ${id} was evicted (limit ${this.limits.plans} plans / ${megabytes(this.limits.planBytes)} MB).`);
    return stored;
  }

  /** The state files' key: derived from the audit log's key, so only whoever holds that can write a file we trust. */
  private async readStateKey(): Promise<Buffer | undefined> {
    if (this.stateKey) return this.stateKey;
    const keys = this.auditKeyStore();
    const record = await keys.read();
    if (record === undefined) return undefined;
    this.stateKey = Buffer.from(hmac(parseAuditKey(record, keys.description).key, 'krr-mcp state files v1'), 'hex');
    return this.stateKey;
  }

  private auditKeyStore(): AuditKeyStore {
    return this.options.auditKeys ?? fileKeyStore(path.join(this.options.stateDir, 'audit.key'));
  }

  private async storePlan(plan: Plan): Promise<Plan> {
    this.plans.set(plan.id, { plan, state: 'proposed', bytes: JSON.stringify(plan).length });
    this.latestPlan = plan.id;
    this.evictOldest(this.plans, this.limits.plans, this.limits.planBytes, (id) => `Plan ${id} was evicted (limit ${this.limits.plans} plans / ${megabytes(this.limits.planBytes)} MB).`);
    await this.audit({
      action: 'propose',
      actor: actorOf(plan.requestedBy),
      context: plan.context,
      server: plan.server,
      planId: plan.id,
      digest: plan.digest,
      objects: plan.objects.map(identityOf),
      outcome: 'proposed',
      detail: { kind: plan.kind, risk: plan.risk, changes: plan.totals.changes, blocked: plan.blocked.length, monthlyCostDelta: plan.totals.monthlyCostDelta },
    });
    await this.store.savePlan(plan);
    this.emit({ type: 'plan' });
    if (plan.objects.length > 0) await this.options.approver.show(plan).catch((error: unknown) => this.log(`could not show the plan: ${messageOf(error)}`));
    return plan;
  }

  /**
   * Drops the oldest entries (Map order = insertion order) until both bounds hold. The newest entry always
   * stays, and a plan waiting for its approval is never dropped under the person's dialog.
   */
  private evictOldest<T extends { bytes: number; state?: string }>(store: Map<string, T>, maxCount: number, maxBytes: number, message: (id: string) => string, pinned: (id: string) => boolean = () => false): void {
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

  private storedReport(reportId: string): StoredReport {
    const stored = this.reports.get(reportId);
    const evicted = stored ? undefined : this.evicted.get(reportId);
    if (evicted) throw new SessionError('unknown-report', evicted, 'Run krr_scan (refresh: true) or krr_load_report again and use the new reportId.');
    if (!stored) throw new SessionError('unknown-report', `There is no report ${truncate(reportId)}.`, 'Run krr_scan or krr_load_report first and use the reportId it returns.');
    return stored;
  }

  private isExpired(plan: Pick<Plan, 'expiresAt'>): boolean {
    return this.now().getTime() >= Date.parse(plan.expiresAt);
  }

  private async resolveTarget(settings: SessionSettings, context: string | undefined): Promise<{ context: string; server: string }> {
    try {
      const resolved = await resolveContext({ kubectlPath: settings.kubectlPath, ...(settings.kubeconfig ? { kubeconfig: settings.kubeconfig } : {}), ...((context ?? settings.context) ? { context: context ?? settings.context } : {}) });
      return { context: resolved.context, server: resolved.server };
    } catch (error) {
      if (error instanceof KubectlError) throw new SessionError('kubectl', error.message, 'Check krr.kubeconfig / krr.context (or the current context of your kubeconfig) and that kubectl is installed (krr.kubectlPath).');
      throw error;
    }
  }

  private kubectlFor(settings: SessionSettings, context: string): Kubectl {
    return new Kubectl({
      kubectlPath: settings.kubectlPath,
      context,
      ...(settings.kubeconfig ? { kubeconfig: settings.kubeconfig } : {}),
      ...(this.options.kubectlCacheDir ? { cacheDir: this.options.kubectlCacheDir } : {}),
      onCommand: (event) => this.log(`kubectl ${event.argv.join(' ')} (${event.durationMs} ms, exit ${event.exitCode ?? '?'})`),
    });
  }

  /**
   * proposePlan over the cluster access of one proposal (dry runs only): an API channel from proposalChannelFrom
   * targets on, kubectl processes below it; closed whether or not the proposal succeeds.
   */
  private async proposeThroughCluster(targets: PlanTarget[], input: Omit<ProposeContext, 'cluster'>): Promise<Plan> {
    const { settings, context } = input;
    const cluster = targets.length >= proposalChannelFrom ? await this.clusterFor(settings, context, targets.map((t) => t.ref), 'dry-run', [...new Set(targets.map((t) => t.ref.namespace))]) : new ChannelledCluster(null, this.kubectlFor(settings, context));
    try {
      return await proposePlan(targets, { ...input, cluster });
    } finally {
      await cluster.close();
    }
  }

  /**
   * The cluster access of one operation: an API channel reaching only `objects` (GET, and PATCH — dry-run only
   * unless `writes` is 'approved', which only an approved apply asks for), kubectl processes for the rest and as
   * the fallback. The caller closes it when the operation ends.
   */
  private async clusterFor(settings: SessionSettings, context: string, objects: readonly ObjectRef[], writes: 'dry-run' | 'approved', hpaListNamespaces: readonly string[] = []): Promise<ChannelledCluster> {
    const kubectl = this.kubectlFor(settings, context);
    const reachable = objects.filter((ref) => ref.kind !== 'Rollout');
    if (this.options.apiChannel === false || reachable.length === 0) return new ChannelledCluster(null, kubectl);
    try {
      const channel = await ApiChannel.open({
        kubectlPath: settings.kubectlPath,
        context,
        objects: reachable,
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

  private openAudit(): Promise<AuditLog> {
    this.auditOpening ??= AuditLog.open(path.join(this.options.stateDir, 'audit.jsonl'), {
      keys: this.auditKeyStore(),
    });
    return this.auditOpening;
  }

  private async audit(record: Parameters<AuditLog['append']>[0]): Promise<void> {
    const log = await this.openAudit();
    await log.append(record);
  }

  private emit(event: ChangeEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }
}

function digestOf(values: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(values)).digest('hex');
}

function emptyTotals(): ClusterTotals {
  return { rows: 0, bySeverity: Object.fromEntries(severityOrder.map((severity) => [severity, 0])) as ClusterTotals['bySeverity'], monthlyCostDelta: 0 };
}

function actorOf(requester: Requester): AuditActor {
  return { type: requester.type, via: requester.via };
}

/** Why a workload's namespace or name cannot go into a kubectl argv, or null when both are valid. */
function identityProblem(ref: { namespace: string; kind: string; name: string }): string | null {
  try {
    assertDnsLabel(ref.namespace, 'namespace');
    assertDnsSubdomain(ref.name, 'workload name');
    return null;
  } catch (error) {
    return messageOf(error);
  }
}

function containerNameProblem(name: string): string | null {
  try {
    assertDnsLabel(name, 'container name');
    return null;
  } catch (error) {
    return messageOf(error);
  }
}

function dedupe<T extends { namespace: string; kind: string; name: string }>(items: readonly T[]): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = `${item.namespace}/${item.kind}/${item.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function megabytes(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}

/** Echoes of caller-supplied ids in messages to the model: one line, bounded, no format characters. */
function truncate(text: string, max = 80): string {
  return displayText(text, max);
}
