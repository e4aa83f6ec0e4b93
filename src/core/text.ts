// Untrusted text made safe to show: an MCP client's name, names and messages from a cluster or a report, anything
// that reaches the approval dialog, a diff title, or a tool result. Safety invariant: a model must not be able to
// word the dialog — so nothing it (or a crafted object) supplies may reorder the text (bidi overrides), hide text
// (zero-width and other format characters), start a new line (U+2028/U+2029, CR/LF) or push the rest out of view.

/**
 * Control (Cc), format (Cf: bidi embeddings/overrides/isolates, zero-width joiners, BOM, soft hyphen, tag characters),
 * line/paragraph separators (Zl, Zp), surrogates (Cs) and private-use (Co) code points. Unassigned (Cn) ones are left
 * alone: they render as boxes and cannot reorder text.
 */
const unsafe = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}]/gu;

/** Default bound for one value (a name, a client label); the caller bounds whole messages itself. */
export const displayTextMaxLength = 100;

/**
 * One line of at most `maxLength` code points: unsafe characters become a space, runs of whitespace collapse, the
 * ends are trimmed, and an over-long value ends in "…". Pure and total: any string in, a safe string out.
 */
export function displayText(value: string, maxLength: number = displayTextMaxLength): string {
  const cleaned = value.normalize('NFC').replace(unsafe, ' ').replace(/\s+/gu, ' ').trim();
  // Count code points, not UTF-16 units, so a cut never leaves half a surrogate pair.
  const points = Array.from(cleaned);
  if (points.length <= maxLength) return cleaned;
  return `${points.slice(0, Math.max(0, maxLength - 1)).join('').trimEnd()}…`;
}

/** Like displayText, but keeps the line breaks of a multi-line message (each line cleaned and bounded). */
export function displayLines(value: string, maxLineLength: number, maxLines: number): string {
  const lines = value.split(/\r\n|\r|\n/).map((line) => displayText(line, maxLineLength));
  return lines.length <= maxLines ? lines.join('\n') : [...lines.slice(0, maxLines), `…(${lines.length - maxLines} more lines)`].join('\n');
}

// ── names ────────────────────────────────────────────────────────────────────────────────────────────
// A name (object, namespace, container, cluster, context) is an identifier: a person must see exactly which one it
// is. So its control and format characters are not hidden (a space would make `a\u202Egnp.exe` look like a plain
// `a gnp.exe`) but shown as a visible code (`a⟨U+202E⟩gnp.exe`), and the name is isolated from the text around it
// (Unicode isolates in plain text, <bdi> in HTML) so right-to-left letters in it cannot reorder that text.

/** Unicode FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE: the only format characters the extension adds itself. */
export const isolateStart = '\u2068';
export const isolateEnd = '\u2069';

/** U+202E → "⟨U+202E⟩" (U+27E8/U+27E9 are ordinary punctuation, so the marker itself cannot be mistaken for a control). */
function visibleCode(char: string): string {
  return `⟨U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}⟩`;
}

/**
 * A name as a person must see it: NFC, every control, format, separator, surrogate or private-use code point shown
 * as ⟨U+XXXX⟩ (so `a\u202Egnp.exe` reads `a⟨U+202E⟩gnp.exe`, never `aexe.png`), bounded to `maxLength` code points
 * with "…". Pure and total; the result contains no unsafe character and no line break.
 */
export function displayName(value: string, maxLength: number = displayTextMaxLength): string {
  const shown = Array.from(value.normalize('NFC').replace(unsafe, visibleCode));
  if (shown.length <= maxLength) return shown.join('');
  return `${shown.slice(0, Math.max(0, maxLength - 1)).join('')}…`;
}

/** Wraps text in FSI…PDI so its direction cannot leak into the sentence around it (plain-text surfaces). */
export function isolate(text: string): string {
  return `${isolateStart}${text}${isolateEnd}`;
}

/** displayName, isolated: the form of a name inside a dialog, notification, tree label, diff title or log line. */
export function nameText(value: string, maxLength: number = displayTextMaxLength): string {
  return isolate(displayName(value, maxLength));
}

/** True when `value` has a character displayName would show as a code (a name a person could misread). */
export function hasHiddenCharacters(value: string): boolean {
  return new RegExp(unsafe.source, 'u').test(value);
}

/** Removes the isolates nameText added (for checks and for surfaces that cannot show them, e.g. an audit field). */
export function withoutIsolates(text: string): string {
  return text.replaceAll(isolateStart, '').replaceAll(isolateEnd, '');
}

// ── numbers and money ────────────────────────────────────────────────────────────────────────────────
// One formatter for the panel, the dialog, notifications and tool text, so "$1,234.50" never reads "$1234.5" elsewhere.

const integerFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const moneyFormat = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** 2500 → "2,500". */
export function formatCount(value: number): string {
  return integerFormat.format(value);
}

/** (1, "object") → "1 object"; (2500, "workload") → "2,500 workloads"; an irregular plural may be given. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${formatCount(count)} ${count === 1 ? singular : pluralForm}`;
}

/** −1234.5 → "−$1,234.50" (U+2212 minus), 0 → "±$0.00"; null (not estimated) → "–". */
export function formatMoney(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '–';
  const rounded = Math.round(value * 100) / 100;
  const sign = rounded > 0 ? '+' : rounded < 0 ? '−' : '±';
  return `${sign}$${moneyFormat.format(Math.abs(rounded))}`;
}

/** −1234.5 → "−$1,234.50/month". */
export function formatMonthly(value: number): string {
  return `${formatMoney(value)}/month`;
}
