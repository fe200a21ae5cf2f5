/**
 * Object ids across snapshots. V8 keeps an object's id for the life of the isolate, so ids match
 * objects between snapshots of one process. Sets of ids are sorted typed arrays searched by
 * bisection: no Map/Set keyed by id (they fail above 2^24 entries and cost ~50 bytes an entry).
 */
import type { RawHeapSnapshot } from '../../formats/heapsnapshot.js';

export type SortedIds = Uint32Array | Float64Array;

/** the snapshot's ids, sorted ascending */
export function sortedIds(raw: RawHeapSnapshot): SortedIds {
  const ids = raw.nodeId.slice();
  ids.sort();
  return ids;
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
  if (ids instanceof Uint32Array) {
    // Pack (id, ordinal) into one u64 (id in the high word) and sort natively.
    const packed = new BigUint64Array(n);
    const words = new Uint32Array(packed.buffer);
    const le = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
    for (let i = 0; i < n; i++) {
      words[2 * i + (le ? 1 : 0)] = ids[i]!;
      words[2 * i + (le ? 0 : 1)] = i;
    }
    packed.sort();
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = words[2 * i + (le ? 0 : 1)]!;
    return out;
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
 * For each node of a snapshot, bit s set when its id is in `sets[s]` (at most 32 sets): one
 * linear merge of the snapshot's ids (sorted once) with each sorted set, no per-node search.
 */
export function presence(raw: RawHeapSnapshot, sets: SortedIds[]): Uint32Array {
  if (sets.length > 32) throw new RangeError('presence: at most 32 id sets');
  const n = raw.nodeCount;
  const out = new Uint32Array(n);
  const order = ordinalsById(raw);
  const ids = raw.nodeId;
  for (let s = 0; s < sets.length; s++) {
    const set = sets[s]!;
    const bit = (1 << s) >>> 0;
    let j = 0;
    for (let i = 0; i < n; i++) {
      const v = order[i]!;
      const id = ids[v]!;
      while (j < set.length && set[j]! < id) j++;
      if (j < set.length && set[j] === id) out[v] = (out[v]! | bit) >>> 0;
    }
  }
  return out;
}
