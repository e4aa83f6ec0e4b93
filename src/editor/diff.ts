// Read-only diff of a plan: live manifest (left) against proposed manifest (right), one pair per object.
import * as vscode from 'vscode';
import type { ObjectChange, Plan } from '../core/plan/model';
import { nameText, plural } from '../core/text';
import type { TrialPlan } from '../core/trial/model';

export const liveScheme = 'krr-live';
export const proposedScheme = 'krr-proposed';

/** Plans whose documents are kept; older ones drop out so memory stays bounded in long sessions. */
const keptPlans = 20;

export function objectDiffTitle(plan: Pick<Plan, 'context' | 'kind'>, object: { kind: string; name: string; namespace: string }): string {
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

/** A trial's diff: its pods' containers as they run now ↔ during the trial (resized in place, the template untouched). */
export function trialDiffTitle(plan: Pick<TrialPlan, 'context' | 'workload' | 'pods'>): string {
  return `KRR ${plural(plan.pods.length, 'pod')} of ${nameText(`${plan.workload.namespace}/${plan.workload.name}`)} — live ↔ trial · ${nameText(plan.context)}`;
}

/** What one diff pair needs: where the object is (its URIs and title) and its two sides. */
type DiffSides = Pick<ObjectChange, 'name' | 'namespace' | 'liveManifest' | 'proposedManifest'> & { kind: string };

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
  uris(plan: Pick<Plan, 'id'>, object: { kind: string; name: string; namespace: string }): { live: vscode.Uri; proposed: vscode.Uri } {
    // The plan id goes in the query so the multi-diff editor labels each file "name.yaml  namespace/Kind".
    const path = `/${encodeURIComponent(object.namespace)}/${encodeURIComponent(object.kind)}/${encodeURIComponent(object.name)}.yaml`;
    const query = `plan=${encodeURIComponent(plan.id)}`;
    return { live: vscode.Uri.from({ scheme: liveScheme, path, query }), proposed: vscode.Uri.from({ scheme: proposedScheme, path, query }) };
  }

  private remember(planId: string, objects: readonly DiffSides[]): Array<{ object: DiffSides; live: vscode.Uri; proposed: vscode.Uri }> {
    const pairs = objects.map((object) => ({ object, ...this.uris({ id: planId }, object) }));
    this.keep(planId);
    const keys: string[] = [];
    for (const { object, live, proposed } of pairs) {
      this.documents.set(live.toString(), object.liveManifest);
      this.documents.set(proposed.toString(), object.proposedManifest);
      keys.push(live.toString(), proposed.toString());
      this.changed.fire(live);
      this.changed.fire(proposed);
    }
    this.planUris.set(planId, keys);
    return pairs;
  }

  /** Makes room for `planId`: the oldest kept plans' documents drop out. */
  private keep(planId: string): void {
    if (!this.planUris.has(planId)) {
      this.planOrder.push(planId);
      while (this.planOrder.length > keptPlans) {
        const dropped = this.planOrder.shift();
        for (const uri of (dropped && this.planUris.get(dropped)) || []) this.documents.delete(uri);
        if (dropped) this.planUris.delete(dropped);
      }
    }
  }

  /** The text a diff side shows (tests read it back through the document provider too). */
  content(uri: vscode.Uri): string | undefined {
    return this.documents.get(uri.toString());
  }

  /** One object: the normal diff editor; several: the multi-file diff editor (`vscode.changes`). */
  async show(plan: Plan): Promise<void> {
    const pairs = this.remember(plan.id, plan.objects);
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
   * A trial plan: one diff of its pods' containers before and during the trial (the core writes both sides as YAML).
   * The same schemes and plan query as a cluster plan, so closeTabs closes it once the plan is spent.
   */
  async showTrial(plan: TrialPlan): Promise<void> {
    const object = { kind: 'Pod', namespace: plan.workload.namespace, name: `${plan.workload.name}-trial`, liveManifest: plan.liveManifest, proposedManifest: plan.proposedManifest };
    const [pair] = this.remember(plan.id, [object]);
    if (!pair) return;
    const options: vscode.TextDocumentShowOptions = { preview: false, preserveFocus: plan.requestedBy.type !== 'human' };
    await vscode.commands.executeCommand('vscode.diff', pair.live, pair.proposed, trialDiffTitle(plan), options);
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
