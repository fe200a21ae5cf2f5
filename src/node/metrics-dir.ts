/**
 * The metrics a `watch --profiles …,metrics` run keeps: every scrape of the target's
 * `/debug/pprof/metrics` as `metrics-NNNN.prom` (the text as served) and `metrics.jsonl`, one line
 * per scrape (time and file, or a failed scrape with its error). Written atomically like the rest
 * of the run directory; `analyze` and the heap-over-time view never read them. Loading tolerates
 * what a crash or a hand edit can leave: a line that is not JSON, a file missing or torn (skipped,
 * each named once in `errors`).
 */
import { readFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { LeakscopeError } from '../core/errors.js';
import { parsePromText } from '../core/gc-prom.js';
import { gcScrape, GC_METRIC, type GcScrape } from '../core/gc.js';
import { writeAtomic } from './run-dir.js';
import { fetchBytes } from './source.js';

export const METRICS_INDEX = 'metrics.jsonl';
/** the most one scrape may weigh, fetched or read back (the agent's is a few kB) */
export const MAX_SCRAPE_BYTES = 16 * 1024 * 1024;

export interface MetricsEntry {
  seq: number;
  time: string;
  timeMs: number;
  file?: string;
  gap?: boolean;
  error?: string;
}

export class MetricsLog {
  private n = 0;
  private lines: string[] = [];
  constructor(readonly dir: string) {}

  /** Saves one scrape (or its failure) and rewrites metrics.jsonl atomically. */
  async record(timeMs: number, r: { text: string } | { error: string }): Promise<void> {
    this.n++;
    const e: MetricsEntry = { seq: this.n, time: new Date(timeMs).toISOString(), timeMs };
    if ('text' in r) {
      e.file = `metrics-${String(this.n).padStart(4, '0')}.prom`;
      await writeAtomic(join(this.dir, e.file), r.text);
    } else {
      e.gap = true;
      e.error = r.error;
    }
    this.lines.push(JSON.stringify(e));
    await writeAtomic(join(this.dir, METRICS_INDEX), this.lines.join('\n') + '\n');
  }
}

/** metrics.jsonl's size and time, to tell whether it changed */
export function metricsStamp(dir: string): string | undefined {
  try {
    const s = statSync(join(dir, METRICS_INDEX));
    return `${s.mtimeMs}:${s.size}`;
  } catch {
    return undefined;
  }
}

export interface LoadedMetrics {
  scrapes: GcScrape[];
  gaps: { timeMs: number; error: string }[];
  /** lines or files skipped, one line each */
  errors: string[];
}

/**
 * Reads a run directory's scrapes (none when it has no metrics.jsonl). `cache` keeps parsed
 * scrapes by file name across calls (a live view re-reads only new files).
 */
/** what a loaded scrape file was: its scrape (null: a repeat of the one before) and its text's key */
export interface CachedScrape {
  scrape: GcScrape | null;
  key: string;
}

/** a text's key: its length and FNV-1a hash (telling a repeated answer without keeping its text) */
function textKey(t: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193);
  return `${t.length}:${(h >>> 0).toString(16)}`;
}

export async function loadMetricsDir(dir: string, cache: Map<string, CachedScrape> = new Map()): Promise<LoadedMetrics> {
  let text: string;
  try {
    text = await readFile(join(dir, METRICS_INDEX), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { scrapes: [], gaps: [], errors: [] };
    throw new LeakscopeError('E_IO', `${join(dir, METRICS_INDEX)}: ${(e as Error).message}`);
  }
  const scrapes: GcScrape[] = [];
  const gaps: LoadedMetrics['gaps'] = [];
  /** the previous kept scrape's text: the agent answers scrapes within a second of one collection
   * with that collection, so a repeat is not a new measurement (dropped, not timed again) */
  let previous = '';
  const keep = (file: string, c: CachedScrape): void => {
    cache.set(file, c);
    previous = c.key;
    if (c.scrape) scrapes.push(c.scrape);
  };
  const errors: string[] = [];
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line.trim() === '') continue;
    let e: MetricsEntry;
    try {
      e = JSON.parse(line) as MetricsEntry;
      if (typeof e !== 'object' || e === null || !Number.isFinite(e.timeMs)) throw new Error('no time');
    } catch {
      errors.push(`${METRICS_INDEX}:${lineNo}: not a metrics line (skipped)`);
      continue;
    }
    if (e.gap || typeof e.file !== 'string') {
      gaps.push({ timeMs: e.timeMs, error: typeof e.error === 'string' ? e.error : 'scrape failed' });
      continue;
    }
    if (!/^[\w.-]+$/.test(e.file)) {
      errors.push(`${METRICS_INDEX}:${lineNo}: bad file name (skipped)`);
      continue;
    }
    const hit = cache.get(e.file);
    if (hit) keep(e.file, hit);
    else {
      let body: string;
      try {
        const size = statSync(join(dir, e.file)).size;
        if (size > MAX_SCRAPE_BYTES) {
          errors.push(`${e.file}: ${size} bytes, more than a scrape may hold (${MAX_SCRAPE_BYTES}; skipped)`);
          continue;
        }
        body = await readFile(join(dir, e.file), 'utf8');
      } catch (err) {
        errors.push(`${e.file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; skipped)`);
        continue;
      }
      if (!body.endsWith('\n')) {
        // the exposition format ends every line with a newline: this file was cut short
        errors.push(`${e.file}: torn (it ends mid-line; skipped)`);
        continue;
      }
      const key = textKey(body);
      if (key === previous) {
        keep(e.file, { scrape: null, key });
        continue;
      }
      const parsed = parsePromText(body);
      if (!parsed.families.has(GC_METRIC) && !parsed.families.has('nodejs_heap_space_size_used_bytes')) {
        errors.push(`${e.file}: no GC or heap-space metrics in it${parsed.badLines > 0 ? ` (${parsed.badLines} lines unreadable, first: ${parsed.firstBad})` : ''} (skipped)`);
        continue;
      }
      keep(e.file, { scrape: gcScrape(e.timeMs, parsed), key });
    }
  }
  scrapes.sort((a, b) => a.timeMs - b.timeMs);
  return { scrapes, gaps, errors };
}

/** `--profiles` with `metrics` in it: the profile kinds alone, and whether metrics were asked for. */
export function splitMetrics(profiles: string | undefined): { profiles: string | undefined; metrics: boolean } {
  if (profiles === undefined) return { profiles, metrics: false };
  const parts = profiles.split(',').map((s) => s.trim()).filter(Boolean);
  const rest = parts.filter((p) => p !== 'metrics');
  if (rest.length === parts.length) return { profiles, metrics: false };
  if (rest.length === 0) throw new LeakscopeError('E_USAGE', '--profiles metrics needs a profile to watch beside it (e.g. heap,async,metrics)');
  return { profiles: rest.join(','), metrics: true };
}

/**
 * One scrape of the target's metrics (`<pprof base>/metrics`, the agent's Prometheus text) kept in
 * the run directory; a failure is kept as a failed scrape (it never stops the watch).
 */
export async function scrapeInto(log: MetricsLog, base: string, o: { token?: string; timeoutMs: number; maxBytes?: number; signal: AbortSignal }): Promise<void> {
  try {
    const bytes = await fetchBytes(`${base}/metrics`, { token: o.token, timeoutMs: o.timeoutMs, maxBytes: Math.min(o.maxBytes ?? MAX_SCRAPE_BYTES, MAX_SCRAPE_BYTES), signal: o.signal });
    // the time the answer came: the agent computes it when its main thread is free (after a
    // GC that was running), so the answer's end is nearer the values' time than the request's start
    await log.record(Date.now(), { text: Buffer.from(bytes).toString('utf8') });
  } catch (e) {
    if (o.signal.aborted) return;
    await log.record(Date.now(), { error: (e as Error).message });
  }
}
