// What comes from outside into an audit entry: secrets removed at any depth, and a refused call's arguments bounded.
import { canonicalJson } from './canonicalJson';

// Keys compared after lower-casing and dropping '-', '_' and other separators.
const secretKeyParts = ['token', 'password', 'passwd', 'secret', 'authorization', 'header', 'bearer', 'privatekey', 'apikey', 'cookie', 'credential'];
const secretKeys = new Set(['config', 'auth']);

function isSecretKey(key: string): boolean {
  const normal = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  return secretKeys.has(normal) || secretKeyParts.some((part) => normal.includes(part));
}

function maskSecretText(text: string): string {
  return (
    text
      .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]')
      .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi, '$1[redacted]@')
      // `token=…`, `password: …`, `Authorization: …` inside free text (query strings, pasted headers).
      .replace(/\b((?:access[_-]?)?token|password|passwd|secret|api[_-]?key|authorization|x-api-key|cookie)(\s*[=:]\s*)(?!\[redacted\])[^\s&;,"']+/gi, '$1$2[redacted]')
      // Well-known credential shapes: JWTs, GitHub, GitLab, OpenAI-style and Slack tokens, AWS access key ids.
      .replace(/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, '[redacted]')
      .replace(/\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,}|glpat-[A-Za-z0-9_-]{16,}|sk-[A-Za-z0-9_-]{16,}|xox[abpr]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})\b/g, '[redacted]')
  );
}

/**
 * Defensive copy without secrets: drops keys that name credentials (token, authorization, password,
 * secret, headers, krr's `config` block, ...) at any depth and masks `Bearer xxx` / `Basic xxx`,
 * `scheme://user:pass@`, `token=…` and well-known token shapes inside strings. Cycles become '[circular]'.
 */
export function redactSecrets(value: unknown): unknown {
  return redact(value, new WeakSet());
}

function redact(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return maskSecretText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  try {
    if (value instanceof Error) return { name: value.name, message: maskSecretText(value.message) };
    const withJson = value as { toJSON?: () => unknown };
    if (typeof withJson.toJSON === 'function') return redact(withJson.toJSON(), seen);
    if (Array.isArray(value)) return value.map((item) => redact(item, seen));
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (!isSecretKey(key)) result[key] = redact(item, seen);
    }
    return result;
  } finally {
    seen.delete(value);
  }
}

const argumentBounds = { depth: 4, keys: 30, items: 30, string: 200, bytes: 4096 } as const;

/**
 * What a refused tool call sent, fit for the audit log: secrets removed (redactSecrets), nesting cut at
 * depth 4, at most 30 keys or items per level, strings cut at 200 characters, and at most 4 KB in all
 * (beyond that only a preview is kept). A hostile client cannot fill the log or smuggle a credential in.
 */
export function boundedArguments(value: unknown): unknown {
  // One pass that redacts and bounds, so a deeply nested value never reaches an unbounded recursion.
  const bounded = bound(value, 0);
  const text = canonicalJson(bounded);
  if (text.length <= argumentBounds.bytes) return bounded;
  return { truncated: true, characters: text.length, preview: `${text.slice(0, argumentBounds.string)}…` };
}

function bound(value: unknown, depth: number): unknown {
  if (typeof value === 'string') {
    const masked = maskSecretText(value.length > 4 * argumentBounds.string ? value.slice(0, 4 * argumentBounds.string) : value);
    return masked.length > argumentBounds.string || value.length > 4 * argumentBounds.string ? `${masked.slice(0, argumentBounds.string)}… (${value.length} characters)` : masked;
  }
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol' ? String(value) : value;
  if (depth >= argumentBounds.depth) return Array.isArray(value) ? `[array of ${value.length}]` : '[object]';
  if (Array.isArray(value)) {
    const items = value.slice(0, argumentBounds.items).map((item) => bound(item, depth + 1));
    return value.length > argumentBounds.items ? [...items, `… ${value.length - argumentBounds.items} more`] : items;
  }
  const entries = Object.entries(value).filter(([key]) => !isSecretKey(key));
  const result: Record<string, unknown> = {};
  for (const [key, item] of entries.slice(0, argumentBounds.keys)) result[bound(key, argumentBounds.depth) as string] = bound(item, depth + 1);
  if (entries.length > argumentBounds.keys) result['…'] = `${entries.length - argumentBounds.keys} more keys`;
  return result;
}
