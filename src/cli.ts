// The standalone command line: `krr-mcp serve --stdio` (MCP server outside VS Code) and `krr-mcp relay`
// (stdio ↔ the running extension). stdout carries MCP messages only; everything else goes to stderr.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { version } from '../package.json';
import { parseSessionSettings, SettingsError } from './core/settings';

const usage = `krr-mcp — Kubernetes right-sizing with krr, as an MCP server

Usage:
  krr-mcp serve --stdio --state-dir <dir> [--kubeconfig <file>] [--context <name>]
                [--krr <path>] [--kubectl <path>] [--settings <file.json>] [--read-only]
                [--workspace <dir>]...
      An MCP server on stdin/stdout. Writes need a person's approval through the MCP client
      (elicitation); clients without elicitation get every write refused.
      --settings takes the krr.* settings as JSON (policy, prices, prometheusUrl, ...);
      the other flags override it. A Prometheus auth header is read only from the environment
      variable KRR_PROMETHEUS_AUTH_HEADER (never from a flag or the settings file) and is sent
      only to the configured prometheusUrl.
      --workspace (repeatable) names the folders whose manifests krr_propose_changes with
      target "manifests" edits (GitOps); paths in results are relative to them.
  krr-mcp relay [--discovery <file>]
      Forwards stdio to the MCP server of the KRR extension running in VS Code, found through its
      discovery file (default: $KRR_MCP_DISCOVERY). Approval happens in VS Code.
  krr-mcp --help
`;

/** The standalone server has no SecretStorage: the header comes from the environment, like a token. */
const authHeaderVariable = 'KRR_PROMETHEUS_AUTH_HEADER';

function log(line: string): void {
  process.stderr.write(`krr-mcp: ${line}\n`);
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      stdio: { type: 'boolean' },
      'state-dir': { type: 'string' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      krr: { type: 'string' },
      kubectl: { type: 'string' },
      settings: { type: 'string' },
      'read-only': { type: 'boolean' },
      workspace: { type: 'string', multiple: true },
    },
    strict: true,
  });
  if (!values.stdio) throw new UsageError('serve needs --stdio (the only transport of the standalone server)');
  const stateDir = values['state-dir'];
  if (!stateDir) throw new UsageError('serve needs --state-dir <dir> (the audit log, its key and head, and snapshots are kept there)');
  const fromFile: Record<string, unknown> = values.settings ? readSettingsFile(values.settings) : {};
  if (Object.keys(fromFile).some((key) => /auth.?header/i.test(key))) {
    throw new UsageError(`--settings ${values.settings ?? ''} holds a Prometheus auth header: a settings file is no place for a secret; set the environment variable ${authHeaderVariable} instead`);
  }
  // Read once and removed from this process's environment, so kubectl and krr do not inherit it.
  const prometheusAuthHeader = process.env[authHeaderVariable] || undefined;
  delete process.env[authHeaderVariable];
  const readOnly = values['read-only'] === true || fromFile.readOnly === true;
  const settings = parseSessionSettings({
    ...fromFile,
    ...(values.krr ? { krrPath: values.krr } : {}),
    ...(values.kubectl ? { kubectlPath: values.kubectl } : {}),
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context ? { context: values.context } : {}),
    readOnly,
    ...(values['read-only'] ? { readOnlyReason: 'started with --read-only' } : {}),
  });
  // Loaded on demand: the relay and --help never load the core.
  const { serveStdio } = await import('./mcp/stdio');
  await serveStdio({ settings, stateDir, version, log, ...(prometheusAuthHeader ? { prometheusAuthHeader } : {}), ...(values.workspace ? { workspaceFolders: values.workspace } : {}) });
  return 0;
}

function readSettingsFile(file: string): Record<string, unknown> {
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`--settings ${file} must hold a JSON object`);
  return parsed as Record<string, unknown>;
}

async function relay(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { discovery: { type: 'string' } }, strict: true });
  const discoveryFile = values.discovery ?? process.env.KRR_MCP_DISCOVERY;
  const { runRelay } = await import('./mcp/relay');
  await runRelay({ discoveryFile, log });
  return 0;
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || rest.includes('--help')) {
    process.stdout.write(usage);
    return 0;
  }
  try {
    if (command === 'serve') return await serve(rest);
    if (command === 'relay') return await relay(rest);
    throw new UsageError(`unknown command "${command}"`);
  } catch (error) {
    if (error instanceof SettingsError) log(error.message);
    else if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) log(`${error.message}\n\n${usage}`);
    else log(error instanceof Error ? error.message : String(error));
    return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (error: unknown) => {
    log(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
