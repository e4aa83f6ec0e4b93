// The harness's own client of the test API server: HTTPS with the serving CA and the harness's bearer token, no
// kubectl process. Used where the harness talks to the plane often (the node simulator's ticks, the reset before
// every test); one kubectl process costs more CPU than a dozen requests, and the suites run on two cores.
import * as https from 'node:https';

export interface HarnessResponse {
  status: number;
  body: unknown;
  text: string;
}

export class HarnessApi {
  private readonly agent: https.Agent;

  constructor(
    private readonly server: string,
    caPem: string,
    private readonly bearer: string,
  ) {
    this.agent = new https.Agent({ ca: caPem, keepAlive: true, maxSockets: 8 });
  }

  /** One request; any status is returned (the caller decides what a 404 or a 409 means). */
  send(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<HarnessResponse> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers = { authorization: `Bearer ${this.bearer}`, accept: 'application/json', ...(payload ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}) };
      const request = https.request(new URL(path, this.server), { method, agent: this.agent, headers, timeout: 10_000 }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({ status: response.statusCode ?? 500, body: parsed, text });
        });
      });
      request.on('error', reject);
      request.on('timeout', () => request.destroy(new Error(`${method} ${path}: timed out`)));
      request.end(payload);
    });
  }

  /** One request that must succeed (status below 300); its parsed body. */
  async request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<unknown> {
    const response = await this.send(method, path, body, contentType);
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${response.text.slice(0, 200)}`);
    return response.body;
  }

  destroy(): void {
    this.agent.destroy();
  }
}
