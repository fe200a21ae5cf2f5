/**
 * The CLI's young-generation policy. V8 doubles its new space (up to 2 × 16 MB semi-spaces on
 * 64-bit) whenever enough objects survive a scavenge; for a short command on a small or medium
 * profile that growth is most of its peak RSS above Node's own start-up, and it is never given
 * back before exit. `--semi-space-growth-factor` is read each time V8 grows the new space (unlike
 * `--max-semi-space-size`, which is fixed when the heap is set up), so setting it to 1 from inside
 * the process keeps the new space at its start-up size. On large inputs the small new space costs
 * time (more scavenges, more promotion), so the growth is allowed again for them.
 *
 * Only the CLI calls keepYoungGenerationSmall(): a library user's or the agent's host process is
 * never touched (allowYoungGenerationGrowth() is a no-op unless the CLI narrowed it first).
 */
import { setFlagsFromString } from 'node:v8';

/** Inputs (uncompressed bytes) from this size on let the new space grow again: see bench/pprof-memory.mjs. */
export const GROWTH_FROM_BYTES = 8 << 20;

let narrowed = false;

export function keepYoungGenerationSmall(): void {
  if (narrowed) return;
  setFlagsFromString('--semi-space-growth-factor=1');
  narrowed = true;
}

/** Called with the size of each input read: a large one restores V8's default growth (factor 2). */
export function noteInputSize(bytes: number): void {
  if (!narrowed || bytes < GROWTH_FROM_BYTES) return;
  setFlagsFromString('--semi-space-growth-factor=2');
  narrowed = false;
}
