#!/usr/bin/env node
// What watching a fleet costs: `leakscope watch --targets FILE` over TARGETS local HTTP servers
// that serve recorded profiles (half: heap and async profiles recorded from a Node service with
// the agent, the express-session example under load, at the start of the run; half: the Go leakysvc
// profiles of ../shared when present), polled every INTERVAL for DURATION. Measured on the
// watcher process alone (the servers run in this process): CPU time from /proc/<pid>/stat per
// 10 s window, as a share of one core; RSS; and the JS heap after a full GC, every 10 s (a
// bench-only preload, fleet-probe.mjs, calls gc() and writes memoryUsage()).
// Anchor, side by side over the same servers at the same time: a bare poller that fetches the
// same URLs at the same interval and concurrency and throws the bytes away (no parse, no save,
// no analysis): the floor of what polling over HTTP costs in Node.
// Usage: npm run build && node bench/fleet.mjs [--targets 100 --interval 10s --duration 6m]
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { targets: { type: 'string', default: '100' }, interval: { type: 'string', default: '10s' }, duration: { type: 'string', default: '6m' }, anchor: { type: 'boolean', default: false }, urls: { type: 'string' } },
});
const ms = (v) => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60000 : 1000);
};
const INTERVAL = ms(values.interval);
const DURATION = ms(values.duration);

// --- the anchor, run as a child of this script: fetch, discard, at the interval, 8 at once
if (values.anchor) {
  const urls = readFileSync(values.urls, 'utf8').split('\n').filter(Boolean);
  const end = Date.now() + DURATION;
  while (Date.now() < end) {
    const start = Date.now();
    let i = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (i < urls.length) {
          const base = urls[i++];
          for (const p of ['heap?gc=1', 'goroutine']) {
            const r = await fetch(`${base}/${p}`);
            await r.arrayBuffer();
          }
        }
      }),
    );
    await new Promise((r) => setTimeout(r, Math.max(0, start + INTERVAL - Date.now())));
  }
  process.exit(0);
}

const N = Number(values.targets);
const work = mkdtempSync(join(tmpdir(), 'leakscope-bench-fleet-'));

// --- record profiles from a real-framework Node service with the agent (express + express-session,
// examples/real-services) under a little load, so the profiles have a real service's stacks
async function recordNode() {
  const child = spawn(process.execPath, [join(root, 'examples/real-services/express-session/server.js')], {
    env: { ...process.env, PORT: '0', AGENT_PORT: '0', LEAKSCOPE_HEAP_INTERVAL: '32768' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ready = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{"ready"'));
      if (line) resolve(JSON.parse(line));
    });
    child.on('exit', (c) => reject(new Error(`recording service exited ${c}`)));
  });
  const base = ready.agent.replace(/\/$/, '');
  let stop = false;
  let n = 0;
  const load = (async () => {
    while (!stop) {
      n++;
      const path = n % 2 ? `/api/products/${n % 100000}` : `/api/search?q=term${n % 10000}`;
      await (await fetch(new URL(path, ready.url))).arrayBuffer().catch(() => {});
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const heap = [];
  const goroutine = [];
  await new Promise((r) => setTimeout(r, 3000));
  for (let i = 0; i < 10; i++) {
    heap.push(Buffer.from(await (await fetch(`${base}/heap?gc=1`)).arrayBuffer()));
    goroutine.push(Buffer.from(await (await fetch(`${base}/goroutine`)).arrayBuffer()));
    await new Promise((r) => setTimeout(r, 1000));
  }
  stop = true;
  await load;
  child.kill('SIGKILL');
  return { heap, goroutine };
}

function recordedGo() {
  const dir = join(root, '..', 'shared', 'fixtures', 'go', 'leakysvc', 'profiles');
  if (!existsSync(dir)) return undefined;
  const load = (k) => [1, 2, 3, 4, 5].map((i) => readFileSync(join(dir, `${k}.${i}.pb.gz`)));
  return { heap: load('heap'), goroutine: load('goroutine') };
}

const nodeSet = await recordNode();
const goSet = recordedGo();
if (!goSet) console.log('../shared fixtures absent: every target serves the recorded Node profiles');
const sets = goSet ? [nodeSet, goSet] : [nodeSet];
const size = (s) => (s.heap.reduce((a, b) => a + b.length, 0) / s.heap.length / 1024).toFixed(1);
console.log(`recorded: Node heap profiles ${size(nodeSet)} kB on average${goSet ? `, Go ${size(goSet)} kB` : ''}`);

// --- the servers: target i serves set i % sets, the k-th request of a kind gets profile k mod n
const servers = [];
for (let i = 0; i < N; i++) {
  const set = sets[i % sets.length];
  const n = { heap: 0, goroutine: 0 };
  const s = createServer((req, res) => {
    const m = /^\/debug\/pprof\/(heap|goroutine)(\?|$)/.exec(req.url);
    if (!m) return void res.writeHead(404).end();
    const list = set[m[1]];
    const body = list[n[m[1]]++ % list.length];
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  });
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  servers.push(s);
}
const addrs = servers.map((s) => `127.0.0.1:${s.address().port}`);
const targetsFile = join(work, 'targets.json');
writeFileSync(targetsFile, JSON.stringify([{ targets: addrs.slice(0, N / 2), labels: { job: 'node' } }, { targets: addrs.slice(N / 2), labels: { job: 'go' } }]));
const urlsFile = join(work, 'urls.txt');
writeFileSync(urlsFile, addrs.map((a) => `http://${a}/debug/pprof`).join('\n'));

function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, clock ticks of 1/100 s
  } catch {
    return NaN;
  }
}
function rssMB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m[1]) / 1024;
  } catch {
    return NaN;
  }
}

const probeOut = join(work, 'probe.jsonl');
const out = join(work, 'fleet');
const watcher = spawn(process.execPath, ['--expose-gc', '--import', join(root, 'bench/fleet-probe.mjs'), join(root, 'dist/src/cli/main.js'), 'watch', '--targets', targetsFile, '--interval', values.interval, '--duration', values.duration, '-q', '--json', '-o', out], {
  env: { ...process.env, LEAKSCOPE_PROBE_OUT: probeOut },
  stdio: ['ignore', 'pipe', 'pipe'],
});
const anchor = spawn(process.execPath, [fileURLToPath(import.meta.url), '--anchor', '--urls', urlsFile, '--interval', values.interval, '--duration', values.duration], { stdio: ['ignore', 'ignore', 'inherit'] });
let report = '';
watcher.stdout.on('data', (d) => (report += d));
let werr = '';
watcher.stderr.on('data', (d) => (werr += d));

const t0 = Date.now();
const windows = [];
let last = { t: t0, w: cpuMs(watcher.pid), a: cpuMs(anchor.pid) };
const done = Promise.all([new Promise((r) => watcher.on('exit', r)), new Promise((r) => anchor.on('exit', r))]);
const timer = setInterval(() => {
  const now = { t: Date.now(), w: cpuMs(watcher.pid), a: cpuMs(anchor.pid) };
  const wall = now.t - last.t;
  windows.push({ at: (now.t - t0) / 1000, watch: (now.w - last.w) / wall, anchor: (now.a - last.a) / wall, rss: rssMB(watcher.pid), anchorRss: rssMB(anchor.pid) });
  last = now;
}, 10000);
await done;
clearInterval(timer);
for (const s of servers) s.close();

const med = (v) => {
  const s = v.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const probe = readFileSync(probeOut, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const steady = windows.filter((w) => w.at > 30 && w.at <= DURATION / 1000);
const pct = (x) => `${(x * 100).toFixed(1)}%`;
let targets = 0;
let samples = 0;
try {
  const j = JSON.parse(report);
  targets = j.targets.length;
  samples = med(j.targets.map((t) => t.samples));
} catch {
  console.log(`watch did not print a report: ${werr.slice(-500)}`);
}
const files = readdirSync(out).filter((n) => n !== 'fleet.json').length;
console.log(`\n${new Date().toISOString()} — ${cpus().length}× ${cpus()[0]?.model}, Node ${process.version}`);
console.log(`${N} targets (${files} run directories, ${targets} in the report, median ${samples} samples each), every ${values.interval} for ${values.duration}`);
console.log(`\n| | CPU, share of one core (median of 10 s windows after 30 s) | max window | RSS start → end |`);
console.log(`|---|---|---|---|`);
console.log(`| leakscope watch --targets | ${pct(med(steady.map((w) => w.watch)))} | ${pct(Math.max(...steady.map((w) => w.watch)))} | ${windows[0]?.rss.toFixed(0)} → ${windows[windows.length - 2]?.rss.toFixed(0)} MB |`);
console.log(`| anchor: bare fetch loop | ${pct(med(steady.map((w) => w.anchor)))} | ${pct(Math.max(...steady.map((w) => w.anchor)))} | ${windows[0]?.anchorRss.toFixed(0)} → ${windows[windows.length - 2]?.anchorRss.toFixed(0)} MB |`);
console.log('\nwatcher memory every minute (JS heap after a full GC / RSS):');
for (const p of probe.filter((_, i) => i % 6 === 5 || i === 0)) console.log(`  ${(p.t / 1000).toFixed(0).padStart(4)} s  heap ${(p.heapUsed / 1048576).toFixed(1)} MB  rss ${(p.rss / 1048576).toFixed(1)} MB`);
// the live view keeps the last 20 polls of each target: memory grows until they are there, then not
// (probes after the polling ended, while the report is read back, are left out)
const filled = probe.filter((p) => p.t > 21 * INTERVAL && p.t < DURATION - INTERVAL / 2);
if (filled.length > 2) {
  const first = filled[0];
  const lastP = filled[filled.length - 1];
  const slope = (k) => ((lastP[k] - first[k]) / 1048576) / ((lastP.t - first.t) / 60000);
  console.log(
    `after the live window filled (${(first.t / 1000).toFixed(0)} s → ${(lastP.t / 1000).toFixed(0)} s): heap after GC ${(first.heapUsed / 1048576).toFixed(1)} → ${(lastP.heapUsed / 1048576).toFixed(1)} MB ` +
      `(${slope('heapUsed').toFixed(2)} MB/min), RSS ${(first.rss / 1048576).toFixed(1)} → ${(lastP.rss / 1048576).toFixed(1)} MB (${slope('rss').toFixed(2)} MB/min)`,
  );
}
rmSync(work, { recursive: true, force: true });
