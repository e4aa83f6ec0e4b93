// A loopback TLS reverse proxy between kubectl and the real kube-apiserver that injects faults into writes.
// kubectl talks to this proxy (the kubeconfig points here); the proxy forwards every request unchanged,
// Authorization header included, so authentication and authorization stay the API server's own.
// A "write" is any request whose method is not GET/HEAD/OPTIONS and that is not a server-side dry run.
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Certificate } from '../kube-api-server/certificate';

export interface ProxyFaults {
  /** The n-th write from now fails with `status` (a Status object like the API server's), not forwarded. */
  failNthWrite(n: number, status?: number): void;
  /** The n-th write from now gets its connection destroyed before it is forwarded: never applied. */
  dropNthWrite(n: number): void;
  /** The n-th write from now is forwarded and applied, then the connection is destroyed before the reply. */
  commitThenDropNthWrite(n: number): void;
  /** The next write gets 409 Conflict, not forwarded. */
  conflictNextWrite(): void;
  /** Every request is delayed by `ms` before it is forwarded. */
  delayMs(ms: number): void;
  /** The n-th write waits `ms` before it is forwarded; if the client left meanwhile, it is never forwarded. */
  hangNthWrite(n: number, ms: number): void;
  /** Every write, dry runs included, in `namespace` gets 403 Forbidden (as RBAC words it), not forwarded. */
  forbidNamespace(namespace: string): void;
  clear(): void;
}

type WriteFault = { kind: 'fail'; status: number } | { kind: 'drop' } | { kind: 'commit-then-drop' } | { kind: 'hang'; ms: number };

const readMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

const reasons: Record<number, string> = { 400: 'BadRequest', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict', 422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout' };

export class FaultProxy implements ProxyFaults {
  private readonly server: https.Server;
  private readonly sockets = new Set<Socket>();
  private readonly agent: https.Agent;
  private writesSeen = 0;
  private readonly planned = new Map<number, WriteFault>();
  private latencyMs = 0;
  private readonly forbidden = new Set<string>();

  constructor(
    private readonly upstream: URL,
    upstreamCaPem: string,
    certificate: Certificate,
  ) {
    this.agent = new https.Agent({ ca: upstreamCaPem, keepAlive: true, maxSockets: 64 });
    this.server = https.createServer({ cert: certificate.certPem, key: certificate.keyPem }, (request, response) => {
      void this.handle(request, response);
    });
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  async listen(port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  failNthWrite(n: number, status = 500): void {
    this.planned.set(this.writesSeen + n, { kind: 'fail', status });
  }
  dropNthWrite(n: number): void {
    this.planned.set(this.writesSeen + n, { kind: 'drop' });
  }
  commitThenDropNthWrite(n: number): void {
    this.planned.set(this.writesSeen + n, { kind: 'commit-then-drop' });
  }
  conflictNextWrite(): void {
    this.failNthWrite(1, 409);
  }
  delayMs(ms: number): void {
    this.latencyMs = ms;
  }
  hangNthWrite(n: number, ms: number): void {
    this.planned.set(this.writesSeen + n, { kind: 'hang', ms });
  }
  forbidNamespace(namespace: string): void {
    this.forbidden.add(namespace);
  }
  clear(): void {
    this.planned.clear();
    this.forbidden.clear();
    this.latencyMs = 0;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.agent.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.upstream);
    const method = request.method ?? 'GET';
    const isMutation = !readMethods.has(method);
    const dryRun = url.searchParams.getAll('dryRun').includes('All');
    if (this.latencyMs > 0) await sleep(this.latencyMs);

    const namespace = /\/namespaces\/([^/]+)\//.exec(url.pathname)?.[1];
    if (isMutation && namespace !== undefined && this.forbidden.has(namespace)) {
      return this.status(response, 403, `${resourceOf(url.pathname)} is forbidden: User cannot ${method.toLowerCase()} resource in API group in the namespace "${namespace}"`);
    }
    let fault: WriteFault | undefined;
    if (isMutation && !dryRun) {
      this.writesSeen += 1;
      fault = this.planned.get(this.writesSeen);
      this.planned.delete(this.writesSeen);
    }
    if (fault?.kind === 'fail') return this.status(response, fault.status, fault.status === 409 ? 'Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again' : 'an error on the server ("injected fault") has prevented the request from succeeding');
    if (fault?.kind === 'drop') {
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'hang') {
      let left = false;
      response.once('close', () => {
        left = true;
      });
      await sleep(fault.ms);
      if (left || request.socket.destroyed) return;
    }
    this.forward(request, response, url, fault?.kind === 'commit-then-drop');
  }

  private forward(request: http.IncomingMessage, response: http.ServerResponse, url: URL, dropReply: boolean): void {
    const headers = { ...request.headers, host: this.upstream.host };
    const upstreamRequest = https.request(url, { method: request.method, headers, agent: this.agent }, (upstreamResponse) => {
      if (dropReply) {
        // The API server has committed the write; the client never learns it.
        upstreamResponse.resume();
        upstreamResponse.once('end', () => request.socket.destroy());
        return;
      }
      response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
      upstreamResponse.pipe(response);
    });
    upstreamRequest.on('error', () => request.socket.destroy());
    response.once('close', () => {
      // The client went away before the reply was complete: stop the upstream request too (a watch, say).
      if (!dropReply && !response.writableFinished) upstreamRequest.destroy();
    });
    request.pipe(upstreamRequest);
  }

  private status(response: http.ServerResponse, code: number, message: string): void {
    const reason = reasons[code] ?? 'Unknown';
    response.writeHead(code, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
  }
}

function resourceOf(pathname: string): string {
  const parts = pathname.split('/').filter(Boolean);
  const index = parts.indexOf('namespaces');
  return index >= 0 && parts.length > index + 2 ? `${parts[index + 2]} "${parts[index + 3] ?? ''}"` : 'resource';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
