/**
 * leakscope's web UI: the flame graph (canvas) and the top table of one profile (or a diff), the
 * state in the URL query (view, si, f = zoomed frame, q = search, sort) so that a link reproduces a
 * view. Data comes from the server's JSON endpoints, or from the page itself when exported.
 */
import { percentage, scaledLabel } from '../core/units.js';
import type { FlameLayout } from '../report/flame.js';
import { draw, frameName, hitTest, ROW, searchMatches, visibleFrames, type Drawn } from './flame-view.js';
import { exactRe, filterQuery, GraphTab, readFilters, showDetail, wireFilterBoxes, writeFilters, type Fetcher, type PprofApi } from './pprof-views.js';
import type { Embedded, Meta, ViewData, ViewFilters } from './types.js';
import { forwardedParams, startExtraView } from './views.js';
import { bakedData, bakedGet } from './api.js';

type View = 'flame' | 'top' | 'graph';

interface State {
  view: View;
  si: string;
  zoom: number;
  q: string;
  sort: 'flat' | 'cum';
  /** focus/ignore/hide/show and granularity (re-run on the server) */
  filters: ViewFilters;
  /** the table row whose sandwich and source are open (its name as top prints it), and its function */
  sel: string;
  fn: string;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Where data comes from: the server, or the page (export). */
interface Source {
  meta(): Promise<Meta>;
  view(si: string, filters: ViewFilters): Promise<ViewData>;
  /** the server's other endpoints (none in an exported page) */
  fetchJson?: Fetcher;
}

function embeddedSource(): Source | undefined {
  const el = document.getElementById('leakscope-data');
  if (!el) return undefined;
  const b = bakedData();
  if (b) {
    // an exported run directory: the sample (?p=, ?b=) whose layouts the export carries
    const pb = forwardedParams().map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
    return {
      meta: async () => bakedGet<Meta>(b, `api/meta?${pb}`),
      view: async (si) => bakedGet<ViewData>(b, `api/view?${pb}&si=${encodeURIComponent(si)}`),
    };
  }
  const data = JSON.parse(el.textContent ?? '') as Embedded;
  return {
    meta: async () => data.meta,
    view: async (si) => {
      const v = data.views[si];
      if (!v) throw new Error(`no data for sample type ${si}`);
      return v;
    },
  };
}

function serverSource(): Source {
  const token = new URLSearchParams(location.search).get('token');
  const get = async <T>(path: string): Promise<T> => {
    const u = new URL(path, location.href);
    if (token) u.searchParams.set('token', token);
    for (const [k, v] of forwardedParams()) u.searchParams.set(k, v);
    const r = await fetch(u, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    if (!r.ok) throw new Error(`${path}: ${r.status} ${(await r.text()).trim()}`);
    return (await r.json()) as T;
  };
  return {
    meta: () => get<Meta>('api/meta'),
    view: (si, f) => get<ViewData>(`api/view?${filterQuery(si, f).toString()}`),
    fetchJson: <T>(path: string, q: URLSearchParams) => get<T>(`${path}?${q.toString()}`),
  };
}

function readState(meta: Meta): State {
  const q = new URLSearchParams(location.search);
  const si = q.get('si');
  const f = Number(q.get('f') ?? '0');
  return {
    view: q.get('view') === 'top' ? 'top' : q.get('view') === 'graph' ? 'graph' : 'flame',
    si: si && meta.sampleTypes.some((t) => t.type === si) ? si : meta.sampleType,
    zoom: Number.isInteger(f) && f >= 0 ? f : 0,
    q: q.get('q') ?? '',
    sort: q.get('sort') === 'cum' ? 'cum' : 'flat',
    filters: readFilters(q, meta.filters),
    sel: q.get('sel') ?? '',
    fn: q.get('fn') ?? '',
  };
}

function writeState(s: State): void {
  const q = new URLSearchParams(location.search);
  q.set('view', s.view);
  q.set('si', s.si);
  if (s.zoom > 0) q.set('f', String(s.zoom));
  else q.delete('f');
  if (s.q) q.set('q', s.q);
  else q.delete('q');
  if (s.sort === 'cum') q.set('sort', 'cum');
  else q.delete('sort');
  writeFilters(q, s.filters);
  if (s.sel) q.set('sel', s.sel);
  else q.delete('sel');
  if (s.fn) q.set('fn', s.fn);
  else q.delete('fn');
  try {
    history.replaceState(null, '', `${location.pathname}?${q.toString()}`);
  } catch {
    /* some file:// contexts refuse; the view still works */
  }
}

async function main(): Promise<void> {
  if (await startExtraView()) return;
  const src = embeddedSource() ?? serverSource();
  const status = $('status');
  let meta: Meta;
  try {
    meta = await src.meta();
  } catch (e) {
    status.textContent = (e as Error).message;
    status.className = 'error';
    return;
  }
  const st = readState(meta);
  $('title').textContent = meta.title;
  if (meta.warnings.length > 0) $('warnings').textContent = meta.warnings.join('; ');
  for (const e of meta.errors ?? []) {
    const line = document.createElement('div');
    line.className = 'source-error';
    line.textContent = `not loaded: ${e}`;
    $('source-errors').append(line);
  }
  const select = $<HTMLSelectElement>('sample-type');
  for (const t of meta.sampleTypes) {
    const o = document.createElement('option');
    o.value = t.type;
    o.textContent = `${t.type} (${t.unit})`;
    select.append(o);
  }
  select.value = st.si;
  const searchBox = $<HTMLInputElement>('search');
  searchBox.value = st.q;
  const canvas = $<HTMLCanvasElement>('flame-canvas');
  const tooltip = $('tooltip');
  let data: ViewData | undefined;
  let drawn: Drawn[] = [];
  let searchInfo: { pattern: string; value: number; share: number; error?: string } | undefined;

  /** the table: top's unit, so its cells read as `top` prints them */
  const fmtFor = (d: ViewData) => (v: number) => scaledLabel(v, d.top.unit, d.outputUnit);
  /** the flame graph, status and search: a unit that suits each value */
  const autoFor = (d: ViewData) => (v: number) => scaledLabel(v, d.top.unit, 'auto');

  const api = {
    get view() { return st.view; },
    get sampleType() { return st.si; },
    get total() { return data?.top.total; },
    get zoom() { return st.zoom; },
    get zoomName() { return data ? frameName(data.flame, st.zoom) : undefined; },
    get canvasWidth() { return canvas.clientWidth; },
    get drawn() { return drawn.map((f) => ({ ...f, name: data ? frameName(data.flame, f.i) : '' })); },
    get search() { return searchInfo ? { ...searchInfo } : undefined; },
    get diff() { return meta.diff; },
    get layoutFrames() { return data?.flame.start.length ?? 0; },
    get rootValue() { return data?.flame.width[0]; },
    drawMs: 0,
    ready: false,
    get filters() { return { ...st.filters }; },
    get labels() { return data?.labels; },
    get rows() { return data?.top.rows; },
    pprof: {} as PprofApi,
    error: undefined as string | undefined,
  };
  Object.defineProperty(window, '__leakscope', { value: api, writable: false, configurable: false });

  function renderFlame(): void {
    if (!data) return;
    const l = data.flame;
    if (st.zoom >= l.start.length) st.zoom = 0;
    const t0 = performance.now();
    let re: RegExp | undefined;
    searchInfo = undefined;
    if (st.q) {
      try {
        re = new RegExp(st.q);
        const m = searchMatches(l, re);
        searchInfo = { pattern: st.q, value: m.value, share: m.share };
      } catch (e) {
        searchInfo = { pattern: st.q, value: 0, share: 0, error: (e as Error).message };
      }
    }
    const width = canvas.parentElement!.clientWidth;
    const height = (l.maxDepth + 1) * ROW;
    const dpr = window.devicePixelRatio || 1;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    if (canvas.width !== Math.round(width * dpr)) canvas.width = Math.round(width * dpr);
    if (canvas.height !== Math.round(height * dpr)) canvas.height = Math.round(height * dpr);
    drawn = visibleFrames(l, { zoom: st.zoom, search: re }, width);
    draw(canvas.getContext('2d')!, l, drawn, width, height, dpr);
    api.drawMs = performance.now() - t0; // search, layout transform and drawing
    performance.mark('leakscope:flame-drawn');
    canvas.dataset.zoom = String(st.zoom);
    // breadcrumb: the zoomed frame's ancestors
    const bc = $('breadcrumb');
    bc.textContent = '';
    const chain: number[] = [];
    for (let p = st.zoom; p >= 0; p = l.parent[p]!) chain.unshift(p);
    chain.forEach((f, k) => {
      if (k > 0) bc.append(' › ');
      const a = document.createElement('a');
      a.href = '#';
      a.textContent = frameName(l, f);
      a.onclick = (ev) => {
        ev.preventDefault();
        zoomTo(f);
      };
      bc.append(a);
    });
    const fmt = autoFor(data);
    const out = $('search-result');
    if (!searchInfo) out.textContent = '';
    else if (searchInfo.error) out.textContent = `bad regex: ${searchInfo.error}`;
    else out.textContent = `matched ${fmt(searchInfo.value)} (${(100 * searchInfo.share).toFixed(2)}% of ${fmt(l.width[0]!)})`;
    out.className = searchInfo?.error ? 'error' : '';
  }

  function renderTop(): void {
    if (!data) return;
    const fmt = fmtFor(data);
    const total = data.top.total;
    const rows = data.top.rows.map((r, k) => ({ r, k }));
    if (st.sort === 'cum') rows.sort((a, b) => Math.abs(b.r.cum) - Math.abs(a.r.cum) || a.k - b.k);
    else rows.sort((a, b) => Math.abs(b.r.flat) - Math.abs(a.r.flat) || a.k - b.k);
    const body = $('top-body');
    body.textContent = '';
    let sum = 0;
    for (const { r } of rows) {
      sum += r.flat;
      const tr = document.createElement('tr');
      tr.dataset.flat = String(r.flat);
      tr.dataset.cum = String(r.cum);
      const cells = [fmt(r.flat), percentage(r.flat, total).trim(), percentage(sum, total).trim(), fmt(r.cum), percentage(r.cum, total).trim()];
      for (const c of cells) {
        const td = document.createElement('td');
        td.className = 'num';
        td.textContent = c;
        tr.append(td);
      }
      const name = document.createElement('td');
      name.className = 'name';
      const loc = r.file !== undefined ? ` ${r.file}${r.line ? `:${r.line}` : ''}` : r.line ? `:${r.line}` : '';
      name.textContent = r.name + loc + (r.inline ? ' (inline)' : '');
      const key = r.name + loc;
      name.title = 'open its callers, callees and source';
      tr.dataset.key = key;
      if (key === st.sel) tr.classList.add('selected');
      name.onclick = () => openDetail(key, r.name);

      tr.append(name);
      body.append(tr);
    }
    for (const th of document.querySelectorAll<HTMLElement>('th[data-sort]')) th.classList.toggle('sorted', th.dataset.sort === st.sort);
    $('top-summary').textContent = data.labels.join('\n');
  }

  const graphTab = new GraphTab(src.fetchJson, api.pprof, (name) => applyFilters({ ...st.filters, focus: exactRe(name) }));
  const fillFilters = wireFilterBoxes(st.filters, (f) => applyFilters(f), src.fetchJson !== undefined);
  function applyFilters(f: ViewFilters): void {
    st.filters = f;
    st.zoom = 0;
    fillFilters(f);
    void load(st.si);
  }
  function openDetail(name: string, fn: string): void {
    st.sel = name;
    st.fn = fn;
    writeState(st);
    for (const tr of document.querySelectorAll<HTMLElement>('#top-body tr')) tr.classList.toggle('selected', tr.dataset.key === name);
    void showDetail(src.fetchJson, api.pprof, filterQuery(st.si, st.filters), name, fn, (n) => openDetail(n, n.split(' ')[0]!), data?.flame);
  }
  $('detail-find').onclick = (ev) => {
    ev.preventDefault();
    st.q = exactRe(st.fn || st.sel);
    searchBox.value = st.q;
    setView('flame');
  };
  $('detail-close').onclick = () => {
    st.sel = '';
    st.fn = '';
    $('detail').hidden = true;
    writeState(st);
  };

  function render(): void {
    $('flame-view').hidden = st.view !== 'flame';
    $('top-view').hidden = st.view !== 'top';
    $('graph-view').hidden = st.view !== 'graph';
    if (st.view === 'graph') void graphTab.show(filterQuery(st.si, st.filters), st.filters.focus);
    for (const b of document.querySelectorAll<HTMLElement>('nav button[data-view]')) b.classList.toggle('active', b.dataset.view === st.view);
    if (data) {
      const l: FlameLayout = data.flame;
      const fmt = autoFor(data);
      status.className = '';
      status.textContent = meta.diff
        ? `${data.top.sampleType}: base ${fmt(l.baseTotal ?? 0)} → new ${fmt(l.newTotal ?? 0)} (red grew, green shrank)`
        : l.width[0] !== undefined && l.width[0] !== data.top.total
          ? `${data.top.sampleType}: showing ${fmt(l.width[0])} of ${fmt(data.top.total)} total` // filters active, as top's "Showing nodes accounting for"
          : `${data.top.sampleType}: total ${fmt(data.top.total)}`;
    }
    if (st.view === 'flame') renderFlame();
    else if (st.view === 'top') renderTop();
    writeState(st);
  }

  function setView(v: View): void {
    st.view = v;
    render();
  }
  function zoomTo(f: number): void {
    st.zoom = f;
    render();
  }
  let detailOpened = false;
  async function load(si: string): Promise<void> {
    status.textContent = 'loading…';
    api.ready = false;
    try {
      data = await src.view(si, st.filters);
    } catch (e) {
      status.textContent = (e as Error).message;
      status.className = 'error';
      api.error = (e as Error).message;
      api.ready = true;
      return;
    }
    api.error = undefined;
    $('warnings').textContent = (data.warnings ?? meta.warnings).join('; ');
    st.si = si;
    render();
    if (st.sel && !detailOpened) {
      detailOpened = true;
      openDetail(st.sel, st.fn || st.sel.split(' ')[0]!);
    } else if (st.sel && !$('detail').hidden) openDetail(st.sel, st.fn);
    api.ready = true;
  }

  for (const b of document.querySelectorAll<HTMLElement>('nav button[data-view]')) b.onclick = () => setView(b.dataset.view as View);
  for (const th of document.querySelectorAll<HTMLElement>('th[data-sort]')) {
    th.onclick = () => {
      st.sort = th.dataset.sort === 'cum' ? 'cum' : 'flat';
      render();
    };
  }
  select.onchange = () => {
    st.zoom = 0;
    void load(select.value);
  };
  let searchTimer: number | undefined;
  searchBox.oninput = () => {
    clearTimeout(searchTimer);
    searchTimer = window.setTimeout(() => {
      st.q = searchBox.value;
      render();
    }, 80);
  };
  searchBox.onkeydown = (e) => {
    if (e.key === 'Enter') {
      clearTimeout(searchTimer);
      st.q = searchBox.value;
      render();
    }
  };
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || !data) return;
    if (document.activeElement === searchBox && searchBox.value !== '') {
      searchBox.value = '';
      st.q = '';
      render();
      return;
    }
    if (st.zoom > 0) zoomTo(Math.max(0, data.flame.parent[st.zoom]!));
  });
  const pos = (e: MouseEvent) => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top] as const;
  };
  canvas.onclick = (e) => {
    const [x, y] = pos(e);
    const f = hitTest(drawn, x, y);
    if (f) zoomTo(f.i);
  };
  canvas.onmousemove = (e) => {
    if (!data) return;
    const [x, y] = pos(e);
    const f = hitTest(drawn, x, y);
    if (!f) {
      tooltip.hidden = true;
      return;
    }
    const l = data.flame;
    const fmt = autoFor(data);
    const pct = (v: number) => percentage(v, l.total).trim();
    const lines = [frameName(l, f.i)];
    const file = l.name[f.i]! >= 0 ? l.files[l.name[f.i]!] : '';
    if (file) lines.push(file);
    if (l.base) {
      const b = l.base[f.i]!;
      const n = l.next![f.i]!;
      lines.push(`base ${fmt(b)} → new ${fmt(n)}`, `change ${n - b >= 0 ? '+' : ''}${fmt(n - b)} (${pct(n - b)} of the base total)`);
    } else {
      lines.push(`flat ${fmt(l.self[f.i]!)} (${pct(l.self[f.i]!)})`, `cum ${fmt(l.width[f.i]!)} (${pct(l.width[f.i]!)})`);
    }
    tooltip.textContent = lines.join('\n');
    tooltip.hidden = false;
    const pr = canvas.parentElement!.getBoundingClientRect();
    const tx = Math.min(e.clientX - pr.left + 14, pr.width - tooltip.offsetWidth - 4);
    tooltip.style.left = `${Math.max(0, tx)}px`;
    tooltip.style.top = `${e.clientY - pr.top + 16}px`;
  };
  canvas.onmouseleave = () => (tooltip.hidden = true);
  window.addEventListener('resize', () => {
    if (st.view === 'flame') renderFlame();
  });
  await load(st.si);
}

void main();
