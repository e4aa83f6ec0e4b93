// What the API server does to an object between decoding and storing: quantity decoding, defaulting and
// validation, with the field paths and wording of kube-apiserver's validation.
import type { ApiResource } from './resources';
import { compareQuantities, formatQuantity, parseQuantity, QuantityParseError, type Quantity } from './quantity';
import { invalidValue, type StatusCause } from './status';

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON-path segments of the pod spec inside each kind's object. */
const podSpecPathByKind: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

interface ContainerSite {
  field: string; // "spec.template.spec.containers[0]"
  container: JsonObject;
}

function containerSites(kind: string, obj: JsonObject): ContainerSite[] {
  const path = podSpecPathByKind[kind];
  if (!path) return [];
  let node: unknown = obj;
  for (const key of path) node = isObject(node) ? node[key] : undefined;
  if (!isObject(node)) return [];
  const sites: ContainerSite[] = [];
  for (const listName of ['initContainers', 'containers']) {
    const list = node[listName];
    if (!Array.isArray(list)) continue;
    list.forEach((container, index) => {
      if (isObject(container)) sites.push({ field: `${path.join('.')}.${listName}[${index}]`, container });
    });
  }
  return sites;
}

/** Thrown when a body cannot be decoded into the typed object (a quantity that does not parse). */
export class DecodeError extends Error {}

/** Parses every container quantity and rewrites it in canonical form; throws DecodeError like the Go decoder. */
export function decodeQuantities(kind: string, obj: JsonObject): void {
  for (const { container } of containerSites(kind, obj)) {
    const resources = container.resources;
    if (!isObject(resources)) continue;
    for (const listName of ['requests', 'limits']) {
      const list = resources[listName];
      if (list === null) {
        delete resources[listName];
        continue;
      }
      if (!isObject(list)) continue;
      for (const [name, value] of Object.entries(list)) {
        try {
          list[name] = formatQuantity(parseQuantity(value));
        } catch (error) {
          if (error instanceof QuantityParseError) throw new DecodeError(error.message);
          throw error;
        }
      }
    }
  }
}

/** The defaults a real API server fills in, limited to the fields tests and kubectl look at. */
export function applyDefaults(resource: ApiResource, obj: JsonObject): void {
  const spec = isObject(obj.spec) ? obj.spec : undefined;
  if (spec) {
    switch (resource.kind) {
      case 'Deployment':
        spec.replicas ??= 1;
        spec.revisionHistoryLimit ??= 10;
        spec.progressDeadlineSeconds ??= 600;
        spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
        break;
      case 'StatefulSet':
        spec.replicas ??= 1;
        spec.podManagementPolicy ??= 'OrderedReady';
        spec.revisionHistoryLimit ??= 10;
        spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
        break;
      case 'DaemonSet':
        spec.revisionHistoryLimit ??= 10;
        spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
        break;
      case 'CronJob':
        spec.concurrencyPolicy ??= 'Allow';
        spec.suspend ??= false;
        spec.successfulJobsHistoryLimit ??= 3;
        spec.failedJobsHistoryLimit ??= 1;
        break;
      default:
        break;
    }
  }
  for (const { container } of containerSites(resource.kind, obj)) {
    // ResourceRequirements is a struct in Go, so it is always serialized, even when empty.
    if (!isObject(container.resources)) container.resources = {};
    container.terminationMessagePath ??= '/dev/termination-log';
    container.terminationMessagePolicy ??= 'File';
    container.imagePullPolicy ??= typeof container.image === 'string' && container.image.endsWith(':latest') ? 'Always' : 'IfNotPresent';
  }
}

const dns1123LabelMessage =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const dns1123SubdomainMessage =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const labelPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const subdomainPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function nameCauses(resource: ApiResource, name: unknown): StatusCause[] {
  if (typeof name !== 'string' || name === '') {
    return [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }];
  }
  const causes: StatusCause[] = [];
  const isLabel = resource.kind === 'Namespace';
  const max = isLabel ? 63 : 253;
  if (name.length > max) causes.push(invalidValue('metadata.name', name, `must be no more than ${max} characters`));
  if (!(isLabel ? labelPattern : subdomainPattern).test(name)) {
    causes.push(invalidValue('metadata.name', name, isLabel ? dns1123LabelMessage : dns1123SubdomainMessage));
  }
  return causes;
}

function resourceCauses(kind: string, obj: JsonObject): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const { field, container } of containerSites(kind, obj)) {
    const resources = isObject(container.resources) ? container.resources : {};
    const requests = isObject(resources.requests) ? resources.requests : {};
    const limits = isObject(resources.limits) ? resources.limits : {};
    const parsed = (list: JsonObject, name: string): Quantity => parseQuantity(list[name]);
    for (const name of Object.keys(limits)) {
      if (parsed(limits, name).nano < 0n) {
        causes.push(invalidValue(`${field}.resources.limits[${name}]`, String(limits[name]), 'must be greater than or equal to 0'));
      }
    }
    for (const name of Object.keys(requests)) {
      const request = parsed(requests, name);
      if (request.nano < 0n) {
        causes.push(invalidValue(`${field}.resources.requests[${name}]`, String(requests[name]), 'must be greater than or equal to 0'));
      }
      if (name in limits && compareQuantities(request, parsed(limits, name)) > 0) {
        causes.push(
          invalidValue(`${field}.resources.requests`, String(requests[name]), `must be less than or equal to ${name} limit of ${String(limits[name])}`),
        );
      }
    }
  }
  return causes;
}

/** Field errors of a decoded, defaulted object; empty when the object may be stored. */
export function validateObject(resource: ApiResource, obj: JsonObject): StatusCause[] {
  const metadata = isObject(obj.metadata) ? obj.metadata : {};
  return [...nameCauses(resource, metadata.name), ...resourceCauses(resource.kind, obj)];
}
