// The review panel's webview contract, inbound: the messages its page (media/review.js) sends. They are untrusted
// input: parseIncoming lets only known shapes through, and anything else is dropped.

export interface WorkloadRef {
  namespace: string;
  kind: string;
  name: string;
  /** Fleet review: the cluster (kube context) of the row. */
  cluster?: string;
  /** Target "Manifests": the source picked in the panel among those a proposal listed (never taken from the page's preview). */
  source?: string;
}

/** The commands the page may ask for (its buttons); any other id is dropped. */
const panelCommands = ['krr.scan', 'krr.openReport', 'krr.commitManifests', 'workbench.trust.manage'] as const;
type PanelCommand = (typeof panelCommands)[number];

type Incoming =
  | { type: 'ready' }
  | { type: 'selection'; workloads: WorkloadRef[] }
  | { type: 'preview'; workloads: WorkloadRef[]; includeLimits: boolean; target: 'cluster' | 'manifests' }
  | { type: 'apply' }
  | { type: 'try'; workload: WorkloadRef }
  | { type: 'show-output' }
  | { type: 'open-setting'; setting: string }
  | { type: 'command'; command: PanelCommand }
  | { type: 'use-source'; workload: WorkloadRef; source: string }
  | { type: 'usage-charts'; keys: string[] }
  | { type: 'usage-detail'; key: string };

/** A container row's key as the page sends it (reviewUsage.usageKeyOf): bounded, like every string from the page. */
const isUsageKey = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= 2048;

function isWorkloadList(value: unknown): value is WorkloadRef[] {
  return (
    Array.isArray(value) &&
    value.length <= 10_000 &&
    value.every(
      (item: unknown) =>
        typeof item === 'object' &&
        item !== null &&
        ['namespace', 'kind', 'name'].every((key) => typeof (item as Record<string, unknown>)[key] === 'string') &&
        ['undefined', 'string'].includes(typeof (item as Record<string, unknown>).cluster),
    )
  );
}

/** Messages from the webview are untrusted input: only known shapes pass. */
export function parseIncoming(message: unknown): Incoming | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const record = message as Record<string, unknown>;
  switch (record.type) {
    case 'ready':
    case 'apply':
    case 'show-output':
      return { type: record.type };
    case 'selection':
      return isWorkloadList(record.workloads) ? { type: record.type, workloads: record.workloads } : undefined;
    case 'preview':
      return isWorkloadList(record.workloads) ? { type: record.type, workloads: record.workloads, includeLimits: record.includeLimits === true, target: record.target === 'manifests' ? 'manifests' : 'cluster' } : undefined;
    case 'open-setting':
      // Only our own settings: a webview message must not open arbitrary UI.
      return typeof record.setting === 'string' && /^krr\.[A-Za-z.]+$/.test(record.setting) ? { type: 'open-setting', setting: record.setting } : undefined;
    case 'try': {
      // "Try on N pods…" for the one ticked workload: the panel checks it is a row of its review.
      const workload = record.workload as Record<string, unknown> | undefined;
      if (!isWorkloadList([workload])) return undefined;
      const { namespace, kind, name, cluster } = workload as unknown as WorkloadRef;
      return { type: 'try', workload: cluster === undefined ? { namespace, kind, name } : { namespace, kind, name, cluster } };
    }
    case 'use-source': {
      // "Use this source" under a workload several sources could define: the panel checks that it listed that id.
      const workload = record.workload as Record<string, unknown> | undefined;
      if (!isWorkloadList([workload]) || typeof record.source !== 'string' || record.source.length === 0 || record.source.length > 1024) return undefined;
      const { namespace, kind, name } = workload as unknown as WorkloadRef;
      return { type: 'use-source', workload: { namespace, kind, name }, source: record.source };
    }
    case 'usage-charts':
      // The rows the page renders: at most its chunk of 200 at a time, bounded here whatever it sends.
      return Array.isArray(record.keys) && record.keys.length <= 1000 && record.keys.every(isUsageKey) ? { type: 'usage-charts', keys: record.keys } : undefined;
    case 'usage-detail':
      return isUsageKey(record.key) ? { type: 'usage-detail', key: record.key } : undefined;
    case 'command':
      return (panelCommands as readonly unknown[]).includes(record.command) ? { type: 'command', command: record.command as PanelCommand } : undefined;
    default:
      return undefined;
  }
}
