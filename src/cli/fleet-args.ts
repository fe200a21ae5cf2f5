/**
 * When `watch` runs over a fleet, and the flags it takes then. Kept apart from cli/fleet.ts so
 * that a single-target `watch` loads none of the fleet code.
 */
import type { WatchFlags } from './commands/watch.js';

export interface FleetFlags extends WatchFlags {
  targets?: string;
  prometheus?: string;
  job?: string;
  concurrency?: string;
  timeout?: string;
  'pprof-port'?: string;
}

/** Should `watch` run over a fleet? (several URLs, --targets or --prometheus) */
export function isFleetInvocation(positionals: string[], flags: FleetFlags): boolean {
  return positionals.length > 1 || flags.targets !== undefined || flags.prometheus !== undefined;
}
