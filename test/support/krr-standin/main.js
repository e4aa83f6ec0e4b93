// A stand-in for robusta-dev/krr v1.29.0 (which cannot be installed here): same subcommands, flags,
// stdout/stderr split, exit codes and messages as docs/krr-facts.md describes.
// Environment knobs (tests only):
//   KRR_STANDIN_REPORT=<file>        report to start from (default: the sample report beside this file)
//   KRR_STANDIN_FROM_CLUSTER=1       read allocations from the live objects (-k/-c kubeconfig, bearer token)
//   KRR_STANDIN_FAIL=<mode>          kubeconfig | no-prometheus | prometheus-unreachable | no-objects |
//                                    all-scans-failed | multiple-clusters | exit0-no-json | slow | crash |
//                                    echo-auth-header (pydantic's error quoting the header, its token logged alone)
//   KRR_STANDIN_SLOW_MS=<ms>         how long `slow` sleeps (default 30000), logging to stderr meanwhile
//   KRR_STANDIN_PID_FILE=<file>      `slow` writes {"pid","childPid"} here (it also starts a child process)
//   KRR_STANDIN_ARGV_LOG=<file>      append {"argv":[...]} (one JSON line per run)
//   KRR_STANDIN_VERSION=<v>          what `krr version` prints (default 1.29.0); below 1.18 there is no
//                                    simple_limit (exit 2, like the real older krr)
//   KRR_STANDIN_ECHO_ARGS=1          log the argv as a DEBUG line on stderr (a krr that leaks its arguments)
//   KRR_STANDIN_CENTRAL, KRR_STANDIN_OOMKILLED, KRR_STANDIN_OBJECT_MS, KRR_STANDIN_TRACE: see simulation.js
//   KRR_STANDIN_QUERY_PROMETHEUS=1   with -p, POST <url>/api/v1/query (query=example) first, like krr does, sending
//                                    --prometheus-auth-header as the Authorization header (and -H headers);
//                                    an unreachable URL fails as krr does ("Couldn't connect to Prometheus …")
//   KRR_STANDIN_PROMETHEUS=fixed     keep the fixed/simulated numbers even with -p (see below)
// Two modes. Without -p (or with KRR_STANDIN_PROMETHEUS=fixed, KRR_STANDIN_QUERY_PROMETHEUS=1, or the simulation's
// knobs KRR_STANDIN_CENTRAL / KRR_STANDIN_OOMKILLED): the report's fixed numbers, simulated by simulation.js.
// With -p: Prometheus mode (prometheus.js): krr's connection check, then krr's own queries against <url>/api/v1/query
// and the strategy's arithmetic; an unreachable or refusing Prometheus fails as krr does. Workloads come from the report (or the
// cluster with KRR_STANDIN_FROM_CLUSTER=1); their pods, usage and recommendations from Prometheus.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { loadLiveAllocations, KubeConfigError } = require('./cluster');
const { recomputeSeverities, computeScore } = require('./severity');
const { simulateRecommendations, groupJobs, gatherMetrics, headerProblem, parseHeaders } = require('./simulation');
const { recommendFromPrometheus } = require('./prometheus');

const VERSION = process.env.KRR_STANDIN_VERSION || '1.29.0';
const FORMATTERS = ['table', 'json', 'yaml', 'pprint', 'csv', 'csv-raw', 'html'];

// name -> { long forms, short, type: 'string' | 'int' | 'float' | 'bool', multiple }
const COMMON_OPTIONS = {
  clusters: { flags: ['--context', '--cluster', '-c'], type: 'string', multiple: true },
  all_clusters: { flags: ['--all-clusters'], type: 'bool' },
  kubeconfig: { flags: ['--kubeconfig', '-k'], type: 'string' },
  namespaces: { flags: ['--namespace', '-n'], type: 'string', multiple: true },
  resources: { flags: ['--resource', '-r'], type: 'string', multiple: true },
  selector: { flags: ['--selector', '-s'], type: 'string' },
  prometheus_url: { flags: ['--prometheus-url', '-p'], type: 'string' },
  prometheus_auth_header: { flags: ['--prometheus-auth-header'], type: 'string' },
  prometheus_other_headers: { flags: ['--prometheus-headers', '-H'], type: 'string', multiple: true },
  prometheus_label: { flags: ['--prometheus-label'], type: 'string' },
  prometheus_cluster_label: { flags: ['--prometheus-cluster-label', '-l'], type: 'string' },
  job_grouping_labels: { flags: ['--job-grouping-labels'], type: 'string' },
  job_grouping_limit: { flags: ['--job-grouping-limit'], type: 'int' },
  cpu_min_value: { flags: ['--cpu-min'], type: 'int' },
  memory_min_value: { flags: ['--mem-min'], type: 'int' },
  max_workers: { flags: ['--max-workers', '-w'], type: 'int' },
  format: { flags: ['--formatter', '-f'], type: 'string' },
  log_to_stderr: { flags: ['--logtostderr'], type: 'bool' },
  quiet: { flags: ['--quiet', '-q'], type: 'bool' },
  verbose: { flags: ['--verbose', '-v'], type: 'bool' },
  file_output: { flags: ['--fileoutput'], type: 'string' },
  show_cluster_name: { flags: ['--show-cluster-name'], type: 'bool' },
  width: { flags: ['--width'], type: 'int' },
};

const SIMPLE_SETTINGS = {
  history_duration: { type: 'float', default: 336 },
  timeframe_duration: { type: 'float', default: 1.25 },
  cpu_percentile: { type: 'float', default: 95 },
  memory_buffer_percentage: { type: 'float', default: 15 },
  points_required: { type: 'int', default: 100 },
  allow_hpa: { type: 'bool', default: false },
  use_oomkill_data: { type: 'bool', default: false },
  oom_memory_buffer_percentage: { type: 'float', default: 25 },
};
const SIMPLE_LIMIT_SETTINGS = {
  ...SIMPLE_SETTINGS,
  cpu_request: { type: 'float', default: 66 },
  cpu_limit: { type: 'float', default: 96 },
};

class UsageError extends Error {}

function main(argv) {
  logArgv(argv);
  const command = argv[0];
  if (command === undefined || command === '--help') {
    process.stdout.write(`Usage: krr [OPTIONS] COMMAND [ARGS]...\n\nCommands:\n  simple\n  simple_limit\n  version\n`);
    return command === undefined ? 2 : 0;
  }
  if (command === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command !== 'simple' && (command !== 'simple_limit' || versionBelow(1, 18))) {
    return usageError('krr [OPTIONS] COMMAND [ARGS]...', "krr --help", `No such command '${command}'.`);
  }
  let parsed;
  try {
    parsed = parseOptions(command, argv.slice(1));
  } catch (error) {
    if (error instanceof UsageError) return usageError(`krr ${command} [OPTIONS]`, `krr ${command} --help`, error.message);
    throw error;
  }
  return run(command, parsed);
}

function versionBelow(major, minor) {
  const [have, haveMinor] = VERSION.split('.').map(Number);
  return have < major || (have === major && haveMinor < minor);
}

function usageError(usage, help, message) {
  process.stderr.write(`Usage: ${usage}\nTry '${help}' for help.\n\nError: ${message}\n`);
  return 2;
}

function optionTable(command) {
  const settings = command === 'simple_limit' ? SIMPLE_LIMIT_SETTINGS : SIMPLE_SETTINGS;
  const table = new Map();
  for (const [name, spec] of Object.entries(COMMON_OPTIONS)) {
    for (const flag of spec.flags) table.set(flag, { name, spec, strategy: false });
  }
  for (const [name, spec] of Object.entries(settings)) {
    // krr generates both spellings for every strategy setting.
    table.set(`--${name}`, { name, spec, strategy: true });
    table.set(`--${name.replaceAll('_', '-')}`, { name, spec, strategy: true });
  }
  return { table, settings };
}

function parseOptions(command, args) {
  const { table, settings } = optionTable(command);
  const options = {};
  const strategy = {};
  for (const [name, spec] of Object.entries(settings)) strategy[name] = spec.default;
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index];
    let flag = arg;
    let inline;
    if (arg.startsWith('--') && arg.includes('=')) {
      flag = arg.slice(0, arg.indexOf('='));
      inline = arg.slice(arg.indexOf('=') + 1);
    } else if (/^-[A-Za-z]./.test(arg)) {
      flag = arg.slice(0, 2); // click accepts `-nshop`
      inline = arg.slice(2);
    }
    if (!arg.startsWith('-')) throw new UsageError(`Got unexpected extra argument (${arg})`);
    const entry = table.get(flag);
    if (!entry) throw new UsageError(`No such option: ${flag}`);
    const { name, spec } = entry;
    let value;
    if (spec.type === 'bool') {
      if (inline !== undefined) throw new UsageError(`Option '${flag}' does not take a value.`);
      value = true;
    } else {
      if (inline !== undefined) value = inline;
      else {
        index += 1;
        if (index >= args.length) throw new UsageError(`Option '${flag}' requires an argument.`);
        value = args[index];
      }
      value = convert(value, spec.type, entry);
    }
    const target = entry.strategy ? strategy : options;
    if (spec.multiple) (target[name] ??= []).push(value);
    else target[name] = value;
  }
  return { options, strategy };
}

function convert(raw, type, entry) {
  const label = entry.spec.flags ? entry.spec.flags.slice().reverse().map((f) => `'${f}'`).join(' / ') : `'--${entry.name}'`;
  if (type === 'int') {
    if (!/^[+-]?\d+$/.test(raw.trim())) throw new UsageError(`Invalid value for ${label}: '${raw}' is not a valid integer.`);
    return Number.parseInt(raw, 10);
  }
  if (type === 'float') {
    const value = Number(raw);
    if (raw.trim() === '' || Number.isNaN(value)) throw new UsageError(`Invalid value for ${label}: '${raw}' is not a valid float.`);
    return value;
  }
  return raw;
}

// Argument validation happens in krr's pydantic Config, after click: krr logs a traceback and exits 0.
function validationError(field, message) {
  process.stderr.write(
    [
      'Traceback (most recent call last):',
      '  File "/usr/local/lib/python3.12/site-packages/robusta_krr/main.py", line 318, in run_strategy',
      '    config = Config(**locals_copy)',
      '             ^^^^^^^^^^^^^^^^^^^^^',
      '  File "/usr/local/lib/python3.12/site-packages/pydantic/main.py", line 193, in __init__',
      '    self.__pydantic_validator__.validate_python(data, self_instance=self)',
      'pydantic_core._pydantic_core.ValidationError: 1 validation error for Config',
      field,
      `  ${message}`,
      '',
    ].join('\n'),
  );
  return 0;
}

function validate(options, strategy) {
  if (options.format !== undefined && !FORMATTERS.includes(options.format)) {
    return validationError('format', `Value error, Formatter '${options.format}' not found [type=value_error, input_value='${options.format}', input_type=str]`);
  }
  if (options.max_workers !== undefined && options.max_workers < 1) {
    return validationError('max_workers', `Input should be greater than or equal to 1 [type=greater_than_equal, input_value=${options.max_workers}, input_type=int]`);
  }
  if (options.prometheus_url !== undefined && !/^https?:\/\//.test(options.prometheus_url)) {
    return validationError('prometheus_url', 'Value error, Prometheus URL must start with http:// or https:// [type=value_error, input_type=str]');
  }
  for (const name of ['cpu_percentile', 'cpu_request', 'cpu_limit']) {
    if (strategy[name] !== undefined && (strategy[name] < 0 || strategy[name] > 100)) {
      return validationError(`other_args.${name}`, `Input should be less than or equal to 100 [type=less_than_equal, input_value=${strategy[name]}]`);
    }
  }
  const headers = headerProblem(options.prometheus_other_headers);
  if (headers !== null) {
    // pydantic quotes the input: krr's own error repeats the headers in clear (the runner masks them).
    return validationError('prometheus_other_headers', `Value error, ${headers} [type=value_error, input_value=${JSON.stringify(options.prometheus_other_headers)}, input_type=list]`);
  }
  if (options.cpu_min_value !== undefined && options.cpu_min_value < 0) {
    return validationError('cpu_min_value', 'Input should be greater than or equal to 0 [type=greater_than_equal]');
  }
  if (options.memory_min_value !== undefined && options.memory_min_value < 0) {
    return validationError('memory_min_value', 'Input should be greater than or equal to 0 [type=greater_than_equal]');
  }
  return null;
}

function makeLogger(options) {
  // Without --logtostderr krr's rich console writes banner and logs to stdout, before the result.
  const stream = options.log_to_stderr ? process.stderr : process.stdout;
  const stamp = () => new Date().toISOString().slice(11, 19);
  const write = (level, message) => {
    const lines = String(message).split('\n');
    stream.write(`[${stamp()}] ${level.padEnd(8)} ${lines[0]}\n${lines.slice(1).map((line) => `${' '.repeat(20)}${line}\n`).join('')}`);
  };
  return {
    info: (message) => {
      if (!options.quiet) write('INFO', message);
    },
    debug: (message) => write('DEBUG', message),
    warning: (message) => write('WARNING', message),
    error: (message) => write('ERROR', message),
    banner: () => {
      if (options.quiet) return;
      stream.write(' _____  _____  _____  \n|  __ \\|  __ \\|  __ \\ \n| |__) | |__) | |__) |\n|  _  /|  _  /|  _  / \n| | \\ \\| | \\ \\| | \\ \\ \n|_|  \\_\\_|  \\_\\_|  \\_\\\n\n');
      stream.write(`Running Robusta's KRR (Kubernetes Resource Recommender) ${VERSION}\n`);
    },
  };
}

async function run(command, { options, strategy }) {
  const invalid = validate(options, strategy);
  if (invalid !== null) return invalid;
  const log = makeLogger(options);
  log.banner();
  if (process.env.KRR_STANDIN_ECHO_ARGS === '1') log.debug(`argv: ${JSON.stringify(process.argv.slice(2))}`);
  log.info(`Using strategy: ${command === 'simple' ? 'Simple' : 'Simple Limit'}`);
  log.info(`Using formatter: ${options.format ?? 'table'}`);

  const fail = process.env.KRR_STANDIN_FAIL || '';
  const clusters = options.clusters ?? [];
  const cluster = clusters[0] ?? 'prod-eu-1';

  if (fail === 'crash') {
    process.stderr.write(
      'Traceback (most recent call last):\n  File "/usr/local/bin/krr", line 8, in <module>\n    sys.exit(run())\n' +
        '  File "/usr/local/lib/python3.12/site-packages/robusta_krr/core/runner.py", line 336, in _collect_result\n' +
        '    scans = await asyncio.gather(*[self._gather_object_allocations(k8s_object) for k8s_object in workloads])\n' +
        "KeyError: 'container'\n",
    );
    return 1;
  }
  if (fail === 'echo-auth-header' && options.prometheus_auth_header) {
    // pydantic quotes the input in its messages; a log line may carry just the token of `Bearer <token>`.
    log.error(`Prometheus rejected the token ${options.prometheus_auth_header.split(' ').pop()}`);
    return validationError('prometheus_auth_header', `Value error, unsupported header [type=value_error, input_value='${options.prometheus_auth_header}', input_type=str]`);
  }
  if (fail === 'exit0-no-json') {
    return validationError('namespaces', 'Value error, invalid namespace [type=value_error]');
  }
  if (fail === 'kubeconfig') return kubeconfigError(log, 'Service host/port is not set.');
  if (fail === 'slow') await slowDown(log);

  // Several clusters on one Prometheus: krr cannot tell their series apart.
  if ((clusters.length > 1 || options.all_clusters) && options.prometheus_url) {
    log.error(`Cannot scan multiple clusters for this prometheus, Rerun with the flag \`-c <cluster>\` where <cluster> is one of ${JSON.stringify(clusters)}`);
    return 1;
  }
  log.info(`Using clusters: ['${cluster}']`);

  let report = loadReport();
  report = filterReport(report, options);
  if (process.env.KRR_STANDIN_FROM_CLUSTER === '1') {
    try {
      report = await loadLiveAllocations(report, { kubeconfig: options.kubeconfig, context: clusters[0] });
    } catch (error) {
      if (error instanceof KubeConfigError) return kubeconfigError(log, error.message);
      throw error;
    }
  } else if (clusters[0]) {
    for (const scan of report.scans) scan.object.cluster = clusters[0];
  }
  const clusterName = report.scans[0]?.object.cluster ?? cluster;
  log.info(`Listing scannable objects in ${clusterName}`);

  if (fail === 'no-prometheus') {
    log.error(
      `Wasn't able to connect to any Prometheus service in ${clusterName} cluster\n` +
        'Try using port-forwarding and/or setting the url manually (using the -p flag.).\n' +
        'For more information, see \'Giving the Explicit Prometheus URL\' at https://github.com/robusta-dev/krr?tab=readme-ov-file#usage',
    );
    return 1;
  }
  const computing = prometheusMode(options);
  if ((computing || process.env.KRR_STANDIN_QUERY_PROMETHEUS === '1') && options.prometheus_url && fail !== 'prometheus-unreachable') {
    const problem = await queryPrometheus(options);
    if (problem) {
      log.error(`Couldn't connect to Prometheus found under ${options.prometheus_url}\nCaused by ${problem}`);
      return 1;
    }
  }
  if (fail === 'prometheus-unreachable') {
    const url = options.prometheus_url ?? 'http://prometheus-server.monitoring.svc.cluster.local:80';
    log.error(
      `Couldn't connect to Prometheus found under ${url}\n` +
        `Caused by ConnectionError: HTTPConnectionPool(host='${new URL(url).hostname}', port=${new URL(url).port || 80}): Max retries exceeded with url: /api/v1/query (Caused by NewConnectionError('Failed to establish a new connection: [Errno 111] Connection refused'))`,
    );
    return 1;
  }
  if (fail === 'no-objects' || report.scans.length === 0) {
    log.error('No objects available to scan.');
    return 1;
  }
  log.info(`Found ${report.scans.length} objects across ${new Set(report.scans.map((s) => s.object.namespace)).size} namespaces in ${clusterName}`);
  if (fail === 'all-scans-failed') {
    log.error('No successful scans were made. Check the logs for more information.');
    return 1;
  }

  groupJobs(report, options);
  if (computing) {
    const queries = await recommendFromPrometheus(report, command, strategy, options, log);
    if (options.verbose) log.debug(`Sent ${queries} queries to Prometheus`);
    if (report.scans.length === 0) {
      log.error('No successful scans were made. Check the logs for more information.');
      return 1;
    }
    recomputeSeverities(report);
  } else {
    await gatherMetrics(report, options);
    if (simulateRecommendations(report, strategy, options)) recomputeSeverities(report);
  }
  applyStrategy(report, command, strategy, options, computing);
  log.info(`Calculating recommendations for ${report.scans.length} objects`);
  const output = formatReport(report, options.format ?? 'table');
  if (options.file_output) {
    fs.writeFileSync(options.file_output, output);
    log.info(`Writing output to file: ${options.file_output}`);
  } else {
    process.stdout.write(output);
  }
  return 0;
}

/**
 * krr's connection check (prometrix's check_prometheus_connection): POST /api/v1/query with `query=example`, the auth
 * header as `Authorization` and the -H headers; returns what krr puts after "Caused by", or null when connected.
 */
async function queryPrometheus(options) {
  const headers = parseHeaders(options.prometheus_other_headers);
  let url;
  try {
    // requests sends a URL's user:password as Basic auth; fetch refuses credentials in the URL.
    url = new URL(options.prometheus_url);
    if (url.username) headers.Authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
    if (options.prometheus_auth_header) headers.Authorization = options.prometheus_auth_header;
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/v1/query`;
    const response = await fetch(url, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'query=example', signal: AbortSignal.timeout(5000) });
    await response.arrayBuffer();
    if (response.status >= 400) {
      // requests' raise_for_status; krr's f-string leaves a stray ")" at the end.
      return `HTTPError: ${response.status} ${response.status < 500 ? 'Client' : 'Server'} Error: ${response.statusText} for url: ${url})`;
    }
    return null;
  } catch (error) {
    const code = error && error.cause ? error.cause.code || error.cause.message : String(error);
    const where = url ? `host='${url.hostname}', port=${url.port || (url.protocol === 'https:' ? 443 : 80)}` : 'host=?';
    return `ConnectionError: HTTPConnectionPool(${where}): Max retries exceeded with url: /api/v1/query (Caused by NewConnectionError('Failed to establish a new connection: ${code}')))`;
  }
}

function kubeconfigError(log, detail) {
  log.error(`Could not load kubernetes configuration: ${detail}`);
  log.error('Try to explicitly set --context and/or --kubeconfig flags.');
  return 1;
}

async function slowDown(log) {
  const total = Number(process.env.KRR_STANDIN_SLOW_MS || 30000);
  // Real krr runs worker threads/processes; a child lets tests check the whole tree dies on cancel.
  // It outlives krr when only krr is killed (what tests check), but never by more than a few seconds.
  const child = spawn(process.execPath, ['-e', `setTimeout(() => {}, ${total + 5000})`], { stdio: 'ignore' });
  if (process.env.KRR_STANDIN_PID_FILE) {
    fs.writeFileSync(process.env.KRR_STANDIN_PID_FILE, JSON.stringify({ pid: process.pid, childPid: child.pid }));
  }
  const started = Date.now();
  let step = 0;
  while (Date.now() - started < total) {
    step += 1;
    log.info(`Gathering metrics: batch ${step}`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(200, total - (Date.now() - started))));
  }
  child.kill();
}

function loadReport() {
  const file = process.env.KRR_STANDIN_REPORT || path.join(__dirname, 'sample-report.json');
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function namespaceMatches(patterns, namespace) {
  if (!patterns || patterns.length === 0 || patterns.includes('*')) return namespace !== 'kube-system';
  // krr treats -n as a regex; kube-system is scanned only when named outright.
  if (namespace === 'kube-system') return patterns.includes('kube-system');
  return patterns.some((pattern) => {
    try {
      return new RegExp(`^(?:${pattern})$`).test(namespace);
    } catch {
      return pattern === namespace;
    }
  });
}

function selectorMatches(selector, labels) {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const match = /^\s*([^!=\s]+)\s*(!=|==|=)\s*([^\s]*)\s*$/.exec(term);
    if (!match) return false;
    const actual = labels?.[match[1]];
    return match[2] === '!=' ? actual !== match[3] : actual === match[3];
  });
}

function filterReport(report, options) {
  const kinds = options.resources?.filter((r) => r !== '*').map((r) => r.toLowerCase());
  report.scans = report.scans.filter(
    (scan) =>
      namespaceMatches(options.namespaces, scan.object.namespace) &&
      selectorMatches(options.selector, scan.object.labels) &&
      (!kinds || kinds.length === 0 || kinds.includes(scan.object.kind.toLowerCase())),
  );
  return report;
}

/** Prometheus mode: -p given and no fixed-number knob set (main.js's header). */
function prometheusMode(options) {
  if (options.prometheus_url === undefined) return false;
  // QUERY_PROMETHEUS predates this mode: a connection check, then the fixed numbers (tests of where headers go).
  if (process.env.KRR_STANDIN_PROMETHEUS === 'fixed' || process.env.KRR_STANDIN_QUERY_PROMETHEUS === '1') return false;
  return !process.env.KRR_STANDIN_CENTRAL && !process.env.KRR_STANDIN_OOMKILLED;
}

function applyStrategy(report, command, strategy, options, computing) {
  if (command === 'simple_limit') {
    // Prometheus mode computed both percentiles already; the fixed report only has the request's.
    for (const scan of computing ? [] : report.scans) {
      const request = scan.recommended.requests.cpu.value;
      if (typeof request === 'number') {
        const ratio = strategy.cpu_limit / Math.max(strategy.cpu_request, 1);
        scan.recommended.limits.cpu.value = Math.ceil(request * ratio * 1000) / 1000;
      }
    }
    report.description = `[b]Simple Limit Strategy[/b]\n\nCPU request: ${strategy.cpu_request}% percentile, limit: ${strategy.cpu_limit}% percentile`;
    recomputeSeverities(report);
  }
  report.strategy = { name: command, settings: strategy };
  report.score = computeScore(report.scans);
  if (report.config) {
    // krr echoes its whole configuration, secrets included, in clear.
    Object.assign(report.config, {
      clusters: options.clusters ?? null,
      kubeconfig: options.kubeconfig ?? null,
      namespaces: options.namespaces ?? '*',
      resources: options.resources ?? '*',
      selector: options.selector ?? null,
      prometheus_url: options.prometheus_url ?? null,
      prometheus_auth_header: options.prometheus_auth_header ?? null,
      format: options.format ?? 'table',
      strategy: command,
      log_to_stderr: Boolean(options.log_to_stderr),
      quiet: Boolean(options.quiet),
      file_output: options.file_output ?? null,
      other_args: strategy,
    });
  }
}

function formatReport(report, format) {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  if (format === 'yaml') return require('yaml').stringify(report, { indentSeq: false }); // PyYAML's layout
  const rows = report.scans.map((s) => `${s.object.namespace}\t${s.object.name}\t${s.object.container}\t${s.severity}`);
  return `${rows.join('\n')}\n${report.scans.length} scans, score ${report.score}\n`;
}

function logArgv(argv) {
  if (process.env.KRR_STANDIN_ARGV_LOG) fs.appendFileSync(process.env.KRR_STANDIN_ARGV_LOG, `${JSON.stringify({ argv })}\n`);
}

module.exports = { main };
