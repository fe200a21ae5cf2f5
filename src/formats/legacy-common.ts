/**
 * What every legacy profile reader shares, as go tool pprof's profile package does it: samples
 * collected as addresses (or symbolized Java frames), the memory map section (/proc/self/maps or
 * the brief `start-end: file` form) turned into mappings, pprof's mapping heuristics (adjacent
 * regions merged, the main binary first, /anon_hugepage and 0x400000 fixes, a fake mapping for
 * addresses outside every region), locations numbered by first use and the drop_frames pattern for
 * the profile's kind. Mappings and samples end up as pprof's merge of the one profile leaves them:
 * the main binary first, then the mappings used, in order of first use (so "File:" names what pprof
 * names); samples whose values are all zero dropped.
 *
 * Pure: strings and bigints in, a Profile out.
 */
import { LeakscopeError } from '../core/errors.js';
import { type Mapping, type Profile, type ProfileFunction, type ValueType, SampleTableBuilder, StringPool, emptyProfile } from '../core/profile.js';

const U64 = (1n << 64n) - 1n;

/** One sample as read: values and its stack (leaf first) as addresses. */
export interface LegacySample {
  values: number[];
  addrs: bigint[];
  /** the `bytes` numeric label (heap profiles' block size) */
  bytes?: number;
  /** the `thread` string label (jemalloc's per-thread rows) */
  thread?: string;
}

export interface RawMapping {
  start: bigint;
  limit: bigint;
  offset: bigint;
  file: string;
  buildId: string;
}

/** A symbolized frame (Java profiles): the location at an address becomes this function and line. */
export interface LegacyFrame {
  name: string;
  file: string;
  line: number;
}

/** Go's bufio.Scanner lines: split at \n, a trailing \r dropped, no empty last line. */
export function scanLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) if (lines[i]!.endsWith('\r')) lines[i] = lines[i]!.slice(0, -1);
  return lines;
}

export function isSpaceOrComment(line: string): boolean {
  const t = line.trim();
  return t.length === 0 || t[0] === '#';
}

export function isMemoryMapSentinel(line: string): boolean {
  return line.includes('--- Memory map: ---') || line.includes('MAPPED_LIBRARIES:');
}

/** `0x…` numbers in a string (pprof's parseHexAddresses); one beyond 64 bits is malformed. */
export function hexAddresses(s: string, line: string): bigint[] {
  const out: bigint[] = [];
  for (const m of s.matchAll(/0x[0-9a-f]+/g)) {
    const v = BigInt(m[0]);
    if (v > U64) throw new LeakscopeError('E_MALFORMED', `malformed sample: ${line}: failed to parse as hex 64-bit number: ${m[0]}`);
    out.push(v);
  }
  return out;
}

/** An address minus one, wrapping as uint64 does (return addresses → the call instruction). */
export function dec(a: bigint): bigint {
  return (a - 1n) & U64;
}

/** Go's strconv.ParseInt(s, 0, 64) for attribute values: decimal, 0x hex, 0 octal, 0b binary. */
export function parseIntAuto(s: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]+|[1-9][0-9]*|0)$/.exec(s);
  if (!m) return undefined;
  const body = m[2]!;
  const v = /^0[0-7]+$/.test(body) ? BigInt('0o' + body.slice(1)) : BigInt(body.toLowerCase());
  const signed = m[1] === '-' ? -v : v;
  if (signed > (1n << 63n) - 1n || signed < -(1n << 63n)) return undefined;
  return Number(signed);
}

/**
 * Linear-time matching. JavaScript regexes backtrack; Go's (RE2) do not. A pattern whose greedy
 * runs are each followed by a character they cannot match gives the same result when the runs do
 * not give back what they took, so they are written possessive ((?=(x))\k<n>: a lookahead's match
 * is never re-entered), and unanchored searches start only where a match can start leftmost (see
 * searchFromRunStarts). Lines are bounded as Go's bufio.Scanner bounds them (64 KiB).
 */
let possessiveCount = 0;
export function possessive(x: string): string {
  const g = `p${possessiveCount++}`;
  return `(?=(?<${g}>${x}))\\k<${g}>`;
}

export const MAX_LINE = 64 * 1024;

/** Go's Scanner refuses longer lines ("token too long"); so does this reader. */
export function guardLine(line: string, i: number): void {
  if (line.length > MAX_LINE) throw new LeakscopeError('E_MALFORMED', `line ${i + 1} is longer than 64 KiB`);
}

/**
 * The leftmost match of a sticky pattern that starts with a digit run (optionally signed, when
 * `signed`): tried only at the start of each run (or at the '-' before it), where a leftmost match
 * must begin when what follows the run cannot be a digit.
 */
export function searchFromRunStarts(re: RegExp, line: string, signed: boolean): RegExpExecArray | null {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c < 48 || c > 57) continue;
    if (i > 0) {
      const b = line.charCodeAt(i - 1);
      if (b >= 48 && b <= 57) continue;
    }
    const start = signed && i > 0 && line[i - 1] === '-' ? i - 1 : i;
    re.lastIndex = start;
    const m = re.exec(line);
    if (m) return m;
    // a run is tried once: skip to its end
    while (i + 1 < line.length && line.charCodeAt(i + 1) >= 48 && line.charCodeAt(i + 1) <= 57) i++;
  }
  return null;
}

// pprof's memory map lines: /proc/self/maps, or `start-end: file (@offset) buildid`
const WS = '[\\t\\n\\f\\r ]';
const NWS = '[^\\t\\n\\f\\r ]';
const HEXR = '[0-9A-Fa-f]+';
const P = possessive;
const C_HEX = (name: string) => `(?:0x)?(?<${name}>${P(HEXR)})`;
const HEX_RANGE = `${P(WS + '*')}${C_HEX('start')}[\\t\\n\\f\\r -]?${P(WS + '*')}${C_HEX('end')}:?`;
const PERM = `(?:${P(WS + '+')}(?<perm>${P('[-rwxp]+')}))?`;
const PROC_MAPS_RE = new RegExp(
  `^${HEX_RANGE}${PERM}(?:${P(WS + '+')}(?<offset>${P(HEXR)}))?${P(WS + '+')}${P(HEXR)}:${P(HEXR)}${P(WS + '+')}${P('[0-9]+')}(?:${P(WS + '+')}(?<file>${P(NWS + '+')}))?`,
);
const BRIEF_MAPS_RE = new RegExp(
  `^${HEX_RANGE}${PERM}(?:${P(WS + '+')}(?<file>${P(NWS + '+')}))?(?:${P(WS + '+')}\\(@(?<offset>${P(HEXR)})\\))?(?:${P(WS + '+')}(?<buildId>${P(HEXR)}))?`,
);
const LOG_INFO_RE = /^[^[\]]+:[0-9]+]\s/;

function parseMappingEntry(line: string): RawMapping | null | 'unrecognized' {
  const m = PROC_MAPS_RE.exec(line) ?? BRIEF_MAPS_RE.exec(line);
  if (!m) return 'unrecognized';
  const { start, end, perm, file, offset, buildId } = m.groups as Record<string, string | undefined> & { start: string; end: string };
  if (perm && !perm.includes('x')) return null; // not executable
  const big = (h: string) => {
    const v = BigInt('0x' + h);
    return v > U64 ? undefined : v;
  };
  const s = big(start);
  const l = big(end);
  const o = offset ? big(offset) : 0n;
  if (s === undefined || l === undefined || o === undefined) return 'unrecognized';
  return { start: s, limit: l, offset: o, file: file ?? '', buildId: buildId ?? '' };
}

/** The memory map section's lines → executable mappings (`name=value` lines define `$name`). */
export function parseMemoryMap(lines: string[]): RawMapping[] {
  const out: RawMapping[] = [];
  const attrs: Array<[string, string]> = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    guardLine(line, i);
    const li = LOG_INFO_RE.exec(line);
    if (li) line = line.slice(li[0].length);
    if (attrs.length > 0 && line.includes('$')) line = replaceAll(line, attrs);
    const m = parseMappingEntry(line);
    if (m === 'unrecognized') {
      const eq = line.indexOf('=');
      // (a map section defines a few; more than 256 are not kept, which bounds the work per line)
      if (eq >= 0 && attrs.length < 256) attrs.push(['$' + line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
      continue;
    }
    if (m) out.push(m);
  }
  return out;
}

/** Go's strings.NewReplacer(old1, new1, …).Replace: at each position the first pair that matches. */
function replaceAll(s: string, pairs: Array<[string, string]>): string {
  let out = '';
  let i = 0;
  outer: while (i < s.length) {
    for (const [from, to] of pairs) {
      if (from !== '' && s.startsWith(from, i)) {
        out += to;
        i += from.length;
        continue outer;
      }
    }
    out += s[i];
    i++;
  }
  return out;
}

function adjacent(a: RawMapping, b: RawMapping): boolean {
  if (a.file !== '' && b.file !== '' && a.file !== b.file) return false;
  if (a.buildId !== '' && b.buildId !== '' && a.buildId !== b.buildId) return false;
  if (a.limit !== b.start) return false;
  if (a.offset !== 0n && b.offset !== 0n && a.offset + (a.limit - a.start) !== b.offset) return false;
  return true;
}

/** pprof's massageMappings and the fixes of remapMappingIDs that come before matching addresses. */
function massage(ms: RawMapping[]): RawMapping[] {
  let out: RawMapping[] = ms.map((m) => ({ ...m }));
  if (out.length > 1) {
    const merged: RawMapping[] = [out[0]!];
    for (const m of out.slice(1)) {
      const last = merged[merged.length - 1]!;
      if (adjacent(last, m)) {
        last.limit = m.limit;
        if (m.file !== '') last.file = m.file;
        if (m.buildId !== '') last.buildId = m.buildId;
        continue;
      }
      merged.push(m);
    }
    out = merged;
  }
  for (let i = 0; i < out.length; i++) {
    const file = out[i]!.file.replaceAll('(deleted)', '').trim();
    if (file.length === 0 || /([.]so$|[.]so[._][0-9]+)/.test(file) || file[0] === '[') continue;
    [out[0], out[i]] = [out[i]!, out[0]!];
    break;
  }
  if (out.length > 1 && out[0]!.file.startsWith('/anon_hugepage') && out[0]!.limit === out[1]!.start) out = out.slice(1);
  if (out.length > 0 && ((out[0]!.start - out[0]!.offset) & U64) === 0x400000n) {
    out[0]!.start = 0x400000n;
    out[0]!.offset = 0n;
  }
  return out;
}

export type LegacyKind = 'heap' | 'contention' | 'cpu';

/** Everything a legacy reader produces, before it becomes a Profile. */
export interface LegacyParts {
  sampleTypes: ValueType[];
  periodType: ValueType | undefined;
  period: number;
  durationNanos?: number;
  samples: LegacySample[];
  mappings: RawMapping[];
  /** Java: frames by address (an address without one stays an address) */
  frames?: Map<bigint, LegacyFrame>;
}

// pprof's addLegacyFrameInfo: which frames are the profiler's or the allocator's own
const ALLOC_FRAMES = [
  'calloc', 'cfree', 'malloc', 'free', 'memalign', 'do_memalign', '(__)?posix_memalign', 'pvalloc', 'valloc', 'realloc',
  'tcmalloc::.*', 'tc_calloc', 'tc_cfree', 'tc_malloc', 'tc_free', 'tc_memalign', 'tc_posix_memalign', 'tc_pvalloc', 'tc_valloc',
  'tc_realloc', 'tc_new', 'tc_delete', 'tc_newarray', 'tc_deletearray', 'tc_new_nothrow', 'tc_newarray_nothrow',
  'malloc_zone_malloc', 'malloc_zone_calloc', 'malloc_zone_valloc', 'malloc_zone_realloc', 'malloc_zone_memalign', 'malloc_zone_free',
  'runtime\\..*',
  'BaseArena::.*', '(::)?do_malloc_no_errno', '(::)?do_malloc_pages', '(::)?do_malloc', 'DoSampledAllocation',
  'MallocedMemBlock::MallocedMemBlock', '_M_allocate', '__builtin_(vec_)?delete', '__builtin_(vec_)?new',
  '__gnu_cxx::new_allocator::allocate', '__libc_malloc', '__malloc_alloc_template::allocate', 'allocate', 'cpp_alloc',
  'operator new(\\[\\])?', 'simple_alloc::allocate',
].join('|');
const ALLOC_KEEP = ['runtime\\.panic', 'runtime\\.reflectcall', 'runtime\\.call[0-9]*'].join('|');
const CPU_PROFILER_FRAMES = ['ProfileData::Add', 'ProfileData::prof_handler', 'CpuProfiler::prof_handler', '__pthread_sighandler', '__restore'].join('|');
const LOCK_FRAMES = [
  'RecordLockProfileData', '(base::)?RecordLockProfileData.*', '(base::)?SubmitMutexProfileData.*', '(base::)?SubmitSpinLockProfileData.*',
  '(base::Mutex::)?AwaitCommon.*', '(base::Mutex::)?Unlock.*', '(base::Mutex::)?UnlockSlow.*', '(base::Mutex::)?ReaderUnlock.*',
  '(base::MutexLock::)?~MutexLock.*', '(Mutex::)?AwaitCommon.*', '(Mutex::)?Unlock.*', '(Mutex::)?UnlockSlow.*', '(Mutex::)?ReaderUnlock.*',
  '(MutexLock::)?~MutexLock.*', '(SpinLock::)?Unlock.*', '(SpinLock::)?SlowUnlock.*', '(SpinLockHolder::)?~SpinLockHolder.*',
].join('|');

const HEAP_TYPES = [['allocations', 'size'], ['objects', 'space'], ['inuse_objects', 'inuse_space'], ['alloc_objects', 'alloc_space'], ['alloc_objects', 'alloc_space', 'inuse_objects', 'inuse_space']];

function frameInfo(types: ValueType[]): [string, string] {
  const names = types.map((t) => t.type).join('\u0000');
  if (HEAP_TYPES.some((t) => t.join('\u0000') === names)) return [ALLOC_FRAMES, ALLOC_KEEP];
  if (names === 'contentions\u0000delay') return [LOCK_FRAMES, ''];
  return [CPU_PROFILER_FRAMES, ''];
}

/** Samples, memory map and frames → the Profile go tool pprof works on. */
export function buildLegacyProfile(parts: LegacyParts): Profile {
  const p = emptyProfile(parts.sampleTypes);
  p.periodType = parts.periodType;
  p.period = parts.period;
  p.durationNanos = BigInt(Math.trunc(parts.durationNanos ?? 0));
  [p.dropFrames, p.keepFrames] = frameInfo(parts.sampleTypes);
  const n = parts.sampleTypes.length;
  for (const s of parts.samples) {
    if (s.values.length !== n) throw new LeakscopeError('E_MALFORMED', `malformed profile: sample has ${s.values.length} values vs. ${n} types`);
  }
  const mappings = massage(parts.mappings);
  // locations by address, numbered by first use (a Java frame's location has address 0, as pprof's
  // aggregation leaves it, and one per function and line)
  const locIndex = new Map<string, number>();
  const fnIndex = new Map<string, number>();
  const mappingOfLoc: number[] = [];
  let fake = -1;
  const locationFor = (addr: bigint): number => {
    const frame = parts.frames?.get(addr);
    const key = frame ? `f\u0000${frame.name}\u0000${frame.line}` : `a\u0000${addr}`;
    let li = locIndex.get(key);
    if (li !== undefined) return li;
    li = p.locations.length;
    locIndex.set(key, li);
    if (frame) {
      let fi = fnIndex.get(frame.name);
      if (fi === undefined) {
        fi = p.functions.length;
        fnIndex.set(frame.name, fi);
        const fn: ProfileFunction = { id: fi + 1, name: frame.name, systemName: frame.name, filename: frame.file, startLine: 0 };
        p.functions.push(fn);
      }
      p.locations.push({ id: li + 1, mapping: -1, address: 0n, lines: [{ fn: fi, line: frame.line, column: 0 }], isFolded: false });
      mappingOfLoc.push(-1);
      return li;
    }
    let mi = -1;
    if (addr !== 0n) {
      mi = mappings.findIndex((m) => m.start <= addr && addr < m.limit);
      if (mi < 0) {
        mi = mappings.findIndex((m) => m.offset !== 0n && m.start - m.offset <= addr && addr < m.start);
        if (mi >= 0) {
          mappings[mi]!.start -= mappings[mi]!.offset;
          mappings[mi]!.offset = 0n;
        }
      }
      if (mi < 0) {
        if (fake < 0) {
          fake = mappings.length;
          mappings.push({ start: 0n, limit: U64, offset: 0n, file: '', buildId: '' });
        }
        mi = fake;
      }
    }
    p.locations.push({ id: li + 1, mapping: mi, address: addr, lines: [], isFolded: false });
    mappingOfLoc.push(mi);
    return li;
  };
  const pool = new StringPool();
  const bytesKey = pool.intern('bytes');
  const threadKey = parts.samples.some((s) => s.thread !== undefined) ? pool.intern('thread') : 0;
  const b = new SampleTableBuilder(n, parts.samples.length);
  for (const s of parts.samples) {
    // pprof's merge drops samples whose values are all zero
    if (s.values.every((v) => v === 0)) continue;
    for (const a of s.addrs) b.pushLocation(locationFor(a));
    for (let t = 0; t < n; t++) b.setValue(t, s.values[t]!);
    if (s.thread !== undefined) b.pushLabel(threadKey, pool.intern(s.thread), 0, 0);
    if (s.bytes !== undefined) b.pushLabel(bytesKey, 0, s.bytes, 0);
    b.endSample();
  }
  p.samples = b.build();
  p.strings = pool.strings;
  // mappings as pprof's merge of the one profile leaves them: the first (the main binary, used or
  // not), then the used ones in order of first use
  const order: number[] = [];
  const newIndex = new Map<number, number>();
  if (mappings.length > 0) {
    newIndex.set(0, 0);
    order.push(0);
  }
  for (const mi of mappingOfLoc) {
    if (mi < 0 || newIndex.has(mi)) continue;
    newIndex.set(mi, order.length);
    order.push(mi);
  }
  p.mappings = order.map((mi, i): Mapping => {
    const m = mappings[mi]!;
    return { id: i + 1, memoryStart: m.start, memoryLimit: m.limit, fileOffset: m.offset, file: m.file, buildId: m.buildId, hasFunctions: false, hasFilenames: false, hasLineNumbers: false, hasInlineFrames: false };
  });
  for (const loc of p.locations) if (loc.mapping >= 0) loc.mapping = newIndex.get(loc.mapping)!;
  return p;
}

/** pprof's scaleHeapSample: undo Poisson sampling at `rate` bytes (1 - exp(-size/rate) chance). */
export function scaleHeapSample(count: number, size: number, rate: number): [number, number] {
  if (count === 0 || size === 0) return [0, 0];
  if (rate <= 1) return [count, size];
  const avg = size / count;
  const scale = 1 / (1 - Math.exp(-avg / rate));
  return [Math.trunc(count * scale), Math.trunc(size * scale)];
}
