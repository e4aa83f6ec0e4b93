// The audit log as the audit view words it (src/core/auditTable.ts), from entries a real session wrote against the
// test cluster: who asked and through what, a Cancel as a decline, a rollback as "rolled back", counts in the right number.
import assert from 'node:assert/strict';
import type { AuditEntry } from '../../src/core/audit';
import { auditRows, type AuditRow } from '../../src/core/auditTable';
import { plural } from '../../src/core/text';
import { startSessionFixture, type SessionFixture } from '../support/session-fixture';

const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };
const postgres = { namespace: 'data', kind: 'StatefulSet', name: 'postgres' };

async function allEntries(f: SessionFixture): Promise<AuditEntry[]> {
  return (await f.session.auditLog({ pageSize: 200 })).entries;
}

function only(rows: AuditRow[], predicate: (row: AuditRow) => boolean, what: string): AuditRow {
  const found = rows.filter(predicate);
  assert.equal(found.length, 1, `${what}: ${JSON.stringify(rows.map((row) => `${row.action} / ${row.outcome}`))}`);
  return found[0] as AuditRow;
}

describe('audit table: the words of each audit entry', function () {
  this.timeout(60_000);
  let f: SessionFixture;
  beforeEach(async () => {
    f = await startSessionFixture();
  });
  afterEach(async () => f.close());

  it('a Cancel in the dialog is a decline by you, with who asked through what', async () => {
    const panel = { type: 'human' as const, via: 'review panel' };
    const scan = await f.session.scan({}, panel);
    const plan = await f.session.propose({ reportId: scan.reportId, workloads: [frontend] }, panel);
    // The approver's exact reason for Cancel or Escape (src/editor/approver.ts).
    f.human.answer = () => ({ outcome: 'declined', reason: 'dismissed the approval dialog' });
    assert.equal((await f.session.apply(plan.id, panel)).status, 'declined');
    const rows = auditRows(await allEntries(f));
    const declined = only(rows, (row) => row.tone === 'declined', 'one decline');
    assert.deepEqual(
      { who: declined.who, via: declined.via, action: declined.action, outcome: declined.outcome, objects: declined.objects, detail: declined.detail },
      { who: 'you', via: 'approval dialog', action: 'declined an apply', outcome: 'declined (Cancel or Escape)', objects: 'Deployment shop/frontend', detail: 'requested by you (review panel)' },
    );
    const proposed = only(rows, (row) => row.action === 'proposed', 'one proposal');
    assert.equal(proposed.outcome.startsWith('1 object,'), true, proposed.outcome);
    assert.equal(proposed.via, 'review panel');
    assert.equal(only(rows, (row) => row.action === 'scanned', 'one scan').outcome, '6 workloads');
  });

  it('an approval from the notification says so; the model\'s request is told apart; an unanswered one is nobody\'s', async () => {
    const scan = await f.session.scan({}, { type: 'human', via: 'command palette' });
    const first = await f.session.propose({ reportId: scan.reportId, workloads: [frontend] }, { type: 'human', via: 'command palette' });
    f.human.answer = 'approve';
    assert.equal((await f.session.apply(first.id, { type: 'human', via: 'notification' })).status, 'applied');
    const model = { type: 'model' as const, via: 'Copilot' };
    const second = await f.session.propose({ reportId: scan.reportId, workloads: [postgres], includeLimits: true }, model);
    f.human.answer = () => ({ outcome: 'timeout' });
    assert.equal((await f.session.apply(second.id, model)).status, 'declined');
    const rows = auditRows(await allEntries(f));
    const approved = only(rows, (row) => row.action === 'approved', 'one approval');
    assert.equal(approved.detail, 'requested by you (notification)');
    assert.equal(approved.via, 'approval dialog');
    const applied = only(rows, (row) => row.action === 'applied', 'the verified apply');
    assert.equal(applied.outcome, 'verified');
    assert.equal(applied.tone, 'ok');
    const unanswered = only(rows, (row) => row.tone === 'declined', 'the unanswered request');
    assert.deepEqual([unanswered.who, unanswered.outcome, unanswered.detail], ['nobody', 'declined: timed out', 'requested by the AI chat (Copilot)']);
    const modelProposal = only(rows, (row) => row.action === 'proposed' && row.who === 'the AI chat', 'the model\'s proposal');
    assert.equal(modelProposal.via, 'Copilot');
  });

  it('a rollback reads "rolled back", its proposal "proposed a rollback", never "applied"', async () => {
    const you = { type: 'human' as const, via: 'review panel' };
    const scan = await f.session.scan({}, you);
    const plan = await f.session.propose({ reportId: scan.reportId, workloads: [frontend, postgres], includeLimits: true }, you);
    f.human.answer = 'approve';
    const outcome = await f.session.apply(plan.id, you);
    assert.equal(outcome.status, 'applied', outcome.message);
    const rollback = await f.session.rollback(outcome.snapshotId as string, { type: 'human', via: 'snapshots view' });
    assert.equal(rollback.status, 'applied', rollback.message);
    const rows = auditRows(await allEntries(f));
    const rollbackRows = rows.filter((row) => row.planId === rollback.planId);
    assert.deepEqual(
      rollbackRows.map((row) => row.action).reverse(),
      ['proposed a rollback', 'approved a rollback', 'rollback started', 'restored (rollback)', 'restored (rollback)', 'rolled back'],
    );
    assert.equal(rollbackRows[0]?.outcome, 'verified');
    // The closing verification is the extension's own read; the row names who asked for the rollback.
    assert.deepEqual([rollbackRows[0]?.who, rollbackRows[0]?.via], ['you', 'snapshots view']);
    assert.equal(rollbackRows.at(-1)?.via, 'snapshots view');
    assert.equal(rows.filter((row) => row.action === 'rolled back').length, 1);
    assert.equal(rows.filter((row) => row.action === 'applied').length, 1, 'the apply before it stays "applied"');
    const started = rollbackRows.find((row) => row.action === 'rollback started');
    assert.deepEqual(started?.objects.split(', ').sort(), ['Deployment shop/frontend', 'StatefulSet data/postgres']);
  });

  it('words a hostile name as one bounded line without bidi overrides', () => {
    const entry: AuditEntry = {
      seq: 1, time: new Date(0).toISOString(), prev: '0'.repeat(64), hash: '1'.repeat(64),
      action: 'propose', actor: { type: 'model', via: 'evil\u202eclient\nApproved' }, outcome: 'proposed',
      objects: [{ namespace: 'shop', kind: 'Deployment', name: 'a\u202egnp.exe' }],
    };
    const [row] = auditRows([entry]);
    assert.ok(row);
    assert.doesNotMatch(row.via + row.objects, /[\u202e\n]/);
    assert.equal(row.who, 'the AI chat');
  });

  it('counts in the right number', () => {
    assert.equal(plural(1, 'object'), '1 object');
    assert.equal(plural(0, 'object'), '0 objects');
    assert.equal(plural(2500, 'workload'), '2,500 workloads');
    assert.equal(plural(1, 'entry', 'entries'), '1 entry');
  });
});
