// Load: 20 MCP sessions over HTTP list and propose for ABUSE_LOAD_SECONDS (default 30) while one apply
// goes through approval and writes. No call may fail, and the apply writes exactly its plan's objects.
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startHttpHost } from '../../src/mcp/http';
import { startSessionFixture } from '../support/session-fixture';
import { count, record } from './figures';
import { call, connectHttp, data, frontend, postgres, statusOf, textOf } from './harness';

const seconds = Number(process.env.ABUSE_LOAD_SECONDS ?? 30);
const sessions = 20;
const mb = () => Math.round((process.memoryUsage().rss / 1024 / 1024) * 10) / 10;

describe('abuse: load', function () {
  this.timeout((seconds + 90) * 1000);

  it(`${sessions} concurrent MCP sessions for ${seconds} s while one apply is approved and written`, async () => {
    const f = await startSessionFixture();
    const host = await startHttpHost(f.session, { version: 'test', maxSessions: sessions + 4 });
    const clients: Client[] = [];
    try {
      const applier = await connectHttp(host, 'applier');
      clients.push(applier);
      const { reportId } = data<{ reportId: string }>(await call(applier, 'krr_scan'));
      for (let i = 0; i < sessions; i++) clients.push(await connectHttp(host, `load-${i}`));
      count('load_sessions', sessions);
      record('load_rss_start_mb', mb());
      const deadline = Date.now() + seconds * 1000;
      let calls = 0;
      const errors: string[] = [];
      const loop = async (client: Client, i: number) => {
        for (let n = 0; Date.now() < deadline; n++) {
          try {
            const result = n % 3 === 2
              ? await call(client, 'krr_propose_changes', { reportId, workloads: [i % 2 ? frontend : postgres] })
              : await call(client, 'krr_list_recommendations', { reportId, page: 1 + (n % 4), pageSize: 2 });
            calls++;
            if (result.isError) errors.push(textOf(result));
          } catch (error) {
            errors.push(String(error));
          }
        }
      };
      const workers = clients.slice(1).map((client, i) => loop(client, i));
      // The one real change: proposed mid-load, approved by the human after a pause, written.
      await new Promise((resolve) => setTimeout(resolve, Math.min(3000, (seconds * 1000) / 4)));
      const plan = data<{ planId: string; objects: Array<{ namespace: string; name: string }> }>(await call(applier, 'krr_propose_changes', { reportId, workloads: [frontend, postgres], includeLimits: true }));
      f.human.answer = async (approved) => {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        return { outcome: 'approved', digest: approved.digest };
      };
      const applied = await call(applier, 'krr_apply_plan', { planId: plan.planId });
      await Promise.all(workers);
      record('load_rss_end_mb', mb());
      record('load_calls', calls);
      record('load_seconds', seconds);
      count('load_errors', errors.length);
      assert.deepEqual(errors.slice(0, 3), [], `${errors.length} errors`);
      assert.equal(statusOf(applied), 'applied', textOf(applied));
      const writes = f.cluster.writes();
      const written = writes.map((w) => new URL(w.path, 'https://x').pathname.split('/').slice(-3).join('/')).sort();
      assert.equal(written.length, plan.objects.length, 'the apply wrote exactly its plan');
      assert.deepEqual(written.map((w) => w.split('/').pop()).sort(), plan.objects.map((o) => o.name).sort(), `written: ${written.join(', ')}`);
      assert.ok(calls > sessions, `calls were made (${calls})`);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      await host.close();
      await f.close();
    }
  });
});
