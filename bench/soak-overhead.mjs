#!/usr/bin/env node
// soak's own cost: the load generator (autocannon), the watch engine and the metrics reader run
// in this process (runSoak imported from dist), the service in another (the example Node service,
// leaks off, agent injected). Measured: this process's CPU time per second of wall time (1.0 = one
// core) and the rate reached, side by side with autocannon alone (same service, same rate, same
// connections, same duration, no watch). Medians of --runs runs, alternating.
// Usage: node bench/soak-overhead.mjs [--rate 2000] [--connections 20] [--duration 10s] [--runs 3]
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { runSoak } = await import(join(root, 'dist/src/cli/commands/soak.js'));
const { parseDuration } = await import(join(root, 'dist/src/cli/commands/watch.js'));
const autocannon = createRequire(import.meta.url)('autocannon');
const server = join(root, 'dist/examples/node-service/server.js');
const { values } = parseArgs({ options: { rate: { type: 'string', default: '2000' }, connections: { type: 'string', default: '20' }, duration: { type: 'string', default: '10s' }, runs: { type: 'string', default: '3' } } });
const durMs = parseDuration(values.duration, 'duration');
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const io = { stdout: () => {}, stderr: () => {}, isTTY: false };

async function soakOnce() {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const { data } = await runSoak({ url: 'http://127.0.0.1:{port}/api', rate: values.rate, connections: values.connections, duration: values.duration, warmup: '0s', rounds: '1', quiet: true, out: join(root, 'bench', 'out', `soak-overhead-${Date.now()}`) }, [process.execPath, server], io, new AbortController().signal);
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const r = data.rounds[0];
  return { cores: (c.user + c.system) / 1000 / wall, rps: r.rps, p99: r.p99 };
}

async function aloneOnce() {
  // the same service with the agent, started by hand; autocannon alone against it
  const child = spawn(process.execPath, ['--import', join(root, 'dist/src/register.js'), server], { env: { ...process.env, LEAKS: 'off', PORT: '0', LEAKSCOPE_ADDR: '127.0.0.1:0' }, stdio: ['ignore', 'pipe', 'ignore'] });
  const url = await new Promise((resolve) => {
    let s = '';
    child.stdout.on('data', (d) => {
      s += d;
      const m = /"url":"([^"]+)"/.exec(s);
      if (m) resolve(m[1]);
    });
  });
  try {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const res = await autocannon({ url: `${url}api`, connections: Number(values.connections), overallRate: Number(values.rate), duration: durMs / 1000 });
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    return { cores: (c.user + c.system) / 1000 / wall, rps: res.requests.total / res.duration, p99: res.latency.p99 };
  } finally {
    child.kill('SIGTERM');
  }
}

process.env.LEAKS = 'off';
console.log(`# soak overhead (${new Date().toISOString()}, ${cpus().length}× ${cpus()[0]?.model}, Node ${process.version}; machine shared with other jobs)`);
console.log(`# --rate ${values.rate} --connections ${values.connections} --duration ${values.duration}, ${values.runs} runs each, alternating`);
const soak = [];
const alone = [];
for (let i = 0; i < Number(values.runs); i++) {
  alone.push(await aloneOnce());
  soak.push(await soakOnce());
  console.log(`run ${i + 1}: autocannon alone ${alone[i].rps.toFixed(0)} req/s, ${alone[i].cores.toFixed(2)} cores; soak ${soak[i].rps.toFixed(0)} req/s, ${soak[i].cores.toFixed(2)} cores`);
}
console.log(`median: autocannon alone ${med(alone.map((r) => r.rps)).toFixed(0)} req/s using ${med(alone.map((r) => r.cores)).toFixed(2)} cores (p99 ${med(alone.map((r) => r.p99))}ms); soak ${med(soak.map((r) => r.rps)).toFixed(0)} req/s using ${med(soak.map((r) => r.cores)).toFixed(2)} cores (p99 ${med(soak.map((r) => r.p99))}ms)`);
