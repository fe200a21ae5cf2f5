#!/usr/bin/env node
// A/B of two leakscope builds' heap-snapshot parse (the phase bench/snapshot-phases.mjs does not
// time): each run is a fresh process (cold, as in the CLI) that parses S3 of the 20 MB bench series
// on one thread (loadHeapSnapshot, no reader thread), then S1's id horizon. Runs of the two builds
// alternate; medians of wall and CPU time (the latter steadier on a shared machine) are printed.
//
//   node bench/snapshot-parse.mjs --a /path/to/other/dist [--b dist] [--runs 15] [--node BIN]
//       [--series /tmp/leakscope-bench/series-20mb]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const series = opt('series', '/tmp/leakscope-bench/series-20mb');

if (args[0] === '--child') {
  const dist = pathToFileURL(path.resolve(args[1])).href;
  const { loadHeapSnapshot, loadIdHorizon } = await import(`${dist}/src/node/snapshot-source.js`);
  const file = (s) => path.join(args[2], `${s}.heapsnapshot`);
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const t0 = performance.now();
  const c0 = cpu();
  const raw = await loadHeapSnapshot(file('s3'), { splitMinBytes: Number.MAX_SAFE_INTEGER });
  const t1 = performance.now();
  const c1 = cpu();
  await loadIdHorizon(file('s1'));
  const t2 = performance.now();
  const c2 = cpu();
  process.stdout.write(JSON.stringify({ parse: t1 - t0, 'parse (CPU)': c1 - c0, horizon: t2 - t1, 'horizon (CPU)': c2 - c1, nodes: raw.nodeCount }));
} else {
  const a = opt('a');
  const b = opt('b', path.join(root, 'dist'));
  const runs = Number(opt('runs', '15'));
  const nodeBin = opt('node', process.execPath);
  if (!a) {
    console.error('usage: node bench/snapshot-parse.mjs --a OTHER_DIST [--b DIST] [--runs N] [--node BIN] [--series DIR]');
    process.exit(2);
  }
  if (!existsSync(path.join(series, 's3.heapsnapshot'))) {
    console.error(`${series}: no series (run: npm run bench:snapshot -- --sizes 20 --skip-memlab)`);
    process.exit(1);
  }
  const results = { A: [], B: [] };
  for (let i = 0; i < runs; i++) {
    for (const [k, d] of i % 2 ? [['A', a], ['B', b]] : [['B', b], ['A', a]]) {
      const r = spawnSync(nodeBin, [fileURLToPath(import.meta.url), '--child', d, series], { encoding: 'utf8' });
      if (r.status !== 0) {
        console.error(`${d}: run failed: ${r.stderr.trim().split('\n').pop()}`);
        process.exit(1);
      }
      results[k].push(JSON.parse(r.stdout));
    }
  }
  const median = (xs) => {
    const s = [...xs].sort((x, y) => x - y);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  console.log(`A = ${a}\nB = ${b}\n${runs} runs each, alternating, under ${nodeBin}; medians in ms`);
  console.log('| phase | A | B |\n|---|---|---|');
  for (const p of ['parse', 'parse (CPU)', 'horizon', 'horizon (CPU)']) console.log(`| ${p} | ${median(results.A.map((x) => x[p])).toFixed(1)} | ${median(results.B.map((x) => x[p])).toFixed(1)} |`);
}
