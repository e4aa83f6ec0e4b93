// The workspace repository is hostile input (issue 22, findings 3 and 7), driven through the real stdio server
// (`krr-mcp serve --stdio --workspace`) and the real kubectl (and helm, once `npm run helm:build` has built it):
// - every path-bearing kustomization field naming remote content, pointed at a loopback listener that records every
//   request, at a silent listener that accepts and never answers, and at a non-loopback host (which a renderer that
//   inherited the server's proxy variables would send to the recording listener): no request, no connection, the
//   overlay refused by field, the proposal answered and audited;
// - K hostile overlays in one repository, and renders that really hang (a kubectl stand-in): bounded by the render
//   bound, and by the per-proposal budget of hung renders (not K × the bound);
// - alias bombs, more than 100 aliases, deep nesting: refused naming the file, audited, no crash;
// - Helm: a remote chart dependency, a `lookup`, a remote $ref in values.schema.json: no request.
// Figures: workspace_attacks (cases), remote_fetches (requests and connections the listeners saw), hangs (proposals
// over their bound).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { renderLimits } from '../../src/core/gitops/render';
import { connectStdioClient, serveTransport } from '../support/stdio-client';
import { krrReportJson, requestsOnly } from '../support/krr-report';
import { pluginFileCases, remoteFieldCases } from '../support/hostile-kustomizations';
import { count } from './figures';
import { auditLines, textOf } from './harness';

/** What a proposal may take beyond its renders (starting kubectl, reading the workspace) on a loaded 2-core machine. */
const marginMs = 15_000;

interface Recorder {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

async function startRecorder(): Promise<Recorder> {
  const requests: string[] = [];
  const server: HttpServer = createHttpServer((request, response) => {
    requests.push(`${request.method ?? ''} ${request.headers.host ?? ''}${request.url ?? ''}`);
    response.writeHead(200, { 'content-type': 'application/yaml' });
    response.end('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fetched\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

interface Silent {
  url: string;
  connections: number;
  close(): Promise<void>;
}

/** Accepts every connection and never answers: a fetch from here hangs until someone gives up. */
async function startSilent(): Promise<Silent> {
  const sockets = new Set<Socket>();
  const silent = { url: '', connections: 0 } as Silent;
  const server: NetServer = createNetServer((socket) => {
    silent.connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  silent.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  silent.close = () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return silent;
}

/** The helm that `npm run helm:build` built (null when it has not been built: the Helm cases are skipped then). */
function builtHelm(): string | null {
  try {
    const out = execFileSync('bash', [path.resolve(__dirname, '..', 'helm', 'build.sh'), '--cached-only'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').at(-1) as string;
    return path.join(out, 'helm');
  } catch {
    return null;
  }
}

interface UnresolvedView {
  namespace: string;
  kind: string;
  name: string;
  reason?: string;
  candidates?: string[];
}

describe('abuse: a hostile workspace repository is rendered with no route out, bounded, and refused by name', function () {
  this.timeout(600_000);
  let dir: string;
  let ws: string;
  let recorder: Recorder;
  let silent: Silent;
  let client: Client | undefined;
  let auditFile: string;
  let reportId: string;
  let fetchesSeen = 0;

  const mi = 2 ** 20;
  const workloads = ['web', 'api', 'laughs', 'aliases', 'deep', 'chart-web'].map((name) => ({ namespace: 'shop', kind: 'Deployment', name }));

  before(async () => {
    recorder = await startRecorder();
    silent = await startSilent();
  });
  after(async () => {
    await recorder.close();
    await silent.close();
  });

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-abuse-renders-'));
    ws = path.join(dir, 'ws');
    write('base/kustomization.yaml', 'resources:\n  - deployment.yaml\n');
    write('base/deployment.yaml', deployment('web'));
    write('plain/api.yaml', deployment('api'));
    writeFileSync(path.join(dir, 'report.json'), krrReportJson(workloads.map((workload) => ({ ...workload, containers: { app: { current: requestsOnly(1, 1024 * mi), recommended: requestsOnly(0.25, 512 * mi) } } }))));
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  function write(relativePath: string, text: string) {
    mkdirSync(path.dirname(path.join(ws, relativePath)), { recursive: true });
    writeFileSync(path.join(ws, relativePath), text);
  }

  function deployment(name: string, extra = ''): string {
    return `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  namespace: shop\n${extra}spec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: ${name}:1\n          resources:\n            requests:\n              cpu: "1"\n              memory: 1Gi\n`;
  }

  /**
   * The stdio server over the workspace. Its own environment routes every proxied request to the recording listener:
   * a renderer that inherited it would send a non-loopback fetch there.
   */
  async function start(options: { kubectl?: string; helm?: string } = {}) {
    writeFileSync(path.join(dir, 'settings.json'), JSON.stringify({ confirmByTyping: [], declineCooldownSeconds: 0, ...(options.helm ? { helmPath: options.helm } : {}) }));
    const proxied = Object.fromEntries(['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy'].map((name) => [name, recorder.url]));
    const transport = serveTransport(['--state-dir', path.join(dir, 'state'), '--kubectl', options.kubectl ?? 'kubectl', '--settings', path.join(dir, 'settings.json'), '--workspace', ws], path.join(dir, 'home'), { ...proxied, NO_PROXY: '', no_proxy: '' });
    client = (await connectStdioClient(transport, 'abuse-renders-client')).client;
    auditFile = path.join(dir, 'state', 'audit.jsonl');
    const loaded = (await client.callTool({ name: 'krr_load_report', arguments: { path: path.join(dir, 'report.json') } })) as CallToolResult;
    reportId = (loaded.structuredContent as { reportId: string }).reportId;
  }

  /**
   * One manifests proposal: answered (never a protocol or internal error), audited, within `boundMs` (else a hang),
   * and no request or connection reached a listener. Counts the case.
   */
  async function propose(names: readonly string[], boundMs: number): Promise<{ result: CallToolResult; unresolved: Map<string, UnresolvedView>; written: string[] }> {
    count('workspace_attacks');
    const auditBefore = auditLines(auditFile);
    const started = performance.now();
    const result = (await (client as Client).callTool({ name: 'krr_propose_changes', arguments: { reportId, target: 'manifests', workloads: workloads.filter((workload) => names.includes(workload.name)) } }, undefined, { timeout: boundMs + 60_000 })) as CallToolResult;
    const elapsed = performance.now() - started;
    if (elapsed > boundMs) count('hangs');
    const fetches = recorder.requests.length + silent.connections - fetchesSeen;
    fetchesSeen += fetches;
    count('remote_fetches', fetches);
    assert.equal(fetches, 0, `requests: ${recorder.requests.join(', ')}; silent connections: ${silent.connections}`);
    assert.ok(elapsed <= boundMs, `the proposal took ${Math.round(elapsed)} ms (bound ${boundMs} ms)`);
    assert.equal(result.isError, undefined, textOf(result));
    assert.ok(auditLines(auditFile) > auditBefore, 'the proposal is audited');
    const structured = result.structuredContent as { workloads?: Array<UnresolvedView & { files?: unknown[] }> };
    const views = structured.workloads ?? [];
    return { result, unresolved: new Map(views.filter((view) => view.reason !== undefined).map((view) => [view.name, view])), written: views.filter((view) => view.reason === undefined).map((view) => view.name) };
  }

  it('every remote-fetch field, at a recording, a silent and a proxied host: refused by field, nothing fetched, the rest proposed', async () => {
    await start();
    const targets = (listener: string) => [
      { kind: 'recording', url: `${recorder.url}/fetch.yaml` },
      { kind: 'silent', url: `${silent.url}/fetch.yaml` },
      // Not loopback: only a renderer that inherited the server's proxy variables would reach the recorder with it.
      { kind: 'proxied', url: `http://${listener}.krr-abuse.example/fetch.yaml` },
    ];
    for (const { field, kustomization } of remoteFieldCases) {
      for (const { kind, url } of targets(field.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase())) {
        rmSync(path.join(ws, 'overlays'), { recursive: true, force: true });
        write('overlays/prod/kustomization.yaml', JSON.stringify(kustomization(url), null, 2));
        const { unresolved, written } = await propose(['web', 'api'], renderLimits.timeoutMs + marginMs);
        const reason = unresolved.get('web')?.reason ?? '';
        assert.ok(reason.includes(`overlays/prod/kustomization.yaml: ${field} names remote content (${url})`), `${field} (${kind}): ${reason}`);
        assert.deepEqual(written, ['api'], `${field} (${kind}): the rest of the proposal goes on`);
      }
    }
  });

  it('plugin configuration files (generators, transformers, validators) naming remote content: refused, nothing fetched', async () => {
    await start();
    for (const { name, kustomization, files, message } of pluginFileCases) {
      for (const url of [`${recorder.url}/plugin.yaml`, `${silent.url}/plugin.yaml`]) {
        rmSync(path.join(ws, 'overlays'), { recursive: true, force: true });
        write('overlays/prod/kustomization.yaml', JSON.stringify(kustomization, null, 2));
        for (const [file, text] of Object.entries(files(url))) write(`overlays/prod/${file}`, text);
        const { unresolved, written } = await propose(['web', 'api'], renderLimits.timeoutMs + marginMs);
        const reason = unresolved.get('web')?.reason ?? '';
        assert.ok(reason.includes(`overlays/prod/kustomization.yaml: ${message(url)}`), `${name}: ${reason}`);
        assert.deepEqual(written, ['api'], name);
      }
    }
  });

  it(`K = 5 hostile overlays at the silent listener in one repository: one proposal, refused at once, each named`, async () => {
    await start();
    const fields = remoteFieldCases.slice(0, 5);
    fields.forEach(({ kustomization }, index) => write(`overlays/env${index}/kustomization.yaml`, JSON.stringify(kustomization(`${silent.url}/env${index}.yaml`))));
    const { unresolved } = await propose(['web'], renderLimits.timeoutMs + marginMs);
    const reason = unresolved.get('web')?.reason ?? '';
    fields.forEach(({ field }, index) => assert.ok(reason.includes(`overlays/env${index}/kustomization.yaml: ${field} names remote content`), reason));
  });

  describe('renders that really hang (a kubectl stand-in that never ends on the overlays prod and env*)', () => {
    let standIn: string;
    beforeEach(function () {
      if (process.platform === 'win32') this.skip();
      standIn = path.join(dir, 'kubectl-hangs');
      // Its child `sleep` must go with it (the process group is killed). Chosen by the overlay's name, not a marker
      // file: renders run in the private copy, which holds only what kustomize reads.
      writeFileSync(standIn, '#!/usr/bin/env bash\nif [ "$1" = kustomize ] && [[ "$2" == */overlays/prod || "$2" == */overlays/env* ]]; then sleep 600; fi\nexec kubectl "$@"\n');
      chmodSync(standIn, 0o755);
    });

    it('one overlay whose render hangs: stopped at the render bound, that overlay named, the proposal answered and audited', async () => {
      write('overlays/prod/kustomization.yaml', 'resources:\n  - ../../base\n');
      await start({ kubectl: standIn });
      const { unresolved, written } = await propose(['web', 'api'], renderLimits.timeoutMs + marginMs);
      assert.match(unresolved.get('web')?.reason ?? '', new RegExp(`kubectl kustomize overlays/prod did not finish within ${renderLimits.timeoutMs / 1000} s`));
      assert.deepEqual(written, ['api']);
    });

    it(`K = 5 overlays whose renders hang: the proposal waits at most the hung budget (${renderLimits.hungBudgetMs / 1000} s), not K × the render bound`, async () => {
      for (let index = 0; index < 5; index++) {
        write(`overlays/env${index}/kustomization.yaml`, 'resources:\n  - ../../base\n');
      }
      await start({ kubectl: standIn });
      assert.ok(renderLimits.hungBudgetMs + marginMs < 5 * renderLimits.timeoutMs, 'the bound is below K × the render bound');
      const { unresolved } = await propose(['web'], renderLimits.hungBudgetMs + marginMs);
      const reason = unresolved.get('web')?.reason ?? '';
      assert.match(reason, /5 kustomizations that include it are not rendered/);
      assert.match(reason, /the renders of this proposal already timed out/);
    });
  });

  describe('YAML bombs: refused naming the file, audited, no crash', () => {
    it('a billion-laughs manifest, one with more than 100 aliases, one nested 400 000 deep, and a kustomization that is an alias bomb', async () => {
      let laughs = 'lol0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
      for (let level = 1; level < 10; level++) laughs += `lol${level}: &a${level} [${new Array(9).fill(`*a${level - 1}`).join(',')}]\n`;
      write('plain/laughs.yaml', deployment('laughs', laughs));
      write('plain/aliases.yaml', deployment('aliases', `x: &x [1]\nbomb: [${new Array(150).fill('*x').join(', ')}]\n`));
      write('plain/deep.yaml', deployment('deep', `deep: ${'['.repeat(400_000)}${']'.repeat(400_000)}\n`));
      write('overlays/bomb/kustomization.yaml', `${laughs}resources:\n  - ../../base\n`);
      await start();
      const { unresolved, written } = await propose(['laughs', 'aliases', 'deep', 'web', 'api'], renderLimits.timeoutMs + marginMs);
      assert.match(unresolved.get('laughs')?.candidates?.join('\n') ?? '', /plain\/laughs\.yaml expands YAML aliases more than 100 times/);
      assert.match(unresolved.get('aliases')?.candidates?.join('\n') ?? '', /plain\/aliases\.yaml expands YAML aliases more than 100 times/);
      assert.match(unresolved.get('deep')?.candidates?.join('\n') ?? '', /plain\/deep\.yaml nests more than 256 levels/);
      assert.match(unresolved.get('web')?.reason ?? '', /overlays\/bomb\/kustomization\.yaml expands YAML aliases/);
      assert.deepEqual(written, ['api']);
    });
  });

  describe('Helm: nothing fetched for a chart (real helm from npm run helm:build)', () => {
    let helm: string | null;
    before(function () {
      helm = builtHelm();
      if (helm === null) this.skip();
    });

    function chart(extra: { chartYaml?: string; template?: string; schema?: string; values?: string } = {}) {
      write('chart/Chart.yaml', `apiVersion: v2\nname: chart\nversion: 0.1.0\n${extra.chartYaml ?? ''}`);
      write('chart/values.yaml', extra.values ?? 'resources:\n  requests:\n    cpu: "1"\n    memory: 1Gi\n');
      write('chart/templates/deployment.yaml', `${extra.template ?? ''}apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: chart-web\n  namespace: {{ .Release.Namespace }}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: chart-web:1\n          resources:\n{{ toYaml .Values.resources | indent 12 }}\n`);
      if (extra.schema !== undefined) write('chart/values.schema.json', extra.schema);
    }

    it('a dependency with a remote repository (recording and silent): no request, the chart reported', async () => {
      for (const url of [`${recorder.url}/charts`, `${silent.url}/charts`]) {
        chart({ chartYaml: `dependencies:\n  - name: evil\n    version: 1.0.0\n    repository: ${url}\n` });
        await start({ helm: helm as string });
        const { unresolved } = await propose(['chart-web'], renderLimits.timeoutMs + marginMs);
        const refusal = unresolved.get('chart-web');
        // Refused with helm's own error, naming the chart: it did not fetch the dependency, it reported it missing.
        assert.match(refusal?.reason ?? '', /the Helm chart ws\/chart \(release chart\) may render Deployment shop\/chart-web, but it could not be rendered.*helm template chart failed: Error: An error occurred while checking for chart dependencies.*missing in charts\/ directory: evil/, JSON.stringify(refusal));
        await client?.close();
        client = undefined;
      }
    });

    it('a template using lookup, and a values schema whose $ref names the listeners: no request', async () => {
      chart({
        template: '{{- $secret := lookup "v1" "Secret" "kube-system" "token" }}\n',
        schema: JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { resources: { $ref: `${recorder.url}/schema.json` }, other: { $ref: `${silent.url}/schema.json` } } }),
      });
      await start({ helm: helm as string });
      const { written } = await propose(['chart-web'], renderLimits.timeoutMs + marginMs);
      // helm did render the chart (so it had every chance to fetch).
      assert.deepEqual(written, ['chart-web']);
    });

    it('values.yaml that is an alias bomb: the chart named, no crash', async () => {
      chart({ values: `x: &x [1]\nbomb: [${new Array(150).fill('*x').join(', ')}]\nresources:\n  requests:\n    cpu: "1"\n` });
      await start({ helm: helm as string });
      const { unresolved } = await propose(['chart-web'], renderLimits.timeoutMs + marginMs);
      const refusal = unresolved.get('chart-web');
      assert.match(`${refusal?.reason ?? ''}\n${refusal?.candidates?.join('\n') ?? ''}`, /chart\/values\.yaml expands YAML aliases more than 100 times/, JSON.stringify(refusal));
    });
  });
});
