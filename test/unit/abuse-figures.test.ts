// The abuse suite runs in parallel worker processes; its figures are summed from one part per process.
import assert from 'node:assert/strict';
import { orderedTestFiles, slowestFirst } from '../../scripts/test-node';
import { mergeFigureParts } from '../abuse/figures';

describe('abuse figures, summed over parallel test processes', () => {
  it('adds counts and keeps the largest measurement', () => {
    const merged = mergeFigureParts([
      { counts: { bypass_scenarios: 70, hangs: 0, fleet_contexts_max: 50, load_rss_end_mb: 0 }, recorded: ['fleet_contexts_max'] },
      { counts: { bypass_scenarios: 50, hangs: 1, fleet_contexts_max: 0, load_rss_end_mb: 180 }, recorded: ['load_rss_end_mb'] },
    ]);
    assert.equal(merged.get('bypass_scenarios'), 120);
    assert.equal(merged.get('hangs'), 1);
    assert.equal(merged.get('fleet_contexts_max'), 50);
    assert.equal(merged.get('load_rss_end_mb'), 180);
    // Every key is in the report, also one no process counted.
    assert.equal(merged.get('secrets_leaked'), 0);
  });
});

describe('npm run test:node: the unit and abuse files, the slowest first', () => {
  it('lists every test file once, the slow ones first', () => {
    const ordered = orderedTestFiles();
    assert.equal(new Set(ordered).size, ordered.length, 'no file twice');
    assert.deepEqual(ordered.slice(0, slowestFirst.length), slowestFirst);
    assert.ok(ordered.includes('test/unit/abuse-figures.test.ts') && ordered.includes('test/abuse/bypass.test.ts'));
  });
});
