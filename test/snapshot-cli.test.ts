/**
 * `leakscope snapshot summary|diff|retainers` on real snapshots, input from a file, stdin and an
 * HTTP URL, and one-line errors with exit codes for bad input.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { cliPath } from './helpers/paths.js';
import { leakyProgram, runNode } from './helpers/snapshot-node.js';

const PER_PHASE = 60;
let dir = '';
let server: Server | undefined;
let port = 0;
const snap = (n: number): string => path.join(dir, `s${n}.heapsnapshot`);

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'leakscope-snapshot-cli-'));
  runNode(process.execPath, [leakyProgram, dir, String(PER_PHASE)]);
  server = createServer((req, res) => {
    if (req.url === '/debug/pprof/heapsnapshot') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      createReadStream(snap(1)).pipe(res);
    } else {
      res.writeHead(404);
      res.end('not found\n');
    }
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    if (stdin !== undefined) createReadStream(stdin).pipe(child.stdin);
    else child.stdin.end();
  });
}

interface Row {
  className: string;
  count: number;
  shallowSize: number;
  retainedSize: number;
}

test('summary: per-class counts, shallow and retained sizes', async () => {
  const r = await cli(['snapshot', 'summary', '--json', snap(3)]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { nodeCount: number; totalSize: number; rows: Row[] };
  assert.equal(s.rows.reduce((a, x) => a + x.count, 0), s.nodeCount);
  assert.equal(s.rows.reduce((a, x) => a + x.shallowSize, 0), s.totalSize);
  const rc = s.rows.find((x) => x.className === 'RequestContext')!;
  assert.equal(rc.count, 3 * PER_PHASE);
  // each context holds its headers object: retained > shallow
  assert.ok(rc.retainedSize > rc.shallowSize);
  for (const x of s.rows) assert.ok(x.retainedSize <= s.totalSize);
  const text = await cli(['snapshot', 'summary', '--top', '5', snap(3)]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /^\d+ nodes, \d+ edges/);
  assert.equal(text.stdout.trim().split('\n').length, 1 + 1 + 5 + 1);
});

test('diff: new and deleted objects per class by id', async () => {
  const r = await cli(['snapshot', 'diff', '--json', snap(2), snap(3)]);
  assert.equal(r.code, 0, r.stderr);
  const { classes } = JSON.parse(r.stdout) as { classes: { className: string; newCount: number; deletedCount: number; deltaCount: number; deltaSize: number }[] };
  const rc = classes.find((x) => x.className === 'RequestContext')!;
  assert.deepEqual([rc.newCount, rc.deletedCount, rc.deltaCount], [PER_PHASE, 0, PER_PHASE]);
  assert.ok(rc.deltaSize > 0);
  const to = classes.find((x) => x.className === 'Timeout')!;
  // one leaked interval per request, plus at most the few keep-alive socket timers of the HTTP
  // churn that happen to be alive in one snapshot and not the other (timing on a loaded machine)
  assert.ok(to.deltaCount >= PER_PHASE && to.deltaCount <= PER_PHASE + 4, `Timeout delta ${to.deltaCount}`);
});

test('retainers: by class and by id, with property names', async () => {
  const r = await cli(['snapshot', 'retainers', '--json', '--class', 'RequestContext', '--paths', '2', snap(3)]);
  assert.equal(r.code, 0, r.stderr);
  const { objects } = JSON.parse(r.stdout) as { objects: { id: number; retainerPath: string[]; steps: { edge: string }[]; location: string }[] };
  assert.equal(objects.length, 2);
  assert.deepEqual(objects[0]!.retainerPath.slice(-4), ['(module scope)', 'contexts', 'Map', 'RequestContext']);
  assert.ok(objects[0]!.steps.some((s) => s.edge === 'contexts'));
  assert.match(objects[0]!.location, /snapshot-leaky\.mjs:\d+$/);
  const byId = await cli(['snapshot', 'retainers', '--id', String(objects[0]!.id), snap(3)]);
  assert.equal(byId.code, 0, byId.stderr);
  assert.match(byId.stdout, new RegExp(`^RequestContext @${objects[0]!.id}:`));
  assert.match(byId.stdout, /--contexts \(context\)--> Map/);
  const none = await cli(['snapshot', 'retainers', '--id', '2', snap(3)]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no object with id @2/);
});

test('sources: stdin and an HTTP URL stream like files', async () => {
  const file = await cli(['snapshot', 'summary', '--json', snap(1)]);
  const stdin = await cli(['snapshot', 'summary', '--json', '-'], snap(1));
  assert.equal(stdin.code, 0, stdin.stderr);
  assert.equal(stdin.stdout, file.stdout);
  const url = await cli(['snapshot', 'summary', '--json', `http://127.0.0.1:${port}/debug/pprof/heapsnapshot`]);
  assert.equal(url.code, 0, url.stderr);
  assert.equal(url.stdout, file.stdout);
  const missing = await cli(['snapshot', 'summary', `http://127.0.0.1:${port}/nope`]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /404/);
});

test('bad input: one line on stderr, exit 1; usage errors exit 2', async () => {
  const notSnap = path.join(dir, 'not.heapsnapshot');
  writeFileSync(notSnap, 'hello\n');
  const truncated = path.join(dir, 'cut.heapsnapshot');
  const whole = readFileSync(snap(1));
  writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
  const cutGzip = path.join(dir, 'cut.heapsnapshot.gz');
  const gz = gzipSync(whole);
  writeFileSync(cutGzip, gz.subarray(0, Math.floor(gz.length / 2)));
  const cases: [string[], number, RegExp][] = [
    [['snapshot', 'summary', notSnap], 1, /not a heap snapshot/],
    [['snapshot', 'summary', truncated], 1, /truncated heap snapshot/],
    [['snapshot', 'summary', cutGzip], 1, /truncated gzip data/],
    [['snapshot', 'summary', path.join(dir, 'missing')], 1, /no such file/],
    [['snapshot', 'summary', dir], 1, /directory/],
    [['snapshot', 'leaks', snap(1), snap(2)], 2, /at least three/],
    [['snapshot', 'frobnicate', snap(1)], 2, /unknown subcommand/],
    [['snapshot', 'retainers', snap(1)], 2, /--id N or --class/],
    [['snapshot', 'summary', '--top', 'x', snap(1)], 2, /--top must be an integer/],
  ];
  for (const [args, code, re] of cases) {
    const r = await cli(args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
