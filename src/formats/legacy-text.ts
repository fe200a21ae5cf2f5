/**
 * The text profiles go tool pprof still reads (its profile package's legacy parsers, in its order):
 * - heap / growth / fragmentation: `heap profile: 1: 2 [3: 4] @ heapprofile`, `@ heap_v2/524288`
 *   (Poisson-sampled: values scaled by 1/(1-exp(-avg/rate))), `@ heap/1048576` (rate halved),
 *   `@ growthz`, `@ fragmentationz`; each row `inuse_n: inuse_bytes [alloc_n: alloc_bytes] @ 0x…`
 * - jemalloc: `heap_v2/524288`, then `@ 0x…` backtraces each followed by per-thread `tN:` rows
 * - Go count profiles: `goroutine profile: total 5` then `5 @ 0x… 0x…` (Go's debug=1 text; its
 *   `#` lines are comments)
 * - thread profiles: `--- threadz 1 ---` / `--- Thread 7f… (name: x/12) stack: ---` then addresses
 * - contention: `--- contentionz 1 ---`, `--- mutex:`, `--- contention:` with `cycles/second =`,
 *   `sampling period =`, `ms since reset =` attributes and `delay count @ 0x…` rows
 * - Java: `--- heapz 1 ---` / `--- contentionz 1 ---` with `format = java`, `resolution = …`
 *   attributes, `value1 value2 @ 0x…` rows and `0x… function (File.java:12)` symbols
 * followed by an optional memory map (`--- Memory map: ---` / `MAPPED_LIBRARIES:`). As the Go
 * version installed here (its vendored pprof) reads them: return addresses land on the call (-1),
 * the leaf too except in thread profiles.
 *
 * Pure. `parseLegacyText` returns undefined when the text is none of these (pprof's
 * errUnrecognized); a recognized profile with a bad row throws E_MALFORMED naming it.
 */
import { LeakscopeError } from '../core/errors.js';
import type { Profile, ValueType } from '../core/profile.js';
import {
  buildLegacyProfile,
  dec,
  hexAddresses,
  isMemoryMapSentinel,
  isSpaceOrComment,
  parseIntAuto,
  guardLine,
  parseMemoryMap,
  possessive as P,
  scaleHeapSample,
  searchFromRunStarts,
  scanLines,
  type LegacyFrame,
  type LegacySample,
} from './legacy-common.js';

/** pprof's errUnrecognized: not this format, try the next */
const UNRECOGNIZED = undefined;

const MAX_I64 = (1n << 63n) - 1n;

/** strconv.ParseInt(s, 10, 64) on digits a regex matched; out of range is malformed. */
function int10(s: string, line: string): number {
  const v = BigInt(s);
  if (v > MAX_I64 || v < -MAX_I64 - 1n) throw new LeakscopeError('E_MALFORMED', `malformed sample: ${line}: value out of range`);
  return Number(v);
}

/** The mappings after the memory map sentinel at or after line `from`. */
function mapsFrom(lines: string[], from: number) {
  for (let j = from; j < lines.length; j++) if (isMemoryMapSentinel(lines[j]!)) return parseMemoryMap(lines.slice(j + 1));
  return [];
}

const HEAP_HEADER_RE = /heap profile: *(\d+): *(\d+) *\[ *(\d+): *(\d+) *\] *@ *(heap[_a-z0-9]*)\/?(\d*)/;
// (-?\d+): *(-?\d+) *\[ *(\d+): *(\d+) *] @([ x0-9a-f]*), matched without backtracking
const HEAP_SAMPLE_RE = new RegExp(
  `(?<inN>${P('-?[0-9]+')}):${P(' *')}(?<inB>${P('-?[0-9]+')})${P(' *')}\\[${P(' *')}(?<alN>${P('[0-9]+')}):${P(' *')}(?<alB>${P('[0-9]+')})${P(' *')}] @(?<addrs>${P('[ x0-9a-f]*')})`,
  'y',
);
const GROWTH_HEADER_RE = /heap profile: *(\d+): *(\d+) *\[ *(\d+): *(\d+) *\] @ growthz?/;
const FRAGMENTATION_HEADER_RE = /heap profile: *(\d+): *(\d+) *\[ *(\d+): *(\d+) *\] @ fragmentationz?/;

function parseHeap(lines: string[]): Profile | undefined {
  if (lines.length === 0) return UNRECOGNIZED;
  const first = lines[0]!;
  let sampling = '';
  let period = 0;
  let hasAlloc = false;
  const h = HEAP_HEADER_RE.exec(first);
  if (h) {
    if (h[6]!.length > 0) {
      const v = BigInt(h[6]!);
      if (v > MAX_I64) return UNRECOGNIZED;
      period = Number(v);
    }
    hasAlloc = (h[3] !== h[1] && h[3] !== '0') || (h[4] !== h[2] && h[4] !== '0');
    switch (h[5]) {
      case 'heapz_v2':
      case 'heap_v2':
        sampling = 'v2';
        break;
      case 'heapprofile':
        period = 1;
        break;
      case 'heap':
        sampling = 'v2';
        period = Math.trunc(period / 2);
        break;
      default:
        return UNRECOGNIZED;
    }
  } else if (GROWTH_HEADER_RE.test(first) || FRAGMENTATION_HEADER_RE.test(first)) period = 1;
  else if (JEMALLOC_HEADER_RE.test(first)) {
    const v = BigInt(JEMALLOC_HEADER_RE.exec(first)![1]!);
    if (v > MAX_I64) return UNRECOGNIZED;
    return parseJemalloc(lines, Number(v));
  } else return UNRECOGNIZED;
  const sampleTypes: ValueType[] = hasAlloc
    ? [
        { type: 'alloc_objects', unit: 'count' },
        { type: 'alloc_space', unit: 'bytes' },
        { type: 'inuse_objects', unit: 'count' },
        { type: 'inuse_space', unit: 'bytes' },
      ]
    : [
        { type: 'objects', unit: 'count' },
        { type: 'space', unit: 'bytes' },
      ];
  const samples: LegacySample[] = [];
  let i = 1;
  for (; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (isSpaceOrComment(line)) continue;
    if (isMemoryMapSentinel(line)) break;
    guardLine(line, i);
    const m = searchFromRunStarts(HEAP_SAMPLE_RE, line, true)?.groups;
    if (!m) throw new LeakscopeError('E_MALFORMED', `heap profile, line ${i + 1}: expected "inuse_count: inuse_bytes [alloc_count: alloc_bytes] @ 0x…", got "${line.slice(0, 80)}"`);
    const values: number[] = [];
    let blocksize = 0;
    const add = (cs: string, ss: string, what: string) => {
      let count = int10(cs, line);
      let size = int10(ss, line);
      if (count === 0 && size !== 0) throw new LeakscopeError('E_MALFORMED', `heap profile, line ${i + 1}: ${what} count was 0 but ${what} bytes was ${size}`);
      if (count !== 0) {
        blocksize = Math.trunc(size / count);
        if (sampling === 'v2') [count, size] = scaleHeapSample(count, size, period);
      }
      values.push(count, size);
    };
    if (hasAlloc) add(m.alN!, m.alB!, 'allocation');
    add(m.inN!, m.inB!, 'inuse');
    samples.push({ values, addrs: hexAddresses(m.addrs!, line).map(dec), bytes: blocksize });
  }
  return buildLegacyProfile({ sampleTypes, periodType: { type: 'space', unit: 'bytes' }, period, samples, mappings: mapsFrom(lines, i) });
}

const JEMALLOC_HEADER_RE = /^heap_v2\/*(\d+)$/;
const JEMALLOC_THREAD_RE = /t(\d+): (-?\d+): *(-?\d+) *\[ *(\d+): *(\d+) *\]/;
const JEMALLOC_BACKTRACE_RE = /@([ x0-9a-f]*)/;

/**
 * jemalloc's heap profile (`heap_v2/524288`): a backtrace line `@ 0x… 0x…` followed by per-thread
 * rows `t3: inuse_n: inuse_bytes [0: 0]` (`t*:` rows, the totals, are skipped); one sample per
 * thread with a `thread` label. As pprof reads it, a backtrace's samples are kept when the next
 * backtrace starts — the last one's are not.
 */
function parseJemalloc(lines: string[], rate: number): Profile {
  const samples: LegacySample[] = [];
  let addrs: bigint[] = [];
  let threads = new Map<string, { values: number[]; bytes: number }>();
  let i = 1;
  for (; i < lines.length; i++) {
    guardLine(lines[i]!, i);
    const line = lines[i]!.trim();
    if (isSpaceOrComment(line)) continue;
    if (isMemoryMapSentinel(line)) break;
    const t = JEMALLOC_THREAD_RE.exec(line);
    if (t && addrs.length > 0) {
      let count = int10(t[2]!, line);
      let size = int10(t[3]!, line);
      let bytes = 0;
      if (count === 0 && size !== 0) throw new LeakscopeError('E_MALFORMED', `jemalloc heap profile, line ${i + 1}: inuse count was 0 but inuse bytes was ${size}`);
      if (count !== 0) {
        bytes = Math.trunc(size / count);
        [count, size] = scaleHeapSample(count, size, rate);
      }
      threads.set(t[1]!, { values: [count, size], bytes });
    }
    const bt = JEMALLOC_BACKTRACE_RE.exec(line);
    if (bt) {
      if (addrs.length > 0 && threads.size > 0) {
        const stack = addrs.map(dec);
        for (const tid of [...threads.keys()].sort()) {
          const v = threads.get(tid)!;
          samples.push({ values: v.values, addrs: stack, bytes: v.bytes, thread: tid });
        }
        threads = new Map();
      }
      addrs = hexAddresses(bt[1]!, line);
    }
  }
  return buildLegacyProfile({
    sampleTypes: [
      { type: 'objects', unit: 'count' },
      { type: 'space', unit: 'bytes' },
    ],
    periodType: { type: 'space', unit: 'bytes' },
    period: rate,
    samples,
    mappings: mapsFrom(lines, i),
  });
}

const COUNT_START_RE = /^(\S+) profile: total \d+$/;
const COUNT_RE = /^(\d+) @((?: 0x[0-9a-f]+)+)$/;

function parseGoCount(lines: string[]): Profile | undefined {
  let i = 0;
  while (i < lines.length && isSpaceOrComment(lines[i]!)) i++;
  const m = COUNT_START_RE.exec(lines[i] ?? '');
  if (!m) return UNRECOGNIZED;
  const type = m[1]!;
  const samples: LegacySample[] = [];
  for (i++; i < lines.length; i++) {
    const line = lines[i]!;
    guardLine(line, i);
    if (isSpaceOrComment(line)) continue;
    if (line.startsWith('---')) break;
    const c = COUNT_RE.exec(line);
    const n = c ? parseIntAuto(c[1]!) : undefined;
    if (!c || n === undefined) throw new LeakscopeError('E_MALFORMED', `${type} profile, line ${i + 1}: expected "<count> @ 0x… 0x…", got "${line.slice(0, 80)}"`);
    samples.push({ values: [n], addrs: hexAddresses(c[2]!, line).map(dec) });
  }
  return buildLegacyProfile({ sampleTypes: [{ type, unit: 'count' }], periodType: { type, unit: 'count' }, period: 1, samples, mappings: mapsFrom(lines, i) });
}

const THREADZ_START_RE = /--- threadz \d+ ---/;
const THREAD_START = /--- Thread ([0-9A-Fa-f]+) \(name: (.*)\/(\d+)\) stack: ---/;
/** (its `(.*)` backtracks: a thread's header line longer than 4 KiB is not one) */
const THREAD_START_RE = { test: (line: string) => line.length <= 4096 && line.includes(') stack: ---') && THREAD_START.test(line) };

function parseThread(lines: string[]): Profile | undefined {
  let i = 0;
  while (i < lines.length && isSpaceOrComment(lines[i]!)) i++;
  let line = lines[i] ?? '';
  if (THREADZ_START_RE.test(line)) {
    for (i++; i < lines.length; i++) {
      line = lines[i]!;
      if (isMemoryMapSentinel(line) || line.startsWith('-')) break;
    }
  } else if (!THREAD_START_RE.test(line)) return UNRECOGNIZED;
  const samples: LegacySample[] = [];
  while (!isMemoryMapSentinel(line)) {
    if (line.startsWith('---- no stack trace for')) break;
    if (!THREAD_START_RE.test(line)) return UNRECOGNIZED;
    const addrs: bigint[] = [];
    let same = false;
    let l = '';
    for (i++; i < lines.length; i++) {
      guardLine(lines[i]!, i);
      l = lines[i]!.trim();
      if (l === '') continue;
      if (l.startsWith('---')) break;
      if (l.includes('same as previous thread')) {
        same = true;
        continue;
      }
      addrs.push(...hexAddresses(l, l));
    }
    line = l;
    if (same || addrs.length === 0) {
      const last = samples[samples.length - 1];
      if (last) last.values[0]!++;
      continue;
    }
    samples.push({ values: [1], addrs: addrs.map((a, k) => (k > 0 ? dec(a) : a)) });
  }
  dropDuplicateLeaves(samples);
  return buildLegacyProfile({ sampleTypes: [{ type: 'thread', unit: 'count' }], periodType: { type: 'thread', unit: 'count' }, period: 1, samples, mappings: mapsFrom(lines, i) });
}

/** The profiler may record the leaf twice (from the signal context and from unwinding, adjusted by -1). */
export function dropDuplicateLeaves(samples: LegacySample[]): void {
  for (const s of samples) if (s.addrs.length > 1 && s.addrs[0] === s.addrs[1]! + 1n) s.addrs.splice(1, 1);
}

/**
 * pprof's `(\d+) *(\d+) @([ x0-9a-f]*)` without backtracking: the leftmost match starts at a digit
 * run; two runs apart (`delay count @`), or one run split before its last digit (`12 @` → 1, 2).
 */
function contentionSample(line: string): [string, string, string] | undefined {
  const isDigit = (k: number) => k < line.length && line.charCodeAt(k) >= 48 && line.charCodeAt(k) <= 57;
  const tail = (k: number) => {
    let e = k;
    while (e < line.length && /[ x0-9a-f]/.test(line[e]!)) e++;
    return line.slice(k, e);
  };
  for (let s = 0; s < line.length; s++) {
    if (!isDigit(s) || (s > 0 && isDigit(s - 1))) continue;
    let e1 = s;
    while (isDigit(e1)) e1++;
    let e2 = e1;
    while (line[e2] === ' ') e2++;
    if (e2 > e1 && isDigit(e2)) {
      let e3 = e2;
      while (isDigit(e3)) e3++;
      if (line.startsWith(' @', e3)) return [line.slice(s, e1), line.slice(e2, e3), tail(e3 + 2)];
    } else if (e1 - s >= 2 && line.startsWith(' @', e1)) return [line.slice(s, e1 - 1), line.slice(e1 - 1, e1), tail(e1 + 2)];
    s = e1 - 1;
  }
  return undefined;
}

function parseContention(lines: string[]): Profile | undefined {
  if (lines.length === 0) return UNRECOGNIZED;
  const first = lines[0]!;
  if (!first.startsWith('--- contentionz ') && !first.startsWith('--- mutex:') && !first.startsWith('--- contention:')) return UNRECOGNIZED;
  let period = 1;
  let cpuHz = 0;
  let durationNanos = 0;
  let i = 1;
  for (; i < lines.length; i++) {
    guardLine(lines[i]!, i);
    const line = lines[i]!.trim();
    if (isSpaceOrComment(line)) continue;
    if (line.startsWith('---')) break;
    const eq = line.indexOf('=');
    if (eq < 0) break;
    const key = line.slice(0, eq).trim();
    const val = line.slice(eq + 1).trim();
    const n = parseIntAuto(val);
    switch (key) {
      case 'cycles/second':
        if (n === undefined) return UNRECOGNIZED;
        cpuHz = n;
        break;
      case 'sampling period':
        if (n === undefined) return UNRECOGNIZED;
        period = n;
        break;
      case 'ms since reset':
        if (n === undefined) return UNRECOGNIZED;
        durationNanos = n * 1000 * 1000;
        break;
      case 'discarded samples':
        break;
      default:
        // format / resolution: Java's contention profile; anything else: not this format
        return UNRECOGNIZED;
    }
  }
  const samples: LegacySample[] = [];
  for (; i < lines.length; i++) {
    guardLine(lines[i]!, i);
    const line = lines[i]!.trim();
    if (line.startsWith('---')) break;
    if (isSpaceOrComment(line)) continue;
    const m = contentionSample(line);
    if (!m) return UNRECOGNIZED;
    let delay = int10(m[0], line);
    let count = int10(m[1], line);
    if (period > 0) {
      if (cpuHz > 0) delay = Math.trunc((delay * period) / (cpuHz / 1e9));
      count = count * period;
    }
    samples.push({ values: [count, delay], addrs: hexAddresses(m[2], line).map(dec) });
  }
  return buildLegacyProfile({
    sampleTypes: [
      { type: 'contentions', unit: 'count' },
      { type: 'delay', unit: 'nanoseconds' },
    ],
    periodType: { type: 'contentions', unit: 'count' },
    period,
    durationNanos,
    samples,
    mappings: mapsFrom(lines, i),
  });
}

// Java's text profiles
// ` *(\d+) +(\d+) +@ +([ x0-9a-f]*)` without backtracking
const JAVA_SAMPLE_RE = new RegExp(`(?<v1>${P('[0-9]+')})${P(' +')}(?<v0>${P('[0-9]+')})${P(' +')}@${P(' +')}(?<addrs>${P('[ x0-9a-f]*')})`, 'y');
// `^\s*0x([[:xdigit:]]+)\s+(.*)\s*$` on a trimmed line
const JAVA_LOCATION_RE = /^0x([0-9A-Fa-f]+)[\t\n\f\r ]+(.*)$/;
const WS_CHARS = '\t\n\f\r ';

/** `([\w ]+)=([\w ]+)`: the first run of word characters and spaces followed by `=` and another. */
function attribute(line: string): [string, string] | undefined {
  const word = (k: number) => k < line.length && /[0-9A-Za-z_ ]/.test(line[k]!);
  for (let s = 0; s < line.length; s++) {
    if (!word(s)) continue;
    let e = s;
    while (word(e)) e++;
    if (line[e] === '=' && word(e + 1)) {
      let f = e + 1;
      while (word(f)) f++;
      return [line.slice(s, e), line.slice(e + 1, f)];
    }
    s = e;
  }
  return undefined;
}

/** `^(.*)\s+\((.+):(-?[0-9]+)\)$` (greedy: the last ` (` before the final `:N)`). */
function javaFileLine(s: string): [string, string, string] | undefined {
  const m = /:(-?[0-9]+)\)$/.exec(s);
  if (!m) return undefined;
  const c = m.index;
  for (let p = c - 2; p >= 1; p--) {
    if (s[p] === '(' && WS_CHARS.includes(s[p - 1]!)) return [s.slice(0, p - 1), s.slice(p + 1, c), m[1]!];
  }
  return undefined;
}

/** `^(.*)\s+\((.*)\)$` (greedy: the last ` (`). */
function javaPath(s: string): [string, string] | undefined {
  if (!s.endsWith(')')) return undefined;
  for (let p = s.length - 2; p >= 1; p--) {
    if (s[p] === '(' && WS_CHARS.includes(s[p - 1]!)) return [s.slice(0, p - 1), s.slice(p + 1, s.length - 1)];
  }
  return undefined;
}
const JAVA_HEAP_RATE = 524288;

/** Lines ended by \n, as pprof's Java reader walks them (an unterminated last line is left over). */
function terminated(text: string, from: number): { line: string; next: number } | undefined {
  const nl = text.indexOf('\n', from);
  return nl < 0 ? undefined : { line: text.slice(from, nl), next: nl + 1 };
}

function baseName(p: string): string {
  if (p === '') return '.';
  const t = p.replace(/\/+$/, '');
  if (t === '') return '/';
  return t.slice(t.lastIndexOf('/') + 1);
}

/** Java symbols after the samples: `0x… function (File.java:12)` per address. */
export function parseJavaFrames(text: string, used: Set<bigint>): Map<bigint, LegacyFrame> {
  const frames = new Map<bigint, LegacyFrame>();
  const fileOf = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = JAVA_LOCATION_RE.exec(line);
    if (!m) continue;
    const addr = BigInt('0x' + m[1]!);
    if (addr >= 1n << 64n) throw new LeakscopeError('E_MALFORMED', `java profile: address out of range: ${line.slice(0, 80)}`);
    if (!used.has(addr)) continue;
    const rest = m[2]!;
    let name: string;
    let file = '';
    let lineNo = 0;
    const fl = javaFileLine(rest);
    const fp = fl ? undefined : javaPath(rest);
    if (fl) {
      name = fl[0];
      file = fl[1];
      const n = Number(fl[2]);
      if (Number.isSafeInteger(n) && n > 0) lineNo = n;
    } else if (fp) {
      name = fp[0];
      file = baseName(fp[1]);
    } else if (rest.includes('generated stub/JIT')) name = 'STUB';
    else name = rest;
    if (!fileOf.has(name)) fileOf.set(name, file);
    frames.set(addr, { name, file: fileOf.get(name)!, line: lineNo });
  }
  return frames;
}

function parseJava(text: string): Profile | undefined {
  const firstNl = text.indexOf('\n');
  if (firstNl < 0) return UNRECOGNIZED;
  const header = text.slice(0, firstNl).trim();
  const kind = header === '--- heapz 1 ---' ? 'heap' : header === '--- contentionz 1 ---' ? 'contention' : undefined;
  if (!kind) return UNRECOGNIZED;
  let pos = firstNl + 1;
  let sampleTypes: ValueType[] = [];
  let periodType: ValueType | undefined = { type: '', unit: '' };
  let period = 0;
  let durationNanos = 0;
  for (let t = terminated(text, pos); t; t = terminated(text, pos)) {
    const line = t.line.trim();
    if (line !== '') {
      const a = attribute(line);
      if (!a) break;
      const attr = a[0].trim();
      const value = a[1].trim();
      switch (`${kind}/${attr}`) {
        case 'heap/format':
        case 'contention/format':
          if (value !== 'java') return UNRECOGNIZED;
          break;
        case 'heap/resolution':
          sampleTypes = [
            { type: 'inuse_objects', unit: 'count' },
            { type: 'inuse_space', unit: value },
          ];
          break;
        case 'contention/resolution':
          sampleTypes = [
            { type: 'contentions', unit: 'count' },
            { type: 'delay', unit: value },
          ];
          break;
        case 'contention/sampling period': {
          periodType = { type: 'contentions', unit: 'count' };
          const n = parseIntAuto(value);
          if (n === undefined) throw new LeakscopeError('E_MALFORMED', `java profile: failed to parse attribute ${line}`);
          period = n;
          break;
        }
        case 'contention/ms since reset': {
          const n = parseIntAuto(value);
          if (n === undefined) throw new LeakscopeError('E_MALFORMED', `java profile: failed to parse attribute ${line}`);
          durationNanos = n * 1000 * 1000;
          break;
        }
        default:
          return UNRECOGNIZED;
      }
    }
    pos = t.next;
  }
  const samples: LegacySample[] = [];
  const used = new Set<bigint>();
  for (let t = terminated(text, pos); t; t = terminated(text, pos)) {
    const line = t.line.trim();
    if (line !== '') {
      const m = searchFromRunStarts(JAVA_SAMPLE_RE, line, false)?.groups;
      if (!m) break;
      const addrs = hexAddresses(m.addrs!, line);
      for (const a of addrs) used.add(a);
      let v0 = int10(m.v0!, line);
      let v1 = int10(m.v1!, line);
      const s: LegacySample = { values: [v0, v1], addrs };
      if (kind === 'heap') {
        if (v0 === 0) throw new LeakscopeError('E_MALFORMED', `java heap profile: parsing sample ${line}: second value must be non-zero`);
        s.bytes = Math.trunc(v1 / v0);
        [v0, v1] = scaleHeapSample(v0, v1, JAVA_HEAP_RATE);
        s.values = [v0, v1];
      } else if (period !== 0) s.values = [v0 * period, v1 * period];
      samples.push(s);
    }
    pos = t.next;
  }
  const frames = parseJavaFrames(text.slice(pos), used);
  return buildLegacyProfile({ sampleTypes, periodType, period, durationNanos, samples, mappings: [], frames });
}

/** Text → Profile with pprof's legacy readers in pprof's order; undefined when none recognizes it. */
export function parseLegacyText(text: string): Profile | undefined {
  const lines = scanLines(text);
  return parseHeap(lines) ?? parseGoCount(lines) ?? parseThread(lines) ?? parseContention(lines) ?? parseJava(text);
}

/** Whether text starts like one of the legacy text profiles (the first line that is not a comment). */
export function looksLikeLegacyText(head: string): boolean {
  // binary data is not one of these
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0e-\x1f]/.test(head.slice(0, 1024))) return false;
  const first = head.split('\n', 1)[0]!.replace(/\r$/, '');
  if (/heap profile: *\d+: *\d+ *\[ *\d+: *\d+ *\] *@/.test(first) || JEMALLOC_HEADER_RE.test(first)) return true;
  if (/^--- (contentionz |mutex:|contention:)/.test(first) || first.trim() === '--- heapz 1 ---') return true;
  const line = head.split('\n').find((l) => !isSpaceOrComment(l))?.replace(/\r$/, '') ?? '';
  return COUNT_START_RE.test(line) || THREADZ_START_RE.test(line) || THREAD_START_RE.test(line);
}
