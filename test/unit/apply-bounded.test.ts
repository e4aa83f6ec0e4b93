import assert from 'node:assert/strict';
import { mapBounded } from '../../src/core/apply';

describe('apply: mapBounded (the bounded worker pool behind reads, writes and restores)', () => {
  it('keeps the order of results with several tasks in flight', async () => {
    const results = await mapBounded([30, 10, 20, 0], 3, async (ms, index) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return index;
    });
    assert.deepEqual(results, [0, 1, 2, 3]);
  });

  it('after a task throws, starts no new task and rejects only once the tasks in flight have settled', async () => {
    const started: number[] = [];
    const settled: number[] = [];
    const run = mapBounded([0, 1, 2, 3, 4, 5], 2, async (item) => {
      started.push(item);
      if (item === 0) throw new Error('storage failed');
      await new Promise((resolve) => setTimeout(resolve, 50));
      settled.push(item);
      return item;
    });
    await assert.rejects(run, /storage failed/);
    // Item 1 was already in flight when item 0 failed: it finished before the rejection; nothing started after.
    assert.deepEqual(started, [0, 1]);
    assert.deepEqual(settled, [1]);
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.deepEqual(started, [0, 1], 'no task starts after the call rejected');
  });
});
