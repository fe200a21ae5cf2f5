/**
 * Streams a heap snapshot from a file, stdin ('-') or an http(s) URL (e.g. an agent's
 * /debug/pprof/heapsnapshot) into the streaming parser. The input is never held as one string or
 * one buffer: chunks of ~4 MB go straight to the parser. gzip is detected by its magic number.
 */
import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
// node:zlib, node:stream and node:worker_threads are imported where needed (gzip input, URLs,
// large series): a plain file read should not pay for loading them.
import type { IdHorizon } from '../core/heap/ids.js';
import { LeakscopeError } from '../core/errors.js';
import { HeapSnapshotParser, type EdgeColumns, type HeapSnapshotParserOptions, type RawHeapSnapshot } from '../formats/heapsnapshot.js';
import { isUrl } from './url.js';

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
  token?: string;
  timeoutMs?: number;
}


const CHUNK = 4 << 20;
const SMALL_FOR_WORKER = 64 << 20;
const SPLIT_MIN_BYTES = 8 << 20;
const PROGRESS_STEP = 64 << 20;

async function openStream(source: string, opts: SnapshotSourceOptions): Promise<{ stream: AsyncIterable<Uint8Array>; total?: number }> {
  if (source === '-') return { stream: process.stdin };
  if (isUrl(source)) {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let res: Response;
    try {
      res = await fetch(source, { headers, signal: AbortSignal.timeout(opts.timeoutMs ?? 600_000) });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      if (err.name === 'TimeoutError' || err.name === 'AbortError') throw new LeakscopeError('E_FETCH', `${source}: no answer in time`);
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
    const { Readable } = await import('node:stream');
    return { stream: Readable.fromWeb(res.body as Parameters<typeof Readable.fromWeb>[0]), total: Number.isFinite(len) && len > 0 ? len : undefined };
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
 * A file's bytes in chunks of CHUNK, read into one reused buffer: the parser copies what it keeps,
 * and a read stream's per-chunk buffers and machinery cost ~30 ms on a 20 MB file. A chunk is
 * valid until the next one is asked for.
 */
async function* fileChunks(source: string): AsyncGenerator<Uint8Array> {
  const fh = await open(source, 'r');
  try {
    const buf = new Uint8Array(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/**
 * Reads and parses one snapshot. Errors name the source.
 *
 * A plain file of `splitMinBytes` or more is parsed by two threads: a worker started at once
 * (its start overlaps this thread's reading of the header and `nodes`) is handed the `edges`
 * section's byte offset when this thread's parser reaches it, reads the file from there and
 * parses the edges — usually well over half of the file — while this thread passes over them (one
 * memchr for the closing bracket) and parses `locations` and `strings`. The edge columns come
 * back as transferred buffers, not copies.
 */
export async function loadHeapSnapshot(source: string, opts: SnapshotSourceOptions = {}): Promise<RawHeapSnapshot> {
  if (!opts.idsOnly && !opts.skipEdges && source !== '-' && !isUrl(source) && fileSize(source) >= (opts.splitMinBytes ?? SPLIT_MIN_BYTES)) {
    const edges = await EdgesWorker.start(source);
    try {
      return await readSnapshot(
        source,
        opts,
        { edgesApart: true },
        async (p) => {
          if (p.edgesOffset >= 0) p.attachEdges(await edges.result());
          return p.finish();
        },
      );
    } finally {
      edges.dispose();
    }
  }
  return readSnapshot(source, opts, {}, (p) => p.finish());
}

function fileSize(source: string): number {
  try {
    const st = statSync(source);
    return st.isFile() ? st.size : 0;
  } catch {
    return 0; // the reader reports the error
  }
}

/** The main thread's side of src/node/edges-worker.ts. */
class EdgesWorker {
  private settled = false;
  private readonly done: Promise<EdgeColumns>;

  private constructor(private readonly worker: import('node:worker_threads').Worker) {
    this.done = new Promise<EdgeColumns>((resolve, reject) => {
      worker.once('message', (m: EdgesReply) => {
        this.settled = true;
        if (m.ok) resolve(m.cols);
        else reject(new LeakscopeError(m.code as LeakscopeError['code'], m.message));
      });
      worker.once('error', (e) => {
        if (!this.settled) reject(new LeakscopeError('E_IO', `edges reader failed: ${e.message}`));
        this.settled = true;
      });
      worker.once('exit', (code) => {
        if (!this.settled) reject(new LeakscopeError('E_IO', `edges reader exited with code ${code}`));
        this.settled = true;
      });
    });
    this.done.catch(() => undefined); // awaited through result(), if the edges are reached at all
  }

  static async start(source: string): Promise<EdgesWorker> {
    const { Worker } = await import('node:worker_threads');
    const task: EdgesTask = { leakscopeSnapshotEdges: source };
    return new EdgesWorker(new Worker(new URL('./edges-worker.js', import.meta.url), { workerData: task }));
  }

  result(): Promise<EdgeColumns> {
    return this.done;
  }

  dispose(): void {
    if (!this.settled) void this.worker.terminate();
  }
}

export interface EdgesTask {
  leakscopeSnapshotEdges: string;
}

export type EdgesReply = { ok: true; cols: EdgeColumns } | { ok: false; code: string; message: string };

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
  onSection?: (name: string, offset: number, parser: HeapSnapshotParser) => void;
}

async function readSnapshot<T>(source: string, opts: SnapshotSourceOptions, mode: ReadMode, result: (p: HeapSnapshotParser) => T | Promise<T>): Promise<T> {
  const { stream, total } = await openStream(source, opts);
  const parserOptions = (inputBytes: number | undefined, edgesApart: boolean): HeapSnapshotParserOptions => ({
    idsOnly: opts.idsOnly,
    horizonOnly: mode.horizonOnly,
    skipEdges: opts.skipEdges,
    edgesApart,
    inputBytes,
    onSection: (name, offset) => {
      mode.onSection?.(name, offset, parser);
      if (name === 'edges') opts.onNodesRead?.();
    },
  });
  let parser = new HeapSnapshotParser(parserOptions(undefined, false));
  let bytes = 0;
  let nextReport = PROGRESS_STEP;
  let gunzip: import('node:zlib').Gunzip | null = null;
  let first = true;
  try {
    const feed = async (input: AsyncIterable<Uint8Array>, counting: boolean): Promise<void> => {
      for await (const chunk of input) {
        if (counting) {
          bytes += chunk.length;
          if (opts.onProgress && bytes >= nextReport) {
            opts.onProgress({ source, bytes, total });
            nextReport = bytes + PROGRESS_STEP;
          }
        }
        parser.push(chunk);
        if (parser.done) break;
      }
    };
    const iter = stream[Symbol.asyncIterator]();
    const head = await iter.next();
    if (!head.done) {
      const c = head.value;
      if (first && c.length >= 2 && c[0] === 0x1f && c[1] === 0x8b) gunzip = (await import('node:zlib')).createGunzip();
      // plain input of known size bounds what the header may announce
      // edges apart only for plain bytes at their file offsets, not for gzip
      else if (total !== undefined || mode.edgesApart) parser = new HeapSnapshotParser(parserOptions(total, mode.edgesApart === true));
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
            bytes += chunk.length;
            if (opts.onProgress && bytes >= nextReport) {
              opts.onProgress({ source, bytes, total });
              nextReport = bytes + PROGRESS_STEP;
            }
            if (parser.done) break;
            // a copy: zlib works on it after write() returns, and file chunks share one buffer
            if (!gz.write(chunk.slice())) await new Promise((r) => gz.once('drain', r));
          }
          gz.end();
        })();
        await Promise.all([pump, feed(gz, false)]);
      } else {
        await feed(rest, true);
      }
    }
    opts.onProgress?.({ source, bytes, total });
    return await result(parser);
  } catch (e) {
    if (e instanceof LeakscopeError) throw new LeakscopeError(e.code, `${source}: ${e.message}`);
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'Z_BUF_ERROR') throw new LeakscopeError('E_TRUNCATED', `${source}: truncated gzip data (unexpected end of file)`);
    if (err.code === 'Z_DATA_ERROR') throw new LeakscopeError('E_CORRUPT', `${source}: corrupt gzip data`);
    if (err.code === 'EISDIR') throw new LeakscopeError('E_IO', `${source}: is a directory, not a heap snapshot`);
    throw new LeakscopeError('E_IO', `${source}: ${err.message}`);
  }
}

export interface IdsTask {
  leakscopeSnapshotIds: string[];
  token?: string;
  timeoutMs?: number;
}

export type IdsReply = { progress: SnapshotProgress } | { ok: true; index: number; horizon: IdHorizon } | { ok: false; code: string; message: string };

/**
 * The id horizons (core/heap/ids.ts) of the earlier snapshots of a series, read one after the
 * other by a single worker thread (one worker start for the whole series) while the calling
 * thread does other work; only their `nodes` sections are parsed. When their total
 * size is below `workerMinBytes` (default 64 MB; a worker's start costs ~50 ms), or one of them is
 * stdin, they are read on the calling thread.
 */
export function loadIdHorizons(sources: string[], opts: SnapshotSourceOptions = {}): Promise<IdHorizon[]> {
  let small = false;
  let total = 0;
  for (const source of sources) {
    if (source === '-') small = true;
    if (isUrl(source) || source === '-') continue;
    try {
      total += statSync(source).size;
    } catch {
      /* loadHeapSnapshot reports the error */
      small = true;
    }
  }
  if (!sources.some(isUrl) && total < (opts.workerMinBytes ?? SMALL_FOR_WORKER)) small = true;
  if (small || sources.length === 0) {
    return (async () => {
      await opts.after;
      const out: IdHorizon[] = [];
      for (const source of sources) out.push(await loadIdHorizon(source, opts));
      return out;
    })();
  }
  return import('node:worker_threads').then(({ Worker }) => new Promise((resolve, reject) => {
    const task: IdsTask = { leakscopeSnapshotIds: sources, token: opts.token, timeoutMs: opts.timeoutMs };
    const worker = new Worker(new URL('./horizon-worker.js', import.meta.url), { workerData: task });
    const out: IdHorizon[] = new Array<IdHorizon>(sources.length);
    let got = 0;
    let settled = false;
    worker.on('message', (m: IdsReply) => {
      if (settled) return;
      if ('progress' in m) {
        opts.onProgress?.(m.progress);
        return;
      }
      if (m.ok) {
        out[m.index] = m.horizon;
        if (++got < sources.length) return;
        settled = true;
        resolve(out);
      } else {
        settled = true;
        reject(new LeakscopeError(m.code as LeakscopeError['code'], m.message));
      }
    });
    worker.once('error', (e) => {
      if (!settled) reject(new LeakscopeError('E_IO', `${sources.join(', ')}: ${e.message}`));
      settled = true;
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new LeakscopeError('E_IO', `${sources.join(', ')}: reader exited with code ${code}`));
      settled = true;
    });
  }));
}
