/**
 * Node's own profile files — `.cpuprofile` from `node --cpu-prof`, `.heapprofile` from
 * `node --heap-prof` — read by every pprof command, written by each installed Node version.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { cliPath } from './helpers/paths.js';
import { nodeBinaries } from './helpers/snapshot-node.js';

let dir = '';
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'leakscope-v8json-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const PROGRAM = `
function spinHot(ms) {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) for (let i = 0; i < 1000; i++) x = (x * 31 + i) % 1000003;
  return x;
}
// global: at exit the heap profile holds only what is still reachable
globalThis.kept = [];
function keepRecords(n) {
  for (let i = 0; i < n; i++) globalThis.kept.push({ i, label: 'record ' + i, tags: [i, i + 1] });
}
keepRecords(150000);
spinHot(400);
`;

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function lineOf(text: string, needle: string): number {
  return text.split('\n').findIndex((l) => l.includes(needle)) + 1;
}

test('.cpuprofile and .heapprofile written by node read as pprof profiles, by each Node version', async (t) => {
  const { present, missing } = nodeBinaries();
  for (const m of missing) t.diagnostic(`not installed, skipped: ${m}`);
  for (const bin of present) {
    await t.test(bin.label, () => {
      const out = path.join(dir, bin.label.replace(/\W+/g, '_'));
      const program = path.join(dir, `${path.basename(out)}.js`);
      writeFileSync(program, PROGRAM);
      const r = spawnSync(bin.path, ['--cpu-prof', '--cpu-prof-dir', out, '--heap-prof', '--heap-prof-dir', out, program], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      const files = readdirSync(out);
      const cpuFile = path.join(out, files.find((f) => f.endsWith('.cpuprofile'))!);
      const heapFile = path.join(out, files.find((f) => f.endsWith('.heapprofile'))!);

      const top = cli(['top', '-lines', '-nodecount=3', cpuFile]);
      assert.equal(top.code, 0, top.stderr);
      assert.match(top.stdout, /^Type: cpu$/m);
      assert.match(top.stdout, /period = median sample interval \(\d+ µs\)/);
      // the hot function leads, at its file and line (V8 reports the function's start line)
      const first = top.stdout.split('\n').find((l) => /^\s*[\d.]+m?s\s/.test(l))!;
      assert.ok(first.includes(`spinHot ${program}:${lineOf(PROGRAM, 'function spinHot')}`), top.stdout);

      const heap = cli(['top', '-nodecount=3', heapFile]);
      assert.equal(heap.code, 0, heap.stderr);
      assert.match(heap.stdout, /^Type: inuse_space$/m);
      assert.match(heap.stdout, /sampling interval assumed 512 KiB/);
      assert.match(heap.stdout.split('\n').find((l) => /^\s*[\d.]+[kMG]?B\s/.test(l))!, /keepRecords$/, heap.stdout);

      // a file without a samples list (older V8): sizes come from the tree
      const doc = JSON.parse(readFileSync(heapFile, 'utf8')) as { samples?: unknown };
      delete doc.samples;
      const treeOnly = path.join(out, 'tree.heapprofile');
      writeFileSync(treeOnly, JSON.stringify(doc));
      const tree = cli(['top', '-nodecount=3', treeOnly]);
      assert.equal(tree.code, 0, tree.stderr);
      assert.match(tree.stdout, /the file lists no samples/);
      // (V8's tree and its samples list differ by a few hundred bytes)
      const total = (text: string): number => Number(/of ([\d.]+)kB total/.exec(text)?.[1] ?? /of ([\d.]+)MB total/.exec(text)![1]);
      assert.ok(Math.abs(total(tree.stdout) - total(heap.stdout)) < 0.01 * total(heap.stdout), `${tree.stdout}\n${heap.stdout}`);

      // gzip'd, and through convert into profile.proto that the pprof decoder reads back
      const gz = path.join(out, 'cpu.cpuprofile.gz');
      writeFileSync(gz, gzipSync(readFileSync(cpuFile)));
      assert.equal(cli(['top', gz]).code, 0);
      const pb = path.join(out, 'cpu.pb.gz');
      assert.equal(cli(['convert', '--to', 'pprof', '-o', pb, cpuFile]).code, 0);
      const info = cli(['info', pb]);
      assert.equal(info.code, 0, info.stderr);
      assert.match(info.stdout, /sample types: samples\/count cpu\/nanoseconds/);
    });
  }
});

test('JSON that is not a Node profile, and heap snapshots, get one-line errors', () => {
  const cases: [string, string, RegExp][] = [
    ['not-json.cpuprofile', '{"nodes": [', /not-json\.cpuprofile: starts like JSON but is not valid JSON/],
    ['other.json', '{"a": 1}', /other\.json: JSON, but not a \.cpuprofile \(nodes, startTime\) or \.heapprofile \(head\)$/],
    ['bad-node.cpuprofile', '{"nodes":[{"id":"x"}],"startTime":0,"endTime":1}', /\.cpuprofile node without a numeric id or a callFrame$/],
    ['bad-samples.heapprofile', '{"head":{"id":1,"selfSize":0,"callFrame":{"functionName":"(root)","url":"","lineNumber":-1,"columnNumber":-1},"children":[]},"samples":[{"size":1}]}', /\.heapprofile samples need size, nodeId and ordinal$/],
    ['a.heapsnapshot', '{"snapshot":{"meta":{}},"nodes":[]}', /a\.heapsnapshot: a V8 heap snapshot, not a profile \(use "leakscope snapshot summary\|diff\|retainers\|leaks"\)$/],
  ];
  for (const [name, text, want] of cases) {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    const r = cli(['top', file]);
    assert.equal(r.code, 1, `${name}: ${r.stdout}`);
    assert.equal(r.stderr.split('\n').length, 2, `${name}: one line: ${r.stderr}`);
    assert.match(r.stderr.trim(), want);
  }
});
