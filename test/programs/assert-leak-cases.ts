// The cases of test/assert-leak.test.ts, one per process (a leak planted by one case must not be
// seen by the next): node dist/test/programs/assert-leak-cases.js CASE
// Prints one JSON line: { case, failed, message, result }. Written in TypeScript so that the
// reported locations must go through the source map back to this file. Lines marked LEAK:<case>
// are where each leak is stored (the test looks them up).
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { assertNoAsyncLeak, assertNoLeak, LeakAssertionError } from '../../src/testing/index.js';

// ---- heap leaks ---------------------------------------------------------------------------

class Session {
  readonly id: number;
  readonly user: { name: string; roles: string[] };
  readonly createdAt = Date.now();
  constructor(id: number) {
    this.id = id;
    this.user = { name: `user-${id}`, roles: ['reader'] };
  }
}
const sessions = new Map<number, Session>();
function login(id: number): Session {
  const s = new Session(id);
  sessions.set(id, s); // LEAK:global-map
  return s;
}

class CachedResponse {
  constructor(
    readonly url: string,
    readonly body: string,
  ) {}
}
class ResponseCache {
  private readonly entries = new Map<string, CachedResponse>();
  get(url: string): CachedResponse {
    let r = this.entries.get(url);
    if (!r) {
      r = new CachedResponse(url, `<html>${url}</html>`);
      this.entries.set(url, r); // LEAK:cache-no-ttl
    }
    return r;
  }
}
const responseCache = new ResponseCache();

const bus = new EventEmitter();
bus.setMaxListeners(0);
function subscribe(connectionId: number): void {
  const state = { connectionId, received: 0 };
  bus.on('message', (m: string) => { // LEAK:listeners
    state.received += m.length;
  });
}

const callbacks: (() => number)[] = [];
function onShutdown(i: number): void {
  const payload = new Array(8).fill(i);
  callbacks.push(() => payload.length + i); // LEAK:closures
}

// ---- no leak ------------------------------------------------------------------------------

class LruCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string, make: () => V): V {
    let v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
      return v;
    }
    v = make();
    this.map.set(key, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
    return v;
  }
}
const lru = new LruCache<{ key: string; data: number[] }>(300);

function churn(i: number): number {
  const rows = [];
  for (let k = 0; k < 200; k++) rows.push({ k, label: `row-${i}-${k}` });
  return JSON.stringify(rows).length;
}

let lazyTable: Map<number, string> | null = null;
function lookup(i: number): string {
  if (!lazyTable) {
    lazyTable = new Map();
    for (let k = 0; k < 5000; k++) lazyTable.set(k, `entry-${k}`);
  }
  return lazyTable.get(i % 5000)!;
}

// ---- async --------------------------------------------------------------------------------

function startPolling(): void {
  setInterval(() => undefined, 60_000); // LEAK:interval
}

async function openConnection(port: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const socket = net.connect(port, '127.0.0.1'); // LEAK:socket
    socket.once('connect', () => resolve());
  });
}

const replies = new Map<number, (v: string) => void>();
function request(id: number): Promise<string> {
  return new Promise<string>((resolve) => { // LEAK:promise
    replies.set(id, resolve);
  });
}

async function withTimeout(): Promise<void> {
  const t = setTimeout(() => undefined, 10_000);
  const iv = setInterval(() => undefined, 5);
  await new Promise((r) => setTimeout(r, 20));
  clearInterval(iv);
  clearTimeout(t);
}

// ---- driver -------------------------------------------------------------------------------

const which = process.argv[2];
const cases: Record<string, () => Promise<unknown>> = {
  'global-map': () => assertNoLeak((i) => login(i)),
  'cache-no-ttl': () => assertNoLeak((i) => responseCache.get(`/users/${i}`)),
  listeners: () => assertNoLeak((i) => subscribe(i)),
  closures: () => assertNoLeak((i) => onShutdown(i)),
  lru: () => assertNoLeak((i) => lru.get(`k${i}`, () => ({ key: `k${i}`, data: [i, i + 1, i + 2] }))),
  churn: () => assertNoLeak((i) => churn(i)),
  lazy: () => assertNoLeak((i) => lookup(i)),
  'async-churn': () =>
    assertNoLeak(async (i) => {
      await new Promise((r) => setImmediate(r));
      return churn(i);
    }),
  interval: () => assertNoAsyncLeak(() => startPolling()),
  'interval-ignored': () => assertNoAsyncLeak(() => startPolling(), { ignore: [/startPolling/] }),
  socket: async () => {
    const server = net.createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    return assertNoAsyncLeak(() => openConnection(port));
  },
  promise: () =>
    assertNoAsyncLeak(async () => {
      void request(1);
    }),
  'cleared-timer': () => assertNoAsyncLeak(() => withTimeout()),
  'before-fn': async () => {
    setInterval(() => undefined, 60_000); // alive before fn: not fn's
    return assertNoAsyncLeak(async () => churn(1));
  },
};

const run = cases[which ?? ''];
if (!run) {
  process.stderr.write(`unknown case ${which}\n`);
  process.exit(2);
}
const t0 = performance.now();
run!().then(
  (result) => {
    process.stdout.write(JSON.stringify({ case: which, failed: false, elapsedMs: performance.now() - t0, result: summary(result) }) + '\n');
    process.exit(0);
  },
  (e: unknown) => {
    const leakError = e instanceof LeakAssertionError;
    process.stdout.write(
      JSON.stringify({ case: which, failed: true, assertion: leakError, name: (e as Error).name, code: (e as { code?: string }).code, message: (e as Error).message, elapsedMs: performance.now() - t0, result: summary((e as { details?: unknown }).details) }) + '\n',
    );
    process.exit(0);
  },
);

function summary(r: unknown): unknown {
  if (!r || typeof r !== 'object') return null;
  const o = r as Record<string, unknown>;
  return { series: o.series, iterationsPerRound: o.iterationsPerRound, verdict: o.verdict, leaks: o.leaks, snapshotsTaken: o.snapshotsTaken, pending: o.pending };
}
