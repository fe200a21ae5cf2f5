/**
 * assertNoAsyncLeak — goleak for Node: the timers, intervals, sockets, servers, child processes,
 * file handles and promises a function created and that are still pending after it returned and
 * a grace period passed, each with the stack where it was created.
 *
 * An async_hooks hook is enabled for the call only (and disabled in `finally`): it costs nothing
 * outside. `fn` runs in an AsyncResource of its own; a resource counts as the function's when it
 * is created while the function or anything it started runs (the execution async id is one of
 * the function's), so what the test runner or other code does meanwhile is not counted,
 * nor is anything that was alive before. A resource stops counting when async_hooks reports it
 * destroyed (a timer fired or cleared, a handle closed), and a promise when it settles or is
 * garbage: promises still pending are checked again after a full GC, and only those something
 * still holds are reported (a promise nothing references can never settle, but holds nothing).
 */
import { AsyncResource, createHook, executionAsyncId } from 'node:async_hooks';
import { sep } from 'node:path';
import { setTimeout } from 'node:timers'; // not a runner's fake timers (see heap.ts)
import { fileURLToPath } from 'node:url';
import { LeakscopeError } from '../core/errors.js';
import { renderAsyncLeakFailure, type PendingResource } from '../report/leak-assert.js';
import { LeakAssertionError } from './errors.js';
import { fullGC } from './heap.js';
import { SourceMapResolver } from '../agent/sourcemaps.js';
import { mapStackLine } from '../node/leak-sources.js';

export interface AssertNoAsyncLeakOptions {
  /** how long to wait after `fn` returned before looking (default 100 ms) */
  graceMs?: number;
  /** resources whose creation stack (or description) matches one of these are not reported */
  ignore?: (RegExp | string)[];
  /** async_hooks types to leave out (e.g. `'PROMISE'`) */
  ignoreTypes?: string[];
  /** report promises still pending and still referenced (default true) */
  promises?: boolean;
  /** stack frames kept per resource (default 8) */
  stackDepth?: number;
  /** map stack positions in compiled files back to their sources through source maps (default true) */
  sourceMaps?: boolean;
  /** resources in the message (default 10) */
  top?: number;
  /** a name for the check, at the head of the message */
  name?: string;
}

export interface AsyncLeakResult<T = unknown> {
  /** what `fn` returned (awaited) */
  value: T;
  pending: PendingResource[];
}

/**
 * Short-lived requests that finish on their own: never reported (a pending one after the grace
 * period is an operation in flight, not a leak of the function).
 */
const TRANSIENT = new Set(['TickObject', 'Immediate', 'Microtask', 'FSREQCALLBACK', 'FSREQPROMISE', 'GETADDRINFOREQWRAP', 'GETNAMEINFOREQWRAP', 'QUERYWRAP', 'SHUTDOWNWRAP', 'WRITEWRAP', 'TCPCONNECTWRAP', 'PIPECONNECTWRAP', 'ZLIB', 'RANDOMBYTESREQUEST', 'PBKDF2REQUEST', 'SCRYPTREQUEST', 'HASHREQUEST', 'CIPHERREQUEST', 'SIGNREQUEST', 'VERIFYREQUEST', 'DERIVEBITSREQUEST', 'KEYGENREQUEST', 'KEYPAIRGENREQUEST', 'CHECKPRIMEREQUEST', 'STATWATCHER']);

interface Tracked {
  type: string;
  resource: WeakRef<object> | null;
  stack: string;
}

const OWN_FILE = fileURLToPath(import.meta.url);
const OWN_DIR = OWN_FILE.slice(0, OWN_FILE.lastIndexOf(sep) + 1);

/**
 * Runs `fn` (awaited), waits the grace period and fails when async resources it created are still
 * pending. Resolves with fn's value.
 */
export async function assertNoAsyncLeak<T>(fn: () => T | Promise<T>, options: AssertNoAsyncLeakOptions = {}): Promise<T> {
  if (typeof fn !== 'function') throw new LeakscopeError('E_USAGE', 'assertNoAsyncLeak: the first argument must be a function');
  const r = await checkAsyncLeak(fn, options);
  if (r.pending.length > 0) {
    const head = options.name ? `${options.name}: ` : '';
    throw new LeakAssertionError(head + renderAsyncLeakFailure(r.pending, options.graceMs ?? 100, options.top ?? 10), r, assertNoAsyncLeak);
  }
  return r.value;
}

/** The measurement behind assertNoAsyncLeak, without the assertion. */
export async function checkAsyncLeak<T>(fn: () => T | Promise<T>, options: AssertNoAsyncLeakOptions = {}): Promise<AsyncLeakResult<T>> {
  const graceMs = options.graceMs ?? 100;
  if (!(graceMs >= 0)) throw new LeakscopeError('E_USAGE', `assertNoAsyncLeak: graceMs must be ≥ 0 (got ${String(graceMs)})`);
  const ignore = (options.ignore ?? []).map((p) => (typeof p === 'string' ? new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : p));
  const ignoreTypes = new Set(options.ignoreTypes ?? []);
  const wantPromises = options.promises !== false && !ignoreTypes.has('PROMISE');
  const depth = options.stackDepth ?? 8;

  const ours = new Set<number>();
  const live = new Map<number, Tracked>();
  const scope = new AsyncResource('LeakscopeAsyncCheck');
  ours.add(scope.asyncId());
  let tracking = true;
  const hook = createHook({
    init(asyncId, type, _triggerAsyncId, resource) {
      // created while fn or something it started runs: the trigger alone says too much (the
      // caller's `await` on fn's promise is triggered by it, and is the caller's)
      if (!tracking || !ours.has(executionAsyncId())) return;
      ours.add(asyncId);
      if (TRANSIENT.has(type) || ignoreTypes.has(type) || (type === 'PROMISE' && !wantPromises)) return;
      // formatted now: a captured trace that is not yet a string holds its frames' functions
      // and receivers, which would keep alive what the check looks at
      const site: { stack?: string } = {};
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = depth + 6; // + the hook's and node's own frames
      Error.captureStackTrace(site);
      Error.stackTraceLimit = limit;
      live.set(asyncId, { type, resource: typeof resource === 'object' && resource !== null ? new WeakRef(resource) : null, stack: String(site.stack) });
    },
    destroy(asyncId) {
      live.delete(asyncId);
    },
    promiseResolve(asyncId) {
      live.delete(asyncId);
    },
  });
  let value: T;
  hook.enable();
  try {
    value = await scope.runInAsyncScope(fn);
    tracking = false;
    if (graceMs > 0) await new Promise((resolve) => setTimeout(resolve, graceMs));
    if (wantPromises && [...live.values()].some((t) => t.type === 'PROMISE')) await fullGC();
  } finally {
    tracking = false;
    hook.disable();
    scope.emitDestroy();
  }

  const pending: PendingResource[] = [];
  const resolver = options.sourceMaps === false ? null : new SourceMapResolver();
  for (const t of live.values()) {
    const res = t.resource?.deref();
    if (t.resource && !res) continue; // collected: nothing is held
    if (res && stillOpen(t.type, res) === false) continue;
    let stack = userFrames(t.stack).slice(0, depth);
    if (resolver) stack = stack.map((l) => mapStackLine(l, resolver));
    const description = describe(t.type, res);
    const text = `${description}\n${stack.join('\n')}`;
    if (ignore.some((re) => re.test(text))) continue;
    pending.push({ type: t.type, description, stack });
  }
  return { value: value!, pending };
}

/** false when a resource async_hooks has not yet reported destroyed is visibly closed */
function stillOpen(type: string, res: object): boolean | undefined {
  const r = res as Record<string, unknown>;
  if (type === 'Timeout') return r._destroyed !== true;
  if (type === 'TCPWRAP' || type === 'PIPEWRAP' || type === 'TLSWRAP' || type === 'TCPSERVERWRAP' || type === 'PIPESERVERWRAP') {
    const owner = r.owner as { destroyed?: boolean; listening?: boolean } | undefined;
    if (owner && owner.destroyed === true) return false;
  }
  return undefined;
}

/** a description for a person */
function describe(type: string, res: object | undefined): string {
  const r = (res ?? {}) as Record<string, unknown>;
  switch (type) {
    case 'Timeout': {
      const ms = typeof r._idleTimeout === 'number' ? r._idleTimeout : undefined;
      const unref = typeof r.hasRef === 'function' && !(r.hasRef as () => boolean).call(res) ? ', unref’d' : '';
      return r._repeat != null ? `interval (setInterval, every ${ms} ms${unref})` : `timer (setTimeout, ${ms} ms${unref})`;
    }
    case 'TCPWRAP':
    case 'PIPEWRAP':
    case 'TLSWRAP': {
      const o = r.owner as { localAddress?: string; localPort?: number; remoteAddress?: string; remotePort?: number } | undefined;
      const ends = o && o.remotePort !== undefined ? ` ${o.localAddress}:${o.localPort} → ${o.remoteAddress}:${o.remotePort}` : '';
      return `socket (${type}${ends}) never closed`;
    }
    case 'TCPSERVERWRAP':
    case 'PIPESERVERWRAP': {
      const o = r.owner as { address?: () => unknown } | undefined;
      let where = '';
      try {
        const a = o?.address?.() as { address?: string; port?: number } | string | null | undefined;
        where = typeof a === 'string' ? ` on ${a}` : a && a.port !== undefined ? ` on ${a.address}:${a.port}` : '';
      } catch {
        /* no address */
      }
      return `server (${type}${where}) never closed`;
    }
    case 'PROCESSWRAP': {
      const o = r.owner as { pid?: number; spawnfile?: string } | undefined;
      return `child process${o?.spawnfile ? ` ${o.spawnfile}` : ''}${o?.pid ? ` (pid ${o.pid})` : ''} still running`;
    }
    case 'FILEHANDLE':
      return `file handle${typeof r.fd === 'number' ? ` (fd ${r.fd})` : ''} never closed`;
    case 'PROMISE':
      return 'promise still pending (and still referenced)';
    case 'UDPWRAP':
      return 'UDP socket never closed';
    case 'SIGNALWRAP':
      return 'signal listener';
    case 'FSEVENTWRAP':
      return 'fs.watch watcher never closed';
    case 'MESSAGEPORT':
      return 'MessagePort never closed';
    case 'WORKER':
      return 'worker thread still running';
    default:
      return `${type} still open`;
  }
}

/** the creation stack's frames in the program: without node's internals and leakscope's own */
function userFrames(stack: string): string[] {
  return stack
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('at ') && !/\(node:|at node:|\(internal\/|at internal\//.test(l) && !l.includes(OWN_DIR) && !l.includes('new Promise (<anonymous>)'));
}
