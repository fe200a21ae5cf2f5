/**
 * Labels ("tags" in pprof) on samples: pprof's tag filters (-tagfocus, -tagignore, -tagshow,
 * -taghide), its label pseudo-frames (-tagroot, -tagleaf) and the data of its `-tags` report,
 * with the semantics of the pprof in Go 1.19 (driver_focus.go, tagroot.go, report.printTags).
 *
 * A label is a string label when its string is set, a numeric label when its number or unit is
 * set (pprof's decoder drops a label with neither). Pure: no I/O.
 */
import { LeakscopeError } from './errors.js';
import { SampleTableBuilder, type Location, type Profile, type ProfileFunction, type SampleTable } from './profile.js';
import { compileGoRegex } from './regex.js';
import { scaledLabel, scaleValue } from './units.js';
import { isInternalFrame } from './leak/summary.js';

/** One sample's labels grouped by key, as pprof's Sample.Label / NumLabel / NumUnit maps. */
export interface SampleLabelMaps {
  str: Map<string, string[]>;
  num: Map<string, number[]>;
  /** per numeric key: the units of its values ('' where a value has none), only when one has a unit */
  units: Map<string, string[]>;
}

export function sampleLabelMaps(p: Profile, s: number): SampleLabelMaps {
  const t = p.samples;
  const str = new Map<string, string[]>();
  const num = new Map<string, number[]>();
  const units = new Map<string, string[]>();
  for (let i = t.labelStart[s]!; i < t.labelStart[s + 1]!; i++) {
    const key = p.strings[t.labelKey[i]!]!;
    if (t.labelStr[i] !== 0) {
      const a = str.get(key);
      if (a) a.push(p.strings[t.labelStr[i]!]!);
      else str.set(key, [p.strings[t.labelStr[i]!]!]);
    } else if (t.labelNum[i] !== 0 || t.labelUnit[i] !== 0) {
      const a = num.get(key);
      if (a) a.push(t.labelNum[i]!);
      else num.set(key, [t.labelNum[i]!]);
      const unit = p.strings[t.labelUnit[i]!]!;
      const have = units.get(key);
      if (have) have.push(unit);
      else units.set(key, [unit]);
    }
  }
  // pprof keeps NumUnit[key] only when some value of the key has a unit (then padded with '')
  for (const [key, us] of units) if (us.every((u) => u === '')) units.delete(key);
  return { str, num, units };
}

/** A compiled -tagfocus / -tagignore: whether sample s of p matches. */
export type TagMatch = (p: Profile, s: number) => boolean;

export interface CompiledTagFilter {
  match: TagMatch;
  /** pprof's stderr note when the value is read as a numeric range */
  note?: string;
}

const RANGE_RX = /([+-]?[0-9]+)([A-Za-z]+)?/g;

function parseInt64(digits: string, what: string): number {
  const n = Number(digits);
  if (!Number.isSafeInteger(n)) throw new LeakscopeError('E_USAGE', `${what}: failed to parse int ${digits}`);
  return n;
}

/**
 * pprof's parseTagFilterRange: "32kb" (equal), ":64kb" (at most), "4mb:" (at least),
 * "12kb:64mb" (between, both included). undefined when the string is not a range.
 */
export function parseTagFilterRange(filter: string, what = 'tag filter'): ((v: number, unit: string) => boolean) | undefined {
  const ranges = [...filter.matchAll(RANGE_RX)].slice(0, 2);
  if (ranges.length === 0) return undefined;
  const r0 = ranges[0]!;
  const v0 = parseInt64(r0[1]!, what);
  const [scaled, unit] = scaleValue(v0, r0[2] ?? '', r0[2] ?? '');
  const within = (v: number, u: string, ok: (x: number) => boolean) => {
    const [sv, su] = scaleValue(v, u, unit);
    return su === unit && ok(sv);
  };
  if (ranges.length === 1) {
    const m = r0[0];
    if (filter === m) return (v, u) => within(v, u, (x) => x === scaled);
    if (filter === m + ':') return (v, u) => within(v, u, (x) => x >= scaled);
    if (filter === ':' + m) return (v, u) => within(v, u, (x) => x <= scaled);
    return undefined;
  }
  const r1 = ranges[1]!;
  if (filter !== r0[0] + ':' + r1[0]) return undefined;
  const v1 = parseInt64(r1[1]!, what);
  const [scaled2, unit2] = scaleValue(v1, r1[2] ?? '', unit);
  if (unit !== unit2) return undefined;
  return (v, u) => within(v, u, (x) => x >= scaled && x <= scaled2);
}

/**
 * pprof's compileTagFilter. `key=value` restricts to one key. A value that reads as a numeric
 * range (`1kb:`, `:64mb`, `12kb:64mb`, `32kb`) matches numeric labels by value in their unit;
 * otherwise it is comma-separated regexes: with a key, a sample matches when any regex matches
 * any of that key's values; without a key, every regex must match some `key:value` of the sample.
 */
export function compileTagFilter(name: string, value: string, numLabelUnits: Map<string, string>): CompiledTagFilter | undefined {
  if (value === '') return undefined;
  let wantKey = '';
  const eq = value.indexOf('=');
  if (eq >= 0) {
    wantKey = value.slice(0, eq);
    value = value.slice(eq + 1);
  }
  const numFilter = parseTagFilterRange(value, name);
  if (numFilter) {
    const note = `${name}:Interpreted '${value}' as range, not regexp`;
    const anyIn = (vals: number[], unit: string) => vals.some((v) => numFilter(v, unit));
    if (wantKey === '') {
      return {
        note,
        match: (p, s) => {
          for (const [key, vals] of sampleLabelMaps(p, s).num) if (anyIn(vals, numLabelUnits.get(key) ?? '')) return true;
          return false;
        },
      };
    }
    return {
      note,
      match: (p, s) => {
        const vals = sampleLabelMaps(p, s).num.get(wantKey);
        return vals !== undefined && anyIn(vals, numLabelUnits.get(wantKey) ?? '');
      },
    };
  }
  const rxs = value.split(',').map((r) => compileGoRegex(r, name));
  if (wantKey === '') {
    return {
      match: (p, s) => {
        const str = sampleLabelMaps(p, s).str;
        return rxs.every((rx) => {
          for (const [key, vals] of str) for (const v of vals) if (rx.test(key + ':' + v)) return true;
          return false;
        });
      },
    };
  }
  return {
    match: (p, s) => {
      const vals = sampleLabelMaps(p, s).str.get(wantKey);
      return vals !== undefined && rxs.some((rx) => vals.some((v) => rx.test(v)));
    },
  };
}

/** Copies sample s's stack and values to b; labels are the caller's to push. */
function copyStackAndValues(t: SampleTable, s: number, nt: number, b: SampleTableBuilder): void {
  for (let i = t.stackStart[s]!; i < t.stackStart[s + 1]!; i++) b.pushLocation(t.stack[i]!);
  for (let k = 0; k < nt; k++) {
    const big = t.bigValues?.get(s * nt + k);
    if (big !== undefined) b.setBigValue(k, big);
    else b.setValue(k, t.values[s * nt + k]!);
  }
}

function pushAllLabels(t: SampleTable, s: number, b: SampleTableBuilder): void {
  for (let i = t.labelStart[s]!; i < t.labelStart[s + 1]!; i++) b.pushLabel(t.labelKey[i]!, t.labelStr[i]!, t.labelNum[i]!, t.labelUnit[i]!);
}

/** pprof's FilterSamplesByTag: keeps samples focus matches (all without focus) and ignore does not. */
export function filterSamplesByTag(p: Profile, focus?: TagMatch, ignore?: TagMatch): { profile: Profile; focusMatched: boolean; ignoreMatched: boolean } {
  let focusMatched = false;
  let ignoreMatched = false;
  if (!focus && !ignore) return { profile: p, focusMatched: true, ignoreMatched: false };
  const t = p.samples;
  const nt = p.sampleTypes.length;
  const b = new SampleTableBuilder(nt, t.count);
  for (let s = 0; s < t.count; s++) {
    const focused = focus ? focus(p, s) : true;
    const ignored = ignore ? ignore(p, s) : false;
    focusMatched ||= focused;
    ignoreMatched ||= ignored;
    if (!focused || ignored) continue;
    copyStackAndValues(t, s, nt, b);
    pushAllLabels(t, s, b);
    b.endSample();
  }
  return { profile: { ...p, samples: b.build() }, focusMatched, ignoreMatched };
}

/**
 * pprof's FilterTagsByName: removes labels whose key does not match show or matches hide.
 * showMatched / hideMatched: some key (of a string or numeric label) matched.
 */
export function filterTagsByName(p: Profile, show?: RegExp, hide?: RegExp): { profile: Profile; showMatched: boolean; hideMatched: boolean } {
  let showMatched = false;
  let hideMatched = false;
  if (!show && !hide) return { profile: p, showMatched: false, hideMatched: false };
  /** per key string: [remove, matches show, matches hide] */
  const byKey = new Map<number, [boolean, boolean, boolean]>();
  const t = p.samples;
  const nt = p.sampleTypes.length;
  const b = new SampleTableBuilder(nt, t.count);
  for (let s = 0; s < t.count; s++) {
    copyStackAndValues(t, s, nt, b);
    for (let i = t.labelStart[s]!; i < t.labelStart[s + 1]!; i++) {
      // a label pprof's decoder would drop is dropped here too
      if (t.labelStr[i] === 0 && t.labelNum[i] === 0 && t.labelUnit[i] === 0) continue;
      const k = t.labelKey[i]!;
      let m = byKey.get(k);
      if (m === undefined) {
        const name = p.strings[k]!;
        const ms = !show || show.test(name);
        const mh = hide !== undefined && hide.test(name);
        byKey.set(k, (m = [!ms || mh, ms, mh]));
      }
      // pprof notes a match on every key it sees, kept or removed
      if (m[1]) showMatched = true;
      if (m[2]) hideMatched = true;
      if (!m[0]) b.pushLabel(k, t.labelStr[i]!, t.labelNum[i]!, t.labelUnit[i]!);
    }
    b.endSample();
  }
  return { profile: { ...p, samples: b.build() }, showMatched, hideMatched };
}

/**
 * pprof's formatLabelValues: the key's string values, then its numeric values scaled to
 * outputUnit from their own unit (or printed bare when none of the key's values has a unit).
 */
export function formatLabelValues(m: SampleLabelMaps, key: string, outputUnit: string): string[] {
  const values = [...(m.str.get(key) ?? [])];
  const nums = m.num.get(key) ?? [];
  const units = m.units.get(key);
  nums.forEach((v, i) => values.push(units ? scaledLabel(v, units[i] ?? '', outputUnit) : scaledLabel(v, '', '')));
  return values;
}

/**
 * pprof's addLabelNodes (-tagroot, -tagleaf): a pseudo-frame `value1,value2` (file: the key) per
 * key, the first root key outermost and the last leaf key innermost. Samples without the label
 * get a frame with an empty name, as in pprof.
 */
export function addLabelNodes(p: Profile, rootKeys: string[], leafKeys: string[], outputUnit: string): { profile: Profile; rootMatched: boolean; leafMatched: boolean } {
  if (rootKeys.length === 0 && leafKeys.length === 0) return { profile: p, rootMatched: false, leafMatched: false };
  let nextLocId = 1;
  for (const l of p.locations) nextLocId = Math.max(nextLocId, l.id + 1);
  let nextFnId = 1;
  for (const f of p.functions) nextFnId = Math.max(nextFnId, f.id + 1);
  const functions: ProfileFunction[] = p.functions.slice();
  const locations: Location[] = p.locations.slice();
  const interned = new Map<string, number>();
  const internLoc = (name: string, file: string): number => {
    const k = name + '\u0000' + file;
    let li = interned.get(k);
    if (li !== undefined) return li;
    functions.push({ id: nextFnId++, name, systemName: '', filename: file, startLine: 0 });
    li = locations.length;
    locations.push({ id: nextLocId++, mapping: -1, address: 0n, lines: [{ fn: functions.length - 1, line: 0, column: 0 }], isFolded: false });
    interned.set(k, li);
    return li;
  };
  let rootMatched = false;
  let leafMatched = false;
  const labelLocs = (m: SampleLabelMaps, keys: string[]): [number[], boolean] => {
    const out: number[] = [];
    let match = false;
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      const values = formatLabelValues(m, k, outputUnit);
      if (values.length > 0) match = true;
      out.push(internLoc(values.join(','), k));
    }
    return [out, match];
  };
  const t = p.samples;
  const nt = p.sampleTypes.length;
  const b = new SampleTableBuilder(nt, t.count);
  for (let s = 0; s < t.count; s++) {
    const m = sampleLabelMaps(p, s);
    const [roots, rm] = labelLocs(m, rootKeys);
    const [leaves, lm] = labelLocs(m, leafKeys);
    rootMatched ||= rm;
    leafMatched ||= lm;
    for (const l of leaves) b.pushLocation(l);
    for (let i = t.stackStart[s]!; i < t.stackStart[s + 1]!; i++) b.pushLocation(t.stack[i]!);
    for (const l of roots) b.pushLocation(l);
    for (let k = 0; k < nt; k++) {
      const big = t.bigValues?.get(s * nt + k);
      if (big !== undefined) b.setBigValue(k, big);
      else b.setValue(k, t.values[s * nt + k]!);
    }
    pushAllLabels(t, s, b);
    b.endSample();
  }
  return { profile: { ...p, functions, locations, samples: b.build() }, rootMatched, leafMatched };
}

/** pprof's -tagroot / -tagleaf value: comma-separated keys, empty ones dropped. */
export function labelKeyList(v: string | undefined): string[] {
  return (v ?? '').split(',').filter((k) => k !== '');
}

export interface TagValue {
  name: string;
  value: number;
}
export interface TagKey {
  key: string;
  total: number;
  values: TagValue[];
}

/** Go's string order (bytes of UTF-8 = code points). */
export function goStringLess(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (c !== 0) return c;
  }
  return x.length - y.length;
}

/**
 * The data of pprof's `-tags` report: per label key, the sum of the chosen value over the samples
 * carrying each label value (numeric values formatted in their key's unit scaled to outputUnit).
 * Keys sorted by name; values by |value| descending, then name (pprof's SortTags).
 */
export function tagsData(p: Profile, valueIndex: number, numLabelUnits: Map<string, string>, outputUnit: string): TagKey[] {
  const tagMap = new Map<string, Map<string, number>>();
  const nt = p.sampleTypes.length;
  const add = (key: string, val: string, v: number) => {
    let m = tagMap.get(key);
    if (!m) tagMap.set(key, (m = new Map()));
    m.set(val, (m.get(val) ?? 0) + v);
  };
  for (let s = 0; s < p.samples.count; s++) {
    const v = p.samples.values[s * nt + valueIndex]!;
    const m = sampleLabelMaps(p, s);
    for (const [key, vals] of m.str) for (const val of vals) add(key, val, v);
    for (const [key, vals] of m.num) {
      const unit = numLabelUnits.get(key) ?? '';
      for (const n of vals) add(key, scaledLabel(n, unit, outputUnit), v);
    }
  }
  const keys = [...tagMap.keys()].sort(goStringLess);
  return keys.map((key) => {
    const m = tagMap.get(key)!;
    let total = 0;
    const values: TagValue[] = [];
    for (const [name, value] of m) {
      total += value;
      values.push({ name, value });
    }
    values.sort((a, b) => (a.value !== b.value && Math.abs(a.value) !== Math.abs(b.value) ? Math.abs(b.value) - Math.abs(a.value) : goStringLess(a.name, b.name)));
    return { key, total, values };
  });
}

/**
 * `watch --by KEY`: each sample's user frames (not the runtime's, see isInternalFrame) are renamed
 * `name {KEY=value}` after the sample's values of the label, so every site (function, line,
 * stack) becomes one series per label value. Samples without the label are left as they are.
 */
export function splitByLabel(p: Profile, key: string): Profile {
  const t = p.samples;
  const nt = p.sampleTypes.length;
  const functions = p.functions.slice();
  const locations = p.locations.slice();
  const fnCopies = new Map<string, number>();
  const locCopies = new Map<string, number>();
  const renamedFn = (fi: number, suffix: string): number => {
    const f = p.functions[fi]!;
    if (isInternalFrame(f.name || f.systemName, f.filename)) return fi;
    const k = fi + '\u0000' + suffix;
    let c = fnCopies.get(k);
    if (c === undefined) {
      c = functions.length;
      functions.push({ ...f, id: 0, name: (f.name || f.systemName) + suffix });
      fnCopies.set(k, c);
    }
    return c;
  };
  const b = new SampleTableBuilder(nt, t.count);
  for (let s = 0; s < t.count; s++) {
    const values = formatLabelValues(sampleLabelMaps(p, s), key, 'minimum');
    const suffix = values.length > 0 ? ` {${key}=${values.join(',')}}` : '';
    for (let i = t.stackStart[s]!; i < t.stackStart[s + 1]!; i++) {
      const li = t.stack[i]!;
      if (suffix === '') {
        b.pushLocation(li);
        continue;
      }
      const k = li + '\u0000' + suffix;
      let c = locCopies.get(k);
      if (c === undefined) {
        const loc = p.locations[li]!;
        c = locations.length;
        locations.push({ ...loc, id: 0, lines: loc.lines.map((ln) => (ln.fn >= 0 ? { ...ln, fn: renamedFn(ln.fn, suffix) } : ln)) });
        locCopies.set(k, c);
      }
      b.pushLocation(c);
    }
    for (let k = 0; k < nt; k++) {
      const big = t.bigValues?.get(s * nt + k);
      if (big !== undefined) b.setBigValue(k, big);
      else b.setValue(k, t.values[s * nt + k]!);
    }
    pushAllLabels(t, s, b);
    b.endSample();
  }
  // ids stay unique for anything that encodes the result
  let nextFn = 1;
  let nextLoc = 1;
  for (const f of p.functions) nextFn = Math.max(nextFn, f.id + 1);
  for (const l of p.locations) nextLoc = Math.max(nextLoc, l.id + 1);
  for (let i = p.functions.length; i < functions.length; i++) functions[i] = { ...functions[i]!, id: nextFn++ };
  for (let i = p.locations.length; i < locations.length; i++) locations[i] = { ...locations[i]!, id: nextLoc++ };
  return { ...p, functions, locations, samples: b.build() };
}

export interface LabelViewOptions {
  /** watch --by: one series per value of this label */
  by?: string;
  tagFocus?: string;
  tagIgnore?: string;
}

/**
 * What `watch` applies to each polled profile before summarizing it: --tagfocus / --tagignore
 * (pprof's semantics, numeric ranges in each profile's label units), then --by. Compiles the
 * filters once up front so that a bad one fails before the run starts; returns the notes pprof
 * would print ("Interpreted … as range"). undefined transform: nothing to do.
 */
export function labelView(o: LabelViewOptions, unitsOf: (p: Profile) => Map<string, string>): { transform?: (p: Profile) => Profile; notes: string[] } {
  const notes: string[] = [];
  for (const [name, v] of [['tagfocus', o.tagFocus], ['tagignore', o.tagIgnore]] as const) {
    const f = v ? compileTagFilter(name, v, new Map()) : undefined;
    if (f?.note) notes.push(f.note);
  }
  if (!o.by && !o.tagFocus && !o.tagIgnore) return { notes };
  if (o.by === '') throw new LeakscopeError('E_USAGE', '--by needs a label key, such as route');
  return {
    notes,
    transform: (p) => {
      let q = p;
      if (o.tagFocus || o.tagIgnore) {
        const units = unitsOf(p);
        const focus = o.tagFocus ? compileTagFilter('tagfocus', o.tagFocus, units) : undefined;
        const ignore = o.tagIgnore ? compileTagFilter('tagignore', o.tagIgnore, units) : undefined;
        q = filterSamplesByTag(q, focus?.match, ignore?.match).profile;
      }
      return o.by ? splitByLabel(q, o.by) : q;
    },
  };
}

/**
 * pprof's note when one numeric label key comes with several units (identifyNumLabelUnits):
 * `For tag K used unit U, also encountered unit(s) V, W` (units sorted; keys sorted here, where
 * pprof's order follows Go's map iteration). `units` is the unit chosen per key.
 */
export function numLabelUnitNotes(p: Profile, units: Map<string, string>): string[] {
  const t = p.samples;
  const other = new Map<string, Set<string>>();
  for (let i = 0; i < t.labelStart[t.count]!; i++) {
    if (t.labelStr[i] !== 0 || t.labelUnit[i] === 0) continue;
    const key = p.strings[t.labelKey[i]!]!;
    const unit = p.strings[t.labelUnit[i]!]!;
    if (unit === units.get(key)) continue;
    let s = other.get(key);
    if (!s) other.set(key, (s = new Set()));
    s.add(unit);
  }
  return [...other.keys()].sort(goStringLess).map((k) => `For tag ${k} used unit ${units.get(k)}, also encountered unit(s) ${[...other.get(k)!].sort(goStringLess).join(', ')}`);
}
