// Faults during an approved apply of a 4-object plan, from storage and the caller: snapshot or audit storage fails
// before the first write, storage fails after it (an audit entry, the snapshot update, the final verify entry, the
// restore entries), the caller cancels, krr is killed mid-scan. Every run ends with the cluster either all applied
// or all as before, checked object by object (mixed_state_runs must be 0). Cluster faults: faults-cluster.test.ts.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AuditLog, type AuditRecord } from '../../src/core/audit';
import type { ApplyOutcome } from '../../src/core/model';
import { model, startSessionFixture } from '../support/session-fixture';
import { count } from './figures';
import { waitFor } from './harness';
import { apiVersionOf, assertQuietAfterReturn, failAuditAppends, judge, normalised, prepare, type Run } from './faultRun';

describe('abuse: faults during an approved apply, from storage and the caller', function () {
  this.timeout(120_000);

  it('snapshot storage fails (the snapshots dir is a regular file): no write reaches the cluster', async () => {
    const run = await prepare();
    try {
      rmSync(path.join(run.f.stateDir, 'snapshots'), { recursive: true, force: true });
      writeFileSync(path.join(run.f.stateDir, 'snapshots'), 'not a directory');
      const outcome = await run.f.session.apply(run.plan.id, model);
      assert.equal(outcome.status, 'failed', outcome.message);
      assert.equal(run.f.cluster.writes().length, 0);
      judge(run, 'snapshot storage', outcome);
    } finally {
      await run.f.close();
    }
  });

  it('audit storage fails before the first write (the log is replaced by a directory): no write reaches the cluster', async () => {
    const run = await prepare();
    try {
      const auditFile = path.join(run.f.stateDir, 'audit.jsonl');
      rmSync(auditFile, { force: true });
      mkdirSync(auditFile);
      const outcome = await run.f.session.apply(run.plan.id, model).catch((error: unknown) => ({ status: 'failed', message: String(error) }) as ApplyOutcome);
      assert.notEqual(outcome.status, 'applied');
      assert.equal(run.f.cluster.writes().length, 0);
      judge(run, 'audit storage', outcome);
    } finally {
      await run.f.close();
    }
  });

  // Storage failing after the first write: with two writers in flight, so a worker left running would show.
  const storageFaults: Array<{ name: string; arm: (run: Run) => () => void; restoreEntries?: boolean; message?: RegExp }> = [
    { name: 'the audit entry of the 1st write fails, and every append after it (disk full)', arm: () => failAuditAppends((r) => r.action === 'write', 1, true) },
    { name: 'the audit entry of the 3rd write fails, and every append after it (disk full)', arm: () => failAuditAppends((r) => r.action === 'write', 3, true) },
    { name: 'the audit entry of the 2nd write fails once', arm: () => failAuditAppends((r) => r.action === 'write', 2, false), restoreEntries: true },
    {
      name: 'the snapshot update after the writes fails',
      arm: (run) => {
        const store = run.f.session.snapshots;
        const original = store.update.bind(store);
        store.update = () => Promise.reject(new Error('EIO: i/o error, fsync (injected)'));
        return () => {
          store.update = original;
        };
      },
      restoreEntries: true,
    },
    { name: 'the final verify entry fails, and every append after it (disk full)', arm: () => failAuditAppends((r) => r.action === 'verify', 1, true) },
    {
      name: 'the 3rd write is refused and every restore entry fails (disk full)',
      arm: (run) => {
        run.f.cluster.faults.failNthWrite(3, 500);
        return failAuditAppends((r) => r.action === 'restore', 1, true);
      },
      message: /^A write failed \(.*InternalError.*\)\. \d already-written objects? (was|were) restored .* Storage also failed \(audit entry for the restore of/,
    },
  ];
  for (const fault of storageFaults) {
    it(`storage after the first write: ${fault.name} — workers stop, all restored, every object reported, quiet after return`, async () => {
      const run = await prepare({}, {}, { applyConcurrency: 2 });
      const undo = fault.arm(run);
      try {
        const outcome = await run.f.session.apply(run.plan.id, model);
        undo();
        await assertQuietAfterReturn(run, fault.name);
        assert.ok(run.f.cluster.writes().length > 0, 'the fault came after the first write');
        assert.deepEqual(judge(run, fault.name, outcome), ['before', 'before', 'before', 'before'], outcome.message);
        assert.equal(outcome.status, 'restored', outcome.message);
        assert.ok(outcome.snapshotId, 'the result names the snapshot');
        assert.deepEqual(outcome.objects.map((o) => o.name).sort(), run.plan.objects.map((o) => o.name).sort(), 'the result lists every object');
        assert.ok(outcome.objects.some((o) => o.result === 'restored'), JSON.stringify(outcome.objects));
        assert.ok(outcome.objects.every((o) => ['restored', 'not-written', 'failed'].includes(o.result)), JSON.stringify(outcome.objects));
        assert.match(outcome.message, fault.message ?? /^Storage failed after the first write \((audit entry|snapshot update|the final verify audit entry).*injected.*\)\. \d already-written objects? (was|were) restored/);
        assert.match(outcome.message, /may be missing entries/);
        const audit = await run.f.session.auditLog({ pageSize: 200 });
        assert.equal(audit.chainValid, true, 'a failed append leaves the chain intact');
        if (fault.restoreEntries) assert.equal(audit.entries.filter((e) => e.action === 'restore').length, outcome.objects.filter((o) => o.result === 'restored').length, 'each restore is recorded when the log works again');
      } finally {
        undo();
        await run.f.close();
      }
    });
  }

  it('the caller cancels between two writes: what was written is restored, never reported as applied', async () => {
    const run = await prepare();
    const controller = new AbortController();
    // The cancel arrives exactly while the first write is being recorded: after it landed, before the next starts.
    const original = AuditLog.prototype.append;
    AuditLog.prototype.append = function (this: AuditLog, record: AuditRecord) {
      if (record.action === 'write') controller.abort();
      return original.call(this, record);
    };
    try {
      const outcome = await run.f.session.apply(run.plan.id, model, controller.signal);
      AuditLog.prototype.append = original;
      await assertQuietAfterReturn(run, 'cancelled');
      assert.equal(run.f.cluster.writes().length, 2, 'one write, then its restore');
      assert.deepEqual(judge(run, 'cancelled between writes', outcome), ['before', 'before', 'before', 'before'], outcome.message);
      assert.equal(outcome.status, 'restored', outcome.message);
      assert.deepEqual(outcome.objects.map((o) => o.result), ['restored', 'not-written', 'not-written', 'not-written']);
      assert.match(outcome.objects[1]?.message ?? '', /cancelled/);
    } finally {
      AuditLog.prototype.append = original;
      await run.f.close();
    }
  });

  it('storage fails after the first write and the cluster refuses a restore: the result says exactly which object is left changed', async () => {
    // Not judged for mixed state: the API server itself refuses the restore, so the cluster ends mixed by design.
    const run = await prepare();
    const undo = failAuditAppends((r) => r.action === 'write', 2, true);
    try {
      // Writes 1 and 2 land; the audit entry of write 2 fails; the restores are writes 3 and 4: refuse the first.
      run.f.cluster.faults.failNthWrite(3, 403);
      const outcome = await run.f.session.apply(run.plan.id, model);
      undo();
      await assertQuietAfterReturn(run, 'refused restore');
      assert.equal(outcome.status, 'failed', outcome.message);
      assert.deepEqual(
        outcome.objects.map((o) => o.result),
        ['restore-failed', 'restored', 'not-written', 'not-written'],
        JSON.stringify(outcome.objects),
      );
      const left = outcome.objects[0];
      assert.match(left?.message ?? '', /restore failed/);
      const object = run.plan.objects[0];
      assert.ok(object);
      const now = normalised(run.f.cluster.getObject(apiVersionOf[object.kind] as string, object.kind, object.namespace, object.name));
      assert.deepEqual(now, run.after[0], 'the object the result names as not restored is the one still changed');
      assert.match(outcome.message, /could NOT all be restored/);
      assert.match(outcome.message, new RegExp(`check them now \\(${object.kind} ${object.namespace}/${object.name}: restore failed: `), 'the message names the object left changed, and why');
    } finally {
      undo();
      await run.f.close();
    }
  });

  it('krr killed mid-scan: a clear error, no report stored', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-krr-'));
    const pidFile = path.join(dir, 'pid.json');
    const f = await startSessionFixture({ session: { env: { KRR_STANDIN_FAIL: 'slow', KRR_STANDIN_SLOW_MS: '30000', KRR_STANDIN_PID_FILE: pidFile } } });
    try {
      count('fault_runs');
      const scanning = f.session.scan({}, model);
      const { pid } = await waitFor(() => {
        try {
          return JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number };
        } catch {
          return undefined;
        }
      });
      process.kill(pid, 'SIGKILL');
      await assert.rejects(scanning, (error: Error & { code?: string }) => error.name === 'SessionError' && error.code === 'krr' && error.message.length > 0);
      assert.equal(f.session.latestReportId(), null, 'nothing stored');
      assert.equal((await f.session.auditLog({ actions: ['scan'] })).total, 0, 'no scan recorded as done');
    } finally {
      await f.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
