/**
 * The verdict on one series: is this sustained growth? Each rule answers one way a growing-looking
 * series is not a leak:
 * - too few samples            → no verdict at all (`minSamples`, default 5);
 * - noise (one GC, one spike)  → Mann–Kendall one-sided p-value must be below `alpha`, and Kendall's
 *                                tau-b high enough (most untied pairs of points in increasing order);
 * - small change               → growth over the window (Theil–Sen slope × span) must be material:
 *                                above an absolute floor per unit and a fraction of the total;
 * - warming cache, plateau     → the Theil–Sen slope over the later part of the window (the last
 *                                half, at least 3 points) must keep a fraction of the overall slope;
 * - one step (a lazy init, one late GC) → no single interval may carry more than `maxJumpShare`
 *                                of the growth: a leak grows in many small steps;
 * - work in flight (counts only) → an exact count (async resources, goroutines) may not fall
 *                                between two samples by `maxFallShare` of its growth or more: what
 *                                leaked stays, while per-request timers, sockets and goroutines
 *                                come and go with the load, and their count rises when the load
 *                                or the latency does;
 * - churn that dies            → fails the trend test or the later-part slope.
 */
import { mannKendall, theilSen } from './stats.js';
import type { LeakUnit } from './summary.js';

export type Sensitivity = 'low' | 'normal' | 'high';

export interface VerdictParams {
  minSamples: number;
  alpha: number;
  minTau: number;
  /** growth must be at least this fraction of the kind's total at the last sample */
  materialFraction: number;
  /** and at least this much in absolute terms, per unit */
  floor: Record<LeakUnit, number>;
  /** later-part slope ≥ lateRatio × overall slope */
  lateRatio: number;
  /** the largest rise between two consecutive samples must be at most this share of the growth */
  maxJumpShare: number;
  /** for exact counts: the largest fall between two consecutive samples must stay below this share
   *  of the growth */
  maxFallShare: number;
}

export const SENSITIVITY: Record<Sensitivity, Omit<VerdictParams, 'minSamples'>> = {
  low: { alpha: 0.01, minTau: 0.6, materialFraction: 0.05, lateRatio: 0.5, maxJumpShare: 0.4, maxFallShare: 0.3, floor: { bytes: 4 * 1024 * 1024, objects: 4000, count: 20 } },
  normal: { alpha: 0.05, minTau: 0.5, materialFraction: 0.01, lateRatio: 0.3, maxJumpShare: 0.5, maxFallShare: 0.5, floor: { bytes: 1024 * 1024, objects: 1000, count: 5 } },
  high: { alpha: 0.1, minTau: 0.35, materialFraction: 0.002, lateRatio: 0.2, maxJumpShare: 0.6, maxFallShare: 0.75, floor: { bytes: 256 * 1024, objects: 200, count: 2 } },
};

export const DEFAULT_MIN_SAMPLES = 5;

export function verdictParams(sensitivity: Sensitivity = 'normal', minSamples = DEFAULT_MIN_SAMPLES): VerdictParams {
  return { ...SENSITIVITY[sensitivity], minSamples: Math.max(3, minSamples) };
}

export type VerdictReason = 'leak' | 'too-few-samples' | 'no-growth' | 'immaterial' | 'not-significant' | 'not-monotonic' | 'plateau' | 'single-jump' | 'falls-back';

export interface Verdict {
  leak: boolean;
  reason: VerdictReason;
  /** Theil–Sen slope, unit per x unit (minutes) */
  slope: number;
  /** slope over the later part of the window */
  lateSlope: number;
  /** Mann–Kendall one-sided p-value */
  p: number;
  tau: number;
  /** slope × span */
  growth: number;
}

/**
 * Judges y over x[from..to) (x increasing, in minutes). `lastTotal` is the total of the profile at
 * the last point, for the materiality rule. Pure; O(n²).
 */
export function judgeSeries(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  lastTotal: number,
  unit: LeakUnit,
  params: VerdictParams,
  from = 0,
  to = x.length,
): Verdict {
  const n = to - from;
  const none = (reason: VerdictReason, extra: Partial<Verdict> = {}): Verdict => ({
    leak: false,
    reason,
    slope: NaN,
    lateSlope: NaN,
    p: 1,
    tau: 0,
    growth: 0,
    ...extra,
  });
  if (n < params.minSamples) return none('too-few-samples');
  const floor = Math.max(params.floor[unit], params.materialFraction * Math.max(0, lastTotal));
  // Cheap gate: the range of the series must exceed what would count as material.
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = from; i < to; i++) {
    const v = y[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi - lo >= floor) || !(y[to - 1]! > y[from]!)) return none(hi > lo ? 'immaterial' : 'no-growth');
  const mk = mannKendall(y, from, to);
  const stat = { p: mk.pIncreasing, tau: mk.tau };
  if (mk.s <= 0) return none('no-growth', stat);
  if (!(mk.pIncreasing < params.alpha)) return none('not-significant', stat);
  if (mk.tauB < params.minTau) return none('not-monotonic', stat);
  const ts = theilSen(x, y, from, to);
  const span = x[to - 1]! - x[from]!;
  const growth = ts.slope * span;
  const withSlope = { ...stat, slope: ts.slope, growth };
  if (!(ts.slope > 0)) return none('no-growth', withSlope);
  if (growth < floor) return none('immaterial', withSlope);
  const lateFrom = to - Math.max(3, Math.ceil(n / 2));
  const lateSlope = theilSen(x, y, lateFrom, to).slope;
  const withLate = { ...withSlope, lateSlope };
  if (!(lateSlope >= params.lateRatio * ts.slope)) return none('plateau', withLate);
  let maxJump = 0;
  let maxFall = 0;
  for (let i = from + 1; i < to; i++) {
    const d = y[i]! - y[i - 1]!;
    if (d > maxJump) maxJump = d;
    else if (-d > maxFall) maxFall = -d;
  }
  if (maxJump > params.maxJumpShare * growth) return none('single-jump', withLate);
  // sampled units (bytes, objects) wobble with the sampler; an exact count falls only when what
  // it counts ends
  if (unit === 'count' && maxFall >= params.maxFallShare * growth) return none('falls-back', withLate);
  return { leak: true, reason: 'leak', ...withLate };
}
