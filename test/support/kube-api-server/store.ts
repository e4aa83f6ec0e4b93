// The cluster's objects: one resourceVersion counter for every stored change, uid/creationTimestamp on
// create, metadata.generation bumped when spec changes, and controllers simulated as "rollout complete".
import { createHash, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { groupVersionOf, type ApiResource } from './resources';
import { isObject, type JsonObject } from './validation';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
type WatchListener = (resource: ApiResource, type: WatchEventType, object: JsonObject) => void;

function keyOf(resource: ApiResource, namespace: string | undefined, name: string): string {
  return `${groupVersionOf(resource)}/${resource.resource}/${namespace ?? ''}/${name}`;
}

function metadataOf(obj: JsonObject): JsonObject {
  if (!isObject(obj.metadata)) obj.metadata = {};
  return obj.metadata as JsonObject;
}

const metadataOrder = ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'labels', 'annotations', 'ownerReferences', 'finalizers'];

/** apiVersion, kind, metadata (in the server's key order), spec, status, then anything else. */
export function orderObject(obj: JsonObject, withTypeMeta: boolean): JsonObject {
  const metadata = isObject(obj.metadata) ? obj.metadata : {};
  const orderedMetadata: JsonObject = {};
  for (const key of metadataOrder) if (key in metadata) orderedMetadata[key] = metadata[key];
  for (const [key, value] of Object.entries(metadata)) if (!(key in orderedMetadata)) orderedMetadata[key] = value;
  const result: JsonObject = {};
  if (withTypeMeta) {
    result.apiVersion = obj.apiVersion;
    result.kind = obj.kind;
  }
  result.metadata = orderedMetadata;
  for (const [key, value] of Object.entries(obj)) {
    if (key !== 'apiVersion' && key !== 'kind' && key !== 'metadata' && key !== 'status') result[key] = value;
  }
  if ('status' in obj) result.status = obj.status;
  return result;
}

/**
 * What the controllers would report once a change has fully rolled out, so `kubectl rollout status` completes;
 * for a stalled workload (a test's fault), what a stuck controller reports: observed, but no pod updated.
 */
function simulateStatus(resource: ApiResource, obj: JsonObject, stalled = false): void {
  const spec = isObject(obj.spec) ? obj.spec : {};
  const metadata = metadataOf(obj);
  const previous = isObject(obj.status) ? obj.status : {};
  const generation = metadata.generation;
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
  const templateHash = createHash('sha256').update(JSON.stringify(spec.template ?? null)).digest('hex').slice(0, 10);
  switch (resource.kind) {
    case 'Deployment':
      obj.status = {
        observedGeneration: generation,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
        conditions: [
          { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' },
          { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${String(metadata.name)}-${templateHash}" has successfully progressed.` },
        ],
      };
      break;
    case 'StatefulSet':
      obj.status = {
        observedGeneration: generation,
        replicas,
        readyReplicas: replicas,
        currentReplicas: replicas,
        updatedReplicas: replicas,
        availableReplicas: replicas,
        currentRevision: `${String(metadata.name)}-${templateHash}`,
        updateRevision: `${String(metadata.name)}-${templateHash}`,
        collisionCount: 0,
      };
      break;
    case 'DaemonSet': {
      const desired = typeof previous.desiredNumberScheduled === 'number' ? previous.desiredNumberScheduled : 3;
      obj.status = {
        currentNumberScheduled: desired,
        numberMisscheduled: 0,
        desiredNumberScheduled: desired,
        numberReady: desired,
        observedGeneration: generation,
        updatedNumberScheduled: desired,
        numberAvailable: desired,
      };
      break;
    }
    case 'ReplicaSet':
      obj.status = { replicas, fullyLabeledReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas, observedGeneration: generation };
      break;
    case 'Namespace':
      obj.spec = { finalizers: ['kubernetes'], ...(isObject(obj.spec) ? obj.spec : {}) };
      obj.status = { phase: 'Active' };
      break;
    default:
      break;
  }
  if (stalled && isObject(obj.status) && (resource.kind === 'Deployment' || resource.kind === 'StatefulSet')) {
    obj.status = { ...obj.status, updatedReplicas: 0, readyReplicas: 0, availableReplicas: 0, conditions: undefined };
    delete (obj.status as JsonObject).conditions;
  }
}

export class Store {
  private readonly objects = new Map<string, JsonObject>();
  private counter = 1000;
  private readonly listeners = new Set<WatchListener>();
  /** `namespace/name` of workloads whose rollouts never finish (fault injection). */
  readonly stalledRollouts = new Set<string>();

  get resourceVersion(): string {
    return String(this.counter);
  }

  get(resource: ApiResource, namespace: string | undefined, name: string): JsonObject | undefined {
    const found = this.objects.get(keyOf(resource, namespace, name));
    return found ? structuredClone(found) : undefined;
  }

  list(resource: ApiResource, namespace: string | undefined): JsonObject[] {
    const prefix = `${groupVersionOf(resource)}/${resource.resource}/`;
    const result: JsonObject[] = [];
    for (const [key, obj] of this.objects) {
      if (!key.startsWith(prefix)) continue;
      if (namespace !== undefined && metadataOf(obj).namespace !== namespace) continue;
      result.push(structuredClone(obj));
    }
    return result.sort((a, b) => String(metadataOf(a).name).localeCompare(String(metadataOf(b).name)));
  }

  /** Prepares a new object as create would store it; stores it unless dryRun. */
  create(resource: ApiResource, input: JsonObject, dryRun: boolean): JsonObject {
    const obj = structuredClone(input);
    obj.apiVersion = groupVersionOf(resource);
    obj.kind = resource.kind;
    const metadata = metadataOf(obj);
    if (!resource.namespaced) delete metadata.namespace;
    // A seed may pin a uid (the sample report's Job labels carry one); a client-sent uid is otherwise replaced.
    metadata.uid = typeof metadata.uid === 'string' && metadata.uid !== '' ? metadata.uid : randomUUID();
    metadata.creationTimestamp = typeof metadata.creationTimestamp === 'string' ? metadata.creationTimestamp : new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    metadata.generation = 1;
    delete metadata.resourceVersion;
    simulateStatus(resource, obj, this.stalledRollouts.has(`${String(metadata.namespace)}/${String(metadata.name)}`));
    if (dryRun) return orderObject(obj, true);
    metadata.resourceVersion = this.nextVersion();
    const stored = orderObject(obj, true);
    this.objects.set(keyOf(resource, metadata.namespace as string | undefined, String(metadata.name)), stored);
    this.emit(resource, 'ADDED', stored);
    return structuredClone(stored);
  }

  /** Replaces `current` by `next`; bumps resourceVersion only when something changed (like etcd3's GuaranteedUpdate). */
  update(resource: ApiResource, current: JsonObject, input: JsonObject, dryRun: boolean, statusFromInput = false): JsonObject {
    const obj = structuredClone(input);
    obj.apiVersion = groupVersionOf(resource);
    obj.kind = resource.kind;
    const metadata = metadataOf(obj);
    const currentMetadata = metadataOf(current);
    for (const key of ['uid', 'creationTimestamp', 'namespace', 'name'] as const) metadata[key] = currentMetadata[key];
    metadata.resourceVersion = currentMetadata.resourceVersion;
    const currentGeneration = typeof currentMetadata.generation === 'number' ? currentMetadata.generation : 1;
    metadata.generation = isDeepStrictEqual(obj.spec, current.spec) ? currentGeneration : currentGeneration + 1;
    if (statusFromInput && 'status' in obj) {
      // A test pinning a status (a stuck rollout, an HPA reading) gets exactly that status.
    } else {
      // Status is owned by the controllers: a write to the main resource cannot change it.
      if ('status' in current) obj.status = structuredClone(current.status);
      else delete obj.status;
      simulateStatus(resource, obj, this.stalledRollouts.has(`${String(metadata.namespace)}/${String(metadata.name)}`));
    }
    const ordered = orderObject(obj, true);
    if (isDeepStrictEqual(ordered, orderObject(current, true)) || dryRun) return ordered;
    ordered.metadata = { ...(ordered.metadata as JsonObject), resourceVersion: this.nextVersion() };
    const stored = orderObject(ordered, true);
    this.objects.set(keyOf(resource, metadata.namespace as string | undefined, String(metadata.name)), stored);
    this.emit(resource, 'MODIFIED', stored);
    return structuredClone(stored);
  }

  delete(resource: ApiResource, current: JsonObject, dryRun: boolean): void {
    if (dryRun) return;
    const metadata = metadataOf(current);
    this.objects.delete(keyOf(resource, metadata.namespace as string | undefined, String(metadata.name)));
    const deleted = structuredClone(current);
    metadataOf(deleted).resourceVersion = this.nextVersion();
    this.emit(resource, 'DELETED', deleted);
  }

  /** Test-side change that bypasses validation and auth, as a controller or another user would. */
  put(resource: ApiResource, input: JsonObject): JsonObject {
    const metadata = metadataOf(input);
    const current = this.get(resource, metadata.namespace as string | undefined, String(metadata.name));
    if (!current) return this.create(resource, input, false);
    const stored = this.update(resource, current, input, false, true);
    if (stored.metadata && (stored.metadata as JsonObject).resourceVersion === metadataOf(current).resourceVersion) {
      // Even an identical put counts as a change for tests that need a new resourceVersion.
      (stored.metadata as JsonObject).resourceVersion = this.nextVersion();
      this.objects.set(keyOf(resource, metadata.namespace as string | undefined, String(metadata.name)), structuredClone(stored));
      this.emit(resource, 'MODIFIED', stored);
    }
    return stored;
  }

  subscribe(listener: WatchListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private nextVersion(): string {
    this.counter += 1;
    return String(this.counter);
  }

  private emit(resource: ApiResource, type: WatchEventType, obj: JsonObject): void {
    for (const listener of this.listeners) listener(resource, type, structuredClone(obj));
  }
}
