#!/usr/bin/env node
// `leakscope tags`, `top --tagfocus=bytes=1kb:8kb` and `top --tagroot=bytes` against
// `go tool pprof` on a synthetic Go-heap-shaped profile (300,000 samples, numeric `bytes` labels,
// written by test/helpers/profiles.ts, seed 5) and on testdata/profiles/heap.pb.gz. Runs alternate
// between the two tools; each cell is the median of BENCH_RUNS (default 3) wall times and peak RSS
// (GNU time). Outputs are checked to be byte-identical first. Needs dist/, go and /usr/bin/time.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');
if (!existsSync(cli)) {
  console.error('bench/tags.mjs: dist/ is missing; run `npm run build` first');
  process.exit(1);
}
const goTool = spawnSync('go', ['env', 'GOTOOLDIR'], { encoding: 'utf8' });
if (goTool.status !== 0 || spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status !== 0) {
  console.error('bench/tags.mjs: needs go on PATH and GNU time at /usr/bin/time');
  process.exit(1);
}
const pprof = path.join(goTool.stdout.trim(), 'pprof');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const env = { ...process.env, TZ: 'UTC', PPROF_BINARY_PATH: '/nonexistent', PPROF_TMPDIR: tmpdir() };
const dir = mkdtempSync(path.join(tmpdir(), 'leakscope-bench-tags-'));
const { makeProfile } = await import(path.join(root, 'dist', 'test', 'helpers', 'profiles.js'));
const { encodeProfile } = await import(path.join(root, 'dist', 'src', 'formats', 'pprof.js'));
const big = path.join(dir, 'big.pb.gz');
writeFileSync(big, gzipSync(encodeProfile(makeProfile({ samples: 300000, functions: 2000, stacks: 5000, seed: 5 }))));

function timed(cmd, args) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', '-o', path.join(dir, 't'), cmd, ...args], { env, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  const [s, kb] = readFileSync(path.join(dir, 't'), 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { s, mb: kb / 1024, out: r.stdout };
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

const cases = [
  ['tags', ['tags'], ['-tags']],
  ['top --tagfocus=bytes=1kb:8kb', ['top', '-tagfocus=bytes=1kb:8kb'], ['-top', '-tagfocus=bytes=1kb:8kb']],
  ['top --tagroot=bytes', ['top', '-tagroot=bytes'], ['-top', '-tagroot=bytes']],
];
console.log('| profile | command | leakscope s | pprof s | leakscope MB | pprof MB |');
console.log('|---|---|---|---|---|---|');
for (const [label, file] of [['300,000 samples (synthetic)', big], ['testdata heap.pb.gz (41 samples)', path.join(root, 'testdata', 'profiles', 'heap.pb.gz')]]) {
  for (const [name, ours, theirs] of cases) {
    const a = [];
    const b = [];
    for (let i = 0; i < RUNS; i++) {
      const x = timed(process.execPath, [cli, ...ours, file]);
      const y = timed(pprof, [...theirs, file]);
      if (x.out !== y.out) throw new Error(`${name} on ${label}: outputs differ`);
      a.push(x);
      b.push(y);
    }
    const f = (v) => v.toFixed(2);
    console.log(`| ${label} | ${name} | ${f(median(a.map((r) => r.s)))} | ${f(median(b.map((r) => r.s)))} | ${median(a.map((r) => r.mb)).toFixed(0)} | ${median(b.map((r) => r.mb)).toFixed(0)} |`);
  }
}
rmSync(dir, { recursive: true, force: true });
