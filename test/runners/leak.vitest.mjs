// A vitest file using leakscope/test the way a user would (run by test/runners.test.ts):
// one leaking workload fails with its class named, one bounded cache passes, one forgotten
// interval fails with its creation line, one cleared timer passes.
import { describe, it } from 'vitest';
import { assertNoAsyncLeak, assertNoLeak } from 'leakscope/test';

class CartSession {
  constructor(id) {
    this.id = id;
    this.items = [`sku-${id}`];
  }
}
const carts = new Map();

describe('leakscope/test under vitest', () => {
  it('bounded cache passes', async () => {
    const lru = new Map();
    await assertNoLeak((i) => {
      lru.set(i % 64, { i, at: `x${i}` });
    });
  }, 120_000);

  it('sessions kept forever fail', async () => {
    await assertNoLeak((i) => {
      carts.set(i, new CartSession(i)); // LEAK:cart
    });
  }, 120_000);

  it('interval never cleared fails', async () => {
    let t;
    try {
      await assertNoAsyncLeak(() => {
        t = setInterval(() => undefined, 60_000); // LEAK:interval
      });
    } finally {
      clearInterval(t);
    }
  }, 60_000);

  it('timer cleared at the end passes', async () => {
    await assertNoAsyncLeak(async () => {
      const t = setTimeout(() => undefined, 60_000);
      await new Promise((r) => setImmediate(r));
      clearTimeout(t);
    });
  }, 60_000);
});
