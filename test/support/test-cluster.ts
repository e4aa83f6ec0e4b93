// The cluster the suites run against. By default the real control plane (kube-apiserver, etcd and
// kube-controller-manager built from Kubernetes' Go modules: test/support/control-plane); `light: true`
// (or KRR_TEST_CLUSTER=light in the environment) starts our own API test server instead, which starts in
// milliseconds and needs no Go build (test/support/kube-api-server; the demo and most benchmarks use it).
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './control-plane';
import { startTestCluster as startLightTestCluster, type TestCluster } from './kube-api-server';

export type { TestCluster } from './kube-api-server';
export type { ControlPlane } from './control-plane';
// The metrics stores a cluster's usage history is queried from (`npm run test-cluster -- --prometheus <file>`).
export { startPrometheus, startVictoriaMetrics, type MetricsStore, type MetricsStoreOptions } from './prometheus';

export interface StartClusterOptions extends ControlPlaneOptions {
  light?: boolean;
}

export function wantsLightCluster(options: { light?: boolean } = {}): boolean {
  return options.light ?? process.env.KRR_TEST_CLUSTER === 'light';
}

export async function startTestCluster(options: StartClusterOptions = {}): Promise<TestCluster> {
  const { light, apiserverArgs, ...common } = options;
  if (wantsLightCluster({ light })) return startLightTestCluster(common);
  return startControlPlane({ ...common, ...(apiserverArgs ? { apiserverArgs } : {}) });
}

/** The real control plane's extras (audit log, harness kubectl), or undefined on the light server. */
export function asControlPlane(cluster: TestCluster): ControlPlane | undefined {
  return 'auditLogPath' in cluster ? (cluster as ControlPlane) : undefined;
}
