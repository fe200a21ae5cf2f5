#!/usr/bin/env node
// Decoder choice, measured: leakscope's hand-written profile.proto decoder against the
// `pprof-format` npm package (a pure-JS pprof codec) on the same large profile, in one process,
// alternating, median of several runs. Both start from the same gunzipped bytes.
//
// Usage: npm run bench:decoder  (builds first; needs bench/out/… from `npm run bench:pprof`, or
// generates a smaller profile itself). pprof-format is installed into a scratch dir on first use.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { decodeProfile } = await import(path.join(root, 'dist', 'src', 'formats', 'pprof.js'));
const scratch = path.join(root, 'bench', 'out', 'pprof-format');
if (!existsSync(path.join(scratch, 'node_modules', 'pprof-format'))) {
  mkdirSync(scratch, { recursive: true });
  console.error('installing pprof-format into bench/out/pprof-format …');
  execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', scratch, 'pprof-format@2'], { stdio: 'inherit' });
}
const { Profile: PfProfile } = createRequire(path.join(scratch, 'x.js'))('pprof-format');

const outDir = path.join(root, 'bench', 'out');
const candidates = existsSync(outDir) ? readdirSync(outDir).filter((f) => /^heap-.*\.pb\.gz$/.test(f)).sort() : [];
if (candidates.length === 0) {
  console.error('no bench/out/heap-*.pb.gz yet: run `npm run bench:pprof` first (it generates the profile)');
  process.exit(1);
}
const file = path.join(outDir, candidates[candidates.length - 1]);
const raw = gunzipSync(readFileSync(file));
const runs = Number(process.env.BENCH_RUNS ?? 5);
const times = { leakscope: [], 'pprof-format': [] };
for (let i = 0; i < runs; i++) {
  for (const [name, fn] of [
    ['leakscope', () => decodeProfile(raw).samples.count],
    ['pprof-format', () => PfProfile.decode(raw).sample.length],
  ]) {
    globalThis.gc?.();
    const t0 = performance.now();
    const n = fn();
    times[name].push(performance.now() - t0);
    if (i === 0) console.error(`${name}: ${n} samples`);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ls = median(times.leakscope);
const pf = median(times['pprof-format']);
console.log(`file: ${path.basename(file)} (${(raw.length / 1048576).toFixed(1)} MiB uncompressed), ${runs} runs each, alternating`);
console.log(`leakscope decodeProfile   median ${ls.toFixed(0)} ms`);
console.log(`pprof-format decode       median ${pf.toFixed(0)} ms`);
console.log(`ratio leakscope / pprof-format: ${(ls / pf).toFixed(2)}×`);
