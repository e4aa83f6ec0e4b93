// The layers of docs/ARCHITECTURE.md, checked on the source: every import in src/ goes down (or sideways within
// its layer), never up, and the modules of src/core import no circle. A new file outside the known layers fails
// here until it is placed, so that a layer is a decision, not an accident.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const src = path.join(root, 'src');

/** Lowest first; a module is in the first layer with a prefix it starts with (paths relative to src/, no extension). */
const layers: ReadonlyArray<{ name: string; prefixes: readonly string[] }> = [
  { name: 'foundation', prefixes: ['core/quantity', 'core/text', 'core/canonicalJson', 'core/durableFile', 'core/progressPulse', 'core/mcpJsonFile', 'core/settings'] },
  {
    name: 'domain',
    prefixes: [
      'core/model', 'core/krr/', 'core/evidence/', 'core/hpa/', 'core/trial/', 'core/kube/', 'core/plan/', 'core/policy', 'core/gitops/', 'core/apply', 'core/auditKey', 'core/auditTable', 'core/auditEntry',
      'core/auditChain', 'core/signedFile', 'core/auditLock', 'core/auditCsv', 'core/auditRedaction',
      'core/audit', 'core/snapshots', 'core/approval', 'core/recommendations', 'core/reportCheck', 'core/savings',
    ],
  },
  { name: 'session', prefixes: ['core/session/'] },
  { name: 'hosts', prefixes: ['mcp/', 'editor/', 'engine', 'cli'] },
  { name: 'composition root', prefixes: ['extension'] },
];

function layerOf(module: string): number {
  const index = layers.findIndex((layer) => layer.prefixes.some((prefix) => module === prefix || (prefix.endsWith('/') && module.startsWith(prefix))));
  if (index < 0) throw new Error(`src/${module}.ts is in no layer of test/unit/layers.test.ts (and docs/ARCHITECTURE.md): place it`);
  return index;
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

function moduleName(file: string): string {
  return path.relative(src, file).replace(/\.ts$/, '').split(path.sep).join('/');
}

/** Every relative import of a file: import/export … from, side-effect imports, import() and require(). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]/gms),
    ...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
    ...text.matchAll(/\b(?:import|require)\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((match) => match[1] ?? '');
  const modules = new Set<string>();
  for (const specifier of specifiers) {
    if (!specifier.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), specifier);
    // Only modules inside src/ (package.json for the version, the sibling bundle at run time are not layers).
    if (!target.startsWith(src + path.sep)) continue;
    const relative = path.relative(src, target).split(path.sep).join('/').replace(/\.(ts|js)$/, '');
    modules.add(relative);
  }
  return [...modules];
}

function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(src)) graph.set(moduleName(file), importsOf(file));
  return graph;
}

/** Each cycle once, as the modules along it (found by a depth-first walk). */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (module: string): void => {
    state.set(module, 'visiting');
    stack.push(module);
    for (const next of graph.get(module) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'visiting') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(module, 'done');
  };
  for (const module of [...graph.keys()].sort()) if (!state.has(module)) visit(module);
  return found;
}

describe('layers (docs/ARCHITECTURE.md)', () => {
  const graph = importGraph();

  it('reads the imports of every module in src/', () => {
    // A parser that found nothing would pass the checks below vacuously.
    assert.ok(graph.size > 50);
    assert.ok(graph.get('core/apply')?.includes('core/snapshots'));
    assert.ok(graph.get('extension')?.includes('core/session/session'));
  });

  it('has no import from a lower layer to a higher one', () => {
    const upward: string[] = [];
    for (const [module, imports] of graph) {
      for (const target of imports) {
        if (layerOf(target) > layerOf(module)) upward.push(`${module} (${layers[layerOf(module)]?.name}) -> ${target} (${layers[layerOf(target)]?.name})`);
      }
    }
    assert.deepEqual(upward, []);
  });

  it('has no import cycle among the modules of src/core', () => {
    const core = new Map([...graph].filter(([module]) => module.startsWith('core/')).map(([module, imports]) => [module, imports.filter((target) => target.startsWith('core/'))]));
    assert.deepEqual(cycles(core).map((cycle) => cycle.join(' -> ')), []);
  });
});
