/**
 * The verdict of a leak assertion on its rounds: the heap in use after a full GC, measured after
 * each round of the same number of iterations. The rules are `watch`'s (verdict.ts: Mann–Kendall,
 * Theil–Sen, the later-part slope for plateaus, the largest single step), with x in iterations
 * and thresholds for a test process: growth must pass an absolute floor in bytes over the rounds
 * (the heap of a settled workload still moves by a few hundred bytes a round: compiled code,
 * feedback, a rehash) and must not stop in the later rounds (a cache that fills and plateaus).
 * Pure.
 */
import { judgeSeries, type Verdict, type VerdictParams } from './verdict.js';

export interface RoundsParams {
  /** growth over the measured rounds below this is noise (bytes) */
  minGrowth: number;
  /** Mann–Kendall one-sided p-value must be below this */
  alpha: number;
  minTau: number;
  /** the slope of the later half must keep this share of the overall slope */
  lateRatio: number;
  /** one step between rounds may carry at most this share of the growth (a hash table doubling
   * its backing store in a leaking Map is a step, and still a leak: kept generous) */
  maxJumpShare: number;
}

export const DEFAULT_ROUNDS_PARAMS: RoundsParams = {
  minGrowth: 32 * 1024,
  alpha: 0.05,
  minTau: 0.5,
  lateRatio: 0.3,
  maxJumpShare: 0.75,
};

export interface RoundsVerdict extends Verdict {
  /** Theil–Sen growth per iteration in bytes (NaN when undecided) */
  bytesPerIteration: number;
  /** measured bytes: first and last round */
  first: number;
  last: number;
}

/**
 * @param bytes heap bytes after GC, one per round (at least 5)
 * @param iterationsPerRound iterations between two measurements
 */
export function judgeRounds(bytes: ArrayLike<number>, iterationsPerRound: number, params: Partial<RoundsParams> = {}): RoundsVerdict {
  const p = { ...DEFAULT_ROUNDS_PARAMS, ...params };
  const n = bytes.length;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = i * iterationsPerRound;
  const vp: VerdictParams = {
    minSamples: 5,
    alpha: p.alpha,
    minTau: p.minTau,
    materialFraction: 0,
    floor: { bytes: p.minGrowth, objects: p.minGrowth, count: p.minGrowth },
    lateRatio: p.lateRatio,
    maxJumpShare: p.maxJumpShare,
    maxFallShare: Infinity, // bytes: the fall rule is for exact counts
  };
  const v = judgeSeries(x, bytes, 0, 'bytes', vp);
  return { ...v, bytesPerIteration: v.slope, first: n > 0 ? bytes[0]! : NaN, last: n > 0 ? bytes[n - 1]! : NaN };
}
