/**
 * The agent's timer registry (src/agent/timer-registry.ts): setTimeout/setInterval wrapped so the
 * async census lists timers without a heap walk. The wrappers must behave like the originals for
 * every caller, and the registry must neither keep timers alive nor grow without bound.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { installTimerRegistry, uninstallTimerRegistry } from '../src/agent/timer-registry.js';

const require = createRequire(import.meta.url);
const timers = require('node:timers') as typeof import('node:timers');
const originalSetTimeout = globalThis.setTimeout;
const originalSetInterval = globalThis.setInterval;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('agent timer registry', () => {
  after(() => uninstallTimerRegistry());

  test('wraps the global and node:timers functions alike; uninstall restores them', async () => {
    assert.equal(timers.setTimeout, originalSetTimeout, 'node:timers and the global are the same function before');
    const reg = installTimerRegistry();
    assert.equal(installTimerRegistry(), reg, 'installing twice keeps one registry');
    assert.notEqual(globalThis.setTimeout, originalSetTimeout);
    assert.equal(timers.setTimeout, globalThis.setTimeout);
    assert.equal(timers.setInterval, globalThis.setInterval);
    const esm = (await import('node:timers')) as { setTimeout: unknown };
    assert.equal(esm.setTimeout, globalThis.setTimeout, 'ESM importers see the wrapper');
    uninstallTimerRegistry();
    assert.equal(globalThis.setTimeout, originalSetTimeout);
    assert.equal(timers.setInterval, originalSetInterval);
    assert.equal(((await import('node:timers')) as { setTimeout: unknown }).setTimeout, originalSetTimeout);
  });

  test('callers see the same behaviour: return value, arguments, refresh, clear, promisify', async () => {
    const reg = installTimerRegistry();
    assert.equal(globalThis.setTimeout.name, 'setTimeout');
    assert.equal(globalThis.setTimeout.length, originalSetTimeout.length);
    const got = await new Promise<unknown[]>((resolve) => {
      const t = setTimeout((...args: unknown[]) => resolve(args), 5, 'a', 2);
      assert.equal(Object.getPrototypeOf(t), Object.getPrototypeOf(originalSetTimeout(() => {}, 0)));
      assert.equal(typeof t.refresh, 'function');
      assert.equal(t.refresh(), t);
      assert.equal(typeof t[Symbol.toPrimitive], 'function');
    });
    assert.deepEqual(got, ['a', 2]);
    let fired = 0;
    const cleared = setTimeout(() => fired++, 1);
    clearTimeout(cleared);
    let ticks = 0;
    await new Promise<void>((resolve) => {
      const iv = setInterval(() => {
        if (++ticks === 3) {
          clearInterval(iv);
          resolve();
        }
      }, 1);
    });
    assert.equal(ticks, 3);
    assert.equal(fired, 0);
    const value = await promisify(setTimeout)(2, 'done');
    assert.equal(value, 'done', 'util.promisify.custom is carried over');
    assert.equal(reg.prune().length, 0, 'fired and cleared timers are dropped');
    const live = setInterval(() => {}, 60_000);
    assert.deepEqual(reg.prune(), [live]);
    clearInterval(live);
    assert.deepEqual(reg.prune(), []);
    uninstallTimerRegistry();
  });

  test('the registry keeps no timer alive and stays bounded', async () => {
    const reg = installTimerRegistry();
    // created and left to fire: once collected, their WeakRefs go on the next prune
    for (let i = 0; i < 20_000; i++) setTimeout(() => {}, 0).unref();
    assert.ok(reg.size <= 20_000);
    await new Promise((r) => originalSetTimeout(r, 50));
    // timers cleared right away are pruned whenever the set doubles past the last live count (20k
    // above, all fired since): it never holds the 200k created below
    let peak = 0;
    for (let i = 0; i < 200_000; i++) {
      clearTimeout(setTimeout(() => {}, 1000));
      if (reg.size > peak) peak = reg.size;
    }
    assert.ok(peak <= 2 * 20_000, `registry grew to ${peak} entries with nothing alive`);
    // a timer nobody references after it ran is collectable despite the registry
    let ref: WeakRef<object> | undefined;
    await new Promise<void>((resolve) => {
      ref = new WeakRef(setTimeout(() => resolve(), 0));
    });
    for (let i = 0; i < 5 && ref!.deref() !== undefined; i++) {
      await new Promise((r) => originalSetTimeout(r, 10));
      gc();
    }
    assert.equal(ref!.deref(), undefined, 'the registry kept a fired timer alive');
    reg.prune();
    assert.ok(reg.size < 100, `${reg.size} entries left after everything fired or was cleared`);
    uninstallTimerRegistry();
  });
});
