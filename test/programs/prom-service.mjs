// A small Node service for the Prometheus and continuous-profiler tests: allocates and drops
// garbage every 50 ms; with LEAK_KB=N also keeps N KiB more on the heap each time (a steady leak);
// with BURN_MS=N spins the main thread in burnMainThread() for N ms of every second. Start it with the
// agent: node --import <repo>/dist/src/register.js test/programs/prom-service.mjs
// Prints `SERVICE_PORT=<n>` on stdout once listening.
import { createServer } from 'node:http';

const leakKb = Number(process.env.LEAK_KB ?? 0);
const kept = [];
let seq = 0;

function handle() {
  // garbage: a response body's worth of objects, dropped at once
  const items = [];
  for (let i = 0; i < 500; i++) items.push({ id: `${seq}-${i}`, name: `item ${i}`, price: i * 1.5 });
  return JSON.stringify(items).length;
}

function remember() {
  // a double array of N KiB, kept forever
  kept.push(new Array((leakKb * 1024) / 8).fill(seq + 0.5));
}

const burnMs = Number(process.env.BURN_MS ?? 0);
function burnMainThread(ms) {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) {
    for (let i = 0; i < 10_000; i++) x = (x * 31 + i) % 1_000_003;
  }
  return x;
}
if (burnMs > 0) setInterval(() => burnMainThread(burnMs), 1000);

setInterval(() => {
  seq++;
  handle();
  if (leakKb > 0) remember();
}, 50);

const server = createServer((_req, res) => res.end(`${handle()}\n`));
server.listen(0, '127.0.0.1', () => process.stdout.write(`SERVICE_PORT=${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
