// The API channel of an apply (kubectl proxy on a private Unix socket), against the test cluster with the real
// kubectl: what it reaches (the plan's objects, GET and PATCH only), where it listens (a 0700 directory, no TCP),
// and that its failures carry the same classes and words as kubectl's own.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiChannel, acceptPathsPattern, kindOfStatus, rejectMethodsPattern, type ApiChannelOptions } from '../../src/core/kube/apiChannel';
import { Kubectl, KubectlError, type ObjectRef } from '../../src/core/kube/kubectl';
import type { JsonPatchOp } from '../../src/core/plan/patch';
import { wrapKubectl } from '../support/kubectl-wrapper';
import { human, startSessionFixture } from '../support/session-fixture';
import { startTestCluster, type TestCluster } from '../support/test-cluster';

const kubectlPath = '/usr/bin/kubectl';
const checkout: ObjectRef = { kind: 'Deployment', namespace: 'shop', name: 'checkout-api' };
const frontend: ObjectRef = { kind: 'Deployment', namespace: 'shop', name: 'frontend' };
const missing: ObjectRef = { kind: 'Deployment', namespace: 'shop', name: 'nope' };
const cpuPath = '/spec/template/spec/containers/0/resources/requests/cpu';
const lowerCpu: JsonPatchOp[] = [
  { op: 'test', path: cpuPath, value: '500m' },
  { op: 'replace', path: cpuPath, value: '250m' },
];

async function caught(promise: Promise<unknown>): Promise<KubectlError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof KubectlError, `expected KubectlError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a KubectlError');
}

/** A raw request through the channel's socket, as anything else on the machine could send it. */
function raw(socketPath: string, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // A connection per request: the proxy may refuse without reading a body, which would spoil a reused connection.
    const req = http.request({ socketPath, method, path, agent: false, headers: { Host: 'localhost', Connection: 'close', ...(body ? { 'Content-Type': 'application/json-patch+json' } : {}) } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The status line answering one hand-written request line. */
function rawLine(socketPath: string, requestLine: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath, () => socket.end(`${requestLine}\r\nHost: localhost\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('end', () => resolve(text.split('\r\n')[0] ?? ''));
    socket.on('error', reject);
  });
}

/** Inodes of the sockets a process holds open. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1]) inodes.add(match[1]);
    } catch {
      // the descriptor closed meanwhile
    }
  }
  return inodes;
}

/** TCP sockets in LISTEN state (0A) with one of these inodes, IPv4 and IPv6. */
function listeningTcp(inodes: Set<string>): string[] {
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A' && inodes.has(fields[9] ?? '')) found.push(`${table} ${fields[1]}`);
    }
  }
  return found;
}

describe('API channel (kubectl proxy on a Unix socket; real kubectl against the test cluster)', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  const open: ApiChannel[] = [];

  async function channel(overrides: Partial<ApiChannelOptions> = {}): Promise<ApiChannel> {
    const opened = await ApiChannel.open({ kubectlPath, kubeconfig: cluster.kubeconfigPath, context: cluster.context, objects: [checkout, missing], writes: 'approved', maxSockets: 4, ...overrides });
    open.push(opened);
    return opened;
  }

  function kubectl(context = cluster.context, kubeconfig = cluster.kubeconfigPath): Kubectl {
    return new Kubectl({ kubectlPath, kubeconfig, context, cacheDir: mkdtempSync(join(tmpdir(), 'kubectl-cache-')) });
  }

  beforeEach(async () => {
    cluster = await startTestCluster();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
    await cluster.close();
  });

  it('reads and patches the objects of the operation over keep-alive HTTP', async () => {
    const c = await channel();
    const live = await c.getObject(checkout);
    assert.equal(live.metadata.name, 'checkout-api');
    const dry = await c.patchJson(checkout, lowerCpu, { dryRun: true });
    assert.equal((dry.spec as { template: { spec: { containers: Array<{ resources: { requests: { cpu: string } } }> } } }).template.spec.containers[0]?.resources.requests.cpu, '250m');
    assert.deepEqual(cluster.writes(), [], 'a dry-run writes nothing');
    const written = await c.patchJson(checkout, lowerCpu, { dryRun: false });
    assert.notEqual(written.metadata.resourceVersion, live.metadata.resourceVersion);
    assert.equal(cluster.writes().length, 1);
  });

  it('refuses, at the proxy, every other object, subresource and list, and every verb but GET and PATCH', async () => {
    const c = await channel();
    const [pid] = c.pids;
    const socketPath = join(c.directory, 's0');
    const base = '/apis/apps/v1/namespaces/shop/deployments';
    assert.equal((await raw(socketPath, 'GET', `${base}/checkout-api`)).status, 200, 'the plan object is reachable');
    for (const path of [`${base}/frontend`, `${base}/checkout-api/scale`, `${base}/checkout-api/status`, base, '/api/v1/namespaces/shop/secrets', '/api/v1/namespaces/shop/pods', `${base}/checkout-api-x`, `/apis/apps/v1/namespaces/data/deployments/checkout-api`, '/version']) {
      const answer = await raw(socketPath, 'GET', path);
      assert.equal(answer.status, 403, `GET ${path}: ${answer.status} ${answer.body}`);
    }
    // An escaped slash does not reach another object either (the filter sees the decoded path).
    assert.equal((await raw(socketPath, 'GET', `${base}/checkout-api%2F..%2Ffrontend`)).status, 403);
    for (const method of ['DELETE', 'POST', 'PUT', 'HEAD', 'OPTIONS', 'PATCHX', 'XGET']) {
      const answer = await raw(socketPath, method, `${base}/checkout-api`, method === 'POST' || method === 'PUT' ? '{}' : undefined);
      assert.equal(answer.status, 403, `${method}: ${answer.status} ${answer.body}`);
    }
    // Node upper-cases methods; a raw request line sends a lower-case one (Go's server keeps the case).
    for (const method of ['get', 'patch', 'delete']) assert.match(await rawLine(socketPath, `${method} ${base}/checkout-api HTTP/1.1`), / 403 /, method);
    assert.ok(cluster.getObject('apps/v1', 'Deployment', 'shop', 'checkout-api'), 'the DELETE did not reach the server');
    assert.deepEqual(cluster.mutations(), [], 'nothing but GETs reached the server');
    // And the channel's own methods refuse an object outside the operation without sending anything.
    const outside = await caught(c.getObject(frontend));
    assert.equal(outside.kind, 'forbidden');
    assert.match(outside.message, /not part of this operation/);
    assert.ok(pid && pid > 0);
  });

  it('listens on a socket in a fresh 0700 directory, on no TCP port, and leaves nothing behind when closed', async () => {
    const c = await channel();
    const mode = statSync(c.directory).mode & 0o777;
    assert.equal(mode, 0o700, `directory mode ${mode.toString(8)}`);
    assert.ok(statSync(join(c.directory, 's0')).isSocket());
    const [pid] = c.pids;
    assert.ok(pid && pid > 0);
    await c.getObject(checkout);
    assert.deepEqual(listeningTcp(socketInodes(pid)), [], 'kubectl proxy listens on no TCP port');
    await c.close();
    assert.equal(existsSync(c.directory), false, 'the socket directory is removed');
    assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the proxy is gone');
  });

  it('a proposal reads the HPA lists of its namespaces through a second, GET-only proxy', async () => {
    const c = await channel({ writes: 'dry-run', hpaListNamespaces: ['shop'] });
    assert.equal(c.pids.length, 2);
    assert.ok(Array.isArray(await c.listHpas('shop')));
    const lists = join(c.directory, 's1');
    const path = '/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers';
    assert.equal((await raw(lists, 'GET', path)).status, 200);
    for (const method of ['PATCH', 'DELETE', 'POST', 'PUT']) assert.equal((await raw(lists, method, path, method === 'GET' ? undefined : '{}')).status, 403, method);
    for (const other of ['/apis/autoscaling/v2/namespaces/data/horizontalpodautoscalers', `${path}/checkout-api`, '/apis/apps/v1/namespaces/shop/deployments/checkout-api']) assert.equal((await raw(lists, 'GET', other)).status, 403, other);
    // The objects' proxy does not serve the lists either.
    assert.equal((await raw(join(c.directory, 's0'), 'GET', path)).status, 403);
    const outside = await caught(c.listHpas('data'));
    assert.equal(outside.kind, 'forbidden');
    assert.deepEqual(cluster.mutations(), []);
  });

  it('a proposal channel sends dry-runs only, never a write', async () => {
    const c = await channel({ writes: 'dry-run' });
    await c.patchJson(checkout, lowerCpu, { dryRun: true });
    const refused = await caught(c.patchJson(checkout, lowerCpu, { dryRun: false }));
    assert.equal(refused.kind, 'forbidden');
    assert.deepEqual(cluster.writes(), []);
  });

  it('accept-paths: one anchored expression of exactly the given objects (dots in names are literal)', () => {
    const pattern = acceptPathsPattern([{ kind: 'Deployment', namespace: 'shop', name: 'web.v2' }, { kind: 'StatefulSet', namespace: 'data', name: 'postgres' }, { kind: 'CronJob', namespace: 'ops', name: 'report' }]);
    const re = new RegExp(pattern);
    assert.ok(re.test('/apis/apps/v1/namespaces/shop/deployments/web.v2'));
    assert.ok(re.test('/apis/apps/v1/namespaces/data/statefulsets/postgres'));
    assert.ok(re.test('/apis/batch/v1/namespaces/ops/cronjobs/report'));
    for (const other of ['/apis/apps/v1/namespaces/shop/deployments/webXv2', '/apis/apps/v1/namespaces/shop/deployments/web.v2/scale', '/apis/apps/v1/namespaces/data/deployments/postgres', '/x/apis/apps/v1/namespaces/data/statefulsets/postgres']) {
      assert.equal(re.test(other), false, other);
    }
    assert.equal(pattern.includes(','), false, 'kubectl splits the flag at commas');
    const methods = new RegExp(rejectMethodsPattern.replace('(?s:', '(?:'), 's');
    for (const allowed of ['GET', 'PATCH']) assert.equal(methods.test(allowed), false, allowed);
    for (const refused of ['', 'G', 'GE', 'GETS', 'P', 'PATC', 'PATCHES', 'DELETE', 'POST', 'PUT', 'HEAD', 'get', 'patch', 'OPTIONS', 'CONNECT']) assert.equal(methods.test(refused), true, refused);
  });

  // Each class, provoked on the real API server through both paths: the channel's HTTP Status must become the
  // same class, with the same words, as kubectl's stderr.
  it('classifies not-found, precondition-failed, invalid, conflict, forbidden and auth exactly like kubectl', async () => {
    const cases: Array<{ kind: KubectlError['kind']; run: (access: { getObject: Kubectl['getObject']; patchJson: Kubectl['patchJson'] }) => Promise<unknown>; context?: string; kubeconfig?: string; before?: () => void }> = [
      { kind: 'not-found', run: (a) => a.getObject(missing) },
      { kind: 'precondition-failed', run: (a) => a.patchJson(checkout, [{ op: 'test', path: cpuPath, value: '400m' }, lowerCpu[1] as JsonPatchOp], { dryRun: false }) },
      { kind: 'invalid', run: (a) => a.patchJson(checkout, [{ op: 'replace', path: cpuPath, value: '2' }], { dryRun: true }) },
      // A stale resourceVersion in the patch is the API server's own optimistic-concurrency conflict.
      { kind: 'conflict', run: (a) => a.patchJson(checkout, [{ op: 'replace', path: '/metadata/resourceVersion', value: '1' }, lowerCpu[1] as JsonPatchOp], { dryRun: false }) },
      { kind: 'forbidden', run: (a) => a.patchJson(checkout, lowerCpu, { dryRun: false }), context: cluster.readOnlyContext },
    ];
    const wrongToken = join(mkdtempSync(join(tmpdir(), 'kubeconfig-')), 'config');
    writeFileSync(wrongToken, readFileSync(cluster.kubeconfigPath, 'utf8').replace(cluster.tokens.admin, 'wrong-token'), { mode: 0o600 });
    cases.push({ kind: 'auth', run: (a) => a.getObject(checkout), kubeconfig: wrongToken });
    for (const entry of cases) {
      const context = entry.context ?? cluster.context;
      const kubeconfig = entry.kubeconfig ?? cluster.kubeconfigPath;
      const viaKubectl = await caught(entry.run(kubectl(context, kubeconfig)));
      const viaChannel = await caught(entry.run(await channel({ context, kubeconfig })));
      assert.equal(viaKubectl.kind, entry.kind, `kubectl: ${viaKubectl.message}`);
      assert.equal(viaChannel.kind, entry.kind, `channel: ${viaChannel.message}`);
      // kubectl rewords an Invalid Status ("The Deployment … is invalid"); the server's own detail is in both.
      if (entry.kind === 'invalid') for (const message of [viaKubectl.message, viaChannel.message]) assert.match(message, /^The API server of context "prod-eu-1" rejected the change as invalid: .*must be less than or equal to cpu limit of 1/);
      else if (entry.kind === 'auth') for (const message of [viaKubectl.message, viaChannel.message]) assert.match(message, /^kubectl is not authenticated for context "prod-eu-1" \(kubeconfig .*\): ./);
      else assert.equal(viaChannel.message, viaKubectl.message, `${entry.kind}: the same words`);
    }
    assert.deepEqual(cluster.writes(), [], 'none of them wrote');
  });

  it('is unreachable once its proxy dies, and says so for every later request', async () => {
    const c = await channel();
    await c.getObject(checkout);
    const [pid] = c.pids;
    process.kill(pid as number, 'SIGKILL');
    const first = await caught(c.getObject(checkout));
    assert.equal(first.kind, 'unreachable', first.message);
    assert.match(first.message, /Cannot reach the Kubernetes API server of context "prod-eu-1"/);
    assert.ok(c.broken, 'the channel knows it is gone');
    const later = await caught(c.patchJson(checkout, lowerCpu, { dryRun: false }));
    assert.equal(later.kind, 'unreachable');
    assert.deepEqual(cluster.writes(), []);
  });

  it('is unreachable when the API server behind the proxy is gone', async () => {
    const down = await startTestCluster();
    await down.close();
    const c = await channel({ kubeconfig: down.kubeconfigPath });
    const error = await caught(c.getObject(checkout));
    assert.equal(error.kind, 'unreachable', error.message);
    assert.match(error.message, /Cannot reach the Kubernetes API server of context "prod-eu-1"/);
  });

  it('kindOfStatus: the HTTP codes the API server answers with', () => {
    assert.equal(kindOfStatus(401, {}), 'auth');
    assert.equal(kindOfStatus(403, {}), 'forbidden');
    assert.equal(kindOfStatus(404, {}), 'not-found');
    assert.equal(kindOfStatus(409, {}), 'conflict');
    assert.equal(kindOfStatus(422, { message: 'the server rejected our request due to an error in our request' }), 'precondition-failed');
    assert.equal(kindOfStatus(422, { message: 'Deployment.apps "x" is invalid: spec…' }), 'invalid');
    assert.equal(kindOfStatus(500, { reason: 'InternalError' }), 'unknown');
  });
});

describe('API channel in the session: one channel per operation', function () {
  this.timeout(120_000);

  it('an approved apply runs every read and write through one proxy reaching exactly its objects, then closes it; the proposal reports progress', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'krr-channel-session-'));
    const pidFile = join(dir, 'proxy.pids');
    const kubectl = wrapKubectl({ dir, proxyPidFile: pidFile });
    const f = await startSessionFixture({ settings: { kubectlPath: kubectl.path, policy: { protectedNamespaces: [], maxIncreasePercent: 500, maxDecreasePercent: 95, minCpuMillicores: 10, minMemoryMiB: 32, productionNamespacePatterns: [], criticalWorkloadPatterns: [] } } });
    try {
      const scan = await f.session.scan({}, human);
      const workloads = f.session.getReport(scan.reportId).workloads.filter((w) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(w.kind)).map((w) => ({ namespace: w.namespace, kind: w.kind, name: w.name }));
      const progress: Array<{ done: number; total: number; phase?: string }> = [];
      const plan = await f.session.propose({ reportId: scan.reportId, workloads, includeLimits: true }, human, undefined, (p) => progress.push(p));
      assert.ok(plan.objects.length >= 2, JSON.stringify(plan.blocked));
      assert.deepEqual(progress[0], { done: 0, total: workloads.length, phase: 'resolving the context' });
      assert.deepEqual(progress.filter((p) => p.phase === undefined).at(-1), { done: workloads.length, total: workloads.length });
      assert.ok(progress.every((p, i) => i === 0 || p.done >= (progress[i - 1] as { done: number }).done), 'the count never goes back');
      const before = kubectl.argvs().length;
      f.human.answer = 'approve';
      const outcome = await f.session.apply(plan.id, human);
      assert.equal(outcome.status, 'applied', outcome.message);
      assert.equal(outcome.verified, true);
      const during = kubectl.argvs().slice(before);
      const proxies = during.filter((argv) => argv.includes('proxy'));
      assert.equal(proxies.length, 1, `one channel: ${JSON.stringify(during.map((argv) => argv.slice(4, 6)))}`);
      assert.deepEqual(during.filter((argv) => argv.includes('patch') || argv.includes('get')), [], 'no kubectl process per read or write');
      const argv = proxies[0] as string[];
      const flag = (name: string) => argv[argv.indexOf(name) + 1];
      assert.equal(flag('--accept-paths'), acceptPathsPattern(plan.objects.map((o) => ({ kind: o.kind, namespace: o.namespace, name: o.name }))), 'exactly the plan\'s objects');
      assert.equal(flag('--reject-methods'), rejectMethodsPattern);
      assert.equal(flag('--context'), f.cluster.context);
      const socket = flag('--unix-socket') as string;
      assert.equal(existsSync(join(socket, '..')), false, 'the socket directory is gone after the apply');
      const pids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
      assert.equal(pids.length, 1, 'the apply\'s channel (a proposal of fewer than proposalChannelFrom workloads uses kubectl processes)');
      for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, 'every proxy stopped');
      assert.equal(f.cluster.writes().length, plan.objects.length);
    } finally {
      await f.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without the channel (apiChannel: false, or where kubectl proxy cannot start) the same apply runs one kubectl process per request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'krr-channel-session-'));
    const kubectl = wrapKubectl({ dir });
    const f = await startSessionFixture({ settings: { kubectlPath: kubectl.path }, session: { apiChannel: false } });
    try {
      const scan = await f.session.scan({}, human);
      const plan = await f.session.propose({ reportId: scan.reportId, workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'frontend' }], includeLimits: true }, human);
      f.human.answer = 'approve';
      const outcome = await f.session.apply(plan.id, human);
      assert.equal(outcome.status, 'applied', outcome.message);
      assert.equal(kubectl.argvs().filter((argv) => argv.includes('proxy')).length, 0);
      assert.ok(kubectl.argvs().some((argv) => argv.includes('patch') && !argv.some((a) => a.startsWith('--dry-run'))), 'the write was a kubectl patch');
    } finally {
      await f.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
