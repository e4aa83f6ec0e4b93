// The workspace repository is hostile input (issue 22): a proposal of manifest edits (krr_propose_changes target
// "manifests", a read-only tool) must write nothing anywhere but its private render copy, that copy must never hold a
// link, and an approved write must never leave the workspace folder. Each case is a small hostile repository in a temp
// folder, driven through the real stdio MCP server (`krr-mcp serve --stdio --workspace <ws>`), with the workspace and
// the outside targets snapshotted (every entry hashed, links not followed) before and compared after.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, ElicitRequest, ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { checkNewFileTarget } from '../../src/core/gitops/apply';
import { manifestApprovalText } from '../../src/core/gitops/approval';
import { helmFinder } from '../../src/core/gitops/helm';
import { proposeManifestPlan } from '../../src/core/gitops/propose';
import { stagedCopyLimits, type StagedCopy } from '../../src/core/gitops/stagedCopy';
import { indexWorkspace, workspaceFolders } from '../../src/core/gitops/workspace';
import type { DesiredResources } from '../../src/core/plan/build';
import { mcpJsonProblem } from '../../src/core/mcpJsonFile';
import { isolateEnd, isolateStart } from '../../src/core/text';
import { krrReportJson } from '../support/krr-report';
import { connectStdioClient, serveTransport } from '../support/stdio-client';
import { count, record } from './figures';
import { repoRoot } from './harness';

const fixtures = path.join(repoRoot, 'test', 'fixtures', 'gitops');
const mi = 2 ** 20;
/** Over this, a proposal or a write counts as a hang. */
const deadlineMs = 90_000;

/** Every entry of a tree, links not followed: relative path -> "file <sha256>", "link -> <target>", "dir", "fifo"... */
function snapshotTree(root: string): Map<string, string> {
  const entries = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const relative = path.relative(root, full);
      const stats = lstatSync(full);
      if (stats.isSymbolicLink()) entries.set(relative, `link -> ${readlinkSync(full)}`);
      else if (stats.isDirectory()) {
        entries.set(relative, 'dir');
        walk(full);
      } else if (stats.isFile()) {
        // Big (sparse) files by size and inode change time: hashing hundreds of MB would only slow the suite.
        entries.set(relative, stats.size > mi ? `file ${stats.size} bytes, changed ${stats.ctimeMs}` : `file ${createHash('sha256').update(readFileSync(full)).digest('hex')}`);
      } else entries.set(relative, stats.isFIFO() ? 'fifo' : 'special');
    }
  };
  walk(root);
  return entries;
}

function differences(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...new Set([...before.keys(), ...after.keys()])].filter((key) => before.get(key) !== after.get(key)).map((key) => `${key}: ${before.get(key) ?? 'absent'} → ${after.get(key) ?? 'absent'}`);
}

function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

interface WorkloadView {
  namespace: string;
  name: string;
  files: Array<{ folder: string; path: string }>;
  reason?: string;
  candidates?: string[];
}

type Proposed = { planId: string; workloads: WorkloadView[]; files: Array<{ path: string; created: boolean }> };

const stagingWeb = { namespace: 'staging', kind: 'Deployment', name: 'stg-web' };
const prodWeb = { namespace: 'prod', kind: 'Deployment', name: 'web' };
const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };

/** One report for every case: each proposes the workloads its repository is about. */
const report = krrReportJson([
  // Staging: app's cpu request comes from the shared base, so the edit is a new patch file in overlays/staging.
  { ...stagingWeb, containers: { app: { current: { requests: { cpu: 0.2, memory: 256 * mi }, limits: { cpu: null, memory: 384 * mi } }, recommended: { requests: { cpu: 0.1, memory: 256 * mi }, limits: { cpu: null, memory: 384 * mi } } } } },
  // Prod: the overlay's web-resources.yaml decides app's requests.
  { ...prodWeb, containers: { app: { current: { requests: { cpu: 1, memory: 1024 * mi }, limits: { cpu: null, memory: 512 * mi } }, recommended: { requests: { cpu: 0.75, memory: 384 * mi }, limits: { cpu: null, memory: 512 * mi } } } } },
  { ...frontend, containers: { app: { current: { requests: { cpu: 0.5, memory: 512 * mi }, limits: { cpu: null, memory: 1024 * mi } }, recommended: { requests: { cpu: 0.25, memory: 512 * mi }, limits: { cpu: null, memory: 1024 * mi } } } } },
]);

/** Runs `work` under the deadline; past it the case is a hang. */
async function bounded<T>(label: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => resolve('hang'), deadlineMs);
  });
  try {
    const outcome = await Promise.race([work, deadline]);
    if (outcome === 'hang') {
      count('hangs');
      assert.fail(`${label}: no answer within ${deadlineMs} ms`);
    }
    return outcome as T;
  } finally {
    clearTimeout(timer);
  }
}

describe('abuse: the workspace repository is hostile input (manifest proposals and writes)', function () {
  this.timeout(240_000);
  let dir: string;
  let ws: string;
  let outside: string;
  let client: Client | undefined;
  let elicitations: Array<ElicitRequest['params']> = [];

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-ws-'));
    ws = path.join(dir, 'ws');
    outside = path.join(dir, 'outside');
    mkdirSync(ws);
    mkdirSync(outside);
    writeFileSync(path.join(dir, 'report.json'), report);
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** The Kustomize fixture (base, overlays/prod, overlays/staging) and the plain manifests under apps/. */
  function repository(): void {
    cpSync(path.join(fixtures, 'kustomize'), ws, { recursive: true });
    cpSync(path.join(fixtures, 'plain', 'apps'), path.join(ws, 'apps'), { recursive: true });
  }

  async function start(answer: (request: ElicitRequest['params']) => ElicitResult = () => ({ action: 'accept', content: { approve: true } })): Promise<void> {
    writeFileSync(path.join(dir, 'settings.json'), JSON.stringify({ confirmByTyping: [], declineCooldownSeconds: 0 }));
    const transport = serveTransport(['--state-dir', path.join(dir, 'state'), '--kubectl', 'kubectl', '--settings', path.join(dir, 'settings.json'), '--workspace', ws], path.join(dir, 'home'));
    const connected = await connectStdioClient(transport, 'abuse-workspace-client', answer);
    client = connected.client;
    elicitations = connected.elicitations;
  }

  async function call(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    return bounded(name, (client as Client).callTool({ name, arguments: args }, undefined, { timeout: deadlineMs }) as Promise<CallToolResult>);
  }

  /**
   * One hostile case: counts it, snapshots the workspace and the outside folder, proposes, and counts (then fails on)
   * any change in the workspace before approval and any change outside it.
   */
  async function propose(workloads: Array<typeof stagingWeb>): Promise<Proposed> {
    count('workspace_attacks');
    const wsBefore = snapshotTree(ws);
    const outsideBefore = snapshotTree(outside);
    if (!client) await start();
    const loaded = (await call('krr_load_report', { path: path.join(dir, 'report.json') })).structuredContent as { reportId: string };
    const result = await call('krr_propose_changes', { reportId: loaded.reportId, target: 'manifests', includeLimits: false, workloads });
    const inWorkspace = differences(wsBefore, snapshotTree(ws));
    const leaked = differences(outsideBefore, snapshotTree(outside));
    if (inWorkspace.length > 0) count('writes_before_approval');
    if (leaked.length > 0) count('writes_outside_workspace');
    assert.deepEqual(inWorkspace, [], 'the proposal changed the workspace before any approval');
    assert.deepEqual(leaked, [], 'the proposal wrote outside the workspace');
    assert.equal(result.isError, undefined, textOf(result));
    return result.structuredContent as Proposed;
  }

  /** Applies (the person approves); any change outside the workspace, or to a file the plan did not name, fails. */
  async function approve(proposed: Proposed): Promise<{ status: string; text: string }> {
    const outsideBefore = snapshotTree(outside);
    const wsBefore = snapshotTree(ws);
    const result = await call('krr_apply_plan', { planId: proposed.planId });
    const leaked = differences(outsideBefore, snapshotTree(outside));
    if (leaked.length > 0) count('writes_outside_workspace');
    assert.deepEqual(leaked, [], 'the approved write reached outside the workspace');
    // A file the dialog names may be a link inside the workspace: the file it leads to is what changes.
    const named = new Set(proposed.files.flatMap((file) => [file.path, ...(existsSync(path.join(ws, file.path)) ? [path.relative(ws, realpathSync(path.join(ws, file.path)))] : [])]));
    const unnamed = differences(wsBefore, snapshotTree(ws)).filter((line) => !named.has(line.slice(0, line.indexOf(': '))));
    assert.deepEqual(unnamed, [], 'the approved write changed a file the dialog did not name');
    return { status: (result.structuredContent as { status: string }).status, text: textOf(result) };
  }

  function reasonOf(proposed: Proposed, name: string): string {
    const workload = proposed.workloads.find((entry) => entry.name === name);
    return `${workload?.reason ?? ''} ${(workload?.candidates ?? []).join(' | ')}`;
  }

  const newPatch = 'overlays/staging/krr-deployment-web-resources.yaml';

  it('a dangling absolute link named like the new patch file: nothing is created through it, and the edit is refused with the reason', async () => {
    repository();
    const target = path.join(outside, 'x', 'created.yaml');
    mkdirSync(path.dirname(target));
    symlinkSync(target, path.join(ws, newPatch));
    const proposed = await propose([stagingWeb]);
    assert.deepEqual(proposed.files, []);
    assert.match(reasonOf(proposed, 'stg-web'), /krr-deployment-web-resources\.yaml exists but .* does not list it/);
  });

  it('a dangling ../../.. chain named like the new patch file: nothing is created through it', async () => {
    repository();
    const depth = path.relative(path.dirname(path.join(ws, newPatch)), dir).split(path.sep).length;
    symlinkSync(`${'../'.repeat(depth)}outside/created.yaml`, path.join(ws, newPatch));
    const proposed = await propose([stagingWeb]);
    assert.deepEqual(proposed.files, []);
    assert.match(reasonOf(proposed, 'stg-web'), /exists but .* does not list it/);
  });

  it('a manifest that is a link to a file outside the workspace is neither read nor edited', async () => {
    repository();
    renameSync(path.join(ws, 'apps', 'shop.yaml'), path.join(outside, 'shop.yaml'));
    symlinkSync(path.join(outside, 'shop.yaml'), path.join(ws, 'apps', 'shop.yaml'));
    const proposed = await propose([frontend]);
    assert.deepEqual(proposed.files, []);
    assert.match(reasonOf(proposed, 'frontend'), /apps\/shop\.yaml: a symbolic link leading outside the workspace folder/);
  });

  it('a manifest that is an absolute link to another workspace file (beside a kustomization): not written during the proposal, written only after approval, and only inside', async () => {
    repository();
    mkdirSync(path.join(ws, 'store'));
    renameSync(path.join(ws, 'apps', 'shop.yaml'), path.join(ws, 'store', 'shop.txt'));
    symlinkSync(path.join(ws, 'store', 'shop.txt'), path.join(ws, 'apps', 'shop.yaml'));
    // prod/web first: the Kustomize finder renders every kustomization, so the private copy exists when frontend's edit is staged.
    const proposed = await propose([prodWeb, frontend]);
    assert.deepEqual(proposed.files.map((file) => file.path).sort(), ['apps/shop.yaml', 'overlays/prod/web-resources.yaml']);
    const applied = await approve(proposed);
    assert.equal(applied.status, 'applied', applied.text);
    assert.match(readFileSync(path.join(ws, 'store', 'shop.txt'), 'utf8'), /cpu: '250m'/);
  });

  it('a directory link out of the workspace (the shared base) is not copied, rendered from, or written', async () => {
    repository();
    renameSync(path.join(ws, 'base'), path.join(outside, 'base'));
    symlinkSync(path.join(outside, 'base'), path.join(ws, 'base'));
    const proposed = await propose([stagingWeb, prodWeb]);
    assert.deepEqual(proposed.files, []);
    assert.match(reasonOf(proposed, 'stg-web'), /does not render|no manifest/);
  });

  it('a link loop (two links pointing at each other, one named like the new patch file) ends, and nothing is written', async () => {
    repository();
    symlinkSync('loop-b.yaml', path.join(ws, newPatch));
    symlinkSync('krr-deployment-web-resources.yaml', path.join(ws, 'overlays/staging/loop-b.yaml'));
    const proposed = await propose([stagingWeb]);
    assert.deepEqual(proposed.files, []);
    assert.match(reasonOf(proposed, 'stg-web'), /exists but .* does not list it/);
  });

  it('a link planted at the new file\'s path between proposal and write: the stdio writer refuses, nothing is created through it', async () => {
    repository();
    const proposed = await propose([stagingWeb]);
    assert.ok(proposed.files.some((file) => file.path === newPatch && file.created), JSON.stringify(proposed));
    symlinkSync(path.join(outside, 'created.yaml'), path.join(ws, newPatch));
    const applied = await approve(proposed);
    assert.notEqual(applied.status, 'applied', applied.text);
    assert.equal(readlinkSync(path.join(ws, newPatch)), path.join(outside, 'created.yaml'));
  });

  it('an edited file swapped for a link to an identical copy outside between proposal and write: refused, the copy outside unchanged', async () => {
    repository();
    const proposed = await propose([stagingWeb]);
    const kustomization = path.join(ws, 'overlays/staging/kustomization.yaml');
    renameSync(kustomization, path.join(outside, 'kustomization.yaml'));
    symlinkSync(path.join(outside, 'kustomization.yaml'), kustomization);
    const applied = await approve(proposed);
    assert.notEqual(applied.status, 'applied', applied.text);
  });

  it('the overlay directory swapped for a link out of the workspace between proposal and write: refused', async () => {
    repository();
    const proposed = await propose([stagingWeb]);
    renameSync(path.join(ws, 'overlays/staging'), path.join(outside, 'staging'));
    symlinkSync(path.join(outside, 'staging'), path.join(ws, 'overlays/staging'));
    const applied = await approve(proposed);
    assert.notEqual(applied.status, 'applied', applied.text);
  });

  it('FIFOs named like manifests (one listed as a resource, one named like the new patch file): no hang, nothing written', async () => {
    repository();
    execFileSync('mkfifo', [path.join(ws, 'apps', 'pipe.yaml')]);
    execFileSync('mkfifo', [path.join(ws, newPatch)]);
    execFileSync('mkfifo', [path.join(ws, 'overlays/prod/pipe.yaml')]);
    const prod = path.join(ws, 'overlays/prod/kustomization.yaml');
    writeFileSync(prod, readFileSync(prod, 'utf8').replace('  - worker.yaml', '  - worker.yaml\n  - pipe.yaml'));
    const proposed = await propose([stagingWeb, prodWeb]);
    assert.deepEqual(proposed.files, []);
  });

  it('a link to a device (/dev/zero) named like a manifest and listed as a resource: not read, nothing written', async () => {
    repository();
    symlinkSync('/dev/zero', path.join(ws, 'apps', 'zero.yaml'));
    symlinkSync('/dev/zero', path.join(ws, 'overlays/prod/zero.yaml'));
    const prod = path.join(ws, 'overlays/prod/kustomization.yaml');
    writeFileSync(prod, readFileSync(prod, 'utf8').replace('  - worker.yaml', '  - worker.yaml\n  - zero.yaml'));
    const proposed = await propose([prodWeb, frontend]);
    assert.deepEqual(proposed.files.map((file) => file.path), ['apps/shop.yaml'], 'the plain manifest is still offered; prod does not render');
    assert.match(reasonOf(proposed, 'web'), /does not render|no manifest/);
  });

  it('an oversized manifest (listed as a resource, and one defining the workload): not copied or edited, nothing written', async () => {
    repository();
    const huge = path.join(ws, 'overlays/prod/huge.yaml');
    writeFileSync(huge, '# padding\n');
    truncateSync(huge, stagedCopyLimits.maxFileBytes + 1);
    const prod = path.join(ws, 'overlays/prod/kustomization.yaml');
    writeFileSync(prod, readFileSync(prod, 'utf8').replace('  - worker.yaml', '  - worker.yaml\n  - huge.yaml'));
    const shop = path.join(ws, 'apps', 'shop.yaml');
    writeFileSync(shop, `${readFileSync(shop, 'utf8')}\n# ${'x'.repeat(2 * mi)}\n`);
    const proposed = await propose([prodWeb, frontend]);
    assert.deepEqual(proposed.files, []);
    assert.match(reasonOf(proposed, 'frontend'), /shop\.yaml: larger than 1024 KiB/);
  });

  it('a binary file named .yaml (as the manifest defining the workload, and listed as a resource): not edited, nothing written', async () => {
    repository();
    const binary = Buffer.concat([readFileSync(path.join(ws, 'apps', 'shop.yaml')), Buffer.from([0, 1, 2, 0xff])]);
    writeFileSync(path.join(ws, 'apps', 'shop.yaml'), binary);
    writeFileSync(path.join(ws, 'overlays/prod/blob.yaml'), binary);
    const prod = path.join(ws, 'overlays/prod/kustomization.yaml');
    writeFileSync(prod, readFileSync(prod, 'utf8').replace('  - worker.yaml', '  - worker.yaml\n  - blob.yaml'));
    const proposed = await propose([prodWeb, frontend]);
    assert.deepEqual(proposed.files, []);
    assert.match(reasonOf(proposed, 'frontend'), /shop\.yaml is a binary file/);
  });

  it('a file path with U+202E: the dialog shows it as ⟨U+202E⟩, isolated, and never the raw control', async () => {
    repository();
    const hostile = 'apps/shop\u202Elmay.yaml';
    renameSync(path.join(ws, 'apps', 'shop.yaml'), path.join(ws, hostile));
    const proposed = await propose([frontend]);
    assert.deepEqual(proposed.files.map((file) => file.path), [hostile]);
    const applied = await approve(proposed);
    assert.equal(applied.status, 'applied', applied.text);
    const message = elicitations[0]?.message ?? '';
    assert.ok(!message.includes('\u202E'), 'the raw override reaches the dialog');
    assert.ok(message.includes(`${isolateStart}ws/apps/shop⟨U+202E⟩lmay.yaml${isolateEnd} (`) || message.includes(`${isolateStart}ws/apps/shop⟨U+202E⟩lmay.yaml${isolateEnd}:`), message);
  });

  it('a link inside the workspace used as a patch: copied as a file, the proposal writes nothing, the approved write stays inside', async () => {
    repository();
    mkdirSync(path.join(ws, 'shared'));
    renameSync(path.join(ws, 'overlays/prod/web-resources.yaml'), path.join(ws, 'shared/web-resources.yaml'));
    symlinkSync('../../shared/web-resources.yaml', path.join(ws, 'overlays/prod/web-resources.yaml'));
    const proposed = await propose([prodWeb]);
    assert.deepEqual(proposed.files.map((file) => file.path), ['overlays/prod/web-resources.yaml']);
    const applied = await approve(proposed);
    assert.equal(applied.status, 'applied', applied.text);
  });

  describe('in process: the private copy itself', () => {
    const human = { type: 'human' as const, via: 'test' };
    const desired = (cpu: string) => new Map<string, DesiredResources>([['app', { requests: { cpu }, limits: {} }]]);

    /** Every entry of the private copy, measured before it is removed: bytes of regular files and anything else found. */
    function measure(copy: StagedCopy): { bytes: number; links: string[]; files: number } {
      const links: string[] = [];
      let bytes = 0;
      let files = 0;
      const walk = (current: string) => {
        for (const name of readdirSync(current)) {
          const full = path.join(current, name);
          const stats = lstatSync(full);
          if (stats.isDirectory()) walk(full);
          else if (stats.isFile()) {
            bytes += stats.size;
            files++;
          } else links.push(path.relative(copy.root, full));
        }
      };
      walk(copy.root);
      return { bytes, links, files };
    }

    it('holds only what a render reads: 200 MB of build output beside the manifests costs no temp space (≤ 2 × the manifests)', async () => {
      count('workspace_attacks');
      repository();
      // Build output: 40 files of 5 MiB (under the old 8 MiB per-file filter), sparse so the test writes nothing real.
      for (const dir of ['dist', 'build/out']) mkdirSync(path.join(ws, dir), { recursive: true });
      for (let index = 0; index < 40; index++) {
        const file = path.join(ws, index % 2 === 0 ? 'dist' : 'build/out', `chunk-${index}.bin`);
        writeFileSync(file, '');
        truncateSync(file, 5 * mi);
      }
      const folders = await workspaceFolders([ws]);
      const index = await indexWorkspace(folders);
      const manifestBytes = index.files.reduce((sum, file) => sum + file.size, 0);
      const measured: Array<ReturnType<typeof measure>> = [];
      const wsBefore = snapshotTree(ws);
      const plan = await proposeManifestPlan([{ ...stagingWeb, kind: 'Deployment', group: 'apps', context: null, desired: desired('100m') }], { folders, kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: null, onStagedCopy: (copy) => void measured.push(measure(copy)) });
      if (differences(wsBefore, snapshotTree(ws)).length > 0) count('writes_before_approval');
      const tempBytes = measured.reduce((sum, entry) => sum + entry.bytes, 0);
      record('proposal_temp_bytes', tempBytes);
      record('proposal_manifest_bytes', manifestBytes);
      assert.deepEqual(plan.unresolved, [], JSON.stringify(plan.unresolved));
      assert.deepEqual(plan.files.map((file) => file.path).sort(), [newPatch, 'overlays/staging/kustomization.yaml'], 'the Kustomize render still works from the copy');
      assert.equal(measured.length, 1);
      assert.ok(tempBytes > 0);
      assert.ok(tempBytes <= 2 * manifestBytes, `the private copy held ${tempBytes} bytes for ${manifestBytes} bytes of manifests`);
    });

    it('never holds a link: links inside are copied as files, links out, dangling links and directory links are left out', async () => {
      count('workspace_attacks');
      repository();
      writeFileSync(path.join(outside, 'secret.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: secret}\n');
      mkdirSync(path.join(ws, 'shared'));
      renameSync(path.join(ws, 'overlays/prod/worker.yaml'), path.join(ws, 'shared/worker.yaml'));
      symlinkSync(path.join(ws, 'shared/worker.yaml'), path.join(ws, 'overlays/prod/worker.yaml'));
      symlinkSync(path.join(outside, 'secret.yaml'), path.join(ws, 'overlays/staging/secret.yaml'));
      symlinkSync(path.join(outside, 'nothing.yaml'), path.join(ws, 'overlays/staging/dangling.yaml'));
      symlinkSync(outside, path.join(ws, 'overlays/staging/out'));
      // A generator reading a file through a link out (kustomize would embed the outside file in a ConfigMap).
      const staging = path.join(ws, 'overlays/staging/kustomization.yaml');
      writeFileSync(staging, `${readFileSync(staging, 'utf8').replace('  - ../../base\n', '  - ../../base\n  - secret.yaml\n  - dangling.yaml\n')}configMapGenerator:\n  - name: leak\n    files:\n      - out/secret.yaml\n`);
      const measured: Array<ReturnType<typeof measure>> = [];
      const wsBefore = snapshotTree(ws);
      const outsideBefore = snapshotTree(outside);
      const plan = await proposeManifestPlan([{ ...prodWeb, kind: 'Deployment', group: 'apps', context: null, desired: desired('700m') }], { folders: await workspaceFolders([ws]), kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: null, onStagedCopy: (copy) => void measured.push(measure(copy)) });
      if (differences(wsBefore, snapshotTree(ws)).length > 0) count('writes_before_approval');
      if (differences(outsideBefore, snapshotTree(outside)).length > 0) count('writes_outside_workspace');
      assert.deepEqual(plan.files.map((file) => file.path), ['overlays/prod/web-resources.yaml'], JSON.stringify(plan.unresolved));
      assert.deepEqual(measured.flatMap((entry) => entry.links), [], 'the private copy holds links');
      assert.ok(measured[0] && measured[0].files > 0);
      assert.deepEqual(differences(wsBefore, snapshotTree(ws)), []);
    });

    it('a Helm chart: only its metadata, values and templates are copied; a template or subchart linking out is left out', async () => {
      count('workspace_attacks');
      const helm = path.join(execFileSync('bash', [path.join(repoRoot, 'test', 'helm', 'build.sh'), '--cached-only'], { encoding: 'utf8' }).trim().split('\n').at(-1) as string, 'helm');
      cpSync(path.join(fixtures, 'helm'), ws, { recursive: true });
      writeFileSync(path.join(outside, 'leak.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leak}\ndata: {secret: from-outside}\n');
      symlinkSync(path.join(outside, 'leak.yaml'), path.join(ws, 'search/templates/leak.yaml'));
      mkdirSync(path.join(outside, 'subchart'));
      writeFileSync(path.join(outside, 'subchart/Chart.yaml'), 'apiVersion: v2\nname: sub\nversion: 0.1.0\n');
      mkdirSync(path.join(ws, 'search/charts'));
      symlinkSync(path.join(outside, 'subchart'), path.join(ws, 'search/charts/sub'));
      mkdirSync(path.join(ws, 'search/build'));
      writeFileSync(path.join(ws, 'search/build/bundle.bin'), '');
      truncateSync(path.join(ws, 'search/build/bundle.bin'), 5 * mi);
      const copied: string[] = [];
      const links: string[] = [];
      const wsBefore = snapshotTree(ws);
      const outsideBefore = snapshotTree(outside);
      const target = { namespace: 'gitops', kind: 'Deployment' as const, name: 'search', group: 'apps', context: 'prod-eu-1', desired: new Map<string, DesiredResources>([['search', { requests: { cpu: '300m' }, limits: {} }]]) };
      const plan = await proposeManifestPlan([target], {
        folders: await workspaceFolders([ws]),
        kubectlPath: 'kubectl',
        requester: human,
        now: new Date(),
        ttlSeconds: 600,
        context: 'prod-eu-1',
        finders: [helmFinder({ helmPath: helm })],
        onStagedCopy: (copy) => {
          const walk = (current: string) => {
            for (const name of readdirSync(current)) {
              const full = path.join(current, name);
              const stats = lstatSync(full);
              if (stats.isDirectory()) walk(full);
              else (stats.isFile() ? copied : links).push(path.relative(copy.root, full));
            }
          };
          walk(copy.root);
        },
      });
      if (differences(wsBefore, snapshotTree(ws)).length > 0) count('writes_before_approval');
      if (differences(outsideBefore, snapshotTree(outside)).length > 0) count('writes_outside_workspace');
      assert.deepEqual(plan.files.map((file) => file.path), ['search/values-prod.yaml'], JSON.stringify(plan.unresolved));
      assert.deepEqual(links, []);
      assert.deepEqual(copied.sort(), ['search/Chart.yaml', 'search/templates/deployment.yaml', 'search/values-prod.yaml', 'search/values.yaml']);
    });

    it('is bounded: a render needing more than the bound is refused with the reason, nothing written', async () => {
      count('workspace_attacks');
      repository();
      const wsBefore = snapshotTree(ws);
      const plan = await proposeManifestPlan([{ ...prodWeb, kind: 'Deployment', group: 'apps', context: null, desired: desired('700m') }], { folders: await workspaceFolders([ws]), kubectlPath: 'kubectl', requester: human, now: new Date(), ttlSeconds: 600, context: null, stagedLimits: { ...stagedCopyLimits, maxFiles: 3 } });
      if (differences(wsBefore, snapshotTree(ws)).length > 0) count('writes_before_approval');
      assert.deepEqual(plan.files, []);
      assert.match(plan.unresolved[0]?.reason ?? '', /exceed .* or 3 files; KRR does not copy more/);
    });
  });

  describe('core checks the editor layer calls', () => {
    it('a new file\'s path: a link planted there (dangling or not), or a directory leading out, is refused before VS Code writes', async () => {
      count('workspace_attacks');
      mkdirSync(path.join(ws, 'overlays'));
      const file = (relative: string) => ({ absolutePath: path.join(ws, relative), folderRoot: ws, path: relative });
      await checkNewFileTarget(file('overlays/new.yaml'));
      symlinkSync(path.join(outside, 'created.yaml'), path.join(ws, 'overlays/dangling.yaml'));
      await assert.rejects(checkNewFileTarget(file('overlays/dangling.yaml')), /created since the proposal \(as a symbolic link\); nothing is written through it/);
      symlinkSync(outside, path.join(ws, 'out'));
      await assert.rejects(checkNewFileTarget(file('out/new.yaml')), /would be written outside the workspace folder/);
      assert.deepEqual(readdirSync(outside), []);
    });

    it('.mcp.json that is a link (to a file outside, or dangling) or not a regular file is refused before the consent dialog', async () => {
      count('workspace_attacks');
      const mcpJson = path.join(ws, '.mcp.json');
      assert.equal(await mcpJsonProblem(mcpJson), null, 'absent: it may be created');
      writeFileSync(mcpJson, '{}\n');
      assert.equal(await mcpJsonProblem(mcpJson), null, 'a regular file may be merged into');
      rmSync(mcpJson);
      writeFileSync(path.join(outside, 'settings.json'), '{"mcpServers": {}}\n');
      symlinkSync(path.join(outside, 'settings.json'), mcpJson);
      assert.match((await mcpJsonProblem(mcpJson)) ?? '', /\.mcp\.json.* is a symbolic link \(to .*settings\.json.*\); KRR does not write through a link/);
      rmSync(mcpJson);
      symlinkSync(path.join(outside, 'absent.json'), mcpJson);
      assert.match((await mcpJsonProblem(mcpJson)) ?? '', /is a symbolic link/);
      rmSync(mcpJson);
      execFileSync('mkfifo', [mcpJson]);
      assert.match((await mcpJsonProblem(mcpJson)) ?? '', /is not a regular file/);
    });

    it('the dialog text of a manifest plan shows hidden characters in folder names and file paths as ⟨U+XXXX⟩, isolated', () => {
      count('workspace_attacks');
      const file = { folder: 'w\u200Bs', folderRoot: '/w', path: 'apps/a\u202Egnp.yaml', beforeHash: null, before: null, after: '', afterHash: '', edits: [] };
      const plan = { id: 'plan-1', digest: 'd'.repeat(64), target: 'manifests' as const, context: null, createdAt: new Date(0).toISOString(), expiresAt: new Date(600_000).toISOString(), requestedBy: { type: 'model' as const, via: 'test' }, folders: [{ name: file.folder, root: '/w' }], files: [file], workloads: [{ ...frontend, source: { finder: 'manifest', label: `${file.folder}/${file.path}`, folder: file.folder, guess: false }, files: [], changes: [], notes: [] }], unresolved: [], warnings: [] };
      const text = manifestApprovalText(plan, { type: 'human', via: 'test' }, new Date(0));
      assert.ok(!/[\u200B\u202E]/.test(text.detail), text.detail);
      assert.ok(text.detail.includes(`${isolateStart}w⟨U+200B⟩s/apps/a⟨U+202E⟩gnp.yaml${isolateEnd} (new file):`), text.detail);
      assert.ok(text.detail.includes(` in ${isolateStart}w⟨U+200B⟩s/apps/a⟨U+202E⟩gnp.yaml${isolateEnd}\n`), text.detail);
      assert.ok(text.detail.includes(`Workspace folder: ${isolateStart}w⟨U+200B⟩s${isolateEnd}.`), text.detail);
    });
  });
});
