// Prometheus' HTTP API answers the evidence reader trusts: a query's (/api/v1/query, /api/v1/query_range), and the
// store's build and flags (/api/v1/status/buildinfo, /api/v1/status/flags), which say whether its raw samples can be
// read (remoteRead.ts has the remote read's own shape). Sample values travel as strings; "NaN", "+Inf" and "-Inf" are
// kept as what they are and never become numbers.
import { z } from 'zod';

/** A value that is not a finite number: Prometheus' spelling (Go's strconv.FormatFloat). */
export type NonFinite = 'NaN' | '+Inf' | '-Inf';
export type SampleValue = number | NonFinite;

const sampleValue = z.string().transform((text, ctx): SampleValue => {
  if (text === 'NaN') return 'NaN';
  if (text === '+Inf' || text === 'Inf') return '+Inf';
  if (text === '-Inf') return '-Inf';
  const value = Number(text);
  // Number('') is 0 and Number('0x1') is 1: accept only what Prometheus writes for a float.
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) || !Number.isFinite(value)) {
    ctx.addIssue({ code: 'custom', message: `not a sample value: ${JSON.stringify(text.slice(0, 40))}` });
    return z.NEVER;
  }
  return value;
});

/** [unix seconds, value]. */
const sample = z.tuple([z.number().finite(), sampleValue]);
const labels = z.record(z.string(), z.string());

export const prometheusResponseSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.discriminatedUnion('resultType', [
      z.object({ resultType: z.literal('vector'), result: z.array(z.object({ metric: labels, value: sample })) }),
      z.object({ resultType: z.literal('matrix'), result: z.array(z.object({ metric: labels, values: z.array(sample) })) }),
    ]),
    warnings: z.array(z.string()).optional(),
  }),
  z.object({ status: z.literal('error'), errorType: z.string(), error: z.string() }),
]);

export type PrometheusResponse = z.infer<typeof prometheusResponseSchema>;

/** The number, or null for NaN and ±Inf (a percentile of nothing, a division by zero): never a made-up value. */
export function finite(value: SampleValue): number | null {
  return typeof value === 'number' ? value : null;
}

/** /api/v1/status/buildinfo: Prometheus' version; other stores answering it name themselves in `application` (Mimir) or answer a 2.x version (VictoriaMetrics). */
export const buildInfoSchema = z.object({ status: z.literal('success'), data: z.object({ version: z.string(), application: z.string().optional() }) });

/** /api/v1/status/flags: every command-line flag's value as a string (`query.lookback-delta`: "5m"). */
export const flagsSchema = z.object({ status: z.literal('success'), data: z.record(z.string(), z.string()) });
