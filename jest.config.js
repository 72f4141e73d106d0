// Tests run under jest, TypeScript compiled by SWC (CommonJS, like tsx does for the app).
/** @type {import('jest').Config} */
module.exports = {
  // Tests share Node's own realm: objects from fetch, structuredClone and Node's errors are then the
  // same Array/Object/Error as the test's, so node:assert's strict equality and instanceof hold as
  // under Node's runner. Isolation between files comes from one worker process per file (below).
  testEnvironment: 'jest-environment-node-single-context',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The workflow code bundled once per run (FIREACT_WORKFLOW_BUNDLE), for every file and worker process.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  // Temporal's native runtime is one per process and cannot be reset: each test file runs in its own
  // worker process, and a worker is replaced after every file (any memory in use is over this limit).
  workerIdleMemoryLimit: '1KB',
  // Two files at once, each in its own worker process: most of a file's time is waiting (on a
  // heartbeat timeout, a retry, a server), not CPU. Longest first (test/support/sequencer.js).
  maxWorkers: 2,
  testSequencer: '<rootDir>/test/support/sequencer.js',
  // node:test had no default timeout; tests that need longer say so.
  testTimeout: 300_000,
};
