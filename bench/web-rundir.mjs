#!/usr/bin/env node
// Heap over time in the browser: a synthetic run directory of PROFILES saved heap profiles (Go-
// shaped, gzip'd, written by RunDir as `watch` writes them, SITES allocation sites each, 5 leaking)
// opened with `leakscope web <run-dir>` in Debian's chromium (playwright-core). Per run, a fresh
// server process: from its spawn to the charts drawn in the page (the page's
// window.__leakscopeTimeline.ready), split into
//   server   spawn → URL printed (node startup, the index read)
//   page     URL → charts of the totals drawn (page load, /api/timeline, uPlot)
// and the time until the analysis is drawn too (sites, suspects: every profile read and analysed,
// as `analyze` does; the page asks again until it is there),
// and, side by side in the same run, the anchor `leakscope analyze --json <run-dir>` (end to end,
// node startup included): the analysis the page shows. Budget (issue 11): total < 2 s.
// Usage: npm run build && node bench/web-rundir.mjs [--sites 2000 --profiles 100 --runs 5]
import { mkdtempSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => join(root, 'dist', p);
const { synthProfile, prng } = await import(dist('bench/leak-synth.js'));
const { encodeProfile } = await import(dist('src/formats/pprof.js'));
const { RunDir } = await import(dist('src/node/run-dir.js'));
const { chromium } = await import('playwright-core');

const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  console.log(`${CHROMIUM} not found: benchmark skipped`);
  process.exit(0);
}
const { values } = parseArgs({ options: { sites: { type: 'string', default: '2000' }, profiles: { type: 'string', default: '100' }, runs: { type: 'string', default: '5' } } });
const SITES = Number(values.sites);
const N = Number(values.profiles);
const RUNS = Number(values.runs);
const cli = dist('src/cli/main.js');

mkdirSync(join(root, 'bench', 'out', 'screenshots'), { recursive: true });
const dir = mkdtempSync(join(tmpdir(), 'leakscope-bench-web-rundir-'));
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
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
    const prof = synthProfile({ kind: 'heap', sites, timeMs });
    const file = await run.saveProfile('heap', gzipSync(encodeProfile(prof)));
    let total = 0;
    for (const s of sites) total += s.value;
    await run.append({ seq: k + 1, time: new Date(timeMs).toISOString(), timeMs, profile: 'heap', file, totals: { inuse_space: Math.round(total) }, segment: 0 });
  }

  const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
  const serverT = [];
  const pageT = [];
  const totalT = [];
  const anchorT = [];
  const completeT = [];
  let suspects = 0;
  for (let i = 0; i < RUNS; i++) {
    // anchor: analyze --json, end to end
    let t = performance.now();
    const a = spawnSync(process.execPath, [cli, 'analyze', '--json', run.dir], { encoding: 'utf8' });
    anchorT.push(performance.now() - t);
    if (a.status !== 0) throw new Error(a.stderr);
    // leakscope web <run-dir> → charts drawn
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    t = performance.now();
    const child = spawn(process.execPath, [cli, 'web', run.dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (b) => {
        out += b;
        if (out.includes('\n')) resolve(out.split('\n')[0]);
      });
      child.on('exit', (c) => reject(new Error(`web exited ${c}`)));
    });
    const tUrl = performance.now();
    await page.goto(url);
    await page.waitForFunction(() => window.__leakscopeTimeline?.ready === true, undefined, { timeout: 60_000, polling: 20 });
    const tDrawn = performance.now();
    await page.waitForFunction(() => window.__leakscopeTimeline?.complete === true, undefined, { timeout: 120_000, polling: 20 });
    completeT.push(performance.now() - t);
    suspects = await page.evaluate(() => window.__leakscopeTimeline.suspects.length);
    if (i === 0) await page.screenshot({ path: join(root, 'bench', 'out', 'screenshots', 'web-timeline-100.png'), fullPage: true });
    serverT.push(tUrl - t);
    pageT.push(tDrawn - tUrl);
    totalT.push(tDrawn - t);
    await page.close();
    child.kill();
  }
  const cpu = cpus()[0]?.model ?? 'unknown';
  console.log(`web heap over time: ${N} heap profiles × ${SITES} sites (5 leaking), median of ${RUNS} runs, node ${process.version}, ${cpus().length} cores (${cpu})`);
  console.log(`  server start → URL        ${median(serverT).toFixed(0)} ms   (node startup, index read)`);
  console.log(`  URL → totals drawn        ${median(pageT).toFixed(0)} ms   (page, /api/timeline, uPlot)`);
  console.log(`  total: totals drawn       ${median(totalT).toFixed(0)} ms   (budget 2000 ms: the heap-over-time view is open)`);
  console.log(`  total: analysis drawn     ${median(completeT).toFixed(0)} ms   (sites and ${suspects} suspects marked)`);
  console.log(`  anchor: analyze --json    ${median(anchorT).toFixed(0)} ms   (end to end, node startup included)`);
  if (suspects !== 5) console.log(`  WARNING: expected the 5 planted leaks, got ${suspects}`);
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
}
