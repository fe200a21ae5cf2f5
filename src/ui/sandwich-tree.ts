/**
 * The sandwich beyond one level, as speedscope's sandwich view walks it: a function's callers
 * (and their callers, …) and its callees (and theirs, …), one step at a time, each step's weights
 * conditioned on the whole path so far — "who calls C1 when C1 calls F". Pure, from the flame
 * graph's layout (report/flame.ts: merged stacks), so it needs no server and works in an exported
 * page: a path's weight is the width of the function's outermost frames (a recursive call is
 * counted once, as cum is) under that path. Frames the layout merged (each under 0.1% of the
 * total) are left out of the steps below them.
 */
import type { FlameLayout } from '../report/flame.js';

export interface SandwichStep {
  /** the weight of the path itself (for `[fn]`: fn's cum, up to merged frames) */
  value: number;
  /** the next step's names, heaviest first, with their weights */
  children: { name: string; value: number }[];
  /** callees only: the last function's own share under the path (its self) */
  self: number;
}

const nameOf = (l: FlameLayout, i: number): string | undefined => (l.name[i]! >= 0 ? l.names[l.name[i]!] : undefined);

/** The outermost frames of `fn`: no ancestor has the same name. */
function outermost(l: FlameLayout, fn: string): number[] {
  const idx = l.names.indexOf(fn);
  if (idx < 0) return [];
  const out: number[] = [];
  for (let i = 0; i < l.name.length; i++) {
    if (l.name[i] !== idx) continue;
    let nested = false;
    for (let p = l.parent[i]!; p >= 0; p = l.parent[p]!) if (l.name[p] === idx) nested = true;
    if (!nested) out.push(i);
  }
  return out;
}

/**
 * One step of a sandwich: `path` is the function and then the names walked so far (outward:
 * callers of callers for `callers`, callees of callees for `callees`).
 */
export function sandwichStep(l: FlameLayout, path: string[], dir: 'callers' | 'callees'): SandwichStep {
  const acc = new Map<string, number>();
  let value = 0;
  let self = 0;
  if (path.length === 0) return { value, children: [], self };
  const children = new Map<number, number[]>();
  if (dir === 'callees') for (let i = 1; i < l.parent.length; i++) (children.get(l.parent[i]!) ?? children.set(l.parent[i]!, []).get(l.parent[i]!)!).push(i);
  for (const f of outermost(l, path[0]!)) {
    if (dir === 'callers') {
      // up the path: each ancestor must be the next name
      let a = f;
      let ok = true;
      for (let k = 1; k < path.length && ok; k++) {
        a = l.parent[a]!;
        ok = a >= 0 && nameOf(l, a) === path[k];
      }
      if (!ok) continue;
      value += Math.abs(l.width[f]!);
      const up = l.parent[a]!;
      const n = up >= 0 ? nameOf(l, up) : undefined;
      if (n !== undefined) acc.set(n, (acc.get(n) ?? 0) + Math.abs(l.width[f]!));
    } else {
      // down the path: the child with the next name (merged stacks: one per name)
      let ends = [f];
      for (let k = 1; k < path.length; k++) ends = ends.flatMap((e) => (children.get(e) ?? []).filter((c) => nameOf(l, c) === path[k]));
      for (const e of ends) {
        value += Math.abs(l.width[e]!);
        self += Math.abs(l.self[e]!);
        for (const c of children.get(e) ?? []) {
          const n = nameOf(l, c);
          if (n !== undefined) acc.set(n, (acc.get(n) ?? 0) + Math.abs(l.width[c]!));
        }
      }
    }
  }
  const list = [...acc].map(([name, v]) => ({ name, value: v })).sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { value, children: list, self };
}
