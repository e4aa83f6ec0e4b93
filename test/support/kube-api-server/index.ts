// A Kubernetes API server for tests, faithful enough that the real kubectl behaves as against a cluster.
// See README.md in this folder for what it serves and how to use it.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSelfSignedCertificate } from './certificate';
import { writeKubeconfig } from './kubeconfig';
import { findResourceByKind, apiResources } from './resources';
import { defaultSeedPath, loadSeed } from './seed';
import { KubeApiServer, type Mutation, type Principal } from './server';
import { Store } from './store';
import { isObject, applyDefaults, decodeQuantities, type JsonObject } from './validation';

export type { Mutation, FaultSpec } from './server';
export { defaultSeedPath } from './seed';
export { stagingContextName, readOnlyContextSuffix } from './kubeconfig';

export interface TestClusterOptions {
  /** 0 or absent: an ephemeral port. */
  port?: number;
  /** Where to write the kubeconfig; absent: a fresh temp dir. */
  kubeconfigPath?: string;
  /** A YAML file path or objects; absent: seed.yaml beside this file (the sample report's workloads). */
  seed?: string | object[];
  /** Name of the main context and its cluster; default "prod-eu-1". */
  contextName?: string;
  /** Delay every response by this many ms. */
  latencyMs?: number;
  /** Log every request line to this function (e.g. console.error) to see what kubectl asks for. */
  log?: (line: string) => void;
}

export interface TestClusterFaults {
  /** The n-th non-dry-run write from now fails with `status` (default 500, an InternalError Status). */
  failNthWrite(n: number, status?: number): void;
  /** The n-th non-dry-run write from now gets its connection destroyed, unanswered and not applied. */
  dropNthWrite(n: number): void;
  /** The next non-dry-run write gets 409 Conflict. */
  conflictNextWrite(): void;
  /** Every response is delayed by `ms`. */
  delayMs(ms: number): void;
  /** The n-th non-dry-run write from now waits `ms` before it is processed; if the client left, nothing is written. */
  hangNthWrite(n: number, ms: number): void;
  /** Every write (dry-run too) in `namespace` gets 403 Forbidden. */
  forbidNamespace(namespace: string): void;
  /** From now on, changes to this Deployment/StatefulSet never finish rolling out (a stuck controller). */
  stallRollouts(namespace: string, name: string): void;
  clear(): void;
}

export interface TestCluster {
  /** https://127.0.0.1:PORT (TLS: kubectl sends bearer tokens only over TLS). */
  url: string;
  /** PEM of the server's self-signed certificate, also in the kubeconfig as certificate-authority-data. */
  caPem: string;
  kubeconfigPath: string;
  /** The current-context of the kubeconfig (admin token). */
  context: string;
  /** Same server, read-only token: reads work, writes get 403. */
  readOnlyContext: string;
  /** Same server, admin token, default namespace "dev". */
  stagingContext: string;
  tokens: { admin: string; readOnly: string };
  /** Every write request and every dry-run, in order. */
  mutations(): Mutation[];
  /** Successful (2xx) non-dry-run writes only. */
  writes(): Mutation[];
  clearMutations(): void;
  faults: TestClusterFaults;
  /** A deep copy of the stored object, or undefined. namespace is ignored for cluster-scoped kinds. */
  getObject(apiVersion: string, kind: string, namespace: string, name: string): JsonObject | undefined;
  /** A change made behind the client's back (another user, a controller): bumps resourceVersion. */
  putObject(obj: object): JsonObject;
  close(): Promise<void>;
}

export const adminUser = 'kubernetes-admin';
export const readOnlyUser = 'read-only';

function seedStore(store: Store, objects: JsonObject[]): void {
  const namespaceResource = apiResources.find((r) => r.kind === 'Namespace');
  if (!namespaceResource) throw new Error('namespace resource missing');
  const ordered = [...objects].sort((a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'));
  for (const obj of ordered) {
    const resource = findResourceByKind(String(obj.apiVersion), String(obj.kind));
    if (!resource) throw new Error(`seed: ${String(obj.apiVersion)} ${String(obj.kind)} is not served by the test cluster`);
    const metadata = isObject(obj.metadata) ? obj.metadata : {};
    const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : resource.namespaced ? 'default' : undefined;
    if (resource.namespaced && namespace !== undefined && !store.get(namespaceResource, undefined, namespace)) {
      store.create(namespaceResource, { metadata: { name: namespace } }, false);
    }
    if (resource.namespaced) metadata.namespace = namespace;
    obj.metadata = metadata;
    decodeQuantities(resource.kind, obj);
    applyDefaults(resource, obj);
    store.create(resource, obj, false);
  }
}

export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const store = new Store();
  seedStore(store, loadSeed(options.seed ?? defaultSeedPath));
  const tokens = { admin: randomBytes(24).toString('hex'), readOnly: randomBytes(24).toString('hex') };
  const principals = new Map<string, Principal>([
    [tokens.admin, { user: adminUser, canWrite: true }],
    [tokens.readOnly, { user: readOnlyUser, canWrite: false }],
  ]);
  const certificate = createSelfSignedCertificate();
  const server = new KubeApiServer(store, principals, certificate, options.log);
  if (options.latencyMs) server.delayMs(options.latencyMs);
  const url = await server.listen(options.port ?? 0);
  const context = options.contextName ?? 'prod-eu-1';
  const kubeconfigPath = options.kubeconfigPath ?? join(mkdtempSync(join(tmpdir(), 'kube-test-cluster-')), 'kubeconfig');
  writeKubeconfig(kubeconfigPath, { server: url, contextName: context, adminToken: tokens.admin, readOnlyToken: tokens.readOnly, caPem: certificate.certPem });
  return {
    url,
    caPem: certificate.certPem,
    kubeconfigPath,
    context,
    readOnlyContext: `${context}-read-only`,
    stagingContext: 'staging-eu-1',
    tokens,
    mutations: () => structuredClone(server.mutationLog),
    writes: () => structuredClone(server.mutationLog.filter((m) => !m.dryRun && m.status >= 200 && m.status < 300)),
    clearMutations: () => {
      server.mutationLog.length = 0;
    },
    faults: {
      failNthWrite: (n, status) => server.failNthWrite(n, status),
      dropNthWrite: (n) => server.dropNthWrite(n),
      conflictNextWrite: () => server.conflictNextWrite(),
      delayMs: (ms) => server.delayMs(ms),
      hangNthWrite: (n, ms) => server.hangNthWrite(n, ms),
      forbidNamespace: (namespace) => server.forbidNamespace(namespace),
      stallRollouts: (namespace, name) => {
        store.stalledRollouts.add(`${namespace}/${name}`);
      },
      clear: () => {
        store.stalledRollouts.clear();
        server.clearFaults();
      },
    },
    getObject: (apiVersion, kind, namespace, name) => {
      const resource = findResourceByKind(apiVersion, kind);
      if (!resource) throw new Error(`${apiVersion} ${kind} is not served by the test cluster`);
      return store.get(resource, resource.namespaced ? namespace : undefined, name);
    },
    putObject: (obj) => {
      if (!isObject(obj)) throw new Error('putObject needs an object');
      const resource = findResourceByKind(String(obj.apiVersion), String(obj.kind));
      if (!resource) throw new Error(`${String(obj.apiVersion)} ${String(obj.kind)} is not served by the test cluster`);
      const copy = structuredClone(obj);
      decodeQuantities(resource.kind, copy);
      applyDefaults(resource, copy);
      return store.put(resource, copy);
    },
    close: () => server.close(),
  };
}
