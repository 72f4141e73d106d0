// Tests run under jest, TypeScript compiled by SWC (CommonJS, like tsx does for the app).
/** @type {import('jest').Config} */
module.exports = {
  // Tests share Node's own realm: objects from fetch, structuredClone and Node's errors are then the
  // same Array/Object/Error as the test's, so node:assert's strict equality and instanceof hold as
  // under Node's runner. Isolation between files comes from one worker process per file (below).
  testEnvironment: 'jest-environment-node-single-context',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  // Temporal's native runtime is one per process and cannot be reset: each test file runs in its own
  // worker process, and a worker is replaced after every file (any memory in use is over this limit).
  workerIdleMemoryLimit: '1KB',
  // One file at a time (still each in its own worker process): files start their own dev server and
  // worker processes, and with two at once on the loaded 2-core machine the timing-sensitive crash and
  // fine-tuning tests failed. `npx jest -w 2` runs two at once where cores are spare.
  maxWorkers: 1,
  // node:test had no default timeout; tests that need longer say so.
  testTimeout: 300_000,
};
