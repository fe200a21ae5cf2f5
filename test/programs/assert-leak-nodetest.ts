// A node:test file using leakscope/test the way a user would: run with `node --test` by
// test/assert-leak.test.ts, which reads the TAP output (one leakTest passes, one fails with the
// leak named; an assertNoAsyncLeak test fails with the interval's stack).
import { test } from 'node:test';
import { assertNoAsyncLeak, leakTest } from '../../src/testing/index.js';

const bounded = new Map<number, number[]>();
leakTest('bounded cache', (i) => {
  bounded.set(i % 100, [i, i * 2]);
});

class Order {
  constructor(
    readonly id: number,
    readonly lines: string[],
  ) {}
}
const pendingOrders: Order[] = [];
leakTest('orders kept forever', (i) => {
  pendingOrders.push(new Order(i, [`sku-${i}`])); // LEAK:orders
});

test('poller started and forgotten', async () => {
  let timer: NodeJS.Timeout | undefined;
  try {
    await assertNoAsyncLeak(() => {
      timer = setInterval(() => undefined, 30_000); // LEAK:poller
    });
  } finally {
    clearInterval(timer);
  }
});
