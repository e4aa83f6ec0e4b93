// A Prometheus on 127.0.0.1 that answers every query with an empty vector and records what `record` takes from each
// request (its headers, its path): where a secret header went is the evidence the secret tests check.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PrometheusRecorder<T> {
  url: string;
  port: number;
  requests: T[];
  close(): Promise<void>;
}

export async function startPrometheusRecorder<T>(record: (request: IncomingMessage) => T): Promise<PrometheusRecorder<T>> {
  const requests: T[] = [];
  const server: Server = createServer((request, response) => {
    requests.push(record(request));
    response.setHeader('content-type', 'application/json');
    response.end('{"status":"success","data":{"resultType":"vector","result":[]}}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
