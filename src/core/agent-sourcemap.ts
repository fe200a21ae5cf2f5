/**
 * Source map v3 lookup for the Node agent: maps a generated (line, column) of a compiled `.js` file
 * back to the original `.ts` source and line. Pure: the agent layer reads the files and hands the
 * text in.
 *
 * Invariants:
 * - Lines and columns given to `lookup` are 0-based, as V8 reports them; the result line is 1-based
 *   (what pprof and editors show), the column 0-based.
 * - Mappings are decoded once per map into flat typed arrays (one row per segment), so a map of any
 *   size costs four numbers per segment and no object per segment.
 * - Malformed input never throws out of `parseSourceMap` with anything but a LeakscopeError, and a
 *   lookup that falls outside the map returns undefined.
 */
import { LeakscopeError } from './errors.js';

const B64 = new Int8Array(128).fill(-1);
{
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < chars.length; i++) B64[chars.charCodeAt(i)] = i;
}

/**
 * Decodes one base64 VLQ field starting at `pos` of `s`. Returns the value and the next position.
 * Throws E_MALFORMED on a bad digit or a field that runs past the segment.
 */
export function decodeVlq(s: string, pos: number): { value: number; next: number } {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= s.length) throw new LeakscopeError('E_MALFORMED', 'source map: VLQ field ends early');
    const c = s.charCodeAt(pos++);
    const d = c < 128 ? B64[c]! : -1;
    if (d < 0) throw new LeakscopeError('E_MALFORMED', `source map: bad base64 digit '${s[pos - 1]}'`);
    // 32-bit fields at most: 7 digits carry 35 bits, more is corrupt input.
    if (shift > 30) throw new LeakscopeError('E_MALFORMED', 'source map: VLQ field too long');
    result += (d & 31) * 2 ** shift;
    shift += 5;
    if ((d & 32) === 0) break;
  }
  const negative = result % 2 === 1;
  const magnitude = Math.floor(result / 2);
  return { value: negative ? -magnitude : magnitude, next: pos };
}

/** Encodes one value as base64 VLQ (used by tests and tools that write maps). */
export function encodeVlq(value: number): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let v = value < 0 ? -value * 2 + 1 : value * 2;
  let out = '';
  do {
    let digit = v % 32;
    v = Math.floor(v / 32);
    if (v > 0) digit |= 32;
    out += chars[digit];
  } while (v > 0);
  return out;
}

export interface SourceMapIndex {
  /** resolved source names (sourceRoot applied) */
  sources: string[];
  /** start of each generated line's segments in the arrays below; length = lines + 1 */
  lineStart: Uint32Array;
  genColumn: Uint32Array;
  /** -1 when the segment maps to no source */
  source: Int32Array;
  origLine: Uint32Array;
  origColumn: Uint32Array;
}

export interface OriginalPosition {
  source: string;
  /** 1-based */
  line: number;
  /** 0-based */
  column: number;
}

interface RawMap {
  version?: unknown;
  sources?: unknown;
  sourceRoot?: unknown;
  mappings?: unknown;
  sections?: unknown;
}

/**
 * Parses a v3 source map (JSON text or an already parsed object). Index maps (`sections`) are not
 * supported: TypeScript and the common bundlers for Node services write plain maps.
 */
export function parseSourceMap(input: string | object): SourceMapIndex {
  let raw: RawMap;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input) as RawMap;
    } catch (e) {
      throw new LeakscopeError('E_MALFORMED', `source map: not JSON (${(e as Error).message})`);
    }
  } else raw = input as RawMap;
  if (raw === null || typeof raw !== 'object') throw new LeakscopeError('E_MALFORMED', 'source map: not an object');
  if (raw.sections !== undefined) throw new LeakscopeError('E_MALFORMED', 'source map: index maps (sections) are not supported');
  if (raw.version !== 3) throw new LeakscopeError('E_MALFORMED', `source map: version ${String(raw.version)} is not 3`);
  if (!Array.isArray(raw.sources) || typeof raw.mappings !== 'string') {
    throw new LeakscopeError('E_MALFORMED', 'source map: missing sources or mappings');
  }
  const root = typeof raw.sourceRoot === 'string' ? raw.sourceRoot : '';
  const sources = raw.sources.map((x) => {
    const name = typeof x === 'string' ? x : '';
    if (root === '' || name.startsWith('/') || /^[a-z]+:/i.test(name)) return name;
    return root.endsWith('/') ? root + name : `${root}/${name}`;
  });
  const m = raw.mappings;
  // Upper bound on segments: one per ',' or ';' plus one.
  let bound = 1;
  let lines = 1;
  for (let i = 0; i < m.length; i++) {
    const c = m.charCodeAt(i);
    if (c === 44) bound++;
    else if (c === 59) {
      bound++;
      lines++;
    }
  }
  const lineStart = new Uint32Array(lines + 1);
  const genColumn = new Uint32Array(bound);
  const source = new Int32Array(bound);
  const origLine = new Uint32Array(bound);
  const origColumn = new Uint32Array(bound);
  let n = 0;
  let line = 0;
  let col = 0;
  let src = 0;
  let oLine = 0;
  let oCol = 0;
  let pos = 0;
  while (pos <= m.length) {
    if (pos === m.length) break;
    const c = m.charCodeAt(pos);
    if (c === 59) {
      line++;
      lineStart[line] = n;
      col = 0;
      pos++;
      continue;
    }
    if (c === 44) {
      pos++;
      continue;
    }
    // one segment: 1, 4 or 5 fields
    const f: number[] = [];
    while (pos < m.length && m.charCodeAt(pos) !== 44 && m.charCodeAt(pos) !== 59) {
      const r = decodeVlq(m, pos);
      f.push(r.value);
      pos = r.next;
      if (f.length > 5) throw new LeakscopeError('E_MALFORMED', 'source map: segment with more than 5 fields');
    }
    col += f[0]!;
    if (col < 0) throw new LeakscopeError('E_MALFORMED', 'source map: negative generated column');
    genColumn[n] = col;
    if (f.length >= 4) {
      src += f[1]!;
      oLine += f[2]!;
      oCol += f[3]!;
      if (src < 0 || src >= sources.length || oLine < 0 || oCol < 0) {
        throw new LeakscopeError('E_MALFORMED', 'source map: segment points outside the sources');
      }
      source[n] = src;
      origLine[n] = oLine;
      origColumn[n] = oCol;
    } else if (f.length === 1) {
      source[n] = -1;
    } else {
      throw new LeakscopeError('E_MALFORMED', `source map: segment with ${f.length} fields`);
    }
    n++;
  }
  for (let l = line + 1; l <= lines; l++) lineStart[l] = n;
  return {
    sources,
    lineStart,
    genColumn: genColumn.subarray(0, n),
    source: source.subarray(0, n),
    origLine: origLine.subarray(0, n),
    origColumn: origColumn.subarray(0, n),
  };
}

/**
 * The original position of generated (line, column), both 0-based: the last segment on that line
 * whose column is ≤ the given one. When the line has segments but all start after `column` (a
 * function whose start V8 reports just before the first mapped token), the first segment of the
 * line is used. Undefined when the line has no mapped segment.
 */
export function lookupSourceMap(map: SourceMapIndex, line: number, column: number): OriginalPosition | undefined {
  if (line < 0 || line + 1 >= map.lineStart.length) return undefined;
  const a = map.lineStart[line]!;
  const z = map.lineStart[line + 1]!;
  if (a >= z) return undefined;
  // binary search for the last segment with genColumn <= column
  let lo = a;
  let hi = z - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (map.genColumn[mid]! <= column) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (best < 0 || map.source[best]! < 0) {
    // fall forward to the first segment on the line that maps somewhere
    best = -1;
    for (let i = a; i < z; i++) {
      if (map.source[i]! >= 0) {
        best = i;
        break;
      }
    }
    if (best < 0) return undefined;
  }
  return { source: map.sources[map.source[best]!]!, line: map.origLine[best]! + 1, column: map.origColumn[best]! };
}

/**
 * The `sourceMappingURL` of a script: the last `//# sourceMappingURL=` (or `//@`) comment in its
 * final lines. Undefined when there is none.
 */
export function findSourceMappingURL(script: string): string | undefined {
  const tail = script.length > 65536 ? script.slice(script.length - 65536) : script;
  const re = /(?:^|\n)\s*\/\/[#@]\s*sourceMappingURL=([^\s'"]+)\s*$/gm;
  let last: string | undefined;
  for (let m = re.exec(tail); m !== null; m = re.exec(tail)) last = m[1];
  // A data: URL longer than the tail window is caught by searching the whole text.
  if (last === undefined && tail !== script) {
    const i = script.lastIndexOf('sourceMappingURL=');
    if (i >= 0) {
      const rest = script.slice(i + 'sourceMappingURL='.length);
      const end = rest.search(/\s/);
      last = end < 0 ? rest : rest.slice(0, end);
    }
  }
  return last;
}

/** Decodes a `data:application/json;base64,…` (or percent-encoded) source map URL to its JSON text. */
export function decodeDataUrl(url: string): string | undefined {
  const m = /^data:([^,]*),(.*)$/s.exec(url);
  if (!m) return undefined;
  const meta = m[1]!;
  const body = m[2]!;
  if (/;base64$/i.test(meta)) return base64ToUtf8(body);
  try {
    return decodeURIComponent(body);
  } catch {
    return undefined;
  }
}

function base64ToUtf8(b64: string): string | undefined {
  const clean = b64.replace(/=+$/, '');
  const bytes = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < clean.length; i++) {
    const c = clean.charCodeAt(i);
    const d = c < 128 ? B64[c]! : -1;
    if (d < 0) return undefined;
    acc = (acc << 6) | d;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[n++] = (acc >> bits) & 255;
    }
  }
  return new TextDecoder().decode(bytes.subarray(0, n));
}
