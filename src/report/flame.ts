/**
 * The flame graph's layout (an icicle: the root on top, callees below), computed once as plain
 * data from a prepared profile — the same preparation `top` uses, so the numbers agree — and never
 * rebuilt by the views: zoom, search and hover only read it.
 *
 * Stacks are merged into a tree of frames: a frame is one node (per the granularity, as in
 * core/graph.ts) under one path of callers. Frames are listed parents before children (siblings together), each child's
 * `start` inside its parent's span, children by descending width (ties by name). Children narrower than
 * `minFraction` of the root are not emitted one by one: they become one merged frame (`name` −1,
 * `merged` = how many), and their descendants are dropped, so a 400k-sample profile's layout stays
 * a few thousand frames whatever its number of distinct paths.
 *
 * Diffs: when the profile carries -diff_base samples (label pprof::base=true, as subtractBase with
 * `diff` writes them), each frame keeps the base's and the new profile's values apart; its width is
 * their sum (the two profiles side by side, as Pyroscope draws a diff) and its value new − base.
 *
 * Invariants: width[0] = Σ|sample value| of the prepared profile; for every frame, the children's
 * widths sum to at most its width and self = width − Σ children; without merging (minFraction 0)
 * Σ self per name = top's flat and Σ width over a name's outermost frames = top's cum.
 */
import { isDiffBaseSample } from '../core/algebra.js';
import { buildNodeTable, printableName, stackGroupIds } from '../core/graph.js';
import type { Prepared, ReportOptions } from './prepare.js';

export interface FlameOptions {
  /** children narrower than this share of the root are merged into one frame (default 0.001) */
  minFraction?: number;
  noInlines?: boolean;
  trimPath?: string;
  sourcePath?: string;
}

/** Plain data (JSON-ready); per-frame fields are parallel arrays indexed by frame, preorder. */
export interface FlameLayout {
  sampleType: string;
  unit: string;
  /** pprof's "of X total" (the base's total under -diff_base), for percentages */
  total: number;
  /** distinct frame names; `name[i]` indexes them, −1 for a merged frame, −2 for the root */
  names: string[];
  /** per name: "file:line" (the function's file and first line seen), '' when unknown */
  files: string[];
  start: number[];
  width: number[];
  depth: number[];
  name: number[];
  parent: number[];
  /** width minus the children's widths */
  self: number[];
  /** number of frames merged into a merged frame, else 0 */
  merged: number[];
  /** diffs only: the base's and the new profile's value per frame (width = base + new) */
  base?: number[];
  next?: number[];
  /** the profile's totals in a diff: Σ base and Σ new */
  baseTotal?: number;
  newTotal?: number;
  maxDepth: number;
  minWidth: number;
}

/** (int, int) → int, open addressing over typed arrays: no boxed keys, no per-entry objects. */
class PairMap {
  private cap = 1 << 12;
  private ka = new Int32Array(this.cap).fill(-1);
  private kb = new Int32Array(this.cap);
  private val = new Int32Array(this.cap);
  private size = 0;
  private slot(a: number, b: number): number {
    const mask = this.cap - 1;
    let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
    h = (h ^ (h >>> 15)) & mask;
    while (this.ka[h] !== -1 && (this.ka[h] !== a || this.kb[h] !== b)) h = (h + 1) & mask;
    return h;
  }
  get(a: number, b: number): number {
    const h = this.slot(a, b);
    return this.ka[h] === -1 ? -1 : this.val[h]!;
  }
  set(a: number, b: number, v: number): void {
    if ((this.size + 1) * 2 > this.cap) this.grow();
    const h = this.slot(a, b);
    if (this.ka[h] === -1) this.size++;
    this.ka[h] = a;
    this.kb[h] = b;
    this.val[h] = v;
  }
  private grow(): void {
    const { ka, kb, val } = this;
    this.cap *= 2;
    this.ka = new Int32Array(this.cap).fill(-1);
    this.kb = new Int32Array(this.cap);
    this.val = new Int32Array(this.cap);
    this.size = 0;
    for (let i = 0; i < ka.length; i++) if (ka[i] !== -1) this.set(ka[i]!, kb[i]!, val[i]!);
  }
}

/**
 * Samples grouped by identical stack, with their summed |value|, base and new values: the trie
 * walk then runs once per distinct stack, not once per sample.
 */
function groupSamples(p: Prepared['profile'], vi: number, diff: boolean) {
  const nt = p.sampleTypes.length;
  const values = p.samples.values;
  const { count, rep, groupOf } = stackGroupIds(p, (s) => values[s * nt + vi] === 0);
  const w = new Float64Array(count);
  const b = new Float64Array(count);
  const nv = new Float64Array(count);
  for (let s = 0; s < groupOf.length; s++) {
    const g = groupOf[s]!;
    if (g < 0) continue;
    const v = values[s * nt + vi]!;
    w[g]! += Math.abs(v);
    if (diff && isDiffBaseSample(p, s)) b[g]! -= v;
    else nv[g]! += v;
  }
  return { count, rep, w, b, n: nv };
}

/** Frame trie under construction: typed arrays grown by doubling. */
class Trie {
  size = 1;
  node = new Int32Array(1024).fill(-2);
  parent = new Int32Array(1024).fill(-1);
  depth = new Int32Array(1024);
  w = new Float64Array(1024);
  b = new Float64Array(1024);
  n = new Float64Array(1024);
  private index = new PairMap();
  child(p: number, node: number): number {
    let c = this.index.get(p, node);
    if (c < 0) {
      c = this.size++;
      if (c >= this.node.length) this.grow();
      this.node[c] = node;
      this.parent[c] = p;
      this.depth[c] = this.depth[p]! + 1;
      this.index.set(p, node, c);
    }
    return c;
  }
  private grow(): void {
    const cap = this.node.length * 2;
    const g = <T extends Int32Array | Float64Array>(a: T, fill?: number): T => {
      const x = new (a.constructor as { new (n: number): T })(cap);
      if (fill !== undefined) x.fill(fill);
      x.set(a);
      return x;
    };
    this.node = g(this.node, -2);
    this.parent = g(this.parent, -1);
    this.depth = g(this.depth);
    this.w = g(this.w);
    this.b = g(this.b);
    this.n = g(this.n);
  }
}

/** Computes the layout of `prep.profile` (already filtered by prepareReport). */
export function flameLayout(prep: Prepared, o: FlameOptions & Pick<ReportOptions, 'noInlines' | 'trimPath' | 'sourcePath'> = {}): FlameLayout {
  const p = prep.profile;
  const vi = prep.valueIndex;
  const table = buildNodeTable(p, {
    valueIndex: vi,
    granularity: prep.granularity,
    noInlines: o.noInlines,
    trimPath: o.trimPath,
    sourcePath: o.sourcePath,
  });
  const { locStart, locNodes } = table;
  const t = p.samples;
  let diff = false;
  for (const s of p.strings) if (s === 'pprof::base') diff = true;
  const trie = new Trie();
  // A location's frames are the same under the same parent every time: remember the trie node a
  // (parent, location) pair ends at, so the walk does one lookup per location.
  const locEnd = new PairMap();
  const locCount = p.locations.length;
  // file:line per node, from the first line seen
  const fileOf: string[] = new Array(table.infos.length).fill('');
  for (let li = 0; li < locCount; li++) {
    const loc = p.locations[li]!;
    let lines = loc.lines;
    if (o.noInlines && lines.length > 1) lines = lines.slice(lines.length - 1);
    for (let j = 0; j < lines.length; j++) {
      const id = locNodes[locStart[li]! + j]!;
      if (fileOf[id] !== '') continue;
      const ln = lines[j]!;
      const fn = ln.fn >= 0 ? p.functions[ln.fn] : undefined;
      if (fn && fn.filename !== '') fileOf[id] = ln.line > 0 ? `${fn.filename}:${ln.line}` : fn.filename;
    }
  }
  const groups = groupSamples(p, vi, diff);
  let baseTotal = 0;
  let newTotal = 0;
  for (let g = 0; g < groups.count; g++) {
    const sample = groups.rep[g]!;
    const w = groups.w[g]!;
    const bv = groups.b[g]!;
    const nv = groups.n[g]!;
    baseTotal += bv;
    newTotal += nv;
    let cur = 0;
    trie.w[0]! += w;
    trie.b[0]! += bv;
    trie.n[0]! += nv;
    for (let i = t.stackStart[sample + 1]! - 1; i >= t.stackStart[sample]!; i--) {
      const l = t.stack[i]!;
      let end = locEnd.get(cur, l);
      if (end < 0) {
        end = cur;
        for (let ni = locStart[l + 1]! - 1; ni >= locStart[l]!; ni--) end = trie.child(end, locNodes[ni]!);
        locEnd.set(cur, l, end);
      }
      // charge every frame from the location's first to its last (inlined frames between)
      let f = end;
      while (f !== cur) {
        trie.w[f]! += w;
        trie.b[f]! += bv;
        trie.n[f]! += nv;
        f = trie.parent[f]!;
      }
      cur = end;
    }
  }

  // children lists
  const size = trie.size;
  const childCount = new Int32Array(size + 1);
  for (let i = 1; i < size; i++) childCount[trie.parent[i]! + 1]!++;
  for (let i = 1; i <= size; i++) childCount[i]! += childCount[i - 1]!;
  const childStart = childCount.slice();
  const children = new Int32Array(Math.max(0, size - 1));
  const fill = childStart.slice();
  for (let i = 1; i < size; i++) children[fill[trie.parent[i]!]!++] = i;
  const names = table.infos.map(printableName);

  const out: FlameLayout = {
    sampleType: prep.sampleType,
    unit: prep.sampleUnit,
    total: prep.total,
    names: [],
    files: [],
    start: [],
    width: [],
    depth: [],
    name: [],
    parent: [],
    self: [],
    merged: [],
    maxDepth: 0,
    minWidth: 0,
  };
  if (diff) {
    out.base = [];
    out.next = [];
    out.baseTotal = baseTotal;
    out.newTotal = newTotal;
  }
  const rootWidth = trie.w[0]!;
  const minWidth = rootWidth * (o.minFraction ?? 0.001);
  out.minWidth = minWidth;
  const nameIndex = new Int32Array(table.infos.length).fill(-1);
  const emit = (parent: number, start: number, width: number, depth: number, nameIx: number, merged: number, b: number, n: number): number => {
    const i = out.start.length;
    out.start.push(start);
    out.width.push(width);
    out.depth.push(depth);
    out.name.push(nameIx);
    out.parent.push(parent);
    out.self.push(width);
    out.merged.push(merged);
    if (out.base) {
      out.base.push(b);
      out.next!.push(n);
    }
    if (parent >= 0) out.self[parent]! -= width;
    if (depth > out.maxDepth) out.maxDepth = depth;
    return i;
  };
  const nameOf = (node: number): number => {
    let ix = nameIndex[node]!;
    if (ix < 0) {
      ix = out.names.length;
      out.names.push(names[node]!);
      out.files.push(fileOf[node]!);
      nameIndex[node] = ix;
    }
    return ix;
  };
  // iterative preorder: a stack of (trie node, layout index, start)
  emit(-1, 0, rootWidth, 0, -2, 0, trie.b[0]!, trie.n[0]!);
  const stack: number[] = [0, 0, 0];
  const kids: number[] = [];
  while (stack.length > 0) {
    const start0 = stack.pop()!;
    const li = stack.pop()!;
    const tn = stack.pop()!;
    kids.length = 0;
    let mergedW = 0;
    let mergedB = 0;
    let mergedN = 0;
    let mergedCount = 0;
    for (let k = childStart[tn]!; k < childStart[tn + 1]!; k++) {
      const c = children[k]!;
      const w = trie.w[c]!;
      if (w <= 0) continue;
      if (w < minWidth) {
        mergedW += w;
        mergedB += trie.b[c]!;
        mergedN += trie.n[c]!;
        mergedCount++;
      } else kids.push(c);
    }
    kids.sort((a, b) => {
      const d = trie.w[b]! - trie.w[a]!;
      if (d !== 0) return d;
      const na = names[trie.node[a]!]!;
      const nb = names[trie.node[b]!]!;
      return na < nb ? -1 : na > nb ? 1 : a - b;
    });
    let x = start0;
    const pending: number[] = [];
    const depth = trie.depth[tn]! + 1;
    for (const c of kids) {
      const w = trie.w[c]!;
      const ci = emit(li, x, w, depth, nameOf(trie.node[c]!), 0, trie.b[c]!, trie.n[c]!);
      pending.push(c, ci, x);
      x += w;
    }
    if (mergedCount > 0) emit(li, x, mergedW, depth, -1, mergedCount, mergedB, mergedN);
    // push in reverse so that the first child is laid out (and its subtree emitted) first
    for (let k = pending.length - 3; k >= 0; k -= 3) stack.push(pending[k]!, pending[k + 1]!, pending[k + 2]!);
  }
  return out;
}
