// What only the real kube-apiserver can show: admission policies (a ValidatingAdmissionPolicy that denies a
// change, a MutatingAdmissionPolicy that rewrites a written value) and kubectl version skew.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { asControlPlane } from '../support/test-cluster';
import { human, model, resourcesOf, startSessionFixture, type SessionFixture } from '../support/session-fixture';

const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };
const postgres = { namespace: 'data', kind: 'StatefulSet', name: 'postgres' };

/** Frozen resources in `shop`: any change to a container's resources is denied, dry runs included. */
const freezePolicy = `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: krr-test-freeze-resources}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: ["apps"], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["deployments"]}
  validations:
    - expression: "object.spec.template.spec.containers.all(c, oldObject.spec.template.spec.containers.exists(o, o.name == c.name && (has(o.resources) ? o.resources : {}) == (has(c.resources) ? c.resources : {})))"
      message: "resources in shop are frozen for the holiday season"
      reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: krr-test-freeze-resources}
spec:
  policyName: krr-test-freeze-resources
  validationActions: [Deny]
  matchResources:
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}
`;

/** A platform rule that rewrites every memory limit written to a Deployment in shop to 2Gi. */
const memoryLimitPolicy = `
apiVersion: admissionregistration.k8s.io/v1alpha1
kind: MutatingAdmissionPolicy
metadata: {name: krr-test-memory-limit}
spec:
  failurePolicy: Fail
  reinvocationPolicy: Never
  matchConstraints:
    resourceRules:
      - {apiGroups: ["apps"], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["deployments"]}
  mutations:
    - patchType: JSONPatch
      jsonPatch:
        expression: >
          object.spec.template.spec.containers.map(c, object.spec.template.spec.containers.indexOf(c)).filter(i,
            has(object.spec.template.spec.containers[i].resources.limits) && has(object.spec.template.spec.containers[i].resources.limits.memory)
          ).map(i, JSONPatch{op: "replace", path: "/spec/template/spec/containers/" + string(i) + "/resources/limits/memory", value: "2Gi"})
---
apiVersion: admissionregistration.k8s.io/v1alpha1
kind: MutatingAdmissionPolicyBinding
metadata: {name: krr-test-memory-limit}
spec:
  policyName: krr-test-memory-limit
  matchResources:
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}
`;

describe('real control plane: admission policies and kubectl version skew', function () {
  this.timeout(180_000);
  let f: SessionFixture;
  /** True once the API server no longer enforces what the test installed (its informer lags the delete). */
  let released: (() => boolean) | undefined;

  afterEach(async () => {
    const plane = f ? asControlPlane(f.cluster) : undefined;
    if (plane) {
      for (const kind of ['validatingadmissionpolicybinding', 'validatingadmissionpolicy', 'mutatingadmissionpolicybinding', 'mutatingadmissionpolicy']) {
        plane.harnessKubectl(['delete', kind, '-l', 'krr-test=admission', '--ignore-not-found']);
      }
      // The next test's cluster reset must not be admitted through a policy that is still cached.
      const deadline = Date.now() + 30_000;
      while (released && !released()) {
        if (Date.now() > deadline) throw new Error('the admission policy was still enforced 30 s after it was deleted');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    released = undefined;
    await f?.close();
  });

  /** Installs policies and waits until the API server enforces them (its policy informer syncs in the background). */
  async function install(documents: string, enforced: () => boolean): Promise<void> {
    const plane = asControlPlane(f.cluster);
    assert.ok(plane, 'these tests need the real control plane');
    const labelled = documents.replace(/metadata: \{name: ([^}]+)\}/g, 'metadata: {name: $1, labels: {krr-test: admission}}');
    plane.harnessKubectl(['apply', '-f', '-'], labelled);
    const deadline = Date.now() + 30_000;
    while (!enforced()) {
      if (Date.now() > deadline) throw new Error('the admission policy was not enforced within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  function dryRunCpu(cpu: string): string {
    const plane = asControlPlane(f.cluster);
    try {
      plane?.harnessKubectl(['patch', 'deployment', 'frontend', '-n', 'shop', '--dry-run=server', '-o', 'json', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/resources/requests/cpu', value: cpu }])]);
      return 'admitted';
    } catch (error) {
      return String((error as { stderr?: string }).stderr ?? error);
    }
  }

  it('a ValidatingAdmissionPolicy that denies the change: the proposal shows the reason from the dry run, and nothing is written', async () => {
    f = await startSessionFixture();
    await install(freezePolicy, () => dryRunCpu('123m').includes('frozen'));
    released = () => dryRunCpu('123m') === 'admitted';
    f.cluster.clearMutations();
    const scan = await f.session.scan({}, model);
    const plan = await f.session.propose({ reportId: scan.reportId, workloads: [frontend, postgres], includeLimits: true }, model);
    const blocked = plan.blocked.find((b) => b.name === 'frontend');
    assert.ok(blocked, `frontend should be blocked: ${JSON.stringify(plan.blocked)}`);
    assert.match(blocked.reasons.join(' '), /dry-run rejected the change: .*resources in shop are frozen for the holiday season/);
    assert.deepEqual(plan.objects.map((o) => o.name), ['postgres'], 'the other workload is still proposed');
    const dryRuns = f.cluster.mutations();
    assert.ok(dryRuns.length >= 2 && dryRuns.every((m) => m.dryRun), 'only dry runs reached the API server');
    assert.ok(dryRuns.some((m) => m.status === 403), 'the policy answered the dry run with 403');
    assert.equal(f.cluster.writes().length, 0);
  });

  it('a MutatingAdmissionPolicy that rewrites a written value: flagged at proposal, and reported as a verification difference after apply', async () => {
    f = await startSessionFixture();
    const plane = asControlPlane(f.cluster);
    const memoryLimit = (): string => JSON.parse(plane?.harnessKubectl(['patch', 'deployment', 'frontend', '-n', 'shop', '--dry-run=server', '-o', 'json', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/resources/limits/memory', value: '999Mi' }])]) ?? '{}').spec?.template?.spec?.containers?.[0]?.resources?.limits?.memory;
    await install(memoryLimitPolicy, () => memoryLimit() === '2Gi');
    released = () => memoryLimit() === '999Mi';
    const scan = await f.session.scan({}, model);
    const plan = await f.session.propose({ reportId: scan.reportId, workloads: [frontend], includeLimits: true }, model);
    const change = plan.objects.find((o) => o.name === 'frontend');
    assert.ok(change, JSON.stringify(plan.blocked));
    assert.ok(change.findings.some((finding) => finding.rule === 'admission-changed'), 'the dry run showed the server would change the values');
    f.human.answer = 'approve';
    const outcome = await f.session.apply(plan.id, model);
    assert.equal(outcome.status, 'applied', outcome.message);
    assert.equal(outcome.verified, false, 'the stored value differs from the approved one');
    assert.match(outcome.message, /verification found a difference/);
    assert.equal(f.cluster.writes().length, 1);
    const written = resourcesOf(f.cluster, 'apps/v1', 'Deployment', 'shop', 'frontend') as Record<string, { limits?: { memory?: string } }>;
    assert.equal(Object.values(written)[0]?.limits?.memory, '2Gi');
    const audit = await f.session.auditLog({ pageSize: 100 });
    assert.ok(audit.entries.some((entry) => entry.action === 'verify' && entry.outcome === 'mismatch'));
  });

  it('a restore that admission rewrites is reported as not restored, never as "restored"', async () => {
    f = await startSessionFixture({ settings: { applyConcurrency: 1 } });
    const plane = asControlPlane(f.cluster);
    assert.ok(plane);
    // postgres (container 0, postgresql, memory limit 512Mi) is written first; the write after it fails.
    const limitAfterDryRun = (value: string): string => JSON.parse(plane.harnessKubectl(['patch', 'statefulset', 'postgres', '-n', 'data', '--dry-run=server', '-o', 'json', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/resources/limits/memory', value }])])).spec.template.spec.containers[0].resources.limits.memory;
    // Only a write that sets a memory limit of exactly 512Mi (what the restore writes back) is rewritten.
    const restoreRewrite = memoryLimitPolicy
      .replaceAll('krr-test-memory-limit', 'krr-test-restore-rewrite')
      .replace('resources: ["deployments"]', 'resources: ["statefulsets"]')
      .replace('{kubernetes.io/metadata.name: shop}', '{kubernetes.io/metadata.name: data}')
      .replace('has(object.spec.template.spec.containers[i].resources.limits.memory)', "has(object.spec.template.spec.containers[i].resources.limits.memory) && object.spec.template.spec.containers[i].resources.limits.memory == '512Mi'")
      .replace('value: "2Gi"', 'value: "600Mi"');
    await install(restoreRewrite, () => limitAfterDryRun('512Mi') === '600Mi');
    released = () => limitAfterDryRun('512Mi') === '512Mi';
    assert.equal(limitAfterDryRun('900Mi'), '900Mi', 'other values are not rewritten');
    const scan = await f.session.scan({}, model);
    const plan = await f.session.propose({ reportId: scan.reportId, workloads: [frontend, postgres], includeLimits: true }, model);
    assert.deepEqual(plan.objects.map((o) => o.name), ['postgres', 'frontend']);
    f.cluster.faults.failNthWrite(2, 500);
    f.human.answer = 'approve';
    const outcome = await f.session.apply(plan.id, model);
    assert.equal(outcome.status, 'failed', outcome.message);
    assert.match(outcome.message, /could NOT all be restored/);
    const restored = outcome.objects.find((o) => o.name === 'postgres');
    assert.equal(restored?.result, 'restore-failed', JSON.stringify(outcome.objects));
    assert.match(restored?.message ?? '', /the API server stored different values .*mutating admission/);
  });

  it('a status update between proposal and apply (a rollout in progress) does not make the plan stale; a spec change does', async () => {
    f = await startSessionFixture();
    const plane = asControlPlane(f.cluster);
    assert.ok(plane);
    const scan = await f.session.scan({}, model);
    const bumpStatus = (): void => {
      // What the deployment controller does during a rollout: a status write, which changes the resourceVersion only.
      plane.harnessKubectl(['patch', 'deployment', 'frontend', '-n', 'shop', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { observedGeneration: 1, unavailableReplicas: 1 } })]);
    };
    const first = await f.session.propose({ reportId: scan.reportId, workloads: [frontend], includeLimits: true }, model);
    const rvBefore = (f.cluster.getObject('apps/v1', 'Deployment', 'shop', 'frontend') as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    bumpStatus();
    assert.notEqual((f.cluster.getObject('apps/v1', 'Deployment', 'shop', 'frontend') as { metadata: { resourceVersion: string } }).metadata.resourceVersion, rvBefore);
    f.human.answer = 'approve';
    const applied = await f.session.apply(first.id, model);
    assert.equal(applied.status, 'applied', applied.message);

    const second = await f.session.propose({ reportId: scan.reportId, workloads: [postgres], includeLimits: true }, model);
    plane.harnessKubectl(['patch', 'statefulset', 'postgres', '-n', 'data', '--type=merge', '-p', JSON.stringify({ spec: { template: { metadata: { annotations: { 'example.com/restarted-at': 'now' } } } } })]);
    const stale = await f.session.apply(second.id, model);
    assert.equal(stale.status, 'stale', stale.message);
    assert.match(stale.message, /changed since it was proposed/);
    assert.equal(f.cluster.writes().length, 1, 'only the first plan wrote');
  });

  for (const version of ['1.27', '1.33']) {
    const kubectlPath = `/usr/lib/google-cloud-sdk/bin/kubectl.${version}`;
    it(`apply and rollback with kubectl ${version} (the oldest and newest on the machine)`, async function () {
      assert.ok(existsSync(kubectlPath), `${kubectlPath} is missing: this machine image ships kubectl 1.27–1.33 there`);
      f = await startSessionFixture({ settings: { kubectlPath } });
      const before = resourcesOf(f.cluster, 'apps/v1', 'StatefulSet', 'data', 'postgres');
      const scan = await f.session.scan({}, model);
      const plan = await f.session.propose({ reportId: scan.reportId, workloads: [frontend, postgres], includeLimits: true }, model);
      assert.equal(plan.objects.length, 2, JSON.stringify(plan.blocked));
      f.human.answer = 'approve';
      const outcome = await f.session.apply(plan.id, model);
      assert.equal(outcome.status, 'applied', outcome.message);
      assert.equal(outcome.verified, true);
      assert.equal(f.cluster.writes().length, 2);
      const rollback = await f.session.rollback(outcome.snapshotId as string, human);
      assert.equal(rollback.status, 'applied', rollback.message);
      assert.deepEqual(resourcesOf(f.cluster, 'apps/v1', 'StatefulSet', 'data', 'postgres'), before);
    });
  }
});
