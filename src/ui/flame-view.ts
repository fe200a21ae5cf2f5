/**
 * The flame graph on a canvas: the layout (report/flame.ts) is computed once by the server; this
 * module only transforms it to the zoomed span, colours it and hit-tests the pointer. Zoom, search
 * and hover never rebuild the layout.
 */
import type { FlameLayout } from '../report/flame.js';

export const ROW = 18;

export interface Drawn {
  /** frame index in the layout */
  i: number;
  x: number;
  y: number;
  w: number;
  color: string;
}

export interface FlameState {
  /** the frame the view spans (0 = root) */
  zoom: number;
  /** compiled search, or undefined */
  search: RegExp | undefined;
}

/** The frame's label: its name, or what a merged frame stands for. */
export function frameName(l: FlameLayout, i: number): string {
  const n = l.name[i]!;
  if (n === -2) return 'root';
  if (n === -1) return `(${l.merged[i]} frames, each under ${(100 * (l.minWidth / Math.max(1, l.width[0]!))).toFixed(2)}% of the total)`;
  return l.names[n]!;
}

export function isAncestor(l: FlameLayout, a: number, i: number): boolean {
  for (let p = i; p >= 0; p = l.parent[p]!) if (p === a) return true;
  return false;
}

/** Frames matching the search and the share of the root they hold (nested matches count once). */
export function searchMatches(l: FlameLayout, re: RegExp): { matched: Uint8Array; value: number; share: number } {
  const n = l.start.length;
  const nameHit = l.names.map((s) => re.test(s));
  const matched = new Uint8Array(n);
  const covered = new Uint8Array(n); // a match at or above this frame
  let value = 0;
  // parents come before children in the layout
  for (let i = 0; i < n; i++) {
    const p = l.parent[i]!;
    const hit = l.name[i]! >= 0 && nameHit[l.name[i]!]!;
    if (hit) matched[i] = 1;
    if (p >= 0 && covered[p]) covered[i] = 1;
    else if (hit) {
      covered[i] = 1;
      value += l.width[i]!;
    }
  }
  const root = l.width[0]!;
  return { matched, value, share: root === 0 ? 0 : value / root };
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The package (Go) or file part of a name: frames of one package share a hue family. */
function packageOf(name: string): string {
  const sp = name.indexOf(' ');
  const fn = sp > 0 ? name.slice(0, sp) : name;
  const slash = fn.lastIndexOf('/');
  const dot = fn.indexOf('.', slash + 1);
  return dot > 0 ? fn.slice(0, dot) : fn;
}

/** Warm colours by package; merged frames grey. */
export function frameColor(l: FlameLayout, i: number): string {
  const n = l.name[i]!;
  if (n === -2) return '#c8c8c8';
  if (n === -1) return '#d9d9d9';
  const h = hash(packageOf(l.names[n]!));
  const hue = 10 + (h % 45);
  const light = 55 + ((h >>> 8) % 15);
  return `hsl(${hue}, 75%, ${light}%)`;
}

const maxChange = new WeakMap<FlameLayout, number>();

/**
 * Diff colour: red when the frame grew, green when it shrank, the intensity by the size of the
 * change relative to the largest change of any frame (square root, so that modest changes still
 * show): in a leaking service everything grows a little and the leak stands out.
 */
export function diffColor(l: FlameLayout, i: number): string {
  let max = maxChange.get(l);
  if (max === undefined) {
    max = 0;
    for (let k = 0; k < l.start.length; k++) max = Math.max(max, Math.abs(l.next![k]! - l.base![k]!));
    maxChange.set(l, max);
  }
  const d = l.next![i]! - l.base![i]!;
  const k = max === 0 ? 0 : Math.sqrt(Math.abs(d) / max);
  if (k < 0.02) return 'rgb(224, 224, 224)';
  // from light grey (224,224,224) to red (215,38,38) or green (36,160,60)
  const mix = (a: number, z: number) => Math.round(a + (z - a) * k);
  return d > 0 ? `rgb(${mix(224, 215)}, ${mix(224, 38)}, ${mix(224, 38)})` : `rgb(${mix(224, 36)}, ${mix(224, 160)}, ${mix(224, 60)})`;
}

/**
 * Which frames to draw and where, for a canvas `width` CSS pixels wide: the zoomed frame spans the
 * width; its ancestors are drawn full width above it; frames outside the span or under half a
 * pixel are skipped.
 */
export function visibleFrames(l: FlameLayout, st: FlameState, width: number): Drawn[] {
  const z = st.zoom;
  const vs = l.start[z]!;
  const vw = l.width[z]! || 1;
  const scale = width / vw;
  const out: Drawn[] = [];
  const n = l.start.length;
  const matched = st.search ? searchMatches(l, st.search).matched : undefined;
  const diff = l.base !== undefined;
  const zd = l.depth[z]!;
  for (let i = 0; i < n; i++) {
    const d = l.depth[i]!;
    let x: number;
    let w: number;
    if (d <= zd) {
      if (z !== 0 && !isAncestor(l, i, z)) continue;
      if (z === 0 && i !== 0) continue;
      x = 0;
      w = width;
    } else {
      const s = l.start[i]!;
      const e = s + l.width[i]!;
      if (e <= vs || s >= vs + vw) continue;
      x = (Math.max(s, vs) - vs) * scale;
      w = (Math.min(e, vs + vw) - Math.max(s, vs)) * scale;
      // frames deeper than the zoomed one inside its span are its descendants (siblings never overlap)
      if (w < 0.5) continue;
    }
    let color = diff ? diffColor(l, i) : frameColor(l, i);
    if (matched) color = matched[i] ? '#e040fb' : diff ? color : '#dcdcdc';
    out.push({ i, x, y: d * ROW, w, color });
  }
  return out;
}

/** Draws the frames; text is elided to what fits. */
export function draw(ctx: CanvasRenderingContext2D, l: FlameLayout, frames: Drawn[], width: number, height: number, dpr: number): void {
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = '12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
  ctx.textBaseline = 'middle';
  const charW = ctx.measureText('m').width || 7;
  for (const f of frames) {
    ctx.fillStyle = f.color;
    ctx.fillRect(f.x, f.y, Math.max(0.5, f.w - (f.w > 2 ? 1 : 0)), ROW - 1);
    if (f.w < 3 * charW) continue;
    // drawn without the package path, as pprof's flame graph does (the tooltip has the full name)
    const full = frameName(l, f.i);
    const name = /^(?:[\w\-.]+\/)+(.+)/.exec(full)?.[1] ?? full;
    const fit = Math.floor((f.w - 6) / charW);
    const text = name.length <= fit ? name : name.slice(0, Math.max(0, fit - 1)) + '…';
    ctx.fillStyle = '#1a1a1a';
    ctx.fillText(text, f.x + 3, f.y + ROW / 2);
  }
}

/** The frame under a point, from the last drawn list. */
export function hitTest(frames: Drawn[], x: number, y: number): Drawn | undefined {
  for (let k = frames.length - 1; k >= 0; k--) {
    const f = frames[k]!;
    if (y >= f.y && y < f.y + ROW && x >= f.x && x < f.x + f.w) return f;
  }
  return undefined;
}
