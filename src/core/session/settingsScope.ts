// Settings that guard the approval gate, merged so that a workspace can only make them stricter. A repository's
// `.vscode/settings.json` is written by whoever wrote the repository: in a trusted workspace it must still not point
// krr.kubectlPath at a wrapper, turn krr.readOnly off over the user's on, or empty the typed confirmation or the
// protected namespaces. Pure: the editor passes what `WorkspaceConfiguration.inspect()` returns.

/** The layers of one setting, named as VS Code's `inspect()` names them. */
export interface SettingLayers {
  defaultValue?: unknown;
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

/**
 * - `user-only`: the workspace value is ignored (tool paths, kubeconfig, the Prometheus URL that receives the
 *   stored auth header); package.json also gives these `"scope": "machine"`.
 * - `any-true`: on if the user or a workspace turns it on (read-only).
 * - `union`: the user's list (or the default) plus whatever a workspace adds (protected namespaces, typed confirmation).
 * - `min` / `max`: the stricter of the user's and the workspace's number.
 * - `strictest-mode`: the stricter of `allow` < `warn` < `model` < `block` (a GitOps-owned object's direct patch, memory
 *   below its peak, a request an HPA scales on).
 */
export type GateRule = 'user-only' | 'any-true' | 'union' | 'min' | 'max' | 'strictest-mode';

// `model` (krr.policy.hpa) lets a change through only with a projection: stricter than a warning, looser than a block.
const modeOrder: readonly unknown[] = ['allow', 'warn', 'model', 'block'];

/** Keys below `krr.`; every other setting is read as VS Code resolves it (workspace over user). */
export const gateRules: Readonly<Record<string, GateRule>> = {
  krrPath: 'user-only',
  kubectlPath: 'user-only',
  helmPath: 'user-only',
  kubeconfig: 'user-only',
  prometheusUrl: 'user-only',
  // Secrets that follow the Prometheus URL: a repository must not add a header (or read one by pointing the URL elsewhere).
  prometheusHeaders: 'user-only',
  readOnly: 'any-true',
  confirmByTyping: 'union',
  'policy.protectedNamespaces': 'union',
  'policy.productionNamespacePatterns': 'union',
  'policy.criticalWorkloadPatterns': 'union',
  'policy.maxIncreasePercent': 'min',
  'policy.maxDecreasePercent': 'min',
  'policy.minCpuMillicores': 'max',
  'policy.minMemoryMiB': 'max',
  approvalTimeoutSeconds: 'min',
  planTtlSeconds: 'min',
  declineCooldownSeconds: 'max',
  'rolloutWatch.enabled': 'any-true',
  'gitops.directPatch': 'strictest-mode',
  'policy.memoryBelowPeak': 'strictest-mode',
  'policy.hpa': 'strictest-mode',
};

/** "" and null mean unset in VS Code's settings UI. */
function isSet(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

/**
 * The value the gate uses. A workspace value of the wrong type is passed on unchanged, so validation names the key
 * and the extension fails closed (an invalid setting makes every write refuse) instead of ignoring it silently.
 */
export function gateValue(rule: GateRule, layers: SettingLayers | undefined): unknown {
  if (!layers) return undefined;
  const base = isSet(layers.globalValue) ? layers.globalValue : layers.defaultValue;
  if (rule === 'user-only') return base;
  let value = base;
  for (const workspace of [layers.workspaceValue, layers.workspaceFolderValue]) {
    if (!isSet(workspace)) continue;
    value = tighten(rule, value, workspace);
  }
  return value;
}

function tighten(rule: Exclude<GateRule, 'user-only'>, current: unknown, workspace: unknown): unknown {
  switch (rule) {
    case 'any-true':
      if (typeof workspace !== 'boolean') return workspace;
      return current === true || workspace;
    case 'union': {
      if (!Array.isArray(workspace)) return workspace;
      const base: unknown[] = Array.isArray(current) ? current : [];
      return [...new Set([...base, ...(workspace as unknown[])])];
    }
    case 'min':
    case 'max': {
      if (typeof workspace !== 'number' || Number.isNaN(workspace)) return workspace;
      if (typeof current !== 'number') return workspace;
      return rule === 'min' ? Math.min(current, workspace) : Math.max(current, workspace);
    }
    case 'strictest-mode': {
      if (!modeOrder.includes(workspace)) return workspace;
      return modeOrder.indexOf(current) > modeOrder.indexOf(workspace) ? current : workspace;
    }
  }
}

/** Whether writes are switched off by krr.readOnly in any layer (for the status bar, before the schema loads). */
export function readOnlyFromLayers(layers: SettingLayers | undefined): boolean {
  return gateValue('any-true', layers) === true;
}
