// What the notifications say after an apply or a rollback, and which command arguments count as the walkthrough.
import assert from 'node:assert/strict';
import type { ApplyOutcome } from '../../src/core/model';
import { fromWalkthrough } from '../../src/editor/commandHost';
import { describeOutcome } from '../../src/editor/notifications';

function outcome(objects: number, message: string): ApplyOutcome {
  return {
    status: 'applied',
    planId: 'plan-0123456789ab',
    objects: Array.from({ length: objects }, (_, index) => ({ namespace: 'shop', kind: 'Deployment', name: `web-${index}`, result: 'written' as const })),
    verified: true,
    rollouts: [],
    message,
  } as ApplyOutcome;
}

describe('notification wording', () => {
  it('an apply counts objects in the right number', () => {
    assert.equal(describeOutcome(outcome(1, 'Applied 1 object, verified by re-reading them.')), 'applied: Applied 1 object, verified by re-reading them. (1 object written, verified)');
    assert.match(describeOutcome(outcome(2, 'Applied 2 objects, verified by re-reading them.')), /\(2 objects written, verified\)$/);
  });

  it('a rollback says "rolled back", never "applied"', () => {
    const text = describeOutcome(outcome(1, 'Applied 1 object, verified by re-reading them.'), 'rollback');
    assert.equal(text, 'rolled back: Restored 1 object, verified by re-reading them. (1 object restored, verified)');
    assert.doesNotMatch(text, /applied/i);
  });

  it('only the exact walkthrough marker is a source; a tree node or anything else is not', () => {
    assert.equal(fromWalkthrough({ via: 'walkthrough' }), true);
    for (const other of [undefined, null, 'walkthrough', ['walkthrough'], { via: 'walkthrough', id: 'snap-1' }, { via: 'notification' }, { id: 'snap-1', via: 'walkthrough', extra: 1 }]) {
      assert.equal(fromWalkthrough(other), false, JSON.stringify(other));
    }
  });
});
