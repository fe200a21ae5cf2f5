/** What the server (or an exported page) hands the browser. Shapes only; the numbers come from report/. */
import type { FlameLayout } from '../report/flame.js';

/** exactly `leakscope top --json`'s output */
export interface TopJson {
  sampleType: string;
  unit: string;
  total: number;
  rows: { name: string; file?: string; line?: number; inline: boolean; flat: number; cum: number }[];
}

/** one sample type's views */
export interface ViewData {
  top: TopJson;
  /** the unit `top`'s text output picks (pprof's minimum unit rule) */
  outputUnit: string;
  /** top's header lines (File, Type, Showing nodes …) */
  labels: string[];
  /** the preparation's warnings ("Focus expression matched no samples", …) */
  warnings?: string[];
  flame: FlameLayout;
}

export interface Meta {
  title: string;
  sampleTypes: { type: string; unit: string }[];
  /** the sample type the command line chose */
  sampleType: string;
  diff: boolean;
  warnings: string[];
  /** sources that failed to load (the page was built from the rest), one line each */
  errors?: string[];
  /** the command line's filters and granularity (the page's initial state) */
  filters?: ViewFilters;
}

/** an exported page carries everything: every sample type's views */
export interface Embedded {
  meta: Meta;
  views: Record<string, ViewData>;
}

/** the filter boxes and the granularity switch (query parameters focus, ignore, hide, show, g) */
export interface ViewFilters {
  focus: string;
  ignore: string;
  hide: string;
  show: string;
  g: string;
}

/** the call graph of `leakscope graph` (api/graph) */
export interface GraphData {
  dot: string;
  /** graphviz's SVG of `dot`, when graphviz is installed */
  svg?: string;
  /** why there is no SVG (graphviz missing, dot failed) */
  svgError?: string;
  /** node N<id> of the DOT text / id="node<id>" in the SVG */
  nodes: { id: number; name: string; flat: number; cum: number }[];
  unit: string;
  total: number;
}

/** one function's callers and callees as `peek --json` reports them (api/sandwich) */
export interface SandwichData {
  name: string;
  unit: string;
  total: number;
  nodes: { name: string; flat: number; cum: number; callers: { name: string; weight: number; inline: boolean }[]; callees: { name: string; weight: number; inline: boolean }[] }[];
}

/** `list`'s output for one function (api/source) */
export interface SourceData {
  name: string;
  unit: string;
  total: number;
  text: string;
  functions: { name: string; file: string; flat: number; cum: number; lines: { line: number; flat: number; cum: number; text?: string }[]; sourceFound: boolean }[];
}

/**
 * An exported run directory or snapshot series (`web --export`): the page's API answers baked in,
 * by request (routeKey), so the same views run from file:// with no server. A request the export
 * does not hold (a sample left out to bound the size) is answered with `missing`'s message.
 */
export interface Baked {
  baked: true;
  routes: Record<string, unknown>;
  /** why a request may not be in the export */
  missing: string;
}

/** A request's key in Baked.routes: its path (no leading ./ or /) and its parameters sorted, the
 * token and the polling version (`known`) left out. */
export function routeKey(path: string): string {
  const q = path.indexOf('?');
  const p = (q < 0 ? path : path.slice(0, q)).replace(/^\.?\/+/, '');
  const params = new URLSearchParams(q < 0 ? '' : path.slice(q + 1));
  const kept = [...params].filter(([k]) => k !== 'token' && k !== 'known').sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return kept.length === 0 ? p : `${p}?${new URLSearchParams(kept).toString()}`;
}
