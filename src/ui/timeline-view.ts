/**
 * Heap over time (a watch run directory): each profile's total per poll (sample type selectable),
 * the fastest-growing sites as lines, suspects marked where their verdict first held, gaps shaded
 * and restarts drawn; goroutine / async counts in their own chart; the suspects table. Clicking a
 * point opens that sample's flame graph, clicking a suspect the diff flame graph of its segment.
 * New samples appear without a reload (the page polls the server). Drawn with uPlot.
 */
import uPlot from 'uplot';
import { scaledLabel } from '../core/units.js';
import type { TimelineData, TimelineKind, TimelineSuspect } from '../report/timeline.js';
import { apiGet, bakedData, el, pageLink, takeOverPage } from './api.js';
import { mountGc, type GcAnswer } from './gc-view.js';

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
const SUSPECT = '#c62828';
const POLL_MS = 1500;

/** a chart's x positions: the kind's points, plus null rows at gaps and between segments */
interface Rows {
  xs: number[];
  /** index into kind.points, or -1 for an inserted null row */
  point: number[];
  gaps: { from: number; to: number }[];
  restarts: { x: number; reason: string }[];
}

function rowsOf(k: TimelineKind): Rows {
  const items: { x: number; point: number }[] = k.points.map((p, i) => ({ x: p.timeMs / 1000, point: i }));
  for (const g of k.gaps) items.push({ x: g.timeMs / 1000, point: -1 });
  const restarts: Rows['restarts'] = [];
  k.points.forEach((p, i) => {
    if (i > 0 && p.segment !== k.points[i - 1]!.segment) {
      const prev = k.points[i - 1]!.timeMs / 1000;
      restarts.push({ x: p.timeMs / 1000, reason: p.restart ?? 'restart' });
      // the line does not join two processes
      if (!k.gaps.some((g) => g.timeMs / 1000 > prev && g.timeMs / 1000 < p.timeMs / 1000)) items.push({ x: (prev + p.timeMs / 1000) / 2, point: -1 });
    }
  });
  items.sort((a, b) => a.x - b.x || a.point - b.point);
  const xs = items.map((i) => i.x);
  const point = items.map((i) => i.point);
  // a gap spans from the last point before its failed polls to the first after
  const gaps: Rows['gaps'] = [];
  for (let i = 0; i < items.length; i++) {
    if (items[i]!.point >= 0 || !k.gaps.some((g) => g.timeMs / 1000 === items[i]!.x)) continue;
    let a = i;
    while (a > 0 && items[a - 1]!.point < 0) a--;
    let b = i;
    while (b < items.length - 1 && items[b + 1]!.point < 0) b++;
    const from = a > 0 ? items[a - 1]!.x : items[a]!.x;
    const to = b < items.length - 1 ? items[b + 1]!.x : items[b]!.x;
    if (!gaps.some((g) => g.from === from)) gaps.push({ from, to });
  }
  return { xs, point, gaps, restarts };
}

const unitOf = (kind: string, type: string) => (kind === 'heap' && /space|bytes/.test(type) ? 'bytes' : 'count');
function fmtCount(v: number): string {
  const a = Math.abs(v);
  const r = (x: number) => String(Math.round(x * 100) / 100);
  return a >= 1e6 ? `${r(v / 1e6)}M` : a >= 1e4 ? `${r(v / 1e3)}k` : r(v);
}
const fmtVal = (v: number | null | undefined, unit: string) => (v === null || v === undefined ? '–' : unit === 'bytes' ? scaledLabel(v, 'bytes', 'auto') : fmtCount(v));

interface Mark {
  chart: string;
  profile: string;
  name: string;
  /** CSS pixels, relative to the chart's plotting area */
  x: number;
}

interface ChartSpec {
  id: string;
  title: string;
  kind: TimelineKind;
  rows: Rows;
  unit: string;
  series: { label: string; values: (number | null)[]; stroke: string; width: number; suspect?: boolean }[];
  suspects: TimelineSuspect[];
}

export async function timelineView(): Promise<void> {
  const status = document.getElementById('status')!;
  const root = takeOverPage('timeline-view', '');
  const errorsLine = el('div', { id: 'timeline-errors', class: 'error' });
  const controls = el('div', { class: 'controls' });
  const charts = el('div', { id: 'timeline-charts' });
  const hover = el('div', { id: 'timeline-hover', class: 'muted' }, 'click a point to open that sample’s flame graph; click a suspect for its diff flame graph');
  const suspectsBox = el('div', { id: 'timeline-suspects' });
  // a run with metrics (watch --profiles …,metrics): the GC view below
  const gcBox = el('div', { id: 'gc-box', hidden: '' });
  root.append(errorsLine, controls, hover, charts, suspectsBox, gcBox);
  // the GC charts span the heap charts' time too, so a pause and a heap sample line up
  const span = (): [number, number] | undefined => {
    const ts = data?.kinds.flatMap((k) => k.points.map((p) => p.timeMs / 1000)) ?? [];
    return ts.length > 0 ? [Math.min(...ts), Math.max(...ts)] : undefined;
  };
  void mountGc(gcBox, (known) => apiGet<GcAnswer>(`api/gc?known=${known}`), { once: bakedData() !== undefined, xRange: span });
  const typeSelect = el('select', { id: 'timeline-type' });
  controls.append(el('label', {}, 'heap sample type ', typeSelect));

  let data: TimelineData | undefined;
  let plots: uPlot[] = [];
  const marks: Mark[] = [];
  const api = {
    /** the first chart is drawn */
    ready: false,
    /** … with the analysis (sites, suspects) */
    complete: false,
    version: -1,
    drawMs: 0,
    get marks() {
      return marks.slice();
    },
    get suspects() {
      return data?.suspects.map((s) => ({ profile: s.profile, name: s.name })) ?? [];
    },
    get points() {
      return data?.kinds.map((k) => ({ kind: k.kind, files: k.points.map((p) => p.file) })) ?? [];
    },
    /** page coordinates of a point of a chart (for clicking it) */
    pointAt(chart: string, i: number): { x: number; y: number } | undefined {
      const u = plots.find((p) => p.root.dataset.chart === chart);
      const spec = specs.find((s) => s.id === chart);
      if (!u || !spec) return undefined;
      const row = spec.rows.point.indexOf(i);
      if (row < 0) return undefined;
      const r = u.over.getBoundingClientRect();
      const v = spec.series[0]!.values[row];
      return { x: r.left + u.valToPos(spec.rows.xs[row]!, 'x'), y: r.top + (v === null || v === undefined ? r.height / 2 : u.valToPos(v, 'y')) };
    },
  };
  Object.defineProperty(window, '__leakscopeTimeline', { value: api, writable: false, configurable: false });
  let specs: ChartSpec[] = [];

  /** a heap sample opens at the chart's sample type */
  function openSample(file: string, kind: string) {
    location.href = pageLink({ p: file, view: 'flame', ...(kind === 'heap' && typeSelect.value ? { si: typeSelect.value } : {}) });
  }
  function openSuspect(s: TimelineSuspect) {
    location.href = pageLink({ p: s.segmentLastFile, b: s.segmentFirstFile, view: 'flame' });
  }

  function build(spec: ChartSpec, width: number): uPlot {
    const { rows, unit } = spec;
    const plotData: uPlot.AlignedData = [rows.xs, ...spec.series.map((s) => rows.point.map((p) => (p < 0 ? null : (s.values[p] ?? null))))];
    const opts: uPlot.Options = {
      title: spec.title,
      width,
      height: 260,
      scales: { x: { time: true } },
      series: [
        { label: 'time' },
        ...spec.series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: s.width,
          points: { show: true, size: s.suspect ? 6 : 5 },
          value: (_u: uPlot, v: number | null) => fmtVal(v, unit),
        })),
      ],
      axes: [{}, { size: 84, values: (_u: uPlot, vs: number[]) => vs.map((v) => fmtVal(v, unit)) }],
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      hooks: {
        drawClear: [
          (u: uPlot) => {
            // gaps: shaded; restarts: a dashed line
            const ctx = u.ctx;
            const { top, height } = u.bbox;
            ctx.save();
            ctx.textAlign = 'left';
            ctx.textBaseline = 'alphabetic';
            for (const g of rows.gaps) {
              const a = u.valToPos(g.from, 'x', true);
              const b = u.valToPos(g.to, 'x', true);
              ctx.fillStyle = 'rgba(120,120,120,0.15)';
              ctx.fillRect(a, top, Math.max(1, b - a), height);
              ctx.fillStyle = '#666';
              ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
              ctx.fillText('gap', a + 3 * devicePixelRatio, top + height - 6 * devicePixelRatio);
            }
            ctx.restore();
          },
        ],
        draw: [
          (u: uPlot) => {
            const ctx = u.ctx;
            const dpr = devicePixelRatio;
            const { top, height, left, width: w } = u.bbox;
            ctx.save();
            ctx.font = `${11 * dpr}px system-ui, sans-serif`;
            ctx.textAlign = 'left';
            ctx.textBaseline = 'alphabetic';
            /** text beside a vertical line at x: right of it, or left when it does not fit */
            const label = (text: string, x: number, y: number) => {
              const tw = ctx.measureText(text).width;
              const right = x + 4 * dpr + tw <= left + w;
              ctx.textAlign = right ? 'left' : 'right';
              ctx.fillText(text, right ? x + 4 * dpr : x - 4 * dpr, y);
            };
            for (const r of rows.restarts) {
              const x = u.valToPos(r.x, 'x', true);
              ctx.strokeStyle = '#6a1b9a';
              ctx.setLineDash([6 * dpr, 4 * dpr]);
              ctx.lineWidth = 1.5 * dpr;
              ctx.beginPath();
              ctx.moveTo(x, top);
              ctx.lineTo(x, top + height);
              ctx.stroke();
              ctx.fillStyle = '#6a1b9a';
              label(`restart (${r.reason})`, x, top + height - 20 * dpr);
            }
            // suspects: where the verdict first held
            for (const m of marks.filter((m) => m.chart === spec.id)) marks.splice(marks.indexOf(m), 1);
            spec.suspects.forEach((s, k) => {
              const x = u.valToPos(s.firstDetectedMs / 1000, 'x', true);
              ctx.strokeStyle = SUSPECT;
              ctx.setLineDash([3 * dpr, 3 * dpr]);
              ctx.lineWidth = 1.5 * dpr;
              ctx.beginPath();
              ctx.moveTo(x, top);
              ctx.lineTo(x, top + height);
              ctx.stroke();
              ctx.setLineDash([]);
              ctx.fillStyle = SUSPECT;
              label(`▲ ${s.name} (${(100 * s.confidence).toFixed(1)}%)`, x, top + (14 + 14 * k) * dpr);
              marks.push({ chart: spec.id, profile: s.profile, name: s.name, x: x / dpr - left / dpr });
            });
            ctx.restore();
          },
        ],
        setCursor: [
          (u: uPlot) => {
            const i = u.cursor.idx;
            if (i === null || i === undefined) return;
            const p = rows.point[i]!;
            if (p < 0) {
              hover.textContent = 'a failed poll (gap)';
              return;
            }
            const pt = spec.kind.points[p]!;
            hover.textContent = `${spec.kind.kind} sample ${p + 1} · ${pt.file} · ${new Date(pt.timeMs).toISOString().replace('T', ' ').slice(0, 19)} · segment ${pt.segment + 1} — click to open its flame graph`;
          },
        ],
      },
    };
    const holder = el('div', { class: 'chart', 'data-chart': spec.id });
    charts.append(holder);
    const u = new uPlot(opts, plotData, holder);
    u.root.dataset.chart = spec.id;
    u.over.style.cursor = 'pointer';
    u.over.addEventListener('click', () => {
      const i = u.cursor.idx;
      if (i === null || i === undefined) return;
      // the nearest row with a profile
      let best = -1;
      for (let d = 0; d < rows.xs.length && best < 0; d++) {
        if (i - d >= 0 && rows.point[i - d]! >= 0) best = i - d;
        else if (i + d < rows.xs.length && rows.point[i + d]! >= 0) best = i + d;
      }
      if (best >= 0) openSample(spec.kind.points[rows.point[best]!]!.file, spec.kind.kind);
    });
    return u;
  }

  function specsOf(d: TimelineData): ChartSpec[] {
    const out: ChartSpec[] = [];
    for (const k of d.kinds) {
      const rows = rowsOf(k);
      const suspects = d.suspects.filter((s) => s.profile === k.kind);
      if (k.kind === 'heap') {
        const type = k.sampleTypes.includes(typeSelect.value) ? typeSelect.value : k.sampleTypes[0]!;
        const unit = unitOf('heap', type);
        out.push({
          id: 'heap',
          title: `heap: ${type} over time (total per sample)`,
          kind: k,
          rows,
          unit,
          series: [{ label: `total ${type}`, values: k.points.map((p) => p.totals[type] ?? null), stroke: '#222', width: 2 }],
          suspects,
        });
        if (k.sites.length > 0) {
          out.push({
            id: 'heap-sites',
            title: `fastest-growing heap sites (${k.sampleTypes[0]}; suspects in red)`,
            kind: k,
            rows,
            unit: k.unit === 'bytes' ? 'bytes' : 'count',
            series: k.sites.map((s, i) => ({ label: s.name, values: s.values, stroke: s.suspect ? (i === 0 ? SUSPECT : ['#e53935', '#ad1457', '#d84315'][i % 3]!) : PALETTE[i % PALETTE.length]!, width: s.suspect ? 2.5 : 1.25, suspect: s.suspect })),
            suspects,
          });
        }
      } else {
        out.push({
          id: k.kind,
          title: `${k.kind === 'goroutine' ? 'goroutines' : k.kind === 'promises' ? 'pending promises' : 'async resources'} over time`,
          kind: k,
          rows,
          unit: 'count',
          series: [
            { label: `${k.kind} count`, values: k.points.map((p) => p.totals[k.sampleTypes[0]!] ?? null), stroke: '#222', width: 2 },
            ...k.sites.slice(0, 6).map((s, i) => ({ label: s.name, values: s.values, stroke: s.suspect ? SUSPECT : PALETTE[i % PALETTE.length]!, width: s.suspect ? 2.5 : 1.25, suspect: s.suspect })),
          ],
          suspects,
        });
      }
    }
    return out;
  }

  function renderSuspects(d: TimelineData): void {
    suspectsBox.textContent = '';
    if (d.pending) {
      suspectsBox.append(el('h2', {}, 'Suspects'), el('p', { class: 'muted' }, 'reading and analysing the profiles…'));
      return;
    }
    suspectsBox.append(el('h2', {}, d.suspects.length === 0 ? 'No suspects (yet)' : `Suspects (${d.suspects.length})`));
    if (d.suspects.length === 0) {
      suspectsBox.append(el('p', { class: 'muted' }, `a verdict needs at least ${d.report.minSamples} samples of one process, growing steadily`));
      return;
    }
    const table = el('table', { id: 'suspects-table' });
    table.append(el('thead', {}, el('tr', {}, ...['profile', 'verdict', 'confidence', 'growth', 'first → last', 'first detected', 'name', 'location', ''].map((h) => el('th', { class: h === 'name' || h === 'location' ? 'name' : '' }, h)))));
    const body = el('tbody');
    for (const s of d.suspects) {
      const unit = s.unit === 'bytes' ? 'bytes' : 'count';
      const rate = `${fmtVal(s.growthPerMinute, unit)}/min`;
      const tr = el(
        'tr',
        { class: 'suspect', 'data-name': s.name, 'data-profile': s.profile, 'data-confidence': String(s.confidence), 'data-first-detected-sample': String(s.firstDetectedSample) },
        el('td', {}, s.profile),
        el('td', { class: 'verdict' }, 'leak'),
        el('td', { class: 'num' }, `${(100 * s.confidence).toFixed(2)}%`),
        el('td', { class: 'num' }, rate),
        el('td', { class: 'num' }, `${fmtVal(s.firstValue, unit)} → ${fmtVal(s.lastValue, unit)}`),
        el('td', { class: 'num' }, `sample ${s.firstDetectedSample}${s.firstDetectedAt ? ` (${s.firstDetectedAt.slice(11, 19)})` : ''}`),
        el('td', { class: 'name' }, s.name),
        el('td', { class: 'name' }, `${s.file}:${s.line}`),
        el('td', {}, el('a', { href: pageLink({ p: s.segmentLastFile, b: s.segmentFirstFile, view: 'flame' }), class: 'diff-link', title: `diff flame graph: ${s.segmentLastFile} against ${s.segmentFirstFile}` }, 'diff flame graph')),
      );
      tr.onclick = (e) => {
        if ((e.target as HTMLElement).tagName !== 'A') openSuspect(s);
      };
      body.append(tr);
    }
    table.append(body);
    suspectsBox.append(table);
  }

  function render(): void {
    if (!data) return;
    const t0 = performance.now();
    for (const p of plots) p.destroy();
    plots = [];
    marks.length = 0;
    charts.textContent = '';
    const heap = data.kinds.find((k) => k.kind === 'heap');
    if (heap && typeSelect.options.length !== heap.sampleTypes.length) {
      const keep = typeSelect.value;
      typeSelect.textContent = '';
      for (const t of heap.sampleTypes) typeSelect.append(el('option', { value: t }, t));
      // the sample type is in the URL (?si=), so a link reproduces the view
      const wanted = keep || new URLSearchParams(location.search).get('si') || '';
      if (heap.sampleTypes.includes(wanted)) typeSelect.value = wanted;
    }
    typeSelect.parentElement!.hidden = !heap;
    specs = specsOf(data);
    const width = Math.max(400, root.clientWidth - 8);
    for (const s of specs) plots.push(build(s, width));
    if (specs.length === 0) charts.append(el('p', { class: 'muted' }, 'no samples yet: the chart appears with the first profile'));
    renderSuspects(data);
    errorsLine.textContent = data.errors.join('\n');
    const samples = data.report.samples;
    const restarts = data.report.segments.reduce((n, s) => n + s.restarts.length, 0);
    status.className = '';
    status.textContent = `${data.target} · ${samples} sample${samples === 1 ? '' : 's'} · ${data.report.gaps} failed poll${data.report.gaps === 1 ? '' : 's'} · ${restarts} restart${restarts === 1 ? '' : 's'}${data.pending ? ' · analysing…' : ''}`;
    document.getElementById('title')!.textContent = data.title;
    api.version = data.version;
    api.drawMs = performance.now() - t0;
    performance.mark(data.pending ? 'leakscope:timeline-totals-drawn' : 'leakscope:timeline-drawn');
    api.ready = true;
    api.complete = !data.pending;
  }

  typeSelect.onchange = () => {
    const q = new URLSearchParams(location.search);
    q.set('si', typeSelect.value);
    try {
      history.replaceState(null, '', `${location.pathname}?${q.toString()}`);
    } catch {
      /* some contexts refuse; the view still works */
    }
    render();
  };
  let resizeTimer: number | undefined;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(render, 100);
  });

  async function poll(): Promise<void> {
    try {
      const d = await apiGet<TimelineData | { version: number; unchanged: true }>(`api/timeline?known=${data?.version ?? -1}`);
      if (!('unchanged' in d)) {
        data = d;
        render();
      }
    } catch (e) {
      status.textContent = (e as Error).message;
      status.className = 'error';
    }
  }
  // quickly while the analysis is on its way, then at a live view's pace
  for (;;) {
    await poll();
    if (bakedData()) return; // an export does not change
    await new Promise((r) => setTimeout(r, data?.pending ? 250 : POLL_MS));
  }
}
