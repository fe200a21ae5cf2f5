/**
 * V8 profiles → pprof Profile: the sampling heap profile and the CPU profile of the inspector
 * protocol, and the agent's async-resource census. Pure: inputs are the JSON objects the inspector
 * returns (so tests feed recorded JSON), a frame resolver is injected (source maps live in the agent).
 *
 * Invariants of every Profile built here:
 * - function, location ids are 1..n, unique; `strings[0] === ''`;
 * - one location per distinct (function, file, line, column), one line per location (V8 reports
 *   no inlined frames, so `hasInlineFrames` is never claimed);
 * - samples with identical stacks and labels are merged, values summed;
 * - lines are 1-based and are the line where the FUNCTION starts (V8 knows no allocating line).
 */
import { type Profile, type ValueType, SampleTableBuilder, StringPool } from '../core/profile.js';

/** The call frame shape shared by HeapProfiler, Profiler and Debugger (0-based line/column). */
export interface V8CallFrame {
  functionName: string;
  scriptId?: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

export interface V8HeapNode {
  callFrame: V8CallFrame;
  selfSize: number;
  id: number;
  children: V8HeapNode[];
}

export interface V8HeapSample {
  size: number;
  nodeId: number;
  ordinal: number;
}

export interface V8SamplingHeapProfile {
  head: V8HeapNode;
  samples: V8HeapSample[];
}

export interface V8CpuNode {
  id: number;
  callFrame: V8CallFrame;
  parent?: number;
  children?: number[];
}

export interface V8CpuProfile {
  nodes: V8CpuNode[];
  /** microseconds */
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** A frame as it appears in the output: name, file path, 1-based line and column. */
export interface ResolvedFrame {
  name: string;
  file: string;
  line: number;
  column: number;
}

export type FrameResolver = (frame: V8CallFrame) => ResolvedFrame;

/** file:///a/b%20c.js → /a/b c.js; other URLs (node:internal/…, http:) stay as they are. */
export function urlToPath(url: string): string {
  if (!url.startsWith('file://')) return url;
  let rest = url.slice('file://'.length);
  if (rest.startsWith('localhost/')) rest = rest.slice('localhost'.length);
  try {
    return decodeURIComponent(rest);
  } catch {
    return rest;
  }
}

/** The resolver without source maps: the JS function name, the script path, 1-based positions. */
export function defaultResolveFrame(frame: V8CallFrame): ResolvedFrame {
  return {
    name: frame.functionName || '(anonymous)',
    file: urlToPath(frame.url),
    line: frame.lineNumber >= 0 ? frame.lineNumber + 1 : 0,
    column: frame.columnNumber >= 0 ? frame.columnNumber + 1 : 0,
  };
}

export interface ProfileMeta {
  timeNanos?: bigint;
  durationNanos?: bigint;
  periodType?: ValueType;
  period?: number;
  comments?: string[];
  defaultSampleType?: string;
  docUrl?: string;
}

/**
 * Builds a Profile from stacks of resolved frames. Identical frames share a location; identical
 * stacks with identical labels share a sample.
 */
export class ProfileAssembler {
  private readonly sampleTypes: ValueType[];
  private readonly fnIndex = new Map<string, number>();
  private readonly locIndex = new Map<string, number>();
  readonly functions: Profile['functions'] = [];
  readonly locations: Profile['locations'] = [];
  private readonly pool = new StringPool();
  private readonly sampleIndex = new Map<string, number>();
  private readonly samples: { stack: number[]; labels: [number, number][]; values: number[] }[] = [];

  constructor(sampleTypes: ValueType[]) {
    this.sampleTypes = sampleTypes;
  }

  location(f: ResolvedFrame): number {
    const key = `${f.name}\0${f.file}\0${f.line}\0${f.column}`;
    let li = this.locIndex.get(key);
    if (li !== undefined) return li;
    const fkey = `${f.name}\0${f.file}\0${f.line}`;
    let fi = this.fnIndex.get(fkey);
    if (fi === undefined) {
      fi = this.functions.length;
      this.functions.push({ id: fi + 1, name: f.name, systemName: f.name, filename: f.file, startLine: f.line });
      this.fnIndex.set(fkey, fi);
    }
    li = this.locations.length;
    this.locations.push({
      id: li + 1,
      mapping: -1,
      address: 0n,
      lines: [{ fn: fi, line: f.line, column: f.column }],
      isFolded: false,
    });
    this.locIndex.set(key, li);
    return li;
  }

  /** Adds `values` to the sample with this stack (location indices, leaf first) and labels. */
  add(stack: number[], values: number[], labels: { key: string; value: string }[] = []): void {
    const lab: [number, number][] = labels.map((l) => [this.pool.intern(l.key), this.pool.intern(l.value)]);
    const key = `${stack.join(',')}|${lab.map((l) => `${l[0]}=${l[1]}`).join(',')}`;
    const i = this.sampleIndex.get(key);
    if (i !== undefined) {
      const s = this.samples[i]!;
      for (let t = 0; t < values.length; t++) s.values[t]! += values[t]!;
      return;
    }
    this.sampleIndex.set(key, this.samples.length);
    this.samples.push({ stack: stack.slice(), labels: lab, values: values.slice() });
  }

  build(meta: ProfileMeta = {}, order?: (a: number[], b: number[]) => number): Profile {
    const nt = this.sampleTypes.length;
    const list = order ? this.samples.slice().sort((a, b) => order(a.values, b.values)) : this.samples;
    const b = new SampleTableBuilder(nt, list.length + 1);
    for (const s of list) {
      for (const l of s.stack) b.pushLocation(l);
      for (const [k, v] of s.labels) b.pushLabel(k, v, 0, 0);
      for (let t = 0; t < nt; t++) b.setValue(t, s.values[t] ?? 0);
      b.endSample();
    }
    return {
      sampleTypes: this.sampleTypes.map((x) => ({ ...x })),
      samples: b.build(),
      mappings: [],
      locations: this.locations,
      functions: this.functions,
      strings: this.pool.strings,
      dropFrames: '',
      keepFrames: '',
      timeNanos: meta.timeNanos ?? 0n,
      durationNanos: meta.durationNanos ?? 0n,
      periodType: meta.periodType,
      period: meta.period ?? 0,
      comments: meta.comments ?? [],
      defaultSampleType: meta.defaultSampleType ?? '',
      docUrl: meta.docUrl ?? '',
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Heap

/*
 * About `inuse_objects`: V8's sampler reports each sample's `size` as object size × count, where
 * count = round(1 / (1 − exp(−size/interval))) is how many allocations the sample stands for
 * (v8 SamplingHeapProfiler::ScaleSample; the inspector multiplies the two). The object size is not
 * reported, and the product hardly depends on it: for objects smaller than the interval it is
 * interval + (something below the object size), so 16-, 24-, 48- and 7944-byte objects can all
 * report 524304. Object counts therefore cannot be unsampled from the inspector's data, and
 * `inuse_objects` counts SAMPLES (sampled allocations still alive): a row with N samples stands
 * for about N × interval bytes. `inuse_space` is V8's unbiased byte estimate.
 */

export const HEAP_SAMPLE_TYPES: ValueType[] = [
  { type: 'inuse_objects', unit: 'count' },
  { type: 'inuse_space', unit: 'bytes' },
];

export interface HeapConvertOptions {
  /** the sampling interval the profile was taken with (bytes) */
  interval: number;
  resolve?: FrameResolver;
  timeNanos?: bigint;
  durationNanos?: bigint;
  comments?: string[];
}

/** Parent links of a heap tree, iteratively (trees can be deep). */
function indexHeapTree(head: V8HeapNode): Map<number, { node: V8HeapNode; parent: number }> {
  const byId = new Map<number, { node: V8HeapNode; parent: number }>();
  const stack: [V8HeapNode, number][] = [[head, -1]];
  while (stack.length > 0) {
    const [n, parent] = stack.pop()!;
    byId.set(n.id, { node: n, parent });
    for (const c of n.children ?? []) stack.push([c, n.id]);
  }
  return byId;
}

function isRootFrame(f: V8CallFrame): boolean {
  return f.functionName === '(root)' && f.url === '' && f.lineNumber < 0;
}

class HeapStackCache {
  private readonly cache = new Map<number, number[]>();
  constructor(
    private readonly tree: Map<number, { node: V8HeapNode; parent: number }>,
    private readonly asm: ProfileAssembler,
    private readonly resolve: FrameResolver,
  ) {}
  /** location indices, leaf first, for a node id (root excluded) */
  stack(nodeId: number): number[] | undefined {
    const hit = this.cache.get(nodeId);
    if (hit) return hit;
    if (!this.tree.has(nodeId)) return undefined;
    const out: number[] = [];
    for (let id = nodeId, guard = 0; id >= 0 && guard < 100000; guard++) {
      const e = this.tree.get(id);
      if (!e) break;
      if (!isRootFrame(e.node.callFrame)) out.push(this.asm.location(this.resolve(e.node.callFrame)));
      id = e.parent;
    }
    this.cache.set(nodeId, out);
    return out;
  }
}

/**
 * A V8 sampling heap profile (the live samples at the time it was fetched) as a pprof heap profile:
 * `inuse_objects/count` (live samples, see above), `inuse_space/bytes`, period `space/bytes` = the
 * interval.
 */
export function heapProfileToPprof(profile: V8SamplingHeapProfile, opts: HeapConvertOptions): Profile {
  return heapDeltaToPprof(undefined, profile, opts);
}

/**
 * The difference between two sampling heap profiles of the same sampling session: samples whose
 * ordinal appears only in `after` are added (newly retained), those only in `before` are
 * subtracted (freed in between). With `before` undefined, `after` is returned whole.
 */
export function heapDeltaToPprof(
  before: V8SamplingHeapProfile | undefined,
  after: V8SamplingHeapProfile,
  opts: HeapConvertOptions,
): Profile {
  const asm = new ProfileAssembler(HEAP_SAMPLE_TYPES);
  const resolve = opts.resolve ?? defaultResolveFrame;
  const afterStacks = new HeapStackCache(indexHeapTree(after.head), asm, resolve);
  const beforeOrdinals = new Set<number>();
  if (before) for (const s of before.samples) beforeOrdinals.add(s.ordinal);
  const afterOrdinals = new Set<number>();
  for (const s of after.samples) {
    afterOrdinals.add(s.ordinal);
    if (beforeOrdinals.has(s.ordinal)) continue;
    const stack = afterStacks.stack(s.nodeId);
    if (!stack) continue;
    asm.add(stack, [1, s.size]);
  }
  if (before) {
    const beforeStacks = new HeapStackCache(indexHeapTree(before.head), asm, resolve);
    for (const s of before.samples) {
      if (afterOrdinals.has(s.ordinal)) continue;
      const stack = beforeStacks.stack(s.nodeId);
      if (!stack) continue;
      asm.add(stack, [-1, -s.size]);
    }
  }
  return asm.build(
    {
      timeNanos: opts.timeNanos,
      durationNanos: opts.durationNanos,
      periodType: { type: 'space', unit: 'bytes' },
      period: opts.interval,
      comments: opts.comments,
    },
    (a, b) => b[1]! - a[1]!,
  );
}

// ---------------------------------------------------------------------------------------------
// CPU

export const CPU_SAMPLE_TYPES: ValueType[] = [
  { type: 'samples', unit: 'count' },
  { type: 'cpu', unit: 'nanoseconds' },
];

export interface CpuConvertOptions {
  /** the sampling interval the profiler ran with, microseconds */
  intervalMicros: number;
  resolve?: FrameResolver;
  /** wall-clock start of the profile */
  timeNanos?: bigint;
  comments?: string[];
}

const CPU_IDLE = '(idle)';

/**
 * A V8 CPU profile as a pprof CPU profile, Go's shape: each sample is one `samples/count` and
 * `interval` nanoseconds of `cpu`; `(idle)` samples (the thread was waiting, not running) are
 * dropped; `(program)` and `(garbage collector)` are kept as leaf-only stacks.
 */
export function cpuProfileToPprof(profile: V8CpuProfile, opts: CpuConvertOptions): Profile {
  const asm = new ProfileAssembler(CPU_SAMPLE_TYPES);
  const resolve = opts.resolve ?? defaultResolveFrame;
  const byId = new Map<number, V8CpuNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) byId.set(n.id, n);
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  for (const n of profile.nodes) if (n.parent !== undefined && !parent.has(n.id)) parent.set(n.id, n.parent);
  const stacks = new Map<number, number[] | null>();
  const periodNs = Math.round(opts.intervalMicros * 1000);
  for (const id of profile.samples ?? []) {
    let stack = stacks.get(id);
    if (stack === undefined) {
      const leaf = byId.get(id);
      if (!leaf || leaf.callFrame.functionName === CPU_IDLE) stack = null;
      else {
        stack = [];
        for (let cur: number | undefined = id, guard = 0; cur !== undefined && guard < 100000; guard++) {
          const n = byId.get(cur);
          if (!n) break;
          if (!isRootFrame(n.callFrame)) stack.push(asm.location(resolve(n.callFrame)));
          cur = parent.get(cur);
        }
      }
      stacks.set(id, stack);
    }
    if (stack === null) continue;
    asm.add(stack, [1, periodNs]);
  }
  const duration = Math.max(0, profile.endTime - profile.startTime);
  return asm.build(
    {
      timeNanos: opts.timeNanos,
      durationNanos: BigInt(Math.round(duration * 1000)),
      periodType: { type: 'cpu', unit: 'nanoseconds' },
      period: periodNs,
      comments: opts.comments,
    },
    (a, b) => b[0]! - a[0]!,
  );
}

// ---------------------------------------------------------------------------------------------
// Async census ("goroutine" profile)

export interface CensusEntry {
  /** resource type: Timeout, Interval, Immediate, TCPSocket, TCPServer, FSReqCallback, Promise… */
  type: string;
  /** where the resource's callback (or creating code) lives; undefined when unknown */
  frame?: V8CallFrame;
  /** creation stack, leaf first, when creation-stack tracking recorded it */
  stack?: V8CallFrame[];
  count: number;
  /** string labels of the creating context (leakscope/labels), creation-stack windows only */
  labels?: Readonly<Record<string, string>>;
}

export const CENSUS_SAMPLE_TYPES: ValueType[] = [{ type: 'goroutine', unit: 'count' }];

export interface CensusConvertOptions {
  resolve?: FrameResolver;
  timeNanos?: bigint;
  comments?: string[];
}

function unknownFrame(type: string): ResolvedFrame {
  return { name: `(${type}: callback location unknown)`, file: '', line: 0, column: 0 };
}

/**
 * The census as a count profile Go tooling reads like a goroutine profile: sample type
 * `goroutine/count`, one sample per (location, type) with a `type` label; the leaf frame is the
 * callback's function (or the creation stack when recorded), the root frame is the resource type,
 * so `-top` shows both "which callbacks" and "which kinds" of pending work.
 */
export function censusToPprof(entries: CensusEntry[], opts: CensusConvertOptions = {}): Profile {
  const asm = new ProfileAssembler(CENSUS_SAMPLE_TYPES);
  const resolve = opts.resolve ?? defaultResolveFrame;
  for (const e of entries) {
    if (!(e.count > 0)) continue;
    const stack: number[] = [];
    if (e.stack && e.stack.length > 0) for (const f of e.stack) stack.push(asm.location(resolve(f)));
    else stack.push(asm.location(e.frame ? resolve(e.frame) : unknownFrame(e.type)));
    stack.push(asm.location({ name: e.type, file: '', line: 0, column: 0 }));
    asm.add(stack, [e.count], [{ key: 'type', value: e.type }, ...entryLabels(e)]);
  }
  return asm.build(
    {
      timeNanos: opts.timeNanos,
      periodType: { type: 'goroutine', unit: 'count' },
      period: 1,
      comments: opts.comments,
    },
    (a, b) => b[0]! - a[0]!,
  );
}

/** An entry's own labels, sorted by key; `type` is the census's own label and is not repeated. */
function entryLabels(e: CensusEntry): { key: string; value: string }[] {
  if (!e.labels) return [];
  return Object.keys(e.labels)
    .filter((k) => k !== 'type')
    .sort()
    .map((k) => ({ key: k, value: e.labels![k]! }));
}

function frameText(f: ResolvedFrame): string {
  const where = f.file === '' ? '' : f.line > 0 ? `${f.file}:${f.line}` : f.file;
  return where === '' ? f.name : `${f.name}\t${where}`;
}

/**
 * The census as text, in the spirit of Go's `goroutine?debug=1`:
 *
 *     async profile: total 12
 *     10 @ Interval
 *     # labels: {"route":"/api/poll"}
 *     #	poll	/srv/app.js:81
 *
 * The labels line (Go's shape) appears only for entries with labels.
 */
export function censusToText(entries: CensusEntry[], resolve: FrameResolver = defaultResolveFrame, notes: string[] = []): string {
  const rows: { count: number; type: string; lines: string[] }[] = [];
  const idx = new Map<string, number>();
  let total = 0;
  for (const e of entries) {
    if (!(e.count > 0)) continue;
    total += e.count;
    const frames = e.stack && e.stack.length > 0 ? e.stack.map(resolve) : [e.frame ? resolve(e.frame) : unknownFrame(e.type)];
    const lines = frames.map((f) => `#\t${frameText(f)}`);
    const labels = entryLabels(e);
    if (labels.length > 0) lines.unshift(`# labels: {${labels.map((l) => `${JSON.stringify(l.key)}:${JSON.stringify(l.value)}`).join(', ')}}`);
    const key = `${e.type}\n${lines.join('\n')}`;
    const i = idx.get(key);
    if (i !== undefined) rows[i]!.count += e.count;
    else {
      idx.set(key, rows.length);
      rows.push({ count: e.count, type: e.type, lines });
    }
  }
  rows.sort((a, b) => b.count - a.count || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  let out = `async profile: total ${total}\n`;
  for (const n of notes) out += `# ${n}\n`;
  for (const r of rows) out += `${r.count} @ ${r.type}\n${r.lines.join('\n')}\n\n`;
  return out;
}

/**
 * A paused JavaScript stack (Debugger.paused callFrames, innermost first) as text in the shape of
 * Go's `goroutine?debug=2`: a header, then one `name(…)` line and one indented `file:line:column`
 * line per frame.
 */
export function stackToText(header: string, frames: V8CallFrame[], resolve: FrameResolver = defaultResolveFrame): string {
  let out = `${header}\n`;
  for (const cf of frames) {
    const f = resolve(cf);
    out += `${f.name}(...)\n\t${f.file === '' ? '(unknown)' : f.file}:${f.line}${f.column > 0 ? `:${f.column}` : ''}\n`;
  }
  return out;
}

/**
 * A heap profile built by `heapDeltaToPprof` as text, in the spirit of Go's `heap?debug=1`:
 *
 *     heap profile: 31: 16252928 [samples: bytes] @ heap/524288
 *     29: 15204352 @
 *     #	rememberRequest	/srv/app.js:9
 *     #	(anonymous)	/srv/app.js:50
 *
 * Records are sorted by bytes, largest first; frames are leaf first. Counts are samples (see the
 * note on inuse_objects above).
 */
export function heapToText(p: Profile): string {
  const t = p.samples;
  const nt = p.sampleTypes.length;
  const rows: { n: number; bytes: number; frames: string[] }[] = [];
  let totalN = 0;
  let totalBytes = 0;
  for (let s = 0; s < t.count; s++) {
    const n = t.values[s * nt]!;
    const bytes = t.values[s * nt + 1]!;
    totalN += n;
    totalBytes += bytes;
    if (n === 0 && bytes === 0) continue;
    const frames: string[] = [];
    for (let i = t.stackStart[s]!; i < t.stackStart[s + 1]!; i++) {
      const loc = p.locations[t.stack[i]!]!;
      for (const ln of loc.lines) {
        const f = p.functions[ln.fn]!;
        frames.push(`#\t${frameText({ name: f.name, file: f.filename, line: ln.line, column: ln.column })}`);
      }
    }
    rows.push({ n, bytes, frames });
  }
  rows.sort((a, b) => b.bytes - a.bytes);
  let out = `heap profile: ${totalN}: ${totalBytes} [samples: bytes] @ heap/${p.period}\n`;
  for (const c of p.comments) out += `# ${c}\n`;
  for (const r of rows) out += `${r.n}: ${r.bytes} @\n${r.frames.join('\n')}\n\n`;
  return out;
}
