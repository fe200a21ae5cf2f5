// A small HTTP service with planted leaks, for the agent tests and the overhead benchmark.
// Start with the agent: node --import <repo>/dist/src/register.js test/programs/agent-service.mjs
// Prints `SERVICE_PORT=<n>` on stdout once listening (PORT env var, default 0 = any free port).
import { open } from 'node:fs';
import { createServer } from 'node:http';

const retained = [];

// Heap leak: every /leak request keeps about 64 KiB reachable forever.
function rememberRequest(id) {
  const blob = [];
  for (let i = 0; i < 1024; i++) blob.push({ id, i, pad: 'x'.repeat(16) });
  retained.push(blob);
}

// Garbage on demand: /garbage keeps about 64 KiB per n until /drop lets it all go.
let transient = [];
function makeGarbage(id) {
  const blob = [];
  for (let i = 0; i < 1024; i++) blob.push({ id, i, pad: 'y'.repeat(16) });
  transient.push(blob);
}

// Async leak: every /poll request starts an interval nobody clears.
function startPoller(id) {
  setInterval(function pollForever() {
    if (id < 0) console.log('never');
  }, 60_000);
}

// CPU: a hot function that shows up in a CPU profile.
function burnCpu(ms) {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) {
    for (let i = 0; i < 10_000; i++) x = (x * 31 + i) % 1_000_003;
  }
  return x;
}

// The same work in functions that run only during one test's profile: V8 charges code optimized
// before Profiler.start to the caller (README, "What `profile` cannot see"), so a test that wants
// the hot function by name first calls it after its profile started. They are copies on purpose:
// closures made by one factory would share V8's compiled code, and with it the problem.
function burnForProfileTest(ms) {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) {
    for (let i = 0; i < 10_000; i++) x = (x * 31 + i) % 1_000_003;
  }
  return x;
}
function burnForPprofTest(ms) {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) {
    for (let i = 0; i < 10_000; i++) x = (x * 31 + i) % 1_000_003;
  }
  return x;
}

// A stuck event loop: a synchronous loop that holds the main thread.
function stuckInHere(ms) {
  const end = Date.now() + ms;
  let n = 0;
  while (Date.now() < end) n++;
  return n;
}

// The realistic JSON handler the benchmark drives: allocates per request, keeps nothing.
function handleJson(id) {
  const items = [];
  for (let i = 0; i < 20; i++) items.push({ id: `${id}-${i}`, name: `item ${i}`, tags: ['a', 'b', String(i)], price: i * 1.5 });
  return JSON.stringify({ ok: true, count: items.length, items });
}

let seq = 0;
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const n = ++seq;
  switch (url.pathname) {
    case '/leak': {
      const count = Number(url.searchParams.get('n') ?? 1);
      for (let k = 0; k < count; k++) rememberRequest(n * 1000 + k);
      res.end(`retained ${retained.length}\n`);
      return;
    }
    case '/garbage': {
      const count = Number(url.searchParams.get('n') ?? 1);
      for (let k = 0; k < count; k++) makeGarbage(n * 1000 + k);
      res.end(`kept ${transient.length}\n`);
      return;
    }
    case '/drop':
      transient = [];
      res.end('dropped\n');
      return;
    case '/poll': {
      const count = Number(url.searchParams.get('n') ?? 1);
      for (let k = 0; k < count; k++) startPoller(n);
      res.end('polling\n');
      return;
    }
    case '/spin': {
      const ms = Number(url.searchParams.get('ms') ?? 100);
      const fn = url.searchParams.get('fn');
      const burn = fn === 'profile-test' ? burnForProfileTest : fn === 'pprof-test' ? burnForPprofTest : burnCpu;
      res.end(`spun ${burn(ms)}\n`);
      return;
    }
    case '/block':
      // answer first, then block the loop
      res.end('blocking\n');
      setTimeout(() => stuckInHere(Number(url.searchParams.get('ms') ?? 3000)), 10);
      return;
    case '/pending-open':
      // a request that stays pending: opening a FIFO for reading waits for a writer
      open(url.searchParams.get('path') ?? '/nonexistent', 'r', function onOpenedFifo() {});
      res.end('opening\n');
      return;
    case '/json':
      res.setHeader('content-type', 'application/json');
      res.end(handleJson(n));
      return;
    default:
      res.end('ok\n');
  }
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`SERVICE_PORT=${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
