// "KRR: Roll Back…": a snapshot (the Snapshots view's node, else picked) rolled back through the same approval as any
// plan; values someone changed since the apply are left out, and overwriting them is a second, explicit choice.
import * as vscode from 'vscode';
import type { Requester } from '../core/model';
import { plural } from '../core/text';
import { fromWalkthrough, requesters, type CommandHost } from './commandHost';
import { reportOutcome } from './notifications';
import { afterOutcome } from './planCommands';
import type { SnapshotNode } from './tree';

export async function rollBack(host: CommandHost, arg?: SnapshotNode | { via: string }): Promise<void> {
  const viaWalkthrough = fromWalkthrough(arg);
  const node = viaWalkthrough ? undefined : (arg as SnapshotNode | undefined);
  const session = host.session();
  let snapshotId = node && typeof node.id === 'string' ? node.id : undefined;
  if (!snapshotId) {
    const snapshots = await session.listSnapshots();
    if (snapshots.length === 0) {
      void vscode.window.showInformationMessage('KRR: there are no snapshots yet; one is taken before every apply.');
      return;
    }
    const pick = await vscode.window.showQuickPick(
      snapshots.map((snapshot) => ({ label: new Date(snapshot.createdAt).toLocaleString(), description: `${snapshot.context} · ${plural(snapshot.objects, 'object')} · ${snapshot.planId}`, id: snapshot.id })),
      { title: 'KRR: roll back to the state before…' },
    );
    snapshotId = pick?.id;
  }
  if (!snapshotId) return;
  const id = snapshotId;
  // The inline action passes the tree node: the dialog and the audit log say where the request came from.
  const requester: Requester = node ? { type: 'human', via: 'snapshots view' } : viaWalkthrough ? requesters.walkthrough : requesters.palette;
  const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'KRR: rolling back (waiting for approval)' }, () => session.rollback(id, requester));
  reportOutcome(outcome, 'rollback');
  host.refreshViews();
  afterOutcome(host, outcome);
  // Values someone changed since the apply were left out; overwriting them is a separate, explicit choice.
  const leftOut = (outcome.conflicts ?? []).filter((conflict) => !conflict.included).length;
  if (leftOut > 0 && (outcome.status === 'applied' || outcome.status === 'refused')) {
    const include = 'Roll Back Those Too…';
    if ((await vscode.window.showWarningMessage(`KRR: ${plural(leftOut, 'value')} ${leftOut === 1 ? 'was' : 'were'} changed since that apply and ${leftOut === 1 ? 'was' : 'were'} not rolled back.`, include)) === include) {
      const again = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'KRR: rolling back (waiting for approval)' }, () => session.rollback(id, requester, { includeConflicts: true }));
      reportOutcome(again, 'rollback');
      host.refreshViews();
      afterOutcome(host, again);
    }
  }
}
