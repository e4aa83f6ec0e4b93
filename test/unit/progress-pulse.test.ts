// The proposal's counted progress never goes quiet for long: the last count is repeated with what runs meanwhile.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { progressPulse, type CountedProgress } from '../../src/core/progressPulse';

describe('progressPulse', () => {
  it('passes every report through and repeats the last count, with the phase, while nothing is reported', async () => {
    const seen: CountedProgress[] = [];
    const pulse = progressPulse((progress) => seen.push(progress), 40);
    try {
      pulse.report({ done: 0, total: 3 });
      pulse.phase('starting the API channel');
      await sleep(200);
      const repeats = seen.slice(2);
      assert.ok(repeats.length >= 2, `expected the count repeated while quiet, got ${JSON.stringify(seen)}`);
      for (const repeat of repeats) assert.deepEqual(repeat, { done: 0, total: 3, phase: 'starting the API channel' });
      pulse.report({ done: 1, total: 3 });
      assert.deepEqual(seen.at(-1), { done: 1, total: 3 });
      await sleep(200);
      assert.deepEqual(seen.at(-1), { done: 1, total: 3, phase: 'waiting for the API server' }, 'a repeat names a phase');
    } finally {
      pulse.stop();
    }
    const count = seen.length;
    await sleep(120);
    assert.equal(seen.length, count, 'nothing is reported after stop');
  });

  it('does not repeat while reports keep coming', async () => {
    const seen: CountedProgress[] = [];
    const pulse = progressPulse((progress) => seen.push(progress), 5_000);
    try {
      for (let done = 0; done < 10; done++) {
        pulse.report({ done, total: 10 });
        await sleep(20);
      }
    } finally {
      pulse.stop();
    }
    assert.deepEqual(seen.map((progress) => progress.done), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
