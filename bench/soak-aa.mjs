#!/usr/bin/env node
// The regression gate's false-alarm rate (A/A) and its power (A/B), on the example Node service
// with its leaks switched off (LEAKS=off), through the built CLI end to end:
//   1. one run saves a baseline (--save);
//   2. RUNS more runs of the same build compare with it (--baseline): each should pass (exit 0);
//   3. RUNS runs of a build with DELAY_MS added to every answer compare with it: each should fail
//      the gate (exit 4) on p99.
// Prints how often each passed, and the p99 change and detectable change of every run.
// Usage: node bench/soak-aa.mjs [--runs 5] [--rate 100] [--connections 100] [--duration 5s] [--rounds 5] [--delay 500]
// (the settings of test/soak.test.ts)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/src/cli/main.js');
const server = join(root, 'dist/examples/node-service/server.js');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, rate: { type: 'string', default: '100' }, duration: { type: 'string', default: '5s' }, rounds: { type: 'string', default: '5' }, delay: { type: 'string', default: '500' }, connections: { type: 'string', default: '100' }, warmup: { type: 'string', default: '2s' } } });
const RUNS = Number(values.runs);
const dir = mkdtempSync(join(tmpdir(), 'leakscope-bench-soak-'));
const baseline = join(dir, 'baseline.json');

function soak(extra, env) {
  const args = [cli, 'soak', '-q', '--json', '--url', 'http://127.0.0.1:{port}/api', '--rate', values.rate, '--connections', values.connections, '--duration', values.duration, '--warmup', values.warmup, '--rounds', values.rounds, '-o', join(dir, `run-${Date.now()}`), ...extra, '--', process.execPath, server];
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { env: { ...process.env, LEAKS: 'off', ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  let j;
  try {
    j = JSON.parse(r.stdout);
  } catch {
    throw new Error(`soak failed (${r.status}): ${r.stderr}`);
  }
  const p99 = j.gate?.metrics.find((m) => m.metric === 'p99');
  return { code: r.status, ms: Date.now() - t0, j, p99 };
}

try {
  console.log(`# soak A/A and A/B (${new Date().toISOString()}, ${cpus().length}× ${cpus()[0]?.model}, Node ${process.version})`);
  console.log(`# ${values.rounds} rounds over ${values.duration} at ${values.rate} req/s after a ${values.warmup} warm-up; delay for A/B ${values.delay}ms`);
  const b = soak(['--save', baseline], {});
  console.log(`baseline: exit ${b.code}, p99 ${b.j.load.latencyMs.p99}ms, rps ${b.j.load.rps.toFixed(1)}, ${(b.ms / 1000).toFixed(1)}s`);
  const show = (label, r) => {
    const regs = r.j.gate.regressions.join(',') || '-';
    const sus = r.j.leaks?.suspects.map((s) => `${s.profile} ${s.name} ${s.file.split('/').pop()}:${s.line}`).join('; ');
    console.log(`${label}: exit ${r.code}  p99 ${r.p99.change} (detectable ${r.p99.detectableChange}, p=${r.p99.p.toFixed(3)})  regressions ${regs}  verdict ${r.j.verdict}${sus ? ` (suspects: ${sus})` : ''}`);
  };
  let aaPass = 0;
  for (let i = 0; i < RUNS; i++) {
    const r = soak(['--baseline', baseline], {});
    if (r.code === 0) aaPass++;
    show(`A/A ${i + 1}`, r);
  }
  let abFail = 0;
  let abP99 = 0;
  for (let i = 0; i < RUNS; i++) {
    const r = soak(['--baseline', baseline], { DELAY_MS: values.delay });
    if (r.code === 4) abFail++;
    if (r.j.gate.regressions.includes('p99')) abP99++;
    show(`A/B ${i + 1}`, r);
  }
  console.log(`A/A passed ${aaPass}/${RUNS}; A/B (+${values.delay}ms) failed the gate ${abFail}/${RUNS} (on p99 ${abP99}/${RUNS})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
