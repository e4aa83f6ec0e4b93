// krr_propose_trial: a trial plan — krr's recommendation tried on a few running pods of one workload, resized in
// place, watched for a window, then reverted. Writes nothing: the resizes are dry-run; krr_apply_plan starts it.
import { z } from 'zod';
import { generatedId, namespaceName, objectName, workloadKind } from '../arguments';
import { defineTool, errorResult, okResult } from '../tool';
import { describeTrialPlan, trialPlanOutput, trialPlanView } from '../trialView';

export const krrProposeTrial = defineTool({
  name: 'krr_propose_trial',
  title: 'Propose a trial on running pods',
  description:
    'Builds a trial plan: krr\'s recommendation for one workload (Deployment, StatefulSet, DaemonSet or Rollout) tried on a few of its running pods, resized in place ' +
    '(the pods/resize subresource, Kubernetes 1.33+; no rollout, the template is not changed). Reads the workload and its pods and dry-runs each resize on the API server; writes nothing. ' +
    'Returns the plan id, digest and expiry, the pods it would resize (N of the M running), each container\'s changes, whether a container restarts for it, the window and findings. ' +
    'When started, the trial is watched (resize status, restarts, OOM kills, readiness): a failed signal reverts the pods at once; at the window\'s end they are reverted too, and a trial that passed can be persisted (krr_persist_trial). ' +
    'Next: if the user wants to try it, krr_apply_plan with the planId — a person must approve it; you cannot approve it. A workload the cluster cannot resize in place is refused with the reason: use krr_propose_changes then.',
  inputSchema: {
    reportId: generatedId.describe('the reportId from krr_scan or krr_load_report'),
    namespace: namespaceName,
    kind: workloadKind,
    name: objectName,
    pods: z.number().int().min(1).max(500).optional().describe('how many running pods to resize (default 1; at most krr.trial.maxPods)'),
    windowSeconds: z.number().int().min(10).max(86_400).optional().describe('how long the trial runs before its pods are reverted, in seconds (10..86400; default krr.trial.windowSeconds)'),
    includeLimits: z.boolean().optional().describe('also try krr\'s limits (default true: the memory limit is what OOM-kills, so a trial without it proves little)'),
  },
  outputSchema: trialPlanOutput,
  annotations: { readOnlyHint: true, openWorldHint: true },
  async handler(args, extra, { session, requester, approvalVia, approvalChannel }) {
    try {
      const plan = await session.proposeTrial(
        {
          reportId: args.reportId,
          workload: { namespace: args.namespace, kind: args.kind, name: args.name },
          ...(args.pods !== undefined ? { pods: args.pods } : {}),
          ...(args.windowSeconds !== undefined ? { windowSeconds: args.windowSeconds } : {}),
          ...(args.includeLimits !== undefined ? { includeLimits: args.includeLimits } : {}),
        },
        requester(),
        extra.signal,
      );
      return okResult(describeTrialPlan(plan, approvalVia, approvalChannel()), trialPlanView(plan));
    } catch (error) {
      return errorResult(error);
    }
  },
});
