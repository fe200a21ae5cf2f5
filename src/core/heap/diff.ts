/**
 * Snapshot comparison by object id, as the DevTools Comparison view does it: an id only in the
 * newer snapshot is new, an id only in the older one is deleted. Sizes are shallow sizes.
 * Class names are compared as strings (string indices differ between snapshots).
 */
import type { RawHeapSnapshot } from '../../formats/heapsnapshot.js';
import { classifyNodes } from './graph.js';
import { ordinalsById } from './ids.js';

/** What the diff needs from one snapshot, without keeping its graph alive. */
export interface DiffSide {
  /** ids ascending */
  ids: Float64Array;
  /** class index per sorted position */
  cls: Uint32Array;
  /** self size per sorted position */
  self: Float64Array;
  classNames: string[];
}

/** Needs node ids, types, names and strings; edges may be absent (see the parser's skipEdges). */
export function diffSide(raw: RawHeapSnapshot): DiffSide {
  const { classOf, classNames } = classifyNodes(raw);
  const order = ordinalsById(raw);
  const n = order.length;
  const ids = new Float64Array(n);
  const cls = new Uint32Array(n);
  const self = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = order[i]!;
    ids[i] = raw.nodeId[v]!;
    cls[i] = classOf[v]!;
    self[i] = raw.nodeSelfSize[v]!;
  }
  return { ids, cls, self, classNames };
}

export interface DiffRow {
  className: string;
  newCount: number;
  deletedCount: number;
  deltaCount: number;
  allocSize: number;
  freedSize: number;
  deltaSize: number;
}

export function diffSnapshots(a: DiffSide, b: DiffSide): DiffRow[] {
  const rows = new Map<string, DiffRow>();
  const row = (name: string): DiffRow => {
    let r = rows.get(name);
    if (!r) {
      r = { className: name, newCount: 0, deletedCount: 0, deltaCount: 0, allocSize: 0, freedSize: 0, deltaSize: 0 };
      rows.set(name, r);
    }
    return r;
  };
  const aNew = new Float64Array(a.classNames.length);
  const aSize = new Float64Array(a.classNames.length);
  const bNew = new Float64Array(b.classNames.length);
  const bSize = new Float64Array(b.classNames.length);
  let i = 0;
  let j = 0;
  while (i < a.ids.length || j < b.ids.length) {
    const x = i < a.ids.length ? a.ids[i]! : Infinity;
    const y = j < b.ids.length ? b.ids[j]! : Infinity;
    if (x === y) {
      i++;
      j++;
    } else if (x < y) {
      aNew[a.cls[i]!]!++;
      aSize[a.cls[i]!]! += a.self[i]!;
      i++;
    } else {
      bNew[b.cls[j]!]!++;
      bSize[b.cls[j]!]! += b.self[j]!;
      j++;
    }
  }
  for (let c = 0; c < a.classNames.length; c++) {
    if (aNew[c] === 0) continue;
    const r = row(a.classNames[c]!);
    r.deletedCount += aNew[c]!;
    r.freedSize += aSize[c]!;
  }
  for (let c = 0; c < b.classNames.length; c++) {
    if (bNew[c] === 0) continue;
    const r = row(b.classNames[c]!);
    r.newCount += bNew[c]!;
    r.allocSize += bSize[c]!;
  }
  const out = [...rows.values()];
  for (const r of out) {
    r.deltaCount = r.newCount - r.deletedCount;
    r.deltaSize = r.allocSize - r.freedSize;
  }
  out.sort((x, y) => Math.abs(y.deltaSize) - Math.abs(x.deltaSize) || y.newCount - x.newCount || (x.className < y.className ? -1 : 1));
  return out;
}
