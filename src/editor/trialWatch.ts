// The trial watch of the extension host: while any trial runs, one timer calls session.checkTrials every
// krr.trial.pollSeconds (the session reads the pods, reverts on a failed signal or at the window's end); what ended is
// notified with its next step, and a status bar item shows the running trial. At activation one pass finds trials whose
// window ended while VS Code was closed (overdue): their pods may still run at the trial size, so a person is told.
import * as vscode from 'vscode';
import type { TrialRecord } from '../core/trial/model';
import { displayText, nameText, plural } from '../core/text';
import { guard, requesters, type CommandHost } from './commandHost';
import { runTrialAction } from './trialCommands';

export class TrialWatch implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  /** A trial started (or changed) while a pass ran: one more pass right after, so it is not missed. */
  private again = false;
  private disposed = false;
  private visible = false;
  private readonly abort = new AbortController();
  private readonly item = vscode.window.createStatusBarItem('krr.trial', vscode.StatusBarAlignment.Left, 49);
  /** Trials already notified as overdue in this window: the warning is not repeated at every pass. */
  private readonly toldOverdue = new Set<string>();

  constructor(private readonly host: CommandHost) {
    this.item.name = 'KRR trial';
    this.item.command = 'krr.showTrials';
  }

  /** At activation (only when trials are on disk): trials overdue from an earlier window, then one pass. */
  async startup(): Promise<void> {
    const session = this.host.session();
    for (const record of await session.listTrials()) if (record.state === 'overdue') this.notify(record);
    await this.pass();
  }

  /** The session changed its trials (one started, one was reverted): the watch runs while any trial runs. */
  kick(): void {
    if (this.disposed) return;
    if (this.checking) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.pass(), 0);
  }

  /** One pass: check, notify what ended, redraw, and schedule the next one while a trial still runs. */
  async pass(): Promise<void> {
    if (this.disposed || this.checking) return;
    this.timer = undefined;
    this.checking = true;
    let running: TrialRecord[];
    try {
      const session = this.host.session();
      for (const record of await session.checkTrials(this.abort.signal)) this.notify(record);
      running = (await session.listTrials()).filter((record) => record.state === 'running');
    } catch (error) {
      // The next pass tries again; a failing check must not stop the watch while pods run at the trial size.
      this.host.output.warn(`trial watch: ${error instanceof Error ? error.message : String(error)}`);
      running = [];
      this.again = true;
    } finally {
      this.checking = false;
    }
    if (this.disposed) return;
    this.draw(running);
    const next = this.again ? 0 : running.length > 0 ? this.pollMs() : null;
    this.again = false;
    if (next !== null) this.timer = setTimeout(() => void this.pass(), next);
  }

  private pollMs(): number {
    try {
      return this.host.settings().trial.pollSeconds * 1000;
    } catch {
      return 10_000;
    }
  }

  private notify(record: TrialRecord): void {
    const what = `trial of ${plural(record.pods.length, 'pod')} of ${nameText(`${record.workload.namespace}/${record.workload.name}`, 120)} (${record.id})`;
    const reason = displayText(record.outcome?.reason ?? '', 400);
    const revertFailed = record.revert?.pods.filter((pod) => pod.result === 'failed') ?? [];
    const notReverted = revertFailed.length > 0 ? ` ${plural(revertFailed.length, 'pod')} could not be reverted: ${revertFailed.map((pod) => `${nameText(pod.name, 80)} (${displayText(pod.message ?? 'failed', 120)})`).join('; ')}.` : '';
    if (record.state === 'overdue') {
      if (this.toldOverdue.has(record.id)) return;
      this.toldOverdue.add(record.id);
      this.ask(vscode.window.showWarningMessage(`KRR: ${capitalized(what)} ended while VS Code was closed; its pods may still run at the trial size.`, 'Revert now', 'Details'), record);
    } else if (record.state === 'passed') {
      this.ask(vscode.window.showInformationMessage(`KRR: ${capitalized(what)} passed: ${reason}. Its pods are back at the template's size.${notReverted}`, 'Persist…', 'Details', ...(notReverted ? ['Revert now'] : [])), record);
    } else if (record.state === 'failed') {
      this.ask(vscode.window.showWarningMessage(`KRR: ${capitalized(what)} failed: ${reason}. ${notReverted || 'Its pods were reverted.'}`, 'Details', ...(notReverted ? ['Revert now'] : [])), record);
    }
  }

  /** A notification's button runs the same action as "KRR: Show Trials" does (the dialog and audit say "notification"). */
  private ask(shown: Thenable<string | undefined>, record: TrialRecord): void {
    void shown.then((choice) => (choice ? guard(this.host, () => runTrialAction(this.host, record.id, choice, requesters.notification))() : undefined));
  }

  /** "$(beaker) Trial: 1 pod of shop/frontend · 12 min left"; hidden while no trial runs. */
  private draw(running: readonly TrialRecord[]): void {
    const first = running[0];
    this.visible = first !== undefined;
    if (!first) {
      this.item.hide();
      return;
    }
    const soonest = running.reduce((a, b) => (Date.parse(a.endsAt) <= Date.parse(b.endsAt) ? a : b));
    const left = minutesLeft(soonest.endsAt);
    this.item.text = running.length === 1 ? `$(beaker) Trial: ${plural(first.pods.length, 'pod')} of ${nameText(`${first.workload.namespace}/${first.workload.name}`, 60)} · ${left}` : `$(beaker) ${running.length} trials · next ends ${left.replace(/ left$/, '')}`;
    this.item.tooltip = `${running.map((record) => `${record.id}: ${plural(record.pods.length, 'pod')} of ${record.workload.namespace}/${record.workload.name} in ${record.context}, until ${new Date(record.endsAt).toLocaleTimeString()}`).join('\n')}\nClick to show the trials (revert one now).`;
    this.item.show();
  }

  /** What the status bar shows (for the extension-host tests). */
  drawn(): { text: string; visible: boolean } {
    return { text: this.item.text, visible: this.visible };
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    this.item.dispose();
  }
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function minutesLeft(endsAt: string): string {
  const ms = Date.parse(endsAt) - Date.now();
  if (ms <= 0) return 'ending';
  if (ms < 60_000) return `${Math.ceil(ms / 1000)} s left`;
  return `${Math.ceil(ms / 60_000)} min left`;
}
