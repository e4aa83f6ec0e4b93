// The manifest target over MCP: `krr-mcp serve --stdio --workspace <dir>...` with the SDK's Client. krr_propose_changes
// with target "manifests" lists per workload the files and edits (paths relative to the workspace folder) or why no
// source was found; krr_apply_plan writes them only after the person approves through elicitation. No cluster at all.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, ElicitRequest, ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { connectStdioClient, serveTransport } from '../support/stdio-client';
import { withoutIsolates } from '../../src/core/text';
import { krrReportJson } from '../support/krr-report';

const repoRoot = path.resolve(__dirname, '..', '..');
const fixtures = path.join(repoRoot, 'test', 'fixtures', 'gitops');


const mi = 2 ** 20;

function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

function structured<T>(result: CallToolResult): T {
  assert.ok(result.structuredContent, textOf(result));
  return result.structuredContent as T;
}

interface WorkloadView {
  namespace: string;
  kind: string;
  name: string;
  files: Array<{ folder: string; path: string; edits: Array<{ line: number; field: string; from: string | null; to: string }> }>;
  reason?: string;
  candidates?: string[];
  source?: { id?: string; chosen?: boolean };
  sources?: Array<{ id: string; label: string }>;
}

describe('mcp over stdio: krr_propose_changes target "manifests" and krr_apply_plan (--workspace)', function () {
  this.timeout(120_000);
  let dir: string;
  let client: Client | undefined;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-mcp-gitops-'));
    cpSync(path.join(fixtures, 'kustomize'), path.join(dir, 'ws', 'kustomize'), { recursive: true });
    cpSync(path.join(fixtures, 'plain'), path.join(dir, 'ws', 'plain'), { recursive: true });
    writeFileSync(
      path.join(dir, 'report.json'),
      krrReportJson([
        {
          namespace: 'prod',
          kind: 'Deployment',
          name: 'web',
          containers: {
            app: { current: { requests: { cpu: 1, memory: 1024 * mi }, limits: { cpu: null, memory: 512 * mi } }, recommended: { requests: { cpu: 0.75, memory: 768 * mi }, limits: { cpu: null, memory: 1024 * mi } } },
            metrics: { current: { requests: { cpu: 0.05, memory: 64 * mi }, limits: { cpu: null, memory: null } }, recommended: { requests: { cpu: 0.02, memory: 64 * mi }, limits: { cpu: null, memory: null } } },
          },
        },
        { namespace: 'data', kind: 'StatefulSet', name: 'postgres', containers: { postgres: { current: { requests: { cpu: 1, memory: 2048 * mi }, limits: { cpu: null, memory: 4096 * mi } }, recommended: { requests: { cpu: 0.5, memory: 2048 * mi }, limits: { cpu: null, memory: 4096 * mi } } } } },
        { namespace: 'shop', kind: 'Deployment', name: 'checkout', containers: { api: { current: { requests: { cpu: 1, memory: 1024 * mi }, limits: { cpu: null, memory: null } }, recommended: { requests: { cpu: 0.1, memory: 256 * mi }, limits: { cpu: null, memory: null } } } } },
      ]),
    );
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(elicitation?: (request: ElicitRequest['params']) => ElicitResult) {
    writeFileSync(path.join(dir, 'settings.json'), JSON.stringify({ confirmByTyping: ['*prod*'], declineCooldownSeconds: 0 }));
    const transport = serveTransport(['--state-dir', path.join(dir, 'state'), '--kubectl', 'kubectl', '--settings', path.join(dir, 'settings.json'), '--workspace', path.join(dir, 'ws', 'kustomize'), '--workspace', path.join(dir, 'ws', 'plain')], path.join(dir, 'home'));
    const connected = await connectStdioClient(transport, 'gitops-test-client', elicitation);
    client = connected.client;
    return connected;
  }

  async function call(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
    return (await (client as Client).callTool({ name, arguments: args }, undefined, { timeout: 90_000 })) as CallToolResult;
  }

  async function proposeManifests(): Promise<{ planId: string; workloads: WorkloadView[]; result: CallToolResult }> {
    const loaded = structured<{ reportId: string }>(await call('krr_load_report', { path: path.join(dir, 'report.json') }));
    const result = await call('krr_propose_changes', {
      reportId: loaded.reportId,
      target: 'manifests',
      includeLimits: true,
      workloads: [
        { namespace: 'prod', kind: 'Deployment', name: 'web' },
        { namespace: 'data', kind: 'StatefulSet', name: 'postgres' },
        { namespace: 'shop', kind: 'Deployment', name: 'checkout' },
      ],
    });
    assert.equal(result.isError, undefined, textOf(result));
    return { ...structured<{ planId: string; workloads: WorkloadView[] }>(result), result };
  }

  it('lists files and edits per workload, or why no source was found; applies only after the person approves', async () => {
    const { elicitations } = await start(() => ({ action: 'accept', content: { approve: true } }));
    const { planId, workloads, result } = await proposeManifests();
    const byName = new Map(workloads.map((workload) => [workload.name, workload]));
    assert.deepEqual(
      byName.get('web')?.files.map((file) => [file.folder, file.path]),
      [['kustomize', 'overlays/prod/web-resources.yaml']],
    );
    assert.deepEqual(byName.get('web')?.files[0]?.edits.map(({ field, from, to }) => [field, from, to]), [
      ['spec.template.spec.containers[app].resources.requests.cpu', '1', '750m'],
      ['spec.template.spec.containers[app].resources.requests.memory', '1Gi', '768Mi'],
      ['spec.template.spec.containers[app].resources.limits.memory', null, '1Gi'],
      ['spec.template.spec.containers[metrics].resources.requests.cpu', null, '20m'],
    ]);
    assert.deepEqual(byName.get('postgres')?.files.map((file) => [file.folder, file.path]), [['plain', 'apps/postgres.json']]);
    assert.match(byName.get('checkout')?.reason ?? '', /no manifest in the workspace folders \(kustomize, plain\) defines Deployment shop\/checkout/);
    assert.match(textOf(result), /NOT WRITTEN shop\/Deployment\/checkout/);
    // The model reads what the dialog shows: the environment first, the rendered values before → after, then the edits.
    const text = withoutIsolates(textOf(result));
    assert.match(text, /^- prod\/Deployment\/web in \S/m);
    assert.match(text, /^ {4}app requests\.cpu 1 → 750m \(rendered\)$/m);
    assert.match(text, /line \d+: spec\.template\.spec\.containers\[metrics\]\.resources\.requests\.cpu \(new key\) → 20m/);
    assert.doesNotMatch(text, /\(added\)|←/);
    // Nothing was written by the proposal.
    assert.equal(readFileSync(path.join(dir, 'ws/kustomize/overlays/prod/web-resources.yaml'), 'utf8'), readFileSync(path.join(fixtures, 'kustomize/overlays/prod/web-resources.yaml'), 'utf8'));

    const applied = await call('krr_apply_plan', { planId });
    assert.equal(structured<{ status: string }>(applied).status, 'applied', textOf(applied));
    assert.equal(elicitations.length, 1);
    const message = elicitations[0]?.message ?? '';
    assert.match(message, /^Write resource changes to 2 files in the workspace\?/);
    // Each path is isolated (FSI…PDI) like a name; the words around it are the same.
    assert.match(withoutIsolates(message), /kustomize\/overlays\/prod\/web-resources\.yaml:/);
    assert.match(message, /Nothing is sent to a cluster/);
    assert.doesNotMatch(message, /Cluster:/);
    const schema = (elicitations[0] && 'requestedSchema' in elicitations[0] ? elicitations[0].requestedSchema : undefined) as { required: string[] } | undefined;
    assert.deepEqual(schema?.required, ['approve'], 'no context to type: the dialog names files, not a cluster');
    const rendered = execFileSync('kubectl', ['kustomize', path.join(dir, 'ws/kustomize/overlays/prod')], { encoding: 'utf8' });
    assert.match(rendered, /name: app\n {8}resources:\n {10}limits:\n {12}memory: 1Gi\n {10}requests:\n {12}cpu: 750m\n {12}memory: 768Mi/);
    assert.equal(JSON.parse(readFileSync(path.join(dir, 'ws/plain/apps/postgres.json'), 'utf8')).spec.template.spec.containers[0].resources.requests.cpu, '500m');

    const again = await call('krr_apply_plan', { planId });
    assert.equal(structured<{ status: string }>(again).status, 'used');
    // Audit entries as for cluster writes: proposal, approval, one write per file (read from the log itself).
    const entries = readFileSync(path.join(dir, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { action: string; planId?: string; detail?: { target?: string; file?: string } });
    const ofPlan = entries.filter((entry) => entry.planId === planId);
    assert.deepEqual(ofPlan.map((entry) => entry.action), ['propose', 'approve', 'write', 'write', 'refuse']);
    assert.deepEqual(ofPlan.filter((entry) => entry.action === 'write').map((entry) => entry.detail?.file).sort(), ['apps/postgres.json', 'overlays/prod/web-resources.yaml']);
  });

  it('several sources: listed with ids; proposing again with one writes that one; an id that matches none, or a malformed one, is refused', async () => {
    // Two overlays the report's context (prod-eu-1) names neither of: it cannot pick one.
    renameSync(path.join(dir, 'ws/kustomize/overlays/prod'), path.join(dir, 'ws/kustomize/overlays/blue'));
    cpSync(path.join(dir, 'ws/kustomize/overlays/blue'), path.join(dir, 'ws/kustomize/overlays/green'), { recursive: true });
    await start(() => ({ action: 'accept', content: { approve: true } }));
    const { reportId } = structured<{ reportId: string }>(await call('krr_load_report', { path: path.join(dir, 'report.json') }));
    const web = { namespace: 'prod', kind: 'Deployment', name: 'web' };
    const ask = (workloads: Array<Record<string, string>>, target = 'manifests') => call('krr_propose_changes', { reportId, target, includeLimits: true, workloads });
    const listed = await ask([web]);
    const refused = structured<{ workloads: WorkloadView[] }>(listed).workloads[0];
    assert.deepEqual(refused?.files, []);
    assert.deepEqual(refused?.sources?.map((source) => source.id), ['kustomize:kustomize/overlays/blue', 'kustomize:kustomize/overlays/green']);
    assert.match(textOf(listed), /\n {4}"kustomize:kustomize\/overlays\/green": kustomize\/overlays\/green \(Kustomize\)/);

    const picked = await ask([{ ...web, source: 'kustomize:kustomize/overlays/green' }]);
    const plan = structured<{ planId: string; workloads: WorkloadView[] }>(picked);
    assert.deepEqual(plan.workloads[0]?.files.map((file) => [file.folder, file.path]), [['kustomize', 'overlays/green/web-resources.yaml']]);
    assert.deepEqual(plan.workloads[0]?.source, { finder: 'kustomize', label: 'kustomize/overlays/green (Kustomize)', folder: 'kustomize', guess: false, id: 'kustomize:kustomize/overlays/green', chosen: true });
    const applied = await call('krr_apply_plan', { planId: plan.planId });
    assert.equal(structured<{ status: string }>(applied).status, 'applied', textOf(applied));
    assert.match(execFileSync('kubectl', ['kustomize', path.join(dir, 'ws/kustomize/overlays/green')], { encoding: 'utf8' }), /cpu: 750m/);
    assert.equal(readFileSync(path.join(dir, 'ws/kustomize/overlays/blue/web-resources.yaml'), 'utf8'), readFileSync(path.join(fixtures, 'kustomize/overlays/prod/web-resources.yaml'), 'utf8'));

    const unknown = structured<{ workloads: WorkloadView[]; files: unknown[] }>(await ask([{ ...web, source: 'kustomize:kustomize/overlays/qa' }]));
    assert.deepEqual(unknown.files, []);
    assert.match(unknown.workloads[0]?.reason ?? '', /^the chosen source kustomize:kustomize\/overlays\/qa is not a source of Deployment prod\/web now; pick one of the 2 sources found$/);
    // Checked by the tool's schema before the session sees it: not an id the proposal lists.
    const malformed = await ask([{ ...web, source: '../../etc/passwd' }]);
    assert.equal(malformed.isError, true);
    assert.match(textOf(malformed), /source/);
    const cluster = await ask([{ ...web, source: 'kustomize:kustomize/overlays/green' }], 'cluster');
    assert.equal(cluster.isError, true);
    assert.match(textOf(cluster), /target "manifests"/);
  });

  it('declined, or a client without elicitation: nothing written', async () => {
    const { elicitations } = await start(() => ({ action: 'decline' }));
    const { planId } = await proposeManifests();
    const declined = await call('krr_apply_plan', { planId });
    assert.equal(structured<{ status: string }>(declined).status, 'declined');
    assert.equal(elicitations.length, 1);
    await client?.close();
    await start();
    const second = await proposeManifests();
    const refused = await call('krr_apply_plan', { planId: second.planId });
    assert.equal(structured<{ status: string }>(refused).status, 'refused');
    assert.match(textOf(refused), /no form elicitation support/);
    assert.equal(readFileSync(path.join(dir, 'ws/plain/apps/postgres.json'), 'utf8'), readFileSync(path.join(fixtures, 'plain/apps/postgres.json'), 'utf8'));
    assert.equal(readFileSync(path.join(dir, 'ws/kustomize/overlays/prod/web-resources.yaml'), 'utf8'), readFileSync(path.join(fixtures, 'kustomize/overlays/prod/web-resources.yaml'), 'utf8'));
  });
});
