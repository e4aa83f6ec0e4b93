// Schema pieces that every MCP client can read. MCP Inspector's `--strict` portability check (and clients that map
// tool schemas onto a single-`type` dialect, such as Gemini's OpenAPI subset) flag `type: ["string", "null"]` and
// `additionalProperties: {}`; test/unit/mcp-schema-portability.test.ts runs that check over every tool.
import { z } from 'zod';

/**
 * `schema` or null, listed as `anyOf: [{…}, {type: "null", description}]`. zod folds a bare `.nullable()` into a
 * `type` array; a described null branch is not bare, so it stays one `type` per branch — and says what null means.
 */
export function orNull<T extends z.ZodType>(schema: T, meaning: string) {
  return z.union([schema, z.null().describe(meaning)]);
}
