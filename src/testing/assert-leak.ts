/**
 * assertNoLeak: runs a workload many times and fails when what it allocates stays alive and keeps
 * growing with the iterations.
 *
 * 1. Calibration and warm-up: timed batches set the round size (about `roundMs` of work at the
 *    fastest batch's pace, 5 to 2000 iterations), then `warmup` iterations (default three rounds)
 *    let the JIT tier up, lazy modules load and first-use caches fill. None of that is measured.
 * 2. Rounds: after each round a full GC (heap.ts), then the heap in use. The series is judged
 *    by `watch`'s rules (core/leak/rounds.ts): a trend that is significant, material, not one
 *    step and not flattening in the later rounds.
 * 3. Naming: when the series says leak, two more rounds between three heap snapshots taken in
 *    this process go through the snapshot leak finder (core/heap/leaks.ts, as `snapshot leaks`):
 *    the groups of objects born in the first interval, alive at the end and growing in every
 *    interval, with their retainer path and source location. The assertion fails when the finder
 *    names a leak (not a possible cache); heap growth that no program object explains (V8's own
 *    code and feedback settling) passes. With `snapshots: false` the heap trend alone decides.
 */
import { LeakscopeError } from '../core/errors.js';
import { analyzeSnapshot } from '../core/heap/analysis.js';
import { findLeaks, OWN_CLASS_PREFIX, type LeakReport } from '../core/heap/leaks.js';
import type { IdHorizon } from '../core/heap/ids.js';
import { judgeRounds, type RoundsVerdict } from '../core/leak/rounds.js';
import { SourceMapResolver } from '../agent/sourcemaps.js';
import { mapLocation, readSource } from '../node/leak-sources.js';
import { renderLeakFailure, toNamedLeak, type NamedLeak } from '../report/leak-assert.js';
import { InspectorSession, fullGC, heapInUse } from './heap.js';
import { LeakAssertionError } from './errors.js';

export interface AssertNoLeakOptions {
  /** heap readings after GC, one after the warm-up and one after each round (default 10; at least 5) */
  rounds?: number;
  /** iterations per round (default: as many as take about `roundMs`, 5 to 2000) */
  iterations?: number;
  /** the work one round should take when `iterations` is not given (default 100 ms) */
  roundMs?: number;
  /** iterations before measuring (default: three rounds) */
  warmup?: number;
  /** growth over the measured rounds below this many bytes is noise (default 32768) */
  minGrowth?: number;
  /** take heap snapshots to name the leak and confirm it (default true) */
  snapshots?: boolean;
  /** leak groups in the message (default 3) */
  top?: number;
  /** map locations in compiled files back to their sources through source maps (default true) */
  sourceMaps?: boolean;
  /** a name for the workload, at the head of the message */
  name?: string;
}

export interface LeakCheckResult {
  leak: boolean;
  verdict: RoundsVerdict;
  rounds: number;
  iterationsPerRound: number;
  warmup: number;
  /** heap in use after GC, per round (bytes) */
  series: number[];
  /** what the snapshots named (empty when they were not taken or named nothing) */
  leaks: NamedLeak[];
  /** whether snapshots were taken */
  snapshotsTaken: boolean;
  elapsedMs: number;
}

/** the workload: called with the iteration number; may return a promise */
export type Workload = (iteration: number) => unknown;

class LeakscopeSnapshotSeries {
  horizons: IdHorizon[] = [];
}

function positiveInt(v: number | undefined, name: string, min: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min) throw new LeakscopeError('E_USAGE', `assertNoLeak: ${name} must be an integer ≥ ${min} (got ${String(v)})`);
  return v;
}

/**
 * Runs `fn` many times; resolves with what was measured when nothing leaks, rejects with a
 * LeakAssertionError (an AssertionError) naming the leak when something does.
 */
export async function assertNoLeak(fn: Workload, options: AssertNoLeakOptions = {}): Promise<LeakCheckResult> {
  if (typeof fn !== 'function') throw new LeakscopeError('E_USAGE', 'assertNoLeak: the first argument must be a function');
  const result = await checkLeak(fn, options);
  if (result.leak) {
    const head = options.name ? `${options.name}: ` : '';
    const msg = head + renderLeakFailure({ ...result, unnamed: undefined }, options.top ?? 3);
    throw new LeakAssertionError(msg, result, assertNoLeak);
  }
  return result;
}

/** The measurement behind assertNoLeak, without the assertion. */
export async function checkLeak(fn: Workload, options: AssertNoLeakOptions = {}): Promise<LeakCheckResult> {
  const started = performance.now();
  const rounds = positiveInt(options.rounds, 'rounds', 5, 10);
  const roundMs = options.roundMs ?? 100;
  if (!(roundMs > 0)) throw new LeakscopeError('E_USAGE', `assertNoLeak: roundMs must be positive (got ${String(roundMs)})`);
  if (options.warmup !== undefined) positiveInt(options.warmup, 'warmup', 0, 0);
  if (options.minGrowth !== undefined && !(options.minGrowth >= 0)) throw new LeakscopeError('E_USAGE', `assertNoLeak: minGrowth must be a number of bytes ≥ 0 (got ${String(options.minGrowth)})`);
  let i = 0;
  const run = async (count: number): Promise<void> => {
    for (let k = 0; k < count; k++) {
      const r = fn(i++);
      if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') await r;
    }
  };

  // 1. calibration (part of the warm-up) and warm-up
  let ipr = options.iterations;
  if (ipr !== undefined) positiveInt(ipr, 'iterations', 1, 1);
  else ipr = await calibrate(run, roundMs);
  const warmup = positiveInt(options.warmup, 'warmup', 0, 3 * ipr);
  await run(warmup);

  // 2. measured rounds
  const series: number[] = [];
  await fullGC();
  series.push(heapInUse());
  for (let r = 1; r < rounds; r++) {
    await run(ipr);
    await fullGC();
    series.push(heapInUse());
  }
  const verdict = judgeRounds(series, ipr, options.minGrowth !== undefined ? { minGrowth: options.minGrowth } : {});
  const result: LeakCheckResult = {
    leak: verdict.leak,
    verdict,
    rounds,
    iterationsPerRound: ipr,
    warmup,
    series,
    leaks: [],
    snapshotsTaken: false,
    elapsedMs: 0,
  };

  // 3. naming (and confirming) with heap snapshots
  if (verdict.leak && options.snapshots !== false) {
    result.snapshotsTaken = true;
    result.leaks = await nameLeaks(run, ipr, options.sourceMaps !== false);
    result.leak = result.leaks.length > 0;
  }
  result.elapsedMs = performance.now() - started;
  return result;
}

const MIN_ROUND = 5;
const MAX_ROUND = 2000;

/**
 * Iterations per round: as many as take about `roundMs`, timed on batches of 4, 8, 16, … (at
 * least three) until a quarter of `roundMs` has gone by or a full round's worth has run. The
 * fastest batch sets the pace: a batch the scheduler paused, or that met a GC or the first
 * compilation, is slower than the workload, and a round sized on it would be too small to show a
 * leak of a few bytes a call (on a loaded CI machine five timed calls once gave 5 iterations a
 * round instead of 2000).
 */
async function calibrate(run: (n: number) => Promise<void>, roundMs: number): Promise<number> {
  let best = Infinity;
  let spent = 0;
  let done = 0;
  let batches = 0;
  // at least three batches (4 + 8 + 16 calls) unless calls are slow enough that they take 2 rounds
  const more = (): boolean => (batches < 3 && spent < 2 * roundMs) || (spent < roundMs / 4 && done < MAX_ROUND);
  for (let batch = 4; more(); batch *= 2, batches++) {
    const t0 = performance.now();
    await run(batch);
    const ms = performance.now() - t0;
    spent += ms;
    done += batch;
    best = Math.min(best, ms / batch);
  }
  const per = Math.max(1e-4, best);
  return Math.min(MAX_ROUND, Math.max(MIN_ROUND, Math.round(roundMs / per)));
}

async function nameLeaks(run: (n: number) => Promise<void>, ipr: number, sourceMaps: boolean): Promise<NamedLeak[]> {
  const session = await InspectorSession.shared();
  // held by a class whose name the leak finder recognises as leakscope's own: the horizons are
  // born between the snapshots too
  const held = new LeakscopeSnapshotSeries();
  let report: LeakReport;
  await session.post('HeapProfiler.enable');
  try {
    for (let s = 0; s < 2; s++) {
      await fullGC();
      held.horizons.push(await session.snapshot(true));
      await run(ipr);
    }
    await fullGC();
    const last = analyzeSnapshot(await session.snapshot(false));
    report = findLeaks(last, held.horizons, { minCount: 2, readSource });
  } finally {
    // drops V8's table of object ids (kept, and updated by every GC, once a snapshot was taken)
    await session.post('HeapProfiler.disable').catch(() => undefined);
  }
  const resolver = sourceMaps ? new SourceMapResolver() : null;
  return report.groups
    .filter((g) => g.status === 'leak' && !g.className.startsWith(OWN_CLASS_PREFIX))
    .map((g) => toNamedLeak(resolver ? { ...g, location: mapLocation(g.location, resolver) } : g, ipr));
}
