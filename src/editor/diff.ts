// Read-only diff of a plan: live manifest (left) against proposed manifest (right), one pair per object.
import * as vscode from 'vscode';
import type { ObjectChange, Plan } from '../core/plan/model';
import { nameText, plural } from '../core/text';

export const liveScheme = 'krr-live';
export const proposedScheme = 'krr-proposed';

/** Plans whose documents are kept; older ones drop out so memory stays bounded in long sessions. */
const keptPlans = 20;

export function objectDiffTitle(plan: Pick<Plan, 'context' | 'kind'>, object: Pick<ObjectChange, 'kind' | 'name' | 'namespace'>): string {
  const right = plan.kind === 'apply' ? 'proposed' : 'restored';
  // Names come from the cluster or a report: hidden characters shown as ⟨U+…⟩, each name isolated (core/text).
  return `${object.kind}/${nameText(object.name)} (${nameText(object.namespace)}) — live ↔ ${right} · ${nameText(plan.context)}`;
}

export function planDiffTitle(plan: Pick<Plan, 'context' | 'kind' | 'objects' | 'id' | 'conflicts'>): string {
  const right = plan.kind === 'apply' ? 'proposed' : 'restored';
  const kept = (plan.conflicts ?? []).filter((conflict) => !conflict.included).length;
  const overwritten = (plan.conflicts ?? []).length - kept;
  const conflicts = [kept > 0 ? `${kept} changed since the apply, left out` : '', overwritten > 0 ? `${overwritten} changed since the apply, OVERWRITTEN` : ''].filter(Boolean).join(', ');
  return `KRR ${plan.id}: ${plural(plan.objects.length, 'object')} — live ↔ ${right} · ${nameText(plan.context)}${conflicts ? ` · ${conflicts}` : ''}`;
}

export class PlanDiff implements vscode.Disposable {
  private readonly documents = new Map<string, string>();
  private readonly planOrder: string[] = [];
  private readonly planUris = new Map<string, string[]>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private readonly registrations: vscode.Disposable[];

  constructor() {
    const provider: vscode.TextDocumentContentProvider = {
      onDidChange: this.changed.event,
      provideTextDocumentContent: (uri) => this.documents.get(uri.toString()) ?? '# This plan is no longer kept in memory. Preview the changes again.\n',
    };
    this.registrations = [
      vscode.workspace.registerTextDocumentContentProvider(liveScheme, provider),
      vscode.workspace.registerTextDocumentContentProvider(proposedScheme, provider),
    ];
  }

  /** URIs of one object's two sides; the path ends in .yaml so the editor highlights YAML. */
  uris(plan: Plan, object: ObjectChange): { live: vscode.Uri; proposed: vscode.Uri } {
    // The plan id goes in the query so the multi-diff editor labels each file "name.yaml  namespace/Kind".
    const path = `/${encodeURIComponent(object.namespace)}/${encodeURIComponent(object.kind)}/${encodeURIComponent(object.name)}.yaml`;
    const query = `plan=${encodeURIComponent(plan.id)}`;
    return { live: vscode.Uri.from({ scheme: liveScheme, path, query }), proposed: vscode.Uri.from({ scheme: proposedScheme, path, query }) };
  }

  private remember(plan: Plan): Array<{ object: ObjectChange; live: vscode.Uri; proposed: vscode.Uri }> {
    const pairs = plan.objects.map((object) => ({ object, ...this.uris(plan, object) }));
    if (!this.planUris.has(plan.id)) {
      this.planOrder.push(plan.id);
      while (this.planOrder.length > keptPlans) {
        const dropped = this.planOrder.shift();
        for (const uri of (dropped && this.planUris.get(dropped)) || []) this.documents.delete(uri);
        if (dropped) this.planUris.delete(dropped);
      }
    }
    const keys: string[] = [];
    for (const { object, live, proposed } of pairs) {
      this.documents.set(live.toString(), object.liveManifest);
      this.documents.set(proposed.toString(), object.proposedManifest);
      keys.push(live.toString(), proposed.toString());
      this.changed.fire(live);
      this.changed.fire(proposed);
    }
    this.planUris.set(plan.id, keys);
    return pairs;
  }

  /** The text a diff side shows (tests read it back through the document provider too). */
  content(uri: vscode.Uri): string | undefined {
    return this.documents.get(uri.toString());
  }

  /** One object: the normal diff editor; several: the multi-file diff editor (`vscode.changes`). */
  async show(plan: Plan): Promise<void> {
    const pairs = this.remember(plan);
    const first = pairs[0];
    if (!first) {
      void vscode.window.showInformationMessage(`KRR: the plan changes nothing${plan.blocked.length ? ` (${plural(plan.blocked.length, 'workload')} blocked by policy)` : ''}.`);
      return;
    }
    // A model's proposal must not take the keyboard from a person who is typing; their own preview may.
    const options: vscode.TextDocumentShowOptions = { preview: false, preserveFocus: plan.requestedBy.type !== 'human' };
    if (pairs.length === 1) {
      await vscode.commands.executeCommand('vscode.diff', first.live, first.proposed, objectDiffTitle(plan, first.object), options);
      return;
    }
    const resources = pairs.map(({ live, proposed }) => [proposed, live, proposed]);
    await vscode.commands.executeCommand('vscode.changes', planDiffTitle(plan), resources);
  }

  /**
   * Closes the diff tabs of `planId` (a plan is single-use: once applied, declined or rolled back its diff shows a
   * change that can no longer happen), or, without an id, every KRR diff tab whose plan this window no longer holds
   * (tabs a window reload restored: their plans were in the previous extension host's memory).
   */
  async closeTabs(planId?: string): Promise<number> {
    const stale = (query: string) => {
      const id = new URLSearchParams(query).get('plan');
      return planId === undefined ? id === null || !this.planUris.has(id) : id === planId;
    };
    const ours = (uri: vscode.Uri) => (uri.scheme === liveScheme || uri.scheme === proposedScheme) && stale(uri.query);
    const labelled = /^KRR (plan-[0-9a-f]+): /;
    const tabs = vscode.window.tabGroups.all.flatMap((group) => group.tabs).filter((tab) => {
      const input = tab.input as { original?: unknown; textDiffs?: Array<{ original?: unknown }> } | undefined;
      if (input instanceof vscode.TabInputTextDiff) return ours(input.original) || ours(input.modified);
      // The multi-file diff (several objects): its input type is not in the API this extension builds against.
      const first = input?.textDiffs?.[0]?.original;
      if (first instanceof vscode.Uri) return ours(first);
      const match = labelled.exec(tab.label);
      return match !== null && (planId === undefined ? !this.planUris.has(match[1] as string) : match[1] === planId);
    });
    if (tabs.length > 0) await vscode.window.tabGroups.close(tabs, true);
    return tabs.length;
  }

  dispose(): void {
    for (const registration of this.registrations) registration.dispose();
    this.changed.dispose();
    this.documents.clear();
  }
}
