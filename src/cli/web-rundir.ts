/**
 * Heap over time in a browser: the routes behind `leakscope web <run-dir>` and `leakscope watch
 * --http`. The run directory is re-read whenever its index changes (only new profiles are parsed),
 * analysed as `leakscope analyze` does, and turned into chart data by report/timeline.ts. A
 * profile's flame graph (`?p=FILE`) and a segment's diff (`?p=LAST&b=FIRST`) reuse `web`'s views.
 * A profile that cannot be read is skipped: one line on stderr, one line in the page.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { LeakscopeError } from '../core/errors.js';
import { analyzeLeaks } from '../core/leak/analyze.js';
import type { LeakKind, ProfileSummary, SiteInfo } from '../core/leak/summary.js';
import { DEFAULT_MIN_SAMPLES, type Sensitivity } from '../core/leak/verdict.js';
import { loadRunDir } from '../node/run-dir.js';
import type { ReportMeta, SnapshotLeakGroup } from '../report/watch.js';
import { timelineData, timelineFromIndex, type TimelineData, type TimelineEntry } from '../report/timeline.js';
import { reportOptionsFrom } from './report-flags.js';
import { loadInputs, metaOf, viewJson, type Inputs } from './commands/web.js';
import type { CliIO } from './io.js';
import type { RouteResult, UiRoute } from './web-server.js';

/** a watch run directory: index.jsonl (and run.json) */
export function isRunDir(path: string): boolean {
  try {
    return statSync(path).isDirectory() && (existsSync(join(path, 'index.jsonl')) || existsSync(join(path, 'run.json')));
  } catch {
    return false;
  }
}

export class RunDirView {
  readonly dir: string;
  private readonly io: CliIO;
  private readonly opts: { sensitivity?: Sensitivity; minSamples?: number };
  private readonly cache = new Map<string, ProfileSummary>();
  private readonly catalogs = new Map<LeakKind, Map<string, SiteInfo>>();
  private readonly reported = new Set<string>();
  private stamp = '';
  private version = 0;
  /** the complete data of `stamp`, once loaded */
  private loading: Promise<TimelineData> | undefined;
  /** the last complete data (perhaps of an older index) */
  private last: TimelineData | undefined;
  private quick: TimelineData | undefined;
  private startTimer: NodeJS.Timeout | undefined;
  private readonly inputs = new Map<string, Inputs>();

  constructor(dir: string, io: CliIO, opts: { sensitivity?: Sensitivity; minSamples?: number } = {}) {
    this.dir = resolve(dir);
    this.io = io;
    this.opts = opts;
  }

  private indexStamp(): string {
    try {
      const s = statSync(join(this.dir, 'index.jsonl'));
      return `${s.mtimeMs}:${s.size}`;
    } catch {
      return 'none';
    }
  }

  /** Starts reading the run again when its index changed. */
  private refresh(): void {
    const stamp = this.indexStamp();
    if (this.loading && stamp === this.stamp) return;
    this.stamp = stamp;
    this.version += 2;
    this.quick = undefined;
    clearTimeout(this.startTimer);
    const p = this.load(this.version);
    p.then(
      (d) => {
        if (this.loading === p) this.last = d;
      },
      () => {
        // a failed load is not kept: the next request tries again
        if (this.loading === p) this.stamp = '';
      },
    );
    this.loading = p;
  }

  /** The complete chart data of the run as it is now (profiles read and analysed). */
  data(): Promise<TimelineData> {
    this.refresh();
    return this.loading!;
  }

  /**
   * What the page gets now: the complete data when it is ready; while the profiles are read, the
   * last complete data, or at first the totals from the index alone (`pending`).
   */
  async current(): Promise<TimelineData> {
    if (!this.loading && this.version === 0) {
      // the first page: its totals first, then the profiles are read (not competing with it)
      const quick = await this.fromIndex(1);
      setTimeout(() => this.refresh(), 20);
      return quick;
    }
    this.refresh();
    const loading = this.loading!;
    const settled = await Promise.race([loading.then((d) => d), new Promise<undefined>((r) => setImmediate(() => r(undefined)))]);
    if (settled) return settled;
    if (this.last) return this.last;
    return (this.quick ??= await this.fromIndex(this.version - 1));
  }

  /** Reads the profiles after `ms` unless a page asked first (the first page's totals go out
   * before the profiles are read, so as not to compete with them). */
  startSoon(ms: number): void {
    this.startTimer = setTimeout(() => this.refresh(), ms);
    this.startTimer.unref();
  }

  /** Reads the index alone (throws when the directory has neither index.jsonl nor run.json). */
  async fromIndex(version = 0): Promise<TimelineData> {
    let target = this.dir;
    try {
      const meta = JSON.parse(await readFile(join(this.dir, 'run.json'), 'utf8')) as { target?: unknown };
      if (typeof meta.target === 'string') target = meta.target;
    } catch {
      /* run.json is optional */
    }
    let text = '';
    try {
      text = await readFile(join(this.dir, 'index.jsonl'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new LeakscopeError('E_IO', `${this.dir}/index.jsonl: ${(e as Error).message}`);
    }
    const entries: TimelineEntry[] = [];
    for (const line of text.split('\n')) {
      try {
        if (line.trim() !== '') entries.push(JSON.parse(line) as TimelineEntry);
      } catch {
        /* the full load reports it */
      }
    }
    return timelineFromIndex({ title: basename(this.dir), target, runDir: this.dir, entries, version, minSamples: this.opts.minSamples ?? DEFAULT_MIN_SAMPLES, sensitivity: this.opts.sensitivity ?? 'normal' });
  }

  private async load(version: number): Promise<TimelineData> {
    let target = this.dir;
    try {
      const meta = JSON.parse(await readFile(join(this.dir, 'run.json'), 'utf8')) as { target?: unknown };
      if (typeof meta.target === 'string') target = meta.target;
    } catch {
      /* run.json is optional */
    }
    const errors: string[] = [];
    const run = existsSync(join(this.dir, 'index.jsonl'))
      ? await loadRunDir(this.dir, {
          cache: this.cache,
          catalogs: this.catalogs,
          onBadFile: (e) => {
            errors.push(e.message);
            if (!this.reported.has(e.message)) {
              this.reported.add(e.message);
              this.io.stderr(`leakscope web: ${e.message} (skipped)\n`);
            }
          },
        })
      : { target, runDir: this.dir, observations: [], gaps: 0, entries: [] };
    // as `leakscope analyze` computes its report
    const analysis = analyzeLeaks(run.observations, { ...this.opts, growingLimit: 40 });
    const times = run.observations.map((o) => (Number.isFinite(o.timeMs) ? o.timeMs : o.summary.profileTimeMs)).filter((t) => Number.isFinite(t));
    const perKind = new Map<string, number>();
    for (const o of run.observations) perKind.set(o.kind, (perKind.get(o.kind) ?? 0) + 1);
    let snapshotLeaks: SnapshotLeakGroup[] | undefined;
    if (existsSync(join(this.dir, 'snapshot-leaks.json'))) {
      try {
        const j = JSON.parse(await readFile(join(this.dir, 'snapshot-leaks.json'), 'utf8')) as { groups?: SnapshotLeakGroup[] };
        if (Array.isArray(j.groups)) snapshotLeaks = j.groups;
      } catch {
        /* unreadable: report without it */
      }
    }
    const meta: ReportMeta = {
      target: run.target,
      runDir: this.dir,
      samples: perKind.size > 0 ? Math.max(...perKind.values()) : 0,
      durationMs: times.length > 1 ? Math.max(...times) - Math.min(...times) : 0,
      gaps: run.gaps,
      ...(snapshotLeaks ? { snapshotLeaks } : {}),
    };
    return timelineData({
      title: basename(this.dir),
      target: run.target,
      runDir: this.dir,
      entries: run.entries ?? [],
      observations: run.observations,
      analysis,
      meta,
      errors,
      version,
    });
  }

  /** The flame-graph inputs of one saved profile, or of `p` against base `b` (a diff). */
  private async profileInputs(p: string, b: string | null): Promise<Inputs> {
    const d = await this.data();
    const known = new Set(d.kinds.flatMap((k) => k.points.map((x) => x.file)));
    for (const f of b ? [p, b] : [p]) if (!known.has(f)) throw new LeakscopeError('E_USAGE', `${f.slice(0, 200)}: not a profile of this run`);
    const key = `${p}\n${b ?? ''}`;
    let inp = this.inputs.get(key);
    if (!inp) {
      inp = await loadInputs([join(this.dir, p)], b ? { 'diff-base': [join(this.dir, b)] } : {});
      if (this.inputs.size >= 8) this.inputs.delete(this.inputs.keys().next().value!);
      this.inputs.set(key, inp);
    }
    return inp;
  }

  readonly route: UiRoute = async (url: URL): Promise<RouteResult | undefined> => {
    if (url.pathname === '/api/timeline') {
      const d = await this.current();
      const known = Number(url.searchParams.get('known') ?? '-1');
      if (known === d.version) return { status: 200, body: `{"version":${d.version},"unchanged":true}` };
      return { body: JSON.stringify(d) };
    }
    if (url.pathname === '/api/meta' || url.pathname === '/api/view') {
      const p = url.searchParams.get('p');
      if (!p) throw new LeakscopeError('E_USAGE', 'which profile? (?p=FILE)');
      const b = url.searchParams.get('b');
      const inp = await this.profileInputs(p, b);
      const opts = reportOptionsFrom({});
      const meta = metaOf(inp, opts, b ? `${p} vs ${b}` : p);
      if (url.pathname === '/api/meta') return { body: JSON.stringify(meta) };
      const si = url.searchParams.get('si') ?? meta.sampleType;
      if (!meta.sampleTypes.some((t) => t.type === si)) return { status: 404, type: 'text/plain; charset=utf-8', body: `no sample type "${si.slice(0, 100)}"\n` };
      return { body: viewJson(inp, opts, si) };
    }
    return undefined;
  };
}
