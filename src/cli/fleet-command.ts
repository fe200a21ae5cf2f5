/**
 * The shell of `watch` over a fleet: Ctrl-C stops the polling and the report of what was
 * collected follows (a second Ctrl-C exits at once); the exit code is the report's.
 */
import type { CliIO } from './io.js';
import { LeakscopeError } from '../core/errors.js';
import type { FleetFlags } from './fleet-args.js';
import { runFleet, writeFleetReport } from './fleet.js';
import { untilInterrupted } from './interrupt.js';

export function runFleetCommand(urls: string[], flags: FleetFlags, io: CliIO): Promise<number> {
  return untilInterrupted(io, 'watch', async (signal) => {
    const r = await runFleet(urls, flags, io, signal);
    const code = writeFleetReport(io, r, flags);
    if (!flags.json && !flags.markdown && !flags.quiet) io.stderr(`leakscope watch: profiles saved in ${r.meta.fleetDir}\n`);
    if (r.noneAnswered) throw new LeakscopeError('E_FETCH', `no target answered with a profile; fleet directory ${r.meta.fleetDir}`);
    return code;
  });
}
