// Smallest stdio MCP server (newline-delimited JSON-RPC) with one read-only tool, so tests can see VS Code's MCP client work.
const readline = require('node:readline');

const tool = {
  name: 'probe_echo',
  description: 'Echoes its text argument.',
  inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  annotations: { readOnlyHint: true },
};

function reply(id, result) {
  process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id, result }) + '\n');
}

function fail(id, code, message) {
  process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } }) + '\n');
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  let message;
  try {
    message = JSON.parse(line);
  } catch {
    return;
  }
  if (message.id === undefined) return; // notifications need no answer
  switch (message.method) {
    case 'initialize':
      return reply(message.id, {
        protocolVersion: message.params?.protocolVersion ?? '2025-06-18',
        capabilities: { tools: {} },
        serverInfo: { name: 'krr-probe', version: '0.0.1' },
      });
    case 'ping':
      return reply(message.id, {});
    case 'tools/list':
      return reply(message.id, { tools: [tool] });
    case 'tools/call':
      return reply(message.id, { content: [{ type: 'text', text: `echo:${message.params?.arguments?.text ?? ''}` }] });
    default:
      return fail(message.id, -32601, `method not found: ${message.method}`);
  }
});
