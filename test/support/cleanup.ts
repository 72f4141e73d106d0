import { afterEach } from '@jest/globals';

/**
 * Per-test cleanup, run after the test whether it passed or not (what node:test's `t.after` did).
 * Call once at a file's top level; the returned function registers a cleanup for the current test.
 */
export function perTestCleanup(): (fn: () => unknown) => void {
  const pending: Array<() => unknown> = [];
  afterEach(async () => {
    for (const fn of pending.splice(0).reverse()) await fn();
  });
  return (fn) => {
    pending.push(fn);
  };
}
