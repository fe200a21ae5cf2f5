/**
 * Node's own profile files as pprof profiles: `.cpuprofile` (written by `node --cpu-prof`, Chrome
 * DevTools and the inspector's Profiler.stop) and `.heapprofile` (`node --heap-prof`,
 * HeapProfiler.getSamplingProfile). Pure: text in, Profile out.
 *
 * What the files do not say, and what is assumed instead:
 * - a `.cpuprofile` records no sampling interval: the median of its `timeDeltas` is taken as the
 *   period (Node's `--cpu-prof-interval` defaults to 1000 µs), and every sample counts one period;
 * - a `.heapprofile` records no sampling interval either: 512 KiB is assumed (Node's
 *   `--heap-prof-interval` default). It only scales nothing here (V8 reports sample sizes already
 *   scaled), but it is the profile's period. Its samples are the ones still alive when the file
 *   was written, so the types are `inuse_*`, as the agent's.
 */
import { LeakscopeError } from '../core/errors.js';
import type { Profile } from '../core/profile.js';
import { cpuProfileToPprof, heapProfileToPprof, type V8CpuProfile, type V8SamplingHeapProfile } from './v8-profiles.js';

export const HEAP_PROF_DEFAULT_INTERVAL = 512 * 1024;

/** Which Node JSON profile these bytes start like, judging by the first bytes only. */
export function sniffJsonProfile(head: string): 'json' | 'heapsnapshot' | undefined {
  const t = head.trimStart();
  if (!t.startsWith('{')) return undefined;
  if (/^\{\s*"snapshot"\s*:/.test(t)) return 'heapsnapshot';
  return 'json';
}

function corrupt(name: string, what: string): LeakscopeError {
  return new LeakscopeError('E_CORRUPT', `${name}: ${what}`);
}

function isCallFrame(x: unknown): boolean {
  const f = x as Record<string, unknown> | null;
  return !!f && typeof f === 'object' && typeof f.functionName === 'string' && typeof f.url === 'string' && typeof f.lineNumber === 'number';
}

/** A parsed `.cpuprofile` / `.heapprofile` document as a pprof Profile. */
export function v8JsonToPprof(doc: unknown, name: string): Profile {
  const d = doc as Record<string, unknown> | null;
  if (!d || typeof d !== 'object' || Array.isArray(d)) throw new LeakscopeError('E_NOT_PROFILE', `${name}: JSON, but not a .cpuprofile or .heapprofile`);
  if (Array.isArray(d.nodes) && typeof d.startTime === 'number') return cpu(d, name);
  if (d.head && typeof d.head === 'object') return heap(d, name);
  throw new LeakscopeError('E_NOT_PROFILE', `${name}: JSON, but not a .cpuprofile (nodes, startTime) or .heapprofile (head)`);
}

function cpu(d: Record<string, unknown>, name: string): Profile {
  const nodes = d.nodes as unknown[];
  for (const n of nodes) {
    const o = n as Record<string, unknown> | null;
    if (!o || typeof o.id !== 'number' || !isCallFrame(o.callFrame)) throw corrupt(name, '.cpuprofile node without a numeric id or a callFrame');
    if (o.children !== undefined && (!Array.isArray(o.children) || !o.children.every((c) => typeof c === 'number'))) throw corrupt(name, '.cpuprofile node children are not ids');
  }
  const samples = d.samples ?? [];
  const deltas = d.timeDeltas ?? [];
  if (!Array.isArray(samples) || !samples.every((s) => typeof s === 'number')) throw corrupt(name, '.cpuprofile samples are not node ids');
  if (!Array.isArray(deltas) || !deltas.every((s) => typeof s === 'number')) throw corrupt(name, '.cpuprofile timeDeltas are not numbers');
  if (typeof d.endTime !== 'number') throw corrupt(name, '.cpuprofile without endTime');
  const profile = d as unknown as V8CpuProfile;
  const interval = medianInterval(deltas as number[]);
  return cpuProfileToPprof(profile, {
    intervalMicros: interval,
    comments: [`converted from a V8 .cpuprofile; period = median sample interval (${interval} µs)`],
  });
}

/** the median of the positive time deltas, µs (1000 when there are none: Node's default) */
function medianInterval(deltas: number[]): number {
  const xs = deltas.filter((x) => x > 0).sort((a, b) => a - b);
  if (xs.length === 0) return 1000;
  return xs[xs.length >> 1]!;
}

function heap(d: Record<string, unknown>, name: string): Profile {
  // the tree can be deep: check it iteratively
  const stack: unknown[] = [d.head];
  while (stack.length > 0) {
    const o = stack.pop() as Record<string, unknown> | null;
    if (!o || typeof o !== 'object' || typeof o.id !== 'number' || typeof o.selfSize !== 'number' || !isCallFrame(o.callFrame) || !Array.isArray(o.children)) {
      throw corrupt(name, '.heapprofile node without id, selfSize, callFrame or children');
    }
    for (const c of o.children) stack.push(c);
  }
  const comments = ['converted from a V8 .heapprofile; sampling interval assumed 512 KiB (Node\'s --heap-prof-interval default)'];
  let samples = d.samples;
  if (samples === undefined) {
    // Files from before V8 listed samples (DevTools saves of old Chrome versions) hold only each
    // node's selfSize: one sample per allocation site carries it.
    const synth: { size: number; nodeId: number; ordinal: number }[] = [];
    const walk: Record<string, unknown>[] = [d.head as Record<string, unknown>];
    while (walk.length > 0) {
      const o = walk.pop()!;
      if ((o.selfSize as number) > 0) synth.push({ size: o.selfSize as number, nodeId: o.id as number, ordinal: synth.length });
      for (const c of o.children as Record<string, unknown>[]) walk.push(c);
    }
    samples = synth;
    comments.push('the file lists no samples: inuse_space from each node\'s selfSize, inuse_objects counts allocation sites');
  }
  if (!Array.isArray(samples) || !samples.every((s) => s && typeof s === 'object' && typeof s.size === 'number' && typeof s.nodeId === 'number' && typeof s.ordinal === 'number')) {
    throw corrupt(name, '.heapprofile samples need size, nodeId and ordinal');
  }
  const profile = { head: d.head, samples } as unknown as V8SamplingHeapProfile;
  return heapProfileToPprof(profile, { interval: HEAP_PROF_DEFAULT_INTERVAL, comments });
}
