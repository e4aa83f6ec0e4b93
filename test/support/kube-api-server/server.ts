// The HTTP front of the test cluster: bearer-token auth, legacy discovery, CRUD + patch + watch on the
// served resources, a mutation log, and injectable faults.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchApplyError } from './patch';
import {
  apiGroupListDocument,
  apiResourceListDocument,
  apiVersionsDocument,
  apiResources,
  findResource,
  groupVersionOf,
  versionDocument,
  type ApiResource,
} from './resources';
import { parseFieldSelector, parseLabelSelector, SelectorError } from './selectors';
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  forbidden,
  internalError,
  invalid,
  invalidValue,
  methodNotAllowed,
  notFound,
  pathNotFound,
  patchNotApplicable,
  unauthorized,
  unsupportedMediaType,
} from './status';
import { orderObject, type Store, type WatchEventType } from './store';
import { applyDefaults, decodeQuantities, DecodeError, isObject, validateObject, type JsonObject } from './validation';

export interface Mutation {
  method: string;
  /** URL path and query, e.g. "/apis/apps/v1/namespaces/shop/deployments/x?dryRun=All&fieldManager=kubectl-patch". */
  path: string;
  dryRun: boolean;
  /** HTTP status sent; 0 when no response was sent (connection dropped by a fault, or the client went away). */
  status: number;
  bodySha256: string;
}

export interface FaultSpec {
  failNthWrite?: { n: number; status?: number };
  dropNthWrite?: number;
  conflictNextWrite?: boolean;
  delayMs?: number;
  hangNthWrite?: { n: number; ms: number };
  forbidNamespace?: string | string[];
}

export interface Principal {
  user: string;
  canWrite: boolean;
}

interface Route {
  resource: ApiResource;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

const writeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class KubeApiServer {
  readonly mutationLog: Mutation[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Duplex>();
  private readonly watches = new Set<ServerResponse>();
  private writesSeen = 0;
  private failAt: { at: number; status: number } | undefined;
  private dropAt: number | undefined;
  private hangAt: { at: number; ms: number } | undefined;
  private conflictNext = false;
  private delay = 0;
  private readonly forbiddenNamespaces = new Set<string>();
  private address = '';

  constructor(
    private readonly store: Store,
    private readonly principals: ReadonlyMap<string, Principal>,
    tls: { certPem: string; keyPem: string },
    private readonly log: ((line: string) => void) | undefined = undefined,
  ) {
    this.server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async listen(port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    const { port: actual } = this.server.address() as AddressInfo;
    this.address = `127.0.0.1:${actual}`;
    return `https://${this.address}`;
  }

  async close(): Promise<void> {
    for (const watch of this.watches) watch.end();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  // Faults count non-dry-run writes from the moment they are set.
  failNthWrite(n: number, status = 500): void {
    this.failAt = { at: this.writesSeen + n, status };
  }
  dropNthWrite(n: number): void {
    this.dropAt = this.writesSeen + n;
  }
  hangNthWrite(n: number, ms: number): void {
    this.hangAt = { at: this.writesSeen + n, ms };
  }
  conflictNextWrite(): void {
    this.conflictNext = true;
  }
  delayMs(ms: number): void {
    this.delay = ms;
  }
  forbidNamespace(namespace: string): void {
    this.forbiddenNamespaces.add(namespace);
  }
  clearFaults(): void {
    this.failAt = undefined;
    this.dropAt = undefined;
    this.hangAt = undefined;
    this.conflictNext = false;
    this.delay = 0;
    this.forbiddenNamespaces.clear();
  }

  applyFaults(spec: FaultSpec): void {
    if (spec.failNthWrite) this.failNthWrite(spec.failNthWrite.n, spec.failNthWrite.status);
    if (spec.dropNthWrite !== undefined) this.dropNthWrite(spec.dropNthWrite);
    if (spec.hangNthWrite) this.hangNthWrite(spec.hangNthWrite.n, spec.hangNthWrite.ms);
    if (spec.conflictNextWrite) this.conflictNextWrite();
    if (spec.delayMs !== undefined) this.delayMs(spec.delayMs);
    const namespaces = spec.forbidNamespace === undefined ? [] : [spec.forbidNamespace].flat();
    for (const namespace of namespaces) this.forbidNamespace(namespace);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const dryRun = url.searchParams.getAll('dryRun').includes('All');
    this.log?.(`${method} ${url.pathname}${url.search} accept=${req.headers.accept ?? ''} content-type=${req.headers['content-type'] ?? ''}`);
    const isTestPath = url.pathname.startsWith('/__test/');
    const isWrite = writeMethods.has(method) && !isTestPath;
    const record = (status: number): void => {
      if (isWrite) this.mutationLog.push({ method, path: `${url.pathname}${url.search}`, dryRun, status, bodySha256: sha256(body) });
    };
    const send = (status: number, payload: unknown): void => {
      record(status);
      const text = JSON.stringify(payload);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    try {
      if (this.delay > 0) await sleep(this.delay);
      const principal = this.authenticate(req);
      if (!principal) throw unauthorized();
      if (isTestPath) {
        this.handleTestApi(method, url.pathname, body, principal, send);
        return;
      }
      const discovery = this.discovery(method, url.pathname);
      if (discovery !== undefined) {
        send(200, discovery);
        return;
      }
      const route = this.route(url.pathname);
      if (!route) throw pathNotFound();
      if (route.subresource !== undefined) throw pathNotFound();
      if (isWrite) {
        this.authorizeWrite(principal, route, method);
        if (!dryRun) {
          this.writesSeen += 1;
          if (this.dropAt === this.writesSeen) {
            record(0);
            req.socket.destroy();
            return;
          }
          if (this.hangAt?.at === this.writesSeen) {
            await sleep(this.hangAt.ms);
            if (req.socket.destroyed || res.destroyed) {
              // The client gave up: like a cancelled request context, nothing is written.
              record(0);
              return;
            }
          }
          if (this.failAt?.at === this.writesSeen) throw internalError('injected fault: write failed', this.failAt.status);
          if (this.conflictNext) {
            this.conflictNext = false;
            throw conflict(route.resource, route.name ?? '');
          }
        }
      }
      if (method === 'GET' && ['true', '1'].includes(url.searchParams.get('watch') ?? '')) {
        this.watch(route, url, req, res);
        return;
      }
      const [status, payload] = this.serve(method, route, url, body, req.headers['content-type'] ?? '', dryRun);
      send(status, payload);
    } catch (error) {
      if (res.headersSent || res.destroyed) return;
      if (error instanceof ApiError) send(error.code, error.body);
      else if (error instanceof SelectorError) send(400, badRequest(error.message).body);
      else send(500, internalError(error instanceof Error ? error.message : String(error)).body);
    }
  }

  private authenticate(req: IncomingMessage): Principal | undefined {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match ? this.principals.get(match[1] ?? '') : undefined;
  }

  private authorizeWrite(principal: Principal, route: Route, method: string): void {
    const verb = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }[method] ?? method.toLowerCase();
    const namespace = route.resource.namespaced ? route.namespace : undefined;
    if (!principal.canWrite || (namespace !== undefined && this.forbiddenNamespaces.has(namespace))) {
      throw forbidden(route.resource, route.name, principal.user, verb, namespace);
    }
  }

  private handleTestApi(method: string, path: string, body: Buffer, principal: Principal, send: (status: number, payload: unknown) => void): void {
    if (!principal.canWrite) throw badRequest('the test API needs the admin token');
    if (path === '/__test/mutations' && method === 'GET') {
      send(200, { mutations: this.mutationLog });
      return;
    }
    if (path === '/__test/faults' && method === 'POST') {
      let spec: unknown;
      try {
        spec = JSON.parse(body.toString('utf8'));
      } catch {
        throw badRequest('fault spec must be JSON');
      }
      if (!isObject(spec)) throw badRequest('fault spec must be a JSON object');
      this.applyFaults(spec as FaultSpec);
      send(200, { ok: true });
      return;
    }
    if (path === '/__test/faults' && method === 'DELETE') {
      this.clearFaults();
      send(200, { ok: true });
      return;
    }
    throw pathNotFound();
  }

  private discovery(method: string, path: string): object | undefined {
    if (method !== 'GET') return undefined;
    const trimmed = path.replace(/\/+$/, '');
    if (trimmed === '/version') return versionDocument;
    // A server without aggregated discovery answers the aggregated Accept header with legacy JSON.
    if (trimmed === '/api') return apiVersionsDocument(this.address);
    if (trimmed === '/apis') return apiGroupListDocument();
    if (trimmed === '/api/v1') return apiResourceListDocument('v1');
    const match = /^\/apis\/([^/]+)\/([^/]+)$/.exec(trimmed);
    if (match) {
      const document = apiResourceListDocument(`${match[1]}/${match[2]}`);
      if (!document) throw pathNotFound();
      return document;
    }
    if (trimmed.startsWith('/openapi')) throw pathNotFound();
    return undefined;
  }

  private route(path: string): Route | undefined {
    const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (segments[0] === 'api' && segments.length >= 2) {
      group = '';
      version = segments[1] ?? '';
      rest = segments.slice(2);
    } else if (segments[0] === 'apis' && segments.length >= 3) {
      group = segments[1] ?? '';
      version = segments[2] ?? '';
      rest = segments.slice(3);
    } else return undefined;
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [plural = '', name, subresource] = rest;
    const resource = findResource(group, version, plural);
    if (!resource || rest.length > 3) return undefined;
    if (!resource.namespaced && namespace !== undefined) return undefined;
    return { resource, namespace, name, subresource };
  }

  private serve(method: string, route: Route, url: URL, body: Buffer, contentType: string, dryRun: boolean): [number, unknown] {
    const { resource, namespace, name } = route;
    if (name === undefined) {
      if (method === 'GET') return [200, this.listDocument(route, url)];
      if (method === 'POST') return [201, this.create(route, this.parseBody(body, resource), dryRun)];
      throw methodNotAllowed();
    }
    const current = this.store.get(resource, namespace, name);
    if (method === 'GET') {
      if (!current) throw notFound(resource, name);
      return [200, current];
    }
    if (!current) throw notFound(resource, name);
    if (method === 'PUT') return [200, this.update(route, current, this.parseBody(body, resource), dryRun)];
    if (method === 'PATCH') return [200, this.patch(route, current, body, contentType, dryRun)];
    if (method === 'DELETE') {
      this.store.delete(resource, current, dryRun);
      if (resource.kind === 'Pod') return [200, current];
      const metadata = current.metadata as JsonObject;
      return [200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, ...(resource.group ? { group: resource.group } : {}), kind: resource.resource, uid: metadata.uid } }];
    }
    throw methodNotAllowed();
  }

  private listDocument(route: Route, url: URL): object {
    const labels = parseLabelSelector(url.searchParams.get('labelSelector'));
    const fields = parseFieldSelector(url.searchParams.get('fieldSelector'));
    const items = this.store
      .list(route.resource, route.resource.namespaced ? route.namespace : undefined)
      .filter((obj) => labels(labelsOf(obj)) && fields(obj))
      .map((obj) => orderObject(obj, false));
    return { kind: `${route.resource.kind}List`, apiVersion: groupVersionOf(route.resource), metadata: { resourceVersion: this.store.resourceVersion }, items };
  }

  private watch(route: Route, url: URL, req: IncomingMessage, res: ServerResponse): void {
    const labels = parseLabelSelector(url.searchParams.get('labelSelector'));
    const fields = parseFieldSelector(url.searchParams.get('fieldSelector'));
    const namespace = route.resource.namespaced ? route.namespace : undefined;
    const matches = (obj: JsonObject): boolean =>
      (namespace === undefined || (obj.metadata as JsonObject).namespace === namespace) && labels(labelsOf(obj)) && fields(obj);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    // A real server sends the headers at once; client-go waits for them before it can cancel a watch.
    res.flushHeaders();
    const write = (type: WatchEventType | 'BOOKMARK', object: unknown): void => {
      res.write(`${JSON.stringify({ type, object })}\n`);
    };
    if (url.searchParams.get('sendInitialEvents') === 'true') {
      for (const obj of this.store.list(route.resource, namespace).filter(matches)) write('ADDED', obj);
      write('BOOKMARK', {
        kind: route.resource.kind,
        apiVersion: groupVersionOf(route.resource),
        metadata: { resourceVersion: this.store.resourceVersion, annotations: { 'k8s.io/initial-events-end': 'true' } },
      });
    }
    const unsubscribe = this.store.subscribe((resource, type, obj) => {
      if (resource === route.resource && matches(obj)) write(type, obj);
    });
    this.watches.add(res);
    const timeoutSeconds = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    const timer = timeoutSeconds > 0 ? setTimeout(() => res.end(), timeoutSeconds * 1000) : undefined;
    const finish = (): void => {
      unsubscribe();
      if (timer) clearTimeout(timer);
      this.watches.delete(res);
    };
    req.on('close', finish);
    res.on('close', finish);
  }

  private parseBody(body: Buffer, resource: ApiResource): JsonObject {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw badRequest(`couldn't get version/kind; json parse error: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!isObject(parsed)) throw badRequest(`${resource.kind} in version "${resource.version}" cannot be handled as a ${resource.kind}: expected an object`);
    return parsed;
  }

  /** Decoding as the typed Go struct would: a bad quantity fails here, before validation. */
  private decodeForWrite(resource: ApiResource, obj: JsonObject): void {
    try {
      decodeQuantities(resource.kind, obj);
    } catch (error) {
      if (error instanceof DecodeError) {
        throw badRequest(`${resource.kind} in version "${resource.version}" cannot be handled as a ${resource.kind}: ${error.message}`);
      }
      throw error;
    }
  }

  private validate(resource: ApiResource, obj: JsonObject, name: string): void {
    applyDefaults(resource, obj);
    const causes = validateObject(resource, obj);
    if (causes.length > 0) throw invalid(resource, name, causes);
  }

  private create(route: Route, obj: JsonObject, dryRun: boolean): JsonObject {
    const { resource } = route;
    const metadata = isObject(obj.metadata) ? obj.metadata : (obj.metadata = {});
    if (resource.namespaced) {
      if (typeof metadata.namespace === 'string' && metadata.namespace !== '' && metadata.namespace !== route.namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      metadata.namespace = route.namespace;
      const namespaceResource = apiResources.find((r) => r.kind === 'Namespace');
      if (namespaceResource && route.namespace !== undefined && !this.store.get(namespaceResource, undefined, route.namespace)) {
        throw notFound(namespaceResource, route.namespace);
      }
    }
    this.decodeForWrite(resource, obj);
    const name = typeof metadata.name === 'string' ? metadata.name : '';
    this.validate(resource, obj, name);
    if (this.store.get(resource, route.namespace, name)) throw alreadyExists(resource, name);
    return this.store.create(resource, obj, dryRun);
  }

  private update(route: Route, current: JsonObject, obj: JsonObject, dryRun: boolean): JsonObject {
    const { resource } = route;
    const name = route.name ?? '';
    const metadata = isObject(obj.metadata) ? obj.metadata : (obj.metadata = {});
    if (metadata.name !== undefined && metadata.name !== name) {
      throw badRequest(`the name of the object (${String(metadata.name)}) does not match the name on the URL (${name})`);
    }
    this.decodeForWrite(resource, obj);
    this.checkPrecondition(resource, name, current, metadata);
    metadata.name = name;
    this.validate(resource, obj, name);
    return this.store.update(resource, current, obj, dryRun);
  }

  private patch(route: Route, current: JsonObject, body: Buffer, contentType: string, dryRun: boolean): JsonObject {
    const { resource } = route;
    const name = route.name ?? '';
    const type = contentType.split(';')[0]?.trim() ?? '';
    let patch: unknown;
    try {
      patch = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw badRequest(error instanceof Error ? error.message : String(error));
    }
    let patched: unknown;
    try {
      if (type === 'application/json-patch+json') patched = applyJsonPatch(current, patch);
      else if (type === 'application/merge-patch+json') patched = applyMergePatch(current, patch);
      else if (type === 'application/strategic-merge-patch+json') patched = applyStrategicMergePatch(current, patch);
      else throw unsupportedMediaType(type);
    } catch (error) {
      if (error instanceof PatchApplyError) throw patchNotApplicable();
      if (error instanceof TypeError) throw badRequest(error.message);
      throw error;
    }
    if (!isObject(patched)) throw badRequest('the patched object is not a JSON object');
    const patchedJson = JSON.stringify(patched);
    try {
      decodeQuantities(resource.kind, patched);
    } catch (error) {
      // kube-apiserver reports a patched object that does not decode against the field "patch".
      if (error instanceof DecodeError) throw invalid(undefined, '', [invalidValue('patch', patchedJson, error.message)]);
      throw error;
    }
    const metadata = isObject(patched.metadata) ? patched.metadata : (patched.metadata = {});
    this.checkPrecondition(resource, name, current, metadata);
    this.validate(resource, patched, name);
    return this.store.update(resource, current, patched, dryRun);
  }

  /** metadata.resourceVersion in a write is a precondition: a stale one is a 409 Conflict. */
  private checkPrecondition(resource: ApiResource, name: string, current: JsonObject, metadata: JsonObject): void {
    const wanted = metadata.resourceVersion;
    if (wanted !== undefined && wanted !== '' && wanted !== (current.metadata as JsonObject).resourceVersion) {
      throw conflict(resource, name);
    }
  }
}

function labelsOf(obj: JsonObject): Record<string, string> {
  const metadata = isObject(obj.metadata) ? obj.metadata : {};
  return isObject(metadata.labels) ? (metadata.labels as Record<string, string>) : {};
}
