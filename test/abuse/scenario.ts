// One bypass attempt, measured: the writes it caused beyond those a human approved (must be 0) and whether
// the audit log recorded it (it must: also a call its input schema refused).
import assert from 'node:assert/strict';
import { count } from './figures';

export interface Observed {
  /** Successful non-dry-run writes seen by the test cluster so far. */
  writes(): number;
  /** Complete audit entries so far. */
  auditEntries(): Promise<number> | number;
}

export async function attempt(name: string, observed: Observed, run: () => Promise<void>, options: { approvedWrites?: number } = {}): Promise<void> {
  const writesBefore = observed.writes();
  const auditBefore = await observed.auditEntries();
  count('bypass_scenarios');
  await run();
  const unapproved = observed.writes() - writesBefore - (options.approvedWrites ?? 0);
  count('unapproved_writes', Math.max(unapproved, 0));
  assert.equal(unapproved, 0, `${name}: writes beyond the approved ones`);
  assert.ok((await observed.auditEntries()) > auditBefore, `${name}: the attempt is in the audit log`);
}
