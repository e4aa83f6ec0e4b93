// Seed objects from YAML: multi-document streams and `kind: List` documents both work.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { isObject, type JsonObject } from './validation';

export const defaultSeedPath = join(__dirname, 'seed.yaml');

export function parseSeed(text: string): JsonObject[] {
  const objects: JsonObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`seed YAML: ${document.errors[0]?.message ?? 'parse error'}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    if (!isObject(value)) throw new Error('seed YAML: every document must be an object');
    if (value.kind === 'List' || (typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items))) {
      for (const item of value.items as unknown[]) if (isObject(item)) objects.push(item);
    } else objects.push(value);
  }
  return objects;
}

export function loadSeed(seed: string | object[]): JsonObject[] {
  if (typeof seed === 'string') return parseSeed(readFileSync(seed, 'utf8'));
  return seed.map((obj) => {
    if (!isObject(obj)) throw new Error('seed objects must be objects');
    return structuredClone(obj);
  });
}
