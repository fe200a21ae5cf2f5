/**
 * Remembers the timers the host creates, so the async census can list them without a heap walk
 * (`Runtime.queryObjects` runs several full GCs and walks the heap, pausing the main thread for
 * about a second on a 40 MB heap).
 *
 * At agent start, `setTimeout` and `setInterval` (the global ones and `node:timers`' exports,
 * which are the same functions) are replaced by wrappers that call the original and keep a
 * WeakRef to the Timeout it returns. The registry never keeps a timer alive and never grows
 * without bound: destroyed and collected entries are pruned on each census and whenever the set
 * doubles, and past MAX_TRACKED live entries new timers are not recorded (the census counts them
 * as untracked from `process.getActiveResourcesInfo()`).
 *
 * Not seen: timers created before the agent started (none with `--import leakscope/register`),
 * timers of `timers/promises` (the Timeout never reaches the caller), and timers created through a
 * reference to the original function taken before the agent started.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';

/** node:timers' CommonJS exports object (writable, unlike an ESM namespace). */
const timersExports = createRequire(import.meta.url)('node:timers') as Record<string, TimerFn>;

export const MAX_TRACKED = 1_000_000;

/** This module's URL: stack frames of the wrappers carry it, and creation stacks drop them. */
export const WRAPPER_URL = import.meta.url;
const MIN_PRUNE_AT = 4096;

interface TimerLike {
  _destroyed?: boolean;
}

type TimerFn = (...args: unknown[]) => unknown;

const WRAPPED = Symbol('leakscope.timerWrapper');

export class LeakscopeTimerRegistry {
  private refs = new Set<WeakRef<TimerLike>>();
  private pruneAt = MIN_PRUNE_AT;
  /** true once a timer went unrecorded because the registry was full */
  capped = false;
  active = true;

  add(t: unknown): void {
    if (!this.active || typeof t !== 'object' || t === null) return;
    if (this.refs.size >= this.pruneAt) {
      this.prune();
      this.pruneAt = Math.max(MIN_PRUNE_AT, this.refs.size * 2);
    }
    if (this.refs.size >= MAX_TRACKED) {
      this.capped = true;
      return;
    }
    this.refs.add(new WeakRef(t as TimerLike));
  }

  /** Drops destroyed and collected timers; returns the live ones. */
  prune(): object[] {
    const live: object[] = [];
    for (const r of this.refs) {
      const t = r.deref();
      if (t === undefined || t._destroyed === true) this.refs.delete(r);
      else live.push(t);
    }
    return live;
  }

  get size(): number {
    return this.refs.size;
  }

  clear(): void {
    this.active = false;
    this.refs = new Set();
  }
}

function wrap(orig: TimerFn, reg: LeakscopeTimerRegistry): TimerFn {
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    const t = Reflect.apply(orig, this, args);
    reg.add(t);
    return t;
  };
  // util.promisify(setTimeout) finds util.promisify.custom on the function; name, length and the
  // rest come along too.
  for (const key of Reflect.ownKeys(orig)) {
    if (key === 'prototype') continue;
    const d = Object.getOwnPropertyDescriptor(orig, key);
    if (!d) continue;
    try {
      Object.defineProperty(wrapper, key, d);
    } catch {
      // a non-configurable own property of the wrapper: keep the wrapper's
    }
  }
  Object.defineProperty(wrapper, WRAPPED, { value: orig });
  return wrapper;
}

interface Installed {
  reg: LeakscopeTimerRegistry;
  originals: { setTimeout: TimerFn; setInterval: TimerFn };
  wrappers: { setTimeout: TimerFn; setInterval: TimerFn };
}

let installed: Installed | undefined;

/** Wraps setTimeout/setInterval (global and node:timers); idempotent. */
export function installTimerRegistry(): LeakscopeTimerRegistry {
  if (installed) return installed.reg;
  const g = globalThis as unknown as Record<string, TimerFn>;
  const mod = timersExports;
  const reg = new LeakscopeTimerRegistry();
  const originals = { setTimeout: g.setTimeout!, setInterval: g.setInterval! };
  const wrappers = { setTimeout: wrap(originals.setTimeout, reg), setInterval: wrap(originals.setInterval, reg) };
  for (const name of ['setTimeout', 'setInterval'] as const) {
    const sameInModule = mod[name] === originals[name];
    g[name] = wrappers[name];
    if (sameInModule) mod[name] = wrappers[name];
  }
  try {
    // `import { setTimeout } from 'node:timers'` in modules loaded from now on sees the wrappers
    syncBuiltinESMExports();
  } catch {
    // older Node: CommonJS and globals are covered
  }
  installed = { reg, originals, wrappers };
  return reg;
}

/** Puts the original functions back where the wrappers still are; stops recording. */
export function uninstallTimerRegistry(): void {
  if (!installed) return;
  const { reg, originals, wrappers } = installed;
  const g = globalThis as unknown as Record<string, TimerFn>;
  const mod = timersExports;
  for (const name of ['setTimeout', 'setInterval'] as const) {
    if (g[name] === wrappers[name]) g[name] = originals[name];
    if (mod[name] === wrappers[name]) mod[name] = originals[name];
  }
  try {
    syncBuiltinESMExports();
  } catch {
    // see above
  }
  reg.clear();
  installed = undefined;
}
