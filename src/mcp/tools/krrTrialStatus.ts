// krr_trial_status: one trial (its pods, outcome, revert) or every trial, after one pass of the watch.
import { z } from 'zod';
import { describeTrial } from '../../core/session/session';
import { generatedId } from '../arguments';
import { defineTool, errorResult, okResult } from '../tool';
import { describeTrialRecord, trialRecordSchema, trialRecordView } from '../trialView';

/** The most trials the list returns (newest first); the state directory keeps more. */
const maxListedTrials = 50;

export const krrTrialStatus = defineTool({
  name: 'krr_trial_status',
  title: 'Trial status',
  description:
    'Shows a trial started by krr_apply_plan on a trial plan: its state (running, passed, failed, reverted, overdue), each pod\'s status (resize applied or pending, ready, restarts, OOM kills), why it ended, the revert, and the persist plan id. ' +
    'Without trialId, lists every trial, one line each. Proposes and approves nothing. ' +
    'Before it answers it runs one check of the running trials, as the server\'s own watch does every krr.trial.pollSeconds: a trial whose signal failed, or whose window ended, has its pods reverted then — reverting is part of the trial the person approved, never a new change. ' +
    'In a read-only session it only reads. Next: krr_revert_trial to end a running trial early; krr_persist_trial for a trial that passed.',
  inputSchema: {
    trialId: generatedId.optional().describe('the trialId from krr_apply_plan (the trial plan\'s id); omit to list every trial'),
  },
  outputSchema: {
    trial: trialRecordSchema.optional().describe('the trial asked for'),
    trials: z
      .array(z.object({ trialId: z.string(), state: z.string(), line: z.string() }))
      .optional()
      .describe(`every trial, newest first (at most ${maxListedTrials})`),
    total: z.number().optional(),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  async handler(args, extra, { session, readOnly }) {
    try {
      // The only writes a check makes finish an approved trial (its revert); a read-only session makes none.
      if (!readOnly) await session.checkTrials(extra.signal);
      if (args.trialId !== undefined) {
        const record = await session.getTrial(args.trialId);
        return okResult(describeTrialRecord(record), { trial: trialRecordView(record) });
      }
      const records = (await session.listTrials()).sort((a, b) => b.startedAt.localeCompare(a.startedAt));
      const listed = records.slice(0, maxListedTrials).map((record) => ({ trialId: record.id, state: record.state, line: describeTrial(record) }));
      const lines = listed.length === 0 ? ['No trials yet (krr_propose_trial, then krr_apply_plan, starts one).'] : listed.map((entry) => entry.line);
      if (records.length > listed.length) lines.push(`… and ${records.length - listed.length} older trials`);
      return okResult(lines.join('\n'), { trials: listed, total: records.length });
    } catch (error) {
      return errorResult(error);
    }
  },
});
