// The review panel's rows in the order it receives them: the first page alone (shown at once), then slices.
import assert from 'node:assert/strict';
import { rowSlices } from '../../src/editor/reviewRows';

describe('review panel rows in slices', () => {
  const rows = Array.from({ length: 12_345 }, (_, index) => index);

  it('the first slice is the first page alone, later ones are 5,000 rows, together every row in order', () => {
    const slices = rowSlices(rows);
    assert.deepEqual(slices.map((slice) => slice.length), [500, 5000, 5000, 1845]);
    assert.deepEqual(slices.flat(), rows);
  });

  it('fewer rows than a page: one slice; none: one empty slice', () => {
    assert.deepEqual(rowSlices(rows.slice(0, 499)), [rows.slice(0, 499)]);
    assert.deepEqual(rowSlices(rows.slice(0, 500)), [rows.slice(0, 500)]);
    assert.deepEqual(rowSlices([]), [[]]);
  });

  it('sizes are parameters', () => {
    assert.deepEqual(rowSlices(rows.slice(0, 7), 2, 3), [[0, 1], [2, 3, 4], [5, 6]]);
  });
});
