/**
 * The pprof profile model (profile.proto), built for size: samples live in flat typed arrays, not
 * one object per sample. Functions, locations and mappings are few enough to be objects.
 *
 * Invariants:
 * - `locations[i].lines[j].fn` is an index into `functions` (or -1 when the line has no function).
 * - `samples.stack` holds indices into `locations`, leaf first, as profile.proto orders them.
 * - `samples.values` is row-major: sample s, type t is `values[s * sampleTypes.length + t]`.
 * - Values are int64 in the format. Here they are doubles, exact up to 2^53 in magnitude; a decoded
 *   value beyond that keeps its exact form in `samples.bigValues` so that encoding round-trips.
 * - `strings` is the pool for label keys/values/units only; `strings[0] === ''`.
 */
export interface ValueType {
  type: string;
  unit: string;
}

export interface Mapping {
  id: number;
  memoryStart: bigint;
  memoryLimit: bigint;
  fileOffset: bigint;
  file: string;
  buildId: string;
  hasFunctions: boolean;
  hasFilenames: boolean;
  hasLineNumbers: boolean;
  hasInlineFrames: boolean;
}

export interface Line {
  /** index into Profile.functions, -1 when absent */
  fn: number;
  line: number;
  column: number;
}

export interface Location {
  id: number;
  /** index into Profile.mappings, -1 when absent */
  mapping: number;
  address: bigint;
  /** innermost (inlined callee) first; the last entry is the outermost caller */
  lines: Line[];
  isFolded: boolean;
}

export interface ProfileFunction {
  id: number;
  name: string;
  systemName: string;
  filename: string;
  startLine: number;
}

export interface SampleTable {
  count: number;
  values: Float64Array;
  stackStart: Uint32Array;
  stack: Uint32Array;
  labelStart: Uint32Array;
  labelKey: Uint32Array;
  labelStr: Uint32Array;
  labelNum: Float64Array;
  labelUnit: Uint32Array;
  /** exact values for entries of `values` whose magnitude exceeds 2^53 (index → int64) */
  bigValues?: Map<number, bigint>;
}

export interface Profile {
  sampleTypes: ValueType[];
  samples: SampleTable;
  mappings: Mapping[];
  locations: Location[];
  functions: ProfileFunction[];
  strings: string[];
  dropFrames: string;
  keepFrames: string;
  timeNanos: bigint;
  durationNanos: bigint;
  periodType: ValueType | undefined;
  period: number;
  comments: string[];
  defaultSampleType: string;
  docUrl: string;
}

/** A label as an object, for the few places that need one (rendering, filtering by tag). */
export interface Label {
  key: string;
  str: string;
  num: number;
  numUnit: string;
}

export function sampleLabels(p: Profile, s: number): Label[] {
  const t = p.samples;
  const out: Label[] = [];
  for (let i = t.labelStart[s]!; i < t.labelStart[s + 1]!; i++) {
    out.push({
      key: p.strings[t.labelKey[i]!]!,
      str: p.strings[t.labelStr[i]!]!,
      num: t.labelNum[i]!,
      numUnit: p.strings[t.labelUnit[i]!]!,
    });
  }
  return out;
}

/** Growable typed arrays for building a SampleTable without an object per sample. */
export class SampleTableBuilder {
  readonly numTypes: number;
  count = 0;
  private values: Float64Array;
  private stackStart: Uint32Array;
  private stack: Uint32Array;
  private stackLen = 0;
  private labelStart: Uint32Array;
  private labelKey: Uint32Array;
  private labelStr: Uint32Array;
  private labelNum: Float64Array;
  private labelUnit: Uint32Array;
  private labelLen = 0;
  bigValues: Map<number, bigint> | undefined;

  /**
   * capacityHint: expected samples; stackCapacity / labelCapacity: expected total stack entries
   * and labels. Exact hints let build() hand out the arrays without copying them.
   */
  constructor(numTypes: number, capacityHint = 64, stackCapacity?: number, labelCapacity?: number) {
    this.numTypes = numTypes;
    const cap = Math.max(4, capacityHint);
    this.values = new Float64Array(cap * Math.max(1, numTypes));
    this.stackStart = new Uint32Array(cap + 1);
    this.stack = new Uint32Array(Math.max(4, stackCapacity ?? cap * 8));
    this.labelStart = new Uint32Array(cap + 1);
    const lc = Math.max(4, labelCapacity ?? 16);
    this.labelKey = new Uint32Array(lc);
    this.labelStr = new Uint32Array(lc);
    this.labelNum = new Float64Array(lc);
    this.labelUnit = new Uint32Array(lc);
  }

  private growSamples(): void {
    const cap = (this.stackStart.length - 1) * 2;
    const v = new Float64Array(cap * Math.max(1, this.numTypes));
    v.set(this.values);
    this.values = v;
    const ss = new Uint32Array(cap + 1);
    ss.set(this.stackStart);
    this.stackStart = ss;
    const ls = new Uint32Array(cap + 1);
    ls.set(this.labelStart);
    this.labelStart = ls;
  }

  /** Append one location index to the sample being built. */
  pushLocation(loc: number): void {
    if (this.stackLen === this.stack.length) {
      const s = new Uint32Array(this.stack.length * 2);
      s.set(this.stack);
      this.stack = s;
    }
    this.stack[this.stackLen++] = loc;
  }

  pushLabel(key: number, str: number, num: number, unit: number): void {
    if (this.labelLen === this.labelKey.length) {
      const n = this.labelKey.length * 2;
      const k = new Uint32Array(n);
      k.set(this.labelKey);
      this.labelKey = k;
      const s = new Uint32Array(n);
      s.set(this.labelStr);
      this.labelStr = s;
      const nu = new Float64Array(n);
      nu.set(this.labelNum);
      this.labelNum = nu;
      const u = new Uint32Array(n);
      u.set(this.labelUnit);
      this.labelUnit = u;
    }
    this.labelKey[this.labelLen] = key;
    this.labelStr[this.labelLen] = str;
    this.labelNum[this.labelLen] = num;
    this.labelUnit[this.labelLen] = unit;
    this.labelLen++;
  }

  /** Value slot for the sample being built (call before endSample). */
  setValue(t: number, v: number): void {
    if (this.count + 1 >= this.stackStart.length) this.growSamples();
    this.values[this.count * this.numTypes + t] = v;
  }

  setBigValue(t: number, v: bigint): void {
    this.setValue(t, Number(v));
    if (!this.bigValues) this.bigValues = new Map();
    this.bigValues.set(this.count * this.numTypes + t, v);
  }

  /** Close the sample being built: its stack and labels are those pushed since the last call. */
  endSample(): number {
    if (this.count + 1 >= this.stackStart.length) this.growSamples();
    this.count++;
    this.stackStart[this.count] = this.stackLen;
    this.labelStart[this.count] = this.labelLen;
    return this.count - 1;
  }

  /** Drop the sample being built (its stack and labels). */
  abortSample(): void {
    this.stackLen = this.stackStart[this.count]!;
    this.labelLen = this.labelStart[this.count]!;
    const base = this.count * this.numTypes;
    for (let t = 0; t < this.numTypes; t++) this.values[base + t] = 0;
    if (this.bigValues) for (let t = 0; t < this.numTypes; t++) this.bigValues.delete(base + t);
  }

  /** Append a whole sample copied from another table (with location and string index maps). */
  pushSampleFrom(
    src: SampleTable,
    s: number,
    srcTypes: number,
    locMap: ArrayLike<number> | null,
    strMap: ArrayLike<number> | null,
    scale = 1,
  ): void {
    for (let i = src.stackStart[s]!; i < src.stackStart[s + 1]!; i++) {
      const l = src.stack[i]!;
      this.pushLocation(locMap ? locMap[l]! : l);
    }
    for (let i = src.labelStart[s]!; i < src.labelStart[s + 1]!; i++) {
      const m = (x: number) => (strMap ? strMap[x]! : x);
      this.pushLabel(m(src.labelKey[i]!), m(src.labelStr[i]!), src.labelNum[i]!, m(src.labelUnit[i]!));
    }
    for (let t = 0; t < srcTypes; t++) {
      const idx = s * srcTypes + t;
      const big = src.bigValues?.get(idx);
      if (big !== undefined && scale === 1) this.setBigValue(t, big);
      else if (big !== undefined && scale === -1) this.setBigValue(t, -big);
      else this.setValue(t, scale === 1 ? src.values[idx]! : src.values[idx]! * scale);
    }
    this.endSample();
  }

  build(): SampleTable {
    const n = this.count;
    if (n + 1 >= this.stackStart.length) this.growSamples();
    // Arrays that are (nearly) full are handed out as views; the others are trimmed copies.
    const fit = <T extends Uint32Array | Float64Array>(a: T, len: number): T =>
      (len >= a.length * 0.9 ? a.subarray(0, len) : a.slice(0, len)) as T;
    return {
      count: n,
      values: fit(this.values, n * this.numTypes),
      stackStart: fit(this.stackStart, n + 1),
      stack: fit(this.stack, this.stackLen),
      labelStart: fit(this.labelStart, n + 1),
      labelKey: fit(this.labelKey, this.labelLen),
      labelStr: fit(this.labelStr, this.labelLen),
      labelNum: fit(this.labelNum, this.labelLen),
      labelUnit: fit(this.labelUnit, this.labelLen),
      ...(this.bigValues && this.bigValues.size > 0 ? { bigValues: this.bigValues } : {}),
    };
  }
}

export function emptyProfile(sampleTypes: ValueType[]): Profile {
  return {
    sampleTypes,
    samples: new SampleTableBuilder(sampleTypes.length, 4).build(),
    mappings: [],
    locations: [],
    functions: [],
    strings: [''],
    dropFrames: '',
    keepFrames: '',
    timeNanos: 0n,
    durationNanos: 0n,
    periodType: undefined,
    period: 0,
    comments: [],
    defaultSampleType: '',
    docUrl: '',
  };
}

/** Interns strings into a pool whose index 0 is "". */
export class StringPool {
  readonly strings: string[];
  private readonly index = new Map<string, number>();
  constructor(initial: string[] = ['']) {
    this.strings = initial.length > 0 && initial[0] === '' ? initial.slice() : ['', ...initial];
    for (let i = 0; i < this.strings.length; i++) {
      if (!this.index.has(this.strings[i]!)) this.index.set(this.strings[i]!, i);
    }
  }
  intern(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}
