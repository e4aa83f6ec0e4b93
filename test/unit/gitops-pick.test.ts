// Picking one of several sources (issue 24): an ambiguous workload lists its sources with ids; a proposal given one of
// those ids edits exactly that source, and the pick is part of the plan's digest; an id that matches no source found
// now is refused, never widened to another. Real `kubectl kustomize` on the fixtures in test/fixtures/gitops.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AuditLog } from '../../src/core/audit';
import { fileKeyStore } from '../../src/core/auditKey';
import { executeManifestPlan, fileManifestWriter } from '../../src/core/gitops/apply';
import { manifestApprovalText } from '../../src/core/gitops/approval';
import type { ManifestPlan, WorkloadTarget } from '../../src/core/gitops/model';
import { manifestPlanDigest, proposeManifestPlan } from '../../src/core/gitops/propose';
import { restoreManifestPlan, storedManifestPlan } from '../../src/core/gitops/stored';
import { workspaceFolders } from '../../src/core/gitops/workspace';
import type { DesiredResources } from '../../src/core/plan/build';
import type { ApprovalDecision, Approver } from '../../src/core/model';
import { Session } from '../../src/core/session/session';
import { parseSessionSettings } from '../../src/core/settings';
import { krrReportJson } from '../support/krr-report';

const fixtures = path.resolve(__dirname, '..', 'fixtures', 'gitops');

function frontend(source?: string): WorkloadTarget {
  const desired = new Map<string, DesiredResources>([['app', { requests: { cpu: '150m' }, limits: {} }]]);
  return { namespace: 'shop', kind: 'Deployment', name: 'frontend', group: 'apps', context: null, desired, ...(source !== undefined ? { source } : {}) };
}

function web(source?: string): WorkloadTarget {
  const desired = new Map<string, DesiredResources>([['app', { requests: { cpu: '900m' }, limits: {} }]]);
  return { namespace: 'prod', kind: 'Deployment', name: 'web', group: 'apps', context: null, desired, ...(source !== undefined ? { source } : {}) };
}

describe('gitops: picking one of several sources', function () {
  this.timeout(120_000);
  let dir: string;
  let stateDir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'krr-pick-'));
    stateDir = mkdtempSync(path.join(tmpdir(), 'krr-pick-state-'));
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

  async function propose(roots: string[], targets: WorkloadTarget[]): Promise<ManifestPlan> {
    return proposeManifestPlan(targets, { folders: await workspaceFolders(roots), kubectlPath: 'kubectl', requester: { type: 'model', via: 'test' }, now: new Date(), ttlSeconds: 600, context: null });
  }

  it('an ambiguous workload lists each source with its id, and nothing is edited', async () => {
    const plan = await propose([copy('plain', 'one'), copy('plain', 'two')], [frontend()]);
    assert.equal(plan.files.length, 0);
    const refused = plan.unresolved[0];
    assert.match(refused?.reason ?? '', /^2 sources could define Deployment shop\/frontend; KRR does not pick one — choose one of them/);
    assert.deepEqual(refused?.sources, [
      { id: 'manifest:one/apps/shop.yaml#2', label: 'one/apps/shop.yaml (document 2)' },
      { id: 'manifest:two/apps/shop.yaml#2', label: 'two/apps/shop.yaml (document 2)' },
    ]);
  });

  it('the picked source is the one edited; the other stays byte for byte', async () => {
    const one = copy('plain', 'one');
    const two = copy('plain', 'two');
    const before = readFileSync(path.join(one, 'apps/shop.yaml'), 'utf8');
    const plan = await propose([one, two], [frontend('manifest:two/apps/shop.yaml#2')]);
    assert.deepEqual(plan.unresolved, []);
    assert.deepEqual(plan.files.map((file) => [file.folder, file.path]), [['two', 'apps/shop.yaml']]);
    assert.deepEqual(plan.workloads[0]?.source, { finder: 'manifest', label: 'two/apps/shop.yaml (document 2)', folder: 'two', guess: false, id: 'manifest:two/apps/shop.yaml#2', chosen: true });
    const audit = await AuditLog.open(path.join(stateDir, 'audit.jsonl'), { keys: fileKeyStore(path.join(stateDir, 'audit.key')) });
    const result = await executeManifestPlan(plan, { writer: fileManifestWriter(), audit, actor: { type: 'human', via: 'test' } });
    assert.equal(result.status, 'applied', result.message);
    assert.match(readFileSync(path.join(two, 'apps/shop.yaml'), 'utf8'), /cpu: '150m'/);
    assert.equal(readFileSync(path.join(one, 'apps/shop.yaml'), 'utf8'), before);
    // The person approving sees that the source was picked.
    assert.match(manifestApprovalText(plan, { type: 'human', via: 'test' }).detail, /two\/apps\/shop\.yaml \(document 2\)\u2069? \(the source picked among the candidates\)/u);
  });

  it('between two Kustomize overlays: the pick decides which overlay gets the patch', async () => {
    const root = copy('kustomize');
    cpSync(path.join(root, 'overlays/prod'), path.join(root, 'overlays/prod-us'), { recursive: true });
    const listed = await propose([root], [web()]);
    assert.deepEqual(listed.unresolved[0]?.sources?.map((source) => source.id), ['kustomize:kustomize/overlays/prod', 'kustomize:kustomize/overlays/prod-us']);
    const picked = await propose([root], [web('kustomize:kustomize/overlays/prod')]);
    assert.deepEqual(picked.unresolved, []);
    assert.deepEqual(picked.files.map((file) => file.path), ['overlays/prod/web-resources.yaml']);
    const other = await propose([root], [web('kustomize:kustomize/overlays/prod-us')]);
    assert.deepEqual(other.files.map((file) => file.path), ['overlays/prod-us/web-resources.yaml']);
    assert.notEqual(other.digest, picked.digest);
  });

  it('the digest covers the pick: another source id, or the pick dropped, is another plan', async () => {
    const plan = await propose([copy('plain', 'one'), copy('plain', 'two')], [frontend('manifest:one/apps/shop.yaml#2')]);
    const workload = plan.workloads[0]!;
    assert.equal(manifestPlanDigest(plan), plan.digest);
    assert.notEqual(manifestPlanDigest({ ...plan, workloads: [{ ...workload, source: { ...workload.source, id: 'manifest:two/apps/shop.yaml#2' } }] }), plan.digest);
    const unpicked = { ...workload.source };
    delete unpicked.chosen;
    assert.notEqual(manifestPlanDigest({ ...plan, workloads: [{ ...workload, source: unpicked }] }), plan.digest);
  });

  it('a pick changed in the stored plan after the proposal is refused: its digest no longer matches', async () => {
    const one = copy('plain', 'one');
    const two = copy('plain', 'two');
    const plan = await propose([one, two], [frontend('manifest:one/apps/shop.yaml#2')]);
    const roots = plan.folders.map((folder) => folder.root);
    const kept = await restoreManifestPlan(storedManifestPlan(plan), roots);
    assert.ok(kept.ok, kept.ok ? '' : kept.reason);
    assert.equal(kept.plan.digest, plan.digest);
    const repicked = storedManifestPlan(plan);
    repicked.workloads[0]!.source.id = 'manifest:two/apps/shop.yaml#2';
    const refused = await restoreManifestPlan(repicked, roots);
    assert.deepEqual(refused, { ok: false, stale: false, reason: 'its digest does not match its files and workloads' });
    const unpicked = storedManifestPlan(plan);
    delete unpicked.workloads[0]!.source.chosen;
    assert.equal((await restoreManifestPlan(unpicked, roots)).ok, false);
  });

  it('the pick survives the state directory: a plan proposed in one process is written by another', async () => {
    const one = copy('plain', 'one');
    const two = copy('plain', 'two');
    const mi = 2 ** 20;
    const amounts = (cpu: number, memory: number) => ({ requests: { cpu, memory }, limits: { cpu: null, memory: 1024 * mi } });
    const report = path.join(dir, 'report.json');
    writeFileSync(report, krrReportJson([{ namespace: 'shop', kind: 'Deployment', name: 'frontend', containers: { app: { current: amounts(0.5, 512 * mi), recommended: amounts(0.25, 384 * mi) } } }], { cluster: null, pods: 'none' }));
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
    const options = { settings: () => settings, approver, stateDir, workspace: { folders: () => [one, two], writer: fileManifestWriter() } };
    const person = { type: 'human' as const, via: 'command palette' };
    const proposer = new Session(options);
    const { reportId } = await proposer.loadReport(report, person);
    const plan = await proposer.proposeManifests({ reportId, workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'frontend', source: 'manifest:two/apps/shop.yaml#2' }], target: 'manifests' }, person);
    assert.deepEqual(plan.files.map((file) => file.folder), ['two']);
    const before = readFileSync(path.join(one, 'apps/shop.yaml'), 'utf8');
    // Rebuilt from the state file: a pick the stored form dropped would fail the digest and be refused.
    const outcome = await new Session(options).apply(plan.id, person);
    assert.equal(outcome.status, 'applied', outcome.message);
    assert.deepEqual(asked, [plan.digest]);
    // The quoted value of document 2 (the canary document below it has an unquoted 250m of its own).
    assert.match(readFileSync(path.join(two, 'apps/shop.yaml'), 'utf8'), /cpu: '250m'/);
    assert.equal(readFileSync(path.join(one, 'apps/shop.yaml'), 'utf8'), before);
  });

  it('a pick that matches no source found now is refused with the sources there are, never widened to another', async () => {
    const one = copy('plain', 'one');
    const two = copy('plain', 'two');
    const unknown = await propose([one, two], [frontend('manifest:three/apps/shop.yaml#2')]);
    assert.equal(unknown.files.length, 0);
    assert.match(unknown.unresolved[0]?.reason ?? '', /^the chosen source manifest:three\/apps\/shop\.yaml#2 is not a source of Deployment shop\/frontend now; pick one of the 2 sources found$/);
    assert.deepEqual(unknown.unresolved[0]?.sources?.map((source) => source.id), ['manifest:one/apps/shop.yaml#2', 'manifest:two/apps/shop.yaml#2']);
    // The picked overlay is gone: the one left is not taken in its place.
    const root = copy('kustomize');
    cpSync(path.join(root, 'overlays/prod'), path.join(root, 'overlays/prod-us'), { recursive: true });
    rmSync(path.join(root, 'overlays/prod'), { recursive: true });
    const stale = await propose([root], [web('kustomize:kustomize/overlays/prod')]);
    assert.equal(stale.files.length, 0);
    assert.match(stale.unresolved[0]?.reason ?? '', /the chosen source kustomize:kustomize\/overlays\/prod is not a source of Deployment prod\/web now; the one source found is listed: pick it if it is the right one$/);
    assert.deepEqual(stale.unresolved[0]?.sources?.map((source) => source.id), ['kustomize:kustomize/overlays/prod-us']);
    // A path-like id is only ever compared: it names nothing the finders did not find.
    const outside = await propose([one], [frontend('manifest:one/../../etc/passwd')]);
    assert.equal(outside.files.length, 0);
    assert.match(outside.unresolved[0]?.reason ?? '', /^the chosen source manifest:one\/\.\.\/\.\.\/etc\/passwd is not a source/);
    // No source at all: the pick is named too.
    rmSync(path.join(one, 'apps/shop.yaml'));
    const gone = await propose([one], [frontend('manifest:one/apps/shop.yaml#2')]);
    assert.match(gone.unresolved[0]?.reason ?? '', /^the chosen source manifest:one\/apps\/shop\.yaml#2 is not a source of Deployment shop\/frontend now; no manifest in the workspace folders \(one\) defines/);
  });

  it('the session refuses a pick for a cluster proposal, and the same workload twice with different picks', async () => {
    const one = copy('plain', 'one');
    const settings = parseSessionSettings({ kubectlPath: 'kubectl', kubeconfig: path.join(dir, 'no-kubeconfig') });
    const approver: Approver = { show: async () => undefined, requestApproval: async () => ({ outcome: 'declined', reason: 'no' }) };
    const session = new Session({ settings: () => settings, approver, stateDir, workspace: { folders: () => [one], writer: fileManifestWriter() } });
    const person = { type: 'human' as const, via: 'command palette' };
    const mi = 2 ** 20;
    const report = path.join(dir, 'report.json');
    writeFileSync(report, krrReportJson([{ namespace: 'shop', kind: 'Deployment', name: 'frontend', containers: { app: { current: { requests: { cpu: 0.5, memory: 512 * mi }, limits: { cpu: null, memory: null } }, recommended: { requests: { cpu: 0.25, memory: 384 * mi }, limits: { cpu: null, memory: null } } } } }], { cluster: null, pods: 'none' }));
    const { reportId } = await session.loadReport(report, person);
    const ref = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };
    await assert.rejects(session.propose({ reportId, workloads: [{ ...ref, source: 'manifest:one/apps/shop.yaml#2' }] }, person), /source picks a manifest in the workspace/);
    await assert.rejects(session.proposeManifests({ reportId, workloads: [{ ...ref, source: 'manifest:one/apps/shop.yaml#2' }, { ...ref, source: 'manifest:one/apps/shop.yaml' }], target: 'manifests' }, person), /listed twice with different sources/);
  });
});
