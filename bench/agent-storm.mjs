#!/usr/bin/env node
// The agent under hostile load (issue 16): a host HTTP service (test/programs/heap-host.mjs /json)
// under autocannon load, measured side by side with and without a storm of agent requests.
//
// One host runs with the agent (`--import leakscope/register`). Each round measures, in a rotating
// order, the host's throughput (autocannon, closed loop, CONNECTIONS connections, DURATION s) and
// p99 latency under:
//   control     no agent requests
//   heap        200 concurrent clients requesting /debug/pprof/heap in a closed loop
//   heap?gc=1   the same with gc=1
//   metrics     the same on metrics
//   goroutine   the same on goroutine
//   heapsnapshot  the same on heapsnapshot (answered 200 once, then 409/429)
// The storm runs in its own process at nice 10 (in production it comes from another machine; here
// it must not take the host's CPU). Reports medians over ROUNDS rounds and the ratio to control.
// BASELINE=<checkout> runs a second host with that checkout's built agent, in the same rounds.
//
// Usage: node bench/agent-storm.mjs   (after npm run build; env: ROUNDS=3 DURATION=4
//        CONNECTIONS=20 STORM=200 HEAP_MB=20 NODE=<node binary for the host> BASELINE=/path
//        MODES=control,heap?gc=1 to measure some storms only;
//        ROUNDS=0: only the storms' cost on an unloaded host)
// Memory of a heap snapshot through the agent vs in process:
//        node bench/agent-storm.mjs --memory   (env: HEAP_MB=25 NODE=... BASELINE=/path)
import { execFileSync, spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODE = process.env.NODE ?? process.execPath;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---------------------------------------------------------------------------------------------
// The storm client (child process): STORM concurrent closed-loop requests for DURATION s.
if (process.argv[2] === '--storm') {
  const [, , , url, seconds, concurrency] = process.argv;
  const end = Date.now() + Number(seconds) * 1000;
  const statuses = {};
  let done = 0;
  // node:http with a keep-alive agent of exactly `concurrency` sockets: fetch's pool opened more
  // connections than clients (past the agent's connection bound, which then closed them)
  const { Agent, get } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: Number(concurrency) });
  const request = () =>
    new Promise((resolve, reject) => {
      const req = get(url, { agent, timeout: Math.max(1, end - Date.now()) }, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', reject);
    });
  const one = async () => {
    while (Date.now() < end) {
      try {
        const status = await request();
        statuses[status] = (statuses[status] ?? 0) + 1;
        done++;
        // a rate-limited client waits as told (well-behaved); others come straight back
        if (status === 429 || status === 409) await sleep(Math.min(end - Date.now(), 200));
      } catch (e) {
        // still waiting when the storm ended, or failed (e.g. a reset connection)
        const k = Date.now() >= end - 5 ? 'aborted' : `failed (${e?.code ?? 'error'})`;
        statuses[k] = (statuses[k] ?? 0) + 1;
      }
    }
  };
  await Promise.all([...Array(Number(concurrency)).keys()].map(one));
  process.stdout.write(JSON.stringify({ done, statuses }));
  process.exit(0);
}

// PIN=1 (with taskset and 2+ cores): the host process (main thread and agent worker) runs on core 1 and the
// load generators (autocannon, the storm) on core 0, so the agent's own work is charged to the host.
function hasTaskset() {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return cpus().length >= 2;
  } catch {
    return false;
  }
}
const PIN = process.argv[2] !== '--storm' && process.env.PIN === '1' && hasTaskset();
if (PIN) execFileSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' });

const children = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

async function startHost(register, env = {}) {
  const args = [...(register ? ['--import', register] : []), join(root, 'test/programs/heap-host.mjs')];
  const proc = spawn(PIN ? 'taskset' : NODE, PIN ? ['-c', '1', NODE, ...args] : args, { env: { ...process.env, LEAKSCOPE_ADDR: '127.0.0.1:0', HEAP_MB: process.env.HEAP_MB ?? '20', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (err += d));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const port = /SERVICE_PORT=(\d+)/.exec(out);
    const agent = /listening on (http:\/\/\S+)/.exec(err);
    if (port && (agent || !register)) return { proc, base: `http://127.0.0.1:${port[1]}`, agent: agent?.[1] };
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`host did not start: ${err}`);
    await sleep(25);
  }
}

async function status(host) {
  return (await fetch(`${host.base}/status`)).json();
}

// ---------------------------------------------------------------------------------------------
if (process.argv[2] === '--memory') {
  // One fresh host per case: peak RSS (VmHWM) over the snapshot, RSS 3 s after it.
  const MB = (b) => (b / 1048576).toFixed(0);
  const cases = [
    ['in-process v8.writeHeapSnapshot (no agent)', null, 'inproc'],
    ['in-process v8.writeHeapSnapshot (agent running)', join(root, 'dist/src/register.js'), 'inproc'],
    ['agent, fast reader', join(root, 'dist/src/register.js'), 'fast'],
    ['agent, reader at 4 MB/s', join(root, 'dist/src/register.js'), 'slow'],
  ];
  if (process.env.BASELINE) {
    cases.push(['baseline agent, fast reader', join(process.env.BASELINE, 'dist/src/register.js'), 'fast']);
    cases.push(['baseline agent, reader at 4 MB/s', join(process.env.BASELINE, 'dist/src/register.js'), 'slow']);
  }
  console.log(`heap snapshot memory, host ${NODE === process.execPath ? process.version : NODE}, HEAP_MB=${process.env.HEAP_MB ?? 25}`);
  console.log('| case | snapshot MB | RSS before | peak RSS | RSS 3 s after |\n|---|---:|---:|---:|---:|');
  for (const [label, register, how] of cases) {
    const host = await startHost(register, { HEAP_MB: process.env.HEAP_MB ?? '25' });
    const before = await status(host);
    let bytes = 0;
    if (how === 'inproc') bytes = (await (await fetch(`${host.base}/write-snapshot`)).json()).bytes;
    else {
      const r = await fetch(`${host.agent}heapsnapshot`);
      const t0 = Date.now();
      for await (const c of r.body) {
        bytes += c.length;
        // 4 MB/s: well below what V8 writes
        if (how === 'slow') {
          const ahead = bytes / (4 * 1048576) - (Date.now() - t0) / 1000;
          if (ahead > 0) await sleep(ahead * 1000);
        }
      }
    }
    await sleep(3000);
    const after = await status(host);
    console.log(`| ${label} | ${MB(bytes)} | ${MB(before.rss)} | ${MB(after.hwm)} | ${MB(after.rss)} |`);
    host.proc.kill('SIGKILL');
    await sleep(500);
  }
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
const { default: autocannon } = await import('autocannon');
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const DURATION = Number(process.env.DURATION ?? 4);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 20);
const STORM = Number(process.env.STORM ?? 200);

function cannon(url) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, duration: DURATION, pipelining: 1 }, (err, r) => (err ? reject(err) : resolve(r)));
  });
}

function cpuTicks(pid, tid) {
  const stat = readFileSync(tid ? `/proc/${pid}/task/${tid}/stat` : `/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, in 1/100 s
}

/**
 * Seconds until the host is quiet again (under 20% of a core over 500 ms, at most 60 s): work the
 * agent still does for a storm whose clients have gone. Hosts are measured one at a time, and the
 * next measurement starts only when every host is quiet, so one host's backlog never slows another.
 */
async function quiet(host) {
  const t0 = Date.now();
  for (;;) {
    const a = cpuTicks(host.proc.pid);
    await sleep(500);
    if (cpuTicks(host.proc.pid) - a < 10 || Date.now() - t0 > 60_000) return (Date.now() - t0 - 500) / 1000;
  }
}

// STORM_SCHED=idle (default where chrt exists): the storm client runs under SCHED_IDLE, so it gets a
// core only when neither the host nor autocannon wants it, the nearest this one machine comes to a
// client on another machine; STORM_SCHED=nice: nice 10 only (the earlier measurements).
function hasChrt() {
  try {
    execFileSync('chrt', ['--idle', '0', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const STORM_SCHED = process.argv[2] !== '--storm' && (process.env.STORM_SCHED ?? 'idle') === 'idle' && hasChrt() ? 'idle' : 'nice';
function storm(url) {
  return new Promise((resolve) => {
    const cmd = [process.execPath, fileURLToPath(import.meta.url), '--storm', url, String(DURATION + 1), String(STORM)];
    const p = STORM_SCHED === 'idle' ? spawn('chrt', ['--idle', '0', 'nice', '-n', '10', ...cmd], { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn('nice', ['-n', '10', ...cmd], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(p);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', () => resolve(out ? JSON.parse(out) : { done: 0, statuses: {} }));
  });
}

const hosts = { current: await startHost(join(root, 'dist/src/register.js')) };
if (process.env.BASELINE) hosts.baseline = await startHost(join(process.env.BASELINE, 'dist/src/register.js'));
// MODES=control,heap?gc=1 measures those only (control is always kept: the ratios need it)
const allModes = ['control', 'heap', 'heap?gc=1', 'metrics', 'goroutine', 'heapsnapshot'];
const picked = (process.env.MODES ?? '').split(',').map((m) => m.trim()).filter(Boolean);
for (const m of picked) if (!allModes.includes(m)) throw new Error(`MODES: unknown mode ${m} (one of ${allModes.join(', ')})`);
const modes = picked.length > 0 ? allModes.filter((m) => m === 'control' || picked.includes(m)) : allModes;

// The agent's cost on the host, free of the load generator: each storm alone for DURATION s, the
// CPU the host's main thread (tid = pid) and its other threads (the agent worker, GC helpers) used.
const cost = {};
for (const [name, h] of Object.entries(hosts)) {
  for (const mode of modes.slice(1)) {
    const st = storm(`${h.agent}${mode}`);
    await sleep(500);
    const t0 = Date.now();
    const m0 = cpuTicks(h.proc.pid, h.proc.pid);
    const a0 = cpuTicks(h.proc.pid);
    await sleep(DURATION * 1000 - 500);
    const wall = (Date.now() - t0) / 1000;
    const main = (cpuTicks(h.proc.pid, h.proc.pid) - m0) / 100 / wall;
    const other = (cpuTicks(h.proc.pid) - a0) / 100 / wall - main;
    const s = await st;
    const busy = await quiet(h);
    for (const o of Object.values(hosts)) await quiet(o);
    cost[`${name} ${mode}`] = { main, other, busy, statuses: s.statuses };
    process.stderr.write(`cost ${name} ${mode}: main thread ${(main * 100).toFixed(0)}% other threads ${(other * 100).toFixed(0)}% busy after ${busy} s ${JSON.stringify(s.statuses)}\n`);
    await sleep(2000);
  }
}

const results = {};
for (const h of Object.keys(hosts)) for (const m of modes) results[`${h} ${m}`] = [];
if (ROUNDS > 0) for (const h of Object.values(hosts)) await cannon(`${h.base}/json`); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  const order = modes.map((_, i) => modes[(i + round) % modes.length]);
  for (const mode of order) {
    for (const [name, h] of Object.entries(hosts)) {
      const st = mode === 'control' ? undefined : storm(`${h.agent}${mode}`);
      if (st) await sleep(300); // the storm is running
      const r = await cannon(`${h.base}/json`);
      const s = st ? await st : undefined;
      const busy = await quiet(h);
      for (const other of Object.values(hosts)) await quiet(other);
      results[`${name} ${mode}`].push({ round, rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx, storm: s, busy });
      process.stderr.write(`round ${round + 1} ${name} ${mode}: ${r.requests.average.toFixed(0)} req/s p99 ${r.latency.p99} ms${s ? ` agent answers ${JSON.stringify(s.statuses)}, host busy ${busy} s after` : ''}\n`);
      await sleep(2000); // rate limits and sharing windows expire between measurements
    }
  }
}
console.log(`\nhost ${NODE === process.execPath ? process.version : NODE}${PIN ? ' on core 1, load generators on core 0' : ''}: ${ROUNDS} rounds × ${DURATION} s, ${CONNECTIONS} autocannon connections on /json; storms of ${STORM} concurrent agent requests (${STORM_SCHED === 'idle' ? 'SCHED_IDLE, nice 10' : 'nice 10'})`);
console.log('"ratio": median req/s over the control\'s median; "paired": the median over rounds of req/s over the same round\'s control');
console.log('| host | storm | host req/s | ratio | paired | host p99 ms | host busy after, s | agent answers (median round) |\n|---|---|---:|---:|---:|---:|---:|---|');
for (const name of ROUNDS > 0 ? Object.keys(hosts) : []) {
  const control = median(results[`${name} control`].map((x) => x.rps));
  for (const mode of modes) {
    const xs = results[`${name} ${mode}`];
    const rps = median(xs.map((x) => x.rps));
    const mid = [...xs].sort((a, b) => a.rps - b.rps)[xs.length >> 1];
    const answers = mid.storm ? Object.entries(mid.storm.statuses).map(([k, v]) => `${v}× ${k}`).join(', ') : '';
    const controls = results[`${name} control`];
    const paired = median(xs.map((x) => x.rps / controls.find((c) => c.round === x.round).rps));
    console.log(`| ${name} | ${mode === 'control' ? 'none (control)' : mode} | ${rps.toFixed(0)} | ${(rps / control).toFixed(3)} | ${paired.toFixed(3)} | ${median(xs.map((x) => x.p99))} | ${mode === 'control' ? '' : median(xs.map((x) => x.busy)).toFixed(1)} | ${answers} |`);
  }
}
console.log(`\nThe storm alone (no autocannon), ${DURATION} s: share of a core used by the host's main thread and by its other threads (agent worker, GC helpers), and how long the host stayed busy after the storm ended`);
console.log('| host | storm | main thread | other threads | busy after, s | agent answers |\n|---|---|---:|---:|---:|---|');
for (const [k, c] of Object.entries(cost)) {
  const [name, mode] = k.split(' ');
  console.log(`| ${name} | ${mode} | ${(c.main * 100).toFixed(0)}% | ${(c.other * 100).toFixed(0)}% | ${c.busy.toFixed(1)} | ${Object.entries(c.statuses).map(([x, v]) => `${v}× ${x}`).join(', ')} |`);
}
process.exit(0);
