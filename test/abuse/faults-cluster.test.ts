// Faults during an approved apply of a 4-object plan, from the cluster and the processes: the API server fails the
// k-th write (500, dropped connection, a hang past the request timeout, 409, 403), the API channel (kubectl proxy)
// is SIGKILLed with a write on the wire or between writes, kubectl is SIGKILLed mid-batch (without the channel).
// Every run ends with the cluster either all applied or all as before, checked object by object (mixed_state_runs
// must be 0). Storage faults are in faults-storage.test.ts; the runs themselves in faultRun.ts.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AuditLog, type AuditRecord } from '../../src/core/audit';
import { type WrapperOptions } from '../support/kubectl-wrapper';
import { model } from '../support/session-fixture';
import { asControlPlane, wantsLightCluster } from '../support/test-cluster';
import { assertQuietAfterReturn, judge, prepare, type Run } from './faultRun';

describe('abuse: faults during an approved apply, from the cluster and the processes', function () {
  this.timeout(120_000);

  const serverFaults: Array<{ name: string; ks: number[]; arm: (run: Run, k: number) => void; wrapper?: Omit<WrapperOptions, 'dir'>; session?: Record<string, unknown> }> = [
    { name: '500 on the k-th write', ks: [1, 2, 4], arm: (run, k) => run.f.cluster.faults.failNthWrite(k, 500) },
    { name: 'connection dropped on the k-th write', ks: [1, 3, 4], arm: (run, k) => run.f.cluster.faults.dropNthWrite(k) },
    { name: '409 conflict on the k-th write', ks: [1, 2, 4], arm: (run, k) => run.f.cluster.faults.failNthWrite(k, 409) },
    // The API channel (and kubectl, were it used: --request-timeout appended by the wrapper) gives up after 2 s; the server holds the write for 5 s.
    { name: 'k-th write hangs past the request timeout', ks: [2, 4], arm: (run, k) => run.f.cluster.faults.hangNthWrite(k, 5000), wrapper: { appendArgs: ['--request-timeout=2s'] }, session: { apiChannelTimeoutMs: 2000 } },
  ];
  for (const fault of serverFaults) {
    for (const k of fault.ks) {
      it(`${fault.name} (k=${k} of 4): all restored, never mixed`, async () => {
        const run = await prepare(fault.wrapper, fault.session);
        try {
          fault.arm(run, k);
          const outcome = await run.f.session.apply(run.plan.id, model);
          const states = judge(run, `${fault.name} k=${k}`, outcome);
          assert.deepEqual(states, ['before', 'before', 'before', 'before'], outcome.message);
          assert.equal(outcome.status, 'restored', outcome.message);
        } finally {
          await run.f.close();
        }
      });
    }
  }

  // Only the real control plane behind the fault proxy can do this one: the API server commits the k-th write,
  // then the reply is lost. kubectl fails without knowing; the apply must find out by reading, and end all applied
  // (the last write landed) or all restored, never mixed.
  if (!wantsLightCluster()) {
    for (const k of [1, 2, 4]) {
      it(`k-th write committed, then its reply lost (k=${k} of 4): all applied or all restored, never mixed`, async () => {
        const run = await prepare();
        try {
          const plane = asControlPlane(run.f.cluster);
          assert.ok(plane, 'needs the real control plane');
          plane.faults.commitThenDropNthWrite(k);
          const outcome = await run.f.session.apply(run.plan.id, model);
          judge(run, `commit-then-lose-reply k=${k}`, outcome);
          assert.ok(plane.writes().length >= k, 'the k-th write reached the API server');
        } finally {
          await run.f.close();
        }
      });
    }
  }

  it('403 for the namespace of the k-th object (k = first object of each namespace): restored, never mixed', async () => {
    const probe = await prepare();
    const firsts = probe.plan.objects.map((o, i) => ({ namespace: o.namespace, k: i + 1 })).filter((entry, i, all) => all.findIndex((other) => other.namespace === entry.namespace) === i && entry.k > 1);
    await probe.f.close();
    assert.ok(firsts.length >= 1);
    for (const { namespace, k } of firsts) {
      const run = await prepare();
      try {
        run.f.cluster.faults.forbidNamespace(namespace);
        const outcome = await run.f.session.apply(run.plan.id, model);
        assert.deepEqual(judge(run, `403 in ${namespace} (k=${k})`, outcome), ['before', 'before', 'before', 'before']);
      } finally {
        await run.f.close();
      }
    }
  });

  // The API channel dying mid-apply is a failed write: what was written is restored (through kubectl processes,
  // since the channel is gone), the result names every object, and nothing is left half-done.
  const proxyKills: Array<{ name: string; k: number; onWire: boolean }> = [
    { name: 'with the 1st write on the wire', k: 1, onWire: true },
    { name: 'with the 3rd write on the wire', k: 3, onWire: true },
    { name: 'right after the 2nd write was recorded, before the 3rd', k: 2, onWire: false },
  ];
  for (const kill of proxyKills) {
    it(`the API channel's kubectl proxy SIGKILLed ${kill.name}: a failed write, all restored, reported exactly, never mixed`, async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-proxy-'));
      const pidFile = path.join(dir, 'proxy.pids');
      const run = await prepare({ proxyPidFile: pidFile });
      const proxyPids = () => (existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim().split('\n').map(Number) : []);
      // A four-workload proposal runs without a channel (proposalChannelFrom); the apply opens its own.
      const proposalProxies = proxyPids().length;
      assert.equal(proposalProxies, 0);
      let killed: number | undefined;
      const original = AuditLog.prototype.append;
      let writesRecorded = 0;
      // The trigger is the audit entry before the k-th write starts (concurrency 1): 'started' for k=1, else write k-1's.
      AuditLog.prototype.append = function (this: AuditLog, record: AuditRecord) {
        if (record.action === 'write') writesRecorded += 1;
        const trigger = kill.onWire ? (kill.k === 1 ? record.action === 'apply' && record.outcome === 'started' : record.action === 'write' && writesRecorded === kill.k - 1) : record.action === 'write' && writesRecorded === kill.k;
        if (trigger && killed === undefined) {
          killed = proxyPids()[proposalProxies];
          assert.ok(killed, 'the apply opened its own channel');
          // On the wire: the write after this entry is held by the server for 3 s; kill it 500 ms in.
          if (kill.onWire) setTimeout(() => process.kill(killed as number, 'SIGKILL'), 500);
          else process.kill(killed, 'SIGKILL');
        }
        return original.call(this, record);
      };
      try {
        if (kill.onWire) run.f.cluster.faults.hangNthWrite(kill.k, 3000);
        const outcome = await run.f.session.apply(run.plan.id, model);
        AuditLog.prototype.append = original;
        await assertQuietAfterReturn(run, `proxy killed ${kill.name}`);
        assert.ok(killed, 'the proxy was killed');
        assert.throws(() => process.kill(killed as number, 0), /ESRCH/, 'the proxy is gone');
        assert.deepEqual(judge(run, `proxy killed ${kill.name}`, outcome), ['before', 'before', 'before', 'before'], outcome.message);
        assert.equal(outcome.status, 'restored', outcome.message);
        const restored = kill.onWire ? kill.k - 1 : kill.k;
        assert.deepEqual(
          outcome.objects.map((o) => o.result),
          run.plan.objects.map((_, i) => (i < restored ? 'restored' : i === restored ? 'failed' : 'not-written')),
          JSON.stringify(outcome.objects),
        );
        assert.match(outcome.objects[restored]?.message ?? '', /API channel|Cannot reach/, 'the failed write says the channel went away');
        assert.match(outcome.message, new RegExp(`^A write failed \\(.*\\)\\. ${restored} already-written objects? (was|were) restored to their previous values\\.`));
        assert.ok(run.f.logs.some((line) => /API channel unusable/.test(line)), 'the log says the channel broke');
        const audit = await run.f.session.auditLog({ pageSize: 200 });
        assert.equal(audit.chainValid, true);
        assert.equal(audit.entries.filter((e) => e.action === 'restore').length, restored, 'each restore is recorded');
        assert.equal(audit.entries.filter((e) => e.action === 'write-failed').length, 1, 'the failed write is recorded');
      } finally {
        AuditLog.prototype.append = original;
        await run.f.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  // Without the API channel (where it cannot start), every request is a kubectl process: killing one mid-write.
  for (const k of [1, 3]) {
    it(`kubectl SIGKILLed with the k-th write on the wire (k=${k}, no API channel): restored, never mixed`, async () => {
      const run = await prepare({ killOnPatch: { k, mode: 'in-flight' } }, { apiChannel: false });
      try {
        run.f.cluster.faults.hangNthWrite(k, 1500);
        const outcome = await run.f.session.apply(run.plan.id, model);
        assert.deepEqual(judge(run, `kubectl killed in flight k=${k}`, outcome), ['before', 'before', 'before', 'before'], outcome.message);
      } finally {
        await run.f.close();
      }
    });
    it(`kubectl SIGKILLed after the k-th write landed (k=${k}, no API channel): the re-read finds it, all applied`, async () => {
      const run = await prepare({ killOnPatch: { k: k + 1, mode: 'after-write' } }, { apiChannel: false });
      try {
        const outcome = await run.f.session.apply(run.plan.id, model);
        judge(run, `kubectl killed after write k=${k + 1}`, outcome);
      } finally {
        await run.f.close();
      }
    });
  }
});
