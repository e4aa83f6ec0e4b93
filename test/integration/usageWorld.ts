// The usage history the evidence extension-host test reads (test/integration/environment.ts loads it into a real
// Prometheus; evidence.test.ts checks the extension's numbers against the generator's closed forms for it).
import type { UsageHistoryOptions } from '../support/usage-history';

export const MiB = 1024 * 1024;

/** Environment variables the hook passes to the extension host: where the Prometheus is, its auth file, the history's end. */
export const usageEnv = { url: 'KRR_TEST_PROMETHEUS_URL', authFile: 'KRR_TEST_PROMETHEUS_AUTH_FILE', end: 'KRR_TEST_USAGE_END' } as const;

/** Two workloads of the test cluster's `shop` namespace: a steady one (two pods) and one OOM-killed at its 256Mi limit. */
export function usageWorld(end: Date): UsageHistoryOptions {
  return {
    end,
    workloads: [
      { cluster: 'prod-eu-1', namespace: 'shop', kind: 'Deployment', name: 'frontend', pods: 2, containers: [{ name: 'web', pattern: 'steady', cpu: 0.25, memory: 128 * MiB }] },
      { cluster: 'prod-eu-1', namespace: 'shop', kind: 'Deployment', name: 'checkout-api', containers: [{ name: 'api', pattern: 'oomkill', limits: { memory: 256 * MiB }, memory: 128 * MiB }] },
    ],
  };
}
