// Trials over MCP: the standalone server (`krr-mcp serve --stdio`, from source) with the SDK's Client over a real stdio
// pipe, against the real control plane (its node simulator resizes pods in place as a 1.33 kubelet does). A trial
// starts only after a person answers the elicitation; the server's own watch reverts it at its window's end.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, ElicitRequest, ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { withoutIsolates } from '../../src/core/text';
import { approveAll, ModernClient, type RpcReply } from '../support/modern-client';
import { krrStandIn, resourcesOf } from '../support/session-fixture';
import { connectStdioClient, serveArgs, serverProcess, serveTransport } from '../support/stdio-client';
import { startTestCluster, type TestCluster } from '../support/test-cluster';
import { notYetTriable } from '../support/trial-ready';

const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };

type Answer = (request: ElicitRequest['params']) => Promise<ElicitResult> | ElicitResult;
type Resources = { requests?: Record<string, string>; limits?: Record<string, string> };
type Trial = { trialId: string; state: string; statuses: Array<{ name: string; phase: string }>; revert?: { pods: Array<{ name: string; result: string }> }; outcome?: { reason: string }; persistPlanId?: string };

function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

function structured<T = Record<string, unknown>>(result: CallToolResult): T {
  assert.ok(result.structuredContent, textOf(result));
  return result.structuredContent as T;
}

/** A 2026-07-28 reply's tool result (a JSON-RPC error fails the test). */
function resultOf(reply: RpcReply): CallToolResult {
  assert.equal(reply.error, undefined, JSON.stringify(reply.error));
  return reply.result as unknown as CallToolResult;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('mcp trials over stdio: krr_propose_trial → krr_apply_plan (elicitation) → krr_trial_status / krr_revert_trial / krr_persist_trial', function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let dir: string;
  let client: Client | undefined;
  let modern: ModernClient | undefined;

  beforeEach(async () => {
    cluster = await startTestCluster();
    dir = mkdtempSync(path.join(tmpdir(), 'krr-trial-mcp-'));
  });
  afterEach(async () => {
    await client?.close();
    await modern?.close();
    client = undefined;
    modern = undefined;
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function settingsFile(settings: Record<string, unknown>): string {
    const file = path.join(dir, 'settings.json');
    // A 10 s window and a 1 s watch: the whole trial fits in a test.
    writeFileSync(file, JSON.stringify({ confirmByTyping: [], declineCooldownSeconds: 0, trial: { windowSeconds: 10, pollSeconds: 1, maxPods: 10 }, ...settings }));
    return file;
  }

  function flags(settings: Record<string, unknown> = {}): string[] {
    return ['--state-dir', path.join(dir, 'state'), '--kubeconfig', cluster.kubeconfigPath, '--krr', krrStandIn, '--kubectl', 'kubectl', '--settings', settingsFile(settings)];
  }

  async function start(options: { elicitation?: Answer; settings?: Record<string, unknown> } = {}) {
    const started = await connectStdioClient(serveTransport(flags(options.settings), path.join(dir, 'home')), 'trial-test-client', options.elicitation);
    client = started.client;
    return started;
  }

  async function call(name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
    assert.ok(client);
    return (await client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;
  }

  /** The seed's pods may still be starting after the plane's reset: ask again while none is running and ready. */
  async function proposeTrial(propose: (args: Record<string, unknown>) => Promise<CallToolResult>, extra: Record<string, unknown> = {}): Promise<CallToolResult> {
    const scan = structured<{ reportId: string }>(await propose({ tool: 'krr_scan' }));
    for (let attempt = 0; ; attempt++) {
      const result = await propose({ tool: 'krr_propose_trial', reportId: scan.reportId, ...frontend, ...extra });
      if (!(result.isError === true && notYetTriable.test(textOf(result))) || attempt >= 40) return result;
      await sleep(500);
    }
  }

  const viaClient = ({ tool, ...args }: Record<string, unknown>) => call(String(tool), args);

  function pod(name: string): { containers: Array<{ name: string; resources: Resources }> } {
    const object = cluster.getObject('v1', 'Pod', 'shop', name) as { spec: { containers: Array<{ name: string; resources: Resources }> } } | undefined;
    assert.ok(object, `pod shop/${name}`);
    return object.spec;
  }

  const webOf = (name: string) => pod(name).containers.find((container) => container.name === 'web')?.resources;

  async function trialStatus(trialId?: string): Promise<CallToolResult> {
    return call('krr_trial_status', trialId === undefined ? {} : { trialId });
  }

  it('a person approves the trial in the elicitation form; it runs, the server’s watch reverts it at the end of its window, it passed; the persist plan carries the trial into its dialog', async () => {
    const { elicitations } = await start({ elicitation: () => ({ action: 'accept', content: { approve: true } }) });
    const proposed = await proposeTrial(viaClient);
    assert.equal(proposed.isError, undefined, textOf(proposed));
    const plan = structured<{ planId: string; digest: string; target: string; pods: Array<{ name: string; containers: Array<{ name: string; changes: Array<{ allocation: string; resource: string; to: string }> }> }>; runningPods: number; windowSeconds: number; expiresAt: string }>(proposed);
    assert.equal(plan.target, 'trial');
    assert.equal(plan.pods.length, 1, 'one pod by default');
    assert.ok(plan.runningPods >= 1);
    assert.equal(plan.windowSeconds, 10);
    assert.match(textOf(proposed), new RegExp(`Trial plan ${plan.planId} \\(digest ${plan.digest.slice(0, 12)}`));
    assert.match(textOf(proposed), /1 of \d+ running/);
    assert.match(textOf(proposed), /call krr_apply_plan with this planId/);
    assert.match(textOf(proposed), /You cannot approve it/);
    const trialPod = plan.pods[0]?.name ?? '';
    const before = webOf(trialPod);
    const tried = plan.pods[0]?.containers[0]?.changes.find((change) => change.allocation === 'requests' && change.resource === 'memory')?.to;
    assert.ok(tried, 'the trial changes the memory request');
    assert.notEqual(before?.requests?.memory, tried);
    assert.equal(cluster.writes().length, 0, 'proposing writes nothing (the resizes are dry runs)');

    const applied = await call('krr_apply_plan', { planId: plan.planId });
    const outcome = structured<{ status: string; trialId: string }>(applied);
    assert.equal(outcome.status, 'applied', textOf(applied));
    assert.equal(outcome.trialId, plan.planId);
    assert.match(textOf(applied), /krr_trial_status/);
    assert.equal(elicitations.length, 1);
    assert.match(withoutIsolates(elicitations[0]?.message ?? ''), /^Try the recommendation on 1 running pod in prod-eu-1\?/);
    assert.match(elicitations[0]?.message ?? '', /Trial requested by the AI chat \(trial-test-client\)/);
    assert.match(elicitations[0]?.message ?? '', new RegExp(`Plan ${plan.planId} · digest ${plan.digest.slice(0, 12)}`));
    assert.equal(webOf(trialPod)?.requests?.memory, tried, 'the pod runs at the trial size');
    assert.deepEqual(resourcesOf(cluster, 'apps/v1', 'Deployment', 'shop', 'frontend').web, { requests: { cpu: '200m', memory: '256Mi' }, limits: { cpu: '500m', memory: '256Mi' } }, 'the template is not changed');

    const running = structured<{ trial: Trial }>(await trialStatus(outcome.trialId)).trial;
    assert.equal(running.state, 'running');
    assert.deepEqual(running.statuses.map((status) => status.name), [trialPod]);
    const listed = await trialStatus();
    assert.match(textOf(listed), new RegExp(`${plan.planId} · .*shop/frontend.* · 1 pod · running until`));

    // No tool call from here: the server's own watch (every krr.trial.pollSeconds) ends the trial and reverts the pod.
    const deadline = Date.now() + 30_000;
    while (webOf(trialPod)?.requests?.memory !== before?.requests?.memory && Date.now() < deadline) await sleep(500);
    assert.deepEqual(webOf(trialPod), before, 'the watch put the pod back at its template size');

    const ended = await trialStatus(outcome.trialId);
    const trial = structured<{ trial: Trial }>(ended).trial;
    assert.equal(trial.state, 'passed', textOf(ended));
    assert.deepEqual(trial.revert?.pods.map((entry) => entry.result), ['reverted']);
    assert.match(textOf(ended), /krr_persist_trial/);

    const persisted = await call('krr_persist_trial', { trialId: outcome.trialId });
    assert.equal(persisted.isError, undefined, textOf(persisted));
    const persistPlan = structured<{ planId: string; objects: Array<{ name: string }> }>(persisted);
    assert.deepEqual(persistPlan.objects.map((object) => object.name), ['frontend']);
    assert.match(textOf(persisted), new RegExp(`Tried first \\(trial ${outcome.trialId}\\)`));
    assert.equal(structured<{ trial: Trial }>(await trialStatus(outcome.trialId)).trial.persistPlanId, persistPlan.planId);

    const persistedApply = await call('krr_apply_plan', { planId: persistPlan.planId });
    assert.equal(structured<{ status: string }>(persistedApply).status, 'applied', textOf(persistedApply));
    assert.equal(elicitations.length, 2);
    assert.match(elicitations[1]?.message ?? '', new RegExp(`Tried first \\(trial ${outcome.trialId}\\)`), 'the dialog says the change was tried first');
    assert.equal((resourcesOf(cluster, 'apps/v1', 'Deployment', 'shop', 'frontend').web as Resources).requests?.memory, tried, 'the template now has the value the trial ran with');

    const audit = readFileSync(path.join(dir, 'state', 'audit.jsonl'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { action: string; outcome: string; planId?: string; actor: { type: string; via: string } });
    const approvals = audit.filter((entry) => entry.action === 'approve' && entry.planId === plan.planId);
    assert.deepEqual(approvals.map((entry) => entry.actor), [{ type: 'client', via: 'MCP elicitation by client trial-test-client 1.0.0' }]);
    assert.deepEqual(audit.filter((entry) => entry.action === 'trial' && entry.planId === plan.planId).map((entry) => entry.outcome), ['started', 'passed']);
    assert.deepEqual(audit.filter((entry) => entry.action === 'trial-revert').map((entry) => `${entry.outcome} by ${entry.actor.type}`), ['reverted by system']);
  });

  it('krr_revert_trial puts a running trial’s pods back at once, asking nobody; an ended trial is neither reverted again nor persisted', async () => {
    const { elicitations } = await start({ elicitation: () => ({ action: 'accept', content: { approve: true } }) });
    const proposed = await proposeTrial(viaClient, { windowSeconds: 600, pods: 2 });
    const plan = structured<{ planId: string; pods: Array<{ name: string }> }>(proposed);
    assert.equal(plan.pods.length, 2, textOf(proposed));
    const before = new Map(plan.pods.map((entry) => [entry.name, webOf(entry.name)]));
    const applied = await call('krr_apply_plan', { planId: plan.planId });
    const trialId = structured<{ trialId: string }>(applied).trialId;
    for (const entry of plan.pods) assert.notDeepEqual(webOf(entry.name), before.get(entry.name), 'resized for the trial');

    const reverted = await call('krr_revert_trial', { trialId });
    assert.equal(reverted.isError, undefined, textOf(reverted));
    const trial = structured<{ trial: Trial }>(reverted).trial;
    assert.equal(trial.state, 'reverted');
    assert.deepEqual(trial.revert?.pods.map((entry) => entry.result), ['reverted', 'reverted']);
    assert.match(trial.outcome?.reason ?? '', /reverted by the AI chat \(trial-test-client\)/);
    for (const entry of plan.pods) assert.deepEqual(webOf(entry.name), before.get(entry.name), `pod ${entry.name} is back at its template size`);
    assert.equal(elicitations.length, 1, 'reverting asks nobody');

    const again = await call('krr_revert_trial', { trialId });
    assert.equal(again.isError, true);
    assert.match(textOf(again), /has ended \(reverted\)/);
    const persisted = await call('krr_persist_trial', { trialId });
    assert.equal(persisted.isError, true);
    assert.match(textOf(persisted), /did not pass \(reverted/);
    const unknown = await call('krr_trial_status', { trialId: 'plan-000000000000' });
    assert.equal(unknown.isError, true);
    assert.match(textOf(unknown), /There is no trial plan-000000000000/);
  });

  it('no person, no trial: a client without elicitation can propose one, but krr_apply_plan is refused and no pod is resized', async () => {
    await start();
    const proposed = await proposeTrial(viaClient);
    assert.equal(proposed.isError, undefined, textOf(proposed));
    assert.match(textOf(proposed), /none can be asked in this session/);
    const plan = structured<{ planId: string; pods: Array<{ name: string }> }>(proposed);
    const trialPod = plan.pods[0]?.name ?? '';
    const before = webOf(trialPod);
    const applied = await call('krr_apply_plan', { planId: plan.planId });
    assert.equal(applied.isError, true);
    assert.equal(structured<{ status: string }>(applied).status, 'refused', textOf(applied));
    assert.match(textOf(applied), /no form elicitation support.*Nothing was resized/s);
    assert.deepEqual(webOf(trialPod), before, 'the pod keeps its resources');
    assert.equal(cluster.writes().length, 0);
    const listed = await trialStatus();
    assert.deepEqual(structured<{ trials: unknown[] }>(listed).trials, []);
    // A model cannot word or skip the approval: unknown keys are refused before anything runs.
    const sneaky = await call('krr_apply_plan', { planId: plan.planId, approved: true });
    assert.equal(sneaky.isError, true);
    assert.equal(cluster.writes().length, 0);
  });

  it('arguments are checked before the session sees them: pods ≥ 1, windowSeconds 10..86400, a DNS name, no unknown key', async () => {
    await start();
    const scan = structured<{ reportId: string }>(await call('krr_scan'));
    for (const bad of [{ pods: 0 }, { pods: 1.5 }, { windowSeconds: 5 }, { windowSeconds: 86_401 }, { name: 'Frontend; rm -rf /' }, { kind: 'Pod' }, { approve: true }]) {
      const result = await call('krr_propose_trial', { reportId: scan.reportId, ...frontend, ...bad });
      assert.equal(result.isError, true, JSON.stringify(bad));
    }
    // Beyond krr.trial.maxPods: the session's own bound, said in a sentence.
    const many = await call('krr_propose_trial', { reportId: scan.reportId, ...frontend, pods: 11 });
    assert.equal(many.isError, true);
    assert.match(textOf(many), /A trial takes 1 to 10 pods \(krr\.trial\.maxPods\)/);
    const job = await call('krr_propose_trial', { reportId: scan.reportId, namespace: 'batch', kind: 'CronJob', name: 'nightly-report' });
    assert.equal(job.isError, true);
    assert.equal(cluster.writes().length, 0);
  });

  it('2026-07-28: the trial plan is approved through the input request round of krr_apply_plan', async () => {
    const started = ModernClient.stdio(process.execPath, serveArgs(flags()), serverProcess(path.join(dir, 'home')), { name: 'modern-trial-client', version: '2.0.0', capabilities: { elicitation: { form: {} } } });
    modern = started.client;
    const viaModern = async ({ tool, ...args }: Record<string, unknown>) => resultOf(await started.client.callTool(String(tool), args));
    const proposed = await proposeTrial(viaModern);
    const plan = structured<{ planId: string; digest: string; pods: Array<{ name: string }> }>(proposed);
    assert.match(textOf(proposed), /approval form \(an input request\)/);
    const trialPod = plan.pods[0]?.name ?? '';
    const before = webOf(trialPod);
    const applied = resultOf(await started.client.callTool('krr_apply_plan', { planId: plan.planId }, approveAll()));
    assert.equal(structured<{ status: string }>(applied).status, 'applied', textOf(applied));
    assert.equal(started.client.rounds.length, 1);
    const form = started.client.rounds[0]?.inputRequests.approval;
    assert.match(withoutIsolates(form?.params.message ?? ''), /^Try the recommendation on 1 running pod in prod-eu-1\?/);
    assert.match(form?.params.message ?? '', new RegExp(`digest ${plan.digest.slice(0, 12)}`));
    assert.notDeepEqual(webOf(trialPod), before, 'resized after the answer came back with the retry');
    const reverted = resultOf(await started.client.callTool('krr_revert_trial', { trialId: plan.planId }));
    assert.equal(structured<{ trial: Trial }>(reverted).trial.state, 'reverted', textOf(reverted));
    assert.deepEqual(webOf(trialPod), before);
  });
});
