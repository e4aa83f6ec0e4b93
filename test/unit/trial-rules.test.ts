// The pure rules of a trial (core/trial): which pods take part, the resize patch and its revert, what one look at a pod
// says (the kubelet's own fields, as a 1.33 kubelet writes them), the label selector and the API channel's pod paths.
import assert from 'node:assert/strict';
import { labelSelector } from '../../src/core/kube/kubectl';
import { podPathsPattern } from '../../src/core/kube/apiChannel';
import type { Pod } from '../../src/core/kube/pod';
import type { DesiredResources } from '../../src/core/plan/build';
import { trialDigest } from '../../src/core/trial/digest';
import { notAppliedAtEnd, observeTrialPod } from '../../src/core/trial/observe';
import { ownedBy, revertOps, rolloutProblem, selectTrialPods, serverVersionProblem, trialKindProblem } from '../../src/core/trial/plan';

const workload = { namespace: 'shop', kind: 'Deployment' as const, name: 'frontend' };
const resources = { requests: { cpu: '200m', memory: '256Mi' }, limits: { cpu: '500m', memory: '256Mi' } };

function pod(name: string, options: { ready?: boolean; owner?: string; reports?: boolean; created?: string; restartCount?: number; policy?: string; running?: typeof resources; conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>; lastReason?: string } = {}): Pod {
  return {
    metadata: { name, namespace: 'shop', uid: `uid-${name}`, creationTimestamp: options.created ?? '2026-12-01T00:00:00Z', ownerReferences: [{ kind: 'ReplicaSet', name: options.owner ?? 'frontend-6bdd4f5b6b', controller: true }] },
    spec: { nodeName: 'n1', containers: [{ name: 'web', resources: structuredClone(resources), ...(options.policy ? { resizePolicy: [{ resourceName: 'memory', restartPolicy: options.policy }] } : {}) }] },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }, ...(options.conditions ?? [])],
      containerStatuses: [{ name: 'web', ready: options.ready !== false, restartCount: options.restartCount ?? 0, ...(options.reports === false ? {} : { resources: options.running ?? structuredClone(resources) }), ...(options.lastReason ? { lastState: { terminated: { reason: options.lastReason, exitCode: 137 } } } : {}) }],
    },
  };
}

const desired = new Map<string, DesiredResources>([['web', { requests: { memory: '198Mi' }, limits: { memory: '198Mi' } }]]);

describe('trial rules (pure)', () => {
  it('takes running, ready pods of the workload whose node resizes in place, oldest first, at most N', () => {
    const pods = [
      pod('frontend-6bdd4f5b6b-c', { created: '2026-12-03T00:00:00Z' }),
      pod('frontend-6bdd4f5b6b-a', { created: '2026-12-01T00:00:00Z' }),
      pod('frontend-6bdd4f5b6b-b', { created: '2026-12-02T00:00:00Z', ready: false }),
      pod('frontend-api-7c9-x', { owner: 'frontend-api-7c9' }), // another Deployment's pod, matched by a loose selector
      pod('frontend-6bdd4f5b6b-d', { created: '2026-12-01T00:00:00Z', reports: false }),
    ];
    const selection = selectTrialPods(workload, pods, desired, 1);
    assert.deepEqual(selection.pods.map((entry) => entry.name), ['frontend-6bdd4f5b6b-a']);
    assert.equal(selection.runningPods, 3);
    assert.match(selection.findings.map((finding) => finding.message).join(' '), /1 of 3 running pods are on nodes without in-place resize/);
    const all = selectTrialPods(workload, pods, desired, 5);
    assert.deepEqual(all.pods.map((entry) => entry.name), ['frontend-6bdd4f5b6b-a', 'frontend-6bdd4f5b6b-c']);
    assert.match(all.findings.map((finding) => finding.message).join(' '), /5 pods were asked for; .* has 2 that can be resized in place/);
  });

  it('the resize patch pins the uid, the container name and its whole resources block, then replaces it', () => {
    const [trialPod] = selectTrialPods(workload, [pod('frontend-6bdd4f5b6b-a')], desired, 1).pods;
    assert.deepEqual(trialPod?.ops, [
      { op: 'test', path: '/metadata/uid', value: 'uid-frontend-6bdd4f5b6b-a' },
      { op: 'test', path: '/spec/containers/0/name', value: 'web' },
      { op: 'test', path: '/spec/containers/0/resources', value: resources },
      { op: 'replace', path: '/spec/containers/0/resources', value: { requests: { cpu: '200m', memory: '198Mi' }, limits: { cpu: '500m', memory: '198Mi' } } },
    ]);
    // Put back only while the pod still holds the trial's values (the server's canonical spelling is what is pinned).
    const live = pod('frontend-6bdd4f5b6b-a');
    live.spec.containers[0]!.resources = { requests: { cpu: '200m', memory: '207618048' }, limits: { cpu: '500m', memory: '198Mi' } };
    assert.deepEqual(revertOps(trialPod!, live)?.slice(-2), [
      { op: 'test', path: '/spec/containers/0/resources', value: live.spec.containers[0]!.resources },
      { op: 'replace', path: '/spec/containers/0/resources', value: resources },
    ]);
    live.spec.containers[0]!.resources = { requests: { cpu: '200m', memory: '300Mi' }, limits: { cpu: '500m', memory: '300Mi' } };
    assert.equal(revertOps(trialPod!, live), null, 'someone else resized it since: left alone');
  });

  it('names a container whose resizePolicy restarts it, and refuses what cannot be tried', () => {
    const selection = selectTrialPods(workload, [pod('frontend-6bdd4f5b6b-a', { policy: 'RestartContainer' })], desired, 1);
    assert.deepEqual(selection.pods[0]?.containers[0]?.restartsOn, ['memory']);
    assert.match(selection.findings.map((finding) => finding.message).join(' '), /container web restarts when its memory is resized \(resizePolicy RestartContainer\)/);
    assert.throws(() => selectTrialPods(workload, [pod('frontend-6bdd4f5b6b-a', { reports: false })], desired, 1), /no pod of Deployment shop\/frontend runs on a node that resizes pods in place/);
    assert.throws(() => selectTrialPods(workload, [pod('frontend-6bdd4f5b6b-a', { ready: false })], desired, 1), /no running, ready pod/);
    const same = new Map<string, DesiredResources>([['web', { requests: { memory: '256Mi' }, limits: {} }]]);
    assert.throws(() => selectTrialPods(workload, [pod('frontend-6bdd4f5b6b-a')], same, 1), /nothing to try/);
    assert.match(serverVersionProblem('v1.32.4') ?? '', /Kubernetes v1\.32\.4; in-place pod resize is on by default from 1\.33/);
    assert.equal(serverVersionProblem('v1.33.1'), null);
    assert.equal(serverVersionProblem('v1.35.0-gke.1'), null);
    assert.match(trialKindProblem('CronJob') ?? '', /run to completion/);
    // A rollout under way replaces pods, trial pods too: refused until the controller has caught up.
    assert.match(rolloutProblem('Deployment', { metadata: { generation: 3 }, spec: { replicas: 4 }, status: { observedGeneration: 3, replicas: 5, updatedReplicas: 2 } }) ?? '', /rolling out \(2 of 4 pods updated, 3 old still running\)/);
    assert.match(rolloutProblem('Deployment', { metadata: { generation: 4 }, spec: { replicas: 4 }, status: { observedGeneration: 3, replicas: 4, updatedReplicas: 4 } }) ?? '', /not yet seen its latest change/);
    assert.equal(rolloutProblem('Deployment', { metadata: { generation: 3 }, spec: { replicas: 4 }, status: { observedGeneration: 3, replicas: 4, updatedReplicas: 4 } }), null);
    assert.match(rolloutProblem('StatefulSet', { metadata: {}, status: { currentRevision: 'a', updateRevision: 'b', updatedReplicas: 1 } }) ?? '', /rolling out/);
    assert.match(rolloutProblem('DaemonSet', { metadata: {}, status: { desiredNumberScheduled: 3, updatedNumberScheduled: 1 } }) ?? '', /1 of 3 pods updated/);
    assert.equal(ownedBy(pod('x', { owner: 'frontend-6bdd4f5b6b' }), workload), true);
    assert.equal(ownedBy(pod('x', { owner: 'frontend-api-7c9' }), workload), false);
  });

  it('one look at a pod: applied, OOM-killed, restarted, refused, deferred, not ready twice, gone', () => {
    const [trialPod] = selectTrialPods(workload, [pod('frontend-6bdd4f5b6b-a')], desired, 1).pods;
    assert.ok(trialPod);
    const trialSize = { requests: { cpu: '200m', memory: '198Mi' }, limits: { cpu: '500m', memory: '198Mi' } };
    const base = { web: 0 };
    assert.equal(observeTrialPod(trialPod, pod('frontend-6bdd4f5b6b-a', { running: trialSize }), base, undefined).status.phase, 'applied');
    const oom = observeTrialPod(trialPod, pod('frontend-6bdd4f5b6b-a', { running: trialSize, restartCount: 2, lastReason: 'OOMKilled', ready: false }), base, undefined);
    assert.equal(oom.status.oomKills, 2);
    assert.match(oom.failure ?? '', /OOM-killed 2 times at the trial's memory limit/);
    assert.match(observeTrialPod(trialPod, pod('frontend-6bdd4f5b6b-a', { running: trialSize, restartCount: 1, lastReason: 'Error' }), base, undefined).failure ?? '', /restarted once during the trial \(web: Error\)/);
    const infeasible = observeTrialPod(trialPod, pod('frontend-6bdd4f5b6b-a', { conditions: [{ type: 'PodResizePending', status: 'True', reason: 'Infeasible', message: 'Node didn\'t have enough capacity: memory, requested: 99Gi, capacity: 64Gi' }] }), base, undefined);
    assert.match(infeasible.failure ?? '', /Infeasible — Node didn't have enough capacity: memory/);
    const deferred = observeTrialPod(trialPod, pod('frontend-6bdd4f5b6b-a', { conditions: [{ type: 'PodResizePending', status: 'True', reason: 'Deferred', message: 'Node didn\'t have enough resource: cpu' }] }), base, undefined);
    assert.equal(deferred.failure, undefined);
    assert.match(notAppliedAtEnd(deferred.status) ?? '', /the cluster deferred it \(Node didn't have enough resource: cpu\)/);
    const notReady = observeTrialPod(trialPod, pod('frontend-6bdd4f5b6b-a', { running: trialSize, ready: false }), base, undefined);
    assert.equal(notReady.failure, undefined, 'once may be a probe between two checks');
    assert.match(observeTrialPod(trialPod, pod('frontend-6bdd4f5b6b-a', { running: trialSize, ready: false }), base, notReady.status).failure ?? '', /stayed not ready/);
    assert.equal(observeTrialPod(trialPod, null, base, undefined).status.phase, 'gone');
    const replaced = pod('frontend-6bdd4f5b6b-a');
    replaced.metadata.uid = 'another';
    assert.equal(observeTrialPod(trialPod, replaced, base, undefined).status.phase, 'gone');
    // A container that restarts by its resizePolicy may restart once per resize.
    const [restarting] = selectTrialPods(workload, [pod('frontend-6bdd4f5b6b-a', { policy: 'RestartContainer' })], desired, 1).pods;
    assert.equal(observeTrialPod(restarting!, pod('frontend-6bdd4f5b6b-a', { running: trialSize, restartCount: 1, lastReason: 'Completed' }), base, undefined).failure, undefined);
  });

  it('the digest changes with any pod, patch or window; the selector and the channel paths admit nothing else', () => {
    const selection = selectTrialPods(workload, [pod('frontend-6bdd4f5b6b-a')], desired, 1);
    const plan = { context: 'prod', server: 'https://k', workload, pods: selection.pods, windowSeconds: 1800, includeLimits: true, runningPods: 1 };
    const digest = trialDigest(plan);
    assert.notEqual(trialDigest({ ...plan, windowSeconds: 1801 }), digest);
    assert.notEqual(trialDigest({ ...plan, pods: [{ ...selection.pods[0]!, name: 'frontend-6bdd4f5b6b-b' }] }), digest);
    assert.equal(labelSelector({ app: 'frontend', 'app.kubernetes.io/part-of': 'shop' }), 'app=frontend,app.kubernetes.io/part-of=shop');
    assert.throws(() => labelSelector({ app: 'x,y' }), /not a valid Kubernetes label value/);
    assert.throws(() => labelSelector({ 'app!': 'x' }), /not a valid Kubernetes label key/);
    assert.throws(() => labelSelector({}), /no matchLabels/);
    const pattern = new RegExp(podPathsPattern([{ namespace: 'shop', name: 'frontend-a' }]));
    assert.ok(pattern.test('/api/v1/namespaces/shop/pods/frontend-a'));
    assert.ok(pattern.test('/api/v1/namespaces/shop/pods/frontend-a/resize'));
    for (const other of ['/api/v1/namespaces/shop/pods/frontend-b/resize', '/api/v1/namespaces/shop/pods', '/api/v1/namespaces/shop/pods/frontend-a/status', '/api/v1/namespaces/shop/pods/frontend-a/exec', '/api/v1/namespaces/other/pods/frontend-a/resize']) assert.ok(!pattern.test(other), other);
  });
});
