// GitOps ownership of live objects (src/core/gitops/owner.ts), read from the seeded Argo CD and Flux workloads of
// the test cluster with the real kubectl, and what it does to a proposal (policy, krr.gitops.directPatch).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gitOpsOwner, parseTrackingId, readGitOpsOwners } from '../../src/core/gitops/owner';
import { Kubectl } from '../../src/core/kube/kubectl';
import type { KubeObject } from '../../src/core/kube/object';
import { evaluatePolicies, gitOpsFindings } from '../../src/core/policy';
import { gateValue } from '../../src/core/session/settingsScope';
import { parseSessionSettings } from '../../src/core/settings';
import { toPanelRow } from '../../src/editor/reviewRows';
import { readSessionSettings } from '../../src/editor/settings';
import { gitopsWorkloads, writeGitOpsReport } from '../support/gitops-report';
import { human, model, resourcesOf, startSessionFixture, type SessionFixture } from '../support/session-fixture';
import { asControlPlane, startTestCluster, type TestCluster } from '../support/test-cluster';

const { cart, payments, search } = gitopsWorkloads;
const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' } as const;

function object(metadata: Partial<KubeObject['metadata']> & { managedFields?: unknown[] }, kind = 'Deployment'): KubeObject {
  return { apiVersion: 'apps/v1', kind, metadata: { name: 'web', namespace: 'shop', resourceVersion: '1', ...metadata }, spec: {} } as KubeObject;
}

describe('GitOps owner of live objects (seeded Argo CD and Flux workloads)', function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let kubectl: Kubectl;
  let dir: string;
  before(async () => {
    cluster = await startTestCluster();
    dir = mkdtempSync(path.join(tmpdir(), 'krr-gitops-owner-'));
    kubectl = new Kubectl({ kubectlPath: 'kubectl', kubeconfig: cluster.kubeconfigPath, context: cluster.context, cacheDir: path.join(dir, 'cache') });
  });
  after(async () => {
    await cluster?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Argo CD by its tracking-id, Flux by its Kustomization and HelmRelease labels; a Helm release is nobody\'s', async () => {
    const read = async (ref: { namespace: string; name: string }) => gitOpsOwner(await kubectl.getObject({ ...ref, kind: 'Deployment' }), 'Deployment');
    const argo = await read(cart);
    assert.equal(argo?.tool, 'argocd');
    assert.equal(argo?.name, 'shop-gitops');
    assert.equal(argo?.confidence, 'certain');
    assert.match(argo?.evidence.join(' ') ?? '', /argocd\.argoproj\.io\/tracking-id=shop-gitops:apps\/Deployment:gitops\/cart/);

    assert.deepEqual(await read(payments), { tool: 'flux-kustomize', name: 'apps', namespace: 'flux-system', evidence: ['label kustomize.toolkit.fluxcd.io/name=apps', 'label kustomize.toolkit.fluxcd.io/namespace=flux-system'], confidence: 'certain' });
    const helmRelease = await read(search);
    assert.equal(helmRelease?.tool, 'flux-helm');
    assert.equal(helmRelease?.name, 'search');
    assert.equal(helmRelease?.confidence, 'certain');

    // checkout-api carries app.kubernetes.io/instance because Helm installed it (meta.helm.sh/release-name says so).
    assert.equal(await read({ namespace: 'shop', name: 'checkout-api' }), null);
    assert.equal(await read(frontend), null);
  });

  it('one list per kind and namespace reads the owners of many workloads; a missing one stays unknown', async () => {
    const owners = await readGitOpsOwners(kubectl, [{ ...cart, kind: 'Deployment' }, { ...payments, kind: 'Deployment' }, { ...frontend }, { namespace: 'gitops', kind: 'Deployment', name: 'gone' }], { concurrency: 2 });
    assert.equal(owners.get('gitops/Deployment/cart')?.tool, 'argocd');
    assert.equal(owners.get('gitops/Deployment/payments')?.tool, 'flux-kustomize');
    assert.equal(owners.get('shop/Deployment/frontend'), null);
    assert.equal(owners.has('gitops/Deployment/gone'), false);
  });

  it('managedFields: kustomize-controller applying the containers (server-side apply on the real API server) is certain', async () => {
    const plane = asControlPlane(cluster);
    assert.ok(plane, 'managedFields need the real API server');
    const manifest = JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'ledger', namespace: 'gitops' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'ledger' } }, template: { metadata: { labels: { app: 'ledger' } }, spec: { containers: [{ name: 'api', image: 'ghcr.io/example/ledger:1.0.0', resources: { requests: { cpu: '100m' } } }] } } },
    });
    plane.harnessKubectl(['apply', '--server-side', '--field-manager=kustomize-controller', '-f', '-'], manifest);
    try {
      const live = await kubectl.getObject({ namespace: 'gitops', kind: 'Deployment', name: 'ledger' });
      const owner = gitOpsOwner(live, 'Deployment');
      assert.equal(owner?.tool, 'flux-kustomize');
      assert.equal(owner?.name, null, 'managedFields name no Kustomization');
      assert.equal(owner?.confidence, 'certain');
      assert.match(owner?.evidence.join(' ') ?? '', /managedFields: kustomize-controller \(Apply\) owns the containers/);
      // Without the controller's entry, nothing says GitOps.
      assert.equal(gitOpsOwner({ ...live, metadata: { ...live.metadata, managedFields: [] } } as KubeObject, 'Deployment'), null);
    } finally {
      plane.harnessKubectl(['delete', 'deployment', 'ledger', '-n', 'gitops', '--wait=false']);
    }
  });
});

describe('GitOps owner rules (pure)', () => {
  it('a tracking-id naming another object is a hint (copied); a malformed one too; an app in another namespace is ns_app', () => {
    const copied = gitOpsOwner(object({ annotations: { 'argocd.argoproj.io/tracking-id': 'shop:apps/Deployment:shop/other' } }));
    assert.equal(copied?.confidence, 'hint');
    assert.match(copied?.evidence.join(' ') ?? '', /names another object/);
    assert.equal(gitOpsOwner(object({ annotations: { 'argocd.argoproj.io/tracking-id': 'garbage' } }))?.confidence, 'hint');
    assert.deepEqual(parseTrackingId('team-a_shop:apps/Deployment:shop/web'), { app: 'shop', appNamespace: 'team-a', group: 'apps', kind: 'Deployment', namespace: 'shop', name: 'web' });
    assert.equal(gitOpsOwner(object({ annotations: { 'argocd.argoproj.io/tracking-id': 'team-a_shop:apps/Deployment:shop/web' } }))?.namespace, 'team-a');
  });

  it('app.kubernetes.io/instance alone is a hint; with argocd-controller in managedFields it is certain and named', () => {
    const hint = gitOpsOwner(object({ labels: { 'app.kubernetes.io/instance': 'shop' } }));
    assert.deepEqual([hint?.tool, hint?.name, hint?.confidence], ['argocd', 'shop', 'hint']);
    const managed = gitOpsOwner(
      object({
        labels: { 'app.kubernetes.io/instance': 'shop' },
        managedFields: [{ manager: 'argocd-controller', operation: 'Update', fieldsV1: { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': {} } } } } } }],
      }),
    );
    assert.deepEqual([managed?.tool, managed?.name, managed?.confidence], ['argocd', 'shop', 'certain']);
    // A manager that touched only labels does not own the containers.
    assert.equal(gitOpsOwner(object({ managedFields: [{ manager: 'helm-controller', operation: 'Update', fieldsV1: { 'f:metadata': { 'f:labels': {} } } }] })), null);
  });

  it('a CronJob\'s containers are under its jobTemplate', () => {
    const fields = { 'f:spec': { 'f:jobTemplate': { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': {} } } } } } };
    assert.equal(gitOpsOwner(object({ managedFields: [{ manager: 'helm-controller', operation: 'Apply', fieldsV1: fields }] }, 'CronJob'), 'CronJob')?.tool, 'flux-helm');
  });

  it('Flux with reconciliation disabled is marked, and warns instead of blocking', () => {
    const owner = gitOpsOwner(object({ labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps' }, annotations: { 'kustomize.toolkit.fluxcd.io/reconcile': 'disabled' } }));
    assert.equal(owner?.reconcileDisabled, true);
    assert.deepEqual(gitOpsFindings('Deployment shop/web', { owner, directPatch: 'block' }).map((f) => [f.severity, f.rule]), [['warn', 'gitops-reconcile-disabled']]);
  });

  it('policy: block (default) names the owner, its evidence and where to change it; warn warns; allow says nothing; a hint never blocks', () => {
    const owner = gitOpsOwner(object({ labels: { 'helm.toolkit.fluxcd.io/name': 'web', 'helm.toolkit.fluxcd.io/namespace': 'flux-system' } }));
    const subject = { identity: { namespace: 'shop', kind: 'Deployment' as const, name: 'web' }, changes: [], resulting: [], hpaUtilizationTargets: [], allowLimitRemoval: false };
    const policy = parseSessionSettings({}).policy;
    const blocked = evaluatePolicies({ ...subject, gitops: { owner, directPatch: parseSessionSettings({}).gitops.directPatch } }, policy).find((f) => f.rule === 'gitops-owned');
    assert.equal(blocked?.severity, 'block');
    assert.match(blocked?.message ?? '', /reconciled from Git by Flux HelmRelease flux-system\/web \(label helm\.toolkit\.fluxcd\.io\/name=web/);
    assert.match(blocked?.message ?? '', /krr\.gitops\.directPatch/);
    const withManifest = gitOpsFindings('Deployment shop/web', { owner, directPatch: 'block', manifests: ['deploy/web/values-prod.yaml'] })[0];
    assert.match(withManifest?.message ?? '', /Change its manifest instead: deploy\/web\/values-prod\.yaml/);
    assert.equal(gitOpsFindings('x', { owner, directPatch: 'warn' })[0]?.severity, 'warn');
    assert.deepEqual(gitOpsFindings('x', { owner, directPatch: 'allow' }), []);
    const hint = gitOpsOwner(object({ labels: { 'app.kubernetes.io/instance': 'shop' } }));
    assert.deepEqual(gitOpsFindings('x', { owner: hint, directPatch: 'block' }).map((f) => f.severity), ['warn']);
    assert.deepEqual(gitOpsFindings('x', { owner: null, directPatch: 'block' }), []);
  });

  it('krr.gitops.directPatch: a workspace may tighten (allow → block) but not loosen (block → allow); garbage fails validation', () => {
    assert.equal(gateValue('strictest-mode', { defaultValue: 'block', workspaceValue: 'allow' }), 'block');
    assert.equal(gateValue('strictest-mode', { defaultValue: 'block', globalValue: 'allow', workspaceValue: 'warn' }), 'warn');
    assert.equal(gateValue('strictest-mode', { defaultValue: 'block', globalValue: 'warn', workspaceFolderValue: 'allow' }), 'warn');
    const layers: Record<string, { globalValue?: unknown; workspaceValue?: unknown }> = { 'gitops.directPatch': { globalValue: 'block', workspaceValue: 'allow' } };
    const settings = readSessionSettings((key) => layers[key]?.workspaceValue ?? layers[key]?.globalValue, true, (key) => layers[key]);
    assert.equal(settings.gitops.directPatch, 'block');
    assert.throws(() => parseSessionSettings({ gitops: { directPatch: 'sometimes' } }), /krr\.gitops\.directPatch/);
  });
});

describe('session: GitOps-owned workloads in proposals and listings', function () {
  this.timeout(120_000);
  let f: SessionFixture;
  afterEach(async () => f?.close());

  it('default (block): Argo CD and Flux workloads are blocked with their owner, the rest proceeds; list rows show owners', async () => {
    f = await startSessionFixture();
    const { reportId } = await f.session.loadReport(writeGitOpsReport(f.stateDir), human);
    const before = f.session.listRecommendations({ reportId, namespace: 'gitops', pageSize: 50 });
    assert.ok(before.rows.every((row) => row.gitopsOwner === undefined), 'unknown until the live objects are read');
    assert.equal(await f.session.readGitOpsOwners(reportId), null);
    const rows = f.session.listRecommendations({ reportId, pageSize: 50 }).rows;
    const ownerOf = (name: string) => rows.find((row) => row.name === name)?.gitopsOwner;
    assert.equal(ownerOf('cart')?.tool, 'argocd');
    assert.equal(ownerOf('payments')?.tool, 'flux-kustomize');
    assert.equal(ownerOf('search')?.tool, 'flux-helm');
    assert.equal(ownerOf('frontend'), null);

    const plan = await f.session.propose({ reportId, workloads: [cart, payments, search, frontend], includeLimits: true }, model);
    assert.deepEqual(plan.objects.map((o) => o.name), ['frontend']);
    assert.deepEqual(plan.blocked.map((b) => [b.name, b.gitopsOwner?.tool]).sort(), [['cart', 'argocd'], ['payments', 'flux-kustomize'], ['search', 'flux-helm']]);
    assert.match(plan.blocked.find((b) => b.name === 'cart')?.reasons.join(' ') ?? '', /reconciled from Git by Argo CD Application shop-gitops/);

    // The review panel's rows: a badge with the evidence as its tooltip; no badge for nobody; unknown stays absent.
    const panel = rows.map((row) => toPanelRow(row));
    assert.deepEqual(panel.find((row) => row.name === 'payments')?.owner, { label: 'Flux Kustomization flux-system/apps', title: 'Reconciled from Git: label kustomize.toolkit.fluxcd.io/name=apps; label kustomize.toolkit.fluxcd.io/namespace=flux-system', certain: true });
    assert.equal(panel.find((row) => row.name === 'frontend')?.owner, null);
    assert.equal('owner' in (before.rows.map((row) => toPanelRow(row))[0] ?? {}), false);
  });

  it('warn: the workload is proposed with a warning and its owner; tightening to block before the apply refuses it, nothing written', async () => {
    f = await startSessionFixture({ settings: { gitops: { directPatch: 'warn' } } });
    const { reportId } = await f.session.loadReport(writeGitOpsReport(f.stateDir), human);
    const plan = await f.session.propose({ reportId, workloads: [cart] }, human);
    assert.deepEqual(plan.objects.map((o) => o.name), ['cart']);
    assert.equal(plan.objects[0]?.gitopsOwner?.tool, 'argocd');
    assert.ok(plan.objects[0]?.findings.some((finding) => finding.rule === 'gitops-owned' && finding.severity === 'warn'));
    const before = resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'gitops', 'cart');
    f.settings = { ...f.settings, gitops: { directPatch: 'block' } };
    f.human.answer = 'approve';
    const writes = f.cluster.writes().length;
    const outcome = await f.session.apply(plan.id, human);
    assert.equal(outcome.status, 'stale', outcome.message);
    assert.match(outcome.objects[0]?.message ?? '', /reconciled from Git by Argo CD Application shop-gitops and krr\.gitops\.directPatch is "block"/);
    assert.equal(f.cluster.writes().length, writes);
    assert.deepEqual(resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'gitops', 'cart'), before);
  });

  it('allow: the patch goes through (the person chose it), and the proposal still names the owner', async () => {
    f = await startSessionFixture({ settings: { gitops: { directPatch: 'allow' } } });
    const { reportId } = await f.session.loadReport(writeGitOpsReport(f.stateDir), human);
    const plan = await f.session.propose({ reportId, workloads: [payments] }, human);
    assert.equal(plan.objects[0]?.gitopsOwner?.tool, 'flux-kustomize');
    f.human.answer = 'approve';
    const outcome = await f.session.apply(plan.id, human);
    assert.equal(outcome.status, 'applied', outcome.message);
  });
});

describe('MCP: krr_list_recommendations rows carry the GitOps owner', function () {
  this.timeout(120_000);
  let f: SessionFixture | undefined;
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    await f?.close();
  });

  it('reads the owners of the page (structured and in the text); unknown when the cluster cannot be read', async () => {
    const { startHttpHost } = await import('../../src/mcp/http');
    const { connectHttp, call, data, textOf } = await import('../abuse/harness');
    f = await startSessionFixture();
    const host = await startHttpHost(f.session, { version: 'test' });
    const client = await connectHttp(host);
    close = async () => {
      await client.close();
      await host.close();
    };
    const { reportId } = data<{ reportId: string }>(await call(client, 'krr_load_report', { path: writeGitOpsReport(f.stateDir) }));
    const listed = await call(client, 'krr_list_recommendations', { reportId, namespace: 'gitops', sort: 'name' });
    const rows = data<{ rows: Array<{ name: string; gitopsOwner?: { tool: string; name: string | null; confidence: string } | null }> }>(listed).rows;
    assert.deepEqual(rows.map((row) => [row.name, row.gitopsOwner?.tool, row.gitopsOwner?.confidence]), [['cart', 'argocd', 'certain'], ['payments', 'flux-kustomize', 'certain'], ['search', 'flux-helm', 'certain']]);
    assert.match(textOf(listed), /gitops\/Deployment\/cart \[api\].*reconciled from Git by Argo CD Application shop-gitops/);
    const shop = data<{ rows: Array<{ name: string; gitopsOwner?: unknown }> }>(await call(client, 'krr_list_recommendations', { reportId, namespace: 'shop' })).rows;
    assert.ok(shop.every((row) => row.gitopsOwner === null), 'nobody owns the shop workloads');

    // Another report, the cluster gone: the rows say unknown (no owner field) and why.
    const second = data<{ reportId: string }>(await call(client, 'krr_load_report', { path: writeGitOpsReport(f.stateDir) }));
    f.settings = { ...f.settings, kubeconfig: path.join(f.stateDir, 'no-such-kubeconfig') };
    const unknown = await call(client, 'krr_list_recommendations', { reportId: second.reportId, namespace: 'gitops' });
    const structured = data<{ rows: Array<Record<string, unknown>>; gitopsOwnersUnknown?: string }>(unknown);
    assert.ok(structured.rows.every((row) => !('gitopsOwner' in row)));
    assert.ok(structured.gitopsOwnersUnknown);
    assert.match(textOf(unknown), /GitOps owner unknown/);
  });
});
