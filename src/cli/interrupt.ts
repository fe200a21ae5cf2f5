/**
 * Ctrl-C for commands that collect over time (`watch`, `watch` over a fleet): the first SIGINT or
 * SIGTERM aborts the collection so that the report of what was collected still follows; a second
 * one exits at once.
 */
import type { CliIO } from './io.js';

export async function untilInterrupted<T>(io: CliIO, command: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctrl = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      if (!io.isTTY) io.stderr(`leakscope ${command}: stopping (Ctrl-C); writing the report for what was collected\n`);
      ctrl.abort();
    } else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await run(ctrl.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
