/**
 * The GC view's charts as plain data (the page hands them to uPlot as they are): the pause
 * histogram by kind (bars), pause time per interval by kind, GC's share of wall time per interval,
 * heap spaces over time; plus the per-kind table and the summary line. Pure: from core/gc.ts's
 * GcData, gaps and restarts, no DOM.
 */
import type { GcData } from '../core/gc.js';

export type GcUnit = 'ms' | 'percent' | 'bytes' | 'count';

export interface GcChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
}

export interface GcChart {
  id: 'gc-histogram' | 'gc-pauses' | 'gc-share' | 'gc-lag' | 'gc-spaces';
  title: string;
  unit: GcUnit;
  /** `bars`: x is the bucket index and xLabels name the buckets; `lines`: x is time in seconds */
  type: 'bars' | 'lines';
  xs: number[];
  xLabels?: string[];
  series: GcChartSeries[];
  /** x (seconds) of failed scrapes and of restarts, drawn on time charts */
  gaps: number[];
  restarts: number[];
}

export interface GcKindRow {
  kind: string;
  count: number;
  /** pause seconds over the window */
  seconds: number;
  meanMs: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** this kind's share of the window's wall time */
  share: number | null;
}

export interface GcViewData {
  title: string;
  /** where the scrapes come from: the agent's metrics URL, or the run directory */
  source: string;
  live: boolean;
  scrapes: number;
  /** failed scrapes */
  gaps: { timeMs: number; error: string }[];
  errors: string[];
  /** bumped whenever a scrape arrives (the page asks with ?known=) */
  version: number;
  summary: string;
  rows: GcKindRow[];
  totals: GcData['totals'];
  charts: GcChart[];
}

const KIND_COLORS: Record<string, string> = { major: '#c62828', minor: '#1f77b4', incremental: '#ff7f0e', weakcb: '#2ca02c' };
const PALETTE = ['#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f', '#1b9e77', '#d95f02', '#7570b3'];
export const kindColor = (k: string, i: number) => KIND_COLORS[k] ?? PALETTE[i % PALETTE.length]!;

/** seconds → `0.1ms`, `50ms`, `1s` (a bucket bound) */
export function fmtBound(s: number): string {
  if (s === Infinity) return '+Inf';
  const r = (x: number) => String(Number(x.toPrecision(3)));
  if (s < 1e-3) return `${r(s * 1e6)}µs`;
  if (s < 1) return `${r(s * 1e3)}ms`;
  return `${r(s)}s`;
}

/** `≤0.1ms`, `0.1ms–0.5ms`, …, `>5s`: what each bar counts */
export function bucketLabels(le: number[]): string[] {
  return le.map((b, j) => (b === Infinity ? `>${fmtBound(le[j - 1] ?? 0)}` : j === 0 ? `≤${fmtBound(b)}` : `${fmtBound(le[j - 1]!)}–${fmtBound(b)}`));
}

function pct(x: number | null): string {
  return x === null ? '–' : `${(100 * x).toFixed(x < 0.001 ? 3 : 2)}%`;
}

export function gcView(d: GcData, o: { title: string; source: string; live: boolean; gaps: { timeMs: number; error: string }[]; errors: string[]; version: number }): GcViewData {
  const xs = d.times.map((t) => t / 1000);
  const gaps = o.gaps.map((g) => g.timeMs / 1000);
  const restarts = d.restarts.map((i) => xs[i]!);
  const charts: GcChart[] = [];
  const kinds = d.kinds;
  // the histogram: one bar group per bucket, empty leading/trailing buckets kept (the bounds are the exporter's)
  charts.push({
    id: 'gc-histogram',
    title: `GC pauses by duration and kind (${d.histogram.window === 'one-scrape' ? 'all the counters hold: one scrape so far' : 'pauses during the window'})`,
    unit: 'count',
    type: 'bars',
    xs: d.histogram.le.map((_, j) => j),
    xLabels: bucketLabels(d.histogram.le),
    series: kinds.map((k, i) => ({ label: k, values: d.histogram.counts[k]!.slice(), color: kindColor(k, i) })),
    gaps: [],
    restarts: [],
  });
  charts.push({
    id: 'gc-pauses',
    title: 'GC pause time per interval, by kind',
    unit: 'ms',
    type: 'lines',
    xs,
    series: kinds.map((k, i) => ({ label: k, values: d.pauseMs[k]!.slice(), color: kindColor(k, i) })),
    gaps,
    restarts,
  });
  charts.push({
    id: 'gc-share',
    title: `GC’s share of wall time (pause seconds / seconds, over the last ${d.shareWindowMs / 1000}s or interval)`,
    unit: 'percent',
    type: 'lines',
    xs,
    series: [{ label: 'GC share', values: d.share.map((v) => (v === null ? null : 100 * v)), color: '#222' }],
    gaps,
    restarts,
  });
  if (d.lagP99Ms.some((v) => v !== null) || d.lagMaxMs.some((v) => v !== null)) {
    charts.push({
      id: 'gc-lag',
      title: 'event-loop delay between scrapes (p99 and max): what the pauses cost callbacks',
      unit: 'ms',
      type: 'lines',
      xs,
      series: [
        { label: 'p99', values: d.lagP99Ms.slice(), color: '#1f77b4' },
        { label: 'max', values: d.lagMaxMs.slice(), color: '#c62828' },
      ],
      gaps,
      restarts,
    });
  }
  const spaceSeries: GcChartSeries[] = d.spaces.map((s, i) => ({ label: s, values: d.spaceUsed[s]!.slice(), color: PALETTE[(i + 3) % PALETTE.length]! }));
  if (d.heapUsed.some((v) => v !== null)) spaceSeries.unshift({ label: 'heap used (all spaces)', values: d.heapUsed.slice(), color: '#222' });
  charts.push({ id: 'gc-spaces', title: 'V8 heap spaces over time (bytes used)', unit: 'bytes', type: 'lines', xs, series: spaceSeries, gaps, restarts });

  const t = d.totals;
  const rows: GcKindRow[] = kinds.map((k) => {
    const b = t.byKind[k]!;
    return {
      kind: k,
      count: b.count,
      seconds: b.seconds,
      meanMs: b.mean * 1000,
      p50Ms: b.p50 === null ? null : b.p50 * 1000,
      p99Ms: b.p99 === null ? null : b.p99 * 1000,
      share: t.wallSeconds > 0 ? b.seconds / t.wallSeconds : null,
    };
  });
  const n = d.times.length;
  const count = rows.reduce((a, r) => a + r.count, 0);
  const over = d.histogram.window === 'one-scrape' ? 'counted before the first scrape' : `over ${t.wallSeconds.toFixed(t.wallSeconds < 10 ? 1 : 0)}s`;
  const summary =
    n === 0
      ? 'no metrics scraped yet'
      : `GC paused ${(t.pauseSeconds * 1000).toFixed(1)}ms in ${count} pause${count === 1 ? '' : 's'} ${over}: ${pct(t.share)} of wall time · ${n} scrape${n === 1 ? '' : 's'}${o.gaps.length > 0 ? ` · ${o.gaps.length} failed` : ''}${d.restarts.length > 0 ? ` · ${d.restarts.length} restart${d.restarts.length === 1 ? '' : 's'}` : ''}`;
  return { title: o.title, source: o.source, live: o.live, scrapes: n, gaps: o.gaps, errors: o.errors, version: o.version, summary, rows, totals: t, charts };
}
