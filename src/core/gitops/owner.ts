// Who reconciles a live object from Git: Argo CD or Flux, read from its labels, annotations and managedFields.
// Pure. Why it matters: a direct patch of such an object is reverted at the next sync (Argo CD self-heal, Flux's
// drift correction), so the change belongs in Git; policy blocks the patch by default (krr.gitops.directPatch).
import type { KubeObject } from '../kube/object';
import { containersPathByKind } from '../kube/object';
import type { WorkloadKind } from '../krr/model';
import { displayText } from '../text';
import { describeOwner, type GitOpsOwner, type GitOpsTool } from './ownerName';

export type { GitOpsOwner, GitOpsTool } from './ownerName';

export const argoTrackingAnnotation = 'argocd.argoproj.io/tracking-id';
const instanceLabel = 'app.kubernetes.io/instance';
const fluxKustomizeName = 'kustomize.toolkit.fluxcd.io/name';
const fluxKustomizeNamespace = 'kustomize.toolkit.fluxcd.io/namespace';
const fluxHelmName = 'helm.toolkit.fluxcd.io/name';
const fluxHelmNamespace = 'helm.toolkit.fluxcd.io/namespace';
const fluxReconcile = 'kustomize.toolkit.fluxcd.io/reconcile';

/** Field managers of the controllers (Argo CD's application controller, Flux's two). */
const managers: Readonly<Record<string, GitOpsTool>> = {
  'argocd-controller': 'argocd',
  'kustomize-controller': 'flux-kustomize',
  'helm-controller': 'flux-helm',
};

/**
 * The GitOps owner of `object`, or null. Rules, strongest first:
 * 1. Flux labels (`kustomize.toolkit.fluxcd.io/name`, `helm.toolkit.fluxcd.io/name`, with their `/namespace`): certain.
 * 2. Argo CD's `argocd.argoproj.io/tracking-id` (`<app>:<group>/<kind>:<ns>/<name>`): certain when it names this
 *    object; one naming another object was copied from elsewhere (Argo CD itself ignores it): a hint.
 * 3. A controller's field manager owning the pod template's containers in managedFields: certain (the
 *    controller last applied them), nameless unless 1 or 2 name the owner.
 * 4. `app.kubernetes.io/instance` alone: a hint for Argo CD's label tracking — unless the object is a Helm release
 *    (`meta.helm.sh/release-name` equal to it), since Helm sets the label too and Argo CD never sets that annotation.
 */
export function gitOpsOwner(object: KubeObject, kind?: WorkloadKind): GitOpsOwner | null {
  const labels = object.metadata.labels ?? {};
  const annotations = object.metadata.annotations ?? {};
  const found: GitOpsOwner[] = [];
  const text = (value: string) => displayText(value, 253);

  for (const [tool, nameKey, namespaceKey] of [
    ['flux-kustomize', fluxKustomizeName, fluxKustomizeNamespace],
    ['flux-helm', fluxHelmName, fluxHelmNamespace],
  ] as const) {
    const name = labels[nameKey];
    if (!name) continue;
    const namespace = labels[namespaceKey];
    found.push({
      tool,
      name: text(name),
      ...(namespace ? { namespace: text(namespace) } : {}),
      evidence: [`label ${nameKey}=${text(name)}`, ...(namespace ? [`label ${namespaceKey}=${text(namespace)}`] : [])],
      confidence: 'certain',
    });
  }

  const tracking = annotations[argoTrackingAnnotation];
  if (tracking) {
    const parsed = parseTrackingId(tracking);
    const evidence = `annotation ${argoTrackingAnnotation}=${text(tracking)}`;
    if (parsed) {
      const names = parsed.kind === object.kind && parsed.name === object.metadata.name && (parsed.namespace === (object.metadata.namespace ?? '') || parsed.namespace === '') && parsed.group === groupOf(object.apiVersion);
      found.push({
        tool: 'argocd',
        name: text(parsed.app),
        ...(parsed.appNamespace ? { namespace: text(parsed.appNamespace) } : {}),
        evidence: names ? [evidence] : [evidence, 'it names another object (copied from one Argo CD tracks?), so Argo CD does not manage this one by it'],
        confidence: names ? 'certain' : 'hint',
      });
    } else {
      found.push({ tool: 'argocd', name: null, evidence: [evidence, 'not in the form <app>:<group>/<kind>:<namespace>/<name>'], confidence: 'hint' });
    }
  }

  for (const manager of containerManagers(object, kind)) {
    const tool = managers[manager.manager];
    if (!tool) continue;
    found.push({ tool, name: null, evidence: [`managedFields: ${manager.manager} (${manager.operation}) owns the containers`], confidence: 'certain' });
  }

  const instance = labels[instanceLabel];
  const helmRelease = annotations['meta.helm.sh/release-name'];
  if (instance && !tracking && helmRelease !== instance) {
    found.push({ tool: 'argocd', name: text(instance), evidence: [`label ${instanceLabel}=${text(instance)} (Argo CD's label tracking, but Helm charts set it too)`], confidence: 'hint' });
  }

  const owner = strongest(found);
  if (owner && owner.tool === 'flux-kustomize' && annotations[fluxReconcile] === 'disabled') {
    owner.reconcileDisabled = true;
    owner.evidence.push(`annotation ${fluxReconcile}=disabled (Flux does not reconcile it now)`);
  }
  return owner;
}

/** `<app>:<group>/<kind>:<namespace>/<name>`; an app in another namespace is `<namespace>_<app>` (apps in any namespace). */
export function parseTrackingId(value: string): { app: string; appNamespace?: string; group: string; kind: string; namespace: string; name: string } | null {
  const match = /^([^:]+):([^/:]*)\/([^:/]+):([^/]*)\/([^/]+)$/.exec(value);
  if (!match) return null;
  const [, appPart, group, kind, namespace, name] = match as unknown as [string, string, string, string, string, string];
  const split = appPart.indexOf('_');
  return {
    app: split > 0 ? appPart.slice(split + 1) : appPart,
    ...(split > 0 ? { appNamespace: appPart.slice(0, split) } : {}),
    group,
    kind,
    namespace,
    name,
  };
}

interface ManagedFieldsEntry {
  manager?: unknown;
  operation?: unknown;
  fieldsV1?: unknown;
}

/** Field managers whose fieldsV1 reach into the pod template's containers (`f:spec` › … › `f:containers`). */
function containerManagers(object: KubeObject, kind?: WorkloadKind): Array<{ manager: string; operation: string }> {
  const entries = (object.metadata as { managedFields?: unknown }).managedFields;
  if (!Array.isArray(entries)) return [];
  const path = (containersPathByKind[kind ?? (object.kind as WorkloadKind)] ?? ['spec', 'template', 'spec', 'containers']).map((segment) => `f:${segment}`);
  const result: Array<{ manager: string; operation: string }> = [];
  for (const entry of entries as ManagedFieldsEntry[]) {
    if (typeof entry?.manager !== 'string') continue;
    let node: unknown = entry.fieldsV1;
    for (const segment of path) node = isRecord(node) ? node[segment] : undefined;
    if (isRecord(node)) result.push({ manager: entry.manager, operation: typeof entry.operation === 'string' ? entry.operation : '?' });
  }
  return result;
}

/** Certain over hint; a named owner over a nameless one of the same tool, whose evidence it takes. */
function strongest(found: GitOpsOwner[]): GitOpsOwner | null {
  if (found.length === 0) return null;
  const rank = (owner: GitOpsOwner) => (owner.confidence === 'certain' ? 2 : 0) + (owner.name !== null ? 1 : 0);
  const best = [...found].sort((a, b) => rank(b) - rank(a))[0] as GitOpsOwner;
  const evidence = new Set(best.evidence);
  for (const other of found) if (other !== best && other.tool === best.tool) for (const line of other.evidence) evidence.add(line);
  // A nameless certain owner (managedFields) confirms a hint of the same tool: the name comes from the hint.
  const named = best.name === null ? found.find((other) => other.tool === best.tool && other.name !== null) : undefined;
  const others = found.filter((other) => other.tool !== best.tool && other.confidence === 'certain');
  for (const other of others) evidence.add(`also: ${describeOwner(other)} (${other.evidence.join('; ')})`);
  return {
    ...best,
    ...(named ? { name: named.name, ...(named.namespace ? { namespace: named.namespace } : {}) } : {}),
    evidence: [...evidence],
  };
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The reads `readGitOpsOwners` needs (the real one is `Kubectl`). */
export interface OwnerReader {
  listObjects(kind: WorkloadKind, namespace: string, signal?: AbortSignal): Promise<KubeObject[]>;
}

export interface OwnerRef {
  namespace: string;
  kind: WorkloadKind;
  name: string;
}

/**
 * Owners of many workloads, best effort: one list per kind and namespace (one kubectl process, whatever the number
 * of names; a missing object does not fail the others), at most `concurrency` at once. A workload whose list could
 * not be read, or that does not exist, is left out of the result: its owner stays unknown (never guessed as "none").
 */
export async function readGitOpsOwners(reader: OwnerReader, refs: readonly OwnerRef[], options: { concurrency: number; signal?: AbortSignal }): Promise<Map<string, GitOpsOwner | null>> {
  const groups = new Map<string, OwnerRef[]>();
  for (const ref of refs) {
    if (!containersPathByKind[ref.kind]) continue;
    const key = `${ref.kind}\u0000${ref.namespace}`;
    groups.set(key, [...(groups.get(key) ?? []), ref]);
  }
  const result = new Map<string, GitOpsOwner | null>();
  const queue = [...groups.values()];
  const worker = async () => {
    for (let group = queue.shift(); group; group = queue.shift()) {
      const first = group[0] as OwnerRef;
      try {
        const objects = await reader.listObjects(first.kind, first.namespace, options.signal);
        const byName = new Map(objects.map((object) => [object.metadata.name, object]));
        for (const ref of group) {
          const live = byName.get(ref.name);
          if (live) result.set(ownerKey(ref), gitOpsOwner(live, ref.kind));
        }
      } catch {
        // unknown for this group; a later read (or the proposal) tells
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, queue.length)) }, worker));
  return result;
}

export function ownerKey(ref: { namespace: string; kind: string; name: string }): string {
  return `${ref.namespace}/${ref.kind}/${ref.name}`;
}
