/**
 * Streams a heap snapshot from a file, stdin ('-') or an http(s) URL (e.g. an agent's
 * /debug/pprof/heapsnapshot) into the streaming parser. The input is never held as one string or
 * one buffer: chunks of ~4 MB go straight to the parser. gzip is detected by its magic number.
 */
import { createReadStream, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { sortedIds, type SortedIds } from '../core/heap/ids.js';
import { LeakscopeError } from '../core/errors.js';
import { HeapSnapshotParser, type RawHeapSnapshot } from '../formats/heapsnapshot.js';
import { isUrl } from './source.js';

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
  /** loadSortedIds: files smaller than this are read on the calling thread (default 64 MB) */
  workerMinBytes?: number;
  token?: string;
  timeoutMs?: number;
}

const CHUNK = 4 << 20;
const SMALL_FOR_WORKER = 64 << 20;
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
  return { stream: createReadStream(source, { highWaterMark: CHUNK }), total: size };
}

/** Reads and parses one snapshot. Errors name the source. */
export async function loadHeapSnapshot(source: string, opts: SnapshotSourceOptions = {}): Promise<RawHeapSnapshot> {
  const { stream, total } = await openStream(source, opts);
  let parser = new HeapSnapshotParser({ idsOnly: opts.idsOnly, skipEdges: opts.skipEdges });
  let bytes = 0;
  let nextReport = PROGRESS_STEP;
  let gunzip: ReturnType<typeof createGunzip> | null = null;
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
      if (first && c.length >= 2 && c[0] === 0x1f && c[1] === 0x8b) gunzip = createGunzip();
      // plain input of known size bounds what the header may announce
      else if (total !== undefined) parser = new HeapSnapshotParser({ idsOnly: opts.idsOnly, skipEdges: opts.skipEdges, inputBytes: total });
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
            if (!gz.write(chunk)) await new Promise((r) => gz.once('drain', r));
          }
          gz.end();
        })();
        await Promise.all([pump, feed(gz, false)]);
      } else {
        await feed(rest, true);
      }
    }
    opts.onProgress?.({ source, bytes, total });
    return parser.finish();
  } catch (e) {
    if (e instanceof LeakscopeError) throw new LeakscopeError(e.code, `${source}: ${e.message}`);
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'Z_BUF_ERROR') throw new LeakscopeError('E_TRUNCATED', `${source}: truncated gzip data (unexpected end of file)`);
    if (err.code === 'Z_DATA_ERROR') throw new LeakscopeError('E_CORRUPT', `${source}: corrupt gzip data`);
    if (err.code === 'EISDIR') throw new LeakscopeError('E_IO', `${source}: is a directory, not a heap snapshot`);
    throw new LeakscopeError('E_IO', `${source}: ${err.message}`);
  }
}

interface IdsTask {
  leakscopeSnapshotIds: string;
  token?: string;
  timeoutMs?: number;
}

type IdsReply = { progress: SnapshotProgress } | { ok: true; ids: SortedIds } | { ok: false; code: string; message: string };

/**
 * The sorted object ids of a snapshot, read in a worker thread so that reading the earlier
 * snapshots of a series overlaps the analysis of the last one. stdin is read on the main thread.
 */
export function loadSortedIds(source: string, opts: SnapshotSourceOptions = {}): Promise<SortedIds> {
  // Small files are read here: a worker's start costs more than reading their ids.
  let small = false;
  try {
    small = !isUrl(source) && source !== '-' && statSync(source).size < (opts.workerMinBytes ?? SMALL_FOR_WORKER);
  } catch {
    /* loadHeapSnapshot reports the error */
    small = true;
  }
  if (source === '-' || small) return loadHeapSnapshot(source, { ...opts, idsOnly: true }).then(sortedIds);
  return new Promise((resolve, reject) => {
    const task: IdsTask = { leakscopeSnapshotIds: source, token: opts.token, timeoutMs: opts.timeoutMs };
    const worker = new Worker(new URL(import.meta.url), { workerData: task });
    let settled = false;
    worker.on('message', (m: IdsReply) => {
      if ('progress' in m) {
        opts.onProgress?.(m.progress);
        return;
      }
      settled = true;
      if (m.ok) resolve(m.ids);
      else reject(new LeakscopeError(m.code as LeakscopeError['code'], m.message));
    });
    worker.once('error', (e) => {
      if (!settled) reject(new LeakscopeError('E_IO', `${source}: ${e.message}`));
      settled = true;
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new LeakscopeError('E_IO', `${source}: reader exited with code ${code}`));
      settled = true;
    });
  });
}

// Worker side of loadSortedIds.
const task = (isMainThread ? undefined : workerData) as IdsTask | undefined;
if (task && typeof task.leakscopeSnapshotIds === 'string' && parentPort) {
  const port = parentPort;
  loadHeapSnapshot(task.leakscopeSnapshotIds, { idsOnly: true, token: task.token, timeoutMs: task.timeoutMs, onProgress: (p) => port.postMessage({ progress: p }) }).then(
    (raw) => {
      const ids = sortedIds(raw);
      port.postMessage({ ok: true, ids }, [ids.buffer as ArrayBuffer]);
    },
    (e: unknown) => {
      const err = e as { code?: string; message?: string };
      port.postMessage({ ok: false, code: err.code ?? 'E_IO', message: err.message ?? String(e) });
    },
  );
}
