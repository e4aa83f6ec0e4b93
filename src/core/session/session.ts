// The session: what both hosts (the MCP tools and the VS Code commands) call. It only forwards: each use case lives
// in a module named after what a person does — scan.ts, review.ts, propose.ts, approve.ts, apply.ts, rollback.ts,
// auditTrail.ts, evidence.ts — over one shared SessionContext (context.ts).
import type { AuditEntry, AuditLog } from '../audit';
import type { ManifestPlan } from '../gitops/model';
import type { Report } from '../krr/model';
import type { ApplyOutcome, ApprovalText, FleetSummary, PendingPlan, ProposeArguments, RecommendationPage, RecommendationQuery, ReportSummary, Requester, ScanArguments } from '../model';
import type { Plan } from '../plan/model';
import type { ProposeProgress } from '../plan/propose';
import type { SnapshotStore } from '../snapshots';
import { SessionContext, type ChangeEvent, type SessionOptions } from './context';
import { loadReport, scan, scanFleet, status } from './scan';
import { currentReview, getFleet, getReport, latestFleetId, latestReportId, listRecommendations, openReport, readGitOpsOwners, reportSummary, restore } from './review';
import { propose, proposeManifests } from './propose';
import { getAnyPlan, getManifestPlan, getPlan, latestPlanId, openAnyPlan, pendingPlans } from './plans';
import { approvalText, wouldAskApproval } from './approve';
import { apply } from './apply';
import { proposeRollback } from './rollbackPlan';
import { applyRollback, listSnapshots, proposeRollbackAudited, rollback } from './rollback';
import { auditLog, auditRefusedCall, exportAudit, verifyAudit } from './auditTrail';
import { cachedEvidence, evidenceFor } from './evidence';
import type { ContainerEvidence, EvidenceResult, EvidenceTarget } from '../evidence/model';
import type { RefusedCallOutcome } from './auditTrail';
import type { RollbackOptions } from './rollbackPlan';
import { checkTrials, getTrial, listTrials, persistTrial, proposeTrial, revertTrial, type TrialArguments } from './trial';
import type { TrialPlan, TrialRecord } from '../trial/model';
import type { FleetScanControl, ScanControl, StatusResult } from './scan';

export { proposalChannelFrom, SessionError, sessionLimits, type SessionErrorCode, type SessionLimits, type SessionOptions } from './context';
export type { RefusedCallOutcome } from './auditTrail';
export type { RollbackOptions } from './rollbackPlan';
export type { FleetScanControl, ScanControl, StatusResult } from './scan';
export { describeTrial, type TrialArguments } from './trial';

export class Session {
  private readonly ctx: SessionContext;

  /** Reads no settings and starts nothing: a bad setting surfaces on the first call, as a message. */
  constructor(options: SessionOptions) {
    this.ctx = new SessionContext(options);
  }

  get snapshots(): SnapshotStore {
    return this.ctx.snapshots;
  }

  // ── scan.ts: krr on one context or a fleet, a report file, the tools' status ────────────────────────────
  status(signal?: AbortSignal): Promise<StatusResult> {
    return status(this.ctx, signal);
  }

  scan(args: ScanArguments, requester: Requester, control: ScanControl = {}): Promise<ReportSummary> {
    return scan(this.ctx, args, requester, control);
  }

  scanFleet(args: ScanArguments & { contexts: string[] }, requester: Requester, control: FleetScanControl = {}): Promise<FleetSummary> {
    return scanFleet(this.ctx, args, requester, control);
  }

  loadReport(filePath: string, requester: Requester): Promise<ReportSummary> {
    return loadReport(this.ctx, filePath, requester);
  }

  // ── review.ts: reports, fleets, listings, GitOps owners ─────────────────────────────────────────────────
  restore(): Promise<void> {
    return restore(this.ctx);
  }

  openReport(reportId: string): Promise<ReportSummary> {
    return openReport(this.ctx, reportId);
  }

  getFleet(fleetId: string): FleetSummary {
    return getFleet(this.ctx, fleetId);
  }

  latestFleetId(): string | null {
    return latestFleetId(this.ctx);
  }

  currentReview(): { fleetId: string } | { reportId: string } | null {
    return currentReview(this.ctx);
  }

  getReport(reportId: string): Report {
    return getReport(this.ctx, reportId);
  }

  reportSummary(reportId: string): ReportSummary {
    return reportSummary(this.ctx, reportId);
  }

  latestReportId(): string | null {
    return latestReportId(this.ctx);
  }

  listRecommendations(query: RecommendationQuery): RecommendationPage {
    return listRecommendations(this.ctx, query);
  }

  readGitOpsOwners(reportId: string, workloads?: ReadonlyArray<{ namespace: string; kind: string; name: string }>, signal?: AbortSignal): Promise<string | null> {
    return readGitOpsOwners(this.ctx, reportId, workloads, signal);
  }

  // ── evidence.ts: the usage behind the recommendations, read once per report ─────────────────────────────
  evidenceFor(reportId: string, targets?: readonly EvidenceTarget[], signal?: AbortSignal): Promise<EvidenceResult> {
    return evidenceFor(this.ctx, reportId, targets, signal);
  }

  cachedEvidence(reportId: string, targets: readonly EvidenceTarget[]): Promise<ContainerEvidence[]> {
    return cachedEvidence(this.ctx, reportId, targets);
  }

  // ── propose.ts: plans for the cluster and for the manifests ─────────────────────────────────────────────
  propose(args: ProposeArguments, requester: Requester, signal?: AbortSignal, onProgress?: (progress: ProposeProgress) => void): Promise<Plan> {
    return propose(this.ctx, args, requester, signal, onProgress);
  }

  proposeManifests(args: ProposeArguments, requester: Requester, signal?: AbortSignal): Promise<ManifestPlan> {
    return proposeManifests(this.ctx, args, requester, signal);
  }

  // ── plans.ts: stored plans ──────────────────────────────────────────────────────────────────────────────
  openAnyPlan(planId: string): Promise<Plan | ManifestPlan | TrialPlan | undefined> {
    return openAnyPlan(this.ctx, planId);
  }

  getAnyPlan(planId: string): Plan | ManifestPlan | TrialPlan | undefined {
    return getAnyPlan(this.ctx, planId);
  }

  getManifestPlan(planId: string): ManifestPlan | undefined {
    return getManifestPlan(this.ctx, planId);
  }

  getPlan(planId: string): Plan | undefined {
    return getPlan(this.ctx, planId);
  }

  latestPlanId(): string | null {
    return latestPlanId(this.ctx);
  }

  pendingPlans(): PendingPlan[] {
    return pendingPlans(this.ctx);
  }

  // ── approve.ts: the dialog's words, whether apply would ask ─────────────────────────────────────────────
  approvalText(plan: Plan | ManifestPlan | TrialPlan, requester: Requester): ApprovalText {
    return approvalText(this.ctx, plan, requester);
  }

  wouldAskApproval(planId: string, requester: Requester): Promise<boolean> {
    return wouldAskApproval(this.ctx, planId, requester);
  }

  // ── apply.ts ────────────────────────────────────────────────────────────────────────────────────────────
  apply(planId: string, requester: Requester, signal?: AbortSignal): Promise<ApplyOutcome> {
    return apply(this.ctx, planId, requester, signal);
  }

  // ── rollbackPlan.ts and rollback.ts ─────────────────────────────────────────────────────────────────────
  proposeRollback(snapshotId: string, requester: Requester, options: RollbackOptions = {}): Promise<Plan> {
    return proposeRollback(this.ctx, snapshotId, requester, options);
  }

  rollback(snapshotId: string, requester: Requester, options: RollbackOptions & { signal?: AbortSignal } = {}): Promise<ApplyOutcome> {
    return rollback(this.ctx, snapshotId, requester, options);
  }

  proposeRollbackAudited(snapshotId: string, requester: Requester, options: RollbackOptions = {}): Promise<Plan> {
    return proposeRollbackAudited(this.ctx, snapshotId, requester, options);
  }

  applyRollback(plan: Plan, requester: Requester, signal?: AbortSignal): Promise<ApplyOutcome> {
    return applyRollback(this.ctx, plan, requester, signal);
  }

  listSnapshots(): Promise<Array<{ id: string; createdAt: string; context: string; planId: string; kind: string; objects: number }>> {
    return listSnapshots(this.ctx);
  }

  // ── trial.ts: the recommendation tried on running pods, watched, reverted, then offered for the template ──
  proposeTrial(args: TrialArguments, requester: Requester, signal?: AbortSignal): Promise<TrialPlan> {
    return proposeTrial(this.ctx, args, requester, signal);
  }

  getTrialPlan(planId: string): TrialPlan | undefined {
    return this.ctx.trialPlans.get(planId)?.plan;
  }

  listTrials(): Promise<TrialRecord[]> {
    return listTrials(this.ctx);
  }

  getTrial(trialId: string): Promise<TrialRecord> {
    return getTrial(this.ctx, trialId);
  }

  /** One pass of the watch; hosts call it every krr.trial.pollSeconds while a trial runs (and once at start). */
  checkTrials(signal?: AbortSignal): Promise<TrialRecord[]> {
    return checkTrials(this.ctx, signal);
  }

  revertTrial(trialId: string, requester: Requester): Promise<TrialRecord> {
    return revertTrial(this.ctx, trialId, requester);
  }

  persistTrial(trialId: string, requester: Requester, target: 'cluster' | 'manifests' = 'cluster', signal?: AbortSignal): Promise<Plan | ManifestPlan> {
    return persistTrial(this.ctx, trialId, requester, target, signal);
  }

  // ── auditTrail.ts: the audit log ────────────────────────────────────────────────────────────────────────
  auditLog(query: { page?: number; pageSize?: number; since?: string; until?: string; actions?: string[]; outcome?: string } = {}): Promise<{ entries: AuditEntry[]; total: number; chainValid: boolean; firstBrokenLine?: number; chainProblem?: string; legacyEntries: number }> {
    return auditLog(this.ctx, query);
  }

  auditRefusedCall(tool: string, args: unknown, requester: Requester, problem: string, outcome: RefusedCallOutcome = 'invalid-arguments'): Promise<void> {
    return auditRefusedCall(this.ctx, tool, args, requester, problem, outcome);
  }

  verifyAudit(): ReturnType<AuditLog['verify']> {
    return verifyAudit(this.ctx);
  }

  exportAudit(format: 'jsonl' | 'csv'): Promise<string> {
    return exportAudit(this.ctx, format);
  }

  onDidChange(listener: (event: ChangeEvent) => void): () => void {
    this.ctx.listeners.add(listener);
    return () => this.ctx.listeners.delete(listener);
  }

  dispose(): void {
    this.ctx.listeners.clear();
  }
}
