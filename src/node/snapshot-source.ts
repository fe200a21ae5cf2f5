/**
 * Streams a heap snapshot from a file, stdin ('-') or an http(s) URL (e.g. an agent's
 * /debug/pprof/heapsnapshot) into the streaming parser. The input is never held as one string or
 * one buffer: chunks of ~4 MB go straight to the parser. gzip is detected by its magic number.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
// node:zlib, node:stream and node:worker_threads are imported where needed (gzip input, URLs,
// large series): a plain file read should not pay for loading them.
import type { IdHorizon } from '../core/heap/ids.js';
import { LeakscopeError } from '../core/errors.js';
import { HeapSnapshotParser, type EdgeColumns, type HeapSnapshotParserOptions, type RawHeapSnapshot } from '../formats/heapsnapshot.js';
import { isUrl } from './url.js';
import { RAISE, formatByteSize, maxBytesFor, tooLarge } from './limits.js';

export interface SnapshotProgress {
  source: string;
  /** bytes read so far (compressed bytes for gzip input) */
  bytes: number;
  /** total bytes when known (files, HTTP with Content-Length) */
  total?: number;
}

export interface SnapshotSourceOptions {
  /** called every ~64 MB and at the end */
  onProgress?: (p: SnapshotProgress) => void;
  /** read only node ids (see HeapSnapshotParser): stops reading after the `nodes` section */
  idsOnly?: boolean;
  /** pass over the `edges` section (class counts and diffs need no edges) */
  skipEdges?: boolean;
  /** loadIdHorizons: files smaller than this in total are read on the calling thread (default 64 MB) */
  workerMinBytes?: number;
  /**
   * loadHeapSnapshot: a plain file at least this large has its `edges` section parsed by a worker
   * thread while this one parses the rest (default 8 MB; Infinity: never)
   */
  splitMinBytes?: number;
  /** called once the `nodes` section has been read (when the `edges` section starts) */
  onNodesRead?: () => void;
  /** loadIdHorizons: on the calling thread, start reading once this settles */
  after?: Promise<unknown>;
  /** a worker to read with (loadHeapSnapshot: the edges of a big file; loadIdHorizons: all) */
  reader?: SnapshotReader;
  token?: string;
  /** URLs: the whole answer must arrive within this (default 10 minutes) */
  timeoutMs?: number;
  /**
   * the most bytes read from a URL, and the most gzip'd input may inflate to (default:
   * maxBytesFor('snapshot')); plain files and stdin are read whole
   */
  maxBytes?: number;
}

/**
 * File read buffers, reused by the reads of a thread: a fresh buffer costs the first touch of its
 * pages (≈ 3 ms a MB on the bench machine, see BENCHMARKS.md), which is more than reading into
 * it. Two are kept (on this thread the last snapshot and a horizon may be read at once).
 */
const CHUNK = 1 << 20;
const spareBuffers: Uint8Array[] = [];

export function takeReadBuffer(): Uint8Array {
  return spareBuffers.pop() ?? new Uint8Array(CHUNK);
}

export function returnReadBuffer(buf: Uint8Array): void {
  if (spareBuffers.length < 2) spareBuffers.push(buf);
}

/** Buffer's indexOf is a memchr: ≈ 10× Uint8Array.prototype.indexOf, for the skipped sections */
export function memchr(buf: Uint8Array, byte: number, from: number): number {
  return Buffer.prototype.indexOf.call(buf, byte, from);
}
const SMALL_FOR_WORKER = 64 << 20;
const SPLIT_MIN_BYTES = 8 << 20;
const PROGRESS_STEP = 64 << 20;

const URL_TIMEOUT_MS = 600_000;

function timeoutText(opts: SnapshotSourceOptions): string {
  return `${Number(((opts.timeoutMs ?? URL_TIMEOUT_MS) / 1000).toFixed(3))}s`;
}

async function openStream(source: string, opts: SnapshotSourceOptions, limit: number): Promise<{ stream: AsyncIterable<Uint8Array>; total?: number; url?: true }> {
  if (source === '-') return { stream: process.stdin };
  if (isUrl(source)) {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let res: Response;
    try {
      // the timeout covers the body too: a server that stalls or never ends is given up on
      res = await fetch(source, { headers, signal: AbortSignal.timeout(opts.timeoutMs ?? URL_TIMEOUT_MS) });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      if (err.name === 'TimeoutError' || err.name === 'AbortError') throw new LeakscopeError('E_FETCH', `${source}: no answer within ${timeoutText(opts)}`);
      throw new LeakscopeError('E_FETCH', `${source}: cannot connect (${err.cause?.code ?? err.cause?.message ?? err.message})`);
    }
    if (res.status !== 200 || !res.body) {
      let text = '';
      try {
        text = (await res.text()).trim().split('\n')[0]!.slice(0, 200);
      } catch {
        /* the status says enough */
      }
      throw new LeakscopeError('E_FETCH', `${source}: server answered ${res.status} ${res.statusText}${text ? `: ${text}` : ''}`);
    }
    const len = Number(res.headers.get('content-length'));
    if (Number.isFinite(len) && len > limit) {
      await res.body.cancel().catch(() => undefined);
      throw tooLarge(source, 'url', limit);
    }
    const { Readable } = await import('node:stream');
    return { stream: Readable.fromWeb(res.body as Parameters<typeof Readable.fromWeb>[0]), total: Number.isFinite(len) && len > 0 ? len : undefined, url: true };
  }
  let size: number;
  try {
    const st = statSync(source);
    if (st.isDirectory()) throw new LeakscopeError('E_IO', `${source}: is a directory, not a heap snapshot`);
    size = st.size;
  } catch (e) {
    if (e instanceof LeakscopeError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new LeakscopeError('E_IO', `${source}: no such file`);
    if (err.code === 'EACCES') throw new LeakscopeError('E_IO', `${source}: permission denied`);
    throw new LeakscopeError('E_IO', `${source}: ${err.message}`);
  }
  return { stream: fileChunks(source), total: size };
}

/**
 * A file's bytes in chunks, read into one reused buffer: the parser copies what it keeps, and a
 * read stream's per-chunk buffers and machinery cost ~30 ms on a 20 MB file. A chunk is valid
 * until the next one is asked for.
 */
async function* fileChunks(source: string): AsyncGenerator<Uint8Array> {
  const fh = await open(source, 'r');
  const buf = takeReadBuffer();
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    returnReadBuffer(buf);
    await fh.close();
  }
}

/**
 * Reads and parses one snapshot. Errors name the source.
 *
 * A plain file of `splitMinBytes` or more is parsed by two threads: a SnapshotReader (the one
 * given, or one started here) reads the file, passes over `nodes` (one memchr for its closing
 * bracket) and parses `edges` — usually well over half of the file — while this thread parses
 * `nodes`, passes over `edges` and parses `locations` and `strings`. The edge columns come back
 * as transferred buffers, not copies.
 */
export async function loadHeapSnapshot(source: string, opts: SnapshotSourceOptions = {}): Promise<RawHeapSnapshot> {
  if (!opts.idsOnly && !opts.skipEdges && splittable(source, opts.splitMinBytes)) {
    const own = opts.reader ? null : await SnapshotReader.start().catch(() => null);
    const reader = opts.reader ?? own;
    if (reader) {
      const edges = reader.edges(source);
      edges.catch(() => undefined); // awaited below once this thread has reached the edges
      try {
        // null: the reader thread failed (not the snapshot), and this thread reads it again below
        const raw = await readSnapshot(source, opts, { edgesApart: true }, async (p) => {
          if (p.edgesReached) {
            let cols: EdgeColumns;
            try {
              cols = await edges;
            } catch (e) {
              if (e instanceof ReaderFailure) return null;
              throw e;
            }
            p.attachEdges(cols);
          }
          return p.finish();
        });
        if (raw) return raw;
      } finally {
        own?.close();
      }
    }
  }
  return readSnapshot(source, opts, {}, (p) => p.finish());
}

/** a plain (not gzip'd) file of at least minBytes (default 8 MB) */
function splittable(source: string, minBytes = SPLIT_MIN_BYTES): boolean {
  if (source === '-' || isUrl(source)) return false;
  let fd = -1;
  try {
    const st = statSync(source);
    if (!st.isFile() || st.size < minBytes || st.size < 2) return false;
    fd = openSync(source, 'r');
    const magic = new Uint8Array(2);
    readSync(fd, magic, 0, 2, 0);
    return !(magic[0] === 0x1f && magic[1] === 0x8b);
  } catch {
    return false; // the reader reports the error
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/**
 * Whether a command reading these snapshots (the last one whole, the others for their id
 * horizons) has work for a SnapshotReader: the last one is big enough to split, or the others are
 * big (64 MB in all) or remote.
 */
export function wantsReader(last: string, earlier: string[] = []): boolean {
  if (splittable(last)) return true;
  let total = 0;
  for (const source of earlier) {
    if (isUrl(source)) return true;
    if (source !== '-') total += fileSize(source);
  }
  return total >= SMALL_FOR_WORKER;
}

function fileSize(source: string): number {
  try {
    return statSync(source).size;
  } catch {
    return 0; // the reader reports the error
  }
}

/** The reader thread itself failed or was closed (not the snapshot): read on this thread instead. */
export class ReaderFailure extends LeakscopeError {
  constructor(message: string) {
    super('E_IO', message);
  }
}

/**
 * A worker thread that reads snapshots for this one (src/node/reader-worker.ts): the `edges`
 * section of a file, for a two-thread parse, and id horizons. It does one task at a time, in the
 * order asked, so one reader can serve a whole command and its start (50–100 ms) is paid once.
 * It keeps the process alive only while it has work; close() ends it.
 */
export class SnapshotReader {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: never) => void; reject: (e: LeakscopeError) => void; onProgress?: (p: SnapshotProgress) => void }>();
  // (tasks that fail on their input reject with a LeakscopeError of their own; ReaderFailure only
  // when the thread is gone)
  private dead: ReaderFailure | null = null;

  private constructor(private readonly worker: import('node:worker_threads').Worker) {
    worker.unref();
    worker.on('message', (m: ReaderReply) => {
      const task = this.pending.get(m.id);
      if (!task) return;
      if ('progress' in m) {
        task.onProgress?.(m.progress);
        return;
      }
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if (m.ok) task.resolve(m.value as never);
      else task.reject(new LeakscopeError(m.code as LeakscopeError['code'], m.message));
    });
    worker.once('error', (e) => this.fail(new ReaderFailure(`snapshot reader failed: ${e.message}`)));
    worker.once('exit', (code) => this.fail(new ReaderFailure(`snapshot reader exited with code ${code}`)));
  }

  static async start(): Promise<SnapshotReader> {
    const { Worker } = await import('node:worker_threads');
    return new SnapshotReader(new Worker(new URL('./reader-worker.js', import.meta.url)));
  }

  /** the `edges` section of a plain snapshot file */
  edges(source: string): Promise<EdgeColumns> {
    return this.ask({ kind: 'edges', source });
  }

  /** the id horizon of a snapshot file or URL */
  horizon(source: string, opts: SnapshotSourceOptions = {}): Promise<IdHorizon> {
    return this.ask({ kind: 'horizon', source, token: opts.token, timeoutMs: opts.timeoutMs, maxBytes: opts.maxBytes }, opts.onProgress);
  }

  close(): void {
    this.fail(new ReaderFailure('snapshot reader closed'));
    void this.worker.terminate();
  }

  private ask<T>(task: ReaderJob, onProgress?: (p: SnapshotProgress) => void): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: never) => void, reject, onProgress });
      this.worker.ref();
      this.worker.postMessage({ ...task, id });
    });
  }

  private fail(e: ReaderFailure): void {
    if (this.dead) return;
    this.dead = e;
    for (const task of this.pending.values()) task.reject(e);
    this.pending.clear();
  }
}

type ReaderJob = { kind: 'edges'; source: string } | { kind: 'horizon'; source: string; token?: string; timeoutMs?: number; maxBytes?: number };

export type ReaderTask = ReaderJob & { id: number };

export type ReaderReply =
  | { id: number; progress: SnapshotProgress }
  | { id: number; ok: true; value: EdgeColumns | IdHorizon }
  | { id: number; ok: false; code: string; message: string };

/**
 * The id horizon of one snapshot (core/heap/ids.ts): only its `nodes` section is read, and only
 * the ids in it are decoded. Errors name the source.
 */
export function loadIdHorizon(source: string, opts: SnapshotSourceOptions = {}): Promise<IdHorizon> {
  return readSnapshot(source, opts, { horizonOnly: true }, (p) => p.horizon());
}

interface ReadMode {
  horizonOnly?: boolean;
  edgesApart?: boolean;
}

async function readSnapshot<T>(source: string, opts: SnapshotSourceOptions, mode: ReadMode, result: (p: HeapSnapshotParser) => T | Promise<T>): Promise<T> {
  const limit = maxBytesFor('snapshot', opts.maxBytes);
  const { stream, total, url } = await openStream(source, opts, limit);
  const parserOptions = (inputBytes: number | undefined, edgesApart: boolean): HeapSnapshotParserOptions => ({
    ...(inputBytes === limit ? { inputBound: `the ${formatByteSize(limit)} bound (${RAISE})` } : {}),
    idsOnly: opts.idsOnly,
    horizonOnly: mode.horizonOnly,
    skipEdges: opts.skipEdges,
    edgesApart,
    inputBytes,
    indexOfByte: memchr,
    onSection: (name) => {
      if (name === 'edges') opts.onNodesRead?.();
    },
  });
  let parser = new HeapSnapshotParser(parserOptions(undefined, false));
  let bytes = 0;
  let inflated = 0;
  let nextReport = PROGRESS_STEP;
  let gunzip: import('node:zlib').Gunzip | null = null;
  let first = true;
  // bytes from a URL are counted as they arrive, and refused past the limit
  const count = (n: number): void => {
    bytes += n;
    if (url && bytes > limit) throw tooLarge(source, 'url', limit);
    if (opts.onProgress && bytes >= nextReport) {
      opts.onProgress({ source, bytes, total });
      nextReport = bytes + PROGRESS_STEP;
    }
  };
  try {
    const feed = async (input: AsyncIterable<Uint8Array>, counting: boolean): Promise<void> => {
      for await (const chunk of input) {
        if (counting) count(chunk.length);
        else if ((inflated += chunk.length) > limit) throw tooLarge(source, 'gzip', limit);
        parser.push(chunk);
        if (parser.done) break;
      }
    };
    const iter = stream[Symbol.asyncIterator]();
    const head = await iter.next();
    if (!head.done) {
      const c = head.value;
      if (first && c.length >= 2 && c[0] === 0x1f && c[1] === 0x8b) {
        gunzip = (await import('node:zlib')).createGunzip();
        // inflated input is at most `limit` bytes: a header announcing more is refused early
        parser = new HeapSnapshotParser(parserOptions(limit, false));
      }
      // plain input of known size bounds what the header may announce (a URL's at most `limit`)
      // edges apart only for plain bytes at their file offsets, not for gzip
      else if (total !== undefined || url || mode.edgesApart) parser = new HeapSnapshotParser(parserOptions(url ? Math.min(total ?? limit, limit) : total, mode.edgesApart === true));
      first = false;
      const rest: AsyncIterable<Uint8Array> = {
        [Symbol.asyncIterator]: () => {
          let sentHead = false;
          return {
            next: async () => {
              if (!sentHead) {
                sentHead = true;
                return { done: false, value: c };
              }
              return iter.next();
            },
            return: async () => {
              await iter.return?.();
              return { done: true, value: undefined };
            },
          };
        },
      };
      if (gunzip) {
        const gz = gunzip;
        const pump = (async () => {
          for await (const chunk of rest) {
            count(chunk.length);
            // (the parser has all it needs, or the inflated output was refused)
            if (parser.done || gz.destroyed) break;
            // a copy: zlib works on it after write() returns, and file chunks share one buffer
            if (!gz.write(chunk.slice())) {
              await new Promise<void>((r) => {
                const done = () => {
                  gz.off('drain', done);
                  gz.off('close', done);
                  r();
                };
                gz.on('drain', done);
                gz.on('close', done);
              });
            }
          }
          if (!gz.destroyed) gz.end();
        })();
        // whichever side fails first stops the other: zlib is destroyed, the input closed
        const stop = (e: unknown) => {
          gz.destroy();
          throw e;
        };
        await Promise.all([pump.catch(stop), feed(gz, false).catch(stop)]);
      } else {
        await feed(rest, true);
      }
    }
    opts.onProgress?.({ source, bytes, total });
    return await result(parser);
  } catch (e) {
    if (e instanceof LeakscopeError) throw e.message.startsWith(`${source}: `) ? e : new LeakscopeError(e.code, `${source}: ${e.message}`);
    const err = e as NodeJS.ErrnoException;
    if (err.name === 'TimeoutError' || err.name === 'AbortError') {
      throw new LeakscopeError('E_FETCH', `${source}: the answer did not end within ${timeoutText(opts)} (${formatByteSize(bytes)} read)`);
    }
    if (err.code === 'Z_BUF_ERROR') throw new LeakscopeError('E_TRUNCATED', `${source}: truncated gzip data (unexpected end of file)`);
    if (err.code === 'Z_DATA_ERROR') throw new LeakscopeError('E_CORRUPT', `${source}: corrupt gzip data`);
    if (err.code === 'EISDIR') throw new LeakscopeError('E_IO', `${source}: is a directory, not a heap snapshot`);
    throw new LeakscopeError('E_IO', `${source}: ${err.message}`);
  } finally {
    gunzip?.destroy();
  }
}

/**
 * The id horizons (core/heap/ids.ts) of the earlier snapshots of a series. With a reader thread
 * given (stdin excepted), it reads them all, after whatever it was asked before — usually the last
 * snapshot's edges, which it finishes while this thread is still on that snapshot's strings, so
 * the horizons are ready when the analysis wants them (20 MB series: 3% faster than reading them
 * here in between). Without one, small local ones (64 MB in all, `workerMinBytes`) are read on
 * this thread, after `after` settles, and big or remote ones by a reader started for them (its
 * start, 50–100 ms, is more than a small snapshot's horizon costs).
 */
export async function loadIdHorizons(sources: string[], opts: SnapshotSourceOptions = {}): Promise<IdHorizon[]> {
  let reader: SnapshotReader | undefined;
  let own: SnapshotReader | null = null;
  if (sources.length > 0 && !sources.includes('-')) {
    if (opts.reader) reader = opts.reader;
    else {
      const total = sources.reduce((sum, s) => sum + (isUrl(s) ? Infinity : fileSize(s)), 0);
      if (total >= (opts.workerMinBytes ?? SMALL_FOR_WORKER)) reader = (own = await SnapshotReader.start().catch(() => null)) ?? undefined;
    }
  }
  try {
    if (reader) {
      const r = reader;
      // a reader that is gone leaves the work to this thread
      return await Promise.all(sources.map((source) => r.horizon(source, opts).catch((e: unknown) => (e instanceof ReaderFailure ? loadIdHorizon(source, opts) : Promise.reject(e)))));
    }
    await opts.after;
    const out: IdHorizon[] = [];
    for (const source of sources) out.push(await loadIdHorizon(source, opts));
    return out;
  } finally {
    own?.close();
  }
}
