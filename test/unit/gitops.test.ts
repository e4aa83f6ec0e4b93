// The manifest target (GitOps) against the fixtures in test/fixtures/gitops and the real `kubectl kustomize`: where a
// workload's resources are decided, edits that change only those values, the re-render check, the plan's digest and
// stale check, and bad input (nothing written).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { AuditLog } from '../../src/core/audit';
import { fileKeyStore } from '../../src/core/auditKey';
import { executeManifestPlan, fileManifestWriter } from '../../src/core/gitops/apply';
import { fileEditText, manifestApprovalText } from '../../src/core/gitops/approval';
import type { ManifestPlan, ManifestSourceFinder, WorkloadTarget } from '../../src/core/gitops/model';
import { plainManifestFinder } from '../../src/core/gitops/manifests';
import { manifestPlanDigest, proposeManifestPlan } from '../../src/core/gitops/propose';
import { indexWorkspace, workspaceFolders } from '../../src/core/gitops/workspace';
import { containerNode } from '../../src/core/gitops/workload';
import { applySplices, parseManifestFile, setContainerResources, type FieldEdit } from '../../src/core/gitops/yamlEdit';
import type { WorkloadKind } from '../../src/core/krr/model';
import type { DesiredResources } from '../../src/core/plan/build';
import type { ApprovalDecision, ApprovalText, Approver } from '../../src/core/model';
import { Session } from '../../src/core/session/session';
import { parseSessionSettings } from '../../src/core/settings';
import { withoutIsolates } from '../../src/core/text';
import { krrReportJson } from '../support/krr-report';

const fixtures = path.resolve(__dirname, '..', 'fixtures', 'gitops');

type Values = { requests?: { cpu?: string; memory?: string }; limits?: { cpu?: string; memory?: string } };

function target(namespace: string, kind: WorkloadKind, name: string, containers: Record<string, Values>, context: string | null = null): WorkloadTarget {
  const desired = new Map<string, DesiredResources>(Object.entries(containers).map(([container, values]) => [container, { requests: { ...values.requests }, limits: { ...values.limits } }]));
  return { namespace, kind, name, group: kind === 'CronJob' || kind === 'Job' ? 'batch' : 'apps', context, desired };
}

function kustomize(dir: string): string {
  return execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
}

/** Every file of a tree, path -> content. */
function snapshot(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else files.set(path.relative(root, full), readFileSync(full, 'utf8'));
    }
  };
  walk(root);
  return files;
}

/**
 * The lines of `after` that differ from `before` (longest common subsequence of lines): the test that a file is
 * byte for byte the same outside the edited values.
 */
function changedLines(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  const table = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) table[i]![j] = a[i] === b[j] ? table[i + 1]![j + 1]! + 1 : Math.max(table[i + 1]![j]!, table[i]![j + 1]!);
  const removed: string[] = [];
  const added: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      i++;
      j++;
    } else if (table[i + 1]![j]! >= table[i]![j + 1]!) removed.push(a[i++]!);
    else added.push(b[j++]!);
  }
  removed.push(...a.slice(i));
  added.push(...b.slice(j));
  return { removed, added };
}

const resourceLine = /^\s*(?:-\s+)?(?:"?(?:name|resources|requests|limits)"?:.*|"?(?:cpu|memory)"?:\s*\S.*)$/;

describe('gitops: writing recommendations into workspace manifests', function () {
  this.timeout(120_000);
  let dir: string;
  let stateDir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-gitops-'));
    stateDir = mkdtempSync(path.join(tmpdir(), 'krr-gitops-state-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  });

  function copy(fixture: string, name = fixture): string {
    const destination = path.join(dir, name);
    cpSync(path.join(fixtures, fixture), destination, { recursive: true });
    return destination;
  }

  async function propose(roots: string[], targets: WorkloadTarget[], finders?: readonly ManifestSourceFinder[]): Promise<ManifestPlan> {
    return proposeManifestPlan(targets, { folders: await workspaceFolders(roots), kubectlPath: 'kubectl', requester: { type: 'model', via: 'test' }, now: new Date(), ttlSeconds: 600, context: null, ...(finders ? { finders } : {}) });
  }

  async function write(plan: ManifestPlan) {
    const audit = await AuditLog.open(path.join(stateDir, 'audit.jsonl'), { keys: fileKeyStore(path.join(stateDir, 'audit.key')) });
    return { result: await executeManifestPlan(plan, { writer: fileManifestWriter(), audit, actor: { type: 'human', via: 'test' } }), audit };
  }

  describe('plain manifests', () => {
    it('edits only the resources values of the right document; comments, quoting, anchors and other documents stay byte for byte', async () => {
      const root = copy('plain');
      const before = readFileSync(path.join(root, 'apps/shop.yaml'), 'utf8');
      const plan = await propose([root], [target('shop', 'Deployment', 'frontend', { app: { requests: { cpu: '250m', memory: '300Mi' }, limits: { cpu: '1', memory: '1Gi' } }, proxy: { requests: { cpu: '50m' } } })]);
      assert.deepEqual(plan.unresolved, []);
      assert.equal(plan.workloads[0]?.source.label, 'plain/apps/shop.yaml (document 2)');
      assert.deepEqual(plan.files.map((file) => file.path), ['apps/shop.yaml']);
      const { result } = await write(plan);
      assert.equal(result.status, 'applied', result.message);
      const after = readFileSync(path.join(root, 'apps/shop.yaml'), 'utf8');
      const { removed, added } = changedLines(before, after);
      // Replaced in place, in the quoting style each value had; memory limit already 1Gi: untouched.
      assert.deepEqual(removed, ["            cpu: '500m'", '            memory: "512Mi"']);
      assert.deepEqual(added, ["            cpu: '250m'", '            memory: "300Mi"', '            cpu: "1"', '        resources:', '          requests:', '            cpu: 50m']);
      // The canary Deployment with the same name in another namespace is not touched.
      assert.equal(after.split('---')[2], before.split('---')[2]);
    });

    it('a private file (0600, it may hold a Secret) stays private after the write', async () => {
      const root = copy('plain');
      const file = path.join(root, 'apps/shop.yaml');
      chmodSync(file, 0o600);
      const plan = await propose([root], [target('shop', 'Deployment', 'frontend', { app: { requests: { cpu: '250m' } } })]);
      const { result } = await write(plan);
      assert.equal(result.status, 'applied', result.message);
      assert.match(readFileSync(file, 'utf8'), /cpu: '250m'/);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      chmodSync(file, 0o640);
      const second = await propose([root], [target('shop', 'Deployment', 'frontend', { app: { requests: { cpu: '260m' } } })]);
      assert.equal((await write(second)).result.status, 'applied');
      assert.equal(statSync(file).mode & 0o777, 0o640, 'any mode is kept, not only 0600');
    });

    it('edits JSON in JSON style, and takes a missing namespace from the enclosing kustomization', async () => {
      const root = copy('plain');
      const json = readFileSync(path.join(root, 'apps/postgres.json'), 'utf8');
      const plan = await propose([root], [target('data', 'StatefulSet', 'postgres', { postgres: { requests: { cpu: '500m' }, limits: { cpu: '2' } } }), target('batch', 'Deployment', 'worker', { worker: { requests: { cpu: '10m', memory: '32Mi' } } })]);
      assert.deepEqual(plan.unresolved, []);
      await write(plan);
      const after = readFileSync(path.join(root, 'apps/postgres.json'), 'utf8');
      assert.deepEqual(JSON.parse(after).spec.template.spec.containers[0].resources, { requests: { cpu: '500m', memory: '2Gi' }, limits: { memory: '4Gi', cpu: '2' } });
      const { removed, added } = changedLines(json, after);
      assert.deepEqual(removed, ['              "requests": { "cpu": "1", "memory": "2Gi" },', '              "limits": { "memory": "4Gi" }']);
      assert.deepEqual(added, ['              "requests": { "cpu": "500m", "memory": "2Gi" },', '              "limits": { "memory": "4Gi", "cpu": "2" }']);
      const worker = readFileSync(path.join(root, 'batch/worker.yaml'), 'utf8');
      assert.match(worker, /resources:\n {12}requests:\n {14}cpu: 10m\n {14}memory: 32Mi\n$/);
    });

    it('several values added to empty flow mappings (`requests: {}`, `resources: {}`) are separated by commas', async () => {
      // As in css-kustomize's base: two inserts at the same place of `{}` ran together (`{ cpu: 300m  memory: 512Mi }`).
      const root = path.join(dir, 'flow');
      const manifest = (name: string, resources: string) => ['apiVersion: apps/v1', 'kind: Deployment', `metadata: {name: ${name}, namespace: shop}`, 'spec:', '  template:', '    spec:', '      containers:', `        - name: ${name}`, '          image: app:1', ...resources.split('\n'), ''].join('\n');
      mkdirSync(root, { recursive: true });
      writeFileSync(path.join(root, 'api.yaml'), manifest('api', '          resources:\n            limits: {}\n            requests: {}'));
      writeFileSync(path.join(root, 'web.yaml'), manifest('web', '          resources: {}'));
      const wanted = { requests: { cpu: '300m', memory: '512Mi' }, limits: { memory: '1Gi' } };
      const plan = await propose([root], [target('shop', 'Deployment', 'api', { api: wanted }), target('shop', 'Deployment', 'web', { web: wanted })]);
      assert.deepEqual(plan.unresolved, []);
      await write(plan);
      const api = readFileSync(path.join(root, 'api.yaml'), 'utf8');
      assert.match(api, /limits: \{ memory: 1Gi \}\n {12}requests: \{ cpu: 300m, memory: 512Mi \}/);
      assert.match(readFileSync(path.join(root, 'web.yaml'), 'utf8'), /resources: \{ requests: \{ cpu: 300m, memory: 512Mi \}, limits: \{ memory: 1Gi \} \}/);
    });

    it('two files defining the same workload: no edit, both named as candidates', async () => {
      const first = copy('plain', 'one');
      const second = copy('plain', 'two');
      const plan = await propose([first, second], [target('shop', 'Deployment', 'frontend', { app: { requests: { cpu: '100m' } } })]);
      assert.equal(plan.files.length, 0);
      assert.match(plan.unresolved[0]?.reason ?? '', /2 sources could define Deployment shop\/frontend; KRR does not pick one/);
      assert.deepEqual(plan.unresolved[0]?.candidates, ['one/apps/shop.yaml (document 2)', 'two/apps/shop.yaml (document 2)']);
    });

    it('a value shared through a YAML anchor is not edited', async () => {
      const root = path.join(dir, 'anchored');
      cpSync(path.join(fixtures, 'plain', 'apps'), root, { recursive: true });
      writeFileSync(
        path.join(root, 'apps.yaml'),
        ['x-defaults: &sizing', '  requests:', '    cpu: 100m', '---', 'apiVersion: apps/v1', 'kind: Deployment', 'metadata: {name: api, namespace: shop}', 'spec:', '  template:', '    spec:', '      containers:', '        - name: api', '          image: api:1', '          resources: &res', '            requests:', '              cpu: 100m', '        - name: sidecar', '          image: proxy:1', '          resources: *res', ''].join('\n'),
      );
      const plan = await propose([root], [target('shop', 'Deployment', 'api', { api: { requests: { cpu: '200m' } } })]);
      assert.equal(plan.files.length, 0);
      assert.match(plan.unresolved[0]?.reason ?? '', /anchor &res that other nodes refer to/);
    });
  });

  describe('Kustomize (rendered with kubectl kustomize)', () => {
    it('prod: edits the overlay\'s strategic-merge patch, and adds the base-decided values to it instead of the shared base', async () => {
      const root = copy('kustomize');
      const files = snapshot(root);
      const stagingBefore = kustomize(path.join(root, 'overlays/staging'));
      const plan = await propose([root], [target('prod', 'Deployment', 'web', { app: { requests: { cpu: '750m', memory: '768Mi' }, limits: { memory: '1Gi' } }, metrics: { requests: { cpu: '20m' } } })]);
      assert.deepEqual(plan.unresolved, []);
      assert.deepEqual(plan.files.map((file) => file.path), ['overlays/prod/web-resources.yaml']);
      assert.match(plan.workloads[0]?.notes.join('\n') ?? '', /app limits\.memory comes from base, which other environments share: written as a patch in overlays\/prod/);
      const { result } = await write(plan);
      assert.equal(result.status, 'applied', result.message);
      const rendered = kustomize(path.join(root, 'overlays/prod'));
      assert.match(rendered, /name: app\n {8}resources:\n {10}limits:\n {12}memory: 1Gi\n {10}requests:\n {12}cpu: 750m\n {12}memory: 768Mi/);
      assert.match(rendered, /name: metrics\n {8}resources:\n {10}requests:\n {12}cpu: 20m\n {12}memory: 64Mi/);
      // Staging and the base are exactly as before; only the prod patch changed.
      assert.equal(kustomize(path.join(root, 'overlays/staging')), stagingBefore);
      const after = snapshot(root);
      for (const [file, content] of files) if (file !== 'overlays/prod/web-resources.yaml') assert.equal(after.get(file), content, file);
      const { removed, added } = changedLines(files.get('overlays/prod/web-resources.yaml') as string, after.get('overlays/prod/web-resources.yaml') as string);
      // memory: 1Gi moves from requests to limits: the line diff sees it kept.
      assert.deepEqual(removed, ['              cpu: "1"']);
      assert.deepEqual(added, ['              cpu: "750m"', '              memory: 768Mi', '            limits:', '        - name: metrics', '          resources:', '            requests:', '              cpu: 20m']);
      for (const line of added) assert.match(line, resourceLine);
    });

    it('staging: edits the JSON6902 op that decides the memory limit, and creates a patch for a value of the shared base', async () => {
      const root = copy('kustomize');
      const prodBefore = kustomize(path.join(root, 'overlays/prod'));
      const kustomizationBefore = readFileSync(path.join(root, 'overlays/staging/kustomization.yaml'), 'utf8');
      const plan = await propose([root], [target('staging', 'Deployment', 'stg-web', { app: { requests: { cpu: '100m' }, limits: { memory: '256Mi' } } })]);
      assert.deepEqual(plan.unresolved, []);
      assert.deepEqual(plan.files.map((file) => [file.path, file.beforeHash === null]).sort(), [
        ['overlays/staging/krr-deployment-web-resources.yaml', true],
        ['overlays/staging/kustomization.yaml', false],
        ['overlays/staging/memory-limit.json6902.yaml', false],
      ]);
      // The approval's line numbers: the value's own line in the new file, the new entry's line in the kustomization.
      const created = plan.files.find((file) => file.path === 'overlays/staging/krr-deployment-web-resources.yaml');
      assert.deepEqual(created?.edits.map((edit) => created.after.split('\n')[edit.line - 1]), ['              cpu: 100m']);
      const listing = plan.files.find((file) => file.path === 'overlays/staging/kustomization.yaml');
      assert.deepEqual(listing?.edits.map((edit) => listing.after.split('\n')[edit.line - 1]), ['  - path: krr-deployment-web-resources.yaml']);
      // The dialog: the environment first, then the value the workload renders (200m from the shared base) → the new
      // one, then the files with each edit's real line; the patch's key is new, not a value "added" from nothing.
      const detail = withoutIsolates(manifestApprovalText(plan, { type: 'human', via: 'test' }).detail);
      const environment = detail.indexOf('Deployment staging/stg-web in kustomize/overlays/staging (Kustomize)\n');
      assert.ok(environment > 0, detail);
      assert.ok(detail.includes('\n   app requests.cpu 200m → 100m (rendered; was inherited, now set in the file)\n'), detail);
      assert.ok(detail.includes('\n   app limits.memory 384Mi → 256Mi (rendered)\n'), detail);
      assert.ok(environment < detail.indexOf('kustomize/overlays/staging/krr-deployment-web-resources.yaml (new file):'), detail);
      assert.ok(detail.includes(`\n   line ${created?.edits[0]?.line}: spec.template.spec.containers[app].resources.requests.cpu (new key) → 100m\n`), detail);
      assert.doesNotMatch(detail, /\(added\)/);
      await write(plan);
      const rendered = kustomize(path.join(root, 'overlays/staging'));
      assert.match(rendered, /name: stg-web\n {2}namespace: staging/);
      assert.match(rendered, /limits:\n {12}memory: 256Mi\n {10}requests:\n {12}cpu: 100m\n {12}memory: 256Mi/);
      assert.equal(kustomize(path.join(root, 'overlays/prod')), prodBefore);
      const kustomizationAfter = readFileSync(path.join(root, 'overlays/staging/kustomization.yaml'), 'utf8');
      assert.equal(kustomizationAfter, `${kustomizationBefore.replace(/\n$/, '')}\n  - path: krr-deployment-web-resources.yaml\n`);
      assert.equal(readFileSync(path.join(root, 'overlays/staging/memory-limit.json6902.yaml'), 'utf8'), readFileSync(path.join(fixtures, 'kustomize/overlays/staging/memory-limit.json6902.yaml'), 'utf8').replace('value: 384Mi', 'value: 256Mi'));
    });

    it('a resource file only one overlay uses is edited in place', async () => {
      const root = copy('kustomize');
      const plan = await propose([root], [target('prod', 'Deployment', 'worker', { worker: { requests: { cpu: '250m' } } })]);
      assert.deepEqual(plan.files.map((file) => file.path), ['overlays/prod/worker.yaml']);
      assert.deepEqual(plan.files[0]?.edits.map(({ line, from, to }) => ({ line, from, to })), [{ line: 19, from: '300m', to: '250m' }]);
    });

    it('several workloads in one proposal: each is checked against the edits accepted before it', async () => {
      const root = copy('kustomize');
      const plan = await propose([root], [
        target('prod', 'Deployment', 'web', { app: { requests: { cpu: '600m' } } }),
        target('prod', 'Deployment', 'worker', { worker: { requests: { memory: '256Mi' } } }),
        target('staging', 'Deployment', 'stg-web', { metrics: { requests: { cpu: '10m' } } }),
        target('prod', 'Deployment', 'web', { metrics: { requests: { memory: '32Mi' } } }),
      ]);
      assert.deepEqual(plan.unresolved, []);
      assert.deepEqual(plan.files.map((file) => file.path).sort(), ['overlays/prod/web-resources.yaml', 'overlays/prod/worker.yaml', 'overlays/staging/krr-deployment-web-resources.yaml', 'overlays/staging/kustomization.yaml']);
      await write(plan);
      const prod = kustomize(path.join(root, 'overlays/prod'));
      assert.match(prod, /name: app\n {8}resources:\n {10}limits:\n {12}memory: 512Mi\n {10}requests:\n {12}cpu: 600m\n {12}memory: 1Gi/);
      assert.match(prod, /name: metrics\n {8}resources:\n {10}requests:\n {12}cpu: 50m\n {12}memory: 32Mi/);
      assert.match(prod, /name: worker\n {8}resources:\n {10}requests:\n {12}cpu: 300m\n {12}memory: 256Mi/);
      assert.match(kustomize(path.join(root, 'overlays/staging')), /name: metrics\n {8}resources:\n {10}requests:\n {12}cpu: 10m\n {12}memory: 64Mi/);
      assert.match(kustomize(path.join(root, 'base')), /name: metrics\n {8}resources:\n {10}requests:\n {12}cpu: 50m\n {12}memory: 64Mi/, 'the base is untouched');
    });

    it('lists left empty (every entry commented out, so YAML null) read as empty, as kustomize reads them', async () => {
      const root = copy('kustomize');
      mkdirSync(path.join(root, 'overlays/dev'));
      const kustomization = ['apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', 'namespace: dev', 'resources:', '  - ../../base', 'components:', '#  - ../../components/debug', 'patches:', '#  - path: dev-sizing.yaml', 'replacements:', ''].join('\n');
      writeFileSync(path.join(root, 'overlays/dev/kustomization.yaml'), kustomization);
      const others = ['prod', 'staging'].map((overlay) => kustomize(path.join(root, 'overlays', overlay)));
      const plan = await propose([root], [target('dev', 'Deployment', 'web', { app: { requests: { cpu: '100m' } } })]);
      assert.deepEqual(plan.unresolved, []);
      assert.deepEqual(plan.workloads[0]?.source.label, 'kustomize/overlays/dev (Kustomize)');
      assert.equal(plan.files.find((file) => file.path === 'overlays/dev/kustomization.yaml')?.after, kustomization.replace('patches:\n', 'patches:\n  - path: krr-deployment-web-resources.yaml\n'));
      await write(plan);
      assert.match(kustomize(path.join(root, 'overlays/dev')), /name: app\n {8}resources:\n {10}limits:\n {12}memory: 512Mi\n {10}requests:\n {12}cpu: 100m/);
      assert.deepEqual(['prod', 'staging'].map((overlay) => kustomize(path.join(root, 'overlays', overlay))), others);
    });

    it('a kustomization KRR cannot read is reported, never ignored', async () => {
      const root = copy('kustomize');
      mkdirSync(path.join(root, 'overlays/dev'));
      writeFileSync(path.join(root, 'overlays/dev/kustomization.yaml'), 'namespace: dev\nresources:\n  - ../../base\ncomponents: debug\n');
      const plan = await propose([root], [target('prod', 'Deployment', 'web', { app: { requests: { cpu: '900m' } } }), target('dev', 'Deployment', 'web', { app: { requests: { cpu: '100m' } } })]);
      assert.equal(plan.files.length, 0);
      assert.match(plan.unresolved[0]?.reason ?? '', /overlays\/dev\/kustomization\.yaml: not a kustomization: components: /);
      assert.match(plan.unresolved[1]?.candidates.join('\n') ?? '', /overlays\/dev\/kustomization\.yaml: not a kustomization: components: /);
      // One the workspace index skipped (here: over its size bound) is not read either, and is not left out.
      writeFileSync(path.join(root, 'overlays/dev/kustomization.yaml'), `resources:\n  - ../../base\n# ${'x'.repeat(1024 * 1024)}\n`);
      const skipped = await propose([root], [target('prod', 'Deployment', 'web', { app: { requests: { cpu: '900m' } } })]);
      assert.equal(skipped.files.length, 0);
      assert.match(skipped.unresolved[0]?.reason ?? '', /a kustomization that includes it is not rendered, so KRR cannot tell which layer decides it there: overlays\/dev\/kustomization\.yaml: larger than 1024 KiB; not read/);
    });

    it('a new overlay patch carries the namespace the base sets when the overlay sets none; the approval names each value\'s own line', async () => {
      const root = path.join(dir, 'namespaced');
      cpSync(path.join(fixtures, 'kustomize/base'), path.join(root, 'base'), { recursive: true });
      writeFileSync(path.join(root, 'base/deployment.yaml'), readFileSync(path.join(root, 'base/deployment.yaml'), 'utf8').replace('  name: web\n', '  name: web\n  namespace: shop\n'));
      mkdirSync(path.join(root, 'overlays/blue'), { recursive: true });
      mkdirSync(path.join(root, 'overlays/green'), { recursive: true });
      writeFileSync(path.join(root, 'overlays/blue/kustomization.yaml'), 'resources:\n  - ../../base\npatches:\n  - patch: |\n      - op: add\n        path: /metadata/labels\n        value: {color: blue}\n    target: {kind: Service}\n');
      writeFileSync(path.join(root, 'overlays/green/kustomization.yaml'), 'namePrefix: green-\nresources:\n  - ../../base\n');
      const plan = await propose([root], [target('shop', 'Deployment', 'web', { app: { requests: { cpu: '100m', memory: '200Mi' } }, metrics: { limits: { memory: '128Mi' } } })]);
      assert.deepEqual(plan.unresolved, []);
      const patch = plan.files.find((file) => file.path === 'overlays/blue/krr-deployment-web-resources.yaml');
      assert.ok(patch);
      assert.match(patch.after, /metadata:\n {2}name: web\n {2}namespace: shop\n/);
      const lines = patch.after.split('\n');
      for (const edit of patch.edits) assert.match(lines[edit.line - 1] ?? '', new RegExp(`^ +${edit.field.split('.').at(-1)}: ${edit.to}$`), `${edit.field} at line ${edit.line}`);
      const kustomization = plan.files.find((file) => file.path === 'overlays/blue/kustomization.yaml');
      assert.equal(kustomization?.after.split('\n')[(kustomization.edits[0]?.line ?? 0) - 1], '  - path: krr-deployment-web-resources.yaml');
      await write(plan);
      assert.match(kustomize(path.join(root, 'overlays/blue')), /name: app\n {8}resources:\n {10}limits:\n {12}memory: 512Mi\n {10}requests:\n {12}cpu: 100m\n {12}memory: 200Mi/);
    });

    it('two overlays render the same workload: the kube context picks one, otherwise both are named', async () => {
      const root = copy('kustomize');
      cpSync(path.join(root, 'overlays/prod'), path.join(root, 'overlays/prod-us'), { recursive: true });
      const wanted = { app: { requests: { cpu: '900m' } } };
      const ambiguous = await propose([root], [target('prod', 'Deployment', 'web', wanted)]);
      assert.deepEqual(ambiguous.unresolved[0]?.candidates, ['kustomize/overlays/prod (Kustomize)', 'kustomize/overlays/prod-us (Kustomize)']);
      const picked = await propose([root], [target('prod', 'Deployment', 'web', wanted, 'gke_acme_prod-us')]);
      assert.deepEqual(picked.files.map((file) => file.path), ['overlays/prod-us/web-resources.yaml']);
    });

    /** Writes `files` (relative path -> content) under a new folder of the test's directory. */
    function layout(name: string, files: Record<string, string>): string {
      const root = path.join(dir, name);
      for (const [relativePath, text] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(root, relativePath)), { recursive: true });
        writeFileSync(path.join(root, relativePath), text);
      }
      return root;
    }

    const web = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n        - name: app\n          image: nginx\n          resources:\n            requests:\n              cpu: 100m\n';

    it('a context naming the cluster and the environment picks the environment, though every candidate shares the cluster\'s segment (Flux\'s clusters/<cluster>/…/<env>)', async () => {
      // As in artazar/flux2-general: the environments of one cluster render the workload into one namespace.
      const env = (name: string) => ({ [`clusters/demo-000/apps/${name}/kustomization.yaml`]: 'namespace: shop\nresources:\n  - ../../../../base\n' });
      const root = layout('flux', { 'base/kustomization.yaml': 'resources:\n  - deployment.yaml\n', 'base/deployment.yaml': web, ...env('dev'), ...env('prod') });
      const wanted = { app: { requests: { cpu: '200m' } } };
      const picked = await propose([root], [target('shop', 'Deployment', 'web', wanted, 'demo-000-prod')]);
      assert.deepEqual(picked.unresolved, [], JSON.stringify(picked.unresolved));
      assert.deepEqual(picked.files.map((file) => file.path).sort(), ['clusters/demo-000/apps/prod/krr-deployment-web-resources.yaml', 'clusters/demo-000/apps/prod/kustomization.yaml']);
      // The cluster alone names both: nothing is picked.
      const ambiguous = await propose([root], [target('shop', 'Deployment', 'web', wanted, 'demo-000')]);
      assert.deepEqual(ambiguous.unresolved[0]?.candidates, ['flux/clusters/demo-000/apps/dev (Kustomize)', 'flux/clusters/demo-000/apps/prod (Kustomize)']);
    });

    it('an overlay\'s patch that names the workload as the base did before its namePrefix is the layer that decides: edited in place', async () => {
      // As in taybiz/css-kustomize: base/ has namePrefix css-, and overlays/dev patches `web`, which renders as css-web.
      const patch = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          resources:\n            requests:\n              cpu: 300m\n';
      const root = layout('prefixed', {
        'base/kustomization.yaml': 'namePrefix: css-\nresources:\n  - deployment.yaml\n',
        'base/deployment.yaml': web,
        'overlays/dev/kustomization.yaml': 'namespace: dev\nresources:\n  - ../../base\npatches:\n  - path: dev-patch.yaml\n',
        'overlays/dev/dev-patch.yaml': patch,
        'overlays/prod/kustomization.yaml': 'namespace: prod\nresources:\n  - ../../base\n',
      });
      const plan = await propose([root], [target('dev', 'Deployment', 'css-web', { app: { requests: { cpu: '200m' } } })]);
      assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
      assert.deepEqual(plan.files.map((file) => file.path), ['overlays/dev/dev-patch.yaml']);
      assert.equal(plan.files[0]?.after, patch.replace('cpu: 300m', 'cpu: 200m'));
    });

    it('a value an inline patch sets in a layer other environments share: a patch of the environment\'s own; an inline patch of its own is still refused', async () => {
      // As in artazar/flux2-general: apps/web sets the resources with an inline JSON6902 patch, and dev and prod build on it.
      const root = layout('inline', {
        'base/kustomization.yaml': 'resources:\n  - deployment.yaml\n',
        'base/deployment.yaml': web,
        'apps/web/kustomization.yaml': 'resources:\n  - ../../base\npatches:\n  - patch: |-\n      - op: replace\n        path: /spec/template/spec/containers/0/resources\n        value:\n          requests:\n            cpu: 250m\n            memory: 512Mi\n    target:\n      kind: Deployment\n',
        'envs/prod/kustomization.yaml': 'namespace: prod\nresources:\n  - ../../apps/web\n',
        'envs/dev/kustomization.yaml': 'namespace: dev\nresources:\n  - ../../apps/web\npatches:\n  - patch: |-\n      - op: replace\n        path: /spec/template/spec/containers/0/resources\n        value:\n          requests:\n            cpu: 10m\n    target:\n      kind: Deployment\n',
      });
      const devBefore = kustomize(path.join(root, 'envs/dev'));
      const plan = await propose([root], [target('prod', 'Deployment', 'web', { app: { requests: { cpu: '200m', memory: '384Mi' } } }), target('dev', 'Deployment', 'web', { app: { requests: { cpu: '50m' } } })]);
      assert.deepEqual(plan.files.map((file) => file.path).sort(), ['envs/prod/krr-deployment-web-resources.yaml', 'envs/prod/kustomization.yaml']);
      assert.equal(plan.unresolved.length, 1);
      assert.match(plan.unresolved[0]?.reason ?? '', /^app requests\.cpu is set by an inline patch in envs\/dev\/kustomization\.yaml \(patches\[0\]\); move it to a file/);
      const { result } = await write(plan);
      assert.equal(result.status, 'applied', result.message);
      assert.match(kustomize(path.join(root, 'envs/prod')), /resources:\n {10}requests:\n {12}cpu: 200m\n {12}memory: 384Mi/);
      assert.equal(kustomize(path.join(root, 'envs/dev')), devBefore);
      assert.match(readFileSync(path.join(root, 'apps/web/kustomization.yaml'), 'utf8'), /cpu: 250m/);
    });
  });

  describe('the re-render check and bad input: a clear reason, nothing written', () => {
    it('an edit whose result does not carry the recommended values is not offered', async () => {
      const root = copy('plain');
      // A finder whose edit writes the wrong value: only the re-render check stands between it and the plan.
      const wrong: ManifestSourceFinder = {
        name: 'wrong',
        async find(workload, context) {
          const folder = context.index.folders[0]!;
          return [
            {
              finder: 'wrong',
              folder,
              label: 'apps/postgres.json',
              async prepare() {
                const text = readFileSync(path.join(root, 'apps/postgres.json'), 'utf8');
                const changes = [{ container: 'postgres', allocation: 'requests' as const, resource: 'cpu' as const, from: '1', to: '500m', fromAmount: 1, toAmount: 0.5 }];
                const edited = text.replace('"cpu": "1"', '"cpu": "600m"');
                return {
                  before: JSON.parse(text),
                  files: [{ relativePath: 'apps/postgres.json', text: edited, edits: [] }],
                  changes,
                  notes: [],
                  verify: async () => (JSON.parse(edited).spec.template.spec.containers[0].resources.requests.cpu === workload.desired.get('postgres')?.requests.cpu ? null : 'renders 600m, not 500m'),
                };
              },
            },
          ];
        },
      };
      const plan = await propose([root], [target('data', 'StatefulSet', 'postgres', { postgres: { requests: { cpu: '500m' } } })], [wrong]);
      assert.equal(plan.files.length, 0);
      assert.match(plan.unresolved[0]?.reason ?? '', /the edit was not offered: renders 600m, not 500m/);
    });

    it('a change made on disk while the edit is checked (an image bump) makes the plan stale; the approved write never reverts it', async () => {
      const root = copy('plain');
      const file = path.join(root, 'apps/shop.yaml');
      const original = readFileSync(file, 'utf8');
      const bumped = original.replace('shop/frontend:1.4.2', 'shop/frontend:1.4.3');
      assert.notEqual(bumped, original, 'the fixture names the image the bump changes');
      // The real plain-manifest finder, with someone bumping the image right after the edit was computed.
      const bumping: ManifestSourceFinder = {
        name: 'manifest',
        async find(workload, context) {
          const candidates = await plainManifestFinder.find(workload, context);
          return candidates.map((candidate) => ({
            ...candidate,
            async prepare(inner) {
              const prepared = await candidate.prepare(inner);
              writeFileSync(file, bumped);
              return prepared;
            },
          }));
        },
      };
      const plan = await propose([root], [target('shop', 'Deployment', 'frontend', { app: { requests: { cpu: '250m' } } })], [bumping]);
      assert.deepEqual(plan.unresolved, []);
      const planned = plan.files[0];
      assert.equal(planned?.before, original, 'before is the text the edit was computed from');
      assert.doesNotMatch(planned?.after ?? '', /frontend:1\.4\.3/, 'the edit was computed from the text before the bump');
      const { result } = await write(plan);
      assert.equal(result.status, 'stale', result.message);
      assert.equal(readFileSync(file, 'utf8'), bumped, 'the bump stays; nothing was written');
    });

    it('invalid YAML, a kustomization that does not render, a link out of the workspace, an oversized and a binary file are named', async () => {
      const root = copy('kustomize');
      writeFileSync(path.join(root, 'broken.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ghost, namespace: prod\n');
      writeFileSync(path.join(root, 'overlays/prod/kustomization.yaml'), `${readFileSync(path.join(root, 'overlays/prod/kustomization.yaml'), 'utf8')}  - path: missing-patch.yaml\n`.replace('replicas:\n  - name: web\n    count: 6\n', ''));
      const outside = path.join(dir, 'outside.yaml');
      writeFileSync(outside, 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ghost, namespace: prod}\n');
      symlinkSync(outside, path.join(root, 'linked.yaml'));
      writeFileSync(path.join(root, 'huge.yaml'), `# ${'x'.repeat(1024 * 1024)}\n`);
      writeFileSync(path.join(root, 'binary.yaml'), Buffer.from([0x61, 0x3a, 0x00, 0x01]));
      const plan = await propose([root], [target('prod', 'Deployment', 'ghost', { app: { requests: { cpu: '1' } } })]);
      assert.equal(plan.files.length, 0);
      const unresolved = plan.unresolved[0];
      assert.match(unresolved?.reason ?? '', /no manifest in the workspace folders \(kustomize\) defines Deployment prod\/ghost/);
      const candidates = unresolved?.candidates.join('\n') ?? '';
      assert.match(candidates, /broken\.yaml is not valid YAML/);
      assert.match(candidates, /overlays\/prod does not render: kubectl kustomize .* failed/);
      assert.match(candidates, /linked\.yaml: a symbolic link leading outside the workspace folder/);
      assert.match(candidates, /huge\.yaml: larger than 1024 KiB/);
      assert.match(candidates, /binary\.yaml is a binary file/);
    });

    it('a remote base is never fetched: the kustomization is reported, not rendered', async () => {
      const root = copy('kustomize');
      const prod = path.join(root, 'overlays/prod/kustomization.yaml');
      for (const remote of ['github.com/example/shop//base?ref=v1', 'https://example.com/shop.git', 'git@example.com:shop/base.git', 'example.com/shop/base']) {
        writeFileSync(prod, readFileSync(path.join(fixtures, 'kustomize/overlays/prod/kustomization.yaml'), 'utf8').replace('  - ../../base\n', `  - ../../base\n  - ${remote}\n`));
        const plan = await propose([root], [target('prod', 'Deployment', 'web', { app: { requests: { cpu: '700m' } } })]);
        assert.equal(plan.files.length, 0, remote);
        assert.ok(plan.unresolved[0]?.candidates.some((line) => line.includes(`resources[1] names remote content (${remote}); KRR never lets kustomize fetch anything`)), `${remote}: ${plan.unresolved[0]?.candidates.join(' | ')}`);
      }
    });

    it('a file changed between proposal and apply makes the plan stale: nothing is written, and it is audited', async () => {
      const root = copy('kustomize');
      const plan = await propose([root], [target('staging', 'Deployment', 'stg-web', { app: { requests: { cpu: '100m' }, limits: { memory: '256Mi' } } })]);
      assert.equal(plan.files.length, 3);
      const files = snapshot(root);
      const edited = `${files.get('overlays/staging/memory-limit.json6902.yaml') ?? ''}# a colleague's edit\n`;
      writeFileSync(path.join(root, 'overlays/staging/memory-limit.json6902.yaml'), edited);
      const { result, audit } = await write(plan);
      assert.equal(result.status, 'stale');
      assert.match(result.message, /memory-limit\.json6902\.yaml \(changed since the proposal/);
      const after = snapshot(root);
      assert.deepEqual([...after.keys()].sort(), [...files.keys()].sort(), 'no file created');
      for (const [file, content] of files) assert.equal(after.get(file), file.endsWith('json6902.yaml') ? edited : content, file);
      const entries = (await audit.read({ newestFirst: true, limit: 1 })).entries;
      assert.equal(entries[0]?.action, 'refuse');
      assert.equal(entries[0]?.outcome, 'stale');
    });

    it('policies apply as to a cluster change: a blocked workload is not written', async () => {
      const root = copy('plain');
      const folders = await workspaceFolders([root]);
      const { evaluatePolicies } = await import('../../src/core/policy');
      const { parseSessionSettings } = await import('../../src/core/settings');
      const policy = parseSessionSettings({}).policy;
      const plan = await proposeManifestPlan([target('shop', 'Deployment', 'frontend', { app: { requests: { cpu: '10m' } } })], {
        folders,
        kubectlPath: 'kubectl',
        requester: { type: 'model', via: 'test' },
        now: new Date(),
        ttlSeconds: 600,
        context: null,
        policy: (workload, subject) => evaluatePolicies({ identity: workload, changes: subject.changes, resulting: subject.resulting, hpaUtilizationTargets: [], allowLimitRemoval: false }, policy),
      });
      assert.equal(plan.files.length, 0);
      assert.match(plan.unresolved[0]?.reason ?? '', /blocked by policy: .*500m → 10m is -98%, beyond the allowed -80%/);
    });

    it('values set by an inline patch or by replacements are reported, not edited', async () => {
      const root = copy('kustomize');
      const prod = path.join(root, 'overlays/prod/kustomization.yaml');
      writeFileSync(prod, readFileSync(prod, 'utf8').replace('  - path: web-resources.yaml   # strategic merge\n', '  - patch: |-\n      apiVersion: apps/v1\n      kind: Deployment\n      metadata: {name: web}\n      spec: {template: {spec: {containers: [{name: app, resources: {requests: {cpu: 900m}}}]}}}\n'));
      const inline = await propose([root], [target('prod', 'Deployment', 'web', { app: { requests: { cpu: '700m' } } })]);
      assert.equal(inline.files.length, 0);
      assert.match(inline.unresolved[0]?.reason ?? '', /app requests\.cpu is set by an inline patch in overlays\/prod\/kustomization\.yaml \(patches\[0\]\); move it to a file/);
      const staging = path.join(root, 'overlays/staging/kustomization.yaml');
      writeFileSync(path.join(root, 'overlays/staging/sizing.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sizing}\ndata: {cpu: 300m}\n');
      writeFileSync(staging, `${readFileSync(staging, 'utf8').replace('  - ../../base\n', '  - ../../base\n  - sizing.yaml\n')}replacements:\n  - source: {kind: ConfigMap, name: sizing, fieldPath: data.cpu}\n    targets:\n      - select: {kind: Deployment}\n        fieldPaths: [spec.template.spec.containers.0.resources.requests.cpu]\n`);
      assert.match(kustomize(path.join(root, 'overlays/staging')), /cpu: 300m/, 'the replacement renders');
      const replaced = await propose([root], [target('staging', 'Deployment', 'stg-web', { app: { requests: { cpu: '100m' } } })]);
      assert.equal(replaced.files.length, 0);
      assert.match(replaced.unresolved[0]?.reason ?? '', /sets resources through replacements/);
    });

    it('the digest covers each file\'s path, its hash at proposal time and the edits', async () => {
      const root = copy('plain');
      const plan = await propose([root], [target('shop', 'Deployment', 'frontend', { app: { requests: { cpu: '250m' } } })]);
      assert.equal(manifestPlanDigest(plan), plan.digest);
      const file = plan.files[0]!;
      assert.notEqual(manifestPlanDigest({ ...plan, files: [{ ...file, beforeHash: '0'.repeat(64) }] }), plan.digest);
      assert.notEqual(manifestPlanDigest({ ...plan, files: [{ ...file, path: 'apps/other.yaml' }] }), plan.digest);
      assert.notEqual(manifestPlanDigest({ ...plan, files: [{ ...file, edits: file.edits.map((edit) => ({ ...edit, to: '1' })) }] }), plan.digest);
      // The dialog shows each workload's environment and rendered values: they are part of what is approved.
      const workload = plan.workloads[0]!;
      assert.notEqual(manifestPlanDigest({ ...plan, workloads: [{ ...workload, changes: workload.changes.map((change) => ({ ...change, from: '1' })) }] }), plan.digest);
      assert.notEqual(manifestPlanDigest({ ...plan, workloads: [{ ...workload, source: { ...workload.source, label: 'elsewhere' } }] }), plan.digest);
    });

    it('the index skips node_modules and .git', async () => {
      const root = copy('plain');
      cpSync(path.join(root, 'apps'), path.join(root, 'node_modules', 'apps'), { recursive: true });
      cpSync(path.join(root, 'apps'), path.join(root, '.git', 'apps'), { recursive: true });
      const index = await indexWorkspace(await workspaceFolders([root]));
      assert.deepEqual(index.files.map((file) => file.relativePath), ['apps/postgres.json', 'apps/shop.yaml', 'batch/kustomization.yaml', 'batch/reports.yaml', 'batch/worker.yaml']);
    });
  });

  describe('the session: the same gate as a cluster plan', () => {
    const mi = 2 ** 20;
    function reportFile(): string {
      const file = path.join(dir, 'report.json');
      const amounts = (cpu: number, memory: number) => ({ requests: { cpu, memory }, limits: { cpu: null, memory: 1024 * mi } });
      writeFileSync(file, krrReportJson([{ namespace: 'shop', kind: 'Deployment', name: 'frontend', containers: { app: { current: amounts(0.5, 512 * mi), recommended: amounts(0.25, 384 * mi) } } }], { cluster: null, pods: 'none' }));
      return file;
    }

    it('a plan whose file changed since the proposal is refused as stale before anyone is asked (no dialog, no form)', async () => {
      const root = copy('plain');
      const asked: string[] = [];
      const approver: Approver = {
        show: async () => undefined,
        requestApproval: async () => ({ outcome: 'declined', reason: 'not a cluster plan' }),
        requestManifestApproval: async (plan): Promise<ApprovalDecision> => {
          asked.push(plan.digest);
          return { outcome: 'approved', digest: plan.digest };
        },
      };
      const settings = parseSessionSettings({ kubectlPath: 'kubectl', kubeconfig: path.join(dir, 'no-kubeconfig') });
      const session = new Session({ settings: () => settings, approver, stateDir, workspace: { folders: () => [root], writer: fileManifestWriter() } });
      const person = { type: 'human' as const, via: 'command palette' };
      const { reportId } = await session.loadReport(reportFile(), person);
      const plan = await session.proposeManifests({ reportId, workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'frontend' }], target: 'manifests' }, person);
      assert.equal(plan.files.length, 1);
      assert.equal(await session.wouldAskApproval(plan.id, person), true, 'a fresh plan would be shown');
      const file = path.join(root, 'apps/shop.yaml');
      const bumped = readFileSync(file, 'utf8').replace('shop/frontend:1.4.2', 'shop/frontend:1.4.3');
      writeFileSync(file, bumped);
      assert.equal(await session.wouldAskApproval(plan.id, person), false, 'a 2026-07-28 host shows no form for a stale plan');
      const outcome = await session.apply(plan.id, person);
      assert.equal(outcome.status, 'stale', outcome.message);
      assert.match(outcome.message, /apps\/shop\.yaml \(changed since the proposal/);
      assert.deepEqual(asked, [], 'nobody was asked');
      assert.equal(readFileSync(file, 'utf8'), bumped);
      const again = await session.apply(plan.id, person);
      assert.equal(again.status, 'used', 'a stale plan is spent');
    });

    it('allowLimitRemoval on this path: without it the limit is kept and the note says how to opt in; with it the key is removed from the manifest, byte for byte elsewhere', async () => {
      const root = copy('plain');
      const manifest = path.join(root, 'apps/shop.yaml');
      const original = readFileSync(manifest, 'utf8');
      // The fixture's frontend gets a CPU limit, which krr recommends removing.
      const withLimit = original.replace('          limits:\n            memory: 1Gi   # OOM guard\n', '          limits:\n            cpu: "2"   # burst\n            memory: 1Gi   # OOM guard\n');
      assert.notEqual(withLimit, original);
      writeFileSync(manifest, withLimit);
      const file = path.join(dir, 'removal.json');
      const amounts = (cpu: number, memory: number, limitCpu: number | null) => ({ requests: { cpu, memory }, limits: { cpu: limitCpu, memory: 1024 * mi } });
      writeFileSync(file, krrReportJson([{ namespace: 'shop', kind: 'Deployment', name: 'frontend', containers: { app: { current: amounts(0.5, 512 * mi, 2), recommended: amounts(0.25, 384 * mi, null) } } }], { cluster: null, pods: 'none' }));
      const settings = parseSessionSettings({ kubectlPath: 'kubectl', kubeconfig: path.join(dir, 'no-kubeconfig') });
      const approver: Approver = { show: async () => undefined, requestApproval: async () => ({ outcome: 'declined', reason: 'test' }) };
      const session = new Session({ settings: () => settings, approver, stateDir, workspace: { folders: () => [root], writer: fileManifestWriter() } });
      const person = { type: 'human' as const, via: 'command palette' };
      const { reportId } = await session.loadReport(file, person);
      const selection = { reportId, workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'frontend' }], target: 'manifests' as const, includeLimits: true };
      const kept = await session.proposeManifests(selection, person);
      assert.deepEqual(kept.unresolved, []);
      assert.ok(kept.workloads[0]?.notes.includes('container app: krr recommends removing limits.cpu; kept (opt in with allowLimitRemoval).'), JSON.stringify(kept.workloads[0]?.notes));
      assert.ok(kept.files[0]?.after.includes('            cpu: "2"   # burst\n'), 'without the opt-in the limit stays');
      const withoutLimits = await session.proposeManifests({ ...selection, includeLimits: false }, person);
      assert.ok(withoutLimits.workloads[0]?.notes.includes('container app: krr recommends removing limits.cpu; kept (limits are written only with includeLimits, a removal only with allowLimitRemoval too).'), JSON.stringify(withoutLimits.workloads[0]?.notes));
      const allowed = await session.proposeManifests({ ...selection, allowLimitRemoval: true }, person);
      assert.deepEqual(allowed.unresolved, [], JSON.stringify(allowed.unresolved));
      assert.ok(!allowed.workloads[0]?.notes.some((note) => /removing limits\.cpu/.test(note)), JSON.stringify(allowed.workloads[0]?.notes));
      assert.deepEqual(allowed.workloads[0]?.changes.find((change) => change.allocation === 'limits' && change.resource === 'cpu'), { container: 'app', allocation: 'limits', resource: 'cpu', from: '2', to: null, fromAmount: 2, toAmount: null });
      const after = allowed.files[0]?.after ?? '';
      // Only the limit's line goes (the requests change in place); every other byte stays.
      assert.equal(after.replace("cpu: '250m'", "cpu: '500m'").replace('memory: "384Mi"', 'memory: "512Mi"'), original);
      const edit = allowed.files[0]?.edits.find((entry) => entry.field.endsWith('limits.cpu'));
      assert.deepEqual(edit && { from: edit.from, to: edit.to }, { from: '2', to: null });
      assert.match(fileEditText(edit as FieldEdit), /limits\.cpu 2 → \(removed\)$/);
    });

    it('allowLimitRemoval, Kustomize: a limit set only by the shared base is removed by a `null` in a new overlay patch, a limit the overlay patch sets over the base\'s is nulled there, one only the patch sets is removed from it; the other overlays render as before', async () => {
      const root = mkdtempSync(path.join(dir, 'removal-kustomize-'));
      const deployment = (name: string, limits: string) => ['apiVersion: apps/v1', 'kind: Deployment', 'metadata:', `  name: ${name}`, 'spec:', `  selector: {matchLabels: {app: ${name}}}`, '  template:', `    metadata: {labels: {app: ${name}}}`, '    spec:', '      containers:', `        - name: ${name}`, '          image: nginx:1.27', '          resources:', '            requests: {cpu: 100m, memory: 64Mi}', `            limits: ${limits}`, ''].join('\n');
      const patch = (name: string, cpu: string) => ['apiVersion: apps/v1', 'kind: Deployment', 'metadata:', `  name: ${name}`, 'spec:', '  template:', '    spec:', '      containers:', `        - name: ${name}`, '          resources:', '            limits:', `              cpu: ${cpu}`, '              memory: 96Mi', ''].join('\n');
      const files: Record<string, string> = {
        'base/kustomization.yaml': 'resources:\n  - web.yaml\n  - worker.yaml\n',
        'base/web.yaml': deployment('web', '{cpu: "1", memory: 128Mi}'),
        'base/worker.yaml': deployment('worker', '{memory: 128Mi}'),
        'prod/kustomization.yaml': 'resources:\n  - ../base\nnamespace: prod\n',
        'dev/kustomization.yaml': 'resources:\n  - ../base\nnamespace: dev\npatches:\n  - path: web.yaml\n  - path: worker.yaml\n',
        'dev/web.yaml': patch('web', '500m # dev bursts less'),
        'dev/worker.yaml': patch('worker', '300m # only dev limits CPU'),
      };
      for (const [name, text] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
        writeFileSync(path.join(root, name), text);
      }
      const render = (overlay: string) => execFileSync('kubectl', ['kustomize', path.join(root, overlay)], { encoding: 'utf8' });
      const before = { prod: render('prod'), dev: render('dev') };
      const removal = (namespace: string, name = 'web'): WorkloadTarget => ({ namespace, kind: 'Deployment', name, group: 'apps', context: null, desired: new Map([[name, { requests: {}, limits: { cpu: null } }]]) });
      const plan = await proposeManifestPlan([removal('prod'), removal('dev'), removal('dev', 'worker')], { folders: await workspaceFolders([root]), kubectlPath: 'kubectl', requester: { type: 'model', via: 'test' }, now: new Date(), ttlSeconds: 600, context: null });
      assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
      const byPath = new Map(plan.files.map((file) => [file.path, file.after]));
      assert.deepEqual([...byPath.keys()].sort(), ['dev/web.yaml', 'dev/worker.yaml', 'prod/krr-deployment-web-resources.yaml', 'prod/kustomization.yaml']);
      assert.equal(byPath.get('dev/web.yaml'), (files['dev/web.yaml'] as string).replace('cpu: 500m # dev bursts less', 'cpu: null # dev bursts less'));
      assert.equal(byPath.get('dev/worker.yaml'), (files['dev/worker.yaml'] as string).replace('              cpu: 300m # only dev limits CPU\n', ''));
      assert.match(byPath.get('prod/krr-deployment-web-resources.yaml') ?? '', /limits:\n\s+cpu: null\n/);
      for (const [name, text] of byPath) writeFileSync(path.join(root, name), text);
      for (const overlay of ['prod', 'dev'] as const) {
        type Rendered = { spec: { template: { spec: { containers: Array<{ resources: { limits: Record<string, unknown> } }> } } } };
        const [wasAll, nowAll] = [parseAllDocuments(before[overlay]).map((document) => document.toJS() as Rendered), parseAllDocuments(render(overlay)).map((document) => document.toJS() as Rendered)];
        const limits = (object: Rendered) => object.spec.template.spec.containers[0]?.resources.limits ?? {};
        for (const [index, now] of nowAll.entries()) {
          const was = wasAll[index] as Rendered;
          assert.equal(limits(now).cpu, undefined, `${overlay} renders no CPU limit`);
          // prod's worker has none to remove: it renders exactly as before.
          delete limits(was).cpu;
          assert.deepEqual(now, was, `${overlay}: nothing else changed`);
        }
      }
      assert.equal(readFileSync(path.join(root, 'base/web.yaml'), 'utf8'), files['base/web.yaml'], 'the shared base is not edited');
    });

    it('single use, the model\'s cool-down after a decline, a person\'s approval of the digest; a host that cannot ask refuses', async () => {
      const root = copy('plain');
      const original = readFileSync(path.join(root, 'apps/shop.yaml'), 'utf8');
      const asked: Array<{ digest: string; text: ApprovalText }> = [];
      let answer: 'approve' | 'decline' = 'decline';
      const approver: Approver = {
        show: async () => undefined,
        requestApproval: async () => ({ outcome: 'declined', reason: 'not a cluster plan' }),
        requestManifestApproval: async (plan, text): Promise<ApprovalDecision> => {
          asked.push({ digest: plan.digest, text });
          return answer === 'approve' ? { outcome: 'approved', digest: plan.digest } : { outcome: 'declined', reason: 'Decline clicked' };
        },
      };
      const settings = parseSessionSettings({ kubectlPath: 'kubectl', kubeconfig: path.join(dir, 'no-kubeconfig'), declineCooldownSeconds: 120 });
      const session = new Session({ settings: () => settings, approver, stateDir, workspace: { folders: () => [root], writer: fileManifestWriter() } });
      const model = { type: 'model' as const, via: 'test-client' };
      const person = { type: 'human' as const, via: 'command palette' };
      const { reportId } = await session.loadReport(reportFile(), person);
      const selection = { reportId, workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'frontend' }], target: 'manifests' as const };

      const first = await session.proposeManifests(selection, model);
      assert.equal(first.files.length, 1);
      assert.equal((await session.apply(first.id, model)).status, 'declined');
      assert.equal(asked.length, 1);
      assert.match(asked[0]?.text.notice ?? '', /the AI chat \(test-client\) asks to write plan-/);
      assert.equal((await session.apply(first.id, person)).status, 'used', 'single use');
      const second = await session.proposeManifests(selection, model);
      const cooled = await session.apply(second.id, model);
      assert.equal(cooled.status, 'refused');
      assert.match(cooled.message, /refused for another \d+ s/);
      assert.equal(asked.length, 1, 'nobody was asked during the cool-down');
      assert.equal(readFileSync(path.join(root, 'apps/shop.yaml'), 'utf8'), original);
      answer = 'approve';
      const applied = await session.apply(second.id, person);
      assert.equal(applied.status, 'applied', applied.message);
      assert.equal(asked[1]?.digest, second.digest);
      assert.equal(asked[1]?.text.notice, null);
      assert.match(readFileSync(path.join(root, 'apps/shop.yaml'), 'utf8'), /cpu: '250m'\n {12}memory: "384Mi"/);

      writeFileSync(path.join(root, 'apps/shop.yaml'), original);
      const noWorkspace = new Session({ settings: () => settings, approver, stateDir: path.join(stateDir, 'none') });
      const { reportId: noWorkspaceReport } = await noWorkspace.loadReport(reportFile(), person);
      await assert.rejects(noWorkspace.proposeManifests({ ...selection, reportId: noWorkspaceReport }, model), /There is no workspace folder to write manifests in/);
      // An untrusted workspace: refused before any manifest is read or rendered (its kubectl path would not even run).
      const untrusted = new Session({ settings: () => ({ ...settings, workspaceTrusted: false, kubectlPath: path.join(stateDir, 'no-such-kubectl') }), approver, stateDir: path.join(stateDir, 'untrusted'), workspace: { folders: () => [root], writer: fileManifestWriter() } });
      const { reportId: untrustedReport } = await untrusted.loadReport(reportFile(), person);
      await assert.rejects(untrusted.proposeManifests({ ...selection, reportId: untrustedReport }, person), /The workspace is not trusted: KRR does not read or render its manifests/);
      const noDialog = new Session({ settings: () => settings, approver: { show: approver.show, requestApproval: approver.requestApproval }, stateDir: path.join(stateDir, 'other'), workspace: { folders: () => [root], writer: fileManifestWriter() } });
      const { reportId: otherReport } = await noDialog.loadReport(reportFile(), person);
      const third = await noDialog.proposeManifests({ ...selection, reportId: otherReport }, person);
      const refused = await noDialog.apply(third.id, person);
      assert.equal(refused.status, 'refused');
      assert.match(refused.message, /cannot ask a person to approve a manifest write/);
    });
  });
});

describe('gitops: YAML edits write valid YAML (issue 24)', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-yaml-edit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const deployment = (resources: string) => ['apiVersion: apps/v1', 'kind: Deployment', 'metadata: {name: api, namespace: shop}', 'spec:', '  template:', '    spec:', '      containers:', '        - name: api', '          image: api:1', `          resources: ${resources}`, ''].join('\n');
  const all = { requests: { cpu: '250m', memory: '300Mi' }, limits: { cpu: '1', memory: '1Gi' } };

  /** Sets the values on the file's container `api` and returns the edited text and its edits. */
  function edit(text: string, values: Values) {
    const parsed = parseManifestFile(text, 'api.yaml');
    const document = parsed.documents[0] as NonNullable<(typeof parsed.documents)[number]>;
    const container = containerNode(document, 'Deployment', 'api');
    assert.ok(container);
    const fields = (['requests', 'limits'] as const).flatMap((allocation) => Object.entries(values[allocation] ?? {}).map(([resource, value]) => ({ allocation, resource: resource as 'cpu' | 'memory', value: value as string })));
    const result = setContainerResources(parsed, document, container, fields, 'containers[api]', false);
    return { text: applySplices(text, result.splices), edits: result.edits };
  }

  it('adds requests and limits to an empty flow map `resources: {}`', () => {
    const { text } = edit(deployment('{}'), all);
    assert.equal(text.split('\n')[9], '          resources: { requests: { cpu: 250m, memory: 300Mi }, limits: { cpu: "1", memory: 1Gi } }');
    assert.deepEqual((parseManifestFile(text, 'api.yaml').documents[0]?.toJS() as { spec: { template: { spec: { containers: Array<{ resources: unknown }> } } } }).spec.template.spec.containers[0]?.resources, all);
  });

  it('adds values to an empty flow map under one allocation `resources: {requests: {}}`', () => {
    const { text, edits } = edit(deployment('{requests: {}}'), all);
    assert.equal(text.split('\n')[9], '          resources: {requests: { cpu: 250m, memory: 300Mi }, limits: { cpu: "1", memory: 1Gi }}');
    assert.deepEqual((parseManifestFile(text, 'api.yaml').documents[0]?.toJS() as { spec: { template: { spec: { containers: Array<{ resources: unknown }> } } } }).spec.template.spec.containers[0]?.resources, all);
    assert.deepEqual(edits.map((entry) => entry.line), [10, 10, 10, 10]);
  });

  it('a block insertion reports the line of each added value', () => {
    const text = deployment('').replace('          resources: \n', '');
    const result = edit(text, all);
    assert.match(result.text, /image: api:1\n {10}resources:\n {12}requests:\n {14}cpu: 250m\n {14}memory: 300Mi\n {12}limits:\n {14}cpu: "1"\n {14}memory: 1Gi\n$/);
    const lines = result.text.split('\n');
    for (const entry of result.edits) assert.match(lines[entry.line - 1] ?? '', new RegExp(`^ +${entry.field.split('.').at(-1)}: ${entry.to === '1' ? '"1"' : entry.to}$`), `${entry.field} at line ${entry.line}`);
  });

  it('a plain manifest with `resources: {}` is proposed with valid YAML', async () => {
    writeFileSync(path.join(dir, 'api.yaml'), deployment('{}'));
    const plan = await proposeManifestPlan([target('shop', 'Deployment', 'api', { api: all })], { folders: await workspaceFolders([dir]), kubectlPath: 'kubectl', requester: { type: 'model', via: 'test' }, now: new Date(), ttlSeconds: 600, context: null, finders: [plainManifestFinder] });
    assert.deepEqual(plan.unresolved, []);
    assert.match(plan.files[0]?.after ?? '', /resources: \{ requests: \{ cpu: 250m, memory: 300Mi \}, limits: \{ cpu: "1", memory: 1Gi \} \}/);
  });

  it('an edit of KRR that is not valid YAML is refused as KRR\'s internal error, not blamed on the file', async () => {
    writeFileSync(path.join(dir, 'api.yaml'), deployment('{}'));
    const [folder] = await workspaceFolders([dir]);
    const broken: ManifestSourceFinder = {
      name: 'broken',
      async find() {
        return [{ finder: 'broken', folder: folder as NonNullable<typeof folder>, label: 'api.yaml (broken)', async prepare() { return { before: null, files: [{ relativePath: 'api.yaml', text: 'a: { b: 1 c: 2 }\n', edits: [] }], changes: [], notes: [], async verify() { return null; } }; } }];
      },
    };
    const plan = await proposeManifestPlan([target('shop', 'Deployment', 'api', { api: all })], { folders: [folder as NonNullable<typeof folder>], kubectlPath: 'kubectl', requester: { type: 'model', via: 'test' }, now: new Date(), ttlSeconds: 600, context: null, finders: [broken] });
    assert.equal(plan.files.length, 0);
    assert.match(plan.unresolved[0]?.reason ?? '', /^internal error in KRR: its own edit of [^ ]+\/api\.yaml is not valid YAML: .*itself is fine and nothing is offered for this workload — please report this$/);
  });
});
