/**
 * One profile → one compact summary: the totals and, per allocation site, the value at that
 * moment. A run keeps summaries, never whole profiles, so memory stays proportional to the number
 * of distinct sites times the number of polls.
 *
 * Sites, at three levels (all "flat": the value of samples whose leaf user frame is the site):
 * - `function`: the leaf user frame's function (name + file + start line identify it);
 * - `line`:     that function at the leaf user frame's line;
 * - `stack`:    the whole stack (for goroutine/async profiles: the creation/blocking stack).
 *
 * The "leaf user frame" is the innermost frame that is neither the runtime's own nor a library's:
 * - runtime: Go `runtime.*` and standard-library frames (a Go package path whose first element has
 *   no dot, other than `main`), Node internals (`node:` files, V8 builtins and pseudo-frames such as
 *   `padEnd` or `(garbage collector)`, which have no file);
 * - library: JavaScript files under a `node_modules` directory.
 * A user frame whose callee is a library's continuation (`next` of express's router, koa's
 * `dispatch`, a hook's `done`) is passed over too: a middleware that called `next()` did not ask
 * for the body parsing or the handler that follow.
 * Allocations made inside `fmt.Sprintf`, `Map.prototype.set` or express-session's MemoryStore are
 * charged to the user code that called them, which is what a postmortem needs. A site records its
 * ORIGIN: `user` (a user frame exists), `library` (no user frame, but a library frame), `runtime`
 * (every frame is the runtime's; the leaf names it). Only user sites can become leak suspects; the
 * others are reported apart (what grows there is driven by the runtime or a library, not by a line
 * the user can change). A user site reached through a library is the user function (its own
 * allocations and those it makes through libraries are one series: V8 inlines small functions
 * into their callers, so where one leak's allocations land varies); its line-level sites carry
 * the innermost library frame (`library`), and the dominant one lets the report say "your handler
 * at app.js:42, inside express-session's MemoryStore.set at memory.js:119". A fourth level,
 * `library`, adds up one library (package) over every user frame that calls into it: a leak inside
 * a library fed from many routes is small at each caller and whole there.
 */
import type { Profile } from '../profile.js';
import { processStartOf } from '../process-start.js';

/** `promises`: the agent's census with promises=1, its pending promises only (polled apart from
 *  `async`, less often: counting promises walks the heap and pauses the service) */
export type LeakKind = 'heap' | 'goroutine' | 'async' | 'promises';
export type LeakUnit = 'bytes' | 'objects' | 'count';
/** `library`: one library (npm package) over all the user frames that call into it (one leak
 *  inside express-session's MemoryStore, saved from every route's handler) */
export type SiteLevel = 'function' | 'line' | 'stack' | 'library';
/** user: a frame of the user's code names the site; library: only node_modules and runtime frames;
 *  runtime: only the runtime's own frames */
export type SiteOrigin = 'user' | 'library' | 'runtime';

/** A frame as reported: function name, file (may be empty), line (0 when unknown). */
export interface FrameRef {
  name: string;
  file: string;
  line: number;
}

export interface SiteInfo {
  key: string;
  level: SiteLevel;
  /** key of the function-level site this one belongs to (itself for function level) */
  fnKey: string;
  name: string;
  file: string;
  line: number;
  /** frames leaf first, as `name file:line` (stack level only; empty otherwise) */
  stack: string[];
  origin: SiteOrigin;
  /** the innermost library frame below the user frame (line and stack levels of user sites) */
  library?: FrameRef;
  /** the library's package (`express-session`, `@scope/name`) when the site goes through one
   *  (line, stack and library levels) */
  libraryPackage?: string;
  /** the key of the library-level site of that library function (line and stack levels) */
  libraryKey?: string;
  /** the package of the library frame the user frame calls (the outermost library frame below
   *  it; stack level): differs from `libraryPackage` when the user's code reaches the library
   *  through another one (a handler's `res.json` → express → express-session's MemoryStore) */
  entryPackage?: string;
  /** the resource type of a count profile's samples (the agent's census: Timeout, TCPSocket,
   *  Promise…; the sample's `type` label), as first seen */
  resource?: string;
}

/** Where a profile comes from, when it tells: V8 (the leakscope agent) or Go. */
export type ProfileRuntime = 'node' | 'go' | undefined;

export interface ProfileSummary {
  kind: LeakKind;
  unit: LeakUnit;
  /** sum of the primary value over all samples */
  total: number;
  /** inuse objects total (heap profiles that carry it), else NaN */
  objectsTotal: number;
  /** sum of a cumulative type (alloc_space / alloc_objects) when present, else NaN: it never
   *  decreases within one process, so a drop marks a restart */
  cumulative: number;
  /** time_nanos of the profile in ms since the epoch, NaN when absent */
  profileTimeMs: number;
  /** when the process that served it started (ms since the epoch; the agent's comment), if said */
  processStartMs?: number;
  /** primary value per site key (absent: 0) */
  values: Map<string, number>;
  /** objects per site key (heap profiles with an objects type) */
  objects: Map<string, number> | undefined;
  /** descriptions of the sites (a superset of `values`' keys when a shared catalog was used) */
  sites: Map<string, SiteInfo>;
  /** node: the agent's V8 heap sampler or async census; go: Go's runtime profiles */
  runtime: ProfileRuntime;
  /** the heap sampler's mean interval in bytes (the profile's `space` period), when known */
  samplingInterval?: number;
}

interface Frame {
  name: string;
  file: string;
  line: number;
  startLine: number;
  internal: boolean;
  /** a library frame (node_modules), with its package */
  lib: boolean;
  /** leakscope's own agent code running on the service's thread (the timer wrappers) */
  agent: boolean;
  pkg: string;
  /** `name file:line`, the frame as shown in stacks */
  text: string;
  fnKey: string;
  lineKey: string;
  /** two 32-bit hashes of `text`, combined per sample into the stack key */
  h1: number;
  h2: number;
}

interface Acc {
  info: SiteInfo;
  v: number;
  o: number;
}

/** Go standard library or runtime function, judged by its package path. */
export function isGoInternal(name: string): boolean {
  if (name.startsWith('runtime.') || name.startsWith('runtime/')) return true;
  const slash = name.indexOf('/');
  const firstElem = slash >= 0 ? name.slice(0, slash) : name.slice(0, Math.max(0, name.indexOf('.')));
  if (firstElem === '' || firstElem === 'main') return false;
  return !firstElem.includes('.');
}

export function isInternalFrame(name: string, file: string): boolean {
  if (name.startsWith('runtime.') && (file === '' || file.endsWith('.go') || file.endsWith('.s'))) return true;
  if (file.endsWith('.go') || file.endsWith('.s')) return isGoInternal(name);
  if (file.startsWith('node:') || file.startsWith('internal/')) return true;
  // No file: a V8 builtin (`padEnd`, `JSON.stringify`), a native frame, or a bare address.
  if (file === '') return true;
  if (name.startsWith('(') && name.endsWith(')') && name !== '(anonymous)') return true;
  return false;
}

/**
 * The npm package of a file under `node_modules` (`express-session`, `@scope/name`; the innermost
 * node_modules directory wins), or '' for a file outside one.
 */
export function libraryPackage(file: string): string {
  const f = file.replace(/\\/g, '/');
  const i = f.lastIndexOf('/node_modules/');
  const rest = i >= 0 ? f.slice(i + '/node_modules/'.length) : f.startsWith('node_modules/') ? f.slice('node_modules/'.length) : undefined;
  if (rest === undefined) return '';
  const parts = rest.split('/');
  if (parts[0]!.startsWith('@') && parts.length > 1) return `${parts[0]}/${parts[1]}`;
  return parts[0] ?? '';
}

/** The agent's timer wrappers (timer-registry.ts), from a build or a source map. */
const AGENT_FILE = /[\\/]agent[\\/]timer-registry\.[cm]?[jt]s$/;

/** Library functions that hand control to the next handler in a chain (express/connect's router,
 *  koa-compose, fastify's hooks): calling one is not asking for the work done after it. */
const CONTINUATIONS = new Set(['next', 'dispatch', 'done']);

function pickIndex(p: Profile, names: string[]): number {
  for (const n of names) {
    const i = p.sampleTypes.findIndex((st) => st.type === n);
    if (i >= 0) return i;
  }
  return -1;
}

/** Which kind a profile is, from its sample types (the caller may know better, e.g. the URL). */
export function detectKind(p: Profile): LeakKind | undefined {
  const types = p.sampleTypes.map((t) => t.type);
  if (types.includes('inuse_space') || types.includes('space') || types.includes('inuse_objects')) return 'heap';
  if (types.includes('goroutine') || p.periodType?.type === 'goroutine') return 'goroutine';
  if (types.some((t) => /async|resource|handle|timer|promise/i.test(t))) return 'async';
  return undefined;
}

function siteOf(f: Frame, level: SiteLevel, key: string, fnKey: string, stack: string[], origin: SiteOrigin, lib: Frame | undefined, resource: string | undefined, entry?: Frame): SiteInfo {
  const fnLevel = level === 'function' || level === 'library';
  const info: SiteInfo = { key, level, fnKey, name: f.name, file: f.file, line: fnLevel ? f.startLine || f.line : f.line, stack, origin };
  if (lib && level !== 'function') {
    info.libraryPackage = lib.pkg;
    info.library = { name: lib.name, file: lib.file, line: lib.line };
    info.libraryKey = libraryKeyOf(lib);
    if (level === 'stack' && entry?.pkg) info.entryPackage = entry.pkg;
  }
  if (resource) info.resource = resource;
  return info;
}

/** Library-level sites are per package: V8 inlines a library's small functions into each other
 *  differently from one caller to the next (MemoryStore.set into Session.save, or not). */
function libraryKeyOf(lib: Frame): string {
  return `B\u0000${lib.pkg}`;
}

function hashText(s: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function makeFrame(name: string, file: string, line: number, startLine: number, internal: boolean): Frame {
  const id = `${name}\u0000${file}\u0000${startLine}`;
  // a frame without a file is its name alone, and an unknown line is left out: never `name :0`
  const text = file ? (line > 0 ? `${name} ${file}:${line}` : `${name} ${file}`) : name;
  const pkg = internal ? '' : libraryPackage(file);
  return {
    agent: !internal && AGENT_FILE.test(file),
    lib: pkg !== '',
    pkg,
    h1: hashText(text, 0x811c9dc5),
    h2: hashText(text, 0x9747b28c),
    name,
    file,
    line,
    startLine,
    internal,
    text,
    fnKey: `F\u0000${id}`,
    lineKey: `L\u0000${id}\u0000${line}`,
  };
}

/**
 * Summarize a profile of the given kind. Pure; O(samples × stack depth). With `catalog` (one per
 * kind and run), site descriptions are shared across the run's summaries instead of being built
 * per profile, and `sites` of the result IS that catalog (it may list sites absent here).
 */
export function summarizeProfile(p: Profile, kind: LeakKind, catalog?: Map<string, SiteInfo>): ProfileSummary {
  const nt = p.sampleTypes.length;
  let primary: number;
  let objIdx = -1;
  let unit: LeakUnit;
  if (kind === 'heap') {
    const space = pickIndex(p, ['inuse_space', 'space']);
    objIdx = pickIndex(p, ['inuse_objects', 'objects']);
    if (space >= 0) {
      primary = space;
      unit = 'bytes';
    } else if (objIdx >= 0) {
      primary = objIdx;
      objIdx = -1;
      unit = 'objects';
    } else {
      primary = nt - 1;
      unit = p.sampleTypes[nt - 1]?.unit === 'bytes' ? 'bytes' : 'objects';
    }
  } else {
    primary = Math.max(0, pickIndex(p, ['goroutine', 'count']));
    if (pickIndex(p, ['goroutine', 'count']) < 0) primary = nt - 1;
    unit = 'count';
  }
  const cumIdx = pickIndex(p, ['alloc_space', 'alloc_objects']);
  // the agent's census labels each sample with its resource type
  const typeIdx = kind === 'heap' ? -1 : p.strings.indexOf('type');

  // Frames per location, leaf-first within the location (lines[0] is the innermost).
  const locFrames: Frame[][] = new Array(p.locations.length);
  for (let li = 0; li < p.locations.length; li++) {
    const loc = p.locations[li]!;
    const frames: Frame[] = [];
    for (const ln of loc.lines) {
      const fn = ln.fn >= 0 ? p.functions[ln.fn] : undefined;
      const name = fn?.name || fn?.systemName || (loc.address !== 0n ? `0x${loc.address.toString(16)}` : '?');
      const file = fn?.filename ?? '';
      frames.push(makeFrame(name, file, ln.line, fn?.startLine ?? 0, isInternalFrame(name, file)));
    }
    if (frames.length === 0) {
      const name = loc.address !== 0n ? `0x${loc.address.toString(16)}` : '?';
      frames.push(makeFrame(name, '', 0, 0, false));
    }
    locFrames[li] = frames;
  }

  // One accumulator per site key: a single Map lookup per site and sample.
  const acc = new Map<string, Acc>();
  /** adds to an existing accumulator; false when the key is new */
  const add = (key: string, v: number, o: number): boolean => {
    const a = acc.get(key);
    if (!a) return false;
    a.v += v;
    a.o += o;
    return true;
  };
  let total = 0;
  let objectsTotal = objIdx >= 0 ? 0 : NaN;
  let cumulative = cumIdx >= 0 ? 0 : NaN;
  const t = p.samples;
  const frames: Frame[] = [];
  for (let s = 0; s < t.count; s++) {
    const v = t.values[s * nt + primary]!;
    const o = objIdx >= 0 ? t.values[s * nt + objIdx]! : 0;
    if (cumIdx >= 0) cumulative += t.values[s * nt + cumIdx]!;
    total += v;
    if (objIdx >= 0) objectsTotal += o;
    if (v === 0 && o === 0) continue;
    let resource: string | undefined;
    if (typeIdx >= 0) {
      for (let j = t.labelStart[s]!; j < t.labelStart[s + 1]!; j++) if (t.labelKey[j] === typeIdx) resource = p.strings[t.labelStr[j]!];
    }
    // the promises kind keeps the census's pending promises only (async has the rest)
    if (kind === 'promises' && resource !== 'Promise') {
      total -= v;
      continue;
    }
    frames.length = 0;
    for (let i = t.stackStart[s]!; i < t.stackStart[s + 1]!; i++) {
      for (const f of locFrames[t.stack[i]!]!) frames.push(f);
    }
    if (frames.length === 0) continue;
    // u: the innermost user frame; l: the innermost frame that is not the runtime's (a library's
    // or the user's). The stack shown starts at l (the library's frames stay visible), or at the
    // leaf when every frame is the runtime's.
    // A user frame that only called a framework's continuation (express's `next()`, koa's
    // `dispatch`, a hook's `done`) did not ask for what happens after it: the work below belongs
    // to the next middleware, so such a frame is passed over.
    let u = -1;
    let l = -1;
    let callee: Frame | undefined;
    let agentAt = -1;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      if (f.internal) continue;
      if (f.agent) {
        // leakscope's own timer wrappers (the registry's WeakRefs): the agent's overhead, never
        // the user's code that called setTimeout
        agentAt = i;
        l = -1;
        break;
      }
      if (l < 0) l = i;
      if (!f.lib && !(callee?.lib && CONTINUATIONS.has(callee.name))) {
        u = i;
        break;
      }
      callee = f;
    }
    const origin: SiteOrigin = u >= 0 ? 'user' : l >= 0 ? 'library' : 'runtime';
    const anchor = frames[u >= 0 ? u : l >= 0 ? l : agentAt >= 0 ? agentAt : 0]!;
    const lib = u >= 0 && l >= 0 && l < u ? frames[l]! : undefined;
    // the library frame the user frame calls: the outermost one below it
    let entry: Frame | undefined;
    if (lib) {
      for (let i = u - 1; i >= l; i--) {
        if (!frames[i]!.internal) {
          entry = frames[i]!;
          break;
        }
      }
    }
    const from = l >= 0 ? l : 0;
    // The stack's identity across profiles: a 64-bit hash of its frames' texts (no string per
    // sample; a collision needs ~2^32 distinct stacks).
    let h1 = 0x2545f491;
    let h2 = 0x6b43a9b5;
    for (let i = from; i < frames.length; i++) {
      h1 = Math.imul(h1 ^ frames[i]!.h1, 0x85ebca6b) ^ (h1 >>> 13);
      h2 = Math.imul(h2 ^ frames[i]!.h2, 0xc2b2ae35) ^ (h2 >>> 16);
    }
    const stackKey = `S${(h1 >>> 0).toString(36)}.${(h2 >>> 0).toString(36)}.${frames.length - from}`;
    // Keys: a user site is the user function, whether it allocates itself or through a library
    // (V8 inlines small functions into their callers, so one leak's allocations land on both);
    // its line-level sites keep the library frame apart, and the dominant one names the library.
    // A site outside the user's code is marked as such, never sharing a key with a user one.
    const fnKey = origin === 'user' ? anchor.fnKey : `${anchor.fnKey}\u0000(${origin})`;
    const lineKey = lib ? `${anchor.lineKey}\u0000${lib.lineKey}` : origin === 'user' ? anchor.lineKey : `${anchor.lineKey}\u0000(${origin})`;
    if (!add(fnKey, v, o)) acc.set(fnKey, { info: catalog?.get(fnKey) ?? siteOf(anchor, 'function', fnKey, fnKey, [], origin, lib, resource), v, o });
    if (!add(lineKey, v, o)) acc.set(lineKey, { info: catalog?.get(lineKey) ?? siteOf(anchor, 'line', lineKey, fnKey, [], origin, lib, resource), v, o });
    if (!add(stackKey, v, o)) acc.set(stackKey, { info: catalog?.get(stackKey) ?? siteOf(anchor, 'stack', stackKey, fnKey, frames.slice(from).map((f) => f.text), origin, lib, resource, entry), v, o });
    if (lib) {
      const bKey = libraryKeyOf(lib);
      if (!add(bKey, v, o)) acc.set(bKey, { info: catalog?.get(bKey) ?? siteOf(lib, 'library', bKey, bKey, [], 'user', lib, resource), v, o });
    }
  }
  const values = new Map<string, number>();
  const objects = objIdx >= 0 ? new Map<string, number>() : undefined;
  const sites = catalog ?? new Map<string, SiteInfo>();
  for (const [k, a] of acc) {
    values.set(k, a.v);
    objects?.set(k, a.o);
    if (!sites.has(k)) sites.set(k, a.info);
  }
  const start = processStartOf(p);
  return {
    kind,
    unit,
    total,
    objectsTotal,
    cumulative,
    profileTimeMs: p.timeNanos > 0n ? Number(p.timeNanos / 1000n) / 1000 : NaN,
    ...(start !== undefined ? { processStartMs: start } : {}),
    values,
    objects,
    sites,
    ...profileRuntime(p, kind),
  };
}

/**
 * Which runtime produced the profile. The agent's heap profiles say "V8 sampling heap profiler" in
 * a comment and its census labels samples with `type`; Go's name `.go` files.
 */
function profileRuntime(p: Profile, kind: LeakKind): { runtime: ProfileRuntime; samplingInterval?: number } {
  let runtime: ProfileRuntime;
  if (p.comments.some((c) => /\bV8\b/.test(c))) runtime = 'node';
  else if (kind !== 'heap' && p.strings.includes('type') && p.sampleTypes[0]?.type === 'goroutine' && !p.functions.some((f) => f.filename.endsWith('.go'))) runtime = 'node';
  else if (p.functions.some((f) => f.filename.endsWith('.go'))) runtime = 'go';
  const samplingInterval = kind === 'heap' && p.periodType?.type === 'space' && p.period > 0 ? p.period : undefined;
  return samplingInterval !== undefined ? { runtime, samplingInterval } : { runtime };
}
