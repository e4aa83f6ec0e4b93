// A krr report (the sample report's real format) for one workload of a test's own: its current allocations and krr's
// recommendation, so a test or bench can seed a Deployment and have krr "recommend" for it.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

type Value = number | '?' | null;

export interface SingleWorkload {
  namespace: string;
  name: string;
  kind?: string;
  container: string;
  /** Cores and bytes, as krr writes them. */
  allocations: { requests: { cpu: number | null; memory: number | null }; limits: { cpu: number | null; memory: number | null } };
  recommended: { requests: { cpu: Value; memory: Value }; limits: { cpu: Value; memory: Value } };
}

export function singleWorkloadReport(workload: SingleWorkload): unknown {
  const sample = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'sample-report.json'), 'utf8')) as { scans: Array<Record<string, unknown> & { object: Record<string, unknown> }> };
  const template = sample.scans.find((scan) => scan.object.name === 'frontend');
  if (!template) throw new Error('the sample report has no frontend scan');
  const scan = structuredClone(template);
  scan.object = { ...scan.object, name: workload.name, namespace: workload.namespace, container: workload.container, kind: workload.kind ?? 'Deployment', hpa: null, pods: [], allocations: workload.allocations };
  const value = (v: Value) => ({ value: v, severity: v === '?' ? 'UNKNOWN' : 'WARNING' });
  const { requests, limits } = workload.recommended;
  scan.recommended = { requests: { cpu: value(requests.cpu), memory: value(requests.memory) }, limits: { cpu: value(limits.cpu), memory: value(limits.memory) }, info: { cpu: null, memory: null } };
  return { ...sample, scans: [scan] };
}
