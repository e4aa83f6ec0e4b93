// RFC 6902 JSON patch operations, as sent to the API server with `kubectl patch --type=json`.

export type JsonPatchOp =
  | { op: 'test'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'add'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** Escapes one JSON pointer segment (RFC 6901): "~" -> "~0", "/" -> "~1". */
export function pointerSegment(segment: string | number): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(segments: ReadonlyArray<string | number>): string {
  return segments.map((segment) => `/${pointerSegment(segment)}`).join('');
}
