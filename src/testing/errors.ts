/**
 * The error a failed leak assertion throws: node:assert's AssertionError (every runner —
 * node:test, vitest, jest — reports it as a failed assertion and prints its message), with the
 * details as data for a test that wants to look closer.
 */
import { AssertionError } from 'node:assert';

export class LeakAssertionError<D = unknown> extends AssertionError {
  /** what the assertion measured (LeakCheckResult or AsyncLeakResult) */
  readonly details: D;
  constructor(message: string, details: D, stackStartFn?: (...args: never[]) => unknown) {
    // operator 'fail': jest prints the message alone (no empty Expected/Received diff)
    super({ message, operator: 'fail', stackStartFn: stackStartFn as ((...args: unknown[]) => unknown) | undefined });
    this.details = details;
  }
}
