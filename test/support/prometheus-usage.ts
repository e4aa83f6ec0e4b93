// A Prometheus double for the evidence reader: answers its five queries per namespace (POST /api/v1/query and
// /api/v1/query_range, told apart by what the query reads) with fixed usage of one pod's container — a memory peak
// three buckets before the window's end, a CPU p95 of 212m, 23% of CFS periods throttled, no restart or OOM kill.
// It checks nothing about the queries (the reader's own tests do); it only feeds the layers above the reader.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PrometheusUsage {
  url: string;
  /** Each query's PromQL, in the order received. */
  queries: string[];
  close(): Promise<void>;
}

export async function startPrometheusUsage(usage: { pod: string; container: string; peak: number }): Promise<PrometheusUsage> {
  const queries: string[] = [];
  const metric = (signal: string) => ({ signal, pod: usage.pod, container: usage.container });
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const params = new URLSearchParams(body);
      const query = params.get('query') ?? '';
      queries.push(query);
      const time = Number(params.get('time') ?? 0);
      const sample = (signal: string, value: number) => ({ metric: metric(signal), value: [time, String(value)] });
      let data: unknown;
      if (request.url?.endsWith('/query_range')) {
        const end = Number(params.get('end'));
        const step = Number(params.get('step'));
        const values = [3, 2, 1, 0].map((back) => [end - back * step, String(back === 3 ? usage.peak : Math.round(usage.peak * 0.75))]);
        data = { resultType: 'matrix', result: [{ metric: metric('memory'), values }] };
      } else if (query.includes('quantile_over_time')) {
        data = { resultType: 'vector', result: [sample('p50', 0.1), sample('p95', 0.212), sample('p99', 0.3), sample('max', 0.45)] };
      } else if (query.includes('count_over_time')) {
        data = { resultType: 'vector', result: [sample('max', usage.peak), sample('points', 16_128), sample('first', time - 14 * 86_400), sample('last', time)] };
      } else if (query.includes('cfs_throttled')) {
        data = { resultType: 'vector', result: [sample('throttled', 23), sample('periods', 100), sample('restarts', 0), sample('oomKills', 0)] };
      } else {
        // The owners: none, so the pod is matched to its workload by the name its controller gives it.
        data = { resultType: 'vector', result: [] };
      }
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ status: 'success', data }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, queries, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
