// Where the Prometheus auth header may go: only to the Prometheus URL the person configured. A URL from a
// tool call is the model's word, and a prompt-injected model would point it at a listener of its own.

/** What a scan result says about the header (never the header itself). */
export type PrometheusAuthNote =
  | 'none stored'
  | 'sent to the configured Prometheus URL'
  | 'not sent: URL differs from the configured one'
  | 'not sent: no Prometheus URL is configured (krr.prometheusUrl)';

export interface PrometheusAuthDecision {
  send: boolean;
  note: PrometheusAuthNote;
}

/**
 * The parts of a URL that decide where a request goes and as whom: scheme, userinfo, host, port, path and
 * query, after WHATWG normalisation (lower-case scheme and host, default port dropped, `..` resolved,
 * percent-encoding canonical). One trailing `/` of the path is ignored (krr appends `/api/v1/...` either
 * way). Anything else that differs — a path's case, a trailing dot on the host, a user name — is a
 * different URL. Returns null for something that is not an http(s) URL.
 */
export function normalisePrometheusUrl(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
  const path = parsed.pathname.length > 1 && parsed.pathname.endsWith('/') ? parsed.pathname.slice(0, -1) : parsed.pathname;
  return JSON.stringify([parsed.protocol, parsed.username, parsed.password, parsed.hostname, parsed.port, path, parsed.search]);
}

/**
 * Whether the stored header goes with a scan of `effectiveUrl`. With no configured URL krr would discover a
 * Prometheus from cluster state (which others can shape), so the header goes nowhere.
 */
export function decidePrometheusAuth(options: { header: string | undefined; configuredUrl: string | undefined; effectiveUrl: string | undefined }): PrometheusAuthDecision {
  if (!options.header) return { send: false, note: 'none stored' };
  if (!options.configuredUrl) return { send: false, note: 'not sent: no Prometheus URL is configured (krr.prometheusUrl)' };
  const configured = normalisePrometheusUrl(options.configuredUrl);
  const effective = options.effectiveUrl === undefined ? null : normalisePrometheusUrl(options.effectiveUrl);
  if (configured === null || effective === null || configured !== effective) return { send: false, note: 'not sent: URL differs from the configured one' };
  return { send: true, note: 'sent to the configured Prometheus URL' };
}
