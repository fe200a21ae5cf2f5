#!/usr/bin/env node
// Overhead of the leakscope agent on a JSON HTTP service (test/programs/agent-service.mjs /json:
// builds and serialises 20 objects per request).
//
// Two server processes run side by side: one plain, one started with `--import leakscope/register`
// (its defaults: heap sampling at 128 KiB, metrics on). Rounds alternate between three modes, in a
// rotating order: plain, agent, and agent while a CPU profile is being taken. Each round measures
//   1. throughput: autocannon, closed loop, CONNECTIONS connections for DURATION s → req/s, p99;
//   2. cost at a fixed rate: autocannon at RATE req/s for DURATION s, server CPU time
//      (utime+stime from /proc/<pid>/stat) per request — steadier than req/s on a shared machine.
// Reports medians and ratios to the plain service.
//
// Usage: npm run bench:agent   (env: ROUNDS=7 DURATION=4 CONNECTIONS=20 RATE=0 → auto;
//        EXTRA=nosampling adds a fourth server: the agent with heap sampling off;
//        EXTRA=stacks adds the agent measured during an async?stacks=1 creation-stack window;
//        EXTRA=interval=N adds the agent with heap sampling every N bytes, beside the default's)
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const DURATION = Number(process.env.DURATION ?? 4);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 20);
let RATE = Number(process.env.RATE ?? 0);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function hasTaskset() {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return cpus().length >= 2;
  } catch {
    return false;
  }
}
const PIN = hasTaskset();
if (PIN) execFileSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' });

const children = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

async function startServer(withAgent, extraEnv = {}) {
  const args = [...(withAgent ? ['--import', join(root, 'dist/src/register.js')] : []), join(root, 'test/programs/agent-service.mjs')];
  const cmd = PIN ? 'taskset' : process.execPath;
  const argv = PIN ? ['-c', '1', process.execPath, ...args] : args;
  const proc = spawn(cmd, argv, { env: { ...process.env, LEAKSCOPE_ADDR: '127.0.0.1:0', ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (err += d));
  const deadline = Date.now() + 15000;
  for (;;) {
    const port = /SERVICE_PORT=(\d+)/.exec(out);
    const agent = /listening on (http:\/\/\S+)/.exec(err);
    if (port && (agent || !withAgent)) return { proc, url: `http://127.0.0.1:${port[1]}/json`, agent: agent?.[1] };
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`server did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function cpuTicks(pid, tid) {
  const stat = readFileSync(tid ? `/proc/${pid}/task/${tid}/stat` : `/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime, stime
}

function run(opts) {
  return new Promise((resolve, reject) => {
    autocannon({ ...opts, pipelining: 1 }, (err, r) => (err ? reject(err) : resolve(r)));
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function measure(server, mode) {
  let profile;
  if (mode === 'agent+cpu') {
    // one CPU profile covering both measurements of the round
    profile = fetch(`${server.agent}profile?seconds=${2 * DURATION + 2}`).then(async (r) => {
      const b = Buffer.from(await r.arrayBuffer());
      if (r.status !== 200) throw new Error(`profile: ${r.status} ${b}`);
      return b.length;
    });
    await new Promise((r) => setTimeout(r, 300));
  }
  if (mode === 'agent+stacks') {
    // an opt-in creation-stack window (async_hooks) covering both measurements
    profile = fetch(`${server.agent}async?stacks=1&seconds=${Math.min(60, 2 * DURATION + 2)}`).then(async (r) => {
      const b = Buffer.from(await r.arrayBuffer());
      if (r.status !== 200) throw new Error(`stacks window: ${r.status} ${b}`);
      return b.length;
    });
    await new Promise((r) => setTimeout(r, 300));
  }
  await run({ url: server.url, connections: CONNECTIONS, duration: 1 }); // warm-up
  const tp = await run({ url: server.url, connections: CONNECTIONS, duration: DURATION });
  // taskset execs node in place, so the pid is node's and its main thread's id
  const pid = server.proc.pid;
  const t0 = cpuTicks(pid);
  const m0 = cpuTicks(pid, pid);
  const fixed = await run({ url: server.url, connections: 10, duration: DURATION, overallRate: RATE });
  const t1 = cpuTicks(pid);
  const m1 = cpuTicks(pid, pid);
  const n = Math.max(1, fixed.requests.total);
  const cpuUsPerReq = ((t1 - t0) * 1e6) / CLK_TCK / n;
  const mainUsPerReq = ((m1 - m0) * 1e6) / CLK_TCK / n;
  if (profile) await profile;
  if (tp.non2xx || tp.errors || fixed.non2xx || fixed.errors) throw new Error(`${mode}: errors during the run`);
  return { rps: tp.requests.average, p99: tp.latency.p99, cpuUsPerReq, mainUsPerReq, fixedRps: fixed.requests.average };
}

const plain = await startServer(false);
const agent = await startServer(true);
// optional diagnostic mode: the agent with heap sampling off (EXTRA=nosampling), during a
// creation-stack window (EXTRA=stacks), or sampling every N bytes (EXTRA=interval=N)
const otherInterval = /^interval=(\d+)$/.exec(process.env.EXTRA ?? '')?.[1];
const extra =
  process.env.EXTRA === 'nosampling'
    ? await startServer(true, { LEAKSCOPE_HEAP_INTERVAL: '0' })
    : process.env.EXTRA === 'stacks'
      ? await startServer(true, { LEAKSCOPE_ASYNC_STACKS: '1' })
      : otherInterval
        ? await startServer(true, { LEAKSCOPE_HEAP_INTERVAL: otherInterval })
        : undefined;
const extraMode = process.env.EXTRA === 'stacks' ? 'agent+stacks' : otherInterval ? `agent@${otherInterval}` : 'agent-nosampling';
if (!RATE) {
  const probe = await run({ url: plain.url, connections: CONNECTIONS, duration: 2 });
  RATE = Math.max(200, Math.round((probe.requests.average * 0.4) / 100) * 100);
}
const modes = ['plain', 'agent', 'agent+cpu', ...(extra ? [extraMode] : [])];
const serverFor = (mode) => (mode === 'plain' ? plain : mode === extraMode ? extra : agent);
const results = Object.fromEntries(modes.map((m) => [m, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = modes.map((_, i) => modes[(i + round) % modes.length]);
  for (const mode of order) {
    const r = await measure(serverFor(mode), mode);
    results[mode].push(r);
    process.stderr.write(
      `round ${round + 1} ${mode.padEnd(9)} ${r.rps.toFixed(0).padStart(6)} req/s  p99 ${String(r.p99).padStart(3)} ms  ${r.cpuUsPerReq.toFixed(1)} us CPU/req (main thread ${r.mainUsPerReq.toFixed(1)}) @ ${RATE} req/s\n`,
    );
  }
}

const summary = {};
for (const m of modes) {
  summary[m] = {
    rps: median(results[m].map((r) => r.rps)),
    p99: median(results[m].map((r) => r.p99)),
    cpuUsPerReq: median(results[m].map((r) => r.cpuUsPerReq)),
    mainUsPerReq: median(results[m].map((r) => r.mainUsPerReq)),
  };
}
const base = summary.plain;
const cpuModel = (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? 'unknown';
console.log(`\n${new Date().toISOString()}  node ${process.version}  ${cpus().length} CPUs (${cpuModel})  pinned: ${PIN}`);
console.log(`${ROUNDS} alternating rounds, ${DURATION} s each; closed loop ${CONNECTIONS} connections; fixed rate ${RATE} req/s\n`);
console.log('| mode | req/s (median) | × plain | p99 ms (median) | × plain | CPU µs/request, process | × plain | CPU µs/request, main thread | × plain |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const m of modes) {
  const s = summary[m];
  console.log(
    `| ${m} | ${s.rps.toFixed(0)} | ${(s.rps / base.rps).toFixed(3)} | ${s.p99} | ${(s.p99 / base.p99).toFixed(2)} | ${s.cpuUsPerReq.toFixed(1)} | ${(s.cpuUsPerReq / base.cpuUsPerReq).toFixed(3)} | ${s.mainUsPerReq.toFixed(1)} | ${(s.mainUsPerReq / base.mainUsPerReq).toFixed(3)} |`,
  );
}
process.exit(0);
