/**
 * The part of the agent that must run on the host's main thread: the prototypes the census asks
 * the inspector about, Prometheus metrics of the main isolate and event loop, and opt-in
 * creation-stack windows (async_hooks lives per thread). Everything here is answered over a
 * MessagePort that never keeps the process alive.
 */
import { createHook, type AsyncHook } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { statSync } from 'node:fs';
import { Server, Socket } from 'node:net';
import { type IntervalHistogram, PerformanceObserver, monitorEventLoopDelay, constants as perfConstants } from 'node:perf_hooks';
import { getHeapStatistics, writeHeapSnapshot } from 'node:v8';
import type { MessagePort } from 'node:worker_threads';
import * as prom from 'prom-client';
import { type Labels, labelState, startRecordingLabels, stopRecordingLabels } from './labels.js';
import { STASH_KEY } from './options.js';
import { WRAPPER_URL, installTimerRegistry, uninstallTimerRegistry } from './timer-registry.js';

/** Objects the worker reaches through `Runtime.evaluate` (held under a global symbol, non-enumerable). */
export interface Stash {
  Timeout: object;
  Immediate: object;
  Socket: object;
  Server: object;
  EventEmitter: object;
  SocketClass: Function;
  ServerClass: Function;
  Promise: object;
  activeRequests: () => unknown[];
  activeResources: () => string[];
  /** the live timers created since the agent started (see timer-registry.ts) */
  liveTimers: () => object[];
  /** true when some timers went unrecorded because the registry was full */
  timersCapped: () => boolean;
  /** libuv handles' JS objects: sockets, servers, child processes (no timers) */
  activeHandles: () => unknown[];
  /**
   * Writes a heap snapshot of this isolate to `path` (V8 serialises straight into the file, so
   * nothing but V8's own snapshot graph is held in memory) and returns its size in bytes. The
   * worker calls it through `Runtime.evaluate`, which runs even while the event loop is blocked.
   */
  writeSnapshot: (path: string) => number;
}

export function installStash(): void {
  const g = globalThis as Record<symbol, unknown>;
  const key = Symbol.for(STASH_KEY);
  if (g[key]) return;
  const t = setTimeout(() => {}, 0);
  const timeoutProto = Object.getPrototypeOf(t) as object;
  clearTimeout(t);
  const i = setImmediate(() => {});
  const immediateProto = Object.getPrototypeOf(i) as object;
  clearImmediate(i);
  const p = process as unknown as {
    _getActiveRequests?: () => unknown[];
    _getActiveHandles?: () => unknown[];
    getActiveResourcesInfo?: () => string[];
  };
  const timers = installTimerRegistry();
  const stash: Stash = {
    Timeout: timeoutProto,
    Immediate: immediateProto,
    Socket: Socket.prototype,
    Server: Server.prototype,
    EventEmitter: EventEmitter.prototype,
    SocketClass: Socket,
    ServerClass: Server,
    Promise: Promise.prototype,
    activeRequests: () => (typeof p._getActiveRequests === 'function' ? p._getActiveRequests() : []),
    activeResources: () => (typeof p.getActiveResourcesInfo === 'function' ? p.getActiveResourcesInfo() : []),
    liveTimers: () => timers.prune(),
    timersCapped: () => timers.capped,
    activeHandles: () => (typeof p._getActiveHandles === 'function' ? p._getActiveHandles() : []),
    writeSnapshot: (path: string) => {
      writeHeapSnapshot(path);
      return statSync(path).size;
    },
  };
  Object.defineProperty(globalThis, key, { value: stash, enumerable: false, configurable: true });
}

export function removeStash(): void {
  uninstallTimerRegistry();
  delete (globalThis as Record<symbol, unknown>)[Symbol.for(STASH_KEY)];
}

// ---------------------------------------------------------------------------------------------
// Metrics

const GC_KINDS: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/** upper bounds (seconds) of `nodejs_eventloop_delay_seconds`' buckets */
export const EVENT_LOOP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** the delay monitor's timer period (ms); prom-client's own monitor uses the same */
const DELAY_RESOLUTION_MS = 10;

/**
 * `nodejs_eventloop_delay_seconds`, a cumulative histogram of event-loop delay (how late the
 * loop ran a timer due every 10 ms, beyond those 10 ms). The samples come from Node's native
 * monitor (`monitorEventLoopDelay`: a libuv timer, no JavaScript runs and the async census does
 * not see it). At each scrape the monitor's recordings since the last one are added to the
 * buckets (count at or under a bound: the highest percentile whose value is at or under it,
 * HdrHistogram's precision of 3 significant digits) and the monitor starts afresh.
 */
class EventLoopDelayHistogram {
  readonly name = 'nodejs_eventloop_delay_seconds';
  readonly help = 'Event-loop delay: how late a timer due every 10 ms ran, sampled every 10 ms by Node\'s native monitor.';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly monitor: IntervalHistogram = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
  private readonly counts = EVENT_LOOP_BUCKETS.map(() => 0);
  private count = 0;
  private sum = 0;

  constructor() {
    this.monitor.enable();
  }

  private fold(): void {
    const h = this.monitor;
    const n = h.count;
    if (n === 0) return;
    const res = DELAY_RESOLUTION_MS * 1e6;
    EVENT_LOOP_BUCKETS.forEach((b, i) => {
      this.counts[i]! += Math.round((n * atOrUnder(h, b * 1e9 + res)) / 100);
    });
    this.count += n;
    this.sum += (Math.max(0, h.mean - res) * n) / 1e9;
    h.reset();
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: { value: number; labels: Record<string, string | number>; metricName: string }[] } {
    this.fold();
    const values: { value: number; labels: Record<string, string | number>; metricName: string }[] = EVENT_LOOP_BUCKETS.map((b, i) => ({ value: this.counts[i]!, labels: { le: b }, metricName: `${this.name}_bucket` }));
    values.push({ value: this.count, labels: { le: '+Inf' }, metricName: `${this.name}_bucket` });
    values.push({ value: this.sum, labels: {}, metricName: `${this.name}_sum` });
    values.push({ value: this.count, labels: {}, metricName: `${this.name}_count` });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  close(): void {
    this.monitor.disable();
  }
}

/** The percentage of `h`'s recordings at or under `v` (ns), by bisection on its percentiles. */
function atOrUnder(h: IntervalHistogram, v: number): number {
  if (h.min > v) return 0;
  if (h.max <= v) return 100;
  let lo = 0;
  let hi = 100;
  for (let k = 0; k < 24; k++) {
    const mid = (lo + hi) / 2;
    if (h.percentile(mid) <= v) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** process.constrainedMemory(): the cgroup limit, or undefined when there is none (Node answers 0 or 2^64). */
function containerLimit(): number | undefined {
  const f = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory;
  const v = typeof f === 'function' ? f.call(process) : undefined;
  return v !== undefined && v > 0 && v < 2 ** 62 ? v : undefined;
}

/**
 * The agent's Prometheus registry: prom-client's default Node metrics under their own names
 * (dashboards rely on them), plus the series leakscope's rules need (README, "Prometheus").
 */
export class Metrics {
  readonly registry = new prom.Registry();
  private readonly gcObserver: PerformanceObserver;
  private readonly delay = new EventLoopDelayHistogram();

  constructor() {
    prom.collectDefaultMetrics({ register: this.registry });
    // prom-client's collector observes only the first entry of each batch of GC entries, which
    // loses GC events; count every entry ourselves under the same name.
    this.registry.removeSingleMetric('nodejs_gc_duration_seconds');
    const gc = new prom.Histogram({
      name: 'nodejs_gc_duration_seconds',
      help: 'Garbage collection duration by kind (every GC entry counted).',
      labelNames: ['kind'],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [this.registry],
    });
    // every kind is there from the first scrape (a series that appears only at its first GC makes
    // rate() over it start late)
    for (const kind of Object.values(GC_KINDS)) gc.zero({ kind });
    this.gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const detail = (e as unknown as { detail?: { kind?: number } }).detail;
        const kind = GC_KINDS[detail?.kind ?? -1] ?? 'unknown';
        gc.labels(kind).observe(e.duration / 1000);
      }
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
    new prom.Gauge({
      name: 'nodejs_array_buffers_bytes',
      help: 'Memory held by ArrayBuffers and SharedArrayBuffers, including Node Buffers.',
      registers: [this.registry],
      collect() {
        this.set(process.memoryUsage().arrayBuffers);
      },
    });
    new prom.Gauge({
      name: 'nodejs_heap_size_limit_bytes',
      help: 'The V8 heap size limit (--max-old-space-size): past it the process dies with "JavaScript heap out of memory".',
      registers: [this.registry],
      collect() {
        this.set(getHeapStatistics().heap_size_limit);
      },
    });
    if (containerLimit() !== undefined) {
      new prom.Gauge({
        name: 'nodejs_memory_limit_bytes',
        help: 'The memory limit of the control group (container) the process runs in, from process.constrainedMemory().',
        registers: [this.registry],
        collect() {
          const v = containerLimit();
          if (v !== undefined) this.set(v);
        },
      });
    }
    this.registry.registerMetric(this.delay as unknown as prom.Metric);
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  close(): void {
    this.gcObserver.disconnect();
    this.delay.close();
    // collectDefaultMetrics' own observers and event-loop monitor are reachable only through the
    // registry; clearing it drops the collectors' references.
    this.registry.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// Creation-stack windows (opt-in)

export interface TrackedGroup {
  type: string;
  stack: string;
  count: number;
  /** the labels (leakscope/labels) current where these resources were created, when there were any */
  labels?: Labels;
}

/**
 * Records the creation stack of every async resource created during the window and still alive at
 * its end, with the labels (leakscope/labels) current at its creation. The hook costs throughput
 * while it is on (it also runs for every promise on Node 20), which is why it is opt-in and bounded
 * in time. Labels are entered only while a window records (see labels.ts).
 */
export class CreationTracker {
  private hook: AsyncHook | undefined;
  private live = new Map<number, { type: string; stack: string; labels: Labels | undefined }>();

  get active(): boolean {
    return this.hook !== undefined;
  }

  start(includePromises: boolean, maxEntries = 200_000): void {
    if (this.hook) throw new Error('a creation-stack window is already running');
    this.live = new Map();
    const live = this.live;
    const holder: { stack?: string } = {};
    const als = labelState().als;
    startRecordingLabels();
    this.hook = createHook({
      init(asyncId, type) {
        if (type === 'PROMISE' && !includePromises) return;
        if (live.size >= maxEntries) return;
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 40;
        Error.captureStackTrace(holder);
        Error.stackTraceLimit = limit;
        // in init, the current context is the creator's: its labels are the creator's
        live.set(asyncId, { type, stack: holder.stack ?? '', labels: als.getStore() });
      },
      destroy(asyncId) {
        live.delete(asyncId);
      },
      promiseResolve(asyncId) {
        live.delete(asyncId);
      },
    });
    this.hook.enable();
  }

  stop(): TrackedGroup[] {
    if (this.hook) stopRecordingLabels();
    this.hook?.disable();
    this.hook = undefined;
    const groups = new Map<string, TrackedGroup>();
    // a label set is one frozen object shared by all the work of its context: keyed once
    const labelKeys = new Map<Labels, string>();
    for (const { type, stack, labels } of this.live.values()) {
      // the agent's setTimeout/setInterval wrappers are not the caller's code
      const frames = stack
        .split('\n')
        .slice(1)
        .filter((l) => !l.includes(WRAPPER_URL))
        .join('\n');
      let lk = '';
      if (labels && Object.keys(labels).length > 0) {
        lk = labelKeys.get(labels) ?? '';
        if (lk === '') labelKeys.set(labels, (lk = JSON.stringify(Object.entries(labels).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)))));
      }
      const key = `${type}\n${frames}\n${lk}`;
      const g = groups.get(key);
      if (g) g.count++;
      else groups.set(key, lk === '' ? { type, stack: frames, count: 1 } : { type, stack: frames, count: 1, labels });
    }
    this.live = new Map();
    return [...groups.values()];
  }
}

// ---------------------------------------------------------------------------------------------
// The port

export type MainRequest =
  | { id: number; op: 'metrics' }
  | { id: number; op: 'track'; seconds: number; promises: boolean };

export type MainReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

export class MainServices {
  private metrics: Metrics | undefined;
  private readonly tracker = new CreationTracker();
  private trackTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly port: MessagePort,
    private readonly opts: { metrics: boolean; asyncStacks: boolean },
  ) {
    port.on('message', (m: MainRequest) => {
      this.handle(m).catch(() => {});
    });
    port.unref();
  }

  private reply(r: MainReply): void {
    try {
      this.port.postMessage(r);
    } catch {
      // the worker is gone; nothing to answer
    }
  }

  private async handle(m: MainRequest): Promise<void> {
    try {
      if (m.op === 'metrics') {
        if (!this.opts.metrics) throw new Error('metrics are disabled (LEAKSCOPE_METRICS=0)');
        // Collectors start at the first scrape: an agent nobody scrapes pays nothing for them.
        this.metrics ??= new Metrics();
        this.reply({ id: m.id, ok: true, value: await this.metrics.text() });
      } else if (m.op === 'track') {
        if (!this.opts.asyncStacks) throw new Error('creation-stack tracking is off; start the agent with LEAKSCOPE_ASYNC_STACKS=1 (asyncStacks: true)');
        this.tracker.start(m.promises);
        this.trackTimer = setTimeout(() => {
          this.trackTimer = undefined;
          this.reply({ id: m.id, ok: true, value: this.tracker.stop() });
        }, m.seconds * 1000);
        this.trackTimer.unref();
      }
    } catch (e) {
      this.reply({ id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }

  close(): void {
    if (this.trackTimer) clearTimeout(this.trackTimer);
    if (this.tracker.active) this.tracker.stop();
    this.metrics?.close();
    this.port.close();
  }
}
