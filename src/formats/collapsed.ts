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
 * Stacks summed over a trie of frame ids (root first): node 0 is the root; `parent[n]` and
 * `frame[n]` describe node n; `values[n * nt + t]` is the sum of type t over the samples whose
 * stack ends exactly at n. Values beyond 2^53 are summed exactly in `big` (key n * nt + t).
 */
export interface FoldedStacks {
  nodes: number;
  nt: number;
  parent: Int32Array;
  frame: Int32Array;
  values: Float64Array;
  big: Map<number, bigint> | undefined;
}

/**
 * Sums the samples of a profile by the frames they print as. `locFrames[l]` lists the frame ids
 * of location l, outermost first; two stacks of different locations that map to the same frames
 * (two call sites of one function) end at the same node. No string is built per sample: the trie's
 * child lookup is an open-addressing hash table over (parent, frame) pairs in typed arrays.
 */
export function foldStacks(p: Profile, locFrames: ArrayLike<number>[]): FoldedStacks {
  const st = p.samples;
  const nt = p.sampleTypes.length;
  const ss = st.stackStart;
  const stk = st.stack;

  // 1. Samples with identical location stacks (common: a Go heap profile repeats a stack once per
  //    allocation size) are grouped first, so the trie below sees each distinct stack once.
  let umask = 1023;
  while (umask < st.count * 2) umask = umask * 2 + 1;
  const utable = new Int32Array(umask + 1).fill(-1); // slot → representative sample
  const uniqOf = new Int32Array(st.count).fill(-1); // sample → its representative (or -1: all zero)
  for (let s = 0; s < st.count; s++) {
    let any = false;
    for (let t = 0; t < nt; t++) {
      if (st.values[s * nt + t] !== 0) {
        any = true;
        break;
      }
    }
    if (!any) continue;
    const a = ss[s]!;
    const z = ss[s + 1]!;
    let h = z - a;
    for (let k = a; k < z; k++) h = Math.imul(h ^ stk[k]!, 0x9e3779b1) ^ (h >>> 13);
    h = (h ^ (h >>> 16)) & umask;
    for (;;) {
      const r = utable[h]!;
      if (r === -1) {
        utable[h] = s;
        uniqOf[s] = s;
        break;
      }
      const ra = ss[r]!;
      if (ss[r + 1]! - ra === z - a) {
        let k = 0;
        while (k < z - a && stk[ra + k] === stk[a + k]) k++;
        if (k === z - a) {
          uniqOf[s] = r;
          break;
        }
      }
      h = (h + 1) & umask;
    }
  }

  // 2. A trie of frames over the distinct stacks; child lookup through an open-addressing table
  //    over (parent, frame) pairs (slot → node; 0 = empty, as the root is never a child).
  let cap = 1024;
  let parent = new Int32Array(cap);
  let frame = new Int32Array(cap);
  parent[0] = -1;
  frame[0] = -1;
  let nodes = 1;
  let mask = 4095;
  let table = new Int32Array(mask + 1);
  const nodeOf = new Int32Array(st.count); // representative sample → trie node
  for (let s = 0; s < st.count; s++) {
    if (uniqOf[s] !== s) continue;
    let node = 0;
    for (let k = ss[s + 1]! - 1; k >= ss[s]!; k--) {
      const fr = locFrames[stk[k]!]!;
      for (let i = 0; i < fr.length; i++) {
        const f = fr[i]!;
        let h = Math.imul(node, 0x9e3779b1) ^ Math.imul(f, 0x85ebca6b);
        h = (h ^ (h >>> 15)) & mask;
        let c = 0;
        for (;;) {
          c = table[h]!;
          if (c === 0 || (parent[c] === node && frame[c] === f)) break;
          h = (h + 1) & mask;
        }
        if (c === 0) {
          if (nodes === cap) {
            cap *= 2;
            const np = new Int32Array(cap);
            np.set(parent);
            parent = np;
            const nf = new Int32Array(cap);
            nf.set(frame);
            frame = nf;
          }
          c = nodes++;
          parent[c] = node;
          frame[c] = f;
          table[h] = c;
          if (nodes * 2 > mask) {
            mask = mask * 2 + 1;
            table = new Int32Array(mask + 1);
            for (let n = 1; n < nodes; n++) {
              let g = Math.imul(parent[n]!, 0x9e3779b1) ^ Math.imul(frame[n]!, 0x85ebca6b);
              g = (g ^ (g >>> 15)) & mask;
              while (table[g] !== 0) g = (g + 1) & mask;
              table[g] = n;
            }
          }
        }
        node = c;
      }
    }
    nodeOf[s] = node;
  }

  // 3. Values per node, exact beyond 2^53 through `big`.
  const values = new Float64Array(nodes * nt);
  let big: Map<number, bigint> | undefined;
  const bigs = st.bigValues;
  for (let s = 0; s < st.count; s++) {
    const r = uniqOf[s]!;
    if (r < 0) continue;
    const node = nodeOf[r]!;
    for (let t = 0; t < nt; t++) {
      const v = st.values[s * nt + t]!;
      const key = node * nt + t;
      const bv = bigs?.get(s * nt + t);
      if (bv !== undefined || (big !== undefined && big.has(key))) {
        big ??= new Map();
        big.set(key, (big.get(key) ?? BigInt(values[key]!)) + (bv ?? BigInt(v)));
      }
      values[key] = values[key]! + v;
    }
  }
  return { nodes, nt, parent, frame, values, big };
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
  // Frames are the printed names, so stacks that print alike share a trie node.
  const names: string[] = [];
  const nameId = new Map<string, number>();
  const locFrames = p.locations.map((_, l) =>
    locationFrameNames(p, l).map((n) => {
      let i = nameId.get(n);
      if (i === undefined) {
        i = names.length;
        names.push(n);
        nameId.set(n, i);
      }
      return i;
    }),
  );
  const f = foldStacks(p, locFrames);
  const lines: string[] = [];
  const path: string[] = [];
  for (let n = 1; n < f.nodes; n++) {
    const key = n * nt + t;
    const b = f.big?.get(key);
    const v = f.values[key]!;
    if (b === undefined ? v === 0 : b === 0n) continue;
    path.length = 0;
    for (let x = n; x > 0; x = f.parent[x]!) path.push(names[f.frame[x]!]!);
    path.reverse();
    lines.push(`${path.join(';')} ${b ?? v}`);
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
