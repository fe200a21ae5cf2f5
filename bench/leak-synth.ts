/**
 * Synthetic Go-shaped heap and goroutine profiles whose sites follow chosen curves over time, for
 * the leak tests and the leak benchmark. Each site is a function with one allocating line under a
 * short call chain into `main.main`.
 */
import { SampleTableBuilder, type Location, type Profile, type ProfileFunction } from '../src/core/profile.js';

export interface SynthSite {
  fn: string;
  file?: string;
  line?: number;
  /** callers, leaf-most first, below the site (default ['main.handle', 'main.main']) */
  callers?: string[];
  /** inuse bytes (heap) or count (goroutine) */
  value: number;
  objects?: number;
}

export interface SynthOptions {
  kind: 'heap' | 'goroutine';
  sites: SynthSite[];
  timeMs: number;
  /** cumulative alloc_space total (heap): defaults to 10 × inuse + timeMs */
  allocSpace?: number;
}

/** mulberry32 PRNG, floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function synthProfile(o: SynthOptions): Profile {
  const functions: ProfileFunction[] = [];
  const fnIndex = new Map<string, number>();
  const locations: Location[] = [];
  const locIndex = new Map<string, number>();
  const fnOf = (name: string, file: string) => {
    const k = `${name}\0${file}`;
    let i = fnIndex.get(k);
    if (i === undefined) {
      i = functions.length;
      functions.push({ id: i + 1, name, systemName: name, filename: file, startLine: 10 });
      fnIndex.set(k, i);
    }
    return i;
  };
  const locOf = (name: string, file: string, line: number) => {
    const k = `${name}\0${file}\0${line}`;
    let i = locIndex.get(k);
    if (i === undefined) {
      i = locations.length;
      locations.push({ id: i + 1, mapping: -1, address: BigInt(0x1000 + i * 16), lines: [{ fn: fnOf(name, file), line, column: 0 }], isFolded: false });
      locIndex.set(k, i);
    }
    return i;
  };
  const heap = o.kind === 'heap';
  const nt = heap ? 4 : 1;
  const b = new SampleTableBuilder(nt, o.sites.length + 2);
  let inuse = 0;
  for (const s of o.sites) {
    const file = s.file ?? 'example.com/svc/main.go';
    if (!heap) {
      b.pushLocation(locOf('runtime.gopark', 'runtime/proc.go', 363));
      b.pushLocation(locOf('runtime.chanrecv', 'runtime/chan.go', 583));
    }
    b.pushLocation(locOf(s.fn, file, s.line ?? 20));
    let line = 100;
    for (const c of s.callers ?? ['main.handle', 'main.main']) b.pushLocation(locOf(c, file, line++));
    const v = Math.max(0, Math.round(s.value));
    inuse += v;
    if (heap) {
      const objs = Math.max(0, Math.round(s.objects ?? v / 1024));
      b.setValue(0, objs * 3);
      b.setValue(1, v * 3);
      b.setValue(2, objs);
      b.setValue(3, v);
    } else b.setValue(0, v);
    b.endSample();
  }
  if (heap) {
    // a cumulative filler so alloc_space never shrinks within a process
    b.pushLocation(locOf('main.init', 'example.com/svc/main.go', 5));
    b.setValue(0, 0);
    b.setValue(1, Math.round(o.allocSpace ?? 10 * inuse + o.timeMs));
    b.setValue(2, 0);
    b.setValue(3, 0);
    b.endSample();
  }
  return {
    sampleTypes: heap
      ? [
          { type: 'alloc_objects', unit: 'count' },
          { type: 'alloc_space', unit: 'bytes' },
          { type: 'inuse_objects', unit: 'count' },
          { type: 'inuse_space', unit: 'bytes' },
        ]
      : [{ type: 'goroutine', unit: 'count' }],
    samples: b.build(),
    mappings: [],
    locations,
    functions,
    strings: [''],
    dropFrames: '',
    keepFrames: '',
    timeNanos: BigInt(Math.round(o.timeMs)) * 1000000n,
    durationNanos: 0n,
    periodType: heap ? { type: 'space', unit: 'bytes' } : { type: 'goroutine', unit: 'count' },
    period: heap ? 524288 : 1,
    comments: [],
    defaultSampleType: '',
    docUrl: '',
  };
}

/** Curves of a site over normalized time u ∈ [0, 1] (the run), before noise. */
export const curves = {
  leak: (base: number, growth: number) => (u: number) => base + growth * u,
  /** a warming cache: fills to `cap` by `fillAt` (fraction of the run), then flat */
  plateau: (cap: number, fillAt: number) => (u: number) => cap * Math.min(1, u / fillAt),
  /** churn: garbage that dies — a level that wanders randomly, no trend */
  churn: (level: number, rand: () => number) => () => level * (0.5 + rand()),
  /** one step (a one-time allocation, one late GC), then flat */
  step: (base: number, jump: number, at: number) => (u: number) => base + (u >= at ? jump : 0),
  /** a single spike at one sample */
  spike: (base: number, jump: number, at: number, n: number) => (u: number) => base + (Math.round(u * (n - 1)) === Math.round(at * (n - 1)) ? jump : 0),
};
