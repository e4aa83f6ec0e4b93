// Generates docs/tools.md from the tool definitions (the MCP contract). `--check` exits 1 when the file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { strictInput } from '../src/mcp/server';
import type { ToolDefinition } from '../src/mcp/tool';
import { tools } from '../src/mcp/tools/index';

const target = path.resolve(__dirname, '..', 'docs', 'tools.md');

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  description?: string;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function typeOf(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((value) => `\`${JSON.stringify(value)}\``).join(' | ');
  if (schema.type === 'array' && schema.items) {
    const item = schema.items.type === 'object' && schema.items.properties ? `{${Object.keys(schema.items.properties).join(', ')}}` : typeOf(schema.items);
    return `${item}[]`;
  }
  if (schema.type === 'object' && schema.properties) return `{${Object.keys(schema.properties).join(', ')}}`;
  return Array.isArray(schema.type) ? schema.type.join(' | ') : (schema.type ?? 'any');
}

function constraintsOf(schema: JsonSchema): string {
  const parts: string[] = [];
  if (schema.format) parts.push(`format ${schema.format}`);
  if (schema.minLength !== undefined || schema.maxLength !== undefined) parts.push(`length ${schema.minLength ?? 0}..${schema.maxLength ?? '∞'}`);
  if (schema.minimum !== undefined || schema.maximum !== undefined || schema.exclusiveMinimum !== undefined) {
    parts.push(`${schema.exclusiveMinimum !== undefined ? `>${schema.exclusiveMinimum}` : (schema.minimum ?? '-∞')}..${schema.maximum ?? '∞'}`);
  }
  if (schema.minItems !== undefined || schema.maxItems !== undefined) parts.push(`${schema.minItems ?? 0}..${schema.maxItems ?? '∞'} items`);
  if (schema.pattern) parts.push(`pattern \`${schema.pattern}\``);
  const item = schema.items;
  if (item && !item.properties) {
    const inner = constraintsOf(item);
    if (inner) parts.push(`each: ${inner}`);
  }
  if (item?.properties) {
    for (const [name, property] of Object.entries(item.properties)) {
      const inner = constraintsOf(property);
      parts.push(`${name}: ${typeOf(property)}${inner ? ` (${inner})` : ''}`);
    }
  }
  return parts.join('; ');
}

function describeTool(tool: ToolDefinition): string {
  const schema = z.toJSONSchema(strictInput(tool)) as JsonSchema;
  const required = new Set(schema.required ?? []);
  const annotations = Object.entries(tool.annotations)
    .map(([key, value]) => `\`${key}: ${String(value)}\``)
    .join(', ');
  const lines = [`## \`${tool.name}\` — ${tool.title}`, '', `Annotations: ${annotations}`, '', tool.description, ''];
  const properties = Object.entries(schema.properties ?? {});
  if (properties.length === 0) {
    lines.push('No arguments.');
  } else {
    lines.push('| Argument | Type | Required | Constraints | Description |', '|---|---|---|---|---|');
    for (const [name, property] of properties) {
      lines.push(`| \`${name}\` | ${cell(typeOf(property))} | ${required.has(name) ? 'yes' : 'no'} | ${cell(constraintsOf(property))} | ${cell(property.description ?? '')} |`);
    }
  }
  lines.push('', `Returns (structuredContent): ${Object.keys(tool.outputSchema).map((key) => `\`${key}\``).join(', ')}.`, '');
  return lines.join('\n');
}

/** Prose of the generated page: kept beside the generator so the page stays one file nobody edits by hand. */
const protocolEras = [
  '## Protocol eras',
  '',
  'The same tools are served to clients of both MCP eras, from the same process and endpoint; the era is decided per request by what',
  'the request carries ([versioning: dual-era server][versioning]).',
  '',
  '| | 2025 era (2024-11-05 … 2025-11-25) | 2026-07-28 revision |',
  '|---|---|---|',
  '| how a client starts | `initialize` (then `notifications/initialized`) | nothing: any request, usually `server/discover` first ([discover][discover]) |',
  '| what identifies the client | `clientInfo` and `capabilities` of `initialize`, for the whole session | `_meta` of each request: `io.modelcontextprotocol/protocolVersion` and `io.modelcontextprotocol/clientCapabilities` (required), `io.modelcontextprotocol/clientInfo` (optional) ([_meta][meta]) |',
  '| Streamable HTTP | `Mcp-Session-Id` sessions, GET stream, DELETE | one POST per request with `MCP-Protocol-Version`, `Mcp-Method` and, for `tools/call`, `Mcp-Name`; no session ([transport][http]) |',
  '| results | as in 2025-11-25 | every result has `resultType` (`complete` or `input_required`); `tools/list` and `server/discover` carry `ttlMs: 0` |',
  '| approval outside VS Code | the server sends `elicitation/create` while `krr_apply_plan` waits | `krr_apply_plan` answers `input_required` with the form and a `requestState`; the client calls again with `inputResponses` and the state ([MRTR][mrtr]) |',
  '| served by | `@modelcontextprotocol/sdk` 1.x (`McpServer`, its stdio and Streamable HTTP transports) | `src/mcp/modern.ts` in front of the SDK transport; the relay forwards it too |',
  '',
  'Why not the SDK: the installed `@modelcontextprotocol/sdk` (1.x) speaks up to 2025-11-25 only, and its maintainers put the',
  '2026-07-28 revision into the separate v2 packages (`@modelcontextprotocol/server`), opt-in there too ([TypeScript SDK][ts-sdk]).',
  'Moving every tool, transport and test to v2 would change the path every 2025-era client (VS Code, the relay) uses today; the',
  'new revision needs only three methods here (`server/discover`, `tools/list`, `tools/call`), so they are answered by a thin',
  'dispatch from the same tool definitions, strict input schemas, audit of refused calls and output checks as the SDK path, and',
  '`tools/list` is read from the SDK server itself so both eras list identical schemas.',
  '',
  'Errors of the revision: a request without the required `_meta` fields → `-32602` (HTTP 400); another protocol version →',
  '`-32022` with `data.supported` naming both eras this server speaks (`["2026-07-28", "2025-11-25"]`, the latter through `initialize`)',
  '(HTTP 400); headers that do not match the body → `-32020` (HTTP 400); an unknown method → `-32601`',
  '(HTTP 404); `krr_apply_plan` / `krr_rollback` from a client that did not declare form elicitation, on the standalone server →',
  '`-32021` with `data.requiredCapabilities: {elicitation: {form: {}}}` (HTTP 400), audited as `refuse` / `missing-capability`.',
  '',
];

const approvalPaths = [
  '## Approval paths, and what each can and cannot prove',
  '',
  '`krr_status` returns `approval: {canApprove, path, how}` for the calling client: whether a write can be approved in this',
  'session (on the 2026-07-28 revision: for the capabilities this very request declared), and how. `krr_propose_changes` says the',
  'same in its text and never promises a question nobody can be asked. Every approval is an `approve` entry in the audit log whose',
  '`actor` says which path answered.',
  '',
  '| path (`approval.path`) | who is asked | audit `actor` | proves | does not prove |',
  '|---|---|---|---|---|',
  '| `editor`: VS Code (HTTP host, relay; both eras) | a person in VS Code: a non-modal notice, then the diff and a modal whose first button declines | `human` / `approval dialog` | the answer came from VS Code\'s modal UI, which no MCP client or model can drive, for the digest shown | who sat at the keyboard |',
  '| `elicitation`: standalone stdio server, 2025 era | the MCP client shows a form (`elicitation/create`) while the call waits | `client` / `MCP elicitation by client <name> <version>` | the client this process serves answered the form for this plan\'s digest (and typed the context name where required) | that a person answered: a scripted client (e.g. `mcpdo` answering `approve:=true`) answers the same way; `clientInfo` is self-reported |',
  '| `input-request`: standalone stdio server, 2026-07-28 | the client gets `input_required` with the same form and calls again with the answer | `client` / `MCP elicitation by client <name> <version>` | the answer came with a `requestState` signed under the state directory\'s key (HMAC-SHA256; a 0600 file there, never sent anywhere) for this tool, plan id, digest and arguments, within the approval timeout, presented once across every process sharing the state directory | as above: not that a person answered; the state only stops forged, replayed, swapped and expired answers |',
  '| `none` | nobody: read-only, or a client without form elicitation (none, or URL elicitation only) | refusals as `decline` / `refused` or `refuse` / `missing-capability` | that nothing was written | — |',
  '',
  'A request state that fails any check (not signed with the key of this state directory — also one from a server over another state',
  'directory —, altered, expired, already used, or for another tool, plan or arguments) is refused with status `refused`, nothing written and nobody asked,',
  'and audited as `refuse` / `invalid-request-state`; calling the tool again without `requestState` asks again. No form is shown',
  'for what the apply would refuse without asking (unknown, used or expired plan, another apply running, the cool-down after a',
  'decline): the first call already answers `refused`, audited. An answer sent',
  'without a state only gets the form again. The state names no principal: stdio has none and `clientInfo` is self-reported',
  '(the MRTR page asks for one where there is authentication); the state directory\'s key, the argument binding and single use stand in.',
  'A client that starts a new stdio server process for every call finishes the round trip like any other: the key is',
  '`request-state.key` in the state directory (mode 0600, created once with `O_EXCL`), a state is spent by an `O_EXCL` file in',
  '`request-states/` (a replay in any later process is `already used`), and the decline cool-down is kept in `cooldowns/`, so a fresh',
  'process does not show the form again before it has passed.',
  'The form\'s words come from the stored plan (`src/core/approval.ts`): who proposed and',
  'who asks, each field change per pod and in total (e.g. `−58Mi per pod × 4 pods = −232Mi`), that the rollout restarts the',
  'workload\'s pods and how many (from the live object), totals, risk, plan id and digest.',
  '',
];

const sources = [
  '## Sources',
  '',
  'Read for this page and `src/mcp/modern.ts` (MCP specification revision 2026-07-28 and SDK status):',
  '',
  '[versioning]: https://modelcontextprotocol.io/specification/2026-07-28/basic/versioning',
  '[discover]: https://modelcontextprotocol.io/specification/2026-07-28/server/discover',
  '[meta]: https://modelcontextprotocol.io/specification/2026-07-28/basic/index#meta',
  '[http]: https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http',
  '[mrtr]: https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/mrtr',
  '[ts-sdk]: https://github.com/modelcontextprotocol/typescript-sdk/blob/main/docs/migration/support-2026-07-28.md',
  '',
  '- [Versioning and compatibility][versioning] (dual-era server, compatibility matrix), [`server/discover`][discover],',
  '  [`_meta` per-request fields, `resultType`, error codes][meta], [Streamable HTTP][http] (request headers, `-32020`),',
  '  [Multi round-trip requests][mrtr] (`InputRequiredResult`, `requestState` integrity, replay and single use), and the',
  '  revision\'s schema (`schema/2026-07-28/schema.ts` in modelcontextprotocol/modelcontextprotocol: `InputResponseRequestParams`,',
  '  `DiscoverResult`, `CacheableResult`).',
  '- SEP-2575 "Make MCP stateless" (modelcontextprotocol/modelcontextprotocol#2575) and SEP-2322 "Multi round-trip requests" (#2322).',
  '- [Supporting protocol revision 2026-07-28][ts-sdk] (TypeScript SDK: v1.x stays on the 2025 era; 2026-07-28 is opt-in in the v2',
  '  packages); the installed `@modelcontextprotocol/sdk` 1.32.2 has `LATEST_PROTOCOL_VERSION` 2025-11-25.',
  '',
];

export function renderToolsDoc(): string {
  return [
    '# MCP tools',
    '',
    '<!-- Generated by `npm run docs:tools` from src/mcp/tools/*.ts; do not edit by hand. -->',
    '',
    'Every tool rejects unknown argument keys. Tools marked `readOnlyHint: true` never write to the cluster, with one exception that',
    'starts nothing new: `krr_trial_status` first runs the trial watch\'s own check, which reverts a trial a person approved when its',
    'window ended or a signal failed (the server\'s watch would do the same within `krr.trial.pollSeconds`).',
    '`krr_apply_plan` and `krr_rollback` write only after the exact plan is approved in UI the model cannot drive',
    '(VS Code: the diff and a modal dialog; standalone stdio server: a form in the MCP client); a trial plan goes through the same',
    '`krr_apply_plan`, and `krr_revert_trial` only puts the pods of such a trial back. Every result that is not a success',
    'has `isError: true` and says what to do next.',
    '',
    ...protocolEras,
    ...approvalPaths,
    ...tools.map(describeTool),
    ...sources,
  ].join('\n');
}

const rendered = renderToolsDoc();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // A missing file is as stale as an outdated one.
  }
  if (current !== rendered) {
    process.stderr.write('docs/tools.md is out of date: run `npm run docs:tools` and commit the result.\n');
    process.exit(1);
  }
  process.stdout.write('docs/tools.md is up to date.\n');
} else {
  writeFileSync(target, rendered);
  process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
}
