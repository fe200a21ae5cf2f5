/**
 * The `/debug/pprof/*` endpoints, served from the agent worker. Requests arrive either from the
 * worker's own HTTP server or, for a handler mounted in the host's server, over the worker's
 * message port; both are answered through the small `Reply` interface.
 *
 * Every endpoint validates its parameters first (400 naming what is allowed), runs its inspector
 * calls with deadlines, and answers errors as one-line text; nothing here throws out of `handle`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { getPriority, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import type { Profile } from '../core/profile.js';
import { processStartComment } from '../core/process-start.js';
import { encodeProfile } from '../formats/pprof.js';
import {
  type CensusEntry,
  type FrameResolver,
  type V8CallFrame,
  type V8CpuProfile,
  type V8SamplingHeapProfile,
  censusToPprof,
  censusToText,
  cpuProfileToPprof,
  defaultResolveFrame,
  heapDeltaToPprof,
  heapToText,
  stackToText,
} from '../formats/v8-profiles.js';
import { ScriptUrls, takeCensus } from './census.js';
import { AgentHttpError } from './errors.js';
import { type Client, Gate, type Paced, Pacer } from './pacing.js';
import type { Inspector } from './inspector.js';
import type { MainReply, MainRequest, TrackedGroup } from './main-services.js';
import { type ResolvedOptions, STASH_KEY } from './options.js';
import { SCRAPE_INDEX, SCRAPE_PATHS, emptyContentionProfile, stampAddresses } from './scrape-paths.js';
import { SourceMapResolver } from './sourcemaps.js';

/** When this process started, once (process.uptime is the process's, also in the agent's worker). */
const PROCESS_START = processStartComment(Math.round(Date.now() - process.uptime() * 1000), process.pid);

export interface AgentRequest {
  method: string;
  /** path and query as received, e.g. `/debug/pprof/heap?gc=1` or `/heap?gc=1` (mounted) */
  url: string;
  authorization: string | undefined;
}

export interface Reply {
  head(status: number, headers: Record<string, string>): void;
  /** false when the chunk was queued behind others: wait for `onDrain` before writing more */
  write(chunk: Uint8Array | string): boolean;
  end(chunk?: Uint8Array | string): void;
  /** true once the client went away */
  readonly closed: boolean;
  onClose(fn: () => void): void;
  /** `fn` runs once when what was queued has been handed to the client (at once when nothing is) */
  onDrain(fn: () => void): void;
  /** drops the connection (a reader that stalled): the client sees a truncated body */
  abort(): void;
}

/**
 * How the agent protects the host from its own clients. Every figure is documented in README
 * ("Endpoints", limits); `LEAKSCOPE_STALL_TIMEOUT` (seconds) sets `stallMs`.
 */
export interface Limits {
  /**
   * More than this many `heap` requests in flight at once is a storm, not a poller (watch asks
   * once per interval and waits for the answer). Every heap read starts with a full GC of the host
   * (V8's sampling profiler forces one when the inspector reads it), so while a storm lasts, reads
   * are spaced `heapStormIntervalMs` apart: the newest read is answered.
   */
  heapStormRequests: number;
  heapStormIntervalMs: number;
  /** `heap` and `metrics` requests arriving within this many ms of a collection share its answer */
  shareMs: number;
  /** after a heap snapshot, the next may start after max(this, the last snapshot's duration) */
  snapshotGapMs: number;
  /** CPU profiles start at most once per this many ms (a client that drops its profile early and asks again waits) */
  profileGapMs: number;
  /** a heap snapshot reader that takes nothing for this long is disconnected */
  stallMs: number;
  /**
   * Paced collections (heap, metrics, the census, stack) start at most once per `shareMs`; for the
   * census and the stack, which run on the host's main thread, also no sooner than this many
   * times the last one's duration...
   */
  costFactor: number;
  /** ... nor sooner than one slot of 1/this s per answer the last one gave (answers per second per endpoint) */
  answersPerSecond: number;
  /** answers given at once from a finished collection within `shareMs`; later requests wait for the next */
  shareBurst: number;
  /** requests waiting per endpoint (for the next collection, or for their turn); beyond, 429 */
  maxWaiting: number;
  /** cheap answers (index page, HEAD, errors) per second per endpoint, and their burst */
  cheapRate: number;
  cheapBurst: number;
}

export const DEFAULT_LIMITS: Limits = {
  heapStormRequests: 8,
  heapStormIntervalMs: 60_000,
  shareMs: 1000,
  snapshotGapMs: 2000,
  profileGapMs: 1000,
  stallMs: 30_000,
  costFactor: 10,
  answersPerSecond: 25,
  shareBurst: 8,
  maxWaiting: 256,
  cheapRate: 20,
  cheapBurst: 20,
};

export function limitsFromEnv(env: Record<string, string | undefined>): Limits {
  const l = { ...DEFAULT_LIMITS };
  const stall = env.LEAKSCOPE_STALL_TIMEOUT;
  if (stall !== undefined && /^\d{1,6}$/.test(stall) && Number(stall) > 0) l.stallMs = Number(stall) * 1000;
  return l;
}

/** A complete answer, computed once and sent to every request that shares it. */
interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array | string;
}

/** A paced census, with its encoded answers (by endpoint and debug level) made once. */
interface SharedCensus {
  at: number;
  entries: CensusEntry[];
  notes: string[];
  answers: Map<string, Answer>;
}

/** A paced stack, with its text made once. */
interface SharedStack {
  frames: V8CallFrame[] | undefined;
  text?: string;
}

/** A sampling heap profile read at `at` (ms); V8 ran a full GC just before (see rawHeap). */
interface RawHeap {
  at: number;
  profile: Promise<V8SamplingHeapProfile>;
  /** encoded answers by path and debug level (`heap:0`), made once */
  answers: Map<string, Promise<Answer>>;
  /** encoded deltas ending at this read, by path, the start of their first read and their seconds: made once */
  deltas: Map<string, Answer>;
}

/** the body of a snapshot goes out in pieces of this size, each after the previous one drained */
const SNAPSHOT_CHUNK = 64 * 1024;

const CONTENT_TYPES: Record<string, string> = {
  '': 'text/html; charset=utf-8',
  heap: 'application/octet-stream',
  profile: 'application/octet-stream',
  goroutine: 'application/octet-stream',
  async: 'application/octet-stream',
  stack: 'text/plain; charset=utf-8',
  heapsnapshot: 'application/json',
  metrics: 'text/plain; version=0.0.4; charset=utf-8',
  ...Object.fromEntries(Object.keys(SCRAPE_PATHS).map((k) => [k, 'application/octet-stream'])),
};

function secs(ms: number): string {
  return (ms / 1000).toFixed(1);
}

const PREFIX = '/debug/pprof';

interface EndpointInfo {
  name: string;
  link: string;
  doc: string;
}

const INDEX: EndpointInfo[] = [
  { name: 'async', link: 'async?debug=1', doc: 'Live async resources (timers, immediates, sockets, servers, pending requests) counted by the location of their callback, without pausing the service. Same data as goroutine. promises=1 adds pending promises and walk=1 finds timers made before the agent started; both walk the heap and pause the service.' },
  { name: 'goroutine', link: 'goroutine?debug=1', doc: 'The async census as a goroutine/count profile, for Go tooling. debug=2 prints the main thread\'s JavaScript stack.' },
  { name: 'heap', link: 'heap?debug=1', doc: 'A sampling of live heap allocations (V8 sampling heap profiler): inuse_objects and inuse_space. gc=1 collects garbage first; seconds=N gives the delta over N seconds; debug=1 gives text.' },
  { name: 'heapsnapshot', link: 'heapsnapshot', doc: 'A full V8 heap snapshot (.heapsnapshot). The process pauses while it is written and memory can double.' },
  { name: 'metrics', link: 'metrics', doc: 'Prometheus metrics: heap spaces, RSS, external and ArrayBuffer memory, GC pauses by kind, event-loop delay, active resources.' },
  { name: 'profile', link: 'profile?seconds=30', doc: 'CPU profile of the main thread. seconds (1-300, default 30) sets the duration; one at a time.' },
  { name: 'stack', link: 'stack', doc: 'The main thread\'s current JavaScript stack, even when the event loop is blocked.' },
  ...SCRAPE_INDEX,
].sort((a, b) => a.name.localeCompare(b.name));

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function indexPage(): string {
  const rows = INDEX.map((e) => `<tr><td><a href="${e.link}">${e.name}</a></td><td>${escapeHtml(e.doc)}</td></tr>`).join('\n');
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>/debug/pprof/</title>
<style>body{font-family:sans-serif}td{padding:2px 12px;vertical-align:top}</style></head>
<body>
<p>/debug/pprof/ — leakscope agent for Node ${escapeHtml(process.version)}, pid ${process.pid}</p>
<p>Profiles are gzipped pprof protobuf: <code>go tool pprof -top http://HOST/debug/pprof/heap</code>,
<code>leakscope top …</code>. Set debug=1 on async or goroutine for text.</p>
<table>
${rows}
</table>
<p><a href="goroutine?debug=2">main thread stack (goroutine?debug=2)</a></p>
</body></html>
`;
}

/** Integer query parameter within bounds, or a 400 that says what is allowed. */
export function intParam(q: URLSearchParams, name: string, min: number, max: number, def: number | undefined): number | undefined {
  const v = q.get(name);
  if (v === null) return def;
  if (!/^\d{1,9}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new AgentHttpError(400, `${name} must be an integer from ${min} to ${max} (got '${v.slice(0, 40)}')`);
  }
  return Number(v);
}

function flagParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '0' || v === 'false') return false;
  if (v === '1' || v === 'true' || v === '') return true;
  throw new AgentHttpError(400, `${name} must be 0 or 1 (got '${v.slice(0, 40)}')`);
}

function debugParam(q: URLSearchParams, allowed: number[]): number {
  const v = q.get('debug');
  if (v === null) return 0;
  if (!/^\d$/.test(v) || !allowed.includes(Number(v))) {
    throw new AgentHttpError(400, `debug must be one of ${allowed.join(', ')} here (got '${v.slice(0, 40)}')`);
  }
  return Number(v);
}

const KNOWN = new Set(['', 'heap', 'profile', 'goroutine', 'async', 'stack', 'heapsnapshot', 'metrics', ...Object.keys(SCRAPE_PATHS)]);

/** The endpoint a request's cheap answers are paced under: its name when known, else 'unknown'. */
function gateKey(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const name = (path.startsWith(`${PREFIX}/`) ? path.slice(PREFIX.length) : path).replace(/^\/+/, '');
  return KNOWN.has(name) ? name : 'unknown';
}

function sha(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function nowNanos(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export class Endpoints {
  private readonly scripts: ScriptUrls;
  private readonly resolver: FrameResolver;
  private readonly tokenDigest: Buffer | undefined;
  private cpuBusy = false;
  private snapshotBusy = false;
  private trackBusy = false;
  private sampling = false;
  private mainSeq = 0;
  private readonly mainWaiters = new Map<number, (r: MainReply) => void>();
  private stackWaiter: ((frames: V8CallFrame[]) => void) | undefined;
  private closed = false;
  private readonly censusPacers = new Map<string, Pacer<SharedCensus>>();
  private readonly stackPacer: Pacer<SharedStack>;
  private readonly heapPacers: Record<'gc' | 'plain', Pacer<{ raw: RawHeap; skipped: string | undefined }>>;
  private readonly metricsPacer: Pacer<{ at: number; answer: Answer }>;
  /** token buckets for cheap answers, by endpoint (a bounded set of keys) */
  private readonly gates = new Map<string, Gate>();
  /** `heap` requests in flight */
  private heapRequestsWaiting = 0;
  /** the newest sampling heap profile read for `gc=1` requests and for plain ones */
  private readonly rawHeaps = new Map<'gc' | 'plain', RawHeap>();
  private lastSnapshotEnd = 0;
  private lastSnapshotMs = 0;
  private lastProfileStart = 0;

  constructor(
    private readonly insp: Inspector,
    private readonly opts: ResolvedOptions,
    private readonly mainPort: MessagePort,
    private readonly limits: Limits = DEFAULT_LIMITS,
  ) {
    this.scripts = new ScriptUrls(insp);
    this.resolver = opts.sourceMaps ? new SourceMapResolver().resolve : defaultResolveFrame;
    this.tokenDigest = opts.token ? sha(opts.token) : undefined;
    this.stackPacer = this.pacer(async () => ({ frames: await this.pauseForStack() }), true);
    const heapRead = (gc: boolean) => async () => {
      const r = this.rawHeap(gc, Date.now(), true);
      await r.raw.profile;
      return r;
    };
    // Not paced by duration (each read is a full GC on the main thread, but its duration on a
    // loaded host is mostly waiting, and watch already spaces out polls that take long: pacing by
    // duration as well made watch poll heap every 6-8 intervals on the accuracy services)
    this.heapPacers = { gc: this.pacer(heapRead(true)), plain: this.pacer(heapRead(false)) };
    this.metricsPacer = this.pacer(async (): Promise<{ at: number; answer: Answer }> => {
      const at = Date.now();
      const r = (await this.askMain({ op: 'metrics' }, 10_000)) as { contentType: string; body: string };
      // encoded once: every answer from this collection writes the same bytes
      const body = Buffer.from(r.body, 'utf8');
      return { at, answer: { status: 200, headers: { 'Content-Type': r.contentType, 'X-Content-Type-Options': 'nosniff', 'Content-Length': String(body.length) }, body } };
    });
    mainPort.on('message', (r: MainReply) => {
      const w = this.mainWaiters.get(r.id);
      if (w) {
        this.mainWaiters.delete(r.id);
        w(r);
      }
    });
    // A pause we asked for is answered with a stack; any pause resumes at once, so the host is
    // never left stopped by the agent.
    insp.session.on('Debugger.paused', (m: { params: { callFrames: PausedFrame[] } }) => {
      const w = this.stackWaiter;
      this.stackWaiter = undefined;
      if (w) {
        w(
          m.params.callFrames.map((cf) => ({
            functionName: cf.functionName,
            scriptId: cf.location.scriptId,
            url: cf.url || this.scripts.urls.get(cf.location.scriptId) || '',
            lineNumber: cf.location.lineNumber,
            columnNumber: cf.location.columnNumber,
          })),
        );
      }
      this.insp.post('Debugger.resume').catch(() => {});
    });
  }

  /** Starts heap sampling (the one always-on profiler); lowers this thread's CPU priority. */
  async start(): Promise<void> {
    lowerThreadPriority();
    if (this.opts.heapInterval > 0) {
      await this.insp.post('HeapProfiler.enable');
      await this.insp.post('HeapProfiler.startSampling', { samplingInterval: this.opts.heapInterval });
      this.sampling = true;
    }
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (this.sampling) {
      this.sampling = false;
      await this.insp.post('HeapProfiler.stopSampling', {}, 5000).catch(() => {});
      await this.insp.post('HeapProfiler.disable', {}, 5000).catch(() => {});
    }
    if (this.cpuBusy) await this.insp.post('Profiler.stop', {}, 5000).catch(() => {});
    for (const w of this.mainWaiters.values()) w({ id: -1, ok: false, error: 'agent closed' });
    this.mainWaiters.clear();
  }

  private authorized(header: string | undefined): boolean {
    if (!this.tokenDigest) return true;
    // The scheme is case-insensitive (RFC 9110 §11.1). Digests have equal length whatever was
    // sent, so the comparison is constant-time.
    const m = /^bearer[ \t]+(.*)$/i.exec(header ?? '');
    return timingSafeEqual(sha(m ? m[1]!.trim() : '\0'), this.tokenDigest) && m !== null;
  }

  async handle(req: AgentRequest, reply: Reply): Promise<void> {
    try {
      await this.route(req, reply);
    } catch (e) {
      const status = e instanceof AgentHttpError ? e.status : 500;
      const msg = e instanceof Error ? e.message : String(e);
      // errors are cheap answers, paced like the others: a storm of bad requests gets them slowly
      if (!(await this.cheap(gateKey(req.url), reply))) return;
      this.sendText(reply, status, `${msg}\n`, e instanceof AgentHttpError ? e.headers : {});
    }
  }

  /** A request the listener refused (Host/Origin rule): a cheap answer, paced. */
  async refuse(reply: Reply, reason: string): Promise<void> {
    if (!(await this.cheap('refused', reply))) return;
    this.sendText(reply, 403, `${reason}\n`);
  }

  /**
   * `costly`: the collection runs on the host's main thread for much of its duration (a census, a
   * pause for the stack), so its pace follows its duration too. A metrics scrape costs the main
   * thread little; a heap read is a full GC (below), but its duration on a loaded machine is
   * mostly waiting.
   */
  private pacer<T>(collect: () => Promise<T>, costly = false): Pacer<T> {
    const l = this.limits;
    return new Pacer(collect, {
      minIntervalMs: l.shareMs,
      costFactor: costly ? l.costFactor : 0,
      answersPerSecond: l.answersPerSecond,
      maxIntervalMs: 30_000,
      burst: l.shareBurst,
      maxWaiting: l.maxWaiting,
    });
  }

  /**
   * Waits for this endpoint's turn to give a cheap answer (token bucket per endpoint): true when
   * it may be sent now; false when the client left meanwhile, or too many wait (then a 429 was sent).
   */
  private async cheap(key: string, reply: Reply): Promise<boolean> {
    let g = this.gates.get(key);
    if (!g) {
      g = new Gate({ rate: this.limits.cheapRate, burst: this.limits.cheapBurst, maxWaiting: this.limits.maxWaiting });
      this.gates.set(key, g);
    }
    const r = g.pass(reply);
    if (r === true) return true;
    if (r === 'full') {
      this.sendText(reply, 429, `too many requests are waiting for this endpoint (${this.limits.maxWaiting}); retry later\n`, { 'Retry-After': String(g.retryAfterS()) });
      return false;
    }
    return (await r) === true && !reply.closed;
  }

  /** The paced value for this request; undefined when the client left or too many wait (429 sent). */
  private async paced<T>(p: Pacer<T>, reply: Reply): Promise<T | undefined> {
    const r: Paced<T> = await p.get(reply);
    if (r.ok) return reply.closed ? undefined : r.value;
    if (r.why === 'full') {
      this.sendText(reply, 429, `too many requests are waiting for the next collection (${this.limits.maxWaiting}); retry in ${r.retryAfterS} s\n`, { 'Retry-After': String(r.retryAfterS) });
    }
    return undefined;
  }

  private sendText(reply: Reply, status: number, body: string, extra: Record<string, string> = {}): void {
    if (reply.closed) return;
    try {
      reply.head(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', ...extra });
      reply.end(body);
    } catch {
      // headers already sent (a stream failed midway): nothing more can be said
      try {
        reply.end();
      } catch {
        // ignore
      }
    }
  }

  private profileAnswer(p: Profile, filename: string): Answer {
    // every profile says when this process started: a collector sees a restart however fast
    const body = gzipSync(encodeProfile({ ...p, comments: [...p.comments, PROCESS_START] }));
    return {
      status: 200,
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Disposition': `attachment; filename="${filename}"`,
        'X-Content-Type-Options': 'nosniff',
        'Content-Length': String(body.length),
      },
      body,
    };
  }

  private sendProfile(reply: Reply, p: Profile, filename: string): void {
    if (reply.closed) return;
    this.sendAnswer(reply, this.profileAnswer(p, filename), {});
  }

  private async route(req: AgentRequest, reply: Reply): Promise<void> {
    if (this.closed) throw new AgentHttpError(503, 'the agent is shutting down');
    if (!this.authorized(req.authorization)) {
      if (!(await this.cheap('unauthorized', reply))) return;
      this.sendText(reply, 401, 'unauthorized: send Authorization: Bearer <token>\n', { 'WWW-Authenticate': 'Bearer realm="leakscope"' });
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url, 'http://agent');
    } catch {
      throw new AgentHttpError(400, 'bad request URL');
    }
    let path = url.pathname;
    if (path === PREFIX) {
      if (!(await this.cheap('', reply))) return;
      reply.head(301, { Location: `${PREFIX}/${url.search}`, 'Content-Type': 'text/plain' });
      reply.end(`${PREFIX}/\n`);
      return;
    }
    if (path.startsWith(`${PREFIX}/`)) path = path.slice(PREFIX.length);
    const name = path.replace(/^\/+/, '');
    const known = new Set(['', 'heap', 'profile', 'goroutine', 'async', 'stack', 'heapsnapshot', 'metrics', ...Object.keys(SCRAPE_PATHS)]);
    if (!known.has(name)) throw new AgentHttpError(404, `unknown profile: ${name.slice(0, 80)} (see ${PREFIX}/ for the list)`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (!(await this.cheap(name, reply))) return;
      this.sendText(reply, 405, 'method not allowed: use GET\n', { Allow: 'GET' });
      return;
    }
    if (req.method === 'HEAD') {
      // Headers only, and nothing is collected: a HEAD must never pause the host or take a snapshot.
      if (!(await this.cheap(name, reply))) return;
      reply.head(200, { 'Content-Type': CONTENT_TYPES[name]!, 'X-Content-Type-Options': 'nosniff' });
      reply.end();
      return;
    }
    const q = url.searchParams;
    switch (name) {
      case '':
        if (!(await this.cheap('', reply))) return;
        reply.head(200, { 'Content-Type': 'text/html; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        reply.end(indexPage());
        return;
      case 'heap':
        return this.heap(q, reply);
      case 'profile':
        return this.profile(q, reply);
      case 'goroutine':
      case 'async':
        return this.async(q, reply, name);
      case 'stack':
        debugParam(q, [0, 1, 2]);
        return this.stack(reply);
      case 'heapsnapshot':
        return this.heapsnapshot(q, reply);
      case 'metrics':
        return this.metrics(reply);
    }
    // the paths continuous profilers scrape (scrape-paths.ts)
    if (SCRAPE_PATHS[name] === 'heap') return this.heap(q, reply, name);
    debugParam(q, [0]);
    intParam(q, 'seconds', 1, 300, undefined);
    // an empty profile is cheap, but a storm of them goes through the endpoint's token bucket
    if (!(await this.cheap(name, reply))) return;
    this.sendProfile(reply, emptyContentionProfile(nowNanos(), `${name}: no mutex or block contention in a Node process (what Go answers with that profiling off)`), name);
  }

  private async wait(seconds: number, reply: Reply): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, seconds * 1000);
      reply.onClose(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /**
   * Says whether the client is still there: work is started only for clients that wait for it.
   */
  private async stillWanted(reply: Reply): Promise<boolean> {
    // A client that sent its request and closed at once is seen as closed some milliseconds
    // later (about 13 ms on loopback): wait that long at most before starting work for it.
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 25);
      reply.onClose(() => {
        clearTimeout(t);
        resolve();
      });
    });
    return !reply.closed && !this.closed;
  }

  /** 429 with Retry-After when `readyAt` (ms) is still ahead (thrown: a cheap answer, paced). */
  private tooSoon(readyAt: number, why: string): void {
    const wait = readyAt - Date.now();
    if (wait <= 0) return;
    const s = Math.max(1, Math.ceil(wait / 1000));
    throw new AgentHttpError(429, `${why}; retry in ${s} s`, { 'Retry-After': String(s) });
  }

  private sendAnswer(reply: Reply, a: Answer, extra: Record<string, string>): void {
    if (reply.closed) return;
    reply.head(a.status, { ...a.headers, ...extra });
    reply.end(a.body);
  }

  /**
   * The sampling heap profile for a request that arrived at `notBefore` or later is any read that
   * started at `notBefore` or later (requests share one read, and its encoding; `gc=1` requests
   * share only reads made for `gc=1`). Every read starts with a full GC of the host: the inspector
   * starts V8's sampling profiler with kSamplingForceGC, and V8 collects all garbage before it
   * builds the profile (`--trace-gc` prints "sampling profiler"), so `gc=1` needs no GC of its own.
   * While more than heapStormRequests heap requests are in flight, a `stormShare` read (a paced
   * answer) is the newest read of either kind if it is less than heapStormIntervalMs old, and
   * `skipped` says so. The two reads of a `seconds=N` delta never are: an older read would make
   * its delta short or empty (they are shared by the requests that started with the same read).
   */
  private rawHeap(gc: boolean, notBefore: number, stormShare: boolean): { raw: RawHeap; skipped: string | undefined } {
    const now = Date.now();
    const kind = gc ? 'gc' : 'plain';
    const last = this.rawHeaps.get(kind);
    if (last && last.at >= notBefore) return { raw: last, skipped: undefined };
    if (stormShare && this.heapRequestsWaiting > this.limits.heapStormRequests) {
      const g = this.rawHeaps.get('gc');
      const p = this.rawHeaps.get('plain');
      const newest = g && p ? (g.at >= p.at ? g : p) : (g ?? p);
      if (newest && now - newest.at < this.limits.heapStormIntervalMs) {
        const skipped = `skipped: the last read (and its full GC) ran ${secs(now - newest.at)} s ago; at most one every ${secs(this.limits.heapStormIntervalMs)} s while more than ${this.limits.heapStormRequests} heap requests at once are waiting`;
        return { raw: newest, skipped };
      }
    }
    const raw: RawHeap = {
      at: now,
      profile: (async () => {
        const r = await this.insp.post<{ profile: V8SamplingHeapProfile }>('HeapProfiler.getSamplingProfile', {}, 60_000);
        return r.profile;
      })(),
      answers: new Map(),
      deltas: new Map(),
    };
    // a failed read is shared by the requests waiting on it, not by later ones
    raw.profile.catch(() => {
      if (this.rawHeaps.get(kind) === raw) this.rawHeaps.delete(kind);
    });
    this.rawHeaps.set(kind, raw);
    return { raw, skipped: undefined };
  }

  private heapAnswer(raw: RawHeap, debug: number, as = 'heap'): Promise<Answer> {
    let a = raw.answers.get(`${as}:${debug}`);
    if (!a) {
      a = raw.profile.then((profile) => {
        const p = heapDeltaToPprof(undefined, profile, {
          interval: this.opts.heapInterval,
          resolve: this.resolver,
          timeNanos: BigInt(raw.at) * 1_000_000n,
          durationNanos: 0n,
          comments: [`V8 sampling heap profiler, interval ${this.opts.heapInterval} bytes; lines are function start lines`],
        });
        if (debug === 1) return { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' }, body: heapToText(p) };
        return as === 'heap' ? this.profileAnswer(p, 'heap') : this.profileAnswer(stampAddresses(p), as);
      });
      raw.answers.set(`${as}:${debug}`, a);
    }
    return a;
  }

  private async heap(q: URLSearchParams, reply: Reply, as = 'heap'): Promise<void> {
    const gc = flagParam(q, 'gc');
    const seconds = intParam(q, 'seconds', 1, 300, undefined);
    const debug = debugParam(q, [0, 1]);
    if (seconds !== undefined && debug !== 0) throw new AgentHttpError(400, 'seconds and debug params are incompatible');
    if (!this.sampling) throw new AgentHttpError(503, 'heap sampling is off (heap interval 0)');
    const arrived = Date.now();
    this.heapRequestsWaiting++;
    try {
      return await this.heapRequest({ as, gc, seconds, debug, arrived }, reply);
    } finally {
      this.heapRequestsWaiting--;
    }
  }

  private async heapRequest(r: { as: string; gc: boolean; seconds: number | undefined; debug: number; arrived: number }, reply: Reply): Promise<void> {
    const { as, gc, seconds, debug, arrived } = r;
    if (!(await this.stillWanted(reply))) return;
    const gcHeader = (h: RawHeap, skipped: string | undefined): Record<string, string> =>
      skipped ? { 'X-Leakscope-Gc': skipped } : gc ? { 'X-Leakscope-Gc': `forced ${secs(Date.now() - h.at)} s ago (V8 collects before every read)` } : {};
    if (seconds === undefined) {
      // Paced: concurrent requests, and a few within shareMs of a read, share one read and one
      // encoding; later ones wait for the next read.
      const got = await this.paced(this.heapPacers[gc ? 'gc' : 'plain'], reply);
      if (!got) return;
      const { raw, skipped } = got;
      const a = await this.heapAnswer(raw, debug, as);
      this.sendAnswer(reply, a, { 'X-Leakscope-Age-Ms': String(Math.max(0, Date.now() - raw.at)), ...gcHeader(raw, skipped) });
      return;
    }
    const first = this.rawHeap(gc, arrived - this.limits.shareMs, false);
    const before = await first.raw.profile;
    const t0 = first.raw.at;
    await this.wait(Math.max(0, t0 + seconds * 1000 - Date.now()) / 1000, reply);
    if (!(await this.stillWanted(reply))) return;
    const second = this.rawHeap(gc, t0 + seconds * 1000, false);
    const after = await second.raw.profile;
    const t1 = second.raw.at;
    if (reply.closed) return;
    // requests that shared both reads share the encoding too (a storm of seconds=N costs one per read)
    const key = `${as}:${t0}:${seconds}`;
    let a = second.raw.deltas.get(key);
    if (!a) {
      const p = heapDeltaToPprof(before, after, {
        interval: this.opts.heapInterval,
        resolve: this.resolver,
        timeNanos: BigInt(t1) * 1_000_000n,
        durationNanos: BigInt(t1 - t0) * 1_000_000n,
        comments: [
          `V8 sampling heap profiler, interval ${this.opts.heapInterval} bytes; lines are function start lines`,
          `delta over ${seconds} s: newly retained samples minus freed ones`,
        ],
      });
      a = as === 'heap' ? this.profileAnswer(p, 'heap-delta') : this.profileAnswer(stampAddresses(p), `${as}-delta`);
      second.raw.deltas.set(key, a);
    }
    this.sendAnswer(reply, a, gcHeader(second.raw, second.skipped ?? first.skipped));
  }

  private async profile(q: URLSearchParams, reply: Reply): Promise<void> {
    const seconds = intParam(q, 'seconds', 1, 300, 30)!;
    debugParam(q, [0]);
    if (this.cpuBusy) {
      throw new AgentHttpError(409, 'a CPU profile is already being taken: only one runs at a time; retry when it ends');
    }
    this.tooSoon(this.lastProfileStart + this.limits.profileGapMs, `CPU profiles are rate-limited: at most one starts every ${secs(this.limits.profileGapMs)} s`);
    if (!(await this.stillWanted(reply))) return;
    if (this.cpuBusy) throw new AgentHttpError(409, 'a CPU profile is already being taken: only one runs at a time; retry when it ends');
    this.cpuBusy = true;
    this.lastProfileStart = Date.now();
    try {
      await this.insp.post('Profiler.enable');
      await this.insp.post('Profiler.setSamplingInterval', { interval: this.opts.cpuInterval });
      const t0 = nowNanos();
      await this.insp.post('Profiler.start');
      await this.wait(seconds, reply);
      const r = await this.insp.post<{ profile: V8CpuProfile }>('Profiler.stop', {}, 60_000);
      await this.insp.post('Profiler.disable').catch(() => {});
      if (reply.closed) return;
      const p = cpuProfileToPprof(r.profile, {
        intervalMicros: this.opts.cpuInterval,
        resolve: this.resolver,
        timeNanos: t0,
        comments: [`V8 CPU profiler, main thread, ${this.opts.cpuInterval} us interval`],
      });
      this.sendProfile(reply, p, 'profile');
    } finally {
      this.cpuBusy = false;
    }
  }

  private async async(q: URLSearchParams, reply: Reply, name: string): Promise<void> {
    const debug = debugParam(q, [0, 1, 2]);
    const promises = flagParam(q, 'promises');
    const walk = flagParam(q, 'walk');
    const stacks = flagParam(q, 'stacks');
    const seconds = intParam(q, 'seconds', 1, 60, undefined);
    if (debug === 2) return this.stack(reply);
    if (!(await this.stillWanted(reply))) return;
    if (stacks) {
      let entries: CensusEntry[];
      let notes: string[] = [];
      if (!this.opts.asyncStacks) {
        throw new AgentHttpError(400, 'stacks=1 needs creation-stack tracking: start the agent with LEAKSCOPE_ASYNC_STACKS=1 (asyncStacks: true)');
      }
      if (seconds === undefined) throw new AgentHttpError(400, 'stacks=1 needs seconds=N (1-60): resources created during the window and alive at its end are reported');
      if (this.trackBusy) throw new AgentHttpError(409, 'a creation-stack window is already running; one at a time');
      this.trackBusy = true;
      try {
        const groups = (await this.askMain({ op: 'track', seconds, promises }, (seconds + 10) * 1000)) as TrackedGroup[];
        entries = groups.map((g) => ({ type: g.type, stack: parseStack(g.stack), count: g.count, labels: g.labels }));
        notes = [`creation stacks of async resources created in the last ${seconds} s and still alive (async_hooks window)`];
      } finally {
        this.trackBusy = false;
      }
      if (reply.closed) return;
      if (debug === 1) {
        reply.head(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        reply.end(censusToText(entries, this.resolver, notes));
        return;
      }
      this.sendProfile(reply, censusToPprof(entries, { resolve: this.resolver, timeNanos: nowNanos(), comments: notes }), name);
      return;
    }
    if (seconds !== undefined) throw new AgentHttpError(400, 'seconds is only allowed with stacks=1');
    // Paced: concurrent requests share one census, and its encodings (promises=1 and walk=1 walk
    // the whole heap; their census is slow, and so is its pace: costFactor times its duration).
    const key = `${promises ? 'promises' : 'plain'}${walk ? '+walk' : ''}`;
    let pacer = this.censusPacers.get(key);
    if (!pacer) {
      pacer = this.pacer(async () => {
        const at = Date.now();
        const c = await takeCensus(this.insp, this.scripts, { promises, walk });
        return { at, entries: c.entries, notes: c.notes, answers: new Map() };
      }, true);
      this.censusPacers.set(key, pacer);
    }
    const c = await this.paced(pacer, reply);
    if (!c) return;
    const form = `${name}:${debug}`;
    let a = c.answers.get(form);
    if (!a) {
      a =
        debug === 1
          ? { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' }, body: censusToText(c.entries, this.resolver, c.notes) }
          : this.profileAnswer(censusToPprof(c.entries, { resolve: this.resolver, timeNanos: BigInt(c.at) * 1_000_000n, comments: c.notes }), name);
      c.answers.set(form, a);
    }
    this.sendAnswer(reply, a, { 'X-Leakscope-Age-Ms': String(Math.max(0, Date.now() - c.at)) });
  }

  private async stack(reply: Reply): Promise<void> {
    if (!(await this.stillWanted(reply))) return;
    // Paced: concurrent requests share one pause of the main thread.
    const s = await this.paced(this.stackPacer, reply);
    if (!s) return;
    s.text ??=
      !s.frames || s.frames.length === 0
        ? 'main thread [idle]:\nno JavaScript is running: the event loop is waiting for I/O or timers\n'
        : stackToText('main thread [running JavaScript]:', s.frames, this.resolver);
    reply.head(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
    reply.end(s.text);
  }

  private pauseForStack(): Promise<V8CallFrame[] | undefined> {
    return this.insp.exclusive('debugger', async () => {
      const got = new Promise<V8CallFrame[] | undefined>((resolve) => {
        const t = setTimeout(() => {
          this.stackWaiter = undefined;
          resolve(undefined);
        }, 300);
        this.stackWaiter = (f) => {
          clearTimeout(t);
          resolve(f);
        };
      });
      try {
        await this.insp.enableDebugger();
        await this.insp.post('Debugger.pause');
        const frames = await got;
        // No JavaScript ran within the wait: the pause request is still pending and only
        // disabling the Debugger withdraws it.
        if (frames === undefined) await this.insp.disableDebugger();
        return frames;
      } finally {
        this.stackWaiter = undefined;
      }
    });
  }

  /**
   * A heap snapshot: V8 writes it straight into a temporary file (the host's memory then peaks as
   * for an in-process `v8.writeHeapSnapshot`: nothing of the body is buffered), and the file is
   * sent from there at the client's pace. A reader that takes nothing for `stallMs` is dropped; the
   * file is removed whatever happens. One at a time, then a gap of max(snapshotGapMs, the last
   * snapshot's duration): back-to-back snapshots cannot keep the host paused more than half the time.
   */
  private async heapsnapshot(q: URLSearchParams, reply: Reply): Promise<void> {
    // V8 collects garbage before every snapshot: gc=1 is accepted and changes nothing.
    flagParam(q, 'gc');
    if (this.snapshotBusy) throw new AgentHttpError(409, 'a heap snapshot is already being taken: only one at a time');
    const gap = Math.max(this.limits.snapshotGapMs, this.lastSnapshotMs);
    this.tooSoon(this.lastSnapshotEnd + gap, `heap snapshots are rate-limited: the last one ended ${secs(Date.now() - this.lastSnapshotEnd)} s ago and the next may start ${secs(gap)} s after it`);
    if (!(await this.stillWanted(reply))) return;
    if (this.snapshotBusy) throw new AgentHttpError(409, 'a heap snapshot is already being taken: only one at a time');
    this.snapshotBusy = true;
    let dir: string | undefined;
    try {
      try {
        dir = await mkdtemp(join(tmpdir(), 'leakscope-snapshot-'));
      } catch (e) {
        throw new AgentHttpError(503, `cannot write a heap snapshot in ${tmpdir()} (${(e as Error).message}); set TMPDIR to a writable directory with room for it`);
      }
      const file = join(dir, 'heap.heapsnapshot');
      const t0 = Date.now();
      let size: number;
      try {
        size = await this.writeSnapshot(file);
      } finally {
        this.lastSnapshotEnd = Date.now();
        this.lastSnapshotMs = this.lastSnapshotEnd - t0;
      }
      if (reply.closed) return;
      reply.head(200, {
        'Content-Type': 'application/json',
        'Content-Disposition': 'attachment; filename="heap.heapsnapshot"',
        'X-Content-Type-Options': 'nosniff',
        'Content-Length': String(size),
      });
      await this.sendFile(file, size, reply);
    } finally {
      this.snapshotBusy = false;
      if (dir) await rm(dir, { recursive: true, force: true }).catch(() => {});
    }
  }

  /** Has the main isolate write its heap snapshot to `file` (works while its event loop is blocked). */
  private async writeSnapshot(file: string): Promise<number> {
    const r = await this.insp.post<{ result: { value?: unknown }; exceptionDetails?: { text?: string; exception?: { description?: string } } }>(
      'Runtime.evaluate',
      { expression: `globalThis[Symbol.for(${JSON.stringify(STASH_KEY)})].writeSnapshot(${JSON.stringify(file)})`, returnByValue: true, silent: true },
      30 * 60_000,
    );
    if (r.exceptionDetails || typeof r.result.value !== 'number') {
      const why = (r.exceptionDetails?.exception?.description ?? r.exceptionDetails?.text ?? 'no result').split('\n')[0];
      throw new AgentHttpError(503, `the heap snapshot could not be written to ${file}: ${why}`);
    }
    return r.result.value;
  }

  /** Sends `size` bytes of `file`, each piece once the previous one drained; drops a stalled reader. */
  private async sendFile(file: string, size: number, reply: Reply): Promise<void> {
    const fh = await open(file, 'r');
    try {
      let pos = 0;
      while (pos < size) {
        if (reply.closed) return;
        const b = Buffer.allocUnsafe(Math.min(SNAPSHOT_CHUNK, size - pos));
        const { bytesRead } = await fh.read(b, 0, b.length, pos);
        if (bytesRead === 0) break;
        pos += bytesRead;
        if (!reply.write(bytesRead === b.length ? b : b.subarray(0, bytesRead)) && !(await this.drained(reply))) {
          reply.abort();
          return;
        }
      }
      if (!reply.closed) reply.end();
    } finally {
      await fh.close().catch(() => {});
    }
  }

  /** true once the reply drained; false when the client left or took nothing for stallMs */
  private drained(reply: Reply): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let done = false;
      const finish = (v: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(t);
        resolve(v);
      };
      const t = setTimeout(() => finish(false), this.limits.stallMs);
      reply.onDrain(() => finish(!reply.closed));
      reply.onClose(() => finish(false));
    });
  }

  /** Paced: concurrent scrapes, and a few within shareMs of one, share one answer from the main thread. */
  private async metrics(reply: Reply): Promise<void> {
    if (!(await this.stillWanted(reply))) return;
    const m = await this.paced(this.metricsPacer, reply);
    if (!m) return;
    this.sendAnswer(reply, m.answer, { 'X-Leakscope-Age-Ms': String(Math.max(0, Date.now() - m.at)) });
  }

  private askMain(m: { op: 'metrics' } | { op: 'track'; seconds: number; promises: boolean }, timeoutMs: number): Promise<unknown> {
    const id = ++this.mainSeq;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.mainWaiters.delete(id);
        reject(new AgentHttpError(503, `the main thread did not answer within ${timeoutMs} ms (is its event loop blocked?)`));
      }, timeoutMs);
      this.mainWaiters.set(id, (r) => {
        clearTimeout(t);
        if (r.ok) resolve(r.value);
        else reject(new AgentHttpError(r.id === -1 ? 503 : 400, r.error));
      });
      const msg: MainRequest = { ...m, id };
      this.mainPort.postMessage(msg);
    });
  }
}

/**
 * Runs the calling thread (the agent worker) at nice 10 on Linux, where priority is per thread:
 * when the host's main thread and the agent compete for a core (a storm of agent requests on a
 * busy host), the host wins about nine tenths of it and the agent still answers. Elsewhere, or
 * when /proc is not there, nothing changes.
 */
function lowerThreadPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0 && tid !== process.pid) setPriority(tid, Math.max(getPriority(tid), 10));
  } catch {
    // not Linux, or not allowed: the agent runs at the host's priority
  }
}

interface PausedFrame {
  functionName: string;
  url?: string;
  location: { scriptId: string; lineNumber: number; columnNumber: number };
}

/** V8 stack trace text (`    at fn (file:line:col)`) → frames, dropping node internals. */
export function parseStack(text: string): V8CallFrame[] {
  const out: V8CallFrame[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('at ')) continue;
    let body = line.slice(3);
    let name = '';
    const m = /^(.*?) \((.*)\)$/.exec(body);
    if (m) {
      name = m[1]!;
      body = m[2]!;
    }
    const pos = /^(.*):(\d+):(\d+)$/.exec(body);
    if (!pos) continue;
    const url = pos[1]!;
    if (url.startsWith('node:') || url.endsWith('/agent/main-services.js')) continue;
    if (name.startsWith('async ')) name = name.slice(6);
    out.push({ functionName: name, url, lineNumber: Number(pos[2]) - 1, columnNumber: Number(pos[3]) - 1 });
  }
  return out;
}
