// Snapshot object + live object -> what a rollback restores: only the fields that apply wrote, and only where
// they still hold what it wrote. A field someone changed since is a conflict: left alone unless included.
import type { AllocationKind, ResourceName } from '../krr/model';
import { allocationKinds, resourceNames } from '../krr/model';
import { containersPathByKind, type KubeObject } from '../kube/object';
import { sameQuantity } from '../quantity';
import { pointerSegments, readPath, type DesiredResources } from './build';
import type { ObjectIdentity, PolicyFinding, RollbackConflict, WrittenField } from './model';

/** The part of a snapshot object a rollback reads (snapshots.ts stores it). */
export interface SnapshotRecord {
  replaced: Array<{ path: string; value?: unknown; absent?: boolean }>;
  before: Record<string, unknown>;
  fields?: WrittenField[];
}

export interface RollbackTarget {
  desired: Map<string, DesiredResources>;
  conflicts: RollbackConflict[];
  notes: PolicyFinding[];
}

/**
 * For each field the apply wrote: live = before → nothing to do; live = what it wrote → restore before;
 * anything else → a conflict, restored only with `includeConflicts`. A snapshot without field records (from an
 * older version) cannot tell who set a field, so every difference from `before` is a conflict there.
 */
export function rollbackTarget(object: SnapshotRecord, live: KubeObject, identity: ObjectIdentity, includeConflicts: boolean): RollbackTarget {
  const desired = new Map<string, DesiredResources>();
  const conflicts: RollbackConflict[] = [];
  const notes: PolicyFinding[] = [];
  const containers = readPath(live, containersPathByKind[identity.kind] ?? []);
  const liveValue = (container: string, allocation: AllocationKind, resource: ResourceName): string | null | undefined => {
    const found = Array.isArray(containers) ? containers.find((entry: unknown) => isRecord(entry) && entry.name === container) : undefined;
    if (!isRecord(found)) return undefined;
    const value = readPath(found, ['resources', allocation, resource]);
    return value === undefined || value === null ? null : String(value);
  };
  const legacy = object.fields === undefined;
  for (const field of object.fields ?? legacyFields(object)) {
    const now = liveValue(field.container, field.allocation, field.resource);
    if (now === undefined) {
      notes.push({ severity: 'info', rule: 'container-missing', container: field.container, message: `container ${field.container} is no longer in ${identity.name}; nothing to restore there.` });
      continue;
    }
    if (sameValue(now, field.before)) continue;
    if (!legacy && sameValue(now, field.after)) {
      setDesired(desired, field, field.before);
      continue;
    }
    const conflict: RollbackConflict = { ...identity, container: field.container, allocation: field.allocation, resource: field.resource, ...(legacy ? {} : { wrote: field.after }), live: now, restore: field.before, included: includeConflicts };
    conflicts.push(conflict);
    if (includeConflicts) {
      setDesired(desired, field, field.before);
      notes.push({ severity: 'warn', rule: 'rollback-conflict', container: field.container, message: `${describeConflict(conflict)}; restoring it overwrites that change (included on request).` });
    }
  }
  return { desired, conflicts, notes };
}

/** One line a person can read: which field, what the apply wrote, what it holds now. */
export function describeConflict(conflict: RollbackConflict): string {
  const field = `${conflict.container} ${conflict.allocation}.${conflict.resource}`;
  const now = conflict.live ?? 'unset';
  const restore = conflict.restore ?? 'unset';
  if (conflict.wrote === undefined) return `${conflict.kind} ${conflict.namespace}/${conflict.name}: ${field} is ${now}, not ${restore} (the snapshot does not record what the apply wrote)`;
  return `${conflict.kind} ${conflict.namespace}/${conflict.name}: ${field} was changed since the apply (it wrote ${conflict.wrote ?? 'unset'}, it is now ${now}; rollback would set ${restore})`;
}

/** Older snapshots recorded only the replaced resources blocks: every value in them is a candidate field. */
function legacyFields(object: SnapshotRecord): WrittenField[] {
  const fields: WrittenField[] = [];
  for (const replaced of object.replaced) {
    if (!/\/resources$/.test(replaced.path)) continue;
    const container = readPath(object.before, pointerSegments(replaced.path.replace(/\/resources$/, '/name')));
    if (typeof container !== 'string') continue;
    for (const allocation of allocationKinds) {
      for (const resource of resourceNames) {
        const value = replaced.absent ? undefined : readPath(replaced.value, [allocation, resource]);
        fields.push({ container, allocation, resource, before: value === undefined || value === null ? null : String(value), after: null });
      }
    }
  }
  return fields;
}

function setDesired(desired: Map<string, DesiredResources>, field: WrittenField, value: string | null): void {
  const entry = desired.get(field.container) ?? { requests: {}, limits: {} };
  entry[field.allocation][field.resource] = value;
  desired.set(field.container, entry);
}

/** Quantities by value: the API server may store what was written in another spelling ("1000" as "1k"). */
function sameValue(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  try {
    return sameQuantity(a, b);
  } catch {
    return a === b;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
