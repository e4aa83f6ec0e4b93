// The trials' words in the editor, pure (no vscode), so they are tested in plain Node: what a trial offers in its
// state, the notification of a trial that ended, the status bar's line, and the Details document.
import type { TrialRecord } from '../core/trial/model';
import { displayText, nameText, plural } from '../core/text';

export const revertLabel = 'Revert now';
export const persistLabel = 'Persist…';
export const detailsLabel = 'Details';

export function workloadText(workload: { namespace: string; name: string }, maxLength = 120): string {
  return nameText(`${workload.namespace}/${workload.name}`, maxLength);
}

/** What a person can do with a trial in its state (a revert that failed for a pod is offered again in any state). */
export function trialActions(record: Pick<TrialRecord, 'state' | 'revert'>): string[] {
  const revertFailed = record.revert?.pods.some((pod) => pod.result === 'failed') ?? false;
  if (record.state === 'running' || record.state === 'overdue' || revertFailed) return record.state === 'passed' ? [revertLabel, persistLabel, detailsLabel] : [revertLabel, detailsLabel];
  if (record.state === 'passed') return [persistLabel, detailsLabel];
  return [detailsLabel];
}

/** The notification of a trial the watch saw end (or found overdue); null for a state nobody needs to hear about. */
export function endedNotice(record: TrialRecord): { severity: 'info' | 'warning'; text: string; buttons: string[] } | null {
  const what = `Trial of ${plural(record.pods.length, 'pod')} of ${workloadText(record.workload)} (${record.id})`;
  const reason = displayText(record.outcome?.reason ?? '', 400);
  const failed = record.revert?.pods.filter((pod) => pod.result === 'failed') ?? [];
  const notReverted = failed.length > 0 ? `${plural(failed.length, 'pod')} could not be reverted: ${failed.map((pod) => `${nameText(pod.name, 80)} (${displayText(pod.message ?? 'failed', 120)})`).join('; ')}.` : '';
  if (record.state === 'overdue') return { severity: 'warning', text: `KRR: ${what} ended while VS Code was closed; its pods may still run at the trial size.`, buttons: [revertLabel, detailsLabel] };
  if (record.state === 'passed') return { severity: 'info', text: `KRR: ${what} passed: ${reason}. ${notReverted || "Its pods are back at the template's size."}`, buttons: notReverted ? [revertLabel, persistLabel, detailsLabel] : [persistLabel, detailsLabel] };
  if (record.state === 'failed') return { severity: 'warning', text: `KRR: ${what} failed: ${reason}. ${notReverted || 'Its pods were reverted.'}`, buttons: notReverted ? [revertLabel, detailsLabel] : [detailsLabel] };
  return null;
}

/** "12 min left", "40 s left", "ending" (the watch reverts it at its next pass). */
export function timeLeft(endsAt: string, now: number): string {
  const ms = Date.parse(endsAt) - now;
  if (!(ms > 0)) return 'ending';
  if (ms < 60_000) return `${Math.ceil(ms / 1000)} s left`;
  return `${Math.ceil(ms / 60_000)} min left`;
}

/** The status bar's line while trials run: "$(beaker) Trial: 1 pod of shop/frontend · 12 min left"; null: none runs. */
export function statusLine(running: readonly TrialRecord[], now: number): { text: string; tooltip: string } | null {
  const first = running[0];
  if (!first) return null;
  const soonest = running.reduce((a, b) => (Date.parse(a.endsAt) <= Date.parse(b.endsAt) ? a : b));
  const left = timeLeft(soonest.endsAt, now);
  const text = running.length === 1 ? `$(beaker) Trial: ${plural(first.pods.length, 'pod')} of ${workloadText(first.workload, 60)} · ${left}` : `$(beaker) ${running.length} trials · the next ${left === 'ending' ? 'is ending' : `ends, ${left}`}`;
  const lines = running.slice(0, 10).map((record) => `${record.id}: ${plural(record.pods.length, 'pod')} of ${workloadText(record.workload)} in ${nameText(record.context, 80)}, until ${new Date(record.endsAt).toLocaleTimeString()}`);
  return { text, tooltip: `${lines.join('\n')}${running.length > 10 ? `\n…and ${running.length - 10} more` : ''}\nClick to show the trials (revert one now).` };
}

/** The Details document (Markdown): the trial's values, what the watch saw per pod, the revert, and the record itself. */
export function trialDetails(record: TrialRecord): string {
  const cell = (value: string) => displayText(value, 300).replace(/\|/g, '\\|');
  const lines = [
    `# Trial ${record.id} — ${record.state}`,
    '',
    `${record.workload.kind} ${cell(`${record.workload.namespace}/${record.workload.name}`)} · ${plural(record.pods.length, 'pod')} of ${record.runningPods} running · context ${cell(record.context)}`,
    '',
    `- Started: ${record.startedAt}`,
    `- Window ends: ${record.endsAt}`,
    `- Last checked: ${record.checkedAt ?? 'never'}`,
    ...(record.outcome ? [`- Outcome (${record.outcome.at}): ${cell(record.outcome.reason)}`] : []),
    ...(record.persistPlanId ? [`- Persist plan: ${record.persistPlanId}`] : []),
    '',
    '## Resources during the trial',
    '',
    '| container | resource | before | during |',
    '| --- | --- | --- | --- |',
    ...(record.pods[0]?.containers ?? []).flatMap((container) => container.changes.map((change) => `| ${cell(container.name)} | ${change.resource} ${change.allocation === 'requests' ? 'request' : 'limit'} | ${cell(change.from ?? 'unset')} | ${cell(change.to ?? 'unset')} |`)),
    '',
    '## Pods',
    '',
    '| pod | phase | ready | restarts | OOM kills | message |',
    '| --- | --- | --- | --- | --- | --- |',
    ...record.statuses.map((status) => `| ${cell(status.name)} | ${status.phase} | ${status.ready ? 'yes' : 'no'} | ${status.restarts} | ${status.oomKills} | ${cell(status.message ?? '')} |`),
  ];
  if (record.revert) {
    lines.push('', `## Revert (${record.revert.at})`, '', '| pod | result | message |', '| --- | --- | --- |', ...record.revert.pods.map((pod) => `| ${cell(pod.name)} | ${pod.result} | ${cell(pod.message ?? '')} |`));
  }
  lines.push('', '## Record', '', '```json', JSON.stringify(record, null, 2), '```', '');
  return lines.join('\n');
}
