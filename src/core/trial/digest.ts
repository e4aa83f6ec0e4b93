// The digest of a trial plan: what a person approves. Over the context, the server, the workload, each pod's identity
// (name and uid) and its resize patch, the window and the limits flag — every fact the dialog states and apply acts on.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonicalJson';
import type { TrialPlan } from './model';

export function trialDigest(plan: Pick<TrialPlan, 'context' | 'server' | 'workload' | 'pods' | 'windowSeconds' | 'includeLimits' | 'runningPods'>): string {
  const pods = [...plan.pods].map((pod) => ({ name: pod.name, uid: pod.uid, ops: pod.ops })).sort((a, b) => a.name.localeCompare(b.name));
  return createHash('sha256')
    .update(canonicalJson({ target: 'trial', context: plan.context, server: plan.server, workload: plan.workload, pods, windowSeconds: plan.windowSeconds, includeLimits: plan.includeLimits, runningPods: plan.runningPods }))
    .digest('hex');
}
