// krr.policy.onLimit "step": a recommendation beyond maxDecrease/maxIncreasePercent becomes the largest step the
// policy allows, labelled as partial with krr's full recommendation beside it; "block" (the default) still blocks.
import assert from 'node:assert/strict';
import type { FieldChange } from '../../src/core/plan/model';
import { describeStep, evaluatePolicies, largestAllowedStep } from '../../src/core/policy';
import { parseQuantity } from '../../src/core/quantity';
import { parseSessionSettings } from '../../src/core/settings';
import { human, startSessionFixture, type SessionFixture } from '../support/session-fixture';

const policy = parseSessionSettings({}).policy;

function change(resource: 'cpu' | 'memory', from: string, to: string): FieldChange {
  return { container: 'api', allocation: 'requests', resource, from, to, fromAmount: parseQuantity(from), toAmount: parseQuantity(to) };
}

describe('policy: the largest allowed step', () => {
  it('500m → 87m at -80% steps to 100m, labelled with the limit and the full recommendation', () => {
    const step = largestAllowedStep(change('cpu', '500m', '87m'), policy);
    assert.ok(step);
    assert.deepEqual({ to: step.to, rule: step.rule, limitPercent: step.limitPercent, recommended: step.recommended }, { to: '100m', rule: 'max-decrease', limitPercent: 80, recommended: '87m' });
    assert.equal(describeStep(step), "partial step (limit -80%, krr.policy.maxDecreasePercent); krr's full recommendation is 87m");
  });

  it('the step itself passes the policy it was built from (no float edge trips the limit)', () => {
    for (const [resource, from, to] of [['cpu', '500m', '87m'], ['cpu', '333m', '1m'], ['cpu', '7', '10m'], ['memory', '1Gi', '100Mi'], ['memory', '3000Mi', '64Mi'], ['memory', '100Mi', '2Gi'], ['cpu', '100m', '4']] as const) {
      const original = change(resource, from, to);
      const step = largestAllowedStep(original, policy);
      assert.ok(step, `${from} → ${to} is beyond a limit`);
      const stepped = { ...original, to: step.to, toAmount: parseQuantity(step.to) };
      const findings = evaluatePolicies({ identity: { namespace: 'shop', kind: 'Deployment', name: 'api' }, changes: [stepped], resulting: [], hpaUtilizationTargets: [], allowLimitRemoval: false }, { ...policy, minCpuMillicores: 0, minMemoryMiB: 0 });
      assert.deepEqual(findings.filter((finding) => finding.severity === 'block'), [], `${from} → ${step.to}`);
      // And it goes as far as the limit allows: one unit further would be blocked.
      const ratio = (parseQuantity(step.to) - original.fromAmount!) / original.fromAmount!;
      assert.ok(step.rule === 'max-decrease' ? ratio <= -0.79 : ratio >= 4.99, `${from} → ${step.to}: ${ratio}`);
    }
  });

  it('increases step to +maxIncreasePercent, rounded down', () => {
    assert.equal(largestAllowedStep(change('memory', '100Mi', '2Gi'), policy)?.to, '600Mi');
    assert.equal(largestAllowedStep(change('cpu', '100m', '4'), { ...policy, maxIncreasePercent: 50 })?.to, '150m');
  });

  it('no step within the limits, from an unset value, or to an unset one', () => {
    assert.equal(largestAllowedStep(change('cpu', '500m', '101m'), policy), null);
    assert.equal(largestAllowedStep({ ...change('cpu', '500m', '87m'), from: null, fromAmount: null }, policy), null);
    assert.equal(largestAllowedStep({ ...change('cpu', '500m', '87m'), to: null, toAmount: null }, policy), null);
  });
});

describe('proposals with krr.policy.onLimit (real kubectl, test API server, krr stand-in)', function () {
  this.timeout(120_000);
  let f: SessionFixture;
  before(async () => {
    f = await startSessionFixture();
  });
  after(async () => {
    await f.close();
  });

  const checkout = { namespace: 'shop', kind: 'Deployment', name: 'checkout-api' };

  it('block (default): 500m → 87m is blocked by the 80% limit; the list says nothing of steps', async () => {
    const summary = await f.session.scan({ namespaces: ['shop'] }, human);
    const plan = await f.session.propose({ reportId: summary.reportId, workloads: [checkout] }, human);
    assert.equal(plan.objects.length, 0);
    assert.match(plan.blocked[0]?.reasons.join(' ') ?? '', /500m → 87m is -83%, beyond the allowed -80%/);
    const row = f.session.listRecommendations({ reportId: summary.reportId, name: 'checkout-api' }).rows[0];
    assert.equal(row?.steps, undefined);
  });

  it('step: the plan writes 100m, labelled a partial step with krr\'s 87m; the list row says the same', async () => {
    f.settings = { ...f.settings, policy: { ...f.settings.policy, onLimit: 'step' } };
    const summary = await f.session.scan({ namespaces: ['shop'], refresh: true }, human);
    const row = f.session.listRecommendations({ reportId: summary.reportId, name: 'checkout-api' }).rows[0];
    assert.deepEqual(row?.steps, [{ field: 'requests.cpu', from: '500m', to: '100m', recommended: '87m', limit: '-80%' }]);
    assert.ok(row?.notes.some((note) => note.includes("partial step: requests.cpu 500m → 100m (limit -80%); krr's full recommendation is 87m")));
    const plan = await f.session.propose({ reportId: summary.reportId, workloads: [checkout] }, human);
    assert.deepEqual(plan.blocked, []);
    const cpu = plan.objects[0]?.changes.find((c) => c.resource === 'cpu' && c.allocation === 'requests');
    assert.deepEqual({ from: cpu?.from, to: cpu?.to, step: cpu?.step }, { from: '500m', to: '100m', step: { recommended: '87m', rule: 'max-decrease', limitPercent: 80 } });
    assert.ok(plan.objects[0]?.findings.some((finding) => finding.rule === 'partial-step' && /partial step .*87m/.test(finding.message)));
    // The memory change (512Mi → 347Mi, -32%) is within the limits: not a step.
    assert.equal(plan.objects[0]?.changes.find((c) => c.resource === 'memory')?.step, undefined);
    // The patch writes the step, not krr's value.
    assert.ok(JSON.stringify(plan.objects[0]?.ops).includes('"cpu":"100m"'));
  });

  it('an explicit onLimit "block" on the proposal overrides the setting', async () => {
    const summary = await f.session.scan({ namespaces: ['shop'] }, human);
    const plan = await f.session.propose({ reportId: summary.reportId, workloads: [checkout], onLimit: 'block' }, human);
    assert.equal(plan.objects.length, 0);
  });
});
