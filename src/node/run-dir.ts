/**
 * A watch run on disk: every profile as `<kind>-NNNN.pb.gz` (gzip'd profile.proto, opens in
 * `go tool pprof` as it is), `index.jsonl` with one line per poll (time, file, totals, segment, or a
 * gap with its error), and `run.json` with what was watched. Every write is atomic: a temp file in
 * the same directory, then rename, so a crash or Ctrl-C never leaves a half-written file.
 */
import { mkdir, open, readdir, readFile, rename, writeFile, unlink } from 'node:fs/promises';
import { existsSync, statSync, unlinkSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LeakscopeError } from '../core/errors.js';
import type { Profile } from '../core/profile.js';
import { detectKind, summarizeProfile, type LeakKind, type ProfileSummary, type SiteInfo } from '../core/leak/summary.js';
import type { Observation, RestartReason } from '../core/leak/analyze.js';
import { isGzip, parseProfileBytes } from './source.js';
import { tooLarge } from './limits.js';

export interface IndexEntry {
  /** poll round, 1-based */
  seq: number;
  /** ISO time of the poll */
  time: string;
  timeMs: number;
  profile: LeakKind;
  /** file name inside the run directory (absent for a failed poll) */
  file?: string;
  /** total per sample type */
  totals?: Record<string, number>;
  timeNanos?: string;
  segment: number;
  /** this poll failed */
  gap?: boolean;
  error?: string;
  /** this poll began a new segment, for this reason */
  restart?: string;
}

export interface RunMeta {
  target: string;
  url: string;
  startedAt: string;
  intervalMs: number;
  profiles: LeakKind[];
  tool: string;
}

let tmpCounter = 0;

/**
 * Temp files being written. A process that exits before their rename (a second Ctrl-C exits at
 * once) removes them on its way out, so a run directory never keeps a torn file.
 */
const partialFiles = new Set<string>();
let exitHookSet = false;

function tempFor(path: string): string {
  const tmp = `${path}.tmp-${process.pid}-${++tmpCounter}`;
  partialFiles.add(tmp);
  if (!exitHookSet) {
    exitHookSet = true;
    process.on('exit', () => {
      for (const f of partialFiles) {
        try {
          unlinkSync(f);
        } catch {
          /* already gone */
        }
      }
    });
  }
  return tmp;
}

async function dropTemp(tmp: string): Promise<void> {
  await unlink(tmp).catch(() => undefined);
  partialFiles.delete(tmp);
}

/** Writes `data` to `path` atomically (temp file in the same directory + rename). */
export async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempFor(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
    partialFiles.delete(tmp);
  } catch (e) {
    await dropTemp(tmp);
    throw new LeakscopeError('E_IO', `${path}: cannot write (${(e as Error).message})`);
  }
}

/**
 * Streams a download into `path` atomically: into a temp file next to it, renamed only once the
 * body has ended. Past `maxBytes` it stops with E_TOO_LARGE (`name` says what was read); any
 * failure or interruption (the body's stream erroring, e.g. when its fetch is aborted) removes the
 * temp file and rethrows. Returns the bytes written.
 */
export async function downloadAtomic(path: string, body: AsyncIterable<Uint8Array>, opts: { maxBytes: number; name: string }): Promise<number> {
  const tmp = tempFor(path);
  let bytes = 0;
  try {
    const fh = await open(tmp, 'w');
    try {
      for await (const chunk of body) {
        bytes += chunk.length;
        if (bytes > opts.maxBytes) throw tooLarge(opts.name, 'url', opts.maxBytes);
        await fh.write(chunk);
      }
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    partialFiles.delete(tmp);
    return bytes;
  } catch (e) {
    await dropTemp(tmp);
    throw e;
  }
}

export function profileTotals(p: Profile): Record<string, number> {
  const out: Record<string, number> = {};
  const nt = p.sampleTypes.length;
  for (let t = 0; t < nt; t++) {
    let sum = 0;
    for (let s = 0; s < p.samples.count; s++) sum += p.samples.values[s * nt + t]!;
    out[p.sampleTypes[t]!.type || `type${t}`] = sum;
  }
  return out;
}

/** `http://127.0.0.1:6060/debug/pprof` → `127.0.0.1-6060`; time → `20261128T001500Z`. */
export function defaultRunDirName(url: string, now: Date): string {
  let host = 'target';
  try {
    const u = new URL(url);
    host = `${u.hostname}${u.port ? `-${u.port}` : ''}`;
  } catch {
    /* keep the placeholder */
  }
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${host.replace(/[^\w.-]+/g, '_')}-${stamp}`;
}

export class RunDir {
  readonly dir: string;
  private entries: IndexEntry[] = [];
  private lines: string[] = [];
  private counters = new Map<LeakKind, number>();

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async create(dir: string, meta: RunMeta): Promise<RunDir> {
    const abs = resolve(dir);
    try {
      await mkdir(abs, { recursive: true });
    } catch (e) {
      throw new LeakscopeError('E_IO', `${abs}: cannot create run directory (${(e as Error).message})`);
    }
    if (existsSync(join(abs, 'index.jsonl'))) throw new LeakscopeError('E_IO', `${abs}: already holds a run (index.jsonl exists); choose another --out`);
    const rd = new RunDir(abs);
    await writeAtomic(join(abs, 'run.json'), JSON.stringify(meta, null, 2) + '\n');
    return rd;
  }

  /** Saves a fetched profile (gzip'd if it was not) and returns its file name. */
  async saveProfile(kind: LeakKind, bytes: Uint8Array): Promise<string> {
    const n = (this.counters.get(kind) ?? 0) + 1;
    this.counters.set(kind, n);
    const name = `${kind}-${String(n).padStart(4, '0')}.pb.gz`;
    await writeAtomic(join(this.dir, name), isGzip(bytes) ? bytes : gzipSync(bytes));
    return name;
  }

  /** Appends index lines; the whole index is rewritten atomically. */
  async append(...entries: IndexEntry[]): Promise<void> {
    for (const e of entries) {
      this.entries.push(e);
      this.lines.push(JSON.stringify(e));
    }
    await writeAtomic(join(this.dir, 'index.jsonl'), this.lines.join('\n') + '\n');
  }

  get index(): readonly IndexEntry[] {
    return this.entries;
  }
}

export interface LoadedRun {
  target: string;
  runDir: string | undefined;
  observations: Observation[];
  /** failed polls recorded in the index */
  gaps: number;
  /** the index lines as read (run directories only) */
  entries?: IndexEntry[];
}

export interface LoadRunDirOptions {
  /** summaries made by an earlier load of the same run, by file name (a live view reads only new
   * files); used together with `catalogs`, which must be the earlier load's too */
  cache?: Map<string, ProfileSummary>;
  catalogs?: Map<LeakKind, Map<string, SiteInfo>>;
  /** a profile file or index line that cannot be read is reported here and skipped (default: thrown) */
  onBadFile?: (err: LeakscopeError) => void;
}

function kindFromName(name: string): LeakKind | undefined {
  const b = basename(name).toLowerCase();
  if (/^(heap|inuse|allocs?)\b|heap/.test(b)) return 'heap';
  if (/goroutine/.test(b)) return 'goroutine';
  if (/async/.test(b)) return 'async';
  return undefined;
}

/** Reads a run directory written by `watch`. */
export async function loadRunDir(dir: string, opts: LoadRunDirOptions = {}): Promise<LoadedRun> {
  const abs = resolve(dir);
  let text: string;
  try {
    text = await readFile(join(abs, 'index.jsonl'), 'utf8');
  } catch {
    throw new LeakscopeError('E_IO', `${dir}: not a run directory (no index.jsonl)`);
  }
  let target = abs;
  try {
    const meta = JSON.parse(await readFile(join(abs, 'run.json'), 'utf8')) as Partial<RunMeta>;
    if (typeof meta.target === 'string') target = meta.target;
  } catch {
    /* run.json is optional */
  }
  const observations: Observation[] = [];
  const entries: IndexEntry[] = [];
  const catalogs = opts.catalogs ?? new Map<LeakKind, Map<string, SiteInfo>>();
  const catalog = (k: LeakKind) => catalogs.get(k) ?? (catalogs.set(k, new Map()), catalogs.get(k)!);
  const pendingGap = new Map<LeakKind, boolean>();
  let gaps = 0;
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line.trim() === '') continue;
    let e: IndexEntry;
    try {
      e = JSON.parse(line) as IndexEntry;
    } catch {
      // A torn last line cannot happen with atomic writes, but an edited index might hold one.
      const err = new LeakscopeError('E_CORRUPT', `${dir}/index.jsonl:${lineNo}: not JSON`);
      if (!opts.onBadFile) throw err;
      opts.onBadFile(err);
      continue;
    }
    entries.push(e);
    if (e.gap) {
      gaps++;
      pendingGap.set(e.profile, true);
      continue;
    }
    if (!e.file) continue;
    const path = join(abs, basename(e.file));
    if (!existsSync(path)) continue; // deleted by hand: analyze what remains
    let summary = opts.cache?.get(path);
    if (!summary) {
      try {
        summary = summarizeProfile(parseProfileBytes(await readFile(path), path), e.profile, catalog(e.profile));
      } catch (err) {
        if (!opts.onBadFile || !(err instanceof LeakscopeError)) throw err;
        opts.onBadFile(err);
        continue;
      }
      opts.cache?.set(path, summary);
    }
    observations.push({
      kind: e.profile,
      timeMs: e.timeMs,
      summary,
      file: path,
      gapBefore: pendingGap.get(e.profile) ?? false,
      segment: e.segment,
      ...(e.restart ? { restartReason: e.restart as RestartReason } : {}),
    });
    pendingGap.set(e.profile, false);
  }
  return { target, runDir: abs, observations, gaps, entries };
}

/** Loads loose profile files (any order on the command line; each kind sorted by its time). */
export async function loadProfileFiles(files: string[]): Promise<LoadedRun> {
  const observations: Observation[] = [];
  const catalogs = new Map<LeakKind, Map<string, SiteInfo>>();
  for (const f of files) {
    const p = parseProfileBytes(await readSourceFile(f), f);
    const kind = detectKind(p) ?? kindFromName(f);
    if (!kind) throw new LeakscopeError('E_USAGE', `${f}: neither a heap, goroutine nor async profile`);
    if (!catalogs.has(kind)) catalogs.set(kind, new Map());
    observations.push({ kind, timeMs: NaN, summary: summarizeProfile(p, kind, catalogs.get(kind)), file: f });
  }
  // Stable sort by profile time when every profile of a kind has one; else keep the given order.
  const byKind = new Map<LeakKind, Observation[]>();
  for (const o of observations) {
    const l = byKind.get(o.kind) ?? [];
    l.push(o);
    byKind.set(o.kind, l);
  }
  const sorted: Observation[] = [];
  for (const l of byKind.values()) {
    if (l.every((o) => Number.isFinite(o.summary.profileTimeMs))) l.sort((a, b) => a.summary.profileTimeMs - b.summary.profileTimeMs);
    sorted.push(...l);
  }
  return { target: files.length === 1 ? files[0]! : `${files.length} profiles`, runDir: undefined, observations: sorted, gaps: 0 };
}

async function readSourceFile(f: string): Promise<Uint8Array> {
  try {
    return await readFile(f);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new LeakscopeError('E_IO', `${f}: no such file`);
    if (err.code === 'EISDIR') throw new LeakscopeError('E_IO', `${f}: is a directory without index.jsonl`);
    throw new LeakscopeError('E_IO', `${f}: ${err.message}`);
  }
}

/** A run directory, or a directory of profiles, or profile files. */
export async function loadRun(sources: string[]): Promise<LoadedRun> {
  if (sources.length === 1 && existsSync(sources[0]!) && statSync(sources[0]!).isDirectory()) {
    const d = sources[0]!;
    if (existsSync(join(d, 'index.jsonl'))) return loadRunDir(d);
    // allocs profiles repeat the heap data (another default type); CPU profiles say nothing of leaks.
    const files = (await readdir(d)).filter((n) => /\.pb(\.gz)?$|\.pprof$/.test(n) && !/^(allocs|cpu|profile)\b/i.test(n)).sort();
    if (files.length === 0) throw new LeakscopeError('E_NO_DATA', `${d}: no index.jsonl and no .pb.gz profiles`);
    const run = await loadProfileFiles(files.map((n) => join(d, n)));
    return { ...run, target: d };
  }
  return loadProfileFiles(sources);
}
