// `krr.*` settings -> SessionSettings. Pure (no `vscode` import) so the trust decision is testable anywhere.
import { parseSessionSettings, type SessionSettings } from '../core/settings';
import { gateRules, gateValue, type SettingLayers } from '../core/session/settingsScope';
import { decideReadOnly } from './trust';

export { decideReadOnly, readOnlySettingReason, untrustedReason } from './trust';

/** Reads one setting by its key below `krr.` (e.g. `policy.maxIncreasePercent`). */
export type SettingReader = (key: string) => unknown;

/** Reads one setting's layers (`WorkspaceConfiguration.inspect`); given, the gate's settings may only be tightened by a workspace. */
export type SettingInspector = (key: string) => SettingLayers | undefined;

/** VS Code offers "" and null as "unset" for optional settings; the core wants the key absent. */
function optional(value: unknown): unknown {
  return value === '' || value === null ? undefined : value;
}

/** The schema's default of one key below `krr.` (e.g. `policy.maxIncreasePercent`). */
function schemaDefault(key: string): unknown {
  let value: unknown = parseSessionSettings({});
  for (const part of key.split('.')) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  return value;
}

/** Builds the raw settings object from `krr.*` keys, then validates it; throws SettingsError naming the key. */
export function readSessionSettings(read: SettingReader, trusted: boolean, inspect?: SettingInspector): SessionSettings {
  // The gate's settings (tool paths, read-only, confirmation, policy, timeouts) come from the user; a workspace only tightens.
  const get: SettingReader = (key) => {
    const rule = gateRules[key];
    if (!rule || !inspect) return read(key);
    const layers = inspect(key);
    // Without a package.json default, compare against the schema's: a workspace must not win by default.
    return gateValue(rule, layers?.defaultValue === undefined ? { ...layers, defaultValue: schemaDefault(key) } : layers);
  };
  const readOnlySetting = get('readOnly');
  const input = {
    krrPath: optional(get('krrPath')),
    kubectlPath: optional(get('kubectlPath')),
    helmPath: optional(get('helmPath')),
    kubeconfig: optional(get('kubeconfig')),
    context: optional(get('context')),
    namespaces: optional(get('namespaces')),
    selector: optional(get('selector')),
    strategy: optional(get('strategy')),
    prometheusUrl: optional(get('prometheusUrl')),
    historyHours: optional(get('historyHours')),
    cpuPercentile: optional(get('cpuPercentile')),
    memoryBufferPercent: optional(get('memoryBufferPercent')),
    prometheusLabel: optional(get('prometheusLabel')),
    prometheusClusterLabel: optional(get('prometheusClusterLabel')),
    prometheusClusterLabels: optional(get('prometheusClusterLabels')),
    prometheusHeaders: optional(get('prometheusHeaders')),
    allowHpa: optional(get('allowHpa')),
    useOomKillData: optional(get('useOomKillData')),
    oomMemoryBufferPercent: optional(get('oomMemoryBufferPercent')),
    jobGroupingLabels: optional(get('jobGroupingLabels')),
    jobGroupingLimit: optional(get('jobGroupingLimit')),
    maxWorkers: optional(get('maxWorkers')),
    contexts: optional(get('contexts')),
    scanParallelism: optional(get('scanParallelism')),
    policy: {
      protectedNamespaces: optional(get('policy.protectedNamespaces')),
      maxIncreasePercent: optional(get('policy.maxIncreasePercent')),
      maxDecreasePercent: optional(get('policy.maxDecreasePercent')),
      minCpuMillicores: optional(get('policy.minCpuMillicores')),
      minMemoryMiB: optional(get('policy.minMemoryMiB')),
      onLimit: optional(get('policy.onLimit')),
      productionNamespacePatterns: optional(get('policy.productionNamespacePatterns')),
      criticalWorkloadPatterns: optional(get('policy.criticalWorkloadPatterns')),
      memoryBelowPeak: optional(get('policy.memoryBelowPeak')),
      hpa: optional(get('policy.hpa')),
    },
    prices: { cpuHour: optional(get('prices.cpuHour')), memoryGiBHour: optional(get('prices.memoryGiBHour')) },
    confirmByTyping: optional(get('confirmByTyping')),
    planTtlSeconds: optional(get('planTtlSeconds')),
    applyConcurrency: optional(get('applyConcurrency')),
    snapshotRetentionDays: optional(get('snapshotRetentionDays')),
    scanCacheTtlSeconds: optional(get('scanCacheTtlSeconds')),
    approvalTimeoutSeconds: optional(get('approvalTimeoutSeconds')),
    declineCooldownSeconds: optional(get('declineCooldownSeconds')),
    rolloutWatch: { enabled: optional(get('rolloutWatch.enabled')), timeoutSeconds: optional(get('rolloutWatch.timeoutSeconds')) },
    trial: { windowSeconds: optional(get('trial.windowSeconds')), pollSeconds: optional(get('trial.pollSeconds')), maxPods: optional(get('trial.maxPods')), maxThrottledPercent: optional(get('trial.maxThrottledPercent')) },
    gitops: { directPatch: optional(get('gitops.directPatch')), kubeVersion: optional(get('gitops.kubeVersion')) },
    workspaceTrusted: trusted,
    // A non-boolean readOnly is passed through so validation names it instead of silently allowing writes.
    ...(typeof readOnlySetting === 'boolean' || readOnlySetting === undefined || readOnlySetting === null
      ? decideReadOnly(trusted, readOnlySetting === true)
      : { readOnly: readOnlySetting }),
  };
  return parseSessionSettings(input);
}
