/**
 * The gperftools (C++) CPU profile and its Java variant, as go tool pprof reads them: a sequence of
 * machine words (32 or 64 bits, either byte order — the header tells which) starting with the
 * header 0, 3, 0 (C++) or 1 (Java), the sampling period in microseconds, 0; then samples
 * `count, depth, pc…` up to the marker 0, 1, 0; then text: the memory map (C++) or the Java
 * symbols. Values are samples/count and cpu/nanoseconds (count × period). pprof's clean-ups apply:
 * return addresses land on the call (-1, not the leaf), a frame the signal handler put second in
 * nearly every sample is dropped (twice at most), and a leaf recorded twice is kept once.
 *
 * Pure. `parseLegacyCpu` returns undefined when the bytes are not such a profile.
 */
import type { Profile } from '../core/profile.js';
import { buildLegacyProfile, dec, parseMemoryMap, scanLines, type LegacySample } from './legacy-common.js';
import { dropDuplicateLeaves, parseJavaFrames } from './legacy-text.js';

type WordReader = { size: 4 | 8; little: boolean };
const READERS: WordReader[] = [
  { size: 4, little: true },
  { size: 4, little: false },
  { size: 8, little: true },
  { size: 8, little: false },
];

function word(dv: DataView, off: number, r: WordReader): bigint {
  return r.size === 4 ? BigInt(dv.getUint32(off, r.little)) : dv.getBigUint64(off, r.little);
}

/** The header's reader and kind, when the bytes start with one. */
function header(bytes: Uint8Array): { r: WordReader; java: boolean; periodUs: bigint } | undefined {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const r of READERS) {
    if (bytes.length < 5 * r.size) continue;
    const w = [0, 1, 2, 3, 4].map((i) => word(dv, i * r.size, r));
    if (w[0] === 0n && w[1] === 3n && (w[2] === 0n || w[2] === 1n) && w[3]! > 0n && w[4] === 0n) return { r, java: w[2] === 1n, periodUs: w[3]! };
  }
  return undefined;
}

export function looksLikeLegacyCpu(bytes: Uint8Array): boolean {
  return header(bytes) !== undefined;
}

export function parseLegacyCpu(bytes: Uint8Array): Profile | undefined {
  const h = header(bytes);
  if (!h) return undefined;
  const { r, java } = h;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const period = Number(h.periodUs) * 1000;
  let off = 5 * r.size;
  const end = bytes.length;
  // pprof's reader: a word past the end reads as 0 and ends the data
  let exhausted = false;
  const next = (): bigint => {
    if (exhausted || off + r.size > end) {
      exhausted = true;
      return 0n;
    }
    const v = word(dv, off, r);
    off += r.size;
    return v;
  };
  const samples: LegacySample[] = [];
  const used = new Set<bigint>();
  while (!exhausted && off < end) {
    const count = next();
    const depth = next();
    if (exhausted || depth > BigInt(Math.floor((end - off) / 4))) return undefined;
    const addrs: bigint[] = [];
    for (let i = 0; i < Number(depth); i++) addrs.push(next());
    if (count === 0n && depth === 1n && addrs[0] === 0n) break; // end of data
    const c = Number(count);
    const stack = java ? addrs : addrs.map((a, i) => (i > 0 ? dec(a) : a));
    for (const a of stack) used.add(a);
    samples.push({ values: [c, c * period], addrs: stack });
  }
  const rest = exhausted ? '' : new TextDecoder('utf-8').decode(bytes.subarray(off));
  const sampleTypes = [
    { type: 'samples', unit: 'count' },
    { type: 'cpu', unit: 'nanoseconds' },
  ];
  const periodType = { type: 'cpu', unit: 'nanoseconds' };
  if (java) return buildLegacyProfile({ sampleTypes, periodType, period, samples, mappings: [], frames: parseJavaFrames(rest, used) });
  dropSignalFrames(samples);
  dropDuplicateLeaves(samples);
  return buildLegacyProfile({ sampleTypes, periodType, period, samples, mappings: parseMemoryMap(scanLines(rest)) });
}

/**
 * When (nearly) every sample has the same second frame, it is the signal handler's, not the
 * program's: pprof removes it, twice at most (one sample in 32 may differ).
 */
function dropSignalFrames(samples: LegacySample[]): void {
  const margin = Math.floor(samples.length / 32);
  for (let iter = 0; iter < 2; iter++) {
    const counts = new Map<bigint, number>();
    for (const s of samples) if (s.addrs.length > 1) counts.set(s.addrs[1]!, (counts.get(s.addrs[1]!) ?? 0) + 1);
    for (const [a, c] of counts) {
      if (c >= samples.length - margin) {
        for (const s of samples) if (s.addrs.length > 1 && s.addrs[1] === a) s.addrs.splice(1, 1);
        break;
      }
    }
  }
}
