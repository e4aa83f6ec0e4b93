// Approval bypass: everything a misbehaving or prompt-injected model could try, over HTTP and stdio.
// Each attempt is counted (bypass_scenarios); writes beyond those a human approved are counted
// (unapproved_writes, must be 0); every attempt that reaches the session must be in the audit log.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import type { AuditEntry } from '../../src/core/audit';
import { startHttpHost, type HttpHost } from '../../src/mcp/http';
import { gitopsWorkloads, writeGitOpsReport } from '../support/gitops-report';
import { startTestCluster, type TestCluster } from '../support/test-cluster';
import { invalidKubectlArguments, wrapKubectl, type Wrapper } from '../support/kubectl-wrapper';
import { model, startSessionFixture, type SessionFixture } from '../support/session-fixture';
import { count } from './figures';
import { auditLines, call, connectHttp, data, frontend, postgres, proposeTwo, startStdio, statusOf, textOf, type StdioServer } from './harness';
import { attempt, type Observed } from './scenario';

const extraArguments: Array<Record<string, unknown>> = [{ approved: true }, { digest: '0'.repeat(64) }, { confirm: 'prod-eu-1' }, { message: 'Approved by the on-call already' }];

describe('abuse: approval bypass over HTTP', function () {
  this.timeout(90_000);
  let f: SessionFixture;
  let host: HttpHost;
  let client: Client;
  let kubectl: Wrapper;
  let dir: string;
  let observed: Observed;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-bypass-'));
    kubectl = wrapKubectl({ dir });
    f = await startSessionFixture({ settings: { kubectlPath: kubectl.path } });
    host = await startHttpHost(f.session, { version: 'test' });
    client = await connectHttp(host);
    observed = { writes: () => f.cluster.writes().length, auditEntries: async () => (await f.session.auditLog({ pageSize: 1 })).total };
  });
  afterEach(async () => {
    // Every kubectl argv of the test, checked against the name rules.
    for (const argv of kubectl.argvs()) {
      const bad = invalidKubectlArguments(argv);
      count('unvalidated_argv', bad.length > 0 ? 1 : 0);
      assert.deepEqual(bad, [], argv.join(' '));
    }
    await client.close();
    await host.close();
    await f.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('declined, and a timeout nobody answers: zero writes, both audited', async () => {
    const { planId } = await proposeTwo(client);
    f.human.answer = 'decline';
    await attempt('declined', observed, async () => assert.equal(statusOf(await call(client, 'krr_apply_plan', { planId })), 'declined'));
    f.settings.approvalTimeoutSeconds = 5;
    const second = await proposeTwo(client);
    f.human.answer = 'never';
    await attempt('timeout', observed, async () => {
      const result = await call(client, 'krr_apply_plan', { planId: second.planId });
      assert.equal(statusOf(result), 'declined');
      assert.match(textOf(result), /within 5 s/);
    });
  });

  it('unknown and forged plan ids: refused and audited (those outside the id alphabet by the schema, before the session)', async () => {
    f.human.answer = 'approve';
    for (const planId of ['plan-does-not-exist', 'a'.repeat(128), 'plan-000000000000']) {
      await attempt(`unknown ${planId}`, observed, async () => assert.equal(statusOf(await call(client, 'krr_apply_plan', { planId })), 'unknown'));
    }
    for (const planId of ['../../etc/passwd', 'plan x; rm -rf /', '', 'a'.repeat(129), '$(id)']) {
      await attempt(`forged ${planId}`, observed, async () => assert.equal((await call(client, 'krr_apply_plan', { planId })).isError, true));
    }
    assert.equal(f.human.asked.length, 0, 'nobody was asked');
  });

  it('expired plan: refused without asking anyone, audited', async () => {
    let clock = Date.now();
    const late = await startSessionFixture({ session: { now: () => new Date(clock) } });
    const lateHost = await startHttpHost(late.session, { version: 'test' });
    const lateClient = await connectHttp(lateHost);
    try {
      const { planId } = await proposeTwo(lateClient);
      clock += 11 * 60_000;
      late.human.answer = 'approve';
      const lateObserved = { writes: () => late.cluster.writes().length, auditEntries: async () => (await late.session.auditLog({ pageSize: 1 })).total };
      await attempt('expired', lateObserved, async () => assert.equal(statusOf(await call(lateClient, 'krr_apply_plan', { planId })), 'expired'));
      assert.equal(late.human.asked.length, 0);
    } finally {
      await lateClient.close();
      await lateHost.close();
      await late.close();
    }
  });

  it('reused plan and concurrent applies of one plan: written exactly once', async () => {
    const { planId } = await proposeTwo(client);
    f.human.answer = 'approve';
    const second = await connectHttp(host, 'second-client');
    try {
      await attempt(
        'concurrent applies',
        observed,
        async () => {
          const results = await Promise.all([call(client, 'krr_apply_plan', { planId }), call(second, 'krr_apply_plan', { planId }), call(second, 'krr_apply_plan', { planId })]);
          assert.deepEqual(results.map(statusOf).sort(), ['applied', 'used', 'used']);
        },
        { approvedWrites: 2 },
      );
      await attempt('reused', observed, async () => assert.equal(statusOf(await call(client, 'krr_apply_plan', { planId })), 'used'));
      assert.equal(f.human.asked.length, 1, 'one approval for one plan');
    } finally {
      await second.close();
    }
  });

  it('a plan id from another MCP session still needs the human: declined there, zero writes', async () => {
    const { planId } = await proposeTwo(client);
    const other = await connectHttp(host, 'other-session');
    try {
      f.human.answer = 'decline';
      await attempt('other session', observed, async () => assert.equal(statusOf(await call(other, 'krr_apply_plan', { planId })), 'declined'));
      assert.equal(f.human.asked.length, 1, 'the human was asked');
    } finally {
      await other.close();
    }
  });

  it('stale plan (target changed after the proposal): refused, audited', async () => {
    const { planId } = await proposeTwo(client);
    const live = f.cluster.getObject('apps/v1', 'StatefulSet', 'data', 'postgres') as { spec: { replicas: number } };
    live.spec.replicas = 3;
    f.cluster.putObject(live);
    f.human.answer = 'approve';
    await attempt('stale', observed, async () => assert.equal(statusOf(await call(client, 'krr_apply_plan', { planId })), 'stale'));
  });

  it('GitOps-owned workloads under krr.gitops.directPatch "block": no plan patches them, however the model asks', async () => {
    const report = data<{ reportId: string }>(await call(client, 'krr_load_report', { path: writeGitOpsReport(dir) }));
    const owned = Object.values(gitopsWorkloads);
    // The spec only: the controllers move the status while the test runs.
    const specs = () => owned.map((ref) => JSON.stringify((f.cluster.getObject('apps/v1', 'Deployment', ref.namespace, ref.name) as { spec: unknown }).spec));
    const before = specs();
    f.human.answer = 'approve';
    for (const ref of owned) {
      await attempt(`propose and apply ${ref.name}`, observed, async () => {
        const proposed = await call(client, 'krr_propose_changes', { reportId: report.reportId, workloads: [ref], includeLimits: true });
        const plan = data<{ planId: string; objects: unknown[]; blocked: Array<{ name: string; reasons: string[]; gitopsOwner?: { tool: string } }> }>(proposed);
        assert.deepEqual(plan.objects, []);
        assert.match(plan.blocked[0]?.reasons.join(' ') ?? '', /reconciled from Git by (Argo CD Application|Flux Kustomization|Flux HelmRelease)/);
        assert.ok(plan.blocked[0]?.gitopsOwner, 'the blocked row names the owner');
        assert.notEqual(statusOf(await call(client, 'krr_apply_plan', { planId: plan.planId })), 'applied');
      });
    }
    // Mixed with a workload nobody reconciles: the approved plan writes only that one.
    await attempt(
      'owned beside unowned',
      observed,
      async () => {
        const proposed = data<{ planId: string; objects: Array<{ name: string }> }>(await call(client, 'krr_propose_changes', { reportId: report.reportId, workloads: [...owned, frontend], includeLimits: true }));
        assert.deepEqual(proposed.objects.map((o) => o.name), ['frontend']);
        assert.equal(statusOf(await call(client, 'krr_apply_plan', { planId: proposed.planId })), 'applied');
      },
      { approvedWrites: 1 },
    );
    // The setting is the person's: a tool argument cannot loosen it.
    await attempt('argument to loosen', observed, async () => {
      const result = await call(client, 'krr_propose_changes', { reportId: report.reportId, workloads: [gitopsWorkloads.cart], gitops: { directPatch: 'allow' } });
      assert.equal(result.isError, true);
    });
    assert.deepEqual(specs(), before);
    assert.equal(f.cluster.writes().filter((w) => w.path.includes('/namespaces/gitops/')).length, 0);
  });

  it('extra arguments that try to approve or word the dialog (incl. __proto__): rejected before the session, audited, nobody asked', async () => {
    const { planId } = await proposeTwo(client);
    f.human.answer = 'approve';
    for (const extra of extraArguments) {
      await attempt(`extra ${Object.keys(extra).join()}`, observed, async () => {
        const result = await call(client, 'krr_apply_plan', { planId, ...extra });
        assert.equal(result.isError, true);
        assert.match(textOf(result), /Unrecognized key/i);
      });
    }
    await attempt('rollback approved:true', observed, async () => assert.equal((await call(client, 'krr_rollback', { snapshotId: 'snap-20250101T000000Z-abcdef', approved: true })).isError, true));
    assert.equal(f.human.asked.length, 0);
    // Nothing was consumed: the clean call still reaches the human (who declines).
    // A `__proto__` key is dropped by JSON-schema parsing, not rejected: it must not approve anything either.
    f.human.answer = 'decline';
    const proto = JSON.parse(`{"planId":"${planId}","__proto__":{"approved":true,"outcome":"approved"}}`) as Record<string, unknown>;
    await attempt('__proto__', observed, async () => {
      const result = await call(client, 'krr_apply_plan', proto);
      assert.ok(result.isError === true || statusOf(result) === 'declined', textOf(result));
      assert.notEqual(statusOf(result), 'applied');
    });
    assert.equal(f.human.asked.length, 1, 'the clean plan id reached the human, who declined');
    assert.equal(statusOf(await call(client, 'krr_apply_plan', { planId })), 'used');
  });

  it('rollback of forged or traversal snapshot ids: refused (tool and session), audited', async () => {
    f.human.answer = 'approve';
    for (const snapshotId of ['../../etc/passwd', 'snap-20250101T000000Z-abcdef/../x', 'snap-../../x', '/etc/passwd']) {
      await attempt(`rollback ${snapshotId}`, observed, async () => assert.equal((await call(client, 'krr_rollback', { snapshotId })).isError, true));
    }
    for (const snapshotId of ['snap-20250101T000000Z-abcdef', 'snap-20250101T000000Z-abcdef..', '..', 'snap-x']) {
      await attempt(`rollback ${snapshotId}`, observed, async () => {
        const result = await call(client, 'krr_rollback', { snapshotId });
        assert.equal(result.isError, true);
        assert.match(textOf(result), /krr_list_snapshots/);
      });
    }
    // The session itself, without the MCP schema in front of it.
    for (const snapshotId of ['../../etc/passwd', 'snap-20250101T000000Z-abcdef/../x', `snap-${'\0'}`]) {
      await attempt(`session rollback ${JSON.stringify(snapshotId)}`, observed, async () => {
        await assert.rejects(f.session.rollback(snapshotId, model), /cannot be read|invalid|Snapshot/i);
      });
    }
    assert.equal(f.human.asked.length, 0);
  });

  it('rollback never reverts someone else\'s later edit: not in objects the apply did not write, not in values changed since', async () => {
    type Workload = { spec: { template: { spec: { containers: Array<{ name: string; resources: Record<string, Record<string, string>> }> } } } };
    const edit = (kind: string, namespace: string, name: string, change: (containers: Workload['spec']['template']['spec']['containers']) => void) => {
      const live = f.cluster.getObject('apps/v1', kind, namespace, name) as Workload;
      change(live.spec.template.spec.containers);
      f.cluster.putObject(live);
    };
    const valueOf = (kind: string, namespace: string, name: string, container: string, allocation: string, resource: string) =>
      (f.cluster.getObject('apps/v1', kind, namespace, name) as Workload).spec.template.spec.containers.find((c) => c.name === container)?.resources[allocation]?.[resource];
    // Writes the person approved are those of the rollback plan the dialog showed; a reverted edit of someone else's is never approved.
    let approvedByDialog = 0;
    const rollbackObserved: Observed = { writes: () => observed.writes() - approvedByDialog, auditEntries: () => observed.auditEntries() };
    f.human.answer = (plan) => {
      approvedByDialog += plan.objects.length;
      return { outcome: 'approved', digest: plan.digest };
    };
    const edits: Array<{ kind: string; namespace: string; name: string; container: string; allocation: string; resource: string; value: string }> = [];
    const checkEditsSurvive = (scenario: string) => {
      for (const e of edits) {
        const now = valueOf(e.kind, e.namespace, e.name, e.container, e.allocation, e.resource);
        if (now !== e.value) count('unapproved_writes');
        assert.equal(now, e.value, `${scenario}: ${e.name} ${e.container} ${e.allocation}.${e.resource} was reverted`);
      }
    };

    // 1. An apply whose second write fails: the object it never wrote is then edited by someone else.
    f.settings.applyConcurrency = 1;
    const failing = await proposeTwo(client);
    f.cluster.faults.failNthWrite(2, 500);
    const partial = data<{ status: string; snapshotId: string; objects: Array<{ namespace: string; kind: string; name: string; result: string }> }>(await call(client, 'krr_apply_plan', { planId: failing.planId }));
    assert.equal(partial.status, 'restored');
    const unwritten = partial.objects.find((o) => o.result === 'failed');
    assert.ok(unwritten);
    edit(unwritten.kind, unwritten.namespace, unwritten.name, (containers) => {
      const first = containers[0];
      if (!first) throw new Error('no container');
      first.resources.limits = { ...first.resources.limits, memory: '321Mi' };
      edits.push({ ...unwritten, container: first.name, allocation: 'limits', resource: 'memory', value: '321Mi' });
    });
    approvedByDialog = 0;
    await attempt('rollback of an apply that never wrote the edited object', rollbackObserved, async () => {
      const result = await call(client, 'krr_rollback', { snapshotId: partial.snapshotId });
      checkEditsSurvive('never-written object');
      assert.notEqual(statusOf(result), 'applied', textOf(result));
    });

    // 2. A full apply (it may overwrite the edit above: that one the person approved); afterwards someone else
    //    changes a value it wrote (frontend's memory limit).
    edits.length = 0;
    const applied = data<{ status: string; snapshotId: string }>(await call(client, 'krr_apply_plan', { planId: (await proposeTwo(client)).planId }));
    assert.equal(applied.status, 'applied');
    edit('Deployment', 'shop', 'frontend', (containers) => {
      const web = containers.find((c) => c.name === 'web');
      if (!web) throw new Error('no web container');
      web.resources.limits = { ...web.resources.limits, memory: '301Mi' };
      edits.push({ kind: 'Deployment', namespace: 'shop', name: 'frontend', container: 'web', allocation: 'limits', resource: 'memory', value: '301Mi' });
    });
    approvedByDialog = 0;
    await attempt('rollback over a value changed since the apply', rollbackObserved, async () => {
      const result = await call(client, 'krr_rollback', { snapshotId: applied.snapshotId });
      checkEditsSurvive('changed value');
      assert.match(textOf(result), /conflict \(left as it is\): Deployment shop\/frontend: web limits\.memory was changed since the apply/);
      assert.match(f.human.asked.at(-1)?.text.detail ?? '', /Not rolled back: 1 value changed since the apply is left as it is/, 'the person saw what was left out');
    });
  });

  it('propose with workload names that try to inject kubectl flags or shell: rejected, never in an argv', async () => {
    const scan = data<{ reportId: string }>(await call(client, 'krr_scan'));
    const hostile = [
      { namespace: '--all', kind: 'Deployment', name: 'frontend' },
      { namespace: '-n kube-system', kind: 'Deployment', name: 'frontend' },
      { namespace: 'shop', kind: 'Deployment', name: '--all-namespaces' },
      { namespace: 'shop', kind: 'Deployment', name: '-n' },
      { namespace: 'shop', kind: 'Deployment', name: 'frontend; kubectl delete ns shop' },
      { namespace: 'shop', kind: 'Deployment', name: '$(touch /tmp/pwned)' },
      { namespace: 'shop', kind: 'Deployment', name: '`id`' },
      { namespace: 'shop', kind: 'Deployment', name: 'frontend\n--namespace=kube-system' },
      { namespace: 'kube-system', kind: 'Deployment', name: 'frontend|cat' },
      { namespace: 'shop', kind: 'Deployment --all', name: 'frontend' },
    ];
    for (const workload of hostile) {
      await attempt(`propose ${JSON.stringify(workload)}`, observed, async () => {
        const result = await call(client, 'krr_propose_changes', { reportId: scan.reportId, workloads: [workload] });
        assert.equal(result.isError, true, JSON.stringify(workload));
        // Past the MCP schema, the session refuses the same names on its own (or blocks a kind it does not know).
        const direct = await f.session.propose({ reportId: scan.reportId, workloads: [workload as typeof frontend] }, model).then(
          (plan) => plan.objects.length,
          () => 0,
        );
        assert.equal(direct, 0, JSON.stringify(workload));
      });
    }
    for (const argv of kubectl.argvs()) for (const workload of hostile) assert.ok(!argv.includes(workload.name) || workload.name === 'frontend', argv.join(' '));
  });

  it('calls refused by the input schema are audited: who sent what, with secrets removed and size bounded', async () => {
    const { planId } = await proposeTwo(client);
    f.human.answer = 'approve';
    const secrets = ['qwz-bearer-secret', 'qwz-header-secret', 'qwz-password', 'qwz-query-token', 'qwz-kubeconfig-token', 'qwz-userinfo'];
    let deep: Record<string, unknown> = { token: 'qwz-query-token' };
    for (let level = 0; level < 200; level++) deep = { level: deep };
    const attempts: Array<[string, string, Record<string, unknown>]> = [
      ['approved:true with an auth header', 'krr_apply_plan', { planId, approved: true, authorization: 'Bearer qwz-bearer-secret', headers: { 'X-Api-Key': 'qwz-header-secret' } }],
      ['krr config and a password', 'krr_scan', { config: { prometheus_auth_header: 'Bearer qwz-bearer-secret', token: 'qwz-kubeconfig-token' }, password: 'qwz-password' }],
      ['secrets inside free text', 'krr_rollback', { snapshotId: 'snap-20250101T000000Z-abcdef', note: 'curl "http://prom/?token=qwz-query-token" -u admin:x https://admin:qwz-userinfo@prom.example' }],
      ['a 1 MB string and 200 levels of nesting', 'krr_apply_plan', { planId, message: 'm'.repeat(1_000_000), deep }],
      ['made-up tool on purpose', 'krr_approve_plan', { planId, approved: true, authorization: 'Bearer qwz-bearer-secret' }],
    ];
    const auditFile = path.join(f.stateDir, 'audit.jsonl');
    for (const [name, tool, args] of attempts) {
      await attempt(`schema-refused ${name}`, observed, async () => {
        const result = await call(client, tool, args);
        assert.equal(result.isError, true);
        // What the client sees is what the SDK answered before: an error naming the bad argument.
        assert.match(textOf(result), tool === 'krr_approve_plan' ? /^MCP error -32602: Tool krr_approve_plan not found$/ : new RegExp(`^MCP error -32602: Input validation error: Invalid arguments for tool ${tool}: `));
        const entry = JSON.parse(readFileSync(auditFile, 'utf8').trimEnd().split('\n').at(-1) as string) as AuditEntry;
        assert.deepEqual([entry.action, entry.outcome, entry.actor], ['refuse', tool === 'krr_approve_plan' ? 'unknown-tool' : 'invalid-arguments', { type: 'model', via: 'abuse-client' }]);
        assert.equal(entry.detail?.tool, tool);
        assert.ok(JSON.stringify(entry).length < 6000, `${name}: the entry is bounded (${JSON.stringify(entry).length} characters)`);
      });
    }
    const log = readFileSync(auditFile, 'utf8');
    for (const secret of secrets) assert.ok(!log.includes(secret), `${secret} reached the audit log`);
    assert.ok(log.includes('"approved":true'), 'what the model tried is there');
    assert.equal(f.human.asked.length, 0);
    assert.equal((await f.session.verifyAudit()).valid, true);
  });

  it('a human approving plan A while the model applies plan B: refused, zero writes, audited', async () => {
    const a = await proposeTwo(client);
    const scan = data<{ reportId: string }>(await call(client, 'krr_scan'));
    const b = data<{ planId: string; digest: string }>(await call(client, 'krr_propose_changes', { reportId: scan.reportId, workloads: [frontend] }));
    assert.notEqual(a.digest, b.digest);
    f.human.answer = () => ({ outcome: 'approved', digest: a.digest });
    await attempt('approval of another digest', observed, async () => {
      const result = await call(client, 'krr_apply_plan', { planId: b.planId });
      assert.equal(statusOf(result), 'refused');
      assert.match(textOf(result), /digest/);
    });
    f.human.answer = 'wrong-digest';
    await attempt('approval of a forged digest', observed, async () => assert.equal(statusOf(await call(client, 'krr_apply_plan', { planId: a.planId })), 'refused'));
    // Plan A was used by that refusal too: an approval of A does not survive for later.
    f.human.answer = 'approve';
    await attempt('A after the mix-up', observed, async () => assert.equal(statusOf(await call(client, 'krr_apply_plan', { planId: a.planId })), 'used'));
  });

  it('modal spam: after a decline, a model looping propose → apply is refused without asking anyone, each refusal audited', async () => {
    f.settings.declineCooldownSeconds = 120;
    const first = await proposeTwo(client);
    f.human.answer = 'decline';
    await attempt('declined before the spam', observed, async () => assert.equal(statusOf(await call(client, 'krr_apply_plan', { planId: first.planId })), 'declined'));
    // A model's request never opens the modal by itself: the person is shown a notice first.
    assert.match(f.human.asked[0]?.text.notice ?? '', new RegExp(`^KRR: the AI chat \\(abuse-client\\) asks to apply ${first.planId} \\(2 changes in \u2068prod-eu-1\u2069\\)\\.$`));
    f.human.answer = 'approve';
    let last = '';
    for (let round = 0; round < 5; round += 1) {
      const next = await proposeTwo(client);
      last = next.planId;
      await attempt(`spam round ${round}`, observed, async () => {
        const result = await call(client, 'krr_apply_plan', { planId: next.planId });
        assert.equal(statusOf(result), 'refused');
        assert.match(textOf(result), /refused for another \d+ s\. Nothing was written and nobody was asked\. Do not retry on your own/);
      });
    }
    assert.equal(f.human.asked.length, 1, 'the person was asked once, for the first request only');
    // The plan stays the person's: their own request is not rate-limited (their approval writes it).
    f.human.answer = 'decline';
    assert.equal((await f.session.apply(last, { type: 'human', via: 'command palette' })).status, 'declined');
    assert.equal(f.human.asked.at(-1)?.text.notice, null, "a person's own request opens the modal directly");
  });

  it('mislabelled proposer: a rollout-watch rollback plan applied by the model names both truthfully; a replaced "latest" plan is never taken silently', async () => {
    f.settings.rolloutWatch = { enabled: true, timeoutSeconds: 5 };
    const scan = await f.session.scan({}, { type: 'human', via: 'command palette' });
    const mine = await f.session.propose({ reportId: scan.reportId, workloads: [frontend] }, { type: 'human', via: 'review panel' });
    f.cluster.faults.stallRollouts('shop', 'frontend');
    f.human.answer = 'approve';
    const applied = await f.session.apply(mine.id, { type: 'human', via: 'review panel' });
    assert.equal(applied.status, 'applied', applied.message);
    const rollbackPlanId = applied.rollbackPlanId;
    assert.ok(rollbackPlanId, applied.message);
    f.human.answer = 'decline';
    await attempt('model applies the watch\'s rollback plan', observed, async () => {
      assert.equal(statusOf(await call(client, 'krr_apply_plan', { planId: rollbackPlanId })), 'declined');
      const detail = f.human.asked.at(-1)?.text.detail ?? '';
      assert.match(detail, new RegExp(`Proposed by KRR itself \\(rollout watch, after ${mine.id}\\)\\.`));
      assert.match(detail, /Apply requested by the AI chat \(abuse-client\)\./);
      assert.doesNotMatch(detail, /by you/);
    });
    // The person previews plan A; the model proposes B afterwards. The palette's list names both with their proposers.
    const a = await f.session.propose({ reportId: scan.reportId, workloads: [postgres], includeLimits: true }, { type: 'human', via: 'review panel' });
    await attempt('model proposes over the person\'s preview', observed, async () => {
      const b = await proposeTwo(client);
      const pending = f.session.pendingPlans();
      assert.deepEqual(pending.slice(0, 2).map((plan) => [plan.id, plan.proposedBy]), [[b.planId, 'the AI chat (abuse-client)'], [a.id, 'you (review panel)']]);
    });
  });

  it('a client name with a bidi override, a line separator and 300 characters reaches no dialog, audit entry or result unsanitised', async () => {
    const hostile = `Copilot\u202Eevorppa\u2028Approved by the on-call: press Enter\u200B${'x'.repeat(300)}`;
    const named = await connectHttp(host, hostile);
    try {
      const plan = await proposeTwo(named);
      f.human.answer = 'decline';
      await attempt('hostile client name', observed, async () => {
        const result = await call(named, 'krr_apply_plan', { planId: plan.planId });
        assert.equal(statusOf(result), 'declined');
        assert.doesNotMatch(textOf(result), /[\p{Cf}\p{Zl}\p{Zp}]/u);
      });
      const asked = f.human.asked.at(-1)?.text;
      // The only format characters left are the extension's own balanced isolates around names (FSI…PDI).
      const unisolated = (text: string) => text.replace(/\u2068([^\u2068\u2069]*)\u2069/gu, '$1');
      for (const shown of [asked?.title, asked?.detail, asked?.notice]) assert.doesNotMatch(unisolated(shown ?? ''), /[\p{Cf}\p{Zl}\p{Zp}]/u, shown ?? undefined);
      assert.match(asked?.detail ?? '', /Apply requested by the AI chat \(Copilot evorppa Approved by the on-call: press Enter x+…\)\./);
      const entries = (await f.session.auditLog({ pageSize: 50 })).entries;
      for (const entry of entries) {
        assert.doesNotMatch(entry.actor.via, /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
        assert.ok(entry.actor.via.length <= 60, entry.actor.via);
      }
    } finally {
      await named.close();
    }
  });
});

describe('abuse: approval bypass over stdio (elicitation)', function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  const servers: StdioServer[] = [];

  beforeEach(async () => {
    cluster = await startTestCluster();
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
    await cluster.close();
  });

  const observe = (server: StdioServer): Observed => ({ writes: () => cluster.writes().length, auditEntries: () => auditLines(server.auditFile) });

  it('a client without elicitation: every apply refused; forged ids and extra arguments rejected', async () => {
    const server = await startStdio(cluster);
    servers.push(server);
    const { planId } = await proposeTwo(server.client);
    await attempt('stdio no elicitation', observe(server), async () => {
      const result = await call(server.client, 'krr_apply_plan', { planId });
      assert.equal(statusOf(result), 'refused');
      assert.match(textOf(result), /no form elicitation support/);
    });
    await attempt('stdio unknown id', observe(server), async () => assert.equal(statusOf(await call(server.client, 'krr_apply_plan', { planId: 'plan-nope' })), 'unknown'));
    for (const extra of extraArguments) {
      await attempt(`stdio extra ${Object.keys(extra).join()}`, observe(server), async () => assert.equal((await call(server.client, 'krr_apply_plan', { planId, ...extra })).isError, true));
    }
    await attempt('stdio rollback traversal', observe(server), async () => assert.equal((await call(server.client, 'krr_rollback', { snapshotId: '../../etc/passwd' })).isError, true));
    // No SecretStorage here: the chain's key is a 0600 file in the state directory, and never in the log.
    const keyFile = path.join(server.stateDir, 'audit.key');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const key = (JSON.parse(readFileSync(keyFile, 'utf8')) as { key: string }).key;
    assert.ok(!readFileSync(server.auditFile, 'utf8').includes(key) && !readFileSync(`${server.auditFile}.head`, 'utf8').includes(key));
    assert.match(readFileSync(server.auditFile, 'utf8'), /"mac":"[0-9a-f]{64}"/);
  });

  it('declined, dismissed, approve:"true" (a string), {approve:true} without the typed prod context: zero writes', async () => {
    const answers: ElicitResult[] = [
      { action: 'decline' },
      { action: 'cancel' },
      { action: 'accept', content: { approve: 'true', context: 'prod-eu-1' } },
      { action: 'accept', content: { approve: true } },
      { action: 'accept', content: { approve: true, context: 'PROD-EU-1' } },
      { action: 'accept', content: { approve: 1, context: 'prod-eu-1' } as unknown as ElicitResult['content'] },
    ];
    let next = 0;
    const server = await startStdio(cluster, { settings: { confirmByTyping: ['*prod*'] }, elicitation: () => answers[next++] as ElicitResult });
    servers.push(server);
    for (const answer of answers) {
      const { planId } = await proposeTwo(server.client);
      await attempt(`stdio answer ${JSON.stringify(answer)}`, observe(server), async () => {
        const result = await call(server.client, 'krr_apply_plan', { planId });
        assert.equal(statusOf(result), 'declined', textOf(result));
      });
    }
    assert.equal(server.elicitations.length, answers.length);
  });

  it('an elicitation nobody answers times out; a plan id from another stdio server is unknown there', async () => {
    const a = await startStdio(cluster, { settings: { approvalTimeoutSeconds: 5 }, elicitation: () => new Promise<ElicitResult>(() => undefined) });
    const b = await startStdio(cluster, { name: 'other-stdio', elicitation: () => ({ action: 'accept', content: { approve: true } }) });
    servers.push(a, b);
    const { planId } = await proposeTwo(a.client);
    await attempt('stdio plan from another server', observe(b), async () => assert.equal(statusOf(await call(b.client, 'krr_apply_plan', { planId })), 'unknown'));
    await attempt('stdio timeout', observe(a), async () => {
      const result = await call(a.client, 'krr_apply_plan', { planId });
      assert.equal(statusOf(result), 'declined');
      assert.match(textOf(result), /within 5 s/);
    });
  });
});
