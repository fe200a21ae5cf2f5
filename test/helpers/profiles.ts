/**
 * Synthetic pprof profiles for tests and benchmarks: deterministic for a given seed, shaped like
 * Go heap profiles (a call graph with limited fan-out, so call paths share prefixes the way real
 * programs do; one mapping; `bytes` numeric labels). Optional extras exercise every corner of
 * profile.proto that a codec must round-trip.
 *
 * Usage: makeProfile({ samples: 1000, functions: 200, depth: [5, 20], seed: 1 })
 */
import {
  type Location,
  type Mapping,
  type Profile,
  type ProfileFunction,
  type ValueType,
  SampleTableBuilder,
  StringPool,
} from '../../src/core/profile.js';

export interface MakeProfileOptions {
  /** number of samples (default 100) */
  samples?: number;
  /** number of distinct functions (default 50) */
  functions?: number;
  /** stack depth: a fixed number or an inclusive [min, max] range (default [3, 12]) */
  depth?: number | [number, number];
  /** PRNG seed (default 1) */
  seed?: number;
  /** sample types (default Go heap: alloc_objects, alloc_space, inuse_objects, inuse_space) */
  sampleTypes?: ValueType[];
  /** a `bytes` numeric label on every sample, as Go heap profiles have (default true) */
  bytesLabel?: boolean;
  /**
   * number of distinct call paths (default: every sample walks its own). When set, paths grow as a
   * tree — each new path continues a random prefix of an earlier one — and samples pick paths
   * with a skew toward the first ones, varying only their `bytes` label and values, the way a
   * Go heap profile repeats a stack once per allocation size.
   */
  stacks?: number;
  /** share of locations with inlined frames, 0..1 (default 0) */
  inlined?: number;
  /** some values negative (as in a diff), default false */
  negative?: boolean;
  /** some values beyond 2^53, kept exactly in bigValues (default false) */
  bigValues?: boolean;
  /**
   * every optional field set: string labels, labels with num_unit, columns, is_folded, drop/keep
   * frames, comments, doc_url, default_sample_type, period_type, time and duration (default false)
   */
  rich?: boolean;
}

export const GO_HEAP_TYPES: ValueType[] = [
  { type: 'alloc_objects', unit: 'count' },
  { type: 'alloc_space', unit: 'bytes' },
  { type: 'inuse_objects', unit: 'count' },
  { type: 'inuse_space', unit: 'bytes' },
];

/** mulberry32: a small deterministic PRNG returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeProfile(opts: MakeProfileOptions = {}): Profile {
  const nSamples = opts.samples ?? 100;
  const nFuncs = Math.max(1, opts.functions ?? 50);
  const [dMin, dMax] = Array.isArray(opts.depth) ? opts.depth : [opts.depth ?? 3, opts.depth ?? 12];
  const rand = rng(opts.seed ?? 1);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const sampleTypes = (opts.sampleTypes ?? GO_HEAP_TYPES).map((s) => ({ ...s }));
  const nt = sampleTypes.length;
  const rich = opts.rich ?? false;
  const strings = new StringPool();

  const mappings: Mapping[] = [
    {
      id: 1,
      memoryStart: 0x400000n,
      memoryLimit: 0x400000n + BigInt(nFuncs) * 0x1000n + 0x1000n,
      fileOffset: 0n,
      file: '/usr/local/bin/app',
      buildId: rich ? 'a1b2c3d4e5f6' : '',
      hasFunctions: true,
      hasFilenames: true,
      hasLineNumbers: true,
      hasInlineFrames: (opts.inlined ?? 0) > 0,
    },
  ];

  const nPkgs = Math.max(1, Math.ceil(nFuncs / 40));
  const functions: ProfileFunction[] = [];
  for (let i = 0; i < nFuncs; i++) {
    const pkg = i % nPkgs;
    const kind = i % 3;
    const name =
      kind === 0
        ? `example.com/svc/pkg${pkg}.handler${i}`
        : kind === 1
          ? `example.com/svc/pkg${pkg}.(*Type${i % 17}).Method${i}`
          : `example.com/svc/pkg${pkg}.worker${i}.func${(i % 4) + 1}`;
    functions.push({
      id: i + 1,
      name,
      systemName: name,
      filename: `/src/example.com/svc/pkg${pkg}/file${i % 7}.go`,
      startLine: 10 + (i % 500),
    });
  }

  // Two call sites per function on average (different lines → different locations).
  const locations: Location[] = [];
  const locsOf: number[][] = [];
  for (let f = 0; f < nFuncs; f++) {
    const n = 1 + (rand() < 0.5 ? 1 : 0);
    const list: number[] = [];
    for (let k = 0; k < n; k++) {
      const fn = functions[f]!;
      const lines = [{ fn: f, line: fn.startLine + 1 + int(0, 80), column: rich ? int(1, 40) : 0 }];
      if (opts.inlined && rand() < opts.inlined) {
        // innermost first: an inlined callee, then this function (the outermost)
        const callee = int(0, nFuncs - 1);
        lines.unshift({ fn: callee, line: functions[callee]!.startLine + int(1, 20), column: rich ? int(1, 40) : 0 });
      }
      list.push(locations.length);
      locations.push({
        id: locations.length + 1,
        mapping: 0,
        address: 0x401000n + BigInt(f) * 0x1000n + BigInt(k * 0x40 + int(0, 0x3f)),
        lines,
        isFolded: rich && rand() < 0.05,
      });
    }
    locsOf.push(list);
  }
  if (rich) {
    // an unsymbolized location (address only) and one whose line has no function
    locations.push({ id: locations.length + 1, mapping: 0, address: 0x7fff1234n, lines: [], isFolded: false });
    locations.push({ id: locations.length + 1, mapping: -1, address: 0n, lines: [{ fn: -1, line: 7, column: 0 }], isFolded: false });
  }

  // A call graph with small fan-out: each function calls 1–4 others. Roots are a few functions.
  const callees: Int32Array[] = [];
  for (let f = 0; f < nFuncs; f++) {
    const n = int(1, 4);
    const c = new Int32Array(n);
    for (let k = 0; k < n; k++) c[k] = int(0, nFuncs - 1);
    callees.push(c);
  }
  const nRoots = Math.max(1, Math.min(8, nFuncs));

  const b = new SampleTableBuilder(nt, nSamples);
  const keyBytes = strings.intern('bytes');
  const richKeys = rich
    ? {
        thread: strings.intern('thread'),
        threadVals: [strings.intern('main'), strings.intern('worker-1'), strings.intern('worker-2')],
        timeout: strings.intern('timeout'),
        unit: strings.intern('ms'),
        empty: strings.intern('empty'),
      }
    : undefined;
  const locFn = locations.map((l) => l.lines[l.lines.length - 1]?.fn ?? 0);
  /** extends `path` (root first) by a random walk from function f until it has `depth` frames */
  const walk = (path: number[], f: number, depth: number) => {
    while (path.length < depth) {
      const ls = locsOf[f]!;
      path.push(ls[ls.length === 1 ? 0 : int(0, ls.length - 1)]!);
      const c = callees[f]!;
      f = c[int(0, c.length - 1)]!;
    }
  };
  const pickDepth = () => int(Math.max(1, dMin), Math.max(dMin, dMax));
  let shared: Int32Array[] | undefined;
  if (opts.stacks !== undefined && opts.stacks > 0) {
    shared = [];
    for (let k = 0; k < opts.stacks; k++) {
      const path: number[] = [];
      const depth = pickDepth();
      if (k === 0) walk(path, int(0, nRoots - 1), depth);
      else {
        const from = shared[int(0, k - 1)]!;
        const cut = int(1, Math.min(from.length, depth) - 1 || 1);
        for (let i = 0; i < cut; i++) path.push(from[i]!);
        const c = callees[locFn[path[path.length - 1]!]!]!;
        walk(path, c[int(0, c.length - 1)]!, depth);
      }
      shared.push(Int32Array.from(path));
    }
  }
  const path: number[] = [];
  for (let s = 0; s < nSamples; s++) {
    path.length = 0;
    if (shared) {
      const from = shared[Math.floor(shared.length * rand() * rand())]!;
      for (let i = 0; i < from.length; i++) path.push(from[i]!);
    } else walk(path, int(0, nRoots - 1), pickDepth());
    if (rich && s % 50 === 7) path.push(locations.length - 2, locations.length - 1);
    for (let k = path.length - 1; k >= 0; k--) b.pushLocation(path[k]!); // leaf first
    const size = 2 ** int(3, 15) + (rand() < 0.3 ? int(0, 7) * 8 : 0);
    const count = int(1, 64);
    for (let t = 0; t < nt; t++) {
      const st = sampleTypes[t]!;
      const inuse = st.type.startsWith('inuse');
      let v = st.unit === 'bytes' ? count * size : count;
      if (inuse) v = Math.floor(v * rand());
      if (opts.negative && rand() < 0.2) v = -v;
      if (opts.bigValues && s % 97 === 3 && t === nt - 1) {
        b.setBigValue(t, (1n << 60n) + BigInt(s) * (opts.negative && s % 2 ? -3n : 3n));
        continue;
      }
      b.setValue(t, v);
    }
    if (opts.bytesLabel ?? true) b.pushLabel(keyBytes, 0, size, 0);
    if (richKeys) {
      b.pushLabel(richKeys.thread, richKeys.threadVals[s % 3]!, 0, 0);
      if (s % 5 === 0) b.pushLabel(richKeys.timeout, 0, int(1, 5000), richKeys.unit);
      if (s % 11 === 0) b.pushLabel(richKeys.empty, 0, 0, 0);
    }
    b.endSample();
  }

  const def = nt > 0 ? sampleTypes[Math.min(nt - 1, 1)]!.type : '';
  return {
    sampleTypes,
    samples: b.build(),
    mappings,
    locations,
    functions,
    strings: strings.strings,
    dropFrames: rich ? 'runtime\\..*' : '',
    keepFrames: rich ? 'runtime\\.main' : '',
    timeNanos: rich ? 1764288000123456789n : 0n,
    durationNanos: rich ? 30000000000n : 0n,
    periodType: nt > 0 && sampleTypes.some((x) => x.unit === 'bytes') ? { type: 'space', unit: 'bytes' } : rich ? { type: 'cpu', unit: 'nanoseconds' } : undefined,
    period: nt > 0 && sampleTypes.some((x) => x.unit === 'bytes') ? 524288 : rich ? 10000000 : 0,
    comments: rich ? ['generated by leakscope tests', 'ünïcode comment ✓'] : [],
    defaultSampleType: rich ? def : '',
    docUrl: rich ? 'https://example.com/docs/profiles' : '',
  };
}

/**
 * A plain, comparable picture of a profile's content: strings resolved, ids instead of indices,
 * int64 values as decimal strings (exact, bigValues included; -0 and 0 alike). Two profiles hold
 * the same data exactly when their snapshots are deepStrictEqual — string-table order and
 * encoding choices do not matter.
 */
export function profileSnapshot(p: Profile): unknown {
  const t = p.samples;
  const nt = p.sampleTypes.length;
  const samples: unknown[] = [];
  for (let s = 0; s < t.count; s++) {
    const stack: number[] = [];
    for (let k = t.stackStart[s]!; k < t.stackStart[s + 1]!; k++) stack.push(p.locations[t.stack[k]!]!.id);
    const values: string[] = [];
    for (let k = 0; k < nt; k++) {
      const big = t.bigValues?.get(s * nt + k);
      values.push(big !== undefined ? big.toString() : String(t.values[s * nt + k]! + 0));
    }
    const labels: string[] = [];
    for (let k = t.labelStart[s]!; k < t.labelStart[s + 1]!; k++) {
      labels.push(JSON.stringify([p.strings[t.labelKey[k]!], p.strings[t.labelStr[k]!], String(t.labelNum[k]! + 0), p.strings[t.labelUnit[k]!]]));
    }
    samples.push({ stack, values, labels });
  }
  return {
    sampleTypes: p.sampleTypes.map((v) => ({ type: v.type, unit: v.unit })),
    samples,
    mappings: p.mappings.map((m) => ({ ...m, memoryStart: String(m.memoryStart), memoryLimit: String(m.memoryLimit), fileOffset: String(m.fileOffset) })),
    locations: p.locations.map((l) => ({
      id: l.id,
      mapping: l.mapping >= 0 ? p.mappings[l.mapping]!.id : 0,
      address: String(l.address),
      isFolded: l.isFolded,
      lines: l.lines.map((ln) => ({ fn: ln.fn >= 0 ? p.functions[ln.fn]!.id : 0, line: ln.line, column: ln.column })),
    })),
    functions: p.functions.map((f) => ({ ...f })),
    dropFrames: p.dropFrames,
    keepFrames: p.keepFrames,
    timeNanos: String(p.timeNanos),
    durationNanos: String(p.durationNanos),
    periodType: p.periodType ? { type: p.periodType.type, unit: p.periodType.unit } : null,
    period: String(p.period + 0),
    comments: p.comments.slice(),
    defaultSampleType: p.defaultSampleType,
    docUrl: p.docUrl,
  };
}
