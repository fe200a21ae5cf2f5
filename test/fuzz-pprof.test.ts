/**
 * Robustness of the pprof decoder: valid profiles are mutated (flipped, inserted and deleted
 * bytes, rewritten varints, huge length prefixes) and truncated thousands of times; decoding must
 * either succeed or throw LeakscopeError — never another exception, never a hang — and a length
 * prefix claiming gigabytes must be refused at once, without allocating.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { LeakscopeError } from '../src/core/errors.js';
import { decodeProfile, encodeProfile } from '../src/formats/pprof.js';
import { ProtoWriter } from '../src/formats/protobuf.js';
import { maybeGunzip, parseProfileBytes } from '../src/node/source.js';
import { makeProfile } from './helpers/profiles.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const peersDir = path.resolve(repoRoot, '..', 'shared', 'fixtures', 'peers', 'pprof', 'profiles');

/** Uncompressed seed profiles: ours, generated ones and small peer profiles when present. */
function seeds(): { name: string; bytes: Uint8Array }[] {
  const out: { name: string; bytes: Uint8Array }[] = [];
  const own = path.join(repoRoot, 'testdata', 'profiles');
  if (existsSync(own)) {
    for (const f of readdirSync(own).sort()) out.push({ name: f, bytes: maybeGunzip(readFileSync(path.join(own, f))) });
  }
  out.push({ name: 'generated-rich', bytes: encodeProfile(makeProfile({ samples: 40, functions: 15, depth: [1, 6], seed: 3, rich: true, inlined: 0.5, bigValues: true, negative: true })) });
  out.push({ name: 'generated-plain', bytes: encodeProfile(makeProfile({ samples: 60, functions: 20, depth: [1, 8], seed: 4 })) });
  if (existsSync(peersDir)) {
    for (const f of readdirSync(peersDir).sort()) {
      let raw: Uint8Array;
      try {
        raw = maybeGunzip(readFileSync(path.join(peersDir, f)));
      } catch {
        continue;
      }
      if (raw.length <= 24 * 1024) out.push({ name: f, bytes: raw });
    }
  }
  return out;
}

const SEEDS = seeds();

function encodeVarint(v: bigint): number[] {
  const out: number[] = [];
  let u = BigInt.asUintN(64, v);
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
  return out;
}

type Mutation =
  | { kind: 'flip'; pos: number; xor: number }
  | { kind: 'insert'; pos: number; bytes: Uint8Array }
  | { kind: 'delete'; pos: number; len: number }
  | { kind: 'varint'; pos: number; value: bigint }
  | { kind: 'hugeLen'; pos: number; field: number; len: bigint }
  | { kind: 'truncate'; pos: number };

const HUGE = [10n * 1024n ** 3n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 63n, 2n ** 64n - 1n];

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), pos: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), pos: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('varint' as const), pos: fc.nat(), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
  fc.record({ kind: fc.constant('hugeLen' as const), pos: fc.nat(), field: fc.integer({ min: 1, max: 20 }), len: fc.constantFrom(...HUGE) }),
  fc.record({ kind: fc.constant('truncate' as const), pos: fc.nat() }),
);

function mutate(input: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = Array.from(input);
  for (const m of muts) {
    const pos = b.length === 0 ? 0 : m.pos % (b.length + 1);
    switch (m.kind) {
      case 'flip':
        if (b.length > 0) b[pos % b.length] = b[pos % b.length]! ^ m.xor;
        break;
      case 'insert':
        b.splice(pos, 0, ...m.bytes);
        break;
      case 'delete':
        b.splice(pos, m.len);
        break;
      case 'varint': {
        // replace the varint that starts at pos (up to its last byte) with another value
        let end = pos;
        while (end < b.length && end - pos < 10 && b[end]! >= 0x80) end++;
        b.splice(pos, Math.min(end + 1, b.length) - pos, ...encodeVarint(m.value));
        break;
      }
      case 'hugeLen':
        b.splice(pos, 0, ...encodeVarint(BigInt(m.field * 8 + 2)), ...encodeVarint(m.len));
        break;
      case 'truncate':
        b = b.slice(0, pos);
        break;
    }
  }
  return Uint8Array.from(b);
}

/** Decodes; returns normally or with a LeakscopeError. Anything else fails the property. */
function decodeOrLeakscopeError(bytes: Uint8Array, decode: (b: Uint8Array) => unknown): void {
  const t0 = performance.now();
  try {
    decode(bytes);
  } catch (e) {
    if (!(e instanceof LeakscopeError)) {
      throw new Error(`decode threw ${(e as Error)?.name}: ${(e as Error)?.message} (input ${bytes.length} bytes)`);
    }
    assert.ok(e.message.length > 0 && !e.message.includes('\n'), 'error message is one line');
  }
  const ms = performance.now() - t0;
  assert.ok(ms < 2000, `decode of ${bytes.length} bytes took ${ms.toFixed(0)} ms`);
}

test('seeds decode', (t) => {
  assert.ok(SEEDS.length >= 2);
  for (const s of SEEDS) {
    try {
      decodeProfile(s.bytes);
    } catch (e) {
      assert.ok(e instanceof LeakscopeError, `${s.name}: ${(e as Error).message}`);
    }
  }
  t.diagnostic(`${SEEDS.length} seed profiles${existsSync(peersDir) ? '' : ` (peer fixtures absent: ${peersDir})`}`);
});

test('mutated profiles decode or throw LeakscopeError (8000 cases)', () => {
  const rssBefore = process.memoryUsage().rss;
  fc.assert(
    fc.property(fc.nat(), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (si, muts) => {
      const seed = SEEDS[si % SEEDS.length]!;
      decodeOrLeakscopeError(mutate(seed.bytes, muts), decodeProfile);
    }),
    { numRuns: 8000, seed: 20261127 },
  );
  // A decoder that allocated by claimed lengths would have blown far past this.
  const grown = process.memoryUsage().rss - rssBefore;
  assert.ok(grown < 512 * 1024 * 1024, `RSS grew by ${(grown / 1e6).toFixed(0)} MB while fuzzing`);
});

test('random mutations with a fresh random seed each run (1000 cases)', () => {
  fc.assert(
    fc.property(fc.nat(), fc.array(mutationArb, { minLength: 1, maxLength: 8 }), (si, muts) => {
      decodeOrLeakscopeError(mutate(SEEDS[si % SEEDS.length]!.bytes, muts), decodeProfile);
    }),
    { numRuns: 1000 },
  );
});

test('every truncation of a profile decodes or throws LeakscopeError', () => {
  const seed = SEEDS.find((s) => s.name === 'generated-rich')!.bytes;
  for (let n = 0; n < seed.length; n++) decodeOrLeakscopeError(seed.subarray(0, n), decodeProfile);
});

test('random bytes decode or throw LeakscopeError (1000 cases)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 512 }), (b) => decodeOrLeakscopeError(b, decodeProfile)),
    { numRuns: 1000, seed: 42 },
  );
});

test('mutated gzip data: parseProfileBytes throws only LeakscopeError (500 cases)', () => {
  const gz = SEEDS.slice(0, 6).map((s) => gzipSync(s.bytes));
  fc.assert(
    fc.property(fc.nat(), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (si, muts) => {
      const g = gz[si % gz.length]!;
      // keep the magic number so the gzip path is taken
      const m = mutate(g.subarray(2), muts);
      const b = new Uint8Array(m.length + 2);
      b[0] = 0x1f;
      b[1] = 0x8b;
      b.set(m, 2);
      decodeOrLeakscopeError(b, (x) => parseProfileBytes(x, 'fuzz.pb.gz'));
    }),
    { numRuns: 500, seed: 7 },
  );
});

test('a length prefix claiming 10 GB is refused at once, at every level of the message', () => {
  const tenGB = 10 * 1024 ** 3;
  const cases: [string, Uint8Array][] = [];
  for (const field of [1, 2, 3, 4, 5, 6, 11, 13, 99]) {
    const w = new ProtoWriter();
    w.fieldString(6, '');
    w.tag(field, 2);
    w.varint(tenGB);
    w.bytes(new Uint8Array(32));
    cases.push([`top-level field ${field}`, w.finish()]);
  }
  // nested: a sample whose location-id packed field claims 10 GB
  const inner = new ProtoWriter();
  inner.tag(1, 2);
  inner.varint(tenGB);
  const outer = new ProtoWriter();
  outer.fieldString(6, '');
  outer.tag(2, 2);
  outer.varint(inner.len);
  outer.bytes(inner.finish());
  cases.push(['sample location ids', outer.finish()]);
  // nested: a location's line
  const loc = new ProtoWriter();
  loc.fieldInt(1, 1);
  loc.tag(4, 2);
  loc.varint(tenGB);
  const top = new ProtoWriter();
  top.fieldString(6, '');
  top.fieldMessage(4, loc);
  cases.push(['location line', top.finish()]);
  for (const [what, b] of cases) {
    const t0 = performance.now();
    assert.throws(
      () => decodeProfile(b),
      (e: unknown) => e instanceof LeakscopeError && (e.code === 'E_TRUNCATED' || e.code === 'E_CORRUPT'),
      what,
    );
    assert.ok(performance.now() - t0 < 500, `${what}: refusal took too long`);
  }
});

test('many sample types × many samples in a small input is refused without allocating', () => {
  const n = 200000;
  const w = new ProtoWriter(n * 4 + 8);
  for (let k = 0; k < n; k++) {
    w.tag(1, 2);
    w.varint(0);
  }
  for (let k = 0; k < n; k++) {
    w.tag(2, 2);
    w.varint(0);
  }
  w.fieldString(6, '');
  const b = w.finish();
  assert.throws(() => decodeProfile(b), (e: unknown) => e instanceof LeakscopeError && e.code === 'E_MALFORMED');
});
