// Issue 25, the review panel's usage charts: the numbers the page draws (paths inside their box, request and limit lines
// at the right height, ticks in m cores, Mi/Gi and dates, "No usage data" for nothing, no NaN from a hostile series)
// and the panel's evidence state (read after the first rows, charts only for the rows asked, the reason when none).
import assert from 'node:assert/strict';
import type { ContainerEvidence, EvidencePoint, EvidenceResult } from '../../src/core/evidence/model';
import { parseIncoming } from '../../src/editor/reviewMessages';
import { panelCell, type PanelRow } from '../../src/editor/reviewRows';
import { ReviewUsage, rowDetail, usageFacts, usageKeyOf } from '../../src/editor/reviewUsage';
import { dayStarts, detailChart, downsampleMax, formatBytes, formatCores, formatTime, niceStep, noUsageData, sparkline, valueTicks, type ChartInput } from '../../src/editor/usageChart';

const Mi = 1024 ** 2;
const Gi = 1024 ** 3;
const utc = { timeZone: 'UTC' };
/** 22 Nov 2026 09:00 UTC, and krr's 14-day window from there. */
const start = Date.UTC(2026, 10, 22, 9) / 1000;
const end = start + 14 * 86_400;
const step = (end - start) / 200;

/** 200 samples of a diurnal memory curve between 150Mi and 300Mi, the highest (300Mi) at sample 120. */
function memorySeries(): EvidencePoint[] {
  return Array.from({ length: 200 }, (_, index) => [start + index * step, (index === 120 ? 300 : 150 + 100 * Math.abs(Math.sin(index / 8))) * Mi] as EvidencePoint);
}

function memoryInput(series: EvidencePoint[] = memorySeries()): ChartInput {
  return { signal: 'memory', series, start, end, lines: { currentRequest: 512 * Mi, currentLimit: Gi, recommendedRequest: 347 * Mi, recommendedLimit: 400 * Mi } };
}

/** Every coordinate of an SVG path made of M and L commands. */
function coordinates(path: string): Array<[number, number]> {
  assert.match(path, /^(?:[ML]-?[\d.]+ -?[\d.]+)*$/, `only M/L commands with numbers: ${path.slice(0, 80)}`);
  return [...path.matchAll(/[ML](-?[\d.]+) (-?[\d.]+)/g)].map((match) => [Number(match[1]), Number(match[2])]);
}

describe('usage chart: units and dates people read', () => {
  it('formats CPU in m cores and cores, memory in Ki/Mi/Gi, times as "2 Dec 09:14"', () => {
    assert.equal(formatCores(0.31), '310m');
    assert.equal(formatCores(0.0025), '2.5m');
    assert.equal(formatCores(0), '0');
    assert.equal(formatCores(1), '1 core');
    assert.equal(formatCores(1.25), '1.25 cores');
    assert.equal(formatCores(Number.NaN), '?');
    assert.equal(formatBytes(310 * Mi), '310Mi');
    assert.equal(formatBytes(9.5 * Mi), '9.5Mi');
    assert.equal(formatBytes(512 * 1024), '512Ki');
    assert.equal(formatBytes(1.25 * Gi), '1.25Gi');
    assert.equal(formatBytes(Number.POSITIVE_INFINITY), '?');
    assert.equal(formatTime(Date.UTC(2026, 11, 2, 9, 14) / 1000, utc), '2 Dec 09:14');
  });

  it('picks round ticks in one unit per axis, from 0 to a top above the highest value', () => {
    assert.deepEqual(
      valueTicks('memory', 1.05 * Gi).ticks.map((tick) => tick.label),
      ['0', '0.5Gi', '1Gi', '1.5Gi'],
    );
    assert.deepEqual(
      valueTicks('memory', 300 * Mi).ticks.map((tick) => tick.label),
      ['0', '100Mi', '200Mi', '300Mi'],
    );
    assert.deepEqual(
      valueTicks('cpu', 0.42).ticks.map((tick) => tick.label),
      ['0', '200m', '400m', '600m'],
    );
    assert.deepEqual(
      valueTicks('cpu', 2.3).ticks.map((tick) => tick.label),
      ['0', '1', '2', '3'],
    );
    const { top } = valueTicks('cpu', 0);
    assert.ok(top > 0, 'an all-zero series still has an axis');
    assert.deepEqual([0.07, 0.13, 0.3, 0.6, 4].map(niceStep), [0.1, 0.2, 0.5, 1, 5]);
  });

  it('finds local midnights, also across a daylight-saving change', () => {
    assert.equal(dayStarts(start, end, utc).length, 14);
    assert.equal(formatTime(dayStarts(start, end, utc)[0] as number, utc), '23 Nov 00:00');
    // Berlin moves to summer time on 29 Mar 2026: that day has 23 hours, and every midnight is still found once.
    const berlin = { timeZone: 'Europe/Berlin' };
    const days = dayStarts(Date.UTC(2026, 2, 26, 12) / 1000, Date.UTC(2026, 2, 31, 12) / 1000, berlin);
    assert.deepEqual(days.map((time) => formatTime(time, berlin)), ['27 Mar 00:00', '28 Mar 00:00', '29 Mar 00:00', '30 Mar 00:00', '31 Mar 00:00']);
    assert.equal((days[3] as number) - (days[2] as number), 23 * 3600);
  });
});

describe('usage chart: the small chart of a row', () => {
  it('draws the usage inside its box and the four lines at their height', () => {
    const view = sparkline(memoryInput(), { width: 72, height: 22 });
    assert.equal(view.empty, null);
    const points = coordinates(view.path);
    assert.ok(points.length > 10 && points.length <= 72, `at most one point per pixel: ${points.length}`);
    for (const [x, y] of points) assert.ok(x >= 0 && x <= 72 && y >= 0 && y <= 22, `${x},${y} inside 72×22`);
    // Axis top: 1Gi × 1.05 rounds up to 1.5Gi; the plot runs from y=21 (0) to y=1 (1.5Gi).
    const y = (bytes: number) => Math.round((21 - (bytes / (1.5 * Gi)) * 20) * 10) / 10;
    assert.deepEqual(
      view.lines.map((line) => [line.kind, line.y, line.label]),
      [
        ['current-request', y(512 * Mi), 'current request 512Mi'],
        ['current-limit', y(Gi), 'current limit 1Gi'],
        ['recommended-request', y(347 * Mi), 'recommended request 347Mi'],
        ['recommended-limit', y(400 * Mi), 'recommended limit 400Mi'],
      ],
    );
    assert.match(view.title, /^memory over 14 days: max 300Mi · current request 512Mi · current limit 1Gi/);
  });

  it('keeps the peak when it has more samples than pixels', () => {
    const view = sparkline(memoryInput(), { width: 40, height: 20 });
    const highest = Math.min(...coordinates(view.path).map(([, y]) => y));
    const peak = Math.round((19 - ((300 * Mi) / (1.5 * Gi)) * 18) * 10) / 10;
    assert.equal(highest, peak, 'the 300Mi peak survives downsampling to 40 points');
    assert.deepEqual(downsampleMax([[0, 1], [1, 9], [2, 1], [3, 1]], 2), [[1, 9], [2, 1]]);
  });

  it('says "No usage data" for an empty series and for one of only NaN, Infinity and negative values', () => {
    for (const series of [[], [[start, Number.NaN], [start + 60, Number.POSITIVE_INFINITY], [Number.NaN, 5], [start + 120, -1]]] as EvidencePoint[][]) {
      const view = sparkline(memoryInput(series));
      assert.equal(view.empty, noUsageData);
      assert.equal(view.path, '');
      assert.equal(view.lines.length, 4, 'the real request and limit lines still show');
      assert.doesNotMatch(JSON.stringify(view), /NaN|Infinity/);
    }
  });
});

describe('usage chart: the selected row', () => {
  it('draws 200 points in the plot with axes, ticks, hover labels, and nothing NaN', () => {
    const view = detailChart(memoryInput(), { width: 440, height: 170 }, utc);
    const { plot } = view;
    const points = coordinates(view.path);
    assert.equal(points.length, 200);
    assert.equal(view.path.split('M').length - 1, 1, 'one unbroken line');
    for (const [x, y] of points) assert.ok(x >= plot.left && x <= plot.right && y >= plot.top && y <= plot.bottom, `${x},${y} inside the plot`);
    assert.ok(view.area.endsWith('Z') && view.area.startsWith(`M${points[0]?.[0]} ${plot.bottom}`));
    // Lines: 1Gi on a 1.5Gi axis is two thirds up the plot.
    const limit = view.lines.find((line) => line.kind === 'current-limit');
    assert.equal(limit?.y, Math.round((plot.bottom - (2 / 3) * (plot.bottom - plot.top)) * 10) / 10);
    assert.deepEqual(view.yTicks.map((tick) => tick.label), ['0', '0.5Gi', '1Gi', '1.5Gi']);
    assert.equal(view.yTicks[0]?.y, plot.bottom);
    assert.equal(view.yTicks[3]?.y, plot.top);
    // 14 midnights in 380 pixels: a label every second day.
    assert.deepEqual(view.xTicks.map((tick) => tick.label), ['23 Nov', '25 Nov', '27 Nov', '29 Nov', '1 Dec', '3 Dec', '5 Dec']);
    for (const tick of view.xTicks) assert.ok(tick.x > plot.left && tick.x < plot.right);
    assert.equal(view.points.x.length, 200);
    assert.deepEqual([...view.points.x].sort((a, b) => a - b), view.points.x, 'hover points in x order');
    assert.equal(view.points.labels[0], '22 Nov 09:00 · 150Mi');
    assert.equal(view.points.labels[120], `${formatTime(start + 120 * step, utc)} · 300Mi`);
    assert.doesNotMatch(JSON.stringify(view), /NaN|Infinity|undefined/);
  });

  it('breaks the line where samples are missing, and shows a young workload at the end of the window', () => {
    const series = memorySeries().filter((_, index) => index < 50 || index >= 80);
    const broken = detailChart(memoryInput(series), undefined, utc);
    assert.equal(broken.path.split('M').length - 1, 2);
    const young = detailChart(memoryInput(memorySeries().slice(190)), undefined, utc);
    assert.ok((young.points.x[0] as number) > young.plot.left + 0.9 * (young.plot.right - young.plot.left), 'ten samples at the window’s end');
  });

  it('draws an empty chart with its lines and the "No usage data" text, never an invented line', () => {
    const view = detailChart({ ...memoryInput([]), signal: 'cpu', lines: { currentRequest: 0.5, currentLimit: null, recommendedRequest: 0.25, recommendedLimit: null } }, undefined, utc);
    assert.equal(view.empty, noUsageData);
    assert.equal(view.path, '');
    assert.equal(view.area, '');
    assert.equal(view.points.x.length, 0);
    assert.deepEqual(view.lines.map((line) => line.label), ['current request 500m', 'recommended request 250m']);
    assert.equal(view.xTicks.length, 7, 'the window’s dates still show');
  });
});

// ── the panel's evidence state ────────────────────────────────────────────────────────────────────────────────

function evidenceOf(name: string, container: string): ContainerEvidence {
  const series = memorySeries();
  return {
    cluster: 'kind-test',
    namespace: 'shop',
    kind: 'Deployment',
    name,
    container,
    window: { start: new Date(start * 1000).toISOString(), end: new Date(end * 1000).toISOString(), stepSeconds: 75 },
    pods: ['a-1', 'a-2'],
    cpu: { p50: 0.12, p95: 0.31, p99: 0.35, max: 0.42, throttledPercent: 12.34, series: series.map(([time, value]) => [time, value / Gi] as EvidencePoint) },
    memory: { max: 300 * Mi, maxAt: new Date((start + 120 * step) * 1000).toISOString(), series },
    oomKills: 1,
    oomKilledLimit: 256 * Mi,
    restarts: 3,
    coverage: { points: 20_160, first: new Date(start * 1000).toISOString(), last: new Date(end * 1000).toISOString() },
  };
}

function rowOf(name: string, container: string): PanelRow {
  return {
    workload: `shop/Deployment/${name}`,
    namespace: 'shop',
    kind: 'Deployment',
    name,
    container,
    shownContainer: container,
    costText: '',
    cpuRequest: panelCell('500m', '250m'),
    cpuLimit: panelCell('1', null),
    memoryRequest: panelCell('512Mi', '347Mi'),
    memoryLimit: panelCell('1Gi', '?'),
    severity: 'WARNING',
    monthlyCostDelta: null,
    notes: [],
  };
}

describe('review panel: usage evidence', () => {
  it('words the statistics: percentiles, throttling, the peak and when, OOM kills, restarts, coverage', () => {
    assert.deepEqual(usageFacts(evidenceOf('frontend', 'web'), utc), [
      'CPU p50 120m · p95 310m · p99 350m · max 420m · throttled in 12.3% of periods',
      `memory peak 300Mi on ${formatTime(start + 120 * step, utc)} · 1 OOM kill (limit 256Mi) · 3 restarts`,
      '20,160 samples from 22 Nov 09:00 to 6 Dec 09:00 · 2 pods',
    ]);
    const unnamed = evidenceOf('frontend', 'web');
    assert.equal(usageFacts({ ...unnamed, memory: { ...unnamed.memory, maxAt: null } }, utc)[1], 'memory peak 300Mi · 1 OOM kill (limit 256Mi) · 3 restarts', 'no moment where Prometheus named none');
    const detail = rowDetail(evidenceOf('frontend', 'web'), rowOf('frontend', 'web'), utc);
    // The row's cells give the lines: an unset or unknown recommendation draws none.
    assert.deepEqual(detail.cpu.lines.map((line) => line.label), ['current request 500m', 'current limit 1 core', 'recommended request 250m']);
    assert.deepEqual(detail.memory.lines.map((line) => line.label), ['current request 512Mi', 'current limit 1Gi', 'recommended request 347Mi']);
    assert.equal(detail.timeZone, 'UTC');
  });

  it('without Prometheus: one line with the reason, and no charts', async () => {
    const posted: Array<Record<string, unknown>> = [];
    const usage = new ReviewUsage(async () => ({ status: 'unavailable', reason: 'no Prometheus URL is configured (krr.prometheusUrl)' }), (message) => posted.push(message as Record<string, unknown>), utc);
    await usage.load('report-1', [{ reportId: 'report-1', prefix: '' }]);
    assert.deepEqual(posted, [
      { type: 'evidence', reportId: 'report-1', state: 'loading', text: 'Reading usage from Prometheus…' },
      { type: 'evidence', reportId: 'report-1', state: 'unavailable', text: 'No usage evidence: no Prometheus URL is configured (krr.prometheusUrl)', setting: 'krr.prometheusUrl' },
    ]);
    usage.charts([usageKeyOf(rowOf('frontend', 'web'))], [rowOf('frontend', 'web')]);
    assert.equal(posted.length, 2, 'no charts without evidence');
  });

  it('with evidence: charts only for the rows asked, null for a row without evidence, the detail of one row', async () => {
    const posted: Array<Record<string, unknown>> = [];
    const result: EvidenceResult = { status: 'available', containers: [evidenceOf('frontend', 'web')], readAt: '2026-12-06T09:00:00Z', queries: 8 };
    const usage = new ReviewUsage(async () => result, (message) => posted.push(message as Record<string, unknown>), utc);
    await usage.load('report-1', [{ reportId: 'report-1', prefix: '' }]);
    assert.equal(posted[1]?.state, 'available');
    assert.match(String(posted[1]?.text), /^Usage from Prometheus for 1 container \(read 6 Dec 09:00\)/);
    const rows = [rowOf('frontend', 'web'), rowOf('frontend', 'sidecar')];
    usage.charts(rows.map(usageKeyOf), rows);
    const charts = posted[2]?.charts as Record<string, { cpu: { lines: unknown[] }; memory: { path: string } } | null>;
    assert.deepEqual(Object.keys(charts), rows.map(usageKeyOf));
    assert.equal(charts[usageKeyOf(rows[1] as PanelRow)], null);
    assert.ok(charts[usageKeyOf(rows[0] as PanelRow)]?.memory.path.startsWith('M'));
    usage.detail(usageKeyOf(rows[0] as PanelRow), rows);
    const detail = posted[3] as { type: string; detail: { title: string; facts: string[] } };
    assert.equal(detail.type, 'usage-detail');
    assert.equal(detail.detail.title, 'Deployment shop/frontend · container web');
    // The same review shown again (rows re-posted after an apply) is not read again.
    await usage.load('report-1', [{ reportId: 'report-1', prefix: '' }]);
    assert.deepEqual(posted.slice(4).map((message) => message.state), ['available']);
  });

  it('a fleet: each cluster’s report read, rows keyed by their cluster, a cluster without evidence named', async () => {
    const posted: Array<Record<string, unknown>> = [];
    const usage = new ReviewUsage(
      async (reportId) => (reportId === 'report-eu' ? { status: 'available', containers: [evidenceOf('frontend', 'web')], readAt: '2026-12-06T09:00:00Z', queries: 5 } : { status: 'unavailable', reason: 'Prometheus answered 401 Unauthorized' }),
      (message) => posted.push(message as Record<string, unknown>),
      utc,
    );
    await usage.load('fleet-1', [
      { reportId: 'report-eu', prefix: 'prod-eu-1|' },
      { reportId: 'report-us', prefix: 'prod-us-1|' },
    ]);
    assert.match(String(posted[1]?.text), /^Usage from Prometheus for 1 container .* · no evidence for 1 cluster: Prometheus answered 401 Unauthorized$/);
    const eu = { ...rowOf('frontend', 'web'), workload: 'prod-eu-1|shop/Deployment/frontend', cluster: 'prod-eu-1' };
    const us = { ...rowOf('frontend', 'web'), workload: 'prod-us-1|shop/Deployment/frontend', cluster: 'prod-us-1' };
    usage.charts([usageKeyOf(eu), usageKeyOf(us)], [eu, us]);
    const charts = posted[2]?.charts as Record<string, unknown>;
    assert.notEqual(charts[usageKeyOf(eu)], null);
    assert.equal(charts[usageKeyOf(us)], null, 'the same workload in another cluster has no evidence of its own');
  });

  it('a newer review cancels an older read, and a failed read is its reason', async () => {
    const signals: AbortSignal[] = [];
    const posted: Array<Record<string, unknown>> = [];
    let release: () => void = () => undefined;
    const usage = new ReviewUsage(
      (reportId, signal) => {
        signals.push(signal);
        if (reportId === 'slow') return new Promise<EvidenceResult>((resolve) => (release = () => resolve({ status: 'available', containers: [evidenceOf('frontend', 'web')], readAt: '', queries: 1 })));
        return Promise.reject(new Error('Prometheus at http://127.0.0.1:9 refused the connection'));
      },
      (message) => posted.push(message as Record<string, unknown>),
      utc,
    );
    const slow = usage.load('slow', [{ reportId: 'slow', prefix: '' }]);
    await usage.load('failing', [{ reportId: 'failing', prefix: '' }]);
    assert.equal(signals[0]?.aborted, true);
    release();
    await slow;
    assert.deepEqual(
      posted.filter((message) => message.state !== 'loading').map((message) => [message.reportId, message.text]),
      [['failing', 'No usage evidence: Prometheus at http://127.0.0.1:9 refused the connection']],
      'the cancelled read posts nothing',
    );
  });

  it('takes only bounded usage requests from the page', () => {
    assert.deepEqual(parseIncoming({ type: 'usage-charts', keys: ['shop/Deployment/a\nweb'] }), { type: 'usage-charts', keys: ['shop/Deployment/a\nweb'] });
    assert.equal(parseIncoming({ type: 'usage-charts', keys: Array.from({ length: 1001 }, () => 'k') }), undefined);
    assert.equal(parseIncoming({ type: 'usage-charts', keys: [5] }), undefined);
    assert.equal(parseIncoming({ type: 'usage-detail', key: 'x'.repeat(2049) }), undefined);
    assert.deepEqual(parseIncoming({ type: 'usage-detail', key: 'k' }), { type: 'usage-detail', key: 'k' });
  });
});
