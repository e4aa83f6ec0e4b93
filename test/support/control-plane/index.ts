// The real Kubernetes control plane for tests: etcd and kube-apiserver (and kube-controller-manager with a
// small node simulator) built from Kubernetes' Go modules by `npm run control-plane:build`, started on
// loopback with generated certificates, token authentication, RBAC and an audit log of every write.
// It implements the same TestCluster interface as our own API test server (test/support/kube-api-server),
// so the suites run against either; the real one is the default (see test/support/cluster.ts).
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createSelfSignedCertificate } from '../kube-api-server/certificate';
import { writeKubeconfig, stagingContextName, readOnlyContextSuffix } from '../kube-api-server/kubeconfig';
import { findResourceByKind, groupVersionOf } from '../kube-api-server/resources';
import { defaultSeedPath, loadSeed } from '../kube-api-server/seed';
import type { TestCluster, TestClusterOptions } from '../kube-api-server';
import type { JsonObject } from '../kube-api-server/validation';
import { AuditLogReader, isCommittedWrite, toMutation, type AuditEvent } from './audit-log';
import { controlPlaneBinaries } from './binaries';
import { FaultProxy } from './fault-proxy';
import { HarnessApi } from './harness-api';
import { NodeSimulator, defaultResizeDelayMs, type SimulatedNode } from './node-simulator';
import type { CrashLoopBackOff, SimulatedUsage } from './oom-kill';
import type { ScrapeTarget } from './usage-metrics';
import { exitedEarly, freePort, startProcess, type Supervised } from './processes';

export const adminUser = 'kubernetes-admin';
export const readOnlyUser = 'read-only';
/** The identity the harness itself seeds and edits with; its writes are not the product's. */
export const harnessUser = 'krr-test-harness';
const controllerManagerUser = 'system:kube-controller-manager';

export interface ControlPlaneOptions extends TestClusterOptions {
  /** Extra kube-apiserver flags (e.g. feature gates for a test). */
  apiserverArgs?: string[];
}

export interface ControlPlane extends TestCluster {
  /** The API server's audit log (JSON lines): a write is an event with a write verb, no dry run, code < 300. */
  auditLogPath: string;
  /** The product's write events (admin and read-only users) since the last clearMutations(). */
  auditEvents(): AuditEvent[];
  /** kubectl as the harness (direct to the API server, no faults), synchronous; returns stdout. */
  harnessKubectl(args: readonly string[], input?: string): string;
  /** Direct API server URL (the kubeconfig points at the fault proxy in front of it). */
  apiserverUrl: string;
  /** Faults on writes, plus one the light server cannot do: commit the write, then lose the reply. */
  faults: TestCluster['faults'] & { commitThenDropNthWrite(n: number): void };
  /** The simulated nodes (node-simulator.ts): a dedicated node for a test, and how long an in-place resize takes to apply. */
  nodes: {
    /** Registers a node that takes only the pods naming it in spec.nodeName (default: the size of the other nodes, with in-place resize). */
    add(name: string, node?: Partial<SimulatedNode>): Promise<void>;
    /** Deletes a node `add` made, and the pods bound to it. */
    remove(name: string): Promise<void>;
    /** From allocation to applied (PodResizeInProgress meanwhile); back to the default at close and at the next reset. */
    resizeDelayMs(ms: number): void;
    /**
     * What a container uses (oom-kill.ts): for the pod `name`, or every pod of the workload `name` (a Deployment's
     * through its ReplicaSets), in `namespace`; `undefined` forgets it. A running container whose memory is above the
     * limit it runs with is OOM-killed; the metrics endpoint reports it. Forgotten at close and at the next reset.
     */
    usage(namespace: string, name: string, container: string, usage: SimulatedUsage | undefined): void;
    /** The crash-loop back-off (default 1 s doubling to 30 s: the kubelet's 10 s and 300 s over ten); reset likewise. */
    crashLoopBackOff(backOff: CrashLoopBackOff): void;
    /** How long a container above its memory limit runs, at the limit, before the kill (default 500 ms); reset likewise. */
    oomKillDelayMs(ms: number): void;
    /** The simulated kubelets' cAdvisor endpoint (job "kubelet") and kube-state-metrics (its own job), for startPrometheus({ scrape }). */
    metricsTargets(): ScrapeTarget[];
  };
}

/** The processes and files of one running control plane; fixtures attach to it (see `attach`). */
interface RunningPlane {
  dir: string;
  apiserverUrl: string;
  servingCaPem: string;
  auditLogPath: string;
  tokens: { admin: string; readOnly: string; harness: string };
  harnessKubectl(args: readonly string[], input?: string): string;
  /** The same identity as harnessKubectl, over HTTPS without a kubectl process (the reset before every test). */
  api: HarnessApi;
  simulator: NodeSimulator;
  seed: JsonObject[];
  stop(): Promise<void>;
}

let shared: Promise<RunningPlane> | undefined;

/**
 * A control plane for one test: by default the process-wide shared one, reset to the seed (starting the
 * plane takes seconds, resetting it a fraction of that), with a fault proxy and a kubeconfig of its own.
 * Options that change the plane itself (a custom seed, extra API server flags) get a
 * dedicated plane that `close()` stops.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const dedicated = options.seed !== undefined || (options.apiserverArgs?.length ?? 0) > 0;
  if (dedicated) {
    const plane = await launchPlane(options);
    return attach(plane, options, () => plane.stop());
  }
  shared ??= launchPlane({});
  shared.catch(() => {
    shared = undefined; // a failed start is reported to this test; the next one tries again
  });
  const plane = await shared;
  await resetToSeed(plane);
  return attach(plane, options, async () => undefined);
}

async function launchPlane(options: ControlPlaneOptions): Promise<RunningPlane> {
  const binaries = controlPlaneBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'krr-control-plane-'));
  const processes: Supervised[] = [];
  let simulator: NodeSimulator | undefined;
  let api: HarnessApi | undefined;
  const stop = async (): Promise<void> => {
    await simulator?.stop();
    api?.destroy();
    for (const process of [...processes].reverse()) await process.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  onExit(dir);
  try {
    // --- credentials and configuration files
    const serving = createSelfSignedCertificate('kube-apiserver');
    writeFileSync(join(dir, 'serving.crt'), serving.certPem);
    writeFileSync(join(dir, 'serving.key'), serving.keyPem, { mode: 0o600 });
    const serviceAccountKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'sa.key'), serviceAccountKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
    writeFileSync(join(dir, 'sa.pub'), serviceAccountKey.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const tokens = { admin: token(), readOnly: token(), harness: token(), controllerManager: token() };
    writeFileSync(
      join(dir, 'tokens.csv'),
      [
        `${tokens.admin},${adminUser},uid-admin,"system:masters"`,
        `${tokens.readOnly},${readOnlyUser},uid-read-only`,
        `${tokens.harness},${harnessUser},uid-harness,"system:masters"`,
        // With --use-service-account-credentials=false every controller acts as this one user; the built-in
        // system:kube-controller-manager role only covers the per-controller service accounts, hence the group.
        `${tokens.controllerManager},${controllerManagerUser},uid-kcm,"system:masters"`,
      ].join('\n') + '\n',
      { mode: 0o600 },
    );
    const auditLogPath = join(dir, 'audit.log');
    writeFileSync(join(dir, 'audit-policy.yaml'), readPolicy());

    // --- etcd
    const [etcdClientPort, etcdPeerPort, apiserverPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const etcd = startProcess('etcd', binaries.etcd, [
      '--data-dir', join(dir, 'etcd'),
      '--listen-client-urls', etcdUrl,
      '--advertise-client-urls', etcdUrl,
      '--listen-peer-urls', `http://127.0.0.1:${etcdPeerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeerPort}`,
      '--initial-cluster', `default=http://127.0.0.1:${etcdPeerPort}`,
      '--listen-metrics-urls', '',
      // A test cluster's data lives for one suite: skip fsync (etcd's own flag for this).
      '--unsafe-no-fsync',
      '--log-level', 'warn',
    ], join(dir, 'etcd.log'));
    processes.push(etcd);
    await waitUntil(async () => exitedEarly(etcd) ?? ((await httpGet(`${etcdUrl}/health`)) ? true : undefined), 30_000, 'etcd');

    // --- kube-apiserver
    const apiserverUrl = `https://127.0.0.1:${apiserverPort}`;
    const apiserver = startProcess('kube-apiserver', binaries.kubeApiserver, [
      '--etcd-servers', etcdUrl,
      '--bind-address', '127.0.0.1',
      '--advertise-address', '127.0.0.1',
      '--secure-port', String(apiserverPort),
      '--tls-cert-file', join(dir, 'serving.crt'),
      '--tls-private-key-file', join(dir, 'serving.key'),
      '--cert-dir', join(dir, 'apiserver-certs'),
      '--token-auth-file', join(dir, 'tokens.csv'),
      '--authorization-mode', 'Node,RBAC',
      '--service-account-issuer', 'https://kubernetes.default.svc.cluster.local',
      '--service-account-key-file', join(dir, 'sa.pub'),
      '--service-account-signing-key-file', join(dir, 'sa.key'),
      '--service-cluster-ip-range', '10.96.0.0/16',
      '--audit-policy-file', join(dir, 'audit-policy.yaml'),
      '--audit-log-path', auditLogPath,
      '--audit-log-format', 'json',
      '--audit-log-mode', 'blocking',
      '--audit-log-maxbackup', '0',
      // MutatingAdmissionPolicy is alpha in 1.33: the admission tests turn it on.
      '--feature-gates', 'MutatingAdmissionPolicy=true',
      '--runtime-config', 'admissionregistration.k8s.io/v1alpha1=true',
      ...(options.apiserverArgs ?? []),
    ], join(dir, 'kube-apiserver.log'));
    processes.push(apiserver);
    await waitUntil(async () => exitedEarly(apiserver) ?? ((await httpGet(`${apiserverUrl}/readyz`, serving.certPem, tokens.harness)) ? true : undefined), 90_000, 'kube-apiserver');

    const harnessKubeconfig = join(dir, 'harness.kubeconfig');
    writeKubeconfigFor(harnessKubeconfig, apiserverUrl, serving.certPem, harnessUser, tokens.harness);
    const harnessKubectl = (args: readonly string[], input?: string): string =>
      execFileSync('kubectl', ['--kubeconfig', harnessKubeconfig, ...args], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });

    // The read-only user may read everything and write nothing. (The built-in "view" role is aggregated by a
    // controller after start-up; an explicit role is in force as soon as it is created.)
    harnessKubectl(['create', 'clusterrole', 'krr-test-read-only', '--verb=get,list,watch', '--resource=*.*']);
    harnessKubectl(['create', 'clusterrolebinding', 'krr-test-read-only', '--clusterrole=krr-test-read-only', `--user=${readOnlyUser}`]);

    // --- kube-controller-manager and simulated nodes
    const kcmKubeconfig = join(dir, 'kcm.kubeconfig');
    writeKubeconfigFor(kcmKubeconfig, apiserverUrl, serving.certPem, controllerManagerUser, tokens.controllerManager);
    const kcm = startProcess('kube-controller-manager', binaries.kubeControllerManager, [
      '--kubeconfig', kcmKubeconfig,
      '--authentication-kubeconfig', kcmKubeconfig,
      '--authorization-kubeconfig', kcmKubeconfig,
      '--leader-elect=false',
      '--bind-address', '127.0.0.1',
      '--secure-port', String(await freePort()),
      '--service-account-private-key-file', join(dir, 'sa.key'),
      '--root-ca-file', join(dir, 'serving.crt'),
      '--use-service-account-credentials=false',
      // The controllers a rollout needs, and the service accounts pods need. Not the HPA controller (no
      // metrics API here: HPA status is seeded like a metrics pipeline would leave it) nor node lifecycle
      // (the simulated nodes post no heartbeats).
      '--controllers', 'deployment,replicaset,statefulset,daemonset,job,cronjob,serviceaccount,serviceaccount-token,garbagecollector,namespace',
    ], join(dir, 'kube-controller-manager.log'));
    processes.push(kcm);
    simulator = new NodeSimulator(apiserverUrl, serving.certPem, tokens.harness);
    await simulator.start(3);
    api = new HarnessApi(apiserverUrl, serving.certPem, tokens.harness);


    // --- seed with the real kubectl apply
    const seed = loadSeed(options.seed ?? defaultSeedPath);
    seedCluster(seed, harnessKubectl, dir);

    return { dir, apiserverUrl, servingCaPem: serving.certPem, auditLogPath, tokens, harnessKubectl, api, simulator, seed, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One test's view of a plane: its own fault proxy (fresh faults), kubeconfig and audit-log mark. */
async function attach(plane: RunningPlane, options: ControlPlaneOptions, release: () => Promise<void>): Promise<ControlPlane> {
  const proxyCertificate = createSelfSignedCertificate('krr-fault-proxy');
  const proxy = new FaultProxy(new URL(plane.apiserverUrl), plane.servingCaPem, proxyCertificate);
  if (options.latencyMs) proxy.delayMs(options.latencyMs);
  const url = await proxy.listen(options.port ?? 0);
  const context = options.contextName ?? 'prod-eu-1';
  const ownDir = options.kubeconfigPath ? undefined : mkdtempSync(join(tmpdir(), 'kube-test-cluster-'));
  // Kept after close (a test may point kubectl at a cluster that is gone); removed when the process exits.
  if (ownDir) onExit(ownDir);
  const kubeconfigPath = options.kubeconfigPath ?? join(ownDir as string, 'kubeconfig');
  writeKubeconfig(kubeconfigPath, { server: url, contextName: context, adminToken: plane.tokens.admin, readOnlyToken: plane.tokens.readOnly, caPem: proxyCertificate.certPem });
  const audit = new AuditLogReader(plane.auditLogPath);
  audit.markNow();
  const productUsers = new Set([adminUser, readOnlyUser]);
  const { harnessKubectl, simulator } = plane;
  return {
    url,
    apiserverUrl: plane.apiserverUrl,
    caPem: proxyCertificate.certPem,
    kubeconfigPath,
    context,
    readOnlyContext: `${context}${readOnlyContextSuffix}`,
    stagingContext: stagingContextName,
    tokens: { admin: plane.tokens.admin, readOnly: plane.tokens.readOnly },
    auditLogPath: plane.auditLogPath,
    auditEvents: () => audit.events(productUsers),
    mutations: () => audit.events(productUsers).map(toMutation),
    writes: () => audit.events(productUsers).filter(isCommittedWrite).map(toMutation),
    clearMutations: () => audit.markNow(),
    harnessKubectl,
    faults: {
      failNthWrite: (n, status) => proxy.failNthWrite(n, status),
      dropNthWrite: (n) => proxy.dropNthWrite(n),
      commitThenDropNthWrite: (n) => proxy.commitThenDropNthWrite(n),
      conflictNextWrite: () => proxy.conflictNextWrite(),
      delayMs: (ms) => proxy.delayMs(ms),
      hangNthWrite: (n, ms) => proxy.hangNthWrite(n, ms),
      forbidNamespace: (namespace) => proxy.forbidNamespace(namespace),
      stallRollouts: (namespace, name) => {
        simulator.stall(namespace, name);
      },
      clear: () => {
        proxy.clear();
        simulator.clearStalls();
      },
    },
    nodes: {
      add: (name, node) => simulator.addNode(name, node),
      remove: (name) => simulator.removeNode(name),
      resizeDelayMs: (ms) => simulator.setResizeDelay(ms),
      usage: (namespace, name, container, usage) => simulator.setUsage(namespace, name, container, usage),
      crashLoopBackOff: (backOff) => simulator.setCrashLoopBackOff(backOff),
      oomKillDelayMs: (ms) => simulator.setOomKillDelay(ms),
      metricsTargets: () => simulator.metrics.targets(),
    },
    getObject: (apiVersion, kind, namespace, name) => {
      const path = objectPath(apiVersion, kind, namespace, name);
      const response = plane.api.sendSync('GET', path);
      if (response.status === 404) return undefined;
      if (response.status >= 300 || response.body === undefined) throw new Error(`GET ${path}: ${response.status} ${response.text.slice(0, 200)}`);
      return response.body as JsonObject;
    },
    // A change behind the product's back: whatever the object is now, it ends up as given. A PUT without a
    // resourceVersion is unconditional; a controller's status write landing at the same moment can still make it a
    // Conflict, which putting again resolves (as in resetToSeed).
    putObject: (obj) => {
      const { resourceVersion: _ignored, ...metadata } = ((obj as { metadata?: Record<string, unknown> }).metadata ?? {});
      const { apiVersion, kind } = obj as { apiVersion: string; kind: string };
      const path = objectPath(apiVersion, kind, String(metadata.namespace ?? 'default'), String(metadata.name));
      for (let attempt = 1; ; attempt++) {
        const response = plane.api.sendSync('PUT', path, { ...obj, metadata });
        if (response.status < 300 && response.body !== undefined) return response.body as JsonObject;
        if (response.status !== 409 || attempt >= 5) throw new Error(`PUT ${path}: ${response.status} ${response.text.slice(0, 200)}`);
      }
    },
    close: async () => {
      simulator.clearStalls();
      await resetNodes(simulator);
      await proxy.close();
      await release();
    },
  };
}

/** Kinds a reset replaces wholesale: what the product patches. Pods and Jobs are immutable where it matters. */
const resettableKinds = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'HorizontalPodAutoscaler']);

/**
 * Puts every seeded workload back exactly as seeded (a whole-object PUT, as `kubectl replace` sends, so fields a test
 * added go too) and re-seeds the statuses no controller manages here; seeded objects a test deleted are created
 * again. Over the harness's HTTPS client, all at once: it runs before every test, and kubectl processes (three or more
 * per reset) were a good part of the suites' CPU time.
 */
async function resetToSeed(plane: RunningPlane): Promise<void> {
  plane.simulator.clearStalls();
  await resetNodes(plane.simulator);
  const pathOf = (object: JsonObject) => {
    const metadata = object.metadata as { name: string; namespace?: string };
    return objectPath(String(object.apiVersion), String(object.kind), metadata.namespace ?? 'default', metadata.name);
  };
  const collectionOf = (object: JsonObject) => pathOf(object).replace(/\/[^/]+$/, '');
  const replace = async (object: JsonObject): Promise<void> => {
    // A conflict is a controller writing the object between our read and write: the unconditional PUT again wins.
    for (let attempt = 1; ; attempt++) {
      const response = await plane.api.send('PUT', pathOf(object), withoutStatus(object));
      if (response.status < 300) return;
      if (response.status === 404) {
        await plane.api.request('POST', collectionOf(object), withoutStatus(object));
        return;
      }
      if (response.status !== 409 || attempt >= 5) throw new Error(`reset: PUT ${pathOf(object)}: ${response.status} ${response.text.slice(0, 200)}`);
    }
  };
  const recreate = async (object: JsonObject): Promise<void> => {
    const response = await plane.api.send('GET', pathOf(object));
    if (response.status === 404) await plane.api.request('POST', collectionOf(object), withoutStatus(object));
    else if (response.status >= 300) throw new Error(`reset: GET ${pathOf(object)}: ${response.status} ${response.text.slice(0, 200)}`);
  };
  const objects = plane.seed.filter((object) => resettableKinds.has(String(object.kind)));
  const others = plane.seed.filter((object) => object.kind !== 'Namespace' && !resettableKinds.has(String(object.kind)));
  await Promise.all([...objects.map(replace), ...others.map(recreate)]);
  await Promise.all(
    objects
      .filter((object) => object.status && !statusManagedKinds.has(String(object.kind)))
      .map((object) => plane.api.request('PATCH', `${pathOf(object)}/status`, { status: object.status }, 'application/merge-patch+json')),
  );
}

/** The simulated nodes as started: a test's dedicated nodes (and their pods) go, delays, back-off and usage are the defaults again. */
async function resetNodes(simulator: NodeSimulator): Promise<void> {
  simulator.setResizeDelay(defaultResizeDelayMs);
  simulator.resetUsage();
  for (const name of simulator.dedicatedNodes()) await simulator.removeNode(name);
}

const cleanupDirs = new Set<string>();
function onExit(dir: string): void {
  if (cleanupDirs.size === 0) {
    process.once('exit', () => {
      for (const path of cleanupDirs) rmSync(path, { recursive: true, force: true });
    });
  }
  cleanupDirs.add(dir);
}

function token(): string {
  return randomBytes(24).toString('hex');
}

function readPolicy(): string {
  // Kept as a file beside this module so a person can read the policy the evidence depends on.
  return readFileSync(join(__dirname, 'policy.yaml'), 'utf8');
}

function writeKubeconfigFor(path: string, server: string, caPem: string, user: string, bearer: string): void {
  const document = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'control-plane', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: user, user: { token: bearer } }],
    contexts: [{ name: 'control-plane', context: { cluster: 'control-plane', user } }],
    'current-context': 'control-plane',
  };
  writeFileSync(path, stringify(document), { mode: 0o600 });
}

export function objectPath(apiVersion: string, kind: string, namespace: string, name: string): string {
  const resource = findResourceByKind(apiVersion, kind);
  if (!resource) throw new Error(`${apiVersion} ${kind} is not a kind the tests know`);
  const prefix = resource.group === '' ? `/api/${resource.version}` : `/apis/${groupVersionOf(resource)}`;
  return resource.namespaced ? `${prefix}/namespaces/${namespace}/${resource.resource}/${name}` : `${prefix}/${resource.resource}/${name}`;
}

/**
 * Applies the seed with `kubectl apply` (namespaces first), then sets the `status` the seed carries through
 * the status subresource — what a metrics pipeline (HPA) or a finished Job would have left there. Pods and
 * workloads the controllers manage get their status from the controllers and the node simulator instead.
 */
function seedCluster(objects: JsonObject[], kubectl: (args: readonly string[], input?: string) => string, dir: string): void {
  const namespaces = new Set<string>();
  for (const object of objects) {
    const metadata = (object.metadata ?? {}) as { namespace?: string };
    if (object.kind === 'Namespace') namespaces.add(String((object.metadata as { name?: string }).name));
    else if (typeof metadata.namespace === 'string') namespaces.add(metadata.namespace);
  }
  const namespaceDocs = [...namespaces].map((name) => objects.find((o) => o.kind === 'Namespace' && (o.metadata as { name?: string }).name === name) ?? { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const apply = (docs: object[], file: string): void => {
    if (docs.length === 0) return;
    const path = join(dir, file);
    writeFileSync(path, docs.map((doc) => stringify(doc)).join('---\n'));
    kubectl(['apply', '-f', path]);
  };
  apply(namespaceDocs, 'seed-namespaces.yaml');
  // Pods need their namespace's default service account, which the service-account controller makes.
  for (const namespace of namespaces) {
    if (namespace === 'default') continue;
    waitSync(() => {
      try {
        kubectl(['get', 'serviceaccount', 'default', '-n', namespace]);
        return true;
      } catch {
        return false;
      }
    }, 20_000, `service account default in ${namespace}`);
  }
  const rest = objects.filter((object) => object.kind !== 'Namespace');
  apply(rest.map(withoutStatus), 'seed-objects.yaml');
  seedStatuses(rest, kubectl);
}

/** Kinds whose status the controllers and the node simulator write; the seed's status of any other kind is set by hand. */
const statusManagedKinds = new Set(['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

function seedStatuses(objects: JsonObject[], kubectl: (args: readonly string[], input?: string) => string): void {
  for (const object of objects) {
    const status = object.status;
    const managed = statusManagedKinds.has(String(object.kind));
    if (!status || managed) continue;
    const resource = findResourceByKind(String(object.apiVersion), String(object.kind));
    if (!resource) continue;
    const metadata = object.metadata as { name: string; namespace?: string };
    const qualified = resource.group === '' ? resource.resource : `${resource.resource}.${resource.group}`;
    kubectl(['patch', qualified, metadata.name, ...(resource.namespaced ? ['-n', metadata.namespace ?? 'default'] : []), '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
  }
}

function withoutStatus(object: JsonObject): JsonObject {
  const { status: _status, ...rest } = object;
  return rest;
}

async function waitUntil(probe: () => Promise<true | string | undefined>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await probe();
    if (result === true) return;
    if (typeof result === 'string') throw new Error(result);
    if (Date.now() > deadline) throw new Error(`${what} did not become ready within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function waitSync(probe: () => boolean, timeoutMs: number, what: string): void {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
}

function httpGet(url: string, caPem?: string, bearer?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const options = { ...(caPem ? { ca: caPem } : {}), headers: bearer ? { authorization: `Bearer ${bearer}` } : {}, timeout: 2000 };
    const onResponse = (response: http.IncomingMessage): void => {
      response.resume();
      resolve(response.statusCode === 200);
    };
    const request = url.startsWith('https:') ? https.get(url, options, onResponse) : http.get(url, options, onResponse);
    request.on('error', () => resolve(false));
    request.on('timeout', () => {
      request.destroy();
      resolve(false);
    });
  });
}
