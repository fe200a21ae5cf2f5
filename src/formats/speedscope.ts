/**
 * speedscope's file format (https://www.speedscope.app/file-format-schema.json): one "sampled"
 * profile per sample type, all sharing one frame table. The types below are written from the
 * format's specification (speedscope src/lib/file-format-spec.ts); only what we emit is modelled.
 *
 * Frames are per function (name, file, start line), so a function called from several lines is
 * one frame, as speedscope aggregates them. Stacks go root → leaf with inlined frames expanded
 * outermost first; stacks with the same frames are summed and zero-weight stacks dropped. Pure.
 */
import { LeakscopeError } from '../core/errors.js';
import type { Profile } from '../core/profile.js';
import { foldStacks } from './collapsed.js';

export const SPEEDSCOPE_SCHEMA = 'https://www.speedscope.app/file-format-schema.json';

export type SpeedscopeUnit = 'none' | 'nanoseconds' | 'microseconds' | 'milliseconds' | 'seconds' | 'bytes';

export interface SpeedscopeFrame {
  name: string;
  file?: string;
  line?: number;
  col?: number;
}

export interface SpeedscopeSampledProfile {
  type: 'sampled';
  name: string;
  unit: SpeedscopeUnit;
  startValue: number;
  endValue: number;
  /** stacks of indices into shared.frames, root first */
  samples: number[][];
  /** one weight per stack */
  weights: number[];
}

export interface SpeedscopeFile {
  $schema: typeof SPEEDSCOPE_SCHEMA;
  shared: { frames: SpeedscopeFrame[] };
  profiles: SpeedscopeSampledProfile[];
  name?: string;
  activeProfileIndex?: number;
  exporter?: string;
}

/** profile.proto unit → speedscope unit (anything it cannot express is 'none'). */
export function speedscopeUnit(unit: string): SpeedscopeUnit {
  switch (unit) {
    case 'nanoseconds':
    case 'microseconds':
    case 'milliseconds':
    case 'seconds':
    case 'bytes':
      return unit;
    default:
      return 'none';
  }
}

export interface SpeedscopeOptions {
  /** the profile name shown by speedscope (e.g. the source file name) */
  name?: string;
  /** which sample type speedscope opens first; default: the last one */
  sampleIndex?: number;
  /** written as `exporter` */
  exporter?: string;
}

/** Builds the speedscope document for a profile (see the module comment). */
export function toSpeedscope(p: Profile, opts: SpeedscopeOptions = {}): SpeedscopeFile {
  const nt = p.sampleTypes.length;
  if (nt === 0) throw new LeakscopeError('E_SAMPLE_INDEX', 'profile has no sample types');
  const active = opts.sampleIndex ?? nt - 1;
  if (active < 0 || active >= nt) throw new LeakscopeError('E_SAMPLE_INDEX', `sample index ${active} out of range [0..${nt - 1}]`);

  const frames: SpeedscopeFrame[] = [];
  const frameKey = new Map<string, number>();
  const frameOf = (name: string, file: string, line: number): number => {
    const key = `${name}\0${file}\0${line}`;
    let i = frameKey.get(key);
    if (i === undefined) {
      i = frames.length;
      const f: SpeedscopeFrame = { name };
      if (file) f.file = file;
      if (line > 0) f.line = line;
      frames.push(f);
      frameKey.set(key, i);
    }
    return i;
  };
  // Frame indices of each location, outermost first.
  const locFrames: number[][] = p.locations.map((l) => {
    const out: number[] = [];
    for (let i = l.lines.length - 1; i >= 0; i--) {
      const fn = l.lines[i]!.fn;
      if (fn >= 0) {
        const f = p.functions[fn]!;
        out.push(frameOf(f.name || `0x${l.address.toString(16)}`, f.filename, f.startLine));
      } else out.push(frameOf(`0x${l.address.toString(16)}`, '', 0));
    }
    if (out.length === 0) out.push(frameOf(`0x${l.address.toString(16)}`, '', 0));
    return out;
  });

  const f = foldStacks(p, locFrames);
  // Stacks of the nodes that carry a value of any type, built once for all types.
  const stackOf = new Map<number, number[]>();
  const stack = (n: number): number[] => {
    let s = stackOf.get(n);
    if (s === undefined) {
      s = [];
      for (let x = n; x > 0; x = f.parent[x]!) s.push(f.frame[x]!);
      s.reverse();
      stackOf.set(n, s);
    }
    return s;
  };
  const profiles: SpeedscopeSampledProfile[] = [];
  for (let t = 0; t < nt; t++) {
    const samples: number[][] = [];
    const weights: number[] = [];
    let total = 0;
    for (let n = 1; n < f.nodes; n++) {
      const key = n * nt + t;
      const b = f.big?.get(key);
      const w = b !== undefined ? Number(b) : f.values[key]!;
      if (w === 0) continue;
      samples.push(stack(n));
      weights.push(w);
      total += w;
    }
    const st = p.sampleTypes[t]!;
    profiles.push({
      type: 'sampled',
      name: `${opts.name ? `${opts.name} ` : ''}${st.type}`,
      unit: speedscopeUnit(st.unit),
      startValue: 0,
      endValue: total,
      samples,
      weights,
    });
  }
  const file: SpeedscopeFile = {
    $schema: SPEEDSCOPE_SCHEMA,
    shared: { frames },
    profiles,
    activeProfileIndex: active,
    exporter: opts.exporter ?? 'leakscope',
  };
  if (opts.name) file.name = opts.name;
  return file;
}

/** The speedscope document as JSON text. */
export function encodeSpeedscope(p: Profile, opts: SpeedscopeOptions = {}): string {
  return JSON.stringify(toSpeedscope(p, opts)) + '\n';
}
