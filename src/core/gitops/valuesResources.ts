// Writing resources into a Helm values mapping (a values file, a HelmRelease's spec.values, an Application's
// valuesObject), byte-preserving, and how a removal is written over the layers below. Below helm.ts and helmValues.ts,
// which both write values this way.
import { isMap, type Document, type YAMLMap } from 'yaml';
import { readPath } from '../plan/build';
import type { FieldChange } from '../plan/model';
import { insertedLine, insertIntoMap, ManifestEditError, setResources, type FieldEdit, type ParsedFile, type RemovalStyle, type TextSplice } from './yamlEdit';

/**
 * How a removal is written into a values layer over `lower` (the layers below it, merged; undefined: not known): a
 * value a layer below sets (or may set) is written as `null`, which Helm's merge drops along with the value below; one
 * only this layer sets is removed from it.
 */
export function removalOver(lower: unknown, keyPath: readonly string[]): (allocation: string, resource: string) => RemovalStyle {
  return (allocation, resource) => {
    if (lower === undefined) return 'values';
    const below = readPath(lower, [...keyPath, 'resources', allocation, resource]);
    return below === undefined || below === null ? 'delete' : 'null';
  };
}

/**
 * Writes the changes of one container into a values mapping inside a YAML document: at `at` (keys from the document
 * root to the values mapping: ['spec', 'values'], [] for a values file) › key path › `resources`. What is missing on
 * the way is added under the deepest mapping that exists, byte-preserving (yamlEdit). `label` names the mapping in the
 * edits' fields ('spec.values'; '' for a values file).
 */
export function writeValuesResources(parsed: ParsedFile, document: Document.Parsed, at: ReadonlyArray<string | number>, keyPath: readonly string[], changes: readonly FieldChange[], label: string, lower?: unknown): { splices: TextSplice[]; edits: FieldEdit[] } {
  const fields = changes.map((change) => ({ allocation: change.allocation, resource: change.resource, value: change.to }));
  const full: Array<string | number> = [...at, ...keyPath];
  const prefix = [label, ...keyPath, 'resources'].filter((part) => part !== '').join('.');
  const resources = document.getIn([...full, 'resources'], true);
  if (isMap(resources)) return setResources(parsed, document, { level: 'resources', node: resources as YAMLMap }, fields, prefix, false, removalOver(lower, keyPath));
  if (resources !== undefined && resources !== null) throw new ManifestEditError(`${prefix} is not a mapping`);
  let depth = full.length;
  while (depth > 0 && !isMap(document.getIn(full.slice(0, depth), true))) depth--;
  const parent = depth === 0 ? document.contents : document.getIn(full.slice(0, depth), true);
  if (!isMap(parent)) throw new ManifestEditError(`${label || 'the values file'} is not a YAML mapping`);
  const existing = depth < full.length ? parent.get(full[depth], true) : undefined;
  if (existing !== undefined && existing !== null) throw new ManifestEditError(`${[...full.slice(0, depth + 1)].join('.')} is not a mapping`);
  const block: Record<string, Record<string, string | null>> = {};
  // A removal of what nothing below sets needs nothing written here.
  const written = fields.filter((field) => field.value !== null || removalOver(lower, keyPath)(field.allocation, field.resource) !== 'delete');
  if (written.length === 0) return { splices: [], edits: [] };
  for (const field of written) (block[field.allocation] ??= {})[field.resource] = field.value;
  let value: unknown = { resources: block };
  for (const key of [...full.slice(depth)].reverse()) value = { [key]: value };
  const [key, inner] = Object.entries(value as Record<string, unknown>)[0] as [string, unknown];
  // A key present but empty (`values:` alone, null) would be written twice: replaced as a whole instead.
  const splice = insertIntoMap(parsed.text, parent as YAMLMap, { [key]: inner }, false);
  const edits = written.map((field) => ({ line: insertedLine(parsed.text, splice, [...full.slice(depth).map(String), 'resources', field.allocation, field.resource]), field: `${prefix}.${field.allocation}.${field.resource}`, from: null, to: field.value }));
  return { splices: [splice], edits };
}
