// labelSelector and fieldSelector query parameters: the equality and set-based forms kubectl sends.
import { isObject, type JsonObject } from './validation';

type Requirement = (labels: Record<string, string>) => boolean;

/** Splits on commas that are not inside "( … )", as in "app in (a,b),tier=web". */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of selector) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += char;
  }
  terms.push(current);
  return terms.map((term) => term.trim()).filter((term) => term !== '');
}

export class SelectorError extends Error {}

function parseTerm(term: string): Requirement {
  let match = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (match) {
    const [, key = '', operator, list = ''] = match;
    const values = new Set(list.split(',').map((v) => v.trim()));
    return operator === 'in'
      ? (labels) => key in labels && values.has(labels[key] ?? '')
      : (labels) => !(key in labels) || !values.has(labels[key] ?? '');
  }
  match = /^([^\s!=]+)\s*(!=|==|=)\s*([^\s]*)$/.exec(term);
  if (match) {
    const [, key = '', operator, value = ''] = match;
    return operator === '!=' ? (labels) => labels[key] !== value : (labels) => labels[key] === value;
  }
  match = /^(!?)([^\s!=()]+)$/.exec(term);
  if (match) {
    const [, negate, key = ''] = match;
    return negate ? (labels) => !(key in labels) : (labels) => key in labels;
  }
  throw new SelectorError(`unable to parse requirement: ${term}`);
}

export function parseLabelSelector(selector: string | null): Requirement {
  if (!selector) return () => true;
  const requirements = splitTerms(selector).map(parseTerm);
  return (labels) => requirements.every((requirement) => requirement(labels));
}

/** Only metadata.name and metadata.namespace, which is what kubectl's watchers use. */
export function parseFieldSelector(selector: string | null): (obj: JsonObject) => boolean {
  if (!selector) return () => true;
  const checks = splitTerms(selector).map((term) => {
    const match = /^(metadata\.name|metadata\.namespace)\s*(!=|==|=)\s*(.*)$/.exec(term);
    if (!match) throw new SelectorError(`"${term}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
    const [, field = '', operator, value] = match;
    const key = field.slice('metadata.'.length);
    return (obj: JsonObject) => {
      const actual = isObject(obj.metadata) ? obj.metadata[key] : undefined;
      return operator === '!=' ? actual !== value : actual === value;
    };
  });
  return (obj) => checks.every((check) => check(obj));
}
