// A small service with four planted leaks, churn that dies (garbage per request, and keep-alive
// HTTP requests to a loopback server) and one-time objects, for `leakscope snapshot leaks`.
// Usage: node snapshot-leaky.mjs OUTDIR [requestsPerPhase] [snapshots]
// Writes OUTDIR/s1.heapsnapshot, s2.heapsnapshot, … (3 by default) after a warm-up and each load
// phase. Lines marked LEAK:<name> are where each leak is created (the tests look them up).
import v8 from 'node:v8';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import http from 'node:http';

const outDir = process.argv[2];
const perPhase = Number(process.argv[3] ?? 200);
const snapshots = Math.max(3, Number(process.argv[4] ?? 3));

class RequestContext {
  constructor(id) { // LEAK:contexts
    this.id = id;
    this.headers = { 'x-request-id': `req-${id}` };
    this.startedAt = Date.now();
  }
}

const contexts = new Map(); // never pruned
const bus = new EventEmitter();
bus.setMaxListeners(0);
const waiters = new Map(); // parked, never resolved
let beats = 0;
let seen = 0;

function handleRequest(i) {
  contexts.set(i, new RequestContext(i));
  bus.on('config', function onConfig(cfg) { seen += cfg ? 1 : 0; }); // LEAK:listeners
  setInterval(function heartbeat() { beats++; }, 3_600_000); // LEAK:intervals
  new Promise((resolve) => {
    const settle = (value) => resolve(value); // LEAK:waiters
    waiters.set(i, settle);
  });
  // churn: garbage that dies with the request
  const scratch = [];
  for (let j = 0; j < 20; j++) scratch.push({ j, payload: `chunk-${i}-${j}`, list: new Array(8).fill(j) });
  const tmp = new Map(scratch.map((s) => [s.j, s]));
  tmp.clear();
  return scratch.length;
}

// churn over HTTP: sockets, parsers and buffers that must not show up as leaks
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end(JSON.stringify({ ok: true, items: Array.from({ length: 10 }, (_, i) => ({ i })) })));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = server.address().port;
async function httpChurn(count) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let k = 0; k < count / 4; k++) {
        await new Promise((resolve, reject) => {
          const r = http.request({ port, host: '127.0.0.1', path: `/churn?k=${k}`, method: 'POST', agent }, (res) => {
            res.resume();
            res.on('end', resolve);
          });
          r.on('error', reject);
          r.end('{"a":1}');
        });
      }
    }),
  );
  agent.destroy();
}
let next = 0;
async function phase(n) {
  for (let k = 0; k < n; k++) handleRequest(next++);
  await httpChurn(Math.min(n, 100));
}

await phase(perPhase); // warm-up: the leaks exist before S1 already
v8.writeHeapSnapshot(path.join(outDir, 's1.heapsnapshot'));
await phase(perPhase);
// one-time objects created between S1 and S2: not leaks
console.error('leaky: phase 1 done');
const oneTimeCache = new Map([['config', { loadedAt: Date.now(), values: [1, 2, 3] }]]);
globalThis.__oneTime = oneTimeCache;
await import('node:zlib');
v8.writeHeapSnapshot(path.join(outDir, 's2.heapsnapshot'));
for (let k = 3; k <= snapshots; k++) {
  await phase(perPhase);
  v8.writeHeapSnapshot(path.join(outDir, `s${k}.heapsnapshot`));
}
process.exit(0);
