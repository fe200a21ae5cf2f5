/**
 * The heap graph: a parsed snapshot plus the derived indexes every analysis needs (retainers,
 * type codes, class names). Flyweight: a node is its ordinal, an edge its index; every per-node or
 * per-edge fact lives in a typed array. Nothing here allocates per heap object.
 *
 * Invariants:
 * - ordinal 0 is the synthetic root;
 * - `firstRetainer[n] .. firstRetainer[n+1]-1` index `retainerNode` / `retainerEdge`, the edges
 *   pointing at n and the node they come from, in edge order.
 */
import type { RawHeapSnapshot } from '../../formats/heapsnapshot.js';

/** Node and edge type codes resolved by name; -1 when a snapshot's meta lacks the type. */
export interface TypeCodes {
  hidden: number;
  array: number;
  string: number;
  object: number;
  code: number;
  closure: number;
  regexp: number;
  number: number;
  native: number;
  synthetic: number;
  consString: number;
  slicedString: number;
  symbol: number;
  bigint: number;
  objectShape: number;
  eContext: number;
  eElement: number;
  eProperty: number;
  eInternal: number;
  eHidden: number;
  eShortcut: number;
  eWeak: number;
}

export class HeapGraph {
  readonly raw: RawHeapSnapshot;
  readonly nodeCount: number;
  readonly edgeCount: number;
  readonly t: TypeCodes;
  readonly strings: string[];
  private retainers: { first: Uint32Array; node: Uint32Array; edge: Uint32Array } | null = null;
  /** per node: index into classNames */
  readonly classOf: Uint32Array;
  readonly classNames: string[];
  /** per edge type code: 1 when name_or_index is a string index */
  private readonly namedEdge: Uint8Array;

  constructor(raw: RawHeapSnapshot) {
    this.raw = raw;
    this.nodeCount = raw.nodeCount;
    this.edgeCount = raw.edgeCount;
    this.strings = raw.strings;
    const nt = raw.meta.nodeTypes;
    const et = raw.meta.edgeTypes;
    this.t = {
      hidden: nt.indexOf('hidden'),
      array: nt.indexOf('array'),
      string: nt.indexOf('string'),
      object: nt.indexOf('object'),
      code: nt.indexOf('code'),
      closure: nt.indexOf('closure'),
      regexp: nt.indexOf('regexp'),
      number: nt.indexOf('number'),
      native: nt.indexOf('native'),
      synthetic: nt.indexOf('synthetic'),
      consString: nt.indexOf('concatenated string'),
      slicedString: nt.indexOf('sliced string'),
      symbol: nt.indexOf('symbol'),
      bigint: nt.indexOf('bigint'),
      objectShape: nt.indexOf('object shape'),
      eContext: et.indexOf('context'),
      eElement: et.indexOf('element'),
      eProperty: et.indexOf('property'),
      eInternal: et.indexOf('internal'),
      eHidden: et.indexOf('hidden'),
      eShortcut: et.indexOf('shortcut'),
      eWeak: et.indexOf('weak'),
    };
    this.namedEdge = new Uint8Array(et.length);
    for (let k = 0; k < et.length; k++) this.namedEdge[k] = et[k] === 'element' || et[k] === 'hidden' ? 0 : 1;

    const classes = classifyNodes(raw);
    this.classOf = classes.classOf;
    this.classNames = classes.classNames;
  }

  /**
   * Retainers, built on first use (the dominators and the leak finder need none: they work on the
   * forward edges): a counting sort of the edges by target, as CSR.
   */
  get firstRetainer(): Uint32Array {
    return (this.retainers ??= this.buildRetainers()).first;
  }
  get retainerNode(): Uint32Array {
    return (this.retainers ??= this.buildRetainers()).node;
  }
  get retainerEdge(): Uint32Array {
    return (this.retainers ??= this.buildRetainers()).edge;
  }

  private buildRetainers(): { first: Uint32Array; node: Uint32Array; edge: Uint32Array } {
    const raw = this.raw;
    const n = this.nodeCount;
    const m = this.edgeCount;
    const fr = new Uint32Array(n + 1);
    const to = raw.edgeTo;
    for (let e = 0; e < m; e++) fr[to[e]! + 1]!++;
    for (let i = 0; i < n; i++) fr[i + 1]! += fr[i]!;
    const fill = fr.slice(0, n);
    const rn = new Uint32Array(m);
    const re = new Uint32Array(m);
    const fe = raw.firstEdge;
    for (let from = 0; from < n; from++) {
      const end = fe[from + 1]!;
      for (let e = fe[from]!; e < end; e++) {
        const slot = fill[to[e]!]!++;
        rn[slot] = from;
        re[slot] = e;
      }
    }
    return { first: fr, node: rn, edge: re };
  }

  id(n: number): number {
    return this.raw.nodeId[n]!;
  }
  name(n: number): string {
    return this.strings[this.raw.nodeName[n]!]!;
  }
  type(n: number): number {
    return this.raw.nodeType[n]!;
  }
  typeName(n: number): string {
    return this.raw.meta.nodeTypes[this.raw.nodeType[n]!]!;
  }
  selfSize(n: number): number {
    return this.raw.nodeSelfSize[n]!;
  }
  className(n: number): string {
    return this.classNames[this.classOf[n]!]!;
  }
  edgeTypeName(e: number): string {
    return this.raw.meta.edgeTypes[this.raw.edgeType[e]!]!;
  }
  /** the edge's property name, or its element index as a string */
  edgeName(e: number): string {
    const v = this.raw.edgeNameOrIndex[e]!;
    return this.namedEdge[this.raw.edgeType[e]!] ? this.strings[v]! : String(v);
  }
  isNamedEdge(e: number): boolean {
    return this.namedEdge[this.raw.edgeType[e]!] === 1;
  }
  /** the first outgoing edge of n with this name (and edge type code when given), or -1 */
  findEdge(n: number, name: string, type = -1): number {
    const fe = this.raw.firstEdge;
    for (let e = fe[n]!; e < fe[n + 1]!; e++) {
      if (type >= 0 && this.raw.edgeType[e] !== type) continue;
      if (this.isNamedEdge(e) && this.strings[this.raw.edgeNameOrIndex[e]!] === name) return e;
    }
    return -1;
  }
  /** the node an edge named `name` leads to, or -1 */
  child(n: number, name: string, type = -1): number {
    const e = this.findEdge(n, name, type);
    return e < 0 ? -1 : this.raw.edgeTo[e]!;
  }
}

/**
 * Class names, as DevTools groups its Summary view: objects and natives by constructor name,
 * everything else by "(type)" ("(system)" for hidden, "(compiled code)" for code). Needs node types,
 * names and strings only, not edges.
 */
export function classifyNodes(raw: RawHeapSnapshot): { classOf: Uint32Array; classNames: string[] } {
  const nt = raw.meta.nodeTypes;
  const n = raw.nodeCount;
  const classIndex = new Map<string, number>();
  const classNames: string[] = [];
  const classOf = new Uint32Array(n);
  const byName = new Int32Array(raw.strings.length).fill(-1); // string index -> class index (objects/natives)
  const byType = new Int32Array(nt.length).fill(-1);
  const intern = (s: string): number => {
    let c = classIndex.get(s);
    if (c === undefined) {
      c = classNames.length;
      classNames.push(s);
      classIndex.set(s, c);
    }
    return c;
  };
  const object = nt.indexOf('object');
  const native = nt.indexOf('native');
  const hidden = nt.indexOf('hidden');
  const code = nt.indexOf('code');
  const types = raw.nodeType;
  const names = raw.nodeName;
  for (let i = 0; i < n; i++) {
    const ty = types[i]!;
    if (ty === object || ty === native) {
      const s = names[i]!;
      let c = byName[s]!;
      if (c < 0) {
        c = intern(raw.strings[s]!);
        byName[s] = c;
      }
      classOf[i] = c;
    } else {
      let c = byType[ty]!;
      if (c < 0) {
        c = intern(ty === hidden ? '(system)' : ty === code ? '(compiled code)' : `(${nt[ty]})`);
        byType[ty] = c;
      }
      classOf[i] = c;
    }
  }
  return { classOf, classNames };
}
