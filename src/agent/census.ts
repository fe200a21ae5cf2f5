/**
 * The async-resource census behind `goroutine` / `async`, computed on request from the agent worker
 * through the inspector, without walking the heap:
 *
 * 1. the main thread lists the live resources itself: timers from the registry the agent filled
 *    since it started (timer-registry.ts: setTimeout/setInterval wrapped, WeakRefs, bounded),
 *    sockets and servers from `process._getActiveHandles()`, pending libuv requests from
 *    `process._getActiveRequests()`, other handle types from `process.getActiveResourcesInfo()`;
 *    Immediates (gone by the next loop turn unless re-armed) are counted by type only, and ref'd
 *    timers the registry does not know (created before the agent, or by timers/promises) by type
 *    only too. A function evaluated in the main isolate keeps the live ones, names their type
 *    and picks their callback.
 * 2. each distinct callback's `[[FunctionLocation]]` (via `Runtime.getProperties`) names the
 *    place in the source, and `Debugger.scriptParsed` maps its script id to a file.
 *
 * None of this collects garbage or walks the heap. Two opt-ins do, through `Runtime.queryObjects`
 * (several full GCs plus a heap walk: the host's main thread pauses for about a second on a 40 MB
 * heap): `promises=1` (V8 keeps no list of pending promises) and `walk=1`, which finds timers,
 * sockets and servers by their prototype, including those created before the agent started.
 */
import type { CensusEntry, V8CallFrame } from '../formats/v8-profiles.js';
import type { Inspector } from './inspector.js';
import { AgentHttpError } from './errors.js';
import { STASH_KEY } from './options.js';

const GROUP = 'leakscope-census';
/** Function lookups per census; beyond, closures with identical source text share one location. */
const MAX_LOOKUPS = 3000;
/** Callbacks in node's own code whose closure is searched for the user's function. */
const MAX_UNWRAPS = 100;

interface SummaryGroup {
  type: string;
  /** indices into the fns array */
  fns: number[];
  names: string[];
  counts: number[];
}

interface Summary {
  groups: SummaryGroup[];
  unknown: [string, number][];
  resources: string[];
  /** ref'd timers alive that the registry does not know */
  untrackedTimers: number;
  timersCapped: boolean;
}

// Runs in the host's main isolate with `this` = the stash (see main-services.ts). Plain ES2020,
// no closures over agent code. Without arguments, the resources come from the stash (no heap
// walk); with them, from Runtime.queryObjects (walk=1).
const CLASSIFY = `function (walkedTimers, walkedEmitters) {
  const S = this;
  const walked = walkedTimers !== undefined;
  let timers = walkedTimers;
  let emitters = walkedEmitters;
  if (!walked) {
    try { timers = S.liveTimers(); } catch (e) { timers = []; }
    try { emitters = S.activeHandles(); } catch (e) { emitters = []; }
  }
  const sockets = [];
  const servers = [];
  for (const e of emitters) {
    if (e instanceof S.SocketClass) sockets.push(e);
    else if (e instanceof S.ServerClass) servers.push(e);
  }
  const byType = new Map();
  const unknown = new Map();
  const add = (type, fn) => {
    if (typeof fn !== 'function') { unknown.set(type, (unknown.get(type) || 0) + 1); return; }
    let m = byType.get(type);
    if (!m) byType.set(type, (m = new Map()));
    m.set(fn, (m.get(fn) || 0) + 1);
  };
  const own = Object.prototype.hasOwnProperty;
  const isProto = (o) => own.call(o, 'constructor');
  const first = (em, names) => {
    for (const n of names) {
      try { for (const f of em.listeners(n)) if (typeof f === 'function') return f; } catch (e) {}
    }
    return undefined;
  };
  const handleName = (o) => { try { const h = o._handle; return h && h.constructor ? h.constructor.name : ''; } catch (e) { return ''; } };
  let refed = 0;
  for (const t of timers) {
    if (!t || isProto(t) || t._destroyed) continue;
    add(t._repeat ? 'Interval' : 'Timeout', t._onTimeout);
    try { if (typeof t.hasRef !== 'function' || t.hasRef()) refed++; } catch (e) {}
  }
  for (const s of sockets) {
    if (!s || isProto(s) || s.destroyed) continue;
    const h = handleName(s);
    const type = h === 'TCP' ? 'TCPSocket' : h === 'Pipe' ? 'PipeSocket' : h === 'TTY' ? 'TTY' : 'Socket';
    const fn = s.server ? first(s.server, ['request', 'connection']) : first(s, ['connect', 'data', 'end', 'close', 'error', 'timeout']);
    add(type, fn);
  }
  for (const s of servers) {
    if (!s || isProto(s) || !s.listening) continue;
    const h = handleName(s);
    add(h === 'Pipe' ? 'PipeServer' : 'TCPServer', first(s, ['request', 'connection', 'listening']));
  }
  let reqs = [];
  try { reqs = S.activeRequests(); } catch (e) {}
  for (const r of reqs) {
    if (!r) continue;
    const type = (r.constructor && r.constructor.name) || 'Request';
    let fn;
    if (r.context && typeof r.context.callback === 'function') fn = r.context.callback;
    else if (typeof r.callback === 'function') fn = r.callback;
    else fn = r.oncomplete;
    add(type, fn);
  }
  const fns = [];
  const groups = [];
  const toStr = Function.prototype.toString;
  for (const [type, m] of byType) {
    const byText = new Map();
    for (const [fn, count] of m) {
      let text;
      try { text = String(fn.name) + '\\u0000' + toStr.call(fn).slice(0, 4096); } catch (e) { text = ''; }
      let g = byText.get(text);
      if (!g) { g = { type, fns: [], names: [], counts: [] }; byText.set(text, g); groups.push(g); }
      g.fns.push(fns.length);
      g.names.push(typeof fn.name === 'string' ? fn.name : '');
      g.counts.push(count);
      fns.push(fn);
    }
  }
  let resources = [];
  try { resources = S.activeResources(); } catch (e) {}
  let untrackedTimers = 0;
  let timersCapped = false;
  if (!walked) {
    let all = 0;
    for (const r of resources) if (r === 'Timeout') all++;
    untrackedTimers = Math.max(0, all - refed);
    try { timersCapped = !!S.timersCapped(); } catch (e) {}
  }
  return { summary: { groups, unknown: [...unknown], resources, untrackedTimers, timersCapped }, fns };
}`;

/** Types from getActiveResourcesInfo that the census above already counts one by one. */
const COVERED = new Set(['Timeout', 'TCPSocketWrap', 'TCPServerWrap', 'PipeWrap', 'PipeServerWrap', 'TTYWrap']);

interface RemoteObject {
  type?: string;
  description?: string;
  subtype?: string;
  objectId?: string;
  value?: unknown;
}
interface PropertyDescriptor {
  name: string;
  value?: RemoteObject;
}

export interface CensusOptions {
  promises: boolean;
  /** find timers, sockets and servers by a heap walk (pauses the host) instead of the registry */
  walk?: boolean;
  /** at most this many promises are inspected for their state */
  maxPromises?: number;
}

export interface CensusResult {
  entries: CensusEntry[];
  notes: string[];
}

/** Script id → URL, filled by Debugger.scriptParsed while the Debugger is enabled. */
export class ScriptUrls {
  readonly urls = new Map<string, string>();
  constructor(insp: Inspector) {
    insp.session.on('Debugger.scriptParsed', (m: { params: { scriptId: string; url: string } }) => {
      if (this.urls.size > 200_000) this.urls.clear();
      this.urls.set(m.params.scriptId, m.params.url);
    });
  }
}

export async function takeCensus(insp: Inspector, scripts: ScriptUrls, opts: CensusOptions): Promise<CensusResult> {
  return insp.exclusive('debugger', async () => {
    // scriptParsed events (script id → URL) arrive from the first enable on
    await insp.enableDebugger();
    try {
      return await census(insp, scripts, opts);
    } finally {
      await insp.post('Runtime.releaseObjectGroup', { objectGroup: GROUP }).catch(() => {});
    }
  });
}

async function getProps(insp: Inspector, objectId: string): Promise<{ result: PropertyDescriptor[]; internalProperties?: PropertyDescriptor[] }> {
  return insp.post('Runtime.getProperties', { objectId, ownProperties: true, generatePreview: false });
}

async function census(insp: Inspector, scripts: ScriptUrls, opts: CensusOptions): Promise<CensusResult> {
  const notes: string[] = [];
  const ev = await insp.post<{ result: RemoteObject }>('Runtime.evaluate', {
    expression: `globalThis[Symbol.for(${JSON.stringify(STASH_KEY)})]`,
    objectGroup: GROUP,
    silent: true,
  });
  const stashId = ev.result.objectId;
  if (!stashId) throw new AgentHttpError(500, 'the agent is not initialised in the main thread (no prototype stash)');
  const protoIds: Record<string, string> = {};
  for (const p of (await getProps(insp, stashId)).result) if (p.value?.objectId) protoIds[p.name] = p.value.objectId;
  const query = async (name: string): Promise<string> => {
    const id = protoIds[name];
    if (!id) throw new AgentHttpError(500, `no ${name} prototype in the stash`);
    const r = await insp.post<{ objects: RemoteObject }>('Runtime.queryObjects', { prototypeObjectId: id, objectGroup: GROUP });
    return r.objects.objectId!;
  };
  // Each queryObjects walks the heap after full GCs (the main thread pauses for it): only with
  // walk=1, where sockets and servers share one query of EventEmitter.prototype and are told
  // apart in the main isolate. By default CLASSIFY takes them from the stash.
  const arrays = opts.walk ? [await query('Timeout'), await query('EventEmitter')] : [];
  const res = await insp.post<{ result: RemoteObject; exceptionDetails?: { text?: string } }>('Runtime.callFunctionOn', {
    objectId: stashId,
    functionDeclaration: CLASSIFY,
    arguments: arrays.map((objectId) => ({ objectId })),
    objectGroup: GROUP,
    silent: true,
  });
  if (res.exceptionDetails || !res.result.objectId) {
    throw new AgentHttpError(500, `census failed in the main thread: ${res.exceptionDetails?.text ?? 'no result'}`);
  }
  const resultId = res.result.objectId;
  const sum = await insp.post<{ result: RemoteObject }>('Runtime.callFunctionOn', {
    objectId: resultId,
    functionDeclaration: 'function () { return this.summary; }',
    returnByValue: true,
    objectGroup: GROUP,
  });
  const summary = sum.result.value as Summary;
  const fnsArr = await insp.post<{ result: RemoteObject }>('Runtime.callFunctionOn', {
    objectId: resultId,
    functionDeclaration: 'function () { return this.fns; }',
    objectGroup: GROUP,
  });
  const fnIds: string[] = [];
  if (fnsArr.result.objectId) {
    for (const p of (await getProps(insp, fnsArr.result.objectId)).result) {
      if (/^\d+$/.test(p.name) && p.value?.objectId) fnIds[Number(p.name)] = p.value.objectId;
    }
  }
  let lookups = 0;
  let unwraps = 0;
  const locateObject = async (id: string, name: string, depth: number): Promise<V8CallFrame | undefined> => {
    lookups++;
    let props = await getProps(insp, id);
    let all = [...(props.internalProperties ?? []), ...props.result];
    // a bound function has no location of its own: use its target's
    const target = all.find((p) => p.name === '[[TargetFunction]]')?.value?.objectId;
    if (target && !all.some((p) => p.name === '[[FunctionLocation]]')) {
      props = await getProps(insp, target);
      all = [...(props.internalProperties ?? []), ...props.result];
    }
    const loc = all.find((p) => p.name === '[[FunctionLocation]]');
    const v = loc?.value?.value as { scriptId: string; lineNumber: number; columnNumber: number } | undefined;
    if (!v) return undefined;
    const ownName = all.find((p) => p.name === 'name')?.value?.value;
    const frame: V8CallFrame = {
      functionName: name || (typeof ownName === 'string' ? ownName : ''),
      scriptId: v.scriptId,
      url: scripts.urls.get(v.scriptId) ?? '',
      lineNumber: v.lineNumber,
      columnNumber: v.columnNumber,
    };
    // Node wraps user callbacks (fs's makeCallback and the like): when the callback lives in
    // node's own code, look in its innermost closure (a small one: a wrapper's, not a module's)
    // for the user function it calls. One level, a few variables, a bounded budget.
    if (frame.url.startsWith('node:') && depth === 0 && unwraps < MAX_UNWRAPS) {
      unwraps++;
      const scopesId = all.find((p) => p.name === '[[Scopes]]')?.value?.objectId;
      const inner0 = scopesId ? (await getProps(insp, scopesId)).result.find((p) => p.name === '0') : undefined;
      if (inner0?.value?.objectId && /^Closure/.test(inner0.value.description ?? '')) {
        const vars = (await getProps(insp, inner0.value.objectId)).result;
        if (vars.length <= 4) {
          for (const vr of vars) {
            if (vr.value?.type !== 'function' || !vr.value.objectId) continue;
            const inner = await locateObject(vr.value.objectId, '', depth + 1);
            if (inner && !inner.url.startsWith('node:')) return inner;
          }
        }
      }
    }
    return frame;
  };
  const locate = async (i: number, name: string): Promise<V8CallFrame | undefined> => {
    const id = fnIds[i];
    return id ? locateObject(id, name, 0) : undefined;
  };
  const same = (a: V8CallFrame | undefined, b: V8CallFrame | undefined) =>
    a?.scriptId === b?.scriptId && a?.lineNumber === b?.lineNumber && a?.columnNumber === b?.columnNumber;
  const entries: CensusEntry[] = [];
  let approximate = false;
  for (const g of summary.groups) {
    const reps = Math.min(3, g.fns.length);
    const frames: (V8CallFrame | undefined)[] = [];
    for (let k = 0; k < reps; k++) frames.push(await locate(g.fns[k]!, g.names[k]!));
    const uniform = frames.every((f) => same(f, frames[0]));
    if (uniform) {
      const total = g.counts.reduce((a, b) => a + b, 0);
      entries.push({ type: g.type, frame: frames[0], count: total });
      continue;
    }
    for (let k = 0; k < g.fns.length; k++) {
      let f = frames[k];
      if (k >= reps) {
        if (lookups < MAX_LOOKUPS) f = await locate(g.fns[k]!, g.names[k]!);
        else {
          f = frames[0];
          approximate = true;
        }
      }
      entries.push({ type: g.type, frame: f, count: g.counts[k]! });
    }
  }
  if (approximate) notes.push(`more than ${MAX_LOOKUPS} distinct callbacks: closures with identical source share a location`);
  for (const [type, count] of summary.unknown) entries.push({ type, count });
  if (summary.untrackedTimers > 0) entries.push({ type: 'Timeout', count: summary.untrackedTimers });
  if (!opts.walk) {
    const other = summary.untrackedTimers > 0 ? `; ${summary.untrackedTimers} other ref'd timers (created before the agent started, or by timers/promises) are counted without their callback` : '';
    notes.push(`timers are those created by setTimeout/setInterval since the agent started${other}; walk=1 finds all of them but pauses the service`);
  }
  if (summary.timersCapped) notes.push('the timer registry is full: newer timers are counted without their callback');
  const residual = new Map<string, number>();
  for (const t of summary.resources) if (!COVERED.has(t) && !summary.groups.some((g) => g.type === t) && !summary.unknown.some((u) => u[0] === t)) {
    residual.set(t, (residual.get(t) ?? 0) + 1);
  }
  // The agent's own port to the main thread is one of the MessagePorts listed.
  const ownPort = residual.get('MessagePort');
  if (ownPort !== undefined) {
    if (ownPort <= 1) residual.delete('MessagePort');
    else residual.set('MessagePort', ownPort - 1);
  }
  for (const [type, count] of residual) entries.push({ type, count });
  if (opts.promises) {
    const r = await countPendingPromises(insp, await query('Promise'), opts.maxPromises ?? 20_000);
    entries.push({ type: 'Promise', count: r.pending });
    notes.push(
      `pending promises: ${r.pending} of ${r.inspected} inspected${r.capped ? ` (capped; ${r.total} promises alive)` : ''}; not grouped by location: V8's inspector shows a promise's state and result only, not its reactions (the \`then\` callback, the awaiting async function): those are edges of a heap snapshot (watch --snapshots), and creation stacks need async?stacks=1 with LEAKSCOPE_ASYNC_STACKS=1`,
    );
    notes.push('promises=1 walks the heap after full GCs: the service pauses for it (about 1 s per 40 MB of heap)');
  }
  return { entries, notes };
}

/**
 * Which promises are pending. In the main isolate, `util.inspect` (reached through the inspector's
 * command-line API, which has `require`) tells a pending promise from a settled one in a few
 * microseconds; asking the inspector for each promise's [[PromiseState]] takes one round trip per
 * promise (seconds for a few ten thousand, the service paused throughout). The round trips remain
 * the fallback, capped at `max` promises.
 */
async function countPendingPromises(insp: Inspector, arrayId: string, max: number): Promise<{ pending: number; inspected: number; total: number; capped: boolean }> {
  const inspect = await insp
    .post<{ result: RemoteObject; exceptionDetails?: unknown }>('Runtime.evaluate', {
      expression: "require('node:util').inspect",
      includeCommandLineAPI: true,
      objectGroup: GROUP,
      silent: true,
    })
    .catch(() => undefined);
  if (inspect && !inspect.exceptionDetails && inspect.result.type === 'function' && inspect.result.objectId) {
    const r = await insp.post<{ result: RemoteObject; exceptionDetails?: unknown }>('Runtime.callFunctionOn', {
      objectId: arrayId,
      functionDeclaration: PENDING_IN_PLACE,
      arguments: [{ objectId: inspect.result.objectId }, { value: max * 10 }],
      returnByValue: true,
      objectGroup: GROUP,
      silent: true,
    });
    const v = r.result.value as { pending: number; inspected: number; total: number } | undefined;
    if (!r.exceptionDetails && v && typeof v.pending === 'number') return { ...v, capped: v.total > v.inspected };
  }
  const items = (await getProps(insp, arrayId)).result.filter((p) => /^\d+$/.test(p.name) && p.value?.objectId);
  let pending = 0;
  let inspected = 0;
  for (const p of items) {
    if (inspected >= max) break;
    inspected++;
    const props = await getProps(insp, p.value!.objectId!);
    const st = [...(props.internalProperties ?? []), ...props.result].find((x) => x.name === '[[PromiseState]]');
    if (st?.value?.value === 'pending') pending++;
  }
  return { pending, inspected, total: items.length, capped: items.length > max };
}

// Runs in the host's main isolate with `this` = the array of promises from queryObjects. Depth 0
// and no strings or arrays: a settled promise's value is never rendered in full.
const PENDING_IN_PLACE = `function (inspect, max) {
  const opts = { depth: 0, customInspect: false, showProxy: false, getters: false, maxStringLength: 0, maxArrayLength: 0, breakLength: Infinity };
  let pending = 0;
  let inspected = 0;
  for (const p of this) {
    if (inspected >= max) break;
    inspected++;
    let s = '';
    try { s = inspect(p, opts); } catch (e) { continue; }
    const brace = s.indexOf('{');
    if (brace >= 0 && s.startsWith('{ <pending>', brace)) pending++;
  }
  return { pending, inspected, total: this.length };
}`;
