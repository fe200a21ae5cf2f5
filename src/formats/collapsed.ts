/**
 * Brendan Gregg's collapsed ("folded") stacks: one line per distinct stack,
 * `root;caller;leaf value`, the input of flamegraph.pl and of most flame-graph tools.
 *
 * Writing: frames go root → leaf; a location's inlined lines (innermost first in the model) are
 * expanded outermost first, so an inlined callee appears as its own frame below its caller.
 * Identical stacks are summed, zero sums are dropped and lines are sorted (byte order) so the
 * output is stable. A location without a function (unsymbolized) is named by its address.
 *
 * Reading: each non-empty line is `frames value` (the value after the LAST run of whitespace, so
 * frame names may contain spaces); frames are split on `;`. Each distinct name becomes one
 * function with one location. Pure: strings in, strings out.
 */
import { LeakscopeError } from '../core/errors.js';
import { type Profile, type ValueType, SampleTableBuilder, emptyProfile } from '../core/profile.js';

/** The frame names of one location, outermost first (the order they appear in a collapsed stack). */
export function locationFrameNames(p: Profile, loc: number): string[] {
  const l = p.locations[loc]!;
  const names: string[] = [];
  for (let i = l.lines.length - 1; i >= 0; i--) {
    const fn = l.lines[i]!.fn;
    names.push(fn >= 0 ? cleanName(p.functions[fn]!.name || `0x${l.address.toString(16)}`) : `0x${l.address.toString(16)}`);
  }
  if (names.length === 0) names.push(`0x${l.address.toString(16)}`);
  return names;
}

function cleanName(s: string): string {
  // A newline would end the line and ';' would split the frame: neither can be escaped in the format.
  return /[\n\r;]/.test(s) ? s.replace(/[\n\r]+/g, ' ').replace(/;/g, ':') : s;
}

export interface CollapsedOptions {
  /** which sample type to write (an index into sampleTypes); default: the last one */
  sampleIndex?: number;
}

/**
 * Sums identical stacks of a profile and calls `emit(stackString, value)` once per distinct stack
 * with a non-zero sum, in no particular order. Shared by the collapsed and speedscope writers.
 * Stacks are deduplicated through a trie of location indices, so no string is built per sample.
 */
export function foldStacks(
  p: Profile,
  t: number,
): { nodes: number; parent: Int32Array; loc: Int32Array; value: Float64Array; big: Map<number, bigint> | undefined } {
  const st = p.samples;
  const nt = p.sampleTypes.length;
  const nLocs = p.locations.length;
  const children = new Map<number, number>(); // parentNode * (nLocs + 1) + loc → node
  let cap = 1024;
  let parent = new Int32Array(cap);
  let locOf = new Int32Array(cap);
  let value = new Float64Array(cap);
  parent[0] = -1;
  locOf[0] = -1;
  let nodes = 1;
  let big: Map<number, bigint> | undefined;
  const bigs = st.bigValues;
  for (let s = 0; s < st.count; s++) {
    const idx = s * nt + t;
    const v = st.values[idx]!;
    const bv = bigs?.get(idx);
    if (v === 0 && bv === undefined) continue;
    let node = 0;
    for (let k = st.stackStart[s + 1]! - 1; k >= st.stackStart[s]!; k--) {
      const l = st.stack[k]!;
      const key = node * (nLocs + 1) + l;
      let c = children.get(key);
      if (c === undefined) {
        if (nodes === cap) {
          cap *= 2;
          const np = new Int32Array(cap);
          np.set(parent);
          parent = np;
          const nl = new Int32Array(cap);
          nl.set(locOf);
          locOf = nl;
          const nv = new Float64Array(cap);
          nv.set(value);
          value = nv;
        }
        c = nodes++;
        parent[c] = node;
        locOf[c] = l;
        children.set(key, c);
      }
      node = c;
    }
    if (bv !== undefined || (big && big.has(node))) {
      if (!big) big = new Map();
      const prev = big.get(node) ?? BigInt(value[node]!);
      big.set(node, prev + (bv ?? BigInt(v)));
    }
    value[node] = value[node]! + v;
  }
  return { nodes, parent, loc: locOf, value, big };
}

/** Writes a profile as collapsed stacks (see the module comment). */
export function encodeCollapsed(p: Profile, opts: CollapsedOptions = {}): string {
  const lines = collapsedLines(p, opts);
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

/**
 * The lines of encodeCollapsed (sorted, without newlines), for writers that stream them: a large
 * profile's collapsed text can exceed V8's maximum string length.
 */
export function collapsedLines(p: Profile, opts: CollapsedOptions = {}): string[] {
  const nt = p.sampleTypes.length;
  if (nt === 0) throw new LeakscopeError('E_SAMPLE_INDEX', 'profile has no sample types');
  const t = opts.sampleIndex ?? nt - 1;
  if (t < 0 || t >= nt) throw new LeakscopeError('E_SAMPLE_INDEX', `sample index ${t} out of range [0..${nt - 1}]`);
  const f = foldStacks(p, t);
  const locNames = new Array<string | undefined>(p.locations.length);
  const prefix = new Array<string | undefined>(f.nodes);
  prefix[0] = '';
  const prefixOf = (n: number): string => {
    const cached = prefix[n];
    if (cached !== undefined) return cached;
    // iterative: collect the uncached chain, then fill it root-first
    const chain: number[] = [];
    let x = n;
    while (prefix[x] === undefined) {
      chain.push(x);
      x = f.parent[x]!;
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      const c = chain[i]!;
      const l = f.loc[c]!;
      let name = locNames[l];
      if (name === undefined) name = locNames[l] = locationFrameNames(p, l).join(';');
      const up = prefix[f.parent[c]!]!;
      prefix[c] = up === '' ? name : `${up};${name}`;
    }
    return prefix[n]!;
  };
  // Different locations can carry the same frame names (two call sites of one function), so
  // distinct trie paths may print alike: sum by text.
  const sums = new Map<string, number>();
  let bigSums: Map<string, bigint> | undefined;
  for (let n = 1; n < f.nodes; n++) {
    const b = f.big?.get(n);
    const v = f.value[n]!;
    if (b === undefined && v === 0) continue;
    const key = prefixOf(n);
    if (b !== undefined || bigSums?.has(key)) {
      bigSums ??= new Map();
      const prev = bigSums.get(key) ?? BigInt(sums.get(key) ?? 0);
      bigSums.set(key, prev + (b ?? BigInt(v)));
    }
    sums.set(key, (sums.get(key) ?? 0) + v);
  }
  const lines: string[] = [];
  for (const [key, v] of sums) {
    const b = bigSums?.get(key);
    if (b !== undefined) {
      if (b !== 0n) lines.push(`${key} ${b}`);
    } else if (v !== 0) lines.push(`${key} ${v}`);
  }
  lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return lines;
}

export interface ParseCollapsedOptions {
  /** the sample type the values are (default samples/count) */
  sampleType?: ValueType;
}

/** Does this text look like collapsed stacks? (first non-empty line is `frames <integer>`) */
export function looksLikeCollapsed(text: string): boolean {
  const m = /^[ \t]*\S[^\n]*/m.exec(text.slice(0, 64 * 1024));
  if (!m) return false;
  // Binary data (a protobuf) nearly always holds control bytes early on; text does not.
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f]/.test(text.slice(0, 4096))) return false;
  return /^\S.*\s-?\d+\s*$/.test(m[0]);
}

/** Reads collapsed stacks into a Profile. Throws E_MALFORMED naming the first bad line. */
export function decodeCollapsed(text: string, opts: ParseCollapsedOptions = {}): Profile {
  const p = emptyProfile([opts.sampleType ?? { type: 'samples', unit: 'count' }]);
  const fnIndex = new Map<string, number>();
  const b = new SampleTableBuilder(1, 64);
  let lineNo = 0;
  let pos = 0;
  const stack: number[] = [];
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const line = text.slice(pos, nl).replace(/\r$/, '');
    pos = nl + 1;
    lineNo++;
    if (line.trim() === '') continue;
    const m = /^(.*?)\s+(-?\d+)\s*$/.exec(line);
    if (!m || m[1]!.trim() === '') {
      throw new LeakscopeError('E_MALFORMED', `collapsed stacks, line ${lineNo}: expected "frame;frame;... <integer value>"`);
    }
    stack.length = 0;
    for (const name of m[1]!.trimStart().split(';')) {
      let i = fnIndex.get(name);
      if (i === undefined) {
        i = p.functions.length;
        fnIndex.set(name, i);
        p.functions.push({ id: i + 1, name, systemName: name, filename: '', startLine: 0 });
        p.locations.push({ id: i + 1, mapping: -1, address: 0n, lines: [{ fn: i, line: 0, column: 0 }], isFolded: false });
      }
      stack.push(i);
    }
    for (let k = stack.length - 1; k >= 0; k--) b.pushLocation(stack[k]!);
    const v = Number(m[2]);
    if (Number.isSafeInteger(v)) b.setValue(0, v);
    else {
      const big = BigInt(m[2]!);
      if (big >= 1n << 63n || big < -(1n << 63n)) {
        throw new LeakscopeError('E_MALFORMED', `collapsed stacks, line ${lineNo}: value ${m[2]} does not fit in int64`);
      }
      b.setBigValue(0, big);
    }
    b.endSample();
  }
  p.samples = b.build();
  return p;
}
