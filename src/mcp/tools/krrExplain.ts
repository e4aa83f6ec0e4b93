// krr_explain: the usage behind one workload's recommendations, read by the extension from the configured Prometheus
// (never the model's numbers): statistics and downsampled series per container. No Prometheus, no evidence: it says so.
import { z } from 'zod';
import { evidenceKey, maxEvidencePoints, type ContainerEvidence } from '../../core/evidence/model';
import { describeEvidence } from '../../core/evidence/summary';
import type { RecommendedValue } from '../../core/krr/model';
import { describeCpu, describeMemory } from '../../core/quantity';
import { SessionError } from '../../core/session/session';
import { generatedId, namespaceName, objectName, workloadKind } from '../arguments';
import { orNull } from '../portable';
import { defineTool, errorResult, okResult } from '../tool';

const point = z.array(z.number()).length(2).describe('[unix seconds, value]');
const stat = (meaning: string) => orNull(z.number(), meaning);
const noSamples = 'no samples in the window';

export const krrExplain = defineTool({
  name: 'krr_explain',
  title: 'Explain a recommendation with usage',
  description:
    'Shows the usage behind one workload\'s recommendations, read by this extension from the configured Prometheus (krr.prometheusUrl) over krr\'s own window and step: ' +
    'per container CPU p50/p95/p99/max (cores; p95 is the number krr\'s CPU request comes from) and throttled %, memory peak (bytes) and when (the first of krr\'s steps at which it was reached), OOM kills and the limit that was OOM-killed, restarts, ' +
    'data coverage (points, first and last sample), and a CPU and a memory series of at most 200 points (bucket maxima). ' +
    'Reason from these numbers, not from guesses: a memory recommendation below the peak or below an OOM-killed limit is risky. ' +
    'status "unavailable" with a reason means there is no evidence (no Prometheus configured, unreachable, refused): say so and do not invent usage. ' +
    'The first call for a namespace queries Prometheus (four to eight requests); later calls reuse the evidence kept with the report.',
  inputSchema: {
    reportId: generatedId.describe('the reportId from krr_scan or krr_load_report'),
    namespace: namespaceName,
    kind: workloadKind,
    name: objectName,
    container: z.string().min(1).max(253).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a container name').optional().describe('one container; default all of the workload'),
  },
  outputSchema: {
    status: z.enum(['available', 'unavailable']),
    reason: z.string().optional().describe('why there is no evidence (status unavailable)'),
    readAt: z.string().optional(),
    containers: z.array(
      z.object({
        container: z.string(),
        window: z.object({ start: z.string(), end: z.string(), stepSeconds: z.number() }),
        pods: z.array(z.string()),
        cpu: z.object({
          p50: stat(noSamples),
          p95: stat(noSamples),
          p99: stat(noSamples),
          max: stat(noSamples),
          throttledPercent: stat('no CPU limit or no CFS series'),
          series: z.array(point).max(maxEvidencePoints),
        }),
        memory: z.object({ max: stat(noSamples), maxAt: orNull(z.string(), noSamples), series: z.array(point).max(maxEvidencePoints) }),
        oomKills: z.number(),
        oomKilledLimit: stat('not OOM-killed in the window'),
        restarts: z.number(),
        coverage: z.object({ points: z.number(), first: orNull(z.string(), noSamples), last: orNull(z.string(), noSamples) }),
      }),
    ),
  },
  annotations: { readOnlyHint: true, openWorldHint: true },
  async handler(args, extra, { session }) {
    try {
      await session.openReport(args.reportId);
      const report = session.getReport(args.reportId);
      const summary = session.reportSummary(args.reportId);
      const workload = report.workloads.find((candidate) => candidate.namespace === args.namespace && candidate.kind === args.kind && candidate.name === args.name);
      if (!workload) throw new SessionError('invalid-argument', `The report has no ${args.kind} ${args.namespace}/${args.name}.`, 'Use a namespace, kind and name from krr_list_recommendations.');
      const containers = workload.containers.filter((container) => args.container === undefined || container.container === args.container);
      if (containers.length === 0) throw new SessionError('invalid-argument', `${args.kind} ${args.namespace}/${args.name} has no container ${args.container ?? ''} in the report.`, `Its containers: ${workload.containers.map((c) => c.container).join(', ')}.`);
      const cluster = summary.context ?? workload.cluster;
      const targets = containers.map((container) => ({ cluster, namespace: workload.namespace, kind: workload.kind, name: workload.name, container: container.container }));
      const result = await session.evidenceFor(args.reportId, targets, extra.signal);
      const heading = `${workload.kind} ${workload.namespace}/${workload.name}`;
      if (result.status === 'unavailable') {
        return okResult(`No evidence for ${heading}: ${result.reason}. No usage is known here; do not estimate it.`, { status: 'unavailable', reason: result.reason, containers: [] });
      }
      const byKey = new Map(result.containers.map((evidence) => [evidenceKey(evidence), evidence]));
      const found = targets.flatMap((target) => byKey.get(evidenceKey(target)) ?? []);
      const lines = [`Usage of ${heading} from Prometheus (read ${result.readAt}):`];
      for (const container of containers) {
        const evidence = found.find((entry) => entry.container === container.container);
        const recommended = `recommended: cpu request ${value(container.recommended.requests.cpu, describeCpu)}, memory request ${value(container.recommended.requests.memory, describeMemory)}, memory limit ${value(container.recommended.limits.memory, describeMemory)}`;
        lines.push(`[${container.container}] ${evidence ? describeEvidence(evidence) : 'no evidence'} | ${recommended}`);
      }
      return okResult(lines.join('\n'), { status: 'available', readAt: result.readAt, containers: found.map(structured) });
    } catch (error) {
      return errorResult(error);
    }
  },
});

function value(recommended: RecommendedValue, describe: (amount: number) => string): string {
  return recommended.kind === 'value' ? describe(recommended.amount) : recommended.kind === 'unset' ? 'unset' : '? (unknown)';
}

function structured(evidence: ContainerEvidence) {
  return {
    container: evidence.container,
    window: evidence.window,
    pods: evidence.pods,
    cpu: { ...evidence.cpu, series: evidence.cpu.series.map(([time, amount]) => [time, amount]) },
    memory: { ...evidence.memory, series: evidence.memory.series.map(([time, amount]) => [time, amount]) },
    oomKills: evidence.oomKills,
    oomKilledLimit: evidence.oomKilledLimit,
    restarts: evidence.restarts,
    coverage: evidence.coverage,
  };
}
