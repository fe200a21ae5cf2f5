#!/usr/bin/env node
// The README demo: start the leaky example Node service with leakscope's agent on free ports, drive
// load with autocannon, watch heap and async profiles with the live view for about a minute, and
// print the leak report with the run directory, and the `leakscope web <run-dir>` command that
// shows it in a browser.
//
// Usage: npm run demo [-- --duration 60 --interval 5 --rate 200 --json --snapshots]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    interval: { type: 'string', default: '5' },
    rate: { type: 'string' },
    connections: { type: 'string', default: '8' },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
    snapshots: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  },
});
const durationS = Number(values.duration);
const intervalS = Number(values.interval);
const rate = values.rate !== undefined ? Number(values.rate) : 200;
const log = (s) => process.stderr.write(`demo: ${s}\n`);

const server = join(root, 'dist/examples/node-service/server.js');
const cli = join(root, 'dist/src/cli/main.js');
if (!existsSync(server) || !existsSync(cli)) {
  log('dist/ is missing: run "npm run build" (npm install does it) first');
  process.exit(1);
}

const children = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
};
process.on('exit', cleanup);

// 1. the example service
const svc = spawn(process.execPath, ['--enable-source-maps', server], { env: { ...process.env, PORT: '0', AGENT_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
children.push(svc);
let svcErr = '';
svc.stderr.on('data', (d) => {
  svcErr = (svcErr + d).slice(-4000);
});
const ready = await new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error(`the example service did not start within 20 s\n${svcErr}`)), 20000);
  const rl = createInterface({ input: svc.stdout });
  rl.on('line', (line) => {
    try {
      const j = JSON.parse(line);
      if (j.ready) {
        clearTimeout(t);
        resolve(j);
      }
    } catch {
      /* not the ready line */
    }
  });
  svc.on('exit', (code) => reject(new Error(`the example service exited (${code})\n${svcErr}`)));
}).catch((e) => {
  log(e.message);
  cleanup();
  process.exit(1);
});
log(`example service on ${ready.url}, agent on ${ready.agent}`);

// 2. load: random users and products (the product cache has no bound, the LRU has 400 slots)
let n = 0;
const load = autocannon({
  url: ready.url,
  connections: Number(values.connections),
  overallRate: rate,
  duration: durationS + intervalS + 10,
  requests: [
    {
      method: 'GET',
      setupRequest: (req) => {
        n++;
        return { ...req, path: `/api?user=u${(n * 7919) % 5000}&product=p${Math.floor(Math.random() * 1e9)}` };
      },
    },
  ],
});
load.on('error', (e) => log(`load: ${e.message}`));
log(`load: ${rate} requests/s with autocannon`);

// 3. watch (the live view when stdout is a terminal)
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
const out = values.out ?? join(root, 'leakscope-runs', `demo-${stamp}`);
const args = [cli, 'watch', ready.agent, '--interval', `${intervalS}s`, '--duration', `${durationS}s`, '--profiles', 'heap,async,metrics', '--out', out];
if (values.json) args.push('--json');
if (values.snapshots) args.push('--snapshots');
if (values.quiet) args.push('--quiet');
// let the service warm up under load for a moment, so the first sample is not an empty heap
await new Promise((r) => setTimeout(r, 1500));
const watch = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
children.push(watch);
process.on('SIGINT', () => watch.kill('SIGINT'));
const code = await new Promise((resolve) => watch.on('exit', (c) => resolve(c ?? 1)));
load.stop();
cleanup();
const shown = relative(process.cwd(), out) || out;
log(`run directory: ${shown} (re-analyze with: node dist/src/cli/main.js analyze ${shown})`);
// the last line: the same run as pictures (heap over time, suspects, flame graphs) in a browser
log(`see it in a browser: node dist/src/cli/main.js web ${shown}  (or one file: … web --export demo.html ${shown})`);
process.exitCode = code;
