/**
 * The agent worker: an inspector session connected to the host's main thread, the endpoints, and
 * (unless the host mounts the handler itself) an HTTP server. Running here rather than on the main
 * thread lets the agent answer while the host's event loop is blocked: inspector commands reach the
 * main isolate through V8 interrupts.
 *
 * Messages from the main thread: {type:'req'|'cancel'|'close'|'bye'}; to it: {type:'ready'|'fatal'|
 * 'head'|'chunk'|'end'|'closed'}. The HTTP server stays ref'd here (a pending inspector call does
 * not keep a worker alive); the main thread unrefs the worker so the host can still exit.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Session } from 'node:inspector';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { type AgentRequest, type Reply, Endpoints, limitsFromEnv } from './endpoints.js';
import { Inspector } from './inspector.js';
import type { WorkerData } from './options.js';

type FromMain =
  | { type: 'req'; id: number; req: AgentRequest }
  | { type: 'cancel'; id: number }
  | { type: 'close' }
  | { type: 'bye' }
  | { type: 'exit-sync'; flag: SharedArrayBuffer };

const data = workerData as WorkerData;
const port = parentPort!;

function post(m: unknown, transfer?: ArrayBuffer[]): void {
  try {
    port.postMessage(m, transfer);
  } catch {
    // main thread gone
  }
}

process.on('uncaughtException', (e) => {
  post({ type: 'log', message: `internal error: ${e instanceof Error ? e.message : String(e)}` });
});
process.on('unhandledRejection', (e) => {
  post({ type: 'log', message: `internal error: ${e instanceof Error ? e.message : String(e)}` });
});

/**
 * A reply on the worker's own server. `write` reports the socket's backpressure and `onDrain`
 * waits for it, so a large body goes out at the client's pace instead of piling up in memory;
 * 'close' before the end means the client left (it is seen as soon as the client closes its side).
 */
function httpReply(res: ServerResponse): Reply {
  let closed = false;
  const closers: (() => void)[] = [];
  const close = () => {
    for (const f of closers.splice(0)) f();
  };
  res.on('close', () => {
    if (!res.writableFinished) closed = true;
    close();
  });
  res.on('error', () => {
    closed = true;
    close();
  });
  return {
    head(status, headers) {
      res.writeHead(status, headers);
    },
    write(chunk) {
      return res.write(chunk);
    },
    end(chunk) {
      if (chunk === undefined) res.end();
      else res.end(chunk);
    },
    get closed() {
      return closed || res.destroyed;
    },
    onClose(fn) {
      if (closed || res.destroyed) fn();
      else closers.push(fn);
    },
    onDrain(fn) {
      if (!res.writableNeedDrain || res.destroyed) fn();
      else res.once('drain', fn);
    },
    abort() {
      closed = true;
      res.destroy();
    },
  };
}

const bridged = new Map<number, { closed: boolean; closers: (() => void)[] }>();

function bridgeReply(id: number): Reply {
  const st = { closed: false, closers: [] as (() => void)[] };
  bridged.set(id, st);
  const enc = new TextEncoder();
  const send = (chunk: Uint8Array | string) => {
    const b = typeof chunk === 'string' ? enc.encode(chunk) : new Uint8Array(chunk);
    post({ type: 'chunk', id, data: b }, [b.buffer as ArrayBuffer]);
  };
  return {
    head(status, headers) {
      post({ type: 'head', id, status, headers });
    },
    // The host's main thread writes what it is sent to its own response; it reports no
    // backpressure back, so every chunk is taken as accepted.
    write(chunk) {
      send(chunk);
      return true;
    },
    end(chunk) {
      if (chunk !== undefined) send(chunk);
      post({ type: 'end', id });
      bridged.delete(id);
    },
    get closed() {
      return st.closed;
    },
    onClose(fn) {
      if (st.closed) fn();
      else st.closers.push(fn);
    },
    onDrain(fn) {
      fn();
    },
    abort() {
      post({ type: 'end', id });
      bridged.delete(id);
    },
  };
}

async function main(): Promise<void> {
  const session = new Session();
  session.connectToMainThread();
  const insp = new Inspector(session);
  const endpoints = new Endpoints(insp, data.options, data.mainPort, limitsFromEnv(process.env));
  let server: Server | undefined;
  try {
    await endpoints.start();
    if (data.options.listen) {
      server = createServer({ requestTimeout: 0 }, (req: IncomingMessage, res: ServerResponse) => {
        void endpoints.handle(
          { method: req.method ?? 'GET', url: req.url ?? '/', authorization: req.headers.authorization },
          httpReply(res),
        );
      });
      server.headersTimeout = 20_000;
      server.keepAliveTimeout = 5_000;
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(data.options.port, data.options.host, () => {
          server!.off('error', reject);
          resolve();
        });
      });
      server.on('error', () => {});
      const a = server.address() as AddressInfo;
      post({ type: 'ready', host: a.address, port: a.port });
    } else post({ type: 'ready' });
  } catch (e) {
    post({ type: 'fatal', message: e instanceof Error ? e.message : String(e) });
    await endpoints.stop().catch(() => {});
    session.disconnect();
    port.close();
    return;
  }

  port.on('message', (m: FromMain) => {
    if (m.type === 'req') void endpoints.handle(m.req, bridgeReply(m.id));
    else if (m.type === 'cancel') {
      const st = bridged.get(m.id);
      if (st) {
        st.closed = true;
        bridged.delete(m.id);
        for (const f of st.closers.splice(0)) f();
      }
    } else if (m.type === 'exit-sync') {
      // The host is exiting (process.exit or an uncaught exception) and waits on the flag: a
      // connected session would make Node print "Waiting for the debugger to disconnect...".
      try {
        session.disconnect();
      } catch {
        // already gone
      }
      const f = new Int32Array(m.flag);
      Atomics.store(f, 0, 1);
      Atomics.notify(f, 0);
    } else if (m.type === 'close') {
      void (async () => {
        await endpoints.stop().catch(() => {});
        if (server) {
          server.closeAllConnections?.();
          await new Promise<void>((r) => server!.close(() => r()));
        }
        try {
          session.disconnect();
        } catch {
          // already gone
        }
        // The main thread deletes its side of the session when it next runs its interrupts. This
        // thread's environment must outlive that deletion (which posts back to this thread's
        // inspector): tearing down concurrently aborted the process (about 1 close in 100). So
        // the ports stay open until the main thread says 'bye', one event-loop turn after 'closed'.
        post({ type: 'closed' });
      })();
    } else if (m.type === 'bye') {
      port.close();
      data.mainPort.close();
    }
  });
}

void main();
