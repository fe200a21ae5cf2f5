#!/usr/bin/env node
// Leak verdict benchmark: a run directory of 100 saved heap profiles (Go-shaped, gzip'd, written by
// RunDir as `watch` writes them) with SITES allocation sites each — a few leaking, a warming cache,
// churn and steady sites — then:
//   load     read + gunzip + decode + summarize all 100 profiles (what `analyze` does first)
//   verdict  analyzeLeaks over the 100 summaries (series, Theil–Sen, Mann–Kendall, first detection)
//   cli      `leakscope analyze <run-dir>` end to end in a child process (node startup included)
// Usage: npm run bench:leak [-- --sites 2000 --profiles 100 --runs 5]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => join(root, 'dist', p);
const { synthProfile, prng } = await import(dist('bench/leak-synth.js'));
const { encodeProfile } = await import(dist('src/formats/pprof.js'));
const { RunDir, loadRun } = await import(dist('src/node/run-dir.js'));
const { analyzeLeaks } = await import(dist('src/core/leak/analyze.js'));
const { gzipSync } = await import('node:zlib');

const { values } = parseArgs({ options: { sites: { type: 'string', default: '2000' }, profiles: { type: 'string', default: '100' }, runs: { type: 'string', default: '5' } } });
const SITES = Number(values.sites);
const N = Number(values.profiles);
const RUNS = Number(values.runs);

const dir = mkdtempSync(join(tmpdir(), 'leakscope-bench-leak-'));
try {
  const r = prng(1);
  const MB = 1 << 20;
  // site kinds: 5 leaks, 20 warming caches, the rest churn or steady
  const plan = Array.from({ length: SITES }, (_, i) => {
    const kind = i < 5 ? 'leak' : i < 25 ? 'cache' : i % 2 ? 'churn' : 'steady';
    const level = (0.05 + r() * 2) * MB;
    return { fn: `main.site${i}`, line: 10 + (i % 400), callers: [`main.handler${i % 37}`, `main.route${i % 7}`, 'main.serve', 'main.main'], kind, level, fill: 0.1 + r() * 0.3 };
  });
  const run = await RunDir.create(join(dir, 'run'), { target: 'bench', url: 'http://bench/debug/pprof', startedAt: new Date(0).toISOString(), intervalMs: 10000, profiles: ['heap'], tool: 'bench' });
  const t0 = 1.8e12;
  for (let k = 0; k < N; k++) {
    const u = k / (N - 1);
    const sites = plan.map((p) => {
      const v = p.kind === 'leak' ? p.level + 40 * MB * u : p.kind === 'cache' ? p.level * Math.min(1, u / p.fill) : p.kind === 'churn' ? p.level * r() : p.level;
      return { fn: p.fn, line: p.line, callers: p.callers, value: v * (1 + (r() - 0.5) * 0.02) };
    });
    const timeMs = t0 + k * 10000;
    const bytes = gzipSync(encodeProfile(synthProfile({ kind: 'heap', sites, timeMs })));
    const file = await run.saveProfile('heap', bytes);
    await run.append({ seq: k + 1, time: new Date(timeMs).toISOString(), timeMs, profile: 'heap', file, segment: 0 });
  }
  const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
  const loadT = [];
  const verdictT = [];
  const cliT = [];
  let suspects = 0;
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    const loaded = await loadRun([run.dir]);
    loadT.push(performance.now() - t);
    t = performance.now();
    const a = analyzeLeaks(loaded.observations);
    verdictT.push(performance.now() - t);
    suspects = a.suspects.length;
    t = performance.now();
    const c = spawnSync(process.execPath, [dist('src/cli/main.js'), 'analyze', '--json', run.dir], { encoding: 'utf8' });
    cliT.push(performance.now() - t);
    if (c.status !== 0) throw new Error(c.stderr);
  }
  const cpu = cpus()[0]?.model ?? 'unknown';
  console.log(`leak verdict: ${N} heap profiles × ${SITES} sites (5 leaking), median of ${RUNS} runs, node ${process.version}, ${cpus().length} cores (${cpu})`);
  console.log(`  load+summarize  ${median(loadT).toFixed(0)} ms`);
  console.log(`  verdict         ${median(verdictT).toFixed(0)} ms   (${suspects} suspects)`);
  console.log(`  analyze CLI     ${median(cliT).toFixed(0)} ms   (end to end, node startup included)`);
  if (suspects !== 5) console.log(`  WARNING: expected the 5 planted leaks, got ${suspects}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
