// large_cluster_simulation: parseReport (parse + validate + group) against a bare JSON.parse of the same
// bytes, interleaved in one process; peak RSS of a single parse in a fresh child process.
import * as path from 'node:path';
import { parseReport } from '../src/core/krr/report';
import { collectGarbage, median, round } from './stats';

export interface ParseFigures {
  scans: number;
  workloads: number;
  bytes: number;
  runs: number;
  json_parse_ms: number;
  parse_report_ms: number;
  ratio_vs_json_parse: number;
  /** The first (cold, unoptimised) run of each, as a user opening one report sees it. */
  cold_ratio_vs_json_parse: number;
  peak_rss_mb: number;
  /** The same child process doing only JSON.parse, and doing nothing: what the parse adds. */
  json_parse_peak_rss_mb: number;
  idle_child_rss_mb: number;
}

export async function benchmarkParse(report: { text: string; file: string; workloads: number; scans: number }, runs = 9): Promise<ParseFigures> {
  const json: number[] = [];
  const parsed: number[] = [];
  let workloads = 0;
  // Run 0 is the cold run; runs 1..2 warm up; the rest are measured. Interleaved so drift hits both alike.
  const warmup = 2;
  let coldJson = 0;
  let coldReport = 0;
  for (let run = 0; run < warmup + 1 + runs; run += 1) {
    collectGarbage();
    let started = performance.now();
    JSON.parse(report.text);
    const jsonMs = performance.now() - started;
    collectGarbage();
    started = performance.now();
    workloads = parseReport(report.text).workloads.length;
    const reportMs = performance.now() - started;
    if (run === 0) {
      coldJson = jsonMs;
      coldReport = reportMs;
    }
    if (run > warmup) {
      json.push(jsonMs);
      parsed.push(reportMs);
    }
  }
  if (workloads !== report.workloads) throw new Error(`parseReport grouped ${workloads} workloads, expected ${report.workloads}`);
  const jsonMedian = median(json);
  const reportMedian = median(parsed);
  return {
    scans: report.scans,
    workloads,
    bytes: Buffer.byteLength(report.text),
    runs,
    json_parse_ms: round(jsonMedian),
    parse_report_ms: round(reportMedian),
    ratio_vs_json_parse: round(reportMedian / jsonMedian),
    cold_ratio_vs_json_parse: round(coldReport / coldJson),
    peak_rss_mb: round((await childRss(report.file, 'report')).maxRssMb, 1),
    json_parse_peak_rss_mb: round((await childRss(report.file, 'json')).maxRssMb, 1),
    idle_child_rss_mb: round((await childRss(report.file, 'none')).maxRssMb, 1),
  };
}

async function childRss(file: string, mode: 'report' | 'json' | 'none'): Promise<{ maxRssMb: number }> {
  const { execa } = await import('execa');
  const script = path.join(__dirname, 'rss-child.ts');
  const { stdout } = await execa(process.execPath, ['--import', 'tsx', script, file, mode], { cwd: path.join(__dirname, '..'), stdin: 'ignore' });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { maxRssMb: number };
}
