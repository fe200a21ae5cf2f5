/**
 * What GC costs, from a series of metric scrapes (the agent's `/debug/pprof/metrics`, or any Node
 * service exporting prom-client's default metrics): pauses by kind per interval, GC's share of wall
 * time (Δ pause-seconds / Δ time), the pause histogram over the window, heap spaces over time.
 * Pure: scrapes in (their text already parsed, each with the time it was taken), plain data out.
 * Counters that go down (a restarted process) are handled as Prometheus' increase() does: the
 * interval counts the new process's value from zero, and the restart is marked.
 */
import { promHistograms, promValue, type PromHistogram, type PromText } from './gc-prom.js';

export const GC_METRIC = 'nodejs_gc_duration_seconds';
const SPACE_USED = 'nodejs_heap_space_size_used_bytes';
const START = 'process_start_time_seconds';

/** One scrape, reduced to what the GC view needs. */
export interface GcScrape {
  timeMs: number;
  /** the process's start (process_start_time_seconds), to tell a restart */
  startS?: number;
  /** pause histogram by GC kind (major, minor, incremental, weakcb) */
  pauses: Map<string, PromHistogram>;
  /** heap space → bytes used */
  spaces: Record<string, number>;
  heapUsed?: number;
  rss?: number;
  /** event-loop delay p99 and max (seconds; prom-client measures them anew between scrapes) */
  lagP99?: number;
  lagMax?: number;
}

export function gcScrape(timeMs: number, t: PromText): GcScrape {
  const spaces: Record<string, number> = {};
  for (const s of t.families.get(SPACE_USED)?.samples ?? []) if (s.labels.space !== undefined && Number.isFinite(s.value)) spaces[s.labels.space] = s.value;
  const startS = promValue(t, START);
  const heapUsed = promValue(t, 'nodejs_heap_size_used_bytes');
  const rss = promValue(t, 'process_resident_memory_bytes');
  const lagP99 = promValue(t, 'nodejs_eventloop_lag_p99_seconds');
  const lagMax = promValue(t, 'nodejs_eventloop_lag_max_seconds');
  const finite = (v: number | undefined) => v !== undefined && Number.isFinite(v);
  return {
    timeMs,
    ...(startS !== undefined ? { startS } : {}),
    pauses: promHistograms(t, GC_METRIC, 'kind'),
    spaces,
    ...(heapUsed !== undefined ? { heapUsed } : {}),
    ...(rss !== undefined ? { rss } : {}),
    ...(finite(lagP99) ? { lagP99 } : {}),
    ...(finite(lagMax) ? { lagMax } : {}),
  };
}

export interface GcKindTotals {
  count: number;
  seconds: number;
  /** mean pause, seconds (0 without pauses) */
  mean: number;
  /** histogram_quantile(0.5 / 0.99) over the window's buckets (Prometheus' interpolation), seconds */
  p50: number | null;
  p99: number | null;
}

export interface GcData {
  /** scrape times, ms */
  times: number[];
  /** GC kinds seen, in a fixed order (major, minor, incremental, weakcb, then others by name) */
  kinds: string[];
  /** per kind, per scrape: milliseconds of pause since the previous scrape (null at the first;
   * after a failed scrape, since the last one that answered) */
  pauseMs: Record<string, (number | null)[]>;
  /** per kind, per scrape: pauses since the previous scrape */
  pauses: Record<string, (number | null)[]>;
  /** per scrape: all kinds' pause seconds over the trailing window (at least `shareWindowMs`, at
   * least one interval) / the wall seconds of that window. A window of several scrapes evens out
   * pauses counted a scrape late (the runtime reports GC entries in batches) */
  share: (number | null)[];
  shareWindowMs: number;
  /** scrape indices whose counters started again (a restarted process) */
  restarts: number[];
  /** heap spaces seen with some bytes in them, and each one's bytes used per scrape */
  spaces: string[];
  spaceUsed: Record<string, (number | null)[]>;
  heapUsed: (number | null)[];
  /** per scrape: the event loop's delay since the previous scrape, p99 and max, in ms (what the
   * pauses cost the requests: a pause delays every callback waiting behind it) */
  lagP99Ms: (number | null)[];
  lagMaxMs: (number | null)[];
  /** the pause histogram: upper bounds (seconds, +Inf last) and per kind the pauses in each bucket
   * (not cumulative) over the window — or, with one scrape, all its counters hold (since the
   * exporter began counting: the leakscope agent begins at its first scrape) */
  histogram: { le: number[]; counts: Record<string, number[]>; window: 'scrapes' | 'one-scrape' };
  totals: {
    /** seconds of pause over the window (all kinds) */
    pauseSeconds: number;
    wallSeconds: number;
    /** pauseSeconds / wallSeconds (null when the window is empty) */
    share: number | null;
    byKind: Record<string, GcKindTotals>;
  };
}

const ORDER = ['major', 'minor', 'incremental', 'weakcb'];
const kindOrder = (a: string, b: string) => {
  const x = ORDER.indexOf(a);
  const y = ORDER.indexOf(b);
  return (x < 0 ? ORDER.length : x) - (y < 0 ? ORDER.length : y) || (a < b ? -1 : a > b ? 1 : 0);
};

/**
 * histogram_quantile as Prometheus computes it: the bucket holding rank q·count, linear inside it
 * (from 0 for the first bucket); in the +Inf bucket, the highest finite bound. Cumulative counts.
 */
export function histogramQuantile(q: number, le: number[], cumulative: number[]): number | null {
  const n = le.length;
  if (n < 2 || le[n - 1] !== Infinity) return null;
  const total = cumulative[n - 1]!;
  if (!(total > 0)) return null;
  const rank = q * total;
  let b = 0;
  while (b < n - 1 && cumulative[b]! < rank) b++;
  if (b === n - 1) return le[n - 2]!;
  const lo = b === 0 ? 0 : le[b - 1]!;
  const below = b === 0 ? 0 : cumulative[b - 1]!;
  const inBucket = cumulative[b]! - below;
  if (inBucket <= 0) return le[b]!;
  return lo + (le[b]! - lo) * ((rank - below) / inBucket);
}

/** The GC view's data from scrapes in time order (a failed scrape is simply absent). */
export function gcData(scrapes: GcScrape[], o: { shareWindowMs?: number } = {}): GcData {
  const shareWindowMs = o.shareWindowMs ?? 5000;
  const times = scrapes.map((s) => s.timeMs);
  const kindSet = new Set<string>();
  for (const s of scrapes) for (const k of s.pauses.keys()) kindSet.add(k);
  const kinds = [...kindSet].sort(kindOrder);
  // the bucket bounds: the union over every kind and scrape (all the same for one exporter)
  const leSet = new Set<number>();
  for (const s of scrapes) for (const h of s.pauses.values()) for (const l of h.le) leSet.add(l);
  const le = [...leSet].sort((a, b) => a - b);
  const cumAt = (h: PromHistogram | undefined, bound: number): number => {
    if (!h) return 0;
    // cumulative count at `bound`: the largest bucket at or below it
    let c = 0;
    for (let i = 0; i < h.le.length && h.le[i]! <= bound; i++) c = h.buckets[i]!;
    return c;
  };

  const pauseMs: Record<string, (number | null)[]> = {};
  const pauses: Record<string, (number | null)[]> = {};
  const windowCum: Record<string, number[]> = {};
  const secondsBy: Record<string, number> = {};
  const countBy: Record<string, number> = {};
  for (const k of kinds) {
    pauseMs[k] = [null];
    pauses[k] = [null];
    windowCum[k] = le.map(() => 0);
    secondsBy[k] = 0;
    countBy[k] = 0;
  }
  const share: (number | null)[] = [null];
  /** per interval: pause seconds (all kinds) and wall seconds */
  const ds: number[] = [0];
  const dts: number[] = [0];
  const restarts: number[] = [];
  let pauseSeconds = 0;
  let wallSeconds = 0;
  for (let i = 1; i < scrapes.length; i++) {
    const a = scrapes[i - 1]!;
    const b = scrapes[i]!;
    const restarted =
      (a.startS !== undefined && b.startS !== undefined && b.startS !== a.startS) ||
      kinds.some((k) => {
        const x = a.pauses.get(k);
        const y = b.pauses.get(k);
        return x !== undefined && (y === undefined || y.count < x.count || y.sum < x.sum);
      });
    if (restarted) restarts.push(i);
    let intervalSeconds = 0;
    for (const k of kinds) {
      const x = restarted ? undefined : a.pauses.get(k);
      const y = b.pauses.get(k);
      const ds = Math.max(0, (y?.sum ?? 0) - (x?.sum ?? 0));
      const dc = Math.max(0, (y?.count ?? 0) - (x?.count ?? 0));
      pauseMs[k]!.push(ds * 1000);
      pauses[k]!.push(dc);
      intervalSeconds += ds;
      secondsBy[k]! += ds;
      countBy[k]! += dc;
      const w = windowCum[k]!;
      for (let j = 0; j < le.length; j++) w[j]! += Math.max(0, cumAt(y, le[j]!) - cumAt(x, le[j]!));
    }
    const dt = (b.timeMs - a.timeMs) / 1000;
    ds.push(intervalSeconds);
    dts.push(Math.max(0, dt));
    // the trailing window: back from this scrape until it spans shareWindowMs
    let p = 0;
    let w = 0;
    for (let j = i; j >= 1; j--) {
      p += ds[j]!;
      w += dts[j]!;
      if (b.timeMs - scrapes[j - 1]!.timeMs >= shareWindowMs) break;
    }
    share.push(w > 0 ? p / w : null);
    if (dt > 0) {
      pauseSeconds += intervalSeconds;
      wallSeconds += dt;
    }
  }
  let window: 'scrapes' | 'one-scrape' = 'scrapes';
  if (scrapes.length === 1) {
    // one scrape: everything its counters hold
    window = 'one-scrape';
    const s = scrapes[0]!;
    for (const k of kinds) {
      const h = s.pauses.get(k);
      windowCum[k] = le.map((l) => cumAt(h, l));
      secondsBy[k] = h?.sum ?? 0;
      countBy[k] = h?.count ?? 0;
      pauseSeconds += h?.sum ?? 0;
    }
    // no wall time: the counters run since the exporter began counting, which is not the
    // process's start (the leakscope agent begins at its first scrape), so no share either
  }
  const byKind: Record<string, GcKindTotals> = {};
  const counts: Record<string, number[]> = {};
  for (const k of kinds) {
    const cum = windowCum[k]!;
    counts[k] = cum.map((c, j) => c - (j > 0 ? cum[j - 1]! : 0));
    byKind[k] = {
      count: countBy[k]!,
      seconds: secondsBy[k]!,
      mean: countBy[k]! > 0 ? secondsBy[k]! / countBy[k]! : 0,
      p50: histogramQuantile(0.5, le, cum),
      p99: histogramQuantile(0.99, le, cum),
    };
  }
  const spaceSet = new Set<string>();
  for (const s of scrapes) for (const [name, v] of Object.entries(s.spaces)) if (v > 0) spaceSet.add(name);
  const spaces = [...spaceSet];
  const spaceUsed: Record<string, (number | null)[]> = {};
  for (const name of spaces) spaceUsed[name] = scrapes.map((s) => s.spaces[name] ?? null);
  return {
    times,
    kinds,
    pauseMs,
    pauses,
    share,
    shareWindowMs,
    restarts,
    spaces,
    spaceUsed,
    heapUsed: scrapes.map((s) => s.heapUsed ?? null),
    lagP99Ms: scrapes.map((s) => (s.lagP99 === undefined ? null : s.lagP99 * 1000)),
    lagMaxMs: scrapes.map((s) => (s.lagMax === undefined ? null : s.lagMax * 1000)),
    histogram: { le, counts, window },
    totals: { pauseSeconds, wallSeconds, share: wallSeconds > 0 ? pauseSeconds / wallSeconds : null, byKind },
  };
}
