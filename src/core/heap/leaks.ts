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
 * 3. Grouped: the roots one container dominates (a Map's table, an array, a dictionary) form one
 *    group whatever their class; roots held by a scope or the root by (class, path). A group
 *    whose path passes only through another group's objects, or whose path ends in the same
 *    container as another's, is merged into it (one leak, one group). Paths avoid leaked objects
 *    (and, when needed, every member of a reported group) where another route exists.
 * 4. Kept only when the group grows with the workload: counting, among the objects of the group in
 *    Sn, those that already existed in S1, S2, …, Sn must give a series that grows in every
 *    interval, each later one by at least half the first interval's growth (so load the service
 *    alike between snapshots). One-time objects (a console stream created once, a lazily loaded
 *    module) give [0, k, k] and drop out; a module's record and exports object never count, as
 *    modules load lazily, a few in each phase, without being leaks.
 * 5. Told apart from caches: a group whose container removes entries, fills a preallocated array,
 *    belongs to a bounded cache library, turns over (nothing older than S1, rises growing fast)
 *    or, over four or more snapshots, rises ever more slowly than the other groups (their median
 *    pace stands for the workload between snapshots), is `possible-cache`, not a leak.
 */
import type { HeapAnalysis } from './analysis.js';
import { presence, type IdHorizon } from './ids.js';
import { Locations, formatLocation, isUserFile, type SourceLocation } from './locations.js';
import { PathKeys, PathLabeler, pathTo, retainerTree, type PathStep } from './paths.js';
import { arraySlots, boundedCachePackage, hashTableEntries } from './caches.js';
import { awaitLine, enclosingFunction, storeLine } from './source-names.js';

/** The agent's classes are named so that its objects can be told apart in a snapshot. */
export const OWN_CLASS_PREFIX = 'Leakscope';

export type LeakStatus = 'leak' | 'possible-cache';

/** The object that dominates a group: the nearest holder above it that is not a built-in container. */
export interface LeakOwner {
  className: string;
  id: number;
  retainedSize: number;
  retainerPath: string[];
  location: string | null;
}

export interface LeakGroup {
  /** what to call it: the class label, or for an anonymous closure the event or property it is
   * stored under (`'reconnect' listener`) and, when the source is readable, the function it is
   * defined in */
  name: string;
  className: string;
  /** `possible-cache` when the holder shows signs of a bounded cache (see cacheEvidence) */
  status: LeakStatus;
  cacheEvidence: string[];
  count: number;
  retainedSize: number;
  /** per snapshot: objects of this group alive in the last snapshot that existed then */
  growth: number[];
  /** the classes of the group's leaking roots, most retained first (one holder, one group) */
  classes: { className: string; count: number }[];
  retainerPath: string[];
  location: string | null;
  owner: LeakOwner | null;
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
  /** a source file's text, or null when it cannot be read (the shell reads files; core stays
   * pure): names closures by the function they are defined in, and finds the line that stores
   * into a group's container */
  readSource?: (file: string) => string | null;
}

/** built-in containers: an owner worth naming is the object holding one */
const BUILTIN_CONTAINERS = new Set(['Map', 'Set', 'Array', 'Object', 'WeakMap', 'WeakSet']);

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

  // 3. group leaking roots. Paths avoid leaked objects where another route exists: the session
  //    store reached through leaked closures that captured `req` would name the wrong owner.
  const tree = retainerTree(g, last.retaining, leaked);
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
  const names = raw.nodeName;
  const contextName = g.strings.indexOf('system / Context');
  const isContext = (u: number): boolean => contextName >= 0 && names[u] === contextName && types[u] === t.object;
  /**
   * A container (a Map's table, an array, an object) holds one leak, whatever the classes in it
   * (keys and values, records and their strings): objects it dominates form one group. A scope
   * or the root holds unrelated things, so there objects are told apart by class.
   */
  const byHolder = (d: number): boolean => d !== 0 && types[d] !== t.synthetic && !isContext(d);
  /**
   * The holder's path: the immediate dominator's, unless that is the root — objects with several
   * unrelated retainers would then all share one key — in which case the object's own path.
   * Groups are found by (label id or 0 for a container's group, path code) in numbers: no string
   * is built per object.
   */
  const pathCode = (v: number): number => {
    const d = idom[v]!;
    // keyOf is ≥ -2; even codes for the holder's path, odd for the object's own
    return d === 0 ? 2 * (keys.keyOf(v) + 2) + 1 : 2 * (keys.keyOf(d) + 2);
  };
  const groupLabel = (v: number, lid: number): number => (byHolder(idom[v]!) ? 0 : lid);
  interface Acc {
    count: number;
    retained: number;
    rep: number;
    growth: number[];
    /** per label id: [count, retained, largest root] of the leaking roots */
    labels: Map<number, [number, number, number]>;
    /** union-find: the group this one was merged into */
    parent: Acc | null;
    /** index in `found` */
    index: number;
  }
  /** per group label: path code → group */
  const groups = new Map<number, Map<number, Acc>>();
  const found: Acc[] = []; // groups in order of discovery
  const candidateClass = new Uint8Array(g.classNames.length);
  const retained = last.dom.retained;
  const labelText = new Map<number, string>();
  const groupOf = (v: number): Acc | undefined => {
    const lid = labeler.nodeLabelId(v);
    return lid === 0 ? undefined : groups.get(groupLabel(v, lid))?.get(pathCode(v));
  };
  for (let v = 1; v < n; v++) {
    if (!leaked[v] || inside[v] || isModuleObject(v)) continue;
    const lid = labeler.nodeLabelId(v);
    if (lid === 0) continue; // no program-visible label
    const gl = groupLabel(v, lid);
    let byPath = groups.get(gl);
    if (!byPath) groups.set(gl, (byPath = new Map()));
    const code = pathCode(v);
    let acc = byPath.get(code);
    if (!acc) {
      acc = { count: 0, retained: 0, rep: v, growth: new Array<number>(k).fill(0), labels: new Map(), parent: null, index: found.length };
      byPath.set(code, acc);
      found.push(acc);
    }
    acc.count++;
    acc.retained += retained[v]!;
    if (retained[v]! > retained[acc.rep]!) acc.rep = v;
    let l = acc.labels.get(lid);
    if (!l) {
      acc.labels.set(lid, (l = [0, 0, v]));
      if (!labelText.has(lid)) labelText.set(lid, labeler.nodeLabel(v));
    }
    l[0]++;
    l[1] += retained[v]!;
    if (retained[v]! > retained[l[2]]!) l[2] = v;
    candidateClass[classOf[v]!] = 1;
  }

  // 4. growth across the series, over all objects of each group in Sn (old members included)
  /** per node: the index in `found` of the group it counts in, or -1 */
  const memberOf = new Int32Array(n).fill(-1);
  for (let v = 1; v < n; v++) {
    if (!candidateClass[classOf[v]!] || !candidate(v)) continue;
    const lid = labeler.nodeLabelId(v);
    if (lid === 0) continue;
    const byPath = groups.get(groupLabel(v, lid));
    if (!byPath) continue;
    const acc = byPath.get(pathCode(v));
    if (!acc) continue;
    memberOf[v] = acc.index;
    const p = present[v]!;
    for (let s = 0; s < earlier.length; s++) if (p & (1 << s)) acc.growth[s]!++;
    acc.growth[k - 1]!++;
  }

  // 5. One leak, one group. A group whose path can only pass through another group's objects
  //    (strings in the headers of requests that leaked closures captured) is part of that leak;
  //    groups whose paths end in the same container (a dictionary's keys and its values, whose
  //    keys another leak also holds) are one leak.
  const root = (a: Acc): Acc => {
    while (a.parent) a = a.parent;
    return a;
  };
  const union = (a: Acc, b: Acc): void => {
    const x = root(a);
    const y = root(b);
    if (x !== y) x.parent = y;
  };
  const byContainer = new Map<number, Acc>();
  for (const acc of found) {
    const steps = pathTo(tree, acc.rep);
    let through = false;
    for (let i = 1; i < steps.length - 1; i++) {
      let u = steps[i]!.node;
      if (!leaked[u] && !inside[u]) continue;
      while (inside[u]) u = idom[u]!;
      const other = groupOf(u);
      if (!other) continue;
      union(acc, other);
      through = true;
      break;
    }
    if (through) continue;
    for (let i = steps.length - 2; i >= 1; i--) {
      const u = steps[i]!.node;
      if (types[u] === t.synthetic || isContext(u)) break;
      if (labeler.nodeLabelId(u) === 0) continue;
      const other = byContainer.get(u);
      if (other) union(acc, other);
      else byContainer.set(u, acc);
      break;
    }
  }
  for (const acc of found) {
    if (!acc.parent) continue;
    const r = root(acc);
    r.count += acc.count;
    r.retained += acc.retained;
    if (retained[acc.rep]! > retained[r.rep]!) r.rep = acc.rep;
    for (let s = 0; s < k; s++) r.growth[s]! += acc.growth[s]!;
    for (const [lid, [c, ret, rep]] of acc.labels) {
      const l = r.labels.get(lid);
      if (l) {
        l[0] += c;
        l[1] += ret;
        if (retained[rep]! > retained[l[2]]!) l[2] = rep;
      } else r.labels.set(lid, [c, ret, rep]);
    }
  }

  // The workload's pace per interval, from the groups themselves: interval s's rise over the
  // first interval's, the median over the groups that rise in every interval (by object count). Every leak driven
  // by requests rises with the load, so when the load between snapshots drops (or the snapshots
  // come closer together) every group's rise slows alike; a cache filling up, or warm-up
  // stragglers, slow against the others.
  const rising = found.filter((acc) => {
    // (growth[1] > growth[0] below: every ratio has a positive first rise)
    if (acc.parent || acc.count < minCount) return false;
    for (let s = 1; s < k; s++) if (!(acc.growth[s]! > acc.growth[s - 1]!)) return false;
    return true;
  });
  // The median is weighted by the groups' sizes: the many small groups of a heap (a few objects
  // each) say little about the workload; the large ones are driven by it.
  const pace: number[] = [1];
  for (let s = 2; s < k; s++) {
    const r = rising.map((acc) => ({ ratio: (acc.growth[s]! - acc.growth[s - 1]!) / (acc.growth[1]! - acc.growth[0]!), w: acc.count }));
    r.sort((a, b) => a.ratio - b.ratio);
    const total = r.reduce((t, e) => t + e.w, 0);
    let med = 1;
    for (let i = 0, cum = 0; i < r.length; i++) {
      cum += r[i]!.w;
      if (cum >= total / 2) {
        med = r[i]!.ratio;
        break;
      }
    }
    // with fewer than three groups there is too little to compare against: the raw rises
    pace.push(r.length >= 3 ? med : 1);
  }

  // grows in every interval, each later one by at least half the first interval's growth at the
  // workload's pace: a workload-driven leak keeps pace with the workload; warm-up stragglers do not
  const grows = (acc: Acc): boolean => {
    const first = acc.growth[1]! - acc.growth[0]!;
    for (let s = 1; s < k; s++) {
      const d = acc.growth[s]! - acc.growth[s - 1]!;
      if (d <= 0 || d < 0.5 * first * Math.min(1, pace[s - 1]!)) return false;
    }
    return true;
  };
  const reported = found.filter((acc) => !acc.parent && acc.count >= minCount && (grows(acc) || opts.includeFlat));

  // 6. The leaked set misses a group's older members (an audit closure from before S1 holds
  //    `req`, and through it the session store, as well as a new one does). When a reported
  //    group's path runs through another reported group's members, the paths are searched
  //    again avoiding every member of a reported group.
  const isReported = new Uint8Array(found.length);
  for (const acc of reported) isReported[acc.index] = 1;
  const foreignMember = (u: number, acc: Acc): boolean => {
    const m = memberOf[u]!;
    if (m < 0) return false;
    const r = root(found[m]!);
    return r !== acc && isReported[r.index] === 1;
  };
  //    The same for what a request in flight holds: Node's IncomingMessage and ServerResponse,
  //    and the timers and immediates pending for it. Every one of them reaches the session store,
  //    the app and whatever the request touched (`inflight → Map → Object → req → IncomingMessage
  //    → sessionStore → MemoryStore`, a deadline timer's `res`, an immediate's `onsave()` closure
  //    over `store`). A path through one names whatever was in flight when the snapshot was
  //    written, not the owner. (Avoided nodes are still taken when nothing else reaches a group:
  //    a timer leak's path runs through its timers.)
  const transientNames = new Set(['IncomingMessage', 'ServerResponse', 'Timeout', 'Immediate'].map((x) => g.strings.indexOf(x)).filter((x) => x >= 0));
  const transient = (v: number): boolean => raw.nodeType[v] === g.t.object && transientNames.has(raw.nodeName[v]!);
  let pathTree = tree;
  const detour = (acc: Acc) => pathTo(tree, acc.rep).some((st, i, all) => i < all.length - 1 && (foreignMember(st.node, acc) || transient(st.node)));
  if (reported.some(detour)) {
    const avoid = new Uint8Array(n);
    for (let v = 1; v < n; v++) {
      const m = memberOf[v]!;
      avoid[v] = leaked[v] || (m >= 0 && isReported[root(found[m]!).index]) || transient(v) ? 1 : 0;
    }
    pathTree = retainerTree(g, last.retaining, avoid);
  }

  const locations = new Locations(g);
  const sources = new SourceCache(opts.readSource);
  const out: LeakGroup[] = [];
  for (const acc of reported) {
    // the group's class: its leading class by retained size, a program object before strings;
    // its representative: that class's largest root
    const ranked = [...acc.labels].sort((a, b) => b[1][1] - a[1][1] || b[1][0] - a[1][0]);
    const classes = ranked.map(([lid, [count]]) => ({ className: labelText.get(lid)!, count }));
    const leadAt = Math.max(0, classes.findIndex((c) => c.className !== '(string)'));
    const lead = classes[leadAt]!;
    acc.rep = ranked[leadAt]![1][2];
    const steps = pathTo(pathTree, acc.rep);
    const path = labeler.render(steps);
    // leakscope's own agent in the process (one WeakRef per live timer, kept by its timer
    // registry) grows with a timer leak; it is not the application's leak
    if (path.some((p) => p.startsWith(OWN_CLASS_PREFIX))) continue;
    const ownerNode = ownerOf(acc.rep);
    const ownerSteps = ownerNode > 0 ? pathTo(pathTree, ownerNode) : [];
    const owner: LeakOwner | null =
      ownerNode > 0
        ? {
            className: labeler.nodeLabel(ownerNode),
            id: raw.nodeId[ownerNode]!,
            retainedSize: retained[ownerNode]!,
            retainerPath: fromModuleScope(labeler.render(ownerSteps)),
            location: formatLocation(locations.constructorOf(ownerNode) ?? userLocation(ownerNode)),
          }
        : null;
    const evidence = cacheEvidence(acc, ownerNode);
    out.push({
      name: groupName(acc.rep, lead.className, steps),
      className: lead.className,
      status: evidence.length > 0 ? 'possible-cache' : 'leak',
      cacheEvidence: evidence,
      count: acc.count,
      retainedSize: acc.retained,
      growth: acc.growth,
      classes,
      retainerPath: fromModuleScope(path),
      location: formatLocation(groupLocation(acc.rep, steps, ownerNode)),
      owner,
      representativeId: raw.nodeId[acc.rep]!,
    });
  }
  // leaks first, then possible caches; each by retained size
  out.sort(
    (a, b) =>
      (a.status === 'leak' ? 0 : 1) - (b.status === 'leak' ? 0 : 1) ||
      b.retainedSize - a.retainedSize ||
      b.count - a.count ||
      (a.className < b.className ? -1 : 1),
  );
  const share = opts.minShare ?? 0.01;
  let maxCount = 0;
  let maxRetained = 0;
  for (const grp of out) {
    maxCount = Math.max(maxCount, grp.count);
    maxRetained = Math.max(maxRetained, grp.retainedSize);
  }
  const kept = out.filter((grp) => grp.count >= share * maxCount || grp.retainedSize >= share * maxRetained);
  return { snapshots: k, leakedObjects: leakedCount, groups: kept };

  /**
   * The owner: up the dominator tree from the representative, within its variable (a scope ends
   * the walk), the first object that is not a built-in container, else the first labelled one.
   */
  function ownerOf(rep: number): number {
    let first = -1;
    let labelled = 0;
    for (let u = idom[rep]!, hops = 0; u !== 0 && hops < 32 && labelled < 4; u = idom[u]!, hops++) {
      if (types[u] === t.synthetic || isContext(u)) break;
      if (leaked[u] || inside[u] || labeler.nodeLabelId(u) === 0) continue;
      labelled++;
      if (first < 0) first = u;
      if ((types[u] === t.object || types[u] === t.native) && !BUILTIN_CONTAINERS.has(g.className(u))) return u;
    }
    return first;
  }

  /** a location in a user file (not Node's own), or null */
  function userLocation(v: number): SourceLocation | null {
    const l = locations.describe(v);
    return l && isUserFile(l.file) ? l : null;
  }

  /**
   * Why a group may be a cache still filling rather than a leak, from what the last snapshot
   * says about its container and from the shape of its counts; empty when nothing says so.
   */
  function cacheEvidence(acc: Acc, ownerNode: number): string[] {
    const why: string[] = [];
    const holder = idom[acc.rep]!;
    if (holder !== 0 && types[holder] !== t.synthetic) {
      // a Map or Set that has removed entries since its table was last rebuilt
      const coll = idom[holder]!;
      const cls = coll > 0 ? g.className(coll) : '';
      if ((cls === 'Map' || cls === 'Set') && g.child(coll, 'table') === holder) {
        const e = hashTableEntries(g, holder, cls === 'Map' ? 3 : 2);
        if (e && e.removed >= 2 && e.removed >= 0.05 * e.live) why.push(`its ${cls} removes entries (${e.removed} removed since its table was last rebuilt, ${e.live} live)`);
      }
      // an array preallocated to a fixed size, partly filled
      const arr = g.className(holder) === 'Array' ? holder : -1;
      if (arr >= 0) {
        const s = arraySlots(g, arr);
        if (s.free >= 16 && s.free >= 0.1 * (s.used + s.free)) why.push(`it fills a preallocated array (${s.used} of ${s.used + s.free} slots in use)`);
      }
    }
    // a cache library with a configured maximum
    for (let u = ownerNode > 0 ? ownerNode : holder, hops = 0; u > 0 && hops < 4; u = idom[u]!, hops++) {
      if (types[u] === t.synthetic || isContext(u)) break;
      const l = locations.describe(u);
      const pkg = l ? boundedCachePackage(l.file) : null;
      if (pkg) {
        why.push(`it is kept by ${pkg}, a cache bounded by its configured maximum`);
        break;
      }
    }
    // nothing from before S1 is left and each cohort is bigger than the one before it by far:
    // the older objects are being replaced (a cache turning over, the last request on each
    // keep-alive socket), where a leak under even load rises by the same amount each time
    if (acc.growth[0] === 0 && k >= 3) {
      const d0 = acc.growth[1]!;
      const dl = acc.growth[k - 1]! - acc.growth[k - 2]!;
      if (dl >= 2 * d0) why.push(`its older objects are replaced (counts ${acc.growth.join(' → ')}: none from before the first snapshot)`);
    }
    // counts whose rise slows in every interval (needs three intervals to tell from uneven load),
    // measured against the pace of the other groups (a drop in load slows every leak alike); or
    // whose every later rise is at most two thirds of the first at that pace: a cache filling
    // from a bounded set of keys (a few currencies, a catalogue) slows sharply, then its rises
    // level out at a lower rate, and their noise may break the strict order (+164, +74, +82)
    if (k >= 4) {
      let slows = true;
      let sustained = true;
      const d0 = acc.growth[1]! - acc.growth[0]!;
      let prev = d0;
      for (let s = 2; s < k; s++) {
        const d = (acc.growth[s]! - acc.growth[s - 1]!) / Math.max(1e-9, pace[s - 1]!);
        if (d > prev) slows = false;
        if (d > (2 / 3) * d0) sustained = false;
        prev = d;
      }
      if ((slows && prev <= 0.75 * d0) || sustained) {
        const rises = acc.growth.slice(1).map((x, s) => `+${x - acc.growth[s]!}`);
        why.push(`its rise slows (${rises.join(', ')})`);
      }
    }
    return why;
  }

  /** an anonymous closure is named by the event or property it is stored under and, with the
   * source, by the function it is defined in; a suspended async function by the function */
  function groupName(rep: number, label: string, steps: PathStep[]): string {
    // a suspended async function or generator: by the function it runs
    const gen = locations.generatorFunction(rep);
    if (gen >= 0) {
      const fn = g.name(gen);
      if (fn) return `${fn}() suspended (${label})`;
    }
    if (types[rep] !== t.closure) return label;
    let base = label;
    if (label === '(anonymous function)') {
      // EventEmitter: … → _events → Object → name → closure, or → name → Array → [] → closure
      const named = (i: number, nm?: string): boolean => i >= 1 && g.raw.edgeType[steps[i]!.edge] === t.eProperty && (nm === undefined || g.edgeName(steps[i]!.edge) === nm);
      const m = steps.length - 1;
      const ev = named(m - 1, '_events') && named(m) ? m : named(m - 2, '_events') && named(m - 1) && g.raw.edgeType[steps[m]!.edge] === t.eElement ? m - 1 : -1;
      const last = steps[m]!;
      if (ev > 0) base = `'${g.edgeName(steps[ev]!.edge)}' listener`;
      else if (last.edge >= 0 && g.raw.edgeType[last.edge] === t.eProperty) base = `'${g.edgeName(last.edge)}' function`;
    }
    const l = locations.of(rep);
    const src = l ? sources.get(l.file) : null;
    const outer = src && l ? enclosingFunction(src, l.line, l.column) : null;
    return outer ? `${base} in ${outer}` : base;
  }

  /**
   * Closures are where V8 says. For objects, the line that stores into their container, looked
   * up in the source of the functions that hold the container's variable in their scope (and of
   * the owner's class); else the object's own (a closure among its properties, its constructor).
   */
  function groupLocation(rep: number, steps: PathStep[], ownerNode: number): SourceLocation | null {
    if (types[rep] === t.closure) return locations.of(rep);
    // a suspended async function: where it is parked, the `await` of the promise its path comes
    // through (`(module scope) → indexReady → Promise → … → Generator`: `await indexReady`), found
    // in its source; else where the function starts
    const gen = locations.generatorFunction(rep);
    const genLoc = gen >= 0 ? locations.of(gen) : null;
    if (genLoc && isUserFile(genLoc.file)) {
      const src = sources.get(genLoc.file);
      if (src) {
        for (let i = steps.length - 2; i >= 1; i--) {
          const e = steps[i]!.edge;
          const ty = g.raw.edgeType[e];
          if (ty !== t.eProperty && ty !== t.eContext) continue;
          const line = awaitLine(src, genLoc.line, g.edgeName(e));
          if (line > 0) return { file: genLoc.file, line, column: 1 };
          break;
        }
      }
      return genLoc;
    }
    if (sources.enabled) {
      // the names along the path from the nearest variable to the container, innermost first
      const names: { name: string; property: boolean }[] = [];
      let ctx = -1;
      for (let i = steps.length - 2; i >= 1; i--) {
        const e = steps[i]!.edge;
        const ty = g.raw.edgeType[e];
        if (ty === t.eProperty || ty === t.eContext) names.push({ name: g.edgeName(e), property: ty === t.eProperty });
        if (ty === t.eContext) {
          ctx = steps[i - 1]!.node;
          break;
        }
      }
      // the scope's own file first (where the variable is used), then the owner's class
      const files: string[] = [];
      const add = (f: string | null | undefined): void => {
        if (f && !files.includes(f)) files.push(f);
      };
      if (ctx >= 0) add(scopeFile(ctx));
      if (ownerNode > 0) {
        add(locations.constructorOf(ownerNode)?.file);
        add(userLocation(ownerNode)?.file);
      }
      for (const f of files) {
        const src = sources.get(f);
        if (!src) continue;
        for (const { name, property } of names) {
          const line = storeLine(src, name, property);
          if (line > 0) return { file: f, line, column: 1 };
        }
      }
    }
    return userLocation(rep);
  }

  /** the file of a user closure whose context is `ctx` (a function holding that scope), or null */
  function scopeFile(ctx: number): string | null {
    const fe = raw.firstEdge;
    for (let v = 1; v < n; v++) {
      if (types[v] !== t.closure) continue;
      for (let e = fe[v]!; e < fe[v + 1]!; e++) {
        if (raw.edgeTo[e] !== ctx || g.raw.edgeType[e] !== t.eInternal) continue;
        const l = locations.of(v);
        if (l && isUserFile(l.file)) return l.file;
      }
    }
    return null;
  }
}

/** source files read once each through the caller's reader */
class SourceCache {
  private readonly read: ((file: string) => string | null) | undefined;
  private readonly cache = new Map<string, string | null>();
  constructor(read: ((file: string) => string | null) | undefined) {
    this.read = read;
  }
  get enabled(): boolean {
    return this.read !== undefined;
  }
  get(file: string): string | null {
    if (!this.read) return null;
    let s = this.cache.get(file);
    if (s === undefined) {
      try {
        s = this.read(file);
      } catch {
        s = null;
      }
      this.cache.set(file, s);
    }
    return s;
  }
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
