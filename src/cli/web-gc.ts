/**
 * The GC view's server side: `leakscope web http://host:port` (a Node agent, or any service whose
 * metrics carry prom-client's `nodejs_gc_duration_seconds`) scrapes its metrics every interval and
 * keeps the scrapes in memory (bounded); `leakscope web <run-dir>` and `watch --http` read the
 * scrapes a `watch --profiles …,metrics` run kept. Either way `/api/gc?known=V` answers the
 * charts' data (report/gc.ts), or `{"unchanged":true}` when nothing arrived since version V.
 */
import { basename } from 'node:path';
import { LeakscopeError } from '../core/errors.js';
import { parsePromText } from '../core/gc-prom.js';
import { gcData, gcScrape, GC_METRIC, type GcScrape } from '../core/gc.js';
import { loadMetricsDir, MAX_SCRAPE_BYTES, metricsStamp, type CachedScrape } from '../node/metrics-dir.js';
import { fetchBytes } from '../node/source.js';
import { gcView, type GcViewData } from '../report/gc.js';
import type { CliIO } from './io.js';
import type { RouteResult, UiRoute } from './web-server.js';

/** scrapes a live view keeps (an hour at the default 2s) */
export const MAX_SCRAPES = 1800;

/**
 * A source that names a service rather than a profile: `http://host:port`, `…/debug/pprof[/]`
 * or a metrics URL (`…/metrics`). Those open the GC view.
 */
export function isMetricsSource(source: string): boolean {
  let u: URL;
  try {
    u = new URL(source);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  const path = u.pathname.replace(/\/+$/, '');
  return path === '' || path === '/debug/pprof' || /\/metrics$/.test(path);
}

/** the metrics URL of such a source (the agent's is /debug/pprof/metrics) */
export function metricsUrlOf(source: string): string {
  const u = new URL(source);
  const path = u.pathname.replace(/\/+$/, '');
  if (!/\/metrics$/.test(path)) u.pathname = `${path === '' ? '/debug/pprof' : path}/metrics`;
  u.hash = '';
  return u.toString();
}

function answer(v: GcViewData, url: URL): RouteResult {
  const known = Number(url.searchParams.get('known') ?? '-1');
  if (known === v.version) return { body: `{"version":${v.version},"unchanged":true}` };
  return { body: JSON.stringify(v) };
}

/** Scrapes a live service's metrics every `intervalMs`; the page polls /api/gc. */
export class LiveGc {
  readonly url: string;
  private readonly scrapes: GcScrape[] = [];
  private readonly gaps: { timeMs: number; error: string }[] = [];
  private version = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastError = '';
  private lastText = '';
  private cached: GcViewData | undefined;
  private stopped = false;

  constructor(
    source: string,
    private readonly o: { intervalMs: number; token?: string; io: CliIO; now?: () => number },
  ) {
    this.url = metricsUrlOf(source);
  }

  /** One scrape now; resolves once it is kept (or its failure is). */
  async scrape(): Promise<void> {
    const now = this.o.now ?? Date.now;
    let t = now();
    let error: string | undefined;
    try {
      const bytes = await fetchBytes(this.url, { token: this.o.token, timeoutMs: Math.min(10_000, Math.max(2000, 2 * this.o.intervalMs)), maxBytes: MAX_SCRAPE_BYTES });
      t = now(); // when the answer came (the agent computes it once its main thread is free)
      const text = Buffer.from(bytes).toString('utf8');
      const parsed = parsePromText(text);
      if (!parsed.families.has(GC_METRIC) && !parsed.families.has('nodejs_heap_space_size_used_bytes')) {
        error = `${this.url}: no GC metrics (${GC_METRIC}) in the answer — is it the leakscope agent or a prom-client /metrics?`;
      } else if (text === this.lastText) {
        // the agent answers scrapes within a second of one collection with that collection: not a new measurement
        return;
      } else {
        this.lastText = text;
        this.scrapes.push(gcScrape(t, parsed));
        if (this.scrapes.length > MAX_SCRAPES) this.scrapes.splice(0, this.scrapes.length - MAX_SCRAPES);
        if (this.lastError) this.o.io.stderr(`leakscope web: ${this.url} answers again\n`);
        this.lastError = '';
      }
    } catch (e) {
      error = e instanceof LeakscopeError ? e.message : `${this.url}: ${(e as Error).message}`;
    }
    if (error !== undefined) {
      this.gaps.push({ timeMs: t, error });
      if (this.gaps.length > MAX_SCRAPES) this.gaps.splice(0, this.gaps.length - MAX_SCRAPES);
      // one line per change of trouble, not one per interval
      if (error !== this.lastError) this.o.io.stderr(`leakscope web: ${error}\n`);
      this.lastError = error;
    }
    this.version++;
    this.cached = undefined;
  }

  start(): Promise<void> {
    const first = this.scrape();
    const loop = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.scrape().then(loop), this.o.intervalMs);
      this.timer.unref();
    };
    void first.then(loop);
    return first;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  view(): GcViewData {
    this.cached ??= gcView(gcData(this.scrapes), {
      title: new URL(this.url).host,
      source: this.url,
      live: true,
      gaps: this.gaps.slice(),
      errors: this.lastError ? [this.lastError] : [],
      version: this.version,
    });
    return this.cached;
  }

  readonly route: UiRoute = (url: URL): RouteResult | undefined => (url.pathname === '/api/gc' ? answer(this.view(), url) : undefined);
}

/** The scrapes a watch run kept (metrics.jsonl), re-read when it changes. */
export class RunDirGc {
  private readonly cache = new Map<string, CachedScrape>();
  private stamp: string | undefined = 'unread';
  private version = 0;
  private current: Promise<GcViewData | undefined> | undefined;
  private readonly reported = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly io: CliIO,
    private readonly live: boolean,
  ) {}

  /** the view, or undefined when the run kept no metrics */
  view(): Promise<GcViewData | undefined> {
    const stamp = metricsStamp(this.dir);
    if (this.current && stamp === this.stamp) return this.current;
    this.stamp = stamp;
    this.version++;
    const version = this.version;
    const p = stamp === undefined ? Promise.resolve(undefined) : this.load(version);
    p.catch(() => {
      if (this.current === p) this.stamp = 'unread';
    });
    this.current = p;
    return p;
  }

  private async load(version: number): Promise<GcViewData> {
    const m = await loadMetricsDir(this.dir, this.cache);
    for (const e of m.errors) {
      if (this.reported.has(e)) continue;
      this.reported.add(e);
      this.io.stderr(`leakscope web: ${this.dir}/${e}\n`);
    }
    // every scrape failed (a Go target has no /debug/pprof/metrics): say why, once
    const errors = m.scrapes.length === 0 && m.gaps.length > 0 ? [...m.errors, `no metrics scraped: ${m.gaps[m.gaps.length - 1]!.error}`] : m.errors;
    return gcView(gcData(m.scrapes), { title: basename(this.dir), source: this.dir, live: this.live, gaps: m.gaps, errors, version });
  }

  readonly route: UiRoute = async (url: URL): Promise<RouteResult | undefined> => {
    if (url.pathname !== '/api/gc') return undefined;
    const v = await this.view();
    // none (yet): a live run may still write its first scrape, so the page keeps asking
    if (!v) return { body: `{"none":true,"version":0,"live":${this.live}}` };
    return answer(v, url);
  };
}

/** Both routes: the GC's, then the other view's. */
export function withGc(gc: UiRoute, rest: UiRoute): UiRoute {
  return async (url) => (url.pathname === '/api/gc' ? gc(url) : rest(url));
}
