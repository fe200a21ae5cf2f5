/**
 * The call graph behind pprof's reports (internal/graph): nodes identified by what the chosen
 * granularity keeps of a frame, flat value charged to the leaf, cum charged once per stack to each
 * distinct node on it (recursion counts once), and inline flags from the edges into a node.
 *
 * Built for size: per-location node ids are computed once; the sample loop only touches typed
 * arrays (a per-node stamp makes "once per stack" O(1)); edges are tracked only where inlining
 * can make a difference.
 */
import type { Profile } from './profile.js';

export type Granularity = 'functions' | 'filefunctions' | 'files' | 'lines' | 'addresses';

export interface NodeInfo {
  name: string;
  file: string;
  line: number;
  address: bigint;
  objfile: string;
  /** the function's start line, part of the identity only when the name is dropped (as pprof) */
  startLine: number;
}

export interface GraphOptions {
  /** index of the sample type to use */
  valueIndex: number;
  granularity: Granularity;
  /** attribute inlined frames to their outermost caller */
  noInlines?: boolean;
  /** pprof's -trim_path prefixes (in addition to /proc/self/cwd/) */
  trimPath?: string;
  /** pprof's -source_path, used by the path heuristic */
  sourcePath?: string;
}

export interface Graph {
  infos: NodeInfo[];
  /** per node id */
  flat: Float64Array;
  cum: Float64Array;
  /** 0 none, 1 inline, 2 partial-inline */
  inline: Uint8Array;
  /** node ids with flat != 0 or cum != 0, unsorted */
  nodes: number[];
  /** edges into nodes that can be inlined callees, keyed by parent × node count + child */
  inEdges: Map<number, InEdge>;
}

export interface InEdge {
  child: number;
  inline: boolean;
  weight: number;
}

/**
 * pprof's " (inline)" / " (partial-inline)" from the edges into a node that survive edge trimming
 * (|weight| ≥ edgeCutoff, as TrimLowFrequencyEdges leaves them): 1 when all surviving in-edges are
 * inlined calls, 2 when some are, 0 otherwise.
 */
export function inlineLabels(nodeCount: number, inEdges: Map<number, InEdge>, edgeCutoff: number): Uint8Array {
  const hasInline = new Uint8Array(nodeCount);
  const hasPlain = new Uint8Array(nodeCount);
  for (const e of inEdges.values()) {
    if (Math.abs(e.weight) < edgeCutoff) continue;
    if (e.inline) hasInline[e.child] = 1;
    else hasPlain[e.child] = 1;
  }
  const out = new Uint8Array(nodeCount);
  for (let i = 0; i < nodeCount; i++) if (hasInline[i]) out[i] = hasPlain[i] ? 2 : 1;
  return out;
}

/** Go's path/filepath.Clean for slash paths. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const parts = p.split('/');
  const out: string[] = [];
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const s = (rooted ? '/' : '') + out.join('/');
  return s === '' ? (rooted ? '/' : '.') : s;
}

function baseName(p: string): string {
  const s = p.replace(/\/+$/, '');
  const i = s.lastIndexOf('/');
  return i >= 0 ? s.slice(i + 1) : s || '/';
}

/** pprof's trimPath heuristic for file names. */
export function trimFilePath(path: string, trimPath = '', sourcePath = ''): string {
  if (trimPath === '') {
    for (const dir of sourcePath.split(':').filter((d) => d !== '')) {
      const want = '/' + baseName(dir) + '/';
      const found = path.indexOf(want);
      if (found !== -1) return path.slice(found + want.length);
    }
  }
  const prefixes = [...trimPath.split(':').filter((x) => x !== ''), '/proc/self/cwd/./', '/proc/self/cwd/'];
  for (let t of prefixes) {
    if (!t.endsWith('/')) t += '/';
    if (path.startsWith(t)) return path.slice(t.length);
  }
  return path;
}

/** pprof's NodeInfo.NameComponents joined by a space. */
export function printableName(i: NodeInfo): string {
  const parts: string[] = [];
  if (i.address !== 0n) parts.push(i.address.toString(16).padStart(16, '0'));
  if (i.name !== '') parts.push(i.name);
  if (i.line !== 0) parts.push(`${i.file}:${i.line}`);
  else if (i.file !== '') parts.push(i.file);
  else if (i.name !== '') {
    /* function name already there */
  } else if (i.objfile !== '') parts.push(`[${baseName(i.objfile)}]`);
  else parts.push('<unknown>');
  return parts.join(' ');
}

/** Node identities for every line of every location: locNodeStart/locNodes, plus the infos. */
export interface NodeTable {
  infos: NodeInfo[];
  keys: string[];
  locStart: Uint32Array;
  /** node id per location line, outermost LAST (as in Location.lines) */
  locNodes: Int32Array;
}

export function buildNodeTable(p: Profile, o: GraphOptions): NodeTable {
  const keyIndex = new Map<string, number>();
  const infos: NodeInfo[] = [];
  const keys: string[] = [];
  const locStart = new Uint32Array(p.locations.length + 1);
  let total = 0;
  for (const l of p.locations) total += Math.max(1, o.noInlines ? Math.min(1, l.lines.length) : l.lines.length);
  const locNodes = new Int32Array(total);
  const g = o.granularity;
  const keepFn = g !== 'files';
  const keepFile = g === 'filefunctions' || g === 'files' || g === 'lines' || g === 'addresses';
  const keepLine = g === 'lines' || g === 'addresses';
  const keepAddr = g === 'addresses';
  const cleanCache = new Map<string, string>();
  const cleanFile = (f: string): string => {
    let c = cleanCache.get(f);
    if (c === undefined) {
      c = f === '' ? '' : cleanPath(trimFilePath(f, o.trimPath, o.sourcePath));
      cleanCache.set(f, c);
    }
    return c;
  };
  let k = 0;
  for (let li = 0; li < p.locations.length; li++) {
    const loc = p.locations[li]!;
    locStart[li] = k;
    const objfile = loc.mapping >= 0 ? p.mappings[loc.mapping]!.file : '';
    let lines = loc.lines;
    if (o.noInlines && lines.length > 1) lines = lines.slice(lines.length - 1);
    const address = keepAddr ? loc.address : 0n;
    const count = Math.max(1, lines.length);
    for (let j = 0; j < count; j++) {
      const ln = lines[j];
      let info: NodeInfo;
      if (!ln || ln.fn < 0) {
        info = { name: '', file: '', line: 0, address, objfile, startLine: 0 };
      } else {
        const fn = p.functions[ln.fn]!;
        const name = keepFn ? fn.name : '';
        info = {
          name,
          file: keepFile ? cleanFile(fn.filename) : '',
          line: keepLine ? ln.line : 0,
          address,
          objfile: name === '' ? objfile : '',
          startLine: name === '' ? fn.startLine : 0,
        };
      }
      const key = `${info.address}\u0000${info.name}\u0000${info.file}\u0000${info.line}\u0000${info.objfile}\u0000${info.startLine}`;
      let id = keyIndex.get(key);
      if (id === undefined) {
        id = infos.length;
        infos.push(info);
        keys.push(key);
        keyIndex.set(key, id);
      }
      locNodes[k++] = id;
    }
  }
  locStart[p.locations.length] = k;
  return { infos, keys, locStart, locNodes };
}

/**
 * Samples grouped by identical stack: the graph only needs each distinct stack once, with the
 * summed weight of its samples (flat and cum are linear in the weights). `rep` is one sample
 * holding the stack; `weight` its samples' total for the value index; `live` says whether any of
 * its samples had a non-zero value (pprof skips zero samples, and those still shape inline flags).
 */
export interface StackGroups {
  count: number;
  rep: Int32Array;
  weight: Float64Array;
  live: Uint8Array;
}

/**
 * Which samples share a stack: `groupOf[s]` is sample s's group (-1 for a sample `skip` leaves
 * out), `rep[g]` the first sample of group g. Open addressing over a hash of the location
 * indices; equal hashes are confirmed stack by stack, so the grouping is exact.
 */
export function stackGroupIds(p: Profile, skip?: (sample: number) => boolean): { count: number; rep: Int32Array; groupOf: Int32Array } {
  const t = p.samples;
  const n = t.count;
  let cap = 16;
  while (cap < n * 2) cap *= 2;
  const mask = cap - 1;
  const table = new Int32Array(cap).fill(-1);
  const rep = new Int32Array(n);
  const hashes = new Int32Array(n);
  const groupOf = new Int32Array(n);
  const { stack, stackStart } = t;
  let count = 0;
  for (let s = 0; s < n; s++) {
    if (skip?.(s)) {
      groupOf[s] = -1;
      continue;
    }
    const a = stackStart[s]!;
    const z = stackStart[s + 1]!;
    let h = 0x811c9dc5 ^ (z - a);
    for (let i = a; i < z; i++) h = Math.imul(h ^ stack[i]!, 0x01000193);
    let slot = h & mask;
    let g = -1;
    for (;;) {
      const e = table[slot]!;
      if (e < 0) break;
      if (hashes[e] === h) {
        const r = rep[e]!;
        const ra = stackStart[r]!;
        if (stackStart[r + 1]! - ra === z - a) {
          let same = true;
          for (let i = 0; i < z - a; i++) {
            if (stack[ra + i] !== stack[a + i]) {
              same = false;
              break;
            }
          }
          if (same) {
            g = e;
            break;
          }
        }
      }
      slot = (slot + 1) & mask;
    }
    if (g < 0) {
      g = count++;
      table[slot] = g;
      rep[g] = s;
      hashes[g] = h;
    }
    groupOf[s] = g;
  }
  return { count, rep: rep.subarray(0, count), groupOf };
}

export function groupStacks(p: Profile, valueIndex: number): StackGroups {
  const { count, rep, groupOf } = stackGroupIds(p);
  const nt = p.sampleTypes.length;
  const values = p.samples.values;
  const weight = new Float64Array(count);
  const live = new Uint8Array(count);
  for (let s = 0; s < groupOf.length; s++) {
    const g = groupOf[s]!;
    const w = values[s * nt + valueIndex]!;
    weight[g]! += w;
    if (w !== 0) live[g] = 1;
  }
  return { count, rep, weight, live };
}

/**
 * Builds the graph over the samples of `p`. `kept`, when given, marks the node ids that stay
 * (pprof's KeptNodes): the others vanish from stacks, and a sample whose leaf vanished charges
 * its flat value to nobody.
 */
export function buildGraph(p: Profile, table: NodeTable, o: GraphOptions, kept?: Uint8Array, groups?: StackGroups): Graph {
  const sg = groups ?? groupStacks(p, o.valueIndex);
  const n = table.infos.length;
  const flat = new Float64Array(n);
  const cum = new Float64Array(n);
  const stamp = new Int32Array(n).fill(-1);
  const { locStart, locNodes } = table;
  const nodeOf = kept ? new Int32Array(locNodes.length) : locNodes;
  if (kept) for (let i = 0; i < locNodes.length; i++) nodeOf[i] = kept[locNodes[i]!] ? locNodes[i]! : -1;

  // Nodes that can be an inlined callee: they appear before the last line of some location.
  const inlinable = new Uint8Array(n);
  let anyInlinable = false;
  for (let li = 0; li < p.locations.length; li++) {
    const a = locStart[li]!;
    const z = locStart[li + 1]!;
    for (let i = a; i < z - 1; i++) {
      const id = nodeOf[i]!;
      if (id >= 0) {
        inlinable[id] = 1;
        anyInlinable = true;
      }
    }
  }
  // Edges into inlinable nodes (the only ones whose inline flag can show): pprof's Edge.Inline is
  // the AND over the per-sample first occurrences, its weight the sum of their samples' values.
  const inEdges = new Map<number, InEdge>();

  const seenPairs = new Set<number>();
  const t = p.samples;
  const stack = t.stack;
  const stackStart = t.stackStart;
  const { rep, weight, live } = sg;
  for (let gi = 0; gi < sg.count; gi++) {
    if (!live[gi]) continue;
    const w = weight[gi]!;
    const s = gi;
    const sample = rep[gi]!;
    let parent = -1;
    let residual = false;
    if (seenPairs.size > 0) seenPairs.clear();
    const a = stackStart[sample]!;
    for (let i = stackStart[sample + 1]! - 1; i >= a; i--) {
      const l = stack[i]!;
      const ls = locStart[l]!;
      const le = locStart[l + 1]!;
      for (let ni = le - 1; ni >= ls; ni--) {
        const node = nodeOf[ni]!;
        if (node < 0) {
          residual = true;
          continue;
        }
        if (stamp[node] !== s) {
          stamp[node] = s;
          cum[node]! += w;
        }
        if (anyInlinable && inlinable[node] && parent >= 0 && parent !== node) {
          // pprof counts an edge once per sample: its first occurrence decides its inline flag
          const pair = parent * n + node;
          if (!seenPairs.has(pair)) {
            seenPairs.add(pair);
            const e = inEdges.get(pair);
            if (e) {
              e.weight += w;
              if (ni === le - 1) e.inline = false;
            } else inEdges.set(pair, { child: node, inline: ni !== le - 1, weight: w });
          }
        }
        parent = node;
        residual = false;
      }
    }
    if (parent >= 0 && !residual) flat[parent]! += w;
  }

  const inline = inlineLabels(n, inEdges, 0);

  const nodes: number[] = [];
  for (let i = 0; i < n; i++) if (flat[i] !== 0 || cum[i] !== 0) nodes.push(i);
  return { infos: table.infos, flat, cum, inline, nodes, inEdges };
}

/** Sorts node ids as pprof's FlatNameOrder / CumNameOrder. */
export function sortNodes(g: Graph, byCum: boolean, names: string[]): number[] {
  const { flat, cum } = g;
  const order = g.nodes.slice();
  // primary key: |cum| or |flat|; then the name; then the other one (pprof's tie order)
  const first = byCum ? cum : flat;
  const second = byCum ? flat : cum;
  order.sort((l, r) => {
    const a = Math.abs(first[l]!);
    const b = Math.abs(first[r]!);
    if (a !== b) return b - a;
    const nl = names[l]!;
    const nr = names[r]!;
    if (nl !== nr) return nl < nr ? -1 : 1;
    const c = Math.abs(second[l]!);
    const d = Math.abs(second[r]!);
    if (c !== d) return d - c;
    const kl = sprintInfo(g.infos[l]!);
    const kr = sprintInfo(g.infos[r]!);
    return kl < kr ? -1 : kl > kr ? 1 : l - r;
  });
  return order;
}

export interface Edge {
  src: number;
  dest: number;
  weight: number;
  inline: boolean;
  residual: boolean;
}

/**
 * The edges of the graph (pprof's Node.In/Out): per stack each caller→callee pair counts once;
 * an edge is inline only if every occurrence is an inlined call; a residual edge skips nodes
 * that were not kept. Walks distinct stacks (`groups`, each with its samples' summed weight; the
 * ones buildGraph used can be passed in) with numeric keys, so it costs about one map operation
 * per frame of a distinct stack.
 */
export function buildEdges(p: Profile, table: NodeTable, o: GraphOptions, kept?: Uint8Array, groups?: StackGroups): Map<string, Edge> {
  const sg = groups ?? groupStacks(p, o.valueIndex);
  const byKey = new Map<number, Edge>();
  const { locStart, locNodes } = table;
  const n = table.infos.length;
  const t = p.samples;
  const seen = new Set<number>();
  for (let g = 0; g < sg.count; g++) {
    if (!sg.live[g]) continue;
    const w = sg.weight[g]!;
    const s = sg.rep[g]!;
    seen.clear();
    let parent = -1;
    let residual = false;
    for (let i = t.stackStart[s + 1]! - 1; i >= t.stackStart[s]!; i--) {
      const l = t.stack[i]!;
      const ls = locStart[l]!;
      const le = locStart[l + 1]!;
      for (let ni = le - 1; ni >= ls; ni--) {
        const node = locNodes[ni]!;
        if (kept && !kept[node]) {
          residual = true;
          continue;
        }
        if (parent >= 0 && node !== parent) {
          const key = parent * n + node;
          if (!seen.has(key)) {
            seen.add(key);
            const inline = ni !== le - 1;
            const e = byKey.get(key);
            if (e) {
              e.weight += w;
              if (residual) e.residual = true;
              if (!inline) e.inline = false;
            } else byKey.set(key, { src: parent, dest: node, weight: w, inline, residual });
          }
        }
        parent = node;
        residual = false;
      }
    }
  }
  const edges = new Map<string, Edge>();
  for (const e of byKey.values()) edges.set(`${e.src},${e.dest}`, e);
  return edges;
}

/** fmt.Sprint of pprof's NodeInfo struct, its last-resort sort key (compareNodes). */
function sprintInfo(i: NodeInfo): string {
  return `{${i.name}  ${i.address} ${i.file} ${i.startLine} ${i.line} ${i.objfile}}`;
}
