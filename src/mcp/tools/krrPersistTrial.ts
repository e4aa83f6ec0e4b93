// krr_persist_trial: the change a passed trial tried, proposed for the template (or the manifests) as an ordinary plan
// carrying the trial's evidence; writes nothing (krr_apply_plan, with a person's approval, does).
import { z } from 'zod';
import { generatedId } from '../arguments';
import { defineTool, errorResult } from '../tool';
import { krrProposeChanges, proposalResult } from './krrProposeChanges';

export const krrPersistTrial = defineTool({
  name: 'krr_persist_trial',
  title: 'Propose the change a trial passed with',
  description:
    'For a trial that passed: proposes the same values for the workload\'s template, as krr_propose_changes does (target "cluster", default), or for its manifests in the workspace (target "manifests", GitOps). ' +
    'The plan carries the trial\'s result ("Tried first (trial …)") into the approval dialog and its digest. Writes nothing; returns the plan exactly as krr_propose_changes does. ' +
    'A trial that is running, failed or was reverted is refused. Next: if the user wants it, krr_apply_plan with the planId — a person must approve it; you cannot approve it.',
  inputSchema: {
    trialId: generatedId.describe('the trialId of a trial that passed (krr_trial_status)'),
    target: z.enum(['cluster', 'manifests']).optional().describe('"cluster" (default): patch the live workload; "manifests": edit its manifests in the workspace folders (GitOps)'),
  },
  outputSchema: krrProposeChanges.outputSchema,
  annotations: { readOnlyHint: true, openWorldHint: true },
  async handler(args, extra, deps) {
    try {
      const plan = await deps.session.persistTrial(args.trialId, deps.requester(), args.target ?? 'cluster', extra.signal);
      return proposalResult(plan, deps);
    } catch (error) {
      return errorResult(error);
    }
  },
});
