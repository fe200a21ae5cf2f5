/**
 * Retainer paths: a breadth-first tree of shortest paths from the root over retaining edges, the
 * human rendering of a path (`(module scope) → sessions → Map → Session`), and stable path keys
 * used to group leaked objects.
 *
 * The BFS uses the same retaining-edge predicate as the dominators, plus the two filters DevTools
 * applies to distances: a NativeContext's hidden edges and `sloppy_function_map` lead through V8's
 * own bookkeeping, never through the program's data.
 *
 * Invariants: `parentEdge[v]` is the edge index + 1 of v's tree edge (0 for the root and for nodes
 * the root does not reach); `parentEdge[v]` points from a node with strictly smaller distance
 * (paths from the global objects are preferred, paths through volatile roots found last).
 */
import type { HeapGraph } from './graph.js';

export interface RetainerTree {
  /** edge index + 1 of the tree edge into v; 0 = none */
  parentEdge: Uint32Array;
  /** the node the tree edge comes from */
  parentNode: Uint32Array;
  /** BFS distance from the root; 0xffffffff when unreachable */
  distance: Uint32Array;
}

const FAR = 0xffffffff;

/**
 * @param avoid per node: 1 for nodes a path should pass through only when nothing else reaches
 *   them (the leak finder's leaked objects: a path through another leak names the wrong owner).
 *   Within each root tier, edges into avoided nodes wait until the tier's other nodes are reached.
 */
export function retainerTree(g: HeapGraph, bits: Uint8Array, avoid?: Uint8Array): RetainerTree {
  const n = g.nodeCount;
  const raw = g.raw;
  const fe = raw.firstEdge;
  const to = raw.edgeTo;
  const et = raw.edgeType;
  const en = raw.edgeNameOrIndex;
  const parentEdge = new Uint32Array(n);
  const parentNode = new Uint32Array(n);
  const distance = new Uint32Array(n).fill(FAR);
  const queue = new Uint32Array(n);
  const hiddenT = g.t.hidden;
  const eHidden = g.t.eHidden;
  const nativeContext = g.strings.indexOf('system / NativeContext');
  const sloppy = g.strings.indexOf('sloppy_function_map');
  const names = raw.nodeName;
  const types = raw.nodeType;
  // Paths are searched in three tiers, like DevTools' "user roots first":
  //  0. from the global objects (the root's non-synthetic children);
  //  1. from the other GC root categories (global handles, embedder roots, …);
  //  2. from volatile roots — handles, stack slots and strong-root entries alive only while the
  //     snapshot is being written. A path through them explains nothing, and which objects they
  //     happen to hold differs between runs and Node versions.
  const volatile = new Set(['(Handle scope)', '(Stack roots)', '(Strong roots)'].map((x) => g.strings.indexOf(x)).filter((x) => x >= 0));
  const synthetic = g.t.synthetic;
  // passes: global objects, other GC roots, then both again into avoided nodes (a path from a
  // GC root that avoids a leak names the right owner; one through the leak does not), then the
  // volatile roots, clean and avoided
  const deferred: number[][] = [[], [], [], [], [], []]; // per pass: edge, source pairs
  let head = 0;
  let tail = 0;
  distance[0] = 0;
  queue[tail++] = 0;
  for (let pass = 0; pass < 6; pass++) {
    const list = deferred[pass]!;
    for (let k = 0; k < list.length; k += 2) {
      const e = list[k]!;
      const v = list[k + 1]!;
      const w = to[e]!;
      if (distance[w] !== FAR) continue;
      distance[w] = distance[v]! + 1;
      parentEdge[w] = e + 1;
      parentNode[w] = v;
      queue[tail++] = w;
    }
    while (head < tail) {
      const v = queue[head++]!;
      const dv = distance[v]! + 1;
      const isNC = names[v] === nativeContext && nativeContext >= 0;
      for (let e = fe[v]!; e < fe[v + 1]!; e++) {
        if ((bits[e >>> 3]! & (1 << (e & 7))) === 0) continue;
        const w = to[e]!;
        if (distance[w] !== FAR) continue;
        if (isNC && (et[e] === eHidden || types[w] === hiddenT)) continue;
        if (sloppy >= 0 && en[e] === sloppy && et[e] !== g.t.eElement && et[e] !== eHidden) continue;
        let tier = types[w] !== synthetic ? 0 : volatile.has(names[w]!) ? 4 : v === 0 ? 1 : 0;
        if (avoid !== undefined && avoid[w] === 1) tier += tier === 4 ? 1 : 2;
        if (tier > pass) {
          deferred[tier]!.push(e, v);
          continue;
        }
        distance[w] = dv;
        parentEdge[w] = e + 1;
        parentNode[w] = v;
        queue[tail++] = w;
      }
    }
  }
  return { parentEdge, parentNode, distance };
}

/** One step of a path: the edge into `node` (-1 for the first element, the root). */
export interface PathStep {
  edge: number;
  node: number;
}

/** The tree path root → v, or [] when v is unreachable. */
export function pathTo(tree: RetainerTree, v: number): PathStep[] {
  if (v !== 0 && tree.parentEdge[v] === 0) return [];
  const steps: PathStep[] = [];
  let cur = v;
  let guard = tree.parentEdge.length + 1;
  while (cur !== 0 && guard-- > 0) {
    steps.push({ edge: tree.parentEdge[cur]! - 1, node: cur });
    cur = tree.parentNode[cur]!;
  }
  steps.push({ edge: -1, node: 0 });
  return steps.reverse();
}

/**
 * Labels for rendering and grouping. A step shows the edge's name when it is a name the program
 * chose (property, variable, element → `[]`), and the node's class when it is a program object.
 * V8's internal plumbing (internal/hidden edges, system objects, GC root categories) is omitted.
 */
export class PathLabeler {
  private readonly g: HeapGraph;
  private readonly previousName: number;
  private readonly nativeContextName: number;
  private readonly closureLabels = new Map<number, string>();
  private scopeKind: Uint8Array | null = null; // per node: 0 unknown, 1 module scope, 2 closure scope

  constructor(g: HeapGraph) {
    this.g = g;
    this.previousName = g.strings.indexOf('previous');
    this.nativeContextName = g.strings.indexOf('system / NativeContext');
  }

  /** a program-visible label for node v, or '' for V8 internals */
  nodeLabel(v: number): string {
    const g = this.g;
    const ty = g.type(v);
    const t = g.t;
    if (ty === t.closure) {
      const s = g.raw.nodeName[v]!;
      let l = this.closureLabels.get(s);
      if (l === undefined) {
        const nm = g.strings[s]!;
        l = nm ? `${nm}()` : '(anonymous function)';
        this.closureLabels.set(s, l);
      }
      return l;
    }
    if (ty === t.object || ty === t.native) {
      const nm = g.name(v);
      if (nm.startsWith('system /') || nm === '') return '';
      return g.className(v);
    }
    if (ty === t.regexp) return 'RegExp';
    if (ty === t.string || ty === t.consString || ty === t.slicedString) return '(string)';
    return '';
  }

  // Label ids: equal ids ⟺ equal label strings, without building a string per node or edge.
  private readonly labelIds = new Map<string, number>([['', 0]]);
  private objectLabel: Int32Array | null = null; // per name string: id of an object's label
  private closureLabel: Int32Array | null = null; // per name string: id of a closure's label
  private typeLabel: Int32Array | null = null; // per node type: id of a regexp's or string's label
  private nameLabel: Int32Array | null = null; // per string: id of the string as an edge label
  private readonly elementLabel = new Map<number, number>(); // per index: id of `[n]`

  /** the id of a label string ('' is 0) */
  labelId(label: string): number {
    let id = this.labelIds.get(label);
    if (id === undefined) {
      id = this.labelIds.size;
      this.labelIds.set(label, id);
    }
    return id;
  }

  /** labelId(nodeLabel(v)), from per-name caches */
  nodeLabelId(v: number): number {
    const g = this.g;
    const ty = g.type(v);
    const t = g.t;
    if (ty === t.closure || ty === t.object || ty === t.native) {
      // the label depends only on the kind and the name string
      const cache =
        ty === t.closure ? (this.closureLabel ??= new Int32Array(g.strings.length).fill(-1)) : (this.objectLabel ??= new Int32Array(g.strings.length).fill(-1));
      const s = g.raw.nodeName[v]!;
      let id = cache[s]!;
      if (id < 0) cache[s] = id = this.labelId(this.nodeLabel(v));
      return id;
    }
    if (ty === t.regexp || ty === t.string || ty === t.consString || ty === t.slicedString) {
      // the label depends only on the type
      const cache = (this.typeLabel ??= new Int32Array(g.raw.meta.nodeTypes.length).fill(-1));
      let id = cache[ty]!;
      if (id < 0) cache[ty] = id = this.labelId(this.nodeLabel(v));
      return id;
    }
    return 0;
  }

  /** labelId(edgeLabel(e, from)), from per-string caches */
  edgeLabelId(e: number, from: number): number {
    const g = this.g;
    const ty = g.raw.edgeType[e]!;
    const t = g.t;
    if (ty === t.eProperty || ty === t.eShortcut || ty === t.eContext) {
      const s = g.raw.edgeNameOrIndex[e]!;
      const cache = (this.nameLabel ??= new Int32Array(g.strings.length).fill(-1));
      let id = cache[s]!;
      if (id < 0) cache[s] = id = this.labelId(g.strings[s]!);
      return id;
    }
    if (ty === t.eElement) {
      if (!this.keyedElements(from)) return this.labelId('[]');
      const k = g.raw.edgeNameOrIndex[e]!;
      let id = this.elementLabel.get(k);
      if (id === undefined) this.elementLabel.set(k, (id = this.labelId(`[${k}]`)));
      return id;
    }
    return 0;
  }

  /** '(module scope)' for a top-level context, '(closure scope)' for a function's */
  scopeLabel(ctx: number): string {
    const g = this.g;
    const kind = (this.scopeKind ??= new Uint8Array(g.nodeCount));
    if (kind[ctx] === 1) return '(module scope)';
    if (kind[ctx] === 2) return '(closure scope)';
    const fe = g.raw.firstEdge;
    let prev = -1;
    for (let e = fe[ctx]!; e < fe[ctx + 1]!; e++) {
      if (g.raw.edgeNameOrIndex[e] === this.previousName && g.isNamedEdge(e)) {
        prev = g.raw.edgeTo[e]!;
        break;
      }
    }
    const top = prev < 0 || g.raw.nodeName[prev] === this.nativeContextName;
    kind[ctx] = top ? 1 : 2;
    return top ? '(module scope)' : '(closure scope)';
  }

  /** the edge's label: a property or variable name, `[]` for array elements, `[n]` for integer
   * keys of other objects, '' for V8 internals; `from` is the edge's source node */
  edgeLabel(e: number, from = -1): string {
    const g = this.g;
    const ty = g.raw.edgeType[e]!;
    const t = g.t;
    if (ty === t.eProperty || ty === t.eShortcut) return g.strings[g.raw.edgeNameOrIndex[e]!]!;
    if (ty === t.eContext) return g.strings[g.raw.edgeNameOrIndex[e]!]!;
    if (ty === t.eElement) return this.keyedElements(from) ? `[${g.raw.edgeNameOrIndex[e]}]` : '[]';
    return '';
  }

  /**
   * An array's elements are interchangeable: `[]`. A plain object keyed by integers is a
   * dictionary whose keys mean something (Node's timer lists are keyed by duration): `[n]`.
   */
  private keyedElements(from: number): boolean {
    const g = this.g;
    if (from < 0 || g.type(from) !== g.t.object) return false;
    const name = g.name(from);
    return name !== 'Array' && !name.endsWith('Array');
  }

  /** Human-readable path from the root to the last step's node. */
  render(steps: PathStep[]): string[] {
    const g = this.g;
    const out: string[] = [];
    const push = (s: string): void => {
      if (s && out[out.length - 1] !== s) out.push(s);
    };
    for (let k = 1; k < steps.length; k++) {
      const { edge, node } = steps[k]!;
      const from = steps[k - 1]!.node;
      if (g.type(from) === g.t.synthetic && g.type(node) === g.t.synthetic) continue;
      if (g.raw.edgeType[edge] === g.t.eContext) push(this.scopeLabel(from));
      const el = from === 0 ? '' : this.edgeLabel(edge, from);
      const nl = this.nodeLabel(node);
      // collapse repeats such as a linked list's next → Node → next → Node
      if (el && nl && out.length >= 2 && out[out.length - 2] === el && out[out.length - 1] === nl) continue;
      if (el) out.push(el);
      if (nl) push(nl);
    }
    return out;
  }
}

/**
 * Stable path keys: two nodes get the same key when their rendered paths are equal (with element
 * indices as `[]` and repeats collapsed), so they can be grouped without building strings per node.
 * Keys are computed lazily along the BFS tree and memoized per node.
 */
/** label ids below this pack into one step number: (el · L + nl) · 4 + scope < 2^52 */
const LABEL_LIMIT = 2 ** 25;
/** path and step ids below this pack into one number: path · C + step < 2^52 */
const COMPOSITE_LIMIT = 2 ** 26;
/** numbers for keys that do not pack start here (above every packed number, below 2^53) */
const WIDE_BASE = 2 ** 52 + 1;

export class PathKeys {
  private readonly key: Int32Array;
  private readonly last: Int32Array; // the last visible step's id
  // numbers for steps and (path, step) pairs; past the limits (never seen in practice) a string
  // key maps to a number above every packed one
  private readonly intern = new Map<number, number>();
  private readonly steps = new Map<number, number>();
  private readonly wide = new Map<string, number>();
  private wideNumber(k: string): number {
    let x = this.wide.get(k);
    if (x === undefined) this.wide.set(k, (x = WIDE_BASE + this.wide.size));
    return x;
  }
  private readonly labeler: PathLabeler;
  private readonly tree: RetainerTree;
  private readonly g: HeapGraph;
  private readonly stack: number[] = [];

  constructor(g: HeapGraph, tree: RetainerTree, labeler: PathLabeler) {
    this.g = g;
    this.tree = tree;
    this.labeler = labeler;
    this.key = new Int32Array(g.nodeCount).fill(-1);
    this.last = new Int32Array(g.nodeCount).fill(-1);
    this.key[0] = 0;
  }

  /** the key of node v's path; -2 for nodes the root does not reach */
  keyOf(v: number): number {
    const key = this.key;
    if (key[v]! >= 0) return key[v]!;
    if (this.tree.parentEdge[v] === 0) return -2;
    const stack = this.stack;
    stack.length = 0;
    let cur = v;
    while (key[cur]! < 0 && this.tree.parentEdge[cur] !== 0) {
      stack.push(cur);
      cur = this.tree.parentNode[cur]!;
    }
    if (key[cur]! < 0) {
      for (const s of stack) key[s] = -2;
      return -2;
    }
    const g = this.g;
    const lab = this.labeler;
    for (let k = stack.length - 1; k >= 0; k--) {
      const node = stack[k]!;
      const from = this.tree.parentNode[node]!;
      const edge = this.tree.parentEdge[node]! - 1;
      // a step is (scope, edge label, node label), all as label ids; none: the path goes on
      let step = -1;
      if (!(g.type(from) === g.t.synthetic && g.type(node) === g.t.synthetic)) {
        const el = from === 0 ? 0 : lab.edgeLabelId(edge, from);
        const nl = lab.nodeLabelId(node);
        if (el !== 0 || nl !== 0) {
          const scope = g.raw.edgeType[edge] === g.t.eContext ? (lab.scopeLabel(from) === '(module scope)' ? 1 : 2) : 0;
          step = el < LABEL_LIMIT && nl < LABEL_LIMIT ? (el * LABEL_LIMIT + nl) * 4 + scope : this.wideNumber(`${scope}:${el}:${nl}`);
        }
      }
      if (step === -1) {
        key[node] = key[from]!;
        this.last[node] = this.last[from]!;
        continue;
      }
      let sid = this.steps.get(step);
      if (sid === undefined) {
        sid = this.steps.size;
        this.steps.set(step, sid);
      }
      if (sid === this.last[from]) {
        key[node] = key[from]!;
        this.last[node] = sid;
        continue;
      }
      const kf = key[from]!;
      const composite = kf < COMPOSITE_LIMIT && sid < COMPOSITE_LIMIT ? kf * COMPOSITE_LIMIT + sid : this.wideNumber(`${kf}:${sid}`);
      let id = this.intern.get(composite);
      if (id === undefined) {
        id = this.intern.size + 1; // 0 is the root's (empty) path
        this.intern.set(composite, id);
      }
      key[node] = id;
      this.last[node] = sid;
    }
    return key[v]!;
  }
}
