// What the finders share: a workload's identity in a manifest, its containers, and the check that an edited
// manifest (or rendering) carries exactly the desired values and nothing else changed.
import { isMap, type Document, type YAMLMap } from 'yaml';
import type { AllocationKind, ResourceName, WorkloadKind } from '../krr/model';
import { allocationKinds, resourceNames } from '../krr/model';
import { containersPathByKind } from '../kube/object';
import { readPath, sameResources, type DesiredResources } from '../plan/build';
import type { FieldChange } from '../plan/model';
import { parseQuantity, sameQuantity } from '../quantity';
import type { WorkloadTarget } from './model';
import { findContainer } from './yamlEdit';

export const groupByKind: Partial<Record<WorkloadKind, string>> = {
  Deployment: 'apps',
  StatefulSet: 'apps',
  DaemonSet: 'apps',
  Job: 'batch',
  CronJob: 'batch',
  Rollout: 'argoproj.io',
};

export function groupOf(apiVersion: unknown): string | null {
  if (typeof apiVersion !== 'string') return null;
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

export interface ManifestIdentity {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string | null;
}

export function identityOf(value: unknown): ManifestIdentity | null {
  if (!value || typeof value !== 'object') return null;
  const object = value as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || typeof object.metadata?.name !== 'string') return null;
  return { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name, namespace: typeof object.metadata.namespace === 'string' ? object.metadata.namespace : null };
}

/** Same kind, group and name; the namespace is compared by the caller (its default depends on the source). */
export function sameWorkload(identity: ManifestIdentity, target: Pick<WorkloadTarget, 'kind' | 'group' | 'name'>, name = target.name): boolean {
  return identity.kind === target.kind && groupOf(identity.apiVersion) === target.group && identity.name === name;
}

export function containersPath(kind: string): readonly string[] {
  const path = containersPathByKind[kind as WorkloadKind];
  if (!path) throw new Error(`${kind} objects have no known container list`);
  return path;
}

/**
 * The target workload as far as values decide it: only its containers (name and resources), at the kind's container
 * path. Enough for checkRendered and changesFor, which compare resources only.
 */
export function workloadWithContainers(target: Pick<WorkloadTarget, 'kind' | 'group' | 'name' | 'namespace'>, containers: ReadonlyArray<{ name: string; resources: unknown }>): Record<string, unknown> {
  const object: Record<string, unknown> = { apiVersion: `${target.group ? `${target.group}/` : ''}v1`, kind: target.kind, metadata: { name: target.name, namespace: target.namespace } };
  let node = object;
  const segments = containersPath(target.kind);
  segments.forEach((segment, index) => {
    if (index === segments.length - 1) node[segment] = [...containers];
    else node = (node[segment] ??= {}) as Record<string, unknown>;
  });
  return object;
}

/** The container mapping in a parsed manifest document. */
export function containerNode(document: Document.Parsed, kind: string, container: string): YAMLMap | undefined {
  return findContainer(document.getIn([...containersPath(kind)], true), container);
}

export function hasContainersNode(document: Document.Parsed, kind: string): boolean {
  const node = document.getIn([...containersPath(kind)], true);
  return node !== undefined && !isMap(node);
}

type Resources = Partial<Record<AllocationKind, Record<string, unknown>>>;

function resourcesOf(object: unknown, kind: string, container: string): Resources | null {
  const containers = readPath(object, containersPath(kind));
  if (!Array.isArray(containers)) return null;
  const found = containers.find((item) => item && typeof item === 'object' && (item as { name?: unknown }).name === container) as { resources?: Resources } | undefined;
  return found ? (found.resources ?? {}) : null;
}

/** The fields to write for one container: a value, or null for a removal (there only with allowLimitRemoval). */
export function wantedFields(desired: DesiredResources): Array<{ allocation: AllocationKind; resource: ResourceName; value: string | null }> {
  const fields = [];
  for (const allocation of allocationKinds) {
    for (const resource of resourceNames) {
      const value = desired[allocation][resource];
      if (typeof value === 'string' || value === null) fields.push({ allocation, resource, value });
    }
  }
  return fields;
}

/**
 * The field changes that give `object` (a manifest or a rendered workload) the desired values; fields that already
 * hold the value (by quantity) are left out. Containers missing from the object are returned by name.
 */
export function changesFor(object: unknown, kind: string, desired: ReadonlyMap<string, DesiredResources>): { changes: FieldChange[]; missing: string[] } {
  const changes: FieldChange[] = [];
  const missing: string[] = [];
  for (const [container, wanted] of desired) {
    const resources = resourcesOf(object, kind, container);
    if (resources === null) {
      missing.push(container);
      continue;
    }
    for (const { allocation, resource, value } of wantedFields(wanted)) {
      const raw = resources[allocation]?.[resource];
      const from = raw === undefined || raw === null ? null : String(raw);
      // A removal of what is not set is no change.
      if (value === null ? from === null : from !== null && safeSame(from, value)) continue;
      changes.push({ container, allocation, resource, from, to: value, fromAmount: from === null ? null : safeParse(from), toAmount: value === null ? null : parseQuantity(value) });
    }
  }
  return { changes, missing };
}

/**
 * null when `after` equals `before` with exactly `changes` applied (quantities compared by value), otherwise what
 * differs: the re-render check that decides whether an edit is offered.
 */
export function checkRendered(before: unknown, after: unknown, kind: string, changes: readonly FieldChange[]): string | null {
  if (after === undefined || after === null) return 'the workload is no longer rendered';
  let expected: unknown;
  try {
    expected = withChanges(before, kind, changes);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  // An emptied `limits: {}` or `resources: {}` reads as none (a chart prints `resources: {}` for empty values).
  if (sameResources(withoutEmptyResources(expected, kind), withoutEmptyResources(after, kind))) return null;
  for (const change of changes) {
    const actual = resourcesOf(after, kind, change.container)?.[change.allocation]?.[change.resource];
    if (change.to === null ? actual !== undefined && actual !== null : actual === undefined || !safeSame(String(actual), change.to)) return `${change.container} ${change.allocation}.${change.resource} renders as ${actual === undefined ? 'unset' : String(actual)}, not ${change.to ?? 'unset'}`;
  }
  const names = (object: unknown) => {
    const containers = readPath(object, containersPath(kind));
    return Array.isArray(containers) ? containers.map((container) => (container as { name?: unknown }).name).join(',') : '';
  };
  if (names(expected) !== names(after)) return `the containers would be reordered (${names(expected)} → ${names(after)})`;
  return 'other fields of the workload would change too';
}

/** `object` (a manifest or a rendered workload) with `changes` applied, as a new object. */
export function withChanges(object: unknown, kind: string, changes: readonly FieldChange[]): Record<string, unknown> {
  const expected = structuredClone(object) as Record<string, unknown>;
  const containers = readPath(expected, containersPath(kind));
  for (const change of changes) {
    const container = Array.isArray(containers) ? (containers.find((item) => (item as { name?: unknown }).name === change.container) as Record<string, unknown> | undefined) : undefined;
    if (!container) throw new Error(`container ${change.container} is missing`);
    const resources = (container.resources ??= {}) as Record<string, Record<string, unknown>>;
    if (change.to === null) {
      // A removal: the key goes, and an allocation (then `resources`) left empty goes with it, as the edit removes it.
      const block = resources[change.allocation];
      if (block) delete block[change.resource];
      if (block && Object.keys(block).length === 0) delete resources[change.allocation];
      if (Object.keys(resources).length === 0) delete container.resources;
      continue;
    }
    const block = (resources[change.allocation] ??= {});
    block[change.resource] = change.to;
  }
  return expected;
}

/** A copy without empty allocation maps, and without `resources` left empty, in the containers. */
function withoutEmptyResources(object: unknown, kind: string): unknown {
  const copy = structuredClone(object);
  const containers = readPath(copy, containersPath(kind));
  if (!Array.isArray(containers)) return copy;
  for (const container of containers as Array<Record<string, unknown>>) {
    const resources = container?.resources as Record<string, unknown> | undefined;
    if (!resources || typeof resources !== 'object') continue;
    for (const [allocation, block] of Object.entries(resources)) if (block && typeof block === 'object' && Object.keys(block).length === 0) delete resources[allocation];
    if (Object.keys(resources).length === 0) delete container.resources;
  }
  return copy;
}

function safeSame(a: string, b: string): boolean {
  try {
    return sameQuantity(a, b);
  } catch {
    return a === b;
  }
}

function safeParse(value: string): number | null {
  try {
    return parseQuantity(value);
  } catch {
    return null;
  }
}
