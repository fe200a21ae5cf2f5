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
// it must not take the host's CPU). Reports medians over ROUNDS rounds and the ratio to control,
// and the host's CPU time per request served (all its threads, from /proc): on a machine whose
// throughput wanders from round to round, CPU per request is the host's capacity, the part of a
// throughput ratio that the agent's work can change.
// BASELINE=<checkout> runs a second host with that checkout's built agent, in the same rounds.
//
// Usage: node bench/agent-storm.mjs   (after npm run build; env: ROUNDS=3 DURATION=4
//        CONNECTIONS=20 STORM=200 HEAP_MB=20 NODE=<node binary for the host> BASELINE=/path
//        MODES=control,heap?gc=1 to measure some storms only;
//        ROUNDS=0: only the storms' cost on an unloaded host;
//        TOGGLE=4000 [TOGGLE_SECONDS=60]: each storm switched on and off every 4 s during one
//        autocannon run, on-phases compared with the off-phases beside them)
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
// With PHASE_MS and T0 (TOGGLE below): requests only in the odd phases of PHASE_MS counted from T0;
// at a phase's end every request still waiting is dropped (the client goes away).
if (process.argv[2] === '--storm') {
  const [, , , url, seconds, concurrency, phaseArg, t0Arg] = process.argv;
  const end = Date.now() + Number(seconds) * 1000;
  const phaseMs = Number(phaseArg ?? 0);
  const t0 = Number(t0Arg ?? 0);
  // the end of the current on-phase (waiting first through an off-phase), or `end` without phases
  const onUntil = async () => {
    if (!phaseMs) return end;
    for (;;) {
      const now = Date.now();
      const k = Math.floor((now - t0) / phaseMs);
      if (now >= t0 && k % 2 === 1) return Math.min(end, t0 + (k + 1) * phaseMs);
      if (now >= end) return end;
      await sleep(Math.min(end, now < t0 ? t0 + phaseMs : t0 + (k + 1) * phaseMs) - now);
    }
  };
  const statuses = {};
  let done = 0;
  // node:http with a keep-alive agent of exactly `concurrency` sockets: fetch's pool opened more
  // connections than clients (past the agent's connection bound, which then closed them)
  const { Agent, get } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: Number(concurrency) });
  const request = (until) =>
    new Promise((resolve, reject) => {
      const req = get(url, { agent, timeout: Math.max(1, until - Date.now()) }, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', reject);
    });
  const one = async () => {
    while (Date.now() < end) {
      const until = await onUntil();
      if (Date.now() >= end) break;
      try {
        const status = await request(until);
        statuses[status] = (statuses[status] ?? 0) + 1;
        done++;
        // a rate-limited client waits as told (well-behaved); others come straight back
        if (status === 429 || status === 409) await sleep(Math.min(until - Date.now(), 200));
      } catch (e) {
        // still waiting when the storm (or its phase) ended, or failed (e.g. a reset connection)
        const k = Date.now() >= until - 5 ? 'aborted' : `failed (${e?.code ?? 'error'})`;
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
function storm(url, seconds = DURATION + 1, phases = []) {
  return new Promise((resolve) => {
    const cmd = [process.execPath, fileURLToPath(import.meta.url), '--storm', url, String(seconds), String(STORM), ...phases.map(String)];
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

// TOGGLE=<phase ms> (e.g. 4000): instead of rounds, one autocannon run of TOGGLE_SECONDS (default
// 60) per storm, with the storm on in every other phase. Throughput is counted per second; the
// first second of each phase is left out (the storm starting or its clients going), and each
// on-phase is compared with the mean of the off-phases on either side of it. Adjacent seconds see
// the same machine, so a machine whose speed wanders over tens of seconds (this one: controls of
// 18,000–32,000 req/s in successive rounds) still gives a tight ratio. The control row toggles
// nothing: the same comparison of odd phases with even ones, the method's own noise (A/A).
if (process.env.TOGGLE) {
  const P = Number(process.env.TOGGLE);
  const SECONDS = Number(process.env.TOGGLE_SECONDS ?? 60);
  const rows = [];
  for (const h of Object.values(hosts)) await cannon(`${h.base}/json`); // warm-up
  for (const [name, h] of Object.entries(hosts)) {
    for (const mode of modes) {
      const t0 = Date.now() + 1500; // the storm's client is up by then
      const st = mode === 'control' ? undefined : storm(`${h.agent}${mode}`, SECONDS + 3, [P, t0]);
      await sleep(t0 - Date.now());
      const ticks = [];
      await new Promise((resolve, reject) => {
        const inst = autocannon({ url: `${h.base}/json`, connections: CONNECTIONS, duration: SECONDS, pipelining: 1 }, (err) => (err ? reject(err) : resolve()));
        inst.on('tick', (t) => ticks.push({ at: Date.now(), n: t.counter, cpu: cpuTicks(h.proc.pid) }));
      });
      const s = st ? await st : undefined;
      await quiet(h);
      // per phase, the requests of the seconds wholly inside it, after its first second
      const phase = new Map();
      for (let i = 1; i < ticks.length; i++) {
        const t = ticks[i];
        const cpu = t.cpu - ticks[i - 1].cpu;
        // the phase of the second's midpoint; its first second left out, and at most 100 ms of
        // the next phase let in (autocannon's seconds start a few ms after the phases do)
        const from = t.at - 1000;
        const k = Math.floor((t.at - 500 - t0) / P);
        if (from - (t0 + k * P) < 900 || t.at > t0 + (k + 1) * P + 100) continue;
        const e = phase.get(k) ?? { sum: 0, n: 0, cpu: 0 };
        e.sum += t.n;
        e.n++;
        e.cpu += cpu;
        phase.set(k, e);
      }
      // the host's CPU in on- and off-phases: its share of a core, and µs per request
      const part = (on) => {
        const ks = [...phase.keys()].filter((k) => (k % 2 === 1) === on);
        const sec = ks.reduce((a, k) => a + phase.get(k).n, 0);
        const req = ks.reduce((a, k) => a + phase.get(k).sum, 0);
        const cpu = ks.reduce((a, k) => a + phase.get(k).cpu, 0);
        return { share: cpu / sec / 100, usPerReq: (cpu * 1e4) / req };
      };
      const cpuOn = part(true);
      const cpuOff = part(false);
      const mean = (k) => (phase.has(k) ? phase.get(k).sum / phase.get(k).n : undefined);
      const ratios = [];
      for (const k of [...phase.keys()].sort((a, b) => a - b)) {
        if (k % 2 !== 1) continue;
        const before = mean(k - 1);
        const after = mean(k + 1);
        if (before !== undefined && after !== undefined) ratios.push(mean(k) / ((before + after) / 2));
      }
      ratios.sort((a, b) => a - b);
      const q = (f) => ratios[Math.min(ratios.length - 1, Math.max(0, Math.round(f * (ratios.length - 1))))];
      const onMean = median([...phase.keys()].filter((k) => k % 2 === 1).map(mean));
      const offMean = median([...phase.keys()].filter((k) => k % 2 === 0).map(mean));
      const row = { name, mode, pairs: ratios.length, ratio: median(ratios), q1: q(0.25), q3: q(0.75), on: onMean, off: offMean, cpuOn, cpuOff, statuses: s?.statuses };
      rows.push(row);
      process.stderr.write(`toggle ${name} ${mode}: ${row.pairs} pairs, on/off ${row.ratio.toFixed(3)} (quartiles ${row.q1.toFixed(3)}–${row.q3.toFixed(3)}), ${onMean.toFixed(0)} vs ${offMean.toFixed(0)} req/s, host CPU ${(cpuOn.share * 100).toFixed(0)}% vs ${(cpuOff.share * 100).toFixed(0)}% of a core, ${cpuOn.usPerReq.toFixed(1)} vs ${cpuOff.usPerReq.toFixed(1)} µs/req${s ? ` agent answers ${JSON.stringify(s.statuses)}` : ''}\n`);
      await sleep(2000);
    }
  }
  console.log(`\nhost ${NODE === process.execPath ? process.version : NODE}${PIN ? ' on core 1, load generators on core 0' : ''}: storms of ${STORM} concurrent agent requests (${STORM_SCHED === 'idle' ? 'SCHED_IDLE, nice 10' : 'nice 10'}) toggled every ${P / 1000} s for ${SECONDS} s, ${CONNECTIONS} autocannon connections on /json`);
  console.log('"on/off": the median over on-phases of its req/s over the mean of the off-phases beside it (the first second of each phase left out); control: odd phases over even ones with no storm at all');
  console.log('"host CPU": the host process (all threads) in on / off phases, share of a core and µs per request served');
  console.log('| host | storm | pairs | on/off | quartiles | req/s on | req/s off | host CPU on / off | µs/req on / off | agent answers |\n|---|---|---:|---:|---|---:|---:|---|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${r.mode === 'control' ? 'none (A/A)' : r.mode} | ${r.pairs} | ${r.ratio.toFixed(3)} | ${r.q1.toFixed(3)}–${r.q3.toFixed(3)} | ${r.on.toFixed(0)} | ${r.off.toFixed(0)} | ${(r.cpuOn.share * 100).toFixed(0)}% / ${(r.cpuOff.share * 100).toFixed(0)}% | ${r.cpuOn.usPerReq.toFixed(1)} / ${r.cpuOff.usPerReq.toFixed(1)} | ${r.statuses ? Object.entries(r.statuses).map(([k, v]) => `${v}× ${k}`).join(', ') : ''} |`);
  process.exit(0);
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
      const c0 = cpuTicks(h.proc.pid);
      const r = await cannon(`${h.base}/json`);
      const cpu = cpuTicks(h.proc.pid) - c0;
      const s = st ? await st : undefined;
      const busy = await quiet(h);
      for (const other of Object.values(hosts)) await quiet(other);
      // the host's CPU (every thread) per request served: its capacity, whatever CPU the machine
      // gave it this round (ticks of 10 ms → µs)
      const cpuUs = r.requests.total > 0 ? (cpu * 1e4) / r.requests.total : NaN;
      results[`${name} ${mode}`].push({ round, rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx, storm: s, busy, cpuUs });
      process.stderr.write(`round ${round + 1} ${name} ${mode}: ${r.requests.average.toFixed(0)} req/s ${cpuUs.toFixed(1)} µs CPU/req p99 ${r.latency.p99} ms${s ? ` agent answers ${JSON.stringify(s.statuses)}, host busy ${busy} s after` : ''}\n`);
      await sleep(2000); // rate limits and sharing windows expire between measurements
    }
  }
}
console.log(`\nhost ${NODE === process.execPath ? process.version : NODE}${PIN ? ' on core 1, load generators on core 0' : ''}: ${ROUNDS} rounds × ${DURATION} s, ${CONNECTIONS} autocannon connections on /json; storms of ${STORM} concurrent agent requests (${STORM_SCHED === 'idle' ? 'SCHED_IDLE, nice 10' : 'nice 10'})`);
console.log('"ratio": median req/s over the control\'s median; "paired": the median over rounds of req/s over the same round\'s control; "CPU/req": the host\'s CPU time (all threads) per request served, median; "capacity": the median over rounds of the same round\'s control CPU/req over this CPU/req (requests the host serves per CPU-second, relative to the control)');
console.log('| host | storm | host req/s | ratio | paired | CPU/req µs | capacity | host p99 ms | host busy after, s | agent answers (median round) |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---|');
for (const name of ROUNDS > 0 ? Object.keys(hosts) : []) {
  const control = median(results[`${name} control`].map((x) => x.rps));
  for (const mode of modes) {
    const xs = results[`${name} ${mode}`];
    const rps = median(xs.map((x) => x.rps));
    const mid = [...xs].sort((a, b) => a.rps - b.rps)[xs.length >> 1];
    const answers = mid.storm ? Object.entries(mid.storm.statuses).map(([k, v]) => `${v}× ${k}`).join(', ') : '';
    const controls = results[`${name} control`];
    const paired = median(xs.map((x) => x.rps / controls.find((c) => c.round === x.round).rps));
    const capacity = median(xs.map((x) => controls.find((c) => c.round === x.round).cpuUs / x.cpuUs));
    console.log(`| ${name} | ${mode === 'control' ? 'none (control)' : mode} | ${rps.toFixed(0)} | ${(rps / control).toFixed(3)} | ${paired.toFixed(3)} | ${median(xs.map((x) => x.cpuUs)).toFixed(1)} | ${capacity.toFixed(3)} | ${median(xs.map((x) => x.p99))} | ${mode === 'control' ? '' : median(xs.map((x) => x.busy)).toFixed(1)} | ${answers} |`);
  }
}
console.log(`\nThe storm alone (no autocannon), ${DURATION} s: share of a core used by the host's main thread and by its other threads (agent worker, GC helpers), and how long the host stayed busy after the storm ended`);
console.log('| host | storm | main thread | other threads | busy after, s | agent answers |\n|---|---|---:|---:|---:|---|');
for (const [k, c] of Object.entries(cost)) {
  const [name, mode] = k.split(' ');
  console.log(`| ${name} | ${mode} | ${(c.main * 100).toFixed(0)}% | ${(c.other * 100).toFixed(0)}% | ${c.busy.toFixed(1)} | ${Object.entries(c.statuses).map(([x, v]) => `${v}× ${x}`).join(', ')} |`);
}
process.exit(0);
