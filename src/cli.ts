// The standalone command line: `krr-mcp serve --stdio` (MCP server outside VS Code) and `krr-mcp relay`.
const usage = `krr-mcp — Kubernetes right-sizing with krr, as an MCP server

Usage:
  krr-mcp serve --stdio --state-dir <dir> [--kubeconfig <file>] [--context <name>]
                [--krr <path>] [--kubectl <path>] [--read-only]
  krr-mcp relay            forward stdio to the running VS Code extension
  krr-mcp --help
`;

function main(argv: string[]): number {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage);
    return 0;
  }
  process.stderr.write(`krr-mcp: unknown command "${argv[0]}"\n\n${usage}`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
