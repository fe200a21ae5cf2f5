/**
 * What a container's layout in the last snapshot says about whether it is a bounded cache rather
 * than a leak. Each function looks at one node's outgoing edges; none allocates per heap node.
 */
import type { HeapGraph } from './graph.js';

/**
 * The name strings of V8's empty values (`undefined`, `null`, the hole): `system / Oddball`,
 * and `system / Hole` since V8 12 (Node 22) made the hole its own kind of object.
 */
function emptyNames(g: HeapGraph): Set<number> {
  return new Set(['system / Oddball', 'system / Hole'].map((s) => g.strings.indexOf(s)).filter((x) => x >= 0));
}

/**
 * A Map's or Set's hash table (V8's OrderedHashMap / OrderedHashSet, a FixedArray: 3 header
 * slots, capacity/2 buckets, then entries of 3 (Map: key, value, chain) or 2 (Set) slots in
 * insertion order). A deleted entry is cleared in place and stays until the next rehash, so
 * entries missing below the last used one are entries the program removed. Returns the live and
 * removed entries, or null when the table's size does not fit the layout (another V8 layout).
 * Entries whose key and value are both small integers or oddballs are not in the snapshot and
 * count as removed; leaked objects are heap objects, so a leak's table has a heap value per entry.
 */
export function hashTableEntries(g: HeapGraph, table: number, entrySize: 2 | 3): { live: number; removed: number } | null {
  const raw = g.raw;
  const self = raw.nodeSelfSize[table]!;
  const empty = emptyNames(g);
  for (const ptr of [8, 4]) {
    const slots = (self - 2 * ptr) / ptr;
    const cap = (2 * (slots - 3)) / (2 * entrySize + 1);
    if (!Number.isInteger(cap) || cap < 2 || (cap & (cap - 1)) !== 0) continue;
    const start = 3 + cap / 2;
    const used = new Uint8Array(cap);
    let maxEntry = -1;
    const fe = raw.firstEdge;
    for (let e = fe[table]!; e < fe[table + 1]!; e++) {
      const ty = raw.edgeType[e]!;
      let idx: number;
      if (ty === g.t.eElement || ty === g.t.eHidden) idx = raw.edgeNameOrIndex[e]!;
      else if (ty === g.t.eInternal) idx = Number(g.strings[raw.edgeNameOrIndex[e]!]);
      else continue;
      if (!Number.isInteger(idx) || idx < start) continue;
      const entry = Math.floor((idx - start) / entrySize);
      if (entry >= cap) continue;
      const w = raw.edgeTo[e]!;
      if (empty.has(raw.nodeName[w]!)) continue;
      used[entry] = 1;
      if (entry > maxEntry) maxEntry = entry;
    }
    let live = 0;
    for (let k = 0; k <= maxEntry; k++) live += used[k]!;
    return { live, removed: maxEntry + 1 - live };
  }
  return null;
}

/**
 * An array's element slots: in use (a heap object) and free (`undefined`, `null`, holes written
 * as oddballs). lru-cache preallocates its key and value lists to `max` slots; a leaking array
 * grows by `push` and has no free slots.
 */
export function arraySlots(g: HeapGraph, arr: number): { used: number; free: number } {
  const raw = g.raw;
  const empty = emptyNames(g);
  let used = 0;
  let free = 0;
  const fe = raw.firstEdge;
  for (let e = fe[arr]!; e < fe[arr + 1]!; e++) {
    if (raw.edgeType[e] !== g.t.eElement) continue;
    if (empty.has(raw.nodeName[raw.edgeTo[e]!]!)) free++;
    else used++;
  }
  return { used, free };
}

/** npm packages whose caches are bounded by construction (a configured maximum) */
export const BOUNDED_CACHE_PACKAGES = ['lru-cache', 'quick-lru', 'tiny-lru', 'lru_map', 'mnemonist', 'lru.min', 'flru', 'hashlru'];

/** the bounded-cache package a file belongs to, or null */
export function boundedCachePackage(file: string): string | null {
  const m = /[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)[\\/](?!.*[\\/]node_modules[\\/])/.exec(file);
  return m && BOUNDED_CACHE_PACKAGES.includes(m[1]!) ? m[1]! : null;
}
