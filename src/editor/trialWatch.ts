// The trial watch of the extension host: while any trial runs, one timer calls session.checkTrials every
// krr.trial.pollSeconds (the session reads the pods, reverts on a failed signal or at the window's end); what ended is
// notified with its next step, and a status bar item shows the running trial. At activation one pass finds trials whose
// window ended while VS Code was closed (overdue): their pods may still run at the trial size, so a person is told.
import * as vscode from 'vscode';
import type { TrialRecord } from '../core/trial/model';
import { guard, requesters, type CommandHost } from './commandHost';
import { runTrialAction } from './trialCommands';
import { endedNotice, statusLine } from './trialView';

export class TrialWatch implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  /** A trial started (or changed) while a pass ran: one more pass right after, so it is not missed. */
  private again = false;
  private disposed = false;
  private visible = false;
  /** Trials running at the last successful pass: a failed pass polls again only while some were. */
  private runningCount = 0;
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
    if (this.disposed) return;
    if (this.checking) {
      this.again = true;
      return;
    }
    // One timer: a pass started by hand (activation) replaces a pending one.
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.checking = true;
    let running: TrialRecord[] | null;
    try {
      const session = this.host.session();
      for (const record of await session.checkTrials(this.abort.signal)) this.notify(record);
      running = (await session.listTrials()).filter((record) => record.state === 'running');
    } catch (error) {
      // Tried again at the next poll while a trial was known to run (its pods are at the trial size); never in a loop.
      this.host.output.warn(`trial watch: ${error instanceof Error ? error.message : String(error)}`);
      running = null;
    } finally {
      this.checking = false;
    }
    if (this.disposed) return;
    if (running) {
      this.draw(running);
      this.runningCount = running.length;
    }
    const next = this.again ? 0 : this.runningCount > 0 ? this.pollMs() : null;
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
    const notice = endedNotice(record);
    if (!notice) return;
    if (record.state === 'overdue') {
      if (this.toldOverdue.has(record.id)) return;
      this.toldOverdue.add(record.id);
    }
    this.ask(notice.severity === 'info' ? vscode.window.showInformationMessage(notice.text, ...notice.buttons) : vscode.window.showWarningMessage(notice.text, ...notice.buttons), record);
  }

  /** A notification's button runs the same action as "KRR: Show Trials" does (the dialog and audit say "notification"). */
  private ask(shown: Thenable<string | undefined>, record: TrialRecord): void {
    void shown.then((choice) => (choice ? guard(this.host, () => runTrialAction(this.host, record.id, choice, requesters.notification))() : undefined));
  }

  /** "$(beaker) Trial: 1 pod of shop/frontend · 12 min left"; hidden while no trial runs. */
  private draw(running: readonly TrialRecord[]): void {
    const line = statusLine(running, Date.now());
    this.visible = line !== null;
    if (!line) {
      this.item.hide();
      return;
    }
    this.item.text = line.text;
    this.item.tooltip = line.tooltip;
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
