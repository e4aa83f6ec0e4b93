// Every tool's input and output schema passes MCP Inspector's `--strict` portability check — the real inspector
// (a pinned devDependency) run against the real stdio server, reporting errors *and* warnings: `type` arrays
// (["string","null"]), untyped schemas (`additionalProperties: {}`), bare boolean schemas, remote `$ref`s.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { tools } from '../../src/mcp/tools';

const repoRoot = path.resolve(__dirname, '..', '..');
const inspector = path.join(path.dirname(createRequire(__filename).resolve('@modelcontextprotocol/inspector/package.json')), 'clients', 'launcher', 'build', 'index.js');

interface Finding {
  rule: string;
  severity: 'error' | 'warning';
  schema: string;
  path: string;
  issue: string;
}

interface Lint {
  exitCode: number;
  tools: string[];
  findings: Array<{ toolName: string; findings: Finding[] }>;
  stderr: string;
}

/** `inspector --cli --method tools/list --strict --format json <server…>`, as a person would run it. */
function strictToolsList(server: string[]): Promise<Lint> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [inspector, '--cli', '--method', 'tools/list', '--strict', '--format', 'json', '--', process.execPath, '--import', 'tsx', ...server],
      { cwd: repoRoot, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const exitCode = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        try {
          const envelope = JSON.parse(stdout) as { result: { tools: Array<{ name: string }> }; schemaFindings?: Lint['findings'] };
          resolve({ exitCode, tools: envelope.result.tools.map((tool) => tool.name), findings: envelope.schemaFindings ?? [], stderr });
        } catch {
          reject(new Error(`the inspector printed no JSON (exit ${exitCode}): ${stderr.slice(0, 2000)}`));
        }
      },
    );
  });
}

function describeFindings(lint: Lint): string {
  return lint.findings.flatMap(({ toolName, findings }) => findings.map((f) => `${toolName} ${f.severity} ${f.rule} at ${f.schema}.${f.path}`)).join('\n');
}

describe('tool schemas: MCP Inspector --strict portability', function () {
  this.timeout(90_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'krr-schema-lint-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds nothing in any tool schema of the stdio server (all tools listed: not read-only)', async () => {
    const lint = await strictToolsList([path.join(repoRoot, 'src', 'cli.ts'), 'serve', '--stdio', '--state-dir', path.join(dir, 'state')]);
    assert.deepEqual(lint.tools.sort(), tools.map((tool) => tool.name).sort(), 'every tool is listed and checked');
    assert.equal(lint.findings.length, 0, `portability findings:\n${describeFindings(lint)}`);
    assert.equal(lint.exitCode, 0, lint.stderr);
  });

  it('reports the shapes it must catch (a nullable string, a loose object): the check above can fail', async () => {
    const lint = await strictToolsList([path.join(repoRoot, 'test', 'support', 'unportable-server.ts')]);
    const rules = lint.findings.flatMap(({ findings }) => findings.map((f) => `${f.rule} ${f.schema}.${f.path}`)).sort();
    assert.deepEqual(rules, ['type-union outputSchema.properties.version', 'untyped-schema outputSchema.properties.detail.additionalProperties']);
  });
});
