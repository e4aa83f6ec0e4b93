// The review panel's usage charts, computed in the extension host and drawn by media/review.js as SVG elements: scales,
// ticks, paths, the request/limit lines and the hover points, with the units people read (m cores, Mi/Gi) and dates.
// Pure (no vscode, no DOM), so it is tested in plain Node; the page only turns these numbers and strings into nodes.
import type { EvidencePoint } from '../core/evidence/model';
import { maxEvidencePoints } from '../core/evidence/model';

export type UsageSignal = 'cpu' | 'memory';

/** The four horizontal lines: the container's values now and krr's recommendation (null: unset or unknown). */
export interface ChartLines {
  currentRequest: number | null;
  currentLimit: number | null;
  recommendedRequest: number | null;
  recommendedLimit: number | null;
}

export type ChartLineKind = 'current-request' | 'current-limit' | 'recommended-request' | 'recommended-limit';

export interface ChartInput {
  signal: UsageSignal;
  /** Cores or bytes over unix seconds, as the evidence reader gives it (at most maxEvidencePoints). */
  series: readonly EvidencePoint[];
  /** The window in unix seconds: the x axis spans it whole, so a young workload's few points sit at its end. */
  start: number;
  end: number;
  lines: ChartLines;
}

export interface ChartLineView {
  kind: ChartLineKind;
  y: number;
  value: number;
  /** "current limit 512Mi". */
  label: string;
}

export interface SparklineView {
  width: number;
  height: number;
  /** "No usage data" when the series has no usable point; null otherwise. */
  empty: string | null;
  /** SVG path data of the usage line ('' when empty); a gap in the samples breaks it. */
  path: string;
  lines: ChartLineView[];
  /** One line for a tooltip: "CPU over 14 days: max 420m · request 500m → 250m". */
  title: string;
}

export interface DetailView extends SparklineView {
  /** The plotting area inside the box (axes sit outside it). */
  plot: { left: number; top: number; right: number; bottom: number };
  /** The filled area under the usage line ('' when empty). */
  area: string;
  xTicks: Array<{ x: number; label: string }>;
  yTicks: Array<{ y: number; label: string }>;
  /** The hover targets, sorted by x: the nearest one to the pointer is shown as "2 Dec 09:14 · 310Mi". */
  points: { x: number[]; y: number[]; labels: string[] };
}

export interface ChartOptions {
  /** IANA time zone of the dates shown; default: the host's. */
  timeZone?: string;
}

export const noUsageData = 'No usage data';

const kib = 1024;
const mib = 1024 * kib;
const gib = 1024 * mib;

/** Rounded to a few significant decimals, without trailing zeros: 1.50 -> "1.5". */
function trim(value: number, decimals: number): string {
  const text = value.toFixed(decimals);
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

/** Cores as people read them: "2.5m", "310m", "1 core", "1.25 cores". */
export function formatCores(cores: number): string {
  if (!Number.isFinite(cores)) return '?';
  const milli = cores * 1000;
  if (milli === 0) return '0';
  if (milli < 10) return `${trim(milli, 1)}m`;
  if (milli < 999.5) return `${Math.round(milli)}m`;
  const text = trim(cores, cores < 10 ? 2 : 1);
  return `${text} ${text === '1' ? 'core' : 'cores'}`;
}

/** Bytes as people read them: "512Ki", "9.5Mi", "310Mi", "1.25Gi". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '?';
  if (bytes === 0) return '0';
  if (bytes < mib) return `${Math.max(1, Math.round(bytes / kib))}Ki`;
  if (bytes < 10 * mib) return `${trim(bytes / mib, 1)}Mi`;
  if (bytes < gib - mib / 2) return `${Math.round(bytes / mib)}Mi`;
  return `${trim(bytes / gib, bytes < 10 * gib ? 2 : 1)}Gi`;
}

export function formatValue(signal: UsageSignal, value: number): string {
  return signal === 'cpu' ? formatCores(value) : formatBytes(value);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function dateFormat(timeZone: string | undefined): Intl.DateTimeFormat {
  const key = timeZone ?? '';
  let format = formatters.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', ...(timeZone ? { timeZone } : {}) });
    formatters.set(key, format);
  }
  return format;
}

function parts(seconds: number, timeZone: string | undefined): { day: string; month: string; hour: string; minute: string } {
  const found = { day: '', month: '', hour: '', minute: '' };
  for (const part of dateFormat(timeZone).formatToParts(new Date(seconds * 1000))) {
    if (part.type === 'day' || part.type === 'month' || part.type === 'hour' || part.type === 'minute') found[part.type] = part.value;
  }
  return found;
}

/** "2 Dec 09:14" (unix seconds). */
export function formatTime(seconds: number, options: ChartOptions = {}): string {
  const { day, month, hour, minute } = parts(seconds, options.timeZone);
  return `${day} ${month} ${hour}:${minute}`;
}

/** "2 Dec" (unix seconds). */
export function formatDay(seconds: number, options: ChartOptions = {}): string {
  const { day, month } = parts(seconds, options.timeZone);
  return `${day} ${month}`;
}

/** The points that can be drawn: finite, not negative, in time order. A hostile or broken answer draws nothing false. */
export function usablePoints(series: readonly EvidencePoint[]): EvidencePoint[] {
  return series.filter(([time, value]) => Number.isFinite(time) && Number.isFinite(value) && value >= 0).sort((a, b) => a[0] - b[0]);
}

/**
 * At most `count` points, each the highest of its slice of time: a peak (what a limit must cover) survives
 * downsampling, where averaging would flatten it.
 */
export function downsampleMax(points: readonly EvidencePoint[], count: number): EvidencePoint[] {
  if (points.length <= count || count < 1) return [...points];
  const first = points[0] as EvidencePoint;
  const last = points[points.length - 1] as EvidencePoint;
  const span = last[0] - first[0] || 1;
  const buckets: Array<EvidencePoint | undefined> = new Array<EvidencePoint | undefined>(count);
  for (const point of points) {
    const index = Math.min(count - 1, Math.floor(((point[0] - first[0]) / span) * count));
    const held = buckets[index];
    if (!held || point[1] > held[1]) buckets[index] = point;
  }
  return buckets.filter((point): point is EvidencePoint => point !== undefined);
}

/** 1, 2, 2.5 or 5 times a power of ten, at least `raw`. */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 2.5, 5, 10]) if (factor * power >= raw * (1 - 1e-9)) return factor * power;
  return 10 * power;
}

/** The axis unit: one unit for every tick of an axis, chosen by its top. */
function axisUnit(signal: UsageSignal, top: number): { size: number; format: (units: number) => string } {
  if (signal === 'cpu') {
    // Whole cores are bare numbers, as in a manifest; the chart's heading says "cores".
    return top < 1 ? { size: 0.001, format: (units) => `${trim(units, 1)}m` } : { size: 1, format: (units) => `${trim(units, 2)}` };
  }
  return top < gib ? { size: mib, format: (units) => `${trim(units, 1)}Mi` } : { size: gib, format: (units) => `${trim(units, 2)}Gi` };
}

/** The value axis from 0 to a round top above the highest value: the ticks and that top. */
export function valueTicks(signal: UsageSignal, highest: number, count = 4): { top: number; ticks: Array<{ value: number; label: string }> } {
  // Nothing above zero: one unit of headroom, so a flat zero line sits at the bottom, not in the middle.
  const max = highest > 0 && Number.isFinite(highest) ? highest : signal === 'cpu' ? 0.001 : mib;
  const unit = axisUnit(signal, max);
  const step = niceStep(max / unit.size / count);
  const steps = Math.max(1, Math.ceil((max / unit.size) * (1 - 1e-9) / step));
  const ticks = Array.from({ length: steps + 1 }, (_, index) => {
    const units = Number((index * step).toPrecision(12));
    return { value: units * unit.size, label: units === 0 ? '0' : unit.format(units) };
  });
  return { top: steps * step * unit.size, ticks };
}

/** Local midnights within [start, end] (unix seconds), found by the formatter so any time zone and DST is right. */
export function dayStarts(start: number, end: number, options: ChartOptions = {}): number[] {
  if (!(end > start) || end - start > 400 * 86_400) return [];
  const starts: number[] = [];
  // Every quarter hour (time zones with :30 and :45 offsets), from the first quarter hour at or after start.
  for (let time = Math.ceil(start / 900) * 900; time <= end; time += 900) {
    const { hour, minute } = parts(time, options.timeZone);
    if ((hour === '00' || hour === '24') && minute === '00') {
      starts.push(time);
      time += 82_800 - 900; // the next midnight is at least 23 hours on
    }
  }
  return starts;
}

const lineOrder: ChartLineKind[] = ['current-request', 'current-limit', 'recommended-request', 'recommended-limit'];
const lineWords: Record<ChartLineKind, string> = { 'current-request': 'current request', 'current-limit': 'current limit', 'recommended-request': 'recommended request', 'recommended-limit': 'recommended limit' };

function lineValues(lines: ChartLines): Array<{ kind: ChartLineKind; value: number }> {
  const values: Record<ChartLineKind, number | null> = { 'current-request': lines.currentRequest, 'current-limit': lines.currentLimit, 'recommended-request': lines.recommendedRequest, 'recommended-limit': lines.recommendedLimit };
  return lineOrder.flatMap((kind) => {
    const value = values[kind];
    return value !== null && Number.isFinite(value) && value >= 0 ? [{ kind, value }] : [];
  });
}

const round1 = (value: number) => Math.round(value * 10) / 10;

interface Frame {
  left: number;
  top: number;
  right: number;
  bottom: number;
  start: number;
  end: number;
  max: number;
}

const xOf = (frame: Frame, time: number) => round1(frame.left + ((time - frame.start) / (frame.end - frame.start)) * (frame.right - frame.left));
const yOf = (frame: Frame, value: number) => round1(frame.bottom - (Math.min(value, frame.max) / frame.max) * (frame.bottom - frame.top));

/** The window, widened to the points if they fall outside it (and never empty). */
function timeRange(input: ChartInput, points: readonly EvidencePoint[]): { start: number; end: number } {
  let start = Number.isFinite(input.start) ? input.start : Number.POSITIVE_INFINITY;
  let end = Number.isFinite(input.end) ? input.end : Number.NEGATIVE_INFINITY;
  for (const [time] of [points[0], points[points.length - 1]].filter((point): point is EvidencePoint => point !== undefined)) {
    start = Math.min(start, time);
    end = Math.max(end, time);
  }
  if (!Number.isFinite(start) || !Number.isFinite(end)) return { start: 0, end: 1 };
  return end > start ? { start, end } : { start: start - 1, end: start + 1 };
}

/** The line through the points, broken where samples are missing for longer than three usual steps. */
function linePath(frame: Frame, points: readonly EvidencePoint[]): { path: string; runs: Array<Array<[number, number]>> } {
  const gaps = points.slice(1).map((point, index) => point[0] - (points[index] as EvidencePoint)[0]).sort((a, b) => a - b);
  const usual = gaps[Math.floor(gaps.length / 2)] ?? 0;
  const runs: Array<Array<[number, number]>> = [];
  let run: Array<[number, number]> = [];
  points.forEach((point, index) => {
    const previous = points[index - 1];
    if (previous && usual > 0 && point[0] - previous[0] > usual * 3) {
      runs.push(run);
      run = [];
    }
    run.push([xOf(frame, point[0]), yOf(frame, point[1])]);
  });
  if (run.length > 0) runs.push(run);
  // A lone point still shows: a short flat segment of one pixel.
  const path = runs.map((coords) => (coords.length === 1 ? [coords[0] as [number, number], [(coords[0] as [number, number])[0] + 1, (coords[0] as [number, number])[1]] as [number, number]] : coords).map(([x, y], index) => `${index === 0 ? 'M' : 'L'}${x} ${y}`).join('')).join('');
  return { path, runs };
}

function titleOf(input: ChartInput, points: readonly EvidencePoint[], lines: ChartLineView[]): string {
  const name = input.signal === 'cpu' ? 'CPU' : 'memory';
  const days = Math.round((input.end - input.start) / 86_400);
  const peak = points.reduce((max, point) => Math.max(max, point[1]), Number.NEGATIVE_INFINITY);
  const head = points.length === 0 ? `${name}: ${noUsageData.toLowerCase()}` : `${name} over ${days > 0 ? `${days} days` : 'the window'}: max ${formatValue(input.signal, peak)}`;
  return [head, ...lines.map((line) => line.label)].join(' · ');
}

function build(input: ChartInput, frame: Omit<Frame, 'start' | 'end' | 'max'>, count: number, ticks: number): { view: SparklineView; frame: Frame; points: EvidencePoint[]; runs: Array<Array<[number, number]>>; yTicks: Array<{ value: number; label: string }> } {
  const points = downsampleMax(usablePoints(input.series), count);
  const { start, end } = timeRange(input, points);
  const values = lineValues(input.lines);
  const highest = Math.max(0, ...points.map((point) => point[1]), ...values.map((line) => line.value));
  const axis = valueTicks(input.signal, highest * 1.05, ticks);
  const full: Frame = { ...frame, start, end, max: axis.top };
  const lines = values.map(({ kind, value }) => ({ kind, value, y: yOf(full, value), label: `${lineWords[kind]} ${formatValue(input.signal, value)}` }));
  const { path, runs } = points.length > 0 ? linePath(full, points) : { path: '', runs: [] };
  return {
    // The callers set the box's size.
    view: { width: 0, height: 0, empty: points.length === 0 ? noUsageData : null, path, lines, title: titleOf({ ...input, start, end }, points, lines) },
    frame: full,
    points,
    runs,
    yTicks: axis.ticks,
  };
}

/** A row's small chart: the usage line (one point per pixel at most, peaks kept) and the four lines, no axes. */
export function sparkline(input: ChartInput, size: { width: number; height: number } = { width: 60, height: 22 }): SparklineView {
  // One pixel of room above and below, so a line at the top or at zero is not cut in half.
  const { view } = build(input, { left: 0, top: 1, right: size.width, bottom: size.height - 1 }, Math.max(2, Math.floor(size.width)), 4);
  return { ...view, width: size.width, height: size.height };
}

/** The selected row's chart: axes with units and dates, the area under the line, and the points to hover. */
export function detailChart(input: ChartInput, size: { width: number; height: number } = { width: 440, height: 170 }, options: ChartOptions = {}): DetailView {
  const plot = { left: 52, top: 8, right: size.width - 8, bottom: size.height - 20 };
  const { view, frame, points, runs, yTicks } = build(input, plot, maxEvidencePoints, 4);
  const area = runs
    .filter((run) => run.length > 1)
    .map((run) => `M${(run[0] as [number, number])[0]} ${plot.bottom}${run.map(([x, y]) => `L${x} ${y}`).join('')}L${(run[run.length - 1] as [number, number])[0]} ${plot.bottom}Z`)
    .join('');
  const days = dayStarts(frame.start, frame.end, options);
  // A label every day while there is room for one (about 44 pixels per label), else every second or third day.
  const every = Math.max(1, Math.ceil((days.length * 44) / Math.max(1, plot.right - plot.left)));
  const xTicks = days.filter((_, index) => index % every === 0).map((time) => ({ x: xOf(frame, time), label: formatDay(time, options) }));
  return {
    ...view,
    width: size.width,
    height: size.height,
    plot,
    area,
    xTicks,
    yTicks: yTicks.map((tick) => ({ y: yOf(frame, tick.value), label: tick.label })),
    points: {
      x: points.map((point) => xOf(frame, point[0])),
      y: points.map((point) => yOf(frame, point[1])),
      labels: points.map((point) => `${formatTime(point[0], options)} · ${formatValue(input.signal, point[1])}`),
    },
  };
}
