// The three patch types kubectl sends: RFC 6902 JSON patch (with `test`), RFC 7386 merge patch, and
// strategic merge patch (lists of named things merged by their merge key).
import { isDeepStrictEqual } from 'node:util';
import { isObject, type JsonObject } from './validation';

/** A JSON patch that does not apply (failed test, missing path); the server answers 422. */
export class PatchApplyError extends Error {}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

function parsePointer(path: unknown): string[] {
  if (typeof path !== 'string' || (path !== '' && !path.startsWith('/'))) throw new PatchApplyError(`invalid path ${String(path)}`);
  return path === '' ? [] : path.slice(1).split('/').map(unescapePointer);
}

function arrayIndex(list: unknown[], key: string, forInsert: boolean): number {
  if (forInsert && key === '-') return list.length;
  if (!/^(0|[1-9]\d*)$/.test(key)) throw new PatchApplyError(`invalid array index ${key}`);
  const index = Number(key);
  if (index > list.length || (!forInsert && index === list.length)) throw new PatchApplyError(`index out of bounds ${key}`);
  return index;
}

function parentOf(doc: unknown, segments: string[]): { parent: unknown; key: string } {
  let node = doc;
  for (const segment of segments.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(node, segment, false)];
    else if (isObject(node) && segment in node) node = node[segment];
    else throw new PatchApplyError(`doc is missing path: ${segments.join('/')}`);
  }
  return { parent: node, key: segments[segments.length - 1] ?? '' };
}

function getValue(doc: unknown, segments: string[]): unknown {
  if (segments.length === 0) return doc;
  const { parent, key } = parentOf(doc, segments);
  if (Array.isArray(parent)) return parent[arrayIndex(parent, key, false)];
  if (isObject(parent) && key in parent) return parent[key];
  throw new PatchApplyError(`doc is missing key: ${key}`);
}

function addValue(doc: unknown, segments: string[], value: unknown): unknown {
  if (segments.length === 0) return value;
  const { parent, key } = parentOf(doc, segments);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true), 0, value);
  else if (isObject(parent)) parent[key] = value;
  else throw new PatchApplyError(`cannot add to a non-container at ${key}`);
  return doc;
}

function removeValue(doc: unknown, segments: string[]): unknown {
  const { parent, key } = parentOf(doc, segments);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, false), 1)[0];
  if (isObject(parent) && key in parent) {
    const value = parent[key];
    delete parent[key];
    return value;
  }
  throw new PatchApplyError(`remove operation does not apply: doc is missing path: "/${segments.join('/')}"`);
}

/** Applies RFC 6902 operations to a copy of `doc`; throws PatchApplyError on the first that does not apply. */
export function applyJsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new TypeError('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let result = structuredClone(doc);
  for (const raw of ops) {
    if (!isObject(raw)) throw new PatchApplyError('invalid operation');
    const segments = parsePointer(raw.path);
    switch (raw.op) {
      case 'add':
        result = addValue(result, segments, structuredClone(raw.value));
        break;
      case 'remove':
        removeValue(result, segments);
        break;
      case 'replace':
        getValue(result, segments); // replace requires the target to exist
        if (segments.length === 0) result = structuredClone(raw.value);
        else {
          removeValue(result, segments);
          addValue(result, segments, structuredClone(raw.value));
        }
        break;
      case 'move': {
        const value = removeValue(result, parsePointer(raw.from));
        result = addValue(result, segments, value);
        break;
      }
      case 'copy':
        result = addValue(result, segments, structuredClone(getValue(result, parsePointer(raw.from))));
        break;
      case 'test': {
        // As in evanphx/json-patch: a missing path passes only a test for null; otherwise values must be equal.
        let actual: unknown;
        try {
          actual = getValue(result, segments);
        } catch {
          actual = undefined;
        }
        const expected = raw.value ?? null;
        const passed = actual === undefined ? expected === null : isDeepStrictEqual(actual, expected);
        if (!passed) throw new PatchApplyError(`testing value ${String(raw.path)} failed: test failed`);
        break;
      }
      default:
        throw new PatchApplyError(`Unexpected kind: ${String(raw.op)}`);
    }
  }
  return result;
}

/** RFC 7386: objects merge recursively, null deletes, anything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

// Merge keys of the list fields that appear in the kinds this server serves (from the Go struct tags).
const mergeKeyByField: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  tolerations: 'key',
  conditions: 'type',
  ownerReferences: 'uid',
};

/** Strategic merge patch: like a merge patch, but lists with a merge key merge element-wise; `$patch: delete` removes. */
export function applyStrategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return structuredClone(rest);
  }
  const result: JsonObject = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    if (value === null) {
      delete result[key];
      continue;
    }
    const mergeKey = mergeKeyByField[key];
    if (mergeKey && Array.isArray(value) && Array.isArray(result[key])) {
      result[key] = mergeList(result[key] as unknown[], value, mergeKey);
    } else if (isObject(value)) {
      result[key] = applyStrategicMergePatch(result[key], value);
    } else {
      result[key] = structuredClone(value);
    }
  }
  return result;
}

function mergeList(current: unknown[], patch: unknown[], mergeKey: string): unknown[] {
  const result = structuredClone(current);
  for (const item of patch) {
    if (!isObject(item) || !(mergeKey in item)) {
      result.push(structuredClone(item));
      continue;
    }
    const index = result.findIndex((existing) => isObject(existing) && isDeepStrictEqual(existing[mergeKey], item[mergeKey]));
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) {
      result[index] = applyStrategicMergePatch(result[index], item);
    } else {
      result.push(applyStrategicMergePatch(undefined, item));
    }
  }
  return result;
}
