// An SDK Client over a stdio transport, optionally answering elicitation (the human at the stdio server's seam).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema, type ElicitRequest, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';

export type ElicitationAnswer = (params: ElicitRequest['params']) => ElicitResult | Promise<ElicitResult>;

/** Connects; `elicitation` absent = a client without that capability. Every elicitation it sees is kept. */
export async function connectStdioClient(transport: StdioClientTransport, name: string, elicitation?: ElicitationAnswer): Promise<{ client: Client; elicitations: Array<ElicitRequest['params']> }> {
  const elicitations: Array<ElicitRequest['params']> = [];
  const client = new Client({ name, version: '1.0.0' }, { capabilities: elicitation ? { elicitation: { form: {} } } : {} });
  if (elicitation) {
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      elicitations.push(request.params);
      return elicitation(request.params);
    });
  }
  await client.connect(transport);
  return { client, elicitations };
}
