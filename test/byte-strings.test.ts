/**
 * Function names that are not UTF-8 print byte for byte as go tool pprof prints them (Go strings
 * are bytes): the decoder keeps such bytes escaped and the CLI writes them back unchanged.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { cliPath, fixturesDir, hasFixtures, repoRoot, SKIP_NO_FIXTURES } from './helpers/paths.js';
import { hasGo, SKIP_NO_GO } from './helpers/tools.js';
import { decodeByteString, encodeByteString, hasEscapedBytes } from '../src/formats/byte-strings.js';
import { decodeProfile } from '../src/formats/pprof.js';

const skipGo = hasGo() ? false : SKIP_NO_GO;

test('bytes that are not UTF-8 survive decoding and encoding; valid text is unchanged', () => {
  const cases: number[][] = [
    [0x6d, 0x79, 0x80, 0xff, 0x2e, 0x66], // stray continuation and 0xff
    [0xc3, 0xa9, 0xc3], // é then a cut-off sequence
    [0xed, 0xa0, 0x80], // an encoded surrogate (not UTF-8)
    [0xe0, 0x80, 0x80], // overlong
    [0xf4, 0x90, 0x80, 0x80], // beyond U+10FFFF
    [0xef, 0xbb, 0xbf, 0x41], // a BOM is kept, not dropped
    [0xf0, 0x90, 0x82, 0x80, 0x80], // U+10080 (low surrogate DC80) then a stray byte
  ];
  for (const bytes of cases) {
    const buf = Uint8Array.from(bytes);
    const s = decodeByteString(buf, 0, buf.length);
    assert.deepEqual([...encodeByteString(s)], bytes, `round trip of ${bytes.map((b) => b.toString(16)).join(' ')}`);
  }
  const valid = 'héllo 世界 \u{10080}';
  const enc = new TextEncoder().encode(valid);
  assert.equal(decodeByteString(enc, 0, enc.length), valid);
  assert.equal(hasEscapedBytes(valid), false, 'a surrogate pair is not an escaped byte');
  assert.deepEqual([...encodeByteString(valid)], [...enc]);
  const bad = Uint8Array.of(0x41, 0xfe);
  assert.equal(hasEscapedBytes(decodeByteString(bad, 0, 2)), true);
});

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'leakscope-bytes-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function bytesOf(cmd: string, args: string[]): { out: Buffer; status: number | null; err: string } {
  const r = spawnSync(cmd, args, { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, TZ: 'UTC', PPROF_TMPDIR: tmpdir(), PPROF_BINARY_PATH: '/nonexistent' } });
  return { out: r.stdout, status: r.status, err: String(r.stderr) };
}

/** leakscope's and pprof's stdout, compared as bytes (not as decoded text, which would hide the difference). */
function sameBytes(file: string): void {
  for (const [ours, theirs] of [
    [['top'], '-top'],
    [['peek', '.'], '-peek=.'],
    [['tree'], '-tree'],
    [['traces'], '-traces'],
  ] as const) {
    const go = bytesOf('go', ['tool', 'pprof', theirs, file]);
    assert.equal(go.status, 0, `pprof ${theirs}: ${go.err}`);
    const me = bytesOf(process.execPath, [cliPath, ...ours, file]);
    assert.equal(me.status, 0, `leakscope ${ours.join(' ')}: ${me.err}`);
    assert.ok(me.out.equals(go.out), `${ours.join(' ')} ${file}: bytes differ from pprof's\n${me.out.toString('latin1')}\n---\n${go.out.toString('latin1')}`);
  }
}

test('a profile of our own with non-UTF-8 function names prints the bytes pprof prints', { skip: skipGo }, () => {
  const raw = Buffer.from(gunzipSync(readFileSync(join(repoRoot, 'testdata', 'profiles', 'heap.pb.gz'))));
  // overwrite bytes inside two function names in place (same lengths: the message stays valid)
  const at = raw.indexOf('main.handleRequest');
  assert.ok(at > 0);
  raw[at + 5] = 0xff;
  raw[at + 6] = 0xc3; // a cut-off two-byte sequence
  const at2 = raw.indexOf('main.render');
  assert.ok(at2 > 0);
  raw[at2 + 5] = 0x80;
  const file = join(dir, 'bytes.pb');
  writeFileSync(file, raw);
  const names = decodeProfile(raw).functions.map((f) => f.name);
  assert.ok(names.some((n) => hasEscapedBytes(n)), 'the decoder kept the bytes');
  sameBytes(file);
});

test('google/pprof invalid_utf8 test profile prints the bytes pprof prints', { skip: skipGo || (hasFixtures ? false : SKIP_NO_FIXTURES) }, (t) => {
  const file = join(fixturesDir, 'peers', 'pprof', 'profiles', 'og.convert.pprof.testdata.invalid_utf8.pb.gz');
  if (!existsSync(file)) {
    t.skip(`${file} is not in this fixtures checkout`);
    return;
  }
  sameBytes(file);
});
