/**
 * The leak finder over a series of snapshots S1 … Sn of one process (n ≥ 3).
 *
 * 1. Leaked: objects born between S1 and S2 and alive in every later snapshot. An object of Sn
 *    existed at Sk when its id is within Sk's horizon (ids.ts: V8 hands out JavaScript object
 *    ids in increasing order), and an object alive at S2 and at Sn was alive in between. Only
 *    program objects count (objects, closures, natives, regexps, strings); V8's internals
 *    (`system / …`, code, hidden arrays, shapes) are plumbing, not leaks.
 * 2. Folded: a leaked object dominated by another leaked object counts inside it, so each row is a
 *    leaking root with everything it holds.
 * 3. Grouped by (class, retainer path of the root's immediate dominator): objects kept by the same
 *    holder — one Map, one listeners array, one timer list — form one group, whatever their
 *    position in it. Objects dominated only by the root are grouped by their own path.
 * 4. Kept only when the group grows with the workload: counting, among the objects of the group in
 *    Sn, those that already existed in S1, S2, …, Sn must give a series that grows in every
 *    interval, each later one by at least half the first interval's growth (so load the service
 *    alike between snapshots). One-time objects (a console stream created once, a lazily loaded
 *    module) give [0, k, k] and drop out; a module's record and exports object never count, as
 *    modules load lazily, a few in each phase, without being leaks.
 */
import type { HeapAnalysis } from './analysis.js';
import { presence, type IdHorizon } from './ids.js';
import { Locations, formatLocation } from './locations.js';
import { PathKeys, PathLabeler, pathTo, retainerTree } from './paths.js';

/** The agent's classes are named so that its objects can be told apart in a snapshot. */
export const OWN_CLASS_PREFIX = 'Leakscope';

export interface LeakGroup {
  className: string;
  count: number;
  retainedSize: number;
  /** per snapshot: objects of this group alive in the last snapshot that existed then */
  growth: number[];
  retainerPath: string[];
  location: string | null;
  /** id of the representative object (the largest), in the last snapshot */
  representativeId: number;
}

export interface LeakReport {
  snapshots: number;
  /** leaked objects before folding */
  leakedObjects: number;
  groups: LeakGroup[];
}

export interface LeakOptions {
  /** groups with fewer leaking roots are dropped (default 2: a single survivor is more often an
   * object in flight at snapshot time — a request's socket parser — than a leak) */
  minCount?: number;
  /** keep groups that do not grow (default false) */
  includeFlat?: boolean;
  /**
   * drop groups whose count AND retained size are both below this share of the largest group's
   * (default 0.01): stragglers of a big leak (a few strings pushed into a leaked closure's array)
   * are noise next to it. 0 keeps every group.
   */
  minShare?: number;
}

/**
 * @param last   the analysed last snapshot Sn
 * @param earlier what S1 … S(n-1) tell about Sn's objects (their id horizons), oldest first
 */
export function findLeaks(last: HeapAnalysis, earlier: IdHorizon[], opts: LeakOptions = {}): LeakReport {
  const g = last.graph;
  const n = g.nodeCount;
  const k = earlier.length + 1;
  const t = g.t;
  const raw = g.raw;
  const idom = last.dom.idom;
  const minCount = opts.minCount ?? 2;

  // Objects and natives are classed by name (graph.ts), so whether one is a candidate is decided
  // once per class: `system / …` is V8's plumbing; native `Node / …` objects are Node's own (its
  // builtin compile cache grows as builtins load lazily): neither is the application's leak.
  const classOf = g.classOf;
  const objectOk = new Uint8Array(g.classNames.length);
  const nativeOk = new Uint8Array(g.classNames.length);
  g.classNames.forEach((nm, c) => {
    if (nm === '' || nm.startsWith('system /')) return;
    objectOk[c] = 1;
    if (!nm.startsWith('Node / ')) nativeOk[c] = 1;
  });
  const types = raw.nodeType;
  const otherOk = new Uint8Array(raw.meta.nodeTypes.length);
  for (const ty of [t.closure, t.regexp, t.string, t.consString, t.slicedString]) if (ty >= 0) otherOk[ty] = 1;
  const candidate = (v: number): boolean => {
    const ty = types[v]!;
    return ty === t.object ? objectOk[classOf[v]!] === 1 : ty === t.native ? nativeOk[classOf[v]!] === 1 : otherOk[ty] === 1;
  };

  // 1. leaked set: absent from S1, present in S2 … S(n-1) (and, being here, in Sn)
  const present = presence(raw, earlier);
  const want = (2 ** earlier.length - 2) >>> 0; // bits 1 … n-2 set, bit 0 clear
  const leaked = new Uint8Array(n);
  let leakedCount = 0;
  for (let v = 1; v < n; v++) {
    if (present[v] !== want || !candidate(v)) continue;
    leaked[v] = 1;
    leakedCount++;
  }

  // 2. fold by the dominator tree: preorder guarantees idom is decided first
  const inside = new Uint8Array(n);
  const order = last.dom.order;
  for (let i = 1; i < n; i++) {
    const v = order[i]!;
    const d = idom[v]!;
    inside[v] = d !== 0 && (leaked[d] || inside[d]) ? 1 : 0;
  }

  // 3. group leaking roots
  const tree = retainerTree(g, last.retaining);
  const labeler = new PathLabeler(g);
  const keys = new PathKeys(g, tree, labeler);
  const exportsName = g.strings.indexOf('exports');
  const moduleClass = new Uint8Array(g.classNames.length);
  g.classNames.forEach((c, i) => {
    if (c === 'Module' || c === 'BuiltinModule' || c === 'ModuleWrap') moduleClass[i] = 1;
  });
  // the exports objects module records hold: marked from the (few) module records' edges
  const moduleExports = new Set<number>();
  if (exportsName >= 0) {
    const fe = raw.firstEdge;
    for (let u = 0; u < n; u++) {
      if (!moduleClass[classOf[u]!]) continue;
      for (let e = fe[u]!; e < fe[u + 1]!; e++) if (raw.edgeNameOrIndex[e] === exportsName && g.isNamedEdge(e)) moduleExports.add(raw.edgeTo[e]!);
    }
  }
  /** a module record, or the exports object a module record holds */
  const isModuleObject = (v: number): boolean => moduleClass[classOf[v]!] === 1 || moduleExports.has(v);
  /**
   * The holder's path: the immediate dominator's, unless that is the root — objects with several
   * unrelated retainers would then all share one key — in which case the object's own path.
   * Groups are found by (label id, path code) in numbers: no string is built per object.
   */
  const pathCode = (v: number): number => {
    const d = idom[v]!;
    // keyOf is ≥ -2; even codes for the holder's path, odd for the object's own
    return d === 0 ? 2 * (keys.keyOf(v) + 2) + 1 : 2 * (keys.keyOf(d) + 2);
  };
  interface Acc {
    label: string;
    count: number;
    retained: number;
    rep: number;
    growth: number[];
  }
  /** per label id (the labeler's): path code → group */
  const groups = new Map<number, Map<number, Acc>>();
  const found: Acc[] = []; // groups in order of discovery
  const candidateClass = new Uint8Array(g.classNames.length);
  const retained = last.dom.retained;
  for (let v = 1; v < n; v++) {
    if (!leaked[v] || inside[v] || isModuleObject(v)) continue;
    const lid = labeler.nodeLabelId(v);
    if (lid === 0) continue; // no program-visible label
    let byPath = groups.get(lid);
    if (!byPath) groups.set(lid, (byPath = new Map()));
    const code = pathCode(v);
    let acc = byPath.get(code);
    if (!acc) {
      acc = { label: labeler.nodeLabel(v), count: 0, retained: 0, rep: v, growth: new Array<number>(k).fill(0) };
      byPath.set(code, acc);
      found.push(acc);
    }
    acc.count++;
    acc.retained += retained[v]!;
    if (retained[v]! > retained[acc.rep]!) acc.rep = v;
    candidateClass[classOf[v]!] = 1;
  }

  // 4. growth across the series, over all objects of each group in Sn
  for (let v = 1; v < n; v++) {
    if (!candidateClass[classOf[v]!] || !candidate(v)) continue;
    const byPath = groups.get(labeler.nodeLabelId(v));
    if (!byPath) continue;
    const acc = byPath.get(pathCode(v));
    if (!acc) continue;
    const p = present[v]!;
    for (let s = 0; s < earlier.length; s++) if (p & (1 << s)) acc.growth[s]!++;
    acc.growth[k - 1]!++;
  }

  const locations = new Locations(g);
  const out: LeakGroup[] = [];
  for (const acc of found) {
    if (acc.count < minCount) continue;
    // grows in every interval, each later one by at least half the first interval's growth: a
    // workload-driven leak keeps pace with the workload; warm-up stragglers do not
    let grows = true;
    const first = acc.growth[1]! - acc.growth[0]!;
    for (let s = 1; s < k; s++) {
      const d = acc.growth[s]! - acc.growth[s - 1]!;
      if (d <= 0 || d < 0.5 * first) grows = false;
    }
    if (!grows && !opts.includeFlat) continue;
    const path = labeler.render(pathTo(tree, acc.rep));
    // leakscope's own agent in the process (one WeakRef per live timer, kept by its timer
    // registry) grows with a timer leak; it is not the application's leak
    if (path.some((p) => p.startsWith(OWN_CLASS_PREFIX))) continue;
    out.push({
      className: acc.label,
      count: acc.count,
      retainedSize: acc.retained,
      growth: acc.growth,
      retainerPath: fromModuleScope(path),
      location: formatLocation(locations.describe(acc.rep)),
      representativeId: raw.nodeId[acc.rep]!,
    });
  }
  out.sort((a, b) => b.retainedSize - a.retainedSize || b.count - a.count || (a.className < b.className ? -1 : 1));
  const share = opts.minShare ?? 0.01;
  let maxCount = 0;
  let maxRetained = 0;
  for (const grp of out) {
    maxCount = Math.max(maxCount, grp.count);
    maxRetained = Math.max(maxRetained, grp.retainedSize);
  }
  const kept = out.filter((grp) => grp.count >= share * maxCount || grp.retainedSize >= share * maxRetained);
  return { snapshots: k, leakedObjects: leakedCount, groups: kept };
}

/**
 * A module's scope lives as long as the process, so a leak's path is shown from the innermost
 * module scope on: what comes before it (how the module itself is reached) is the same for every
 * leak in that module and varies between Node versions.
 */
export function fromModuleScope(path: string[]): string[] {
  const k = path.lastIndexOf('(module scope)');
  return k > 0 ? path.slice(k) : path;
}
