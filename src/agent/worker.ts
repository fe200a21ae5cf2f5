/**
 * The agent worker: an inspector session connected to the host's main thread, the endpoints, and
 * (unless the host mounts the handler itself) an HTTP server. Running here rather than on the main
 * thread lets the agent answer while the host's event loop is blocked: inspector commands reach the
 * main isolate through V8 interrupts.
 *
 * Messages from the main thread: {type:'req'|'cancel'|'drained'|'close'|'bye'}; to it: {type:'ready'|
 * 'fatal'|'head'|'chunk'|'end'|'abort'|'closed'}. The HTTP server stays ref'd here (a pending inspector call does
 * not keep a worker alive); the main thread unrefs the worker so the host can still exit.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Session } from 'node:inspector';
import { type AddressInfo, isIP } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { type GuardPolicy, checkRequest } from '../core/http-guard.js';
import { type AgentRequest, type Reply, Endpoints, limitsFromEnv } from './endpoints.js';
import { Inspector } from './inspector.js';
import { SERVER_LIMITS, type WorkerData, maxAgentConnections } from './options.js';

type FromMain =
  | { type: 'req'; id: number; req: AgentRequest }
  | { type: 'cancel'; id: number }
  | { type: 'drained'; id: number; bytes: number }
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

/**
 * Bytes of a mounted handler's body that may be on their way to the host's response at once: the
 * main thread acknowledges each chunk once its response took it (at once, or on 'drain'), and
 * `write` reports backpressure while more than this is unacknowledged. What a slow reader costs
 * the host is bounded by this plus its socket's buffers.
 */
const BRIDGE_HIGH_WATER = 256 * 1024;

interface Bridged {
  closed: boolean;
  closers: (() => void)[];
  /** bytes sent to the main thread that its response has not yet taken */
  unacked: number;
  drainers: (() => void)[];
}

const bridged = new Map<number, Bridged>();

/**
 * A reply through the handler mounted in the host's own server: the main thread writes it to the
 * host's response. Backpressure comes back as 'drained' acknowledgements, so a heap snapshot goes
 * out at the reader's pace and a stalled reader is dropped (`abort` destroys the response), as on
 * the agent's own listener.
 */
function bridgeReply(id: number): Reply {
  const st: Bridged = { closed: false, closers: [], unacked: 0, drainers: [] };
  bridged.set(id, st);
  const enc = new TextEncoder();
  const send = (chunk: Uint8Array | string) => {
    const b = typeof chunk === 'string' ? enc.encode(chunk) : new Uint8Array(chunk);
    st.unacked += b.byteLength;
    post({ type: 'chunk', id, data: b }, [b.buffer as ArrayBuffer]);
  };
  const finish = () => {
    bridged.delete(id);
    st.drainers.splice(0);
  };
  return {
    head(status, headers) {
      post({ type: 'head', id, status, headers });
    },
    write(chunk) {
      send(chunk);
      return st.unacked < BRIDGE_HIGH_WATER;
    },
    end(chunk) {
      if (chunk !== undefined) send(chunk);
      post({ type: 'end', id });
      finish();
    },
    get closed() {
      return st.closed;
    },
    onClose(fn) {
      if (st.closed) fn();
      else st.closers.push(fn);
    },
    onDrain(fn) {
      if (st.closed || st.unacked < BRIDGE_HIGH_WATER) fn();
      else st.drainers.push(fn);
    },
    abort() {
      st.closed = true;
      post({ type: 'abort', id });
      finish();
      for (const f of st.closers.splice(0)) f();
    },
  };
}

function readLimits(): string | undefined {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
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
      // Set once listening: the Host rule needs the port actually bound (port 0 picks one).
      let policy: GuardPolicy | undefined;
      server = createServer(
        {
          headersTimeout: SERVER_LIMITS.headersTimeoutMs,
          requestTimeout: SERVER_LIMITS.requestTimeoutMs,
          keepAliveTimeout: SERVER_LIMITS.keepAliveTimeoutMs,
          connectionsCheckingInterval: SERVER_LIMITS.checkIntervalMs,
        },
        (req: IncomingMessage, res: ServerResponse) => {
          // Before anything is dispatched: a refused request starts no collection.
          const verdict = policy
            ? checkRequest(policy, { host: req.headers.host, origin: header(req, 'origin'), secFetchSite: header(req, 'sec-fetch-site') })
            : { ok: false as const, reason: 'the agent is starting' };
          if (!verdict.ok) {
            // paced like every cheap answer: a page hammering the agent gets its 403s slowly
            void endpoints.refuse(httpReply(res), verdict.reason);
            return;
          }
          void endpoints.handle(
            { method: req.method ?? 'GET', url: req.url ?? '/', authorization: req.headers.authorization },
            httpReply(res),
          );
        },
      );
      server.maxConnections = maxAgentConnections(readLimits());
      server.setTimeout(SERVER_LIMITS.idleTimeoutMs);
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        // exclusive: in a cluster worker the agent's port is this process's own, never shared
        server!.listen({ port: data.options.port, host: data.options.host, exclusive: true }, () => {
          server!.off('error', reject);
          resolve();
        });
      });
      server.on('error', () => {});
      const a = server.address() as AddressInfo;
      const allowedHosts = [...data.options.allowedHosts];
      // Listening on a configured name: that name at the port is the server's own too.
      if (isIP(data.options.host.replace(/^\[|\]$/g, '')) === 0) allowedHosts.push(`${data.options.host}:${a.port}`);
      policy = { listen: { host: a.address, port: a.port }, allowedHosts };
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
        for (const f of st.drainers.splice(0)) f();
      }
    } else if (m.type === 'drained') {
      const st = bridged.get(m.id);
      if (st) {
        st.unacked -= m.bytes;
        if (st.unacked < BRIDGE_HIGH_WATER) for (const f of st.drainers.splice(0)) f();
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

/** A header that may arrive more than once, as one string. */
function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

void main();
