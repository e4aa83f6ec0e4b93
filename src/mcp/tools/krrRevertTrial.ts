// krr_revert_trial: puts a trial's pods back at their template size now. Part of the trial a person approved, so
// nobody is asked again; the revert is audited.
import { generatedId } from '../arguments';
import { defineTool, errorResult, notOkResult, okResult } from '../tool';
import { describeTrialRecord, trialRecordSchema, trialRecordView } from '../trialView';

export const krrRevertTrial = defineTool({
  name: 'krr_revert_trial',
  title: 'Revert a trial now',
  description:
    'Ends a running (or overdue) trial early: each trial pod is resized back to the resources it had before the trial, as the template says. ' +
    'Reverting is part of the trial the person approved, so nobody is asked; it is recorded in the audit log. A pod someone resized since the trial started is left alone (its revert says so). ' +
    'Also retries a revert that failed. Returns the trial with each pod\'s revert result. Call it when the user asks to stop a trial.',
  inputSchema: {
    trialId: generatedId.describe('the trialId from krr_apply_plan or krr_trial_status'),
  },
  outputSchema: { trial: trialRecordSchema },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(args, _extra, { session, requester }) {
    try {
      const record = await session.revertTrial(args.trialId, requester());
      const failed = record.revert?.pods.some((pod) => pod.result === 'failed') ?? false;
      return (failed ? notOkResult : okResult)(describeTrialRecord(record), { trial: trialRecordView(record) });
    } catch (error) {
      return errorResult(error);
    }
  },
});
