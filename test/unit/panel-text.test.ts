// Issue 15, the text a person reads: names shown visibly and isolated, one money/count formatter, nothing skipped
// silently (invalid names flagged at load, every skip named and grouped), policy blocks known before Preview, savings.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { approvalText } from '../../src/core/approval';
import { parseReport } from '../../src/core/krr/report';
import type { ManifestPlan } from '../../src/core/gitops/model';
import type { Plan } from '../../src/core/plan/model';
import { groupSkips, planSkips } from '../../src/core/plan/skips';
import { predictPolicyBlocks, reportNameProblems } from '../../src/core/reportCheck';
import { savingsOf } from '../../src/core/savings';
import { parseSessionSettings } from '../../src/core/settings';
import { displayName, formatMoney, formatMonthly, hasHiddenCharacters, nameText, plural, withoutIsolates } from '../../src/core/text';
import { rowsOfReport } from '../../src/core/recommendations';
import { parseIncoming } from '../../src/editor/reviewMessages';
import { clustersText, fleetReview, manifestPlanView, planView, reportReview, selectionText, toPanelRow, type PanelReview, type PanelRow } from '../../src/editor/reviewRows';

const sample = JSON.parse(readFileSync('test/fixtures/sample-report.json', 'utf8')) as { scans: Array<{ object: Record<string, unknown> }> };
const settings = parseSessionSettings({});
/** The report checks the panel takes from the engine bundle. */
const checks = { reportNameProblems, predictPolicyBlocks };

/** A whole review at once: every row flagged and every workload checked, as the panel has them once all arrived. */
function whole(review: PanelReview, rows: readonly PanelRow[]) {
  return { rows: review.flag(rows), workloads: review.workloads(), problems: review.problems, savings: review.savings, summaryText: review.summaryText };
}

/** The sample report plus scans whose names are hostile or invalid. */
function reportWith(extra: Array<{ namespace?: string; name?: string; container?: string }>) {
  const first = sample.scans[0] as { object: Record<string, unknown> };
  const scans = [...sample.scans, ...extra.map((names) => ({ ...first, object: { ...first.object, ...names } }))];
  return parseReport(JSON.stringify({ ...sample, scans }));
}

describe('names shown visibly and isolated (core/text)', () => {
  it('shows a bidi override as a code instead of letting it reverse the name', () => {
    assert.equal(displayName('a\u202Egnp.exe'), 'a⟨U+202E⟩gnp.exe');
    assert.equal(displayName('zero\u200Bwidth\u0000nul\u2028line'), 'zero⟨U+200B⟩width⟨U+0000⟩nul⟨U+2028⟩line');
    assert.equal(nameText('a\u202Egnp.exe'), '\u2068a⟨U+202E⟩gnp.exe\u2069');
    assert.ok(hasHiddenCharacters('a\u202Eb') && !hasHiddenCharacters('checkout-api'));
  });

  it('for any input: no unsafe character, no line break, bounded; isolates only at the ends', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.integer({ min: 2, max: 120 }), (value, max) => {
        const shown = displayName(value, max);
        assert.doesNotMatch(shown, /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}]/u);
        assert.ok(Array.from(shown).length <= max);
        const isolated = nameText(value, max);
        assert.equal(withoutIsolates(isolated), shown);
        assert.equal(isolated.at(0), '\u2068');
        assert.equal(isolated.at(-1), '\u2069');
      }),
      { numRuns: 300 },
    );
  });

  it('the approval dialog shows the hostile name visibly, isolated, never raw', () => {
    const plan = {
      id: 'plan-000000000001', digest: 'd'.repeat(64), kind: 'apply' as const, context: 'ctx\u202Eevil', server: 'https://x', createdAt: new Date(0).toISOString(), expiresAt: new Date(600_000).toISOString(),
      requestedBy: { type: 'human' as const, via: 'review panel' }, blocked: [{ namespace: 'shop', kind: 'Deployment', name: 'a\u202egnp.exe', reasons: ['Invalid workload name'] }], warnings: [],
      objects: [{ namespace: 'shop', kind: 'Deployment' as const, name: 'web', apiVersion: 'apps/v1', uid: null, resourceVersion: '1', generation: 1, ops: [], liveManifest: '', proposedManifest: '', pods: 1, podsSource: '', monthlyCostDelta: -1234.5, stage: 1, findings: [],
        changes: [{ container: 'c\u202Ex', allocation: 'requests' as const, resource: 'cpu' as const, from: '1', to: '500m', fromAmount: 1, toAmount: 0.5 }] }],
      totals: { objects: 1, containers: 1, changes: 1, cpuRequestDelta: -0.5, memoryRequestDelta: 0, cpuLimitDelta: 0, memoryLimitDelta: 0, monthlyCostDelta: -1234.5, blocked: 1 },
      risk: 'low' as const, riskReasons: [], staged: false,
    } satisfies Plan;
    const text = approvalText(plan, plan.requestedBy, []);
    for (const shown of [text.title, text.detail]) assert.doesNotMatch(shown, /\u202E/u);
    assert.match(text.title, /in \u2068ctx⟨U\+202E⟩evil\u2069\?$/u);
    assert.match(text.detail, /\u2068c⟨U\+202E⟩x\u2069: cpu request 1 → 500m/u);
    assert.match(text.detail, /Not included \(1 item\):\n {3}Deployment \u2068shop\/a⟨U\+202E⟩gnp\.exe\u2069: Invalid workload name/u);
    assert.match(text.detail, /monthly cost −\$1,234\.50\/month/);
  });
});

describe('one formatter for money and counts', () => {
  it('thousands separators, a real minus, cents, singular and plural', () => {
    assert.equal(formatMoney(-1234.5), '−$1,234.50');
    assert.equal(formatMoney(0), '±$0.00');
    assert.equal(formatMoney(null), '–');
    assert.equal(formatMonthly(2500), '+$2,500.00/month');
    assert.equal(plural(1, 'object'), '1 object');
    assert.equal(plural(2500, 'workload'), '2,500 workloads');
    assert.equal(plural(0, 'change'), '0 changes');
  });

  it('the panel totals and the dialog word the same amount the same way; a workload costs what its rows add up to', () => {
    const report = reportWith([]);
    const rows = rowsOfReport(report, settings.prices).map((row) => toPanelRow(row));
    const summary = { reportId: 'r', source: 'file', cluster: null, strategy: 'simple', score: 1, workloads: 6, containers: 7, bySeverity: { UNKNOWN: 0, GOOD: 0, OK: 0, WARNING: 0, CRITICAL: 0 }, monthlyCostDelta: -8641.5, errors: [], cached: false };
    const panel = whole(reportReview(report, summary, settings, checks), rows);
    const key = 'shop/Deployment/checkout-api';
    const own = rows.filter((row) => row.workload === key);
    const cost = own.reduce((sum, row) => sum + (row.monthlyCostDelta ?? 0), 0);
    assert.ok(own.length === 1 && cost !== 0, 'the sample workload has one container with an estimate');
    assert.equal(panel.workloads.find((workload) => workload.key === key)?.cost, cost);
    assert.equal(selectionText(panel.workloads, panel.rows, new Set([key])), `Selected: 1 workload, 1 container, monthly Δ ${formatMonthly(cost)}.`);
    assert.match(panel.summaryText, /6 workloads, 7 containers · monthly Δ if all applied −\$8,641\.50\/month/);
    // Every workload, with more than one container or none with an estimate: the same sum as its rows.
    for (const workload of panel.workloads) {
      const costs = rows.filter((row) => row.workload === workload.key).map((row) => row.monthlyCostDelta);
      const expected = costs.every((value) => value === null) ? null : Math.round(costs.reduce<number>((sum, value) => sum + (value ?? 0), 0) * 100) / 100;
      assert.equal(workload.cost, expected, workload.key);
    }
  });

  it('a review hands out any subset of its workloads exactly as the whole list has them (the panel streams them)', () => {
    const report = reportWith([{ name: 'Upper_Case' }, { container: 'Bad_Container' }]);
    const review = reportReview(report, { reportId: 'r', source: 'file', cluster: null, strategy: 'simple', score: 1, workloads: 8, containers: 9, bySeverity: { UNKNOWN: 0, GOOD: 0, OK: 0, WARNING: 0, CRITICAL: 0 }, monthlyCostDelta: 0, errors: [], cached: false }, settings, checks);
    const all = review.workloads();
    assert.deepEqual(review.workloadKeys(), all.map((workload) => workload.key));
    const picked = [all[3], all[0], all[5]].map((workload) => workload?.key ?? '');
    assert.deepEqual(review.workloads([...picked, 'no/such/workload']), [all[3], all[0], all[5]]);
    assert.deepEqual(review.workloads([]), []);
    // Rows are flagged the same whichever slice they arrive in.
    const rows = rowsOfReport(report, settings.prices).map((row) => toPanelRow(row));
    assert.deepEqual([...review.flag(rows.slice(0, 4)), ...review.flag(rows.slice(4))], review.flag(rows));
    assert.equal(review.flag(rows).filter((row) => row.invalid !== undefined).length, 1);
  });
});

describe('invalid names are flagged when the report loads, all of them', () => {
  it('lists every invalid namespace, workload and container name with its reason', () => {
    const report = reportWith([{ name: 'a\u202egnp.exe' }, { name: 'Upper_Case' }, { container: 'Bad_Container' }, { container: 'also bad' }]);
    const problems = reportNameProblems(report);
    assert.equal(problems.length, 4, problems.map((problem) => problem.text).join('\n'));
    const hostile = problems.find((problem) => problem.name === 'a\u202egnp.exe');
    assert.match(hostile?.text ?? '', /^Deployment \u2068shop\/a⟨U\+202E⟩gnp\.exe\u2069: Invalid workload name .*the workload cannot be changed$/u);
    assert.ok(problems.some((problem) => problem.name === 'Upper_Case' && problem.container === undefined));
    assert.deepEqual(problems.filter((problem) => problem.container !== undefined).map((problem) => problem.container), ['Bad_Container', 'also bad']);
    for (const problem of problems) assert.doesNotMatch(problem.text, /\u202E/u);
  });
});

describe('skips: named, and grouped by cause for long lists', () => {
  it('groups 2,500 blocked workloads into one line per namespace and cause', () => {
    const blocked = Array.from({ length: 2500 }, (_, index) => {
      const namespace = `team-${index % 40}`;
      const name = `svc-${index}`;
      return { namespace, kind: 'Deployment', name, reasons: [`could not read the live object: deployments.apps "${name}" not found`] };
    });
    const skips = planSkips({ blocked, objects: [], warnings: [] });
    assert.equal(skips.length, 2500);
    const groups = groupSkips(skips);
    assert.equal(groups.length, 40);
    assert.equal(groups.reduce((sum, group) => sum + group.count, 0), 2500);
    assert.match(groups[0]?.text ?? '', /^namespace \u2068team-\d+\u2069: could not read the live object: deployments\.apps "…" not found — 63 workloads$/u);
  });

  it('the panel line never claims a diff for a plan without objects, and bounds its list', () => {
    const blocked = Array.from({ length: 30 }, (_, index) => ({ namespace: `ns-${index}`, kind: 'Deployment', name: `w-${index}`, reasons: ['namespace gone'] }));
    const view = planView({ id: 'plan-1', objects: [], blocked, warnings: [], risk: 'low', riskReasons: [], totals: { monthlyCostDelta: 0 } } as unknown as Plan);
    assert.match(view.text, /^plan-1: 0 objects, risk low, monthly Δ ±\$0\.00\/month\. Nothing to change, so no diff is open\.$/);
    assert.doesNotMatch(view.text, /The diff is open/);
    assert.equal(view.skips.length, 6);
    assert.equal(view.moreInOutput, 24);
    assert.match(view.skipsHeading, /^Not included: 30 items/);
  });

  it('a manifest plan: the words follow what happened, and a refusal is shown whole', () => {
    const long = `the key is matched by ${'a patch in overlays/prod that sets it, '.repeat(12)}so KRR does not edit it`;
    const plan = (unresolved: ManifestPlan['unresolved'], files = 0) => manifestPlanView({ id: 'mplan-1', files: Array.from({ length: files }, () => ({})), unresolved } as unknown as ManifestPlan);
    const unchanged = plan([{ namespace: 'shop', kind: 'Deployment', name: 'web', reason: 'overlays/prod already has these values; nothing to change', candidates: ['overlays/prod'], alreadyRecommended: true }]);
    // Nothing to do is not a failure, and is not listed under "Not written".
    assert.equal(unchanged.failed, false);
    assert.equal(unchanged.skips.length, 0);
    assert.match(unchanged.text, /already hold the recommended values: nothing to write, so no diff is open\. Already as recommended: \u2068shop\/web\u2069\.$/u);
    const refused = plan([{ namespace: 'shop', kind: 'Deployment', name: 'api', reason: long, candidates: [] }]);
    // No source chosen is not "nothing to change".
    assert.equal(refused.failed, true);
    assert.doesNotMatch(refused.text, /Nothing to change/i);
    assert.match(refused.text, /KRR could not write 1 workload \(below\)/);
    assert.equal(refused.skipsHeading, 'Not written: 1 workload:');
    assert.ok(refused.skips[0]?.endsWith('so KRR does not edit it'), refused.skips[0]);
    const written = plan([], 2);
    assert.equal(written.failed, false);
    assert.match(written.text, /2 files in the workspace \(nothing is sent to the cluster\)\. The diff is open\.$/);
  });

  it('a manifest plan: a workload several sources could define offers each one, its id passed back as it came', () => {
    const sources = Array.from({ length: 12 }, (_, index) => ({ id: `kustomize:ws/overlays/env-${index}`, label: `ws/overlays/env-${index} (Kustomize)` }));
    sources[0] = { id: 'kustomize:ws/overlays/p\u202Erod', label: 'ws/overlays/p\u202Erod (Kustomize)' };
    const view = manifestPlanView({ id: 'mplan-2', files: [], unresolved: [
      { namespace: 'prod', kind: 'Deployment', name: 'web', reason: '12 sources could define Deployment prod/web; KRR does not pick one', candidates: sources.map((source) => source.label), sources },
      { namespace: 'prod', kind: 'Deployment', name: 'api', reason: 'no manifest in the workspace folders (ws) defines Deployment prod/api', candidates: [] },
    ] } as unknown as ManifestPlan);
    assert.equal(view.choices.length, 1, 'only the workload with sources to pick from');
    assert.deepEqual(view.choices[0]?.workload, { namespace: 'prod', kind: 'Deployment', name: 'web' });
    assert.equal(view.choices[0]?.text, 'Deployment \u2068prod/web\u2069');
    assert.equal(view.choices[0]?.sources.length, 10, 'bounded');
    // The id goes back untouched (the extension compares it with what it listed); the label is shown visibly.
    assert.equal(view.choices[0]?.sources[0]?.id, 'kustomize:ws/overlays/p\u202Erod');
    assert.equal(view.choices[0]?.sources[0]?.label, 'ws/overlays/p rod (Kustomize)', 'no raw bidi override reaches the page');
    assert.equal(view.skips.length, 2, 'both are still listed as not written');
  });

  it('"Use this source" from the page: only a workload and a bounded id pass', () => {
    const workload = { namespace: 'prod', kind: 'Deployment', name: 'web' };
    assert.deepEqual(parseIncoming({ type: 'use-source', workload: { ...workload, extra: 'x' }, source: 'kustomize:ws/overlays/prod' }), { type: 'use-source', workload, source: 'kustomize:ws/overlays/prod' });
    assert.equal(parseIncoming({ type: 'use-source', workload, source: '' }), undefined);
    assert.equal(parseIncoming({ type: 'use-source', workload, source: 'x'.repeat(1025) }), undefined);
    assert.equal(parseIncoming({ type: 'use-source', workload: { namespace: 'prod', kind: 'Deployment' }, source: 'kustomize:ws/overlays/prod' }), undefined);
    assert.equal(parseIncoming({ type: 'use-source', source: 'kustomize:ws/overlays/prod' }), undefined);
  });

  it('shows the risk reason next to the risk', () => {
    const view = planView({ id: 'plan-2', objects: [{ findings: [] }], blocked: [], warnings: [], risk: 'high', riskReasons: ['checkout-api: production-looking namespace'], totals: { monthlyCostDelta: -3 } } as unknown as Plan);
    assert.match(view.text, /risk high \(checkout-api: production-looking namespace\)/);
    assert.match(view.text, /The diff is open\.$/);
  });
});

describe('policy blocks known before Preview, with the setting that decides them', () => {
  it('the top CRITICAL row (CPU 500m → 87m, −83%) is blocked by krr.policy.maxDecreasePercent', () => {
    const report = reportWith([]);
    const checkout = report.workloads.find((workload) => workload.name === 'checkout-api');
    assert.ok(checkout);
    const blocks = predictPolicyBlocks(checkout, settings.policy, { includeLimits: false });
    assert.deepEqual(blocks.map((block) => [block.rule, block.setting]), [['max-decrease', 'krr.policy.maxDecreasePercent']]);
    assert.match(blocks[0]?.message ?? '', /-83%, beyond the allowed -80%/);
    // A looser setting lifts it: the prediction follows the same rules as the plan.
    assert.deepEqual(predictPolicyBlocks(checkout, { ...settings.policy, maxDecreasePercent: 90 }, { includeLimits: false }), []);
  });

  it('a request raised above its limit is blocked without limits and not with them', () => {
    const postgres = reportWith([]).workloads.find((workload) => workload.name === 'postgres');
    assert.ok(postgres);
    assert.ok(predictPolicyBlocks(postgres, settings.policy, { includeLimits: false }).some((block) => block.rule === 'request-above-limit'));
    assert.ok(!predictPolicyBlocks(postgres, settings.policy, { includeLimits: true }).some((block) => block.rule === 'request-above-limit'));
  });
});

describe('savings per namespace', () => {
  it('sums requests × pods now and as recommended, and the monthly delta, largest change first', () => {
    const savings = savingsOf(reportWith([]), settings.prices);
    assert.equal(savings.by, 'namespace');
    const shop = savings.groups.find((group) => group.label === 'shop');
    assert.ok(shop);
    // checkout-api: 2 running pods × 0.5 CPU now, × 0.087 recommended; frontend: its HPA's 4 replicas × 0.2 (krr has no CPU value: unchanged).
    assert.ok(Math.abs(shop.cpu.current - (1.0 + 0.8)) < 1e-9, String(shop.cpu.current));
    assert.ok(Math.abs(shop.cpu.recommended - (0.174 + 0.8)) < 1e-9, String(shop.cpu.recommended));
    assert.ok(shop.monthlyCostDelta < 0);
    const deltas = savings.groups.map((group) => Math.abs(group.monthlyCostDelta));
    assert.deepEqual(deltas, [...deltas].sort((a, b) => b - a));
  });

  it('folds the smallest groups into "other (N)" past the limit', () => {
    const extra = Array.from({ length: 12 }, (_, index) => ({ namespace: `team-${index}`, name: `w${index}` }));
    const savings = savingsOf(reportWith(extra), settings.prices, 8);
    assert.equal(savings.groups.length, 8);
    assert.match(savings.groups.at(-1)?.label ?? '', /^other \(\d+\)$/);
    assert.equal(savings.folded + 7, new Set(reportWith(extra).workloads.map((workload) => workload.namespace)).size);
  });
});

describe('the panel text of a fleet review (several clusters in one panel)', () => {
  const rowsOf = (report: ReturnType<typeof reportWith>, cluster: string) => rowsOfReport(report, settings.prices, cluster).map((row) => toPanelRow(row, true));
  const summaryOf = (report: ReturnType<typeof reportWith>) => ({ reportId: 'r', source: 'scan', cluster: null, strategy: 'simple', score: 1, workloads: report.workloads.length, containers: 7, bySeverity: { UNKNOWN: 0, GOOD: 0, OK: 0, WARNING: 0, CRITICAL: 0 }, monthlyCostDelta: -10, errors: [], cached: false });

  it('checks each cluster on its own, keys rows and workloads by cluster, groups savings per cluster, names failures', () => {
    const eu = reportWith([{ name: 'Upper_Case' }]);
    const us = reportWith([]);
    const rows = [...rowsOf(eu, 'prod-eu-1'), ...rowsOf(us, 'prod-us-1')];
    const panel = whole(fleetReview([{ cluster: 'prod-eu-1', report: eu, summary: summaryOf(eu) }, { cluster: 'prod-us-1', report: us, summary: summaryOf(us) }], settings, ['prod-ap-1: unreachable'], checks), rows);
    // The same workload exists in both clusters: one entry each, keyed as the rows are.
    assert.ok(panel.workloads.some((workload) => workload.key === 'prod-eu-1|shop/Deployment/checkout-api'));
    assert.ok(panel.workloads.some((workload) => workload.key === 'prod-us-1|shop/Deployment/checkout-api'));
    assert.equal(panel.workloads.length, eu.workloads.length + us.workloads.length);
    // An invalid name is flagged in its own cluster only, and the line says which cluster.
    assert.equal(panel.workloads.find((workload) => workload.key === 'prod-eu-1|shop/Deployment/Upper_Case')?.invalid !== null, true);
    assert.equal(panel.problems.length, 1);
    assert.match(panel.problems[0]?.text ?? '', /^prod-eu-1: Deployment/);
    // Per-workload money and the selection line work with fleet keys.
    const usCost = rows.find((row) => row.workload === 'prod-us-1|shop/Deployment/checkout-api')?.monthlyCostDelta ?? null;
    assert.ok(usCost !== null && usCost !== 0);
    assert.equal(selectionText(panel.workloads, panel.rows, new Set(['prod-us-1|shop/Deployment/checkout-api'])), `Selected: 1 workload, 1 container, monthly Δ ${formatMonthly(usCost)}.`);
    assert.equal(panel.savings.by, 'cluster');
    assert.deepEqual(panel.savings.groups.map((group) => group.label).sort(), ['prod-eu-1', 'prod-us-1']);
    assert.match(panel.summaryText, /^fleet of 3 contexts · strategy simple · .* · monthly Δ if all applied −\$20\.00\/month · 1 context failed$/);
    assert.equal(clustersText([{ cluster: 'prod-eu-1', rows: 8, monthlyCostDelta: -8, bySeverity: { CRITICAL: 1, WARNING: 2 } }], ['prod-ap-1: unreachable']), 'prod-eu-1: 8 containers, monthly Δ −$8.00/month, 1 critical, 2 warning\nfailed: prod-ap-1: unreachable');
  });
});
