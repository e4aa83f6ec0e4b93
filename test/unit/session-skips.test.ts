// Issue 15 items 3 and 5 at the session: an invalid name blocks its own workload (every one, with its reason) instead
// of failing the whole proposal at the first; an invalid container name is skipped with a note the plan carries;
// the proposal counts its progress.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { planSkips } from '../../src/core/plan/skips';
import { human, startSessionFixture, type SessionFixture } from '../support/session-fixture';

describe('session: nothing skipped silently, counted progress', function () {
  this.timeout(60_000);
  let f: SessionFixture;
  beforeEach(async () => {
    f = await startSessionFixture();
  });
  afterEach(async () => f.close());

  it('blocks every invalid workload name with its reason, skips invalid containers with a note, and counts progress', async () => {
    const sample = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'sample-report.json'), 'utf8')) as { scans: Array<{ object: Record<string, unknown> }> };
    const frontendScan = sample.scans.find((scan) => scan.object.name === 'frontend') as { object: Record<string, unknown> };
    sample.scans.push(
      { ...frontendScan, object: { ...frontendScan.object, name: 'a\u202egnp.exe' } },
      { ...frontendScan, object: { ...frontendScan.object, name: 'Upper_Case' } },
      { ...frontendScan, object: { ...frontendScan.object, container: 'Bad_Container' } },
    );
    const file = path.join(f.stateDir, 'invalid-names.json');
    writeFileSync(file, JSON.stringify(sample));
    const { reportId } = await f.session.loadReport(file, human);
    const progress: Array<{ done: number; total: number; phase?: string }> = [];
    const workloads = [
      { namespace: 'shop', kind: 'Deployment', name: 'frontend' },
      { namespace: 'shop', kind: 'Deployment', name: 'a\u202egnp.exe' },
      { namespace: 'shop', kind: 'Deployment', name: 'Upper_Case' },
    ];
    const plan = await f.session.propose({ reportId, workloads }, human, undefined, (p) => progress.push(p));
    // Both invalid workloads are named (not only the first), and the valid one is still proposed.
    assert.deepEqual(plan.objects.map((object) => object.name), ['frontend']);
    assert.deepEqual(plan.blocked.map((item) => item.name).sort(), ['Upper_Case', 'a\u202egnp.exe'].sort());
    for (const item of plan.blocked) assert.match(item.reasons.join(' '), /^Invalid workload name /);
    const skips = planSkips(plan);
    const container = skips.find((skip) => skip.container === 'Bad_Container');
    assert.ok(container, skips.map((skip) => skip.text).join('\n'));
    assert.match(container.text, /^Deployment \u2068shop\/frontend\u2069, container \u2068Bad_Container\u2069: Invalid container name .*this container is skipped\.$/u);
    assert.equal(skips.length, 3);
    // Counted over the whole selection from the first moment; the two refused before reading anything are done at
    // once, then each read one.
    // The first report comes before anything runs; repeats while nothing finishes name a phase and are left out here.
    assert.deepEqual(progress[0], { done: 0, total: 3, phase: 'resolving the context' });
    assert.deepEqual(progress.filter((report) => report.phase === undefined), [{ done: 2, total: 3 }, { done: 3, total: 3 }]);
  });
});
