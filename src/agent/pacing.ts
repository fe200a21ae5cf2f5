/**
 * Pacing of the agent's answers (issue 16): however many clients ask, and however fast they come
 * back, the agent does a bounded amount of work per second for them, so that a storm of requests
 * takes little of the CPU the host needs.
 *
 * - `Pacer`: answers that come from a collection (a heap read, a metrics scrape, a census). A
 *   request that finds the service idle is answered at once by a new collection; requests that
 *   arrive while it runs share it; up to `burst` more within `minIntervalMs` of its start are
 *   answered from it.
 *   Any later request waits for the NEXT collection, which starts once `minIntervalMs` (and
 *   `costFactor` times the last collection's duration, and one `answersPerSecond` slot per answer
 *   given) has passed since the last one started. A client in a closed loop thus gets about one
 *   answer per interval, and the answers per second stay bounded whatever the number of clients.
 * - `Gate`: cheap answers (the index page, HEAD, errors): a token bucket with a delay queue.
 *
 * Both hold at most `maxWaiting` requests; beyond it they report `full` (the caller answers 429
 * with Retry-After). A waiting request whose client leaves is dropped at once, and a collection
 * whose waiters all left is not started.
 */

/** What pacing needs of a reply: whether its client is still there. */
export interface Client {
  readonly closed: boolean;
  onClose(fn: () => void): void;
}

export interface PaceLimits {
  /** collections start at most once per this many ms */
  minIntervalMs: number;
  /** ... and at most once per this many times the last collection's duration (0: no such bound) */
  costFactor: number;
  /** ... and each answer given from a collection delays the next by 1000 / this ms */
  answersPerSecond: number;
  /** the interval never exceeds this, whatever the cost */
  maxIntervalMs: number;
  /** answers given at once from a finished collection (a small burst of clients is never delayed) */
  burst: number;
  /** requests that may wait for the next collection; beyond, `full` */
  maxWaiting: number;
}

/** The result of waiting: the value, `left` (the client went away) or `full` (too many waiting). */
export type Paced<T> = { ok: true; value: T } | { ok: false; why: 'left' } | { ok: false; why: 'full'; retryAfterS: number };

interface Collection<T> {
  start: number;
  /** set when the collection has settled */
  end: number | undefined;
  failed: boolean;
  /** answers given from it (requests that shared it, waited for it, or came in its burst) */
  served: number;
  /** answers given from it once it had finished, without waiting */
  extra: number;
  value: Promise<T>;
}

interface Waiter<V = boolean> {
  client: Client;
  resolve: (v: V) => void;
  done: boolean;
}

export class Pacer<T> {
  private cur: Collection<T> | undefined;
  private waiters: Waiter<Collection<T> | undefined>[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** collections started so far */
  collections = 0;

  constructor(
    private readonly collect: () => Promise<T>,
    private readonly limits: PaceLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** When the next collection may start (ms; Infinity while one runs). */
  nextAt(): number {
    const c = this.cur;
    if (!c) return -Infinity;
    if (c.end === undefined) return Infinity;
    const l = this.limits;
    const interval = Math.min(l.maxIntervalMs, Math.max(l.minIntervalMs, l.costFactor * (c.end - c.start), (c.served * 1000) / l.answersPerSecond));
    return c.start + interval;
  }

  /** The newest collection's value if one has settled or runs, with when it started. */
  latest(): { start: number; value: Promise<T> } | undefined {
    return this.cur;
  }

  async get(client: Client): Promise<Paced<T>> {
    const now = this.now();
    const c = this.cur;
    if (c && c.end === undefined) {
      // running: everyone who asks meanwhile shares it (as many as may wait)
      if (c.served >= this.limits.maxWaiting) return { ok: false, why: 'full', retryAfterS: Math.max(1, Math.ceil(this.limits.minIntervalMs / 1000)) };
      c.served++;
      return { ok: true, value: await c.value };
    }
    const next = this.nextAt();
    if (this.waiters.length === 0) {
      if (now >= next) return { ok: true, value: await this.startCollection(1).value };
      if (c && !c.failed && c.extra < this.limits.burst && now < c.start + this.limits.minIntervalMs) {
        c.served++;
        c.extra++;
        return { ok: true, value: await c.value };
      }
    }
    if (this.waiters.length >= this.limits.maxWaiting) {
      return { ok: false, why: 'full', retryAfterS: Math.max(1, Math.ceil((next - now) / 1000)) };
    }
    const batch = await new Promise<Collection<T> | undefined>((resolve) => {
      const w: Waiter<Collection<T> | undefined> = { client, resolve, done: false };
      this.waiters.push(w);
      client.onClose(() => {
        if (w.done) return;
        w.done = true;
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(undefined);
      });
      this.schedule();
    });
    if (!batch) return { ok: false, why: 'left' };
    // the collection for this batch was started (and its answers counted) when the timer fired
    return { ok: true, value: await batch.value };
  }

  private startCollection(served: number): Collection<T> {
    const c: Collection<T> = { start: this.now(), end: undefined, failed: false, served, extra: 0, value: undefined as unknown as Promise<T> };
    this.collections++;
    c.value = this.collect();
    c.value.then(
      () => {
        c.end = this.now();
        this.schedule();
      },
      () => {
        c.end = this.now();
        c.failed = true;
        this.schedule();
      },
    );
    this.cur = c;
    return c;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.waiters.length === 0) return;
    const at = this.nextAt();
    if (at === Infinity) return; // the running collection reschedules when it settles
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - this.now()));
  }

  private fire(): void {
    this.timer = undefined;
    // a client seen closed before its close callback ran: settle it now
    for (const w of this.waiters) {
      if (!w.done && w.client.closed) {
        w.done = true;
        w.resolve(undefined);
      }
    }
    this.waiters = this.waiters.filter((w) => !w.done);
    if (this.waiters.length === 0) return; // everyone left: nothing is collected
    if (this.now() < this.nextAt()) {
      this.schedule();
      return;
    }
    const batch = this.waiters.splice(0);
    const c = this.startCollection(batch.length);
    for (const w of batch) {
      w.done = true;
      w.resolve(c);
    }
  }
}

export interface GateLimits {
  /** answers per second, sustained */
  rate: number;
  /** answers given at once after a quiet spell */
  burst: number;
  /** requests that may wait for their turn; beyond, `full` */
  maxWaiting: number;
}

/** A token bucket with a FIFO delay queue, for answers that cost little each but come in storms. */
export class Gate {
  private tokens: number;
  private last: number;
  private readonly queue: Waiter[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly limits: GateLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = limits.burst;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.limits.burst, this.tokens + ((t - this.last) * this.limits.rate) / 1000);
    this.last = t;
  }

  /** true: answer now; 'left': the client went away while waiting; 'full': too many waiting. */
  pass(client: Client): true | Promise<true | 'left'> | 'full' {
    this.refill();
    if (this.queue.length === 0 && this.tokens >= 1) {
      this.tokens--;
      return true;
    }
    if (this.queue.length >= this.limits.maxWaiting) return 'full';
    return new Promise<true | 'left'>((resolve) => {
      const w: Waiter = { client, resolve: (go) => resolve(go ? true : 'left'), done: false };
      this.queue.push(w);
      client.onClose(() => {
        if (w.done) return;
        w.done = true;
        const i = this.queue.indexOf(w);
        if (i >= 0) this.queue.splice(i, 1);
        resolve('left');
      });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.timer !== undefined || this.queue.length === 0) return;
    const wait = Math.max(0, ((1 - this.tokens) * 1000) / this.limits.rate);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refill();
      while (this.tokens >= 1 && this.queue.length > 0) {
        const w = this.queue.shift()!;
        if (w.done) continue;
        if (w.client.closed) {
          w.done = true;
          w.resolve(false);
          continue;
        }
        w.done = true;
        this.tokens--;
        w.resolve(true);
      }
      this.schedule();
    }, Math.ceil(wait));
  }

  /** seconds until a request now would be answered */
  retryAfterS(): number {
    return Math.max(1, Math.ceil((this.queue.length + 1) / this.limits.rate));
  }
}
