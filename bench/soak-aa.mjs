#!/usr/bin/env node
// The regression gate's false-alarm rate (A/A) and its power (A/B), on the example Node service
// with its leaks switched off (LEAKS=off), through the built CLI end to end, at the DEFAULT limits
// (p99=10%,rps=5%,errors=0.5pp,rss-slope=1MiB/min). Two ways to get the baseline:
//   --mode side  (default) `soak --against DIR`: the baseline build runs beside the one under test,
//                rounds alternating; RUNS runs of the same build (A/A) and RUNS runs of a build
//                with DELAY_MS on /api (A/B), each against the base build;
//   --mode saved one run saves a baseline (--save), then RUNS runs of the same build and RUNS runs
//                of the delayed build compare with it (--baseline).
// --stress N adds N CPU burners that switch on and off at random (2–8 s on, 2–8 s off, seeded):
// the machine's load drifts during and between runs, which is what the gate has to live with.
// Prints how often each passed, the p99 change and detectable change of every run, and the load
// average before and after.
// Usage: node bench/soak-aa.mjs [--mode side|saved] [--runs 5] [--stress 0] [--rate 100]
//        [--connections 100] [--duration 6s] [--rounds 6] [--warmup 2s] [--delay 100]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/src/cli/main.js');
const server = join(root, 'dist/examples/node-service/server.js');
const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'side' },
    runs: { type: 'string', default: '5' },
    stress: { type: 'string', default: '0' },
    rate: { type: 'string', default: '100' },
    duration: { type: 'string', default: '6s' },
    rounds: { type: 'string', default: '6' },
    delay: { type: 'string', default: '100' },
    connections: { type: 'string', default: '100' },
    warmup: { type: 'string', default: '2s' },
  },
});
if (!['side', 'saved'].includes(values.mode)) throw new Error('--mode side|saved');
const RUNS = Number(values.runs);
const dir = mkdtempSync(join(tmpdir(), 'leakscope-bench-soak-'));
const baseline = join(dir, 'baseline.json');

/** a directory whose server.mjs runs the example service, delayMs slower on /api */
function build(name, delayMs) {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'server.mjs'), `${delayMs ? `process.env.DELAY_MS = '${delayMs}';\n` : ''}await import(${JSON.stringify(pathToFileURL(server).href)});\n`);
  return d;
}
const base = build('base', 0);
const same = build('same', 0);
const slow = build('slow', Number(values.delay));

// CPU burners that switch on and off at random: the machine's load drifts
const burners = [];
for (let i = 0; i < Number(values.stress); i++) {
  const code = `let s=${1234 + i};const r=()=>(s=(s*1103515245+12345)%2147483648)/2147483648;(function cycle(){const on=2000+r()*6000,off=2000+r()*6000,t=Date.now();while(Date.now()-t<on){}setTimeout(cycle,off);})();`;
  burners.push(spawn(process.execPath, ['-e', code], { stdio: 'ignore' }));
}

let runNo = 0;
function soak(cwd, extra) {
  const args = [cli, 'soak', '-q', '--json', '--url', 'http://127.0.0.1:{port}/api?product=p7', '--rate', values.rate, '--connections', values.connections, '--duration', values.duration, '--warmup', values.warmup, '--rounds', values.rounds, '-o', join(dir, `run-${++runNo}`), ...extra, '--', process.execPath, 'server.mjs'];
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { cwd, env: { ...process.env, LEAKS: 'off' }, encoding: 'utf8', maxBuffer: 64 << 20 });
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
  const la0 = loadavg();
  console.log(`# soak ${values.mode === 'side' ? 'side by side (--against)' : 'against a saved baseline (--baseline)'}: A/A and A/B (${new Date().toISOString()}, ${cpus().length}× ${cpus()[0]?.model}, Node ${process.version}, load average ${la0.map((x) => x.toFixed(2)).join(' ')}, ${values.stress} burner(s))`);
  console.log(`# ${values.rounds} rounds over ${values.duration} at ${values.rate} req/s, ${values.connections} connections, after a ${values.warmup} warm-up; A/B: +${values.delay}ms on /api; default limits`);
  const extraFor = () => (values.mode === 'side' ? ['--against', base] : ['--baseline', baseline]);
  if (values.mode === 'saved') {
    const b = soak(base, ['--save', baseline]);
    console.log(`baseline: exit ${b.code}, p99 ${b.j.load.latencyMs.p99}ms, rps ${b.j.load.rps.toFixed(1)}, ${(b.ms / 1000).toFixed(1)}s`);
  }
  const show = (label, r) => {
    const regs = r.j.gate.regressions.join(',') || '-';
    const sus = r.j.leaks?.suspects.map((s) => `${s.profile} ${s.name} ${s.file.split('/').pop()}:${s.line}`).join('; ');
    console.log(`${label}: exit ${r.code}  p99 ${r.p99.baseline}→${r.p99.current}ms ${r.p99.change} (detectable ${r.p99.detectableChange}, p=${r.p99.p.toFixed(3)})  regressions ${regs}  verdict ${r.j.verdict}  ${(r.ms / 1000).toFixed(0)}s${sus ? ` (suspects: ${sus})` : ''}`);
  };
  let aaPass = 0;
  let abFail = 0;
  let abP99 = 0;
  // A/A and A/B alternate, so that both meet the same drift
  for (let i = 0; i < RUNS; i++) {
    const aa = soak(same, extraFor());
    if (aa.code === 0) aaPass++;
    show(`A/A ${i + 1}`, aa);
    const ab = soak(slow, extraFor());
    if (ab.code === 4) abFail++;
    if (ab.j.gate.regressions.includes('p99')) abP99++;
    show(`A/B ${i + 1}`, ab);
  }
  const la1 = loadavg();
  console.log(`A/A passed ${aaPass}/${RUNS}; A/B (+${values.delay}ms) failed the gate ${abFail}/${RUNS} (on p99 ${abP99}/${RUNS}); load average after ${la1.map((x) => x.toFixed(2)).join(' ')}`);
} finally {
  for (const b of burners) b.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
