/**
 * The pprof views around the flame graph and the table: the filter boxes and the granularity
 * switch (they re-run top's preparation on the server; the state lives in the URL), the call
 * graph, and the detail pane of a table row (sandwich and source). main.ts wires them in.
 */
import { GraphView } from './graph-view.js';
import type { FlameLayout } from '../report/flame.js';
import { renderSandwich, renderSandwichTrees } from './sandwich-view.js';
import { renderSource } from './source-view.js';
import type { GraphData, SandwichData, SourceData, ViewFilters } from './types.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
export const FILTER_KEYS = ['focus', 'ignore', 'hide', 'show'] as const;
export const GRANULARITIES = ['functions', 'filefunctions', 'files', 'lines', 'addresses'];

/** the filters from the URL, else the command line's */
export function readFilters(q: URLSearchParams, initial: ViewFilters | undefined): ViewFilters {
  const f: ViewFilters = { focus: '', ignore: '', hide: '', show: '', g: 'functions', ...initial };
  for (const k of FILTER_KEYS) {
    const v = q.get(k);
    if (v !== null) f[k] = v;
  }
  const g = q.get('g');
  if (g && GRANULARITIES.includes(g)) f.g = g;
  return f;
}

export function writeFilters(q: URLSearchParams, f: ViewFilters): void {
  for (const k of FILTER_KEYS) q.set(k, f[k]);
  q.set('g', f.g);
}

/** the query the server reads (si plus the filters) */
export function filterQuery(si: string, f: ViewFilters): URLSearchParams {
  const q = new URLSearchParams({ si });
  writeFilters(q, f);
  return q;
}

/** Fills the boxes and calls `apply` with the new filters on Enter (or a change of granularity). */
export function wireFilterBoxes(f: ViewFilters, apply: (f: ViewFilters) => void, enabled: boolean): (f: ViewFilters) => void {
  const boxes = FILTER_KEYS.map((k) => [k, $<HTMLInputElement>(`filter-${k}`)] as const);
  const gran = $<HTMLSelectElement>('granularity');
  const fill = (v: ViewFilters) => {
    for (const [k, el] of boxes) el.value = v[k];
    gran.value = v.g;
  };
  fill(f);
  const read = (): ViewFilters => {
    const r = { ...f, g: gran.value };
    for (const [k, el] of boxes) r[k] = el.value.trim();
    return r;
  };
  for (const [, el] of boxes) {
    el.disabled = !enabled;
    el.onkeydown = (e) => {
      if (e.key === 'Enter') apply(read());
    };
    el.onchange = () => apply(read());
  }
  gran.disabled = !enabled;
  gran.onchange = () => apply(read());
  if (!enabled) $('filters').title = 'an exported page has one preparation: run leakscope web to change filters';
  return fill;
}

/** exact-name regex for a focus box */
export const exactRe = (s: string) => `^${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;

export interface Fetcher {
  <T>(path: string, q: URLSearchParams): Promise<T>;
}

export interface PprofApi {
  graph?: { nodes: string[]; viewBox: number[]; redrawMs: number; ready: boolean; error?: string };
  sandwich?: SandwichData;
  source?: SourceData;
  detailError?: string;
}

/** The call graph tab: loads api/graph for the current filters and shows it. */
export class GraphTab {
  private readonly view: GraphView;
  private key = '';
  constructor(
    private readonly fetchJson: Fetcher | undefined,
    private readonly api: PprofApi,
    onNode: (name: string) => void,
  ) {
    this.view = new GraphView($('graph-host'), $('graph-message'), onNode);
  }
  async show(q: URLSearchParams, selected: string): Promise<void> {
    const key = q.toString();
    if (key === this.key) return;
    this.key = key;
    const msg = $('graph-message');
    this.api.graph = { nodes: [], viewBox: [], redrawMs: 0, ready: false };
    if (!this.fetchJson) {
      msg.textContent = 'the call graph is drawn by the server: run leakscope web (an exported page has no call graph)';
      msg.className = 'error';
      this.api.graph.ready = true;
      return;
    }
    msg.textContent = 'drawing the call graph…';
    msg.className = '';
    try {
      const d = await this.fetchJson<GraphData>('api/graph', q);
      if (this.key !== key) return;
      let re: RegExp | undefined;
      try {
        re = selected ? new RegExp(selected) : undefined;
      } catch {
        re = undefined;
      }
      this.view.show(d, re);
      this.api.graph = Object.assign(this.view.api, { ready: true }) as PprofApi['graph'];
      if (d.svgError) this.api.graph!.error = d.svgError;
    } catch (e) {
      if (this.key !== key) return;
      $('graph-host').textContent = '';
      msg.textContent = (e as Error).message;
      msg.className = 'error';
      this.api.graph = { nodes: [], viewBox: [], redrawMs: 0, ready: true, error: (e as Error).message };
    }
  }
}

/** The detail pane of a table row: its sandwich and its source. */
export async function showDetail(fetchJson: Fetcher | undefined, api: PprofApi, q: URLSearchParams, name: string, fn: string, onPick: (name: string) => void, layout?: FlameLayout): Promise<void> {
  const pane = $('detail');
  pane.hidden = false;
  $('detail-title').textContent = name;
  const sw = $('sandwich');
  const src = $('source');
  api.sandwich = undefined;
  api.source = undefined;
  api.detailError = undefined;
  if (!fetchJson) {
    // an exported page: the step-by-step trees from the flame graph's layout (no peek numbers, no source)
    sw.textContent = '';
    sw.className = '';
    if (layout) renderSandwichTrees(sw, layout, fn, layout.unit);
    else sw.textContent = 'callers and callees come from the server: run leakscope web';
    src.textContent = 'the source comes from the server: run leakscope web';
    return;
  }
  sw.textContent = 'loading…';
  src.textContent = '';
  const sq = new URLSearchParams(q);
  sq.set('name', name);
  const lq = new URLSearchParams(q);
  lq.set('fn', fn);
  const [a, b] = await Promise.allSettled([fetchJson<SandwichData>('api/sandwich', sq), fetchJson<SourceData>('api/source', lq)]);
  if ($('detail-title').textContent !== name) return; // another row was clicked meanwhile
  if (a.status === 'fulfilled') {
    renderSandwich(sw, a.value, onPick);
    if (layout) renderSandwichTrees(sw, layout, fn, a.value.unit);
    api.sandwich = a.value;
  } else {
    sw.textContent = (a.reason as Error).message;
    sw.className = 'error';
    api.detailError = (a.reason as Error).message;
  }
  if (b.status === 'fulfilled') {
    renderSource(src, b.value);
    api.source = b.value;
  } else {
    src.textContent = `source: ${(b.reason as Error).message}`;
  }
  sw.classList.toggle('error', a.status !== 'fulfilled');
}
