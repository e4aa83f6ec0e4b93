// The parts of a running pod a trial reads (core/trial): its containers as specified, and what the kubelet reports
// about them — the resources each runs with (set by a 1.33+ kubelet that can resize in place), restarts, the last
// termination, readiness and the resize conditions. Validated at the boundary like every other object.
import { z } from 'zod';
import { assertDnsLabel, assertDnsSubdomain } from './names';

const resourceListSchema = z.record(z.string(), z.union([z.string(), z.number()]));
const resourcesSchema = z.object({ requests: resourceListSchema.optional(), limits: resourceListSchema.optional() }).passthrough();

const podContainerSchema = z
  .object({
    name: z.string(),
    resources: resourcesSchema.optional(),
    resizePolicy: z.array(z.object({ resourceName: z.string(), restartPolicy: z.string() }).passthrough()).optional(),
  })
  .passthrough();

const terminatedSchema = z.object({ reason: z.string().optional(), exitCode: z.number().optional(), finishedAt: z.string().nullish() }).passthrough();

const containerStatusSchema = z
  .object({
    name: z.string(),
    ready: z.boolean().optional(),
    restartCount: z.number().int().min(0).optional(),
    resources: resourcesSchema.optional(),
    state: z.object({ running: z.object({}).passthrough().optional(), waiting: z.object({ reason: z.string().optional() }).passthrough().optional(), terminated: terminatedSchema.optional() }).passthrough().optional(),
    lastState: z.object({ terminated: terminatedSchema.optional() }).passthrough().optional(),
  })
  .passthrough();

const conditionSchema = z.object({ type: z.string(), status: z.string(), reason: z.string().optional(), message: z.string().optional() }).passthrough();

export const podSchema = z
  .object({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    metadata: z
      .object({
        name: z.string(),
        namespace: z.string().optional(),
        uid: z.string(),
        resourceVersion: z.string().optional(),
        creationTimestamp: z.string().optional(),
        deletionTimestamp: z.string().nullish(),
        labels: z.record(z.string(), z.string()).optional(),
        ownerReferences: z.array(z.object({ kind: z.string(), name: z.string(), uid: z.string().optional(), controller: z.boolean().optional() }).passthrough()).optional(),
      })
      .passthrough(),
    spec: z.object({ nodeName: z.string().optional(), containers: z.array(podContainerSchema) }).passthrough(),
    status: z
      .object({
        phase: z.string().optional(),
        conditions: z.array(conditionSchema).optional(),
        containerStatuses: z.array(containerStatusSchema).optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();

export type Pod = z.infer<typeof podSchema>;
export type PodContainerResources = z.infer<typeof resourcesSchema>;

export const podListSchema = z.object({ items: z.array(podSchema) }).passthrough();

export interface PodRef {
  namespace: string;
  name: string;
}

/** /api/v1/namespaces/<ns>/pods/<name> (names validated first). */
export function podPath(ref: PodRef): string {
  assertDnsLabel(ref.namespace, 'namespace');
  assertDnsSubdomain(ref.name, 'pod name');
  return `/api/v1/namespaces/${ref.namespace}/pods/${ref.name}`;
}

/** The in-place resize subresource (Kubernetes 1.33+): the only way a running pod's resources change. */
export function podResizePath(ref: PodRef): string {
  return `${podPath(ref)}/resize`;
}

/** The pod condition types of an in-place resize (core/v1, 1.33). */
export const podResizePending = 'PodResizePending';
export const podResizeInProgress = 'PodResizeInProgress';

export function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false;
}

/**
 * Whether the pod's node can resize in place: a 1.33+ kubelet with the feature reports the resources each container
 * runs with (status.containerStatuses[].resources); the API server itself decides from the same field.
 */
export function nodeReportsResources(pod: Pod): boolean {
  const statuses = pod.status?.containerStatuses ?? [];
  return statuses.length > 0 && statuses.every((status) => status.resources !== undefined);
}
