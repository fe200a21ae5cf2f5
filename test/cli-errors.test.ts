/**
 * Bad inputs at the CLI: `leakscope info <bad>` must print exactly one line on stderr, exit 1 and
 * never show a stack trace — for files that are not profiles, truncated gzip, corrupt protobuf,
 * dangling ids, out-of-range string indices, absurd length prefixes, unreachable URLs and HTTP
 * errors. The malformed inputs are built here with ProtoWriter.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { encodeProfile } from '../src/formats/pprof.js';
import { ProtoWriter } from '../src/formats/protobuf.js';
import { makeProfile } from './helpers/profiles.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');

let dir = '';
let server: Server | undefined;
let serverPort = 0;
let closedPort = 0;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'leakscope-cli-errors-'));
  server = createServer((req, res) => {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('404 page not found\n');
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  serverPort = (server.address() as AddressInfo).port;
  // a port that was just free: listen, note it, close
  const tmp = createServer();
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
  closedPort = (tmp.address() as AddressInfo).port;
  await new Promise<void>((r) => tmp.close(() => r()));
});

after(async () => {
  if (server) await new Promise<void>((r) => server!.close(() => r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LEAKSCOPE_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function file(name: string, bytes: Uint8Array | string): string {
  const f = path.join(dir, name);
  writeFileSync(f, bytes);
  return f;
}

/** A minimal valid profile: one sample type, one function, one location, one sample. */
function profileWith(edit: { fnIdInLine?: number; locIdInSample?: number; nameIndex?: number }): Uint8Array {
  const w = new ProtoWriter();
  const m = new ProtoWriter();
  // sample_type { type: 1 "samples", unit: 2 "count" }
  m.fieldInt(1, 1);
  m.fieldInt(2, 2);
  w.fieldMessage(1, m);
  // sample { location_id: [1], value: [5] }
  m.reset();
  m.tag(1, 0);
  m.varint(edit.locIdInSample ?? 1);
  m.tag(2, 0);
  m.varint(5);
  w.fieldMessage(2, m);
  // location { id: 1, line { function_id: 1, line: 10 } }
  const line = new ProtoWriter();
  line.fieldInt(1, edit.fnIdInLine ?? 1);
  line.fieldInt(2, 10);
  m.reset();
  m.fieldInt(1, 1);
  m.fieldMessage(4, line);
  w.fieldMessage(4, m);
  // function { id: 1, name: 3 }
  m.reset();
  m.fieldInt(1, 1);
  m.fieldInt(2, edit.nameIndex ?? 3);
  w.fieldMessage(5, m);
  for (const s of ['', 'samples', 'count', 'main.leak']) w.fieldString(6, s);
  return w.finish();
}

test('the well-formed baseline profile is accepted (so the cases below test one defect each)', async () => {
  const r = await run(['info', file('ok.pb', profileWith({}))]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /samples: 1/);
});

test('bad inputs: one line on stderr, exit 1, no stack trace', async () => {
  const good = encodeProfile(makeProfile({ samples: 200, functions: 40, seed: 9 }));
  const gz = gzipSync(good);
  const corrupt = new ProtoWriter();
  corrupt.fieldString(6, '');
  corrupt.tag(3, 7); // wire type 7 does not exist
  corrupt.varint(1);
  const overlong = new ProtoWriter();
  overlong.fieldString(6, '');
  overlong.tag(9, 0);
  overlong.bytes(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])); // 11-byte varint
  const huge = new ProtoWriter();
  huge.fieldString(6, '');
  huge.tag(2, 2);
  huge.varint(10 * 1024 ** 3);
  huge.bytes(new Uint8Array(64));

  const cases: [string, string, RegExp][] = [
    ['not a profile', file('notes.txt', 'this is just some text, not a profile\n'), /not a pprof profile/],
    ['empty file', file('empty.pb', new Uint8Array(0)), /empty|not a pprof/],
    ['truncated gzip', file('trunc.pb.gz', gz.subarray(0, Math.floor(gz.length / 2))), /truncated gzip/],
    ['corrupt gzip', file('corrupt.pb.gz', Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8])), /gzip/],
    ['corrupt protobuf (bad wire type)', file('wire.pb', corrupt.finish()), /corrupt|not a pprof/],
    ['corrupt protobuf (11-byte varint)', file('varint.pb', overlong.finish()), /corrupt|varint/],
    ['truncated protobuf', file('trunc.pb', good.subarray(0, Math.floor(good.length * 0.6))), /truncated|malformed/],
    ['location refers to a missing function', file('fn.pb', profileWith({ fnIdInLine: 77 })), /function 77/],
    ['sample refers to a missing location', file('loc.pb', profileWith({ locIdInSample: 42 })), /location 42/],
    ['string index out of range', file('str.pb', profileWith({ nameIndex: 99 })), /string 99|string table/],
    ['10 GB length prefix', file('huge.pb', huge.finish()), /claims \d+ bytes/],
    ['gzip of a 10 GB length prefix', file('huge.pb.gz', gzipSync(huge.finish())), /claims \d+ bytes/],
    ['no such file', path.join(dir, 'does-not-exist.pb.gz'), /no such file/],
    ['a directory', dir, /directory/],
    ['unreachable URL', `http://127.0.0.1:${closedPort}/debug/pprof/heap`, /cannot connect|ECONNREFUSED/],
    ['HTTP 404', `http://127.0.0.1:${serverPort}/debug/pprof/heap`, /404/],
  ];
  const results = await Promise.all(cases.map(([, arg]) => run(['info', arg])));
  cases.forEach(([what, , re], i) => {
    const r = results[i]!;
    assert.equal(r.code, 1, `${what}: exit code (stderr: ${r.stderr})`);
    assert.ok(!r.stderr.includes('    at '), `${what}: stack trace on stderr:\n${r.stderr}`);
    assert.ok(!/internal error/.test(r.stderr), `${what}: internal error: ${r.stderr}`);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `${what}: expected one stderr line, got:\n${r.stderr}`);
    assert.ok(r.stderr.endsWith('\n'), `${what}: stderr ends with a newline`);
    assert.match(lines[0]!, re, `${what}: message`);
    assert.equal(r.stdout, '', `${what}: nothing on stdout`);
  });
});

test('convert: usage errors exit 2 with one line', async () => {
  const ok = file('ok2.pb', profileWith({}));
  for (const args of [['convert', ok], ['convert', '--to', 'svg', ok], ['convert', '--to', 'collapsed'], ['convert', '--to', 'collapsed', '--sample-index', 'nope', ok]]) {
    const r = await run(args);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(!r.stderr.includes('    at '));
    assert.equal(r.code, args.includes('nope') ? 1 : 2, `${args.join(' ')}: ${r.stderr}`);
  }
});
