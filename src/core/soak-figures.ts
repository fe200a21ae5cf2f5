/**
 * The figures of a soak run (pure): runtime metrics read while the load runs (the leakscope agent's
 * Prometheus text, Go's expvar memstats or client_golang's /metrics, the RSS of the processes soak
 * started) reduced to what the report and the gate use — RSS and heap slope per minute after the
 * warm-up, GC pause total and p99, event-loop delay p99 — and the load's per-round figures.
 */
import { theilSen } from './leak/stats.js';
import { medianOf, type Figure, type Figures } from './compare.js';

/** one reading of the service's runtime metrics */
export interface MetricsSample {
  /** ms since the start of the run */
  t: number;
  rss?: number;
  heap?: number;
  /** cumulative GC pause seconds */
  gcSeconds?: number;
  /** cumulative number of GC pauses */
  gcCount?: number;
  /** Node: cumulative histogram of GC pauses, upper bound (s) → count */
  gcBuckets?: [number, number][];
  /** Go expvar: the pauses (ns) of the collections since the previous sample */
  goPauses?: number[];
  /** Node: event-loop delay p99 (s) over the interval since the previous reading */
  eventLoopP99?: number;
}

/** A Prometheus text exposition → name{labels} → value (names and label strings verbatim). */
export function parsePrometheus(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const v = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    if (!Number.isNaN(v)) out.push({ name: m[1]!, labels, value: v });
  }
  return out;
}

/** the leakscope agent's (prom-client) or client_golang's metrics → a sample */
export function sampleFromPrometheus(text: string, t: number): MetricsSample {
  const s: MetricsSample = { t };
  const buckets = new Map<number, number>();
  let gcSum: number | undefined;
  let gcCount: number | undefined;
  for (const r of parsePrometheus(text)) {
    switch (r.name) {
      case 'process_resident_memory_bytes':
        s.rss = r.value;
        break;
      case 'nodejs_heap_size_used_bytes':
      case 'go_memstats_heap_alloc_bytes':
        s.heap = r.value;
        break;
      case 'nodejs_gc_duration_seconds_sum':
      case 'go_gc_duration_seconds_sum':
        gcSum = (gcSum ?? 0) + r.value;
        break;
      case 'nodejs_gc_duration_seconds_count':
      case 'go_gc_duration_seconds_count':
        gcCount = (gcCount ?? 0) + r.value;
        break;
      case 'nodejs_gc_duration_seconds_bucket': {
        const le = r.labels.le === '+Inf' ? Infinity : Number(r.labels.le);
        if (!Number.isNaN(le)) buckets.set(le, (buckets.get(le) ?? 0) + r.value);
        break;
      }
      case 'nodejs_eventloop_lag_p99_seconds':
        s.eventLoopP99 = r.value;
        break;
    }
  }
  if (gcSum !== undefined) s.gcSeconds = gcSum;
  if (gcCount !== undefined) s.gcCount = gcCount;
  if (buckets.size > 0) s.gcBuckets = [...buckets].sort((a, b) => a[0] - b[0]);
  return s;
}

/** Go's expvar `/debug/vars` → a sample; `prevNumGC` picks the pauses that are new since then */
export function sampleFromExpvar(json: unknown, t: number, prevNumGC: number | undefined): MetricsSample | undefined {
  const ms = (json as { memstats?: Record<string, unknown> } | null)?.memstats;
  if (!ms || typeof ms !== 'object') return undefined;
  const num = (k: string) => (typeof ms[k] === 'number' ? (ms[k] as number) : undefined);
  const s: MetricsSample = { t };
  const heap = num('HeapAlloc');
  if (heap !== undefined) s.heap = heap;
  const total = num('PauseTotalNs');
  if (total !== undefined) s.gcSeconds = total / 1e9;
  const numGC = num('NumGC');
  if (numGC !== undefined) {
    s.gcCount = numGC;
    const ring = Array.isArray(ms.PauseNs) ? (ms.PauseNs as number[]) : [];
    if (prevNumGC !== undefined && ring.length === 256) {
      const pauses: number[] = [];
      // PauseNs[(NumGC+255)%256] is the latest; at most 256 are kept
      for (let g = Math.max(prevNumGC + 1, numGC - 255); g <= numGC; g++) pauses.push(ring[(g + 255) % 256]!);
      s.goPauses = pauses;
    }
  }
  return s;
}

export interface LoadRound {
  /** ms since the start of the run, when the round began and ended */
  startMs: number;
  endMs: number;
  requests: number;
  /** socket errors and timeouts */
  errors: number;
  non2xx: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface RuntimeFigures {
  /** where the metrics came from, in words */
  source: string;
  rssSlopePerMin?: number;
  heapSlopePerMin?: number;
  rssStart?: number;
  rssEnd?: number;
  gcPauseTotalMs?: number;
  gcPauses?: number;
  /** GC pause p99 in ms; `gcP99Bound` when it is a histogram bucket's upper bound */
  gcP99Ms?: number;
  gcP99Bound?: boolean;
  eventLoopP99Ms?: number;
  samples: number;
}

/** Theil–Sen's pairs grow with the square of the points: a long soak is thinned to this many */
const MAX_SLOPE_POINTS = 600;

function slopePerMin(samples: MetricsSample[], key: 'rss' | 'heap'): number | undefined {
  let pts = samples.filter((s) => typeof s[key] === 'number');
  if (pts.length < 3) return undefined;
  if (pts.length > MAX_SLOPE_POINTS) {
    const step = pts.length / MAX_SLOPE_POINTS;
    pts = Array.from({ length: MAX_SLOPE_POINTS }, (_, i) => pts[Math.floor(i * step)]!);
  }
  const r = theilSen(
    pts.map((s) => s.t / 60000),
    pts.map((s) => s[key]!),
  );
  return Number.isFinite(r.slope) ? r.slope : undefined;
}

/** the runtime figures of the samples taken after `fromMs` (the end of the warm-up) */
export function runtimeFigures(all: MetricsSample[], fromMs: number, source: string): RuntimeFigures {
  const after = all.filter((s) => s.t >= fromMs);
  const f: RuntimeFigures = { source, samples: after.length };
  const rss = slopePerMin(after, 'rss');
  if (rss !== undefined) f.rssSlopePerMin = rss;
  const heap = slopePerMin(after, 'heap');
  if (heap !== undefined) f.heapSlopePerMin = heap;
  const rssVals = after.filter((s) => s.rss !== undefined);
  if (rssVals.length > 0) {
    f.rssStart = rssVals[0]!.rss!;
    f.rssEnd = rssVals[rssVals.length - 1]!.rss!;
  }
  const gc = after.filter((s) => s.gcSeconds !== undefined);
  if (gc.length >= 2) {
    f.gcPauseTotalMs = (gc[gc.length - 1]!.gcSeconds! - gc[0]!.gcSeconds!) * 1000;
    if (gc[0]!.gcCount !== undefined && gc[gc.length - 1]!.gcCount !== undefined) f.gcPauses = gc[gc.length - 1]!.gcCount! - gc[0]!.gcCount!;
  }
  const goPauses = after.slice(1).flatMap((s) => s.goPauses ?? []);
  if (goPauses.length > 0) {
    const sorted = goPauses.sort((a, b) => a - b);
    f.gcP99Ms = sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)]! / 1e6;
  } else {
    const hb = after.filter((s) => s.gcBuckets);
    if (hb.length >= 2) {
      const first = new Map(hb[0]!.gcBuckets!);
      const last = hb[hb.length - 1]!.gcBuckets!;
      const deltas = last.map(([le, c]) => [le, c - (first.get(le) ?? 0)] as [number, number]);
      const total = deltas.length > 0 ? deltas[deltas.length - 1]![1] : 0;
      if (total > 0) {
        const want = 0.99 * total;
        const b = deltas.find(([, c]) => c >= want);
        if (b && Number.isFinite(b[0])) {
          f.gcP99Ms = b[0] * 1000;
          f.gcP99Bound = true;
        }
      }
    }
  }
  const el = after.map((s) => s.eventLoopP99).filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (el.length > 0) f.eventLoopP99Ms = Math.max(...el) * 1000;
  return f;
}

/** The gate's figures of a run: per-round load figures and per-round memory slopes. */
export function gateFigures(rounds: LoadRound[], samples: MetricsSample[], runtime: RuntimeFigures): Figures {
  const fig = (vals: number[]): Figure => ({ value: medianOf(vals), rounds: vals });
  const f: Figures = {
    p50: fig(rounds.map((r) => r.p50)),
    p90: fig(rounds.map((r) => r.p90)),
    p99: fig(rounds.map((r) => r.p99)),
    max: fig(rounds.map((r) => r.max)),
    rps: fig(rounds.map((r) => r.rps)),
    errors: fig(rounds.map((r) => errorShare(r))),
  };
  for (const [key, metric, whole] of [
    ['rss', 'rss-slope', runtime.rssSlopePerMin],
    ['heap', 'heap-slope', runtime.heapSlopePerMin],
  ] as const) {
    if (whole === undefined) continue;
    const per = rounds.map((r) => slopePerMin(samples.filter((s) => s.t >= r.startMs && s.t <= r.endMs), key)).filter((v): v is number => v !== undefined);
    if (per.length === rounds.length) f[metric] = { value: whole, rounds: per };
  }
  return f;
}

export function errorShare(r: { requests: number; errors: number; non2xx: number }): number {
  const all = r.requests + r.errors;
  return all > 0 ? (r.errors + r.non2xx) / all : 0;
}
