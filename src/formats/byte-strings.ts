/**
 * Profile strings are bytes (Go strings), not always UTF-8: a function name may hold any byte.
 * go tool pprof prints such bytes unchanged. To do the same, bytes that are not part of a valid
 * UTF-8 sequence are kept in the JS string as lone low surrogates U+DC80–U+DCFF (one per byte,
 * the "surrogate escape" of PEP 383) — well-formed UTF-8 can never decode to a lone surrogate, so
 * the escape is unambiguous — and turned back into the same bytes when text is written out.
 */

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** bytes[start, end) → string; valid UTF-8 as usual, every other byte b as U+DC00 + b. */
export function decodeByteString(buf: Uint8Array, start: number, end: number): string {
  const sub = buf.subarray(start, end);
  try {
    return fatalUtf8.decode(sub);
  } catch {
    return decodeEscaped(sub);
  }
}

/** Length of the valid UTF-8 sequence starting at b[i], or 0 when the byte starts none. */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c >= 0xe1 && c <= 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

function decodeEscaped(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const n = sequenceLength(b, i);
    if (n === 0) {
      out += String.fromCharCode(0xdc00 + b[i]!);
      i++;
    } else {
      out += fatalUtf8.decode(b.subarray(i, i + n));
      i += n;
    }
  }
  return out;
}

/** An escaped byte: a low surrogate U+DC80–U+DCFF not preceded by a high one. */
const ESCAPED = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;

/** Does `s` hold escaped bytes (so that encodeByteString must be used to write it)? */
export function hasEscapedBytes(s: string): boolean {
  return ESCAPED.test(s);
}

/** string → UTF-8 bytes, each escaped byte written back as itself. */
export function encodeByteString(s: string): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  let total = 0;
  let from = 0;
  const push = (u: Uint8Array): void => {
    parts.push(u);
    total += u.length;
  };
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xdc80 || c > 0xdcff) continue;
    const prev = i > 0 ? s.charCodeAt(i - 1) : 0;
    if (prev >= 0xd800 && prev <= 0xdbff) continue;
    if (i > from) push(enc.encode(s.slice(from, i)));
    push(Uint8Array.of(c - 0xdc00));
    from = i + 1;
  }
  if (from < s.length) push(enc.encode(s.slice(from)));
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
