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
 * The "leaf user frame" is the innermost frame that is not the runtime's own: Go `runtime.*` and
 * standard-library frames (a Go package path whose first element has no dot, other than `main`), and
 * Node internals (`node:` files, V8 builtins and pseudo-frames such as `padEnd` or `(garbage collector)`,
 * which have no file). Allocations made
 * inside `fmt.Sprintf` or `Map.prototype.set` are charged to the user code that called them, which
 * is what a postmortem needs; when every frame is internal, the leaf itself is used.
 */
import type { Profile } from '../profile.js';

export type LeakKind = 'heap' | 'goroutine' | 'async';
export type LeakUnit = 'bytes' | 'objects' | 'count';
export type SiteLevel = 'function' | 'line' | 'stack';

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
}

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
  /** primary value per site key (absent: 0) */
  values: Map<string, number>;
  /** objects per site key (heap profiles with an objects type) */
  objects: Map<string, number> | undefined;
  /** descriptions of the sites (a superset of `values`' keys when a shared catalog was used) */
  sites: Map<string, SiteInfo>;
}

interface Frame {
  name: string;
  file: string;
  line: number;
  startLine: number;
  internal: boolean;
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

function siteOf(f: Frame, level: SiteLevel, key: string, stack: string[]): SiteInfo {
  return { key, level, fnKey: f.fnKey, name: f.name, file: f.file, line: level === 'function' ? f.startLine || f.line : f.line, stack };
}

function hashText(s: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function makeFrame(name: string, file: string, line: number, startLine: number, internal: boolean): Frame {
  const id = `${name}\u0000${file}\u0000${startLine}`;
  const text = file ? `${name} ${file}:${line}` : name;
  return {
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
    frames.length = 0;
    for (let i = t.stackStart[s]!; i < t.stackStart[s + 1]!; i++) {
      for (const f of locFrames[t.stack[i]!]!) frames.push(f);
    }
    if (frames.length === 0) continue;
    let u = 0;
    while (u < frames.length && frames[u]!.internal) u++;
    if (u === frames.length) u = 0;
    const leaf = frames[u]!;
    // The stack's identity across profiles: a 64-bit hash of its frames' texts (no string per
    // sample; a collision needs ~2^32 distinct stacks).
    let h1 = 0x2545f491;
    let h2 = 0x6b43a9b5;
    for (let i = u; i < frames.length; i++) {
      h1 = Math.imul(h1 ^ frames[i]!.h1, 0x85ebca6b) ^ (h1 >>> 13);
      h2 = Math.imul(h2 ^ frames[i]!.h2, 0xc2b2ae35) ^ (h2 >>> 16);
    }
    const stackKey = `S${(h1 >>> 0).toString(36)}.${(h2 >>> 0).toString(36)}.${frames.length - u}`;
    if (!add(leaf.fnKey, v, o)) acc.set(leaf.fnKey, { info: catalog?.get(leaf.fnKey) ?? siteOf(leaf, 'function', leaf.fnKey, []), v, o });
    if (!add(leaf.lineKey, v, o)) acc.set(leaf.lineKey, { info: catalog?.get(leaf.lineKey) ?? siteOf(leaf, 'line', leaf.lineKey, []), v, o });
    if (!add(stackKey, v, o)) acc.set(stackKey, { info: catalog?.get(stackKey) ?? siteOf(leaf, 'stack', stackKey, frames.slice(u).map((f) => f.text)), v, o });
  }
  const values = new Map<string, number>();
  const objects = objIdx >= 0 ? new Map<string, number>() : undefined;
  const sites = catalog ?? new Map<string, SiteInfo>();
  for (const [k, a] of acc) {
    values.set(k, a.v);
    objects?.set(k, a.o);
    if (!sites.has(k)) sites.set(k, a.info);
  }
  return {
    kind,
    unit,
    total,
    objectsTotal,
    cumulative,
    profileTimeMs: p.timeNanos > 0n ? Number(p.timeNanos / 1000n) / 1000 : NaN,
    values,
    objects,
    sites,
  };
}
