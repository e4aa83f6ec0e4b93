// Edits of YAML (and JSON) manifests that change only the bytes of the values they mean. The yaml library's Document
// API finds the nodes and their source ranges; the edit is a splice of those ranges, so comments, blank lines, key
// order, quoting, anchors and every other document of the file stay byte for byte (a re-printed document would not:
// the printer normalises indentation and flow style).
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, Scalar, stringify, visit, type Document, type Node as YamlNode, type YAMLMap, type YAMLSeq } from 'yaml';
import type { AllocationKind, ResourceName } from '../krr/model';

/** Replace text[start, end) with `text`; an insertion has start === end. Offsets are string indices. */
export interface TextSplice {
  start: number;
  end: number;
  text: string;
}

export class ManifestEditError extends Error {
  override readonly name = 'ManifestEditError';
}

export interface ParsedFile {
  text: string;
  documents: Document.Parsed[];
}

/**
 * Bounds on YAML read from the workspace (hostile input). Aliases: the yaml library's own count (a document expanding
 * more than this is an "alias bomb": refused, never expanded). Nesting: flow brackets deeper than this are refused
 * before parsing (the parser would spend seconds per MiB reaching its stack limit; no manifest nests that deep).
 */
export const yamlLimits = { maxAliasCount: 100, maxFlowDepth: 256 };

/**
 * The deepest nesting of flow brackets outside quoted scalars and comments; stops counting past `limit`. A quote opens
 * a quoted scalar only where one can start (line start, after `[ { , : - ?`), so an apostrophe in plain text (don't)
 * does not hide the brackets after it.
 */
function flowDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let quote: string | null = null;
  let comment = false;
  let previous = '\n';
  for (let index = 0; index < text.length; index++) {
    const char = text[index] as string;
    if (comment) {
      if (char === '\n') {
        comment = false;
        previous = '\n';
      }
      continue;
    }
    if (quote !== null) {
      if (char === '\\' && quote === '"') index++;
      else if (char === quote) {
        quote = null;
        previous = char;
      }
      continue;
    }
    if (char === ' ' || char === '\t' || char === '\r') continue;
    if (char === '#' && (index === 0 || /\s/.test(text[index - 1] as string))) comment = true;
    else if ((char === '"' || char === "'") && '\n[{,:-?'.includes(previous)) quote = char;
    else if (char === '[' || char === '{') {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if ((char === ']' || char === '}') && depth > 0) depth--;
    previous = char;
  }
  return deepest;
}

/** Every document of a file; a syntax error anywhere is an error for the whole file (never a partial edit). */
export function parseManifestFile(text: string, where: string): ParsedFile {
  if (flowDepth(text, yamlLimits.maxFlowDepth) > yamlLimits.maxFlowDepth) throw new ManifestEditError(`${where} nests more than ${yamlLimits.maxFlowDepth} levels of [ ] or { }; it is not read`);
  const documents = parseAllDocuments(text, { uniqueKeys: false });
  if (!Array.isArray(documents)) return { text, documents: [] };
  for (const document of documents) {
    const error = document.errors[0];
    if (error) throw new ManifestEditError(`${where} is not valid YAML: ${error.message.split('\n')[0] ?? error.code}`);
    // Expanded once here, so no later toJS meets an alias bomb: a file that has one is refused as a whole.
    if (hasAlias(document)) plainObjectOf(document, where);
  }
  return { text, documents };
}

function hasAlias(document: Document.Parsed): boolean {
  let found = false;
  visit(document, {
    Alias() {
      found = true;
      return visit.BREAK;
    },
  });
  return found;
}

/**
 * The document as plain data, with the alias bound of yamlLimits; a document over it (an alias bomb, or simply more
 * aliases than KRR expands) is an input error naming the file, not an internal error.
 */
export function plainObjectOf(document: Document.Parsed, where: string): unknown {
  try {
    return document.toJS({ maxAliasCount: yamlLimits.maxAliasCount }) as unknown;
  } catch (error) {
    if (error instanceof ReferenceError && /alias/i.test(error.message)) throw new ManifestEditError(`${where} expands YAML aliases more than ${yamlLimits.maxAliasCount} times (an "alias bomb", or more aliases than KRR expands); it is not read`);
    if (error instanceof RangeError) throw new ManifestEditError(`${where} nests too deeply to read`);
    throw error;
  }
}

/** Applies splices (computed against the same original text); overlapping replacements are a bug in the caller. */
export function applySplices(text: string, splices: readonly TextSplice[]): string {
  const ordered = [...splices].map((splice, index) => ({ splice, index })).sort((a, b) => b.splice.start - a.splice.start || b.index - a.index);
  let result = text;
  let limit = Number.POSITIVE_INFINITY;
  for (const { splice } of ordered) {
    if (splice.end > limit) throw new ManifestEditError('two edits overlap in the same file');
    result = result.slice(0, splice.start) + splice.text + result.slice(splice.end);
    limit = splice.start;
  }
  return result;
}

export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let index = text.indexOf('\n'); index !== -1 && index < offset; index = text.indexOf('\n', index + 1)) line++;
  return line;
}

function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

function rangeOf(node: YamlNode): [number, number, number] {
  if (!node.range) throw new ManifestEditError('a YAML node has no source position');
  return node.range;
}

/** Where a new last entry of a block collection goes: the end of the line its last item ends on. */
function blockAppendOffset(text: string, lastEnd: number): number {
  if (lastEnd > 0 && text[lastEnd - 1] === '\n') return lastEnd - 1;
  const newline = text.indexOf('\n', lastEnd);
  return newline === -1 ? text.length : newline;
}

/** A quantity as a scalar in the style of the scalar it replaces (plain, 'single' or "double"). */
export function scalarText(value: string, style: Scalar.Type | undefined, json: boolean): string {
  if (json || style === Scalar.QUOTE_DOUBLE) return JSON.stringify(value);
  if (style === Scalar.QUOTE_SINGLE) return `'${value.replace(/'/g, "''")}'`;
  // A plain "1" is a YAML number; Kubernetes accepts it, but a new value is written as the string it is.
  if (style === undefined && /^[0-9.+-]+$/.test(value)) return `"${value}"`;
  return value;
}

/** The nested YAML of `value` as block lines at `indent` (for insertions). */
function blockLines(value: Record<string, unknown>, indent: number): string {
  const printed = stringify(value, { indent: 2, lineWidth: 0, defaultStringType: 'PLAIN', defaultKeyType: 'PLAIN' }).replace(/\n$/, '');
  return printed
    .split('\n')
    .map((line) => ' '.repeat(indent) + line)
    .join('\n');
}

function flowText(value: unknown, json: boolean): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return json ? JSON.stringify(value) : scalarText(value, undefined, false);
  const entries = Object.entries(value as Record<string, unknown>).map(([key, inner]) => `${json ? JSON.stringify(key) : key}: ${flowText(inner, json)}`);
  return `{ ${entries.join(', ')} }`;
}

/**
 * Inserts `entries` (key: value, in order) as the last entries of `map` (block or flow), in one splice: two splices at
 * the same offset of an empty flow map would print `{ a: 1  b: 2 }`, which is not YAML.
 */
export function insertIntoMap(text: string, map: YAMLMap, entries: Record<string, unknown>, json: boolean): TextSplice {
  const pairs = Object.entries(entries);
  if (pairs.length === 0) throw new ManifestEditError('nothing to insert');
  const last = map.items.at(-1);
  if (map.flow) {
    const [start, end] = rangeOf(map as unknown as YamlNode);
    const flowEntries = pairs.map(([key, value]) => `${json ? JSON.stringify(key) : key}: ${flowText(value, json)}`);
    if (!last) {
      const open = text.indexOf('{', start);
      return { start: open + 1, end: open + 1, text: ` ${flowEntries.join(', ')} ` };
    }
    const lastNode = (last.value ?? last.key) as YamlNode;
    const lastEnd = Math.min(rangeOf(lastNode)[1], end);
    const multiline = text.slice(start, end).includes('\n');
    const keyColumn = columnOf(text, rangeOf(last.key as YamlNode)[0]);
    const separator = multiline ? `,\n${' '.repeat(keyColumn)}` : ', ';
    return { start: lastEnd, end: lastEnd, text: flowEntries.map((entry) => `${separator}${entry}`).join('') };
  }
  if (!last) throw new ManifestEditError('cannot add to an empty block mapping');
  const indent = columnOf(text, rangeOf(last.key as YamlNode)[0]);
  const lastEnd = rangeOf((last.value ?? last.key) as YamlNode)[1];
  const at = blockAppendOffset(text, lastEnd);
  const body = pairs.map(([key, value]) => {
    if (value === null) return `${' '.repeat(indent)}${key}: null`;
    return typeof value === 'string' ? `${' '.repeat(indent)}${key}: ${scalarText(value, undefined, false)}` : blockLines({ [key]: value }, indent);
  });
  return { start: at, end: at, text: `\n${body.join('\n')}` };
}

/**
 * The line, in the edited file, of the value reached by `keys` (in order) inside an inserted splice: what the approval
 * shows for an added value. Lines added by other insertions earlier in the same file are not counted.
 */
export function insertedLine(text: string, splice: TextSplice, keys: readonly string[]): number {
  let offset = 0;
  for (const key of keys) {
    const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const found = new RegExp(`(^|[\\s{,])"?${escaped}"?\\s*:`).exec(splice.text.slice(offset));
    if (!found) break;
    offset += found.index + found[0].length;
  }
  const before = splice.text.slice(0, offset);
  return lineOf(text, splice.start) + (before.match(/\n/g)?.length ?? 0);
}

/** Appends an item (a mapping) to a block or flow sequence. */
export function appendToSeq(text: string, seq: YAMLSeq, item: Record<string, unknown>, json: boolean): TextSplice {
  const last = seq.items.at(-1) as YamlNode | undefined;
  if (!last) throw new ManifestEditError('cannot add to an empty sequence');
  if (seq.flow) {
    const end = rangeOf(last)[1];
    return { start: end, end, text: `, ${flowText(item, json)}` };
  }
  const dashColumn = columnOf(text, rangeOf(seq as unknown as YamlNode)[0]);
  const itemColumn = columnOf(text, rangeOf(last)[0]);
  const at = blockAppendOffset(text, rangeOf(last)[1]);
  const lines = blockLines(item, itemColumn).split('\n');
  const first = `${' '.repeat(dashColumn)}-${' '.repeat(Math.max(1, itemColumn - dashColumn - 1))}${(lines[0] ?? '').trimStart()}`;
  return { start: at, end: at, text: `\n${[first, ...lines.slice(1)].join('\n')}` };
}

/** A value edit a person can read: where in the file, which field, from → to. */
export interface FieldEdit {
  line: number;
  /** e.g. spec.template.spec.containers[app].resources.requests.cpu */
  field: string;
  from: string | null;
  /** null: the key is removed (krr recommends unsetting a limit, with allowLimitRemoval), or written as `null`. */
  to: string | null;
}

/**
 * How a value krr recommends removing (null) is written. `delete`: the key is removed where it is set, nothing where it
 * is not (a manifest, a base: nothing below it). `null`: the key is set to `null` (a strategic-merge patch: null removes
 * the field from what it patches; removing the key would let the base's value through). `values`: removed where set,
 * else set to `null` (Helm values: a null removes a chart default).
 */
export type RemovalStyle = 'delete' | 'null' | 'values';

/** The removal style per field, where it differs by field (a layer below sets one value but not another). */
export type Removal = RemovalStyle | ((allocation: AllocationKind, resource: ResourceName) => RemovalStyle);

/** The column a line starts at offset `offset` has only blanks before it. */
function ownsLine(text: string, offset: number): boolean {
  return /^[ \t]*$/.test(text.slice(text.lastIndexOf('\n', offset - 1) + 1, offset));
}

/** A mapping's entries replaced by `{}` (its key stays: it is not KRR's to remove), the line break after it kept. */
function emptyMap(text: string, map: YAMLMap): TextSplice {
  const [start, end] = rangeOf(map as unknown as YamlNode);
  return { start, end, text: text.slice(start, end).endsWith('\n') ? '{}\n' : '{}' };
}

/**
 * Removes one entry of a mapping, byte-preserving elsewhere: a block entry with its whole lines (and the comment on
 * them), a flow entry with the comma beside it. Removing the last entry of a mapping is the caller's to avoid (it
 * removes the mapping's own key instead).
 */
export function removePair(text: string, map: YAMLMap, key: string): TextSplice {
  const index = map.items.findIndex((pair) => isScalar(pair.key) && pair.key.value === key);
  const pair = map.items[index];
  if (!pair) throw new ManifestEditError(`no key ${key} to remove`);
  const keyStart = rangeOf(pair.key as YamlNode)[0];
  const valueEnd = pair.value ? rangeOf(pair.value as YamlNode)[1] : rangeOf(pair.key as YamlNode)[1];
  if (map.flow) {
    const next = map.items[index + 1];
    if (next) return { start: keyStart, end: rangeOf(next.key as YamlNode)[0], text: '' };
    const previous = map.items[index - 1];
    if (!previous) throw new ManifestEditError(`${key} is the only entry of its mapping`);
    const previousEnd = rangeOf((previous.value ?? previous.key) as YamlNode)[1];
    return { start: previousEnd, end: valueEnd, text: '' };
  }
  if (!ownsLine(text, keyStart)) throw new ManifestEditError(`${key} does not start its own line; KRR does not remove it`);
  const start = text.lastIndexOf('\n', keyStart - 1) + 1;
  // The end of the line the value ends on (a block value's range may already end after its newline).
  const lineEnd = valueEnd > 0 && text[valueEnd - 1] === '\n' ? valueEnd : text.indexOf('\n', valueEnd) === -1 ? text.length : text.indexOf('\n', valueEnd) + 1;
  return { start, end: lineEnd, text: '' };
}

export interface ResourceEditResult {
  splices: TextSplice[];
  edits: FieldEdit[];
}

/** Where the resources are set: in a container mapping, in a `resources` mapping, or in one allocation's mapping. */
export type ResourcesHolder = { level: 'container'; node: YAMLMap } | { level: 'resources'; node: YAMLMap } | { level: 'allocation'; allocation: AllocationKind; node: YAMLMap };

/**
 * Sets resources under `holder`, creating `resources`, `requests` or `limits` when missing. Refuses to write through
 * a YAML alias or into an anchored node another node refers to: that value is shared, and changing it would change
 * the other users too.
 */
export function setResources(
  file: ParsedFile,
  document: Document.Parsed,
  holder: ResourcesHolder,
  values: ReadonlyArray<{ allocation: AllocationKind; resource: ResourceName; value: string | null }>,
  fieldPrefix: string,
  json: boolean,
  removal: Removal = 'delete',
): ResourceEditResult {
  const { text } = file;
  const styleOf = (allocation: AllocationKind, resource: ResourceName): RemovalStyle => (typeof removal === 'function' ? removal(allocation, resource) : removal);
  const splices: TextSplice[] = [];
  const edits: FieldEdit[] = [];
  const shared = sharedAnchors(document);
  const guard = (node: unknown, what: string): void => {
    if (isAlias(node)) throw new ManifestEditError(`${what} is a YAML alias (*${node.source}); the value is shared with another place in the file, so it is not edited here`);
    const anchor = (node as { anchor?: string } | null)?.anchor;
    if (anchor && shared.has(anchor)) throw new ManifestEditError(`${what} carries the YAML anchor &${anchor} that other nodes refer to; editing it would change them too`);
  };
  guard(holder.node, fieldPrefix);
  const resources: unknown = holder.level === 'container' ? holder.node.get('resources', true) : holder.level === 'resources' ? holder.node : undefined;
  const resourcesField = holder.level === 'container' ? `${fieldPrefix}.resources` : fieldPrefix;
  if (holder.level === 'container') guard(resources, resourcesField);
  // Values to add, gathered per mapping they go into: each mapping gets one insertion (see insertIntoMap).
  const intoResources: Record<string, Record<string, string | null>> = {};
  // Each added value: its field, the keys leading to it inside the inserted text, and the splice (none: the one into
  // `resources`, made last).
  const added: Array<{ field: string; keys: string[]; value: string | null; splice?: TextSplice }> = [];
  const byAllocation = new Map<AllocationKind, Array<{ resource: ResourceName; value: string | null }>>();
  // Allocation blocks every entry of which is removed: their key goes instead (an empty `limits:` would read null).
  const emptied: Array<{ allocation: AllocationKind; field: string; removed: Array<{ field: string; from: string | null; line: number }> }> = [];
  for (const entry of values) byAllocation.set(entry.allocation, [...(byAllocation.get(entry.allocation) ?? []), entry]);
  let resourcesSplice: TextSplice | undefined;
  for (const [allocation, entries] of byAllocation) {
    if (holder.level === 'allocation' && holder.allocation !== allocation) throw new ManifestEditError(`${fieldPrefix} sets only ${holder.allocation}, not ${allocation}`);
    const blockField = holder.level === 'allocation' ? fieldPrefix : `${resourcesField}.${allocation}`;
    const block: unknown = holder.level === 'allocation' ? holder.node : isMap(resources) ? resources.get(allocation, true) : undefined;
    guard(block, blockField);
    const toInsert: Record<string, string | null> = {};
    const removed: Array<{ resource: string; field: string; from: string | null; line: number }> = [];
    for (const { resource, value } of entries) {
      const field = `${blockField}.${resource}`;
      const node: unknown = isMap(block) ? block.get(resource, true) : undefined;
      guard(node, field);
      if (value === null) {
        if (node !== undefined && !isScalar(node)) throw new ManifestEditError(`${field} is not a scalar`);
        const style = styleOf(allocation, resource);
        const present = isScalar(node) && node.value !== null;
        if (present && style !== 'null') removed.push({ resource, field, from: String(node.value), line: lineOf(text, rangeOf(node)[0]) });
        else if (isScalar(node)) {
          if (node.value === null) continue;
          const [start, end] = rangeOf(node);
          splices.push({ start, end, text: 'null' });
          edits.push({ line: lineOf(text, start), field, from: String(node.value), to: null });
        } else if (style !== 'delete') toInsert[resource] = null;
        continue;
      }
      if (isScalar(node)) {
        const [start, end] = rangeOf(node);
        const from = node.value === null ? null : String(node.value);
        if (from === value) continue;
        splices.push({ start, end, text: scalarText(value, node.type, json && node.type === Scalar.QUOTE_DOUBLE) });
        edits.push({ line: lineOf(text, start), field, from, to: value });
      } else if (node !== undefined && node !== null) {
        throw new ManifestEditError(`${field} is not a scalar`);
      } else toInsert[resource] = value;
    }
    if (removed.length > 0 && isMap(block)) {
      if (removed.length === block.items.length && Object.keys(toInsert).length === 0) emptied.push({ allocation, field: blockField, removed });
      else
        for (const entry of removed) {
          splices.push(removePair(text, block, entry.resource));
          edits.push({ line: entry.line, field: entry.field, from: entry.from, to: null });
        }
    }
    if (Object.keys(toInsert).length === 0) continue;
    if (block !== undefined && block !== null && !isMap(block)) throw new ManifestEditError(`${blockField} is not a mapping`);
    if (isMap(block)) {
      const splice = insertIntoMap(text, block, toInsert, json);
      splices.push(splice);
      for (const [resource, value] of Object.entries(toInsert)) added.push({ field: `${blockField}.${resource}`, keys: [resource], value, splice });
    } else {
      intoResources[allocation] = toInsert;
      for (const [resource, value] of Object.entries(toInsert)) added.push({ field: `${blockField}.${resource}`, keys: holder.level === 'container' && !isMap(resources) ? ['resources', allocation, resource] : [allocation, resource], value });
    }
  }
  if (emptied.length > 0) {
    const allocations = holder.level === 'allocation' ? null : isMap(resources) ? resources : null;
    if (allocations === null) splices.push(emptyMap(text, holder.node));
    else if (emptied.length < allocations.items.length || Object.keys(intoResources).length > 0) for (const entry of emptied) splices.push(removePair(text, allocations, entry.allocation));
    // Nothing left under `resources`: the key goes too where it is the container's, else the mapping is left empty.
    else if (holder.level === 'container') splices.push(removePair(text, holder.node, 'resources'));
    else splices.push(emptyMap(text, allocations));
    edits.push(...emptied.flatMap((entry) => entry.removed.map(({ field, from, line }) => ({ line, field, from, to: null }))));
  }
  if (Object.keys(intoResources).length > 0) {
    if (isMap(resources)) resourcesSplice = insertIntoMap(text, resources, intoResources, json);
    else {
      if (holder.level !== 'container' || (resources !== undefined && resources !== null)) throw new ManifestEditError(`${resourcesField} is not a mapping`);
      resourcesSplice = insertIntoMap(text, holder.node, { resources: intoResources }, json);
    }
    splices.push(resourcesSplice);
  }
  for (const entry of added) {
    const splice = (entry.splice ?? resourcesSplice) as TextSplice;
    edits.push({ line: insertedLine(text, splice, entry.keys), field: entry.field, from: null, to: entry.value });
  }
  return { splices, edits };
}

/** Sets resources inside a container mapping (one with `name`). */
export function setContainerResources(
  file: ParsedFile,
  document: Document.Parsed,
  container: YAMLMap,
  values: ReadonlyArray<{ allocation: AllocationKind; resource: ResourceName; value: string | null }>,
  fieldPrefix: string,
  json: boolean,
  removal: Removal = 'delete',
): ResourceEditResult {
  return setResources(file, document, { level: 'container', node: container }, values, fieldPrefix, json, removal);
}

/** Anchors that some alias in the document refers to. */
function sharedAnchors(document: Document.Parsed): Set<string> {
  const used = new Set<string>();
  const visit = (node: unknown): void => {
    if (isAlias(node)) used.add(node.source);
    else if (isMap(node) || isSeq(node)) {
      for (const item of node.items as unknown[]) {
        if (item && typeof item === 'object' && 'key' in item) {
          visit((item as { key: unknown }).key);
          visit((item as unknown as { value: unknown }).value);
        } else visit(item);
      }
    }
  };
  visit(document.contents);
  return used;
}

/** The container mapping named `name` in a sequence of containers, or undefined. */
export function findContainer(containers: unknown, name: string): YAMLMap | undefined {
  if (!isSeq(containers)) return undefined;
  for (const item of containers.items) {
    if (isMap(item) && item.get('name') === name) return item;
  }
  return undefined;
}
