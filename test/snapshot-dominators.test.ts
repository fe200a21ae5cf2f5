/**
 * Dominators and retained sizes: iterative Lengauer–Tarjan against a naive O(n²) reference on
 * random graphs (fast-check), the edge rules (weak, shortcut, WeakMap ephemerons, nodes reached
 * only weakly), and a million-deep chain that would overflow any recursive implementation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseHeapSnapshot } from '../src/formats/heapsnapshot.js';
import { analyzeSnapshot } from '../src/core/heap/analysis.js';
import { computeDominators, type DomGraph } from '../src/core/heap/dominators.js';
import { classRetainedSizes } from '../src/core/heap/summary.js';
import { buildSnapshot, type BuildNode } from './helpers/snapshot-build.js';

interface RandEdge {
  from: number;
  to: number;
  kind: 'property' | 'weak' | 'shortcut';
}

/** naive reference: d dominates v iff v is unreachable from the root once d is removed */
function naive(n: number, edges: RandEdge[], self: number[]): { idom: number[]; retained: number[] } {
  const adj: number[][] = Array.from({ length: n }, () => []);
  for (const e of edges) {
    const retains = e.kind === 'property' || (e.kind === 'shortcut' && e.from === 0);
    if (retains && e.from !== e.to) adj[e.from]!.push(e.to);
  }
  const reach = (removed: number): boolean[] => {
    const seen = new Array<boolean>(n).fill(false);
    if (removed === 0) return seen;
    const st = [0];
    seen[0] = true;
    while (st.length) {
      const v = st.pop()!;
      for (const w of adj[v]!) if (w !== removed && !seen[w]) {
        seen[w] = true;
        st.push(w);
      }
    }
    return seen;
  };
  const doms: Set<number>[] = Array.from({ length: n }, (_, v) => new Set([v]));
  for (let d = 0; d < n; d++) {
    const r = reach(d);
    for (let v = 0; v < n; v++) if (v !== d && !r[v]) doms[v]!.add(d);
  }
  const idom = new Array<number>(n).fill(0);
  for (let v = 1; v < n; v++) {
    let best = 0;
    for (const d of doms[v]!) if (d !== v && doms[d]!.size > doms[best]!.size) best = d;
    idom[v] = best;
  }
  const retained = self.slice();
  for (let v = 0; v < n; v++) {
    let sum = 0;
    for (let w = 0; w < n; w++) if (doms[w]!.has(v)) sum += self[w]!;
    retained[v] = sum;
  }
  return { idom, retained };
}

function snapshotOf(n: number, edges: RandEdge[], self: number[]): string {
  const nodes: BuildNode[] = [];
  for (let v = 0; v < n; v++) {
    nodes.push({
      type: v === 0 ? 'synthetic' : 'object',
      name: v === 0 ? '' : `C${v % 3}`,
      id: 2 * v + 1,
      self: self[v]!,
      edges: edges.filter((e) => e.from === v).map((e, k) => ({ type: e.kind, name: `p${k}`, to: e.to })),
    });
  }
  return buildSnapshot(nodes);
}

const graphArb = fc
  .integer({ min: 2, max: 12 })
  .chain((n) =>
    fc.record({
      n: fc.constant(n),
      // a strong tree edge into every node keeps all nodes reachable
      tree: fc.tuple(...Array.from({ length: n - 1 }, (_, i) => fc.integer({ min: 0, max: i }))),
      extra: fc.array(fc.record({ from: fc.integer({ min: 0, max: n - 1 }), to: fc.integer({ min: 0, max: n - 1 }), kind: fc.constantFrom('property', 'property', 'weak', 'shortcut') as fc.Arbitrary<RandEdge['kind']> }), { maxLength: 3 * n }),
      self: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: n, maxLength: n }),
    }),
  );

test('dominators match the naive definition on random graphs', () => {
  fc.assert(
    fc.property(graphArb, ({ n, tree, extra, self }) => {
      const edges: RandEdge[] = tree.map((from, i) => ({ from, to: i + 1, kind: 'property' as const }));
      edges.push(...extra);
      self[0] = 0;
      const a = analyzeSnapshot(parseHeapSnapshot(snapshotOf(n, edges, self)));
      const ref = naive(n, edges, self);
      assert.deepEqual([...a.dom.idom], ref.idom);
      assert.deepEqual([...a.dom.retained], ref.retained);
      // the DFS order lists every idom before the nodes it dominates
      const pos = new Map([...a.dom.order].map((v, i) => [v, i]));
      for (let v = 1; v < n; v++) assert.ok(pos.get(a.dom.idom[v]!)! < pos.get(v)!);
    }),
    { numRuns: 300 },
  );
});

/**
 * The reference for graphs with parts the root does not reach through retaining edges: the
 * implementation's rules spelled out the slow way. Retaining edges: property edges, shortcut edges
 * from the root, never weak ones, never self edges, and never an edge from a node the root does not
 * reach through strong edges ("not page-owned") into one it does. Nodes left over are attached to
 * the root as DevTools does: first, in ordinal order, each unvisited node without any retaining
 * retainer together with what it reaches; then, in ordinal order, whatever remains. Dominators are
 * then those of the graph with root → attached-start edges, by the removal definition.
 */
function naiveAttached(n: number, edges: RandEdge[], self: number[]): { idom: number[]; retained: number[] } {
  const page = new Array<boolean>(n).fill(false);
  page[0] = true;
  const st: number[] = [];
  for (const e of edges) if (e.from === 0 && e.kind === 'property' && !page[e.to]) {
    page[e.to] = true;
    st.push(e.to);
  }
  while (st.length) {
    const v = st.pop()!;
    for (const e of edges) if (e.from === v && e.kind !== 'weak' && !page[e.to]) {
      page[e.to] = true;
      st.push(e.to);
    }
  }
  const retaining = edges.filter((e) => {
    if (e.kind === 'weak' || (e.kind === 'shortcut' && e.from !== 0) || e.from === e.to) return false;
    return !(e.from !== 0 && !page[e.from] && page[e.to]);
  });
  const visited = new Array<boolean>(n).fill(false);
  const mark = (s: number): void => {
    const stack = [s];
    visited[s] = true;
    while (stack.length) {
      const v = stack.pop()!;
      for (const e of retaining) if (e.from === v && !visited[e.to]) {
        visited[e.to] = true;
        stack.push(e.to);
      }
    }
  };
  mark(0);
  const starts: number[] = [];
  for (let v = 0; v < n; v++) if (!visited[v] && !retaining.some((e) => e.to === v)) {
    starts.push(v);
    mark(v);
  }
  for (let v = 0; v < n; v++) if (!visited[v]) {
    starts.push(v);
    mark(v);
  }
  const augmented: RandEdge[] = [...retaining.map((e) => ({ ...e, kind: 'property' as const })), ...starts.map((to) => ({ from: 0, to, kind: 'property' as const }))];
  return naive(n, augmented, self);
}

test('dominators match the reference when parts of the graph hang off the root (weak-only, unreachable cycles)', () => {
  const arb = fc.integer({ min: 2, max: 10 }).chain((n) =>
    fc.record({
      n: fc.constant(n),
      edges: fc.array(fc.record({ from: fc.integer({ min: 0, max: n - 1 }), to: fc.integer({ min: 1, max: n - 1 }), kind: fc.constantFrom('property', 'property', 'property', 'weak', 'shortcut') as fc.Arbitrary<RandEdge['kind']> }), { maxLength: 3 * n }),
      self: fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: n, maxLength: n }),
    }),
  );
  let attached = 0;
  fc.assert(
    fc.property(arb, ({ n, edges, self }) => {
      self[0] = 0;
      const a = analyzeSnapshot(parseHeapSnapshot(snapshotOf(n, edges, self)));
      const ref = naiveAttached(n, edges, self);
      assert.deepEqual([...a.dom.idom], ref.idom);
      assert.deepEqual([...a.dom.retained], ref.retained);
      attached += a.dom.unreachable;
    }),
    { numRuns: 500 },
  );
  assert.ok(attached > 100, `the generated graphs attach nodes to the root (${attached})`);
});

test('weak edges do not retain; objects reached only weakly hang off the root', () => {
  // root → A → B; A ⇢(weak) C; C → D; root ⇢(shortcut) A
  const text = buildSnapshot([
    { type: 'synthetic', name: '', id: 1, self: 0, edges: [{ type: 'element', name: 1, to: 1 }, { type: 'shortcut', name: 'g', to: 1 }] },
    { type: 'object', name: 'A', id: 3, self: 10, edges: [{ type: 'property', name: 'b', to: 2 }, { type: 'weak', name: 'c', to: 3 }] },
    { type: 'object', name: 'B', id: 5, self: 20 },
    { type: 'object', name: 'C', id: 7, self: 40, edges: [{ type: 'property', name: 'd', to: 4 }] },
    { type: 'object', name: 'D', id: 9, self: 80, edges: [{ type: 'property', name: 'b', to: 2 }] },
  ]);
  const a = analyzeSnapshot(parseHeapSnapshot(text));
  // C and D are reached only through a weak edge: attached to the root. D → B is ignored (D is
  // not page-owned, B is: DevTools' rule), so A alone dominates B.
  assert.deepEqual([...a.dom.idom], [0, 0, 1, 0, 3]);
  assert.equal(a.dom.unreachable, 2);
  assert.deepEqual([...a.dom.retained], [150, 30, 20, 120, 80]);
});

test('a WeakMap value is retained by its key, not by the table', () => {
  const pair = (n: number): string => `${n} / part of key (K @5) -> value (V @7) pair in WeakMap (table @9)`;
  const text = buildSnapshot([
    { type: 'synthetic', name: '', id: 1, self: 0, edges: [{ type: 'element', name: 1, to: 1 }, { type: 'element', name: 2, to: 3 }] },
    { type: 'object', name: 'Holder', id: 3, self: 8, edges: [{ type: 'property', name: 'key', to: 2 }] },
    { type: 'object', name: 'K', id: 5, self: 16, edges: [{ type: 'internal', name: pair(1), to: 4 }] },
    { type: 'array', name: '', id: 9, self: 32, edges: [{ type: 'weak', name: 'key', to: 2 }, { type: 'internal', name: pair(3), to: 4 }] },
    { type: 'object', name: 'V', id: 7, self: 64 },
  ]);
  const a = analyzeSnapshot(parseHeapSnapshot(text));
  assert.equal(a.dom.idom[4], 2, 'V is dominated by its key');
  assert.equal(a.dom.retained[2], 80);
  assert.equal(a.dom.retained[3], 32);
});

test('class retained sizes do not double count same-class chains', () => {
  // root → L1 → L2 → L3 (a linked list of class L) and L2 → X
  const text = buildSnapshot([
    { type: 'synthetic', name: '', id: 1, self: 0, edges: [{ type: 'element', name: 1, to: 1 }] },
    { type: 'object', name: 'L', id: 3, self: 10, edges: [{ type: 'property', name: 'next', to: 2 }] },
    { type: 'object', name: 'L', id: 5, self: 10, edges: [{ type: 'property', name: 'next', to: 3 }, { type: 'property', name: 'x', to: 4 }] },
    { type: 'object', name: 'L', id: 7, self: 10 },
    { type: 'object', name: 'X', id: 9, self: 5 },
  ]);
  const a = analyzeSnapshot(parseHeapSnapshot(text));
  const byClass = classRetainedSizes(a);
  const g = a.graph;
  assert.equal(byClass[g.classOf[1]!], 35);
  assert.equal(byClass[g.classOf[4]!], 5);
});

test('a chain a million nodes deep is handled iteratively', () => {
  const n = 1_000_000;
  const firstEdge = new Uint32Array(n + 1);
  const edgeTo = new Uint32Array(n - 1);
  for (let v = 0; v < n; v++) firstEdge[v + 1] = Math.min(v + 1, n - 1);
  for (let e = 0; e < n - 1; e++) edgeTo[e] = e + 1;
  const d: DomGraph = { nodeCount: n, firstEdge, edgeTo, selfSize: new Float64Array(n).fill(1) };
  const bits = new Uint8Array(Math.ceil((n - 1) / 8)).fill(255);
  const r = computeDominators(d, bits);
  assert.equal(r.idom[n - 1], n - 2);
  assert.equal(r.retained[0], n);
  assert.equal(r.retained[n / 2], n / 2);
});

test('a million-deep chain with shortcuts: the answer rests on a path compression a million long', () => {
  // 0 → 1 → 2 → … → n-1, plus 0 → k (mid-chain) and n-1 → 2. Paths 0 → k → … → n-1 → 2 avoid 1,
  // so idom(2) is 0: found only by evaluating n-1 over the whole linked chain up to k.
  const n = 1_000_000;
  const k = n / 2;
  const out: number[][] = Array.from({ length: n }, (_, v) => (v === 0 ? [1, k] : v === n - 1 ? [2] : [v + 1]));
  const firstEdge = new Uint32Array(n + 1);
  for (let v = 0; v < n; v++) firstEdge[v + 1] = firstEdge[v]! + out[v]!.length;
  const edgeTo = Uint32Array.from(out.flat());
  const d: DomGraph = { nodeCount: n, firstEdge, edgeTo, selfSize: new Float64Array(n).fill(1) };
  const bits = new Uint8Array(Math.ceil(edgeTo.length / 8)).fill(255);
  const r = computeDominators(d, bits);
  assert.equal(r.idom[2], 0);
  assert.equal(r.idom[k], 0);
  assert.equal(r.idom[3], 2);
  assert.equal(r.idom[n - 1], n - 2);
  assert.equal(r.retained[1], 1);
  assert.equal(r.retained[0], n);
});
