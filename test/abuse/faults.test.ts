// Faults during an approved apply of a 4-object plan: the API server fails the k-th write (500, dropped
// connection, a hang past the request timeout, 409, 403), the API channel (kubectl proxy) is SIGKILLed with a
// write on the wire or between writes, kubectl is SIGKILLed mid-batch (without the channel), snapshot or audit
// storage fails before the first write, storage fails after it (an audit entry, the snapshot update, the
// final verify entry, the restore entries), krr is killed mid-scan. Every run ends with the cluster either
// all applied or all as before, checked object by object (mixed_state_runs must be 0).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fastJsonPatch from 'fast-json-patch';
import { AuditLog, type AuditRecord } from '../../src/core/audit';
import { parseCpu, parseMemory } from '../../src/core/quantity';
import type { Plan } from '../../src/core/plan/model';
import type { ApplyOutcome } from '../../src/core/model';
import { invalidKubectlArguments, wrapKubectl, type WrapperOptions } from '../support/kubectl-wrapper';
import { model, startSessionFixture, type SessionFixture } from '../support/session-fixture';
import { asControlPlane, wantsLightCluster } from '../support/test-cluster';
import { count } from './figures';
import { waitFor } from './harness';

const apiVersionOf: Record<string, string> = { Deployment: 'apps/v1', StatefulSet: 'apps/v1', DaemonSet: 'apps/v1' };
// Wider than the default policy so checkout-api and node-exporter join: a plan of four objects.
const settings = { applyConcurrency: 1, policy: { protectedNamespaces: ['kube-system'], maxIncreasePercent: 500, maxDecreasePercent: 95, minCpuMillicores: 10, minMemoryMiB: 32, productionNamespacePatterns: [], criticalWorkloadPatterns: [] } };

type Resources = Record<string, unknown>;

/** Container resources with quantities as numbers, so "1000m" and "1" compare equal. */
function normalised(object: unknown): Resources {
  const containers = (object as { spec: { template: { spec: { containers: Array<{ name: string; resources?: Record<string, Record<string, string>> }> } } } }).spec.template.spec.containers;
  return Object.fromEntries(
    containers.map((container) => [
      container.name,
      Object.fromEntries(
        Object.entries(container.resources ?? {}).map(([allocation, values]) => [
          allocation,
          Object.fromEntries(Object.entries(values).map(([resource, value]) => [resource, resource === 'cpu' ? parseCpu(value) : resource === 'memory' ? parseMemory(value) : value])),
        ]),
      ),
    ]),
  );
}

interface Run {
  f: SessionFixture;
  plan: Plan;
  before: Resources[];
  after: Resources[];
  dir: string;
}

async function prepare(wrapper: Omit<WrapperOptions, 'dir'> = {}, session: Record<string, unknown> = {}, extraSettings: Record<string, unknown> = {}): Promise<Run> {
  const dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-fault-'));
  const kubectl = wrapKubectl({ dir, ...wrapper });
  const f = await startSessionFixture({ settings: { ...settings, ...extraSettings, kubectlPath: kubectl.path }, session });
  const scan = await f.session.scan({}, model);
  const workloads = f.session.getReport(scan.reportId).workloads.filter((w) => w.kind in apiVersionOf).map((w) => ({ namespace: w.namespace, kind: w.kind, name: w.name }));
  const plan = await f.session.propose({ reportId: scan.reportId, workloads, includeLimits: true }, model);
  assert.equal(plan.objects.length, 4, `a four-object plan; blocked: ${JSON.stringify(plan.blocked)}`);
  const live = plan.objects.map((o) => f.cluster.getObject(apiVersionOf[o.kind] as string, o.kind, o.namespace, o.name));
  const before = live.map(normalised);
  // What each object looks like once its patch is applied (the test ops pin exactly the live values).
  const after = plan.objects.map((o, i) => normalised(fastJsonPatch.applyPatch(structuredClone(live[i]), o.ops, true, false).newDocument));
  f.human.answer = 'approve';
  const originalClose = f.close.bind(f);
  f.close = async () => {
    for (const argv of kubectl.argvs()) {
      const bad = invalidKubectlArguments(argv).length > 0;
      count('unvalidated_argv', bad ? 1 : 0);
      assert.equal(bad, false, argv.join(' '));
    }
    await originalClose();
    rmSync(dir, { recursive: true, force: true });
  };
  return { f, plan, before, after, dir };
}

/** Counts the run and whether the cluster ended mixed; returns each object's state. */
function judge(run: Run, label: string, outcome: ApplyOutcome): Array<'applied' | 'before' | 'other'> {
  count('fault_runs');
  const states = run.plan.objects.map((o, i) => {
    const now = normalised(run.f.cluster.getObject(apiVersionOf[o.kind] as string, o.kind, o.namespace, o.name));
    return isDeepStrictEqual(now, run.after[i]) ? 'applied' : isDeepStrictEqual(now, run.before[i]) ? 'before' : 'other';
  });
  const mixed = !(states.every((s) => s === 'applied') || states.every((s) => s === 'before'));
  if (mixed) count('mixed_state_runs');
  assert.equal(mixed, false, `${label}: mixed final state ${JSON.stringify(states)}; outcome ${outcome.status}: ${outcome.message}`);
  // The outcome tells the truth about the cluster.
  if (states.every((s) => s === 'before')) assert.ok(['restored', 'failed', 'stale'].includes(outcome.status), `${label}: ${outcome.status} but nothing is applied`);
  else assert.equal(outcome.status, 'applied', `${label}: all objects applied but the outcome says ${outcome.status}: ${outcome.message}`);
  return states;
}

/**
 * Fault injection into the real audit log: the k-th append of a record that `which` matches throws (ENOSPC),
 * and with `persistent` every append after it throws too (a full disk). Returns the undo.
 */
function failAuditAppends(which: (record: AuditRecord) => boolean, k: number, persistent: boolean): () => void {
  const original = AuditLog.prototype.append;
  let seen = 0;
  let broken = false;
  AuditLog.prototype.append = function (this: AuditLog, record: AuditRecord) {
    const hit = !broken && which(record) && ++seen === k;
    if (hit || (broken && persistent)) {
      broken = true;
      return Promise.reject(new Error(`ENOSPC: no space left on device, write (injected into a ${record.action} entry)`));
    }
    return original.call(this, record);
  };
  return () => {
    AuditLog.prototype.append = original;
  };
}

/** Once apply() returned, the cluster sees no further write (no worker left running behind it). */
async function assertQuietAfterReturn(run: Run, label: string): Promise<void> {
  const writes = run.f.cluster.writes().length;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(run.f.cluster.writes().length, writes, `${label}: writes reached the cluster after apply() returned`);
}

describe('abuse: faults during an approved apply', function () {
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
