// apply_throughput: 200 Deployments in the Kubernetes API test server (20 ms injected latency per request),
// through the real kubectl (one `kubectl proxy` API channel per operation). Proposal (reads + server-side
// dry-runs) and approval→verified completion (re-read, snapshot, writes with test ops, verification) against a
// naive sequential `kubectl patch` per object on a fresh cluster, measured side by side in the same run; what
// each step of the apply costs is read from the audit log's timestamps. propose_scale: one proposal over 2,500
// workloads, with the time between progress reports.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AuditLog } from '../src/core/audit';
import { proposeConcurrency } from '../src/core/plan/propose';
import { fileKeyStore } from '../src/core/auditKey';
import { startTestCluster } from '../test/support/kube-api-server';
import { startSessionFixture } from '../test/support/session-fixture';
import { generateDeploymentFleet } from './generate';
import { median, round } from './stats';

const requester = { type: 'human' as const, via: 'bench' };

export interface ApplyFigures {
  objects: number;
  latency_ms: number;
  concurrency: number;
  runs: number;
  propose_ms: number;
  apply_ms: number;
  baseline_sequential_patch_ms: number;
  /** baseline / apply: how much faster the safe apply is than the naive loop. */
  speedup_vs_sequential: number;
  /** propose / baseline. */
  propose_vs_sequential: number;
  /** kubectl processes per phase (from the session log), to see where time goes. */
  kubectl_calls_propose: number;
  kubectl_calls_apply: number;
  /** CPU time (user + system) of the kubectl processes, per process, during apply and during the baseline. */
  kubectl_cpu_ms_per_process_apply: number | null;
  kubectl_cpu_ms_per_process_baseline: number | null;
  /**
   * Best speed-up the cores allow when every kubectl process needs that much CPU: the baseline's time over
   * (apply's kubectl CPU / cores). Shows whether a miss is the machine or the code.
   */
  cpu_bound_speedup_limit: number | null;
  /** Medians of the apply's steps, from the audit log's timestamps (ms). */
  steps: ApplySteps;
  /** One audit append (hash chain, HMAC, fsync of the line and the head), median of 200 on this disk. */
  audit_append_ms: number;
  /** Peak RSS of this process (session, light API server, plan) during the apply, and its RSS before it. */
  peak_rss_mb: number | null;
  rss_before_apply_mb: number;
  verified: boolean;
}

export interface ApplySteps {
  /** apply() called → 'approve' entry: resolving the context, the (scripted) approval, its audit entry. */
  approve: number;
  /** 'approve' → 'apply started': opening the API channel, re-reading every object, the stale check, the snapshot. */
  channel_reread_snapshot: number;
  /** 'apply started' → the last 'write' entry: every write (JSON patch with test ops) and its audit entry. */
  writes: number;
  /** The last 'write' entry → 'verify': the snapshot update and the verification read. */
  snapshot_update_verify: number;
  /** 'verify' → apply() returned: closing the channel. */
  close: number;
}

/** Peak RSS since the last reset (Linux: VmHWM, reset through /proc/self/clear_refs); null elsewhere. */
function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}
function peakRssMb(): number | null {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Step durations of the last apply in an audit log file (entries carry ISO times with milliseconds). */
function stepsFromAudit(file: string, calledAt: number, returnedAt: number): ApplySteps {
  const entries = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { action: string; outcome?: string; time: string });
  const timeOf = (entry: { time: string } | undefined) => (entry ? Date.parse(entry.time) : Number.NaN);
  const approve = entries.findLast((e) => e.action === 'approve');
  const started = entries.findLast((e) => e.action === 'apply' && e.outcome === 'started');
  const lastWrite = entries.findLast((e) => e.action === 'write');
  const verify = entries.findLast((e) => e.action === 'verify');
  return {
    approve: timeOf(approve) - calledAt,
    channel_reread_snapshot: timeOf(started) - timeOf(approve),
    writes: timeOf(lastWrite) - timeOf(started),
    snapshot_update_verify: timeOf(verify) - timeOf(lastWrite),
    close: returnedAt - timeOf(verify),
  };
}

async function auditAppendMs(): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'krr-bench-audit-'));
  try {
    const log = await AuditLog.open(path.join(dir, 'audit.jsonl'), { keys: fileKeyStore(path.join(dir, 'audit.key')) });
    const samples: number[] = [];
    for (let index = 0; index < 200; index += 1) {
      const started = performance.now();
      await log.append({ action: 'write', actor: { type: 'human', via: 'bench' }, context: 'prod-eu-1', planId: 'plan-bench', objects: [{ namespace: 'fleet-1', kind: 'Deployment', name: `svc-${index}` }], outcome: 'written' });
      samples.push(performance.now() - started);
    }
    return median(samples);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU of waited-for child processes so far, in ms (Linux /proc; null elsewhere). */
function childrenCpuMs(): number | null {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
    // After "pid (comm) ", cutime and cstime are fields 16 and 17 of stat(5), i.e. indexes 13 and 14 here; in clock ticks (100/s).
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
  } catch {
    return null;
  }
}

export async function benchmarkApply(options: { objects?: number; latencyMs?: number; runs?: number; concurrency?: number } = {}): Promise<ApplyFigures> {
  const count = options.objects ?? 200;
  const latencyMs = options.latencyMs ?? 20;
  const runs = options.runs ?? 3;
  const fleet = generateDeploymentFleet({ count, seed: 11, cluster: 'prod-eu-1' });
  const proposeSamples: number[] = [];
  const applySamples: number[] = [];
  const baselineSamples: number[] = [];
  let callsPropose = 0;
  let callsApply = 0;
  const applyCpu: number[] = [];
  const baselineCpu: number[] = [];
  let verified = true;
  let concurrency = 0;
  const stepSamples: ApplySteps[] = [];
  const peaks: number[] = [];
  const rssBefore: number[] = [];
  for (let index = 0; index < runs; index += 1) {
    // The light API test server on both sides (the baseline below uses it too): the figure is about our code.
    const fixture = await startSessionFixture({ cluster: { seed: fleet.objects, latencyMs, light: true }, settings: options.concurrency ? { applyConcurrency: options.concurrency } : {} });
    let replaceOps: Array<{ ref: (typeof fleet.refs)[number]; ops: unknown[] }>;
    try {
      concurrency = fixture.settings.applyConcurrency;
      fixture.human.answer = 'approve';
      const reportFile = path.join(fixture.stateDir, 'fleet-report.json');
      writeFileSync(reportFile, fleet.reportText);
      const summary = await fixture.session.loadReport(reportFile, requester);

      let logStart = fixture.logs.length;
      let started = performance.now();
      const plan = await fixture.session.propose({ reportId: summary.reportId, workloads: fleet.refs }, requester);
      proposeSamples.push(performance.now() - started);
      callsPropose = countKubectl(fixture.logs.slice(logStart));
      if (plan.objects.length !== count) throw new Error(`the plan has ${plan.objects.length} objects, expected ${count}; blocked: ${JSON.stringify(plan.blocked.slice(0, 3))}`);

      logStart = fixture.logs.length;
      const cpuBefore = childrenCpuMs();
      rssBefore.push(process.memoryUsage().rss / 1024 / 1024);
      const peakReset = resetPeakRss();
      const calledAt = Date.now();
      started = performance.now();
      const outcome = await fixture.session.apply(plan.id, requester);
      applySamples.push(performance.now() - started);
      stepSamples.push(stepsFromAudit(path.join(fixture.stateDir, 'audit.jsonl'), calledAt, Date.now()));
      const peak = peakReset ? peakRssMb() : null;
      if (peak !== null) peaks.push(peak);
      callsApply = countKubectl(fixture.logs.slice(logStart));
      const cpuAfter = childrenCpuMs();
      if (cpuBefore !== null && cpuAfter !== null) applyCpu.push((cpuAfter - cpuBefore) / callsApply);
      if (outcome.status !== 'applied') throw new Error(`apply ended ${outcome.status}: ${outcome.message}`);
      verified &&= outcome.verified && fixture.cluster.writes().length === count;
      // The naive tool writes the same values, without the test preconditions.
      replaceOps = plan.objects.map((object) => ({ ref: { namespace: object.namespace, kind: 'Deployment' as const, name: object.name }, ops: object.ops.filter((op) => op.op !== 'test') }));
    } finally {
      await fixture.close();
    }
    const cpuBefore = childrenCpuMs();
    baselineSamples.push(await sequentialPatch(fleet.objects, replaceOps, latencyMs));
    const cpuAfter = childrenCpuMs();
    if (cpuBefore !== null && cpuAfter !== null) baselineCpu.push((cpuAfter - cpuBefore) / replaceOps.length);
  }
  const appendMs = await auditAppendMs();
  const stepMedian = (key: keyof ApplySteps) => round(median(stepSamples.map((steps) => steps[key])), 0);
  const proposeMs = median(proposeSamples);
  const applyMs = median(applySamples);
  const baselineMs = median(baselineSamples);
  return {
    objects: count,
    latency_ms: latencyMs,
    concurrency,
    runs,
    propose_ms: round(proposeMs, 0),
    apply_ms: round(applyMs, 0),
    baseline_sequential_patch_ms: round(baselineMs, 0),
    speedup_vs_sequential: round(baselineMs / applyMs),
    propose_vs_sequential: round(proposeMs / baselineMs),
    kubectl_calls_propose: callsPropose,
    kubectl_calls_apply: callsApply,
    kubectl_cpu_ms_per_process_apply: applyCpu.length > 0 ? round(median(applyCpu), 1) : null,
    kubectl_cpu_ms_per_process_baseline: baselineCpu.length > 0 ? round(median(baselineCpu), 1) : null,
    cpu_bound_speedup_limit: applyCpu.length > 0 && callsApply > 0 ? round(baselineMs / ((median(applyCpu) * callsApply) / cpus().length)) : null,
    steps: { approve: stepMedian('approve'), channel_reread_snapshot: stepMedian('channel_reread_snapshot'), writes: stepMedian('writes'), snapshot_update_verify: stepMedian('snapshot_update_verify'), close: stepMedian('close') },
    audit_append_ms: round(appendMs, 2),
    peak_rss_mb: peaks.length > 0 ? round(Math.max(...peaks), 0) : null,
    rss_before_apply_mb: round(median(rssBefore), 0),
    verified,
  };
}

/** What a naive tool does: one `kubectl patch` after another, no re-read, no snapshot, no verification. */
async function sequentialPatch(objects: object[], patches: Array<{ ref: { namespace: string; name: string }; ops: unknown[] }>, latencyMs: number): Promise<number> {
  const cluster = await startTestCluster({ seed: objects, latencyMs });
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'krr-bench-kube-cache-'));
  try {
    const { execa } = await import('execa');
    const started = performance.now();
    for (const { ref, ops } of patches) {
      await execa('kubectl', ['--kubeconfig', cluster.kubeconfigPath, '--context', cluster.context, '--cache-dir', cacheDir, 'patch', 'deployments.apps', ref.name, '-n', ref.namespace, '--type=json', '-p', JSON.stringify(ops)]);
    }
    const elapsed = performance.now() - started;
    if (cluster.writes().length !== patches.length) throw new Error(`baseline wrote ${cluster.writes().length} of ${patches.length} objects`);
    return elapsed;
  } finally {
    await cluster.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

function countKubectl(lines: readonly string[]): number {
  return lines.filter((line) => line.startsWith('kubectl ')).length;
}

export interface ProposeScaleFigures {
  workloads: number;
  latency_ms: number;
  concurrency: number;
  /** session.propose: reads, policies, server-side dry-runs, HPA lists; one run. */
  ms: number;
  objects: number;
  blocked: number;
  progress_reports: number;
  /** The longest time without a progress report, from the call to its return. */
  max_progress_gap_ms: number;
  /** The count reported at the end of that longest gap (-1: it ran from the last report to the call's return). */
  max_gap_ends_at: number;
  /** From the last progress report to the proposal's return (digest, plan storage). */
  end_after_last_report_ms: number;
  kubectl_processes: number;
}

/** One proposal over `count` generated Deployments (20 ms latency per request), with its progress reports timed. */
export async function benchmarkProposeScale(options: { count?: number; latencyMs?: number; concurrency?: number } = {}): Promise<ProposeScaleFigures> {
  const count = options.count ?? 2500;
  const latencyMs = options.latencyMs ?? 20;
  const fleet = generateDeploymentFleet({ count, seed: 25, cluster: 'prod-eu-1', namespaces: 25 });
  const fixture = await startSessionFixture({ cluster: { seed: fleet.objects, latencyMs, light: true }, settings: options.concurrency ? { applyConcurrency: options.concurrency } : {} });
  try {
    const reportFile = path.join(fixture.stateDir, 'fleet-report.json');
    writeFileSync(reportFile, fleet.reportText);
    const summary = await fixture.session.loadReport(reportFile, requester);
    const reports: number[] = [];
    const counts: number[] = [];
    let last = { done: 0, total: 0 };
    const logStart = fixture.logs.length;
    const started = performance.now();
    const plan = await fixture.session.propose({ reportId: summary.reportId, workloads: fleet.refs }, requester, undefined, (progress) => {
      reports.push(performance.now());
      counts.push(progress.done);
      last = progress;
    });
    const ms = performance.now() - started;
    if (last.done !== count || last.total !== count) throw new Error(`the last progress report was ${last.done} / ${last.total}, expected ${count} / ${count}`);
    // The call's start, every report, and its return: a silent stretch at either end counts too.
    const times = [started, ...reports, started + ms];
    const gaps = times.slice(1).map((time, index) => time - (times[index] as number));
    return {
      workloads: count,
      latency_ms: latencyMs,
      concurrency: proposeConcurrency(fixture.settings),
      ms: round(ms, 0),
      objects: plan.objects.length,
      blocked: plan.blocked.length,
      progress_reports: reports.length,
      max_progress_gap_ms: round(Math.max(...gaps), 0),
      // -1: the longest stretch is the last one, from the last report to the call's return.
      max_gap_ends_at: counts[gaps.indexOf(Math.max(...gaps))] ?? -1,
      end_after_last_report_ms: round(ms - ((reports.at(-1) ?? started) - started), 0),
      kubectl_processes: countKubectl(fixture.logs.slice(logStart)),
    };
  } finally {
    await fixture.close();
  }
}
