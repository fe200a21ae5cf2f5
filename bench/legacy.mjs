#!/usr/bin/env node
// Legacy profile benchmark: `leakscope top <file>` against go tool pprof's `-top <file>` on legacy
// profiles written by test/helpers/legacy-gen.ts (compiled into dist/): a text heap profile
// (`heap_v2/524288` with allocation counts, BENCH_ROWS rows, memory map) and a 64-bit
// little-endian gperftools CPU profile (BENCH_CPU_SAMPLES samples). Files go to bench/out/
// (gitignored). Runs alternate between the tools after one warm-up each; wall time is the median,
// peak RSS the maximum of GNU time's %M. The two tools' outputs are compared (they must be equal).
//
// Run: npm run build && node bench/legacy.mjs   (env: BENCH_RUNS=5, BENCH_ROWS=200000,
// BENCH_CPU_SAMPLES=300000)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
if (!existsSync(path.join(dist, 'test', 'helpers', 'legacy-gen.js'))) {
  console.error('bench/legacy.mjs: dist/ is missing; run `npm run build` first');
  process.exit(1);
}
const G = await import(path.join(dist, 'test', 'helpers', 'legacy-gen.js'));
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ROWS = Number(process.env.BENCH_ROWS ?? 200000);
const CPU_SAMPLES = Number(process.env.BENCH_CPU_SAMPLES ?? 300000);
const outDir = path.join(root, 'bench', 'out');
mkdirSync(outDir, { recursive: true });

const heapFile = path.join(outDir, `legacy-heap-${ROWS}.txt`);
if (!existsSync(heapFile)) writeFileSync(heapFile, G.heapText(20261206, 'heap_v2/524288', { alloc: true, samples: ROWS }));
const cpuFile = path.join(outDir, `legacy-cpu-${CPU_SAMPLES}.prof`);
if (!existsSync(cpuFile)) writeFileSync(cpuFile, G.cppCpuBinary(20261206, { wordSize: 8, little: true }, 10000, CPU_SAMPLES));

const goToolDir = spawnSync('go', ['env', 'GOTOOLDIR'], { encoding: 'utf8' }).stdout.trim();
const pprofBin = path.join(goToolDir, 'pprof');
const hasTime = existsSync('/usr/bin/time');
const env = { ...process.env, TZ: 'UTC', PPROF_BINARY_PATH: '/nonexistent' };

function run(cmd, args) {
  const full = hasTime ? ['/usr/bin/time', ['-f', '%e %M', cmd, ...args]] : [cmd, args];
  const t0 = performance.now();
  const r = spawnSync(full[0], full[1], { encoding: 'utf8', env, maxBuffer: 256 << 20 });
  const wall = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.slice(-500)}`);
  const rss = hasTime ? Number(r.stderr.trim().split('\n').pop().split(' ')[1]) / 1024 : NaN;
  return { wall, rss, out: r.stdout };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, file] of [
  ['text heap (heap_v2)', heapFile],
  ['gperftools CPU (64-bit LE)', cpuFile],
]) {
  const ours = ['node', [path.join(dist, 'src', 'cli', 'main.js'), 'top', file]];
  const theirs = [pprofBin, ['-top', file]];
  const a = run(...ours);
  const b = run(...theirs);
  if (a.out !== b.out) throw new Error(`${name}: outputs differ`);
  const res = { ours: [], theirs: [] };
  for (let i = 0; i < RUNS; i++) {
    res.ours.push(run(...ours));
    res.theirs.push(run(...theirs));
  }
  const row = (label, rs) =>
    `| ${label} | ${name} | ${(statSync(file).size / 1e6).toFixed(1)} MB | ${median(rs.map((r) => r.wall)).toFixed(0)} | ${Math.min(...rs.map((r) => r.wall)).toFixed(0)} | ${Math.max(...rs.map((r) => r.rss)).toFixed(0)} |`;
  console.log(row('leakscope top', res.ours));
  console.log(row('go tool pprof -top', res.theirs));
}
