/**
 * The worker thread of a SnapshotReader (snapshot-source.ts): it does the tasks it is sent one
 * after the other — the `edges` section of a snapshot file (read from the start, `nodes` passed
 * over) or an id horizon — and posts each result back, typed arrays as transferred buffers.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { isLeakscopeError } from '../core/errors.js';
import type { IdHorizon } from '../core/heap/ids.js';
import { HeapSnapshotParser, type EdgeColumns } from '../formats/heapsnapshot.js';
import { loadIdHorizon, memchr, returnReadBuffer, takeReadBuffer, type ReaderReply, type ReaderTask } from './snapshot-source.js';

function readEdges(source: string): EdgeColumns {
  const parser = new HeapSnapshotParser({ edgesOnly: true, indexOfByte: memchr });
  const fd = openSync(source, 'r');
  const buf = takeReadBuffer();
  try {
    let pos = 0;
    while (!parser.done) {
      const got = readSync(fd, buf, 0, buf.length, pos);
      if (got === 0) break;
      pos += got;
      parser.push(buf.subarray(0, got));
    }
  } finally {
    returnReadBuffer(buf);
    closeSync(fd);
  }
  return parser.edges();
}

const port = parentPort;
if (port) {
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (task: ReaderTask) => {
    queue = queue.then(async () => {
      let reply: ReaderReply;
      let transfer: ArrayBuffer[] = [];
      try {
        if (task.kind === 'edges') {
          const cols = readEdges(task.source);
          reply = { id: task.id, ok: true, value: cols };
          transfer = [cols.edgeType.buffer, cols.edgeNameOrIndex.buffer, cols.edgeTo.buffer] as ArrayBuffer[];
        } else {
          const horizon: IdHorizon = await loadIdHorizon(task.source, {
            token: task.token,
            timeoutMs: task.timeoutMs,
            maxBytes: task.maxBytes,
            onProgress: (progress) => port.postMessage({ id: task.id, progress } satisfies ReaderReply),
          });
          reply = { id: task.id, ok: true, value: horizon };
          transfer = [horizon.nativeIds.buffer as ArrayBuffer];
        }
      } catch (e) {
        reply = isLeakscopeError(e) ? { id: task.id, ok: false, code: e.code, message: e.message } : { id: task.id, ok: false, code: 'E_IO', message: (e as Error).message ?? String(e) };
      }
      port.postMessage(reply, transfer);
    });
  });
}
