// Evidence inside the real extension host: the session the extension built reads the usage behind a loaded report
// from a real Prometheus (environment.ts: behind basic auth, 14 days of generated usage) with the auth header taken
// from the extension's SecretStorage where "KRR: Set Prometheus Auth Header" keeps it; without krr.prometheusUrl it
// says why there is none, and without the header Prometheus refuses it. The numbers are the generator's closed forms.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ContainerEvidence } from '../../src/core/evidence/model';
import { prometheusSecretKey } from '../../src/editor/prometheusAuth';
import type { KrrTestApi } from '../../src/extension';
import { krrReportJson, requestsOnly } from '../support/krr-report';
import { podsOf } from '../support/usage-history';
import { oomKillAt } from '../support/usage-history/patterns';
import { krrApi } from './extensionHost';
import { MiB, usageEnv, usageWorld } from './usageWorld';

const human = { type: 'human' as const, via: 'integration test' };

function required(name: string): string {
  const value = process.env[name];
  assert.ok(value, `${name} is set by test/integration/environment.ts (a real Prometheus with the usage history)`);
  return value;
}

describe('evidence: the usage behind a report from a real Prometheus (extension host)', function () {
  this.timeout(120_000);
  let api: KrrTestApi;
  let dir: string;
  let url: string;
  let authHeader: string;
  let loads = 0;
  const krr = () => vscode.workspace.getConfiguration('krr');

  /** A fresh report each time: a failed read is remembered per report for a minute. */
  async function loadReport(): Promise<string> {
    loads += 1;
    const file = path.join(dir, `report-${loads}.json`);
    writeFileSync(
      file,
      krrReportJson([
        { namespace: 'shop', kind: 'Deployment', name: 'frontend', containers: { web: { current: requestsOnly(0.5, 256 * MiB), recommended: requestsOnly(0.25, 148 * MiB) } } },
        { namespace: 'shop', kind: 'Deployment', name: 'checkout-api', containers: { api: { current: { requests: { cpu: 0.5, memory: 256 * MiB }, limits: { cpu: null, memory: 256 * MiB } }, recommended: { requests: { cpu: 0.25, memory: 200 * MiB }, limits: { cpu: null, memory: 200 * MiB } } } } },
      ]),
    );
    return (await api.session().loadReport(file, human)).reportId;
  }

  before(async () => {
    api = await krrApi();
    url = required(usageEnv.url);
    authHeader = readFileSync(required(usageEnv.authFile), 'utf8').trim();
    dir = mkdtempSync(path.join(tmpdir(), 'krr-integration-evidence-'));
    await api.secrets.delete(prometheusSecretKey);
  });
  after(async () => {
    await api?.secrets.delete(prometheusSecretKey);
    await krr().update('prometheusUrl', undefined, vscode.ConfigurationTarget.Global);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('without krr.prometheusUrl: no evidence, and the reason says which setting to set', async () => {
    assert.equal(api.settings().prometheusUrl, undefined);
    const result = await api.session().evidenceFor(await loadReport());
    assert.deepEqual(result, { status: 'unavailable', reason: 'no Prometheus URL is configured (krr.prometheusUrl): set it to read the usage behind the recommendations' });
  });

  it('with the URL but no auth header stored: Prometheus refuses, and the reason says how to set the header', async () => {
    await krr().update('prometheusUrl', url, vscode.ConfigurationTarget.Global);
    assert.equal(api.settings().prometheusUrl, url);
    const result = await api.session().evidenceFor(await loadReport());
    assert.equal(result.status, 'unavailable');
    assert.match(result.status === 'unavailable' ? result.reason : '', /^Prometheus refused the credentials \(HTTP 401\) at http:\/\/127\.0\.0\.1:\d+: set the auth header again \(KRR: Set Prometheus Auth Header\)/);
  });

  it('with the header in SecretStorage: the right numbers for every container, kept beside the report, the header nowhere', async () => {
    await api.secrets.store(prometheusSecretKey, authHeader);
    const reportId = await loadReport();
    const result = await api.session().evidenceFor(reportId);
    assert.equal(result.status, 'available', JSON.stringify(result));
    assert.ok(result.status === 'available');
    // The test world's Prometheus is a Prometheus 3: the events, the owners, a remote read each of the CPU counter and
    // the working set (which give the statistics, the series, the first and last samples and the peaks' steps), and
    // the OOM kills of checkout-api's pod.
    assert.equal(result.queries, 5, JSON.stringify(result.containers.map((evidence) => [evidence.name, evidence.pods.length, evidence.coverage])));
    const byName = new Map<string, ContainerEvidence>(result.containers.map((evidence) => [`${evidence.name}/${evidence.container}`, evidence]));
    const world = usageWorld(new Date(required(usageEnv.end)));
    const podNames = (name: string) => podsOf(world).filter((pod) => pod.workload.name === name).map((pod) => pod.name).sort();

    const frontend = byName.get('frontend/web');
    assert.ok(frontend, [...byName.keys()].join(', '));
    assert.deepEqual(frontend.pods, podNames('frontend'));
    for (const value of [frontend.cpu.p50, frontend.cpu.p95, frontend.cpu.p99, frontend.cpu.max]) assert.ok(value !== null && Math.abs(value - 0.25) < 1e-9, `steady CPU 0.25: ${value}`);
    assert.equal(frontend.memory.max, 128 * MiB);
    assert.deepEqual([frontend.oomKills, frontend.restarts, frontend.oomKilledLimit], [0, 0, null]);
    // Two pods, a working-set sample at every 75 s step of the window that the history covers (it ends before the load).
    assert.ok(frontend.coverage.points > 2 * 16_000 && frontend.coverage.points <= 2 * 16_128, `points ${frontend.coverage.points}`);

    const checkout = byName.get('checkout-api/api');
    assert.ok(checkout);
    assert.deepEqual(checkout.pods, podNames('checkout-api'));
    assert.deepEqual([checkout.oomKills, checkout.restarts, checkout.oomKilledLimit, checkout.memory.max], [1, 1, 256 * MiB, 256 * MiB]);
    // The peak's moment: the working set reaches the limit 5 minutes before the kill; its first sample there (every
    // 60 s from the pod's start) is first seen at the next of krr's 75 s steps.
    const [checkoutPod] = podsOf(world).filter((pod) => pod.workload.name === 'checkout-api');
    assert.ok(checkoutPod);
    const atLimit = checkoutPod.window.start + Math.ceil((oomKillAt(checkoutPod.window) - 300 - checkoutPod.window.start) / 60) * 60;
    assert.equal(checkout.memory.maxAt, new Date(Math.ceil(atLimit / 75) * 75 * 1000).toISOString());

    // Read once: kept with the report in the extension's state directory, and asked for again without a query.
    const stored = path.join(api.stateDir, 'evidence', `${reportId}.json`);
    assert.ok(existsSync(stored), stored);
    const again = await api.session().evidenceFor(reportId);
    assert.ok(again.status === 'available' && again.queries === result.queries);
    const secret = authHeader.replace(/^Basic /, '');
    assert.ok(!readFileSync(stored, 'utf8').includes(secret), 'the header is not in the stored evidence');
    assert.ok(!JSON.stringify(result).includes(secret));
  });
});
