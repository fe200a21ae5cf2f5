/**
 * Per-class totals, as the DevTools Summary view computes them. A class's retained size counts
 * each object's retained size unless a dominator of it has the same class (otherwise a linked
 * list's nodes would count their tail many times over).
 */
import type { HeapAnalysis } from './analysis.js';
import { dominatorChildren } from './dominators.js';

export interface ClassRow {
  className: string;
  count: number;
  shallowSize: number;
  retainedSize: number;
}

export interface HeapSummary {
  nodeCount: number;
  edgeCount: number;
  totalSize: number;
  /** nodes attached to the root because no retaining path reaches them */
  unreachable: number;
  rows: ClassRow[];
}

/** per class index: retained total with the same-class-dominator rule (iterative DFS) */
export function classRetainedSizes(a: HeapAnalysis): Float64Array {
  const g = a.graph;
  const nClasses = g.classNames.length;
  const out = new Float64Array(nClasses);
  const seen = new Uint32Array(nClasses);
  const { firstChild, children } = dominatorChildren(a.dom.idom);
  const n = g.nodeCount;
  const stackNode = new Uint32Array(n);
  const stackPos = new Uint32Array(n);
  const retained = a.dom.retained;
  const cls = g.classOf;
  let sp = 0;
  stackNode[0] = 0;
  stackPos[0] = firstChild[0]!;
  seen[cls[0]!]!++;
  while (sp >= 0) {
    const v = stackNode[sp]!;
    const pos = stackPos[sp]!;
    if (pos < firstChild[v + 1]!) {
      stackPos[sp] = pos + 1;
      const w = children[pos]!;
      const c = cls[w]!;
      if (seen[c] === 0) out[c]! += retained[w]!;
      seen[c]!++;
      sp++;
      stackNode[sp] = w;
      stackPos[sp] = firstChild[w]!;
    } else {
      seen[cls[v]!]!--;
      sp--;
    }
  }
  return out;
}

export function summarize(a: HeapAnalysis): HeapSummary {
  const g = a.graph;
  const nClasses = g.classNames.length;
  const count = new Float64Array(nClasses);
  const shallow = new Float64Array(nClasses);
  let total = 0;
  for (let v = 0; v < g.nodeCount; v++) {
    const c = g.classOf[v]!;
    count[c]!++;
    const s = g.raw.nodeSelfSize[v]!;
    shallow[c]! += s;
    total += s;
  }
  const ret = classRetainedSizes(a);
  const rows: ClassRow[] = [];
  for (let c = 0; c < nClasses; c++) {
    if (count[c] === 0) continue;
    rows.push({ className: g.classNames[c]!, count: count[c]!, shallowSize: shallow[c]!, retainedSize: ret[c]! });
  }
  rows.sort((x, y) => y.retainedSize - x.retainedSize || y.shallowSize - x.shallowSize || (x.className < y.className ? -1 : 1));
  return { nodeCount: g.nodeCount, edgeCount: g.edgeCount, totalSize: total, unreachable: a.dom.unreachable, rows };
}
