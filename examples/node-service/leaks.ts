/**
 * The request pipeline of the example service: five planted leaks, the classic ones of busy Node
 * services, and two things that must NOT be called leaks (a bounded LRU cache that fills and then
 * plateaus, and per-request churn that dies).
 *
 * Every step is called from one site in `handle()` (server.ts) with seven different targets, so the
 * call is megamorphic and V8 does not inline the steps into the handler: the sampling heap profiler
 * then charges each allocation to its own step, whose start line it reports.
 */
import { EventEmitter } from 'node:events';

export interface RequestContext {
  id: number;
  /** ids, not strings: a string parsed in the handler and kept by a leak would charge the handler's
   *  line in the heap profile; each step builds the strings it keeps */
  userId: number;
  productId: number;
  /** what the handler sends back */
  body: Record<string, unknown>;
}

// Leak 1: a global Map of sessions, added to on every request and never cleaned.
const sessions = new Map<string, { id: string; user: string; created: number; data: string }>();

export function createSession(ctx: RequestContext): void {
  const id = `sess-${ctx.id}-${Math.random().toString(36).slice(2)}`;
  const user = `user${ctx.userId}`;
  sessions.set(id, { id, user, created: Date.now(), data: `${user}:`.padEnd(2048, '.') + id });
  ctx.body.session = id;
}

// Leak 2: a product cache without TTL or size bound, keyed by an id from a huge space.
const productCache = new Map<string, { html: string; at: number }>();

export function cacheProduct(ctx: RequestContext): void {
  const key = `product:${ctx.productId}`;
  let hit = productCache.get(key);
  if (!hit) {
    hit = { html: `<div class="product">${ctx.productId}</div>`.padEnd(3072, ' '), at: Date.now() };
    productCache.set(key, hit);
  }
  ctx.body.productBytes = hit.html.length;
}

// Leak 3: a listener added per request on a long-lived emitter and never removed (the usual
// "fix" of raising the listener limit only silences the warning).
const updates = new EventEmitter();
updates.setMaxListeners(0);

export function subscribeUpdates(ctx: RequestContext): void {
  const seen: string[] = [`user${ctx.userId}/${ctx.id}`.padEnd(1024, '-')];
  updates.on('price', (p: unknown) => {
    seen.push(String(p));
  });
  ctx.body.subscribed = true;
}

// Leak 4: an interval started for some requests and never cleared.
export function startPolling(ctx: RequestContext): void {
  if (ctx.id % 10 !== 0) return;
  const state = { user: ctx.userId, polls: 0, history: new Array<number>(512).fill(ctx.id) };
  setInterval(() => {
    state.history[state.polls++ % 512] = Date.now();
  }, 3_600_000);
  ctx.body.polling = true;
}

// Leak 5: waiters on a promise that nobody ever resolves ("config reload" never happens).
const waiters: { resolve: (v: string) => void; since: number; note: string }[] = [];

export function waitForReload(ctx: RequestContext): void {
  const note = `waiting:${ctx.id}`.padEnd(768, '~');
  void new Promise<string>((resolve) => {
    waiters.push({ resolve, since: Date.now(), note });
  }).then((v) => v.length);
  ctx.body.waiting = waiters.length > 0;
}

// Not a leak: a bounded LRU cache (Map insertion order), full after a few hundred requests.
const LRU_CAPACITY = 400;
const lru = new Map<string, string>();

export function lruLookup(ctx: RequestContext): void {
  const key = `k${ctx.productId}`;
  let v = lru.get(key);
  if (v !== undefined) {
    lru.delete(key);
  } else {
    v = `value-of-${key}`.padEnd(2048, '#');
    if (lru.size >= LRU_CAPACITY) lru.delete(lru.keys().next().value!);
  }
  lru.set(key, v);
  ctx.body.lru = lru.size;
}

// Not a leak: per-request garbage that dies when the request ends.
export function churn(ctx: RequestContext): void {
  const rows = [];
  for (let i = 0; i < 64; i++) rows.push({ i, name: `row-${ctx.id}-${i}`, tags: ['a', 'b', String(i)] });
  ctx.body.checksum = JSON.stringify(rows).length;
}

/** The steps, in order. Their names are what the leak report must (or must not) name. */
export const pipeline: ((ctx: RequestContext) => void)[] = [createSession, cacheProduct, subscribeUpdates, startPolling, waitForReload, lruLookup, churn];

/** Planted leaks, by step name (for the accuracy tests and the demo). */
export const PLANTED = ['createSession', 'cacheProduct', 'subscribeUpdates', 'startPolling', 'waitForReload'] as const;
/** Steps that must never be flagged. */
export const NOT_LEAKS = ['lruLookup', 'churn'] as const;

/** Occasionally emit on the bus so the listeners are live code, not dead weight. */
export function publishPrice(p: number): void {
  updates.emit('price', p);
}
