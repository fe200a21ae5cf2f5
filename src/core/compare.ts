/**
 * The regression gate of `leakscope soak` (pure): per-round figures of a baseline run and of the
 * current run, compared metric by metric with a statistic that knows the spread.
 *
 * - The change: median of the current rounds against the median of the baseline rounds (relative
 *   for latency and throughput, percentage points for the error share); for the memory slopes the
 *   run's own slope (Theil–Sen over the whole run after warm-up) against the baseline's, in bytes
 *   per minute.
 * - Significance: a one-sided Mann–Whitney U test of the per-round figures (exact distribution for
 *   small samples, normal approximation with tie correction beyond), "current worse than baseline".
 * - The detectable change: what noise alone makes of the change between two runs like these (the
 *   rounds of both runs centred on their medians — on a log scale for relative metrics — pooled
 *   and resampled into two pseudo-runs: the 95th percentile of the change between their medians;
 *   seeded, so the same figures give the same answer), or the threshold when that is larger. A
 *   change smaller than it cannot be told from the noise of these rounds. The report also gives a
 *   bootstrap 90% interval of the change itself.
 * - A regression is a change worse than the detectable change (so worse than its threshold and
 *   outside the rounds' spread) AND significant (p < alpha). A noisy run does not cry wolf: it
 *   says how large a change it could have caught.
 */
import { LeakscopeError } from './errors.js';

export type GateMetric = 'p50' | 'p90' | 'p99' | 'max' | 'rps' | 'errors' | 'rss-slope' | 'heap-slope';
export const GATE_METRICS: readonly GateMetric[] = ['p50', 'p90', 'p99', 'max', 'rps', 'errors', 'rss-slope', 'heap-slope'];

/** how a threshold is expressed: a share of the baseline, percentage points, or bytes per minute */
export type ThresholdUnit = 'relative' | 'pp' | 'bytes-per-min';

export interface Threshold {
  metric: GateMetric;
  unit: ThresholdUnit;
  /** relative: 0.1 for 10%; pp: 0.5 for 0.5 percentage points; bytes-per-min: bytes */
  value: number;
}

/** higher is worse for everything but throughput */
export function higherIsWorse(m: GateMetric): boolean {
  return m !== 'rps';
}

function unitOf(m: GateMetric): ThresholdUnit {
  if (m === 'errors') return 'pp';
  if (m === 'rss-slope' || m === 'heap-slope') return 'bytes-per-min';
  return 'relative';
}

export const DEFAULT_MAX_REGRESSION = 'p99=10%,rps=5%,errors=0.5pp,rss-slope=1MiB/min';

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/**
 * `p99=10%,rps=5%,errors=0.5pp,rss-slope=1MiB/min` → thresholds. Each given metric replaces the
 * default's; `metric=off` drops one from the gate.
 */
export function parseMaxRegression(spec: string | undefined, base: string = DEFAULT_MAX_REGRESSION): Threshold[] {
  const out = new Map<GateMetric, Threshold | null>();
  const parseInto = (s: string, where: string) => {
    for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
      const m = /^([a-z0-9-]+)\s*=\s*(.+)$/i.exec(part);
      if (!m) throw new LeakscopeError('E_USAGE', `${where}: "${part}" is not metric=limit (for example p99=10%)`);
      const metric = m[1]!.toLowerCase() as GateMetric;
      if (!GATE_METRICS.includes(metric)) throw new LeakscopeError('E_USAGE', `${where}: unknown metric "${m[1]}" (${GATE_METRICS.join(', ')})`);
      const v = m[2]!.trim().toLowerCase();
      if (v === 'off') {
        out.set(metric, null);
        continue;
      }
      const unit = unitOf(metric);
      let value: number | undefined;
      if (unit === 'relative') {
        const r = /^(\d+(?:\.\d+)?)%$/.exec(v);
        if (r) value = Number(r[1]) / 100;
      } else if (unit === 'pp') {
        const r = /^(\d+(?:\.\d+)?)pp$/.exec(v);
        if (r) value = Number(r[1]) / 100;
      } else {
        const r = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?\/min$/.exec(v);
        if (r) value = Number(r[1]) * SIZE_UNITS[r[2] ?? 'b']!;
      }
      if (value === undefined || !Number.isFinite(value)) {
        const want = unit === 'relative' ? 'a percentage such as 10%' : unit === 'pp' ? 'percentage points such as 0.5pp' : 'a rate such as 1MiB/min';
        throw new LeakscopeError('E_USAGE', `${where}: ${metric} needs ${want}, got "${m[2]}"`);
      }
      out.set(metric, { metric, unit, value });
    }
  };
  parseInto(base, 'default thresholds');
  if (spec !== undefined) parseInto(spec, '--max-regression');
  return GATE_METRICS.map((m) => out.get(m)).filter((t): t is Threshold => !!t);
}

export function formatThreshold(t: Threshold): string {
  if (t.unit === 'relative') return `${trim(t.value * 100)}%`;
  if (t.unit === 'pp') return `${trim(t.value * 100)}pp`;
  return `${formatRate(t.value)}`;
}

export function formatRate(bytesPerMin: number): string {
  const a = Math.abs(bytesPerMin);
  const sign = bytesPerMin < 0 ? '-' : '';
  if (a >= 1024 ** 3) return `${sign}${trim(a / 1024 ** 3)}GiB/min`;
  if (a >= 1024 ** 2) return `${sign}${trim(a / 1024 ** 2)}MiB/min`;
  if (a >= 1024) return `${sign}${trim(a / 1024)}KiB/min`;
  return `${sign}${trim(a)}B/min`;
}

function trim(x: number): string {
  return Number(x.toPrecision(3)).toString();
}

// ---------------------------------------------------------------------------------------------
// Statistics

export function medianOf(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const a = [...values].sort((x, y) => x - y);
  const h = a.length >> 1;
  return a.length % 2 ? a[h]! : (a[h - 1]! + a[h]!) / 2;
}

/** P(Z ≥ z), standard normal (Abramowitz–Stegun 7.1.26 through erfc; |error| < 1.5e-7) */
function upperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return z >= 0 ? 0.5 * erfc : 1 - 0.5 * erfc;
}

export interface MannWhitney {
  /** U of `b`: the number of pairs (a_i, b_j) with b_j > a_i, ties counted one half */
  u: number;
  /** one-sided p-value for "b tends to be larger than a" */
  pGreater: number;
  /** one-sided p-value for "b tends to be smaller than a" */
  pLess: number;
  /** the smallest one-sided p-value these sample sizes can reach */
  minP: number;
  exact: boolean;
}

/**
 * Mann–Whitney U test. Exact (the distribution of U by counting, tie-free) when both samples have
 * at most 20 values and there are no ties; otherwise the normal approximation with continuity and
 * tie corrections.
 */
export function mannWhitney(a: readonly number[], b: readonly number[]): MannWhitney {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return { u: NaN, pGreater: 1, pLess: 1, minP: 1, exact: true };
  let u = 0;
  for (const y of b) for (const x of a) u += y > x ? 1 : y === x ? 0.5 : 0;
  const all = [...a, ...b].sort((x, y) => x - y);
  let ties = false;
  let tieTerm = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j] === all[i]) j++;
    const t = j - i;
    if (t > 1) {
      ties = true;
      tieTerm += t * t * t - t;
    }
    i = j;
  }
  const minP = 1 / binomial(n + m, n);
  if (!ties && n <= 20 && m <= 20) {
    const dist = uDistribution(n, m); // counts of U = 0..n·m
    const total = dist.reduce((s, c) => s + c, 0);
    let ge = 0;
    let le = 0;
    for (let k = 0; k < dist.length; k++) {
      if (k >= u) ge += dist[k]!;
      if (k <= u) le += dist[k]!;
    }
    return { u, pGreater: ge / total, pLess: le / total, minP, exact: true };
  }
  const N = n + m;
  const mean = (n * m) / 2;
  const variance = ((n * m) / 12) * (N + 1 - tieTerm / (N * (N - 1)));
  if (!(variance > 0)) return { u, pGreater: 1, pLess: 1, minP, exact: false };
  const sd = Math.sqrt(variance);
  return { u, pGreater: upperTail((u - mean - 0.5) / sd), pLess: upperTail((mean - u - 0.5) / sd), minP, exact: false };
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/** the number of arrangements giving each U for sample sizes n and m (no ties) */
function uDistribution(n: number, m: number): number[] {
  // f(n, m, u) = f(n-1, m, u-m) + f(n, m-1, u): build over a table of m for each n
  let prev: number[][] = []; // prev[j] = distribution for (i-1, j)
  for (let i = 0; i <= n; i++) {
    const cur: number[][] = [];
    for (let j = 0; j <= m; j++) {
      if (i === 0 || j === 0) {
        cur.push([1]);
        continue;
      }
      const size = i * j + 1;
      const d = new Array<number>(size).fill(0);
      const left = prev[j]!; // (i-1, j)
      const down = cur[j - 1]!; // (i, j-1)
      // the largest of the i+j values is a `b` (it beats all i values of a: U grows by i) or an
      // `a` (no b beats it: U unchanged)
      for (let k = 0; k < down.length; k++) d[k + i]! += down[k]!;
      for (let k = 0; k < left.length; k++) d[k]! += left[k]!;
      cur.push(d);
    }
    prev = cur;
  }
  return prev[m]!;
}

/** xorshift32: a small deterministic generator for the bootstrap */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

function resample(x: readonly number[], next: () => number): number[] {
  const out = new Array<number>(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[Math.floor(next() * x.length)]!;
  return out;
}

function quantileSorted(a: readonly number[], q: number): number {
  if (a.length === 0) return NaN;
  const pos = (a.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return a[lo]! + (a[hi]! - a[lo]!) * (pos - lo);
}

/**
 * A bootstrap interval of change(resampled a, resampled b): `iterations` resamples with a fixed
 * seed; returns the 5% and 95% quantiles (a 90% interval). Non-finite changes are dropped.
 */
export function bootstrapInterval(a: readonly number[], b: readonly number[], change: (a: number[], b: number[]) => number, iterations = 2000, seed = 12345): { lo: number; hi: number } {
  const next = rng(seed);
  const values: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const c = change(resample(a, next), resample(b, next));
    if (Number.isFinite(c)) values.push(c);
  }
  if (values.length === 0) return { lo: NaN, hi: NaN };
  values.sort((x, y) => x - y);
  return { lo: quantileSorted(values, 0.05), hi: quantileSorted(values, 0.95) };
}

// ---------------------------------------------------------------------------------------------
// The comparison

/** a figure of one run: its run-level value and the per-round values behind it */
export interface Figure {
  value: number;
  rounds: number[];
}

export type Figures = Partial<Record<GateMetric, Figure>>;

export interface MetricComparison {
  metric: GateMetric;
  threshold: Threshold;
  baseline: number;
  current: number;
  /** signed change, positive = worse: a share for relative metrics, a share (0.01 = 1pp) for the
   *  error share, bytes per minute for slopes */
  worse: number;
  /** bootstrap 90% interval of the change (signed as `worse`) */
  interval: { lo: number; hi: number };
  /** the p-value the verdict uses: `pRaw` Holm-adjusted over the metrics compared (so that a gate
   *  of k metrics at α = 0.05 cries wolf on at most 5% of A/A runs, not up to k × 5%) */
  p: number;
  /** one-sided Mann–Whitney p-value of "the current rounds are worse", for this metric alone */
  pRaw: number;
  /** the smallest worsening this comparison could tell from noise (same unit as `worse`) */
  detectable: number;
  regression: boolean;
  /** why no verdict could be given (missing figures, too few rounds), else undefined */
  skipped?: string;
}

export interface GateResult {
  regressions: MetricComparison[];
  metrics: MetricComparison[];
  alpha: number;
  notes: string[];
}

/**
 * The change that noise alone produces between runs like these: both runs' rounds are centred on
 * their medians (on a log scale for relative metrics, so that a slow round counts by its ratio),
 * pooled, and resampled into two pseudo-runs of the same sizes; the 95th percentile of the change
 * between their medians, in the metric's unit. It does not grow with the effect being measured.
 */
export function noiseLevel(t: Threshold, a: readonly number[], b: readonly number[], iterations = 2000, seed = 4242): number {
  const rel = t.unit === 'relative';
  if (rel && [...a, ...b].some((v) => !(v > 0))) {
    // zeros: no log scale; the spread relative to the baseline's median
    const m = Math.abs(medianOf(a)) || 1;
    return noiseLevel({ ...t, unit: 'pp' }, a.map((v) => v / m), b.map((v) => v / m), iterations, seed);
  }
  const tr = (v: number) => (rel ? Math.log(v) : v);
  const ta = a.map(tr);
  const tb = b.map(tr);
  const ma = medianOf(ta);
  const mb = medianOf(tb);
  const pooled = [...ta.map((v) => v - ma), ...tb.map((v) => v - mb)];
  if (pooled.length < 2) return NaN;
  const next = rng(seed);
  const diffs: number[] = [];
  for (let i = 0; i < iterations; i++) diffs.push(Math.abs(medianOf(pick(pooled, ta.length, next)) - medianOf(pick(pooled, tb.length, next))));
  diffs.sort((x, y) => x - y);
  const q = quantileSorted(diffs, 0.95);
  return rel ? Math.exp(q) - 1 : q;
}

function pick(x: readonly number[], n: number, next: () => number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = x[Math.floor(next() * x.length)]!;
  return out;
}

function changeOf(metric: GateMetric, baseline: number, current: number): number {
  const unit = unitOf(metric);
  if (unit === 'relative') {
    if (baseline === 0) return current === 0 ? 0 : higherIsWorse(metric) ? Infinity : -Infinity;
    const r = current / baseline - 1;
    return higherIsWorse(metric) ? r : -r;
  }
  return current - baseline; // pp (shares) and slopes: higher is worse
}

/** the fewest rounds a side with which the best-separated rounds reach p < α after Holm over
 *  `family` metrics: 1 / C(2n, n) · family < α */
export function roundsNeeded(family: number, alpha: number): number {
  let n = 1;
  let c = 2; // C(2n, n)
  while (Math.max(1, family) / c >= alpha && n < 100) {
    c = (c * (2 * n + 1) * (2 * n + 2)) / ((n + 1) * (n + 1));
    n++;
  }
  return n;
}

/** Holm–Bonferroni adjusted p-values, in the order given: the k-th smallest (from 0) of m is
 *  multiplied by m − k, and an adjusted value is never below the one before it in that order. */
export function holm(ps: readonly number[]): number[] {
  const m = ps.length;
  const order = ps.map((p, i) => ({ p, i })).sort((x, y) => x.p - y.p);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(({ p, i }, k) => {
    running = Math.max(running, Math.min(1, (m - k) * p));
    out[i] = running;
  });
  return out;
}

/** Compares the current run's figures with the baseline's under the thresholds. */
export function compareRuns(baseline: Figures, current: Figures, thresholds: readonly Threshold[], alpha = 0.05): GateResult {
  const metrics: MetricComparison[] = [];
  const notes: string[] = [];
  const present = (f: Figures, t: Threshold) => Number.isFinite(f[t.metric]?.value);
  // the family Holm adjusts over: the metrics both runs have
  const family = thresholds.filter((t) => present(baseline, t) && present(current, t)).length;
  for (const t of thresholds) {
    const a = baseline[t.metric];
    const b = current[t.metric];
    const base: MetricComparison = { metric: t.metric, threshold: t, baseline: a?.value ?? NaN, current: b?.value ?? NaN, worse: NaN, interval: { lo: NaN, hi: NaN }, p: 1, pRaw: 1, detectable: NaN, regression: false };
    if (!a || !b || !present(baseline, t) || !present(current, t)) {
      metrics.push({ ...base, skipped: `${t.metric} is missing from the ${present(baseline, t) ? 'current run' : 'baseline'}` });
      continue;
    }
    const slope = t.unit === 'bytes-per-min';
    const worse = changeOf(t.metric, a.value, b.value);
    const mw = mannWhitney(a.rounds, b.rounds);
    const p = higherIsWorse(t.metric) ? mw.pGreater : mw.pLess;
    const interval = bootstrapInterval(a.rounds, b.rounds, (ra, rb) => (slope ? medianOf(rb) - medianOf(ra) : changeOf(t.metric, medianOf(ra), medianOf(rb))));
    const noise = noiseLevel(t, a.rounds, b.rounds);
    const detectable = Math.max(t.value, Number.isFinite(noise) ? noise : Infinity);
    let skipped: string | undefined;
    if (mw.minP * family >= alpha) skipped = `${a.rounds.length} and ${b.rounds.length} rounds cannot reach p < ${alpha}${family > 1 ? ` over the ${family} metrics compared` : ''} (use --rounds ${roundsNeeded(family, alpha)} or more)`;
    metrics.push({ ...base, worse, interval, p, pRaw: p, detectable: skipped ? Infinity : detectable, ...(skipped ? { skipped } : {}) });
  }
  // Holm's step-down adjustment over the metrics compared: each metric tested at α alone would let
  // an A/A run of four metrics fail one in five times
  const tested = metrics.filter((m) => !m.skipped);
  const adjusted = holm(tested.map((m) => m.pRaw));
  tested.forEach((m, i) => {
    m.p = adjusted[i]!;
    // worse than the limit, beyond what these rounds can tell from noise, and significant
    m.regression = m.worse > m.detectable && m.p < alpha;
  });
  if (metrics.some((m) => m.skipped?.includes('rounds'))) notes.push('too few rounds for a significant comparison: no regression can be declared');
  return { regressions: metrics.filter((m) => m.regression), metrics, alpha, notes };
}

/** `worse` in its unit for a report: +12.3% / +0.40pp / +1.2MiB/min */
export function formatChange(m: { threshold: Threshold; worse: number }, v = m.worse): string {
  if (!Number.isFinite(v)) return v > 0 ? '+∞' : v < 0 ? '-∞' : 'n/a';
  const sign = v >= 0 ? '+' : '-';
  if (m.threshold.unit === 'relative') return `${sign}${Math.abs(v * 100).toFixed(1)}%`;
  if (m.threshold.unit === 'pp') return `${sign}${Math.abs(v * 100).toFixed(2)}pp`;
  return `${sign}${formatRate(Math.abs(v))}`;
}
