// The sample report plus krr scans of the GitOps-owned workloads seeded in the test cluster (namespace gitops:
// cart is Argo CD's, payments a Flux Kustomization's, search a Flux HelmRelease's), written to a file.
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export const gitopsWorkloads = {
  cart: { namespace: 'gitops', kind: 'Deployment', name: 'cart' },
  payments: { namespace: 'gitops', kind: 'Deployment', name: 'payments' },
  search: { namespace: 'gitops', kind: 'Deployment', name: 'search' },
} as const;

const seeded: Record<string, { container: string; requests: { cpu: number; memory: number }; limits: { cpu: number | null; memory: number } }> = {
  cart: { container: 'api', requests: { cpu: 0.4, memory: 512 * 2 ** 20 }, limits: { cpu: 1, memory: 512 * 2 ** 20 } },
  payments: { container: 'api', requests: { cpu: 0.3, memory: 256 * 2 ** 20 }, limits: { cpu: null, memory: 512 * 2 ** 20 } },
  search: { container: 'search', requests: { cpu: 0.25, memory: 256 * 2 ** 20 }, limits: { cpu: 0.5, memory: 256 * 2 ** 20 } },
};

export function writeGitOpsReport(dir: string): string {
  const sample = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'sample-report.json'), 'utf8')) as { scans: Array<Record<string, unknown>> };
  const template = sample.scans.find((scan) => (scan.object as { name: string }).name === 'frontend') as { object: Record<string, unknown>; recommended: Record<string, unknown> };
  for (const [name, values] of Object.entries(seeded)) {
    const scan = structuredClone(template);
    scan.recommended = {
      requests: { cpu: { value: 0.1, severity: 'WARNING' }, memory: { value: 207618048, severity: 'GOOD' } },
      limits: { cpu: { value: '?', severity: 'UNKNOWN' }, memory: { value: 207618048, severity: 'GOOD' } },
      info: { cpu: null, memory: null },
    };
    Object.assign(scan.object, { name, namespace: 'gitops', container: values.container, hpa: null, pods: [], labels: {}, annotations: {}, allocations: { requests: values.requests, limits: values.limits, info: {} } });
    sample.scans.push(scan);
  }
  const file = path.join(dir, 'gitops-report.json');
  writeFileSync(file, JSON.stringify(sample));
  return file;
}
