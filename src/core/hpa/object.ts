// The parts of a live HorizontalPodAutoscaler (autoscaling/v2, or v1's targetCPUUtilizationPercentage) the plan reads:
// which workload it scales, on which resources by utilization, and its replica bounds and current count.
import { z } from 'zod';
import type { Hpa, ResourceName } from '../krr/model';
import type { KubeObject } from '../kube/object';
import type { HpaState } from './model';

const hpaSchema = z.object({
  spec: z
    .object({
      scaleTargetRef: z.object({ kind: z.string().optional(), name: z.string().optional() }).passthrough().optional(),
      minReplicas: z.number().int().optional(),
      maxReplicas: z.number().int().optional(),
      targetCPUUtilizationPercentage: z.number().optional(),
      metrics: z
        .array(
          z
            .object({
              type: z.string().optional(),
              resource: z.object({ name: z.string().optional(), target: z.object({ type: z.string().optional(), averageUtilization: z.number().optional() }).passthrough().optional() }).passthrough().optional(),
            })
            .passthrough(),
        )
        .optional(),
    })
    .passthrough()
    .optional(),
  status: z.object({ currentReplicas: z.number().int().optional() }).passthrough().optional(),
});

/** One live HPA as the plan uses it: what it targets, the resources it scales on by utilization, and its state. */
export interface LiveHpa {
  /** `Kind/name` of spec.scaleTargetRef. */
  target: string;
  resources: ResourceName[];
  /** Null when a bound or the current count is missing (then the report's HPA, if any, is used). */
  state: HpaState | null;
}

/** The HPAs of a namespace by the workload they scale (`Kind/name`); an object that does not parse is left out. */
export function liveHpasByTarget(objects: readonly KubeObject[]): Map<string, LiveHpa> {
  const byTarget = new Map<string, LiveHpa>();
  for (const object of objects) {
    const parsed = hpaSchema.safeParse(object);
    if (!parsed.success) continue;
    const spec = parsed.data.spec ?? {};
    const ref = spec.scaleTargetRef;
    if (!ref?.kind || !ref.name) continue;
    const targets: Partial<Record<ResourceName, number>> = {};
    const resources: ResourceName[] = [];
    for (const metric of spec.metrics ?? []) {
      const name = metric.resource?.name;
      if (metric.type !== 'Resource' || metric.resource?.target?.type !== 'Utilization' || (name !== 'cpu' && name !== 'memory')) continue;
      resources.push(name);
      const percent = metric.resource.target.averageUtilization;
      if (percent !== undefined && percent > 0) targets[name] = percent;
    }
    if (spec.targetCPUUtilizationPercentage !== undefined) {
      resources.push('cpu');
      if (spec.targetCPUUtilizationPercentage > 0) targets.cpu = spec.targetCPUUtilizationPercentage;
    }
    const current = parsed.data.status?.currentReplicas;
    // Every resource scaled on needs its target, or the projection would leave a metric out and under-count.
    const complete = spec.maxReplicas !== undefined && current !== undefined && resources.every((resource) => targets[resource] !== undefined);
    byTarget.set(`${ref.kind}/${ref.name}`, {
      target: `${ref.kind}/${ref.name}`,
      resources: [...new Set(resources)],
      state: complete ? { minReplicas: spec.minReplicas ?? 1, maxReplicas: spec.maxReplicas as number, currentReplicas: current, targets, source: 'live HPA' } : null,
    });
  }
  return byTarget;
}

/** krr's view of the HPA (report), when the live one cannot be read or is incomplete; null without a current count. */
export function reportHpaState(hpa: Hpa | null | undefined): HpaState | null {
  if (!hpa || hpa.currentReplicas === null) return null;
  const targets: Partial<Record<ResourceName, number>> = {};
  if (hpa.targetCpuUtilizationPercentage !== null) targets.cpu = hpa.targetCpuUtilizationPercentage;
  if (hpa.targetMemoryUtilizationPercentage !== null) targets.memory = hpa.targetMemoryUtilizationPercentage;
  return { minReplicas: hpa.minReplicas ?? 1, maxReplicas: hpa.maxReplicas, currentReplicas: hpa.currentReplicas, targets, source: 'report' };
}
