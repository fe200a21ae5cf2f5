#!/usr/bin/env node
// `leakscope web --export` of a watch run directory: a synthetic run of PROFILES heap profiles
// (Go-shaped, gzip'd, written by RunDir as `watch` writes them, SITES allocation sites each, 5
// leaking) exported to one HTML file. Per run: the export's wall time (node startup included),
// the file's size, how many samples' flame graphs it carries; then the page opened from file://
// in Debian's chromium with the network blocked, until the heap-over-time charts and the suspects
// are drawn. Anchor, side by side in the same run: `leakscope analyze --json <run-dir>` (the
// analysis the page shows), end to end.
// Usage: npm run build && node bench/web-export.mjs [--sites 2000 --profiles 100 --runs 3]
import { mkdtempSync, mkdirSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => join(root, 'dist', p);
const { synthProfile, prng } = await import(dist('bench/leak-synth.js'));
const { encodeProfile } = await import(dist('src/formats/pprof.js'));
const { RunDir } = await import(dist('src/node/run-dir.js'));

const { values } = parseArgs({ options: { sites: { type: 'string', default: '2000' }, profiles: { type: 'string', default: '100' }, runs: { type: 'string', default: '3' } } });
const SITES = Number(values.sites);
const N = Number(values.profiles);
const RUNS = Number(values.runs);
const cli = dist('src/cli/main.js');
const CHROMIUM = '/usr/bin/chromium';

const dir = mkdtempSync(join(tmpdir(), 'leakscope-bench-web-export-'));
try {
  const r = prng(7);
  const MB = 1 << 20;
  const plan = Array.from({ length: SITES }, (_, i) => {
    const kind = i < 5 ? 'leak' : i < 25 ? 'cache' : i % 2 ? 'churn' : 'steady';
    return { fn: `main.site${i}`, line: 10 + (i % 400), callers: [`main.handler${i % 37}`, `main.route${i % 7}`, 'main.serve', 'main.main'], kind, level: (0.05 + r() * 2) * MB, fill: 0.1 + r() * 0.3 };
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
    const file = await run.saveProfile('heap', gzipSync(encodeProfile(synthProfile({ kind: 'heap', sites, timeMs }))));
    let total = 0;
    for (const s of sites) total += s.value;
    await run.append({ seq: k + 1, time: new Date(timeMs).toISOString(), timeMs, profile: 'heap', file, totals: { inuse_space: Math.round(total) }, segment: 0 });
  }
  const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
  const exportT = [];
  const anchorT = [];
  const openT = [];
  let size = 0;
  let note = '';
  const browser = existsSync(CHROMIUM) ? await (await import('playwright-core')).chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] }) : undefined;
  const file = join(dir, 'run.html');
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    const a = spawnSync(process.execPath, [cli, 'analyze', '--json', run.dir], { encoding: 'utf8', maxBuffer: 1 << 28 });
    anchorT.push(performance.now() - t);
    if (a.status !== 0) throw new Error(a.stderr);
    t = performance.now();
    const e = spawnSync(process.execPath, [cli, 'web', '--export', file, run.dir], { encoding: 'utf8' });
    exportT.push(performance.now() - t);
    if (e.status !== 0) throw new Error(e.stderr);
    size = statSync(file).size;
    note = e.stderr.trim().replace(/^leakscope web: exported /, '');
    if (browser) {
      const ctx = await browser.newContext({ viewport: { width: 1200, height: 900 } });
      await ctx.route('**/*', (rt) => (rt.request().url().startsWith('file:') ? rt.continue() : rt.abort()));
      const page = await ctx.newPage();
      t = performance.now();
      await page.goto(`file://${file}`);
      await page.waitForFunction(() => window.__leakscopeTimeline?.complete === true, undefined, { timeout: 120_000 });
      openT.push(performance.now() - t);
      await ctx.close();
    }
  }
  await browser?.close();
  const ms = (x) => `${Math.round(x)} ms`;
  console.log(`web --export of a run directory: ${N} heap profiles × ${SITES} sites, ${RUNS} runs, medians (${cpus().length} × ${cpus()[0]?.model ?? 'cpu'})`);
  console.log(`  anchor  analyze --json <run-dir>        ${ms(median(anchorT))}`);
  console.log(`  export  web --export FILE <run-dir>     ${ms(median(exportT))}  (${(size / 1048576).toFixed(2)} MB: ${note})`);
  if (openT.length) console.log(`  open    file:// → charts and suspects   ${ms(median(openT))}  (network blocked)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
