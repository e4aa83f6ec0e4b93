// Live object + desired container resources -> the JSON patch that gets there, pinned to what was read.
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { stringify } from 'yaml';
import type { AllocationKind, ContainerRecommendation, RecommendedValue, ResourceName } from '../krr/model';
import { allocationKinds, resourceNames } from '../krr/model';
import { containersPathByKind, containerSchema, type KubeObject } from '../kube/object';
import type { ResultingResources } from '../policy';
import { formatCpu, formatMemory, parseQuantity, sameQuantity } from '../quantity';
import type { FieldChange, ObjectIdentity, PolicyFinding } from './model';
import { pointer, type JsonPatchOp } from './patch';

/** A quantity string to set, null to remove the field, undefined to leave it as it is. */
export type DesiredValue = string | null | undefined;
export type DesiredResources = Record<AllocationKind, Partial<Record<ResourceName, DesiredValue>>>;

export class PlanBuildError extends Error {
  override readonly name = 'PlanBuildError';
}

export interface ObjectPatch {
  changes: FieldChange[];
  ops: JsonPatchOp[];
  proposed: KubeObject;
  resulting: ResultingResources[];
  missingContainers: string[];
}

type ResourceMap = Record<string, string | number>;
type ContainerResources = { requests?: ResourceMap; limits?: ResourceMap } & Record<string, unknown>;

/**
 * Builds the patch from `live` to the desired resources. The ops first `test` the object's spec version (its
 * metadata.generation; the resourceVersion for an object without one), each container's name at its index, and
 * its whole current `resources` block, so the API server itself rejects the write if anything previewed moved
 * (safety invariant: test ops pin the preview). Not the resourceVersion when there is a generation: controllers
 * change it with every status update — during a rollout, several times a second — which would make every plan
 * for a workload that is rolling out or scaling fail its preconditions although nothing it changes moved.
 */
export function buildObjectPatch(live: KubeObject, identity: ObjectIdentity, desired: ReadonlyMap<string, DesiredResources>): ObjectPatch {
  const containersPath = containersPathByKind[identity.kind];
  if (!containersPath) throw new PlanBuildError(`${identity.kind} objects are not supported for changes (supported: ${Object.keys(containersPathByKind).join(', ')}).`);
  const containers = readPath(live, containersPath);
  if (!Array.isArray(containers)) throw new PlanBuildError(`${identity.kind} ${identity.namespace}/${identity.name} has no container list at ${containersPath.join('.')}.`);

  const changes: FieldChange[] = [];
  const resulting: ResultingResources[] = [];
  const containerOps: JsonPatchOp[] = [];
  const missingContainers: string[] = [];

  for (const [name, wanted] of desired) {
    const index = containers.findIndex((container) => isRecord(container) && container.name === name);
    if (index < 0) {
      missingContainers.push(name);
      continue;
    }
    // Validated, but read from the raw object: zod's output orders keys as its schema does, and the diff
    // must show the live key order (limits before requests stays so).
    containerSchema.parse(containers[index]);
    const current = (containers[index] as { resources?: ContainerResources }).resources;
    const next: ContainerResources = structuredClone(current ?? {});
    const containerChanges: FieldChange[] = [];
    for (const allocation of allocationKinds) {
      for (const resource of resourceNames) {
        const target = wanted[allocation][resource];
        if (target === undefined) continue;
        const existing = current?.[allocation]?.[resource];
        const from = existing === undefined ? null : String(existing);
        if (target === null ? from === null : from !== null && sameQuantity(from, target)) continue;
        containerChanges.push({
          container: name,
          allocation,
          resource,
          from,
          to: target,
          fromAmount: from === null ? null : parseQuantity(from),
          toAmount: target === null ? null : parseQuantity(target),
        });
        setField(next, allocation, resource, target);
      }
    }
    if (containerChanges.length === 0) continue;
    changes.push(...containerChanges);
    const base = [...containersPath, index];
    containerOps.push({ op: 'test', path: pointer([...base, 'name']), value: name });
    if (current !== undefined) {
      containerOps.push({ op: 'test', path: pointer([...base, 'resources']), value: current });
      containerOps.push({ op: 'replace', path: pointer([...base, 'resources']), value: next });
    } else {
      containerOps.push({ op: 'add', path: pointer([...base, 'resources']), value: next });
    }
    resulting.push(describeResulting(name, next));
  }

  const ops: JsonPatchOp[] =
    containerOps.length === 0 ? [] : [specVersionTest(live), ...containerOps];
  const proposed = ops.length === 0 ? live : applyOps(live, ops);
  return { changes, ops, proposed, resulting, missingContainers };
}

/** The `test` op that pins the spec the plan was built from (see buildObjectPatch). */
export function specVersionTest(live: KubeObject): JsonPatchOp {
  return live.metadata.generation !== undefined
    ? { op: 'test', path: '/metadata/generation', value: live.metadata.generation }
    : { op: 'test', path: '/metadata/resourceVersion', value: live.metadata.resourceVersion };
}

/** How the object's spec moved since `change` was built from it (generation, else resourceVersion); null if it did not. */
export function specMove(live: KubeObject, change: { generation: number | null; resourceVersion: string }): string | null {
  if (change.generation !== null && live.metadata.generation !== undefined) {
    return live.metadata.generation === change.generation ? null : `its spec changed since the proposal (generation ${change.generation} → ${live.metadata.generation})`;
  }
  return live.metadata.resourceVersion === change.resourceVersion ? null : `changed since the proposal (resourceVersion ${change.resourceVersion} → ${live.metadata.resourceVersion})`;
}

/** Has the object's spec moved since `change` was built from it? */
export function specMoved(live: KubeObject, change: { generation: number | null; resourceVersion: string }): boolean {
  return specMove(live, change) !== null;
}

/** Applies ops to a copy of `object` exactly as the API server would (tests included). */
export function applyOps(object: KubeObject, ops: readonly JsonPatchOp[]): KubeObject {
  try {
    const result = fastJsonPatch.applyPatch(structuredClone(object), ops as Operation[], true, false);
    return result.newDocument;
  } catch (error) {
    throw new PlanBuildError(`The patch does not apply to the live object: ${(error as Error).message}`);
  }
}

/**
 * What krr recommends for one container, as desired values. `"?"` is never touched; `null` (krr: unset the
 * field) removes it only with `allowLimitRemoval`; limits only with `includeLimits`.
 */
export function desiredFromRecommendation(
  recommendation: ContainerRecommendation,
  options: { includeLimits: boolean; allowLimitRemoval: boolean },
): { desired: DesiredResources; notes: PolicyFinding[] } {
  const desired: DesiredResources = { requests: {}, limits: {} };
  const notes: PolicyFinding[] = [];
  for (const allocation of allocationKinds) {
    if (allocation === 'limits' && !options.includeLimits) continue;
    for (const resource of resourceNames) {
      const value: RecommendedValue = recommendation.recommended[allocation][resource];
      const field = `${allocation}.${resource}`;
      if (value.kind === 'unknown') {
        notes.push({ severity: 'info', rule: 'unknown-recommendation', container: recommendation.container, message: `container ${recommendation.container}: krr has no recommendation for ${field} ("?"${recommendation.info[resource] ? `: ${recommendation.info[resource]}` : ''}); left as is.` });
      } else if (value.kind === 'unset') {
        if (recommendation.current[allocation][resource] === null) continue;
        if (options.allowLimitRemoval) desired[allocation][resource] = null;
        else notes.push({ severity: 'info', rule: 'removal-not-included', container: recommendation.container, message: `container ${recommendation.container}: krr recommends removing ${field}; kept (opt in with allowLimitRemoval).` });
      } else {
        desired[allocation][resource] = resource === 'cpu' ? formatCpu(value.amount) : formatMemory(value.amount);
      }
    }
  }
  return { desired, notes };
}

/**
 * Inverse of the plan's patch, pinned to what this apply wrote: if someone changed it since, the restore is refused.
 * The server's `test` compares JSON literally, so the pinned values are taken from `stored` (the object as the
 * server returned it after the write) when known, not from our own spelling of them.
 */
export function restoreOps(ops: readonly JsonPatchOp[], stored?: KubeObject): JsonPatchOp[] {
  const inverse: JsonPatchOp[] = [];
  for (let index = 0; index < ops.length; index++) {
    const op = ops[index];
    if (!op || op.op === 'test' || op.op === 'remove') continue;
    const previousTest = ops.slice(0, index).reverse().find((candidate) => candidate.op === 'test' && candidate.path === op.path);
    const namePath = op.path.replace(/\/resources$/, '/name');
    const nameTest = ops.find((candidate) => candidate.op === 'test' && candidate.path === namePath);
    if (nameTest) inverse.push(nameTest);
    const storedValue = stored ? readPath(stored, pointerSegments(op.path)) : undefined;
    inverse.push({ op: 'test', path: op.path, value: storedValue !== undefined && sameResources(storedValue, op.value) ? storedValue : op.value });
    if (op.op === 'replace' && previousTest && previousTest.op === 'test') inverse.push({ op: 'replace', path: op.path, value: previousTest.value });
    else inverse.push({ op: 'remove', path: op.path });
  }
  return inverse;
}

/** The manifest as shown in the diff: what was fetched, minus server bookkeeping nobody reviews. */
export function manifestYaml(object: KubeObject): string {
  const copy = structuredClone(object) as KubeObject & { metadata: { managedFields?: unknown } };
  delete copy.metadata.managedFields;
  return stringify(copy, { lineWidth: 0 });
}

/** A JSON pointer's segments, with array indexes as numbers (for readPath). */
export function pointerSegments(path: string): Array<string | number> {
  return path
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
}

/**
 * Deep equality where leaves compare as quantities by value ("100M" equals "100000000", "1k" equals "1000"),
 * for resources blocks: the API server stores a quantity in its canonical form, not as it was sent.
 */
export function sameResources(a: unknown, b: unknown): boolean {
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => key in b && sameResources(a[key], b[key]));
  }
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, index) => sameResources(item, b[index]));
  if (a === b) return true;
  if ((typeof a === 'string' || typeof a === 'number') && (typeof b === 'string' || typeof b === 'number')) {
    try {
      return sameQuantity(a, b);
    } catch {
      return false;
    }
  }
  return false;
}

export function readPath(object: unknown, path: ReadonlyArray<string | number>): unknown {
  let node: unknown = object;
  for (const segment of path) {
    if (Array.isArray(node) && typeof segment === 'number') node = node[segment];
    else if (isRecord(node)) node = node[segment];
    else return undefined;
  }
  return node;
}

/** The containers of a workload's pod template with their resources in base units. */
export function readContainerResources(object: KubeObject, kind: ObjectIdentity['kind']): ResultingResources[] {
  const path = containersPathByKind[kind];
  const containers = path ? readPath(object, path) : undefined;
  if (!Array.isArray(containers)) return [];
  return containers.filter(isRecord).map((raw) => {
    const container = containerSchema.parse(raw);
    return describeResulting(container.name, (container.resources ?? {}) as ContainerResources);
  });
}

function describeResulting(container: string, resources: ContainerResources): ResultingResources {
  const amount = (allocation: AllocationKind, resource: ResourceName): number | null => {
    const raw = resources[allocation]?.[resource];
    return raw === undefined ? null : parseQuantity(raw);
  };
  return {
    container,
    requests: { cpu: amount('requests', 'cpu'), memory: amount('requests', 'memory') },
    limits: { cpu: amount('limits', 'cpu'), memory: amount('limits', 'memory') },
  };
}

function setField(resources: ContainerResources, allocation: AllocationKind, resource: ResourceName, value: string | null): void {
  const map: ResourceMap = { ...(resources[allocation] ?? {}) };
  if (value === null) delete map[resource];
  else map[resource] = value;
  if (Object.keys(map).length === 0) delete resources[allocation];
  else resources[allocation] = map;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
