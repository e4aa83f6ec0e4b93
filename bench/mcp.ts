// concurrent_request_handling: 20 MCP clients (the SDK's Client over Streamable HTTP, with the bearer
// token) calling krr_list_recommendations 50 times each, all at once, against the loopback host.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Session } from '../src/core/session/session';
import { parseSessionSettings } from '../src/core/settings';
import { startHttpHost } from '../src/mcp/http';
import { ScriptedHuman } from '../test/support/session-fixture';
import { createRandom } from './generate';
import { percentile, round } from './stats';

export interface McpFigures {
  clients: number;
  calls_per_client: number;
  calls: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  errors: number;
  wall_ms: number;
  calls_per_second: number;
}

export async function benchmarkMcp(reportFile: string, options: { clients?: number; callsPerClient?: number } = {}): Promise<McpFigures> {
  const clientCount = options.clients ?? 20;
  const callsPerClient = options.callsPerClient ?? 50;
  const stateDir = mkdtempSync(path.join(tmpdir(), 'krr-bench-mcp-'));
  const settings = parseSessionSettings({ kubectlPath: 'kubectl', confirmByTyping: [] });
  const session = new Session({ settings: () => settings, approver: new ScriptedHuman(), stateDir });
  const host = await startHttpHost(session, { version: 'bench' });
  const clients: Client[] = [];
  try {
    const { reportId } = await session.loadReport(reportFile, { type: 'human', via: 'bench' });
    const namespaces = [...new Set(session.getReport(reportId).workloads.map((workload) => workload.namespace))];
    for (let index = 0; index < clientCount; index += 1) {
      const client = new Client({ name: `bench-client-${index}`, version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(host.url), { requestInit: { headers: { Authorization: `Bearer ${host.token}` } } }));
      clients.push(client);
    }
    const samples: number[] = [];
    let errors = 0;
    const started = performance.now();
    await Promise.all(
      clients.map(async (client, clientIndex) => {
        const random = createRandom(1000 + clientIndex);
        for (let call = 0; call < callsPerClient; call += 1) {
          const args: Record<string, unknown> = { reportId, sort: random.pick(['savings', 'severity', 'name']), page: random.int(1, 5), pageSize: random.pick([20, 50]) };
          if (random.chance(0.5)) args.namespace = random.pick(namespaces);
          if (random.chance(0.3)) args.minSeverity = random.pick(['OK', 'WARNING', 'CRITICAL']);
          const callStarted = performance.now();
          try {
            const result = (await client.callTool({ name: 'krr_list_recommendations', arguments: args })) as CallToolResult;
            if (result.isError || !result.structuredContent) errors += 1;
          } catch {
            errors += 1;
          }
          samples.push(performance.now() - callStarted);
        }
      }),
    );
    const wallMs = performance.now() - started;
    return {
      clients: clientCount,
      calls_per_client: callsPerClient,
      calls: samples.length,
      p50_ms: round(percentile(samples, 50)),
      p99_ms: round(percentile(samples, 99)),
      max_ms: round(Math.max(...samples)),
      errors,
      wall_ms: round(wallMs, 0),
      calls_per_second: round((samples.length / wallMs) * 1000, 1),
    };
  } finally {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await host.close();
    session.dispose();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
