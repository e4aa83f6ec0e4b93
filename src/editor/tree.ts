// The KRR side bar: recommendations by namespace -> workload -> container, and the snapshots to roll back to.
import * as vscode from 'vscode';
import type { ContainerRecommendation, RecommendedValue, Workload } from '../core/krr/model';
import { describeCpu, describeMemory } from '../core/quantity';
import type { Session } from '../core/session/session';
import { formatMonthly, nameText, plural } from '../core/text';

/** `reportId` is set under a fleet's cluster node: a preview from there uses that cluster's report. */
export type RecommendationNode =
  | { type: 'cluster'; context: string; reportId?: string; error?: string; server?: string }
  | { type: 'namespace'; namespace: string; workloads: Workload[]; reportId?: string }
  | { type: 'workload'; workload: Workload; reportId?: string }
  | { type: 'container'; workload: Workload; container: ContainerRecommendation };

function describe(value: RecommendedValue, format: (amount: number) => string): string {
  if (value.kind === 'unknown') return '?';
  if (value.kind === 'unset') return 'unset';
  return format(value.amount);
}

function containerDescription(container: ContainerRecommendation): string {
  const cpu = `cpu ${describeCpu(container.current.requests.cpu)}→${describe(container.recommended.requests.cpu, describeCpu)}`;
  const memory = `mem ${describeMemory(container.current.requests.memory)}→${describe(container.recommended.requests.memory, describeMemory)}`;
  return `${cpu} · ${memory}`;
}

const severityIcon: Record<string, vscode.ThemeIcon> = {
  CRITICAL: new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground')),
  WARNING: new vscode.ThemeIcon('warning', new vscode.ThemeColor('editorWarning.foreground')),
  OK: new vscode.ThemeIcon('pass'),
  GOOD: new vscode.ThemeIcon('pass-filled'),
  UNKNOWN: new vscode.ThemeIcon('question'),
};

export class RecommendationTree implements vscode.TreeDataProvider<RecommendationNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly session: () => Session | undefined) {}

  refresh(): void {
    this.changed.fire();
  }

  getChildren(node?: RecommendationNode): RecommendationNode[] {
    const session = this.session();
    if (!node) {
      const view = session?.currentReview();
      if (!session || !view) return [];
      // A fleet: one node per cluster (context), its namespaces below; a failed context shows why.
      if ('fleetId' in view) return session.getFleet(view.fleetId).reports.map((entry) => ({ type: 'cluster', context: entry.context, ...(entry.reportId ? { reportId: entry.reportId } : {}), ...(entry.error ? { error: entry.error } : {}), ...(entry.server ? { server: entry.server } : {}) }));
      return this.namespaces(session, view.reportId);
    }
    if (node.type === 'cluster') {
      try {
        return session && node.reportId ? this.namespaces(session, node.reportId, true) : [];
      } catch {
        return []; // the report was evicted since the fleet scan
      }
    }
    if (node.type === 'namespace') return node.workloads.map((workload) => ({ type: 'workload', workload, ...(node.reportId ? { reportId: node.reportId } : {}) }));
    if (node.type === 'workload') return node.workload.containers.map((container) => ({ type: 'container', workload: node.workload, container }));
    return [];
  }

  private namespaces(session: Session, reportId: string, fromFleet = false): RecommendationNode[] {
    const byNamespace = new Map<string, Workload[]>();
    for (const workload of session.getReport(reportId).workloads) {
      const list = byNamespace.get(workload.namespace) ?? [];
      list.push(workload);
      byNamespace.set(workload.namespace, list);
    }
    return [...byNamespace.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([namespace, workloads]) => ({ type: 'namespace', namespace, workloads, ...(fromFleet ? { reportId } : {}) }));
  }

  getTreeItem(node: RecommendationNode): vscode.TreeItem {
    if (node.type === 'cluster') {
      const item = new vscode.TreeItem(node.context, node.reportId ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
      item.id = `cluster:${node.context}`;
      let summary;
      try {
        summary = node.reportId ? this.session()?.reportSummary(node.reportId) : undefined;
      } catch {
        summary = undefined; // evicted
      }
      item.description = node.error ? 'scan failed' : summary ? `${plural(summary.workloads, 'workload')} · ${summary.bySeverity.CRITICAL} critical · Δ ${formatMonthly(summary.monthlyCostDelta)}` : '';
      item.tooltip = node.error ? `${node.context}: ${node.error}` : `${node.context} (${node.server ?? ''}): proposals from here change this context only.`;
      item.iconPath = new vscode.ThemeIcon(node.error ? 'error' : 'server-environment');
      item.contextValue = 'cluster';
      return item;
    }
    if (node.type === 'namespace') {
      // Names from a report: hidden characters shown as ⟨U+…⟩ and isolated (core/text), in labels and tooltips.
      const item = new vscode.TreeItem(nameText(node.namespace), vscode.TreeItemCollapsibleState.Collapsed);
      item.description = plural(node.workloads.length, 'workload');
      item.iconPath = new vscode.ThemeIcon('symbol-namespace');
      item.contextValue = 'namespace';
      return item;
    }
    if (node.type === 'workload') {
      const item = new vscode.TreeItem(nameText(node.workload.name), vscode.TreeItemCollapsibleState.Collapsed);
      item.id = node.reportId ? `${node.reportId}:${node.workload.key}` : node.workload.key;
      item.description = `${node.workload.kind} · ${node.workload.severity}`;
      item.iconPath = severityIcon[node.workload.severity];
      item.contextValue = 'workload';
      item.tooltip = `${node.workload.kind} ${nameText(`${node.workload.namespace}/${node.workload.name}`, 400)}${node.workload.hpa ? ' (HPA)' : ''}`;
      return item;
    }
    const item = new vscode.TreeItem(nameText(node.container.container), vscode.TreeItemCollapsibleState.None);
    item.description = containerDescription(node.container);
    item.iconPath = severityIcon[node.container.severity];
    item.contextValue = 'container';
    const notes = [node.container.info.cpu, node.container.info.memory, ...node.container.warnings].filter((note): note is string => Boolean(note));
    item.tooltip = `${nameText(node.container.container)}: ${item.description}${notes.length ? `\n${notes.join('\n')}` : ''}`;
    return item;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

export interface SnapshotNode {
  id: string;
  createdAt: string;
  context: string;
  planId: string;
  kind: string;
  objects: number;
}

export class SnapshotTree implements vscode.TreeDataProvider<SnapshotNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly session: () => Session | undefined) {}

  refresh(): void {
    this.changed.fire();
  }

  async getChildren(node?: SnapshotNode): Promise<SnapshotNode[]> {
    if (node) return [];
    const session = this.session();
    if (!session) return [];
    const snapshots = await session.listSnapshots();
    return [...snapshots].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  getTreeItem(node: SnapshotNode): vscode.TreeItem {
    const item = new vscode.TreeItem(snapshotLabel(new Date(node.createdAt)), vscode.TreeItemCollapsibleState.None);
    item.id = node.id;
    item.description = `${nameText(node.context)} · ${plural(node.objects, 'object')}${node.kind === 'apply' ? '' : ` · ${node.kind}`}`;
    item.tooltip = `Snapshot ${node.id}\nTaken ${new Date(node.createdAt).toLocaleString()}, before plan ${node.planId} in ${nameText(node.context)}.\nRoll back: proposes restoring ${node.objects === 1 ? 'this object' : `these ${plural(node.objects, 'object')}`} (needs your approval).`;
    item.iconPath = new vscode.ThemeIcon('history');
    item.contextValue = 'snapshot';
    return item;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** The side bar is narrow: today's snapshots show the time only, older ones a short date and time; the tooltip has the id. */
export function snapshotLabel(created: Date, now: Date = new Date()): string {
  if (created.toDateString() === now.toDateString()) return created.toLocaleTimeString();
  return created.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}

/** Status bar: the context the next scan/apply targets and whether writes are disabled; click scans. */
export class ContextStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('krr.status', vscode.StatusBarAlignment.Left, 50);

  constructor() {
    this.item.name = 'KRR context';
    this.item.command = 'krr.scan';
    this.update(null, { readOnly: false, reason: null });
    this.item.show();
  }

  /**
   * `fleet`: the contexts of the fleet the review shows. A fleet has no one target (a plan changes the context of the
   * workloads it selects): naming the context whose scan happened to finish last, as before, was not true.
   */
  update(context: string | null, readOnly: { readOnly: boolean; reason: string | null }, fleet: readonly string[] = []): void {
    const name = fleet.length > 1 ? `fleet of ${fleet.length} contexts` : (context ?? 'current context');
    const lock = readOnly.readOnly ? ` Read-only: ${readOnly.reason ?? 'writes are disabled'}.` : '';
    this.item.text = `$(pulse) KRR: ${name}${readOnly.readOnly ? ' $(lock)' : ''}`;
    this.item.tooltip =
      fleet.length > 1 ? `The review shows a fleet of ${fleet.length} contexts (${fleet.slice(0, 10).join(', ')}${fleet.length > 10 ? ', …' : ''}); a plan changes the one context of the workloads it selects.${lock} Click to scan.` : `KRR targets ${name}.${lock} Click to scan.`;
  }

  /** What the status bar shows (for the extension-host tests). */
  drawn(): { text: string; tooltip: string; command: string | undefined } {
    const command = this.item.command;
    return { text: this.item.text, tooltip: typeof this.item.tooltip === 'string' ? this.item.tooltip : '', command: typeof command === 'string' ? command : command?.command };
  }

  dispose(): void {
    this.item.dispose();
  }
}
