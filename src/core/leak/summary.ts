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
  /** primary value per site key */
  values: Map<string, number>;
  /** objects per site key (heap profiles with an objects type) */
  objects: Map<string, number> | undefined;
  sites: Map<string, SiteInfo>;
}

interface Frame {
  name: string;
  file: string;
  line: number;
  startLine: number;
  internal: boolean;
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

function frameKey(f: Frame): string {
  return f.file ? `${f.name} ${f.file}:${f.line}` : f.name;
}

/** Summarize a profile of the given kind. Pure; O(samples × stack depth). */
export function summarizeProfile(p: Profile, kind: LeakKind): ProfileSummary {
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
      frames.push({ name, file, line: ln.line, startLine: fn?.startLine ?? 0, internal: isInternalFrame(name, file) });
    }
    if (frames.length === 0) {
      const name = loc.address !== 0n ? `0x${loc.address.toString(16)}` : '?';
      frames.push({ name, file: '', line: 0, startLine: 0, internal: false });
    }
    locFrames[li] = frames;
  }

  const values = new Map<string, number>();
  const objects = objIdx >= 0 ? new Map<string, number>() : undefined;
  const sites = new Map<string, SiteInfo>();
  const add = (key: string, v: number, o: number) => {
    values.set(key, (values.get(key) ?? 0) + v);
    if (objects) objects.set(key, (objects.get(key) ?? 0) + o);
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
    let u = frames.findIndex((f) => !f.internal);
    if (u < 0) u = 0;
    const leaf = frames[u]!;
    const fnKey = `F\u0000${leaf.name}\u0000${leaf.file}\u0000${leaf.startLine}`;
    const lineKey = `L\u0000${leaf.name}\u0000${leaf.file}\u0000${leaf.startLine}\u0000${leaf.line}`;
    const stackFrames = frames.slice(u).map(frameKey);
    const stackKey = `S\u0000${stackFrames.join('\u0001')}`;
    if (!sites.has(fnKey)) sites.set(fnKey, { key: fnKey, level: 'function', fnKey, name: leaf.name, file: leaf.file, line: leaf.startLine || leaf.line, stack: [] });
    if (!sites.has(lineKey)) sites.set(lineKey, { key: lineKey, level: 'line', fnKey, name: leaf.name, file: leaf.file, line: leaf.line, stack: [] });
    if (!sites.has(stackKey)) sites.set(stackKey, { key: stackKey, level: 'stack', fnKey, name: leaf.name, file: leaf.file, line: leaf.line, stack: stackFrames });
    add(fnKey, v, o);
    add(lineKey, v, o);
    add(stackKey, v, o);
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
