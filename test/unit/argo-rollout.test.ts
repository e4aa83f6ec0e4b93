// Argo Rollouts (argoproj.io/v1alpha1 Rollout) are patched like Deployments when the cluster serves their CRD — on the
// real control plane, with the CRD installed by this test (and removed after it); without the CRD they are listed
// and "not patchable here". The API server's audit log shows the write.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { asControlPlane, type ControlPlane } from '../support/test-cluster';
import { human, startSessionFixture, type SessionFixture } from '../support/session-fixture';

const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'rollouts.argoproj.io' },
  spec: {
    group: 'argoproj.io',
    names: { kind: 'Rollout', listKind: 'RolloutList', plural: 'rollouts', singular: 'rollout', shortNames: ['ro'] },
    scope: 'Namespaced',
    versions: [{ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} }, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

const rollout = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'checkout-canary', namespace: 'shop' },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'checkout-canary' } },
    strategy: { canary: { steps: [{ setWeight: 20 }, { pause: {} }] } },
    template: {
      metadata: { labels: { app: 'checkout-canary' } },
      spec: { containers: [{ name: 'api', image: 'ghcr.io/example/checkout-api:2.4.1', resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } } }] },
    },
  },
};

describe('Argo Rollouts (real control plane, CRD installed by the test)', function () {
  this.timeout(180_000);
  let f: SessionFixture;
  let plane: ControlPlane;
  let dir: string;
  let reportId: string;
  const workloads = [{ namespace: 'shop', kind: 'Rollout', name: 'checkout-canary' }];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-rollout-'));
    // krr's report of the Rollout: the sample's checkout-api scan under the Rollout's identity.
    const sample = JSON.parse(readFileSync(path.join(__dirname, '..', 'support', 'krr-standin', 'sample-report.json'), 'utf8')) as { scans: Array<{ object: { kind: string; name: string } }> };
    const scan = structuredClone(sample.scans.find((entry) => entry.object.name === 'checkout-api'));
    assert.ok(scan);
    scan.object.kind = 'Rollout';
    scan.object.name = 'checkout-canary';
    const file = path.join(dir, 'report.json');
    writeFileSync(file, JSON.stringify({ ...sample, scans: [...sample.scans, scan] }));
    // 87m from 500m is a -83% cut: let the policy allow it so the Rollout is not blocked for that.
    f = await startSessionFixture({ cluster: { light: false }, settings: { policy: { maxDecreasePercent: 90 } }, session: { env: { KRR_STANDIN_REPORT: file } } });
    const control = asControlPlane(f.cluster);
    assert.ok(control, 'the real control plane');
    plane = control;
    reportId = (await f.session.scan({ namespaces: ['shop'] }, human)).reportId;
  });
  after(async () => {
    try {
      plane?.harnessKubectl(['delete', 'customresourcedefinition', 'rollouts.argoproj.io', '--ignore-not-found', '--wait=true']);
    } finally {
      await f?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without the CRD: listed, and a proposal says "not patchable here" (nothing written)', async () => {
    const row = f.session.listRecommendations({ reportId, kind: 'Rollout' }).rows[0];
    assert.equal(row?.patchable, true, 'a Rollout is patchable in principle');
    const plan = await f.session.propose({ reportId, workloads }, human);
    assert.equal(plan.objects.length, 0);
    assert.match(plan.blocked[0]?.reasons.join(' ') ?? '', /not patchable here: this cluster does not serve the Argo Rollouts CRD/);
  });

  it('with the CRD served: proposed, dry-run, approved and written like a Deployment', async () => {
    plane.harnessKubectl(['apply', '-f', '-'], JSON.stringify(crd));
    plane.harnessKubectl(['wait', '--for=condition=Established', '--timeout=60s', 'customresourcedefinition/rollouts.argoproj.io']);
    plane.harnessKubectl(['apply', '-f', '-'], JSON.stringify(rollout));
    const plan = await f.session.propose({ reportId, workloads }, human);
    assert.deepEqual(plan.blocked, []);
    assert.equal(plan.objects[0]?.kind, 'Rollout');
    assert.equal(plan.objects[0]?.apiVersion, 'argoproj.io/v1alpha1');
    assert.deepEqual(plan.objects[0]?.changes.map((change) => `${change.allocation}.${change.resource} ${change.from}→${change.to}`), ['requests.cpu 500m→87m', 'requests.memory 512Mi→347Mi']);
    f.human.answer = 'approve';
    const outcome = await f.session.apply(plan.id, human);
    assert.equal(outcome.status, 'applied', outcome.message);
    const live = JSON.parse(plane.harnessKubectl(['get', 'rollouts.argoproj.io', 'checkout-canary', '-n', 'shop', '-o', 'json'])) as typeof rollout;
    assert.deepEqual(live.spec.template.spec.containers[0]?.resources.requests, { cpu: '87m', memory: '347Mi' });
    const writes = plane.auditEvents().filter((event) => JSON.stringify(event).includes('rollouts') && JSON.stringify(event).includes('checkout-canary'));
    assert.ok(writes.length > 0, 'the API server logged the patch of the Rollout');
  });
});
