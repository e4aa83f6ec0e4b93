import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', '**/out/**', 'node_modules/**', 'test/e2e/node_modules/**', 'test/e2e/.cache/**', 'reports/**', 'media/**/*.min.js'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', __dirname: 'readonly', require: 'readonly', module: 'writable', AbortController: 'readonly', AbortSignal: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', structuredClone: 'readonly', fetch: 'readonly', Response: 'readonly', Headers: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly', performance: 'readonly', window: 'readonly', document: 'readonly', acquireVsCodeApi: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: [{ name: 'child_process', message: 'Run processes with execa and argument arrays (src/core/process).' }, { name: 'node:child_process', message: 'Run processes with execa and argument arrays.' }] }],
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/mcp/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'src/core and src/mcp never import vscode.' }, { name: 'child_process', message: 'Use execa with argument arrays.' }, { name: 'node:child_process', message: 'Use execa with argument arrays.' }] }] },
  },
  {
    files: ['test/**/*.ts', 'test/**/*.js', 'test/**/*.mjs'],
    rules: { 'no-restricted-imports': 'off', '@typescript-eslint/no-require-imports': 'off' },
  },
);
