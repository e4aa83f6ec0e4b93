// The review panel: a table of the report's containers, filters, selection totals, Preview and Apply.
//
// Data flow choice: the whole row set is posted to the webview once per report (paged out of
// session.listRecommendations, 500 at a time) and the webview filters, sorts and renders it in chunks of
// 200 rows with "Show more". 5,000 rows are ~1.5 MB of JSON, posted once; filtering in the page is instant,
// whereas a round trip to the extension host per keystroke would make typing in the filter lag.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { ManifestPlan } from '../core/gitops/model';
import type { Plan } from '../core/plan/model';
import type { ApplyOutcome } from '../core/session/model';
import type { Session } from '../core/session/session';
import { allRows, ownerView } from './reviewRows';

export interface WorkloadRef {
  namespace: string;
  kind: string;
  name: string;
  /** Fleet review: the cluster (kube context) of the row. */
  cluster?: string;
}

export interface ReviewActions {
  /** Proposes the selected workloads (the session opens the diff); a string says why it failed (also notified). */
  preview(reportId: string, workloads: WorkloadRef[], options: { includeLimits: boolean }): Promise<Plan | string>;
  /** Target "Manifests": proposes edits of the workspace manifests (the session opens the files' diff). */
  previewManifests?(reportId: string, workloads: WorkloadRef[], options: { includeLimits: boolean }): Promise<ManifestPlan | string>;
  apply(planId: string): Promise<ApplyOutcome | string>;
  isReadOnly(): { readOnly: boolean; reason: string | null };
}

type Incoming =
  | { type: 'ready' }
  | { type: 'selection'; workloads: WorkloadRef[] }
  | { type: 'preview'; workloads: WorkloadRef[]; includeLimits: boolean; target: 'cluster' | 'manifests' }
  | { type: 'apply' }
  | { type: 'command'; command: 'krr.scan' | 'krr.openReport' };

function isWorkloadList(value: unknown): value is WorkloadRef[] {
  return (
    Array.isArray(value) &&
    value.length <= 10_000 &&
    value.every(
      (item: unknown) =>
        typeof item === 'object' &&
        item !== null &&
        ['namespace', 'kind', 'name'].every((key) => typeof (item as Record<string, unknown>)[key] === 'string') &&
        ['undefined', 'string'].includes(typeof (item as Record<string, unknown>).cluster),
    )
  );
}

/** Messages from the webview are untrusted input: only known shapes pass. */
function parseIncoming(message: unknown): Incoming | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const record = message as Record<string, unknown>;
  switch (record.type) {
    case 'ready':
    case 'apply':
      return { type: record.type };
    case 'selection':
      return isWorkloadList(record.workloads) ? { type: record.type, workloads: record.workloads } : undefined;
    case 'preview':
      return isWorkloadList(record.workloads) ? { type: record.type, workloads: record.workloads, includeLimits: record.includeLimits === true, target: record.target === 'manifests' ? 'manifests' : 'cluster' } : undefined;
    case 'command':
      return record.command === 'krr.scan' || record.command === 'krr.openReport' ? { type: 'command', command: record.command } : undefined;
    default:
      return undefined;
  }
}

export class ReviewPanel implements vscode.Disposable {
  static current: ReviewPanel | undefined;
  private selection: WorkloadRef[] = [];
  private reportId: string | null = null;
  /** Set while the panel shows a fleet: context -> that context's report. */
  private fleetReports: Map<string, string> | null = null;
  private planId: string | null = null;
  private readonly disposables: vscode.Disposable[] = [];

  static show(extensionUri: vscode.Uri, session: Session, actions: ReviewActions): ReviewPanel {
    if (ReviewPanel.current) {
      ReviewPanel.current.panel.reveal();
      ReviewPanel.current.postRows();
      return ReviewPanel.current;
    }
    const panel = vscode.window.createWebviewPanel('krr.review', 'KRR Recommendations', vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media')],
    });
    ReviewPanel.current = new ReviewPanel(panel, extensionUri, session, actions);
    return ReviewPanel.current;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly session: Session,
    private readonly actions: ReviewActions,
  ) {
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'krr.svg');
    panel.webview.html = reviewHtml(panel.webview, extensionUri);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((message: unknown) => void this.receive(message)),
    );
    const unsubscribe = session.onDidChange((event) => {
      if (event.type === 'report') this.postRows();
    });
    this.disposables.push({ dispose: unsubscribe });
  }

  /** The workloads ticked in the panel, for "KRR: Preview Changes for Selection". */
  selectedWorkloads(): { reportId: string | null; workloads: WorkloadRef[] } {
    return { reportId: this.reportId, workloads: this.selection };
  }

  private post(message: unknown): void {
    void this.panel.webview.postMessage(message);
  }

  postRows(): void {
    const view = this.session.currentReview();
    const readOnly = this.actions.isReadOnly();
    if (!view) {
      this.post({ type: 'empty', readOnly });
      return;
    }
    const id = 'fleetId' in view ? view.fleetId : view.reportId;
    if (id !== this.reportId) {
      this.planId = null;
      this.selection = [];
    }
    this.reportId = id;
    if ('fleetId' in view) {
      this.postFleet(view.fleetId, readOnly);
      return;
    }
    this.fleetReports = null;
    const summary = this.session.reportSummary(id);
    const rows = allRows((page) => this.session.listRecommendations({ reportId: id, page, pageSize: 500, sort: 'savings' }));
    this.post({ type: 'rows', reportId: id, summary, rows, readOnly });
    if (rows.some((row) => row.owner === undefined)) void this.postOwners(id);
  }

  /** GitOps owners arrive after the rows (one kubectl list per kind and namespace), without resetting the selection. */
  private async postOwners(reportId: string): Promise<void> {
    const unknown = await this.session.readGitOpsOwners(reportId).catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
    if (this.reportId !== reportId) return;
    const owners: Record<string, ReturnType<typeof ownerView>> = {};
    for (const row of allRows((page) => this.session.listRecommendations({ reportId, page, pageSize: 500, sort: 'savings' }))) if (row.owner !== undefined) owners[row.workload] = row.owner;
    this.post({ type: 'owners', owners, unknown });
  }

  /** One review of several clusters: rows carry their cluster, the summary has totals per cluster and the failed contexts. */
  private postFleet(fleetId: string, readOnly: { readOnly: boolean; reason: string | null }): void {
    const fleet = this.session.getFleet(fleetId);
    this.fleetReports = new Map(fleet.reports.flatMap((entry) => (entry.reportId ? [[entry.context, entry.reportId] as [string, string]] : [])));
    const rows = allRows((page) => this.session.listRecommendations({ reportId: fleetId, page, pageSize: 500, sort: 'savings' }), true);
    const totals = this.session.listRecommendations({ reportId: fleetId, pageSize: 1 }).totals;
    const failed = fleet.reports.filter((entry) => entry.error).map((entry) => `${entry.context}: ${entry.error ?? ''}`);
    const summary = {
      source: `fleet of ${fleet.reports.length} contexts`,
      cluster: null,
      strategy: this.session.reportSummary([...this.fleetReports.values()][0] as string).strategy,
      workloads: new Set(rows.map((row) => row.workload)).size,
      containers: rows.length,
      monthlyCostDelta: totals?.fleet.monthlyCostDelta ?? 0,
      errors: failed,
    };
    this.post({ type: 'rows', reportId: fleetId, summary, rows, readOnly, clusters: totals?.clusters ?? [], failed });
  }

  private async receive(raw: unknown): Promise<void> {
    const message = parseIncoming(raw);
    if (!message) return;
    switch (message.type) {
      case 'ready':
        this.postRows();
        return;
      case 'selection':
        this.selection = message.workloads;
        return;
      case 'command':
        await vscode.commands.executeCommand(message.command);
        return;
      case 'preview': {
        if (!this.reportId) return;
        this.selection = message.workloads;
        let reportId = this.reportId;
        if (this.fleetReports) {
          // A plan changes exactly one context: a fleet selection must stay within one cluster.
          const clusters = [...new Set(message.workloads.map((workload) => workload.cluster ?? ''))];
          const only = clusters.length === 1 ? this.fleetReports.get(clusters[0] as string) : undefined;
          if (!only) {
            this.post({ type: 'plan', plan: null, error: `Select workloads of one cluster (the selection spans ${clusters.length}): a plan changes exactly one context.` });
            return;
          }
          reportId = only;
        }
        this.post({ type: 'busy', message: `Previewing ${message.workloads.length} workloads…` });
        const workloads = message.workloads.map(({ namespace, kind, name }) => ({ namespace, kind, name }));
        if (message.target === 'manifests' && this.actions.previewManifests) {
          const manifests = await this.actions.previewManifests(reportId, workloads, { includeLimits: message.includeLimits });
          this.planId = typeof manifests === 'string' || manifests.files.length === 0 ? null : manifests.id;
          this.post(typeof manifests === 'string' ? { type: 'plan', plan: null, error: manifests } : { type: 'plan', plan: manifestPlanView(manifests) });
          return;
        }
        const plan = await this.actions.preview(reportId, workloads, { includeLimits: message.includeLimits });
        if (typeof plan === 'string') {
          this.planId = null;
          this.post({ type: 'plan', plan: null, error: plan });
          return;
        }
        this.planId = plan.objects.length > 0 ? plan.id : null;
        this.post({ type: 'plan', plan: planView(plan) });
        return;
      }
      case 'apply': {
        if (!this.planId) return;
        this.post({ type: 'busy', message: 'Waiting for your approval…' });
        const outcome = await this.actions.apply(this.planId);
        this.planId = null;
        this.post({ type: 'outcome', outcome: typeof outcome === 'string' ? { status: 'failed', message: outcome } : { status: outcome.status, message: outcome.message } });
        return;
      }
    }
  }

  dispose(): void {
    if (ReviewPanel.current === this) ReviewPanel.current = undefined;
    for (const disposable of this.disposables.splice(0)) disposable.dispose();
    this.panel.dispose();
  }
}

function planView(plan: Plan) {
  return {
    id: plan.id,
    objects: plan.objects.length,
    blocked: plan.blocked.map((item) => ({ workload: `${item.namespace}/${item.kind}/${item.name}`, reasons: item.reasons })),
    warnings: plan.warnings.map((finding) => finding.message),
    risk: plan.risk,
    monthlyCostDelta: plan.totals.monthlyCostDelta,
    expiresAt: plan.expiresAt,
  };
}

function manifestPlanView(plan: ManifestPlan) {
  return {
    id: plan.id,
    target: 'manifests',
    objects: plan.files.length,
    blocked: plan.unresolved.map((item) => ({ workload: `${item.namespace}/${item.kind}/${item.name}`, reasons: [item.reason, ...item.candidates.slice(0, 3)] })),
    warnings: plan.warnings.map((finding) => finding.message),
    risk: 'n/a',
    monthlyCostDelta: 0,
    expiresAt: plan.expiresAt,
  };
}

function reviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'review.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'review.css'));
  const csp = `default-src 'none'; style-src ${webview.cspSource}; script-src 'nonce-${nonce}'; img-src ${webview.cspSource};`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>KRR Recommendations</title>
</head>
<body>
<header>
  <h1>KRR recommendations</h1>
  <p id="summary" role="status" aria-live="polite">Loading…</p>
  <p id="readonly" class="banner" hidden></p>
  <p id="clusters" hidden></p>
</header>
<section id="empty" hidden>
  <p>No krr report yet.</p>
  <button type="button" data-command="krr.scan">Scan Cluster…</button>
  <button type="button" data-command="krr.openReport" class="secondary">Open krr Report File…</button>
</section>
<section id="main" hidden>
  <form id="filters" class="filters" role="search" aria-label="Filter recommendations">
    <label id="f-cluster-label" hidden>Cluster <select id="f-cluster"><option value="">All</option></select></label>
    <label>Namespace <select id="f-namespace"><option value="">All</option></select></label>
    <label>Kind <select id="f-kind"><option value="">All</option></select></label>
    <label>Severity <select id="f-severity">
      <option value="">All</option><option value="CRITICAL">Critical</option><option value="WARNING">Warning or worse</option><option value="OK">OK or worse</option><option value="GOOD">Good or worse</option>
    </select></label>
    <label>Search <input id="f-text" type="search" placeholder="workload or container"></label>
    <label>Sort <select id="f-sort"><option value="savings">Savings</option><option value="severity">Severity</option><option value="name">Name</option></select></label>
  </form>
  <div class="toolbar">
    <button type="button" id="select-visible" class="secondary">Select all matching</button>
    <button type="button" id="select-none" class="secondary">Clear selection</button>
    <span id="totals" role="status" aria-live="polite"></span>
    <span class="spacer"></span>
    <label title="Also change limits (krr's limit recommendations); without it only requests change, and a request above its limit is blocked."><input type="checkbox" id="include-limits"> Include limits</label>
    <label title="Cluster: patch the live objects. Manifests: edit the manifests in the workspace folders (GitOps: Argo CD or Flux apply them from Git)."><span>Target</span> <select id="target"><option value="cluster">Cluster</option><option value="manifests">Manifests</option></select></label>
    <button type="button" id="preview" disabled>Preview</button>
    <button type="button" id="apply" disabled>Apply…</button>
  </div>
  <p id="plan" class="plan" role="status" aria-live="polite" hidden></p>
  <div class="table-wrap">
  <table id="table" aria-label="Recommendations per container">
    <thead><tr>
      <th scope="col" class="select"><span class="visually-hidden">Selected</span></th>
      <th scope="col">Workload / container</th>
      <th scope="col">CPU request</th><th scope="col">CPU limit</th>
      <th scope="col">Memory request</th><th scope="col">Memory limit</th>
      <th scope="col">Severity</th><th scope="col" class="num">Monthly Δ</th><th scope="col">Notes</th>
    </tr></thead>
    <tbody id="rows"></tbody>
  </table>
  <div class="more"><span id="shown"></span> <button type="button" id="show-more" class="secondary" hidden>Show more</button></div>
  </div>
</section>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
}
