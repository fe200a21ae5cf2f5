/**
 * leakscope's in-process agent for Node services: `/debug/pprof/*` like Go's net/http/pprof.
 *
 *     import { startAgent } from 'leakscope/agent';
 *     const agent = await startAgent({ port: 6060 });   // 127.0.0.1 by default
 *     ...
 *     await agent.close();
 *
 * or, mounted in the application's own server (requests must name a loopback address or one of
 * `allowedHosts` in their Host header, like those to the agent's own port):
 *
 *     const agent = await startAgent({ listen: false, allowedHosts: ['shop.internal'] });
 *     app.use('/debug/pprof', agent.handler);            // express
 *
 * The agent never throws into the host: a refused or failed start resolves to an agent whose
 * `error` says why (also printed on stderr); it holds no handle that keeps the process alive.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MessageChannel, Worker, isMainThread } from 'node:worker_threads';
import { checkRequest } from '../core/http-guard.js';
import { MainServices, installStash, removeStash } from './main-services.js';
import { type AgentOptions, type ResolvedOptions, resolveOptions } from './options.js';

export type { AgentOptions } from './options.js';
export { optionsFromEnv } from './options.js';

export type PprofHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

export interface Agent {
  /** true while the worker runs (whether or not it has its own HTTP server) */
  readonly active: boolean;
  /** the bound address when the agent listens */
  readonly address: { host: string; port: number } | undefined;
  /** `http://host:port/debug/pprof/` when listening */
  readonly url: string | undefined;
  /** why the agent is not running, when it is not */
  readonly error: string | undefined;
  /** a request handler to mount under `/debug/pprof` in the host's own server */
  readonly handler: PprofHandler;
  close(): Promise<void>;
}

const RUNNING = Symbol.for('leakscope.agent.running');

function log(msg: string): void {
  try {
    process.stderr.write(`leakscope agent: ${msg}\n`);
  } catch {
    // stderr closed: nothing to do
  }
}

function inactiveHandler(reason: string): PprofHandler {
  return (_req, res) => {
    try {
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`leakscope agent is not running: ${reason}\n`);
    } catch {
      // response already gone
    }
  };
}

function inactive(reason: string): Agent {
  return { active: false, address: undefined, url: undefined, error: reason, handler: inactiveHandler(reason), close: async () => {} };
}

interface Pending {
  res: ServerResponse;
  headSent: boolean;
  /** bytes the response took since the last acknowledgement, when waiting for its 'drain' */
  owed: number;
  waitingDrain: boolean;
}

class RunningAgent implements Agent {
  active = true;
  address: { host: string; port: number } | undefined;
  error: string | undefined;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private closing: Promise<void> | undefined;

  private readonly onExit = () => {
    // Synchronous handshake: the worker disconnects its inspector session before the process
    // goes, or Node prints "Waiting for the debugger to disconnect..." on the host's stderr.
    if (!this.active || this.worker.threadId < 0) return;
    try {
      const flag = new SharedArrayBuffer(4);
      this.worker.postMessage({ type: 'exit-sync', flag });
      Atomics.wait(new Int32Array(flag), 0, 0, 250);
    } catch {
      // the worker is gone already
    }
  };

  constructor(
    private readonly worker: Worker,
    private readonly services: MainServices,
    private readonly allowedHosts: readonly string[],
  ) {
    process.on('exit', this.onExit);
    worker.once('exit', () => {
      if (this.active) log('the agent worker exited; /debug/pprof is no longer served');
      this.active = false;
      process.off('exit', this.onExit);
    });
    worker.on('message', (m: WorkerMessage) => this.onMessage(m));
    // Adding a 'message' listener re-refs the worker's port: unref after every listener change.
    worker.unref();
  }

  get url(): string | undefined {
    if (!this.address) return undefined;
    const h = this.address.host.includes(':') ? `[${this.address.host}]` : this.address.host;
    return `http://${h}:${this.address.port}/debug/pprof/`;
  }

  private onMessage(m: WorkerMessage): void {
    if (m.type === 'log') {
      log(m.message);
      return;
    }
    if (m.type !== 'head' && m.type !== 'chunk' && m.type !== 'end' && m.type !== 'abort') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    try {
      if (m.type === 'head') {
        p.headSent = true;
        p.res.writeHead(m.status, m.headers);
      } else if (m.type === 'chunk') this.write(m.id, p, m.data);
      else if (m.type === 'abort') {
        // a reader that stalled: the client sees a truncated body
        this.pending.delete(m.id);
        p.res.destroy();
      } else {
        this.pending.delete(m.id);
        p.res.end();
      }
    } catch {
      this.pending.delete(m.id);
    }
  }

  /**
   * Writes a chunk of a worker's answer to the host's response and acknowledges it once the
   * response took it: at once, or when the response drains. The worker sends no more than its
   * high-water mark unacknowledged, so a slow reader never makes the host buffer a whole body.
   */
  private write(id: number, p: Pending, data: Uint8Array): void {
    const ok = p.res.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    p.owed += data.byteLength;
    if (ok && !p.waitingDrain) {
      this.worker.postMessage({ type: 'drained', id, bytes: p.owed });
      p.owed = 0;
      return;
    }
    if (p.waitingDrain) return;
    p.waitingDrain = true;
    p.res.once('drain', () => {
      p.waitingDrain = false;
      const bytes = p.owed;
      p.owed = 0;
      if (this.pending.get(id) === p) this.worker.postMessage({ type: 'drained', id, bytes });
    });
  }

  readonly handler: PprofHandler = (req, res) => {
    try {
      if (!this.active) {
        inactiveHandler('closed')(req, res);
        return;
      }
      // The same Host/Origin rule as the agent's own listener, before anything reaches the worker:
      // the application's server may listen anywhere, so loopback names on any port and the
      // allowedHosts names pass.
      const verdict = checkRequest(
        { allowedHosts: this.allowedHosts },
        { host: req.headers.host, origin: headerText(req, 'origin'), secFetchSite: headerText(req, 'sec-fetch-site') },
      );
      if (!verdict.ok) {
        res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        res.end(`${verdict.reason}\n`);
        return;
      }
      const id = ++this.seq;
      this.pending.set(id, { res, headSent: false, owed: 0, waitingDrain: false });
      const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
      res.on('close', () => {
        if (this.pending.delete(id)) this.worker.postMessage({ type: 'cancel', id });
      });
      this.worker.postMessage({
        type: 'req',
        id,
        req: { method: req.method ?? 'GET', url, authorization: req.headers.authorization },
      });
    } catch (e) {
      try {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(`leakscope agent: ${e instanceof Error ? e.message : String(e)}\n`);
      } catch {
        // ignore
      }
    }
  };

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.active = false;
    process.off('exit', this.onExit);
    this.closing = (async () => {
      const exited = new Promise<void>((resolve) => {
        this.worker.once('exit', () => resolve());
      });
      const closed = new Promise<void>((resolve) => {
        const onMsg = (m: WorkerMessage) => {
          if (m.type === 'closed') {
            this.worker.off('message', onMsg);
            resolve();
          }
        };
        this.worker.on('message', onMsg);
        // Ref'd while closing, so an `await agent.close()` settles even when nothing else keeps
        // the event loop alive (bounded: the worker is terminated after at most 5 s).
        this.worker.ref();
      });
      try {
        this.worker.postMessage({ type: 'close' });
      } catch {
        // already exited
      }
      // 'closed' comes once the worker disconnected its inspector session; the main thread's side
      // of the session goes in this thread's next interrupt. Only after a full event-loop turn is
      // the worker let go ('bye'): its teardown racing that deletion aborted the process.
      const acknowledged = closed.then(async () => {
        await new Promise<void>((r) => setImmediate(r));
        await new Promise<void>((r) => setImmediate(r));
        try {
          this.worker.postMessage({ type: 'bye' });
        } catch {
          // already exited
        }
      });
      await Promise.race([Promise.all([acknowledged, exited]), delay(5000)]);
      await this.worker.terminate().catch(() => {});
      for (const p of this.pending.values()) {
        try {
          if (!p.headSent) p.res.writeHead(503, { 'Content-Type': 'text/plain' });
          p.res.end();
        } catch {
          // ignore
        }
      }
      this.pending.clear();
      this.services.close();
      removeStash();
      delete (globalThis as Record<symbol, unknown>)[RUNNING];
    })();
    return this.closing;
  }
}

function headerText(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

type WorkerMessage =
  | { type: 'ready'; host?: string; port?: number }
  | { type: 'fatal'; message: string }
  | { type: 'log'; message: string }
  | { type: 'head'; id: number; status: number; headers: Record<string, string> }
  | { type: 'chunk'; id: number; data: Uint8Array }
  | { type: 'end'; id: number }
  | { type: 'abort'; id: number }
  | { type: 'closed' };

/** The agent started in this process, if any. */
export function getAgent(): Agent | undefined {
  return (globalThis as Record<symbol, Agent | undefined>)[RUNNING];
}

/**
 * Starts the agent: heap sampling begins at once; the worker's server listens on host:port unless
 * `listen: false`. Resolves (never rejects) to the agent; when it could not start, `error` says why.
 */
export async function startAgent(options: AgentOptions = {}): Promise<Agent> {
  try {
    return await start(options);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    log(`not started: ${reason}`);
    return inactive(reason);
  }
}

async function start(options: AgentOptions): Promise<Agent> {
  if (!isMainThread) return inactive('the agent runs from the main thread only');
  const existing = getAgent();
  if (existing) {
    const reason = 'an agent is already running in this process';
    log(`not started: ${reason}`);
    return inactive(reason);
  }
  const r = resolveOptions(options);
  if (!r.ok) {
    log(`${r.reason}; not listening (the application keeps running)`);
    return inactive(r.reason);
  }
  const opts: ResolvedOptions = r.value;
  installStash();
  const channel = new MessageChannel();
  const services = new MainServices(channel.port1, { metrics: opts.metrics, asyncStacks: opts.asyncStacks });
  let worker: Worker;
  try {
    worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: { options: opts, mainPort: channel.port2 },
      transferList: [channel.port2],
      // The host's flags (--import leakscope/register among them) must not start the agent again
      // inside the worker.
      execArgv: [],
      env: process.env,
      name: 'leakscope-agent',
    });
  } catch (e) {
    services.close();
    removeStash();
    throw e;
  }
  worker.on('error', (e) => log(`worker error: ${e instanceof Error ? e.message : String(e)}`));
  const first = await new Promise<WorkerMessage | { type: 'exit' } | { type: 'timeout' }>((resolve) => {
    const t = setTimeout(() => resolve({ type: 'timeout' }), 15_000);
    t.unref();
    const onMsg = (m: WorkerMessage) => {
      if (m.type === 'ready' || m.type === 'fatal') {
        clearTimeout(t);
        worker.off('message', onMsg);
        resolve(m);
      }
    };
    // Ref'd while starting, so an `await startAgent()` finishes even in a script with nothing
    // else to do; unref'd once running.
    worker.on('message', onMsg);
    worker.once('exit', () => {
      clearTimeout(t);
      resolve({ type: 'exit' });
    });
  });
  if (first.type !== 'ready') {
    const reason =
      first.type === 'fatal'
        ? `${first.message}${opts.listen ? ` (on ${opts.host}:${opts.port})` : ''}`
        : first.type === 'exit'
          ? 'the agent worker exited during start'
          : 'the agent worker did not start within 15 s';
    log(`not started: ${reason}`);
    await worker.terminate().catch(() => {});
    services.close();
    removeStash();
    return inactive(reason);
  }
  const agent = new RunningAgent(worker, services, opts.allowedHosts);
  if (first.host !== undefined && first.port !== undefined) agent.address = { host: first.host, port: first.port };
  Object.defineProperty(globalThis, RUNNING, { value: agent, configurable: true, enumerable: false });
  return agent;
}
