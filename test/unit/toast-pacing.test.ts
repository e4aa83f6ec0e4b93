// VS Code shows at most three new toasts in 800 ms; a fleet scan's result must not be the fourth (UI test 21 shows it
// on screen; this pins the waiting rule with a fake clock).
import assert from 'node:assert/strict';
import { ToastPacing, toastQuietMs } from '../../src/editor/toastPacing';

function fakeClock() {
  let now = 10_000;
  const slept: number[] = [];
  return {
    now: () => now,
    advance: (ms: number) => { now += ms; },
    sleep: async (ms: number) => { slept.push(ms); now += ms; },
    slept,
  };
}

describe('toast pacing', () => {
  it('shows at once when nothing was opened', async () => {
    const clock = fakeClock();
    await new ToastPacing(clock.now, clock.sleep).quiet();
    assert.deepEqual(clock.slept, []);
  });

  it('waits until the quiet time after the last opened notification, not the first', async () => {
    const clock = fakeClock();
    const pacing = new ToastPacing(clock.now, clock.sleep);
    pacing.opened();
    clock.advance(300);
    pacing.opened();
    clock.advance(200);
    await pacing.quiet();
    assert.deepEqual(clock.slept, [toastQuietMs - 200]);
    assert.ok(toastQuietMs > 800, 'longer than VS Code\'s 800 ms spam window');
  });

  it('waits again when another notification opens while it waits', async () => {
    const clock = fakeClock();
    const pacing = new ToastPacing(clock.now, async (ms) => {
      clock.slept.push(ms);
      clock.advance(ms / 2);
      if (clock.slept.length === 1) pacing.opened();
      clock.advance(ms / 2);
    });
    pacing.opened();
    await pacing.quiet();
    assert.deepEqual(clock.slept, [toastQuietMs, toastQuietMs / 2], 'the full wait, then what is left after the one opened halfway');
  });

  it('does not wait once the quiet time has passed', async () => {
    const clock = fakeClock();
    const pacing = new ToastPacing(clock.now, clock.sleep);
    pacing.opened();
    clock.advance(toastQuietMs);
    await pacing.quiet();
    assert.deepEqual(clock.slept, []);
  });
});
