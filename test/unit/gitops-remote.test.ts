// The workspace repository is hostile input (issue 22, findings 3 and 7): every path-bearing field of a kustomization
// is checked for remote content (kustomizeRemote), renderers run closed and bounded (gitops/render), and YAML over the
// alias or nesting bounds is an input error naming the file (yamlEdit).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isRemoteReference, remoteReferences, remoteStringIn } from '../../src/core/gitops/kustomizeRemote';
import type { WorkloadTarget } from '../../src/core/gitops/model';
import { proposeManifestPlan } from '../../src/core/gitops/propose';
import { closedProxy, RenderError, RenderGuard, renderLimits } from '../../src/core/gitops/render';
import { workspaceFolders } from '../../src/core/gitops/workspace';
import { ManifestEditError, parseManifestFile, yamlLimits } from '../../src/core/gitops/yamlEdit';
import type { DesiredResources } from '../../src/core/plan/build';
import { pluginFileCases, remoteFieldCases } from '../support/hostile-kustomizations';

const remote = 'https://127.0.0.1:9/evil.yaml';

describe('kustomizeRemote: remote content in any path-bearing field of a kustomization', () => {
  for (const { field, kustomization } of remoteFieldCases) {
    it(`finds ${field}`, () => {
      assert.deepEqual(
        remoteReferences(kustomization(remote)).map((reference) => reference.field),
        [field],
      );
    });
  }

  it('the remote forms kustomize and go-getter accept: URL schemes, git::, SCP ssh, //subdir, ?ref=, .git, known hosts', () => {
    for (const value of [
      'https://example.com/base.yaml',
      'http://127.0.0.1:8080/p.yaml',
      'ssh://git@example.com/org/repo',
      'file:///etc/repo',
      'git::https://example.com/org/repo',
      's3::https://bucket/key',
      'git@github.com:org/repo.git',
      'deploy@gitea.internal:org/repo',
      'github.com/org/repo/base?ref=v1',
      'gitlab.com/org/repo',
      'example.com/org/repo//base',
      'org/repo.git/base',
      'dev.azure.com/org/project/_git/repo',
      'base?version=v2',
    ]) {
      assert.equal(isRemoteReference(value), true, value);
    }
  });

  it('local paths are local; a domain-looking path is local only when it exists in the workspace', () => {
    for (const value of ['../../base', 'patch.yaml', 'overlays/prod', './config/env.properties', 'key=settings.json']) assert.equal(isRemoteReference(value), false, value);
    assert.equal(isRemoteReference('example.com/org/repo'), true);
    assert.equal(isRemoteReference('app.v2/deploy.yaml', (entry) => entry === 'app.v2/deploy.yaml'), false);
    assert.equal(isRemoteReference('app.io/deploy.yaml', () => false), true);
    // github.com is remote whatever exists locally: kustomize tries the git spec before the directory.
    assert.equal(isRemoteReference('github.com/org/repo', () => true), true);
  });

  it('a plugin configuration counts only unambiguous remote forms (an image name such as gcr.io/app is not fetched)', () => {
    assert.equal(remoteStringIn({ kind: 'ImageTagTransformer', imageTag: { name: 'app', newName: 'gcr.io/shop/app' } }), undefined);
    assert.equal(remoteStringIn([{ kind: 'PatchTransformer', path: 'patch.yaml' }, { kind: 'PatchTransformer', path: 'git::https://example.com/p' }]), 'git::https://example.com/p');
  });

  it('fields kustomize never fetches are not refused: image names, label and annotation values, inline patches', () => {
    const kustomization = {
      resources: ['../../base'],
      images: [{ name: 'web', newName: 'gcr.io/shop/web', newTag: 'v1' }],
      commonAnnotations: { docs: 'https://example.com/runbook' },
      labels: [{ pairs: { 'app.kubernetes.io/part-of': 'shop' } }],
      patches: [{ patch: '- op: add\n  path: /metadata/annotations/x\n  value: https://example.com\n', target: { kind: 'Deployment' } }],
      patchesStrategicMerge: ['apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n    docs: https://example.com\n'],
    };
    assert.deepEqual(remoteReferences(kustomization), []);
  });
});

describe('yamlEdit: workspace YAML over the alias or nesting bounds is an input error naming the file', () => {
  it('a billion-laughs document is refused quickly, naming the file', () => {
    let text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    let previous = 'a';
    for (const anchor of 'bcdefghi') {
      text += `${anchor}: &${anchor} [${new Array(9).fill(`*${previous}`).join(',')}]\n`;
      previous = anchor;
    }
    const started = performance.now();
    assert.throws(() => parseManifestFile(text, 'apps/laughs.yaml'), (error: unknown) => error instanceof ManifestEditError && /apps\/laughs\.yaml expands YAML aliases more than 100 times/.test(error.message));
    assert.ok(performance.now() - started < 2000);
  });

  it(`more than ${yamlLimits.maxAliasCount} aliases is refused; a few anchors are read`, () => {
    const many = `x: &x 1\nlist:\n${new Array(yamlLimits.maxAliasCount + 1).fill('  - *x').join('\n')}\n`;
    assert.throws(() => parseManifestFile(many, 'apps/aliases.yaml'), (error: unknown) => error instanceof ManifestEditError && error.message.startsWith('apps/aliases.yaml '));
    const few = 'defaults: &defaults {cpu: 100m}\nrequests: *defaults\nlimits: *defaults\n';
    assert.deepEqual(parseManifestFile(few, 'ok.yaml').documents[0]?.toJS(), { defaults: { cpu: '100m' }, requests: { cpu: '100m' }, limits: { cpu: '100m' } });
  });

  it('flow nesting deeper than the bound is refused before parsing (fast), also behind an apostrophe or a quoted bracket', () => {
    const depth = 400_000;
    for (const prefix of ['', "note: don't\n", `a: "]]]]"\nb: ']]]]'\n`, 'c: x # ]]]]\n']) {
      const text = `${prefix}deep: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
      const started = performance.now();
      assert.throws(() => parseManifestFile(text, 'apps/deep.yaml'), (error: unknown) => error instanceof ManifestEditError && /apps\/deep\.yaml nests more than 256 levels/.test(error.message), JSON.stringify(prefix));
      assert.ok(performance.now() - started < 1000, `${JSON.stringify(prefix)}: ${Math.round(performance.now() - started)} ms`);
    }
    // A quoted bracket cannot hide real nesting from the count.
    const hidden = `deep: ${'[ "]", '.repeat(300)}1${']'.repeat(300)}\n`;
    assert.throws(() => parseManifestFile(hidden, 'apps/hidden.yaml'), ManifestEditError);
    // Ordinary flow collections and brackets in text are read.
    assert.doesNotThrow(() => parseManifestFile(`args: [--a, --b]\nmatch: "[[[["\nnested: [[1, [2]], {a: [3]}]\n${new Array(500).fill('x: [1]').map((line, index) => line.replace('x', `x${index}`)).join('\n')}\n`, 'ok.yaml'));
  });
});

describe('render: renderers run closed, bounded, and killed on time-out', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-render-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function script(name: string, body: string): string {
    const file = path.join(dir, name);
    writeFileSync(file, body);
    return file;
  }

  it("the environment holds proxies at a closed loopback port, an empty NO_PROXY, and nothing of the user's", async () => {
    const printEnv = script('env.js', 'process.stdout.write(JSON.stringify(process.env));');
    process.env.KRR_TEST_SECRET_TOKEN = 'secret-value';
    const savedKubeconfig = process.env.KUBECONFIG;
    process.env.KUBECONFIG = path.join(dir, 'users-kubeconfig');
    try {
      const guard = new RenderGuard(dir);
      const env = JSON.parse(await guard.run('env', process.execPath, [printEnv], 'env')) as Record<string, string>;
      for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy']) assert.equal(env[name], closedProxy, name);
      assert.match(closedProxy, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(env.NO_PROXY, '');
      assert.equal(env.no_proxy, '');
      assert.equal(env.KRR_TEST_SECRET_TOKEN, undefined);
      assert.notEqual(env.KUBECONFIG, process.env.KUBECONFIG);
      assert.equal(existsSync(env.KUBECONFIG as string), false);
      assert.ok(env.HOME?.startsWith(dir), env.HOME);
      assert.ok(env.HELM_REPOSITORY_CONFIG?.startsWith(dir));
    } finally {
      delete process.env.KRR_TEST_SECRET_TOKEN;
      if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = savedKubeconfig;
    }
  });

  it('a render that hangs is stopped at its bound, with what it started; it is not run again in the proposal', async function () {
    if (process.platform === 'win32') this.skip();
    const pidFile = path.join(dir, 'child.pid');
    // A renderer that starts a child (as kustomize starts git) and never ends.
    const hang = script('hang.js', `const { spawn } = require('node:child_process'); const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(child.pid)); setInterval(() => {}, 1000);`);
    const guard = new RenderGuard(dir, { ...renderLimits, timeoutMs: 800, hungBudgetMs: 10_000 });
    const started = performance.now();
    await assert.rejects(guard.run('k', process.execPath, [hang], 'kubectl kustomize overlays/prod'), (error: unknown) => error instanceof RenderError && error.kind === 'timeout' && /kubectl kustomize overlays\/prod did not finish within/.test(error.message));
    assert.ok(performance.now() - started < 3000, `${Math.round(performance.now() - started)} ms`);
    const childPid = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Gone, or a zombie waiting for its reaper (no longer running either way).
    const running = (() => {
      try {
        process.kill(childPid, 0);
      } catch {
        return false;
      }
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${childPid}/stat`, 'utf8'));
    })();
    assert.equal(running, false, "the renderer's child was killed with it");
    const again = performance.now();
    await assert.rejects(guard.run('k', process.execPath, [hang], 'again'), (error: unknown) => error instanceof RenderError && error.kind === 'budget');
    assert.ok(performance.now() - again < 200);
  });

  it('K renders that hang cost the proposal the hung budget, not K × the bound; then renders are refused', async () => {
    const hang = script('hang.js', 'setInterval(() => {}, 1000);');
    const limits = { ...renderLimits, timeoutMs: 600, hungBudgetMs: 1000 };
    const guard = new RenderGuard(dir, limits);
    const started = performance.now();
    const kinds: string[] = [];
    for (let index = 0; index < 5; index++) {
      await guard.run(`k${index}`, process.execPath, [hang], `render ${index}`).catch((error: unknown) => kinds.push((error as RenderError).kind));
    }
    const elapsed = performance.now() - started;
    assert.deepEqual(kinds, ['timeout', 'timeout', 'budget', 'budget', 'budget']);
    assert.ok(elapsed < limits.hungBudgetMs + 1500, `${Math.round(elapsed)} ms`);
    assert.ok(elapsed < 5 * limits.timeoutMs, `${Math.round(elapsed)} ms`);
  });

  it('the abort signal stops a render at once', async () => {
    const hang = script('hang.js', 'setInterval(() => {}, 1000);');
    const guard = new RenderGuard(dir, { ...renderLimits, timeoutMs: 30_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = performance.now();
    await assert.rejects(guard.run('k', process.execPath, [hang], 'render', controller.signal), (error: unknown) => error instanceof RenderError && error.kind === 'aborted');
    assert.ok(performance.now() - started < 3000);
  });

  it('a renderer that is missing, fails or prints too much says so', async () => {
    await assert.rejects(new RenderGuard(dir).run('k', path.join(dir, 'no-such-kubectl'), [], 'render'), (error: unknown) => error instanceof RenderError && error.kind === 'not-installed');
    const fail = script('fail.js', 'process.stderr.write("boom\\n"); process.exit(3);');
    await assert.rejects(new RenderGuard(dir).run('k', process.execPath, [fail], 'render'), (error: unknown) => error instanceof RenderError && error.kind === 'failed' && /boom/.test(error.message));
    const flood = script('flood.js', 'process.stdout.write("x".repeat(4096));');
    await assert.rejects(new RenderGuard(dir, { ...renderLimits, maxOutputBytes: 1024 }).run('k', process.execPath, [flood], 'render'), (error: unknown) => error instanceof RenderError && error.kind === 'output');
  });
});

describe('proposals over a hostile repository: the kustomization is refused by field, the proposal goes on', function () {
  this.timeout(120_000);
  let dir: string;
  const desired = new Map<string, DesiredResources>([['app', { requests: { cpu: '300m' }, limits: {} }]]);
  const web: WorkloadTarget = { namespace: 'shop', kind: 'Deployment', name: 'web', group: 'apps', context: null, desired };
  const human = { type: 'human' as const, via: 'test' };

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-hostile-'));
    mkdirSync(path.join(dir, 'base'), { recursive: true });
    writeFileSync(path.join(dir, 'base', 'kustomization.yaml'), 'resources:\n  - deployment.yaml\n');
    writeFileSync(path.join(dir, 'base', 'deployment.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: web:1\n          resources:\n            requests:\n              cpu: "1"\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function overlay(name: string, kustomization: Record<string, unknown>) {
    mkdirSync(path.join(dir, 'overlays', name), { recursive: true });
    writeFileSync(path.join(dir, 'overlays', name, 'kustomization.yaml'), JSON.stringify(kustomization, null, 2));
  }

  it('a remote patch in an overlay: that overlay is refused by field, the base it includes is not edited blind', async () => {
    overlay('prod', { resources: ['../../base'], patches: [{ path: remote }] });
    const plan = await proposeManifestPlan([web], { folders: await workspaceFolders([dir]), kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: null });
    assert.equal(plan.files.length, 0);
    assert.match(plan.unresolved[0]?.reason ?? '', /overlays\/prod\/kustomization\.yaml: patches\[0\]\.path names remote content \(https:\/\/127\.0\.0\.1:9\/evil\.yaml\)/);
  });

  it('K overlays whose renders hang: the proposal answers within the hung budget, each overlay named', async function () {
    if (process.platform === 'win32') this.skip();
    // A kubectl stand-in that hangs on the overlays named env*, and renders the rest with the real kubectl. By name,
    // not by a marker file: renders run in the private copy, which holds only what kustomize reads.
    const standIn = path.join(dir, '..', `${path.basename(dir)}-kubectl`);
    writeFileSync(standIn, '#!/usr/bin/env bash\nif [ "$1" = kustomize ] && [[ "$2" == */overlays/env* ]]; then sleep 600; fi\nexec kubectl "$@"\n');
    chmodSync(standIn, 0o755);
    try {
      for (let index = 0; index < 5; index++) overlay(`env${index}`, { resources: ['../../base'] });
      const limits = { ...renderLimits, timeoutMs: 700, hungBudgetMs: 1500 };
      const started = performance.now();
      const plan = await proposeManifestPlan([web], { folders: await workspaceFolders([dir]), kubectlPath: standIn, requester: human, now: new Date(), ttlSeconds: 600, context: null, renderLimits: limits });
      const elapsed = performance.now() - started;
      assert.ok(elapsed < limits.hungBudgetMs + limits.timeoutMs + 8000, `${Math.round(elapsed)} ms`);
      const reason = plan.unresolved[0]?.reason ?? '';
      assert.match(reason, /5 kustomizations that include it are not rendered/);
      const timedOut = (reason.match(/did not finish within/g) ?? []).length;
      const refused = (reason.match(/the renders of this proposal already timed out/g) ?? []).length;
      assert.equal(timedOut + refused, 5, reason);
      assert.ok(timedOut >= 1 && refused >= 1, reason);
    } finally {
      rmSync(standIn, { force: true });
    }
  });

  for (const { name, kustomization, files, message } of pluginFileCases) {
    it(`plugin configuration: ${name} — the overlay is refused, nothing rendered from it`, async () => {
      mkdirSync(path.join(dir, 'overlays', 'prod'), { recursive: true });
      writeFileSync(path.join(dir, 'overlays', 'prod', 'kustomization.yaml'), JSON.stringify(kustomization));
      for (const [file, text] of Object.entries(files(remote))) {
        mkdirSync(path.dirname(path.join(dir, 'overlays', 'prod', file)), { recursive: true });
        writeFileSync(path.join(dir, 'overlays', 'prod', file), text);
      }
      const plan = await proposeManifestPlan([web], { folders: await workspaceFolders([dir]), kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: null });
      assert.equal(plan.files.length, 0);
      assert.ok(plan.unresolved[0]?.reason.includes(`overlays/prod/kustomization.yaml: ${message(remote)}`), plan.unresolved[0]?.reason);
    });
  }

  it('an alias bomb in a kustomization: KRR cannot tell what it includes, so nothing of its folder is edited blind', async () => {
    mkdirSync(path.join(dir, 'overlays', 'bomb'), { recursive: true });
    writeFileSync(path.join(dir, 'overlays', 'bomb', 'kustomization.yaml'), `x: &x [1]\nbomb: [${new Array(150).fill('*x').join(', ')}]\nresources:\n  - ../../base\n  - extra.yaml\n`);
    writeFileSync(path.join(dir, 'overlays', 'bomb', 'extra.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: extra\n  namespace: shop\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: extra:1\n');
    const plan = await proposeManifestPlan([web, { ...web, name: 'extra' }], { folders: await workspaceFolders([dir]), kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: null });
    assert.equal(plan.files.length, 0);
    const byName = new Map(plan.unresolved.map((workload) => [workload.name, workload]));
    assert.match(byName.get('web')?.reason ?? '', /overlays\/bomb\/kustomization\.yaml: overlays\/bomb\/kustomization\.yaml expands YAML aliases more than 100 times/);
    assert.match(byName.get('extra')?.candidates.join('\n') ?? '', /overlays\/bomb\/kustomization\.yaml expands YAML aliases/);
  });

  it('a file that is slow to parse is parsed once per proposal, not once per workload that looks for its source', async () => {
    rmSync(path.join(dir, 'base'), { recursive: true });
    const slow = `items: [${'1,'.repeat(60_000)}1]\nbroken: [\n`;
    writeFileSync(path.join(dir, 'slow.yaml'), slow);
    // One parse, measured warm (the first also compiles the parser).
    assert.throws(() => parseManifestFile(slow, 'slow.yaml'), ManifestEditError);
    const single = performance.now();
    assert.throws(() => parseManifestFile(slow, 'slow.yaml'), ManifestEditError);
    const parseMs = performance.now() - single;
    const missing = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].map((name) => ({ ...web, name: `missing-${name}` }));
    const started = performance.now();
    const plan = await proposeManifestPlan(missing, { folders: await workspaceFolders([dir]), kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: null });
    const elapsed = performance.now() - started;
    assert.equal(plan.unresolved.length, missing.length);
    for (const workload of plan.unresolved) assert.match(workload.candidates.join('\n'), /slow\.yaml is not valid YAML/);
    assert.ok(elapsed < 1.5 * parseMs + 800, `${Math.round(elapsed)} ms for ${missing.length} workloads; one parse takes ${Math.round(parseMs)} ms`);
  });

  it('an alias bomb in a plain manifest refuses that workload naming the file; other workloads are still proposed', async () => {
    rmSync(path.join(dir, 'base'), { recursive: true });
    writeFileSync(path.join(dir, 'web.yaml'), `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nx: &x [1]\nbomb: [${new Array(150).fill('*x').join(', ')}]\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: web:1\n`);
    writeFileSync(path.join(dir, 'api.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: shop\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: api:1\n');
    const plan = await proposeManifestPlan([web, { ...web, name: 'api' }], { folders: await workspaceFolders([dir]), kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: null });
    assert.deepEqual(plan.workloads.map((workload) => workload.name), ['api']);
    assert.equal(plan.unresolved[0]?.name, 'web');
    assert.match(plan.unresolved[0]?.candidates.join('\n') ?? '', /web\.yaml expands YAML aliases more than 100 times/);
  });
});
