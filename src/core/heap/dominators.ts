/**
 * Which edges retain, the dominator tree (Lengauer–Tarjan semidominators, then semi-NCA) and
 * retained sizes.
 *
 * Invariants:
 * - `retainingEdges` is the ONE predicate used for dominators, retained sizes, leak folding and
 *   retainer paths, so that "A retains B" means the same everywhere;
 * - `idom[root] === root`; every other node's idom is an ordinal whose DFS number is smaller, so
 *   walking `order` backwards visits every node after everything it dominates;
 * - retained(n) = selfSize(n) + Σ retained(children of n in the dominator tree).
 */
import type { HeapGraph } from './graph.js';

const PAIR_IN_WEAKMAP = /pair in WeakMap \(table @(\d+)\)$/;

/**
 * Bit e is set when edge e keeps its target alive, with the rules Chrome DevTools (and memlab,
 * which copied them) use:
 * - weak edges do not retain: the GC clears them;
 * - shortcut edges only count from the root: V8 adds them as summaries (root → global object,
 *   bound function → bound arguments) next to the real edges, so counting them elsewhere would make
 *   a summary look like a second owner;
 * - self edges say nothing about dominance;
 * - an edge from an object the GC roots do not reach through strong edges ("not page-owned", e.g.
 *   reachable only weakly or through the debugger) to one they do reach is ignored, otherwise such
 *   bystanders would become dominators of live objects;
 * - the WeakMap table → value edge: V8 writes an ephemeron as table → value and key → value; the
 *   value lives exactly as long as the key, so it is credited to the key, not the table.
 */
export function retainingEdges(g: HeapGraph): Uint8Array {
  const n = g.nodeCount;
  const m = g.edgeCount;
  const raw = g.raw;
  const fe = raw.firstEdge;
  const to = raw.edgeTo;
  const et = raw.edgeType;
  const weak = g.t.eWeak;
  const shortcut = g.t.eShortcut;
  const internal = g.t.eInternal;

  // Page-owned: reachable from the root through its non-shortcut edges, then strong edges.
  const page = new Uint8Array(n);
  const stack = new Uint32Array(n);
  let sp = 0;
  page[0] = 1;
  for (let e = fe[0]!; e < fe[1]!; e++) {
    if (et[e] === shortcut || et[e] === weak) continue;
    const w = to[e]!;
    if (!page[w]) {
      page[w] = 1;
      stack[sp++] = w;
    }
  }
  while (sp > 0) {
    const v = stack[--sp]!;
    for (let e = fe[v]!; e < fe[v + 1]!; e++) {
      if (et[e] === weak) continue;
      const w = to[e]!;
      if (!page[w]) {
        page[w] = 1;
        stack[sp++] = w;
      }
    }
  }

  // WeakMap pair names, decided once per string: 0 unknown, 1 not a pair name, 2 pair name
  // (its table id in pairTable)
  const pairTable = new Map<number, number>();
  const strings = g.strings;
  const names = raw.edgeNameOrIndex;
  const pairState = new Uint8Array(strings.length);

  const bits = new Uint8Array((m + 7) >>> 3);
  for (let v = 0; v < n; v++) {
    const pv = page[v]!;
    for (let e = fe[v]!; e < fe[v + 1]!; e++) {
      const ty = et[e]!;
      if (ty === weak) continue;
      if (ty === shortcut && v !== 0) continue;
      const w = to[e]!;
      if (w === v) continue;
      if (v !== 0 && !pv && page[w]) continue;
      if (ty === internal) {
        const s = names[e]!;
        let st = pairState[s]!;
        if (st === 0) {
          const str = strings[s]!;
          const mm = str.length > 30 && str.charCodeAt(str.length - 1) === 41 ? PAIR_IN_WEAKMAP.exec(str) : null;
          st = mm ? 2 : 1;
          if (mm) pairTable.set(s, Number(mm[1]));
          pairState[s] = st;
        }
        if (st === 2 && pairTable.get(s) === raw.nodeId[v]) continue;
      }
      bits[e >>> 3]! |= 1 << (e & 7);
    }
  }
  return bits;
}

export function isRetaining(bits: Uint8Array, e: number): boolean {
  return (bits[e >>> 3]! & (1 << (e & 7))) !== 0;
}

export interface Dominators {
  /** per ordinal: immediate dominator's ordinal (root: itself) */
  idom: Uint32Array;
  /** ordinals in DFS preorder; order[0] is the root, a node's idom comes before it */
  order: Uint32Array;
  /** per ordinal: self size plus the sizes of everything it dominates */
  retained: Float64Array;
  /** nodes not reachable from the root through retaining edges (attached to the root) */
  unreachable: number;
}

const NONE = 0xffffffff;

/** Minimal graph view for the dominator algorithm (also used by the tests' generated graphs). */
export interface DomGraph {
  nodeCount: number;
  firstEdge: Uint32Array;
  edgeTo: Uint32Array;
  selfSize: ArrayLike<number>;
}

export function graphForDominators(g: HeapGraph): DomGraph {
  return { nodeCount: g.nodeCount, firstEdge: g.raw.firstEdge, edgeTo: g.raw.edgeTo, selfSize: g.raw.nodeSelfSize };
}

/**
 * Lengauer–Tarjan's semidominators ("A fast algorithm for finding dominators in a flowgraph",
 * 1979; simple link/eval with path compression), then semi-NCA for the immediate dominators.
 * Iterative throughout: real heaps have chains millions deep (linked lists), which overflow any
 * recursive DFS or compress.
 *
 * Nodes the root does not reach through retaining edges are attached to the root as DevTools does:
 * first those with no retaining retainer at all (only weak ones), each starting a DFS of its own
 * subgraph, then whatever remains (unreachable cycles).
 */
export function computeDominators(d: DomGraph, bits: Uint8Array): Dominators {
  const n = d.nodeCount;
  const fe = d.firstEdge;
  const to = d.edgeTo;

  // Memory: a fresh page is expensive to touch (BENCHMARKS.md: ≈ 12 µs a 4 KB page on the bench
  // machine, a third of this function's time), so the stacks grow as needed and arrays are reused
  // once their first use is over (noted where).
  const dfn = new Uint32Array(n); // ordinal -> dfs number + 1 (0 = unvisited); later idom by ordinal
  const vertex = new Uint32Array(n); // dfs number -> ordinal
  const parent = new Uint32Array(n); // dfs number -> parent's dfs number
  const virtualRoot = new Uint8Array(n); // dfs number -> started from the root by attachment
  let stackNode: Uint32Array = new Uint32Array(Math.min(n, STACK_START));
  let stackEdge: Uint32Array = new Uint32Array(stackNode.length);
  let count = 0;

  const dfsFrom = (start: number, parentDfn: number): void => {
    dfn[start] = count + 1;
    vertex[count] = start;
    parent[count] = parentDfn;
    count++;
    let sp = 0;
    stackNode[0] = start;
    stackEdge[0] = fe[start]!;
    while (sp >= 0) {
      const v = stackNode[sp]!;
      let e = stackEdge[sp]!;
      const end = fe[v + 1]!;
      while (e < end && ((bits[e >>> 3]! & (1 << (e & 7))) === 0 || dfn[to[e]!] !== 0)) e++;
      if (e < end) {
        stackEdge[sp] = e + 1;
        const w = to[e]!;
        dfn[w] = count + 1;
        vertex[count] = w;
        parent[count] = dfn[v]! - 1;
        count++;
        sp++;
        if (sp === stackNode.length) {
          stackNode = grown(stackNode, n);
          stackEdge = grown(stackEdge, n);
        }
        stackNode[sp] = w;
        stackEdge[sp] = fe[w]!;
      } else sp--;
    }
  };

  dfsFrom(0, 0);
  const reached = count;
  if (count < n) {
    // pass 1: unvisited nodes without any retaining retainer
    const retained = new Uint8Array(n);
    for (let v = 0; v < n; v++) {
      for (let e = fe[v]!; e < fe[v + 1]!; e++) if ((bits[e >>> 3]! & (1 << (e & 7))) !== 0) retained[to[e]!] = 1;
    }
    for (let v = 0; v < n; v++) {
      if (dfn[v] !== 0 || retained[v]) continue;
      virtualRoot[count] = 1;
      dfsFrom(v, 0);
    }
    // pass 2: the rest (cycles only reachable from themselves)
    for (let v = 0; v < n; v++) {
      if (dfn[v] !== 0) continue;
      virtualRoot[count] = 1;
      dfsFrom(v, 0);
    }
  }

  // Semidominators as in Lengauer–Tarjan (link/eval with path compression, in DFS-number space),
  // then immediate dominators by the semi-NCA rule (Georgiadis, Tarjan and Werneck, "Finding
  // dominators in practice", 2004): idom(w) is the nearest ancestor of parent(w) in the dominator
  // tree built so far whose DFS number is at most semi(w). That replaces LT's buckets, and the
  // second eval per node they need.
  stackNode = stackEdge = new Uint32Array(0);

  // The retaining predecessors, as DFS numbers, of the nodes with two or more, as CSR (ordinal
  // space): those of ordinal w are pred[predStart[w] .. predStart[w+1]-1]. A node with a single
  // retaining predecessor needs no list: that predecessor is its DFS parent, so its semidominator
  // is the parent (most heap objects have one owner; 20 MB bench snapshot: 98 → 92 ms cold). A DFS
  // started from the root by attachment has semidominator 0 whatever its predecessors.
  const m = fe[n]!;
  const predStart = new Uint32Array(n + 1);
  // in-degrees, at w+1
  for (let e = 0; e < m; e++) if ((bits[e >>> 3]! & (1 << (e & 7))) !== 0) predStart[to[e]! + 1]!++;
  // ends of the lists (in-degrees of one count as none); filled backwards to their starts below
  const multi = new Uint8Array(n); // two or more retaining predecessors
  let total = 0;
  for (let w = 0; w < n; w++) {
    const k = predStart[w + 1]!;
    if (k > 1) {
      total += k;
      multi[w] = 1;
    }
    predStart[w + 1] = total;
  }
  const pred = new Uint32Array(total);
  for (let v = n - 1; v >= 0; v--) {
    const dv = dfn[v]! - 1;
    for (let e = fe[v + 1]! - 1; e >= fe[v]!; e--) {
      if ((bits[e >>> 3]! & (1 << (e & 7))) === 0) continue;
      const w = to[e]!;
      if (multi[w]) pred[--predStart[w + 1]!] = dv;
    }
  }
  // predStart[w+1] now holds the start of w's list: shift back by one
  for (let w = 0; w < n; w++) predStart[w] = predStart[w + 1]!;
  predStart[n] = total;

  const semi = new Uint32Array(n); // later: idom, by DFS number
  // label and ancestor share one buffer, which becomes the retained sizes once they are done with
  const scratch = new ArrayBuffer(8 * n);
  const label = new Uint32Array(scratch, 0, n);
  const ancestor = new Uint32Array(scratch, 4 * n, n).fill(NONE);
  let cstack: Uint32Array = new Uint32Array(Math.min(n, STACK_START));
  for (let i = 0; i < n; i++) {
    semi[i] = i;
    label[i] = i;
  }

  const evalNode = (v: number): number => {
    if (ancestor[v] === NONE) return v;
    // compress, iteratively: collect the chain up to the node below the forest root
    let top = 0;
    let s = v;
    while (ancestor[ancestor[s]!] !== NONE) {
      if (top === cstack.length) cstack = grown(cstack, n);
      cstack[top++] = s;
      s = ancestor[s]!;
    }
    while (top > 0) {
      const x = cstack[--top]!;
      const a = ancestor[x]!;
      if (semi[label[a]!]! < semi[label[x]!]!) label[x] = label[a]!;
      ancestor[x] = ancestor[a]!;
    }
    return label[v]!;
  };

  for (let w = n - 1; w >= 1; w--) {
    const ow = vertex[w]!;
    let sw: number;
    if (virtualRoot[w]) sw = 0;
    else if (!multi[ow]) sw = parent[w]!;
    else {
      sw = semi[w]!;
      const end = predStart[ow + 1]!;
      for (let k = predStart[ow]!; k < end; k++) {
        const u = evalNode(pred[k]!);
        if (semi[u]! < sw) sw = semi[u]!;
      }
    }
    semi[w] = sw;
    ancestor[w] = parent[w]!;
  }
  // idom in place of semi: w's entry is read before it is written, and the chain below only
  // reads entries of smaller DFS numbers, already idoms
  const idom = semi;
  idom[0] = 0;
  for (let w = 1; w < n; w++) {
    const sw = semi[w]!;
    let x = parent[w]!;
    while (x > sw) x = idom[x]!;
    idom[w] = x;
  }

  // back to ordinals, in dfn's place (done with it)
  const idomOrd = dfn;
  for (let w = 0; w < n; w++) idomOrd[vertex[w]!] = vertex[idom[w]!]!;
  const retained = new Float64Array(scratch); // (label and ancestor: done with)
  const self = d.selfSize;
  for (let v = 0; v < n; v++) retained[v] = self[v]!;
  for (let w = n - 1; w >= 1; w--) retained[vertex[idom[w]!]!]! += retained[vertex[w]!]!;
  return { idom: idomOrd, order: vertex, retained, unreachable: n - reached };
}

/** the stacks' first size; they double when full (deep chains: up to the node count) */
const STACK_START = 1 << 14;

function grown(a: Uint32Array, max: number): Uint32Array {
  const b = new Uint32Array(Math.min(max, a.length * 2));
  b.set(a);
  return b;
}

/** The dominator tree as CSR: children of v are domChildren[firstChild[v] .. firstChild[v+1]-1]. */
export function dominatorChildren(idom: Uint32Array): { firstChild: Uint32Array; children: Uint32Array } {
  const n = idom.length;
  const firstChild = new Uint32Array(n + 1);
  for (let v = 1; v < n; v++) firstChild[idom[v]! + 1]!++;
  for (let v = 0; v < n; v++) firstChild[v + 1]! += firstChild[v]!;
  const fill = firstChild.slice(0, n);
  const children = new Uint32Array(Math.max(0, n - 1));
  for (let v = 1; v < n; v++) children[fill[idom[v]!]!++] = v;
  return { firstChild, children };
}
