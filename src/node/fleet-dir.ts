/**
 * A fleet directory on disk: `fleet.json` (what was watched: the targets with their labels and
 * run directories, when each appeared and vanished), and one run directory per target, in the
 * layout of a single `watch` run (run.json, index.jsonl, `<kind>-NNNN.pb.gz`), so `analyze`,
 * `web` and `go tool pprof` read a target's directory as they read any run.
 *
 * Profiles and fleet.json are written atomically (temp file + rename). A target's index is
 * appended to, one write per poll (a single watch rewrites its whole index each poll; a hundred
 * targets polled for hours would rewrite megabytes every interval): a crash can at worst tear the
 * last line, which the loader skips with a note.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LeakscopeError } from '../core/errors.js';
import type { LeakKind } from '../core/leak/summary.js';
import { loadRunDir, writeAtomic, type IndexEntry, type LoadedRun } from './run-dir.js';
import { isGzip } from './source.js';

export interface FleetTargetMeta {
  id: string;
  url: string;
  job: string;
  labels: Record<string, string>;
  /** its run directory, relative to the fleet directory */
  dir: string;
  firstSeen: string;
  /** when it left discovery (it may come back: then this is removed) */
  vanishedAt?: string;
}

export interface FleetMetaFile {
  tool: string;
  startedAt: string;
  endedAt?: string;
  intervalMs: number;
  profiles: LeakKind[];
  /** where the targets came from: file_sd files, Prometheus jobs, URLs */
  sources: string[];
  targets: FleetTargetMeta[];
}

export class TargetDir {
  readonly dir: string;
  private counters = new Map<LeakKind, number>();
  private constructor(dir: string) {
    this.dir = dir;
  }

  static async create(dir: string, meta: Record<string, unknown>): Promise<TargetDir> {
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw new LeakscopeError('E_IO', `${dir}: cannot create run directory (${(e as Error).message})`);
    }
    if (existsSync(join(dir, 'index.jsonl'))) throw new LeakscopeError('E_IO', `${dir}: already holds a run (index.jsonl exists); choose another --out`);
    await writeAtomic(join(dir, 'run.json'), JSON.stringify(meta, null, 2) + '\n');
    await writeAtomic(join(dir, 'index.jsonl'), '');
    return new TargetDir(dir);
  }

  async saveProfile(kind: LeakKind, bytes: Uint8Array): Promise<string> {
    const n = (this.counters.get(kind) ?? 0) + 1;
    this.counters.set(kind, n);
    const name = `${kind}-${String(n).padStart(4, '0')}.pb.gz`;
    await writeAtomic(join(this.dir, name), isGzip(bytes) ? bytes : gzipSync(bytes));
    return name;
  }

  async append(entries: IndexEntry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      await appendFile(join(this.dir, 'index.jsonl'), entries.map((e) => JSON.stringify(e) + '\n').join(''));
    } catch (e) {
      throw new LeakscopeError('E_IO', `${this.dir}/index.jsonl: cannot write (${(e as Error).message})`);
    }
  }
}

export class FleetDir {
  readonly dir: string;
  readonly meta: FleetMetaFile;
  private used = new Set<string>();
  private writing: Promise<void> = Promise.resolve();

  private constructor(dir: string, meta: FleetMetaFile) {
    this.dir = dir;
    this.meta = meta;
  }

  static async create(dir: string, meta: Omit<FleetMetaFile, 'targets'>): Promise<FleetDir> {
    const abs = resolve(dir);
    try {
      await mkdir(abs, { recursive: true });
    } catch (e) {
      throw new LeakscopeError('E_IO', `${abs}: cannot create the fleet directory (${(e as Error).message})`);
    }
    if (existsSync(join(abs, 'fleet.json')) || existsSync(join(abs, 'index.jsonl'))) throw new LeakscopeError('E_IO', `${abs}: already holds a run; choose another --out`);
    const fd = new FleetDir(abs, { ...meta, targets: [] });
    await fd.save();
    return fd;
  }

  /** A directory name for a target: its id made file-safe, unique within the fleet. */
  dirNameFor(id: string): string {
    const base = id.replace(/^https?:\/\//, '').replace(/\/debug\/pprof$/, '').replace(/[^\w.-]+/g, '_').slice(0, 80) || 'target';
    let name = base;
    for (let i = 2; this.used.has(name) || name === 'fleet.json'; i++) name = `${base}~${i}`;
    this.used.add(name);
    return name;
  }

  /** Writes fleet.json (serialised: the last state always wins). */
  save(): Promise<void> {
    const text = JSON.stringify(this.meta, null, 2) + '\n';
    this.writing = this.writing.catch(() => undefined).then(() => writeAtomic(join(this.dir, 'fleet.json'), text));
    return this.writing;
  }
}

export interface LoadedFleetTarget {
  meta: FleetTargetMeta;
  dir: string;
  run: LoadedRun;
  /** poll rounds that gave at least one profile */
  samples: number;
  lastError?: string;
  /** every kind's latest poll failed */
  failingAtEnd: boolean;
}

/** Is `dir` a fleet directory (has fleet.json)? */
export function isFleetDir(dir: string): boolean {
  return existsSync(join(dir, 'fleet.json'));
}

export async function readFleetMeta(dir: string): Promise<FleetMetaFile> {
  let meta: FleetMetaFile;
  try {
    meta = JSON.parse(await readFile(join(dir, 'fleet.json'), 'utf8')) as FleetMetaFile;
  } catch (e) {
    throw new LeakscopeError('E_IO', `${dir}/fleet.json: cannot read (${(e as Error).message})`);
  }
  if (!meta || !Array.isArray(meta.targets)) throw new LeakscopeError('E_CORRUPT', `${dir}/fleet.json: no "targets" list`);
  return meta;
}

/** What one target's index says beyond its observations. */
export function indexFacts(entries: readonly IndexEntry[]): { samples: number; lastError?: string; failingAtEnd: boolean } {
  const rounds = new Set<number>();
  let lastError: string | undefined;
  const lastByKind = new Map<string, boolean>();
  for (const e of entries) {
    if (e.gap) {
      if (e.error) lastError = e.error;
    } else if (e.file) rounds.add(e.seq);
    lastByKind.set(e.profile, !!e.gap);
  }
  const failingAtEnd = lastByKind.size > 0 && [...lastByKind.values()].every((g) => g);
  return { samples: rounds.size, ...(lastError !== undefined ? { lastError } : {}), failingAtEnd };
}

/**
 * Loads every target of a fleet directory, one after the other (memory holds one target's
 * profiles being read at a time, plus the summaries). Unreadable files become notes.
 */
export async function loadFleetTargets(dir: string, onTarget: (t: LoadedFleetTarget) => void, notes: string[]): Promise<FleetMetaFile> {
  const abs = resolve(dir);
  const meta = await readFleetMeta(abs);
  for (const t of meta.targets) {
    const tdir = join(abs, t.dir);
    let run: LoadedRun;
    try {
      run = await loadRunDir(tdir, { onBadFile: (e) => notes.push(`${t.id}: ${e.message} (skipped)`) });
    } catch (e) {
      notes.push(`${t.id}: ${(e as Error).message}`);
      run = { target: t.url, runDir: tdir, observations: [], gaps: 0, entries: [] };
    }
    const facts = indexFacts(run.entries ?? []);
    onTarget({ meta: t, dir: tdir, run, ...facts });
  }
  return meta;
}
