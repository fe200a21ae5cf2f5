/**
 * The GC view: the pause histogram by kind (bars), pause time per interval by kind, GC's share of
 * wall time and the V8 heap spaces over time, each a uPlot chart of report/gc.ts's layout (drawn
 * as given, never recomputed), and the per-kind table. A live service's page (`web http://…`) or
 * a run directory with metrics (below its heap-over-time charts); the page polls, so new scrapes
 * appear without a reload.
 */
import uPlot from 'uplot';
import { scaledLabel } from '../core/units.js';
import type { GcChart, GcViewData } from '../report/gc.js';
import { apiGet, el, takeOverPage } from './api.js';

const POLL_MS = 1000;

export type GcAnswer = GcViewData | { version: number; unchanged: true } | { none: true; version: number; live?: boolean };

function fmt(v: number | null | undefined, unit: GcChart['unit']): string {
  if (v === null || v === undefined) return '–';
  if (unit === 'bytes') return scaledLabel(v, 'bytes', 'auto');
  if (unit === 'ms') return `${Number(v.toPrecision(3))}ms`;
  if (unit === 'percent') return `${Number(v.toPrecision(3))}%`;
  return String(Math.round(v * 100) / 100);
}
const ms = (v: number | null) => (v === null ? '–' : `${Number(v.toPrecision(3))}ms`);
const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(v < 0.001 ? 3 : 2)}%`);

export interface GcApi {
  ready: boolean;
  version: number;
  data: GcViewData | undefined;
  drawMs: number;
  /** charts drawn: id → series labels */
  charts: Record<string, string[]>;
}

/** Draws GC data into `box` (replacing what was there). */
/** seconds: the time span the charts share (the heap-over-time charts' when the GC view is below them) */
type XRange = () => [number, number] | undefined;

function drawGc(box: HTMLElement, d: GcViewData, api: GcApi, plots: uPlot[], xRange?: XRange): void {
  const t0 = performance.now();
  for (const p of plots) p.destroy();
  plots.length = 0;
  box.textContent = '';
  box.append(el('h2', {}, `GC — ${d.title}`));
  box.append(el('div', { id: 'gc-summary', 'data-share': String(d.totals.share ?? ''), 'data-pause-seconds': String(d.totals.pauseSeconds) }, d.summary));
  if (d.errors.length > 0) box.append(el('div', { id: 'gc-errors', class: 'error' }, d.errors.join('\n')));
  if (d.rows.length > 0) {
    const table = el('table', { id: 'gc-table' });
    table.append(el('thead', {}, el('tr', {}, ...['kind', 'pauses', 'pause time', 'mean', 'p50', 'p99', 'share of wall time'].map((h) => el('th', {}, h)))));
    const body = el('tbody');
    for (const r of d.rows) {
      body.append(
        el(
          'tr',
          { 'data-kind': r.kind, 'data-count': String(r.count), 'data-seconds': String(r.seconds) },
          el('td', {}, r.kind),
          el('td', { class: 'num' }, String(r.count)),
          el('td', { class: 'num' }, ms(r.seconds * 1000)),
          el('td', { class: 'num' }, ms(r.meanMs)),
          el('td', { class: 'num' }, ms(r.p50Ms)),
          el('td', { class: 'num' }, ms(r.p99Ms)),
          el('td', { class: 'num' }, pct(r.share)),
        ),
      );
    }
    table.append(body);
    box.append(table);
  } else box.append(el('p', { class: 'muted' }, d.scrapes === 0 ? 'waiting for the first scrape…' : 'no GC pause recorded yet'));
  const width = Math.max(400, box.clientWidth - 8);
  api.charts = {};
  for (const c of d.charts) {
    if (c.type === 'lines' && c.xs.length === 0) continue;
    if (c.series.length === 0) continue;
    const holder = el('div', { class: 'chart', 'data-chart': c.id });
    box.append(holder);
    plots.push(chart(c, holder, width, xRange?.()));
    api.charts[c.id] = c.series.map((s) => s.label);
  }
  api.drawMs = performance.now() - t0;
  performance.mark('leakscope:gc-drawn');
}

function chart(c: GcChart, holder: HTMLElement, width: number, span?: [number, number]): uPlot {
  const bars = c.type === 'bars';
  const n = c.series.length;
  // an empty bucket draws no bar (not a flat line on the axis)
  const data: uPlot.AlignedData = [c.xs, ...c.series.map((s) => (bars ? s.values.map((v) => (v === 0 ? null : v)) : s.values))];
  const opts: uPlot.Options = {
    title: c.title,
    width,
    height: bars ? 220 : 200,
    // y from zero: pause time, share and bytes read against nothing, not against their minimum
    scales: bars
      ? { x: { time: false, range: (_u, lo, hi) => [lo - 0.5, hi + 0.5] }, y: { range: (_u, _lo, hi) => [0, Math.max(1, Math.ceil(hi * 1.1))] } }
      : { x: { time: true, ...(span ? { range: (_u: uPlot, lo: number, hi: number) => [Math.min(lo, span[0]), Math.max(hi, span[1])] as [number, number] } : {}) }, y: { range: (_u, _lo, hi) => [0, hi > 0 ? hi * 1.08 : 1] } },
    series: [
      bars ? { label: 'bucket', value: (_u: uPlot, v: number | null) => (v === null ? '' : (c.xLabels?.[v] ?? '')) } : { label: 'time' },
      ...c.series.map((s, i) => ({
        label: s.label,
        stroke: s.color,
        width: bars ? 1 : 1.75,
        ...(bars
          ? {
              fill: `${s.color}cc`,
              // the kinds of one bucket side by side
              // the kinds of one bucket side by side: bar i of n starts at bucket − 0.425 + i·w (x units)
              paths: uPlot.paths.bars!({
                disp: {
                  x0: { unit: 1, values: () => c.xs.map((j) => j - 0.425 + (i * 0.85) / n) },
                  size: { unit: 1, values: () => [(0.85 / n) * 0.92] },
                } as unknown as uPlot.Series.BarsPathBuilderDisplay,
              }),
              points: { show: false },
            }
          : { points: { show: true, size: 4 } }),
        value: (_u: uPlot, v: number | null) => fmt(v, c.unit),
      })),
    ],
    axes: [
      bars ? { values: (_u: uPlot, vs: number[]) => vs.map((v) => (Number.isInteger(v) ? (c.xLabels?.[v] ?? '') : '')), splits: () => c.xs, size: 40 } : {},
      { size: 84, values: (_u: uPlot, vs: number[]) => vs.map((v) => fmt(v, c.unit)) },
    ],
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
    hooks: {
      draw: [
        (u: uPlot) => {
          const ctx = u.ctx;
          const dpr = devicePixelRatio;
          const { top, height } = u.bbox;
          ctx.save();
          ctx.font = `${11 * dpr}px system-ui, sans-serif`;
          const line = (x: number, color: string, dash: number[], text: string) => {
            const px = u.valToPos(x, 'x', true);
            ctx.strokeStyle = color;
            ctx.setLineDash(dash.map((d) => d * dpr));
            ctx.lineWidth = 1.5 * dpr;
            ctx.beginPath();
            ctx.moveTo(px, top);
            ctx.lineTo(px, top + height);
            ctx.stroke();
            ctx.fillStyle = color;
            ctx.fillText(text, px + 3 * dpr, top + height - 6 * dpr);
          };
          for (const g of c.gaps) line(g, '#999', [2, 3], 'failed');
          for (const r of c.restarts) line(r, '#6a1b9a', [6, 4], 'restart');
          ctx.restore();
        },
      ],
    },
  };
  const u = new uPlot(opts, data, holder);
  u.root.dataset.chart = c.id;
  return u;
}

/**
 * Keeps `box` showing the GC data `get` answers, polling; resolves never (a live view).
 * `onNone` is called when the source has no metrics (a run directory without them).
 */
export async function mountGc(box: HTMLElement, get: (known: number) => Promise<GcAnswer>, o: { onNone?: () => void; once?: boolean; xRange?: XRange } = {}): Promise<void> {
  const plots: uPlot[] = [];
  const api: GcApi = { ready: false, version: -1, data: undefined, drawMs: 0, charts: {} };
  Object.defineProperty(window, '__leakscopeGc', { value: api, writable: false, configurable: true });
  let resizeTimer: number | undefined;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(() => api.data && drawGc(box, api.data, api, plots, o.xRange), 100);
  });
  for (;;) {
    try {
      const a = await get(api.version);
      if ('none' in a) {
        box.hidden = true;
        o.onNone?.();
        api.ready = true;
        // a run that kept no metrics; a live one (watch --http) may write its first scrape soon
        if (!a.live || o.once) return;
        await new Promise((r) => setTimeout(r, 3 * POLL_MS));
        continue;
      }
      if (!('unchanged' in a)) {
        box.hidden = false;
        api.data = a;
        api.version = a.version;
        drawGc(box, a, api, plots, o.xRange);
      }
      api.ready = true;
      if (o.once) return;
    } catch (e) {
      const status = document.getElementById('status');
      if (status) {
        status.textContent = (e as Error).message;
        status.className = 'error';
      }
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** `leakscope web http://host:port`: the page is the GC view. */
export async function gcPage(): Promise<void> {
  const root = takeOverPage('gc-view', '');
  const status = document.getElementById('status')!;
  status.textContent = 'scraping…';
  const box = el('div', { id: 'gc-box' });
  root.append(box);
  await mountGc(box, async (known) => {
    const a = await apiGet<GcAnswer>(`api/gc?known=${known}`);
    if (!('unchanged' in a) && !('none' in a)) {
      document.getElementById('title')!.textContent = a.title;
      status.className = a.errors.length > 0 ? 'error' : '';
      status.textContent = a.errors.length > 0 ? a.errors[a.errors.length - 1]! : `${a.source} · live, every scrape drawn as it arrives`;
    }
    return a;
  });
}
