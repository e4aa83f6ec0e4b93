// A stdio MCP server with the two shapes MCP Inspector's portability check flags (a `type` array from
// `.nullable()`, `additionalProperties: {}` from a loose object): proof that the schema test can fail.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'unportable', version: '1.0.0' });
server.registerTool(
  'unportable',
  { inputSchema: z.object({ name: z.string() }), outputSchema: z.object({ version: z.string().nullable(), detail: z.looseObject({ id: z.string() }) }) },
  async () => ({ content: [{ type: 'text', text: 'ok' }], structuredContent: { version: null, detail: { id: 'x' } } }),
);
void server.connect(new StdioServerTransport());
