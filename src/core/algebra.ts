/**
 * The profile algebra, named as pprof names it: merge, compact, scale, normalize, prune (drop_frames
 * and keep_frames), and the name filters focus/ignore/hide/show/show_from. Every function returns a
 * new Profile and leaves its inputs untouched (tables that did not change may be shared).
 */
import { LeakscopeError } from './errors.js';
import {
  type Location,
  type Mapping,
  type Profile,
  type ProfileFunction,
  type SampleTable,
  SampleTableBuilder,
  StringPool,
} from './profile.js';

function vtEqual(a: { type: string; unit: string } | undefined, b: { type: string; unit: string } | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.type === b.type && a.unit === b.unit;
}

function vtString(v: { type: string; unit: string } | undefined): string {
  return v ? `${v.type}/${v.unit}` : '<none>';
}

/** Profiles can be merged when their sample types and period types are identical (pprof's rule). */
export function checkCompatible(a: Profile, b: Profile): void {
  if (!vtEqual(a.periodType, b.periodType)) {
    throw new LeakscopeError('E_INCOMPATIBLE', `incompatible period types ${vtString(a.periodType)} and ${vtString(b.periodType)}`);
  }
  if (a.sampleTypes.length !== b.sampleTypes.length || a.sampleTypes.some((t, i) => !vtEqual(t, b.sampleTypes[i]))) {
    throw new LeakscopeError(
      'E_INCOMPATIBLE',
      `incompatible sample types [${a.sampleTypes.map(vtString).join(' ')}] and [${b.sampleTypes.map(vtString).join(' ')}]`,
    );
  }
}

/**
 * Merges profiles into one (pprof's profile.Merge): identical functions, mappings, locations and
 * samples (same stack and labels) are combined and their values summed; samples whose values are
 * all zero are dropped. Inputs must have identical sample types; the result has fresh dense ids.
 * Header: earliest time, summed durations, largest period, union of comments.
 */
export function mergeProfiles(ps: Profile[]): Profile {
  if (ps.length === 0) throw new LeakscopeError('E_NO_DATA', 'no profiles to merge');
  const first = ps[0]!;
  for (const p of ps.slice(1)) checkCompatible(first, p);
  const nt = first.sampleTypes.length;

  const functions: ProfileFunction[] = [];
  const fnKey = new Map<string, number>();
  const mappings: Mapping[] = [];
  const mapKey = new Map<string, number>();
  const locations: Location[] = [];
  const locKey = new Map<string, number>();
  const pool = new StringPool();

  interface Acc {
    stack: number[];
    labels: number[]; // [key, str, num, unit] * n
    values: Float64Array;
  }
  const samples: Acc[] = [];
  const sampleKey = new Map<string, number>();

  let timeNanos = 0n;
  let durationNanos = 0n;
  let period = 0;
  const comments: string[] = [];
  const seenComments = new Set<string>();
  let defaultSampleType = '';

  for (const p of ps) {
    if (timeNanos === 0n || (p.timeNanos !== 0n && p.timeNanos < timeNanos)) timeNanos = p.timeNanos || timeNanos;
    durationNanos += p.durationNanos;
    if (period === 0 || period < p.period) period = p.period;
    for (const c of p.comments) {
      if (!seenComments.has(c)) {
        seenComments.add(c);
        comments.push(c);
      }
    }
    if (!defaultSampleType) defaultSampleType = p.defaultSampleType;

    const fnMap = new Int32Array(p.functions.length);
    p.functions.forEach((f, i) => {
      const k = `${f.startLine}\u0000${f.name}\u0000${f.systemName}\u0000${f.filename}`;
      let j = fnKey.get(k);
      if (j === undefined) {
        j = functions.length;
        functions.push({ ...f, id: j + 1 });
        fnKey.set(k, j);
      }
      fnMap[i] = j;
    });
    const mapMap = new Int32Array(p.mappings.length);
    p.mappings.forEach((m, i) => {
      let size = m.memoryLimit - m.memoryStart;
      size = size + 0xfffn;
      size = size - (size % 0x1000n);
      const k = `${size}\u0000${m.fileOffset}\u0000${m.buildId || m.file}`;
      let j = mapKey.get(k);
      if (j === undefined) {
        j = mappings.length;
        mappings.push({ ...m, id: j + 1 });
        mapKey.set(k, j);
      } else {
        const t = mappings[j]!;
        t.hasFunctions ||= m.hasFunctions;
        t.hasFilenames ||= m.hasFilenames;
        t.hasLineNumbers ||= m.hasLineNumbers;
        t.hasInlineFrames ||= m.hasInlineFrames;
      }
      mapMap[i] = j;
    });
    const locMap = new Int32Array(p.locations.length);
    p.locations.forEach((l, i) => {
      const mi = l.mapping >= 0 ? mapMap[l.mapping]! : -1;
      const addr = l.mapping >= 0 ? l.address - p.mappings[l.mapping]!.memoryStart : l.address;
      let k = `${mi}\u0000${addr}\u0000${l.isFolded ? 1 : 0}`;
      for (const ln of l.lines) k += `\u0000${ln.fn >= 0 ? fnMap[ln.fn] : -1}:${ln.line}:${ln.column}`;
      let j = locKey.get(k);
      if (j === undefined) {
        j = locations.length;
        locations.push({
          id: j + 1,
          mapping: mi,
          address: l.address,
          isFolded: l.isFolded,
          lines: l.lines.map((ln) => ({ fn: ln.fn >= 0 ? fnMap[ln.fn]! : -1, line: ln.line, column: ln.column })),
        });
        locKey.set(k, j);
      }
      locMap[i] = j;
    });
    const strMap = new Int32Array(p.strings.length);
    p.strings.forEach((s, i) => {
      strMap[i] = pool.intern(s);
    });

    const t = p.samples;
    for (let s = 0; s < t.count; s++) {
      let zero = true;
      for (let k = 0; k < nt; k++) {
        if (t.values[s * nt + k] !== 0) {
          zero = false;
          break;
        }
      }
      if (zero) continue;
      const stack: number[] = [];
      for (let i = t.stackStart[s]!; i < t.stackStart[s + 1]!; i++) stack.push(locMap[t.stack[i]!]!);
      const labels: number[] = [];
      const labelKeys: string[] = [];
      for (let i = t.labelStart[s]!; i < t.labelStart[s + 1]!; i++) {
        const key = strMap[t.labelKey[i]!]!;
        const str = strMap[t.labelStr[i]!]!;
        const num = t.labelNum[i]!;
        const unit = strMap[t.labelUnit[i]!]!;
        labels.push(key, str, num, unit);
        labelKeys.push(`${key}:${str}:${num}:${unit}`);
      }
      labelKeys.sort();
      const k = stack.join(',') + '|' + labelKeys.join(',');
      let j = sampleKey.get(k);
      if (j === undefined) {
        j = samples.length;
        samples.push({ stack, labels, values: new Float64Array(nt) });
        sampleKey.set(k, j);
      }
      const acc = samples[j]!.values;
      for (let v = 0; v < nt; v++) acc[v]! += t.values[s * nt + v]!;
    }
  }

  const b = new SampleTableBuilder(nt, samples.length);
  for (const acc of samples) {
    let zero = true;
    for (let v = 0; v < nt; v++) if (acc.values[v] !== 0) zero = false;
    if (zero) continue;
    for (const l of acc.stack) b.pushLocation(l);
    for (let i = 0; i < acc.labels.length; i += 4) b.pushLabel(acc.labels[i]!, acc.labels[i + 1]!, acc.labels[i + 2]!, acc.labels[i + 3]!);
    for (let v = 0; v < nt; v++) b.setValue(v, acc.values[v]!);
    b.endSample();
  }

  return {
    sampleTypes: first.sampleTypes.map((t) => ({ ...t })),
    samples: b.build(),
    mappings,
    locations,
    functions,
    strings: pool.strings,
    dropFrames: first.dropFrames,
    keepFrames: first.keepFrames,
    timeNanos,
    durationNanos,
    periodType: first.periodType ? { ...first.periodType } : undefined,
    period,
    comments,
    defaultSampleType,
    docUrl: first.docUrl,
  };
}

/** A merge of one profile: identical entries combined, zero samples dropped. */
export function compactProfile(p: Profile): Profile {
  return mergeProfiles([p]);
}

/**
 * Multiplies every value of sample type i by ratios[i] (pprof's ScaleN: the product is truncated
 * toward zero, as Go's int64(float64(v)*r) does). A ratio of 1 leaves values exact.
 */
export function scaleProfile(p: Profile, ratios: number | number[]): Profile {
  const nt = p.sampleTypes.length;
  const rs = typeof ratios === 'number' ? new Array<number>(nt).fill(ratios) : ratios;
  if (rs.length !== nt) throw new LeakscopeError('E_USAGE', `scale: ${rs.length} ratios for ${nt} sample types`);
  const t = p.samples;
  const values = new Float64Array(t.values.length);
  let bigValues: Map<number, bigint> | undefined;
  for (let s = 0; s < t.count; s++) {
    for (let k = 0; k < nt; k++) {
      const idx = s * nt + k;
      const r = rs[k]!;
      if (r === 1) {
        values[idx] = t.values[idx]!;
        const big = t.bigValues?.get(idx);
        if (big !== undefined) (bigValues ??= new Map()).set(idx, big);
      } else if (r === -1) {
        values[idx] = -t.values[idx]! || 0;
        const big = t.bigValues?.get(idx);
        if (big !== undefined) (bigValues ??= new Map()).set(idx, -big);
      } else {
        values[idx] = Math.trunc(t.values[idx]! * r) || 0;
      }
    }
  }
  const samples: SampleTable = { ...t, values };
  if (bigValues) samples.bigValues = bigValues;
  else delete samples.bigValues;
  return { ...p, samples };
}

/** Per-type totals (signed sums) of a profile's samples. */
export function totals(p: Profile): number[] {
  const nt = p.sampleTypes.length;
  const out = new Array<number>(nt).fill(0);
  const v = p.samples.values;
  for (let s = 0; s < p.samples.count; s++) for (let k = 0; k < nt; k++) out[k]! += v[s * nt + k]!;
  return out;
}

/** Go's math.Round: half away from zero. */
function goRound(x: number): number {
  return x < 0 ? -Math.round(-x) || 0 : Math.round(x);
}

/**
 * pprof's ScaleN: each value whose ratio is not 1 becomes round(v × ratio) (Go's math.Round),
 * and a sample keeps its place only when one of those scaled values is non-zero.
 */
export function scaleProfileRounded(p: Profile, ratios: number[]): Profile {
  const nt = p.sampleTypes.length;
  if (ratios.length !== nt) throw new LeakscopeError('E_USAGE', `scale: ${ratios.length} ratios for ${nt} sample types`);
  if (ratios.every((r) => r === 1)) return p;
  const t = p.samples;
  const b = new SampleTableBuilder(nt, t.count);
  for (let s = 0; s < t.count; s++) {
    let keep = false;
    for (let k = 0; k < nt; k++) {
      const idx = s * nt + k;
      const r = ratios[k]!;
      if (r === 1) {
        const big = t.bigValues?.get(idx);
        if (big !== undefined) b.setBigValue(k, big);
        else b.setValue(k, t.values[idx]!);
      } else {
        const v = goRound(t.values[idx]! * r);
        b.setValue(k, v);
        if (v !== 0) keep = true;
      }
    }
    if (!keep) {
      b.abortSample();
      continue;
    }
    for (let i = t.stackStart[s]!; i < t.stackStart[s + 1]!; i++) b.pushLocation(t.stack[i]!);
    for (let i = t.labelStart[s]!; i < t.labelStart[s + 1]!; i++) b.pushLabel(t.labelKey[i]!, t.labelStr[i]!, t.labelNum[i]!, t.labelUnit[i]!);
    b.endSample();
  }
  return { ...p, samples: b.build() };
}

/**
 * Scales `p` so that each sample type's total equals the base's (pprof's Normalize): ratio
 * base total / source total per type (0 when the source's is 0), applied as pprof's ScaleN does.
 */
export function normalizeProfile(p: Profile, base: Profile): Profile {
  checkCompatible(p, base);
  const bt = totals(base);
  const st = totals(p);
  return scaleProfileRounded(
    p,
    bt.map((b, i) => (st[i] === 0 ? 0 : b / st[i]!)),
  );
}

/** Adds a string label to every sample (e.g. pprof::base=true for -diff_base). */
export function setLabel(p: Profile, key: string, value: string): Profile {
  const pool = new StringPool(p.strings);
  const k = pool.intern(key);
  const v = pool.intern(value);
  const t = p.samples;
  const nt = p.sampleTypes.length;
  const b = new SampleTableBuilder(nt, t.count);
  for (let s = 0; s < t.count; s++) {
    for (let i = t.stackStart[s]!; i < t.stackStart[s + 1]!; i++) b.pushLocation(t.stack[i]!);
    for (let i = t.labelStart[s]!; i < t.labelStart[s + 1]!; i++) {
      if (t.labelKey[i] === k) continue;
      b.pushLabel(t.labelKey[i]!, t.labelStr[i]!, t.labelNum[i]!, t.labelUnit[i]!);
    }
    b.pushLabel(k, v, 0, 0);
    for (let x = 0; x < nt; x++) {
      const big = t.bigValues?.get(s * nt + x);
      if (big !== undefined) b.setBigValue(x, big);
      else b.setValue(x, t.values[s * nt + x]!);
    }
    b.endSample();
  }
  return { ...p, strings: pool.strings, samples: b.build() };
}

/** True when sample s carries the label pprof::base=true (a -diff_base sample). */
export function isDiffBaseSample(p: Profile, s: number): boolean {
  const t = p.samples;
  for (let i = t.labelStart[s]!; i < t.labelStart[s + 1]!; i++) {
    if (p.strings[t.labelKey[i]!] === 'pprof::base' && p.strings[t.labelStr[i]!] === 'true') return true;
  }
  return false;
}

export interface BaseOptions {
  /** -diff_base semantics (label base samples; percentages relative to the base) vs -base */
  diff: boolean;
  /** scale the source so its totals equal the base's before subtracting */
  normalize?: boolean;
}

/** source − base, as pprof's -base / -diff_base do it: base scaled by −1 and merged in. */
export function subtractBase(source: Profile, base: Profile, opts: BaseOptions): Profile {
  checkCompatible(source, base);
  let b = base;
  if (opts.diff) b = setLabel(b, 'pprof::base', 'true');
  let src = source;
  if (opts.normalize) src = normalizeProfile(src, b);
  b = scaleProfile(b, -1);
  return mergeProfiles([src, b]);
}

// ---------------------------------------------------------------------------------------------
// drop_frames / keep_frames (pprof's RemoveUninteresting → Prune)

const RESERVED_NAMES = ['(anonymous namespace)', 'operator()'];

/** pprof's simplifyFunc: strip an argument list, keeping reserved names that contain '('. */
export function simplifyFunc(f: string): string {
  let name = f.startsWith('.') ? f.slice(1) : f;
  const re = /\(anonymous namespace\)|operator\(\)|\(/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(name)) !== null) {
    if (!RESERVED_NAMES.includes(m[0])) {
      name = name.slice(0, m.index);
      break;
    }
  }
  return name;
}

function fullMatch(re: string): RegExp | undefined {
  try {
    return new RegExp(`^(?:${re})$`);
  } catch {
    return undefined;
  }
}

/**
 * Applies the profile's own drop_frames/keep_frames: frames matching drop_frames (and not
 * keep_frames) are removed together with everything they called, but never the frames below
 * the first user frame (pprof's Prune).
 */
export function removeUninteresting(p: Profile): Profile {
  if (!p.dropFrames) return p;
  const drop = fullMatch(p.dropFrames);
  if (!drop) throw new LeakscopeError('E_REGEX', `invalid drop_frames regular expression "${p.dropFrames}"`);
  const keep = p.keepFrames ? fullMatch(p.keepFrames) : undefined;
  if (p.keepFrames && !keep) throw new LeakscopeError('E_REGEX', `invalid keep_frames regular expression "${p.keepFrames}"`);
  return pruneFrames(p, drop, keep);
}

export function pruneFrames(p: Profile, drop: RegExp, keep: RegExp | undefined): Profile {
  const cache = new Map<string, boolean>();
  const pruneFromHere = (s: string): boolean => {
    let r = cache.get(s);
    if (r === undefined) {
      const fn = simplifyFunc(s);
      r = drop.test(fn) && !(keep && keep.test(fn));
      cache.set(s, r);
    }
    return r;
  };
  const n = p.locations.length;
  const prune = new Uint8Array(n);
  const pruneBeneath = new Uint8Array(n);
  let locations = p.locations;
  let copied = false;
  for (let li = 0; li < n; li++) {
    const loc = p.locations[li]!;
    let i: number;
    for (i = loc.lines.length - 1; i >= 0; i--) {
      const f = loc.lines[i]!.fn;
      if (f >= 0) {
        const name = p.functions[f]!.name;
        if (name !== '' && pruneFromHere(name)) break;
      }
    }
    if (i >= 0) {
      pruneBeneath[li] = 1;
      if (i === loc.lines.length - 1) prune[li] = 1;
      else {
        if (!copied) {
          locations = p.locations.slice();
          copied = true;
        }
        locations[li] = { ...loc, lines: loc.lines.slice(i + 1) };
      }
    }
  }
  const t = p.samples;
  const nt = p.sampleTypes.length;
  const b = new SampleTableBuilder(nt, t.count);
  for (let s = 0; s < t.count; s++) {
    const a = t.stackStart[s]!;
    let z = t.stackStart[s + 1]!;
    let from = a;
    let foundUser = false;
    for (let i = z - 1; i >= a; i--) {
      const id = t.stack[i]!;
      if (!prune[id] && !pruneBeneath[id]) {
        foundUser = true;
        continue;
      }
      if (!foundUser) continue;
      if (prune[id]) {
        from = i + 1;
        break;
      }
      if (pruneBeneath[id]) {
        from = i;
        break;
      }
    }
    for (let i = from; i < z; i++) b.pushLocation(t.stack[i]!);
    copySampleRest(t, s, nt, b);
  }
  return { ...p, locations, samples: b.build() };
}

function copySampleRest(t: SampleTable, s: number, nt: number, b: SampleTableBuilder): void {
  for (let i = t.labelStart[s]!; i < t.labelStart[s + 1]!; i++) {
    b.pushLabel(t.labelKey[i]!, t.labelStr[i]!, t.labelNum[i]!, t.labelUnit[i]!);
  }
  for (let x = 0; x < nt; x++) {
    const big = t.bigValues?.get(s * nt + x);
    if (big !== undefined) b.setBigValue(x, big);
    else b.setValue(x, t.values[s * nt + x]!);
  }
  b.endSample();
}

// ---------------------------------------------------------------------------------------------
// Name filters (pprof's FilterSamplesByName and ShowFrom)

export interface NameFilters {
  focus?: RegExp;
  ignore?: RegExp;
  hide?: RegExp;
  show?: RegExp;
  showFrom?: RegExp;
}

export interface FilterResult {
  profile: Profile;
  /** which filters matched something (pprof warns about those that did not) */
  matched: { focus: boolean; ignore: boolean; hide: boolean; show: boolean; showFrom: boolean };
}

function lineMatches(p: Profile, fn: number, re: RegExp): boolean {
  if (fn < 0) return false;
  const f = p.functions[fn]!;
  return re.test(f.name) || re.test(f.filename);
}

function mappingMatches(p: Profile, loc: Location, re: RegExp): boolean {
  return loc.mapping >= 0 && re.test(p.mappings[loc.mapping]!.file);
}

/**
 * Keeps samples with a frame matching focus and none matching ignore; removes frames matching hide;
 * keeps only frames matching show; then drops frames above the highest show_from match (samples
 * without one are removed). Regexes match function names, file names and mapping files, unanchored.
 */
export function filterByName(p: Profile, f: NameFilters): FilterResult {
  const matched = { focus: !f.focus, ignore: false, hide: false, show: false, showFrom: false };
  if (!f.focus && !f.ignore && !f.hide && !f.show && !f.showFrom) {
    matched.focus = true;
    return { profile: p, matched };
  }
  const n = p.locations.length;
  // 0 = neither, 1 = focus, 2 = ignore
  const focusOrIgnore = new Uint8Array(n);
  const hidden = new Uint8Array(n);
  let anyHidden = false;
  const locations = p.locations.slice();
  for (let li = 0; li < n; li++) {
    let loc = locations[li]!;
    const matchesName = (re: RegExp) => mappingMatches(p, loc, re) || loc.lines.some((ln) => lineMatches(p, ln.fn, re));
    if (f.focus || f.ignore) {
      if (f.ignore && matchesName(f.ignore)) {
        matched.ignore = true;
        focusOrIgnore[li] = 2;
      } else if (!f.focus || matchesName(f.focus)) {
        matched.focus = true;
        focusOrIgnore[li] = 1;
      }
    } else {
      focusOrIgnore[li] = 1;
    }
    if (f.hide && matchesName(f.hide)) {
      matched.hide = true;
      const re = f.hide;
      const lines = mappingMatches(p, loc, re) ? [] : loc.lines.filter((ln) => !lineMatches(p, ln.fn, re));
      loc = { ...loc, lines };
      if (lines.length === 0) {
        hidden[li] = 1;
        anyHidden = true;
      }
    }
    if (f.show) {
      const re = f.show;
      const lines = mappingMatches(p, loc, re) ? loc.lines : loc.lines.filter((ln) => ln.fn < 0 || lineMatches(p, ln.fn, re));
      loc = { ...loc, lines };
      if (lines.length === 0) {
        hidden[li] = 1;
        anyHidden = true;
      } else matched.show = true;
    }
    locations[li] = loc;
  }

  // show_from: per location, keep lines up to the last match
  const showFromLoc = new Uint8Array(n);
  if (f.showFrom) {
    const re = f.showFrom;
    for (let li = 0; li < n; li++) {
      const loc = locations[li]!;
      if (mappingMatches(p, loc, re)) {
        showFromLoc[li] = 1;
        matched.showFrom = true;
        continue;
      }
      for (let i = loc.lines.length - 1; i >= 0; i--) {
        if (lineMatches(p, loc.lines[i]!.fn, re)) {
          locations[li] = { ...loc, lines: loc.lines.slice(0, i + 1) };
          showFromLoc[li] = 1;
          matched.showFrom = true;
          break;
        }
      }
    }
  }

  const t = p.samples;
  const nt = p.sampleTypes.length;
  const b = new SampleTableBuilder(nt, t.count);
  const useFocus = Boolean(f.focus || f.ignore || f.hide || f.show);
  for (let s = 0; s < t.count; s++) {
    const a = t.stackStart[s]!;
    const z = t.stackStart[s + 1]!;
    if (useFocus) {
      let focused = false;
      let ignored = false;
      for (let i = a; i < z; i++) {
        const v = focusOrIgnore[t.stack[i]!]!;
        if (v === 2) {
          ignored = true;
          break;
        }
        if (v === 1) focused = true;
      }
      if (ignored || !focused) continue;
    }
    // hidden frames out; then show_from cut (stack is leaf first: keep [0..highest match])
    const kept: number[] = [];
    for (let i = a; i < z; i++) {
      const l = t.stack[i]!;
      if (anyHidden && hidden[l]) continue;
      kept.push(l);
    }
    if (anyHidden && kept.length === 0) continue;
    let end = kept.length;
    if (f.showFrom) {
      let found = -1;
      for (let i = kept.length - 1; i >= 0; i--) {
        if (showFromLoc[kept[i]!]) {
          found = i;
          break;
        }
      }
      if (found < 0) continue;
      end = found + 1;
    }
    for (let i = 0; i < end; i++) b.pushLocation(kept[i]!);
    copySampleRest(t, s, nt, b);
  }
  return { profile: { ...p, locations, samples: b.build() }, matched };
}

// ---------------------------------------------------------------------------------------------
// Name simplification (pprof's symbolizer demangleFunctionNames, for names that are already
// demangled: no parameters, no template parameters)

/** pprof's looksLikeDemangledCPlusPlus heuristic. */
export function looksLikeDemangledCPlusPlus(name: string): boolean {
  if (name.includes('.<')) return false; // Java "class.<init>"
  if (name.includes(']).')) return false; // Go "foo.(*Bar[...]).Method"
  return /[<>[\]]/.test(name) || name.includes('::');
}

/** Removes nested start…end groups from name (pprof's removeMatching); unbalanced input is kept. */
export function removeMatching(name: string, start: string, end: string): string {
  let nesting = 0;
  let first = 0;
  let cur = 0;
  while (cur < name.length) {
    const c = name[cur]!;
    if (c === start) {
      nesting++;
      if (nesting === 1) first = cur;
    } else if (c === end) {
      nesting--;
      if (nesting < 0) return name;
      if (nesting === 0) {
        name = name.slice(0, first) + name.slice(cur + 1);
        cur = first - 1;
      }
    }
    cur++;
  }
  return name;
}

/**
 * What `go tool pprof` shows as function names: where a function's name equals its system name
 * and looks like demangled C++/Rust (templates, `::`), parameters and template parameters are
 * removed. Mangled symbols (`_Z…`) are left as they are (leakscope does not demangle).
 */
export function simplifyFunctionNames(p: Profile): Profile {
  let changed: ProfileFunction[] | undefined;
  p.functions.forEach((f, i) => {
    if (f.name !== f.systemName || !looksLikeDemangledCPlusPlus(f.name)) return;
    const name = removeMatching(removeMatching(f.name, '(', ')'), '<', '>');
    if (name === f.name) return;
    changed ??= p.functions.slice();
    changed[i] = { ...f, name };
  });
  return changed ? { ...p, functions: changed } : p;
}
