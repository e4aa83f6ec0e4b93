// Bundles the extension and the standalone command line. `--production` minifies; `--watch` rebuilds.
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** One bundle per entry point: the extension host loads the first, a terminal or MCP client runs the second. */
// The engine (core, MCP SDK, zod) is its own bundle, required by the extension on first use: activation
// then loads only the thin editor layer.
const engineExternal = {
  name: 'engine-external',
  setup(build) {
    build.onResolve({ filter: /^\.\/engine\.js$/ }, () => ({ path: './engine.js', external: true }));
  },
};

const entries = [
  { entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', plugins: [engineExternal] },
  { entryPoints: ['src/engine.ts'], outfile: 'dist/engine.js' },
  { entryPoints: ['src/cli.ts'], outfile: 'dist/krr-mcp.js', banner: { js: '#!/usr/bin/env node' } },
];

const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node22',
  external: ['vscode'],
  minify: production,
  sourcemap: !production,
  sourcesContent: false,
  logLevel: 'warning',
  legalComments: 'none',
};

const contexts = await Promise.all(entries.map((entry) => esbuild.context({ ...common, ...entry })));
if (watch) {
  await Promise.all(contexts.map((context) => context.watch()));
  console.log('esbuild: watching for changes');
} else {
  await Promise.all(contexts.map((context) => context.rebuild()));
  await Promise.all(contexts.map((context) => context.dispose()));
}
