// The 4-object fault runs of the abuse suite's two fault files (faults-cluster, faults-storage): a prepared run
// (session fixture with a recording kubectl wrapper, an approved four-object plan), and the judge that counts each
// run and fails it if the cluster ended mixed (mixed_state_runs must be 0). Split in two files so the suite's two
// parallel workers can share the runs (together about 8 minutes on two busy cores).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
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
import { count } from './figures';

export const apiVersionOf: Record<string, string> = { Deployment: 'apps/v1', StatefulSet: 'apps/v1', DaemonSet: 'apps/v1' };
// Wider than the default policy so checkout-api and node-exporter join: a plan of four objects.
export const settings = { applyConcurrency: 1, policy: { protectedNamespaces: ['kube-system'], maxIncreasePercent: 500, maxDecreasePercent: 95, minCpuMillicores: 10, minMemoryMiB: 32, productionNamespacePatterns: [], criticalWorkloadPatterns: [] } };

export type Resources = Record<string, unknown>;

/** Container resources with quantities as numbers, so "1000m" and "1" compare equal. */
export function normalised(object: unknown): Resources {
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

export interface Run {
  f: SessionFixture;
  plan: Plan;
  before: Resources[];
  after: Resources[];
  dir: string;
}

export async function prepare(wrapper: Omit<WrapperOptions, 'dir'> = {}, session: Record<string, unknown> = {}, extraSettings: Record<string, unknown> = {}): Promise<Run> {
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
export function judge(run: Run, label: string, outcome: ApplyOutcome): Array<'applied' | 'before' | 'other'> {
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
export function failAuditAppends(which: (record: AuditRecord) => boolean, k: number, persistent: boolean): () => void {
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
export async function assertQuietAfterReturn(run: Run, label: string): Promise<void> {
  const writes = run.f.cluster.writes().length;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(run.f.cluster.writes().length, writes, `${label}: writes reached the cluster after apply() returned`);
}
