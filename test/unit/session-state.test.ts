// Reports and plans outlive the process: a second Session on the same state directory (what a new stdio process or a
// reloaded VS Code window builds) finds them; single use and expiry hold across sessions; the files are bounded,
// expiring, signed and schema-checked, and never hold krr's `config` block or a secret.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { hmac, parseAuditKey } from '../../src/core/auditKey';
import { Session, SessionError, type SessionOptions } from '../../src/core/session/session';
import { model, ScriptedHuman, startSessionFixture, type SessionFixture } from '../support/session-fixture';

const frontend = { namespace: 'shop', kind: 'Deployment', name: 'frontend' };
const repoRoot = path.resolve(__dirname, '..', '..');
const token = 'Bearer planted-state-token-7f3a9c1e5b';

function filesUnder(directory: string): string[] {
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}

describe('session state in the state directory: reports and plans outlive the process', function () {
  this.timeout(60_000);
  let f: SessionFixture;
  afterEach(async () => f.close());

  /** Another process's session on the same state directory. */
  function another(options: Partial<SessionOptions> & { human?: ScriptedHuman } = {}): { session: Session; human: ScriptedHuman; logs: string[] } {
    const human = options.human ?? new ScriptedHuman();
    const logs: string[] = [];
    const session = new Session({ settings: () => f.settings, approver: human, stateDir: f.stateDir, kubectlCacheDir: path.join(f.stateDir, 'kube-cache'), log: (line) => logs.push(line), ...options });
    return { session, human, logs };
  }

  /** What the state files are signed with, derived as the session derives it (the test holds the audit key file). */
  function stateKey(): Buffer {
    return Buffer.from(hmac(parseAuditKey(readFileSync(path.join(f.stateDir, 'audit.key'), 'utf8'), 'test').key, 'krr-mcp state files v1'), 'hex');
  }

  function signed(body: unknown): string {
    const json = JSON.stringify(body);
    return `krr-mcp-state/1 ${hmac(stateKey(), json)}\n${json}\n`;
  }

  it('another session lists and proposes from a report this one scanned; restore() brings back the newest report and the pending plans', async () => {
    f = await startSessionFixture();
    const scan = await f.session.scan({}, model);
    const other = another();
    assert.throws(() => other.session.listRecommendations({ reportId: scan.reportId }), /There is no report/, 'not in its memory before it looks');
    const summary = await other.session.openReport(scan.reportId);
    assert.deepEqual({ ...summary, cached: false }, { ...scan, cached: false });
    assert.deepEqual(other.session.listRecommendations({ reportId: scan.reportId, sort: 'name' }), f.session.listRecommendations({ reportId: scan.reportId, sort: 'name' }));
    const plan = await other.session.propose({ reportId: scan.reportId, workloads: [frontend] }, model);
    assert.equal(plan.objects.length, 1);

    const reloaded = another();
    assert.equal(reloaded.session.latestReportId(), null);
    await reloaded.session.restore();
    assert.equal(reloaded.session.latestReportId(), scan.reportId);
    assert.equal(reloaded.session.getReport(scan.reportId).workloads.length, scan.workloads);
    assert.deepEqual(reloaded.session.pendingPlans().map((pending) => pending.id), [plan.id]);
    assert.deepEqual(reloaded.session.getPlan(plan.id), plan);
  });

  it('single use across sessions: a plan one session applied or declined is "used" for another, which asks nobody', async () => {
    f = await startSessionFixture();
    const scan = await f.session.scan({}, model);
    const plan = await f.session.propose({ reportId: scan.reportId, workloads: [frontend] }, model);
    const declined = await f.session.propose({ reportId: scan.reportId, workloads: [frontend] }, model);

    const other = another();
    other.human.answer = 'approve';
    assert.equal((await other.session.apply(plan.id, model)).status, 'applied');
    assert.equal(f.cluster.writes().length, 1);
    f.human.answer = 'approve';
    const again = await f.session.apply(plan.id, model);
    assert.equal(again.status, 'used', again.message);
    assert.match(again.message, /another krr-mcp process/);
    assert.equal(f.human.asked.length, 0, 'refused before any dialog');
    assert.deepEqual(f.session.pendingPlans().map((pending) => pending.id), [declined.id], 'a plan claimed elsewhere is not offered');

    f.human.answer = 'decline';
    assert.equal((await f.session.apply(declined.id, model)).status, 'declined');
    const third = another();
    third.human.answer = 'approve';
    assert.equal((await third.session.apply(declined.id, model)).status, 'used');
    assert.equal(third.human.asked.length, 0);
    assert.equal(f.cluster.writes().length, 1, 'nothing more was written');
  });

  it('expiry holds across sessions: a plan read back after its expiresAt is refused as expired', async () => {
    f = await startSessionFixture();
    const scan = await f.session.scan({}, model);
    const plan = await f.session.propose({ reportId: scan.reportId, workloads: [frontend] }, model);
    const later = another({ now: () => new Date(Date.parse(plan.expiresAt) + 1000) });
    later.human.answer = 'approve';
    const outcome = await later.session.apply(plan.id, model);
    assert.equal(outcome.status, 'expired', outcome.message);
    assert.equal(later.human.asked.length, 0);
    assert.equal(f.cluster.writes().length, 0);
  });

  it("never stores krr's `config` block or the Prometheus auth header: a planted token is in no file of the state directory", async () => {
    // Nothing listens there: the krr stand-in keeps its fixed numbers (KRR_STANDIN_PROMETHEUS=fixed).
    f = await startSessionFixture({ settings: { prometheusUrl: 'http://127.0.0.1:9/prom' }, session: { env: { KRR_STANDIN_PROMETHEUS: 'fixed' }, secrets: { prometheusAuthHeader: async () => token } } });
    const scan = await f.session.scan({}, model);
    assert.equal(scan.prometheusAuth, 'sent to the configured Prometheus URL');
    // A krr report file whose `config` block holds the token (krr echoes its configuration, secrets in clear).
    const sample = JSON.parse(readFileSync(path.join(repoRoot, 'test', 'support', 'krr-standin', 'sample-report.json'), 'utf8')) as Record<string, unknown>;
    const reportFile = path.join(f.stateDir, '..', `${path.basename(f.stateDir)}-report.json`);
    writeFileSync(reportFile, JSON.stringify({ ...sample, config: { prometheus_auth_header: token, other_token: token } }));
    try {
      const loaded = await f.session.loadReport(reportFile, model);
      await f.session.propose({ reportId: scan.reportId, workloads: [frontend] }, model);
      await f.session.propose({ reportId: loaded.reportId, workloads: [frontend] }, model);
    } finally {
      rmSync(reportFile, { force: true });
    }
    const reports = readdirSync(path.join(f.stateDir, 'reports')).filter((name) => name.endsWith('.json'));
    const plans = readdirSync(path.join(f.stateDir, 'plans')).filter((name) => name.endsWith('.json'));
    assert.equal(reports.length, 2, 'both reports are stored');
    assert.equal(plans.length, 2, 'both plans are stored');
    assert.match(readFileSync(path.join(f.stateDir, 'reports', reports[0] as string), 'utf8'), /"frontend"/, 'the files are plain text a grep can search');
    const secret = token.split(' ')[1] as string;
    const holding = filesUnder(f.stateDir).filter((file) => readFileSync(file, 'latin1').includes(secret));
    assert.deepEqual(holding, [], 'no stored file holds the token');
    for (const file of filesUnder(path.join(f.stateDir, 'reports'))) assert.equal(statSync(file).mode & 0o077, 0, `${file} is private (0600)`);
  });

  it('ignores corrupt and hostile files with a log line: garbage, an edited body, a signed body failing the schema, a symlink, a FIFO, a plan whose ops were changed', async () => {
    f = await startSessionFixture();
    const scan = await f.session.scan({}, model);
    const plan = await f.session.propose({ reportId: scan.reportId, workloads: [frontend] }, model);
    const reports = path.join(f.stateDir, 'reports');
    const original = readFileSync(path.join(reports, `${scan.reportId}.json`), 'utf8');
    const [header, body] = [original.slice(0, original.indexOf('\n')), JSON.parse(original.slice(original.indexOf('\n') + 1)) as { id: string; report: { score: unknown } }];
    const cases: Array<[string, string, RegExp]> = [
      ['report-00000000000a', 'not a state file at all {', /signature does not match/],
      ['report-00000000000b', `${header}\n${JSON.stringify({ ...body, id: 'report-00000000000b' })}\n`, /signature does not match/],
      ['report-00000000000c', signed({ ...body, id: 'report-00000000000c', report: { ...body.report, score: 'high' } }), /expected number.*at report\.score/],
      ['report-00000000000d', signed({ ...body, id: 'report-00000000000e' }), /holds another id/],
    ];
    for (const [id, text] of cases) writeFileSync(path.join(reports, `${id}.json`), text);
    symlinkSync(path.join(reports, `${scan.reportId}.json`), path.join(reports, 'report-00000000000f.json'));
    execFileSync('mkfifo', [path.join(reports, 'report-000000000010.json')]);

    const other = another();
    for (const [id, , reason] of [...cases, ['report-00000000000f', '', /symbolic link/] as const, ['report-000000000010', '', /not a regular file/] as const]) {
      await assert.rejects(other.session.openReport(id), (error: unknown) => error instanceof SessionError && error.code === 'unknown-report', id);
      assert.ok(other.logs.some((line) => line.includes(`${id}.json`) && reason.test(line) && /not trusted/.test(line)), `${id}: ${other.logs.join('\n')}`);
    }
    assert.equal((await other.session.openReport(scan.reportId)).reportId, scan.reportId, 'the genuine file still loads');

    // A plan file re-signed with its ops changed (an image instead of a request) but its old digest: never applied.
    const planFile = path.join(f.stateDir, 'plans', `${plan.id}.json`);
    const stored = JSON.parse(readFileSync(planFile, 'utf8').split('\n')[1] as string) as { plan: { objects: Array<{ ops: unknown[] }> } };
    stored.plan.objects[0]?.ops.push({ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'evil:latest' });
    writeFileSync(planFile, signed(stored));
    const victim = another();
    victim.human.answer = 'approve';
    const outcome = await victim.session.apply(plan.id, model);
    assert.equal(outcome.status, 'unknown', outcome.message);
    assert.ok(victim.logs.some((line) => line.includes(plan.id) && /digest does not match/.test(line)), victim.logs.join('\n'));
    assert.equal(victim.human.asked.length, 0);
    assert.equal(f.cluster.writes().length, 0);
  });

  it('bounded and expiring: the oldest report files go past the count, and a report past its lifetime is gone', async () => {
    f = await startSessionFixture({ session: { limits: { reports: 2 } } });
    const ids = [];
    for (let i = 0; i < 3; i += 1) ids.push((await f.session.scan({ refresh: true }, model)).reportId);
    const stored = readdirSync(path.join(f.stateDir, 'reports')).filter((name) => name.endsWith('.json')).sort();
    assert.deepEqual(stored, ids.slice(1).map((id) => `${id}.json`).sort());
    await assert.rejects(another().session.openReport(ids[0] as string), /There is no report/);
    const dayLater = another({ now: () => new Date(Date.now() + 24 * 60 * 60 * 1000 + 60_000) });
    await assert.rejects(dayLater.session.openReport(ids[2] as string), /There is no report/);
    assert.equal((await another().session.openReport(ids[2] as string)).reportId, ids[2]);
  });
});
