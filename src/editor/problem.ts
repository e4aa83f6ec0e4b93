// What went wrong, in words a person can act on, with the buttons that fix it. Pure: no `vscode` import.

export const krrInstallUrl = 'https://github.com/robusta-dev/krr#installation';
export const kubectlInstallUrl = 'https://kubernetes.io/docs/tasks/tools/';

export type ProblemAction =
  | { label: string; type: 'open-url'; url: string }
  | { label: string; type: 'open-setting'; setting: string }
  | { label: string; type: 'command'; command: string };

export interface Problem {
  message: string;
  actions: ProblemAction[];
}

interface ErrorFields {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  kind?: unknown;
  hint?: unknown;
  key?: unknown;
}

const showOutput: ProblemAction = { label: 'Show Output', type: 'command', command: 'krr.showOutput' };
const manageTrust: ProblemAction = { label: 'Manage Workspace Trust', type: 'command', command: 'workbench.trust.manage' };

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Reads SettingsError, SessionError, KrrError and KubectlError by their fields (name, code/kind, hint, key). */
export function explainProblem(error: unknown): Problem {
  if (typeof error !== 'object' || error === null) return { message: `KRR: ${String(error)}`, actions: [showOutput] };
  const fields = error as ErrorFields;
  const name = text(fields.name);
  const message = text(fields.message) || 'unknown error';
  const hint = text(fields.hint);
  const code = text(fields.code) || text(fields.kind);
  const full = hint && !message.includes(hint) ? `${message} ${hint}` : message;
  const lower = `${name} ${code} ${message} ${hint}`.toLowerCase();
  // Only a missing executable, not a missing object (KubectlError kind 'not-found' is about a workload).
  const missing = code === 'not-installed' || /enoent|spawn|command not found|not installed|was not found at|no such file|not executable/.test(lower);

  if (name === 'SettingsError') {
    const key = text(fields.key);
    return { message, actions: [{ label: 'Open Settings', type: 'open-setting', setting: key ? `krr.${key}` : 'krr' }] };
  }
  const isKrr = name === 'KrrError' || code === 'krr' || code.startsWith('krr-');
  const isKubectl = name === 'KubectlError' || code === 'kubectl' || code.startsWith('kubectl-');
  if (isKrr && missing) {
    return {
      message: `krr was not found. ${full} Install krr, or point the setting krr.krrPath at it.`,
      actions: [
        { label: 'Install krr', type: 'open-url', url: krrInstallUrl },
        { label: 'Set krr path', type: 'open-setting', setting: 'krr.krrPath' },
      ],
    };
  }
  if (isKubectl && missing) {
    return {
      message: `kubectl was not found. ${full} Install kubectl, or point the setting krr.kubectlPath at it.`,
      actions: [
        { label: 'Install kubectl', type: 'open-url', url: kubectlInstallUrl },
        { label: 'Set kubectl path', type: 'open-setting', setting: 'krr.kubectlPath' },
      ],
    };
  }
  if (/context/.test(lower) && /no context|current-context|context .*(not found|does not exist)|no current|not set/.test(lower)) {
    return {
      message: `No usable Kubernetes context. ${full}`,
      actions: [
        { label: 'Set context', type: 'open-setting', setting: 'krr.context' },
        { label: 'Set kubeconfig', type: 'open-setting', setting: 'krr.kubeconfig' },
      ],
    };
  }
  if (/prometheus/.test(lower)) {
    return {
      message: `krr could not read metrics from Prometheus. ${full}`,
      actions: [
        { label: 'Set Prometheus URL', type: 'open-setting', setting: 'krr.prometheusUrl' },
        { label: 'Set auth header', type: 'command', command: 'krr.setPrometheusAuthHeader' },
        showOutput,
      ],
    };
  }
  if (code === 'read-only') {
    // Trust, not the setting, is the cause in Restricted Mode: krr.readOnly cannot lift that.
    if (/not trusted/.test(lower)) return { message: full, actions: [manageTrust] };
    return { message: full, actions: [{ label: 'Open Settings', type: 'open-setting', setting: 'krr.readOnly' }] };
  }
  return { message: full, actions: [showOutput] };
}
