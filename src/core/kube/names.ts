// Validation of the names that end up in kubectl's argument list. A name that passes cannot be read
// as a flag (no leading "-") and cannot carry shell or control characters, even though no shell is used.
import { displayName } from '../text';

export class InvalidNameError extends Error {
  override readonly name = 'InvalidNameError';
  constructor(
    readonly what: string,
    readonly value: string,
    reason: string,
  ) {
    super(`Invalid ${what} ${quote(value)}: ${reason}`);
  }
}

const labelPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const labelRule = 'allowed: lowercase letters a-z, digits 0-9 and "-", starting and ending with a letter or digit, at most 63 characters (RFC 1123 label)';
const subdomainRule =
  'allowed: dot-separated RFC 1123 labels (lowercase letters a-z, digits 0-9 and "-", each starting and ending with a letter or digit), at most 253 characters';

/**
 * Shown values are cut short and escaped, so a hostile value cannot flood or forge a message; a hidden character
 * is named (⟨U+202E⟩), since it is often exactly what makes the name invalid.
 */
function quote(value: string): string {
  return JSON.stringify(displayName(value, 80));
}

/** RFC 1123 label (namespaces): ≤63 chars of [a-z0-9-], alphanumeric at both ends. */
export function assertDnsLabel(value: string, what: string): void {
  if (typeof value !== 'string' || value === '') throw new InvalidNameError(what, String(value ?? ''), `must not be empty; ${labelRule}`);
  if (value.length > 63) throw new InvalidNameError(what, value, `is ${value.length} characters long; ${labelRule}`);
  if (!labelPattern.test(value)) throw new InvalidNameError(what, value, labelRule);
}

/** RFC 1123 subdomain (object names): ≤253 chars, dot-separated labels. */
export function assertDnsSubdomain(value: string, what: string): void {
  if (typeof value !== 'string' || value === '') throw new InvalidNameError(what, String(value ?? ''), `must not be empty; ${subdomainRule}`);
  if (value.length > 253) throw new InvalidNameError(what, value, `is ${value.length} characters long; ${subdomainRule}`);
  if (!value.split('.').every((label) => label.length <= 63 && labelPattern.test(label))) throw new InvalidNameError(what, value, subdomainRule);
}

/**
 * Kube context names are free-form in a kubeconfig (they may contain "@", ":", "/", spaces), so only
 * what could change the meaning of an argv is refused: a leading "-", control characters, excess length.
 */
export function assertContextName(value: string): void {
  const what = 'kube context name';
  const rule = 'a context name must not be empty, must not start with "-", must not contain control characters or line breaks, and must be at most 253 characters';
  if (typeof value !== 'string' || value === '') throw new InvalidNameError(what, String(value ?? ''), rule);
  if (value.length > 253) throw new InvalidNameError(what, value, rule);
  if (value.startsWith('-')) throw new InvalidNameError(what, value, rule);
  if ([...value].some(isControlCharacter)) throw new InvalidNameError(what, value, rule);
}

/** C0, DEL, C1 controls and the Unicode line/paragraph separators. */
function isControlCharacter(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
}
