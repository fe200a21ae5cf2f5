#!/usr/bin/env node
// Leak assertions benchmark (issue 12): how long `assertNoLeak` takes to decide with its defaults.
//   churn-10mb  a workload that allocates about 10 MB of objects per iteration and frees them
//               (passes): assertNoLeak's wall time, next to the anchor — the same number of
//               iterations of the workload alone, in the same process
//   map-leak    a Session kept in a module-level Map per call (fails): the time to the failure,
//               heap snapshots and the leak finder included
//   async       assertNoAsyncLeak around a function creating 1000 promises and 100 timers that
//               all settle, next to the function alone
// Each case runs in a fresh child process, RUNS times; the table shows medians.
// Usage: npm run build && node bench/assert-leak.mjs [--runs 3] [--case churn-10mb,map-leak,async]
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist/src/testing/index.js');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, child: { type: 'string' }, case: { type: 'string' } } });

if (values.child) {
  const { checkLeak, assertNoAsyncLeak } = await import(entry);
  const out = await child(values.child, checkLeak, assertNoAsyncLeak);
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const RUNS = Number(values.runs);
const cases = values.case ? values.case.split(',') : ['churn-10mb', 'map-leak', 'async'];
const { loadavg } = await import('node:os');
console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg()[0].toFixed(1)}, ${RUNS} runs per case, medians`);
for (const c of cases) {
  const rows = [];
  for (let r = 0; r < RUNS; r++) {
    const p = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', c], { encoding: 'utf8', timeout: 300_000 });
    if (p.status !== 0) throw new Error(`${c}: ${p.stderr}`);
    rows.push(JSON.parse(p.stdout.trim().split('\n').pop()));
  }
  const keys = Object.keys(rows[0]).filter((k) => typeof rows[0][k] === 'number');
  const med = Object.fromEntries(keys.map((k) => [k, median(rows.map((x) => x[k]))]));
  const verdicts = [...new Set(rows.map((x) => x.verdict))].join('/');
  console.log(`${c.padEnd(11)} ${keys.map((k) => `${k} ${Number.isInteger(med[k]) ? med[k] : med[k].toFixed(1)}`).join(', ')}; verdict ${verdicts}`);
}

async function child(which, checkLeak, assertNoAsyncLeak) {
  if (which === 'churn-10mb') {
    const work = (i) => {
      const rows = new Array(100_000);
      for (let k = 0; k < rows.length; k++) rows[k] = { id: k, name: `row-${i}-${k}`, score: k * 0.5 };
      return rows.length;
    };
    // what one iteration allocates: kept once, measured after GC
    const { fullGC, heapInUse } = await import(join(root, 'dist/src/testing/heap.js'));
    await fullGC();
    const before = heapInUse();
    let keep = work(0) && new Array(100_000).fill(0).map((_, k) => ({ id: k, name: `row-0-${k}`, score: k * 0.5 }));
    await fullGC();
    const perIterationMB = (heapInUse() - before) / 2 ** 20;
    keep = null;
    const cpu = (c) => (c.user + c.system) / 1000;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const r = await checkLeak(work);
    const assertCpuMs = cpu(process.cpuUsage(c0));
    const assertMs = performance.now() - t0;
    const iterations = r.warmup + 5 + (r.rounds - 1) * r.iterationsPerRound;
    await fullGC();
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    for (let i = 0; i < iterations; i++) work(i);
    const anchorCpuMs = cpu(process.cpuUsage(c1));
    const anchorMs = performance.now() - t1;
    return {
      perIterationMB: Number(perIterationMB.toFixed(1)) + (keep ? 0 : 0),
      iterations,
      anchorMs: Math.round(anchorMs),
      anchorCpuMs: Math.round(anchorCpuMs),
      assertMs: Math.round(assertMs),
      assertCpuMs: Math.round(assertCpuMs),
      verdict: r.leak ? 'leak' : `pass (${r.verdict.reason})`,
    };
  }
  if (which === 'map-leak') {
    class Session {
      constructor(id) {
        this.id = id;
        this.user = { name: `user-${id}` };
      }
    }
    const sessions = new Map();
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const r = await checkLeak((i) => sessions.set(i, new Session(i)));
    const c = process.cpuUsage(c0);
    return { assertMs: Math.round(performance.now() - t0), assertCpuMs: Math.round((c.user + c.system) / 1000), verdict: r.leak ? `leak (${r.leaks[0]?.className})` : 'pass' };
  }
  // async
  const fn = async () => {
    const ps = [];
    for (let k = 0; k < 1000; k++) ps.push(Promise.resolve(k).then((x) => x + 1));
    for (let k = 0; k < 100; k++) ps.push(new Promise((r) => setTimeout(r, 1)));
    await Promise.all(ps);
  };
  for (let k = 0; k < 20; k++) await fn();
  const t1 = performance.now();
  for (let k = 0; k < 20; k++) await fn();
  const anchorMs = (performance.now() - t1) / 20;
  const t0 = performance.now();
  for (let k = 0; k < 20; k++) await assertNoAsyncLeak(fn, { graceMs: 0 });
  const assertMs = (performance.now() - t0) / 20;
  return { anchorMs: Number(anchorMs.toFixed(1)), assertMs: Number(assertMs.toFixed(1)), verdict: 'pass' };
}
