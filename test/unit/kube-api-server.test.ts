// Fidelity of the Kubernetes API test server: the real kubectl must behave against it as against a
// real cluster (exit codes, stderr wording), or every test built on it lies.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { parseQuantity } from '../../src/core/quantity';
import { startTestCluster, type TestCluster } from '../support/kube-api-server';

const kubectlPath = '/usr/bin/kubectl';
const cpuRequestPath = '/spec/template/spec/containers/0/resources/requests/cpu';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('kube-api-server (real kubectl against the test cluster)', function () {
  this.timeout(30000);
  let cluster: TestCluster;
  let cacheDir: string;

  async function kubectl(args: string[], options: { context?: string; kubeconfig?: string } = {}) {
    const { execa } = await import('execa'); // tests load as CommonJS; execa's dependencies export only `import`
    return execa(
      kubectlPath,
      ['--kubeconfig', options.kubeconfig ?? cluster.kubeconfigPath, '--context', options.context ?? cluster.context, '--cache-dir', cacheDir, ...args],
      { reject: false, env: { LC_ALL: 'C' }, timeout: 20000 },
    );
  }

  function deployment(name = 'checkout-api', namespace = 'shop'): Json {
    const found = cluster.getObject('apps/v1', 'Deployment', namespace, name);
    assert.ok(found, `${namespace}/${name} exists`);
    return found as Json;
  }

  /** A request to the test API with Node's https client (the server's CA is self-signed). */
  function testApi(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: Json }> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${cluster.url}${path}`,
        { method, ca: cluster.caPem, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Json }));
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  beforeEach(async () => {
    cluster = await startTestCluster();
    cacheDir = mkdtempSync(join(tmpdir(), 'kubectl-cache-'));
  });
  afterEach(async () => {
    await cluster.close();
  });

  it('seeds every workload of the sample report with exactly its current requests and limits', () => {
    const report = JSON.parse(readFileSync('test/fixtures/sample-report.json', 'utf8')) as Json;
    const apiVersionByKind: Record<string, string> = { Deployment: 'apps/v1', StatefulSet: 'apps/v1', DaemonSet: 'apps/v1', Job: 'batch/v1', CronJob: 'batch/v1' };
    for (const scan of report.scans as Json[]) {
      const { kind, namespace, name, container, allocations } = scan.object as Json;
      const obj = cluster.getObject(apiVersionByKind[kind] ?? '', kind, namespace, name) as Json | undefined;
      assert.ok(obj, `${kind} ${namespace}/${name} is seeded`);
      const podSpec = kind === 'CronJob' ? obj.spec.jobTemplate.spec.template.spec : obj.spec.template.spec;
      const seeded = (podSpec.containers as Json[]).find((c) => c.name === container);
      assert.ok(seeded, `container ${container} of ${name}`);
      for (const list of ['requests', 'limits'] as const) {
        for (const resource of ['cpu', 'memory'] as const) {
          const expected = allocations[list][resource] as number | null;
          const actual = seeded.resources?.[list]?.[resource] as string | undefined;
          if (expected === null) assert.equal(actual, undefined, `${name}/${container} ${list}.${resource} stays unset`);
          else assert.equal(parseQuantity(actual ?? 'missing'), expected, `${name}/${container} ${list}.${resource}`);
        }
      }
    }
    const hpa = cluster.getObject('autoscaling/v2', 'HorizontalPodAutoscaler', 'shop', 'frontend') as Json;
    assert.equal(hpa.spec.metrics[0].resource.target.averageUtilization, 70);
    assert.equal((cluster.getObject('apps/v1', 'DaemonSet', 'monitoring', 'node-exporter') as Json).status.desiredNumberScheduled, 3);
  });

  it('serves kubectl get -o json with server-set metadata', async () => {
    const result = await kubectl(['get', 'deployment', 'checkout-api', '-n', 'shop', '-o', 'json']);
    assert.equal(result.exitCode, 0, result.stderr);
    const obj = JSON.parse(result.stdout) as Json;
    assert.equal(obj.apiVersion, 'apps/v1');
    assert.equal(obj.kind, 'Deployment');
    assert.match(obj.metadata.resourceVersion, /^\d+$/);
    assert.match(obj.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.equal(obj.metadata.generation, 1);
    assert.deepEqual(obj.spec.template.spec.containers[0].resources, { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } });
    // A container without resources is served as "resources: {}", as the Go struct always serializes.
    const sts = await kubectl(['get', 'statefulsets.apps', 'postgres', '-n', 'data', '-o', 'json']);
    assert.deepEqual((JSON.parse(sts.stdout) as Json).spec.template.spec.containers[1].resources, {});
  });

  it('answers discovery so short names, group-qualified names and label selectors work', async () => {
    const hpa = await kubectl(['get', 'hpa', '-n', 'shop', '-o', 'name']);
    assert.equal(hpa.stdout, 'horizontalpodautoscaler.autoscaling/frontend', hpa.stderr);
    const listed = await kubectl(['get', 'deployments.apps', '-A', '-l', 'app in (frontend,sandbox-api)', '-o', 'name']);
    assert.equal(listed.stdout, 'deployment.apps/frontend\ndeployment.apps/sandbox-api', listed.stderr);
    const notFrontend = await kubectl(['get', 'deploy', '-n', 'shop', '-l', 'app!=frontend', '-o', 'name']);
    assert.equal(notFrontend.stdout, 'deployment.apps/checkout-api');
    const all = await kubectl(['get', 'sts,ds,jobs.batch,cj', '-A', '-o', 'name']);
    assert.deepEqual(all.stdout.split('\n').sort(), [
      'cronjob.batch/nightly-report',
      'daemonset.apps/node-exporter',
      'job.batch/db-migrate-20240611',
      'statefulset.apps/postgres',
    ]);
  });

  it('runs a server-side dry-run patch without storing it, and logs it as a dry-run', async () => {
    const before = deployment();
    const ops = [
      { op: 'test', path: cpuRequestPath, value: '500m' },
      { op: 'replace', path: cpuRequestPath, value: '0.25' },
    ];
    const result = await kubectl(['patch', 'deployments.apps', 'checkout-api', '-n', 'shop', '--type=json', '-p', JSON.stringify(ops), '--dry-run=server', '-o', 'json']);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as Json).spec.template.spec.containers[0].resources.requests.cpu, '250m');
    assert.deepEqual(deployment(), before);
    const [mutation, ...rest] = cluster.mutations();
    assert.equal(rest.length, 0);
    assert.equal(mutation?.method, 'PATCH');
    assert.equal(mutation?.dryRun, true);
    assert.equal(mutation?.status, 200);
    assert.match(mutation?.path ?? '', /^\/apis\/apps\/v1\/namespaces\/shop\/deployments\/checkout-api\?dryRun=All/);
    assert.deepEqual(cluster.writes(), []);
  });

  it('applies a real JSON patch: canonical quantity, new resourceVersion, generation bump, rollout complete', async () => {
    const before = deployment();
    const ops = [
      { op: 'test', path: cpuRequestPath, value: '500m' },
      { op: 'replace', path: cpuRequestPath, value: '0.25' },
    ];
    const result = await kubectl(['patch', 'deployments.apps', 'checkout-api', '-n', 'shop', '--type=json', '-p', JSON.stringify(ops)]);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout, 'deployment.apps/checkout-api patched');
    const after = deployment();
    assert.equal(after.spec.template.spec.containers[0].resources.requests.cpu, '250m');
    assert.ok(Number(after.metadata.resourceVersion) > Number(before.metadata.resourceVersion));
    assert.equal(after.metadata.generation, 2);
    assert.equal(after.status.observedGeneration, 2);
    assert.equal(cluster.writes().length, 1);
    const rollout = await kubectl(['rollout', 'status', 'deployment/checkout-api', '-n', 'shop', '--timeout=5s']);
    assert.equal(rollout.exitCode, 0, rollout.stderr);
    assert.equal(rollout.stdout, 'deployment "checkout-api" successfully rolled out');
  });

  it('leaves resourceVersion alone for a patch that changes nothing (kubectl says "no change")', async () => {
    const before = deployment();
    const patch = JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'api', resources: { requests: { cpu: '500m' } } }] } } } });
    const result = await kubectl(['patch', 'deployment', 'checkout-api', '-n', 'shop', '--type=strategic', '-p', patch]);
    assert.equal(result.stdout, 'deployment.apps/checkout-api patched (no change)', result.stderr);
    assert.equal(deployment().metadata.resourceVersion, before.metadata.resourceVersion);
  });

  it('merges strategic patches into the container list by name', async () => {
    const patch = JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'metrics', resources: { requests: { cpu: '10m' } } }] } } } });
    const result = await kubectl(['patch', 'statefulset', 'postgres', '-n', 'data', '--type=strategic', '-p', patch]);
    assert.equal(result.exitCode, 0, result.stderr);
    const containers = (cluster.getObject('apps/v1', 'StatefulSet', 'data', 'postgres') as Json).spec.template.spec.containers as Json[];
    assert.deepEqual(containers.map((c) => c.name), ['postgresql', 'metrics']);
    assert.deepEqual(containers[0]?.resources, { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } });
    assert.deepEqual(containers[1]?.resources, { requests: { cpu: '10m' } });
    const merge = await kubectl(['patch', 'deployment', 'frontend', '-n', 'shop', '--type=merge', '-p', '{"metadata":{"labels":{"tier":null,"team":"web"}}}']);
    assert.equal(merge.exitCode, 0, merge.stderr);
    assert.deepEqual(deployment('frontend').metadata.labels, { app: 'frontend', team: 'web' });
  });

  it('rejects a failed JSON-patch test op with 422, as kube-apiserver words it', async () => {
    const before = deployment();
    const ops = [
      { op: 'test', path: cpuRequestPath, value: '400m' },
      { op: 'replace', path: cpuRequestPath, value: '250m' },
    ];
    const result = await kubectl(['patch', 'deployment', 'checkout-api', '-n', 'shop', '--type=json', '-p', JSON.stringify(ops)]);
    assert.equal(result.exitCode, 1);
    assert.equal(result.stderr, 'The request is invalid: the server rejected our request due to an error in our request');
    assert.deepEqual(deployment(), before);
    assert.deepEqual(cluster.mutations().map((m) => m.status), [422]);
    // The test compares stored JSON: "0.5" is not the stored "500m", as on a real cluster.
    const uncanonical = await kubectl(['patch', 'deployment', 'checkout-api', '-n', 'shop', '--type=json', '-p', JSON.stringify([{ op: 'test', path: cpuRequestPath, value: '0.5' }])]);
    assert.equal(uncanonical.exitCode, 1);
  });

  it('validates request <= limit, quantities and names with the real messages', async () => {
    const tooHigh = await kubectl(['patch', 'deployment', 'checkout-api', '-n', 'shop', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: cpuRequestPath, value: '2' }])]);
    assert.equal(tooHigh.exitCode, 1);
    assert.equal(
      tooHigh.stderr,
      'The Deployment "checkout-api" is invalid: spec.template.spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
    );
    const garbage = await kubectl(['patch', 'deployment', 'checkout-api', '-n', 'shop', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: cpuRequestPath, value: 'lots' }])]);
    assert.equal(garbage.exitCode, 1);
    assert.match(garbage.stderr, /^The request is invalid: patch: Invalid value: ".*": quantities must match the regular expression/s);
    const manifest = join(cacheDir, 'bad.json');
    writeFileSync(manifest, JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'Bad_Name', namespace: 'shop' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'x', image: 'x' }] } } } }));
    const badName = await kubectl(['create', '--validate=false', '-f', manifest]);
    assert.equal(badName.exitCode, 1);
    assert.match(badName.stderr, /The Deployment "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of/);
    assert.deepEqual(cluster.writes(), []);
  });

  it('answers a stale update with 409 Conflict', async () => {
    const file = join(cacheDir, 'deployment.json');
    const read = await kubectl(['get', 'deployment', 'checkout-api', '-n', 'shop', '-o', 'json']);
    writeFileSync(file, read.stdout);
    const bump = await kubectl(['patch', 'deployment', 'checkout-api', '-n', 'shop', '--type=merge', '-p', '{"spec":{"replicas":3}}']);
    assert.equal(bump.exitCode, 0, bump.stderr);
    // --validate=false: client-side validation would download OpenAPI, which the test server does not serve.
    const replace = await kubectl(['replace', '--validate=false', '-f', file]);
    assert.equal(replace.exitCode, 1);
    assert.equal(
      replace.stderr,
      `Error from server (Conflict): error when replacing "${file}": Operation cannot be fulfilled on deployments.apps "checkout-api": the object has been modified; please apply your changes to the latest version and try again`,
    );
    assert.equal(deployment().spec.replicas, 3);
  });

  it('answers 404, 403 for the read-only user, and 401 for a wrong token like a real cluster', async () => {
    const missing = await kubectl(['get', 'deployment', 'nope', '-n', 'shop', '-o', 'json']);
    assert.equal(missing.exitCode, 1);
    assert.equal(missing.stderr, 'Error from server (NotFound): deployments.apps "nope" not found');

    const readOnlyGet = await kubectl(['get', 'deployment', 'checkout-api', '-n', 'shop', '-o', 'name'], { context: cluster.readOnlyContext });
    assert.equal(readOnlyGet.exitCode, 0, readOnlyGet.stderr);
    const readOnlyPatch = await kubectl(['patch', 'deployment', 'checkout-api', '-n', 'shop', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":3}]'], { context: cluster.readOnlyContext });
    assert.equal(readOnlyPatch.exitCode, 1);
    assert.equal(
      readOnlyPatch.stderr,
      'Error from server (Forbidden): deployments.apps "checkout-api" is forbidden: User "read-only" cannot patch resource "deployments" in API group "apps" in the namespace "shop"',
    );
    const dryRunToo = await kubectl(['patch', 'deployment', 'checkout-api', '-n', 'shop', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":3}]', '--dry-run=server'], { context: cluster.readOnlyContext });
    assert.equal(dryRunToo.exitCode, 1);

    const config = parse(readFileSync(cluster.kubeconfigPath, 'utf8')) as Json;
    config.users[0].user.token = 'wrong-token';
    const wrong = join(cacheDir, 'wrong-kubeconfig');
    writeFileSync(wrong, stringify(config));
    const unauthorized = await kubectl(['get', 'deployment', 'checkout-api', '-n', 'shop'], { kubeconfig: wrong });
    assert.equal(unauthorized.exitCode, 1);
    // Discovery is cached by now, so the 401 comes from the GET itself and kubectl prints its message.
    assert.equal(unauthorized.stderr, 'error: You must be logged in to the server (Unauthorized)');
    assert.equal(deployment().spec.replicas, 2);
  });

  it('reports completed rollouts for StatefulSets and DaemonSets too', async () => {
    const sts = await kubectl(['rollout', 'status', 'statefulset/postgres', '-n', 'data', '--timeout=5s']);
    assert.equal(sts.exitCode, 0, sts.stderr);
    const ds = await kubectl(['rollout', 'status', 'daemonset/node-exporter', '-n', 'monitoring', '--timeout=5s']);
    assert.equal(ds.stdout, 'daemon set "node-exporter" successfully rolled out', ds.stderr);
  });

  it('writes a kubeconfig kubectl can minify without printing the token', async () => {
    const result = await kubectl(['config', 'view', '--minify', '-o', 'json']);
    assert.equal(result.exitCode, 0, result.stderr);
    const view = JSON.parse(result.stdout) as Json;
    assert.equal(view['current-context'], 'prod-eu-1');
    assert.equal(view.clusters[0].cluster.server, cluster.url);
    assert.ok(!result.stdout.includes(cluster.tokens.admin));
    const contexts = await kubectl(['config', 'get-contexts', '-o', 'name']);
    assert.deepEqual(contexts.stdout.split('\n').sort(), ['prod-eu-1', 'prod-eu-1-read-only', 'staging-eu-1']);
  });

  it('injects faults: failed, conflicting, forbidden and dropped writes', async () => {
    const patch = (replicas: number) => kubectl(['patch', 'deployment', 'checkout-api', '-n', 'shop', '--type=merge', '-p', JSON.stringify({ spec: { replicas } })]);
    cluster.faults.failNthWrite(2);
    assert.equal((await patch(3)).exitCode, 0);
    const failed = await patch(4);
    assert.equal(failed.stderr, 'Error from server (InternalError): Internal error occurred: injected fault: write failed');
    assert.equal(deployment().spec.replicas, 3);

    cluster.faults.conflictNextWrite();
    const conflicted = await patch(5);
    assert.match(conflicted.stderr, /^Error from server \(Conflict\): Operation cannot be fulfilled on deployments\.apps "checkout-api": the object has been modified/);
    assert.equal((await patch(5)).exitCode, 0);

    cluster.faults.forbidNamespace('shop');
    const forbidden = await patch(6);
    assert.match(forbidden.stderr, /User "kubernetes-admin" cannot patch resource "deployments" in API group "apps" in the namespace "shop"/);
    cluster.faults.clear();

    cluster.faults.dropNthWrite(1);
    const dropped = await patch(7);
    assert.equal(dropped.exitCode, 1);
    assert.equal(deployment().spec.replicas, 5);
    assert.equal(cluster.mutations().at(-1)?.status, 0);
    assert.deepEqual(cluster.writes().map((w) => w.status), [200, 200]);
  });

  it('serves the mutation log and fault control over HTTP with the admin token only', async () => {
    const set = await testApi('POST', '/__test/faults', cluster.tokens.admin, { failNthWrite: { n: 1, status: 503 } });
    assert.equal(set.status, 200);
    const failed = await kubectl(['patch', 'deployment', 'checkout-api', '-n', 'shop', '--type=merge', '-p', '{"spec":{"replicas":3}}']);
    assert.equal(failed.exitCode, 1);
    const log = await testApi('GET', '/__test/mutations', cluster.tokens.admin);
    assert.equal(log.status, 200);
    assert.equal(log.json.mutations.length, 1);
    assert.equal(log.json.mutations[0].status, 503);
    assert.match(log.json.mutations[0].bodySha256, /^[0-9a-f]{64}$/);
    assert.equal((await testApi('DELETE', '/__test/faults', cluster.tokens.admin)).status, 200);
    assert.equal((await testApi('GET', '/__test/mutations', 'nope')).status, 401);
    assert.equal((await testApi('GET', '/__test/mutations', cluster.tokens.readOnly)).status, 400);
  });

  it('lets a test change an object behind kubectl\'s back, which a pinned test op then catches', async () => {
    const before = deployment();
    const changed = structuredClone(before);
    changed.spec.template.spec.containers[0].resources.requests.cpu = '600m';
    cluster.putObject(changed);
    const after = deployment();
    assert.ok(Number(after.metadata.resourceVersion) > Number(before.metadata.resourceVersion));
    const pinned = await kubectl(['patch', 'deployment', 'checkout-api', '-n', 'shop', '--type=json', '-p', JSON.stringify([{ op: 'test', path: cpuRequestPath, value: '500m' }, { op: 'replace', path: cpuRequestPath, value: '250m' }])]);
    assert.equal(pinned.exitCode, 1);
    assert.equal(deployment().spec.template.spec.containers[0].resources.requests.cpu, '600m');
  });

  it('runs as a CLI that prints one ready line and stops cleanly on SIGTERM', async () => {
    const kubeconfig = join(cacheDir, 'cli-kubeconfig');
    const { execa } = await import('execa');
    const child = execa(process.execPath, ['--import', 'tsx', 'test/support/kube-api-server/cli.ts', '--light', '--port', '0', '--kubeconfig', kubeconfig, '--without-prometheus'], { reject: false });
    const line = await Promise.race([
      new Promise<string>((resolve) => child.stdout?.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8')))),
      child.then((result) => Promise.reject(new Error(`cli exited early: ${String(result.stderr)}`))),
    ]);
    assert.match(line, /^ready https:\/\/127\.0\.0\.1:\d+\n$/);
    const get = await kubectl(['get', 'deployment', 'frontend', '-n', 'shop', '-o', 'name'], { kubeconfig });
    assert.equal(get.stdout, 'deployment.apps/frontend', get.stderr);
    child.kill('SIGTERM');
    const result = await child;
    assert.equal(result.exitCode, 0);
    assert.equal(result.stdout, line.trimEnd());
  });
});
