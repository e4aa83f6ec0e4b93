// Issue 26 in the editor, the pure part (src/editor/trialView.ts): what a trial offers in each state, the notification
// of one that ended (overdue, passed, failed, a pod that could not be put back), the status bar's line, and the Details
// document — names from the cluster shown isolated, hidden characters made visible, table cells escaped.
import assert from 'node:assert/strict';
import type { TrialRecord } from '../../src/core/trial/model';
import { withoutIsolates } from '../../src/core/text';
import { endedNotice, statusLine, timeLeft, trialActions, trialDetails } from '../../src/editor/trialView';

const started = Date.UTC(2026, 11, 6, 22, 0);

function record(overrides: Partial<TrialRecord> = {}): TrialRecord {
  return {
    id: 'plan-0123456789ab',
    planId: 'plan-0123456789ab',
    digest: 'a'.repeat(64),
    context: 'prod-eu-1',
    server: 'https://127.0.0.1:6443',
    workload: { namespace: 'shop', kind: 'Deployment', name: 'frontend' },
    pods: [
      {
        name: 'frontend-6bdd4f5b6b-b7cxg',
        uid: 'uid-1',
        node: 'sim-node-3',
        containers: [{ name: 'web', before: { requests: { memory: '256Mi' } }, after: { requests: { memory: '198Mi' } }, changes: [{ container: 'web', allocation: 'requests', resource: 'memory', from: '256Mi', to: '198Mi', fromAmount: 256 * 2 ** 20, toAmount: 198 * 2 ** 20 }], restartsOn: [] }],
        ops: [],
      },
    ],
    runningPods: 4,
    windowSeconds: 1800,
    includeLimits: true,
    sourceReportId: 'report-1',
    startedAt: new Date(started).toISOString(),
    endsAt: new Date(started + 1800_000).toISOString(),
    state: 'running',
    baseline: {},
    statuses: [{ name: 'frontend-6bdd4f5b6b-b7cxg', phase: 'applied', ready: true, restarts: 0, oomKills: 0 }],
    checkedAt: null,
    ...overrides,
  };
}

const revertFailed = { at: new Date(started).toISOString(), pods: [{ name: 'frontend-6bdd4f5b6b-b7cxg', result: 'failed' as const, message: 'the pod changed since the trial' }] };

describe('trials in the editor: actions, notices, status bar, details (trialView)', () => {
  it('offers Revert now while it runs or is overdue, Persist… once it passed, Details always; a failed revert is offered again', () => {
    assert.deepEqual(trialActions(record()), ['Revert now', 'Details']);
    assert.deepEqual(trialActions(record({ state: 'overdue' })), ['Revert now', 'Details']);
    assert.deepEqual(trialActions(record({ state: 'passed' })), ['Persist…', 'Details']);
    assert.deepEqual(trialActions(record({ state: 'failed' })), ['Details']);
    assert.deepEqual(trialActions(record({ state: 'reverted' })), ['Details']);
    assert.deepEqual(trialActions(record({ state: 'failed', revert: revertFailed })), ['Revert now', 'Details']);
    assert.deepEqual(trialActions(record({ state: 'passed', revert: revertFailed })), ['Revert now', 'Persist…', 'Details']);
  });

  it('words the end: overdue with Revert now, passed with Persist…, failed with its reason, and names a pod left at the trial size', () => {
    assert.equal(endedNotice(record()), null, 'a running trial is not announced');
    assert.equal(endedNotice(record({ state: 'reverted' })), null, 'a revert the person asked for is notified by its command');
    const overdue = endedNotice(record({ state: 'overdue' }));
    assert.equal(overdue?.severity, 'warning');
    assert.equal(withoutIsolates(overdue?.text ?? ''), "KRR: Trial of 1 pod of shop/frontend (plan-0123456789ab) ended while VS Code was closed; its pods may still run at the trial size.");
    assert.deepEqual(overdue?.buttons, ['Revert now', 'Details']);
    const passed = endedNotice(record({ state: 'passed', outcome: { at: '', reason: 'ran 30 min on 1 pod at web request 198Mi: 0 OOM kills, 0 restarts' } }));
    assert.equal(passed?.severity, 'info');
    assert.match(withoutIsolates(passed?.text ?? ''), /passed: ran 30 min on 1 pod at web request 198Mi: 0 OOM kills, 0 restarts\. Its pods are back at the template's size\.$/);
    assert.deepEqual(passed?.buttons, ['Persist…', 'Details']);
    const failed = endedNotice(record({ state: 'failed', outcome: { at: '', reason: 'pod frontend-x was OOM-killed once at the trial\'s memory limit' } }));
    assert.equal(failed?.severity, 'warning');
    assert.match(failed?.text ?? '', /failed: pod frontend-x was OOM-killed once at the trial's memory limit\. Its pods were reverted\.$/);
    assert.deepEqual(failed?.buttons, ['Details']);
    const stuck = endedNotice(record({ state: 'failed', outcome: { at: '', reason: 'a restart' }, revert: revertFailed }));
    assert.match(withoutIsolates(stuck?.text ?? ''), /1 pod could not be reverted: frontend-6bdd4f5b6b-b7cxg \(the pod changed since the trial\)\.$/);
    assert.doesNotMatch(stuck?.text ?? '', /Its pods were reverted/);
    assert.deepEqual(stuck?.buttons, ['Revert now', 'Details']);
  });

  it('shows names from the cluster isolated, with hidden characters made visible', () => {
    const hostile = endedNotice(record({ state: 'overdue', workload: { namespace: 'shop', kind: 'Deployment', name: 'front\u202Eend' } }));
    assert.ok(hostile?.text.includes('\u2068shop/front⟨U+202E⟩end\u2069'), hostile?.text);
    assert.ok(!hostile?.text.includes('\u202E'));
  });

  it('counts down in the status bar, and says which trial ends first when several run', () => {
    assert.equal(statusLine([], started), null);
    const one = statusLine([record()], started + 1800_000 - 11.5 * 60_000);
    assert.equal(withoutIsolates(one?.text ?? ''), '$(beaker) Trial: 1 pod of shop/frontend · 12 min left');
    assert.match(withoutIsolates(one?.tooltip ?? ''), /^plan-0123456789ab: 1 pod of shop\/frontend in prod-eu-1, until .+\nClick to show the trials/);
    const two = statusLine([record(), record({ id: 'plan-ba9876543210', endsAt: new Date(started + 60_000).toISOString() })], started + 20_000);
    assert.equal(two?.text, '$(beaker) 2 trials · the next ends, 40 s left');
    assert.equal(timeLeft(new Date(started).toISOString(), started + 1), 'ending');
    assert.equal(timeLeft('not a date', started), 'ending');
  });

  it('details: the values tried, each pod as the watch saw it, the revert, the record; a | in a message cannot break the table', () => {
    const text = trialDetails(
      record({
        state: 'failed',
        outcome: { at: '2026-12-06T22:01:00.000Z', reason: 'pod frontend-6bdd4f5b6b-b7cxg was OOM-killed once' },
        statuses: [{ name: 'frontend-6bdd4f5b6b-b7cxg', phase: 'reverted', ready: false, restarts: 1, oomKills: 1, message: 'web: OOMKilled | now CrashLoopBackOff' }],
        revert: { at: '2026-12-06T22:01:01.000Z', pods: [{ name: 'frontend-6bdd4f5b6b-b7cxg', result: 'reverted' }] },
      }),
    );
    const lines = withoutIsolates(text).split('\n');
    assert.equal(lines[0], '# Trial plan-0123456789ab — failed');
    assert.ok(lines.includes('| web | memory request | 256Mi | 198Mi |'), text);
    assert.ok(lines.includes('| frontend-6bdd4f5b6b-b7cxg | reverted | no | 1 | 1 | web: OOMKilled \\| now CrashLoopBackOff |'), text);
    assert.ok(lines.includes('| frontend-6bdd4f5b6b-b7cxg | reverted |  |'), text);
    assert.ok(lines.includes('- Outcome (2026-12-06T22:01:00.000Z): pod frontend-6bdd4f5b6b-b7cxg was OOM-killed once'), text);
    assert.ok(lines.includes('```json') && lines.includes('  "id": "plan-0123456789ab",'), 'the record itself');
  });
});
