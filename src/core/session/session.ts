// The use cases — scan, review, propose, approve, apply, roll back, audit — over an Approver interface.
// Both hosts (the MCP tools and the VS Code commands) call only this class.
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { executePlan, identityOf, type ApplyDependencies } from '../apply';
import { approvalText, describeParty } from '../approval';
import { AuditLog, boundedArguments, type AuditActor, type AuditEntry, type AuditAction } from '../audit';
import { fileKeyStore, type AuditKeyStore } from '../auditKey';
import type { Report, WorkloadKind } from '../krr/model';
import { severityOrder } from '../krr/model';
import { readReportFile } from '../krr/report';
import { decidePrometheusAuth } from '../krr/prometheusAuth';
import { KrrError, readKrrVersion, runKrrScan, type KrrScanOptions } from '../krr/runner';
import { Kubectl, KubectlError, resolveContext } from '../kube/kubectl';
import { assertDnsLabel, assertDnsSubdomain } from '../kube/names';
import { desiredFromRecommendation, type DesiredResources } from '../plan/build';
import type { BlockedWorkload, Plan } from '../plan/model';
import { proposePlan, type PlanTarget } from '../plan/propose';
import { describeConflict, rollbackTarget } from '../plan/rollback';
import { QuantityError } from '../quantity';
import { queryRows, rowsOfReport, type IndexedRow } from '../recommendations';
import { SnapshotStore } from '../snapshots';
import type { ApplyOutcome, ApprovalText, Approver, PendingPlan, ProposeArguments, RecommendationPage, RecommendationQuery, ReportSummary, Requester, ScanArguments } from './model';
import type { SessionSettings } from './settings';
import { displayText, plural } from '../text';

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
  now?: () => Date;
  /** How many reports and plans are kept in memory (oldest evicted first); defaults: sessionLimits. */
  limits?: Partial<SessionLimits>;
}

export interface SessionLimits {
  reports: number;
  /** Estimated from the size of krr's JSON (a report may be 200 MB); the newest report is always kept. */
  reportBytes: number;
  plans: number;
  planBytes: number;
}

/** A report may be 200 MB: keep a few, never an unbounded history (the model is told when an id is gone). */
export const sessionLimits: SessionLimits = { reports: 20, reportBytes: 512 * 1024 * 1024, plans: 100, planBytes: 64 * 1024 * 1024 };
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

type StoredReport = { report: Report; rows: IndexedRow[]; summary: ReportSummary; bytes: number };
type StoredPlan = { plan: Plan; state: 'proposed' | 'approving' | 'used'; bytes: number };
type ChangeEvent = { type: 'report' | 'plan' | 'apply' | 'snapshot' };

export class Session {
  private readonly reports = new Map<string, StoredReport>();
  private readonly scanCache = new Map<string, { reportId: string; at: number }>();
  private readonly plans = new Map<string, StoredPlan>();
  private readonly applying = new Set<string>();
  /** When a person last declined or left unanswered an apply, per context (the model's cool-down). */
  private readonly declinedAt = new Map<string, number>();
  private readonly listeners = new Set<(event: ChangeEvent) => void>();
  private auditOpening: Promise<AuditLog> | undefined;
  private latestReport: string | null = null;
  private latestPlan: string | null = null;
  private snapshotStore: SnapshotStore | undefined;
  private readonly evicted = new Map<string, string>();
  private readonly limits: SessionLimits;

  /** Reads no settings and starts nothing: a bad setting surfaces on the first call, as a message. */
  constructor(private readonly options: SessionOptions) {
    this.limits = { ...sessionLimits, ...options.limits };
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
  async scan(args: ScanArguments, requester: Requester, control: { signal?: AbortSignal; onProgress?: (p: { message: string; progress: number; total?: number }) => void } = {}): Promise<ReportSummary> {
    const settings = this.options.settings();
    const target = await this.resolveTarget(settings, args.context);
    const scanOptions: KrrScanOptions = {
      krrPath: settings.krrPath,
      strategy: args.strategy ?? settings.strategy,
      context: target.context,
      ...(settings.kubeconfig ? { kubeconfig: settings.kubeconfig } : {}),
      ...((args.namespaces ?? settings.namespaces).length > 0 ? { namespaces: args.namespaces ?? settings.namespaces } : {}),
      ...((args.selector ?? settings.selector) ? { selector: args.selector ?? settings.selector } : {}),
      ...((args.prometheusUrl ?? settings.prometheusUrl) ? { prometheusUrl: args.prometheusUrl ?? settings.prometheusUrl } : {}),
      ...((args.historyHours ?? settings.historyHours) !== undefined ? { historyHours: args.historyHours ?? settings.historyHours } : {}),
      ...((args.cpuPercentile ?? settings.cpuPercentile) !== undefined ? { cpuPercentile: args.cpuPercentile ?? settings.cpuPercentile } : {}),
      ...((args.memoryBufferPercent ?? settings.memoryBufferPercent) !== undefined ? { memoryBufferPercent: args.memoryBufferPercent ?? settings.memoryBufferPercent } : {}),
    };
    // The header goes only to the Prometheus URL the person configured, never to one a tool call names.
    const authHeader = await this.options.secrets?.prometheusAuthHeader();
    const auth = decidePrometheusAuth({ header: authHeader, configuredUrl: settings.prometheusUrl, effectiveUrl: scanOptions.prometheusUrl });
    if (authHeader && !auth.send) this.log(`Prometheus auth header ${auth.note}`);
    // The cache key holds no secret: the auth header is added after it is computed.
    const cacheKey = JSON.stringify({ ...scanOptions, server: target.server, auth: auth.note });
    const cached = this.scanCache.get(cacheKey);
    const now = this.now().getTime();
    if (!args.refresh && cached && now - cached.at < settings.scanCacheTtlSeconds * 1000 && this.reports.has(cached.reportId)) {
      const stored = this.reports.get(cached.reportId) as StoredReport;
      return { ...stored.summary, cached: true };
    }
    let progress = 0;
    control.onProgress?.({ message: `Running krr ${scanOptions.strategy} on ${target.context}`, progress });
    let result;
    try {
      result = await runKrrScan(auth.send && authHeader ? { ...scanOptions, prometheusAuthHeader: authHeader } : scanOptions, {
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
    const summary = this.storeReport(result.report, `krr scan of ${target.context}`, result.bytes, auth.note);
    this.scanCache.set(cacheKey, { reportId: summary.reportId, at: now });
    await this.audit({ action: 'scan', actor: actorOf(requester), context: target.context, server: target.server, outcome: 'ok', detail: { reportId: summary.reportId, workloads: summary.workloads, containers: summary.containers } });
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
    return summary;
  }

  /**
   * A report the editor kept across a window reload (the review panel comes back with it): stored again under a
   * new id. Not audited: nothing was scanned or loaded from a file, the entry for that is already in the log.
   */
  restoreReport(report: Report, source: string): ReportSummary {
    return this.storeReport(report, source, JSON.stringify(report).length);
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

  listRecommendations(query: RecommendationQuery): RecommendationPage {
    return queryRows(this.storedReport(query.reportId).rows, query);
  }

  // ── propose ───────────────────────────────────────────────────────────────────────────────────────
  async propose(args: ProposeArguments, requester: Requester, signal?: AbortSignal, onProgress?: (progress: { done: number; total: number }) => void): Promise<Plan> {
    const settings = this.options.settings();
    const stored = this.storedReport(args.reportId);
    if (args.workloads.length === 0) throw new SessionError('invalid-argument', 'No workloads selected.', 'Select at least one workload from the report.');
    const target = await this.resolveTarget(settings, undefined);
    const byKey = new Map(stored.report.workloads.map((workload) => [`${workload.namespace}/${workload.kind}/${workload.name}`, workload]));
    const blocked: BlockedWorkload[] = [];
    const targets: PlanTarget[] = [];
    const includeLimits = args.includeLimits ?? false;
    const allowLimitRemoval = args.allowLimitRemoval ?? false;
    for (const selected of dedupe(args.workloads)) {
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
    const plan = await proposePlan(targets, {
      cluster: this.kubectlFor(settings, target.context),
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
      ...(signal ? { signal } : {}),
      // Counted over every selected workload: those refused above are already done.
      ...(onProgress ? { onProgress: (progress: { done: number; total: number }) => onProgress({ done: progress.done + blocked.length, total: progress.total + blocked.length }) } : {}),
    });
    return this.storePlan(plan);
  }

  getPlan(planId: string): Plan | undefined {
    return this.plans.get(planId)?.plan;
  }

  latestPlanId(): string | null {
    return this.latestPlan;
  }

  /** The dialog's words for `requester` asking to apply `plan` (who proposed it is in the plan). */
  approvalText(plan: Plan, requester: Requester): ApprovalText {
    return approvalText(plan, requester, this.options.settings().confirmByTyping, this.now());
  }

  /**
   * Plans a person can still apply: proposed, unused, unexpired, with changes; newest first. The "Apply Previewed
   * Plan" command lists these by id, context and proposer instead of taking the latest (which the model can replace).
   */
  pendingPlans(): PendingPlan[] {
    const pending: PendingPlan[] = [];
    for (const { plan, state } of this.plans.values()) {
      if (state !== 'proposed' || plan.objects.length === 0 || this.isExpired(plan)) continue;
      pending.push({ id: plan.id, kind: plan.kind, context: displayText(plan.context), proposedBy: describeParty(plan.requestedBy), objects: plan.objects.length, risk: plan.risk, createdAt: plan.createdAt });
    }
    return pending.reverse();
  }

  // ── apply ─────────────────────────────────────────────────────────────────────────────────────────
  /**
   * Safety invariant, in order: the stored plan only (by id); not read-only; single use; not expired; one
   * apply per context; a human's approval of this digest; then executePlan re-reads, snapshots, writes with
   * test preconditions, restores on partial failure. Never throws for a refusal: returns a status.
   */
  async apply(planId: string, requester: Requester, signal?: AbortSignal): Promise<ApplyOutcome> {
    const settings = this.options.settings();
    const actor = actorOf(requester);
    const stored = this.plans.get(planId);
    const refuse = async (status: ApplyOutcome['status'], message: string, plan?: Plan, action: AuditAction = 'refuse'): Promise<ApplyOutcome> => {
      await this.audit({ action, actor, outcome: status, planId, ...(plan ? { context: plan.context, digest: plan.digest, objects: plan.objects.map(identityOf) } : {}), detail: { message } });
      return { status, planId, objects: [], verified: false, rollouts: [], message };
    };
    if (!stored) {
      const evicted = this.evicted.get(planId);
      return refuse('unknown', evicted ? `${evicted} Propose the changes again.` : `There is no plan ${truncate(planId)}. Propose the changes first (krr_propose_changes) and use the plan id it returns.`);
    }
    const { plan } = stored;
    if (settings.readOnly) return refuse('refused', `Writes are disabled: ${settings.readOnlyReason ?? 'krr.readOnly is set'}.`, plan);
    if (stored.state !== 'proposed') return refuse('used', 'This plan was already used (applied, declined or being approved); plans are single-use. Propose again for a new plan.', plan);
    if (this.isExpired(plan)) {
      stored.state = 'used';
      return refuse('expired', `The plan expired at ${plan.expiresAt}. Propose the changes again.`, plan);
    }
    if (plan.objects.length === 0) {
      stored.state = 'used';
      return refuse('refused', 'The plan contains no changes (everything was blocked or already matches).', plan);
    }
    if (this.applying.has(plan.context)) return refuse('refused', `Another apply is running in context ${displayText(plan.context)}; wait for it to finish.`, plan);
    // Modal spam: after a person said no (or did not answer), the model waits before it may ask again for this
    // context. The plan stays usable: the person can still apply it from the command palette or the review panel.
    const cooldown = this.cooldownLeft(plan.context, requester, settings);
    if (cooldown > 0) {
      return refuse(
        'refused',
        `The person declined (or did not answer) an apply in context ${displayText(plan.context)} moments ago, so apply requests from the AI chat for this context are refused for another ${cooldown} s. ` +
          'Nothing was written and nobody was asked. Do not retry on your own: ask the user whether they want this change; they can also apply it themselves.',
        plan,
      );
    }
    stored.state = 'approving';
    this.applying.add(plan.context);
    try {
      const decision = await this.askApproval(plan, requester, settings, signal);
      if (decision.outcome !== 'approved') {
        stored.state = 'used';
        if (decision.outcome === 'declined' || decision.outcome === 'timeout') this.declinedAt.set(plan.context, this.now().getTime());
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
      // A staged apply may run long; each stage starts only while this approval is younger than the plan's lifetime.
      const approvedAt = this.now();
      await this.audit({ action: 'approve', actor: { type: 'human', via: 'approval dialog' }, context: plan.context, server: plan.server, planId, digest: plan.digest, objects: plan.objects.map(identityOf), outcome: 'approved', detail: { requestedBy: `${requester.type}:${displayText(requester.via)}`, proposedBy: `${plan.requestedBy.type}:${displayText(plan.requestedBy.via)}` } });
      // The kubeconfig may have changed since the proposal: the context must still point at the same server.
      const target = await this.resolveTarget(settings, plan.context).catch(() => null);
      if (!target || target.server !== plan.server) {
        return refuse('stale', `Context ${plan.context} no longer points at ${plan.server}. Nothing was written; propose again.`, plan);
      }
      const deps: ApplyDependencies = {
        cluster: this.kubectlFor(settings, plan.context),
        snapshots: this.snapshots,
        audit: await this.openAudit(),
        actor,
        concurrency: settings.applyConcurrency,
        rolloutWatch: settings.rolloutWatch,
        approval: { at: approvedAt, maxAgeMs: settings.planTtlSeconds * 1000 },
        now: () => this.now(),
        ...(signal ? { signal } : {}),
      };
      let outcome: ApplyOutcome;
      try {
        outcome = await executePlan(plan, deps);
      } catch (error) {
        // Snapshot or audit storage failed before any write, or something unexpected: report, never retry silently.
        await this.audit({ action: 'write-failed', actor, context: plan.context, planId, digest: plan.digest, outcome: 'failed', detail: { message: messageOf(error) } }).catch(() => undefined);
        return { status: 'failed', planId, objects: [], verified: false, rollouts: [], message: `Apply stopped: ${messageOf(error)}` };
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
    const plan = await proposePlan(targets, {
      cluster: this.kubectlFor(settings, snapshot.context),
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
    let plan: Plan;
    try {
      plan = await this.proposeRollback(snapshotId, requester, options);
    } catch (error) {
      // A refused rollback is a denied write request: it is audited like a refused apply.
      await this.audit({ action: 'refuse', actor: actorOf(requester), outcome: error instanceof SessionError ? error.code : 'failed', detail: { snapshotId: truncate(snapshotId), message: messageOf(error) } });
      throw error;
    }
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
    const outcome = await this.apply(plan.id, requester, options.signal);
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
  async auditRefusedCall(tool: string, args: unknown, requester: Requester, problem: string, outcome: 'invalid-arguments' | 'unknown-tool' = 'invalid-arguments'): Promise<void> {
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
    const declined = this.declinedAt.get(context);
    if (requester.type === 'human' || declined === undefined || settings.declineCooldownSeconds === 0) return 0;
    const left = declined + settings.declineCooldownSeconds * 1000 - this.now().getTime();
    return left > 0 ? Math.ceil(left / 1000) : 0;
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

  private storeReport(report: Report, source: string, bytes: number, prometheusAuth?: string): ReportSummary {
    const settings = this.options.settings();
    const reportId = `report-${randomBytes(6).toString('hex')}`;
    const rows = rowsOfReport(report, settings.prices);
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
    };
    this.reports.set(reportId, { report, rows, summary, bytes });
    this.latestReport = reportId;
    this.evictOldest(this.reports, this.limits.reports, this.limits.reportBytes, (id) =>
      `Report ${id} was evicted (limit ${this.limits.reports} reports / ${megabytes(this.limits.reportBytes)} MB); scan again (krr_scan) or load the file again.`,
    );
    for (const [key, entry] of this.scanCache) if (!this.reports.has(entry.reportId)) this.scanCache.delete(key);
    this.emit({ type: 'report' });
    return summary;
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
    this.emit({ type: 'plan' });
    if (plan.objects.length > 0) await this.options.approver.show(plan).catch((error: unknown) => this.log(`could not show the plan: ${messageOf(error)}`));
    return plan;
  }

  /**
   * Drops the oldest entries (Map order = insertion order) until both bounds hold. The newest entry always
   * stays, and a plan waiting for its approval is never dropped under the person's dialog.
   */
  private evictOldest<T extends { bytes: number; state?: string }>(store: Map<string, T>, maxCount: number, maxBytes: number, message: (id: string) => string): void {
    let bytes = 0;
    for (const entry of store.values()) bytes += entry.bytes;
    const newest = [...store.keys()].at(-1);
    for (const [id, entry] of store) {
      if (store.size <= maxCount && bytes <= maxBytes) break;
      if (id === newest || entry.state === 'approving') continue;
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

  private isExpired(plan: Plan): boolean {
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

  private openAudit(): Promise<AuditLog> {
    this.auditOpening ??= AuditLog.open(path.join(this.options.stateDir, 'audit.jsonl'), {
      keys: this.options.auditKeys ?? fileKeyStore(path.join(this.options.stateDir, 'audit.key')),
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
