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
