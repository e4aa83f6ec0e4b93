// The real control plane harness itself: authentication and RBAC are the API server's, the audit log is the
// evidence of writes, the fault proxy injects what it says, and simulated nodes let rollouts finish (or stall).
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { startControlPlane, type ControlPlane } from '../support/control-plane';

const run = promisify(execFile);

describe('real control plane (kube-apiserver, etcd, kube-controller-manager from Go modules)', function () {
  this.timeout(120_000);
  let cluster: ControlPlane;
  let cacheDir: string;

  const kubectl = async (args: string[], context?: string): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run('kubectl', ['--kubeconfig', cluster.kubeconfigPath, '--cache-dir', cacheDir, ...(context ? ['--context', context] : []), ...args], { timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failure = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof failure.code === 'number' ? failure.code : 1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
    }
  };
  const frontendCpu = (): unknown => (cluster.getObject('apps/v1', 'Deployment', 'shop', 'frontend') as { spec: { template: { spec: { containers: Array<{ resources: { requests: { cpu: string } } }> } } } }).spec.template.spec.containers[0]?.resources.requests.cpu;
  const patchCpu = (cpu: string): string[] => ['patch', 'deployment', 'frontend', '-n', 'shop', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/resources/requests/cpu', value: cpu }])];

  beforeEach(async () => {
    cluster = await startControlPlane();
    cacheDir = mkdtempSync(path.join(tmpdir(), 'kubectl-cache-'));
  });
  afterEach(async () => {
    await cluster.close();
  });

  it('serves the seed to kubectl, and the read-only user may read but RBAC refuses its writes (a real 403)', async () => {
    const list = await kubectl(['get', 'deployments', '-A', '-o', 'name']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /deployment.apps\/frontend/);
    const read = await kubectl(['get', 'deployment', 'frontend', '-n', 'shop'], cluster.readOnlyContext);
    assert.equal(read.code, 0, read.stderr);
    const write = await kubectl(patchCpu('300m'), cluster.readOnlyContext);
    assert.notEqual(write.code, 0);
    assert.match(write.stderr, /forbidden: User "read-only" cannot patch resource "deployments" in API group "apps"/);
    assert.deepEqual(cluster.writes(), []);
    assert.deepEqual(cluster.mutations().map((m) => [m.method, m.status]), [['PATCH', 403]]);
  });

  it('answers an unknown bearer token with 401 Unauthorized', async () => {
    const { readFileSync, writeFileSync } = await import('node:fs');
    const forged = path.join(cacheDir, 'forged-kubeconfig');
    writeFileSync(forged, readFileSync(cluster.kubeconfigPath, 'utf8').replace(cluster.tokens.admin, 'f'.repeat(48)), { mode: 0o600 });
    try {
      await run('kubectl', ['--kubeconfig', forged, '--cache-dir', cacheDir, 'get', 'deployments', '-n', 'shop']);
      assert.fail('a forged token was accepted');
    } catch (error) {
      assert.match(String((error as { stderr?: string }).stderr), /You must be logged in to the server|Unauthorized/);
    }
  });

  it('records dry runs and writes in the audit log; the harness\'s own edits are not counted as the product\'s', async () => {
    const dry = await kubectl([...patchCpu('333m'), '--dry-run=server']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(cluster.writes(), []);
    assert.equal(cluster.mutations().filter((m) => m.dryRun).length, 1);
    const live = cluster.getObject('apps/v1', 'Deployment', 'shop', 'frontend') as { metadata: { annotations?: Record<string, string> } };
    live.metadata.annotations = { ...live.metadata.annotations, 'example.com/edited-by': 'someone-else' };
    cluster.putObject(live);
    assert.deepEqual(cluster.writes(), []);
    const real = await kubectl(patchCpu('333m'));
    assert.equal(real.code, 0, real.stderr);
    const writes = cluster.writes();
    assert.equal(writes.length, 1);
    assert.match(writes[0]?.path ?? '', /^\/apis\/apps\/v1\/namespaces\/shop\/deployments\/frontend\?/);
    assert.equal(frontendCpu(), '333m');
  });

  it('fault proxy: a write that is committed but whose reply is lost leaves the client in doubt and the object changed', async () => {
    cluster.faults.commitThenDropNthWrite(1);
    const result = await kubectl(patchCpu('444m'));
    assert.notEqual(result.code, 0, 'kubectl must not see a reply');
    assert.equal(frontendCpu(), '444m');
    assert.equal(cluster.writes().length, 1);
  });

  it('fault proxy: a failed or dropped write never reaches the API server', async () => {
    cluster.faults.failNthWrite(1, 500);
    assert.notEqual((await kubectl(patchCpu('555m'))).code, 0);
    cluster.faults.dropNthWrite(1);
    assert.notEqual((await kubectl(patchCpu('555m'))).code, 0);
    cluster.faults.forbidNamespace('shop');
    assert.match((await kubectl(patchCpu('555m'))).stderr, /forbidden/);
    assert.deepEqual(cluster.mutations(), []);
    assert.notEqual(frontendCpu(), '555m');
  });

  it('rollouts finish on simulated nodes through the real controllers, and a stalled workload never becomes ready', async () => {
    assert.equal((await kubectl(patchCpu('222m'))).code, 0);
    const done = await kubectl(['rollout', 'status', 'deployment/frontend', '-n', 'shop', '--timeout=60s']);
    assert.equal(done.code, 0, done.stderr + done.stdout);
    assert.match(done.stdout, /successfully rolled out/);
    cluster.faults.stallRollouts('shop', 'frontend');
    assert.equal((await kubectl(patchCpu('211m'))).code, 0);
    const stuck = await kubectl(['rollout', 'status', 'deployment/frontend', '-n', 'shop', '--timeout=5s']);
    assert.notEqual(stuck.code, 0);
    assert.match(stuck.stderr + stuck.stdout, /timed out|Waiting for deployment/);
  });

  it('npm run test-cluster starts it as a CLI: "ready <url>" and "audit <path>" lines, writes in that audit log, clean stop on SIGTERM', async () => {
    const kubeconfig = path.join(cacheDir, 'cli-kubeconfig');
    const { execa } = await import('execa');
    const child = execa(process.execPath, ['--import', 'tsx', 'test/support/kube-api-server/cli.ts', '--port', '0', '--kubeconfig', kubeconfig, '--without-prometheus'], { reject: false });
    let output = '';
    const lines = await Promise.race([
      new Promise<string[]>((resolve) => {
        child.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8');
          if (/^audit .+\n/m.test(output)) resolve(output.trimEnd().split('\n'));
        });
      }),
      child.then((result) => Promise.reject(new Error(`cli exited early: ${String(result.stderr)}`))),
    ]);
    assert.match(lines[0] ?? '', /^ready https:\/\/127\.0\.0\.1:\d+$/);
    const auditPath = (lines[1] ?? '').replace(/^audit /, '');
    const { stdout } = await run('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...patchCpu('321m')]);
    assert.match(stdout, /patched/);
    const { readFileSync } = await import('node:fs');
    const events = readFileSync(auditPath, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { verb: string; requestURI: string; responseStatus?: { code: number }; user: { username: string } });
    assert.ok(events.some((event) => event.verb === 'patch' && event.user.username === 'kubernetes-admin' && !event.requestURI.includes('dryRun') && event.requestURI.includes('/deployments/frontend') && (event.responseStatus?.code ?? 0) < 300), 'the write is an audit event with a write verb, no dry run, a code below 300');
    child.kill('SIGTERM');
    const result = await child;
    assert.equal(result.exitCode, 0, String(result.stderr));
  });

  it('a reset puts every workload back as seeded, fields a test added included', async () => {
    const added = [{ op: 'add', path: '/spec/template/spec/containers/0/resources/limits/ephemeral-storage', value: '1Gi' }];
    assert.equal((await kubectl(['patch', 'deployment', 'frontend', '-n', 'shop', '--type=json', '-p', JSON.stringify(added)])).code, 0);
    await cluster.close();
    cluster = await startControlPlane();
    const container = (cluster.getObject('apps/v1', 'Deployment', 'shop', 'frontend') as { spec: { template: { spec: { containers: Array<{ resources: { limits: Record<string, unknown> } }> } } } }).spec.template.spec.containers[0];
    assert.deepEqual(container?.resources.limits, { cpu: '500m', memory: '256Mi' });
  });
});
