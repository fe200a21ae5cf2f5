/**
 * `leakscope/test`: leak assertions for test suites (node:test, vitest, jest).
 *
 *   await assertNoLeak(() => handler(request));        // heap growth per iteration, named
 *   await assertNoAsyncLeak(() => service.start());    // timers, sockets, … left pending
 *
 * Both throw node:assert's AssertionError (a LeakAssertionError) with a message made for a test
 * report; every runner reports that as a failed assertion.
 */
import { createRequire } from 'node:module';
import { assertNoLeak, type AssertNoLeakOptions, type Workload } from './assert-leak.js';

export { assertNoLeak, checkLeak, type AssertNoLeakOptions, type LeakCheckResult, type Workload } from './assert-leak.js';
export { assertNoAsyncLeak, checkAsyncLeak, type AssertNoAsyncLeakOptions, type AsyncLeakResult } from './async-leak.js';
export { LeakAssertionError } from './errors.js';
export type { NamedLeak, PendingResource } from '../report/leak-assert.js';

/**
 * node:test only: `leakTest(name, fn)` is `test(name, () => assertNoLeak(fn, options))`.
 * (vitest and jest: write `it(name, () => assertNoLeak(fn))`.)
 */
export function leakTest(name: string, fn: Workload, options: AssertNoLeakOptions & { timeout?: number } = {}): void {
  // loaded on call: importing this entry must not load node:test in another runner
  const { test } = createRequire(import.meta.url)('node:test') as typeof import('node:test');
  const { timeout, ...opts } = options;
  test(name, { timeout: timeout ?? 120_000 }, async () => {
    await assertNoLeak(fn, opts);
  });
}
