#!/usr/bin/env node
// Per-phase A/B of two leakscope builds on the 20 MB bench series: each run is a fresh process
// (so every phase runs cold, as in the CLI) that parses S3 on one thread, reads S1's and S2's id
// horizons, then times the graph, the retaining edges, the dominators and findLeaks. Runs of the
// two builds alternate; medians per phase are printed.
//
//   node bench/snapshot-phases.mjs --a /path/to/other/dist [--b dist] [--runs 15] [--node BIN]
//       [--series /tmp/leakscope-bench/series-20mb]
//
// (`npm run bench:snapshot -- --sizes 20` generates the series; another build's dist comes from
// e.g. `git worktree add /tmp/base <rev> && cd /tmp/base && npm install && npm run build`.)
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
  const { loadHeapSnapshot, loadIdHorizons } = await import(`${dist}/src/node/snapshot-source.js`);
  const { HeapGraph } = await import(`${dist}/src/core/heap/graph.js`);
  const { retainingEdges, computeDominators, graphForDominators } = await import(`${dist}/src/core/heap/dominators.js`);
  const { findLeaks } = await import(`${dist}/src/core/heap/leaks.js`);
  const file = (s) => path.join(args[2], `${s}.heapsnapshot`);
  const raw = await loadHeapSnapshot(file('s3'), { splitMinBytes: Number.MAX_SAFE_INTEGER });
  const earlier = await loadIdHorizons([file('s1'), file('s2')]);
  const t0 = performance.now();
  const graph = new HeapGraph(raw);
  const t1 = performance.now();
  const retaining = retainingEdges(graph);
  const t2 = performance.now();
  const dom = computeDominators(graphForDominators(graph), retaining);
  const t3 = performance.now();
  const report = findLeaks({ graph, retaining, dom }, earlier, {});
  const t4 = performance.now();
  process.stdout.write(JSON.stringify({ graph: t1 - t0, retaining: t2 - t1, dominators: t3 - t2, findLeaks: t4 - t3, groups: report.groups.length }));
} else {
  const a = opt('a');
  const b = opt('b', path.join(root, 'dist'));
  const runs = Number(opt('runs', '15'));
  const nodeBin = opt('node', process.execPath);
  if (!a) {
    console.error('usage: node bench/snapshot-phases.mjs --a OTHER_DIST [--b DIST] [--runs N] [--node BIN] [--series DIR]');
    process.exit(2);
  }
  for (const d of [a, b]) {
    if (!existsSync(path.join(d, 'src', 'core', 'heap', 'leaks.js'))) {
      console.error(`${d}: not a leakscope build (no src/core/heap/leaks.js)`);
      process.exit(1);
    }
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
  for (const p of Object.keys(results.A[0])) console.log(`| ${p} | ${median(results.A.map((x) => x[p])).toFixed(1)} | ${median(results.B.map((x) => x[p])).toFixed(1)} |`);
}
