// Issue 15 item 5 at the session: a proposal cancelled midway fails as cancelled. Before, every read or dry-run the
// cancel cut short blocked its workload like any failed read, and the "cancelled" preview came back as a stored,
// audited plan of whatever was dry-run before the cancel (in code-server: 5 of 42 workloads, their diff open and
// "Apply…" offered), every other workload blocked as "…The request was cancelled".
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { KubectlError } from '../../src/core/kube/kubectl';
import { human, startSessionFixture, type SessionFixture } from '../support/session-fixture';

describe('session: a cancelled proposal', function () {
  this.timeout(60_000);
  let f: SessionFixture;
  beforeEach(async () => {
    f = await startSessionFixture();
  });
  afterEach(async () => {
    f.cluster.faults.clear();
    await f.close();
  });

  it('rejects as cancelled: no plan stored, shown or audited, the count stops, nothing written', async () => {
    // frontend plus 40 copies: past the API channel's threshold, several read windows.
    const sample = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'sample-report.json'), 'utf8')) as { scans: Array<{ object: Record<string, unknown> }> };
    const frontendScan = sample.scans.find((scan) => scan.object.name === 'frontend') as { object: Record<string, unknown> };
    for (let index = 0; index < 40; index++) sample.scans.push({ ...frontendScan, object: { ...frontendScan.object, hpa: null, name: `svc-${index}` } });
    const file = path.join(f.stateDir, 'many.json');
    writeFileSync(file, JSON.stringify(sample));
    const { reportId } = await f.session.loadReport(file, human);
    const workloads = [{ namespace: 'shop', kind: 'Deployment', name: 'frontend' }, ...Array.from({ length: 40 }, (_, index) => ({ namespace: 'shop', kind: 'Deployment', name: `svc-${index}` }))];
    // Every request waits, so the cancel lands while reads are in flight.
    f.cluster.faults.delayMs(300);
    const controller = new AbortController();
    const counted: number[] = [];
    const proposal = f.session.propose({ reportId, workloads }, human, controller.signal, (progress) => {
      if (progress.phase !== undefined) return;
      counted.push(progress.done);
      // Cancelled once the first workloads are counted, as a person pressing Cancel on "3 / 41".
      if (progress.done > 0) controller.abort();
    });
    await assert.rejects(proposal, (error: unknown) => error instanceof KubectlError && error.kind === 'aborted' && /cancelled; nothing was proposed/.test(error.message));
    assert.ok(counted.length > 0 && (counted.at(-1) ?? 0) < workloads.length, `the count stops at the cancel: ${counted.join(', ')}`);
    assert.equal(f.session.latestPlanId(), null, 'no plan stored');
    assert.equal(f.human.shown.length, 0, 'no plan shown (no diff)');
    const audit = await f.session.auditLog({ actions: ['propose'] });
    assert.equal(audit.total, 0, 'no proposal audited');
    assert.equal(f.cluster.writes().length, 0);
  });
});
