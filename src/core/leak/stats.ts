/**
 * Robust trend statistics for short, noisy time series (a few to a few hundred points):
 * Theil–Sen slope (median of pairwise slopes), the Mann–Kendall trend test with the tie-corrected
 * variance and a normal approximation, and the normal tail via a Chebyshev erfc.
 *
 * Everything is O(n²) in the number of points, which is what these estimators cost; callers gate
 * cheap checks first so the quadratic work runs only for candidate series.
 */

/** Median of `a[0..n)`; reorders `a` (quickselect). NaN for an empty array. */
export function medianInPlace(a: Float64Array | number[], n = a.length): number {
  if (n === 0) return NaN;
  const k = n >> 1;
  const hi = select(a, 0, n - 1, k);
  if (n % 2 === 1) return hi;
  // the lower middle is the maximum of the left part after selection
  let lo = -Infinity;
  for (let i = 0; i < k; i++) if (a[i]! > lo) lo = a[i]!;
  return (lo + hi) / 2;
}

function select(a: Float64Array | number[], left: number, right: number, k: number): number {
  while (right > left) {
    // median-of-three pivot keeps sorted inputs linear on average
    const mid = (left + right) >> 1;
    if (a[mid]! < a[left]!) swap(a, mid, left);
    if (a[right]! < a[left]!) swap(a, right, left);
    if (a[right]! < a[mid]!) swap(a, right, mid);
    const pivot = a[mid]!;
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return a[k]!;
  }
  return a[k]!;
}

function swap(a: Float64Array | number[], i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

export function median(values: ArrayLike<number>): number {
  const a = Float64Array.from(values as ArrayLike<number>);
  return medianInPlace(a);
}

export interface TheilSen {
  slope: number;
  intercept: number;
}

/**
 * Theil–Sen estimator over points (x[i], y[i]) for i in [from, to): the median of the slopes of all
 * pairs with distinct x, and the median of y − slope·x as intercept. Breakdown point ≈ 29%: a few
 * outliers (one GC that ran late, one odd poll) do not move it. NaN slope when fewer than two
 * distinct x values.
 */
export function theilSen(x: ArrayLike<number>, y: ArrayLike<number>, from = 0, to = x.length): TheilSen {
  const n = to - from;
  if (n < 2) return { slope: NaN, intercept: NaN };
  const slopes = new Float64Array((n * (n - 1)) / 2);
  let m = 0;
  for (let i = from; i < to; i++) {
    for (let j = i + 1; j < to; j++) {
      const dx = x[j]! - x[i]!;
      if (dx !== 0) slopes[m++] = (y[j]! - y[i]!) / dx;
    }
  }
  if (m === 0) return { slope: NaN, intercept: NaN };
  const slope = medianInPlace(slopes, m);
  const res = new Float64Array(n);
  for (let i = 0; i < n; i++) res[i] = y[from + i]! - slope * x[from + i]!;
  return { slope, intercept: medianInPlace(res) };
}

export interface MannKendall {
  /** S = Σ_{i<j} sign(y_j − y_i) */
  s: number;
  /** Var(S) under H0 with the tie correction */
  variance: number;
  /** continuity-corrected standard score */
  z: number;
  /** Kendall's tau-a: S / (n(n−1)/2), in [−1, 1] */
  tau: number;
  /** Kendall's tau-b: S / √(n0 (n0 − n1)), n0 = n(n−1)/2 pairs, n1 = pairs tied in y (x never
   *  ties). Equal to tau-a without ties; a step series (a sampled heap site, which moves one
   *  sampler interval at a time) is not penalized for its flat stretches. */
  tauB: number;
  /** one-sided p-value for an increasing trend: P(Z ≥ z) */
  pIncreasing: number;
  /** two-sided p-value */
  pTwoSided: number;
}

/**
 * Mann–Kendall trend test on y[from..to), in time order. Var(S) = [n(n−1)(2n+5) − Σ t(t−1)(2t+5)]/18
 * over groups of t tied values; z = (S − sign(S))/√Var(S). The normal approximation is the textbook
 * one (good from n ≈ 8; conservative enough at n = 5 that a strictly increasing series gives
 * p ≈ 0.014 one-sided).
 */
export function mannKendall(y: ArrayLike<number>, from = 0, to = y.length): MannKendall {
  const n = to - from;
  let s = 0;
  for (let i = from; i < to; i++) {
    const yi = y[i]!;
    for (let j = i + 1; j < to; j++) {
      const d = y[j]! - yi;
      if (d > 0) s++;
      else if (d < 0) s--;
    }
  }
  let tieSum = 0;
  let tiedPairs = 0;
  if (n > 1) {
    const sorted = Float64Array.from({ length: n }, (_, i) => y[from + i]!).sort();
    let run = 1;
    for (let i = 1; i <= n; i++) {
      if (i < n && sorted[i] === sorted[i - 1]) run++;
      else {
        if (run > 1) {
          tieSum += run * (run - 1) * (2 * run + 5);
          tiedPairs += (run * (run - 1)) / 2;
        }
        run = 1;
      }
    }
  }
  const variance = n < 2 ? 0 : (n * (n - 1) * (2 * n + 5) - tieSum) / 18;
  let z = 0;
  if (variance > 0) {
    if (s > 0) z = (s - 1) / Math.sqrt(variance);
    else if (s < 0) z = (s + 1) / Math.sqrt(variance);
  }
  const pairs = (n * (n - 1)) / 2;
  return {
    s,
    variance,
    z,
    tau: pairs > 0 ? s / pairs : 0,
    tauB: pairs > tiedPairs ? s / Math.sqrt(pairs * (pairs - tiedPairs)) : 0,
    pIncreasing: variance > 0 ? normalUpperTail(z) : 1,
    pTwoSided: variance > 0 ? Math.min(1, 2 * normalUpperTail(Math.abs(z))) : 1,
  };
}

/** P(Z ≥ z) for a standard normal Z. */
export function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/**
 * Complementary error function with fractional error below 1.2e-7 everywhere (Chebyshev fit of
 * exp(−z²)·erfc, Numerical Recipes' erfcc form), so small p-values keep their relative precision.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}
