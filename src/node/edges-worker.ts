/**
 * The worker thread of loadHeapSnapshot's two-thread parse (snapshot-source.ts): told where a
 * snapshot file's `edges` section starts, it reads the file from there and parses the section
 * into columns, which go back to the main thread as transferred buffers.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { isLeakscopeError } from '../core/errors.js';
import { HeapSnapshotParser } from '../formats/heapsnapshot.js';
import type { EdgesReply, EdgesTask } from './snapshot-source.js';

const CHUNK = 4 << 20;

const task = workerData as EdgesTask | undefined;
const port = parentPort;
if (task && typeof task.leakscopeSnapshotEdges === 'string' && port) {
  {
    let reply: EdgesReply;
    let fd = -1;
    try {
      const parser = new HeapSnapshotParser({ edgesOnly: true });
      fd = openSync(task.leakscopeSnapshotEdges, 'r');
      const buf = new Uint8Array(CHUNK);
      let pos = 0;
      while (!parser.done) {
        const got = readSync(fd, buf, 0, CHUNK, pos);
        if (got === 0) break;
        pos += got;
        parser.push(buf.subarray(0, got));
      }
      reply = { ok: true, cols: parser.edges() };
    } catch (e) {
      reply = isLeakscopeError(e) ? { ok: false, code: e.code, message: e.message } : { ok: false, code: 'E_IO', message: (e as Error).message ?? String(e) };
    } finally {
      if (fd >= 0) closeSync(fd);
    }
    if (reply.ok) port.postMessage(reply, [reply.cols.edgeType.buffer as ArrayBuffer, reply.cols.edgeNameOrIndex.buffer as ArrayBuffer, reply.cols.edgeTo.buffer as ArrayBuffer]);
    else port.postMessage(reply);
  }
}
