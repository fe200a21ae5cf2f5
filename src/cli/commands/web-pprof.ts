/**
 * The pprof side of `leakscope web` beyond the flame graph and the table: the filter boxes and the
 * granularity switch (query parameters that re-run top's preparation), the call graph
 * (report/callgraph.ts, drawn by graphviz's dot when installed), a function's sandwich (the
 * callers and callees `peek` reports, report/tree.ts) and its source (`list`, report/list.ts),
 * tolerant loading of several sources (one that fails is reported, the rest served) and --open.
 * A thin shell: every number comes from the report functions the CLI commands use.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { mergeProfiles } from '../../core/algebra.js';
import { LeakscopeError } from '../../core/errors.js';
import type { Profile } from '../../core/profile.js';
import { loadProfile, type FetchOptions } from '../../node/source.js';
import { callGraph, renderDot } from '../../report/callgraph.js';
import { listReport } from '../../report/list.js';
import { checkGranularity, prepareReport, type ReportOptions } from '../../report/prepare.js';
import { treeReport } from '../../report/tree.js';
import type { GraphData, SandwichData, SourceData, ViewFilters } from '../../ui/types.js';
import { dotToSvg } from './graph.js';
import { sourceReader } from './list.js';

/** The query parameters that carry the page's filter boxes and granularity switch. */
export const FILTER_PARAMS = ['focus', 'ignore', 'hide', 'show', 'g'] as const;

/** The command line's filters, as the page's initial state. */
export function initialFilters(o: ReportOptions): ViewFilters {
  return { focus: o.focus ?? '', ignore: o.ignore ?? '', hide: o.hide ?? '', show: o.show ?? '', g: o.granularity ?? 'functions' };
}

/**
 * The report options of one request: the command line's, with each filter the query names replacing
 * it (an empty value clears it), so that `top --focus X` and the page's focus box X prepare alike.
 */
export function optionsFromQuery(o: ReportOptions, q: URLSearchParams): ReportOptions {
  const r: ReportOptions = { ...o };
  for (const k of ['focus', 'ignore', 'hide', 'show'] as const) {
    const v = q.get(k);
    if (v === null) continue;
    if (v === '') delete r[k];
    else r[k] = v.slice(0, 2000);
  }
  const g = q.get('g');
  if (g !== null && g !== '') r.granularity = checkGranularity(g);
  const si = q.get('si');
  if (si !== null && si !== '') r.sampleIndex = si;
  return r;
}

/** A cache key for a request's data: its path and the parameters that change the numbers. */
export function cacheKey(path: string, q: URLSearchParams, extra: string[] = []): string {
  return [path, q.get('si') ?? '', ...FILTER_PARAMS.map((k) => `${k}=${q.get(k) ?? '\u0000'}`), ...extra.map((k) => q.get(k) ?? '')].join('\u0001');
}

/** A small bounded cache (oldest entry evicted), so a page clicking through filters cannot grow the server without bound. */
export class SmallCache<T> {
  private readonly m = new Map<string, T>();
  constructor(private readonly max: number) {}
  get(k: string): T | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: string, v: T): void {
    this.m.delete(k);
    this.m.set(k, v);
    while (this.m.size > this.max) this.m.delete(this.m.keys().next().value!);
  }
}

/**
 * Loads and merges sources as `top` does, but a source that fails (unreadable file, URL that times
 * out) is reported in `errors` instead of failing the whole page; only when none loads is it an error.
 */
export async function loadMergedTolerant(sources: string[], fetch: FetchOptions, errors: string[]): Promise<Profile> {
  const rs = await Promise.allSettled(sources.map((s) => loadProfile(s, fetch)));
  const ok: Profile[] = [];
  let first: unknown;
  rs.forEach((r, k) => {
    if (r.status === 'fulfilled') ok.push(r.value);
    else {
      first ??= r.reason;
      const msg = r.reason instanceof LeakscopeError ? r.reason.message : String((r.reason as Error)?.message ?? r.reason);
      errors.push(msg.includes(sources[k]!) ? msg : `${sources[k]}: ${msg}`);
    }
  });
  if (ok.length === 0) throw first;
  return ok.length === 1 ? ok[0]! : mergeProfiles(ok);
}

const exactName = (name: string) => new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

/** The call graph of `leakscope graph` (same options), its DOT text and, when graphviz is there, its SVG. */
export async function graphData(p: Profile, o: ReportOptions): Promise<GraphData> {
  const prep = prepareReport(p, o);
  const cg = callGraph(prep, o);
  const dot = renderDot(cg);
  const nodes = cg.nodes.map((n) => ({ id: n.id, name: n.name, flat: n.flat, cum: n.cum }));
  try {
    return { dot, svg: await dotToSvg(dot, 60_000), nodes, unit: cg.unit, total: cg.total };
  } catch (e) {
    const msg = e instanceof LeakscopeError ? e.message : String(e);
    const svgError = /needs graphviz/.test(msg) ? "drawing the call graph needs graphviz's dot on PATH (Debian: apt-get install graphviz)" : msg;
    return { dot, svgError, nodes, unit: cg.unit, total: cg.total };
  }
}

/** One function's callers and callees with peek's numbers (report/tree.ts, untrimmed). */
export function sandwichData(p: Profile, o: ReportOptions, name: string): SandwichData {
  const prep = prepareReport(p, o);
  const r = treeReport(prep, o, exactName(name));
  return { name, unit: prep.sampleUnit, total: prep.total, nodes: r.nodes };
}

/** `list`'s output for one function: per-line flat/cum and the file's lines when --source-path finds them. */
export function sourceData(p: Profile, o: ReportOptions, fn: string): SourceData {
  const prep = prepareReport(p, o);
  const r = listReport(prep, o, exactName(fn), sourceReader(o.sourcePath, o.trimPath));
  return { name: fn, unit: prep.sampleUnit, total: prep.total, text: r.text, functions: r.functions };
}

function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return undefined;
}

/** --open: xdg-open (or open on macOS), else chromium/chrome/firefox; a line on stderr when none is found. */
export function openBrowser(url: string, stderr: (s: string) => void): void {
  const candidates = process.platform === 'darwin' ? ['open'] : ['xdg-open', 'chromium', 'chromium-browser', 'google-chrome', 'firefox'];
  for (const c of candidates) {
    const bin = onPath(c);
    if (!bin) continue;
    try {
      const child = spawn(bin, [url], { stdio: 'ignore', detached: true });
      child.on('error', (e) => stderr(`leakscope web: could not open a browser (${c}: ${e.message}); open ${url}\n`));
      child.unref();
      stderr(`leakscope web: opened ${url} with ${c}\n`);
      return;
    } catch (e) {
      stderr(`leakscope web: could not open a browser (${c}: ${(e as Error).message}); open ${url}\n`);
      return;
    }
  }
  stderr(`leakscope web: --open found no browser (${candidates.join(', ')}); open ${url} yourself\n`);
}
