#!/usr/bin/env node
// pprof benchmark: `leakscope top` against `go tool pprof -top` on one large Go-style heap profile.
//
// Run with `npm run bench:pprof` (builds first; imports the compiled generator and encoder from
// dist/). The profile is generated once into bench/out/ (gitignored) by our own encoder:
// ≥ 400k samples, 20k functions, 4 sample types (alloc_objects/alloc_space/inuse_objects/
// inuse_space), 50k distinct call paths of 20–60 frames grown as a tree over a call graph with
// small fan-out (so paths share prefixes), each sample one path with its own `bytes` numeric
// label (as a Go heap profile repeats a stack per allocation size); gzip'd like runtime/pprof.
// Runs alternate between the two tools; we report the median wall time and the peak RSS
// (GNU time's %M, which includes child processes). Peak RSS needs /usr/bin/time (Debian package
// `time`); without it only wall times are reported.
//
// Options (env): BENCH_RUNS (default 5), BENCH_SAMPLES (400000), BENCH_FUNCTIONS (20000),
// BENCH_STACKS (distinct call paths, 50000; the samples repeat them with different sizes),
// BENCH_LABELS (0: no `bytes` label per sample), BENCH_CMD (leakscope command to time, default `top`; falls back to `info` only when `top` is not
// registered, and says so).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
if (!existsSync(path.join(dist, 'src', 'cli', 'main.js'))) {
  console.error('bench/pprof.mjs: dist/ is missing; run `npm run build` first (npm run bench:pprof does)');
  process.exit(1);
}
const { makeProfile } = await import(path.join(dist, 'test', 'helpers', 'profiles.js'));
const { encodeProfile } = await import(path.join(dist, 'src', 'formats', 'pprof.js'));
const { commands } = await import(path.join(dist, 'src', 'cli', 'registry.js'));

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 400000);
const FUNCTIONS = Number(process.env.BENCH_FUNCTIONS ?? 20000);
const STACKS = Number(process.env.BENCH_STACKS ?? 50000);
const SEED = 20261127;

const outDir = path.join(root, 'bench', 'out');
mkdirSync(outDir, { recursive: true });
// BENCH_LABELS=0 leaves out the per-sample `bytes` label (pprof's graph is much cheaper without it)
const LABELS = process.env.BENCH_LABELS !== '0';
const file = path.join(outDir, `heap-${SAMPLES}s-${FUNCTIONS}f-${STACKS}p-${SEED}${LABELS ? '' : '-nolabels'}.pb.gz`);

if (!existsSync(file)) {
  const t0 = performance.now();
  const p = makeProfile({ samples: SAMPLES, functions: FUNCTIONS, stacks: STACKS, depth: [20, 60], seed: SEED, bytesLabel: LABELS });
  const raw = encodeProfile(p);
  const gz = gzipSync(raw, { level: 6 });
  writeFileSync(file, gz);
  let frames = 0;
  for (let s = 0; s < p.samples.count; s++) frames += p.samples.stackStart[s + 1] - p.samples.stackStart[s];
  console.log(
    `generated ${path.relative(root, file)}: ${p.samples.count} samples, ${p.functions.length} functions, ` +
      `${p.locations.length} locations, ${(frames / p.samples.count).toFixed(1)} frames/sample, ` +
      `${(raw.length / 1e6).toFixed(1)} MB raw, ${(gz.length / 1e6).toFixed(1)} MB gzip'd (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
} else {
  console.log(`using ${path.relative(root, file)} (${(statSync(file).size / 1e6).toFixed(1)} MB); delete it to regenerate`);
}

// --- the contenders ---
let cmd = process.env.BENCH_CMD ?? 'top';
if (!commands[cmd]) {
  console.log(`\n*** leakscope has no "${cmd}" command in this build: timing "info" as a STAND-IN (development only) ***\n`);
  cmd = 'info';
}
const leakscope = [process.execPath, path.join(dist, 'src', 'cli', 'main.js'), cmd, file];

function goPprof() {
  const v = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (v.status !== 0) return undefined;
  // `go tool pprof` execs $GOTOOLDIR/pprof; calling it directly keeps the go command's own
  // start-up (module lookups, ~10–30 ms) out of the comparison.
  const dir = spawnSync('go', ['env', 'GOTOOLDIR'], { encoding: 'utf8' }).stdout.trim();
  const bin = path.join(dir, 'pprof');
  return { version: v.stdout.trim(), argv: existsSync(bin) ? [bin, '-top', file] : ['go', 'tool', 'pprof', '-top', file] };
}
const go = goPprof();
const gnuTime = existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%M', 'true'], { encoding: 'utf8' }).status === 0;
if (!gnuTime) console.log('note: /usr/bin/time (GNU time) not found: peak RSS is not measured. On Debian/Ubuntu: apt-get install time');
if (!go) console.log('note: go not on PATH: timing leakscope alone');

const env = { ...process.env, TZ: 'UTC', PPROF_BINARY_PATH: '/nonexistent', PPROF_TMPDIR: outDir };

function runOnce(argv) {
  const full = gnuTime ? ['/usr/bin/time', '-f', '__rss %M %U %S', ...argv] : argv;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(full[0], full.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const m = /__rss (\d+) ([\d.]+) ([\d.]+)/.exec(r.stderr ?? '');
  if (r.status !== 0) {
    throw new Error(`${argv.join(' ')} exited ${r.status}: ${(r.stderr ?? '').replace(/__rss .*\s*$/, '').trim().split('\n')[0]}`);
  }
  return { ms, rssKB: m ? Number(m[1]) : undefined, cpuMs: m ? (Number(m[2]) + Number(m[3])) * 1000 : undefined };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

// one warm-up each (file cache, go's tool binary), not counted
runOnce(leakscope);
if (go) runOnce(go.argv);

const ours = [];
const theirs = [];
for (let i = 0; i < RUNS; i++) {
  ours.push(runOnce(leakscope));
  if (go) theirs.push(runOnce(go.argv));
  process.stdout.write('.');
}
process.stdout.write('\n');

const summary = (rs) => ({
  ms: median(rs.map((r) => r.ms)),
  min: Math.min(...rs.map((r) => r.ms)),
  rssMB: rs[0].rssKB === undefined ? undefined : Math.max(...rs.map((r) => r.rssKB)) / 1024,
  cpuMs: rs[0].cpuMs === undefined ? undefined : median(rs.map((r) => r.cpuMs)),
});
const a = summary(ours);
const b = go ? summary(theirs) : undefined;
const f = (x, d = 0) => (x === undefined ? 'n/a' : x.toFixed(d));

console.log('');
console.log(`machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, node ${process.version}${go ? `, ${go.version}` : ''}`);
console.log(`profile: ${path.relative(root, file)}, ${RUNS} alternating runs each, median wall time, max peak RSS`);
console.log('');
console.log('| tool | command | median wall (ms) | min wall (ms) | median CPU user+sys (ms) | peak RSS (MB) |');
console.log('|---|---|---:|---:|---:|---:|');
console.log(`| leakscope | \`leakscope ${cmd} <file>\` | ${f(a.ms)} | ${f(a.min)} | ${f(a.cpuMs)} | ${f(a.rssMB)} |`);
if (b) console.log(`| go tool pprof | \`pprof -top <file>\` | ${f(b.ms)} | ${f(b.min)} | ${f(b.cpuMs)} | ${f(b.rssMB)} |`);
if (b) {
  console.log('');
  const wr = a.ms / b.ms;
  const rr = a.rssMB !== undefined && b.rssMB !== undefined ? a.rssMB / b.rssMB : undefined;
  console.log('| ratio leakscope / go | target | result |');
  console.log('|---|---:|---:|');
  console.log(`| wall time | ≤ 0.33 | ${f(wr, 2)} ${wr <= 0.33 ? '✓' : '✗'} |`);
  console.log(`| peak RSS | ≤ 0.50 | ${f(rr, 2)} ${rr === undefined ? '' : rr <= 0.5 ? '✓' : '✗'} |`);
  if (a.cpuMs !== undefined && b.cpuMs !== undefined) console.log(`| CPU time (user+sys), for information | – | ${f(a.cpuMs / b.cpuMs, 2)} |`);
}
if (cmd !== 'top') console.log(`\n(leakscope timed "${cmd}", not "top": not a valid result)`);
