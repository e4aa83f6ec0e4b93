// @vscode/test-cli configuration for a developer machine that can download desktop VS Code (`npx vscode-test`).
// CI and these machines cannot download it: they run the same compiled tests in code-server (`npm run test:integration`).
// Build the tests first: `npx tsx test/e2e/build-integration.ts` (writes out/test/integration/*.test.js).
import { defineConfig } from '@vscode/test-cli';

export default defineConfig({
  label: 'integration',
  files: 'out/test/integration/**/*.test.js',
  version: '1.139.1',
  mocha: { ui: 'bdd', timeout: 30_000, color: true },
});
