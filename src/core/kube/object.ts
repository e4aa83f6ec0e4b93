// The few parts of a live Kubernetes object this extension reads, validated at the boundary.
import { z } from 'zod';
import type { WorkloadKind } from '../krr/model';

const resourceListSchema = z.record(z.string(), z.union([z.string(), z.number()]));

export const containerSchema = z
  .object({
    name: z.string(),
    resources: z
      .object({ requests: resourceListSchema.optional(), limits: resourceListSchema.optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();

export const kubeObjectSchema = z
  .object({
    apiVersion: z.string(),
    kind: z.string(),
    metadata: z
      .object({
        name: z.string(),
        namespace: z.string().optional(),
        uid: z.string().optional(),
        resourceVersion: z.string(),
        generation: z.number().optional(),
        labels: z.record(z.string(), z.string()).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .passthrough(),
    spec: z.record(z.string(), z.unknown()).optional(),
    status: z.record(z.string(), z.unknown()).optional(),
  })
  .passthrough();

/** A live object as returned by `kubectl get -o json`; fields we do not read are kept as they are. */
export type KubeObject = z.infer<typeof kubeObjectSchema>;
export type Container = z.infer<typeof containerSchema>;

/** kubectl's resource argument per workload kind (group-qualified so a CRD of the same name cannot win). */
export const kubectlResourceByKind: Partial<Record<WorkloadKind, string>> = {
  Deployment: 'deployments.apps',
  StatefulSet: 'statefulsets.apps',
  DaemonSet: 'daemonsets.apps',
  Job: 'jobs.batch',
  CronJob: 'cronjobs.batch',
  Rollout: 'rollouts.argoproj.io',
};

/**
 * JSON pointer segments of the pod template's container list, per kind. Jobs are listed (for reading)
 * but their template is immutable, so the plan reports them as not patchable.
 */
export const containersPathByKind: Partial<Record<WorkloadKind, readonly string[]>> = {
  Deployment: ['spec', 'template', 'spec', 'containers'],
  StatefulSet: ['spec', 'template', 'spec', 'containers'],
  DaemonSet: ['spec', 'template', 'spec', 'containers'],
  Job: ['spec', 'template', 'spec', 'containers'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec', 'containers'],
  Rollout: ['spec', 'template', 'spec', 'containers'],
};
