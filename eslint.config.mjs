import tseslint from 'typescript-eslint';

// The SDK's files under lib/ are private: they move between releases without notice. Import what the
// packages export. Every block below that sets no-restricted-imports repeats this (a later block's
// setting of a rule replaces an earlier one's).
const privateSdk = { group: ['@temporalio/*/lib', '@temporalio/*/lib/**'], message: 'private SDK path: import what the @temporalio package exports' };

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.fireact/**', 'trainer/**', 'eslint.config.mjs', 'jest.config.js', 'test/support/sequencer.js', 'bin/**'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: '@jest/globals', name: ['describe', 'it', 'test'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      // Deprecated APIs (the SDK's record-form search attributes, for one) go before they are removed.
      '@typescript-eslint/no-deprecated': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [privateSdk] }] },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node APIs, no I/O.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            privateSdk,
            { group: ['node:*'], message: 'workflows are deterministic: no Node APIs' },
            { group: ['fs', 'path', 'os', 'crypto', 'child_process', 'http', 'https', 'net', 'process', 'worker_threads'], message: 'workflows are deterministic: no Node APIs' },
            { group: ['**/activities/**/*', '!**/activities', '!**/activities/index', '!**/activities/contracts'], message: 'workflows import only activities/index (the Activities type) and activities/contracts (the data types)' },
          ],
        },
      ],
    },
  },
  {
    // The domain library works without Temporal (the CLI, the benchmark and tests call it directly);
    // typed failures come from core/errors.ts, activity context stays in the adapters.
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@temporalio/*'], message: 'lib/ is the domain library: no Temporal imports (typed failures: core/errors.ts)' },
            { group: ['**/activities', '**/activities/**', '**/workflows', '**/workflows/**', '**/workers/**', '**/scripts/**', '**/test/**'], message: 'lib/ imports only lib/ and core/' },
          ],
        },
      ],
    },
  },
  {
    // The CLI and the other scripts call the library; of activities/ they may name only the contracts.
    files: ['scripts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            privateSdk,
            { regex: '(^|/)activities(/(?!contracts$).*)?$', message: 'scripts import lib/ (and activities/contracts for workflow inputs and results), not activity adapters' },
            { group: ['**/test/**', '**/test'], message: 'scripts import nothing from test/ (shared helpers live in scripts/support/)' },
          ],
        },
      ],
    },
  },
  {
    files: ['scripts/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
