/**
 * The agent's pacing (src/agent/pacing.ts, issue 16): however many clients ask and however fast
 * they come back, a paced endpoint starts a bounded number of collections and gives a bounded
 * number of answers; waiting is bounded (then `full`), and a client that leaves costs nothing.
 * In-process, with real timers and short intervals; the counts are exact (no throughput claims).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Client, Gate, type PaceLimits, Pacer } from '../src/agent/pacing.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class FakeClient implements Client {
  closed = false;
  private closers: (() => void)[] = [];
  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closers.push(fn);
  }
  leave(): void {
    this.closed = true;
    for (const f of this.closers.splice(0)) f();
  }
}

const LIMITS: PaceLimits = { minIntervalMs: 200, costFactor: 0, answersPerSecond: 1e9, maxIntervalMs: 30_000, burst: 2, maxWaiting: 5 };

/** A collection that takes `ms` and returns its sequence number. */
function counter(ms = 0): { collect: () => Promise<number>; count: () => number } {
  let n = 0;
  return {
    collect: async () => {
      const k = ++n;
      if (ms > 0) await sleep(ms);
      return k;
    },
    count: () => n,
  };
}

describe('Pacer', () => {
  test('the first request after idle is answered at once; those during a collection share it', async () => {
    const c = counter(30);
    const p = new Pacer(c.collect, { ...LIMITS, maxWaiting: 100 });
    const rs = await Promise.all([...Array(10).keys()].map(() => p.get(new FakeClient())));
    assert.deepEqual(
      rs.map((r) => (r.ok ? r.value : r.why)),
      Array(10).fill(1),
    );
    assert.equal(c.count(), 1);
  });

  test('after a finished collection, `burst` requests share it and later ones wait for the next, which starts after minIntervalMs', async () => {
    const c = counter();
    const p = new Pacer(c.collect, LIMITS);
    const first = await p.get(new FakeClient());
    const t0 = Date.now();
    assert.deepEqual(first, { ok: true, value: 1 });
    const burst = [await p.get(new FakeClient()), await p.get(new FakeClient())];
    assert.deepEqual(burst, [
      { ok: true, value: 1 },
      { ok: true, value: 1 },
    ]);
    const later = await Promise.all([p.get(new FakeClient()), p.get(new FakeClient())]);
    const waited = Date.now() - t0;
    assert.deepEqual(later, [
      { ok: true, value: 2 },
      { ok: true, value: 2 },
    ]);
    assert.ok(waited >= 180, `the next collection came after ${waited} ms`);
    assert.equal(c.count(), 2);
  });

  test('a closed loop of 20 clients gets about one answer per interval each', async () => {
    const c = counter(5);
    const p = new Pacer(c.collect, { ...LIMITS, maxWaiting: 100 });
    const end = Date.now() + 1000;
    const answers: number[] = Array(20).fill(0);
    await Promise.all(
      answers.map(async (_, i) => {
        while (Date.now() < end) {
          const r = await p.get(new FakeClient());
          if (r.ok) answers[i]!++;
        }
      }),
    );
    // 1 s at one collection per 200 ms: 5 or 6 collections (7 on a late timer), each answering
    // every client once, plus 2 burst answers
    assert.ok(c.count() >= 4 && c.count() <= 7, `${c.count()} collections`);
    const total = answers.reduce((a, b) => a + b, 0);
    assert.ok(total <= 20 * c.count() + 2 * c.count(), `${total} answers from ${c.count()} collections`);
    assert.ok(Math.max(...answers) <= c.count() + 2, `one client got ${Math.max(...answers)} answers`);
  });

  test('beyond maxWaiting: full, with the seconds until the next collection', async () => {
    const c = counter();
    const p = new Pacer(c.collect, { ...LIMITS, minIntervalMs: 1500, burst: 0 });
    await p.get(new FakeClient());
    const clients = [...Array(8).keys()].map(() => new FakeClient());
    const pending = clients.map((cl) => p.get(cl));
    const settled = await Promise.race([Promise.all(pending.slice(5)), sleep(500).then(() => 'waiting')]);
    assert.deepEqual(settled, [
      { ok: false, why: 'full', retryAfterS: 2 },
      { ok: false, why: 'full', retryAfterS: 2 },
      { ok: false, why: 'full', retryAfterS: 2 },
    ]);
    for (const cl of clients) cl.leave();
    assert.deepEqual(await Promise.all(pending.slice(0, 5)), Array(5).fill({ ok: false, why: 'left' }));
  });

  test('requests running during a collection are bounded by maxWaiting too', async () => {
    const c = counter(100);
    const p = new Pacer(c.collect, LIMITS);
    const rs = await Promise.all([...Array(8).keys()].map(() => p.get(new FakeClient())));
    assert.equal(rs.filter((r) => r.ok).length, 5);
    assert.equal(rs.filter((r) => !r.ok && r.why === 'full').length, 3);
  });

  test('a waiting client that leaves is dropped at once; when all leave, nothing is collected', async () => {
    const c = counter();
    const p = new Pacer(c.collect, { ...LIMITS, burst: 0 });
    await p.get(new FakeClient());
    const a = new FakeClient();
    const b = new FakeClient();
    const ra = p.get(a);
    const rb = p.get(b);
    await sleep(20);
    a.leave();
    assert.deepEqual(await ra, { ok: false, why: 'left' });
    b.leave();
    assert.deepEqual(await rb, { ok: false, why: 'left' });
    await sleep(300); // past the slot of the next collection
    assert.equal(c.count(), 1, 'a collection ran for clients that had left');
    // the next request, after the interval, gets a new one
    assert.deepEqual(await p.get(new FakeClient()), { ok: true, value: 2 });
  });

  test('the interval grows with the cost of a collection and with the answers it gave', async () => {
    const slow = counter(60);
    const p = new Pacer(slow.collect, { ...LIMITS, minIntervalMs: 50, costFactor: 10, burst: 0 });
    await p.get(new FakeClient());
    const t0 = Date.now();
    await p.get(new FakeClient());
    // 10 × ~60 ms since the last start (which was ~60 ms before t0)
    assert.ok(Date.now() - t0 >= 450, `the next collection after ${Date.now() - t0} ms`);

    const cheap = counter();
    const q = new Pacer(cheap.collect, { ...LIMITS, minIntervalMs: 10, answersPerSecond: 50, burst: 0, maxWaiting: 100 });
    await Promise.all([...Array(20).keys()].map(() => q.get(new FakeClient()))); // 20 answers: 400 ms
    const t1 = Date.now();
    await q.get(new FakeClient());
    assert.ok(Date.now() - t1 >= 300, `after 20 answers at 50/s, the next collection came after ${Date.now() - t1} ms`);
  });

  test('a failed collection is answered to those who shared it, not from the burst; the next is paced', async () => {
    let n = 0;
    const p = new Pacer(async () => {
      n++;
      if (n === 1) throw new Error('boom');
      return n;
    }, LIMITS);
    await assert.rejects(p.get(new FakeClient()), /boom/);
    const t0 = Date.now();
    assert.deepEqual(await p.get(new FakeClient()), { ok: true, value: 2 });
    assert.ok(Date.now() - t0 >= 150, 'a failed collection does not let requests through at once');
  });
});

describe('Gate', () => {
  test('a burst at once, then `rate` per second in arrival order; full beyond maxWaiting', async () => {
    const g = new Gate({ rate: 20, burst: 3, maxWaiting: 4 });
    const now = [g.pass(new FakeClient()), g.pass(new FakeClient()), g.pass(new FakeClient())];
    assert.deepEqual(now, [true, true, true]);
    const order: number[] = [];
    const t0 = Date.now();
    const waits = [...Array(4).keys()].map((i) => {
      const r = g.pass(new FakeClient());
      assert.ok(r instanceof Promise);
      return r.then((v) => {
        order.push(i);
        return v;
      });
    });
    assert.equal(g.pass(new FakeClient()), 'full');
    assert.equal(g.retryAfterS(), 1);
    assert.deepEqual(await Promise.all(waits), [true, true, true, true]);
    assert.deepEqual(order, [0, 1, 2, 3]);
    const took = Date.now() - t0;
    assert.ok(took >= 180, `4 answers at 20/s took ${took} ms`);
  });

  test('a waiting client that leaves gives its turn to the next', async () => {
    const g = new Gate({ rate: 2, burst: 1, maxWaiting: 10 });
    assert.equal(g.pass(new FakeClient()), true);
    const a = new FakeClient();
    const ra = g.pass(a) as Promise<true | 'left'>;
    const rb = g.pass(new FakeClient()) as Promise<true | 'left'>;
    a.leave();
    assert.equal(await ra, 'left');
    const t0 = Date.now();
    assert.equal(await rb, true);
    // its own turn would have come 1 s after the burst; the first one's came after 0.5 s
    assert.ok(Date.now() - t0 < 900, 'the second waiter took the first one\'s turn');
  });
});
