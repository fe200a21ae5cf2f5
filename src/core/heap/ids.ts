/**
 * Object ids across snapshots. V8 keeps an object's id for the life of the isolate, so ids match
 * objects between snapshots of one process. Sets of ids are sorted typed arrays searched by
 * bisection: no Map/Set keyed by id (they fail above 2^24 entries and cost ~50 bytes an entry).
 */
import type { RawHeapSnapshot } from '../../formats/heapsnapshot.js';

export type SortedIds = Uint32Array | Float64Array;

/** the snapshot's ids, sorted ascending */
export function sortedIds(raw: RawHeapSnapshot): SortedIds {
  if (raw.nodeId instanceof Uint32Array && raw.nodeId.length >= RADIX_MIN) return radixSorted(raw.nodeId, null).keys;
  const ids = raw.nodeId.slice();
  ids.sort();
  return ids;
}

/** below this many ids a comparison sort is as fast (the radix sort's counts are 64K entries) */
const RADIX_MIN = 1 << 14;

/**
 * Stable LSD radix sort of 32-bit keys in two 16-bit passes (a fraction of a comparison sort's
 * time for the few hundred thousand to tens of millions of ids of a snapshot). With `payload`,
 * it is permuted alongside; equal keys keep their input order.
 */
function radixSorted(input: Uint32Array, payload: Uint32Array | null): { keys: Uint32Array; payload: Uint32Array | null } {
  const n = input.length;
  const count = new Uint32Array(65536);
  const k1 = new Uint32Array(n);
  const k2 = new Uint32Array(n);
  const p1 = payload ? new Uint32Array(n) : null;
  const p2 = payload ? new Uint32Array(n) : null;
  radixPass(input, payload, k1, p1, 0, count);
  radixPass(k1, p1, k2, p2, 16, count);
  return { keys: k2, payload: p2 };
}

// One pass; each loop is its own function so V8 optimizes each with its own type feedback (one
// function with three loops was compiled on the first loop and deoptimized on reaching the next,
// several times per run).
function radixPass(keys: Uint32Array, pay: Uint32Array | null, outKeys: Uint32Array, outPay: Uint32Array | null, shift: number, count: Uint32Array): void {
  count.fill(0);
  histogram(keys, shift, count);
  exclusiveSums(count);
  if (pay && outPay) scatterWith(keys, pay, outKeys, outPay, shift, count);
  else scatter(keys, outKeys, shift, count);
}

function histogram(keys: Uint32Array, shift: number, count: Uint32Array): void {
  for (let i = 0; i < keys.length; i++) count[(keys[i]! >>> shift) & 0xffff]!++;
}

function exclusiveSums(count: Uint32Array): void {
  let sum = 0;
  for (let b = 0; b < count.length; b++) {
    const c = count[b]!;
    count[b] = sum;
    sum += c;
  }
}

function scatter(keys: Uint32Array, outKeys: Uint32Array, shift: number, count: Uint32Array): void {
  for (let i = 0; i < keys.length; i++) {
    const x = keys[i]!;
    outKeys[count[(x >>> shift) & 0xffff]!++] = x;
  }
}

function scatterWith(keys: Uint32Array, pay: Uint32Array, outKeys: Uint32Array, outPay: Uint32Array, shift: number, count: Uint32Array): void {
  for (let i = 0; i < keys.length; i++) {
    const x = keys[i]!;
    const at = count[(x >>> shift) & 0xffff]!++;
    outKeys[at] = x;
    outPay[at] = pay[i]!;
  }
}

export function hasId(ids: SortedIds, id: number): boolean {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = ids[mid]!;
    if (x < id) lo = mid + 1;
    else if (x > id) hi = mid - 1;
    else return true;
  }
  return false;
}

/** ordinals sorted by id (ties by ordinal) */
export function ordinalsById(raw: RawHeapSnapshot): Uint32Array {
  const n = raw.nodeCount;
  const ids = raw.nodeId;
  if (ids instanceof Uint32Array && n >= RADIX_MIN) {
    const ord = new Uint32Array(n);
    for (let i = 0; i < n; i++) ord[i] = i;
    return radixSorted(ids, ord).payload!;
  }
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  out.sort((a, b) => ids[a]! - ids[b]! || a - b);
  return out;
}

/** the ordinal of the node with this id, or -1 */
export function findById(raw: RawHeapSnapshot, byId: Uint32Array, id: number): number {
  const ids = raw.nodeId;
  let lo = 0;
  let hi = byId.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = ids[byId[mid]!]!;
    if (x < id) lo = mid + 1;
    else if (x > id) hi = mid - 1;
    else return byId[mid]!;
  }
  return -1;
}

/**
 * What an earlier snapshot of the same process tells about the objects of a later one, in a few
 * bytes instead of a set of all its ids.
 *
 * V8's HeapObjectsMap gives JavaScript heap objects odd ids from one counter that only goes up
 * (`next_id_ += 2`), the first time a snapshot (or allocation tracking) sees them, and an object
 * keeps its id while it lives. So an object of a later snapshot existed at the time of snapshot
 * Sk exactly when its odd id is at most Sk's largest odd id: ids at most that were handed out by
 * then, and an object alive then and later was in Sk; ids above it were handed out afterwards.
 * (DevTools' "objects allocated between snapshots" filter rests on the same fact.) Native
 * (embedder) objects get even ids that need not follow that order; there are a few hundred of
 * them, so their ids are kept as a sorted set.
 */
export interface IdHorizon {
  /** the largest odd (JavaScript heap object) id in the snapshot */
  maxJsId: number;
  /** the snapshot's even (native) ids, sorted */
  nativeIds: SortedIds;
}

export function idHorizon(raw: RawHeapSnapshot): IdHorizon {
  const ids = raw.nodeId;
  const n = raw.nodeCount;
  let natives = 0;
  for (let i = 0; i < n; i++) if (ids[i]! % 2 === 0) natives++;
  const nativeIds = ids instanceof Uint32Array ? new Uint32Array(natives) : new Float64Array(natives);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    if (id % 2 === 0) nativeIds[k++] = id;
  }
  nativeIds.sort();
  return { maxJsId: maxJsId(raw), nativeIds };
}

/** whether the object with this id (alive in a later snapshot) existed when `h`'s snapshot was taken */
export function existedAt(h: IdHorizon, id: number): boolean {
  return id % 2 === 1 ? id <= h.maxJsId : hasId(h.nativeIds, id);
}

/**
 * For each node of a later snapshot, bit s set when the object existed at the time of the
 * snapshot of `horizons[s]` (at most 32).
 */
export function presence(raw: RawHeapSnapshot, horizons: IdHorizon[]): Uint32Array {
  if (horizons.length > 32) throw new RangeError('presence: at most 32 snapshots');
  const n = raw.nodeCount;
  const k = horizons.length;
  const out = new Uint32Array(n);
  const ids = raw.nodeId;
  for (let v = 0; v < n; v++) {
    const id = ids[v]!;
    let bits = 0;
    for (let s = 0; s < k; s++) if (existedAt(horizons[s]!, id)) bits |= 1 << s;
    out[v] = bits >>> 0;
  }
  return out;
}

/** the largest odd (JavaScript heap object) id of a snapshot: idHorizon(raw).maxJsId, cheaply */
export function maxJsId(raw: RawHeapSnapshot): number {
  const ids = raw.nodeId;
  let max = 0;
  for (let i = 0; i < raw.nodeCount; i++) {
    const id = ids[i]!;
    if (id > max && id % 2 === 1) max = id;
  }
  return max;
}
