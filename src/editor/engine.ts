// Loads dist/engine.js (see src/engine.ts) the first time a command, view or MCP client needs it.
import type * as Engine from '../engine';

let engine: typeof Engine | undefined;

export function loadEngine(): typeof Engine {
  // A runtime require of the sibling bundle; esbuild leaves './engine.js' external (esbuild.mjs).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  engine ??= require('./engine.js') as typeof Engine;
  return engine;
}
