// What Prometheus recorded of the trial pods since the trial began: each container's memory peak (the working set, as
// krr reads memory) and the share of CPU periods it was throttled in (cAdvisor's CFS counters), so a trial whose new CPU
// limit throttles the container fails, and a passing trial's line says how high memory went. One instant query.
import { clusterFragment, duration, promString, type ClusterSelector } from '../evidence/queries';
import type { PrometheusAnswer } from '../evidence/reader';

export interface TrialUsage {
  /** Highest working set per container over the trial pods (bytes). */
  peakMemory: Record<string, number>;
  /** Throttled CFS periods / all periods per container, in percent (absent: no CPU limit, so no periods). */
  throttledPercent: Record<string, number>;
}

const regexSpecial = /[.*+?^${}()|[\]\\]/g;

/** The one query of a trial's usage: three tagged branches over the trial pods, `seconds` back from the evaluation time. */
export function trialUsageQuery(namespace: string, pods: readonly string[], seconds: number, cluster?: ClusterSelector): string {
  const podPattern = promString(pods.map((pod) => pod.replace(regexSpecial, '\\$&')).join('|'));
  const selector = `namespace=${promString(namespace)}, pod=~${podPattern}, container!="", container!="POD"${clusterFragment(cluster)}`;
  const range = duration(Math.max(60, Math.round(seconds)));
  const tag = (signal: string, expression: string) => `label_replace(${expression}, "signal", "${signal}", "", "")`;
  return [
    tag('peak', `max by (container) (max_over_time(container_memory_working_set_bytes{${selector}}[${range}]))`),
    tag('throttled', `sum by (container) (increase(container_cpu_cfs_throttled_periods_total{${selector}}[${range}]))`),
    tag('periods', `sum by (container) (increase(container_cpu_cfs_periods_total{${selector}}[${range}]))`),
  ].join(' or ');
}

export function trialUsageOf(answer: PrometheusAnswer): TrialUsage {
  const peakMemory: Record<string, number> = {};
  const throttled: Record<string, number> = {};
  const periods: Record<string, number> = {};
  for (const series of answer) {
    const container = series.metric.container;
    const value = Number(series.value?.[1]);
    if (!container || !Number.isFinite(value) || value < 0) continue;
    if (series.metric.signal === 'peak') peakMemory[container] = value;
    else if (series.metric.signal === 'throttled') throttled[container] = value;
    else if (series.metric.signal === 'periods') periods[container] = value;
  }
  const throttledPercent: Record<string, number> = {};
  for (const [container, total] of Object.entries(periods)) if (total > 0) throttledPercent[container] = Math.round((1000 * (throttled[container] ?? 0)) / total) / 10;
  return { peakMemory, throttledPercent };
}
