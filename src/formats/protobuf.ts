/**
 * Minimal protobuf wire-format primitives, written for decode speed on large inputs.
 * Every read is bounds-checked against the end of the current message: a length prefix that
 * claims more bytes than remain raises E_TRUNCATED before anything is allocated, so memory stays
 * bounded by the input size.
 */
import { LeakscopeError } from '../core/errors.js';
import { encodeByteString, hasEscapedBytes } from './byte-strings.js';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const TWO32 = 4294967296;
const MAX_SAFE_HI = 0x1fffff; // 2^53 = hi < 2^21

const utf8 = new TextDecoder('utf-8', { fatal: false });

export class ProtoReader {
  readonly buf: Uint8Array;
  pos: number;
  end: number;
  /** set by readInt64 when the last value exceeded 2^53 in magnitude */
  lastBig: bigint | undefined;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.lastBig = undefined;
  }

  truncated(what: string): LeakscopeError {
    return new LeakscopeError('E_TRUNCATED', `truncated protobuf: ${what} runs past the end of the data (offset ${this.pos})`);
  }

  /** Reads a non-negative varint that must be a safe integer (tags, lengths). */
  readVarint32(): number {
    const buf = this.buf;
    const pos = this.pos;
    if (pos < this.end) {
      const b = buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    const v = this.readInt64();
    if (this.lastBig !== undefined || v < 0) {
      throw new LeakscopeError('E_CORRUPT', `corrupt protobuf: varint out of range at offset ${this.pos}`);
    }
    return v;
  }

  /**
   * Reads a varint as a signed int64 (two's complement, as profile.proto's int64 fields are).
   * Returns a double; when the magnitude exceeds 2^53 the exact value is left in `lastBig`.
   */
  readInt64(): number {
    const buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    if (pos >= end) throw this.truncated('varint');
    let b = buf[pos++]!;
    if (b < 0x80) {
      this.pos = pos;
      this.lastBig = undefined;
      return b;
    }
    let lo = b & 0x7f;
    let hi = 0;
    let shift = 7;
    // low 28 bits
    while (shift < 28) {
      if (pos >= end) throw this.truncated('varint');
      b = buf[pos++]!;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        this.lastBig = undefined;
        return lo;
      }
      shift += 7;
    }
    // byte 5 straddles bits 28..34
    if (pos >= end) throw this.truncated('varint');
    b = buf[pos++]!;
    lo = (lo | ((b & 0x0f) << 28)) >>> 0;
    hi = (b & 0x7f) >> 4;
    if (b >= 0x80) {
      shift = 3;
      for (;;) {
        if (pos >= end) throw this.truncated('varint');
        b = buf[pos++]!;
        hi = (hi | ((b & 0x7f) << shift)) >>> 0;
        if (b < 0x80) break;
        shift += 7;
        if (shift >= 31) {
          // 10th byte may only carry the last bit
          if (pos >= end) throw this.truncated('varint');
          b = buf[pos++]!;
          if (b >= 0x80) throw new LeakscopeError('E_CORRUPT', `corrupt protobuf: varint longer than 10 bytes at offset ${pos}`);
          hi = (hi | ((b & 0x01) << 31)) >>> 0;
          break;
        }
      }
    }
    this.pos = pos;
    return this.combine(lo, hi);
  }

  private combine(lo: number, hi: number): number {
    if (hi & 0x80000000) {
      // negative: -(~x + 1)
      const nlo = (~lo >>> 0) + 1;
      let nhi = ~hi >>> 0;
      let l = nlo;
      if (nlo === TWO32) {
        l = 0;
        nhi = (nhi + 1) >>> 0;
      }
      if (nhi <= MAX_SAFE_HI) {
        this.lastBig = undefined;
        return -(nhi * TWO32 + l);
      }
      this.lastBig = -((BigInt(nhi) << 32n) | BigInt(l));
      return Number(this.lastBig);
    }
    if (hi <= MAX_SAFE_HI) {
      this.lastBig = undefined;
      return hi * TWO32 + lo;
    }
    this.lastBig = (BigInt(hi) << 32n) | BigInt(lo);
    return Number(this.lastBig);
  }

  /** Reads a uint64 varint exactly, as a bigint (addresses, memory ranges). */
  readUint64Big(): bigint {
    const v = this.readInt64();
    const exact = this.lastBig !== undefined ? this.lastBig : BigInt(v);
    return exact < 0n ? exact + (1n << 64n) : exact;
  }

  /** Reads a uint64 id: must be a safe integer. */
  readId(what: string): number {
    const v = this.readInt64();
    if (this.lastBig !== undefined || v < 0) {
      throw new LeakscopeError('E_MALFORMED', `malformed profile: ${what} id ${this.lastBig ?? v} is out of range`);
    }
    return v;
  }

  readLength(what: string): number {
    const n = this.readVarint32();
    if (n > this.end - this.pos) {
      throw new LeakscopeError(
        'E_TRUNCATED',
        `truncated protobuf: ${what} claims ${n} bytes but only ${this.end - this.pos} remain (offset ${this.pos})`,
      );
    }
    return n;
  }

  readString(what: string): string {
    const n = this.readLength(what);
    const start = this.pos;
    this.pos += n;
    if (n === 0) return '';
    // Fast path for short ASCII strings.
    if (n < 48) {
      const buf = this.buf;
      let ascii = true;
      for (let i = start; i < start + n; i++) {
        if (buf[i]! >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) return String.fromCharCode.apply(null, buf.subarray(start, start + n) as unknown as number[]);
    }
    return utf8.decode(this.buf.subarray(start, start + n));
  }

  readBool(): boolean {
    return this.readInt64() !== 0;
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.readInt64();
        return;
      case WIRE_I64:
        if (this.end - this.pos < 8) throw this.truncated('fixed64');
        this.pos += 8;
        return;
      case WIRE_LEN: {
        const n = this.readLength('field');
        this.pos += n;
        return;
      }
      case WIRE_I32:
        if (this.end - this.pos < 4) throw this.truncated('fixed32');
        this.pos += 4;
        return;
      default:
        throw new LeakscopeError('E_CORRUPT', `corrupt protobuf: unsupported wire type ${wire} at offset ${this.pos}`);
    }
  }
}

/** A growable byte buffer with protobuf writers. */
export class ProtoWriter {
  buf: Uint8Array;
  len = 0;

  constructor(capacity = 1024) {
    this.buf = new Uint8Array(capacity);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  /** Writes a non-negative integer (≤ 2^53) as a varint. */
  varint(v: number): void {
    this.ensure(10);
    const buf = this.buf;
    let len = this.len;
    if (v < 0x80) {
      buf[len++] = v;
      this.len = len;
      return;
    }
    while (v >= 0x80) {
      buf[len++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[len++] = v;
    this.len = len;
  }

  /** Writes a signed int64 (two's complement, 10 bytes when negative). */
  int64(v: number): void {
    if (v >= 0) {
      this.varint(v);
      return;
    }
    this.int64Big(BigInt(v));
  }

  int64Big(v: bigint): void {
    let u = BigInt.asUintN(64, v);
    this.ensure(10);
    while (u >= 0x80n) {
      this.buf[this.len++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.len++] = Number(u);
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** field: varint, omitted when zero (proto3 default). */
  fieldInt(field: number, v: number): void {
    if (v === 0) return;
    this.tag(field, WIRE_VARINT);
    this.int64(v);
  }

  fieldBig(field: number, v: bigint): void {
    if (v === 0n) return;
    this.tag(field, WIRE_VARINT);
    this.int64Big(v);
  }

  fieldBool(field: number, v: boolean): void {
    if (!v) return;
    this.tag(field, WIRE_VARINT);
    this.varint(1);
  }

  fieldString(field: number, s: string): void {
    // bytes that were not UTF-8 were decoded as escaped bytes (byte-strings.ts): written back as themselves
    const b = hasEscapedBytes(s) ? encodeByteString(s) : encoder.encode(s);
    this.tag(field, WIRE_LEN);
    this.varint(b.length);
    this.bytes(b);
  }

  fieldMessage(field: number, m: ProtoWriter): void {
    this.tag(field, WIRE_LEN);
    this.varint(m.len);
    this.ensure(m.len);
    this.buf.set(m.buf.subarray(0, m.len), this.len);
    this.len += m.len;
  }

  reset(): void {
    this.len = 0;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

const encoder = new TextEncoder();
