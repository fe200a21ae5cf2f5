/**
 * Writes legacy profiles in the layouts go tool pprof documents (its profile package's legacy
 * readers), from a seeded generator: text heap profiles (heapprofile, heap_v2/N, heap/N, growthz,
 * fragmentationz), Go count profiles, threadz, contention (C++ / Go mutex), Java heapz /
 * contentionz, and gperftools / Java binary CPU profiles in all four word layouts. Stacks come from
 * a small call tree in a main binary and a shared library (plus addresses outside every mapping),
 * so reports have shared callers, several mappings and a fake one.
 */
import { rng } from './profiles.js';

const MAIN = { start: 0x400000n, limit: 0x4c0000n, file: '/usr/local/bin/legacysvc' };
const LIBC = { start: 0x7f3a1c000000n, limit: 0x7f3a1c1c0000n, file: '/lib/x86_64-linux-gnu/libc-2.31.so' };

export interface Gen {
  rand: () => number;
  int: (lo: number, hi: number) => number;
  /** a stack of return addresses, leaf first */
  stack: () => bigint[];
}

export function gen(seed: number): Gen {
  const rand = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  // a call tree: roots in main, callees in main or libc; a few addresses outside every mapping
  const mainFns = Array.from({ length: 24 }, (_, i) => MAIN.start + 0x1000n + BigInt(i) * 0x2340n + 0x15n);
  const libFns = Array.from({ length: 8 }, (_, i) => LIBC.start + 0x20000n + BigInt(i) * 0x1110n + 0x7n);
  const outside = [0x9000000000n + 0x40n, 0x9000000000n + 0x80n];
  const stack = (): bigint[] => {
    const depth = int(2, 7);
    const s: bigint[] = [];
    let k = int(0, 3); // the root
    for (let d = 0; d < depth; d++) {
      s.push(mainFns[k]! + BigInt(int(0, 2)) * 4n);
      k = Math.min(mainFns.length - 1, k + int(1, 4));
    }
    const r = rand();
    if (r < 0.35) s.push(libFns[int(0, libFns.length - 1)]!);
    else if (r < 0.42) s.push(outside[int(0, 1)]!);
    return s.reverse();
  };
  return { rand, int, stack };
}

const hex = (a: bigint) => `0x${a.toString(16)}`;

/** /proc/self/maps lines (a non-executable one included, which pprof skips). */
export function procMaps(): string {
  return [
    `${MAIN.start.toString(16).padStart(8, '0')}-${MAIN.limit.toString(16).padStart(8, '0')} r-xp 00000000 08:01 1311   ${MAIN.file}`,
    `${MAIN.limit.toString(16).padStart(8, '0')}-004d0000 rw-p 000c0000 08:01 1311   ${MAIN.file}`,
    `${LIBC.start.toString(16)}-${LIBC.limit.toString(16)} r-xp 00000000 08:01 2622   ${LIBC.file}`,
    '',
  ].join('\n');
}

export type HeapVariant = 'heapprofile' | 'heap_v2/524288' | 'heap/1048576' | 'heap_v2' | 'growthz' | 'fragmentationz';

export function heapText(seed: number, variant: HeapVariant, opts: { alloc?: boolean; samples?: number; maps?: boolean } = {}): string {
  const g = gen(seed);
  const rows: string[] = [];
  let inN = 0;
  let inB = 0;
  let alN = 0;
  let alB = 0;
  for (let i = 0; i < (opts.samples ?? 40); i++) {
    const size = [16, 48, 512, 4096, 65536, 1 << 20][g.int(0, 5)]!;
    const n = g.int(0, 6);
    const a = opts.alloc ? n + g.int(n === 0 ? 1 : 0, 9) : n;
    inN += n;
    inB += n * size;
    alN += a;
    alB += a * size;
    rows.push(`${n}: ${n * size} [${a}: ${a * size}] @ ${g.stack().map(hex).join(' ')}`);
  }
  // without allocations, the header's alloc pair equals the inuse pair (pprof reads that as no alloc data)
  const head = opts.alloc ? `heap profile: ${inN}: ${inB} [${alN}: ${alB}] @ ${variant}` : `heap profile: ${inN}: ${inB} [${inN}: ${inB}] @ ${variant}`;
  return [head, ...rows, ...(opts.maps === false ? [] : ['', 'MAPPED_LIBRARIES:', procMaps()])].join('\n');
}

/** Go's debug=1 count text (goroutine / threadcreate), with its `#` symbol comments. */
export function goCountText(seed: number, type = 'goroutine'): string {
  const g = gen(seed);
  const rows: string[] = [];
  let total = 0;
  for (let i = 0; i < 25; i++) {
    const n = g.int(1, 50);
    total += n;
    const s = g.stack();
    rows.push(`${n} @ ${s.map(hex).join(' ')}`, ...s.map((a, k) => `#\t${hex(a - 1n)}\tmain.fn${k}+0x${(k * 16).toString(16)}\t/src/main.go:${10 + k}`), '');
  }
  return [`${type} profile: total ${total}`, ...rows].join('\n');
}

export function threadzText(seed: number): string {
  const g = gen(seed);
  const out = ['--- threadz 1 ---', '', '# a comment before the first thread'];
  for (let t = 0; t < 18; t++) {
    out.push(`--- Thread ${(0x7f000 + t).toString(16)} (name: worker-${t}/${1000 + t}) stack: ---`);
    if (t > 0 && g.rand() < 0.25) {
      out.push('  same as previous thread');
      continue;
    }
    const s = g.stack();
    // now and then the leaf twice (the second adjusted by +1, as the profiler records it)
    if (g.rand() < 0.2) s.splice(1, 0, s[0]!);
    for (const a of s) out.push(`  PC: ${hex(a)}`);
  }
  out.push('--- Memory map: ---', procMaps());
  return out.join('\n');
}

export function contentionText(seed: number, opts: { header?: string; cyclesPerSecond?: number; period?: number; msSinceReset?: number } = {}): string {
  const g = gen(seed);
  const out = [opts.header ?? '--- contentionz 1 ---'];
  if (opts.cyclesPerSecond !== undefined) out.push(`cycles/second = ${opts.cyclesPerSecond}`);
  if (opts.period !== undefined) out.push(`sampling period = ${opts.period}`);
  if (opts.msSinceReset !== undefined) out.push(`ms since reset = ${opts.msSinceReset}`);
  out.push('discarded samples = 0');
  for (let i = 0; i < 30; i++) out.push(`${g.int(1000, 9_000_000)} ${g.int(1, 40)} @ ${g.stack().map(hex).join(' ')}`);
  out.push('--- Memory map: ---', procMaps());
  return out.join('\n');
}

const JAVA_FRAMES = [
  'com.example.cache.LruCache.put (LruCache.java:88)',
  'com.example.cache.LruCache.get (LruCache.java:41)',
  'com.example.http.Handler.serve (Handler.java:120)',
  'com.example.http.Handler.parse (Handler.java:67)',
  'java.util.HashMap.resize (HashMap.java:704)',
  'java.util.ArrayList.grow (ArrayList.java:237)',
  'com.example.Main.main (Main.java:12)',
  'java.lang.Thread.run (Thread.java:748)',
  'Unsafe_Allocate (/usr/lib/jvm/java-8/jre/lib/amd64/server/libjvm.so)',
  'generated stub/JIT',
  'GC',
];

function javaStack(g: Gen): bigint[] {
  const depth = g.int(2, 6);
  const s: bigint[] = [];
  for (let d = 0; d < depth; d++) s.push(0x7f5a00001000n + BigInt(g.int(0, JAVA_FRAMES.length - 1)) * 0x40n);
  return s;
}

function javaSymbols(): string {
  return JAVA_FRAMES.map((f, i) => ` ${hex(0x7f5a00001000n + BigInt(i) * 0x40n)} ${f}`).join('\n');
}

export function javaHeapText(seed: number): string {
  const g = gen(seed);
  const out = ['--- heapz 1 ---', 'format = java', 'resolution = bytes'];
  for (let i = 0; i < 30; i++) {
    const n = g.int(1, 20);
    out.push(` ${n * [24, 64, 1024, 600000][g.int(0, 3)]!} ${n} @ ${javaStack(g).map(hex).join(' ')}`);
  }
  out.push(javaSymbols(), '');
  return out.join('\n');
}

export function javaContentionText(seed: number): string {
  const g = gen(seed);
  const out = ['--- contentionz 1 ---', 'format = java', 'resolution = microseconds', 'sampling period = 100', 'ms since reset = 6000'];
  for (let i = 0; i < 30; i++) out.push(` ${g.int(10, 90000)} ${g.int(1, 9)} @ ${javaStack(g).map(hex).join(' ')}`);
  out.push(javaSymbols(), '');
  return out.join('\n');
}

export interface CpuLayout {
  wordSize: 4 | 8;
  little: boolean;
}

function words(values: bigint[], l: CpuLayout): Uint8Array {
  const b = new Uint8Array(values.length * l.wordSize);
  const dv = new DataView(b.buffer);
  values.forEach((v, i) => (l.wordSize === 4 ? dv.setUint32(i * 4, Number(v & 0xffffffffn), l.little) : dv.setBigUint64(i * 8, v, l.little)));
  return b;
}

/**
 * A gperftools CPU profile: header, samples (with the signal handler's frame second in nearly all
 * of them and a duplicated leaf in some, as the profiler records them), the end marker and the maps.
 * In 32-bit layouts addresses stay below 2^32 (the library's are moved down).
 */
export function cppCpuBinary(seed: number, l: CpuLayout, periodUs = 10000, samples = 200): Uint8Array {
  const g = gen(seed);
  const fit = (a: bigint) => (l.wordSize === 4 && a > 0xffffffffn ? (a & 0xffffffn) + 0x30000000n : a);
  const handler = MAIN.start + 0x99990n;
  const w: bigint[] = [0n, 3n, 0n, BigInt(periodUs), 0n];
  for (let i = 0; i < samples; i++) {
    const s = g.stack().map(fit);
    // the leaf again, as unwinding saw it (+1 here, -1 after pprof's adjustment)
    if (g.rand() < 0.15) s.splice(1, 0, s[0]! + 1n);
    // the handler's frame second in all but 1 in 40 samples (pprof allows 1 in 32 to differ)
    if (i % 40 !== 7) s.splice(1, 0, handler);
    w.push(BigInt(g.int(1, 30)), BigInt(s.length), ...s);
  }
  w.push(0n, 1n, 0n);
  const maps = l.wordSize === 4 ? procMaps().replace(LIBC.start.toString(16), '30000000').replace(LIBC.limit.toString(16), '31000000') : procMaps();
  const bin = words(w, l);
  const text = new TextEncoder().encode(maps);
  const out = new Uint8Array(bin.length + text.length);
  out.set(bin);
  out.set(text, bin.length);
  return out;
}

export function javaCpuBinary(seed: number, l: CpuLayout): Uint8Array {
  const g = gen(seed);
  const w: bigint[] = [0n, 3n, 1n, 20000n, 0n];
  for (let i = 0; i < 60; i++) {
    const s = javaStack(g).map((a) => (l.wordSize === 4 ? a & 0xffffffffn : a));
    w.push(BigInt(g.int(1, 12)), BigInt(s.length), ...s);
  }
  w.push(0n, 1n, 0n);
  const syms = l.wordSize === 4 ? javaSymbols().replace(/0x7f5a(0000[0-9a-f]{4})/g, '0x$1') : javaSymbols();
  const bin = words(w, l);
  const text = new TextEncoder().encode(syms + '\n');
  const out = new Uint8Array(bin.length + text.length);
  out.set(bin);
  out.set(text, bin.length);
  return out;
}
