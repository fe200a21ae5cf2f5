/**
 * The heap of this process, for the leak assertions: a forced full GC that works whether or not
 * node was started with `--expose-gc`, the heap in use after it, and heap snapshots taken through
 * an in-process inspector session and streamed into the project's parser (never held as one
 * string).
 */
import { Session } from 'node:inspector';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
// node:timers' own functions: a runner's fake timers (vi.useFakeTimers, jest.useFakeTimers)
// replace the global ones, and a GC waiting on a fake setImmediate would wait forever
import { setImmediate } from 'node:timers';
import { HeapSnapshotParser, type RawHeapSnapshot } from '../formats/heapsnapshot.js';
import type { IdHorizon } from '../core/heap/ids.js';
import { LeakscopeError } from '../core/errors.js';

type GcFn = (opts?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

let gcFn: GcFn | null | undefined;

/**
 * `globalThis.gc` when node runs with `--expose-gc`; otherwise the flag is set at run time and a
 * fresh context hands out its `gc` (V8 installs it in contexts created after the flag is set).
 * null when neither works (then the inspector's HeapProfiler.collectGarbage is used).
 */
function gcFunction(): GcFn | null {
  if (gcFn !== undefined) return gcFn;
  const g = (globalThis as { gc?: GcFn }).gc;
  if (typeof g === 'function') return (gcFn = g);
  try {
    setFlagsFromString('--expose-gc');
    const f = runInNewContext('gc') as unknown;
    gcFn = typeof f === 'function' ? (f as GcFn) : null;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A full, synchronous GC, twice, with an event-loop turn before each: WeakRefs are kept until
 * the end of the job that created them, and FinalizationRegistry callbacks run in between, so
 * what they release is collected too.
 */
export async function fullGC(session?: InspectorSession): Promise<void> {
  const gc = gcFunction();
  for (let i = 0; i < 2; i++) {
    await turn();
    if (gc) gc();
    else await (session ?? (await InspectorSession.shared())).post('HeapProfiler.collectGarbage');
  }
}

/** the heap in use: V8's used heap and the memory held by ArrayBuffers (Buffers' backing stores) */
export function heapInUse(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** A promise-returning inspector session on this thread. */
export class InspectorSession {
  private static instance: InspectorSession | null = null;
  readonly session = new Session();

  static async shared(): Promise<InspectorSession> {
    if (!InspectorSession.instance) {
      const s = new InspectorSession();
      s.session.connect();
      InspectorSession.instance = s;
    }
    return InspectorSession.instance;
  }

  post(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.session.post(method, params, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  /**
   * Takes a heap snapshot and streams its chunks into a parser: horizonOnly gives the snapshot's
   * id horizon (its objects' ids, for the leak finder's earlier snapshots), else the whole graph.
   */
  async snapshot(horizonOnly: true): Promise<IdHorizon>;
  async snapshot(horizonOnly: false): Promise<RawHeapSnapshot>;
  async snapshot(horizonOnly: boolean): Promise<IdHorizon | RawHeapSnapshot> {
    const parser = new HeapSnapshotParser(horizonOnly ? { horizonOnly: true } : {});
    let failure: unknown = null;
    const onChunk = (m: { params: { chunk: string } }): void => {
      if (failure) return;
      try {
        parser.push(m.params.chunk);
      } catch (e) {
        failure = e;
      }
    };
    this.session.on('HeapProfiler.addHeapSnapshotChunk', onChunk);
    try {
      await this.post('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    } catch (e) {
      throw new LeakscopeError('E_SNAPSHOT', `cannot take a heap snapshot in this process: ${(e as Error).message}`);
    } finally {
      this.session.off('HeapProfiler.addHeapSnapshotChunk', onChunk);
    }
    if (failure) throw failure;
    return horizonOnly ? parser.horizon() : parser.finish();
  }
}
